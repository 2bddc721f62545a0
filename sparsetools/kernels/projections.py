"""Row pieces of the projections beyond the unit simplex: onto the simplex of radius r, onto
the l1 ball of radius r, and onto the k-sparse simplex of radius r.

Each works in sparsemax's frame scaled by the radius, ``y = (x - M) / r`` (computed as
``(x - M) * (1 / r)``; exactly sparsemax's frame for r = 1), where the projection's
threshold is sparsemax's: the candidates lie in [-1, 0], so every sparsemax method finds
the threshold t of the scaled row, and the projection is ``max(x - M - r t, 0)``.

- the simplex: the candidates of the row;
- the l1 ball: a point whose l1 norm is at most r is returned as it is (``t = -inf`` says
  so to ``apply``); any other is ``sign(x) * project_simplex(|x|, r)``, so the frame is that
  of ``|x|`` and M its max;
- the k-sparse simplex (Kyrillidis et al. 2013): the simplex projection of the k largest
  entries (at equal values, the lowest index first), 0 elsewhere. The parameter of a row is
  the array ``(k, r, v, c)``: ``gather`` writes the k-th largest value v and the number c
  of entries equal to v that are among the k, which ``apply`` reads.

A ``-inf`` entry is masked, as in every map: it gets exactly 0 and takes no part in the
sums.
"""

import numpy as np

from .._jit import jit
from .auto import tau_auto
from .bisect import tau_bisect
from .common import ALL_NEGINF, HAS_NAN, HAS_POSINF, OK, candidates, presolve, psum, row_max
from .condat import tau_condat
from .derivs import jacobian_row, jvp_row, nonfinite_status
from .duchi import tau_duchi
from .heap import tau_heap
from .michelot import tau_michelot
from .passes import michelot_passes
from .sort import tau_sort
from .status import CAPPED_INFEASIBLE, P_NEG

# ---------------------------------------------------------------------------------------
# The sparsemax methods in the scaled frame, with the parameter a map passes last (unused:
# the frame carries it).


@jit
def tau_sort_r(y, m, tmp, a):
    return tau_sort(y, m, tmp)


@jit
def tau_heap_r(y, m, tmp, a):
    return tau_heap(y, m, tmp)


@jit
def tau_bisect_r(y, m, tmp, a):
    return tau_bisect(y, m, tmp)


@jit
def tau_condat_r(y, m, tmp, a):
    return tau_condat(y, m, tmp)


@jit
def tau_duchi_r(y, m, tmp, a):
    return tau_duchi(y, m, tmp)


@jit
def tau_michelot_r(y, m, tmp, a):
    return tau_michelot(y, m, tmp)


@jit
def tau_auto_r(y, m, tmp, a):
    return tau_auto(y, m, tmp)


#: (name, kernel, summary) of the sparsemax methods, as the projections register them.
SCALED_METHODS = (
    ("sort", tau_sort_r, "sort the candidates, then the scan of Held et al. (1974)"),
    ("heap", tau_heap_r, "a max-heap built in O(m), popped until the sort condition fails"),
    ("bisect", tau_bisect_r, "bisection of the threshold, stopped once the support is known"),
    ("condat", tau_condat_r, "Condat (2016), Algorithm 1"),
    ("duchi", tau_duchi_r, "Duchi et al. (2008): randomized-pivot quickselect"),
    ("michelot", tau_michelot_r, "Michelot (1986): Newton steps from the left end of the bracket"),
)


@jit
def _scaled_candidates(row, buf, M, r):
    """``buf[:m]``: the entries of ``row`` with ``(x - M) / r >= -1``, in that frame."""
    return candidates(row, M, 1.0 / r, -1.0, buf)


# ---------------------------------------------------------------------------------------
# The simplex of radius r


@jit
def simplex_gather(row, buf, r):
    """``(M, m, status)``: the row's max and check, and its candidates in the scaled frame."""
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    return M, _scaled_candidates(row, buf, M, r), OK


@jit(inline=True)
def simplex_passes(row, buf, tmp, r):
    """``auto``'s row kernel (``kernels.passes``) in the frame scaled by 1 / r."""
    return michelot_passes(row, buf, tmp, 1.0 / r)


@jit
def simplex_presolve(y, m, r):
    return presolve(y, m)


@jit
def simplex_apply(row, M, t, out, r):
    """``out = max((x - M) - r t, 0)``."""
    rt = r * t
    for i in range(row.shape[0]):
        d = (np.float64(row[i]) - M) - rt
        out[i] = d if d > 0.0 else 0.0


@jit(inline=True)
def simplex_jvp(p, v, out, r):
    """J v at the output p: J = diag(s) - s s^T / k on p's support s, whatever r."""
    return jvp_row(p, v, out)


@jit
def simplex_jacobian(p, out, r):
    return jacobian_row(p, out)


# ---------------------------------------------------------------------------------------
# The l1 ball of radius r


@jit
def l1_gather(row, buf, r):
    """``(M, m, status)`` of ``|x|`` (``-inf`` masked): M its max; ``m = 0`` when the row is
    inside the ball (its l1 norm, a float64 sum, at most r), else the candidates of ``|x|``
    in the scaled frame."""
    n = row.shape[0]
    M = -np.inf
    nan = 0
    masked = 0
    posinf = False
    for i in range(n):
        x = np.float64(row[i])
        a = abs(x)
        nan += x != x
        posinf |= x == np.inf
        masked += x == -np.inf
        a = a if x != -np.inf else -np.inf
        buf[i] = a
        M = a if a > M else M
    if nan:
        return M, 0, HAS_NAN
    if posinf:
        return M, 0, HAS_POSINF
    if masked == n:
        return M, 0, ALL_NEGINF
    if masked == 0:
        norm = psum(buf, 0, n)
    else:
        norm = 0.0
        for i in range(n):
            if buf[i] > -np.inf:
                norm += buf[i]
    if norm <= r:
        return M, 0, OK
    s = 1.0 / r
    w = 0
    for i in range(n):
        v = (buf[i] - M) * s
        buf[w] = v
        w += v >= -1.0
    return M, w, OK


@jit
def l1_presolve(y, m, r):
    if m == 0:  # inside the ball
        return -np.inf, 0, True
    return presolve(y, m)


@jit
def l1_apply(row, M, t, out, r):
    """The point itself inside the ball (``t = -inf``; masked entries 0), else
    ``sign(x) * max(|x| - M - r t, 0)``."""
    n = row.shape[0]
    if t == -np.inf:
        for i in range(n):
            x = np.float64(row[i])
            out[i] = x if x != -np.inf else 0.0
        return
    rt = r * t
    for i in range(n):
        x = np.float64(row[i])
        d = (abs(x) - M) - rt
        d = d if d > 0.0 else 0.0
        d = d if x != -np.inf else 0.0
        out[i] = d if x >= 0.0 else -d


@jit
def _l1_norm_and_check(p):
    """``(sum |p|, status)``: HAS_NAN or HAS_POSINF (an infinity of either sign)."""
    s = 0.0
    for i in range(p.shape[0]):
        x = np.float64(p[i])
        if x != x:
            return 0.0, HAS_NAN
        if abs(x) == np.inf:
            return 0.0, HAS_POSINF
        s += abs(x)
    return s, OK


@jit
def on_sphere(p, r):
    """``(on, status)``: whether the output ``p`` lies on the sphere ``sum |p| = r`` (to
    the rounding of a float32 projection: 8 n float32 eps, relative), where the projection
    moved the point; inside it the map is the identity."""
    s, st = _l1_norm_and_check(p)
    return s >= r * (1.0 - 8.0 * p.shape[0] * 1.1920928955078125e-07), st


@jit
def l1_jvp(p, v, out, r):
    """J v at the output p: v inside the ball; on the sphere D J D v, D = diag(sign p) and
    J the simplex's at |p|: ``s * (v - sign(p) (s . sign(p) v) / k)``."""
    n = p.shape[0]
    on, st = on_sphere(p, r)
    if st != OK:
        return st
    st = nonfinite_status(v)
    if st != OK:
        return st
    if not on:
        for i in range(n):
            out[i] = v[i]
        return OK
    acc = 0.0
    k = 0
    for i in range(n):
        x = np.float64(p[i])
        if x > 0.0:
            acc += v[i]
            k += 1
        elif x < 0.0:
            acc -= v[i]
            k += 1
    mean = acc / k
    for i in range(n):
        x = np.float64(p[i])
        if x > 0.0:
            out[i] = v[i] - mean
        elif x < 0.0:
            out[i] = v[i] + mean
        else:
            out[i] = 0.0
    return OK


@jit
def l1_jacobian(p, out, r):
    """The dense Jacobian at the output p: the identity inside the ball, D J D on it."""
    n = p.shape[0]
    on, st = on_sphere(p, r)
    if st != OK:
        return st
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0
    if not on:
        for i in range(n):
            out[i, i] = 1.0
        return OK
    k = 0
    for i in range(n):
        k += p[i] != 0.0
    inv = 1.0 / k
    for i in range(n):
        si = 1.0 if p[i] > 0.0 else (-1.0 if p[i] < 0.0 else 0.0)
        if si == 0.0:
            continue
        for j in range(n):
            sj = 1.0 if p[j] > 0.0 else (-1.0 if p[j] < 0.0 else 0.0)
            out[i, j] = (1.0 if i == j else 0.0) - si * sj * inv
    return OK


# ---------------------------------------------------------------------------------------
# The k-sparse simplex of radius r: the parameter of a row is (k, r, v, c)


@jit
def _sift_down(h, i, size):
    """Restore the min-heap ``h[:size]`` below ``i``."""
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        c = left
        if left + 1 < size and h[left + 1] < h[left]:
            c = left + 1
        if h[c] < h[i]:
            h[i], h[c] = h[c], h[i]
            i = c
        else:
            return


@jit
def sparse_gather(row, buf, a):
    """``(M, m, status)``: the simplex's candidates of the k largest entries, in the scaled
    frame. Only the candidates (``(x - M) / r >= -1``) can be non-zero (tau >= M - r, the
    largest entry being among the k), so when there are at most k of them they are the
    answer's candidates as they are (``a[2] = -inf``: no entry is left out); else the k
    largest of them are kept (a min-heap over the candidates) and their k-th largest value
    v goes into ``a[2]``, the number of the k equal to it into ``a[3]``."""
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    k = int(a[0])
    m = _scaled_candidates(row, buf, M, a[1])
    if m <= k:
        a[2] = -np.inf
        a[3] = 0.0
        return M, m, OK
    # the heap's multiset is what the threshold needs; which of several entries equal to v
    # are the chosen ones (the lowest indices) is apply's to decide, from v and c
    h = buf[:k]
    for i in range(k // 2 - 1, -1, -1):
        _sift_down(h, i, k)
    for i in range(k, m):
        y = buf[i]
        if y > h[0]:
            h[0] = y
            _sift_down(h, 0, k)
    v = h[0]
    c = 0
    for i in range(k):
        c += h[i] == v
    a[2] = v
    a[3] = c
    return M, k, OK


@jit
def sparse_presolve(y, m, a):
    return presolve(y, m)


@jit
def sparse_apply(row, M, t, out, a):
    """``max((x - M) - r t, 0)`` on the k chosen entries (those whose scaled value is above
    v, and the first c equal to it), 0 elsewhere; with no v (-inf), on every entry."""
    rt = a[1] * t
    v = a[2]
    if v == -np.inf:
        for i in range(row.shape[0]):
            d = (np.float64(row[i]) - M) - rt
            out[i] = d if d > 0.0 else 0.0
        return
    s = 1.0 / a[1]
    c = int(a[3])
    seen = 0
    for i in range(row.shape[0]):
        x = np.float64(row[i])
        y = (x - M) * s  # the gather's value, bit for bit
        d = (x - M) - rt
        d = d if d > 0.0 else 0.0
        if y > v:
            out[i] = d
        elif y == v and seen < c:
            out[i] = d
            seen += 1
        else:
            out[i] = 0.0


@jit(inline=True)
def sparse_jvp(p, v, out, a):
    """J v at the output p: the simplex's on p's support (the selected entries the
    projection keeps; the others do not move)."""
    return jvp_row(p, v, out)


@jit
def sparse_jacobian(p, out, a):
    return jacobian_row(p, out)


# ---------------------------------------------------------------------------------------
# The capped simplex {0 <= p <= u, sum p = b}: the parameter of a row is (b / u, u, L), L
# a lower bound of the threshold that the row's gather writes. The
# frame is scaled by the cap, y = (x - M) / u, where p / u = clip(y - t, 0, 1) sums to
# beta = b / u, and tau = M + u t.



#: A budget this close above the cap times the entries (relatively) is b = n u, rounded.
_BUDGET_SLACK = 1.0 + 8.0 * 2.220446049250313e-16


@jit
def capped_gather(row, buf, a):
    """``(M, m, status)``: the candidates in the scaled frame, and CAPPED_INFEASIBLE when
    the budget is more than the cap times the unmasked entries.

    t >= g - 1 whenever at least beta entries have y >= g (at t = g - 1 they are all
    capped, so f(g - 1) >= beta): the first of g = -0.5, -1, -1.5, -2, -3, -5 with that many
    entries above it (counted in the same pass, without a branch) bounds t from below, and only
    the entries above g - 1 can be non-zero. Without one, every unmasked entry is a
    candidate."""
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    beta = a[0]
    s = 1.0 / a[1]
    n = row.shape[0]
    finite = 0
    c1 = c2 = c3 = c4 = c6 = c8 = 0
    for i in range(n):
        v = (np.float64(row[i]) - M) * s
        buf[i] = v
        finite += v > -np.inf
        c1 += v >= -0.5
        c2 += v >= -1.0
        c3 += v >= -1.5
        c4 += v >= -2.0
        c6 += v >= -3.0
        c8 += v >= -5.0
    if beta > finite:
        if beta > finite * _BUDGET_SLACK:
            return M, 0, CAPPED_INFEASIBLE
        beta = np.float64(finite)  # b = n u, but for the rounding of b / u: every entry capped
        a[0] = beta
    if c1 >= beta:
        lo = -1.5
    elif c2 >= beta:
        lo = -2.0
    elif c3 >= beta:
        lo = -2.5
    elif c4 >= beta:
        lo = -3.0
    elif c6 >= beta:
        lo = -4.0
    elif c8 >= beta:
        lo = -6.0
    else:
        lo = -np.inf
    a[2] = lo  # for the method: t >= lo, where the candidates' f is the row's
    w = 0
    for i in range(n):
        v = buf[i]
        buf[w] = v
        w += v > lo
    return M, w, OK


@jit
def capped_presolve(y, m, a):
    return 0.0, m, False


@jit(reassoc=True)
def _capped_sets(y, m, t):
    """At the threshold t: ``(capped, free, sum of y over the free set)``, in one
    branch-free pass (the ``reassoc`` flag lets the sum vectorise, as ``common.psum``)."""
    capped = 0
    free = 0
    s = 0.0
    for i in range(m):
        x = y[i]
        d = x - t
        on = (d > 0.0) & (d < 1.0)
        capped += d >= 1.0
        free += on
        s += x * np.float64(on)
    return capped, free, s


@jit
def _capped_tau(y, m, beta, newton):
    """The t with ``sum clip(y - t, 0, 1) = beta`` (0 < beta <= the unmasked count).

    f(t) = sum clip(y - t, 0, 1) is continuous, non-increasing and linear between the
    breakpoints y_i and y_i - 1; on the piece of t it is ``capped + sum_free (y - t)``, whose
    root is ``(capped + sum_free y - beta) / free``. Each step takes the current piece's
    root when it lies inside the bracket [lo, hi] (f(lo) >= beta > f(hi)), else the
    bracket's midpoint (``newton`` false: always the midpoint), and narrows the bracket;
    it stops when the root of the current piece falls on the same piece (the same capped
    and free sets): that root is the exact threshold. Returns ``(t, support size)``."""
    lo = 0.0
    finite = 0
    for i in range(m):
        lo = min(lo, y[i]) if y[i] > -np.inf else lo
        finite += y[i] > -np.inf
    lo = lo - 2.0  # below the least unmasked entry less 1 (with room for rounding): every one capped
    if beta >= finite:  # the budget takes every unmasked entry at its cap: exactly
        return lo, finite
    hi = 0.0  # f(0) = 0 < beta
    # start where every candidate would be free: near tau when few are capped or zero
    t = (psum(y, 0, m) - beta) / m
    t = t if lo < t < hi else 0.5 * (lo + hi)
    c, f, s = _capped_sets(y, m, t)
    c2 = f2 = 0
    s2 = 0.0
    root = t
    for _ in range(400):
        if f > 0:
            root = (c + s - beta) / f
            c2, f2, s2 = _capped_sets(y, m, root)
            if c2 == c and f2 == f:
                return root, c + f
        val = c + s - f * t  # f(t)
        if val >= beta:
            lo = t
        else:
            hi = t
        if f == 0 and val == beta:  # a flat piece at the budget: every t on it gives p
            return t, c
        nxt = 0.5 * (lo + hi)
        took_root = newton and f > 0 and lo < root < hi
        if took_root:
            nxt = root
        if not (lo < nxt < hi):  # the bracket is two adjacent floats
            break
        t = nxt
        if took_root:  # its sets are those just counted
            c, f, s = c2, f2, s2
        else:
            c, f, s = _capped_sets(y, m, t)
    c, f, s = _capped_sets(y, m, lo)
    if f > 0:
        return (c + s - beta) / f, c + f
    return lo, c


@jit
def _capped_root(y, m, a, newton):
    """The threshold on the gather's candidates, at least the gather's bound ``a[2]``: below
    it the candidates' f can be flat at beta where the row's is not (an entry left out
    would be free there); at the bound itself the two agree, and it is then a root."""
    t, k = _capped_tau(y, m, a[0], newton)
    if t < a[2]:
        return a[2], k
    return t, k


@jit
def tau_capped_newton(y, m, tmp, a):
    return _capped_root(y, m, a, True)


@jit
def tau_capped_bisect(y, m, tmp, a):
    return _capped_root(y, m, a, False)


@jit
def capped_apply(row, M, t, out, a):
    """``out = clip((x - M) - u t, 0, u)``."""
    u = a[1]
    ut = u * t
    for i in range(row.shape[0]):
        d = (np.float64(row[i]) - M) - ut
        d = d if d > 0.0 else 0.0
        out[i] = d if d < u else u


@jit
def _free_check(p, u):
    """``(free count, status)`` of an output p of the capped simplex: F = {0 < p < u}."""
    k = 0
    for i in range(p.shape[0]):
        x = np.float64(p[i])
        if x != x:
            return 0, HAS_NAN
        if x == np.inf:
            return 0, HAS_POSINF
        if x < 0.0:
            return 0, P_NEG
        k += (x > 0.0) & (x < u)
    return k, OK


@jit
def capped_jvp(p, v, out, a):
    """J v on the free set F = {0 < p < u}: ``1_F (v - mean_F(v))`` (0 where F is empty)."""
    n = p.shape[0]
    u = a[1]
    k, st = _free_check(p, u)
    if st != OK:
        return st
    st = nonfinite_status(v)
    if st != OK:
        return st
    s = 0.0
    for i in range(n):
        x = np.float64(p[i])
        if x > 0.0 and x < u:
            s += v[i]
    mean = s / k if k else 0.0
    for i in range(n):
        x = np.float64(p[i])
        out[i] = (v[i] - mean) if (x > 0.0 and x < u) else 0.0
    return OK


@jit
def capped_jacobian(p, out, a):
    n = p.shape[0]
    u = a[1]
    k, st = _free_check(p, u)
    if st != OK:
        return st
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0
    if k == 0:
        return OK
    inv = 1.0 / k
    for i in range(n):
        if not (p[i] > 0.0 and p[i] < u):
            continue
        for j in range(n):
            if p[j] > 0.0 and p[j] < u:
                out[i, j] = (1.0 if i == j else 0.0) - inv
    return OK
