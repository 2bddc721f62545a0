"""Kernels with one thread block per row: the forward pass (two methods), the JVP and the
loss. Rows are addressed in (A, n, B) views (``sparsetools.cuda._launch``).

Determinism: each thread sums its own entries (j = tid, tid + T, ...) in a fixed order and
the block combines the partial sums in a fixed tree (``_reduce``); no atomics. Arithmetic is
float64 in the frame shifted by the row's max; results are stored in the arrays' dtype.
Statuses and loss terms are ``sparsetools.kernels.scalar``'s, compiled for the device, so
the GPU reports the CPU's error for the same row.

The methods (the threshold, ``(t, k)`` with t = tau - max):

- ``michelot``: Michelot's steps (Newton's method on f(t) = sum max(y - t, 0) - 1 from
  t = -1: t = (sum over {y > t} - 1) / |{y > t}|, a lower bound of tau that reaches it
  exactly when the set stops shrinking), at most ``MAX_STEPS`` after the first, the CPU's
  cap; a row not settled by then continues with bisection on [t, 0) until no entry lies
  strictly inside the bracket, and tau follows exactly from the support {y > lo}. The pass
  after the max stages each thread's candidates (y > -1) in shared memory (``stage_slot``
  per thread); when they fit, every later step reads only them, else (long dense rows)
  each step reads the row from global memory again.
- ``sort``: the shifted row is sorted in shared memory (bitonic, descending, padded with
  -inf to a power of two, at most ``SORT_MAX`` entries), then an inclusive scan gives the
  scan condition of Held et al. at every position at once.
"""

import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

from ..kernels import scalar
from ..kernels.auto import MAX_STEPS
from ..kernels.status import BAD_LABEL, TARGET_SUM

#: Bisection steps at most (each halves the bracket; float64 needs far fewer than this).
BISECT_STEPS = 2100
#: Longest row of the shared-memory sort.
SORT_MAX = 1024
#: Exact powers of two that rescale a sum that would overflow (the JVP's).
TWO_M64 = 2.0**-64
TWO_64 = 2.0**64

# the scalar pieces both backends share, as device functions
scores_status = cuda.jit(device=True)(scalar.scores_status)
pair_status = cuda.jit(device=True)(scalar.pair_status)
target_status = cuda.jit(device=True)(scalar.target_status)
sum_is_off = cuda.jit(device=True)(scalar.sum_is_off)
loss_terms = cuda.jit(device=True)(scalar.loss_terms)


def stage_slot(T):
    """Candidates each thread may stage in shared memory: 32 with blocks of up to 32 threads
    (rows of up to 1024 entries stage whole), 16 with larger blocks (32 KB of float64 with
    256 threads)."""
    return 32 if T <= 32 else 16


def make(T, red):
    """The row kernels and the device functions the long-row kernels share, for blocks of
    ``T`` threads; ``red`` holds the block reductions (``_reduce.make(T)``)."""
    f64, i64 = np.float64, np.int64
    SLOT = stage_slot(T)
    CAP = SLOT * T
    bsum, bsum_i, bcount3, bmax = red.bsum, red.bsum_i, red.bcount3, red.bmax

    @cuda.jit(device=True)
    def row(z):
        """(r, a, b, n): this block's row, its place in the (A, n, B) view, its length."""
        r = cuda.blockIdx.x
        B = z.shape[2]
        return r, r // B, r % B, z.shape[1]

    @cuda.jit(device=True)
    def write_range(z, out, a, b, lo, hi, m, t, tid):
        """out = max(z - m - t, 0) over entries lo:hi of the row."""
        for j in range(lo + tid, hi, T):
            x = f64(z[a, j, b]) - m - t
            out[a, j, b] = x if x > 0.0 else 0.0

    @cuda.jit(device=True)
    def range_max(z, a, b, lo, hi, tid, shf, shi):
        """(max, NaNs, +infs, finite entries) of z[a, lo:hi, b], block-reduced."""
        mx = -math.inf
        nan = 0
        pinf = 0
        fin = 0
        for j in range(lo + tid, hi, T):
            x = f64(z[a, j, b])
            if x != x:
                nan += 1
            elif x == math.inf:
                pinf += 1
            elif x > -math.inf:
                fin += 1
                if x > mx:
                    mx = x
        m = bmax(shf, mx, tid)
        N, P, F = bcount3(shi, nan, pinf, fin, tid)
        return m, N, P, F

    @cuda.jit(device=True)
    def row_max(z, a, b, n, tid, shf, shi):
        """(m, status): the row's max and its check (NaN, +inf, every entry -inf)."""
        m, N, P, F = range_max(z, a, b, 0, n, tid, shf, shi)
        return m, scores_status(N, P, F)

    @cuda.jit(device=True)
    def set_sums(z, a, b, n, m, t, tid, shf, shi, stage, cnt, staged):
        """Block sums of x and of 1 over {x = z - m > t}, from the thread's staged candidates
        or from the row in global memory; the same entries in the same order either way."""
        s = 0.0
        c = 0
        if staged:
            for i in range(cnt):
                x = stage[i * T + tid]
                if x > t:
                    s += x
                    c += 1
        else:
            for j in range(tid, n, T):
                x = f64(z[a, j, b]) - m
                if x > t:
                    s += x
                    c += 1
        return bsum(shf, shi, s, c, tid)

    @cuda.jit(device=True)
    def bracket_sums(z, a, b, n, m, lo, hi, mid, tid, shf, shi, stage, cnt, staged):
        """Block sums of max(x - mid, 0) and of 1 over lo < x < hi."""
        s = 0.0
        inside = 0
        if staged:
            for i in range(cnt):
                x = stage[i * T + tid]
                if x > lo and x < hi:
                    inside += 1
                if x > mid:
                    s += x - mid
        else:
            for j in range(tid, n, T):
                x = f64(z[a, j, b]) - m
                if x > lo and x < hi:
                    inside += 1
                if x > mid:
                    s += x - mid
        return bsum(shf, shi, s, inside, tid)

    @cuda.jit(device=True)
    def tau_michelot(z, a, b, n, m, tid, shf, shi, stage):
        """(t, k): tau - m and the support size, by Michelot's steps, then bisection for a
        row they have not settled after ``MAX_STEPS``.

        One pass over the row collects each thread's candidates (x = z - m > -1; only they
        can be in the support) into its own column of ``stage`` in shared memory, and sums
        them for the first step. When no thread has more than ``SLOT`` of them, every later
        step reads the staged candidates only; otherwise the steps read the row from
        global memory again (long dense rows)."""
        cnt = 0
        over = 0
        s0 = 0.0
        for j in range(tid, n, T):
            x = f64(z[a, j, b]) - m
            if x > -1.0:
                s0 += x
                if cnt < SLOT:
                    stage[cnt * T + tid] = x
                else:
                    over = 1
                cnt += 1
        S, C = bsum(shf, shi, s0, cnt, tid)
        O = bsum_i(shi, over, tid)
        staged = O == 0
        t = (S - 1.0) / C
        kprev = C
        for _ in range(MAX_STEPS):
            S, C = set_sums(z, a, b, n, m, t, tid, shf, shi, stage, cnt, staged)
            if C == kprev:
                return t, C
            t = (S - 1.0) / C
            kprev = C
        lo = t
        hi = 0.0
        for _ in range(BISECT_STEPS):
            mid = 0.5 * (lo + hi)
            F, I = bracket_sums(z, a, b, n, m, lo, hi, mid, tid, shf, shi, stage, cnt, staged)
            if I == 0:
                break
            if F > 1.0:
                lo = mid
            elif F < 1.0:
                hi = mid
            else:
                lo = mid
                break
        S, C = set_sums(z, a, b, n, m, lo, tid, shf, shi, stage, cnt, staged)
        return (S - 1.0) / C, C

    @cuda.jit(device=True)
    def tau_sort(z, a, b, n, m, tid, shf, shi, buf, csum):
        """(t, k) from a bitonic sort of the shifted row in shared memory (n <= SORT_MAX)."""
        P = 1
        while P < n:
            P *= 2
        for j in range(tid, P, T):
            buf[j] = f64(z[a, j, b]) - m if j < n else -math.inf
        cuda.syncthreads()
        size = 2
        while size <= P:
            stride = size // 2
            while stride > 0:
                for j in range(tid, P, T):
                    partner = j ^ stride
                    if partner > j:
                        descending = (j & size) == 0
                        x = buf[j]
                        y = buf[partner]
                        if (x < y) == descending:
                            buf[j] = y
                            buf[partner] = x
                cuda.syncthreads()
                stride //= 2
            size *= 2
        # inclusive scan in a fixed order: each thread scans its own segment, the block
        # scans the segment totals, each thread adds its segment's offset
        seg = (P + T - 1) // T
        lo = tid * seg
        hi = min(lo + seg, P)
        acc = 0.0
        for j in range(lo, hi):
            if buf[j] > -math.inf:
                acc += buf[j]
            csum[j] = acc
        shf[tid] = acc
        cuda.syncthreads()
        off = 1
        while off < T:
            add = shf[tid - off] if tid >= off else 0.0
            cuda.syncthreads()
            shf[tid] += add
            cuda.syncthreads()
            off *= 2
        base = shf[tid - 1] if tid > 0 else 0.0
        for j in range(lo, hi):
            csum[j] += base
        cuda.syncthreads()
        # the condition 1 + (j + 1) s_j > cumsum_j holds for a prefix of the sorted row
        c = 0
        for j in range(tid, n, T):
            if buf[j] > -math.inf and 1.0 + (j + 1) * buf[j] > csum[j]:
                c += 1
        k = bsum_i(shi, c, tid)
        t = (csum[k - 1] - 1.0) / k
        cuda.syncthreads()
        return t, k

    @cuda.jit
    def forward_michelot(z, out, tau, ksz, status, write):
        tid = cuda.threadIdx.x
        r, a, b, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        stage = cuda.shared.array(CAP, f64)
        m, st = row_max(z, a, b, n, tid, shf, shi)
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        t, k = tau_michelot(z, a, b, n, m, tid, shf, shi, stage)
        if tid == 0:
            status[r] = 0
            tau[r] = m + t
            ksz[r] = k
        if write:
            write_range(z, out, a, b, 0, n, m, t, tid)

    @cuda.jit
    def forward_sort(z, out, tau, ksz, status, write):
        tid = cuda.threadIdx.x
        r, a, b, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        buf = cuda.shared.array(SORT_MAX, f64)
        csum = cuda.shared.array(SORT_MAX, f64)
        m, st = row_max(z, a, b, n, tid, shf, shi)
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        t, k = tau_sort(z, a, b, n, m, tid, shf, shi, buf, csum)
        if tid == 0:
            status[r] = 0
            tau[r] = m + t
            ksz[r] = k
        if write:
            write_range(z, out, a, b, 0, n, m, t, tid)

    @cuda.jit(device=True)
    def entmax_slope(x, al):
        """p^(2 - alpha) for p > 0, else 0 (alpha-entmax's Jacobian weight)."""
        if not x > 0.0:
            return 0.0
        if al == 2.0:
            return 1.0
        if al == 1.0:
            return x
        if al == 1.5:
            return math.sqrt(x)
        return math.pow(x, 2.0 - al)

    @cuda.jit(device=True)
    def pair_scan(p, v, a, b, n, al, tid, shf, shi):
        """One pass over an output p and a vector v of one row: ``(status, support size,
        S)``, the status ``pair_status``'s, and S the block sum over the support of v
        (``al`` = 0: sparsemax's J v) or of p^(2 - alpha) (entmax's, ``al`` its alpha)."""
        pneg = 0
        pnan = 0
        ppinf = 0
        vnan = 0
        vinf = 0
        s = 0.0
        k = 0
        for j in range(tid, n, T):
            x = f64(p[a, j, b])
            y = f64(v[a, j, b])
            if x != x:
                pnan += 1
            elif x == math.inf:
                ppinf += 1
            elif x < 0.0:
                pneg += 1
            elif x > 0.0:
                k += 1
                s += y if al == 0.0 else entmax_slope(x, al)
            if y != y:
                vnan += 1
            elif y == math.inf or y == -math.inf:
                vinf += 1
        S, K = bsum(shf, shi, s, k, tid)
        PN, PP, PB = bcount3(shi, pnan, ppinf, pneg, tid)
        VN = bsum_i(shi, vnan, tid)
        VI = bsum_i(shi, vinf, tid)
        return pair_status(PN, PP, PB, VN, VI, K), K, S

    @cuda.jit
    def jvp(p, v, out, status):
        """out = s * (v - (s . v) / k), s = (p > 0): the Jacobian (symmetric) times v."""
        tid = cuda.threadIdx.x
        r, a, b, n = row(p)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        st, K, S = pair_scan(p, v, a, b, n, 0.0, tid, shf, shi)
        if tid == 0:
            status[r] = st
        if st != 0:
            return
        mean = S / K
        if not abs(S) < math.inf:  # finite v whose support sum overflows: sum at 2^-64
            s = 0.0
            for j in range(tid, n, T):
                if f64(p[a, j, b]) > 0.0:
                    s += f64(v[a, j, b]) * TWO_M64
            S, _ = bsum(shf, shi, s, 0, tid)
            mean = (S / K) * TWO_64
        for j in range(tid, n, T):
            out[a, j, b] = f64(v[a, j, b]) - mean if f64(p[a, j, b]) > 0.0 else 0.0

    @cuda.jit(device=True)
    def check_target(labels, q, tol, r, a, b, n, st, tid, shf, shi):
        """``(label, status)`` of a loss's target for row r: the label (-1 for a target
        distribution) and the row's status after the target's check (labels in [0, n);
        a distribution's entries finite and >= 0 and its compensated sum within ``tol`` of
        1), ``st`` (the scores' status) first. Every thread of the block must call it."""
        c = -1
        if labels.shape[0] > 0:
            c = labels[r]
            if st == 0 and (c < 0 or c >= n):
                st = BAD_LABEL
            return c, st
        qnan = 0
        qpinf = 0
        qneg = 0
        qs = 0.0
        qc = 0.0  # compensation: Fast2Sum on the larger and smaller of qs and y
        for j in range(tid, n, T):
            y = f64(q[a, j, b])
            if y != y:
                qnan += 1
            elif y == math.inf:
                qpinf += 1
            elif y < 0.0:
                qneg += 1
            else:  # only the entries of a valid row enter the sum (no inf - inf)
                hi = max(qs, y)
                lo = min(qs, y)
                qs = hi + lo
                qc += lo - (qs - hi)
        QS, QN = bsum(shf, shi, qs + qc, qnan, tid)
        QP = bsum_i(shi, qpinf, tid)
        QG = bsum_i(shi, qneg, tid)
        if st == 0:
            st = target_status(QN, QP, QG)
            if st == 0 and sum_is_off(QS, tol):
                st = TARGET_SUM
        return c, st

    @cuda.jit
    def loss_michelot(z, labels, q, tol, loss, grad, status, write):
        """The sparsemax loss 1/2 ||p - q||^2 + sum q_i max(tau - z_i, 0) of each row and
        its gradient p - q, the forward pass by ``tau_michelot``; q is e_label when
        ``labels`` has one entry per row, else the distribution ``q`` (a view like z's)."""
        tid = cuda.threadIdx.x
        r, a, b, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        stage = cuda.shared.array(CAP, f64)
        m, st = row_max(z, a, b, n, tid, shf, shi)
        c, st = check_target(labels, q, tol, r, a, b, n, st, tid, shf, shi)
        use_labels = c >= 0
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        t, k = tau_michelot(z, a, b, n, m, tid, shf, shi, stage)
        acc = 0.0
        for j in range(tid, n, T):
            d = (f64(z[a, j, b]) - m) - t
            if use_labels:
                qj = 1.0 if j == c else 0.0
            else:
                qj = f64(q[a, j, b])
            g, h = loss_terms(d, qj)
            if write:
                grad[a, j, b] = g
            acc += 0.5 * g * g
            acc += h
        L, _ = bsum(shf, shi, acc, 0, tid)
        if tid == 0:
            status[r] = 0
            loss[r] = L

    return SimpleNamespace(
        row=row, row_max=row_max, check_target=check_target, pair_scan=pair_scan, entmax_slope=entmax_slope,
        write_range=write_range, range_max=range_max,
        forward_michelot=forward_michelot, forward_sort=forward_sort, jvp=jvp, loss_michelot=loss_michelot,
    )
