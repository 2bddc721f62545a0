"""sparsemax, alpha-entmax and the projections for JAX: ``jax.custom_vjp`` functions over
sparsetools' CPU kernels.

``sparsemax(x, axis=-1)`` and ``sparsemax_loss(z, target, axis=-1)`` work under ``jit``,
``grad`` and ``vmap``: the forward pass and the VJP run the toolkit's kernels through
``jax.pure_callback`` on the host (a device array is copied to the host and back), and
``vmap`` hands the callback the whole batch at once (``vmap_method="broadcast_all"``; the
rows' axis is counted from the end, so added batch axes do not move it). The backward pass
is the toolkit's VJP kernel, never autodiff through a sort.

float16 and bfloat16 are computed in float32 and returned in their own dtype. Bad input
raises the toolkit's error: at once for shapes, dtypes and axes (they are known when the
function is traced), and from the callback for values (NaN, +inf, a label out of range),
where JAX reports it as its runtime error with the toolkit's message inside.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from numpy.lib.array_utils import normalize_axis_index

import sparsetools as _st

__all__ = ["entmax", "entmax15", "entmax_loss", "project_capped_simplex", "project_l1_ball", "project_simplex",
           "project_sparse_simplex", "sparsemax", "sparsemax_loss"]

_NATIVE = (np.dtype(np.float32), np.dtype(np.float64))


def _from_end(axis, ndim, name="x"):
    """``axis`` as a negative index (checked now, at trace time)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, not {type(axis).__name__}")
    if ndim == 0:
        raise np.exceptions.AxisError(f"{name} is 0-d: sparsemax needs at least one axis")
    return normalize_axis_index(int(axis), ndim) - ndim


def _check_scores(x, name="x"):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name} has dtype {x.dtype}; sparsemax needs a floating array "
                        f"(float64, float32, float16 or bfloat16)")
    return x


def _compute(a):
    """A host array in a dtype the kernels compute in."""
    a = np.asarray(a)
    return a if a.dtype in _NATIVE else a.astype(np.float32)


def _call(fn, shapes, *args):
    return jax.pure_callback(fn, shapes, *args, vmap_method="broadcast_all")


def _host_sparsemax(x, axis):
    x = np.asarray(x)
    return _st.sparsemax(_compute(x), axis=axis).astype(x.dtype, copy=False)


def _host_vjp(p, g, axis):
    p = np.asarray(p)
    return _st.sparsemax_vjp(_compute(p), _compute(g), axis=axis).astype(p.dtype, copy=False)


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def _sparsemax(x, axis):
    return _call(partial(_host_sparsemax, axis=axis), jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _sparsemax_fwd(x, axis):
    p = _sparsemax(x, axis)
    return p, p


def _sparsemax_bwd(axis, p, g):
    return (_call(partial(_host_vjp, axis=axis), jax.ShapeDtypeStruct(p.shape, p.dtype), p, g),)


_sparsemax.defvjp(_sparsemax_fwd, _sparsemax_bwd)


def sparsemax(x, axis=-1):
    """sparsemax along ``axis``: the Euclidean projection of each row onto the probability
    simplex (Martins & Astudillo 2016); differentiable, with the toolkit's VJP.

    >>> import jax.numpy as jnp, sparsetools.jax as sj
    >>> sj.sparsemax(jnp.array([1.0, 0.8, -1.0]))
    Array([0.6, 0.4, 0. ], dtype=float32)
    """
    x = _check_scores(x)
    return _sparsemax(x, _from_end(axis, x.ndim))


def _host_loss(z, target, axis):
    z = np.asarray(z)
    target = np.asarray(target)
    if target.dtype.kind == "f":
        target = _compute(target)
    loss, grad = _st.sparsemax_loss_and_grad(_compute(z), target, axis=axis)
    return np.asarray(loss).astype(z.dtype, copy=False), grad.astype(z.dtype, copy=False)


def _loss_shapes(z, axis):
    batch = z.shape[:z.ndim + axis] + z.shape[z.ndim + axis + 1:]
    return jax.ShapeDtypeStruct(batch, z.dtype), jax.ShapeDtypeStruct(z.shape, z.dtype)


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _loss(z, target, axis):
    return _call(partial(_host_loss, axis=axis), _loss_shapes(z, axis), z, target)[0]


def _loss_fwd(z, target, axis):
    loss, grad = _call(partial(_host_loss, axis=axis), _loss_shapes(z, axis), z, target)
    return loss, (grad, target)


def _loss_bwd(axis, res, g):
    grad, target = res
    dtarget = None if not jnp.issubdtype(target.dtype, jnp.floating) else jnp.zeros_like(target)
    return jnp.expand_dims(g, axis) * grad, dtarget


_loss.defvjp(_loss_fwd, _loss_bwd)


def _loss_args(z, target, axis):
    """``(z, target, axis from the end)`` of a loss, checked at trace time: floating scores,
    a target of labels (z's shape without axis) or of z's shape (a distribution, cast to
    z's dtype)."""
    z = _check_scores(z, "z")
    target = jnp.asarray(target)
    ax = _from_end(axis, z.ndim, "z")
    batch = z.shape[:z.ndim + ax] + z.shape[z.ndim + ax + 1:]
    if target.shape not in (batch, z.shape):
        raise ValueError(f"target has shape {target.shape}; it must be integer class labels of shape "
                         f"{batch} (z's shape without axis {axis}) or a target distribution of z's "
                         f"shape {z.shape}")
    if target.shape == z.shape and jnp.issubdtype(target.dtype, jnp.floating):
        target = target.astype(z.dtype)
    return z, target, ax


def sparsemax_loss(z, target, axis=-1):
    """The sparsemax loss of each row of ``z`` (rows along ``axis``) against ``target``:
    integer class labels (``z``'s shape without ``axis``) or a target distribution of
    ``z``'s shape. One loss per row; its gradient with respect to ``z`` is
    sparsemax(z) - q, from the same pass (the target gets no gradient).

    >>> import jax.numpy as jnp, sparsetools.jax as sj
    >>> sj.sparsemax_loss(jnp.array([[0.5, 0.0]]), jnp.array([0]))
    Array([0.0625], dtype=float32)
    """
    z, target, ax = _loss_args(z, target, axis)
    return _loss(z, target, ax)


# ---------------------------------------------------------------------------------------
# alpha-entmax, alpha a Python number (static: a new alpha traces anew)


def _static_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a Python number here (it is static under jit), not {type(alpha).__name__}; "
                        f"for one alpha per row or a learned alpha, use sparsetools.entmax and "
                        f"sparsetools.entmax_dalpha, or sparsetools.torch")
    alpha = float(alpha)
    if not 1.0 <= alpha < np.inf:
        raise ValueError(f"alpha is {alpha!r}; entmax needs alpha >= 1 (alpha = 1 is softmax, alpha = 2 "
                         f"sparsemax)")
    return alpha


def _host_entmax(x, alpha, axis):
    x = np.asarray(x)
    return _st.entmax(_compute(x), alpha, axis=axis).astype(x.dtype, copy=False)


def _host_entmax_vjp(p, g, alpha, axis):
    p = np.asarray(p)
    return _st.entmax_vjp(_compute(p), _compute(g), alpha, axis=axis).astype(p.dtype, copy=False)


@partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _entmax(x, alpha, axis):
    return _call(partial(_host_entmax, alpha=alpha, axis=axis), jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _entmax_fwd(x, alpha, axis):
    p = _entmax(x, alpha, axis)
    return p, p


def _entmax_bwd(alpha, axis, p, g):
    return (_call(partial(_host_entmax_vjp, alpha=alpha, axis=axis), jax.ShapeDtypeStruct(p.shape, p.dtype),
                  p, g),)


_entmax.defvjp(_entmax_fwd, _entmax_bwd)


def entmax(x, alpha=1.5, axis=-1):
    """alpha-entmax along ``axis`` (``sparsetools.entmax``), differentiable in x with the
    toolkit's VJP; ``alpha`` is a Python number (static under ``jit``).

    >>> import jax.numpy as jnp, sparsetools.jax as sj
    >>> sj.entmax(jnp.array([1.0, 0.5, -1.0]), 1.5)
    Array([0.67399263, 0.32600737, 0.        ], dtype=float32)
    """
    x = _check_scores(x)
    return _entmax(x, _static_alpha(alpha), _from_end(axis, x.ndim))


def entmax15(x, axis=-1):
    """1.5-entmax along ``axis``: ``entmax(x, 1.5, axis)``."""
    return entmax(x, 1.5, axis)


def _host_entmax_loss(z, target, alpha, axis):
    z = np.asarray(z)
    target = np.asarray(target)
    if target.dtype.kind == "f":
        target = _compute(target)
    loss, grad = _st.entmax_loss_and_grad(_compute(z), target, alpha, axis=axis)
    return np.asarray(loss).astype(z.dtype, copy=False), grad.astype(z.dtype, copy=False)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _entmax_loss(z, target, alpha, axis):
    return _call(partial(_host_entmax_loss, alpha=alpha, axis=axis), _loss_shapes(z, axis), z, target)[0]


def _entmax_loss_fwd(z, target, alpha, axis):
    loss, grad = _call(partial(_host_entmax_loss, alpha=alpha, axis=axis), _loss_shapes(z, axis), z, target)
    return loss, (grad, target)


def _entmax_loss_bwd(alpha, axis, res, g):
    return _loss_bwd(axis, res, g)


_entmax_loss.defvjp(_entmax_loss_fwd, _entmax_loss_bwd)


def entmax_loss(z, target, alpha=1.5, axis=-1):
    """The entmax loss of each row (``sparsetools.entmax_loss``), labels or distributions as
    :func:`sparsemax_loss`; its gradient in z is entmax(z) - q, from the same pass.

    >>> import jax.numpy as jnp, sparsetools.jax as sj
    >>> sj.entmax_loss(jnp.array([[1.0, 0.5, -1.0]]), jnp.array([0]), 1.5)
    Array([0.18437138], dtype=float32)
    """
    z, target, ax = _loss_args(z, target, axis)
    return _entmax_loss(z, target, _static_alpha(alpha), ax)


# ---------------------------------------------------------------------------------------
# the projections, their parameters Python numbers (static: new ones trace anew)

_PROJECTIONS = {"simplex": ("radius",), "l1_ball": ("radius",), "capped_simplex": ("budget", "upper"),
                "sparse_simplex": ("k", "radius")}


def _host_project(x, name, params, axis):
    x = np.asarray(x)
    return getattr(_st, f"project_{name}")(_compute(x), *params, axis=axis).astype(x.dtype, copy=False)


def _host_project_vjp(p, g, name, params, axis):
    p = np.asarray(p)
    fn = getattr(_st, f"project_{name}_vjp")
    return fn(_compute(p), _compute(g), *params, axis=axis).astype(p.dtype, copy=False)


@partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _project(x, name, params, axis):
    return _call(partial(_host_project, name=name, params=params, axis=axis),
                 jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _project_fwd(x, name, params, axis):
    p = _project(x, name, params, axis)
    return p, p


def _project_bwd(name, params, axis, p, g):
    return (_call(partial(_host_project_vjp, name=name, params=params, axis=axis),
                  jax.ShapeDtypeStruct(p.shape, p.dtype), p, g),)


_project.defvjp(_project_fwd, _project_bwd)


def _projection(x, name, values, axis):
    """A projection of ``x`` with its parameters checked now, at trace time, on one row of
    x's length (the toolkit's errors: a radius <= 0, a budget above n u, a k < 1)."""
    x = _check_scores(x)
    ax = _from_end(axis, x.ndim)
    params = []
    for pname, v in zip(_PROJECTIONS[name], values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{pname} must be a Python number here (it is static under jit), not "
                            f"{type(v).__name__}; for one per row, use sparsetools.{'project_' + name} or "
                            f"sparsetools.torch")
        params.append(int(v) if pname == "k" and float(v).is_integer() else (v if pname == "k" else float(v)))
    getattr(_st, f"project_{name}")(np.zeros(x.shape[ax]), *params)  # raises the toolkit's error
    return _project(x, name, tuple(params), ax)


def project_simplex(x, radius=1.0, axis=-1):
    """The projection of each row onto the simplex of radius r (``sparsetools.project_simplex``),
    differentiable in x with the toolkit's VJP; ``radius`` is a Python number (static).

    >>> import jax.numpy as jnp, sparsetools.jax as sj
    >>> sj.project_simplex(jnp.array([3.0, 1.0, -0.5]), 2.0)
    Array([2., 0., 0.], dtype=float32)
    """
    return _projection(x, "simplex", (radius,), axis)


def project_l1_ball(x, radius=1.0, axis=-1):
    """The projection of each row onto the l1 ball of radius r (``sparsetools.project_l1_ball``)."""
    return _projection(x, "l1_ball", (radius,), axis)


def project_capped_simplex(x, budget, upper=1.0, axis=-1):
    """The projection of each row onto {0 <= p <= upper, sum p = budget}
    (``sparsetools.project_capped_simplex``)."""
    return _projection(x, "capped_simplex", (budget, upper), axis)


def project_sparse_simplex(x, k, radius=1.0, axis=-1):
    """The projection of each row onto the simplex of radius r with at most k non-zeros
    (``sparsetools.project_sparse_simplex``)."""
    return _projection(x, "sparse_simplex", (k, radius), axis)
