"""``condat``: Condat (2016), "Fast projection onto the simplex and the l1 ball", Algorithm 1."""

from .._jit import jit
from .common import finish


@jit
def tau_condat(y, m, tmp):
    """Condat's online pass, his two cleanup steps, then the exact finish.

    Condat keeps rho = (sum of v - 1) / |v| by the running update rho += (y - rho) / |v|.
    Here v's sum ``S`` (float64) and size ``c`` are kept instead and every test
    ``y > rho`` is written ``y * c > S - 1``: the same decisions in exact arithmetic,
    without a division per entry (a division's latency on the loop-carried chain costs
    more than the rest of the row) and without rho's rounding drift.

    Layout in place: ``y[0:vs]`` is Condat's waiting list v~, ``y[vs:ve]`` is v; an entry is
    written only at a position already read. All entries are finite here (``gather``
    dropped -inf, whose arithmetic in Condat's update would give NaN).
    """
    vs = 0
    ve = 1
    S = y[0]
    c = 1
    # step 2: one pass; v restarts at y whenever y alone beats the current estimate
    for i in range(1, m):
        v = y[i]
        if v * c > S - 1.0:
            S += v
            c += 1
            if S - 1.0 > (v - 1.0) * c:
                y[ve] = v
                ve += 1
            else:
                vs = ve
                y[ve] = v
                ve += 1
                S = v
                c = 1
    # step 3: entries of the waiting list above the estimate join v (placed downwards)
    p = vs
    for j in range(vs - 1, -1, -1):
        v = y[j]
        if v * c > S - 1.0:
            S += v
            c += 1
            p -= 1
            y[p] = v
    vs = p
    # step 4: remove entries at or below the estimate until v is stable
    changed = True
    while changed:
        w = vs
        for j in range(vs, ve):
            v = y[j]
            keep = v * c > S - 1.0
            y[w] = v
            w += keep
            S -= 0.0 if keep else v
            c -= not keep
        changed = w != ve
        ve = w
    return finish(y, vs, ve, 0.0, 0)
