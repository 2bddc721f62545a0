"""``heap``: an array max-heap built in O(m), popped until the sort condition fails."""

from .._jit import jit


@jit
def _sift_down(a, i, size):
    v = a[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and a[c + 1] > a[c]:
            c += 1
        if a[c] <= v:
            break
        a[i] = a[c]
        i = c
    a[i] = v


@jit
def tau_heap(y, m, tmp):
    """Heapify ``y[:m]`` (Floyd, O(m)), then pop the largest entries while
    ``1 + j y_(j) > sum_{i<=j} y_(i)``: O(m + k log m) for a support of size k."""
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(y, i, m)
    s = 0.0
    k = 0
    size = m
    while size > 0:
        v = y[0]
        j = k + 1
        if not (1.0 + j * v > s + v):
            break
        s += v
        k = j
        size -= 1
        if size > 0:
            y[0] = y[size]
            _sift_down(y, 0, size)
    return (s - 1.0) / k, k
