"""``sort``: full sort of the candidates, then the scan of Held et al. (1974)."""

from .._jit import jit


@jit
def tau_sort(y, m):
    """Sort ``y[:m]`` and return the largest k with ``1 + k y_(k) > sum_{i<=k} y_(i)``.

    The condition holds for a prefix of the decreasing order and fails after it, so the scan
    stops at the first failure. The sum of the support is the scan's own float64 prefix sum.
    """
    a = y[:m]
    a.sort()  # ascending, in place
    s = 0.0
    k = 0
    for j in range(1, m + 1):
        v = a[m - j]
        if 1.0 + j * v > s + v:
            s += v
            k = j
        else:
            break
    return (s - 1.0) / k, k
