"""``sort``: full sort of the candidates, then the scan of Held et al. (1974)."""

import numpy as np

from .._jit import jit

#: From this many candidates on, ``tau_sort`` sorts with its radix sort instead of Numba's
#: quicksort. ``python scripts/bench_sort.py`` sorts fresh rows of N(0, 1e-6) candidates
#: (the branch predictor cannot learn them): quicksort cost 35 to 111 ns per entry from 30
#: to 500,000 entries (a mispredicted comparison per level), the radix sort 15 to 30 ns from
#: 300 on; they tie near 100 and the radix sort loses below.
RADIX_FROM = 256

_SIGN = np.uint64(0x8000000000000000)


@jit
def _radix_sort_decreasing(a, m, tmp):
    """Sort ``a[:m]`` in decreasing order; every entry must be finite and <= 0.

    For floats <= 0, decreasing value is increasing magnitude, and the magnitude's IEEE bits
    (the bits without the sign) order like unsigned integers. So this is an LSD radix sort
    of those 63-bit keys, one byte per pass (stable, so each pass keeps the order of the
    bytes below it). All eight histograms are counted in one pass; a byte that every key
    shares is skipped (on candidates in [-1, 0] the top byte always is). ``tmp`` is scratch
    of at least ``m`` entries; the result ends up in ``a`` either way.
    """
    src = a[:m].view(np.uint64)
    dst = tmp[:m].view(np.uint64)
    count = np.zeros((8, 256), np.int64)
    for i in range(m):
        key = src[i] & ~_SIGN
        for d in range(8):
            count[d, (key >> np.uint64(8 * d)) & np.uint64(255)] += 1
    moved = False
    for d in range(8):
        c = count[d]
        if c[(src[0] & ~_SIGN) >> np.uint64(8 * d) & np.uint64(255)] == m:
            continue  # every key has this byte: the pass would not move anything
        total = 0
        for b in range(256):
            x = c[b]
            c[b] = total
            total += x
        shift = np.uint64(8 * d)
        for i in range(m):
            key = src[i]
            b = ((key & ~_SIGN) >> shift) & np.uint64(255)
            dst[c[b]] = key
            c[b] += 1
        src, dst = dst, src
        moved = not moved
    if moved:  # the sorted keys are in tmp
        a[:m] = tmp[:m]


@jit
def tau_sort(y, m, tmp):
    """Sort ``y[:m]`` and return the largest k with ``1 + k y_(k) > sum_{i<=k} y_(i)``.

    The candidates are sorted in decreasing order: by Numba's quicksort when there are few,
    by a radix sort of their bits from ``RADIX_FROM`` on. The condition holds for a prefix
    of the decreasing order and fails after it, so the scan stops at the first failure. The
    sum of the support is the scan's own float64 prefix sum.
    """
    if m >= RADIX_FROM:
        _radix_sort_decreasing(y, m, tmp)
        a = y[:m]
    else:
        a = y[:m]
        a.sort()  # ascending, in place
        a = a[::-1]
    s = 0.0
    k = 0
    for j in range(1, m + 1):
        v = a[j - 1]
        if 1.0 + j * v > s + v:
            s += v
            k = j
        else:
            break
    return (s - 1.0) / k, k
