"""Scalar pieces both backends compile: the CPU with Numba's ``njit`` (``cpu`` below), the
GPU with numba-cuda as device functions (``sparsetools.cuda``). Written once so that the
two give the same status for the same row and the same loss terms.

Each status function takes counts gathered by the caller's own pass over the row and
returns the first code of ``status`` that applies, in one precedence for every function:
the first array (scores z, or an output p) before the second (v, g, or a target), and
within an array NaN, then +inf, then the array's own range.
"""

from .status import (
    ALL_NEGINF,
    HAS_NAN,
    HAS_POSINF,
    OK,
    OTHER_INF,
    OTHER_NAN,
    P_EMPTY,
    P_NEG,
    TARGET_NEG,
)


def scores_status(nan, posinf, finite):
    """A row of scores with ``nan`` NaNs, ``posinf`` +infs and ``finite`` finite entries:
    NaN, then +inf, then no finite entry (every entry -inf)."""
    if nan:
        return HAS_NAN
    if posinf:
        return HAS_POSINF
    if not finite:
        return ALL_NEGINF
    return OK


def pair_status(p_nan, p_posinf, p_neg, v_nan, v_inf, support):
    """An output ``p`` (NaNs, +infs, negative entries including -inf, support size) and a
    vector ``v`` (NaNs, infs of either sign): p's problems, then v's, then an empty support."""
    if p_nan:
        return HAS_NAN
    if p_posinf:
        return HAS_POSINF
    if p_neg:
        return P_NEG
    if v_nan:
        return OTHER_NAN
    if v_inf:
        return OTHER_INF
    if not support:
        return P_EMPTY
    return OK


def target_status(nan, posinf, neg):
    """A target distribution's row with ``nan`` NaNs, ``posinf`` +infs and ``neg``
    negative entries (-inf included): NaN, then +inf, then a negative entry. (Its sum is
    checked after this, with ``sum_is_off``, and is then ``common.TARGET_SUM``.)"""
    if nan:
        return OTHER_NAN
    if posinf:
        return OTHER_INF
    if neg:
        return TARGET_NEG
    return OK


def sum_is_off(total, tol):
    """Whether a target row's sum ``total`` is off 1 by more than ``tol`` (or is NaN)."""
    return not abs(total - 1.0) <= tol


def loss_terms(d, q):
    """``(g, h)`` of one entry of the sparsemax-family loss 1/2 ||p - q||^2 +
    sum_i q_i max(t - y_i, 0), with ``d = y - t``: the gradient entry g = max(d, 0) - q
    and the hinge term h = q max(-d, 0), taken as 0 where q = 0 (so that a -inf score the
    target gives no mass adds nothing, rather than 0 * inf)."""
    g = (d if d > 0.0 else 0.0) - q
    h = 0.0
    if q > 0.0:
        h = q * (-d if -d > 0.0 else 0.0)
    return g, h


def _cpu():
    """The functions above compiled for the CPU (inlined into their callers), as the
    attributes of a module object, which Numba resolves at compile time."""
    from types import ModuleType

    from .._jit import jit

    mod = ModuleType(__name__ + ".cpu", "The scalar pieces, compiled for the CPU.")
    for name in ("scores_status", "pair_status", "target_status", "sum_is_off", "loss_terms"):
        setattr(mod, name, jit(inline=True)(globals()[name]))
    return mod


#: The scalar pieces compiled for the CPU: ``cpu.scores_status(...)`` in a kernel.
cpu = _cpu()
