"""``auto``'s row kernel: Michelot's steps made as read-only vectorised passes over the row.

A step of Michelot's method (``kernels.michelot``) is the sum and the count of the entries
above the current threshold t, then ``t = (sum - 1) / count``. The candidate methods make
each step on a copy of the candidates, compacted after every step: a copy and a compaction
whose stores depend on the data, and a function call and a few mispredicted branches per
step. Over the whole row instead, a step is one read-only loop whose sum and count LLVM
keeps in vector registers (``special.if_positive`` selects without a branch), with no copy
and nothing written. That is the cheaper way wherever the candidates are a good part of the
row, and on every short row, where the fixed costs of the copy and of each step dominate:

- rows of at most ``SHORT`` entries always take the passes;
- a longer row is sampled first (``PROBE`` entries spread over it): the passes when at
  least one in ``1 / DENSE`` of the sample is a candidate, else the candidate pass and
  ``auto``'s Michelot steps on the copy (few candidates in a long row: the copy is short
  and every step after it costs almost nothing);
- a row that the sample called dense but whose set falls below one entry in ``SPARSE``
  after a pass, and any row still moving after ``MAX_PASSES`` passes, has its remaining set
  copied out and finished by ``auto``'s candidate kernel (Michelot's steps guarded by
  quickselect), so no row costs more than a few passes more than the candidate path.

``python scripts/bench_passes.py --auto`` times this kernel against the candidate path, row
length by row length and regime by regime (the choice of ``SHORT``, ``DENSE`` and
``SPARSE``).

The threshold is exact in the same sense as every method's: the passes stop when a pass
finds the same set as the one before it, so that t = (sum of that set - 1) / its size and
the set is exactly the entries above t; the sum is in float64 (in the order of the
vectorised loop), for float32 rows too.
"""

import numpy as np

from .._jit import jit
from .auto import tau_auto
from .common import OK, candidates, presolve, row_max
from .special import if_positive

#: Rows up to this long always take the passes (``bench_passes.py --auto``, one run: 0.45-0.96
#: of the candidate path's time on every regime up to 64 entries, 0.45-1.13 at 128, but
#: 1.08-1.38 on N(0, 1) and sorted rows of 192 and 256, float64 and float32; in both
#: threads, 0.79-0.93 on N(0, 1) rows of 128).
SHORT = 128
#: Entries a longer row's sample reads, spread evenly over it.
PROBE = 32
#: A longer row takes the passes when at least ``PROBE // DENSE`` of its sample are
#: candidates (one in eight).
DENSE = 8
#: After a pass, a longer row whose set is below one entry in ``SPARSE`` is copied out.
SPARSE = 16
#: Passes after which a row's set is copied out whatever its size.
MAX_PASSES = 32


@jit(reassoc=True, inline=True)
def step_sums(row, M, s, t):
    """``(sum, count)`` of ``y = (row - M) * s`` over the entries with ``y > t``, in
    float64 (the count as a float64, exact below 2^53): one Michelot step's data, in one
    vectorised read of the row. ``-inf`` entries are never above t."""
    S = 0.0
    c = 0.0
    for i in range(row.shape[0]):
        y = (np.float64(row[i]) - M) * s
        d = y - t  # > 0 exactly when y > t (a difference of finite floats is 0 only if they are equal)
        S += if_positive(d, y)
        c += if_positive(d, 1.0)
    return S, c


@jit(inline=True)
def _sampled_dense(row, M, s):
    """Whether at least ``PROBE // DENSE`` of ``PROBE`` entries spread over the row are
    candidates (``(x - M) * s >= -1``)."""
    step = row.shape[0] // PROBE
    hits = 0
    for i in range(step // 2, step * PROBE, step):
        hits += (np.float64(row[i]) - M) * s >= -1.0
    return hits * DENSE >= PROBE


@jit
def _finish_copied(row, M, s, t, buf, tmp):
    """``(t, k)`` of a row whose set is the entries above ``t``: that set copied out (the
    candidate pass with the cut just above t) and finished by ``auto``'s candidate kernel."""
    m = candidates(row, M, s, np.nextafter(t, np.inf), buf)
    return tau_auto(buf, m, tmp)


@jit(reassoc=True, inline=True)
def michelot_passes(row, buf, tmp, s):
    """``(M, t, k, status)`` of one row in the frame ``y = (row - M) * s`` (s = 1 for
    sparsemax, 1 / r for the simplex of radius r): its max and check (``row_max``), then
    Michelot's steps as passes over the row or, for a long row with few candidates, on
    its candidates (see the module). ``buf`` and ``tmp`` are float64 scratch rows."""
    M, st = row_max(row)
    if st != OK:
        return M, 0.0, 0, st
    if row.shape[0] > SHORT:
        t, k = _long_row(row, M, s, buf, tmp)
        return M, t, k, OK
    # the first set is every entry above -1, a superset of the support (tau >= -1); each
    # pass gives the set above the last t; the same count as the pass before means the
    # same set (the sets are nested), so t is tau and the count is k
    t = -1.0
    c = -1.0
    for _ in range(MAX_PASSES):
        S, c2 = step_sums(row, M, s, t)
        if c2 == c:
            return M, t, np.int64(c), OK
        c = c2
        t = (S - 1.0) / c
    t, k = _finish_copied(row, M, s, t, buf, tmp)
    return M, t, k, OK


@jit(reassoc=True, inline=True)
def _long_row(row, M, s, buf, tmp):
    """``(t, k)`` of a row longer than ``SHORT``: the passes if its sample is dense, until
    its set is sparse; the candidate path otherwise."""
    n = row.shape[0]
    if not _sampled_dense(row, M, s):
        m = candidates(row, M, s, -1.0, buf)
        t, k, done = presolve(buf, m)
        if not done:
            t, k = tau_auto(buf, k, tmp)
        return t, k
    t = -1.0
    c = -1.0
    for _ in range(MAX_PASSES):
        S, c2 = step_sums(row, M, s, t)
        if c2 == c:
            return t, np.int64(c)
        c = c2
        t = (S - 1.0) / c
        if c * SPARSE < n:
            break
    return _finish_copied(row, M, s, t, buf, tmp)


@jit(reassoc=True)
def tau_passes(row, buf, tmp):
    """sparsemax's ``auto`` row kernel: ``michelot_passes`` in the unscaled frame (inlined
    with s = 1, so that LLVM drops the multiplications; and compiled here with ``reassoc``,
    which the passes' sums need to vectorise)."""
    return michelot_passes(row, buf, tmp, 1.0)
