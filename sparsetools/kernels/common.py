"""Machinery shared by every method: the candidate pass, the exact finish, the output write."""

import numpy as np
from numba.core import types
from numba.extending import overload

from .._jit import jit
from . import scalar
from .special import BLOCK, bit_count, block_mask, lowest_bit, max_nan, positive_part
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

    One vectorised pass in the row's own dtype (``special.max_nan``: LLVM's ``maximum``,
    which any NaN makes NaN), so the max alone also says whether the row holds a NaN, a
    +inf, or nothing but -inf. The max of float32 entries is one of them, exact in float64."""
    M = row.dtype.type(-np.inf)
    for i in range(row.shape[0]):
        M = max_nan(M, row[i])
    M64 = np.float64(M)
    return M64, _status.scores_status(M64 != M64, M64 == np.inf, M64 > -np.inf)


#: Rows of at least this many entries take the blocked candidate pass
#: (``_candidates_blocked``), shorter ones the plain one. ``python scripts/bench_passes.py
#: --candidates`` (the pass alone, one thread, ns per entry, plain / blocked, float64 then
#: float32), N(0, 1) rows of 16: 0.51 / 1.24 and 0.51 / 1.34; of 32: 0.50 / 0.97 and
#: 0.50 / 1.09; of 64: 0.50 / 0.27 and 0.50 / 0.30; of 128: 0.49 / 0.13 and 0.48 / 0.15;
#: of 1024: 0.49 / 0.09 and 0.48 / 0.11. Dense rows (every entry a candidate): 0.47 / 0.35
#: and 0.50 / 0.40 from 64 on. On rows of 16 or 32 a span is a single 16-entry block whose
#: branches mispredict about every other row, which costs more than the plain copy.
BLOCKED_FROM = 64


def candidates(row, M, s, lo, buf):
    """``buf[:w] = (row - M) * s`` for the entries where that is ``>= lo``, in order, in
    float64; returns w. The same values and order whichever pass runs.

    The plain pass copies every entry and advances only for a kept one (branch-free: a
    data-dependent branch here mispredicts and costs 4x on short rows; its only
    loop-carried dependency is the count). The blocked one (C-contiguous rows of
    ``BLOCKED_FROM`` entries or more) first tests 64 entries at once, four 16-entry masks
    (``special.block_mask``): when few of them are kept, it copies those one by one from
    the mask's bits; when many are, it takes the 16-entry blocks one at a time (all kept:
    one vector copy; many: the plain loop; a few: their bits). On N(0, 1) rows most
    64-entry spans hold a handful of candidates or none.
    """
    return _candidates_plain(row, M, s, lo, buf, 0, 0)  # compiled code takes the overload below


@jit(inline=True)
def _candidates_plain(row, M, s, lo, buf, start, w):
    for i in range(start, row.shape[0]):
        v = (np.float64(row[i]) - M) * s
        buf[w] = v
        w += v >= lo
    return w


#: A 16-entry block with at least this many kept entries is copied by the plain loop.
_DENSE_BLOCK = 6
_FULL = (1 << BLOCK) - 1


@jit(inline=True)
def _keep_bits(row, M, s, lo, buf, w, i, mask):
    """Copy the entries ``row[i + j]`` for the set bits j of ``mask``; the new count."""
    while mask:
        buf[w] = (np.float64(row[i + lowest_bit(mask)]) - M) * s
        w += 1
        mask &= mask - 1
    return w


@jit(inline=True)
def _candidates_blocked(row, M, s, lo, buf, limit):
    """The blocked pass; -1 as soon as ``limit`` entries are kept at the end of a span
    that is not the row's last (``candidates_below``), which a limit above the row's
    length never stops."""
    n = row.shape[0]
    w = 0
    i = 0
    while i + BLOCK <= n:
        if i + 4 * BLOCK <= n:
            mask = (block_mask(row, i, M, s, lo)
                    | (block_mask(row, i + BLOCK, M, s, lo) << BLOCK)
                    | (block_mask(row, i + 2 * BLOCK, M, s, lo) << (2 * BLOCK))
                    | (block_mask(row, i + 3 * BLOCK, M, s, lo) << (3 * BLOCK)))
            span = 4 * BLOCK
        else:
            mask = block_mask(row, i, M, s, lo)
            span = BLOCK
        if 4 * bit_count(mask) < span:  # a few: straight from the bits
            w = _keep_bits(row, M, s, lo, buf, w, i, mask)
        else:
            for b in range(0, span, BLOCK):
                m16 = (mask >> b) & _FULL
                k = i + b
                if m16 == _FULL:
                    for j in range(BLOCK):
                        buf[w + j] = (np.float64(row[k + j]) - M) * s
                    w += BLOCK
                elif bit_count(m16) >= _DENSE_BLOCK:
                    for j in range(k, k + BLOCK):
                        v = (np.float64(row[j]) - M) * s
                        buf[w] = v
                        w += v >= lo
                else:
                    w = _keep_bits(row, M, s, lo, buf, w, k, m16)
        i += span
        if w >= limit and i < n:
            return -1
    return _candidates_plain(row, M, s, lo, buf, i, w)


@overload(candidates, inline="always")
def _candidates(row, M, s, lo, buf):
    if isinstance(row, types.Array) and row.layout == "C":
        def pick(row, M, s, lo, buf):
            if row.shape[0] >= BLOCKED_FROM:
                return _candidates_blocked(row, M, s, lo, buf, row.shape[0] + 1)
            return _candidates_plain(row, M, s, lo, buf, 0, 0)
        return pick
    return lambda row, M, s, lo, buf: _candidates_plain(row, M, s, lo, buf, 0, 0)


def candidates_below(row, M, s, lo, buf, limit):
    """``candidates``, or -1 once the blocked pass has kept ``limit`` entries or more at the
    end of one of its spans (64 entries, or 16 near the end of the row) with entries still
    to read: how a kernel that has a better way with rows of many candidates finds out,
    for little more than the span's work, that a row is one. A row read to its end keeps
    its candidates however many they are (the copy is paid for by then). Rows that take
    the plain pass (shorter than ``BLOCKED_FROM``, or not C-contiguous) are always copied
    whole."""
    m = candidates(row, M, s, lo, buf)  # compiled code takes the overload below
    n = row.shape[0]
    if n < BLOCKED_FROM or not row.flags.c_contiguous:
        return m
    # the blocked pass's span ends, as it walks them
    kept = np.cumsum((row.astype(np.float64) - M) * s >= lo)
    i = 0
    while i + BLOCK <= n:
        i += 4 * BLOCK if i + 4 * BLOCK <= n else BLOCK
        if i < n and kept[i - 1] >= limit:
            return -1
    return m


@overload(candidates_below, inline="always")
def _candidates_below(row, M, s, lo, buf, limit):
    if isinstance(row, types.Array) and row.layout == "C":
        def pick(row, M, s, lo, buf, limit):
            if row.shape[0] >= BLOCKED_FROM:
                return _candidates_blocked(row, M, s, lo, buf, limit)
            return _candidates_plain(row, M, s, lo, buf, 0, 0)
        return pick
    return lambda row, M, s, lo, buf, limit: _candidates_plain(row, M, s, lo, buf, 0, 0)


@jit
def gather(row, buf):
    """Two passes over ``row``: its max and its validity, then its candidates.

    The first pass is ``row_max`` (vectorised, in the row's dtype). The second,
    ``candidates``, copies the entries shifted by the max, ``v = x - M`` in float64, into
    ``buf``, keeping those with ``v >= -1``: the entries above ``max(row) - 1``, the only
    ones that can be in the support. On N(0, 1) rows that is a few dozen entries, whatever
    the row length. Exact for float32 rows too (every comparison is made in float64).

    Returns ``(M, m, status)``; on success ``buf[:m]`` holds the shifted candidates, all in
    [-1, 0].
    """
    M, st = row_max(row)
    if st != OK:
        return M, 0, st
    return M, candidates(row, M, 1.0, -1.0, buf), OK


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
        out[i] = positive_part((np.float64(row[i]) - M) - t)
