"""Public losses: the sparsemax loss and the softmax loss (KL / negative log-likelihood),
each with its gradient and a fused loss-and-gradient (Martins & Astudillo 2016, eq. 8, and its multi-label form).

The target is integer class labels (z's shape without ``axis``) or a target distribution
(z's shape, rows on the simplex); see ``_contract.Target``.
"""

from . import _batched, _dask
from ._contract import Rows, Target
from ._core import NO_PARAM
from .maps import MAPS


def _run(kind, z, target, axis, method, write_grad, out=None, param=None):
    """Loss (batch shape) and, when ``write_grad``, gradient (z's shape) of one loss: the
    Fenchel-Young loss of the map ``kind`` (a name of ``maps.MAPS``) or, for
    ``"softmax"``, the softmax loss. ``param(rows)`` gives the map's parameter."""
    rows = Rows(z, axis, out=out)
    par = NO_PARAM if param is None else param(rows)
    tgt = Target(target, rows)
    inputs = (rows.z2d, tgt.labels if tgt.labels is not None else tgt.q2d, tgt.tol)
    outputs = ("float64", "rows" if write_grad else "none")
    if kind in MAPS:
        code = MAPS[kind].resolve(method, rows.n, rows.z2d.dtype).code
        loss, grad = rows.run(_batched.loss_rows, inputs, outputs, (write_grad, par), code, target=tgt)
    else:
        loss, grad = rows.run(_batched.softmax_loss_rows, inputs, outputs, (write_grad,), target=tgt)
    loss = rows.batch(loss, rows.dtype)
    return loss, (rows.deliver(grad) if write_grad else None)


_TARGET_DOC = """
    Parameters
    ----------
    z : array_like
        Scores, any shape; the input contract of :func:`sparsemax` (-inf entries are masked).
    target : array_like
        Either integer class labels, of z's shape without ``axis`` (one gold class per
        row, in [0, n)), or a target distribution q of z's shape whose rows are >= 0 and
        sum to 1 (the multi-label case: q = y / y.sum() for a 0/1 label vector y). Each
        row's sum is computed accurately and must be 1 to within the rounding of a
        distribution normalised in q's dtype: every row that ``np.sum`` puts within
        2 (sqrt(n) + 2) eps of 1 is accepted.
    axis : int
        The axis the rows run along."""


def sparsemax_loss(z, target, axis=-1, *, method="auto"):
    """The sparsemax loss (Martins & Astudillo 2016, eq. 8, and its multi-label form).

    ``L(z; q) = -q.z + 1/2 sum_{j in S} (z_j^2 - tau^2) + 1/2 ||q||^2``, with S and tau
    those of ``sparsemax(z)``. It is computed as the equal, cancellation-free
    ``1/2 ||p - q||^2 + sum_i q_i max(tau - z_i, 0)`` with p = sparsemax(z), in the frame
    shifted by max(z), so it is >= 0 as computed, exactly 0 when ``sparsemax(z) == q``,
    and right for scores near 1e8 in float32. A -inf score the target gives no mass adds
    nothing; one that it gives mass makes the loss +inf (the gradient stays finite).
    {target}
    method : str
        The sparsemax method for the forward pass (``"auto"`` or one of ``METHODS``).

    Returns
    -------
    ndarray
        One loss per row: z's shape without ``axis`` (0-d for a 1-D z), in z's result dtype.

    Raises
    ------
    ValueError
        Any input :func:`sparsemax` rejects; a label outside [0, n); a target of neither
        shape; a target distribution with NaN, inf or a negative entry, or a row that does
        not sum to 1. The message names the first offending row.
    TypeError
        Scores of a non-real dtype, or labels (z's shape without axis) that are not integers.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> z = np.array([[0.5, 0.0], [3.0, 0.0], [-2.0, 0.0]])
    >>> sparsetools.sparsemax_loss(z, np.array([0, 0, 0]))   # (1 - t)^2 / 4, 0, -t
    array([0.0625, 0.    , 2.    ])
    """
    if _dask.lazy(z, target):
        return _dask.call(sparsemax_loss, locals())
    return _run("sparsemax", z, target, axis, method, False)[0]


def sparsemax_loss_grad(z, target, axis=-1, *, method="auto", out=None):
    """Gradient of :func:`sparsemax_loss` with respect to z: ``sparsemax(z) - q``.

    Same arguments; ``out=`` (z's shape, a floating dtype) receives the gradient, written
    only if the inputs are accepted. Returns an array of z's shape in z's result dtype.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparsemax_loss_grad(np.array([0.5, 0.0]), 0)
    array([-0.25,  0.25])
    """
    if _dask.lazy(z, target):
        return _dask.call(sparsemax_loss_grad, locals())
    return _run("sparsemax", z, target, axis, method, True, out)[1]


def sparsemax_loss_and_grad(z, target, axis=-1, *, method="auto", out=None):
    """``(sparsemax_loss(z, target), sparsemax_loss_grad(z, target))`` from one pass over
    each row (the forward pass, the loss and the gradient fused): what an optimizer calls.

    Same arguments as :func:`sparsemax_loss_grad`; ``out=`` receives the gradient.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> z = np.array([1.0, 0.5, -1.0])
    >>> for step in range(3):                   # gradient descent on the scores
    ...     loss, grad = sparsetools.sparsemax_loss_and_grad(z, 2)
    ...     print(round(float(loss), 4), sparsetools.sparsemax(z))
    ...     z -= 1.0 * grad
    2.0625 [0.75 0.25 0.  ]
    0.5208 [0.41666667 0.41666667 0.16666667]
    0.0 [0. 0. 1.]
    """
    if _dask.lazy(z, target):
        return _dask.call(sparsemax_loss_and_grad, locals())
    return _run("sparsemax", z, target, axis, method, True, out)


def softmax_loss(z, target, axis=-1):
    """The softmax loss: ``KL(q || softmax(z))``, which for integer labels is the negative
    log-likelihood ``-log softmax(z)_label``.

    Computed with a stable log-sum-exp in the frame shifted by max(z):
    ``sum_i q_i (log q_i - z_i + max + log sum exp(z - max))`` over the entries with
    q_i > 0. It is 0 exactly when softmax(z) = q; a -inf score that the target gives mass
    makes it +inf. The same targets as :func:`sparsemax_loss`, so the two losses can be
    compared on equal terms.
    {target}

    Returns
    -------
    ndarray
        One loss per row: z's shape without ``axis``, in z's result dtype.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> float(sparsetools.softmax_loss(np.array([0.0, 0.0]), 1))   # log 2
    0.6931471805599453
    """
    if _dask.lazy(z, target):
        return _dask.call(softmax_loss, locals())
    return _run("softmax", z, target, axis, None, False)[0]


def softmax_loss_grad(z, target, axis=-1, *, out=None):
    """Gradient of :func:`softmax_loss` with respect to z: ``softmax(z) - q``; ``out=`` as
    in :func:`sparsemax_loss_grad`."""
    if _dask.lazy(z, target):
        return _dask.call(softmax_loss_grad, locals())
    return _run("softmax", z, target, axis, None, True, out)[1]


def softmax_loss_and_grad(z, target, axis=-1, *, out=None):
    """``(softmax_loss(z, target), softmax_loss_grad(z, target))`` from one pass per row."""
    if _dask.lazy(z, target):
        return _dask.call(softmax_loss_and_grad, locals())
    return _run("softmax", z, target, axis, None, True, out)


for _f in (sparsemax_loss, softmax_loss):
    _f.__doc__ = _f.__doc__.replace("{target}", _TARGET_DOC.strip("\n"))
del _f
