"""``bisect``: bisection of f(t) = sum max(y - t, 0) - 1, stopped as soon as the support is known."""

from .._jit import jit
from .common import finish, psum


@jit
def tau_bisect(y, m, tmp):
    """Bisection on the bracket [-1, -1/m] (that is [max - 1, max - 1/n] unshifted).

    Invariants: f(lo) > 0 >= f(hi), so lo < tau <= hi. Entries >= hi are surely in the
    support (or exactly at tau, where they weigh nothing) and are folded into ``(s, k)``;
    entries <= lo are surely out and are dropped; only the entries strictly inside the
    bracket stay active. Each step splits the active entries around the midpoint in one
    branch-free pass (those above it stay in place at the front, those below go to ``tmp``,
    and the two arrays swap roles when the lower part is kept), evaluates f there from the
    partial sums, and keeps one side. It stops when no entry is strictly inside the bracket:
    the support is then known and ``t = (s - 1) / k`` exactly. The bracket's lower end
    starts at the smallest candidate when f is positive there (otherwise every candidate is
    in the support and no step is needed), so dense rows do not spend steps shrinking
    [-1, min]. If the bracket shrinks to adjacent floats with entries still inside (entries
    within an ulp of tau), ``finish`` decides them exactly.
    """
    hi = -1.0 / m
    # first pass, branch-free: entries >= hi to tmp (folded), the others stay active in y
    k = 0
    w = 0
    ymin = 0.0
    for i in range(m):
        v = y[i]
        up = v >= hi
        tmp[k] = v
        k += up
        y[w] = v
        w += not up
        ymin = min(ymin, v)
    s = psum(tmp, 0, k)
    if w == 0:
        return (s - 1.0) / k, k
    sa = psum(y, 0, w)
    # f at the smallest active entry (which itself counts 0). If f(ymin) <= 0, tau <= ymin:
    # every candidate is in the support, except the minimum's copies if they sit at tau.
    if (s + sa) - ymin * (k + w) - 1.0 <= 0.0:
        k += w
        t = (s + sa - 1.0) / k
        if not ymin > t:
            for i in range(w):
                k -= y[i] == ymin
        return t, k
    lo = ymin
    a = y
    b = tmp
    na = w  # active entries: a[:na], all strictly inside (lo, hi) except ymin's copies
    keq = 0  # folded entries equal to the current hi: at tau if tau turns out to be hi
    while True:
        mid = 0.5 * (lo + hi)
        if not (lo < mid and mid < hi):
            return finish(a, 0, na, s, k)
        # one pass, no data-dependent branch: entries > mid to a's front, entries strictly
        # inside (lo, mid) to b's front; entries equal to mid are only counted, entries <= lo
        # (ymin's copies on the first step) are dropped
        p = 0
        q = 0
        neq = 0
        for i in range(na):
            v = a[i]
            above = v > mid
            a[p] = v
            b[q] = v
            p += above
            q += (v < mid) & (v > lo)
            neq += v == mid
        sp = psum(a, 0, p)  # the entries above mid, now contiguous
        if (s + sp) - mid * (k + p) - 1.0 > 0.0:
            lo = mid  # tau > mid: a[:p] stay active, the rest is out
            na = p
        else:
            hi = mid  # tau <= mid: a[:p] and the entries equal to mid are in the support
            s += sp + mid * neq
            k += p + neq
            keq = neq
            a, b = b, a
            na = q
        if na == 0:
            t = (s - 1.0) / k
            if not hi > t:
                k -= keq  # k counts entries strictly above tau (the support)
            return t, k
