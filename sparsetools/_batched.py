"""Parallel drivers: run a row kernel over every row of a (rows, n) array.

Rows are split into ``nchunks`` contiguous chunks (``chunks_for(rows)``: a few per
thread, decided in Python because ``numba.get_num_threads`` inside a kernel defeats the
on-disk cache); each chunk allocates its float64 scratch row once. Each driver takes the
method's registry position as a compile-time literal (see ``_jit.specialize``), so only
the called (driver, method, dtype) is compiled.
"""

import numba
import numpy as np
from numba import prange

from ._jit import jit
from ._registry import row_tau
from .kernels.common import OK, apply_row, gather, presolve


def chunks_for(rows):
    """How many chunks to split ``rows`` rows into: four per thread, at most one per row."""
    return max(1, min(rows, 4 * numba.get_num_threads()))


@jit(parallel=True)
def sparsemax_rows(z, out, shift, thresh, support, status, write, nchunks, method):
    """For each row r of ``z``: ``shift[r] = max(z[r])``, ``thresh[r] = tau - max``,
    ``support[r] = k`` and ``status[r]`` (``kernels.common`` codes); when ``write`` is
    true also ``out[r] = sparsemax(z[r])``, fused with the row's own pass so the row is
    still in cache. Rows with a bad status are left unwritten."""
    rows, n = z.shape
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        buf = np.empty(n, np.float64)
        tmp = np.empty(n, np.float64)
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            row = z[r]
            M, m, st = gather(row, buf)
            status[r] = st
            if st != OK:
                continue
            t, k, done = presolve(buf, m)
            if not done:
                t, k = row_tau(buf, k, tmp, method)
            shift[r] = M
            thresh[r] = t
            support[r] = k
            if write:
                apply_row(row, M, t, out[r])


@jit(parallel=True)
def apply_rows(z, shift, thresh, out, nchunks):
    """``out[r] = max((z[r] - shift[r]) - thresh[r], 0)`` for every row."""
    rows = z.shape[0]
    nchunks = min(nchunks, rows)
    for c in prange(nchunks):
        for r in range(c * rows // nchunks, (c + 1) * rows // nchunks):
            apply_row(z[r], shift[r], thresh[r], out[r])
