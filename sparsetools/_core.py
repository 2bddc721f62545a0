"""Public sparsemax and its threshold."""

import numpy as np

from . import _batched
from ._contract import Rows
from ._registry import method_code


def _run_rows(rows, method, out2d=None):
    """Run the row driver: per-row (max, t, k, status); writes ``out2d`` when given."""
    z2d = rows.z2d
    R = z2d.shape[0]
    code = method_code(method, rows.n)
    shift = np.empty(R, np.float64)
    thresh = np.empty(R, np.float64)
    support = np.empty(R, np.int64)
    status = np.empty(R, np.int8)
    write = out2d is not None
    if out2d is None:
        out2d = np.empty((0, 0), z2d.dtype)  # same Numba type, never touched
    _batched.sparsemax_rows(z2d, out2d, shift, thresh, support, status, write, literal=code)
    return shift, thresh, support, status


def sparsemax(z, axis=-1, *, method="auto", out=None):
    """Sparsemax: the Euclidean projection of ``z`` onto the probability simplex, per row.

    ``sparsemax(z)_i = max(z_i - tau, 0)`` with tau chosen so that the row sums to 1
    (Martins & Astudillo 2016). Rows run along ``axis``.

    Parameters
    ----------
    z : array_like
        Scores, any shape. float64 and float32 are computed and returned in their own
        precision; float16 is computed in float32 and returned as float16; integers and
        bools become float64. ``-inf`` entries are masked: they get exactly 0.
    axis : int
        The axis along which each row is projected (negative counts from the end).
    method : str
        ``"auto"`` (default) or one of ``sparsetools.METHODS``: ``"sort"``, ``"heap"``,
        ``"bisect"``, ``"condat"``, ``"duchi"``, ``"michelot"``. All return the same
        result to rounding.
    out : ndarray, optional
        Where to write the result (same shape as ``z``, a floating dtype, writable).
        Nothing is written if the input is rejected.

    Returns
    -------
    ndarray
        Same shape as ``z``; each row is non-negative and sums to 1.

    Raises
    ------
    ValueError
        NaN or +inf in ``z``, a row of only -inf, an empty ``axis``, an unknown ``method``,
        a wrong ``out`` shape; the message names the first offending row.
    TypeError
        Complex, object, string or other non-real dtypes.
    numpy.exceptions.AxisError
        ``axis`` out of range.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparsemax(np.array([1.76405235, 0.40015721, 0.97873798, 2.2408932, 1.86755799]))
    array([0.1398845 , 0.        , 0.        , 0.61672535, 0.24339014])
    """
    rows = Rows(z, axis, out=out)
    out2d = None if out is None else rows.rows_of(out)
    if out2d is None:
        res = np.empty_like(rows.z2d)
        status = _run_rows(rows, method, res)[3]
        rows.raise_for_status(status)
        return rows.deliver(res)
    # out is a (rows, n) view: find every threshold first, check, then write
    shift, thresh, _, status = _run_rows(rows, method)
    rows.raise_for_status(status)
    _batched.apply_rows(rows.z2d, shift, thresh, out2d)
    return out


def sparsemax_threshold(z, axis=-1, *, method="auto"):
    """The threshold tau and the support size k of ``sparsemax(z)`` for every row.

    ``sparsemax(z) = max(z - tau, 0)`` along ``axis`` and ``k = |{i : z_i > tau}|``.
    Accepts and rejects the same inputs as :func:`sparsemax`.

    Returns
    -------
    tau : ndarray
        Shape of ``z`` without ``axis`` (a 0-d array for 1-D input), in the result dtype
        of ``z``. Computed as ``(sum of the support - 1) / k`` with a float64 sum.
    k : ndarray of int64
        Same shape as ``tau``.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> tau, k = sparsetools.sparsemax_threshold(np.array([1.76405235, 0.40015721, 0.97873798, 2.2408932, 1.86755799]))
    >>> round(float(tau), 8), int(k)
    (1.62416785, 3)
    """
    rows = Rows(z, axis)
    shift, thresh, support, status = _run_rows(rows, method)
    rows.raise_for_status(status)
    return rows.batch(shift + thresh, rows.dtype), rows.batch(support)
