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
def gather(row, buf):
    """One pass over ``row``: its max, its validity, and its candidates.

    Keeps a running max ``M`` and copies into ``buf`` every entry ``x >= M_so_far - 1``:
    a superset of the entries above ``max(row) - 1``, which are the only ones that can be in
    the support. On N(0, 1) rows that is a few dozen entries, whatever the row length. NaN
    and +inf are detected in the same pass. A second, short pass over the candidates shifts
    them by the final max and drops the stale ones.

    ``x >= thr`` rather than ``>``: ``thr = fl(M - 1)`` may round up by half an ulp, and the
    only float in ``(M - 1, fl(M - 1)]`` is ``fl(M - 1)`` itself, so ``>=`` keeps every entry
    above the exact ``M - 1``. Both comparisons are exact for float32 rows (done in float64).

    Returns ``(M, m, status)``; on success ``buf[:m]`` holds the shifted candidates, all in
    [-1, 0].
    """
    n = row.shape[0]
    M = -np.inf
    thr = -np.inf
    m = 0
    nan = False
    for i in range(n):
        # branch-free append: store always, advance only for a candidate (a data-dependent
        # branch here mispredicts and costs 4x on short rows)
        x = np.float64(row[i])
        buf[m] = x
        m += x >= thr
        if x > M:
            M = x
            thr = M - 1.0
        nan |= x != x
    st = _status.scores_status(nan, M == np.inf, M > -np.inf)
    if st != OK:
        return M, 0, st
    w = 0
    for j in range(m):
        v = buf[j] - M
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
