"""The Jacobian of sparsemax and its products : finite differences, the
algebraic identities, shapes, dtypes and the input contract of the products."""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sparsetools
from sparsetools import sparsemax, sparsemax_jacobian, sparsemax_jvp, sparsemax_vjp

from reference import sparsemax_ref


def _generic_z(rng, shape):
    """Scores away from the kinks of sparsemax (no entry within 1e-3 of tau), so that a
    central difference with step 1e-6 stays inside one support."""
    while True:
        z = rng.normal(size=shape)
        _, tau, _ = sparsemax_ref(z)
        if np.min(np.abs(z - np.expand_dims(tau, -1))) > 1e-3:
            return z


def jvp_ref(p, v):
    s = (np.asarray(p) > 0).astype(np.float64)
    k = s.sum(-1, keepdims=True)
    return s * (v - (s * v).sum(-1, keepdims=True) / k)


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_jacobian_equals_finite_differences(method, n, rng):
    z = _generic_z(rng, (3, n))
    J = sparsemax_jacobian(z, method=method)
    h = 1e-6
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        fd = (sparsemax(z + e, method=method) - sparsemax(z - e, method=method)) / (2 * h)
        assert_allclose(J[:, :, j], fd, atol=1e-7)


def test_jacobian_identities(method, rng):
    z = rng.normal(size=(6, 11)) * rng.choice([0.1, 1.0, 3.0], size=(6, 1))
    J = sparsemax_jacobian(z, method=method)
    p = sparsemax(z)
    assert_array_equal(J, np.swapaxes(J, -1, -2))  # symmetric, exactly
    assert_allclose(J.sum(-1), 0.0, atol=1e-15)  # J 1 = 0
    v = rng.normal(size=z.shape)
    Jv = np.einsum("rij,rj->ri", J, v)
    assert_allclose(sparsemax_jvp(p, v), Jv, atol=1e-14)
    assert_allclose(sparsemax_vjp(p, v), np.einsum("ri,rij->rj", v, J), atol=1e-14)
    s = (p > 0).astype(float)
    assert_allclose(J, s[:, :, None] * (np.eye(11) - s[:, None, :] / s.sum(-1)[:, None, None]))
    assert_allclose(np.einsum("rij,rjk->rik", J, J), J, atol=1e-14)  # a projection


def test_jacobian_example_and_zero_signs():
    J = sparsemax_jacobian(np.array([1.0, 0.8, -1.0]))
    assert_array_equal(J, [[0.5, -0.5, 0.0], [-0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    assert not np.signbit(J[J == 0]).any()  # +0.0 off the support, never -0.0


@pytest.mark.parametrize("shape, axis", [((4, 3, 5), 1), ((4, 3, 5), 0), ((4, 3, 5), -1), ((7,), 0)])
def test_jacobian_shape_for_any_axis(shape, axis, rng):
    z = rng.normal(size=shape)
    J = sparsemax_jacobian(z, axis=axis)
    n = shape[axis]
    batch = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    assert J.shape == batch + (n, n)
    rows = np.moveaxis(z, axis, -1).reshape(-1, n)
    Jr = J.reshape(-1, n, n)
    for r in range(rows.shape[0]):
        assert_array_equal(Jr[r], sparsemax_jacobian(rows[r]))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, bool])
def test_jacobian_dtype(dtype, rng):
    z = (rng.normal(size=(3, 4)) * 3).astype(dtype)
    J = sparsemax_jacobian(z)
    expected = {np.float16: np.float16, np.float32: np.float32}.get(dtype, np.float64)
    assert J.dtype == expected


def test_jacobian_rejects_bad_z():
    with pytest.raises(ValueError, match="z contains NaN in row 1"):
        sparsemax_jacobian(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="unknown method"):
        sparsemax_jacobian(np.zeros(3), method="quick")


# -- products ----------------------------------------------------------------------------


@pytest.mark.parametrize("func", [sparsemax_jvp, sparsemax_vjp])
@pytest.mark.parametrize("shape, axis", [((5, 7), -1), ((5, 7), 0), ((2, 3, 4), 1), ((9,), 0), ((3, 1), -1)])
def test_products_against_reference(func, shape, axis, rng):
    z = rng.normal(size=shape) * 0.5
    p = sparsemax(z, axis=axis)
    v = rng.normal(size=shape)
    expected = np.moveaxis(jvp_ref(np.moveaxis(p, axis, -1), np.moveaxis(v, axis, -1)), -1, axis)
    got = func(p, v, axis=axis)
    assert got.shape == shape and got.dtype == np.float64
    assert_allclose(got, expected, atol=1e-14)
    assert_allclose(got.sum(axis=axis), 0.0, atol=1e-14)


def test_products_on_long_rows_and_layouts(rng):
    z = rng.normal(size=(3, 3000)) * 1e-3  # supports of hundreds
    p = sparsemax(z)
    v = rng.normal(size=z.shape)
    expected = jvp_ref(p, v)
    assert_allclose(sparsemax_jvp(p, v), expected, atol=1e-13)
    pf, vf = np.asfortranarray(p), np.asfortranarray(v)
    assert_allclose(sparsemax_jvp(pf, vf), expected, atol=1e-13)
    ps, vs = p[:, ::2], v[:, ::2]  # strided, and p is then not a sparsemax output: still valid J
    assert_allclose(sparsemax_jvp(ps, vs), jvp_ref(ps, vs), atol=1e-13)
    p.setflags(write=False)
    v.setflags(write=False)
    assert_allclose(sparsemax_vjp(p, v), expected, atol=1e-13)


def test_products_tiny_and_signed_zero_entries():
    p = np.array([5e-324, 0.0, -0.0, 1.0])  # a subnormal is in the support; -0.0 is not
    v = np.array([1.0, 2.0, 3.0, 5.0])
    assert_array_equal(sparsemax_jvp(p, v), [-2.0, 0.0, 0.0, 2.0])


@pytest.mark.parametrize(
    "pdt, vdt, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float16, np.float16, np.float16),
        (np.float32, np.float64, np.float64),
        (np.float16, np.float32, np.float32),
        (np.float64, np.int64, np.float64),
    ],
)
def test_products_dtypes(pdt, vdt, expected, rng):
    z = rng.normal(size=(4, 6))
    p = sparsemax(z).astype(pdt)
    v = (rng.normal(size=z.shape) * 4).astype(vdt)
    got = sparsemax_vjp(p, v)
    assert got.dtype == expected
    tol = {np.float16: 3e-2, np.float32: 1e-5}.get(expected, 1e-13)
    assert_allclose(got.astype(float), jvp_ref(p.astype(float), v.astype(float)), atol=tol)


@pytest.mark.parametrize("n", [7, 31, 32, 33, 300])
def test_float32_products_round_the_float64_result(n, rng):
    # float32 rows of 32 entries and more write in float32 lanes, shorter ones through the
    # float64 indicator: both must give the float64 result rounded once, zeros signed alike
    z = rng.normal(size=(6, n))
    p = sparsemax(z).astype(np.float32)
    p[0, :3] = [-0.0, 0.0, np.finfo(np.float32).smallest_subnormal]  # -0.0 is off, the subnormal on
    v = rng.normal(size=z.shape).astype(np.float32)
    got = sparsemax_jvp(p, v)
    on = p > 0
    d = v.astype(np.float64) - (v * on).sum(axis=1, dtype=np.float64, keepdims=True) / on.sum(axis=1, keepdims=True)
    assert got.dtype == np.float32
    assert_allclose(got, np.where(on, d, 0.0).astype(np.float32), rtol=2**-23, atol=1e-7)
    assert np.all(got[~on] == 0.0)
    # off the support: +0 times the difference, -0 times it where p is -0.0
    assert_array_equal(np.signbit(got[~on]), (np.signbit(d) ^ np.signbit(p))[~on])
    assert_array_equal(sparsemax_vjp(p, v), got)


def test_products_out(rng):
    z = rng.normal(size=(4, 5))
    p, v = sparsemax(z), rng.normal(size=(4, 5))
    out = np.full((4, 5), 7.0, np.float32)
    res = sparsemax_jvp(p, v, out=out)
    assert res is out
    assert_allclose(out, jvp_ref(p, v), atol=1e-6)
    outT = np.empty((5, 4)).T
    assert sparsemax_vjp(p, v, out=outT) is outT
    assert_allclose(outT, jvp_ref(p, v), atol=1e-14)


def _spoil(kind, p, v, r):
    """Make row ``r`` of (p, v) bad in the way ``kind`` says, in place."""
    if kind == "p_nan":
        p[r, 1] = np.nan
    elif kind == "p_posinf":
        p[r, 0] = np.inf
    elif kind == "p_neg":
        p[r, 3] = -0.25
    elif kind == "p_neginf":
        p[r, 3] = -np.inf
    elif kind == "p_zero_row":
        p[r] = 0.0
    elif kind == "v_nan_on_support":
        v[r, int(np.argmax(p[r]))] = np.nan
    elif kind == "v_inf_off_support":
        v[r, int(np.argmin(p[r]))] = np.inf
    elif kind == "v_neginf":
        v[r, 0] = -np.inf


BAD = {
    "p_nan": "p contains NaN in row 2",
    "p_posinf": "p contains +inf in row 2",
    "p_neg": "p has a negative entry in row 2",
    "p_neginf": "p has a negative entry in row 2",
    "p_zero_row": "p has no positive entry in row 2",
    "v_nan_on_support": "{v} contains NaN in row 2",
    "v_inf_off_support": "{v} contains inf in row 2",
    "v_neginf": "{v} contains inf in row 2",
}


@pytest.mark.parametrize("func, vname", [(sparsemax_jvp, "v"), (sparsemax_vjp, "g")])
@pytest.mark.parametrize("kind", sorted(BAD))
def test_products_reject_bad_rows_before_writing(func, vname, kind, rng):
    z = rng.normal(size=(4, 5))
    z[:, 0] += 5.0  # every row has a zero entry (argmin) and a support entry (argmax)
    p, v = sparsemax(z), rng.normal(size=(4, 5))
    for r in (3, 2):
        _spoil(kind, p, v, r)
    out = np.full((4, 5), 7.0)
    msg = BAD[kind].format(v=vname) + " (rows run along axis 1; 2 bad row(s) in all)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        func(p, v, out=out)
    assert_array_equal(out, 7.0)


def test_products_reject_shapes_and_types(rng):
    p = sparsemax(rng.normal(size=(3, 4)))
    with pytest.raises(ValueError, match=re.escape("v has shape (3, 5); it must have the shape of p, (3, 4)")):
        sparsemax_jvp(p, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="g has dtype complex128"):
        sparsemax_vjp(p, np.zeros((3, 4), complex))
    with pytest.raises(np.exceptions.AxisError):
        sparsemax_jvp(p, p, axis=2)
    with pytest.raises(ValueError, match="empty reduction axis"):
        sparsemax_jvp(np.zeros((3, 0)), np.zeros((3, 0)))
    with pytest.raises(ValueError, match="out has shape"):
        sparsemax_jvp(p, p, out=np.zeros((4, 3)))


def test_public_names_match_spec():
    for name in ["sparsemax_jacobian", "sparsemax_jvp", "sparsemax_vjp", "sparsemax_loss",
                 "sparsemax_loss_grad", "sparsemax_loss_and_grad", "softmax", "softmax_loss",
                 "softmax_loss_grad", "softmax_loss_and_grad", "softmax_sigmoid",
                 "softmax_sigmoid_vjp", "softmax_sigmoid_jacobian"]:
        assert name in sparsetools.__all__ and callable(getattr(sparsetools, name))
