"""Public derivatives of sparsemax: the dense Jacobian, the JVP and the VJP.

J = diag(s) - s s^T / k depends only on the support s of the output p, so the products
take p (not z) and never form J.
"""

from . import _batched, _dask
from ._contract import Rows, pair
from ._core import NO_PARAM, SPARSEMAX, forward


def sparsemax_jacobian(z, axis=-1, *, method="auto"):
    """The Jacobian of sparsemax at ``z``: ``J = diag(s) - s s^T / k`` for every row.

    s is the 0/1 indicator of the support of ``sparsemax(z)`` and k its size. J is
    symmetric, ``J @ 1 = 0``, and ``J[i, j] = d sparsemax(z)_i / d z_j`` wherever the
    support does not change under a small move of z (everywhere but on a set of measure
    zero; there it is the derivative from inside the current support).

    Parameters
    ----------
    z : array_like
        Scores, any shape; the input contract of :func:`sparsemax`.
    axis : int
        The axis the rows run along.
    method : str
        The sparsemax method that finds the support (``"auto"`` or one of ``METHODS``).

    Returns
    -------
    ndarray
        Shape ``batch + (n, n)``, where ``batch`` is the shape of ``z`` without ``axis``
        (so ``(n, n)`` for a 1-D input, ``(..., n, n)`` for rows along the last axis): the
        two new trailing axes are (output entry i, input entry j), whatever ``axis`` was.
        In the result dtype of ``z``. It takes ``n * n`` entries per row; for a product
        with a vector use :func:`sparsemax_jvp`, which costs O(n).

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparsemax_jacobian(np.array([1.0, 0.8, -1.0]))
    array([[ 0.5, -0.5,  0. ],
           [-0.5,  0.5,  0. ],
           [ 0. ,  0. ,  0. ]])
    """
    if _dask.lazy(z):
        return _dask.call(sparsemax_jacobian, locals())
    rows = Rows(z, axis)
    p2d = forward(rows, method, "rows")[0]
    (J,) = rows.run(_batched.jacobian_rows, (p2d,), ("matrices",), (NO_PARAM,), SPARSEMAX.code)
    return rows.deliver_matrices(J)


def _product(p, v, axis, out, vname, map_=SPARSEMAX, param=None):
    """The map's J v (= v J) at the output ``p``, per row; ``param(rows)`` gives the map's
    parameter for p's rows."""
    prow, vrow = pair(p, v, axis, ("p", vname), out=out)
    par = NO_PARAM if param is None else param(prow)
    (res,) = prow.run(_batched.jvp_rows, (prow.z2d, vrow.z2d), ("rows",), (par,), map_.code, other=vname)
    return prow.deliver(res)


def sparsemax_jvp(p, v, axis=-1, *, out=None):
    """Jacobian-vector product of sparsemax, ``J v = s * (v - (s . v) / k)``, per row.

    Takes the *output* ``p = sparsemax(z)`` (J depends only on its support s = p > 0, of
    size k) and a tangent ``v`` of the same shape; O(n) per row, J is never formed.

    Parameters
    ----------
    p : array_like
        A sparsemax output: entries >= 0, at least one > 0 per row (checked).
    v : array_like
        Same shape as ``p``; finite (checked).
    axis : int
        The axis the rows run along.
    out : ndarray, optional
        Where to write the result (``p``'s shape, a floating dtype); written only if the
        inputs are accepted.

    Returns
    -------
    ndarray
        Same shape as ``p``, in the promotion of the two inputs' result dtypes. Each row
        sums to 0 (J 1 = 0) and is 0 off the support.

    Raises
    ------
    ValueError
        NaN or inf in either input, a negative entry in ``p`` or a row of ``p`` without a
        positive entry, shapes that differ; the message names the first offending row.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> p = sparsetools.sparsemax(np.array([1.0, 0.8, -1.0]))
    >>> sparsetools.sparsemax_jvp(p, np.array([1.0, 0.0, 5.0]))
    array([ 0.5, -0.5,  0. ])
    """
    if _dask.lazy(p, v):
        return _dask.call(sparsemax_jvp, locals())
    return _product(p, v, axis, out, "v")


def sparsemax_vjp(p, g, axis=-1, *, out=None):
    """Vector-Jacobian product of sparsemax, ``g^T J``: the backward pass.

    J is symmetric, so this is the same O(n) computation as :func:`sparsemax_jvp`,
    ``s * (g - (s . g) / k)``, with the incoming gradient ``g`` in place of ``v``; the
    arguments, checks and result are those of :func:`sparsemax_jvp`.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> p = sparsetools.sparsemax(np.array([[1.0, 0.8, -1.0], [0.0, 0.0, 0.0]]))
    >>> sparsetools.sparsemax_vjp(p, np.array([[1.0, 0.0, 5.0], [3.0, 0.0, 0.0]]))
    array([[ 0.5, -0.5,  0. ],
           [ 2. , -1. , -1. ]])
    """
    if _dask.lazy(p, g):
        return _dask.call(sparsemax_vjp, locals())
    return _product(p, g, axis, out, "g")
