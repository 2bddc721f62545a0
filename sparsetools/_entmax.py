"""Public alpha-entmax: the map, its threshold, its derivatives (in z and in alpha) and its
loss (Peters, Niculae & Martins 2019; Blondel, Martins & Niculae 2020).

For alpha > 1, ``entmax(z, alpha)_i = [(alpha - 1) z_i - tau]_+ ^ (1 / (alpha - 1))`` with
tau such that the row sums to 1; alpha = 2 is sparsemax, alpha = 1.5 the "entmax15" of the
literature, and alpha = 1 is defined as softmax exactly (the limit). alpha is one number or
one per row.
"""

import numpy as np

from . import _batched, _dask
from ._contract import Rows, in_all, per_row
from ._core import _plain_rows, forward
from ._derivs import _product
from ._losses import _TARGET_DOC, _run
from .maps import MAPS

ENTMAX = MAPS["entmax"]


def _alpha(alpha, rows):
    """alpha as the drivers take it: a float64 array of one value, or of one per row of
    ``rows`` (broadcast from the batch shape). Checked here, before anything is computed
    or written: a real number >= 1 and finite, per row."""
    if type(alpha) is float and 1.0 <= alpha < np.inf:  # the common call, without NumPy's checks
        return _scalar_alpha(alpha)
    if isinstance(alpha, (bool, np.bool_)):
        raise TypeError("alpha must be a real number >= 1, not a bool")
    a = np.asarray(alpha)
    if a.dtype.kind not in "iuf" or a.dtype.kind == "b":
        raise TypeError(f"alpha must be a real number >= 1 or an array of them, not dtype {a.dtype}")
    a = a.astype(np.float64)
    arr = per_row(a, rows, "alpha")
    bad = np.flatnonzero(~(arr >= 1.0) | (arr == np.inf))
    if bad.size:
        r = int(bad[0])
        v = float(arr[r])
        where = "" if a.ndim == 0 else f" in {rows.row_label(r)} ({bad.size} bad {in_all()})"
        if v != v:
            raise ValueError(f"alpha is NaN{where}; it must be a real number >= 1")
        if v == np.inf:
            raise ValueError(f"alpha is inf{where}; it must be finite (alpha = 2 is sparsemax)")
        raise ValueError(f"alpha is {v!r}{where}; entmax needs alpha >= 1 (alpha = 1 is softmax, "
                         f"alpha = 2 sparsemax)")
    return arr


def _scalar_alpha(alpha):
    a = np.empty(1)
    a[0] = alpha
    return a


def _param(alpha):
    return lambda rows: _alpha(alpha, rows)


def entmax(z, alpha=1.5, axis=-1, *, method="auto", out=None):
    """alpha-entmax of ``z`` along ``axis``: the sparse maps between softmax and sparsemax.

    ``entmax(z, alpha)_i = [(alpha - 1) z_i - tau]_+ ^ (1 / (alpha - 1))`` with tau such
    that each row sums to 1 (Peters, Niculae & Martins 2019): the gradient of the Tsallis
    entropy's conjugate. alpha = 2 is sparsemax, alpha = 1.5 is "entmax15", and alpha = 1
    is softmax (the limit, computed as softmax). The larger alpha, the sparser the output.

    The threshold is exact: the support is found first (no candidate left strictly inside
    the bracket of tau), then tau is solved on it, in closed form for alpha = 1.5 and 2 and
    by Newton's method to full precision otherwise; each row sums to 1 to rounding
    without a final renormalisation.

    Parameters
    ----------
    z : array_like
        Scores, any shape; the input contract of :func:`sparsemax` (float32 and float64
        computed in their own precision, float16 in float32, -inf entries masked to 0).
    alpha : float or array_like
        alpha >= 1, finite: one number, or one per row (an array broadcastable to z's
        shape without ``axis``). Checked before anything is written.
    axis : int
        The axis along which each row is mapped.
    method : str
        ``"auto"`` (default) or one of ``sparsetools.ENTMAX_METHODS``: {methods}. All return
        the same result to rounding.
    out : ndarray, optional
        Where to write the result (z's shape, a floating dtype); written only if the input
        is accepted.

    Returns
    -------
    ndarray
        Same shape as ``z``; each row is non-negative and sums to 1.

    Raises
    ------
    ValueError
        Anything :func:`sparsemax` rejects; alpha < 1, NaN or inf, or of a shape that is
        not one per row. The message names the first offending row.
    TypeError
        Non-real scores or alpha.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> z = np.array([1.0, 0.5, -1.0])
    >>> sparsetools.entmax(z, alpha=1.5)
    array([0.67399264, 0.32600736, 0.        ])
    >>> sparsetools.entmax(z, alpha=2.0)       # sparsemax
    array([0.75, 0.25, 0.  ])
    >>> sparsetools.entmax(z[None, :].repeat(2, 0), alpha=[1.0, 3.0])   # one alpha per row
    array([[0.57409699, 0.34820743, 0.07769558],
           [1.        , 0.        , 0.        ]])
    """
    if out is None and type(z) is np.ndarray and type(axis) is int and type(alpha) is float \
            and 1.0 <= alpha < np.inf:
        p = _plain_rows(z, axis, method, ENTMAX, _scalar_alpha(alpha))
        if p is not None:
            return p
    if _dask.lazy(z, alpha):
        return _dask.call(entmax, locals())
    rows = Rows(z, axis, out=out)
    par = _alpha(alpha, rows)
    out2d = None if out is None else rows.rows_of(out)
    # a method that writes the output with its threshold (``newton``: from its last pass's
    # powers) writes it aside and then into ``out``, so that ``out=`` gets the same bits
    if out2d is None or ENTMAX.resolve(method, rows.n, rows.z2d.dtype).write is not None:
        return rows.deliver(forward(rows, method, "rows", ENTMAX, par)[0])
    _, shift, thresh, _ = forward(rows, method, "none", ENTMAX, par)  # every row first
    _batched.apply_rows(rows.z2d, shift, thresh, out2d, par, literal=ENTMAX.code)
    return out


def entmax15(z, axis=-1, *, out=None):
    """1.5-entmax, ``entmax(z, alpha=1.5)``: p = [z / 2 - tau]_+^2 per row (the "entmax15"
    of Peters et al. 2019), with tau in closed form on the exact support.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.entmax15(np.array([[1.0, 0.5, -1.0], [0.0, 0.0, 0.0]]))
    array([[0.67399264, 0.32600736, 0.        ],
           [0.33333333, 0.33333333, 0.33333333]])
    """
    return entmax(z, 1.5, axis, out=out)


def entmax_threshold(z, alpha=1.5, axis=-1, *, method="auto"):
    """The threshold tau and the support size k of ``entmax(z, alpha)`` for every row.

    ``entmax(z, alpha) = [(alpha - 1) z - tau]_+ ^ (1 / (alpha - 1))`` along ``axis`` and
    ``k = |{i : (alpha - 1) z_i > tau}|``; for alpha = 1 (softmax), tau is the log-sum-exp,
    ``softmax(z) = exp(z - tau)``, and k counts the entries that are not -inf. Accepts and
    rejects the same inputs as :func:`entmax`.

    Returns
    -------
    tau : ndarray
        z's shape without ``axis`` (0-d for a 1-D z), in z's result dtype.
    k : ndarray of int64
        Same shape as ``tau``.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> tau, k = sparsetools.entmax_threshold(np.array([1.0, 0.5, -1.0]), alpha=1.5)
    >>> round(float(tau), 6), int(k)
    (-0.320971, 2)
    """
    if _dask.lazy(z, alpha):
        return _dask.call(entmax_threshold, locals())
    rows = Rows(z, axis)
    par = _alpha(alpha, rows)
    _, shift, thresh, support = forward(rows, method, "none", ENTMAX, par)
    scale = np.where(par == 1.0, 1.0, par - 1.0)
    return rows.batch(scale * shift + thresh, rows.dtype), rows.batch(support)


def entmax_jacobian(z, alpha=1.5, axis=-1, *, method="auto"):
    """The Jacobian of entmax at ``z``: ``J = diag(g) - g g^T / sum(g)``, g = p^(2 - alpha)
    on the support of p = entmax(z, alpha) and 0 off it (alpha = 1: softmax's
    diag(p) - p p^T; alpha = 2: sparsemax's). Symmetric, ``J @ 1 = 0``.

    Returns an array of shape ``batch + (n, n)`` (output entry i, input entry j), in z's
    result dtype; see :func:`sparsemax_jacobian`. For products use :func:`entmax_jvp`.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.entmax_jacobian(np.array([0.0, 0.0]), alpha=1.5)
    array([[ 0.35355339, -0.35355339],
           [-0.35355339,  0.35355339]])
    """
    if _dask.lazy(z, alpha):
        return _dask.call(entmax_jacobian, locals())
    rows = Rows(z, axis)
    par = _alpha(alpha, rows)
    p2d = forward(rows, method, "rows", ENTMAX, par)[0]
    (J,) = rows.run(_batched.jacobian_rows, (p2d,), ("matrices",), (par,), ENTMAX.code)
    return rows.deliver_matrices(J)


def entmax_jvp(p, v, alpha=1.5, axis=-1, *, out=None):
    """Jacobian-vector product of entmax at its output ``p = entmax(z, alpha)``:
    ``J v = g v - g (g . v) / sum(g)``, g = p^(2 - alpha) on the support (O(n) per row,
    J never formed).

    ``p`` must be an entmax output (entries >= 0, one > 0 per row, checked), ``v`` finite of
    p's shape; alpha as in :func:`entmax` (one per row of p, or one for all); ``out=`` as in
    :func:`sparsemax_jvp`. Each result row sums to 0 and is 0 off the support.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> p = sparsetools.entmax(np.array([0.0, 0.0, -5.0]), alpha=1.5)
    >>> sparsetools.entmax_jvp(p, np.array([1.0, 0.0, 7.0]), alpha=1.5)
    array([ 0.35355339, -0.35355339,  0.        ])
    """
    if _dask.lazy(p, v, alpha):
        return _dask.call(entmax_jvp, locals())
    return _product(p, v, axis, out, "v", ENTMAX, _param(alpha))


def entmax_vjp(p, g, alpha=1.5, axis=-1, *, out=None):
    """Vector-Jacobian product of entmax, ``g^T J``: the backward pass in z. J is
    symmetric, so this is :func:`entmax_jvp` with the incoming gradient ``g`` for ``v``.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> p = sparsetools.entmax(np.array([0.0, 0.0, -5.0]), alpha=1.5)
    >>> sparsetools.entmax_vjp(p, np.array([1.0, 0.0, 7.0]), alpha=1.5)
    array([ 0.35355339, -0.35355339,  0.        ])
    """
    if _dask.lazy(p, g, alpha):
        return _dask.call(entmax_vjp, locals())
    return _product(p, g, axis, out, "g", ENTMAX, _param(alpha))


def entmax_dalpha(p, alpha=1.5, axis=-1, *, out=None):
    """The derivative of ``entmax(z, alpha)`` in alpha, z held fixed, from the output p:
    what a learned alpha needs (its gradient is ``(g * entmax_dalpha(p, alpha)).sum(axis)``
    for an incoming gradient g).

    With b = 1 / (alpha - 1), g = p^(2 - alpha) and w = p (b - log p) on the support,
    ``d p / d alpha = b (w - g sum(w) / sum(g))``; at alpha = 1 it is the limit
    ``-(p L^2 - p (p . L^2)) / 2`` with L = log p. Each row sums to 0 and is 0 off the
    support. Near alpha = 1 (alpha - 1 below about 1e-4) the formula loses digits to
    cancellation (its terms grow like b^2).

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> p = sparsetools.entmax(np.array([1.0, 0.0]), alpha=1.5)
    >>> sparsetools.entmax_dalpha(p, alpha=1.5)
    array([ 0.24846157, -0.24846157])
    """
    if _dask.lazy(p, alpha):
        return _dask.call(entmax_dalpha, locals())
    rows = Rows(p, axis, name="p", out=out)
    par = _alpha(alpha, rows)
    (res,) = rows.run(_batched.entmax_dalpha_rows, (rows.z2d,), ("rows",), (par,))
    return rows.deliver(res)


def entmax_loss(z, target, alpha=1.5, axis=-1, *, method="auto"):
    """The entmax loss: the Fenchel-Young loss of the Tsallis entropy (Blondel, Martins &
    Niculae 2020), ``L(z; q) = (p - q) . z + H(p) - H(q)`` with p = entmax(z, alpha) and
    ``H(p) = (1 - sum p^alpha) / (alpha (alpha - 1))`` (Shannon's for alpha = 1: the
    softmax loss; alpha = 2 gives the sparsemax loss).

    Computed, in the frame shifted by max(z), as the equal sum of per-entry terms that are
    each >= 0 (a Bregman divergence between q_i and p_i, plus a hinge for the entries of
    the target outside the support), so it is >= 0 as computed and exactly 0 when
    entmax(z, alpha) == q. A -inf score the target gives mass makes it +inf.
    {target}
    alpha : float or array_like
        As in :func:`entmax`: one number >= 1, or one per row.
    method : str
        The entmax method for the forward pass (``"auto"`` or one of ``ENTMAX_METHODS``).

    Returns
    -------
    ndarray
        One loss per row: z's shape without ``axis``, in z's result dtype.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> z = np.array([[1.0, 0.5, -1.0], [5.0, 0.0, 0.0]])
    >>> sparsetools.entmax_loss(z, np.array([1, 0]), alpha=1.5)
    array([0.68437138, 0.        ])
    """
    if _dask.lazy(z, target, alpha):
        return _dask.call(entmax_loss, locals())
    return _run("entmax", z, target, axis, method, False, param=_param(alpha))[0]


def entmax_loss_grad(z, target, alpha=1.5, axis=-1, *, method="auto", out=None):
    """Gradient of :func:`entmax_loss` with respect to z: ``entmax(z, alpha) - q``;
    ``out=`` (z's shape, a floating dtype) receives it, written only if the inputs are
    accepted."""
    if _dask.lazy(z, target, alpha):
        return _dask.call(entmax_loss_grad, locals())
    return _run("entmax", z, target, axis, method, True, out, _param(alpha))[1]


def entmax_loss_and_grad(z, target, alpha=1.5, axis=-1, *, method="auto", out=None):
    """``(entmax_loss(z, target, alpha), entmax_loss_grad(z, target, alpha))`` from one
    pass over each row; ``out=`` receives the gradient.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> loss, grad = sparsetools.entmax_loss_and_grad(np.array([1.0, 0.5, -1.0]), 0, alpha=1.5)
    >>> round(float(loss), 6), grad
    (0.184371, array([-0.32600736,  0.32600736,  0.        ]))
    """
    if _dask.lazy(z, target, alpha):
        return _dask.call(entmax_loss_and_grad, locals())
    return _run("entmax", z, target, axis, method, True, out, _param(alpha))


entmax.__doc__ = entmax.__doc__.replace(
    "{methods}", ", ".join(f"``{m!r}``" for m in ENTMAX.names).replace("'", '"'))
entmax_loss.__doc__ = entmax_loss.__doc__.replace("{target}", _TARGET_DOC.strip("\n"))
