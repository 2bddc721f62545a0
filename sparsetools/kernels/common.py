"""Machinery shared by every method: the candidate pass, the exact finish, the output write."""

import numpy as np

from .._jit import jit
from . import scalar
from .status import (  # noqa: F401  (the codes, re-exported for the kernels)
    ALL_NEGINF,
    BAD_LABEL,
    HAS_NAN,
    HAS_POSINF,
    OK,
    OTHER_INF,
    OTHER_NAN,
    P_EMPTY,
    P_NEG,
    STATUS_MESSAGES,
    TARGET_NEG,
    TARGET_SUM,
)

_status = scalar.cpu


@jit
def row_max(row):
    """``(max, status)`` of a row of scores: HAS_NAN, HAS_POSINF or ALL_NEGINF, else OK.
    Four partial maxima so the pass is not one chain of dependent comparisons."""
    n = row.shape[0]
    m0 = m1 = m2 = m3 = -np.inf
    nan = 0
    i = 0
    while i + 4 <= n:
        x0 = np.float64(row[i])
        x1 = np.float64(row[i + 1])
        x2 = np.float64(row[i + 2])
        x3 = np.float64(row[i + 3])
        m0 = x0 if x0 > m0 else m0
        m1 = x1 if x1 > m1 else m1
        m2 = x2 if x2 > m2 else m2
        m3 = x3 if x3 > m3 else m3
        nan += (x0 != x0) | (x1 != x1) | (x2 != x2) | (x3 != x3)
        i += 4
    while i < n:
        x0 = np.float64(row[i])
        m0 = x0 if x0 > m0 else m0
        nan += x0 != x0
        i += 1
    M = max(max(m0, m1), max(m2, m3))
    return M, _status.scores_status(nan, M == np.inf, M > -np.inf)



@jit
def gather(row, buf):
    """Two passes over ``row``: its max and its validity, then its candidates.

    The first pass is ``row_max`` (four partial maxima and a NaN count, no dependent chain
    of comparisons). The second copies every entry shifted by the max, ``v = x - M`` in
    float64, into ``buf`` and keeps it when ``v >= -1``: the entries above ``max(row) - 1``,
    the only ones that can be in the support. On N(0, 1) rows that is a few dozen entries,
    whatever the row length. The copy is branch-free (store always, advance only for a
    candidate: a data-dependent branch here mispredicts and costs 4x on short rows), and
    its only loop-carried dependency is the count; a single pass with a running max made
    the comparison with the max a chain through every entry, half of a short row's time.
    Exact for float32 rows too (every comparison is made in float64).

    Returns ``(M, m, status)``; on success ``buf[:m]`` holds the shifted candidates, all in
    [-1, 0].
    """
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    w = 0
    for i in range(row.shape[0]):
        v = np.float64(row[i]) - M
        buf[w] = v
        w += v >= -1.0
    return M, w, OK


@jit(reassoc=True)
def psum(a, lo, hi):
    """float64 sum of ``a[lo:hi]``, vectorised.

    A plain ``s += a[j]`` loop is one chain of dependent additions whose latency, not the
    memory, sets its speed; compiled with the ``reassoc`` flag (and only that flag: NaN and
    inf still propagate, so a sum that meets either is NaN or inf) LLVM may keep several
    partial sums in vector registers instead: 0.075 ns per entry on an L1-resident row
    against 0.29 for four hand-written scalar chains. The order of the additions is fixed
    at compile time, so the same input always gives the same bits. The kernels sum kept
    entries here, after a branch-free filter has placed them contiguously, rather than
    inside the filter with ``s += v if keep else 0.0``: LLVM compiles that conditional (and
    ``v * keep`` alike) to a data-dependent branch, which mispredicts on every other entry
    of a dense row.
    """
    s = 0.0
    for j in range(lo, hi):
        s += np.float64(a[j])
    return s


@jit
def presolve(a, m):
    """Michelot's first step on the candidates ``a[:m]`` (shifted, all in [-1, 0]).

    For any set of entries that contains the support, ``(sum - 1) / size`` is a lower bound
    on tau (the entries outside the support are <= tau, so ``sum - size * tau <= 1``). With
    the candidates as that set:

    - if every candidate is above the bound, the support is all of them and tau is the bound
      itself: returns ``(t, m, True)``, no method needs to run (dense short rows);
    - otherwise the candidates at or below the bound cannot be in the support and are
      dropped: returns ``(t, w, False)`` with the ``w`` survivors in ``a[:w]``, still a
      superset of the support, for the method to finish. On dense long rows this halves
      the work of every method; on sparse rows it costs one pass over a few entries.

    One pass for the sum (``psum``), one branch-free pass for the filter; every candidate is
    above the bound exactly when the filter keeps them all.
    """
    t = (psum(a, 0, m) - 1.0) / m
    w = 0
    for j in range(m):
        v = a[j]
        a[w] = v
        w += v > t
    return t, w, w == m


@jit
def keep_above(a, lo, hi, t):
    """Move the entries of ``a[lo:hi]`` that are > t to the front, in order; return the end
    of the kept ones. Branch-free: store always, advance only when kept (it vectorises)."""
    w = lo
    for j in range(lo, hi):
        v = a[j]
        a[w] = v
        w += v > t
    return w


@jit
def finish(a, lo, hi, s0, k0):
    """Exact threshold from a support known up to a few entries.

    ``k0`` entries with float64 sum ``s0`` are surely in the support; ``a[lo:hi]`` are
    tentatively in it. Computes ``t = (sum - 1) / k`` over all of them, drops the tentative
    entries ``<= t`` and repeats until nothing is dropped (Michelot's iteration, which only
    ever increases ``t``). Each round is one pass; the sum is re-accumulated from scratch
    each round, never updated by subtraction.
    """
    k = k0 + (hi - lo)
    t = (s0 + psum(a, lo, hi) - 1.0) / k
    while True:
        w = keep_above(a, lo, hi, t)
        if w == hi:
            return t, k
        hi = w
        k = k0 + (hi - lo)
        t = (s0 + psum(a, lo, hi) - 1.0) / k


@jit
def apply_row(row, M, t, out):
    """``out = max((row - M) - t, 0)``, computed in float64 in the shifted frame.

    Subtracting the max first keeps large offsets exact: for a row near 1e6, ``row - M`` is
    exact and only the final subtraction of ``t`` (a number in [-1, 0)) rounds. -inf entries
    give exactly 0.
    """
    for i in range(row.shape[0]):
        d = (np.float64(row[i]) - M) - t
        out[i] = d if d > 0.0 else 0.0
