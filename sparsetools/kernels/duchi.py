"""``duchi``: the randomized-pivot projection of Duchi, Shalev-Shwartz, Singer & Chandra
(2008), "Efficient projections onto the l1-ball for learning in high dimensions", Fig. 2."""

import numpy as np

from .._jit import jit
from .common import psum


@jit
def tau_duchi(y, m, tmp):
    """Quickselect for tau: expected O(m) time.

    Keeps ``(s, k)``, the sum and count of entries known to be in the support, and a set U
    of undecided entries (all of them at first). Each step takes a pivot v from U and
    splits U in one branch-free pass into G (entries > v) and L (entries < v); entries
    equal to v are only counted. Then f(v) = (s + sum G) - (k + |G|) v - 1 decides:

    - f(v) < 0: tau < v, so G and the copies of v are in the support; fold them into
      ``(s, k)`` and continue with U = L;
    - f(v) >= 0: tau >= v, so v, its copies and L are out; continue with U = G.

    When U is empty, tau = (s - 1) / k exactly. Duchi et al. move the pivot itself into
    G, which makes a row of many equal values cost O(m^2); splitting three ways instead
    removes all of a value's copies in one step.

    The pivot is drawn uniformly from U by a fixed xorshift generator seeded from m, not by
    NumPy's generator: the result's last bits depend on the order of the sums, so a fixed
    seed keeps every run (and every thread) giving the same bits.
    """
    a = y
    b = tmp
    na = m
    s = 0.0
    k = 0
    state = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(m)
    while na > 0:
        # xorshift64 (Marsaglia 2003): a uniform pivot position in a[:na]
        state ^= state << np.uint64(13)
        state ^= state >> np.uint64(7)
        state ^= state << np.uint64(17)
        v = a[np.int64(state % np.uint64(na))]
        g = 0
        q = 0
        neq = 0
        for i in range(na):
            x = a[i]
            a[g] = x
            b[q] = x
            g += x > v
            q += x < v
            neq += x == v
        sg = psum(a, 0, g)
        if (s + sg) - (k + g) * v - 1.0 < 0.0:
            s += sg + v * neq
            k += g + neq
            a, b = b, a
            na = q
        else:
            na = g
    return (s - 1.0) / k, k
