"""Public sparsemax and its threshold."""

import numpy as np

from . import _batched, _dask
from ._contract import Rows
from .maps import MAPS

SPARSEMAX = MAPS["sparsemax"]

#: The ``param`` argument of the drivers for a map without a parameter (never read).
NO_PARAM = np.zeros(1)


def forward(rows, method, out2d="none", map_=SPARSEMAX, param=NO_PARAM):
    """The forward pass of a map (sparsemax by default) over ``rows``:
    ``(p, shift, thresh, support)``, the per-row max, ``tau - max`` and support size; ``p``
    (an array, or ``"rows"`` for a fresh one) receives the output unless it is ``"none"``.
    ``param`` is the map's parameter, float64, one per row or one for all. Raises for a
    bad row."""
    code = map_.resolve(method, rows.n, rows.z2d.dtype).code
    R = rows.z2d.shape[0]
    write = type(out2d) is not str or out2d != "none"
    outputs = (out2d, np.empty(R), np.empty(R), np.empty(R, np.int64))  # made here: the fast path
    return rows.run(_batched.forward_rows, (rows.z2d,), outputs, (write, param), code)


_NATIVE = (np.dtype(np.float64), np.dtype(np.float32))


def _plain_rows(z, axis, method, map_=SPARSEMAX, param=NO_PARAM):
    """The short path of the commonest small call: a C-contiguous, aligned float64 or
    float32 array of one or two dimensions with its rows along the last axis, no ``out=``.
    Such an input is already what the contract would make of it, so its rows go to the
    driver as they are (a call's fixed cost drops by about 2 us). Returns None for anything
    else, and for a row the driver rejects (the full path then raises the contract's
    error). ``map_`` and ``param`` as in :func:`forward` (param one value for every row)."""
    nd = z.ndim
    if not (0 < nd <= 2 and (axis == -1 or axis == nd - 1) and z.dtype in _NATIVE and z.shape[-1]
            and z.flags.c_contiguous and z.flags.aligned):
        return None
    n = z.shape[-1]
    z2d = z.reshape(-1, n)
    R = z2d.shape[0]
    res = np.empty_like(z2d)
    status = np.empty(R, np.int8)
    _batched.forward_rows(z2d, res, np.empty(R), np.empty(R), np.empty(R, np.int64), status, True,
                          param, literal=map_.resolve(method, n, z.dtype).code)
    if np.count_nonzero(status):
        return None
    return res.reshape(z.shape)


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
        ``"auto"`` (default) or one of ``sparsetools.METHODS``: {methods}, and any
        registered with :func:`sparsetools.register_method`. All return the same result
        to rounding.
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
    if out is None and type(z) is np.ndarray and type(axis) is int:
        p = _plain_rows(z, axis, method)
        if p is not None:
            return p
    if _dask.lazy(z):
        return _dask.call(sparsemax, locals())
    rows = Rows(z, axis, out=out)
    out2d = None if out is None else rows.rows_of(out)
    if out2d is None:
        return rows.deliver(forward(rows, method, "rows")[0])
    # out is a (rows, n) view: find every threshold first, check, then write
    _, shift, thresh, _ = forward(rows, method)
    _batched.apply_rows(rows.z2d, shift, thresh, out2d, NO_PARAM, literal=SPARSEMAX.code)
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
    if _dask.lazy(z):
        return _dask.call(sparsemax_threshold, locals())
    rows = Rows(z, axis)
    _, shift, thresh, support = forward(rows, method)
    return rows.batch(shift + thresh, rows.dtype), rows.batch(support)


sparsemax.__doc__ = sparsemax.__doc__.replace(
    "{methods}", ", ".join(f"``{m!r}``" for m in SPARSEMAX.names).replace("'", '"'))
