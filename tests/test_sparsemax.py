"""sparsemax and sparsemax_threshold on valid input: every method against the NumPy
reference, the quadratic program and each other; the properties of the projection; ties,
masks, support sizes, long rows; the dtype x axis x layout matrix; ``out=``."""

import itertools

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sparsetools
from sparsetools import METHODS, sparsemax, sparsemax_threshold

from reference import (
    michelot_steps_of,
    result_dtype,
    slow_michelot_row,
    sparsemax_qp,
    sparsemax_ref,
    sparsemax_row_ref,
    tol,
)

ALL_METHODS = METHODS + ("auto",)
FLOATS = (np.float64, np.float32, np.float16)


def assert_on_simplex(p, axis=-1, atol=1e-12):
    p = np.asarray(p, dtype=np.float64)
    assert np.all(p >= 0.0)
    n = p.shape[axis]
    assert_allclose(p.sum(axis=axis), 1.0, rtol=0, atol=atol * max(1, n))


def assert_k_consistent(z, tau, k, axis=-1, eps=0.0):
    """count(z > tau + eps) <= k <= count(z > tau - eps), row by row (eps = 0: exact)."""
    zf = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
    t = np.asarray(tau, dtype=np.float64)[..., None]
    e = eps * np.maximum(1.0, np.abs(t))
    assert np.all((zf > t + e).sum(axis=-1) <= k)
    assert np.all(k <= (zf > t - e).sum(axis=-1))


def check_against_reference(z, axis=-1, method="auto", atol=None):
    """sparsemax and sparsemax_threshold of ``z`` equal the NumPy reference."""
    rdt = result_dtype(np.asarray(z).dtype)
    atol = tol(rdt) if atol is None else atol
    p = sparsemax(z, axis, method=method)
    assert p.dtype == rdt
    assert p.shape == np.shape(z)
    p_ref, tau_ref, k_ref = sparsemax_ref(z, axis)
    assert_allclose(p, p_ref, rtol=0, atol=atol)
    tau, k = sparsemax_threshold(z, axis, method=method)
    assert tau.dtype == rdt and tau.shape == tau_ref.shape
    assert k.dtype == np.int64 and k.shape == k_ref.shape
    assert_allclose(tau, tau_ref, rtol=atol, atol=atol)
    assert_k_consistent(z, tau_ref, k, axis, eps=atol)
    return p, tau, k


# --------------------------------------------------------------------------------------
# API surface


def test_public_names():
    assert METHODS == ("sort", "heap", "bisect", "condat", "duchi", "michelot")
    assert set(sparsetools.__all__) >= {"sparsemax", "sparsemax_threshold", "METHODS"}


def test_reference_itself():
    # the reference must be right before anything is compared with it
    p, tau, k = sparsemax_row_ref([0.5, 0.2, -3.0])
    assert_allclose(p, [0.65, 0.35, 0.0], atol=1e-15)
    assert k == 2 and tau == pytest.approx(-0.15)
    assert_allclose(sparsemax_qp(np.array([0.5, 0.2, -3.0])), [0.65, 0.35, 0.0], atol=1e-7)


# --------------------------------------------------------------------------------------
# 1. against the reference, the quadratic program, and each other


def _rows(kind, rng, shape=(7, 13)):
    if kind == "normal":
        return rng.normal(size=shape)
    if kind == "small":  # every entry in the support
        return 1e-3 * rng.normal(size=shape)
    if kind == "large":  # supports of one or two
        return 10.0 * rng.normal(size=shape)
    if kind == "uniform":
        return rng.uniform(-1.0, 1.0, size=shape)
    if kind == "integers":
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    if kind == "masked":
        z = rng.normal(size=shape)
        z[rng.random(shape) < 0.4] = -np.inf
        z[:, 0] = rng.normal(size=shape[0])
        return z
    raise AssertionError(kind)


KINDS = ["normal", "small", "large", "uniform", "integers", "masked"]


@pytest.mark.parametrize("kind", KINDS)
def test_matches_reference(any_method, kind, rng):
    check_against_reference(_rows(kind, rng), method=any_method)


@pytest.mark.parametrize("kind", KINDS)
def test_methods_agree(kind, rng):
    z = _rows(kind, rng, shape=(20, 17))
    res = {m: (sparsemax(z, method=m), *sparsemax_threshold(z, method=m)) for m in ALL_METHODS}
    for a, b in itertools.combinations(ALL_METHODS, 2):
        pa, ta, ka = res[a]
        pb, tb, kb = res[b]
        assert_allclose(pa, pb, rtol=0, atol=1e-13, err_msg=f"{a} vs {b}")
        assert_allclose(ta, tb, rtol=1e-14, atol=1e-14, err_msg=f"{a} vs {b}")
        if kind != "integers":  # integer rows tie at tau; the tie tests check k there
            assert_array_equal(ka, kb, err_msg=f"{a} vs {b}")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0])
def test_matches_quadratic_program(method, n, scale, rng):
    for _ in range(3):
        z = scale * rng.normal(size=n)
        assert_allclose(sparsemax(z, method=method), sparsemax_qp(z), rtol=0, atol=1e-6)


# --------------------------------------------------------------------------------------
# 2. properties of the projection


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0])
def test_nonnegative_and_sums_to_one(any_method, dtype, scale, rng):
    z = (scale * rng.normal(size=(6, 40))).astype(dtype)
    p = sparsemax(z, method=any_method)
    assert p.dtype == dtype
    assert_on_simplex(p, atol=tol(dtype))


SHIFTS64 = [1.0, -3.0, 1e3, -1e3, 1e6, -1e6, 1e6 + 0.5]
SHIFTS32 = [1.0, -3.0, 250.0, 1e3, -1e3]


@pytest.mark.parametrize(
    "dtype, c", [(np.float64, c) for c in SHIFTS64] + [(np.float32, c) for c in SHIFTS32]
)
def test_shift_invariance_exact(method, dtype, c, rng):
    # scores on a grid of 1/64 in [-4, 4]: z + c is exact, so the results must agree
    # to the output's rounding
    z = (rng.integers(-256, 257, size=(9, 11)) / 64.0).astype(dtype)
    zc = z + dtype(c)
    assert_array_equal(zc - dtype(c), z)  # the shift really is exact
    p, pc = sparsemax(z, method=method), sparsemax(zc, method=method)
    assert_allclose(pc, p, rtol=0, atol=tol(dtype))
    assert_allclose(pc, sparsemax_ref(z)[0], rtol=0, atol=tol(dtype))
    tau, k = sparsemax_threshold(z, method=method)
    tauc, kc = sparsemax_threshold(zc, method=method)
    assert_array_equal(kc, k)
    assert_allclose(
        tauc.astype(np.float64) - c, tau, rtol=0, atol=4 * np.spacing(dtype(abs(c) + 5))
    )


@pytest.mark.parametrize(
    "dtype, c", [(np.float64, c) for c in SHIFTS64] + [(np.float32, c) for c in SHIFTS32]
)
def test_shift_invariance_random(method, dtype, c, rng):
    # arbitrary scores: z + c rounds, by at most half an ulp of c per entry
    z = rng.normal(size=(9, 11)).astype(dtype)
    zc = z + dtype(c)
    atol = tol(dtype) + 4 * float(np.spacing(dtype(abs(c) + 5)))
    assert_allclose(sparsemax(zc, method=method), sparsemax(z, method=method), rtol=0, atol=atol)
    # and exactly the projection of the rounded scores
    assert_allclose(sparsemax(zc, method=method), sparsemax_ref(zc)[0], rtol=0, atol=tol(dtype))


@pytest.mark.parametrize("axis", [0, 1])
def test_permutation_equivariance(any_method, axis, rng):
    z = rng.normal(size=(11, 11))
    z[3, :] = 0.25  # a tied row/column
    p = sparsemax(z, axis, method=any_method)
    for _ in range(5):
        perm = rng.permutation(11)
        zp = np.take(z, perm, axis=axis)
        assert_allclose(
            sparsemax(zp, axis, method=any_method), np.take(p, perm, axis=axis), rtol=0, atol=1e-13
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_idempotent_on_simplex(any_method, dtype, rng):
    n = 12
    dense = rng.dirichlet(np.ones(n), size=4)
    sparse = rng.dirichlet(np.ones(n), size=4) * (rng.random((4, n)) < 0.5)
    sparse[:, 0] += 0.1
    sparse /= sparse.sum(axis=1, keepdims=True)
    special = np.vstack(
        [np.eye(n)[[0, 5, 11]], np.full((1, n), 1.0 / n), sparsemax(rng.normal(size=(3, n)))]
    )
    p = np.vstack([dense, sparse, special]).astype(dtype)
    assert_allclose(sparsemax(p, method=any_method), p, rtol=0, atol=tol(dtype))
    # exact one-hot rows stay exactly one-hot
    assert_array_equal(sparsemax(np.eye(n, dtype=dtype), method=any_method), np.eye(n, dtype=dtype))


def test_hard_sigmoid(any_method):
    t = np.concatenate(
        [np.linspace(-3, 3, 241), [-1.0, 1.0, 0.0, -1 - 1e-12, 1 + 1e-12, 1e-300, -0.999]]
    )
    z = np.stack([t, np.zeros_like(t)])  # one row per column: axis 0
    p = sparsemax(z, axis=0, method=any_method)
    expected = np.clip((t + 1) / 2, 0, 1)
    assert_allclose(p[0], expected, rtol=0, atol=1e-15)
    assert_allclose(p[1], 1 - expected, rtol=0, atol=1e-15)
    # and the same rows along the last axis
    assert_allclose(sparsemax(z.T, method=any_method)[:, 0], expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "z",
    [
        np.array([0.0]),
        np.array([-1e300]),
        np.array([1e300]),
        np.array([7]),
        np.array([True]),
        np.array([-2.5], dtype=np.float32),
        np.array([3.0], dtype=np.float16),
    ],
    ids=repr,
)
def test_single_entry(any_method, z):
    p = sparsemax(z, method=any_method)
    assert p.dtype == result_dtype(z.dtype)
    assert_array_equal(p, [1.0])
    tau, k = sparsemax_threshold(z, method=any_method)
    assert k == 1
    assert float(tau) == pytest.approx(float(z[0]) - 1.0, rel=1e-3)


def test_single_entry_batches(any_method):
    z = np.array([[3.0], [-1.0], [1e6]])
    assert_array_equal(sparsemax(z, method=any_method), np.ones((3, 1)))
    assert_array_equal(sparsemax(z.T, axis=0, method=any_method), np.ones((1, 3)))


# --------------------------------------------------------------------------------------
# 3. the worked example

SEED_Z = np.array([1.76405235, 0.40015721, 0.97873798, 2.2408932, 1.86755799])
SEED_P = np.array([0.1398845, 0.0, 0.0, 0.61672535, 0.24339015])


def test_seed_example_is_the_seed():
    assert_allclose(SEED_Z, np.random.RandomState(0).randn(5), rtol=0, atol=1e-8)


def test_seed_example(any_method):
    p = sparsemax(SEED_Z, method=any_method)
    assert_allclose(p, SEED_P, rtol=0, atol=1e-8)
    assert p[1] == 0.0 and p[2] == 0.0
    tau, k = sparsemax_threshold(SEED_Z, method=any_method)
    assert tau.shape == () and k.shape == ()
    assert int(k) == 3
    assert float(tau) == pytest.approx(1.62416785, abs=1e-8)


def test_seed_example_float32(any_method):
    p = sparsemax(SEED_Z.astype(np.float32), method=any_method)
    assert p.dtype == np.float32
    assert_allclose(p, SEED_P, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------------------
# 4. ties


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000])
@pytest.mark.parametrize("value", [0.0, -3.5, 0.1, 1e6])
def test_all_equal_rows(any_method, n, value):
    z = np.full((3, n), value)
    p = sparsemax(z, method=any_method)
    assert_allclose(p, 1.0 / n, rtol=1e-12, atol=0)
    tau, k = sparsemax_threshold(z, method=any_method)
    assert_array_equal(k, n)
    assert_allclose(tau, value - 1.0 / n, rtol=1e-15, atol=1e-15)


# (scores, sparsemax, tau, k), every value exact in binary: entries equal to tau are
# outside the support (k counts z > tau only), and tau is the same whichever
# of the tied entries is looked at first.
TIES = [
    ([1.0, 0.5, 0.25], [0.75, 0.25, 0.0], 0.25, 2),  # one entry exactly at tau
    ([0.25, 0.75, 0.0, 0.0], [0.25, 0.75, 0.0, 0.0], 0.0, 2),  # simplex point with zeros
    ([2.0, 1.0, 1.0], [1.0, 0.0, 0.0], 1.0, 1),  # two entries exactly at max - 1 = tau
    ([1.0, 0.0], [1.0, 0.0], 0.0, 1),
    ([0.0, -0.25, -0.25, -0.5], [0.5, 0.25, 0.25, 0.0], -0.5, 3),
    ([0.0, -0.5, -0.75, -0.75, -0.75], [0.75, 0.25, 0.0, 0.0, 0.0], -0.75, 2),  # three at tau
    ([3.0, 3.0, 1.0], [0.5, 0.5, 0.0], 2.5, 2),  # repeated maxima
    ([1.0, 1.0, 0.0], [0.5, 0.5, 0.0], 0.5, 2),
    ([5.0, 5.0, 5.0, 0.0], [1 / 3, 1 / 3, 1 / 3, 0.0], 5 - 1 / 3, 3),
    ([0.5, 0.5, 0.5, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25, 0.0], 0.25, 4),
    ([1.0, 0.5, 0.5, 0.0], [2 / 3, 1 / 6, 1 / 6, 0.0], 1 / 3, 3),
    ([0.0, 0.0, -1.0, -1.0], [0.5, 0.5, 0.0, 0.0], -0.5, 2),
    ([0.0, -1.0, -1.0, -1.0], [1.0, 0.0, 0.0, 0.0], -1.0, 1),  # everything else at max - 1
]


@pytest.mark.parametrize("offset", [0.0, 10.0, -64.0, 1e6])
@pytest.mark.parametrize("z, p, tau, k", TIES, ids=[str(t[0]) for t in TIES])
def test_ties(any_method, z, p, tau, k, offset):
    z = np.asarray(z) + offset
    p = np.asarray(p)
    # every ordering of the tied row, as one batch
    perms = np.array(list(itertools.permutations(range(z.size))))
    zb, pb = z[perms], p[perms]
    out = sparsemax(zb, method=any_method)
    assert_allclose(out, pb, rtol=0, atol=1e-12)
    assert_array_equal(out[pb == 0], 0.0)
    taub, kb = sparsemax_threshold(zb, method=any_method)
    assert_allclose(taub, tau + offset, rtol=0, atol=1e-12 * max(1, abs(offset)))
    assert_array_equal(kb, k)  # k = |{i : z_i > tau}|
    assert_array_equal(kb, (zb > taub[:, None]).sum(axis=1))


def test_ties_integer_input(any_method):
    z = np.array([[2, 1, 1], [1, 1, 1], [4, 4, 0], [0, 3, 3]])
    p = sparsemax(z, method=any_method)
    assert p.dtype == np.float64
    assert_allclose(
        p, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0], [0, 0.5, 0.5]], rtol=0, atol=1e-15
    )
    tau, k = sparsemax_threshold(z, method=any_method)
    assert_array_equal(k, [1, 3, 2, 2])
    assert_allclose(tau, [1.0, 2 / 3, 3.5, 2.5], rtol=1e-15)


# --------------------------------------------------------------------------------------
# 5. -inf masks


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("axis", [0, -1])
def test_mask_random(any_method, dtype, axis, rng):
    z = rng.normal(size=(8, 10)).astype(dtype)
    mask = rng.random(z.shape) < 0.5
    mask[np.arange(8), rng.integers(0, 10, size=8)] = False  # a finite entry per row
    z[mask] = -np.inf
    if axis == 0:
        z, mask = z.T.copy(), mask.T.copy()
    p = sparsemax(z, axis, method=any_method)
    assert np.all(p[mask] == 0.0)
    assert_on_simplex(p, axis, atol=tol(dtype))
    # each row equals sparsemax of its unmasked entries alone
    pm, zm, mm = (np.moveaxis(a, axis, -1) for a in (p, z, mask))
    for r in range(zm.shape[0]):
        alone = sparsemax(zm[r][~mm[r]], method=any_method)
        assert_allclose(pm[r][~mm[r]], alone, rtol=0, atol=tol(dtype))
    check_against_reference(z, axis, any_method)


@pytest.mark.parametrize(
    "z, expected",
    [
        ([-np.inf, 1.0, 2.0], [0.0, 0.0, 1.0]),
        ([-np.inf, 0.5, 0.4], [0.0, 0.55, 0.45]),
        ([-np.inf, -np.inf, 0.5, 0.4], [0.0, 0.0, 0.55, 0.45]),
        ([0.5, -np.inf, 0.4, -np.inf], [0.55, 0.0, 0.45, 0.0]),
        ([0.5, 0.4, -np.inf], [0.55, 0.45, 0.0]),
        ([-np.inf, 0.3, -np.inf, 0.3], [0.0, 0.5, 0.0, 0.5]),
        ([-np.inf, 1e6, 1e6 - 0.5], [0.0, 0.75, 0.25]),
    ],
)
def test_mask_positions(any_method, z, expected):
    z = np.array(z)
    p = sparsemax(z, method=any_method)
    assert_allclose(p, expected, rtol=0, atol=1e-12)
    assert np.all(p[z == -np.inf] == 0.0)
    tau, k = sparsemax_threshold(z, method=any_method)
    assert int(k) == np.count_nonzero(np.asarray(expected) > 0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_single_finite_entry(any_method, dtype):
    n = 6
    values = [0.0, -7.5, 100.0, -1e4, 3.0, 1e-3]
    z = np.full((n, n), -np.inf, dtype=dtype)
    z[np.arange(n), np.arange(n)[::-1]] = values
    expected = np.eye(n)[::-1]
    assert_array_equal(sparsemax(z, method=any_method), expected)
    assert_array_equal(sparsemax(z.T, axis=0, method=any_method), expected.T)
    tau, k = sparsemax_threshold(z, method=any_method)
    assert_array_equal(k, 1)
    assert_allclose(tau, np.array(values, dtype=dtype).astype(np.float64) - 1.0, rtol=1e-3)


# --------------------------------------------------------------------------------------
# 7. dtype x axis x layout

MATRIX_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.uint8, np.bool_]
LAYOUTS = ["C", "F", "strided", "reversed", "readonly", "readonly_strided"]
SHAPE = (4, 5, 6)


def _data(dtype, shape, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return (0.7 * rng.normal(size=shape)).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        return rng.integers(0, 5, size=shape).astype(dtype)
    return rng.integers(-3, 4, size=shape).astype(dtype)


def _layout(dtype, layout, rng):
    if layout in ("strided", "readonly_strided"):
        big = _data(dtype, (2 * SHAPE[0], 3 * SHAPE[1], 2 * SHAPE[2]), rng)
        z = big[::2, ::3, ::2]
        assert not z.flags.c_contiguous and not z.flags.f_contiguous
    else:
        z = _data(dtype, SHAPE, rng)
        if layout == "F":
            z = np.asfortranarray(z)
            assert not z.flags.c_contiguous
        elif layout == "reversed":
            z = z[::-1, :, ::-1]
    if layout.startswith("readonly"):
        z.flags.writeable = False
    assert z.shape == SHAPE
    return z


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", MATRIX_DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtype_axis_layout(contract_method, dtype, axis, layout, rng):
    z = _layout(dtype, layout, rng)
    before = z.copy()
    p, tau, k = check_against_reference(z, axis, contract_method)
    assert_on_simplex(p, axis, atol=tol(p.dtype))
    assert tau.shape == tuple(s for i, s in enumerate(SHAPE) if i != axis % 3)
    assert_array_equal(z, before)  # the input is never modified
    assert z.flags.writeable == (not layout.startswith("readonly"))


@pytest.mark.parametrize(
    "dtype, result",
    [(">f8", np.float64), (">f4", np.float32), (">i4", np.float64), ("<f8", np.float64)],
)
def test_non_native_byte_order(contract_method, dtype, result, rng):
    # data read from a file may be big-endian: it is still float64, float32 or integer
    z = (3 * rng.normal(size=(3, 7))).astype(dtype)
    p = sparsemax(z, method=contract_method)
    assert p.dtype.kind == "f" and p.dtype.itemsize == np.dtype(result).itemsize
    assert_allclose(p, sparsemax_ref(z)[0], rtol=0, atol=tol(result))


def test_list_input(contract_method):
    assert_allclose(sparsemax([0.5, 0.2, -3.0], method=contract_method), [0.65, 0.35, 0.0], atol=1e-15)
    p = sparsemax([[0.5, 0.2], [1, 3]], axis=0, method=contract_method)
    assert p.dtype == np.float64
    assert_allclose(p, [[0.25, 0.0], [0.75, 1.0]], atol=1e-15)


def test_empty_batch(contract_method):
    for z, axis in [(np.empty((0, 4)), -1), (np.empty((3, 0)), 0), (np.empty((2, 0, 5)), 2)]:
        p = sparsemax(z, axis, method=contract_method)
        assert p.shape == z.shape and p.dtype == np.float64
        tau, k = sparsemax_threshold(z, axis, method=contract_method)
        batch = tuple(s for i, s in enumerate(z.shape) if i != axis % z.ndim)
        assert tau.shape == batch and k.shape == batch and k.dtype == np.int64


# --------------------------------------------------------------------------------------
# 8. out=


def test_out_same_dtype(contract_method, rng):
    z = rng.normal(size=(5, 7))
    out = np.full_like(z, np.nan)
    res = sparsemax(z, method=contract_method, out=out)
    assert res is out
    assert_allclose(out, sparsemax_ref(z)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_out_axis_and_order(contract_method, axis, order, rng):
    z = rng.normal(size=SHAPE)
    out = np.full(SHAPE, np.nan, order=order)
    res = sparsemax(z, axis, method=contract_method, out=out)
    assert res is out
    assert_allclose(out, sparsemax_ref(z, axis)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "zdt, odt",
    [
        (np.float64, np.float32),
        (np.float32, np.float64),
        (np.float64, np.float16),
        (np.float16, np.float16),
        (np.float16, np.float32),
        (np.int64, np.float32),
        (np.bool_, np.float64),
    ],
    ids=lambda d: np.dtype(d).name,
)
def test_out_other_dtype(contract_method, zdt, odt, rng):
    z = _data(zdt, (5, 7), rng)
    out = np.full(z.shape, np.nan, dtype=odt)
    res = sparsemax(z, axis=0, method=contract_method, out=out)
    assert res is out and out.dtype == odt
    atol = max(tol(odt), tol(result_dtype(zdt)))  # float32 input is computed in float32's result
    assert_allclose(out, sparsemax_ref(z, 0)[0], rtol=0, atol=atol)


@pytest.mark.parametrize("axis", [0, -1])
def test_out_strided_view(contract_method, axis, rng):
    z = rng.normal(size=(5, 7))
    big = np.full((10, 21), 7.0)
    out = big[::2, ::3]
    res = sparsemax(z, axis, method=contract_method, out=out)
    assert res is out
    assert_allclose(big[::2, ::3], sparsemax_ref(z, axis)[0], rtol=0, atol=1e-12)
    untouched = np.ones(big.shape, bool)
    untouched[::2, ::3] = False
    assert np.all(big[untouched] == 7.0)
    # and a reversed view
    out2 = np.full((7, 5), 7.0).T[::-1]
    sparsemax(z, axis, method=contract_method, out=out2)
    assert_allclose(out2, sparsemax_ref(z, axis)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_out_is_input(contract_method, dtype, axis, rng):
    z = _data(dtype, SHAPE, rng)
    expected = sparsemax_ref(z, axis)[0]
    res = sparsemax(z, axis, method=contract_method, out=z)
    assert res is z
    assert_allclose(z, expected, rtol=0, atol=tol(dtype))


def test_out_overlapping_input(contract_method, rng):
    # out is z reversed: the result must still be that of the original z
    z = rng.normal(size=(6, 6))
    expected = sparsemax_ref(z)[0]
    out = z[::-1]
    sparsemax(z, method=contract_method, out=out)
    assert_allclose(z[::-1], expected, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------
# 9. support sizes and long rows


def test_support_of_one(any_method, rng):
    z = rng.normal(size=(4, 50))
    z[np.arange(4), [0, 7, 49, 20]] += 6.0
    p = sparsemax(z, method=any_method)
    expected = np.zeros_like(z)
    expected[np.arange(4), [0, 7, 49, 20]] = 1.0
    assert_array_equal(p, expected)
    assert_array_equal(sparsemax_threshold(z, method=any_method)[1], 1)


@pytest.mark.parametrize("k", [2, 3, 7, 20])
def test_support_of_a_few(any_method, k, rng):
    # k entries within 1/(4k) of each other, far above the rest: the support is exactly them
    z = np.full((3, 60), -2.0) + 0.1 * rng.normal(size=(3, 60))
    idx = rng.permutation(60)[:k]
    z[:, idx] = 3.0 + rng.uniform(0, 1 / (4 * k), size=(3, k))
    p, tau, kk = check_against_reference(z, method=any_method)
    assert_array_equal(kk, k)
    assert np.all(p[:, idx] > 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_support_of_all(any_method, dtype, rng):
    # spread 1e-3 * 1e-1 << 1/n: every entry is in the support
    z = (1e-3 * 0.1 * rng.normal(size=(3, 1000))).astype(dtype)
    p, tau, k = check_against_reference(z, method=any_method)
    assert_array_equal(k, 1000)
    zf = z.astype(np.float64)
    assert_allclose(p, 1e-3 + zf - zf.mean(axis=1, keepdims=True), rtol=0, atol=tol(dtype))


def _long(kind, n, rng):
    if kind == "normal":  # a support of a few dozen
        return rng.normal(size=(2, n))
    if kind == "uniform_half":  # U[0, 8/n]: about n/2 in the support
        return rng.uniform(0, 8.0 / n, size=(2, n))
    if kind == "tiny":  # every entry in the support
        return 1e-7 * rng.normal(size=(2, n))
    if kind == "ascending":  # every entry a new running max
        return np.stack([np.linspace(0, 1e3, n), np.linspace(-1, 0, n) * 1e-4])
    if kind == "near_max_minus_one":  # many candidates at max - 1 + tiny
        z = -1.0 + rng.uniform(0, 2e-6, size=(2, n))
        z[:, rng.integers(0, n, 50)] = -1.0  # exactly at max - 1
        z[:, rng.integers(0, n, 50)] = np.nextafter(-1.0, -2.0)  # just below it
        z[0, n // 2] = 0.0
        z[1, 0] = 0.0
        return z
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["normal", "uniform_half", "tiny", "ascending", "near_max_minus_one"]
)
def test_long_rows(any_method, kind, rng):
    n = 100_000
    z = _long(kind, n, rng)
    p, tau, k = check_against_reference(z, method=any_method)
    assert_on_simplex(p)
    if kind == "uniform_half":
        assert np.all((k > n / 4) & (k < 3 * n / 4))
    if kind == "tiny":
        assert_array_equal(k, n)


@pytest.mark.parametrize("m", [1, 2, 255, 256, 257, 1000, 5000])
def test_radix_sort_kernel(m, rng):
    # tau_sort's radix sort (used from RADIX_FROM candidates on) against np.sort, on
    # non-positive floats with ties, both zeros, subnormals and -1
    from sparsetools.kernels.sort import _radix_sort_decreasing

    pool = np.array([0.0, -0.0, -1.0, -5e-324, -2.2e-308, -0.5, -0.25, -1e-3])
    a = np.where(rng.random(m) < 0.3, rng.choice(pool, m), -rng.random(m))
    expected = np.sort(a)[::-1]
    b = a.copy()
    _radix_sort_decreasing(b, m, np.empty(m))
    assert_array_equal(b, expected)  # -0.0 == 0.0: the two zeros may come in either order


@pytest.mark.parametrize("levels", [3, 50])
def test_many_ties_long_support(any_method, levels, rng):
    # hundreds of candidates on a few values (ties inside and at the edge of the support):
    # tau_sort takes its radix path here, the other methods their long-support paths
    z = rng.integers(0, levels, size=(4, 900)) * (1.0 / (levels * 900))
    z[1] *= 30.0
    check_against_reference(z, method=any_method)


def test_near_max_minus_one_float32(any_method):
    # float32 candidates a few ulps above max - 1: none may be dropped
    steps = np.arange(-3, 200, dtype=np.float32)
    z = np.concatenate([[np.float32(0.0)], np.float32(-1.0) + steps * np.float32(2.0**-24)])
    z = np.stack([z, z[::-1], z + np.float32(512.0)])
    check_against_reference(z, method=any_method)


# --------------------------------------------------------------------------------------
# 11. sparsemax_threshold


@pytest.mark.parametrize(
    "dtype",
    [np.float64, np.float32, np.float16, np.int32, np.bool_],
    ids=lambda d: np.dtype(d).name,
)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_threshold_shape_and_dtype(dtype, axis, rng):
    z = _data(dtype, SHAPE, rng)
    tau, k = sparsemax_threshold(z, axis)
    batch = tuple(s for i, s in enumerate(SHAPE) if i != axis % 3)
    assert isinstance(tau, np.ndarray) and isinstance(k, np.ndarray)
    assert tau.shape == batch and k.shape == batch
    assert tau.dtype == result_dtype(dtype)
    assert k.dtype == np.int64


def test_threshold_1d_is_0d():
    tau, k = sparsemax_threshold(np.array([0.5, 0.2, -3.0], np.float32))
    assert tau.shape == () and k.shape == () and tau.dtype == np.float32 and k.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [0, -1])
def test_threshold_consistent_with_output(any_method, dtype, axis, rng):
    z = (rng.normal(size=(9, 14)) * rng.choice([0.01, 1.0, 10.0], size=(9, 1))).astype(dtype)
    if axis == 0:
        z = z.T.copy()
    tau, k = sparsemax_threshold(z, axis, method=any_method)
    p = sparsemax(z, axis, method=any_method)
    zf = np.moveaxis(z.astype(np.float64), axis, -1)
    t = tau.astype(np.float64)[:, None]
    # the threshold gives the output and mass one
    assert_allclose(np.maximum(zf - t, 0.0), np.moveaxis(p, axis, -1), rtol=0, atol=10 * tol(dtype))
    assert_allclose(np.maximum(zf - t, 0.0).sum(axis=-1), 1.0, rtol=0, atol=100 * tol(dtype))
    # k counts the entries above tau, which are exactly where the output is positive
    assert_array_equal(k, (zf > t).sum(axis=-1))
    assert_array_equal(k, (np.moveaxis(p, axis, -1) > 0).sum(axis=-1))


def test_same_bits_every_run(any_method, rng):
    # deterministic, threads or not: duchi's pivots come from a fixed generator, and every
    # sum's order is fixed at compile time
    z = np.concatenate([rng.standard_normal((40, 3000)), 1e-3 * rng.standard_normal((40, 3000))])
    first = sparsemax(z, method=any_method)
    for _ in range(3):
        assert sparsemax(z, method=any_method).tobytes() == first.tobytes()
    assert sparsemax(z[::-1], method=any_method)[::-1].tobytes() == first.tobytes()


@pytest.mark.parametrize("method", ["duchi", "michelot"])
def test_literature_methods_on_their_worst_rows(method):
    # duchi: a row of one value (a two-way split would take one pivot off per step);
    # michelot: a geometric row, where each step drops only the smallest entries
    n = 20000
    equal = np.zeros((1, n))
    p, tau, k = check_against_reference(equal, method=method)
    assert_array_equal(k, n)
    geometric = -(1.0 - 0.5 ** np.arange(60.0))[None, :]
    check_against_reference(geometric, method=method)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_auto_agrees_with_michelot(dtype, rng):
    # auto makes Michelot's steps as passes over the row (kernels/passes.py) on short rows
    # and dense long ones, and on the candidates otherwise: the same support, and tau from
    # the same set, summed in another order
    from sparsetools.kernels.passes import SHORT

    from harness.bench import ALL_REGIMES, make_rows

    for regime in ALL_REGIMES:
        for n in (1, 2, 8, 16, 100, SHORT, SHORT + 1, 300, 5000):
            z = make_rows((6, n), regime, dtype, seed=int(rng.integers(1000)))
            p, tau, k = check_against_reference(z)
            pm = sparsemax(z, method="michelot")
            tm, km = sparsemax_threshold(z, method="michelot")
            assert_array_equal(k, km)
            eps = np.finfo(dtype).eps
            assert_allclose(p, pm, rtol=0, atol=4 * n * eps)
            assert_allclose(tau, tm, rtol=4 * eps, atol=4 * eps * n)
            assert_array_equal(np.count_nonzero(p, axis=1), k)  # the support is the entries above tau
            assert_on_simplex(p, atol=np.finfo(dtype).eps)


def test_auto_long_rows_of_many_candidates():
    # long rows take the passes once the candidate pass has found one candidate in DENSE
    # entries by the end of a span with entries left to read (at the start of the row or
    # just before its last span); the passes hand a row whose set has become sparse back
    # to the candidate path
    from sparsetools.kernels.passes import DENSE, SPARSE, _gather_below

    n = 4096
    z = np.full((5, n), -5.0)
    z[0, :100] = 1.0  # 100 at the top, 500 just above max - 1: the second set is sparse
    z[0, 100:600] = 0.1
    # the candidates at the end, all of them read by the span before the last one
    z[1, -(n // DENSE + 64):] = np.linspace(0.0, 0.02, n // DENSE + 64)
    z[2] = np.where(np.arange(n) % 2, 0.0, -0.6)  # two levels: half of the row is the support
    z[3] = np.random.default_rng(5).standard_normal(n) * 1e-3
    z[4, ::DENSE + 1] = 0.3  # a few too few candidates: the candidate path
    assert 600 >= n // DENSE and 100 * SPARSE < n
    for r in range(5):  # rows 0-3 take the passes, row 4 the candidate path
        m = _gather_below(z[r], np.empty(n), None)[1]
        assert (m == -1) == (r < 4), (r, m)
    p, tau, k = check_against_reference(z)
    assert k[0] == 100 and k[2] == n // 2 and k[4] == np.count_nonzero(z[4] == 0.3)
    assert_array_equal(k, sparsemax_threshold(z, method="sort")[1])


@pytest.mark.slow
def test_auto_copies_out_a_row_that_keeps_moving(tmp_path):
    # the passes stop after MAX_PASSES and finish the remaining set as a candidate kernel;
    # no float64 row of SHORT entries needs that many steps, so the limit is lowered in a
    # process without the JIT, where the kernels read it at run time
    code = """
    import sys
    import numpy as np
    import sparsetools
    from sparsetools.kernels import passes
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 40))
    z[1] *= 1e-3
    z[2] = -(1.0 - 0.5 ** np.arange(40.0))
    z[3, :3] = -np.inf
    want = sparsetools.sparsemax(z, method="sort")
    for limit in (1, 2, 3):
        passes.MAX_PASSES = limit
        got = sparsetools.sparsemax(z)
        assert np.allclose(got, want, rtol=0, atol=1e-15), (limit, np.abs(got - want).max())
        assert np.array_equal(sparsetools.sparsemax_threshold(z)[1], np.count_nonzero(want, axis=1))
    print("ok")
    """
    from helpers import ok, run_python

    assert ok(run_python(code, env={"NUMBA_DISABLE_JIT": "1"}, timeout=400)).strip() == "ok"


def test_auto_hands_slow_rows_to_duchi(rng):
    from sparsetools.kernels.auto import MAX_STEPS, tau_auto
    from sparsetools.kernels.michelot import michelot_steps

    row = slow_michelot_row()
    assert michelot_steps_of(row) == 25 > MAX_STEPS  # a row of 16839 entries
    y = row - row.max()  # the shifted candidates, as the driver passes them
    t, k, done = michelot_steps(y.copy(), y.size, MAX_STEPS)
    assert not done  # so auto goes on with duchi on the survivors
    assert tau_auto(y.copy(), y.size, np.empty(y.size)) == (-0.5, 2)
    z = np.stack([rng.permutation(row) for _ in range(3)])
    p, tau, k = check_against_reference(z, method="auto")
    assert_array_equal(k, 2)
    # and on a row of the benchmark the steps converge, so auto is michelot
    y = np.sort(rng.standard_normal(5000))[::-1] - 0.0
    y = y[y >= y[0] - 1] - y[0]
    assert michelot_steps(y.copy(), y.size, MAX_STEPS)[2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [64, 100, 527, 1100])
def test_blocked_candidate_pass_is_the_plain_one(dtype, n, rng):
    # the blocked pass (64-entry spans with a few kept entries, then 16-entry blocks: none
    # kept, all kept, many, a few; a 16-entry span and a tail at the end) gives the
    # plain pass's values in its order, also for entries exactly at or an ulp off the cut
    from sparsetools.kernels.common import _candidates_blocked, _candidates_plain, candidates_below, row_max

    @numba.njit
    def below(row, M, s, lo, buf, limit):
        return candidates_below(row, M, s, lo, buf, limit)

    rows = []
    for frac in (0.0, 0.05, 0.4, 1.0):
        z = rng.standard_normal(n).astype(dtype)
        keep = rng.random(n) < frac
        z[keep] = dtype(2.0) - rng.random(keep.sum()).astype(dtype)  # in [max - 1, max]
        z[0] = dtype(2.0)
        rows.append(z)
    edge = np.full(n, -np.inf, dtype)
    edge[::3] = dtype(1.0)  # exactly max - 1: kept
    edge[1::3] = np.nextafter(dtype(1.0), dtype(0.0))  # an ulp below: dropped
    edge[5] = dtype(2.0)
    rows.append(edge)
    for z in rows:
        M, st = row_max(z)
        for s, lo in ((1.0, -1.0), (0.5, np.nextafter(-1.0, 0.0)), (3.0, -1.0)):
            a, b = np.full(n, np.nan), np.full(n, np.nan)
            wa = _candidates_plain(z, M, s, lo, a, 0, 0)
            wb = _candidates_blocked(z, M, s, lo, b, n + 1)
            assert wa == wb
            assert_array_equal(a[:wa], b[:wb])
            kept = (z.astype(np.float64) - M) * s >= lo
            assert wa == np.count_nonzero(kept)
            # with a limit: -1 once the entries kept by the end of a span reach it, while
            # entries are left to read (a row read to its end keeps its candidates); the
            # Python version (NUMBA_DISABLE_JIT) walks the same spans
            ends, i = [], 0
            while i + 16 <= n:
                i += 64 if i + 64 <= n else 16
                if i < n:
                    ends.append(i)
            for limit in (1, wa // 2 + 1, wa, wa + 1):
                want = -1 if any(np.count_nonzero(kept[:e]) >= limit for e in ends) else wa
                assert _candidates_blocked(z, M, s, lo, b, limit) == want
                assert candidates_below(z, M, s, lo, b, limit) == want  # the Python version
                assert below(z, M, s, lo, b, limit) == want  # the compiled one


def test_vector_intrinsics_match_their_python_versions(rng):
    from sparsetools.kernels import special

    @numba.njit
    def run(row, M):
        out = np.empty(4, np.int64)
        m = special.block_mask(row, 3, M, 1.0, -1.0)
        out[0] = m
        out[1] = special.lowest_bit(m)
        out[2] = special.bit_count(m)
        out[3] = special.lowest_bit(np.int64(1) << 40)
        return out

    row = rng.uniform(0.0, 2.0, 40)
    got = run(row, 2.0)
    m = special._py_block_mask(row, 3, 2.0, 1.0, -1.0)
    assert list(got) == [m, special._py_lowest_bit(m), special._py_bit_count(m), 40]

    @numba.njit
    def mx(a, b):
        return special.max_nan(a, b)

    for a, b in [(1.0, 2.0), (np.nan, 1.0), (1.0, np.nan), (-np.inf, -np.inf), (0.0, -0.0), (-0.0, 0.0)]:
        want = special._py_max_nan(a, b)
        for t in (np.float64, np.float32):
            got = mx(t(a), t(b))
            assert np.array_equal(got, want, equal_nan=True) and np.signbit(got) == np.signbit(want)

    @numba.njit
    def sel(c, x):
        return special.if_positive(c, x), special.positive_part(c)

    for c in (2.0, 5e-324, 0.0, -0.0, -1.0, np.nan, np.inf, -np.inf):
        got = sel(c, 3.0)
        want = (special._py_if_positive(c, 3.0), special._py_if_positive(c, c))
        assert got[0] == want[0]
        assert got[1] == want[1] and np.signbit(got[1]) == np.signbit(want[1])  # -0 gives +0

    @numba.njit
    def unit(x):
        return special.unit_on(x)

    from sparsetools.kernels.derivs import indicator

    for t in (np.float64, np.float32):
        tiny = np.finfo(t).smallest_subnormal
        for x in (t(2.0), t(1e-30), tiny, t(0.0), t(-0.0), -tiny, t(-1.0), t(np.inf), t(-np.inf), t(np.nan)):
            got, want = unit(x), special._py_unit_on(x)
            assert type(want) is t
            assert np.array_equal(got, want, equal_nan=True) and np.signbit(got) == np.signbit(want)
            if x >= 0:  # the float64 indicator it stands for, sign of zero included
                with np.errstate(over="ignore"):  # its product overflows (a warning without the JIT)
                    ind = indicator(np.float64(x))
                assert got == ind and np.signbit(got) == np.signbit(ind)
            else:
                assert got == 0.0 or x != x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_short_row_intrinsics(dtype, rng):
    # the masked vector loads of rows of up to 16 entries (auto's rows of 9 to 16) against
    # their Python versions and against the loops they replace
    from sparsetools.kernels import passes, special
    from sparsetools.kernels.common import OK

    @numba.njit
    def both(row, M, s, t):
        return special.short_max(row), special.short_sums(row, M, s, t), special.short_sums(row, M, None, t)

    for n in range(1, special.BLOCK + 1):
        for _ in range(20):
            row = rng.standard_normal(n).astype(dtype)
            row[rng.random(n) < 0.2] = -np.inf
            if n > 2:
                row[1] = row[0]  # a tie
            M = np.float64(row.max())
            if M == -np.inf:
                row[0] = dtype(0.5)
                M = 0.5
            s, t = 1.5, float(rng.uniform(-1.0, -0.05))
            m, (S, c), (S1, c1) = both(row, M, s, t)
            assert m == special._py_short_max(row) == row.max()
            pS, pc = special._py_short_sums(row, M, s, t)
            assert c == pc and S == pytest.approx(pS, rel=1e-15, abs=1e-15)
            pS, pc = special._py_short_sums(row, M, None, t)
            assert c1 == pc and S1 == pytest.approx(pS, rel=1e-15, abs=1e-15)
            # the kernel on them: the same set as the loops, tau within rounding
            a, b = passes._short_block(row, None), passes._short_row(row, None)
            assert a[0] == b[0] and a[2] == b[2] and a[3] == b[3]
            assert a[1] == pytest.approx(b[1], rel=4 * n * 2.0**-52, abs=4 * n * 2.0**-52)
    for bad in ([1.0, np.nan], [np.inf, 1.0], [-np.inf, -np.inf]):
        row = np.array(bad, dtype)
        assert passes._short_block(row, None)[3] == passes._short_row(row, None)[3] != OK
        assert np.array_equal(both(row, 0.0, 1.0, -1.0)[0], special._py_short_max(row), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_row_status(dtype):
    # the vectorised max pass finds a NaN or +inf anywhere in a long row, and a row of -inf
    n = 1000
    z = np.zeros((4, n), dtype)
    z[0, 777] = np.nan
    z[1, 999] = np.inf
    z[2] = -np.inf
    z[3, 3] = np.nan
    z[3, 4] = np.inf
    for r, word in [(0, "NaN"), (1, "inf"), (2, "-inf"), (3, "NaN")]:
        with pytest.raises(ValueError, match=word):
            sparsemax(z[r:r + 1])
