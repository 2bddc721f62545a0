"""Row kernels of alpha-entmax (Peters, Niculae & Martins 2019), for alpha >= 1.

    entmax_alpha(z)_i = [(alpha - 1) z_i - tau]_+ ^ (1 / (alpha - 1)),   sum_i p_i = 1.

Every kernel works in the frame of ``y = (alpha - 1) (z - max z)`` and ``t = tau - (alpha - 1)
max z``, with ``s = alpha - 1`` and the exponent ``b = 1 / s``: there p = max(y - t, 0)^b,
the row's largest y is 0, and t lies in [-1, -m^(-s)] for m candidates (the largest entry
alone gives (-t)^b <= 1; the largest p is at least 1 / m). So only entries with y > -1 can
be in the support: the same candidate filter as sparsemax, scaled. alpha = 2 is sparsemax
(b = 1), alpha = 1.5 has b = 2 (p is a square, tau solves a quadratic on a fixed support),
and alpha = 1 is softmax, handled as the limit: there the frame is ``y = z - max z``, the
threshold is ``t = log sum exp(y)`` and p = exp(y - t).

The threshold is found exactly in two stages, as for sparsemax: first the support (no
candidate is left strictly between a lower and an upper bound of t), then t on that fixed
support, where f(t) = sum_S (y_i - t)^b - 1 is smooth and monotone: in closed form for
alpha = 2 and 1.5, by Newton's method otherwise, to full precision (a last Newton step that
no longer shrinks is where rounding starts). So each row sums to 1 to rounding with no
renormalisation.

Three facts give cheap lower bounds of t from any set C of candidates that contains the
support (|C| = k, mean mu), used to drop candidates before any power is taken:

- alpha < 2 (b > 1): by the power-mean inequality sum_C (y - t)_+^b >= k^(1-b) (sum_C
  (y - t))^b, so t >= mu - k^(-s);
- alpha > 2 (b < 1): d^b >= d for d in [0, 1], so t >= (sum_C y - 1) / k, sparsemax's bound;
- alpha = 1.5: the smaller root of sum_C (y - t)^2 = 1, when it exists, is a lower bound
  (and is t itself once C is the support).
"""

import numpy as np
from numba.core import types
from numba.extending import overload

from .._jit import jit
from . import scalar
from .common import BLOCKED_FROM, OK, candidates, keep_above, psum, row_max
from .derivs import _diagnose_pair, _diagnose_target, _support_sum
from .special import (
    BLOCK,
    block_mask,
    exp_nonpos,
    fma,
    if_positive,
    is_float32,
    log_pos,
    lowest_bit,
    max_nan,
    positive_part,
    pow32_of32,
    pow32_split,
    pow_unit,
    pow_unit32,
    split32,
)

_status = scalar.cpu
#: Newton steps allowed on a fixed support before the result is taken as it is (the steps
#: converge quadratically; the most any test row needed was far fewer).
_MAX_NEWTON = 100
#: Bisection steps allowed to separate the support (each halves the bracket: 64 reach the
#: float64 resolution of any bracket in [-1, 0]).
_MAX_BISECT = 200


#: ``tau_newton`` stops once a Newton step is below this, relative to t: the step after
#: Halley's would be below t's rounding.
_HALLEY_TOL = 2.0**-50
#: ``tau_newton32``'s stop. Its sums carry float32 powers, whose errors (a few units of
#: 2^-24 each) move the root of F = 1 by about 2^-22 relative at most, so a smaller step
#: may never come; from a Newton step of 2^-17 Halley's point is within (2^-17)^3 of the
#: root of the sums, far below that noise.
_HALLEY_TOL32 = 2.0**-17
#: The pow loops run over a multiple of this many entries, the pad entries made to
#: contribute 0: the vectorised loop leaves a scalar remainder, and a sum over 47 entries
#: took 303 ns against 180 padded to 48 (a standalone loop, float64 powers).
_PAD = 8

#: The least positive float64: x / max(d, it) is x / d for d > 0 and 0 for x = d = 0,
#: with no division by zero (which raises under ``NUMBA_DISABLE_JIT``).
_TINIEST = 5e-324

_TWO64_32 = np.float32(2.0**64)
_SMALL32 = np.float32(2.0**-100)
_ONE32 = np.float32(1.0)

#: The float64 just above -1: ``v > -1`` is ``v >= _ABOVE_MINUS_ONE``.
_ABOVE_MINUS_ONE = float(np.nextafter(-1.0, 0.0))


@jit(inline=True)
def power(d, b):
    """d^b for d in [0, 1] (every d = y - t is), with the exponents of alpha = 2, 1.5 and 3
    (b = 1, 2, 0.5) written out; otherwise ``special.pow_unit``, which vectorises (the C
    library's pow, called one entry at a time, cost 16 ns an entry; this 3.7)."""
    if b == 1.0:
        return d
    if b == 2.0:
        return d * d
    if b == 0.5:
        return np.sqrt(d)
    return pow_unit(d, b)


@jit
def gather(row, buf, a):
    """The max, the input check and the candidates of one row: ``(M, m, status)`` with the
    shifted, scaled candidates y = (alpha - 1)(x - M) > -1 in ``buf[:m]`` (for alpha = 1,
    every entry, y = x - M). The candidate pass is ``common.candidates``, as sparsemax's."""
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    n = row.shape[0]
    if a == 1.0:
        for i in range(n):
            buf[i] = np.float64(row[i]) - M
        return M, n, OK
    # v > -1 is v >= the float64 just above -1
    return M, candidates(row, M, a - 1.0, _ABOVE_MINUS_ONE, buf), OK


@jit(inline=True)
def _bound(y, k, a):
    """A lower bound of t from the ``k`` entries of ``y`` (a superset of the support):
    the power mean's for alpha < 2, sparsemax's for alpha >= 2 (the module's notes)."""
    S = psum(y, 0, k)
    if a == 1.5:
        return S / k - 1.0 / np.sqrt(k)
    if a < 2.0:
        return S / k - np.exp(-(a - 1.0) * np.log(k))
    return (S - 1.0) / k


@jit
def presolve(y, m, a):
    """Cheap steps that shrink the candidates ``y[:m]`` before a method runs.

    ``t = max(t, bound)``, drop the entries <= t: one sum and one branch-free filter per
    step, no powers; once for alpha < 2, repeated until nothing is dropped otherwise. For alpha = 2 this is Michelot's
    algorithm and settles the row (``(t, k, True)``); for alpha = 1 the row is settled by
    its log-sum-exp; otherwise it returns ``(t, k, False)`` with the ``k`` survivors, a
    superset of the support, in ``y[:k]``."""
    if a == 1.0:
        s = 0.0
        k = 0
        for j in range(m):
            s += exp_nonpos(y[j])
            k += y[j] > -np.inf
        return np.log(s), k, True
    t = -1.0
    k = m
    # alpha < 2: one step; repeating the bound to its fixed point cost more than the Newton
    # steps it saved (N(0, 1) rows of 1024 at alpha = 1.3: 9.4 us a row against 8.1 with one
    # step; at 1.5, 1.84 against 1.60). alpha > 2: to the fixed point (sparsemax's tau of y)
    steps = 1 if a < 2.0 else _MAX_BISECT
    for _ in range(steps):
        tb = _bound(y, k, a)
        t = tb if tb > t else t
        w = keep_above(y, 0, k, t)
        if w == k:
            return t, k, a == 2.0
        k = w
    return t, k, False


@jit(reassoc=True, contract=True)
def _sums(y, k, t, b):
    """``(sum d^b, sum d^(b - 1))`` over the first ``k`` entries, d = max(y - t, 0).

    Branch-free (``special.positive_part``, ``special.if_positive``) and with FMAs, so the
    loop vectorises with the powers inlined. For b > 1 it takes d^(b - 1) and multiplies
    by d (no division); for b < 1, d^(b - 1) > 1 is out of ``pow_unit``'s range and is
    d^b / d."""
    F = 0.0
    E = 0.0
    if b == 2.0:
        for j in range(k):
            d = positive_part(y[j] - t)
            F += d * d
            E += d
    elif b == 1.0:
        for j in range(k):
            F += positive_part(y[j] - t)
        E = float(k)
    elif b > 1.0:
        b1 = b - 1.0
        for j in range(k):
            d = positive_part(y[j] - t)
            e = pow_unit(d, b1)
            F += e * d
            E += e
    else:
        for j in range(k):
            d = positive_part(y[j] - t)
            p = pow_unit(d, b)
            F += p
            E += p / max_nan(d, _TINIEST)  # d^(b - 1), 0 off the support (p = 0)
    return F, E


@jit(inline=True)
def _pad(y, k):
    """The end of ``y[:k]`` rounded up to a multiple of ``_PAD`` (within ``y``), the entries
    after ``k`` set to -inf (scratch: the candidates already dropped), where d = 0."""
    kp = min((k + _PAD - 1) // _PAD * _PAD, y.shape[0])
    for j in range(k, kp):
        y[j] = -np.inf
    return kp


@jit(reassoc=True, contract=True, inline=True)
def _sums_of_powers(y, kp, t, b, pw):
    """``(sum d^b, sum d^(b - 1), sum d^(b - 2))`` over the first ``kp`` entries from the
    powers ``pw`` (float32 or float64) a loop before took: d^(b - 2) for b > 2, d^(b - 1)
    otherwise, 0 where d = max(y - t, 0) is 0."""
    F = 0.0
    E = 0.0
    G = 0.0
    if b > 2.0:
        for j in range(kp):
            d = positive_part(y[j] - t)
            q = np.float64(pw[j]) if d > 0.0 else 0.0
            e = q * d
            F += e * d
            E += e
            G += q
    else:
        for j in range(kp):
            d = positive_part(y[j] - t)
            e = np.float64(pw[j]) if d > 0.0 else 0.0
            F += e * d
            E += e
            G += e / max_nan(d, _TINIEST)
    return F, E, G


@jit(reassoc=True, contract=True, inline=True)
def _sums3_split(y, kp, t, b, w):
    """``_sums3`` with float32 powers, in three loops over the ``kp`` (padded) entries:
    d split into float32 halves (``special.split32``) with the distance's minimum, the
    powers from them in a loop of float32 values alone (eight lanes,
    ``special.pow32_split``), then the float64 sums (``_sums_of_powers``); ``w`` is
    float32 scratch of 2 kp entries. The arithmetic is the one loop's; the sums agree with
    it to rounding. Per entry (N(0, 1) candidates, 48 to 344 of them):
    2.6-3.0 ns against 4.0-4.3 in one loop at alpha = 1.3, 3.6-4.9 against 8.0-11.8 at
    alpha = 1.7."""
    W = -np.inf
    for j in range(kp):
        x = y[j] - t
        W = max_nan(W, -abs(x))
        hi, lo = split32(positive_part(x))
        w[j] = hi
        w[kp + j] = lo
    bq = np.float32(b - 2.0 if b > 2.0 else b - 1.0)
    for j in range(kp):
        w[kp + j] = pow32_split(w[j], w[kp + j], bq)
    F, E, G = _sums_of_powers(y, kp, t, b, w[kp:])
    return F, E, G, -W


@jit(reassoc=True, contract=True, inline=True)
def _sums3_split64(y, kp, t, b, w):
    """``_sums3`` with float64 powers for b < 2, in three loops as ``_sums3_split``: d into
    the float64 scratch ``w``, the powers d^(b - 1) in place, the sums. The one loop, with
    the power's division and the sum's d^(b - 1) / d, ran 15.5-16.1 ns an entry at
    alpha = 1.7, these 9.4-10.6; for b > 2 the one loop is the faster (6.5-6.8 against
    8.5-9.1 at alpha = 1.3)."""
    W = -np.inf
    for j in range(kp):
        x = y[j] - t
        W = max_nan(W, -abs(x))
        w[j] = positive_part(x)
    b1 = b - 1.0
    for j in range(kp):
        w[j] = pow_unit(w[j], b1)
    F, E, G = _sums_of_powers(y, kp, t, b, w)
    return F, E, G, -W


@jit(reassoc=True, contract=True, inline=True)
def _sums3_kept64(y, kp, t, b, w):
    """``_sums3`` with float64 powers for b > 2, in its one loop, that also keeps each
    d^(b - 2) in ``w[:kp]`` (0 where d = 0), as ``_sums3_split64`` leaves d^(b - 1) for
    b < 2: ``tau_newton_write`` takes the output from them."""
    F = 0.0
    E = 0.0
    G = 0.0
    W = -np.inf
    b2 = b - 2.0
    for j in range(kp):
        x = y[j] - t
        W = max_nan(W, -abs(x))
        d = positive_part(x)
        q = pow_unit(d, b2)
        w[j] = q
        e = q * d
        F += e * d
        E += e
        G += q
    return F, E, G, -W


@jit(reassoc=True, contract=True, inline=True)
def _sums3(y, k, t, b, low, tmp):
    """``(sum d^b, sum d^(b - 1), sum d^(b - 2), min |y - t|)`` over the first ``k``
    entries (the third over d > 0 only), d = max(y - t, 0), for b > 1 other than 2: one
    power an entry, d^(b - 2) times d for b > 2, d^(b - 1) divided by d below; the powers
    in float32 arithmetic when ``low``. The last is the distance from t to the nearest
    candidate, on either side: the sums are smooth within it. The entries after ``k`` are
    scratch (``_pad``); so is ``tmp`` (float64, at least k entries, the methods' scratch):
    the powers are taken in a loop of their own there (``_sums3_split``,
    ``_sums3_split64``), the faster way but for float64 powers with b > 2, which stay in
    the sums' loop (``_sums3_kept64``), and the float64 powers are left in it."""
    kp = min(_pad(y, k), tmp.shape[0])
    if low:
        return _sums3_split(y, kp, t, b, tmp.view(np.float32))
    if b < 2.0:
        return _sums3_split64(y, kp, t, b, tmp)
    return _sums3_kept64(y, kp, t, b, tmp)


@jit
def _quadratic_root(y, k):
    """The smaller root of sum_{j<k} (y_j - t)^2 = 1, or -inf when it has none."""
    mu = psum(y, 0, k) / k
    ss = 0.0
    for j in range(k):
        d = y[j] - mu
        ss += d * d
    disc = (1.0 - ss) / k
    if disc < 0.0:
        return -np.inf
    return mu - np.sqrt(disc)


@jit
def _polish(y, k, t, b):
    """Newton's steps on the fixed support ``y[:k]`` from a t already close to the root,
    in either direction, while they shrink: the last digits."""
    prev = np.inf
    for _ in range(_MAX_NEWTON):
        F, E = _sums(y, k, t, b)
        if not E > 0.0 or not E < np.inf:
            return t
        step = (F - 1.0) / (b * E)
        if not abs(step) < prev:
            return t
        t += step
        if step == 0.0:
            return t
        prev = abs(step)
    return t


@jit
def _solve_fixed(y, k, lo, hi, b):
    """t on the fixed support ``y[:k]``, with lo <= t <= hi: closed form for b = 1 and 2,
    otherwise Newton's method guarded by bisection (the function is convex for b > 1 and
    concave for b < 1, but a guard costs nothing), then ``_polish``."""
    if b == 1.0:
        return (psum(y, 0, k) - 1.0) / k
    if b == 2.0:
        t = _quadratic_root(y, k)
        if not (lo <= t <= hi):
            t = 0.5 * (lo + hi)
        return _polish(y, k, t, b)
    t = lo if b > 1.0 else hi
    for _ in range(_MAX_NEWTON):
        F, E = _sums(y, k, t, b)
        f = F - 1.0
        if f == 0.0:
            return t
        if f > 0.0:
            lo = t
        else:
            hi = t
        tn = t + f / (b * E) if E > 0.0 and E < np.inf else 0.5 * (lo + hi)
        if tn == t:  # converged: the step is below t's resolution
            break
        if not (lo < tn < hi):
            tn = 0.5 * (lo + hi)
            if tn == lo or tn == hi:
                break
        t = tn
    return _polish(y, k, t, b)


@jit(inline=True)
def _min(y, k):
    low = np.inf
    for j in range(k):
        low = min(low, y[j])
    return low


@jit
def _upper(m, s):
    """An upper bound of t with m candidates: -m^(-s), where f <= 0."""
    return -np.exp(-s * np.log(m))


@jit
def _separate(y, k, lo, hi, b):
    """Bisect [lo, hi] (f(lo) >= 0 >= f(hi), the ``k`` entries of ``y`` all > lo) until no
    entry lies strictly inside it: then the entries > lo are the support. Returns
    ``(lo, hi, k)`` with the support in ``y[:k]``."""
    for _ in range(_MAX_BISECT):
        if _min(y, k) >= hi:
            return lo, hi, k
        mid = 0.5 * (lo + hi)
        if not (lo < mid < hi):
            return lo, hi, k
        F, _ = _sums(y, k, mid, b)
        if F >= 1.0:
            lo = mid
            k = keep_above(y, 0, k, lo)
        else:
            hi = mid
    return lo, hi, k


@jit
def tau_bisect(y, m, tmp, a):
    """Bisection of the bracket until the support is exact, then t on it.

    Unlike a bisection to a tolerance, it stops as soon as no candidate lies strictly
    inside the bracket [lo, hi] (the support is then known) and solves the fixed-support
    equation to full precision (``_solve_fixed``)."""
    s = a - 1.0
    b = 1.0 / s
    lo = max(-1.0, _bound(y, m, a))
    k = keep_above(y, 0, m, lo)
    hi = _upper(k, s)
    lo, hi, k = _separate(y, k, lo, hi, b)
    t = _solve_fixed(y, k, lo, hi, b)
    return t, keep_above(y, 0, k, t)


@jit
def _norm_step(F, E, s):
    """The Newton step on N = F^s = 1 (N the b-norm, s = 1 / b = alpha - 1) at a point
    with sums ``F``, ``E`` (``_sums``): (F - F^(1 - s)) / E, or NaN where it is undefined."""
    if F > 0.0 and E > 0.0 and E < np.inf:
        return (F - F / F**s) / E
    return np.nan


@jit
def _tau_above2(y, m, a):
    """alpha > 2 (b < 1): Newton's steps on the b-norm inside a bisection bracket, until no
    candidate lies strictly inside it (the support is then known), then on that support.

    On a fixed support N is concave (a power mean of exponent b < 1 of entries affine in
    t), so a Newton step from right of tau lands right of the support's root, and from
    left of it overshoots to the right; entries entering on the left only raise N. Every
    point evaluated is kept as a bound (F >= 1: lower, and the entries at or below it are
    dropped; else upper). The first point is where the candidates would sit if they were
    all equal (mean - k^(-s), in the bracket). A step from the right that follows another
    from the right is doubled, so that it lands left of tau and the lower bound moves too;
    a step outside the bracket, or no shorter than the move before it, is a bisection.
    Once the support is separated the steps go on on it, from the right, where they
    decrease monotonically to the root; the last one below ``_HALLEY_TOL`` relative to t
    is taken without another pass (its error is of the order of its square). N is close
    to linear where the d's are close (dense rows), so this takes a few passes where
    ``_separate``'s bisection and Newton's steps on F took many (dense rows of 128 at
    alpha 2.5: 5.8 passes a row against 15.3)."""
    s = a - 1.0
    b = 1.0 / s
    lo = max(-1.0, _bound(y, m, a))
    k = keep_above(y, 0, m, lo)
    hi = _upper(k, s)
    t = psum(y, 0, k) / k - np.exp(-s * np.log(k))
    if not (lo < t < hi):
        t = hi
    right = False
    prev = np.inf  # the length of the last move
    separated = False
    for _ in range(_MAX_BISECT):
        F, E = _sums(y, k, t, b)
        was_right = right
        right = not F >= 1.0
        if right:
            hi = t
        else:
            lo = t
            k = keep_above(y, 0, k, lo)
        step = _norm_step(F, E, s)
        if _min(y, k) >= hi:
            separated = True
            break
        tn = t + (2.0 * step if right and was_right else step)
        if not (lo < tn < hi and abs(tn - t) < prev):
            tn = 0.5 * (lo + hi)
            if not (lo < tn < hi):
                break
        prev = abs(tn - t)
        t = tn
    if not separated or not right:  # the last point is not an upper bound on the support
        return _finish_norm(y, k, lo, hi, s, b, hi, np.nan)
    return _finish_norm(y, k, lo, hi, s, b, t, step)


@jit
def _finish_norm(y, k, lo, hi, s, b, t, step):
    """t on the fixed support ``y[:k]`` for b < 1, with lo <= t <= hi, from ``t`` (the
    Newton ``step`` there, or NaN to evaluate it): Newton's steps on the b-norm inside the
    bracket, each point evaluated narrowing it. From the right they decrease monotonically
    to the root (N is concave on the support; the first ones may be short, where an entry
    lies just above t). A step that leaves the bracket is a bisection: that happens only
    by rounding, or from an entry sitting exactly at hi, whose infinite slope the tangent
    there misses. The first step below ``_HALLEY_TOL`` relative to t is taken without
    another pass (its error is of the order of its square). Returns ``(t, k)``."""
    for _ in range(_MAX_NEWTON):
        if step != step:
            F, E = _sums(y, k, t, b)
            if F >= 1.0:
                lo = t
            else:
                hi = t
            step = _norm_step(F, E, s)
        tn = t + step
        if not abs(step) > _HALLEY_TOL * abs(t):  # converged (or NaN: keep t)
            if lo <= tn <= hi:
                t = tn
            break
        if not (lo < tn < hi):
            tn = 0.5 * (lo + hi)
            if not (lo < tn < hi):
                break
        t = tn
        step = np.nan
    return t, keep_above(y, 0, k, t)


#: ``tau_newton`` also stops at the Halley point of a Newton step ``delta`` once a bound
#: of that point's error (``_halley_error``) is below this relative to t, provided the
#: step is at most ``_NEAR`` times the distance from t to the nearest candidate: no entry
#: enters or leaves the support between t and tau, the sums are smooth there, and the
#: error's expansion in delta is dominated by its first term. N(0, 1) rows of 128 at
#: alpha = 1.3 then mostly take three passes instead of four (the fourth only confirmed
#: the third's Halley point).
_CUBIC_TOL = 2.0**-56
_NEAR = 2.0**-10


#: ``tau_newton`` on float64 rows with b > 2 (alpha < 1.5) takes its first this many passes
#: with float32 powers (``special.pow_unit32``, eight lanes instead of four in a loop of
#: their own, ``_sums3_split``): far from tau their precision is not needed, and the
#: float64 pass after them stops as early (N(0, 1) rows at alpha = 1.3: three passes a row
#: either way; when these passes had the powers in the sums' loop, rows of 128 took 1290 ns
#: against 1460 with every pass in float64, rows of 1024 4.8 us against 5.5). Their sums are
#: known only to ``_ROUGH_ERR`` (F + k) and (E + k), k the entries summed: each power is
#: within 4 (1 + |log(p)|) 2^-24 relative of p (``pow_unit32``), and p (1 + |log p|) <= 1
#: for p in [0, 1], so a term d^b or d^(b - 1) is off by at most 2^-22 (1 + 1/e) for
#: d <= 1 (d^(b - 2) may be far off for d below float32's range, but it only enters
#: Halley's point, never a bound). A point is then a lower bound only when F is >= 1 by
#: more than F's error, and the Newton point is moved left by twice its error's
#: first-order bound, (eF (1 + F^-s) + |delta| eE) / E. (b <= 2 is left in float64: there
#: d^(b - 1) of a d below float32's range is not small, and E would carry its error.)
_ROUGH_PASSES = 2
_ROUGH_ERR = 2.0**-21
#: ... unless the candidates are so close together that the first point is already close
#: to tau: then the float64 passes from it are one or two, and float32 ones before them
#: only add passes (dense rows of 128, the N(0, 1) rows times 1e-3: 1.4x the time). The
#: spread is F(t0) - 1 to first order at the first point t0 = mean - m^(-s) of the m
#: candidates were they all in the support, (b (b - 1) / 2) var m^(2s): near 1 on N(0, 1)
#: rows at alpha = 1.3, near 1e-5 on the dense ones.
_ROUGH_FROM = 2.0**-8
#: ... and from this many candidates: on fewer a pass costs mostly its scalar steps (rows
#: of 16 at alpha = 1.3 took the same time either way).
_ROUGH_K = 32


@jit(reassoc=True, inline=True)
def _moments(y, k):
    """``(sum y, sum y^2)`` over the first ``k`` entries, in one vectorised pass."""
    S1 = 0.0
    S2 = 0.0
    for j in range(k):
        S1 += y[j]
        S2 += y[j] * y[j]
    return S1, S2


@jit(inline=True)
def _halley_error(F, E, G, dist, b, step):
    """A bound of the error of Halley's point on the b-norm N(t) = F^(1/b), F = sum
    (y - t)_+^b, from a Newton step of size ``step``, given the sums F, E = sum d^(b - 1),
    G = sum d^(b - 2) at t and the distance ``dist`` from t to the nearest candidate.

    Halley's point from an error e has the error (N2^2 / 4 - N3 / 6) e^3 to leading order,
    where N2 = N'' / N' and N3 = N''' / N'. With s = 1 / b, N2 = -(b - 1)(F G - E^2) / (F E)
    and N3 = (b - 1)(2b - 1) E^2 / F^2 - 3 (b - 1)^2 G / F + F''' / F', all known from the
    sums but F''' / F' = -(b - 1)(b - 2) sum d^(b - 3) / E, which is bounded with
    sum d^(b - 3) <= G / dist. The factor 2 covers the terms of higher order in
    step / dist."""
    b1 = b - 1.0
    n2 = b1 * (F * G - E * E) / (F * E)
    known = b1 * (2.0 * b - 1.0) * E * E / (F * F) - 3.0 * b1 * b1 * G / F
    third = b1 * abs(b - 2.0) * G / (E * dist)
    return 2.0 * (abs(0.25 * n2 * n2 - known / 6.0) + third / 6.0) * step * step * step


#: What ``_halley_open`` leaves: the support in ``y[:k]`` (``_SETTLED``); candidates, a
#: superset of it, to be compacted at t (``_OPEN``); or those candidates with the float64
#: powers of the last pass in ``tmp[:k]`` (``_KEPT``: d^(b - 2) for b > 2, d^(b - 1) below,
#: at the point t0 of that pass, 0 where d = 0).
_SETTLED = 0
_OPEN = 1
_KEPT = 2


@jit(reassoc=True, contract=True, inline=True)
def _halley(y, m, tmp, a, f32):
    """``(t, k)``: ``_halley_open``'s threshold with the support in ``y[:k]``."""
    t, k, t0, kind = _halley_open(y, m, tmp, a, f32)
    if kind != _SETTLED:
        k = keep_above(y, 0, k, t)
    return t, k


@jit(reassoc=True, contract=True, inline=True)
def _halley_open(y, m, tmp, a, f32):
    """Halley's method on the b-norm, guarded by Newton's, dropping entries as they fall
    below a proven lower bound of tau.

    For alpha <= 2 the b-norm N(t) = (sum (y - t)_+^b)^(1/b) is convex and decreasing in t
    (a norm of entries that are each convex and decreasing), so the Newton step on
    N(t) = 1 lands at or left of tau from any point, left or right of it (its tangent lies
    below N): every Newton point, and every point where F = N^b >= 1, is a lower bound,
    and the entries at or below the largest one are out of the support for good.
    Michelot's algorithm is the case alpha = 2. Each pass sums d^b, d^(b - 1) and
    d^(b - 2) (one power an entry) and moves to Halley's point, which converges cubically
    but may overshoot (it is then taken back to the lower bound when it falls left of it,
    and replaced by the Newton point when its denominator is out of [0.5, inf)). It stops
    once the Newton step is below ``_HALLEY_TOL`` relative to t, and takes the last
    Halley point: t is then tau to rounding, and the support is the entries above it.
    (Newton's steps from the left alone converge quadratically and need one more pass
    to see that a step no longer moves t, so they take about two passes more on N(0, 1)
    rows.) alpha = 1.5 takes ``_newton15``; for alpha > 2 N is concave on a fixed support
    and the steps are guarded by a bracket instead (``_tau_above2``). ``f32`` (a constant
    of the caller): the powers in float32 arithmetic, and ``_HALLEY_TOL32``'s stop.
    Otherwise, for alpha < 1.5, the first passes may still take float32 powers, with
    their bounds moved by the sums' error bounds (``_ROUGH_PASSES``).

    Returns ``(t, k, t0, kind)``: ``kind`` says what ``y[:k]`` and ``tmp`` hold
    (``_SETTLED``, ``_OPEN``, ``_KEPT``), t0 is the point of the last pass (``_KEPT``).
    """
    if a > 2.0:
        t, k = _tau_above2(y, m, a)
        return t, k, t, _SETTLED
    s = a - 1.0
    b = 1.0 / s
    if b == 2.0:
        t = max(-1.0, _bound(y, m, a))
        t, k = _newton15(y, keep_above(y, 0, m, t), t)
        return t, k, t, _SETTLED
    # the power mean's bound (``_bound``), with the candidates' spread from the same pass
    S1, S2 = _moments(y, m)
    mu = S1 / m
    km = np.exp(-s * np.log(m))  # m^(-s)
    t = max(-1.0, mu - km)
    k = keep_above(y, 0, m, t)
    low = t  # the largest t known to be at or left of tau: the entries <= low are out
    # float64 rows: the first passes in float32 powers too, for b > 2, unless t is already
    # close to tau (``_ROUGH_PASSES``)
    rough = 0
    if not f32 and b > 2.0 and k >= _ROUGH_K:
        spread = 0.5 * b * (b - 1.0) * max(S2 / m - mu * mu, 0.0) / (km * km)
        rough = _ROUGH_PASSES if spread > _ROUGH_FROM else 0
    for it in range(_MAX_NEWTON):
        if f32 or it < rough:
            F, E, G, dist = _sums3(y, k, t, b, True, tmp)
        else:
            F, E, G, dist = _sums3(y, k, t, b, False, tmp)
        if not (F > 0.0 and E > 0.0 and E < np.inf):  # t is right of every entry
            t = low
            continue
        Fs = F**s
        delta = (F - F / Fs) / E  # the Newton step on N, F / F^s = F^(1 - s)
        if it < rough:
            # the bounds from sums with float32 powers, moved by their errors' bounds
            eF = _ROUGH_ERR * (F + k)
            eE = _ROUGH_ERR * (E + k)
            if F - eF >= 1.0 and t > low:
                low = t
            tn = t + delta - 2.0 * (eF * (1.0 + 1.0 / Fs) + abs(delta) * eE) / E
        else:
            if F >= 1.0 and t > low:
                low = t
            tn = t + delta
        if tn > low:
            low = tn
        # Halley's step: N'' / N' = -(b - 1)(F G - E^2) / (F E), F G >= E^2 (Cauchy-Schwarz)
        den = 1.0 - delta * (b - 1.0) * (F * G - E * E) / (2.0 * F * E)
        halley = 0.5 <= den < np.inf
        th = t + delta / den if halley else tn
        halley = halley and th >= low
        th = th if th > low else low
        step = abs(delta)
        if it < rough:  # no stop in the rough passes
            k = keep_above(y, 0, k, low)
            t = th
            continue
        kept = _OPEN if f32 else _KEPT  # float64 powers stay in tmp (``_sums3``)
        if not step > (_HALLEY_TOL32 if f32 else _HALLEY_TOL) * abs(t):
            return th, k, t, kept
        if (not f32 and halley and step <= _NEAR * dist
                and _halley_error(F, E, G, dist, b, step) <= _CUBIC_TOL * abs(t)):
            # Halley's point is within _CUBIC_TOL of tau: no pass to confirm it
            return th, k, t, kept
        k = keep_above(y, 0, k, low)
        t = th
    return t, k, t, _OPEN


@jit(reassoc=True, contract=True)
def _halley_open64(y, m, tmp, a):
    """``_halley_open`` in float64, a function of its own (with its flags)."""
    return _halley_open(y, m, tmp, a, False)


@jit(reassoc=True, contract=True)
def tau_newton(y, m, tmp, a):
    """Halley's method on the b-norm (``_halley``), in float64 (but its first passes, see
    ``_ROUGH_PASSES``); ``tmp`` (float64, of the row's length) is the powers' scratch.
    alpha = 1.5 and alpha > 2 go to their own kernels from here; the others through
    ``_halley_open64``, the one compiled copy that ``tau_newton_write`` calls too (a second
    copy cost 13 s more to compile the float64 forward pass)."""
    if a > 2.0:
        return _tau_above2(y, m, a)
    if 1.0 / (a - 1.0) == 2.0:  # alpha = 1.5, as ``_halley_open`` tells it
        t = max(-1.0, _bound(y, m, a))
        return _newton15(y, keep_above(y, 0, m, t), t)
    t, k, t0, kind = _halley_open64(y, m, tmp, a)
    if kind != _SETTLED:
        k = keep_above(y, 0, k, t)
    return t, k


@jit(reassoc=True, contract=True)
def tau_newton32(y, m, tmp, a):
    """``tau_newton`` for rows whose output is float32: for 1 < alpha < 2 other than 1.5
    the powers of its sums are float32 (``special.pow_unit32``), summed in float64, and it
    stops at a Newton step below ``_HALLEY_TOL32`` relative to t; alpha = 1.5 and
    alpha > 2 run as in ``tau_newton``. tau is then the float64 root of sums whose terms
    carry float32 rounding: about 2^-22 relative at most, far below the float32 output's
    resolution. Rows of 128 at alpha = 1.3 take three passes instead of four, each
    about half as long (``_sums3_split``; the sums alone over 48, 84 and 128 entries:
    2.8, 2.8 and 2.6 ns an entry against 5.7, 5.8 and 5.5 with float64 powers). ``tmp``
    (float64, of the row's length) is the powers' scratch."""
    return _halley(y, m, tmp, a, True)


@jit(reassoc=True)
def _pass15(y, k, t):
    """``(sum d^2, sum d, sum y, sum y^2, min y)`` over the first ``k`` entries,
    d = max(y - t, 0): one vectorised pass (the min as minus the max of the negated
    entries, ``special.max_nan``, which vectorises where ``min`` does not)."""
    F = 0.0
    E = 0.0
    S1 = 0.0
    S2 = 0.0
    neg_low = -np.inf
    for j in range(k):
        v = y[j]
        d = positive_part(v - t)
        F += d * d
        E += d
        S1 += v
        S2 += v * v
        neg_low = max_nan(neg_low, -v)
    return F, E, S1, S2, -neg_low


@jit
def _newton15(y, k, t):
    """``tau_newton`` for alpha = 1.5 (b = 2): each step's one pass also sums the set's
    entries and squares and finds its smallest, so the set's closed form (the smaller
    root of sum (y - t)^2 = 1) costs nothing; once every entry of the set is above it, it
    is tau (the entries outside the set are below the current t, itself below the root),
    and one Newton step takes the rounding of its square root away. N(0, 1) rows of 128:
    2 to 3 passes instead of 6."""
    for _ in range(_MAX_NEWTON):
        F, E, S1, S2, low = _pass15(y, k, t)
        mu = S1 / k
        disc = (1.0 - (S2 - S1 * mu)) / k
        if disc >= 0.0:
            tq = mu - np.sqrt(disc)
            if tq >= t and low > tq:
                # one Newton step on the support: the root's error (its square root of a
                # difference) is squared away
                F, E = _sums(y, k, tq, 2.0)
                return tq + (F - 1.0) / (2.0 * E), k
        tn = t + (F - np.sqrt(F)) / E
        if not tn > t:
            break
        t = tn
        k = keep_above(y, 0, k, t)
    return t, keep_above(y, 0, k, t)


@jit
def tau_sort(y, m, tmp, a):
    """Sort the candidates, find the support size on the sorted row, then t on it.

    Entry k of the decreasing order is in the support exactly when
    sum_{i<k} (y_(i) - y_(k))^b < 1 (f at y_(k) is negative), a condition that holds for a
    prefix. For alpha = 1.5 the scan updates the closed form with prefix sums, as in
    Peters et al.'s Algorithm 2 (tau_k of the top k entries < y_(k)); otherwise the prefix
    is found by binary search on k, O(k log m) powers."""
    s = a - 1.0
    b = 1.0 / s
    v = y[:m]
    v.sort()
    v = v[::-1]  # decreasing
    if b == 2.0:
        s1 = 0.0
        s2 = 0.0
        k = 0
        for j in range(1, m + 1):
            x = v[j - 1]
            s1 += x
            s2 += x * x
            mu = s1 / j
            disc = (1.0 - (s2 - j * mu * mu)) / j
            if disc < 0.0 or mu - np.sqrt(disc) >= x:
                break
            k = j
    else:
        lo_k, hi_k = 1, m  # the condition holds at lo_k; find the last k where it holds
        while lo_k < hi_k:
            mid = (lo_k + hi_k + 1) // 2
            c = v[mid - 1]
            F = 0.0
            for i in range(mid - 1):
                F += power(v[i] - c, b)
            if F < 1.0:
                lo_k = mid
            else:
                hi_k = mid - 1
        k = lo_k
    hi = v[k - 1]
    lo = v[k] if k < m else -1.0
    for j in range(k):  # the support, in front of y (v is y reversed: copy through tmp)
        tmp[j] = v[j]
    for j in range(k):
        y[j] = tmp[j]
    t = _solve_fixed(y, k, max(lo, -1.0), min(hi, _upper(k, s)), b)
    return t, keep_above(y, 0, k, t)


@jit(contract=True)
def _exp_row(row, M, t, out):
    """``out = exp(row - M - t)`` (alpha = 1), with the FMAs ``exp_nonpos`` is written for."""
    for i in range(row.shape[0]):
        out[i] = exp_nonpos((np.float64(row[i]) - M) - t)


@jit(contract=True)
def _pow_packed(dv, w, b, low):
    """``dv[:w] = dv[:w]^b`` in place, vectorised, with the FMAs ``pow_unit`` is written
    for (without them a power costs 4.4 ns an entry instead of 2.8); in float32 arithmetic
    (``pow_unit32``) when ``low``. It runs over a multiple of ``_PAD`` entries (``_pad``:
    the entries after w are scratch)."""
    wp = _pad(dv, w)
    if low:
        b32 = np.float32(b)
        for j in range(wp):
            dv[j] = pow_unit32(dv[j], b32)
    else:
        for j in range(wp):
            dv[j] = pow_unit(dv[j], b)


@jit(contract=True)
def _dense_pow(row, M, s, t, out, b, low):
    """``out = max(s (row - M) - t, 0)^b`` on every entry in one vectorised loop, with no
    scratch; the powers in float32 arithmetic when ``low``. The loop has the FMAs the
    powers are written for, and one of them may round s (row - M) - t once instead of
    twice, so the support is not read from its sign: an entry is nonzero exactly where
    the rounded product (row - M) s is >= the float64 just above t, which is where the
    kernel's y - t > 0 (``packed_support``)."""
    lo = np.nextafter(t, np.inf)
    if low:
        b32 = np.float32(b)
        for i in range(row.shape[0]):
            v = (np.float64(row[i]) - M) * s
            r = pow_unit32(positive_part(v - t), b32)
            out[i] = r if v >= lo else 0.0
    else:
        for i in range(row.shape[0]):
            v = (np.float64(row[i]) - M) * s
            r = pow_unit(positive_part(v - t), b)
            out[i] = r if v >= lo else 0.0


@jit
def _count_support(row, M, s, t):
    """The number of entries with (row - M) s > t (a vectorised count)."""
    lo = np.nextafter(t, np.inf)
    w = 0
    for i in range(row.shape[0]):
        w += (np.float64(row[i]) - M) * s >= lo
    return w


#: Rows of at most this many entries count their support first and take ``_dense_pow``
#: when it is at least this fraction of the row (float32 powers, float64 ones); longer
#: ones pack it first (``packed_support``) and go dense past half. Measured on rows of
#: 128 (``apply_row`` alone): float32 powers, support 46: 256 ns a row dense against
#: 455 packed; float64 powers, support 46: 553 against 434, support 128: 399 against 512.
_COUNT_UP_TO = 256
_DENSE_FRACTION32 = 0.125
_DENSE_FRACTION64 = 0.5


def packed_support(row, M, s, t, idx, dv, out):
    """The support of one output row, packed: ``idx[:w]`` its indices in order and
    ``dv[:w]`` their d = s (row - M) - t > 0, with ``out`` zeroed; returns w. When the
    support is at least half the row it may stop early and return any w >= n / 2 with
    ``idx``, ``dv`` and ``out`` unspecified (the caller then takes the dense path).

    The plain pass stores at every entry and advances only for a kept one (branch-free).
    On C-contiguous rows of ``common.BLOCKED_FROM`` entries or more, 64 entries at a time
    are tested by four vector masks (``special.block_mask``, against lo, the float64 just
    above t: (row - M) s >= lo exactly where s (row - M) - t > 0, as a difference of two
    floats is > 0 exactly when the first is the larger), the kept indices are taken from
    the bits, and only those entries are read again; where the support is small that
    costs little more than reading the row."""
    return _packed_plain(row, M, s, t, idx, dv, out)  # compiled code takes the overload below


@jit(inline=True)
def _packed_plain(row, M, s, t, idx, dv, out):
    w = 0
    for i in range(row.shape[0]):
        d = s * (np.float64(row[i]) - M) - t
        out[i] = 0.0
        idx[w] = i
        dv[w] = d
        w += d > 0.0
    return w


@jit(inline=True)
def _support_bits(idx, w, i, mask):
    while mask:
        idx[w] = i + lowest_bit(mask)
        w += 1
        mask &= mask - 1
    return w


@jit(inline=True)
def _packed_blocked(row, M, s, t, idx, dv, out):
    n = row.shape[0]
    lo = np.nextafter(t, np.inf)
    w = 0
    i = 0
    while i + 4 * BLOCK <= n:
        mask = (block_mask(row, i, M, s, lo)
                | (block_mask(row, i + BLOCK, M, s, lo) << BLOCK)
                | (block_mask(row, i + 2 * BLOCK, M, s, lo) << (2 * BLOCK))
                | (block_mask(row, i + 3 * BLOCK, M, s, lo) << (3 * BLOCK)))
        w = _support_bits(idx, w, i, mask)
        if 2 * w >= n:
            return w
        i += 4 * BLOCK
    while i + BLOCK <= n:
        w = _support_bits(idx, w, i, block_mask(row, i, M, s, lo))
        i += BLOCK
    for j in range(i, n):
        idx[w] = j
        w += (np.float64(row[j]) - M) * s >= lo
    if 2 * w < n:
        for j in range(w):
            dv[j] = s * (np.float64(row[idx[j]]) - M) - t
        for j in range(n):
            out[j] = 0.0
    return w


@overload(packed_support, inline="always")
def _packed_support(row, M, s, t, idx, dv, out):
    if isinstance(row, types.Array) and row.layout == "C":
        def pick(row, M, s, t, idx, dv, out):
            if row.shape[0] >= BLOCKED_FROM:
                return _packed_blocked(row, M, s, t, idx, dv, out)
            return _packed_plain(row, M, s, t, idx, dv, out)
        return pick
    return lambda row, M, s, t, idx, dv, out: _packed_plain(row, M, s, t, idx, dv, out)


#: float64 outputs with b = 1 / (alpha - 1) at least this (alpha <= 1.25) take
#: ``_compensated_row``: the relative error of d = y - t, a few units of 2^-53 from the
#: roundings of x - M, the product by alpha - 1, the subtraction and t itself, is
#: multiplied by b in d^b. Without it N(0, 1) rows of 2 summed to 1 within 3.25 n eps at
#: alpha = 1.2, 48 n eps at 1.01 and 508 n eps at 1.001.
_COMPENSATE_FROM = 4.0


@jit(inline=True)
def _dd_base(x, M, s, t, tl, lo):
    """d = (alpha - 1)(x - M) - (t + tl) as ``(dh, e)``, its float64 part and the rest
    (d = dh + e to about 2^-106 relative to the terms), for an entry in the support (its
    rounded product (x - M) s >= lo, the kernel's test, so dh = y - t rounded is > 0 when t
    is the threshold lo was taken from); ``(0, 0)`` off it. The roundings of x - M and of
    the subtraction are recovered exactly (two-sums), that of the product by the FMA, so
    that dh^b (1 + e / dh)^b has the error of about one rounding, whatever b. The error terms are differences that
    reassociation would fold away, so this is compiled without it; FMAs are allowed (the
    powers want them), and the product is taken as ``fma(u, s, 0)``, the same rounded
    product, so that none is fused into a later difference that must see it rounded."""
    x = np.float64(x)
    u = x - M
    bu = u - x
    eu = (x - (u - bu)) + (-M - bu)  # x - M = u + eu exactly
    y = fma(u, s, 0.0)
    ey = fma(u, s, -y) + eu * s  # s (x - M) = y + ey to about 2^-106
    d = y - t
    bd = d - y
    ed = (y - (d - bd)) + (-t - bd)  # y - t = d + ed exactly
    keep = y >= lo
    return (d if keep else 0.0), ((ed + ey) - tl if keep else 0.0)


@jit(inline=True)
def _dd_power(dh, e, b):
    """``(p, p / dh)`` for p = (dh + e)^b, taken as dh^b (1 + b e / dh), the first-order
    term (the second, b^2 (e / dh)^2 / 2 of p, is below 2^-100 p wherever e is a few units
    of dh's rounding). Where b e / dh is not small (above 1/2) dh is within a few roundings
    of t, or of a threshold far from tau, and p is dh^b alone: its correction would be
    below 2^-190 for b >= 4 and a threshold within rounding of tau. 0 off the support
    (dh = 0), and no NaN from a subnormal dh (whose 1 / dh overflows; its dh^b is 0)."""
    inv = 1.0 / dh if dh > 0.0 else 0.0
    c = b * (e * inv)
    p = pow_unit(dh, b) * (1.0 + c if abs(c) <= 0.5 else 1.0)
    return p, (p * inv if p > 0.0 else 0.0)


#: ``_compensated_row`` corrects its output to first order in the Newton step tl once
#: b |tl| is at most this (the second-order term is below b^2 tl^2 / 2 relative); a larger
#: step, from a threshold further than rounding from tau, is taken into the threshold
#: (carried as two floats) and the powers evaluated again, at most ``_REFINE`` times.
_FIRST_ORDER = 2.0**-30
_REFINE = 4


@jit(contract=True)
def _dd_powers(row, M, s, t, tl, lo, b, out, tmp):
    """``out[i] = d^b`` and ``tmp[i] = d^(b - 1)`` for d = dh + e from ``_dd_base`` on
    ``row[i]`` (``_dd_power``). No reduction, so the loop vectorises without reassociation
    (where ``out`` is not ``row``)."""
    for i in range(row.shape[0]):
        dh, e = _dd_base(row[i], M, s, t, tl, lo)
        out[i], tmp[i] = _dd_power(dh, e, b)


@jit(reassoc=True)
def _two_sums(u, v, w):
    """``(sum u[:w], sum v[:w])``, vectorised."""
    F = 0.0
    E = 0.0
    for i in range(w):
        F += u[i]
        E += v[i]
    return F, E


@jit(inline=True)
def _newton_tl(FE, b):
    """The Newton step on sum d^b = 1 from the sums at t, ``FE = (F, E)``, F = sum d^b and
    E = sum d^(b - 1) (0 for an empty support), and b times it."""
    F, E = FE
    tl = (F - 1.0) / (b * E) if E > 0.0 else 0.0
    return tl, b * tl


@jit(inline=True)
def _first_order(p, bt, q):
    """p moved by the Newton step to first order, p - b tl d^(b - 1), where it stays > 0;
    else p (an entry within a few roundings of t, whose p is below 2^-190 for b >= 4)."""
    c = p - bt * q
    return c if c > 0.0 else p


@jit(inline=True)
def _refined_powers(xs, M, s, t, lo, b, pv, tmp, w):
    """``_dd_powers`` of ``xs[:w]`` into ``pv`` and ``tmp``, at t, or at the threshold moved
    by Newton's steps until the last one is small enough for the first order (at most
    ``_REFINE`` evaluations); returns b times that last step."""
    th = t
    tlo = 0.0
    bt = 0.0
    for it in range(_REFINE):
        _dd_powers(xs, M, s, th, tlo, lo, b, pv, tmp)
        tl, bt = _newton_tl(_two_sums(pv, tmp, w), b)
        if abs(bt) <= _FIRST_ORDER or it == _REFINE - 1:
            break
        c = tlo + tl  # the step taken into the threshold pair (th, tlo)
        tn = th + c
        tlo = (th - tn) + c
        th = tn
    return bt


@jit
def _compensated_row(row, M, s, t, out, b, tmp, k):
    """``apply_row``'s powers for float64 outputs and b >= ``_COMPENSATE_FROM``, with d carried
    to about 2^-106 (``_dd_base``) and t refined by a Newton step on that support, to
    t + tl with tl = (F - 1) / (b E), F = sum d^b and E = sum d^(b - 1) at t. t is the
    method's float64 root, within a few of its units of tau, so the step leaves an error of
    order b (t - tau)^2, and moving every d by -tl multiplies p by (1 - tl / d)^b,
    1 - b tl / d to first order: p - b tl d^(b - 1), no second power. Rows then sum to 1
    within a few units of 2^-53 at any alpha, where the plain powers' error grew as b.
    (A step too large for the first order, b |tl| > ``_FIRST_ORDER``, which the methods'
    thresholds never need, is added to the threshold, carried as a float64 pair, and the
    powers are taken again there.)

    The entries written nonzero are the same as ``apply_row``'s: those with (row - M) s > t,
    the t given (an entry that a threshold far from tau leaves out of the refined support
    is written 0). ``tmp``: scratch of the row's length; ``k``: the support's size, or -1
    (it is then counted). A support under half of a row of ``BLOCKED_FROM`` entries or more
    is packed first (``packed_support``) and the powers taken on it alone."""
    n = row.shape[0]
    lo = np.nextafter(t, np.inf)
    tmp = tmp[:n]
    packed = False
    if n >= BLOCKED_FROM:
        if k < 0:
            k = _count_support(row, M, s, t)
        packed = 2 * k < n
    if packed:
        # the support's entries gathered first, so that the powers' loop runs on a
        # contiguous array and vectorises (on gathered loads it stayed scalar; so did it
        # with its output over its input: LLVM's overlap check fails)
        idx = np.empty(n, np.int64)
        xs = np.empty(n)
        pv = np.empty(n)
        w = packed_support(row, M, s, t, idx, xs, out)
        xs = xs[:w]
        pv = pv[:w]
        for j in range(w):
            xs[j] = row[idx[j]]
        bt = _refined_powers(xs, M, s, t, lo, b, pv, tmp, w)
        for j in range(w):
            out[idx[j]] = _first_order(pv[j], bt, tmp[j])
    else:
        bt = _refined_powers(row, M, s, t, lo, b, out, tmp, n)
        for i in range(n):
            out[i] = _first_order(out[i], bt, tmp[i])


@jit
def apply_row(row, M, t, out, a):
    """``out = max((alpha - 1)(row - M) - t, 0)^(1 / (alpha - 1))``, or exp(row - M - t) for
    alpha = 1, computed in float64 in the shifted frame, as the candidates were.

    This function is compiled without FMAs, so that (alpha - 1)(row - M) - t is rounded
    twice, as the kernel's y - t is, and an entry is written nonzero exactly when that is
    > 0; the exponentials and powers are taken in functions of their own that have them."""
    n = row.shape[0]
    if a == 1.0:
        _exp_row(row, M, t, out)
        return
    s = a - 1.0
    b = 1.0 / s
    if b == 1.0:
        for i in range(n):
            out[i] = positive_part((np.float64(row[i]) - M) - t)
    elif b == 2.0:
        for i in range(n):
            d = positive_part(s * (np.float64(row[i]) - M) - t)
            out[i] = d * d
    else:
        # the power only on the support: it is packed (``packed_support``), the power is
        # taken on the packed entries (vectorised), and they are put back over zeros. (A
        # loop with the power under a condition is vectorised with both sides computed;
        # N(0, 1) rows of 1024 at alpha = 2.5, support 3, took 4.7 us a row with the power
        # on every entry; with the plain packing pass over the whole row, 1.1 us; with the
        # blocked one, 0.45.) A dense support takes it on every entry, with no scatter.
        # a float32 output takes float32 powers where b > 1 (``pow_unit32``: below b = 1 a
        # d under float32's range would count)
        low = is_float32(out) and b > 1.0
        if not low and b >= _COMPENSATE_FROM:
            _compensated_row(row, M, s, t, out, b, np.empty(n), -1)
            return
        frac = _DENSE_FRACTION32 if low else _DENSE_FRACTION64
        if n <= _COUNT_UP_TO and _count_support(row, M, s, t) >= frac * n:
            _dense_pow(row, M, s, t, out, b, low)
            return
        idx = np.empty(n, np.int64)
        dv = np.empty(n)
        w = packed_support(row, M, s, t, idx, dv, out)
        if 2 * w < n:
            _pow_packed(dv, w, b, low)
            for j in range(w):
                out[idx[j]] = dv[j]
        else:
            _dense_pow(row, M, s, t, out, b, low)


def expand_support(row, M, s, t, vals, out):
    """``out[i] = vals[j]`` for the j-th entry of ``row`` with (row - M) s > t, 0 elsewhere;
    returns the number of such entries. ``vals`` needs one entry more than that (the plain
    pass reads one ahead). The test is the candidate pass's arithmetic, (row - M) s
    rounded once, against lo, the float64 just above t, so the entries written are the
    ones ``keep_above(y, 0, k, t)`` kept among the candidates, in the same order.

    On C-contiguous rows of ``special.BLOCK`` entries or more the row is zeroed and the
    kept entries are found 64 at a time from four vector masks (``special.block_mask``,
    then 16 at a time), and written from the masks' bits; other rows take a plain pass
    that stores at every entry and advances only for a kept one. (N(0, 1) rows of 128,
    support 46: 74 ns a row against 478 for the plain pass, whose select on a loaded value
    is not branch-free; rows of 16, support 11: 18 against 58.)"""
    return _expand_plain(row, M, s, t, vals, out)  # compiled code takes the overload below


@jit(inline=True)
def _expand_plain(row, M, s, t, vals, out):
    lo = np.nextafter(t, np.inf)
    j = 0
    for i in range(row.shape[0]):
        keep = (np.float64(row[i]) - M) * s >= lo
        out[i] = vals[j] if keep else 0.0
        j += keep
    return j


@jit(inline=True)
def _scatter_bits(vals, out, j, i, mask):
    while mask:
        out[i + lowest_bit(mask)] = vals[j]
        j += 1
        mask &= mask - 1
    return j


@jit(inline=True)
def _expand_blocked(row, M, s, t, vals, out):
    n = row.shape[0]
    lo = np.nextafter(t, np.inf)
    for i in range(n):
        out[i] = 0.0
    j = 0
    i = 0
    while i + 4 * BLOCK <= n:
        mask = (block_mask(row, i, M, s, lo)
                | (block_mask(row, i + BLOCK, M, s, lo) << BLOCK)
                | (block_mask(row, i + 2 * BLOCK, M, s, lo) << (2 * BLOCK))
                | (block_mask(row, i + 3 * BLOCK, M, s, lo) << (3 * BLOCK)))
        j = _scatter_bits(vals, out, j, i, mask)
        i += 4 * BLOCK
    while i + BLOCK <= n:
        j = _scatter_bits(vals, out, j, i, block_mask(row, i, M, s, lo))
        i += BLOCK
    for r in range(i, n):
        if (np.float64(row[r]) - M) * s >= lo:
            out[r] = vals[j]
            j += 1
    return j


@overload(expand_support, inline="always")
def _expand_support(row, M, s, t, vals, out):
    if isinstance(row, types.Array) and row.layout == "C":
        def pick(row, M, s, t, vals, out):
            if row.shape[0] >= BLOCK:
                return _expand_blocked(row, M, s, t, vals, out)
            return _expand_plain(row, M, s, t, vals, out)
        return pick
    return lambda row, M, s, t, vals, out: _expand_plain(row, M, s, t, vals, out)


#: ``apply_support`` takes the power on every entry of the row (``_dense_pow``, no
#: expansion) when the support is at least this fraction of it (float32 powers, float64
#: ones), and leaves rows of at most ``_SHORT`` entries to ``apply_row``. Measured
#: (``_dense_pow`` against the powers on the support and ``expand_support``, N(0, 1) rows
#: at alpha = 1.3): rows of 128 break even near 0.8 (float64) and 0.3 (float32); on rows of
#: 16 and 32 the dense loop was as fast or faster at most support sizes, and the forward
#: pass on rows of 16 was 2-5% slower through this function than through ``apply_row``.
_SUPPORT_DENSE32 = 0.3
_SUPPORT_DENSE64 = 0.75
_SHORT = 32


@jit(inline=True)
def apply_support(row, M, t, y, k, vals, out, a):
    """``apply_row`` from the support a method left in ``y[:k]``: the entries
    (row - M)(alpha - 1) > t of the row, as the candidate pass computed them, in row
    order. The powers are taken on those k entries only (vectorised, into ``vals``,
    scratch of the row's length) and expanded into the row
    (``expand_support``); a support that is most of the row takes them on every entry
    instead. alpha = 1, 1.5 and 2 (an exponential or no power) and short rows take
    ``apply_row``.
    Inlined into the driver (in Numba's IR), so that the rows that take ``apply_row`` pay
    no second call: on rows of 16 at alpha = 1.5 the extra call, and the reference
    counts of its scratch arrays, cost 10-20%."""
    n = row.shape[0]
    s = a - 1.0
    b = 1.0 / s
    low = is_float32(out) and b > 1.0
    if a != 1.0 and not low and b >= _COMPENSATE_FROM:
        _compensated_row(row, M, s, t, out, b, vals, k)
        return
    if a == 1.0 or b == 1.0 or b == 2.0 or n <= _SHORT:
        apply_row(row, M, t, out, a)
        return
    if k >= (_SUPPORT_DENSE32 if low else _SUPPORT_DENSE64) * n:
        _dense_pow(row, M, s, t, out, b, low)
        return
    for j in range(k):
        vals[j] = y[j] - t
    _pow_packed(vals, k, b, low)
    if expand_support(row, M, s, t, vals, out) != k:  # not the support: cannot happen
        apply_row(row, M, t, out, a)


#: ``tau_newton_write`` takes an entry's output from its kept power when the entry is more
#: than this many times the last step |t - t0| above t0: the binomial series of
#: (1 - r)^b to r^4, r = (t - t0) / d, then leaves out at most |C(b, 5)| r^5 <= 0.03 r^5
#: (1 < b < 4), below 2^-55. Nearer entries take their power afresh.
_SERIES_FROM = 1024.0


@jit(contract=True)
def _write_kept(row, M, t, t0, y, k, kept, out, a):
    """``out``, the output at t, from the candidates ``y[:k]`` (a superset of the support
    at t, in row order) and their powers ``kept[:k]`` at t0, d0^(b - 2) for b > 2 and
    d0^(b - 1) for b < 2, d0 = y - t0: each p = d0^b (1 - r)^b, r = (t - t0) / d0, by its
    binomial series (``_SERIES_FROM``), or d^b afresh (``pow_unit``) for an entry of the
    support at t within that of t0; 0 off the support. The values, one per candidate, go
    into ``kept`` and from there into the row (``expand_support``) at the entries that are
    at least the smallest candidate: exactly the candidates, as every entry dropped on the
    way was at or below a threshold below every kept one. Returns the support's size, or
    -1 if the entries found were not the k candidates (cannot happen: the test is the
    candidate pass's arithmetic), with ``out`` then to be written again."""
    b = 1.0 / (a - 1.0)
    h = t - t0
    lim = _SERIES_FROM * abs(h)
    c1 = b
    c2 = c1 * (b - 1.0) / 2.0
    c3 = c2 * (b - 2.0) / 3.0
    c4 = c3 * (b - 3.0) / 4.0
    square = b > 2.0
    near = 0
    w = 0
    neg_min = -np.inf
    for j in range(k):
        v = y[j]
        d0 = v - t0
        far = d0 > lim
        on = v > t
        r = h / (d0 if far else 1.0)
        base = kept[j] * d0
        base = base * d0 if square else base
        p = base * (1.0 - r * (c1 - r * (c2 - r * (c3 - r * c4))))
        kept[j] = p if on else 0.0
        near += on & (not far)
        w += on
        neg_min = max_nan(neg_min, -v)
    if near:
        for j in range(k):
            if not y[j] - t0 > lim and y[j] > t:
                kept[j] = pow_unit(y[j] - t, b)
    below = np.nextafter(-neg_min, -np.inf)  # the test is >= the float after this
    if expand_support(row, M, a - 1.0, below, kept, out) != k:
        return -1
    return w


@jit(inline=True)
def tau_newton_write(row, M, y, m, tmp, out, a):
    """``tau_newton`` with the output row: ``(t, k, written)``, t and k as ``tau_newton``
    returns them (the support in ``y[:k]``) and, where the method ends on a float64 pass
    (b = 1 / (alpha - 1) below ``_COMPENSATE_FROM``, not 2), ``out`` written from that
    pass's powers (``_write_kept``) as ``apply_support`` would write it, to rounding,
    instead of a second power an entry (N(0, 1) rows of 128 at alpha = 1.3 spent about a
    sixth of their time on it); ``written`` is False where the caller is to write ``out``
    (``apply_support``). ``row``, M: the row and its max, ``y[:m]`` its candidates.
    Inlined into the driver, so that the other alphas reach ``tau_newton`` with no call
    more than before (through one more, alpha = 1.5 on N(0, 1) rows of 8192 x 128 took
    1.13x the time, ``scripts/bench_ab.py --entmax``, 21 rounds)."""
    b = 1.0 / (a - 1.0)
    if a > 2.0 or b == 2.0 or b >= _COMPENSATE_FROM:  # no float64 powers to keep
        t, k = tau_newton(y, m, tmp, a)
        return t, k, False
    t, k, t0, kind = _halley_open64(y, m, tmp, a)
    if kind == _KEPT:
        w = _write_kept(row, M, t, t0, y, k, tmp, out, a)
        if w >= 0:
            return t, w, True
    if kind != _SETTLED:
        k = keep_above(y, 0, k, t)
    return t, k, False


# ---------------------------------------------------------------------------------------
# Derivatives at the output p: g = p^(2 - alpha) on the support, 0 off it;
# J = diag(g) - g g^T / sum(g), J v = g v - g (g . v) / sum(g).


@jit(inline=True)
def slope(p, a):
    """g = p^(2 - alpha) for p > 0, and 0 for p = 0 (whatever the sign of 2 - alpha);
    branch-free in p (``special.if_positive``; ``pow_unit`` gives 0 at 0)."""
    if a == 2.0:
        return if_positive(p, 1.0)
    if a == 1.0:
        return positive_part(p)
    if a == 1.5:
        return if_positive(p, np.sqrt(positive_part(p)))
    if a < 2.0:
        return pow_unit(p, 2.0 - a)
    # max_nan: p^(alpha - 2) is 0 where p is (and where it underflows): 1 / 5e-324 is
    # inf as 1 / 0 is in compiled code, where plain Python raises ZeroDivisionError
    return if_positive(p, 1.0 / max_nan(pow_unit(p, a - 2.0), _TINIEST))


@jit(reassoc=True, contract=True)
def _slopes(p, v, out, a):
    """``out = g`` (``slope``) and ``(sum g, sum g v)`` in one vectorised pass (``slope``
    has no branch on p, and LLVM takes its branches on alpha out of the loop). A float32
    p with 1 < alpha < 2 other than 1.5 takes its powers p^(2 - alpha) in float32
    arithmetic (``special.pow32_of32``, in a loop of their own), a p below 2^-100 (a float32
    subnormal among them, below that function's range) scaled by 2^64 first and its power
    scaled back."""
    G = 0.0
    Gv = 0.0
    if is_float32(p) and 1.0 < a < 2.0 and a != 1.5:
        # the powers in a loop of float32 values alone (eight lanes: a loop that also
        # carries float64 is vectorised four wide), then the sums over the stored g
        e = np.float32(2.0 - a)
        back32 = np.float32(2.0 ** (-64.0 * np.float64(e)))
        for i in range(p.shape[0]):
            x = np.float32(p[i])  # p[i] itself (typed for float64 p too, where this is dead)
            small = x < _SMALL32
            g = pow32_of32(x * (_TWO64_32 if small else _ONE32), e)
            out[i] = g * (back32 if small else _ONE32)
        for i in range(p.shape[0]):
            g = np.float64(out[i])
            G += g
            Gv += g * np.float64(v[i])
        return G, Gv
    for i in range(p.shape[0]):
        g = slope(np.float64(p[i]), a)
        out[i] = g
        G += g
        Gv += g * np.float64(v[i])
    return G, Gv


@jit
def jvp_row(p, v, out, a):
    """``out = g v - g (g . v) / sum(g)`` at the output ``p``; returns the row's status
    (``out`` untouched for a bad row)."""
    n = p.shape[0]
    sv, k, good = _support_sum(p, v)
    if good != n or not abs(sv) < np.inf or k == 0:
        st = _diagnose_pair(p, v, k)
        if st != OK:
            return st
    G, Gv = _slopes(p, v, out, a)
    scale = 1.0
    if not abs(Gv) < np.inf:  # v finite but the sum overflows: take it at 2^-64
        scale = 2.0**-64
        Gv = 0.0
        for i in range(n):
            Gv += out[i] * (np.float64(v[i]) * scale)
    c = Gv / G
    for i in range(n):
        out[i] = out[i] * (np.float64(v[i]) - c / scale)
    return OK


@jit
def jacobian_row(p, out, a):
    """``out = diag(g) - g g^T / sum(g)`` (n x n) at the output ``p``; returns the status."""
    n = p.shape[0]
    _, k, good = _support_sum(p, p)
    if good != n or k == 0:
        st = _diagnose_pair(p, p[:0], k)
        if st != OK:
            return st
    g = np.empty(n)
    G = 0.0
    for i in range(n):
        g[i] = slope(np.float64(p[i]), a)
        G += g[i]
    for i in range(n):
        c = g[i] / G
        for j in range(n):
            out[i, j] = 0.0 - c * g[j]
        out[i, i] += g[i]
    return OK


@jit
def dalpha_row(p, out, a):
    """``out = d p / d alpha`` at the output ``p`` (z held fixed); returns the status.

    With b = 1 / (alpha - 1), g = p^(2 - alpha) and w = p (b - log p) on the support,
    d p / d alpha = b (w - g sum(w) / sum(g)) = b J (p^(alpha - 1) (b - log p)): from
    p_i = u_i^b with u_i = (alpha - 1) z_i - tau, whose derivative is
    p_i (-b^2 log u_i) + b g_i (z_i - tau'), tau' fixed by sum_i dp_i = 0; z on the support
    is u_i / (alpha - 1) + const, and g_i u_i = p_i. At alpha = 1 it is the limit
    -(1/2) (p L^2 - p (p . L^2)), L = log p."""
    n = p.shape[0]
    _, k, good = _support_sum(p, p)
    if good != n or k == 0:
        st = _diagnose_pair(p, p[:0], k)
        if st != OK:
            return st
    if a == 1.0:
        c = 0.0
        for i in range(n):
            x = np.float64(p[i])
            L2 = log_pos(x) ** 2 if x > 0.0 else 0.0
            out[i] = x * L2
            c += out[i]
        for i in range(n):
            out[i] = -0.5 * (out[i] - np.float64(p[i]) * c)
        return OK
    b = 1.0 / (a - 1.0)
    G = 0.0
    W = 0.0
    for i in range(n):
        x = np.float64(p[i])
        w = x * (b - log_pos(x)) if x > 0.0 else 0.0
        out[i] = w
        W += w
        G += slope(x, a)
    c = W / G
    for i in range(n):
        out[i] = b * (out[i] - slope(np.float64(p[i]), a) * c)
    return OK


# ---------------------------------------------------------------------------------------
# The entmax loss: the Fenchel-Young loss of the Tsallis entropy
#     L = (p - q) . z + H(p) - H(q),  H(p) = (1 - sum p^alpha) / (alpha (alpha - 1)),
# computed as the equal sum of non-negative terms (a Bregman divergence plus a hinge):
#     L = sum_i [q_i^a - p_i^a - a d_i^+ (q_i - p_i)] / (a s) + sum_i q_i max(-d_i, 0) / s,
# with d = y - t (so p = (d^+)^b and p^(a - 1) = d^+). Each term is >= 0 (the first is the
# Bregman divergence of the convex x^a / (a s) between q_i and p_i, the second the hinge of
# an entry outside the support), exactly 0 where q_i = p_i, and a -inf score adds
# q_i * inf: +inf where the target puts mass, nothing where it does not. alpha = 2 gives
# the sparsemax loss; alpha = 1 is KL(q || softmax).


@jit(inline=True)
def _pow_a(x, a):
    """x^alpha for x >= 0, written out for alpha = 1.5 and 2."""
    if a == 2.0:
        return x * x
    if a == 1.5:
        return x * np.sqrt(x)
    return pow_unit(x, a)


@jit(inline=True)
def _others_pa(row, M, s, t, c, p):
    """sum over i != c of p_i^alpha = p_i d_i (d = max(s (row - M) - t, 0), p the output),
    branch-free: entry c is masked by a product with 0."""
    acc = 0.0
    for i in range(row.shape[0]):
        d = positive_part(s * (np.float64(row[i]) - M) - t)
        acc += (p[i] * d) * np.float64(i != c)
    return acc


@jit
def loss_label_row(row, M, t, c, g, a):
    """The entmax loss for the gold class ``c``; writes the gradient p - e_c into ``g``."""
    apply_row(row, M, t, g, a)
    return loss_label_from_p(row, M, t, c, g, a)


@jit
def loss_label_from_p(row, M, t, c, g, a):
    """The label loss from the output p already in ``g``, which becomes p - e_c (the
    forward pass writes p there from the method's support, ``apply_support``)."""
    if a == 1.0:
        g[c] = g[c] - 1.0
        return t - (np.float64(row[c]) - M)
    s = a - 1.0
    acc = _others_pa(row, M, s, t, c, g)
    d = s * (np.float64(row[c]) - M) - t
    dp = max(d, 0.0)
    pc = g[c]
    term = (1.0 - _pow_a(pc, a) - a * dp * (1.0 - pc)) / (a * s)
    g[c] = pc - 1.0
    return acc / a + max(term, 0.0) + max(-d, 0.0) / s


@jit
def loss_dist_row(row, M, t, q, g, a):
    """The entmax loss for the target distribution ``q``; writes the gradient p - q into
    ``g``. Returns ``(loss, running sum of q, status)``."""
    n = row.shape[0]
    qsum = 0.0
    good = 0
    L = 0.0
    if a == 1.0:
        for i in range(n):
            qi = np.float64(q[i])
            y = (np.float64(row[i]) - M) - t
            g[i] = exp_nonpos(y) - qi
            qsum += qi
            good += (qi >= 0.0) & (qi < np.inf)
            if qi > 0.0:
                L += qi * (np.log(qi) - y)
    else:
        s = a - 1.0
        b = 1.0 / s
        # p as the forward pass writes it (``apply_row``), so that the gradient is its p - q
        comp = not is_float32(g) and b >= _COMPENSATE_FROM
        if comp:
            _compensated_row(row, M, s, t, g, b, np.empty(n), -1)
        for i in range(n):
            qi = np.float64(q[i])
            d = s * (np.float64(row[i]) - M) - t
            dp = max(d, 0.0)
            p = g[i] if comp else power(dp, b)
            g[i] = p - qi
            qsum += qi
            good += (qi >= 0.0) & (qi < np.inf)
            if qi > 0.0 or p > 0.0:
                term = (_pow_a(qi, a) - _pow_a(p, a) - a * dp * (qi - p)) / (a * s)
                L += max(term, 0.0)
                if qi > 0.0 and d < 0.0:
                    L += qi * (-d) / s
    if good != n:
        return 0.0, qsum, _diagnose_target(q)
    return max(L, 0.0), qsum, OK
