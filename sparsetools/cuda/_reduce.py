"""Block reductions in shared memory, in one fixed tree (the same bits on every run).

``make(T)`` compiles them for blocks of ``T`` threads (a power of two); every thread of the
block must call them (they synchronise), and each returns the block's result to all.
"""

from types import SimpleNamespace

from numba import cuda


def make(T):
    """The device functions ``bsum`` (a float and an int at once), ``bsum_i``, ``bcount3``
    (three ints) and ``bmax`` for blocks of ``T`` threads."""

    @cuda.jit(device=True)
    def bsum(shf, shi, fv, iv, tid):
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
    def bcount3(shi, a, b, c, tid):
        return bsum_i(shi, a, tid), bsum_i(shi, b, tid), bsum_i(shi, c, tid)

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

    return SimpleNamespace(bsum=bsum, bsum_i=bsum_i, bcount3=bcount3, bmax=bmax)
