"""softmax, its vectorised exp, and the softmax + sigmoid activation with its full Jacobian
(not the element-wise product of the two derivatives)."""

import doctest
import re

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from scipy.special import softmax as softmax_scipy

from sparsetools import softmax, softmax_sigmoid, softmax_sigmoid_jacobian, softmax_sigmoid_vjp
from sparsetools.kernels.special import exp_nonpos


@njit
def _exp_all(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp_nonpos(x[i])
    return out


def test_exp_nonpos_within_one_ulp(rng):
    x = np.concatenate([
        -rng.exponential(3.0, 200_000),
        -rng.uniform(0, 745, 200_000),
        -rng.uniform(0, 1e-6, 1000),
        -np.arange(0, 60, 0.5) * np.log(2) / 2,  # the ends of the reduction intervals
    ])
    got = _exp_all(x)
    ref = np.exp(x)
    normal = ref >= np.finfo(float).tiny
    ulp = np.abs(got - ref)[normal] / np.spacing(ref[normal])
    assert ulp.max() <= 1.1
    assert np.abs(got - ref)[~normal].max() <= 5e-324  # subnormal results: one unit


def test_exp_nonpos_ends():
    x = np.array([0.0, -0.0, -np.inf, -745.2, -800.0, -1079.0, -1e4, -5e-324, -708.4, -744.4])
    assert_array_equal(_exp_all(x), np.exp(x))


@pytest.mark.parametrize("shape, axis", [((4, 7), -1), ((4, 7), 0), ((2, 3, 5), 1), ((9,), 0), ((3, 1000), -1)])
def test_softmax_against_scipy(shape, axis, rng):
    z = rng.normal(size=shape) * 5
    assert_allclose(softmax(z, axis=axis), softmax_scipy(z, axis=axis), rtol=1e-14, atol=1e-300)
    assert_allclose(softmax(z, axis=axis).sum(axis=axis), 1.0, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, bool])
def test_softmax_dtypes(dtype, rng):
    z = (rng.normal(size=(3, 6)) * 3).astype(dtype)
    got = softmax(z)
    expected = {np.float16: np.float16, np.float32: np.float32}.get(dtype, np.float64)
    assert got.dtype == expected
    tol = {np.float16: 2e-3, np.float32: 1e-6}.get(dtype, 1e-14)
    assert_allclose(got.astype(float), softmax_scipy(z.astype(float), axis=-1), atol=tol)


def test_softmax_masks_offsets_and_errors():
    assert_array_equal(softmax(np.array([0.0, np.log(3.0), -np.inf])), [0.25, 0.75, 0.0])
    z = np.array([1e300, 1e300 - 1e285, -1e300])
    assert_allclose(softmax(z), [1.0, 0.0, 0.0])
    e = np.exp(-8)
    assert_allclose(softmax(np.float32(1e8) + np.array([0.0, 8.0], np.float32)), [e / (1 + e), 1 / (1 + e)], rtol=1e-6)
    out = np.full((2, 2), 7.0)
    with pytest.raises(ValueError, match=re.escape("z contains +inf in row 1")):
        softmax(np.array([[0.0, 1.0], [np.inf, 0.0]]), out=out)
    assert_array_equal(out, 7.0)
    with pytest.raises(ValueError, match="z has no finite entry in row 0"):
        softmax(np.array([[-np.inf, -np.inf]]))
    with pytest.raises(TypeError):
        softmax(np.array(["a", "b"]))
    o = np.empty((2, 3), np.float32)
    assert softmax(np.zeros((2, 3)), out=o) is o
    assert_allclose(o, 1 / 3, rtol=1e-7)


# -- softmax + sigmoid ----------------------------------------------------------------------

PARAMS = [dict(), dict(gamma=2.0, beta=5.0, alpha=0.3), dict(gamma=0.5, beta=-3.0, alpha=-0.2, relu=True)]


def _ss_ref(z, gamma=1.0, beta=1.0, alpha=0.0, relu=False):
    a1 = softmax_scipy(gamma * z, axis=-1)
    a2 = expit(beta * (a1 - alpha))
    return a1, a2


@pytest.mark.parametrize("params", PARAMS)
def test_softmax_sigmoid_forward(params, rng):
    z = rng.normal(size=(4, 6)) * 2
    got = softmax_sigmoid(z, **params)
    assert_allclose(got, _ss_ref(z, **params)[1], rtol=1e-14)
    assert ((got > 0) & (got < 1)).all()
    # relu after a sigmoid is the identity
    assert_array_equal(softmax_sigmoid(z, **dict(params, relu=True)), softmax_sigmoid(z, **dict(params, relu=False)))


@pytest.mark.parametrize("params", PARAMS)
def test_softmax_sigmoid_derivatives_equal_finite_differences(params, rng):
    n = 5
    z = rng.normal(size=(3, n))
    J = softmax_sigmoid_jacobian(z, **params)
    h = 1e-6
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        fd = (softmax_sigmoid(z + e, **params) - softmax_sigmoid(z - e, **params)) / (2 * h)
        assert_allclose(J[:, :, j], fd, atol=1e-8)
    g = rng.normal(size=z.shape)
    assert_allclose(softmax_sigmoid_vjp(z, g, **params), np.einsum("ri,rij->rj", g, J), atol=1e-15)


def test_softmax_sigmoid_matches_spec_formula_not_the_seed(rng):
    z = rng.normal(size=6)
    a1, a2 = _ss_ref(z, beta=2.0)
    d = 2.0 * a2 * (1 - a2)
    J = softmax_sigmoid_jacobian(z, beta=2.0)
    assert_allclose(J, d[:, None] * (np.diag(a1) - np.outer(a1, a1)), rtol=1e-13, atol=1e-16)
    seed = 2.0 * a2 * (1 - a2) * a1 * (1 - a1)  # the element-wise "Jacobian" often written
    assert_allclose(np.diag(J), seed, rtol=1e-13)  # it is only the diagonal,
    assert np.abs(J - np.diag(np.diag(J))).max() > 1e-3  # and J is not diagonal
    g = rng.normal(size=6)
    u = d * g
    assert_allclose(softmax_sigmoid_vjp(z, g, beta=2.0), a1 * (u - a1 @ u), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("shape, axis", [((2, 3, 4), 1), ((4, 3), 0)])
def test_softmax_sigmoid_axes(shape, axis, rng):
    z = rng.normal(size=shape)
    g = rng.normal(size=shape)
    zr, gr = np.moveaxis(z, axis, -1), np.moveaxis(g, axis, -1)
    assert_allclose(np.moveaxis(softmax_sigmoid(z, axis=axis), axis, -1), softmax_sigmoid(zr))
    assert_allclose(np.moveaxis(softmax_sigmoid_vjp(z, g, axis=axis), axis, -1), softmax_sigmoid_vjp(zr, gr))
    batch = zr.shape[:-1]
    n = shape[axis]
    assert softmax_sigmoid_jacobian(z, axis=axis).shape == batch + (n, n)
    assert_allclose(softmax_sigmoid_jacobian(z, axis=axis), softmax_sigmoid_jacobian(zr))


def test_softmax_sigmoid_masks_and_errors():
    z = np.array([[0.0, -np.inf, 1.0], [1.0, 2.0, 3.0]])
    assert_allclose(softmax_sigmoid(z)[0, 1], 0.5)  # a1 = 0 there, sigmoid(0)
    assert_array_equal(softmax_sigmoid_jacobian(z)[0, :, 1], 0.0)
    for bad, exc in [(dict(gamma=0.0), ValueError), (dict(gamma=-1.0), ValueError),
                     (dict(beta=np.inf), ValueError), (dict(alpha=np.nan), ValueError),
                     (dict(beta="2"), TypeError), (dict(gamma=True), TypeError)]:
        with pytest.raises(exc, match=next(iter(bad))):
            softmax_sigmoid(z, **bad)
    g = np.ones_like(z)
    g[1, 2] = np.nan
    out = np.full(z.shape, 7.0)
    with pytest.raises(ValueError, match=re.escape("g contains NaN in row 1")):
        softmax_sigmoid_vjp(z, g, out=out)
    assert_array_equal(out, 7.0)
    with pytest.raises(ValueError, match="g has shape"):
        softmax_sigmoid_vjp(z, g[:1])
    with pytest.raises(ValueError, match=re.escape("z contains NaN in row 0")):
        softmax_sigmoid_jacobian(np.array([[np.nan, 0.0]]))


@pytest.mark.parametrize("module", ["_core", "_derivs", "_losses", "_activations", "_projections"])
def test_docstring_examples(module):
    import importlib

    mod = importlib.import_module(f"sparsetools.{module}")
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0 and res.failed == 0
