"""``auto``'s row kernel: Michelot's steps made as read-only vectorised passes over the row.

A step of Michelot's method (``kernels.michelot``) is the sum and the count of the entries
above the current threshold t, then ``t = (sum - 1) / count``. The candidate methods make
each step on a copy of the candidates, compacted after every step: a copy and a compaction
whose stores depend on the data, and a function call and a few mispredicted branches per
step. Over the whole row instead, a step is one read-only loop whose sum and count LLVM
keeps in vector registers (``special.if_positive`` selects without a branch), with no copy
and nothing written. That is the cheaper way wherever the candidates are a good part of the
row, and on every short row, where the fixed costs of the copy and of each step dominate:

- rows of at most ``SHORT`` entries always take the passes (rows of 9 to 16 entries on
  one masked vector load each, ``_short_block``);
- a longer row starts the candidate pass, which stops (``common.candidates_below``) once
  it has found one candidate per ``DENSE`` entries of the row with entries still to read:
  such a row takes the passes; any other (a row read to its end keeps the candidates it
  has copied, however many) finishes as the candidate path did, ``auto``'s Michelot steps on the
  copy (few candidates in a long row: the copy is short, every step after it costs almost
  nothing, and the only cost added is a comparison per 64 entries);
- a longer row whose set falls below one entry in ``SPARSE`` after a pass, and any row still
  moving after ``MAX_PASSES`` passes, has its remaining set copied out and finished by
  ``auto``'s candidate kernel (Michelot's steps guarded by quickselect), so that no row
  makes more than a few passes more than it needs.

``python scripts/bench_passes.py --auto`` times this kernel against the candidate path, row
length by row length and regime by regime (the choice of ``SHORT`` and ``DENSE``).

The threshold is exact in the same sense as every method's: the passes stop when a pass
finds the same set as the one before it, so that t = (sum of that set - 1) / its size and
the set is exactly the entries above t; the sum is in float64 (in the order of the
vectorised loop), for float32 rows too.
"""

import numpy as np
from numba.core import types
from numba.extending import overload

from .._jit import jit
from . import scalar
from .auto import tau_auto
from .common import OK, _candidates_plain, candidates_below, presolve, row_max
from .special import BLOCK, if_positive, short_max, short_row_ok, short_sums

#: Rows up to this long always take the passes (``bench_passes.py --auto``, one run, float64
#: and float32: 0.42-0.94 of the candidate path's time on every regime up to 64 entries;
#: with the passes on N(0, 1) and sorted rows of 128 too, 1.06-1.34 there).
SHORT = 64
#: A longer row takes the passes when at least one entry in ``DENSE`` is a candidate.
DENSE = 8
#: After a pass, a longer row whose set is below one entry in ``SPARSE`` is copied out.
SPARSE = 16
#: Passes after which a row's set is copied out whatever its size.
MAX_PASSES = 32


def unit_or(s):
    """The scale ``s``, or 1.0 for ``s = None`` (sparsemax), as a constant that LLVM
    multiplies away in the compiled code."""
    return 1.0 if s is None else s


@overload(unit_or, inline="always")
def _unit_or(s):
    if isinstance(s, (types.NoneType, types.Omitted)) or s is None:
        return lambda s: 1.0
    return lambda s: s


@jit(reassoc=True, inline=True)
def step_sums(row, M, s, t):
    """``(sum, count)`` of ``y = (row - M) * s`` over the entries with ``y > t``, in
    float64 (the count as a float64, exact below 2^53): one Michelot step's data, in one
    vectorised read of the row. ``-inf`` entries are never above t."""
    sc = unit_or(s)
    S = 0.0
    c = 0.0
    for i in range(row.shape[0]):
        y = (np.float64(row[i]) - M) * sc
        d = y - t  # > 0 exactly when y > t (a difference of finite floats is 0 only if they are equal)
        S += if_positive(d, y)
        c += if_positive(d, 1.0)
    return S, c


def _short_any(row, s):
    """``_short_row``; compiled, a C-contiguous row of 9 to ``special.BLOCK`` (16) entries
    takes ``_short_block``, the same passes on one masked vector load of the row each
    (``special.short_max``, ``special.short_sums``): the vectorised loops of ``row_max``
    and ``step_sums`` take 16 entries a step, so they run as scalar code on shorter rows.
    (On rows of 8 they gained nothing measurable: ``bench_ab.py``, 11 rounds.)"""
    return _short_row(row, s)


@overload(_short_any, inline="always")
def _short_any_impl(row, s):
    if not short_row_ok(row):
        return lambda row, s: _short_row(row, s)

    def pick(row, s):
        if BLOCK // 2 < row.shape[0] <= BLOCK:
            return _short_block(row, s)
        return _short_row(row, s)
    return pick


@jit
def _finish_copied(row, M, s, t, buf, tmp):
    """``(t, k)`` of a row whose set is the entries above ``t``: that set copied out (the
    plain candidate pass, with the cut just above t: this is the rare path, and the blocked
    pass would double the module's compile time) and finished by ``auto``'s candidate
    kernel."""
    m = _candidates_plain(row, M, unit_or(s), np.nextafter(t, np.inf), buf, 0, 0)
    return tau_auto(buf, m, tmp)


@jit(inline=True)
def michelot_passes(row, buf, tmp, s):
    """``(M, t, k, status)`` of one row in the frame ``y = (row - M) * s`` (s = None for
    sparsemax's unscaled frame, 1 / r for the simplex of radius r): its max and check, then Michelot's steps
    as passes over the row or, for a long row with few candidates, on its candidates (see
    the module). ``buf`` and ``tmp`` are float64 scratch rows.

    Inlined into the driver, and small: a call costs a call into Numba's runtime per array
    argument on the way in and on the way out (reference counts, even for views, which have
    none), about a tenth of the time of a row of 128 entries, and a large inlined body
    costs compile time in every driver. The passes are calls (``_short_row``,
    ``_dense_row``) compiled with the ``reassoc`` flag their sums need to vectorise (the
    drivers have none), with the row as their only array; the long row's candidate pass
    is ``_gather_below``, a call as the candidate path's ``gather`` is."""
    if row.shape[0] <= SHORT:
        M, t, k, st = _short_any(row, s)
        if k < 0:  # still moving after MAX_PASSES passes
            t, k = _finish_copied(row, M, s, t, buf, tmp)
        return M, t, k, st
    M, m, st = _gather_below(row, buf, s)
    if st != OK:
        return M, 0.0, 0, st
    if m < 0:
        t, k = _dense_row(row, M, s)
        if k < 0:  # a set that has become sparse, or still moving
            t, k = _finish_copied(row, M, s, t, buf, tmp)
        return M, t, k, OK
    t, k, done = presolve(buf, m)
    if not done:
        t, k = tau_auto(buf, k, tmp)
    return M, t, k, OK


@jit
def _gather_below(row, buf, s):
    """``(M, m, status)``: the row's max and check, then its candidates in ``buf[:m]`` or,
    once one entry in ``DENSE`` is one, m = -1 (``common.candidates_below``)."""
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    n = row.shape[0]
    return M, candidates_below(row, M, unit_or(s), -1.0, buf, (n + DENSE - 1) // DENSE), OK


@jit(reassoc=True)
def _short_row(row, s):
    """``(M, t, k, status)`` of a row of at most ``SHORT`` entries by the passes; k = -1
    (and t the last step's) if they have not converged after ``MAX_PASSES``."""
    M, st = row_max(row)
    if st != OK:
        return M, 0.0, 0, st
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
    return M, t, -1, OK


@jit
def _short_block(row, s):
    """``_short_row`` of a C-contiguous row of at most ``special.BLOCK`` entries, on its
    masked vector loads (``_short_any``)."""
    M = np.float64(short_max(row))
    st = scalar.cpu.scores_status(M != M, M == np.inf, M > -np.inf)
    if st != OK:
        return M, 0.0, 0, st
    t = -1.0
    c = -1.0
    for _ in range(MAX_PASSES):
        S, c2 = short_sums(row, M, s, t)
        if c2 == c:
            return M, t, np.int64(c), OK
        c = c2
        t = (S - 1.0) / c
    return M, t, -1, OK


@jit(reassoc=True)
def _dense_row(row, M, s):
    """``(t, k)`` of a long row of many candidates by the passes; k = -1 (and t the last
    step's) once its set is below one entry in ``SPARSE`` or after ``MAX_PASSES``."""
    n = row.shape[0]
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
    return t, -1


@jit(inline=True)
def tau_passes(row, buf, tmp):
    """sparsemax's ``auto`` row kernel: ``michelot_passes`` in the unscaled frame."""
    return michelot_passes(row, buf, tmp, None)
