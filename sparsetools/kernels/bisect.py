"""``bisect``: bisection of f(t) = sum max(y - t, 0) - 1, stopped as soon as the support is known."""

from .._jit import jit
from .common import finish


@jit
def tau_bisect(y, m):
    """Bisection on the bracket [-1, -1/m] (that is [max - 1, max - 1/n] unshifted).

    Invariants: f(lo) > 0 >= f(hi), so lo < tau <= hi. Entries >= hi are surely in the
    support (or exactly at tau, where they weigh nothing) and are folded into ``(s, k)``;
    entries <= lo are surely out and are dropped; only the entries strictly inside the
    bracket stay active, kept in ``y[lo_i:hi_i]``. Each step partitions the active entries
    around the midpoint in one pass (Lomuto), evaluates f there from the partial sums, and
    keeps one side. It stops when no entry is strictly inside the bracket: the support is
    then known and ``t = (s - 1) / k`` exactly. The bracket's lower end starts at the
    smallest candidate when f is positive there (otherwise every candidate is in the
    support and no step is needed), so dense rows do not spend steps shrinking [-1, min].
    If the bracket shrinks to adjacent floats with entries still inside (entries within
    an ulp of tau), ``finish`` decides them exactly.
    """
    lo = -1.0
    hi = -1.0 / m
    s = 0.0
    k = 0
    sa = 0.0
    ymin = 0.0
    nmin = 0  # how many active entries equal ymin
    w = 0
    for i in range(m):
        v = y[i]
        if v >= hi:
            s += v
            k += 1
        elif v > lo:
            y[w] = v
            w += 1
            sa += v
            if v < ymin:
                ymin = v
                nmin = 0
            nmin += v == ymin
    if w == 0:
        return (s - 1.0) / k, k
    # f at the smallest active entry (which itself counts 0). If f(ymin) <= 0, tau <= ymin:
    # every candidate is in the support, except the minimum's copies if they sit at tau.
    if (s + sa) - ymin * (k + w) - 1.0 <= 0.0:
        k += w
        t = (s + sa - 1.0) / k
        if not ymin > t:
            k -= nmin
        return t, k
    lo = ymin
    a0 = 0
    a1 = w
    keq = 0  # folded entries equal to the current hi: at tau if tau turns out to be hi
    while True:
        mid = 0.5 * (lo + hi)
        if not (lo < mid and mid < hi):
            return finish(y, a0, a1, s, k)
        # one pass: entries > mid to the front (Lomuto); count the rare entries equal to
        # mid or <= lo (the latter only right after lo was raised to the smallest entry)
        p = a0
        sp = 0.0
        odd = 0
        for i in range(a0, a1):
            # branch-free swap (selects): the comparison is a coin flip on dense rows
            v = y[i]
            u = y[p]
            above = v > mid
            y[i] = u if above else v
            y[p] = v if above else u
            p += above
            sp += v if above else 0.0
            odd += (v == mid) | (v <= lo)
        if (s + sp) - mid * (k + (p - a0)) - 1.0 > 0.0:
            lo = mid  # tau > mid: y[a0:p] stay active, the rest is out
            a1 = p
        else:
            hi = mid  # tau <= mid: y[a0:p] are in the support
            s += sp
            k += p - a0
            a0 = p
            keq = 0
            if odd:
                # entries equal to the new hi are in the support; entries <= lo are out
                q = a0
                for i in range(a0, a1):
                    v = y[i]
                    if v >= hi:
                        s += v
                        k += 1
                        keq += v == hi
                    elif v > lo:
                        y[q] = v
                        q += 1
                a1 = q
        if a0 >= a1:
            t = (s - 1.0) / k
            if not hi > t:
                k -= keq  # k counts entries strictly above tau (SPEC section 1)
            return t, k
