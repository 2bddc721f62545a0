"""numba-cuda kernels: one thread block per row, rows addressed in (A, n, B) views.

A C-contiguous array whose reduction axis has length n is, without a copy, an (A, n, B)
array: A the product of the dimensions before the axis, B of those after it. Row r is
``z[r // B, :, r % B]``; for the last axis B = 1 and a block's threads read a row's
consecutive entries (coalesced). Every kernel takes such views.

Determinism: each thread sums its own entries (j = tid, tid + T, ...) in a fixed order, and
the block combines the T partial sums in a fixed tree in shared memory; there are no atomics,
so the same input gives the same bits on every run. All arithmetic is in float64 (results are
stored in the arrays' own dtype), in the frame shifted by the row's max (so that sums of shifted values do not cancel).

The threshold (``_threshold``):

- ``bisect``: Newton's steps on f(t) = sum max(z - m - t, 0) - 1 from t = -1 (Michelot's
  algorithm: t = (sum over {z - m > t} - 1) / |{z - m > t}|, a lower bound of tau that
  reaches it exactly when the set stops shrinking), at most ``NEWTON_STEPS`` + 1 of them; a
  row not settled by then continues with bisection on [t, 0) until no entry lies strictly
  inside the bracket, and tau then follows exactly from the support {z - m > lo}. The pass
  after the max stages each thread's candidates (z - m > -1) in shared memory
  (``stage_slot`` per thread); when they fit, every later step reads only them, else (long
  dense rows) each step reads the row from global memory again.
- ``sort``: the row (shifted) is sorted in shared memory (bitonic, descending, padded with
  -inf to a power of two, at most ``SORT_MAX`` entries), then an inclusive scan gives the
  scan condition of Held et al. at every position at once.

- long rows (``long_max``, ``long_step``, ``long_finish``): chunks of a row with a block
  each, one launch per Newton step; candidates staged in global scratch memory; a row not
  settled after ``NEWTON_STEPS`` + 2 steps is left to ``forward_bisect``.

Status codes are those of ``sparsetools.kernels.common`` (the CPU's), so the same errors
are raised.
"""

import math

import numpy as np
from numba import cuda

from ..kernels.common import (
    ALL_NEGINF,
    BAD_LABEL,
    HAS_NAN,
    HAS_POSINF,
    OTHER_INF,
    OTHER_NAN,
    P_EMPTY,
    P_NEG,
    TARGET_NEG,
    TARGET_SUM,
)

#: Exact powers of two that rescale a sum that would overflow (the JVP's).
TWO_M64 = 2.0**-64
TWO_64 = 2.0**64
#: Newton (Michelot) steps before a row is handed to bisection.
NEWTON_STEPS = 20
#: Bisection steps at most (each halves the bracket; float64 needs far fewer than this).
BISECT_STEPS = 2100
#: Longest row of the shared-memory sort.
SORT_MAX = 1024

#: Candidates each thread of a long-row chunk may stage in global scratch memory.
GLOBAL_SLOT = 2

_kernels = {}


def stage_slot(T):
    """Candidates each thread may stage in shared memory: 32 with blocks of up to 32 threads
    (rows of up to 1024 entries stage whole), 16 with larger blocks (32 KB of float64 with
    256 threads)."""
    return 32 if T <= 32 else 16


def kernels(T):
    """The kernels for blocks of ``T`` threads (a power of two), compiled on first use."""
    if T not in _kernels:
        _kernels[T] = _make(T)
    return _kernels[T]


def _make(T):
    f64, i64 = np.float64, np.int64
    SLOT = stage_slot(T)
    CAP = SLOT * T
    GSLOT = GLOBAL_SLOT

    @cuda.jit(device=True)
    def bsum(shf, shi, fv, iv, tid):
        # block sums of a float and an int, the same fixed tree on every run
        shf[tid] = fv
        shi[tid] = iv
        cuda.syncthreads()
        s = T // 2
        while s > 0:
            if tid < s:
                shf[tid] += shf[tid + s]
                shi[tid] += shi[tid + s]
            cuda.syncthreads()
            s //= 2
        F = shf[0]
        I = shi[0]
        cuda.syncthreads()
        return F, I

    @cuda.jit(device=True)
    def bmax(shf, v, tid):
        shf[tid] = v
        cuda.syncthreads()
        s = T // 2
        while s > 0:
            if tid < s and shf[tid + s] > shf[tid]:
                shf[tid] = shf[tid + s]
            cuda.syncthreads()
            s //= 2
        M = shf[0]
        cuda.syncthreads()
        return M

    @cuda.jit(device=True)
    def bcount3(shi, a, b, c, tid):
        # three int block sums through one int array (three trees)
        return bsum_i(shi, a, tid), bsum_i(shi, b, tid), bsum_i(shi, c, tid)

    @cuda.jit(device=True)
    def bsum_i(shi, v, tid):
        shi[tid] = v
        cuda.syncthreads()
        s = T // 2
        while s > 0:
            if tid < s:
                shi[tid] += shi[tid + s]
            cuda.syncthreads()
            s //= 2
        V = shi[0]
        cuda.syncthreads()
        return V

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
    def status_of(nan, pinf, fin):
        if nan > 0:
            return HAS_NAN
        if pinf > 0:
            return HAS_POSINF
        if fin == 0:
            return ALL_NEGINF
        return 0

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
        return m, status_of(N, P, F)

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
    def tau_bisect(z, a, b, n, m, tid, shf, shi, stage):
        """(t, k): tau - m and the support size.

        One pass over the row collects each thread's candidates (x = z - m > -1; only they
        can be in the support) into its own column of ``stage`` in shared memory, and sums
        them for the first Newton step. When no thread has more than ``SLOT`` of them, every
        later step reads the staged candidates only; otherwise the steps read the row from
        global memory again (long dense rows). Then Newton's steps, then bisection."""
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
        for _ in range(NEWTON_STEPS):
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
    def forward_bisect(z, out, tau, ksz, status, write):
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
        t, k = tau_bisect(z, a, b, n, m, tid, shf, shi, stage)
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

    @cuda.jit
    def jvp(p, v, out, status):
        """out = s * (v - (s . v) / k), s = (p > 0): the Jacobian (symmetric) times v."""
        tid = cuda.threadIdx.x
        r, a, b, n = row(p)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        pbad = 0
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
                pbad += 1
            elif x > 0.0:
                k += 1
                s += y
            if y != y:
                vnan += 1
            elif y == math.inf or y == -math.inf:
                vinf += 1
        S, K = bsum(shf, shi, s, k, tid)
        PN, PP, PB = bcount3(shi, pnan, ppinf, pbad, tid)
        VN = bsum_i(shi, vnan, tid)
        VI = bsum_i(shi, vinf, tid)
        st = 0
        if PN > 0:
            st = HAS_NAN
        elif PP > 0:
            st = HAS_POSINF
        elif PB > 0:
            st = P_NEG
        elif K == 0:
            st = P_EMPTY
        elif VN > 0:
            st = OTHER_NAN
        elif VI > 0:
            st = OTHER_INF
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

    @cuda.jit
    def loss_bisect(z, labels, q, tol, loss, grad, status, write):
        """The sparsemax loss 1/2 ||p - q||^2 + sum q_i max(tau - z_i, 0) of each row and
        its gradient p - q; q is e_label when ``labels`` has one entry per row, else the
        distribution ``q`` (a view like z's)."""
        tid = cuda.threadIdx.x
        r, a, b, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        stage = cuda.shared.array(CAP, f64)
        m, st = row_max(z, a, b, n, tid, shf, shi)
        use_labels = labels.shape[0] > 0
        c = -1
        if use_labels:
            c = labels[r]
            if st == 0 and (c < 0 or c >= n):
                st = BAD_LABEL
        else:
            qnan = 0
            qinf = 0
            qneg = 0
            qs = 0.0
            qc = 0.0  # compensation: Fast2Sum on the larger and smaller of qs and y
            for j in range(tid, n, T):
                y = f64(q[a, j, b])
                if y != y:
                    qnan += 1
                elif y == math.inf or y == -math.inf:
                    qinf += 1
                elif y < 0.0:
                    qneg += 1
                hi = max(qs, y)
                lo = min(qs, y)
                qs = hi + lo
                qc += lo - (qs - hi)
            QS, QN = bsum(shf, shi, qs + qc, qnan, tid)
            QI = bsum_i(shi, qinf, tid)
            QG = bsum_i(shi, qneg, tid)
            if st == 0:
                if QN > 0:
                    st = OTHER_NAN
                elif QI > 0:
                    st = OTHER_INF
                elif QG > 0:
                    st = TARGET_NEG
                elif abs(QS - 1.0) > tol:
                    st = TARGET_SUM
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        t, k = tau_bisect(z, a, b, n, m, tid, shf, shi, stage)
        acc = 0.0
        for j in range(tid, n, T):
            y = f64(z[a, j, b]) - m
            d = y - t
            pj = d if d > 0.0 else 0.0
            if use_labels:
                qj = 1.0 if j == c else 0.0
            else:
                qj = f64(q[a, j, b])
            g = pj - qj
            if write:
                grad[a, j, b] = g
            acc += 0.5 * g * g
            if qj > 0.0 and -d > 0.0:
                acc += qj * (-d)
        L, _ = bsum(shf, shi, acc, 0, tid)
        if tid == 0:
            status[r] = 0
            loss[r] = L

    # ----------------------------------------------------------------------------------
    # Long rows: several blocks per row (chunks of ``CH`` entries), one launch per step.
    # Block b works on row r = b // C, chunk c = b % C. Per-chunk partial results go to
    # global arrays; every block of a row reduces the row's partials itself, in the same
    # order, so all of them compute the same max and the same t without communicating.

    @cuda.jit(device=True)
    def row_partials(pmax, pcnt, r):
        C = pmax.shape[1]
        m = -math.inf
        nan = 0
        pinf = 0
        fin = 0
        for c in range(C):
            if pmax[r, c] > m:
                m = pmax[r, c]
            nan += pcnt[r, c, 0]
            pinf += pcnt[r, c, 1]
            fin += pcnt[r, c, 2]
        return m, status_of(nan, pinf, fin)

    @cuda.jit(device=True)
    def chunk(z, C, CH):
        """(r, c, a, b, lo, hi): this block's row and chunk, and the chunk's entries."""
        bid = cuda.blockIdx.x
        r = bid // C
        c = bid % C
        B = z.shape[2]
        lo = c * CH
        return r, c, r // B, r % B, lo, min(z.shape[1], lo + CH)

    @cuda.jit(device=True)
    def row_sums(PS, PK, i, r):
        C = PS.shape[2]
        S = 0.0
        K = 0
        for c in range(C):
            S += PS[i, r, c]
            K += PK[i, r, c]
        return S, K

    @cuda.jit
    def long_max(z, CH, pmax, pcnt):
        tid = cuda.threadIdx.x
        r, c, a, b, lo, hi = chunk(z, pmax.shape[1], CH)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        m, N, P, F = range_max(z, a, b, lo, hi, tid, shf, shi)
        if tid == 0:
            pmax[r, c] = m
            pcnt[r, c, 0] = N
            pcnt[r, c, 1] = P
            pcnt[r, c, 2] = F

    @cuda.jit
    def long_step(z, CH, i, pmax, pcnt, PS, PK, scratch, scount, sover):
        """Newton step ``i`` on every chunk: partial (sum, count) over {z - m > t_i}. Step 0
        also stages each thread's candidates in ``scratch`` (global memory; ``GSLOT`` per
        thread) so that later steps read them instead of the row, when they fit."""
        tid = cuda.threadIdx.x
        r, c, a, b, lo, hi = chunk(z, pmax.shape[1], CH)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, i64)
        m, st = row_partials(pmax, pcnt, r)
        if st != 0:
            return
        cur = i % 3
        t = -1.0
        if i > 0:
            S1, K1 = row_sums(PS, PK, (i - 1) % 3, r)
            if i > 1:
                _, K2 = row_sums(PS, PK, (i - 2) % 3, r)
                if K1 == K2:  # converged: the fixed point carries over
                    if tid == 0:
                        PS[cur, r, c] = PS[(i - 1) % 3, r, c]
                        PK[cur, r, c] = PK[(i - 1) % 3, r, c]
                    return
            t = (S1 - 1.0) / K1
        s = 0.0
        k = 0
        if i == 0:
            cnt = 0
            over = 0
            for j in range(lo + tid, hi, T):
                x = f64(z[a, j, b]) - m
                if x > -1.0:
                    s += x
                    k += 1
                    if cnt < GSLOT:
                        scratch[r, c, cnt * T + tid] = x
                    else:
                        over = 1
                    cnt += 1
            scount[r, c, tid] = cnt
            O = bsum_i(shi, over, tid)
            if tid == 0:
                sover[r, c] = O
        elif sover[r, c] == 0:
            for q in range(scount[r, c, tid]):
                x = scratch[r, c, q * T + tid]
                if x > t:
                    s += x
                    k += 1
        else:
            for j in range(lo + tid, hi, T):
                x = f64(z[a, j, b]) - m
                if x > t:
                    s += x
                    k += 1
        S, K = bsum(shf, shi, s, k, tid)
        if tid == 0:
            PS[cur, r, c] = S
            PK[cur, r, c] = K

    @cuda.jit
    def long_finish(z, out, CH, last, pmax, pcnt, PS, PK, tau, ksz, status, conv, write):
        """Rows whose steps converged: tau, the support size and the output chunk; the
        others are marked ``conv[r] = 0`` for the block-per-row kernel to finish."""
        tid = cuda.threadIdx.x
        r, c, a, b, lo, hi = chunk(z, pmax.shape[1], CH)
        m, st = row_partials(pmax, pcnt, r)
        first = c == 0 and tid == 0
        if st != 0:
            if first:
                status[r] = st
                conv[r] = 1
            return
        S1, K1 = row_sums(PS, PK, last % 3, r)
        _, K2 = row_sums(PS, PK, (last - 1) % 3, r)
        if K1 != K2:
            if first:
                status[r] = 0
                conv[r] = 0
            return
        t = (S1 - 1.0) / K1
        if first:
            status[r] = 0
            conv[r] = 1
            tau[r] = m + t
            ksz[r] = K1
        if write:
            write_range(z, out, a, b, lo, hi, m, t, tid)

    return {"forward_bisect": forward_bisect, "forward_sort": forward_sort, "jvp": jvp,
            "loss_bisect": loss_bisect, "long_max": long_max, "long_step": long_step,
            "long_finish": long_finish}
