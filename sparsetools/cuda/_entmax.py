"""alpha-entmax kernels, one thread block per row: the forward pass, the JVP and the loss.

Rows are (A, n, B) views as in ``_rows``; alpha is a float64 array of one value, or one per
row. Arithmetic is float64 in the frame of the CPU's kernels (``sparsetools.kernels.entmax``):
y = (alpha - 1)(z - max z), t = tau - (alpha - 1) max z, p = max(y - t, 0)^b with
b = 1 / (alpha - 1); alpha = 1 is softmax (t the log-sum-exp of z - max z).

The threshold: Newton's method on the b-norm, N(t) = (sum max(y - t, 0)^b)^(1/b) = 1, from
the left end of the bracket t = -1, each step one pass over the row and one block
reduction; for alpha <= 2 N is convex, so the steps never overshoot and increase to tau
(Michelot's steps at alpha = 2); for alpha > 2 a step that leaves the bracket [lo, hi]
(f(lo) >= 0 >= f(hi), kept from every evaluation) is replaced by bisection. The steps stop
when one no longer moves t: tau to full precision, and the support {y > t} with it.
Deterministic (fixed per-thread order, fixed reduction tree, no atomics).
"""

import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

#: Newton (or bisection) steps at most; N(0, 1) rows need about ten.
MAX_STEPS = 200


def make(T, red, rows):
    """The entmax kernels for blocks of ``T`` threads (``red``: ``_reduce.make(T)``;
    ``rows``: ``_rows.make(T, red)``, for the row addressing and the max)."""
    f64 = np.float64
    bsum = red.bsum
    row, row_max, check_target = rows.row, rows.row_max, rows.check_target
    pair_scan, entmax_slope = rows.pair_scan, rows.entmax_slope

    @cuda.jit(device=True)
    def alpha_of(alpha, r):
        return alpha[r if alpha.shape[0] > 1 else 0]

    @cuda.jit(device=True)
    def power(d, e):
        """d^e for d >= 0 (0 for d = 0), the exponents 1, 2 and 0.5 written out."""
        if not d > 0.0:
            return 0.0
        if e == 1.0:
            return d
        if e == 2.0:
            return d * d
        if e == 0.5:
            return math.sqrt(d)
        return math.pow(d, e)

    @cuda.jit(device=True)
    def sums(z, a, bb, n, m, s, e, t, tid, shf, shi):
        """Block sums (sum d^e, sum d^(e - 1), |{d > 0}|), d = s (z - m) - t."""
        F = 0.0
        E = 0.0
        c = 0
        for j in range(tid, n, T):
            d = s * (f64(z[a, j, bb]) - m) - t
            if d > 0.0:
                p = power(d, e)
                F += p
                E += p / d
                c += 1
        F, c = bsum(shf, shi, F, c, tid)
        E, _ = bsum(shf, shi, E, 0, tid)
        return F, E, c

    @cuda.jit(device=True)
    def softmax_sums(z, a, bb, n, m, tid, shf, shi):
        """(log sum exp(z - m), number of entries that are not -inf)."""
        S = 0.0
        c = 0
        for j in range(tid, n, T):
            x = f64(z[a, j, bb])
            if x > -math.inf:
                S += math.exp(x - m)
                c += 1
        S, c = bsum(shf, shi, S, c, tid)
        return math.log(S), c

    @cuda.jit(device=True)
    def tau_entmax(z, a, bb, n, m, alpha, tid, shf, shi):
        """(t, k): the shifted threshold and the support size of one row."""
        if alpha == 1.0:
            return softmax_sums(z, a, bb, n, m, tid, shf, shi)
        s = alpha - 1.0
        e = 1.0 / s
        lo = -1.0
        hi = -math.exp(-s * math.log(f64(n)))  # f(hi) <= 0 (every entry at most the max)
        t = lo
        k = 0
        for _ in range(MAX_STEPS):
            F, E, k = sums(z, a, bb, n, m, s, e, t, tid, shf, shi)
            f = F - 1.0
            if f >= 0.0:
                lo = t
            else:
                hi = t
            if f == 0.0 or not E > 0.0:
                break
            tn = t + (F - math.pow(F, 1.0 - s)) / E  # Newton's step on N(t) = F^(1/e) = 1
            if tn == t:
                break
            if not (lo < tn < hi):
                tn = 0.5 * (lo + hi)
                if tn == lo or tn == hi:
                    break
            t = tn
        return t, k

    @cuda.jit(device=True)
    def write_p(z, out, a, bb, n, m, alpha, t, tid):
        if alpha == 1.0:
            for j in range(tid, n, T):
                out[a, j, bb] = math.exp((f64(z[a, j, bb]) - m) - t)
            return
        s = alpha - 1.0
        e = 1.0 / s
        for j in range(tid, n, T):
            out[a, j, bb] = power(s * (f64(z[a, j, bb]) - m) - t, e)

    @cuda.jit
    def entmax_forward(z, alpha, out, tau, ksz, status, write):
        tid = cuda.threadIdx.x
        r, a, bb, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, np.int64)
        m, st = row_max(z, a, bb, n, tid, shf, shi)
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        al = alpha_of(alpha, r)
        t, k = tau_entmax(z, a, bb, n, m, al, tid, shf, shi)
        if tid == 0:
            status[r] = 0
            tau[r] = (m if al == 1.0 else (al - 1.0) * m) + t
            ksz[r] = k
        if write:
            write_p(z, out, a, bb, n, m, al, t, tid)

    @cuda.jit
    def entmax_jvp(p, v, alpha, out, status):
        """out = g v - g (g . v) / sum(g), g = p^(2 - alpha) on the support."""
        tid = cuda.threadIdx.x
        r, a, bb, n = row(p)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, np.int64)
        al = alpha_of(alpha, r)
        st, K, G = pair_scan(p, v, a, bb, n, al, tid, shf, shi)
        if tid == 0:
            status[r] = st
        if st != 0:
            return
        scale = 1.0
        gv = 0.0
        for j in range(tid, n, T):
            gv += entmax_slope(f64(p[a, j, bb]), al) * f64(v[a, j, bb])
        GV, _ = bsum(shf, shi, gv, 0, tid)
        if not abs(GV) < math.inf:  # finite v whose weighted sum overflows: take it at 2^-64
            scale = 2.0**-64
            gv = 0.0
            for j in range(tid, n, T):
                gv += entmax_slope(f64(p[a, j, bb]), al) * (f64(v[a, j, bb]) * scale)
            GV, _ = bsum(shf, shi, gv, 0, tid)
        c = (GV / G) / scale
        for j in range(tid, n, T):
            out[a, j, bb] = entmax_slope(f64(p[a, j, bb]), al) * (f64(v[a, j, bb]) - c)

    @cuda.jit(device=True)
    def pow_a(x, al):
        if al == 2.0:
            return x * x
        if al == 1.5:
            return x * math.sqrt(x)
        return math.pow(x, al) if x > 0.0 else 0.0

    @cuda.jit
    def entmax_loss(z, alpha, labels, q, tol, loss, grad, status, write):
        """The entmax loss (the CPU's per-entry form: a Bregman term and a hinge, each
        >= 0) and its gradient p - q; q is e_label when ``labels`` has one entry per row,
        else the distribution ``q`` (a view like z's)."""
        tid = cuda.threadIdx.x
        r, a, bb, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, np.int64)
        m, st = row_max(z, a, bb, n, tid, shf, shi)
        c, st = check_target(labels, q, tol, r, a, bb, n, st, tid, shf, shi)
        use_labels = c >= 0
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        al = alpha_of(alpha, r)
        t, _ = tau_entmax(z, a, bb, n, m, al, tid, shf, shi)
        s = al - 1.0
        e = 1.0 / s if al != 1.0 else 1.0
        acc = 0.0
        for j in range(tid, n, T):
            qj = (1.0 if j == c else 0.0) if use_labels else f64(q[a, j, bb])
            if al == 1.0:
                y = (f64(z[a, j, bb]) - m) - t
                pj = math.exp(y)
                if qj > 0.0:
                    acc += qj * (math.log(qj) - y)
            else:
                d = s * (f64(z[a, j, bb]) - m) - t
                dp = d if d > 0.0 else 0.0
                pj = power(dp, e)
                if qj > 0.0 or pj > 0.0:
                    term = (pow_a(qj, al) - pow_a(pj, al) - al * dp * (qj - pj)) / (al * s)
                    acc += term if term > 0.0 else 0.0
                    if qj > 0.0 and d < 0.0:
                        acc += qj * (-d) / s
            if write:
                grad[a, j, bb] = pj - qj
        L, _ = bsum(shf, shi, acc, 0, tid)
        if tid == 0:
            status[r] = 0
            loss[r] = L if L > 0.0 else 0.0

    return SimpleNamespace(entmax_forward=entmax_forward, entmax_jvp=entmax_jvp, entmax_loss=entmax_loss)
