"""Long rows: several blocks per row (chunks of ``CH`` entries), one launch per step.

For a few rows too long for one block each to fill the GPU. Block ``bid`` works on row
r = bid // C, chunk c = bid % C. Per-chunk partial results go to global arrays; every block
of a row reduces the row's partials itself, in the same order, so all of them compute the
same max and the same t without communicating. Michelot's steps only: a row the steps have
not settled after ``MAX_STEPS`` + 2 launches is left to the one-block-per-row
``forward_michelot``, which finishes it by bisection.
"""

import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

from ._rows import scores_status

#: Candidates each thread of a long-row chunk may stage in global scratch memory.
GLOBAL_SLOT = 2


def make(T, red, rows):
    """The long-row kernels for blocks of ``T`` threads; ``red`` the block reductions,
    ``rows`` the row kernels' namespace (``_rows.make(T, red)``), whose device functions
    these share."""
    f64, i64 = np.float64, np.int64
    GSLOT = GLOBAL_SLOT
    bsum, bsum_i = red.bsum, red.bsum_i
    range_max, write_range = rows.range_max, rows.write_range

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
        return m, scores_status(nan, pinf, fin)

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
        """Michelot step ``i`` on every chunk: partial (sum, count) over {z - m > t_i}. Step
        0 also stages each thread's candidates in ``scratch`` (global memory; ``GSLOT`` per
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

    return SimpleNamespace(long_max=long_max, long_step=long_step, long_finish=long_finish)
