"""Row kernels of the derivatives and the losses, built on the forward pass's (M, t).

Every function here works on one row and is called by a driver in ``_batched``. Sums are
float64 whatever the row's dtype. Loops whose speed matters are written so that LLVM can
vectorise them: no floating-point reduction inside them (sums go to ``psum`` afterwards,
over a row that is still in cache), and no conditional on loaded data (a support indicator
is computed with ``min`` instead, see ``indicator``).
"""

import numpy as np

from .._jit import jit
from . import scalar
from .common import OK, OTHER_INF, OTHER_NAN, apply_row, psum, row_max  # noqa: F401  (row_max: re-exported)
from .special import _bits_f64, _f64_bits, exp_nonpos, is_float32, unit_on

_BIG = 1e300
_status = scalar.cpu


@jit(inline=True)
def indicator(x):
    """1.0 if x > 0 else 0.0, for x >= 0, without a branch: (x * 1e300) * 1e300 is at least
    5e276 for the smallest subnormal and 0 for 0. (``1.0 if x > 0 else 0.0`` and
    ``float(x > 0)`` compile to a data-dependent branch: 6.3 ns per entry on a random
    support against 1.1 for this.)"""
    return min(x * _BIG * _BIG, 1.0)


@jit(reassoc=True)
def psum_sq(a, lo, hi):
    """float64 sum of squares of ``a[lo:hi]``, vectorised like ``psum``."""
    s = 0.0
    for j in range(lo, hi):
        x = np.float64(a[j])
        s += x * x
    return s


# ---------------------------------------------------------------------------------------
# Jacobian of sparsemax: J = diag(s) - s s^T / k, s the support indicator of p


@jit
def _diagnose_pair(p, v, k):
    """The status of a row pair that failed the fast check (slow, runs on bad rows only):
    ``scalar.pair_status`` of its counts; OK when the fast check was only conservative (a
    -0.0 in p)."""
    p_nan = p_posinf = p_neg = 0
    for i in range(p.shape[0]):
        x = p[i]
        p_nan += x != x
        p_posinf += x == np.inf
        p_neg += x < 0
    v_nan = v_inf = 0
    for i in range(v.shape[0]):
        v_nan += v[i] != v[i]
        v_inf += abs(v[i]) == np.inf
    return _status.pair_status(p_nan, p_posinf, p_neg, v_nan, v_inf, k)


@jit
def nonfinite_status(v):
    """OTHER_NAN if ``v`` has a NaN, else OTHER_INF if it has +inf or -inf, else OK."""
    for i in range(v.shape[0]):
        if v[i] != v[i]:
            return OTHER_NAN
    for i in range(v.shape[0]):
        if abs(v[i]) == np.inf:
            return OTHER_INF
    return OK


_INF_BITS = np.uint64(0x7FF0000000000000)
_ONE_BITS = np.int64(0x3FF0000000000000)


@jit(inline=True)
def nonneg_finite(x):
    """x in [+0, inf), as one unsigned comparison of its bits (negative numbers, -0.0
    included, have the sign bit; inf and NaN are at or above inf's bits). It vectorises,
    where ``(x >= 0) & (x < inf)`` costs 0.46 ns per entry."""
    return np.uint64(_f64_bits(np.float64(x))) < _INF_BITS


@jit(reassoc=True)
def _support_sum(p, v):
    """``(sum of v over the support of p, k, number of p entries in [+0, inf))``, one
    vectorised pass with no stores. The indicator is built from bits here (the ``reassoc``
    flag that vectorises the sum could fold ``indicator``'s two products into x * inf).
    The sum is NaN or inf if v has a NaN or an inf anywhere (off the support, 0 * inf)."""
    s = 0.0
    k = 0
    good = 0
    for i in range(p.shape[0]):
        b = _f64_bits(np.float64(p[i]))
        on = b > 0  # x > 0, or NaN, which ``good`` rejects
        s += _bits_f64(-np.int64(on) & _ONE_BITS) * np.float64(v[i])
        k += on
        good += np.uint64(b) < _INF_BITS
    return s, k, good


#: float32 rows from this length on write the JVP in float32 lanes (``unit_on``): the
#: vectorised loop takes 32 entries a step, and on shorter rows its scalar form was the
#: slower one (``bench_ab.py``, 15 rounds: rows of 16 1.06-1.07x, 24 1.02-1.03x, 40 0.96x
#: the time of the float64 indicator's loop).
_UNIT32_FROM = 32


@jit(inline=True)
def jvp_row(p, v, out):
    """``out = s * (v - (s . v) / k)``: J v (= v J, J is symmetric) in two passes.

    Pass 1 (``_support_sum``) sums v over the support, counts it and checks p; pass 2
    writes the result. Returns the row's status; ``out`` is untouched for a bad row.
    Inlined into the driver: a call that passes row views costs about 45 ns (reference
    counting) on top of the row's work.
    """
    n = p.shape[0]
    s, k, good = _support_sum(p, v)
    if good != n or not abs(s) < np.inf or k == 0:
        st = _diagnose_pair(p, v, k)
        if st != OK:
            return st
    mean = s / k if abs(s) < np.inf else _support_mean_scaled(p, v, k)
    if is_float32(out) and n >= _UNIT32_FROM:
        # the difference rounded to float32, then times the indicator in float32 (exact):
        # the same bits as the float64 product rounded, in eight lanes (``unit_on``)
        for i in range(n):
            out[i] = np.float32(np.float64(v[i]) - mean) * np.float32(unit_on(p[i]))
    else:
        for i in range(n):
            out[i] = indicator(np.float64(p[i])) * (np.float64(v[i]) - mean)
    return OK


_TWO_M64 = 2.0**-64
_TWO_64 = 2.0**64


@jit
def _support_mean_scaled(p, v, k):
    """The mean of v over the support of p when the plain sum overflows (v finite, so
    the mean itself is finite): the sum is taken at the scale 2^-64, exact for every entry
    that matters beside one near the float64 maximum, and scaled back after the division."""
    s = 0.0
    for i in range(p.shape[0]):
        if p[i] > 0.0:
            s += np.float64(v[i]) * _TWO_M64
    return (s / k) * _TWO_64


@jit
def jacobian_row(p, out):
    """``out = diag(s) - s s^T / k`` (n x n) for the support s of ``p``; returns the status."""
    n = p.shape[0]
    _, k, good = _support_sum(p, p)
    if good != n or k == 0:
        st = _diagnose_pair(p, p[:0], k)
        if st != OK:
            return st
    inv = 1.0 / k
    for i in range(n):
        si = indicator(np.float64(p[i]))
        for j in range(n):
            out[i, j] = 0.0 - si * indicator(np.float64(p[j])) * inv  # +0, not -0, off S
        out[i, i] += si
    return OK


# ---------------------------------------------------------------------------------------
# Sparsemax loss, in the form L = 1/2 ||p - q||^2 + sum_i q_i max(t - y_i, 0)
#
# With y = z - max(z) and t = tau - max(z) (so p = max(y - t, 0)), the paper's
# L = -q.y + 1/2 sum_S (y_j^2 - t^2) + 1/2 ||q||^2 equals the line above: sum_S (y_j^2 - t^2)
# = sum_S p_j (p_j + 2t) = ||p||^2 + 2t, and q_i (t - y_i + p_i) = q_i max(t - y_i, 0).
# Both terms are >= 0 as computed (no cancellation), both are exactly 0 when p = q, and a
# -inf score adds q_i * inf: +inf where the target puts mass, nothing where it does not.


@jit
def sparsemax_loss_label_row(row, M, t, c, g):
    """Loss for gold class ``c``; writes the gradient p - e_c into ``g``."""
    n = row.shape[0]
    apply_row(row, M, t, g)
    g[c] = g[c] - 1.0
    return 0.5 * psum_sq(g, 0, n) + _status.loss_terms((np.float64(row[c]) - M) - t, 1.0)[1]


@jit
def accurate_sum(q):
    """The float64 sum of the non-negative ``q``, compensated: within about 2 eps of the
    exact sum, where a running sum of n equal terms drifts by up to n eps / 2 (rows of 1/n
    in float64 sum to 1 - 2e-16 at n = 400). Fast2Sum on the larger and the smaller of the
    running sum and the next term (``max``/``min``: no branch), whose error term is exact.
    The loss kernels keep a plain running sum of the target and call this only for a row
    whose running sum fails the check, so a correct row is never rejected for its
    running sum's rounding."""
    s = 0.0
    c = 0.0
    for i in range(q.shape[0]):
        x = np.float64(q[i])
        a = max(s, x)
        b = min(s, x)
        s = a + b
        c += b - (s - a)
    return s + c


@jit
def _diagnose_target(q):
    """The status of a target row that failed the fast check (bad rows only)."""
    nan = posinf = neg = 0
    for i in range(q.shape[0]):
        x = q[i]
        nan += x != x
        posinf += x == np.inf
        neg += x < 0
    return _status.target_status(nan, posinf, neg)


@jit
def sparsemax_loss_dist_row(row, M, t, q, g):
    """Loss for the target distribution ``q``; writes the gradient p - q into ``g``.

    Returns ``(loss, running sum of q, status)``: the caller checks the sum against 1
    (and, where it fails, the ``accurate_sum``)."""
    n = row.shape[0]
    hinge = 0.0
    qsum = 0.0
    good = 0
    for i in range(n):
        qi = np.float64(q[i])
        gi, hi = _status.loss_terms((np.float64(row[i]) - M) - t, qi)
        g[i] = gi
        hinge += hi
        qsum += qi
        good += (qi >= 0.0) & (qi < np.inf)
    if good != n:
        return 0.0, qsum, _diagnose_target(q)
    return 0.5 * psum_sq(g, 0, n) + hinge, qsum, OK


# ---------------------------------------------------------------------------------------
# Softmax


@jit(contract=True)
def exp_shifted_row(row, M, scale, e):
    """``e = exp(scale * (row - M))`` (scale > 0, so every argument is <= 0); returns the
    float64 sum of ``e`` as stored."""
    n = row.shape[0]
    for i in range(n):
        e[i] = exp_nonpos(scale * (np.float64(row[i]) - M))
    return psum(e, 0, n)


@jit
def divide_row(e, s):
    """``e /= s`` (a division, correctly rounded, rather than a product with 1 / s)."""
    for i in range(e.shape[0]):
        e[i] = e[i] / s


@jit
def softmax_loss_dist_terms(row, M, logs, q, g):
    """KL(q || softmax) of one row whose softmax is in ``g``; turns ``g`` into
    softmax - q. Returns ``(loss, running sum of q, status)``, as
    ``sparsemax_loss_dist_row``."""
    n = row.shape[0]
    kl = 0.0
    qsum = 0.0
    good = 0
    for i in range(n):
        qi = np.float64(q[i])
        g[i] = g[i] - qi
        qsum += qi
        good += (qi >= 0.0) & (qi < np.inf)
        if qi > 0.0:
            kl += qi * (np.log(qi) - (np.float64(row[i]) - M) + logs)
    if good != n:
        return 0.0, qsum, _diagnose_target(q)
    return kl, qsum, OK


# ---------------------------------------------------------------------------------------
# Softmax + sigmoid: a1 = softmax(gamma z), a2 = sigmoid(beta (a1 - alpha))


@jit
def sigmoid_and_slope(x):
    """``(sigmoid(x), sigmoid(x) (1 - sigmoid(x)))``, both without cancellation: with
    e = exp(-|x|), the slope is e / (1 + e)^2 for either sign of x."""
    e = exp_nonpos(-abs(x))
    d = 1.0 + e
    s = 1.0 / d if x >= 0.0 else e / d
    return s, e / (d * d)
