"""Projection kernels, one thread block per row: onto the simplex of radius r and onto the
capped simplex {0 <= p <= u, sum p = b}.

Rows are (A, n, B) views as in ``_rows``; the parameters are float64 arrays of one value,
or of one per row. Arithmetic is float64 in the CPU kernels' frames
(``sparsetools.kernels.projections``):

- the simplex: x = z - max z; Michelot's steps from the left end of the bracket, t = -r:
  ``t <- (sum_{x > t} x - r) / |{x > t}|``, each one pass and one block reduction, until the
  set stops changing (then t is exact on it); p = max(x - t, 0);
- the capped simplex: y = (z - max z) / u; on the linear piece of
  f(t) = sum clip(y - t, 0, 1) that holds t, ``root = (capped + sum_free y - b / u) / free``;
  a step takes the root when it lies inside the bracket, else the midpoint, and stops when
  the root falls on its own piece (the same capped and free sets); p = clip(z - max - u t,
  0, u).

Deterministic (fixed per-thread order, fixed reduction tree, no atomics).
"""

import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

#: Steps at most (Michelot's steps settle an N(0, 1) row in a few; bisection needs ~60).
MAX_STEPS = 200


def make(T, red, rows):
    """The projection kernels for blocks of ``T`` threads (``red``: ``_reduce.make(T)``;
    ``rows``: ``_rows.make(T, red)``, for the row addressing and the max)."""
    f64 = np.float64
    bsum, bcount3 = red.bsum, red.bcount3
    row, row_max = rows.row, rows.row_max

    @cuda.jit(device=True)
    def param_of(par, r):
        return par[r if par.shape[0] > 1 else 0]

    @cuda.jit
    def simplex_forward(z, radius, out, tau, ksz, status, write):
        tid = cuda.threadIdx.x
        r, a, bb, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, np.int64)
        m, st = row_max(z, a, bb, n, tid, shf, shi)
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        rad = param_of(radius, r)
        t = -rad  # the max alone sums to r above it: t <= tau
        k = 0
        for _ in range(MAX_STEPS):
            s = 0.0
            c = 0
            for j in range(tid, n, T):
                x = f64(z[a, j, bb]) - m
                if x > t:
                    s += x
                    c += 1
            S, C = bsum(shf, shi, s, c, tid)
            tn = (S - rad) / C
            if C == k or not tn > t:
                break
            k = C
            t = tn
        if tid == 0:
            status[r] = 0
            tau[r] = m + t
            ksz[r] = k
        if write:
            for j in range(tid, n, T):
                d = (f64(z[a, j, bb]) - m) - t
                out[a, j, bb] = d if d > 0.0 else 0.0

    @cuda.jit(device=True)
    def capped_sets(z, a, bb, n, m, su, t, tid, shf, shi):
        """Block (capped, free, sum of y over the free set) at t, y = (z - m) su."""
        s = 0.0
        cap = 0
        free = 0
        for j in range(tid, n, T):
            y = (f64(z[a, j, bb]) - m) * su
            d = y - t
            if d >= 1.0:
                cap += 1
            elif d > 0.0:
                free += 1
                s += y
        S, F = bsum(shf, shi, s, free, tid)
        CAP, _, _ = bcount3(shi, cap, 0, 0, tid)
        return CAP, F, S

    @cuda.jit
    def capped_forward(z, budget, upper, out, tau, ksz, status, write):
        tid = cuda.threadIdx.x
        r, a, bb, n = row(z)
        shf = cuda.shared.array(T, f64)
        shi = cuda.shared.array(T, np.int64)
        m, st = row_max(z, a, bb, n, tid, shf, shi)
        u = param_of(upper, r)
        beta = param_of(budget, r) / u
        su = 1.0 / u
        # the least unmasked entry and the unmasked count
        lo = 0.0
        fin = 0
        for j in range(tid, n, T):
            x = f64(z[a, j, bb])
            if x > -math.inf:
                fin += 1
                y = (x - m) * su
                lo = y if y < lo else lo
        shf[tid] = lo
        cuda.syncthreads()
        s2 = T // 2
        while s2 > 0:
            if tid < s2:
                shf[tid] = min(shf[tid], shf[tid + s2])
            cuda.syncthreads()
            s2 //= 2
        lo = shf[0] - 2.0
        cuda.syncthreads()
        FIN, _, _ = bcount3(shi, fin, 0, 0, tid)
        if st == 0 and beta > FIN:
            if beta > FIN * (1.0 + 8.0 * 2.220446049250313e-16):
                st = 11  # CAPPED_INFEASIBLE
            else:
                beta = f64(FIN)  # b = n u, rounded: every entry capped
        if st != 0:
            if tid == 0:
                status[r] = st
            return
        hi = 0.0
        t = lo
        k = FIN
        if beta < FIN:
            c, f, s = capped_sets(z, a, bb, n, m, su, t, tid, shf, shi)
            done = False
            for _ in range(MAX_STEPS):
                root = t
                if f > 0:
                    root = (c + s - beta) / f
                    c2, f2, _ = capped_sets(z, a, bb, n, m, su, root, tid, shf, shi)
                    if c2 == c and f2 == f:
                        t = root
                        k = c + f
                        done = True
                        break
                val = c + s - f * t
                if val >= beta:
                    lo = t
                else:
                    hi = t
                if f == 0 and val == beta:
                    k = c
                    done = True
                    break
                nxt = 0.5 * (lo + hi)
                if f > 0 and lo < root < hi:
                    nxt = root
                if not (lo < nxt < hi):
                    break
                t = nxt
                c, f, s = capped_sets(z, a, bb, n, m, su, t, tid, shf, shi)
            if not done:
                c, f, s = capped_sets(z, a, bb, n, m, su, lo, tid, shf, shi)
                t = (c + s - beta) / f if f > 0 else lo
                k = c + f
        ut = u * t
        if tid == 0:
            status[r] = 0
            tau[r] = m + ut
            ksz[r] = k
        if write:
            for j in range(tid, n, T):
                d = (f64(z[a, j, bb]) - m) - ut
                d = d if d > 0.0 else 0.0
                out[a, j, bb] = d if d < u else u

    return SimpleNamespace(simplex_forward=simplex_forward, capped_forward=capped_forward)
