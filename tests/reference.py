"""Independent references for the tests: plain NumPy in float64, and the quadratic program.

Nothing here imports sparsetools. ``sparsemax_ref`` is the sort-based projection
(Held et al. 1974), written with vectorised NumPy; ``sparsemax_qp`` solves the
projection as a quadratic program with scipy's SLSQP.
"""

import numpy as np
from scipy.optimize import minimize


def sparsemax_row_ref(z):
    """Sparsemax of one 1-D row in float64: ``(p, tau, k)``.

    ``-inf`` entries are masked (probability 0). The scan runs in the frame shifted by the
    row's max (sparsemax is shift invariant), so that large offsets do not cancel in the
    cumulative sum: sort decreasing, cumsum, k = max j with 1 + j z_(j) > cumsum_j,
    tau = (cumsum_k - 1) / k.
    """
    z = np.asarray(z, dtype=np.float64)
    assert z.ndim == 1
    assert not np.isnan(z).any() and not (z == np.inf).any()
    finite = z[np.isfinite(z)]
    assert finite.size > 0
    top = finite.max()
    ys = np.sort(finite - top)[::-1]
    css = np.cumsum(ys)
    j = np.arange(1, ys.size + 1)
    k = int(j[1.0 + j * ys > css].max())
    t = (css[k - 1] - 1.0) / k
    p = np.maximum((z - top) - t, 0.0)
    p[z == -np.inf] = 0.0
    return p, top + t, k


def sparsemax_ref(z, axis=-1):
    """Row-by-row reference along ``axis``: ``(p, tau, k)``, p float64 with z's shape,
    tau (float64) and k (int64) with z's shape without ``axis``."""
    z = np.asarray(z, dtype=np.float64)
    moved = np.moveaxis(z, axis, -1)
    batch = moved.shape[:-1]
    rows = moved.reshape(-1, moved.shape[-1])
    p = np.empty_like(rows)
    tau = np.empty(rows.shape[0])
    k = np.empty(rows.shape[0], dtype=np.int64)
    for r in range(rows.shape[0]):
        p[r], tau[r], k[r] = sparsemax_row_ref(rows[r])
    p = np.moveaxis(p.reshape(moved.shape), -1, axis)
    return p, tau.reshape(batch), k.reshape(batch)


def sparsemax_qp(z):
    """argmin ||p - z||^2 subject to p >= 0, sum p = 1, by SLSQP (small n only)."""
    z = np.asarray(z, dtype=np.float64)
    n = z.size
    res = minimize(
        lambda p: 0.5 * np.dot(p - z, p - z),
        np.full(n, 1.0 / n),
        jac=lambda p: p - z,
        method="SLSQP",
        bounds=[(0.0, None)] * n,
        constraints=[
            {"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones_like(p)}
        ],
        options={"ftol": 1e-10, "maxiter": 500},  # tighter makes SLSQP give up on line searches
    )
    assert res.success, res.message
    return res.x


#: Absolute tolerances on outputs (which lie in [0, 1]) per result dtype.
TOL = {
    np.dtype(np.float64): 1e-12,
    np.dtype(np.float32): 1e-6,
    np.dtype(np.float16): 2e-3,
}


def tol(dtype):
    return TOL[np.dtype(dtype)]


def result_dtype(dtype):
    """The dtype sparsemax returns for input ``dtype`` (SPEC section 6)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):
        return dtype.newbyteorder("=")
    return np.dtype(np.float64)


def michelot_steps_of(z):
    """How many Michelot steps a row needs after presolve's (plain NumPy)."""
    y = np.asarray(z, np.float64)
    y = y - y.max()
    y = y[y >= -1]
    steps = 0
    while True:
        t = (y.sum() - 1) / y.size
        keep = y > t
        if keep.all():
            return steps
        y = y[keep]
        steps += 1


def slow_michelot_row(f=0.3, delta=1e-14):
    """A row on which each Michelot step drops only a fraction ``f`` of its set: two
    entries at 0 (the support), then groups of tied entries built backwards from the last
    step, each just below the threshold of the step that drops it. The gaps must grow by
    about 1/f per step to stay above rounding, which is what bounds the steps in float64."""
    vals, size, total = [np.zeros(2)], 2, 0.0
    t = (total - 1) / size
    while True:
        c = max(1, round(f / (1 - f) * size))
        t_new = t - c * delta / size
        g = t_new - delta
        if not g > -1:
            return np.concatenate(vals)
        vals.append(np.full(c, g))
        size, total, t = size + c, total + c * g, t_new
        delta *= size / c * 1.05


def entmax_row_mp(z, alpha, dps=40):
    """alpha-entmax of one 1-D row in mpmath at ``dps`` digits: ``(p, tau)`` rounded to
    float64 (tau in the units of the definition, p = [(alpha - 1) z - tau]_+^(1/(alpha-1));
    for alpha = 1, softmax and its log-sum-exp). The threshold by 130 bisection steps of
    sum_i [(alpha - 1)(z_i - max) - t]_+^b = 1 on [-1, 0], far below float64's resolution.
    ``-inf`` entries get 0."""
    import mpmath

    z = [float(v) for v in np.asarray(z, dtype=np.float64)]
    with mpmath.workdps(dps):
        fin = [mpmath.mpf(v) for v in z if v != -np.inf]
        M = max(fin)
        if alpha == 1.0:
            e = [mpmath.exp(mpmath.mpf(v) - M) if v != -np.inf else mpmath.mpf(0) for v in z]
            S = sum(e)
            return np.array([float(x / S) for x in e]), float(M + mpmath.log(S))
        a = mpmath.mpf(alpha)
        s = a - 1
        b = 1 / s
        y = [s * (mpmath.mpf(v) - M) if v != -np.inf else None for v in z]
        lo, hi = mpmath.mpf(-1), mpmath.mpf(0)
        for _ in range(130):
            mid = (lo + hi) / 2
            if sum((v - mid) ** b for v in y if v is not None and v > mid) >= 1:
                lo = mid
            else:
                hi = mid
        t = lo
        p = [float((v - t) ** b) if v is not None and v > t else 0.0 for v in y]
        return np.array(p), float(t + s * M)
