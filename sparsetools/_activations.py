"""Public softmax, and the softmax + sigmoid activation with its correct backward pass (the
full Jacobian, see ``softmax_sigmoid``)."""

import math

import numpy as np

from . import _batched, _dask
from ._contract import Rows, pair


def softmax(z, axis=-1, *, out=None):
    """Softmax along ``axis``: ``exp(z - max(z)) / sum(exp(z - max(z)))`` per row.

    Same input contract as :func:`sparsemax` (``-inf`` entries get exactly 0; NaN, +inf
    and all -inf rows are errors naming the row). The exponential is a vectorised one
    within about 1 ulp of ``np.exp``; the sum is float64 and the final step a division.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.softmax(np.array([0.0, np.log(3.0), -np.inf]))
    array([0.25, 0.75, 0.  ])
    """
    if _dask.lazy(z):
        return _dask.call(softmax, locals())
    rows = Rows(z, axis, out=out)
    (res,) = rows.run(_batched.softmax_rows, (rows.z2d,), ("rows",))
    return rows.deliver(res)


def _params(gamma, beta, alpha):
    for name, v in (("gamma", gamma), ("beta", beta), ("alpha", alpha)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, not {type(v).__name__}")
        try:
            finite = math.isfinite(v)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            shown = repr(v) if not isinstance(v, int) or abs(v) < 10**20 else f"an integer of {len(str(abs(v)))} digits"
            raise ValueError(f"{name} must be a finite real number, not {shown}")
    if not gamma > 0:
        raise ValueError(
            f"gamma must be > 0 (an inverse temperature; -inf scores are masks only for "
            f"gamma > 0), not {gamma!r}"
        )
    return float(gamma), float(beta), float(alpha)


_NOTE = """
    The activation a1 = softmax(gamma z), a2 = sigmoid(beta (a1 - alpha)), then
    a3 = relu(a2) if ``relu``, as it is often written down, with two corrections that this
    function and its derivatives follow:

    - such write-ups' backward pass multiplies the two derivatives element-wise; the Jacobian is the
      matrix product J = diag(beta a2 (1 - a2)) gamma (diag(a1) - a1 a1^T), so the backward
      pass is J^T g = gamma a1 * (u - a1 . u) with u = beta a2 (1 - a2) * g
      (:func:`softmax_sigmoid_vjp`);
    - a2 lies in (0, 1), so relu(a2) = a2: the relu stage changes nothing, value or
      derivative. ``relu=True`` is accepted (and applied) for those who write it."""


def softmax_sigmoid(z, gamma=1.0, beta=1.0, alpha=0.0, relu=False, axis=-1, *, out=None):
    """``sigmoid(beta * (softmax(gamma * z) - alpha))`` along ``axis``.
    {note}

    Parameters
    ----------
    z : array_like
        Scores; the input contract of :func:`sparsemax`.
    gamma : float
        Inverse temperature of the softmax, finite and > 0.
    beta, alpha : float
        Slope and centre of the sigmoid, finite.
    relu : bool
        Apply relu after the sigmoid (the identity, see above).
    axis : int
        The axis the rows run along.
    out : ndarray, optional
        Where to write the result; written only if the input is accepted.

    Returns
    -------
    ndarray
        Same shape as ``z``, entries in (0, 1), in z's result dtype.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.softmax_sigmoid(np.array([0.0, 0.0]), beta=4.0, alpha=0.5)
    array([0.5, 0.5])
    """
    if _dask.lazy(z):
        return _dask.call(softmax_sigmoid, locals())
    g, b, a = _params(gamma, beta, alpha)
    rows = Rows(z, axis, out=out)
    (res,) = rows.run(_batched.softmax_sigmoid_rows, (rows.z2d, rows.z2d), ("rows",),
                      (g, b, a, bool(relu), False))
    return rows.deliver(res)


def softmax_sigmoid_vjp(z, g, gamma=1.0, beta=1.0, alpha=0.0, relu=False, axis=-1, *, out=None):
    """The backward pass of :func:`softmax_sigmoid`: ``g^T J`` at ``z``, per row.

    ``J^T g = gamma a1 * (u - a1 . u)``, ``u = beta a2 (1 - a2) * g``, with the full
    Jacobian (not the element-wise product of the two derivatives). ``g`` has z's shape and must be
    finite; the other arguments are those of :func:`softmax_sigmoid`. O(n) per row.
    Returns z's shape, in the promotion of the two result dtypes.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.softmax_sigmoid_vjp(np.array([0.0, 0.0]), np.array([1.0, 1.0]))
    array([0., 0.])
    """
    if _dask.lazy(z, g):
        return _dask.call(softmax_sigmoid_vjp, locals())
    gm, b, a = _params(gamma, beta, alpha)
    zrows, grows = pair(z, g, axis, ("z", "g"), out=out)
    (res,) = zrows.run(_batched.softmax_sigmoid_rows, (zrows.z2d, grows.z2d), ("rows",),
                       (gm, b, a, bool(relu), True), other="g")
    return zrows.deliver(res)


def softmax_sigmoid_jacobian(z, gamma=1.0, beta=1.0, alpha=0.0, relu=False, axis=-1):
    """The dense Jacobian of :func:`softmax_sigmoid` at ``z``, per row:
    ``J[i, j] = beta a2_i (1 - a2_i) gamma (delta_ij a1_i - a1_i a1_j)``.

    Returns shape ``batch + (n, n)`` as :func:`sparsemax_jacobian` does (batch: z's shape
    without ``axis``; the trailing axes are output entry i, input entry j). ``relu`` is
    accepted and changes nothing (see :func:`softmax_sigmoid`).
    """
    if _dask.lazy(z):
        return _dask.call(softmax_sigmoid_jacobian, locals())
    gm, b, a = _params(gamma, beta, alpha)
    rows = Rows(z, axis)
    (J,) = rows.run(_batched.softmax_sigmoid_jacobian_rows, (rows.z2d,), ("matrices",), (gm, b, a))
    return rows.deliver_matrices(J)


softmax_sigmoid.__doc__ = softmax_sigmoid.__doc__.replace("{note}", _NOTE.strip("\n"))
