"""``condat``: Condat (2016), "Fast projection onto the simplex and the l1 ball", Algorithm 1."""

from .._jit import jit
from .common import finish


@jit
def tau_condat(y, m):
    """Condat's online pass with its running estimate rho, then exact cleanup.

    Layout in place: ``y[0:vs]`` is Condat's waiting list v~, ``y[vs:ve]`` the current
    support estimate v; an entry is written only at a position already read. All entries
    are finite here (``gather`` removed -inf, whose arithmetic would give NaN in
    ``rho += (y - rho) / |v|``). Condat's rho is a running update and drifts by rounding, so
    the threshold is finally recomputed from the support found, in float64, by ``finish``.
    """
    vs = 0
    ve = 1
    rho = y[0] - 1.0
    for i in range(1, m):
        v = y[i]
        if v > rho:
            rho += (v - rho) / (ve - vs + 1)
            if rho > v - 1.0:
                y[ve] = v
                ve += 1
            else:
                vs = ve
                y[ve] = v
                ve += 1
                rho = v - 1.0
    # step 3: entries of the waiting list above rho join v
    size = ve - vs
    p = vs
    for j in range(vs - 1, -1, -1):
        v = y[j]
        if v > rho:
            size += 1
            rho += (v - rho) / size
            p -= 1
            y[p] = v
    vs = p
    # step 4: remove entries <= rho until v is stable
    changed = True
    while changed:
        changed = False
        w = vs
        for j in range(vs, ve):
            v = y[j]
            if v > rho:
                y[w] = v
                w += 1
            else:
                size -= 1
                rho += (rho - v) / size
                changed = True
        ve = w
    return finish(y, vs, ve, 0.0, 0)
