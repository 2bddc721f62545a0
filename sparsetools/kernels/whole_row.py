"""``auto`` on rows that fit in the cache: Michelot's steps as vectorised passes.

The staged path (candidate pass, first step, method) copies the candidates into a buffer
and then compacts it at every one of Michelot's steps; each of those passes stores as it
goes and carries its count from entry to entry, which costs about 0.5 ns an entry. A step
can instead be one vectorised pass that only reads (``common.step_sums``: the sum and the
count of the entries above t, 0.1-0.2 ns an entry), and on a dense row, where the
candidates are most of the row, skipping the copy altogether is cheaper still.

So ``sparsemax_whole_row`` first counts the candidates (entries above max - 1) among the
row's first ``PROBE`` entries. A dense prefix (more than one in ``DENSE_ONE_IN``) sends the
row to Michelot's steps over the whole row, from t = -1 in the shifted frame; a sparse one
to the staged path, whose method makes the same steps as read-only passes over the
candidates (``tau_guarded_newton``), or, when at most ``kernels.auto.MAX_STEPS`` survive the
first step, is ``michelot`` itself (compacting a few entries costs less than a pass).
Either way the steps stop when one keeps the count of its set:
the sets of successive steps are nested (Michelot's t only grows), so an equal count means
an equal set, the support. The support is then compacted, in the row's order, and tau
computed from it as every method computes it, ``(sum - 1) / k`` with the sum over the
compacted support (``common.psum``): the same bits as ``michelot`` wherever the two find the
same support.

A row that has not converged after ``ROW_PASSES`` steps (values that fall off slowly, see
``kernels.auto``) goes on to the guarded Michelot kernel, so no row costs more than
``ROW_PASSES`` extra passes.
"""

import numpy as np

from .._jit import jit
from .auto import MAX_STEPS, tau_auto
from .common import OK, candidates, keep_above, presolve, psum, row_max, shifted, step_sums
from .michelot import tau_michelot
from .special import is_positive

#: Steps made as read-only passes before a row goes on to the guarded Michelot kernel.
#: N(0, 1) rows of 16 to 16384 entries converge in 3 to 5 (the last only confirms the
#: count), dense ones in 2.
ROW_PASSES = 8
#: Entries of the row's prefix whose candidates are counted to tell a dense row.
PROBE = 32
#: A prefix with more than one candidate in this many entries is dense.
DENSE_ONE_IN = 4


@jit
def probe_dense(row, M):
    """Whether more than one in ``DENSE_ONE_IN`` of the row's first ``PROBE`` entries is a
    candidate (above max - 1): a count over a vector's worth of entries."""
    n = min(row.shape[0], PROBE)
    c = 0
    for i in range(n):
        c += is_positive(shifted(row[i], M) + 1.0)
    return DENSE_ONE_IN * c > n


@jit(inline=True)
def _whole_row_steps(row, M):
    """Michelot's steps over the whole row from t = -1: ``(t, True)`` once a step keeps
    its count (the support is then the entries above t), else ``(t, False)`` after
    ``ROW_PASSES`` steps."""
    t = -1.0
    last = -1
    for _ in range(ROW_PASSES):
        s, k = step_sums(row, M, t)
        if k == last:
            return t, True
        if k == 0:  # only if rounding carried t past the max: go on staged
            break
        last = k
        t = (s - 1.0) / k
    return t, False


@jit(inline=True)
def sparsemax_whole_row(row, buf, tmp):
    """``(M, t, k, status)`` of one row of scores, as the staged path gives them: the max,
    the shifted threshold, the support size, the row's status."""
    M, st = row_max(row)
    if st != OK:
        return M, 0.0, 0, st
    settled = False
    lo = -1.0  # the staged path's candidates: y >= -1
    if probe_dense(row, M):
        t, settled = _whole_row_steps(row, M)
        if settled:
            lo = np.nextafter(t, np.inf)  # the support, y > t
    # one call site of the candidate pass (each inlined copy is a large body)
    m = candidates(row, M, 1.0, lo, buf)
    if settled:
        return M, (psum(buf, 0, m) - 1.0) / m, m, OK
    t, k, done = presolve(buf, m)
    if not done:
        if k <= MAX_STEPS:  # a few candidates: compacting them costs less than a pass
            t, k = tau_michelot(buf, k, tmp)
        else:
            t, k = tau_guarded_newton(buf, k, tmp)
    return M, t, k, OK


@jit
def tau_guarded_newton(y, m, tmp):
    """Michelot's steps on the candidates ``y[:m]`` (the staged path's buffer) as read-only
    passes; the support is compacted once, at the end, and tau computed from it. After
    ``ROW_PASSES`` steps that have not converged, ``tau_auto`` finishes from the m
    candidates."""
    t = (psum(y, 0, m) - 1.0) / m
    last = m
    for _ in range(ROW_PASSES):
        s, k = step_sums(y[:m], 0.0, t)
        if k == last:
            k = keep_above(y, 0, m, t)
            return (psum(y, 0, k) - 1.0) / k, k
        if k == 0:
            break
        last = k
        t = (s - 1.0) / k
    return tau_auto(y, m, tmp)
