"""Property tests (hypothesis): drawn dtypes, shapes, axes, masks and methods, checked
against the NumPy reference with dtype-aware tolerances, plus the properties of the
projection. Pinned examples cover ties, -inf masks, huge offsets and n = 1."""

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from sparsetools import METHODS, sparsemax, sparsemax_threshold

from reference import result_dtype, sparsemax_ref, tol

ALL_METHODS = METHODS + ("auto",)
methods = st.sampled_from(ALL_METHODS)
inf = np.inf


def _mask_rows(draw, z, axis):
    """Put -inf in a drawn subset of ``z``, leaving at least one finite entry per row."""
    mask = draw(hnp.arrays(np.bool_, z.shape))
    m = np.moveaxis(mask, axis, -1)  # a view
    for idx in np.ndindex(m.shape[:-1]):
        if m[idx].all():
            m[idx + (draw(st.integers(0, m.shape[-1] - 1)),)] = False
    z = z.copy()
    z[mask] = -inf
    return z


@st.composite
def scores(draw, dtypes=(np.float64, np.float32, np.float16, np.int64, np.bool_), masks=True):
    """(z, axis): a small array of valid scores and an axis, negative or not."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    if dtype.kind == "f":
        bound = 1e3 if dtype.itemsize == 2 else 1e6
        elements = st.floats(
            -bound, bound, allow_nan=False, allow_infinity=False, width=8 * dtype.itemsize
        )
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        elements = st.integers(-5, 5)
    z = draw(hnp.arrays(dtype, shape, elements=elements))
    if masks and dtype.kind == "f" and draw(st.booleans()):
        z = _mask_rows(draw, z, axis)
    return z, axis


def _check_k(z, axis, tau, k, eps):
    """count(z > tau + eps) <= k <= count(z > tau - eps) along ``axis``."""
    zf = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
    t = np.asarray(tau, dtype=np.float64)[..., None]
    e = eps * np.maximum(1.0, np.abs(t))
    assert np.all((zf > t + e).sum(axis=-1) <= k)
    assert np.all(k <= (zf > t - e).sum(axis=-1))


EXAMPLES = [
    # ties: all equal, repeated maxima, an entry exactly at tau
    (np.array([[1.0, 1.0, 1.0], [0.5, 0.5, -0.5]]), -1),
    (np.array([1.0, 0.5, 0.25]), 0),
    (np.array([[3, 3, 1], [2, 1, 1]]), 1),
    # -inf masks, including first in the row and a single finite entry
    (np.array([[-inf, 1.0, 2.0], [-inf, -inf, 0.0]]), 1),
    (np.array([[-inf, 0.5], [0.3, -inf], [-inf, 0.4]], dtype=np.float32), 0),
    # huge offsets
    (1e6 + np.array([0.1, 0.7, -0.3, 0.7]), -1),
    (np.array([[1e6, 1e6 - 0.5, -1e6]], dtype=np.float32), -1),
    # n = 1
    (np.array([[3.0], [-2.0]]), 1),
    (np.array([5.0], dtype=np.float16), 0),
]


def _examples(test):
    for i, case in enumerate(EXAMPLES):
        test = example(case=case, method=ALL_METHODS[i % len(ALL_METHODS)])(test)
    return test


@settings(deadline=None, max_examples=100)
@_examples
@given(case=scores(), method=methods)
def test_matches_reference(case, method):
    z, axis = case
    rdt = result_dtype(z.dtype)
    atol = tol(rdt)
    p = sparsemax(z, axis, method=method)
    assert p.dtype == rdt and p.shape == z.shape
    p_ref, tau_ref, k_ref = sparsemax_ref(z, axis)
    assert_allclose(p, p_ref, rtol=0, atol=atol)
    pf = p.astype(np.float64)
    assert np.all(pf >= 0)
    assert_allclose(pf.sum(axis=axis), 1.0, rtol=0, atol=atol * z.shape[axis])
    assert np.all(pf[z == -inf] == 0)
    tau, k = sparsemax_threshold(z, axis, method=method)
    assert tau.dtype == rdt and tau.shape == tau_ref.shape
    assert k.dtype == np.int64 and k.shape == k_ref.shape
    assert_allclose(tau.astype(np.float64), tau_ref, rtol=atol, atol=atol)
    _check_k(z, axis, tau_ref, k, eps=atol)


@settings(deadline=None, max_examples=60)
@example(case=EXAMPLES[0])
@example(case=EXAMPLES[3])
@given(case=scores(dtypes=(np.float64, np.float32)))
def test_methods_agree(case):
    z, axis = case
    atol = tol(z.dtype)
    ref_p = sparsemax(z, axis, method="sort")
    ref_tau, ref_k = sparsemax_threshold(z, axis, method="sort")
    for m in ALL_METHODS[1:]:
        assert_allclose(sparsemax(z, axis, method=m), ref_p, rtol=0, atol=atol, err_msg=m)
        tau, k = sparsemax_threshold(z, axis, method=m)
        assert_allclose(tau, ref_tau, rtol=atol, atol=atol, err_msg=m)
        _check_k(z, axis, ref_tau, k, eps=atol)


@st.composite
def grid_scores(draw):
    """Scores on a grid of 1/8 plus a whole offset: every sum is exact, ties are common,
    and tau is either a grid point (computed exactly) or far from every score."""
    dtype = np.dtype(draw(st.sampled_from([np.float64, np.float32])))
    big = 10**6 if dtype == np.float64 else 10**3
    offset = draw(st.sampled_from([0, 1, -7]) | st.integers(-big, big))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=7))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    steps = draw(hnp.arrays(np.int64, shape, elements=st.integers(-20, 20)))
    z = (steps / 8.0 + offset).astype(dtype)
    if draw(st.booleans()):
        z = _mask_rows(draw, z, axis)
    return z, axis


@settings(deadline=None, max_examples=100)
@example(case=(np.array([1.0, 0.5, 0.25]), 0))
@example(case=(np.array([[0.25, 0.75, 0.0, 0.0]]), 1))
@example(case=(np.array([0.0, -0.25, -0.25, -0.5]) + 1e6, 0))
@example(case=(np.array([[2.0, 1.0, 1.0], [-inf, 1.0, 1.0]], dtype=np.float32), -1))
@given(case=grid_scores())
def test_grid_exact(case):
    # on the grid the support size is unambiguous: k counts exactly the entries > tau
    z, axis = case
    p_ref, tau_ref, k_ref = sparsemax_ref(z, axis)
    zf = np.moveaxis(z.astype(np.float64), axis, -1)
    for m in ALL_METHODS:
        p = sparsemax(z, axis, method=m)
        assert_allclose(p, p_ref, rtol=0, atol=tol(z.dtype), err_msg=m)
        tau, k = sparsemax_threshold(z, axis, method=m)
        assert_allclose(
            tau.astype(np.float64), tau_ref, rtol=tol(z.dtype), atol=tol(z.dtype), err_msg=m
        )
        assert_array_equal(k, k_ref, err_msg=f"{m}: k must count the entries > tau")
        assert_array_equal(k, (zf > tau_ref[..., None]).sum(axis=-1), err_msg=m)


@settings(deadline=None, max_examples=60)
@example(case=(np.array([0.1, 0.7, -0.3]), -1), c=1e6, method="bisect")
@example(case=(np.array([[0.1, 0.7, -0.3]], dtype=np.float32), -1), c=1e3, method="condat")
@given(
    case=scores(dtypes=(np.float64, np.float32), masks=False),
    c=st.sampled_from([1e6, -1e6, 1e3, -1e3, 0.5]) | st.floats(-1e6, 1e6),
    method=methods,
)
def test_shift_invariance(case, c, method):
    z, axis = case
    dtype = z.dtype.type
    if dtype == np.float32:
        c = float(np.clip(c, -1e3, 1e3))  # float32 holds offsets up to 1e3 usefully
    z = np.clip(z, -10, 10).astype(dtype)
    zc = z + dtype(c)
    # z + c rounds by half an ulp of |c| + 10 per entry; the projection moves by as much
    atol = tol(z.dtype) + 4 * float(np.spacing(dtype(abs(c) + 10)))
    assert_allclose(
        sparsemax(zc, axis, method=method), sparsemax(z, axis, method=method), rtol=0, atol=atol
    )


@settings(deadline=None, max_examples=40)
@given(case=scores(dtypes=(np.float64,)), method=methods, data=st.data())
def test_permutation_equivariance(case, method, data):
    z, axis = case
    perm = np.array(data.draw(st.permutations(range(z.shape[axis]))))
    p = sparsemax(z, axis, method=method)
    pp = sparsemax(np.take(z, perm, axis=axis), axis, method=method)
    assert_allclose(pp, np.take(p, perm, axis=axis), rtol=0, atol=1e-12)


@settings(deadline=None, max_examples=40)
@example(w=np.array([0.0, 1.0, 0.0]), dtype=np.float64, method="bisect")
@example(w=np.array([[1.0, 3.0, 0.0, 0.0]]), dtype=np.float64, method="heap")
@given(
    w=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=8), elements=st.floats(0, 1)
    ),
    dtype=st.sampled_from([np.float64, np.float32]),
    method=methods,
)
def test_idempotent_on_simplex(w, dtype, method):
    w = w.copy()
    w[w.sum(axis=-1) == 0] = 1.0
    p = (w / w.sum(axis=-1, keepdims=True)).astype(dtype)
    assert_allclose(sparsemax(p, method=method), p, rtol=0, atol=tol(dtype))


@settings(deadline=None, max_examples=60)
@example(t=1.0, method="sort")
@example(t=-1.0, method="condat")
@example(t=0.0, method="bisect")
@given(t=st.floats(-1e3, 1e3), method=methods)
def test_hard_sigmoid(t, method):
    p = sparsemax(np.array([t, 0.0]), method=method)
    expected = np.clip((t + 1) / 2, 0, 1)
    assert abs(p[0] - expected) <= 1e-15
    assert abs(p[1] - (1 - expected)) <= 1e-15


@settings(deadline=None, max_examples=30)
@given(
    z=hnp.arrays(
        st.sampled_from([np.float64, np.float32, np.float16]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).map(lambda s: s[:-1] + (1,)),
        elements={"allow_nan": False, "allow_infinity": False},
    ),
    method=methods,
)
def test_single_entry_rows(z, method):
    p = sparsemax(z, method=method)
    assert p.dtype == z.dtype
    assert_array_equal(p, 1.0)


@settings(deadline=None, max_examples=40)
@given(
    case=scores(dtypes=(np.float64, np.float32, np.float16, np.int64)),
    out_dtype=st.sampled_from([np.float64, np.float32]),
    order=st.sampled_from("CF"),
    method=methods,
)
def test_out_matches_return(case, out_dtype, order, method):
    z, axis = case
    out = np.full(z.shape, np.nan, dtype=out_dtype, order=order)
    res = sparsemax(z, axis, method=method, out=out)
    assert res is out
    expected = sparsemax(z, axis, method=method).astype(out_dtype)
    # exact, except that float16 input is returned rounded to float16 but written to out
    # straight from its float32 result
    assert_allclose(out, expected, rtol=0, atol=tol(np.float16) if z.dtype == np.float16 else 0)
