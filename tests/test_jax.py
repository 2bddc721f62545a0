"""sparsetools.jax: the JAX front-end under jit, grad and vmap, against the NumPy functions
and optax."""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="jax is in the test extra")

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import sparsetools  # noqa: E402
import sparsetools.jax as sj  # noqa: E402


def rows(rng, shape, scale=1.0):
    return jnp.asarray((scale * rng.standard_normal(shape)).astype(np.float32))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sparsemax_is_the_numpy_sparsemax_under_jit(rng, axis):
    x = rows(rng, (3, 5, 7))
    p = jax.jit(sj.sparsemax, static_argnums=1)(x, axis)
    assert p.dtype == x.dtype and p.shape == x.shape
    np.testing.assert_array_equal(np.asarray(p), sparsetools.sparsemax(np.asarray(x), axis=axis))


def test_vmap_over_any_axis(rng):
    x = rows(rng, (4, 6, 5))
    ref = sparsetools.sparsemax(np.asarray(x), axis=-1)
    np.testing.assert_array_equal(np.asarray(jax.vmap(sj.sparsemax)(x)), ref)
    np.testing.assert_array_equal(np.asarray(jax.vmap(sj.sparsemax, in_axes=1, out_axes=1)(x)), ref)
    ref0 = sparsetools.sparsemax(np.asarray(x), axis=1)  # the rows' axis counted without the batch
    np.testing.assert_array_equal(np.asarray(jax.vmap(lambda a: sj.sparsemax(a, axis=0))(x)), ref0)


def test_gradients_match_finite_differences(rng):
    with jax.enable_x64(True):
        x = jnp.asarray(2.0 * rng.standard_normal((3, 6)))
        check_grads(sj.sparsemax, (x,), order=1, modes=("rev",))
        labels = jnp.asarray([0, 5, 2])
        check_grads(lambda x: sj.sparsemax_loss(x, labels), (x,), order=1, modes=("rev",))
        g = jax.grad(lambda x: (sj.sparsemax(x) * jnp.arange(6.0)).sum())(x)
        p = sparsetools.sparsemax(np.asarray(x))
        np.testing.assert_allclose(np.asarray(g), sparsetools.sparsemax_vjp(p, np.tile(np.arange(6.0), (3, 1))))


def test_the_loss_under_jit_grad_and_vmap(rng):
    z = rows(rng, (5, 8))
    labels = jnp.asarray(rng.integers(0, 8, 5))
    L = jax.jit(sj.sparsemax_loss)(z, labels)
    np.testing.assert_array_equal(np.asarray(L), sparsetools.sparsemax_loss(np.asarray(z), np.asarray(labels)))
    np.testing.assert_array_equal(np.asarray(jax.vmap(sj.sparsemax_loss)(z, labels)), np.asarray(L))
    g = jax.jit(jax.grad(lambda z: sj.sparsemax_loss(z, labels).sum()))(z)
    np.testing.assert_array_equal(np.asarray(g),
                                  sparsetools.sparsemax_loss_grad(np.asarray(z), np.asarray(labels)))
    q = jax.nn.one_hot(labels, 8)
    np.testing.assert_allclose(np.asarray(sj.sparsemax_loss(z, q)), np.asarray(L), rtol=1e-6)


def test_equal_to_optax(rng):
    optax = pytest.importorskip("optax")
    x = rows(rng, (6, 20), 2.0)
    ref = jax.vmap(optax.projections.projection_simplex)(x)
    np.testing.assert_allclose(np.asarray(sj.sparsemax(x)), np.asarray(ref), atol=1e-6)
    labels = jnp.asarray(rng.integers(0, 20, 6))
    np.testing.assert_allclose(np.asarray(sj.sparsemax_loss(x, labels)),
                               np.asarray(optax.losses.multiclass_sparsemax_loss(x, labels)), rtol=1e-5, atol=1e-6)
    ours = jax.grad(lambda x: sj.sparsemax_loss(x, labels).sum())(x)
    theirs = jax.grad(lambda x: optax.losses.multiclass_sparsemax_loss(x, labels).sum())(x)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-6)


def test_bfloat16_is_computed_in_float32(rng):
    x = rows(rng, (3, 9)).astype(jnp.bfloat16)
    p = sj.sparsemax(x)
    assert p.dtype == jnp.bfloat16
    ref = sparsetools.sparsemax(np.asarray(x.astype(jnp.float32)))
    rounded = jnp.asarray(ref).astype(jnp.bfloat16).astype(jnp.float32)
    np.testing.assert_array_equal(np.asarray(p.astype(jnp.float32)), np.asarray(rounded))


def test_masks_give_zeros_and_finite_gradients(rng):
    x = rows(rng, (3, 6)).at[:, ::2].set(-jnp.inf)
    p = sj.sparsemax(x)
    assert (np.asarray(p)[:, ::2] == 0).all()
    g = jax.grad(lambda x: (sj.sparsemax(x) ** 2).sum())(x)
    assert np.isfinite(np.asarray(g)).all()


def test_bad_input(rng):
    x = rows(rng, (3, 4))
    with pytest.raises(TypeError, match="floating array"):
        sj.sparsemax(jnp.arange(3))
    with pytest.raises(np.exceptions.AxisError):
        sj.sparsemax(x, axis=2)
    with pytest.raises(ValueError, match="target has shape"):
        sj.sparsemax_loss(x, jnp.asarray([0, 1]))
    with pytest.raises(Exception, match="contains NaN in row 1"):  # from the callback
        jax.block_until_ready(sj.sparsemax(x.at[1, 2].set(jnp.nan)))


def test_docstring_examples():
    import doctest

    res = doctest.testmod(sj, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0 and res.failed == 0


def test_entmax_and_its_loss_under_jit_grad_and_vmap():
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.standard_normal((4, 6)))
    g = jnp.asarray(rng.standard_normal((4, 6)))
    for alpha in (1.0, 1.3, 1.5, 2.5):
        p = sparsetools.entmax(np.asarray(x), alpha)
        np.testing.assert_allclose(sj.entmax(x, alpha), p, rtol=1e-6, atol=1e-7)
        grad = jax.grad(jax.jit(lambda x, a=alpha: (sj.entmax(x, a) * g).sum()))(x)
        np.testing.assert_allclose(grad, sparsetools.entmax_vjp(p, np.asarray(g), alpha), rtol=1e-6, atol=1e-7)
        labels = jnp.array([0, 1, 2, 5])
        gl = jax.grad(lambda x, a=alpha: sj.entmax_loss(x, labels, a).sum())(x)
        np.testing.assert_allclose(gl, sparsetools.entmax_loss_grad(np.asarray(x), np.asarray(labels), alpha),
                                   rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(jax.vmap(sj.entmax15)(x), sparsetools.entmax15(np.asarray(x)), rtol=1e-6)
    with pytest.raises(ValueError, match=r"alpha is 0\.5; entmax needs alpha >= 1"):
        sj.entmax(x, 0.5)
    with pytest.raises(TypeError, match="alpha must be a Python number"):
        sj.entmax(x, jnp.array(1.5))


@pytest.mark.parametrize("name, args", [("project_simplex", (2.0,)), ("project_l1_ball", (1.0,)),
                                        ("project_capped_simplex", (2.0, 0.5)), ("project_sparse_simplex", (3,))])
def test_projections_under_jit_grad_and_vmap(rng, name, args):
    fn = getattr(sj, name)
    z = rng.standard_normal((4, 6))
    v = rng.standard_normal((4, 6))
    want = getattr(sparsetools, name)(z, *args)
    with jax.enable_x64(True):
        x = jnp.asarray(z)
        np.testing.assert_array_equal(np.asarray(jax.jit(lambda t: fn(t, *args))(x)), want)
        np.testing.assert_array_equal(np.asarray(jax.vmap(lambda t: fn(t, *args))(x)), want)
        g = jax.grad(lambda t: jnp.sum(fn(t, *args) * v))(x)
    np.testing.assert_allclose(np.asarray(g), getattr(sparsetools, f"{name}_vjp")(want, v, *args), atol=1e-12)
    got32 = np.asarray(fn(jnp.asarray(z, dtype=jnp.float32), *args))  # float32 in its own precision
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, atol=1e-5)


def test_projection_parameters_are_checked_at_trace_time():
    with pytest.raises(ValueError, match="radius is -1.0"):
        sj.project_simplex(jnp.zeros(3), -1.0)
    with pytest.raises(ValueError, match="budget 5.0 is more than n"):
        sj.project_capped_simplex(jnp.zeros(3), 5.0)
    with pytest.raises(TypeError, match="radius must be a Python number"):
        sj.project_l1_ball(jnp.zeros(3), jnp.ones(()))
