"""Public projections beyond the unit simplex (the simplex of radius r, the l1 ball, the
k-sparse simplex), their Jacobian products, and the binary sparse functions
(``sparse_sigmoid``, ``sparse_plus``, the binary sparsemax loss)."""

import numpy as np

from . import _batched, _dask
from ._contract import Rows, as_array, element_index, in_all, pair, per_row
from ._core import forward
from ._derivs import _product
from .maps import MAPS

SIMPLEX, L1_BALL, SPARSE = MAPS["simplex"], MAPS["l1_ball"], MAPS["sparse_simplex"]
CAPPED = MAPS["capped_simplex"]


def _per_row(value, rows, name, what, integer=False):
    """``value`` (a number, or one per row broadcast from the batch shape) as a float64
    array of one or of one per row; checked here, before anything is computed: finite and
    > 0 (``integer``: an integer >= 1). The errors name the first bad row."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, not a bool")
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {what} or an array of them, not dtype {a.dtype}")
    if integer and a.dtype.kind == "f":
        raise TypeError(f"{name} must be {what} or an array of them, not dtype {a.dtype}")
    a = a.astype(np.float64)
    arr = per_row(a, rows, name)
    bad = np.flatnonzero(~(arr >= 1.0 if integer else arr > 0.0) | (arr == np.inf))
    if bad.size:
        r = int(bad[0])
        where = "" if a.ndim == 0 else f" in {rows.row_label(r)} ({bad.size} bad {in_all()})"
        raise ValueError(f"{name} is {float(arr[r])!r}{where}; it must be {what}")
    return arr


_RADIUS = "a positive finite number"


def _project(map_, z, axis, method, out, param_of):
    rows = Rows(z, axis, out=out)
    par = param_of(rows)
    out2d = None if out is None else rows.rows_of(out)
    if out2d is None:
        return rows.deliver(forward(rows, method, "rows", map_, par)[0])
    _, shift, thresh, _ = forward(rows, method, "none", map_, par)  # every row first
    _batched.apply_rows(rows.z2d, shift, thresh, out2d, par, literal=map_.code)
    return out


def _sparse_param(k, radius, rows):
    """The sparse simplex's parameter: (k, r, v, c) for every row (v and c are written by
    each row's pass)."""
    ks = _per_row(k, rows, "k", "an integer >= 1", integer=True)
    rs = _per_row(radius, rows, "radius", _RADIUS)
    R = int(np.prod(rows.batch_shape, dtype=np.int64))
    par = np.zeros((max(R, 1), 4))
    par[:, 0] = ks
    par[:, 1] = rs
    return par


def _capped_checked(budget, upper, rows, check_budget=True):
    """``(budgets, caps)``: float64 arrays of one or of one per row, checked (finite and
    > 0, and with ``check_budget`` b <= n u: an empty set is an error naming the row)."""
    bs = _per_row(budget, rows, "budget", _RADIUS)
    us = _per_row(upper, rows, "upper", _RADIUS)
    if check_budget:
        # (b = n u to rounding is the set of one point, every entry at the cap)
        over = np.flatnonzero(np.broadcast_to(bs > rows.n * us * (1 + 8 * np.finfo(float).eps),
                                              np.broadcast_shapes(bs.shape, us.shape)))
        if over.size:
            r = int(over[0])
            b, u = float(bs[r if bs.size > 1 else 0]), float(us[r if us.size > 1 else 0])
            where = "" if max(bs.size, us.size) == 1 else f" in {rows.row_label(r)} ({over.size} bad {in_all()})"
            raise ValueError(f"budget {b!r} is more than n * upper = {rows.n} * {u!r}{where}: the capped "
                             f"simplex {{0 <= p <= upper, sum p = budget}} of {rows.n} entries is empty")
    return bs, us


def _capped_param(budget, upper, rows, check_budget=True):
    """The capped simplex's parameter: (b / u, u, L) for every row (L, a lower bound of the
    row's threshold, is written by each row's pass)."""
    bs, us = _capped_checked(budget, upper, rows, check_budget)
    par = np.empty((max(int(np.prod(rows.batch_shape, dtype=np.int64)), 1), 3))
    par[:, 1] = us
    par[:, 0] = bs / par[:, 1]
    par[:, 2] = -np.inf
    return par


_COMMON = """
    z : array_like
        Any shape; the input contract of :func:`sparsemax` (float64 and float32 in their
        own precision, ``-inf`` masked: that entry gets 0).
    axis : int
        The axis the rows run along.
    method : str
        The threshold method: ``"auto"`` or one of ``sparsetools.METHODS`` (the scaled rows
        are sparsemax's, so every method applies).
    out : ndarray, optional
        Where to write the result (z's shape, a floating dtype); nothing is written if an
        input is rejected."""


def project_simplex(z, radius=1.0, axis=-1, *, method="auto", out=None):
    """The Euclidean projection of each row onto the simplex of radius r,
    ``{p >= 0, sum p = r}``: ``max(z - tau, 0)`` with tau such that the row sums to r.

    Exact: the threshold of ``(z - max z) / r`` is sparsemax's, found by the same methods,
    and ``project_simplex(z, 1) == sparsemax(z)`` bit for bit.

    Parameters
    ----------
    radius : float or array_like
        r > 0 and finite: one number, or one per row (broadcast from z's shape without
        ``axis``).{common}

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.project_simplex(np.array([3.0, 1.0, -0.5]), radius=2.0)
    array([2., 0., 0.])
    >>> sparsetools.project_simplex(np.array([3.0, 1.0, 0.2]), radius=4.0)
    array([2.93333333, 0.93333333, 0.13333333])
    """
    if _dask.lazy(z, radius):
        return _dask.call(project_simplex, locals())
    return _project(SIMPLEX, z, axis, method, out, lambda rows: _per_row(radius, rows, "radius", _RADIUS))


def project_l1_ball(z, radius=1.0, axis=-1, *, method="auto", out=None):
    """The Euclidean projection of each row onto the l1 ball of radius r,
    ``{x : sum |x| <= r}``: the row itself when it is inside (returned bit for bit), else
    ``sign(z) * project_simplex(|z|, r)``.

    Parameters
    ----------
    radius : float or array_like
        r > 0 and finite, one number or one per row.{common}

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.project_l1_ball(np.array([[0.2, -0.3], [2.0, -1.0]]))
    array([[ 0.2, -0.3],
           [ 1. , -0. ]])
    """
    if _dask.lazy(z, radius):
        return _dask.call(project_l1_ball, locals())
    return _project(L1_BALL, z, axis, method, out, lambda rows: _per_row(radius, rows, "radius", _RADIUS))


def project_sparse_simplex(z, k, radius=1.0, axis=-1, *, method="auto", out=None):
    """The Euclidean projection of each row onto the simplex of radius r with at most k
    non-zero entries (Kyrillidis et al. 2013): :func:`project_simplex` of the row's k
    largest entries, 0 elsewhere. Among entries equal to the k-th largest value, the lowest
    indices are the chosen ones. k >= n is :func:`project_simplex`.

    Parameters
    ----------
    k : int or array_like of int
        The most non-zeros a row may have, >= 1; one number or one per row.
    radius : float or array_like
        r > 0 and finite, one number or one per row.{common}

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.project_sparse_simplex(np.array([0.5, 0.4, 0.3, -1.0]), k=2)
    array([0.55, 0.45, 0.  , 0.  ])
    """
    if _dask.lazy(z, k, radius):
        return _dask.call(project_sparse_simplex, locals())
    return _project(SPARSE, z, axis, method, out, lambda rows: _sparse_param(k, radius, rows))


def project_capped_simplex(z, budget, upper=1.0, axis=-1, *, method="auto", out=None):
    """The Euclidean projection of each row onto the capped simplex
    ``{0 <= p <= u, sum p = b}`` (a budget b spread with no entry above u; for u = 1 and
    integer b, the convex hull of the b-hot vectors): ``clip(z - tau, 0, u)`` with tau such
    that the row sums to b. Exact: tau is found on the linear piece of
    ``sum clip(z - tau, 0, u)`` that holds it, and computed from its capped and free
    entries.

    Parameters
    ----------
    budget : float or array_like
        b, with 0 < b <= n u; one number or one per row. A larger one is an error naming
        the row (the set is empty).
    upper : float or array_like
        The cap u > 0, one number or one per row.{common}

    ``method`` here is ``"auto"`` (``"newton"``), ``"newton"`` or ``"bisect"``.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.project_capped_simplex(np.array([3.0, 1.2, 1.0, -1.0]), budget=2.0)
    array([1. , 0.6, 0.4, 0. ])
    """
    if _dask.lazy(z, budget, upper):
        return _dask.call(project_capped_simplex, locals())
    return _project(CAPPED, z, axis, method, out, lambda rows: _capped_param(budget, upper, rows))


_JVP = """
    Parameters
    ----------
    p : array_like
        The projection's output (the map is differentiated where it was evaluated).
    {vname} : array_like
        The vector, of p's shape.
    {params}
    axis : int
        The axis the rows run along.
    out : ndarray, optional
        Where to write the result (p's shape).

    Returns
    -------
    ndarray
        p's shape. The Jacobian is symmetric, so the JVP and the VJP are the same product."""


def project_simplex_jvp(p, v, radius=1.0, axis=-1, *, out=None):
    """``J v`` for the simplex projection at its output p: ``s * (v - mean_s(v))`` on p's
    support s (the free set), whatever the radius.
    {doc}
    """
    if _dask.lazy(p, v, radius):
        return _dask.call(project_simplex_jvp, locals())
    return _product(p, v, axis, out, "v", SIMPLEX, lambda rows: _per_row(radius, rows, "radius", _RADIUS))


def project_simplex_vjp(p, g, radius=1.0, axis=-1, *, out=None):
    """``g J`` for the simplex projection at its output p (J is symmetric: the JVP).
    {doc}
    """
    if _dask.lazy(p, g, radius):
        return _dask.call(project_simplex_vjp, locals())
    return _product(p, g, axis, out, "g", SIMPLEX, lambda rows: _per_row(radius, rows, "radius", _RADIUS))


def project_l1_ball_jvp(p, v, radius=1.0, axis=-1, *, out=None):
    """``J v`` for the l1-ball projection at its output p: ``v`` where p is inside the ball
    (sum |p| < r, beyond a float32 projection's rounding), else ``D J D v`` on the sphere,
    D = diag(sign p) and J the simplex's at |p|.
    {doc}
    """
    if _dask.lazy(p, v, radius):
        return _dask.call(project_l1_ball_jvp, locals())
    return _signed_product(p, v, radius, axis, out, "v")


def project_l1_ball_vjp(p, g, radius=1.0, axis=-1, *, out=None):
    """``g J`` for the l1-ball projection at its output p (J is symmetric: the JVP).
    {doc}
    """
    if _dask.lazy(p, g, radius):
        return _dask.call(project_l1_ball_vjp, locals())
    return _signed_product(p, g, radius, axis, out, "g")


def _signed_product(p, v, radius, axis, out, vname):
    prow, vrow = pair(p, v, axis, ("p", vname), out=out)
    par = _per_row(radius, prow, "radius", _RADIUS)
    (res,) = prow.run(_batched.jvp_rows, (prow.z2d, vrow.z2d), ("rows",), (par,), L1_BALL.code, other=vname)
    return prow.deliver(res)


def project_sparse_simplex_jvp(p, v, k, radius=1.0, axis=-1, *, out=None):
    """``J v`` for the sparse-simplex projection at its output p: the simplex's on p's
    support (the chosen entries the projection keeps).
    {doc}
    """
    if _dask.lazy(p, v, k, radius):
        return _dask.call(project_sparse_simplex_jvp, locals())
    return _product(p, v, axis, out, "v", SPARSE, lambda rows: _sparse_param(k, radius, rows))


def project_sparse_simplex_vjp(p, g, k, radius=1.0, axis=-1, *, out=None):
    """``g J`` for the sparse-simplex projection at its output p (J is symmetric).
    {doc}
    """
    if _dask.lazy(p, g, k, radius):
        return _dask.call(project_sparse_simplex_vjp, locals())
    return _product(p, g, axis, out, "g", SPARSE, lambda rows: _sparse_param(k, radius, rows))


def project_capped_simplex_jvp(p, v, budget, upper=1.0, axis=-1, *, out=None):
    """``J v`` for the capped-simplex projection at its output p, on its free set
    F = {0 < p < u}: ``1_F * (v - mean_F(v))`` (0 where no entry is free).
    {doc}
    """
    if _dask.lazy(p, v, budget, upper):
        return _dask.call(project_capped_simplex_jvp, locals())
    return _product(p, v, axis, out, "v", CAPPED, lambda rows: _capped_param(budget, upper, rows, False))


def project_capped_simplex_vjp(p, g, budget, upper=1.0, axis=-1, *, out=None):
    """``g J`` for the capped-simplex projection at its output p (J is symmetric).
    {doc}
    """
    if _dask.lazy(p, g, budget, upper):
        return _dask.call(project_capped_simplex_vjp, locals())
    return _product(p, g, axis, out, "g", CAPPED, lambda rows: _capped_param(budget, upper, rows, False))


for _f in (project_simplex, project_l1_ball, project_sparse_simplex, project_capped_simplex):
    _f.__doc__ = _f.__doc__.replace("{common}", _COMMON)
for _f, _v, _params in (
        (project_simplex_jvp, "v", "radius : float or array_like\n        The radius (J does not depend on it)."),
        (project_simplex_vjp, "g", "radius : float or array_like\n        The radius (J does not depend on it)."),
        (project_l1_ball_jvp, "v", "radius : float or array_like\n        The ball's radius, one or one per row."),
        (project_l1_ball_vjp, "g", "radius : float or array_like\n        The ball's radius, one or one per row."),
        (project_sparse_simplex_jvp, "v", "k, radius\n        The projection's k and radius."),
        (project_sparse_simplex_vjp, "g", "k, radius\n        The projection's k and radius."),
        (project_capped_simplex_jvp, "v", "budget, upper\n        The projection's budget and cap (J reads the cap)."),
        (project_capped_simplex_vjp, "g", "budget, upper\n        The projection's budget and cap (J reads the cap).")):
    _f.__doc__ = _f.__doc__.replace("{doc}", _JVP.format(vname=_v, params=_params))


# ---------------------------------------------------------------------------------------
# The binary sparse functions: sparsemax of the pair [x, 0]


def _elementwise(x, name):
    """``(array in its compute dtype, result dtype)`` of an element-wise input, checked: no
    NaN and no infinity (the message names the first bad entry's index)."""
    a = as_array(x, name)[0]
    kind = a.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{name} has dtype {a.dtype}; it must be real numbers")
    if kind == "f" and a.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"{name} has dtype {a.dtype}, which sparsetools does not compute in")
    result = a.dtype if kind == "f" else np.dtype(np.float64)
    compute = np.float32 if result == np.float16 else result
    a = a.astype(compute, copy=False)
    finite = np.isfinite(a)
    if not finite.all():
        idx = np.unravel_index(int(np.flatnonzero(~finite.reshape(-1))[0]), a.shape)
        what = "NaN" if np.isnan(a[idx]) else "an infinity"
        where = "" if a.ndim == 0 else f" at index {element_index(idx)}"
        raise ValueError(f"{name} contains {what}{where}")
    return a, result


def sparse_sigmoid(x):
    """The sparse sigmoid ``clip((x + 1) / 2, 0, 1)``: sparsemax of the pair [x, 0]'s first
    entry, exactly 0 for x <= -1 and 1 for x >= 1. Element-wise, any shape.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparse_sigmoid(np.array([-2.0, -0.5, 0.0, 0.5, 3.0]))
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    if _dask.lazy(x):
        return _dask.elementwise(sparse_sigmoid, x)
    a, dt = _elementwise(x, "x")
    return np.clip((a + 1) / 2, 0, 1).astype(dt, copy=False)


def sparse_plus(x):
    """The sparse plus: 0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 in between, a smooth
    relu whose derivative is :func:`sparse_sigmoid`. Element-wise, any shape.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparse_plus(np.array([-2.0, 0.0, 1.0, 3.0]))
    array([0.  , 0.25, 1.  , 3.  ])
    """
    if _dask.lazy(x):
        return _dask.elementwise(sparse_plus, x)
    a, dt = _elementwise(x, "x")
    mid = (a + 1) ** 2 / 4
    return np.where(a <= -1, 0, np.where(a >= 1, a, mid)).astype(dt, copy=False)


def _labels(labels, x):
    t, _ = _elementwise(labels, "labels")
    try:
        shape = np.broadcast_shapes(np.shape(t), x.shape)
    except ValueError:
        raise ValueError(f"labels have shape {np.shape(t)}, which does not broadcast with x's "
                         f"{x.shape}") from None
    bad = (t < 0) | (t > 1)
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), t.shape)
        where = "" if t.ndim == 0 else f" at index {element_index(idx)}"
        raise ValueError(f"labels has {float(t[idx])!r}{where}; a label is in [0, 1]")
    return t, shape


def sparsemax_binary_loss(x, labels):
    """The binary sparsemax loss: the Fenchel-Young loss of the two-class sparsemax,
    ``sparse_plus(x) - labels * x - labels * (1 - labels)``, for labels (soft ones too) in
    [0, 1] broadcast with x. It is >= 0, and 0 exactly where ``sparse_sigmoid(x) ==
    labels``; for 0/1 labels it is the sparsemax loss of the pair [x, 0] (optax's
    ``sparsemax_loss``). Its gradient in x is :func:`sparsemax_binary_loss_grad`.

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparsemax_binary_loss(np.array([-2.0, 0.0, 2.0]), np.array([0.0, 0.5, 1.0]))
    array([0., 0., 0.])
    """
    if _dask.lazy(x, labels):
        return _dask.elementwise(sparsemax_binary_loss, x, labels)
    a, dt = _elementwise(x, "x")
    t, _ = _labels(labels, a)
    # the cancellation-free form: (p - t)^2 for the margin's ramp, |x| beyond it
    p = np.clip((a + 1) / 2, 0, 1)
    loss = np.where(a <= -1, -t * (a + 1) + t * t, np.where(a >= 1, (1 - t) * (a - 1) + (1 - t) ** 2, (p - t) ** 2))
    return np.maximum(loss, 0).astype(dt, copy=False)


def sparsemax_binary_loss_grad(x, labels):
    """The gradient of :func:`sparsemax_binary_loss` in x: ``sparse_sigmoid(x) - labels``
    (x's shape broadcast with the labels').

    Examples
    --------
    >>> import numpy as np, sparsetools
    >>> sparsetools.sparsemax_binary_loss_grad(np.array([-2.0, 0.0, 2.0]), 1.0)
    array([-1. , -0.5,  0. ])
    """
    if _dask.lazy(x, labels):
        return _dask.elementwise(sparsemax_binary_loss_grad, x, labels)
    a, dt = _elementwise(x, "x")
    t, _ = _labels(labels, a)
    return (np.clip((a + 1) / 2, 0, 1) - t).astype(dt, copy=False)
