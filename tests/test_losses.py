"""The sparsemax and softmax losses (Martins & Astudillo 2016, eq. 8): closed forms, the formula of the
paper, gradients against finite differences, targets as labels or distributions, large
offsets, -inf scores, and every target error."""

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax

from sparsetools import (
    softmax,
    softmax_loss,
    softmax_loss_and_grad,
    softmax_loss_grad,
    sparsemax,
    sparsemax_loss,
    sparsemax_loss_and_grad,
    sparsemax_loss_grad,
)

from reference import sparsemax_ref

LOSSES = {
    "sparsemax": (sparsemax_loss, sparsemax_loss_grad, sparsemax_loss_and_grad),
    "softmax": (softmax_loss, softmax_loss_grad, softmax_loss_and_grad),
}


def sparsemax_loss_ref(z, q):
    """The paper's formula as written, row by row in float64 (z without -inf)."""
    z = np.asarray(z, np.float64)
    _, tau, _ = sparsemax_ref(z)
    tau = np.expand_dims(tau, -1)
    S = z > tau
    return -(q * z).sum(-1) + 0.5 * np.where(S, z**2 - tau**2, 0.0).sum(-1) + 0.5 * (q**2).sum(-1)


def one_hot(labels, n):
    return np.eye(n)[labels]


def test_two_class_closed_form(method):
    t = np.concatenate([np.linspace(-4, 4, 161), [-1.0, 1.0, -1 - 1e-12, 1 + 1e-12]])
    z = np.stack([t, np.zeros_like(t)], axis=-1)
    loss = sparsemax_loss(z, np.zeros(len(t), int), method=method)
    expected = np.where(t <= -1, -t, np.where(t < 1, (t - 1) ** 2 / 4, 0.0))
    assert_allclose(loss, expected, rtol=1e-14, atol=1e-15)
    assert_array_equal(loss[t >= 1], 0.0)


@pytest.mark.parametrize("n", [1, 3, 10, 300])
def test_sparsemax_loss_matches_paper_formula(method, n, rng):
    z = rng.normal(size=(8, n)) * rng.choice([0.01, 1.0, 10.0], size=(8, 1))
    labels = rng.integers(0, n, size=8)
    y = rng.random((8, n)) < 0.3
    y[np.arange(8), labels] = True
    q = y / y.sum(-1, keepdims=True)
    for target, qd in ((labels, one_hot(labels, n)), (q, q)):
        loss, grad = sparsemax_loss_and_grad(z, target, method=method)
        assert_allclose(loss, sparsemax_loss_ref(z, qd), rtol=1e-11, atol=1e-12)
        assert_allclose(grad, sparsemax(z) - qd, atol=1e-14)
        assert (loss >= 0).all()
        assert_array_equal(sparsemax_loss(z, target, method=method), loss)
        assert_array_equal(sparsemax_loss_grad(z, target, method=method), grad)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_labels_equal_one_hot(kind, rng):
    _, _, both = LOSSES[kind]
    z = rng.normal(size=(2, 3, 5))
    labels = rng.integers(0, 5, size=(2, 3))
    l1, g1 = both(z, labels)
    l2, g2 = both(z, one_hot(labels, 5))
    assert_allclose(l1, l2, rtol=1e-14, atol=1e-15)
    assert_allclose(g1, g2, atol=1e-15)
    assert l1.shape == (2, 3) and g1.shape == z.shape


@pytest.mark.parametrize("kind", sorted(LOSSES))
@pytest.mark.parametrize("target_kind", ["labels", "distribution"])
def test_gradient_equals_finite_differences(kind, target_kind, rng):
    loss_fn, grad_fn, _ = LOSSES[kind]
    n = 6
    z = rng.normal(size=(4, n))
    if target_kind == "labels":
        target = rng.integers(0, n, size=4)
    else:
        target = rng.random((4, n))
        target /= target.sum(-1, keepdims=True)
    grad = grad_fn(z, target)
    h = 1e-6
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        fd = (loss_fn(z + e, target) - loss_fn(z - e, target)) / (2 * h)
        assert_allclose(grad[:, j], fd, atol=1e-7)


def test_zero_exactly_when_sparsemax_equals_target(method, rng):
    z = rng.normal(size=(20, 7))
    p = sparsemax(z)
    assert_array_equal(sparsemax_loss(z, p, method=method), 0.0)
    assert_array_equal(sparsemax_loss_grad(z, p, method=method), 0.0)
    winners = np.argmax(z, -1)
    z[np.arange(20), winners] += 10.0  # sparsemax(z) is then one-hot
    assert_array_equal(sparsemax_loss(z, winners, method=method), 0.0)
    others = (winners + 1) % 7
    assert (sparsemax_loss(z, others, method=method) > 1.0).all()


def test_softmax_loss_against_direct_formula(rng):
    z = rng.normal(size=(5, 9)) * 3
    labels = rng.integers(0, 9, size=5)
    assert_allclose(softmax_loss(z, labels), -log_softmax(z, -1)[np.arange(5), labels], rtol=1e-13)
    q = rng.random((5, 9))
    q[:, ::3] = 0.0
    q /= q.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(q > 0, q * (np.log(q) - log_softmax(z, -1)), 0.0).sum(-1)
    loss, grad = softmax_loss_and_grad(z, q)
    assert_allclose(loss, kl, rtol=1e-12, atol=1e-15)
    assert_allclose(grad, softmax(z) - q, atol=1e-15)
    # KL is 0 when softmax(z) is the target
    assert_allclose(softmax_loss(z, softmax(z)), 0.0, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_large_offsets_float32(kind, rng):
    loss_fn, _, both = LOSSES[kind]
    small = rng.normal(size=(6, 50)).astype(np.float32) * np.float32(8.0)
    z = (np.float32(1e8) + small).astype(np.float32)  # spacing 8 at 1e8: exact multiples
    labels = rng.integers(0, 50, size=6)
    loss, grad = both(z, labels)
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    ref = loss_fn(z.astype(np.float64) - 1e8, labels)  # the same values, shifted exactly
    assert np.isfinite(loss).all()
    assert_allclose(loss, ref, rtol=1e-6, atol=1e-6)


def test_sparsemax_loss_float32_offset_1e8_is_right():
    z = np.array([1e8, 1e8 - 8, 1e8 - 64], np.float32)
    # shifted: [0, -8, -64]; sparsemax = [1, 0, 0]; gold 1: L = 1/2 (1 + 1) + (tau - z1) = 1 + 7
    assert float(sparsemax_loss(z, 1)) == 8.0
    assert float(sparsemax_loss(z, 0)) == 0.0


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_neginf_scores(kind, rng):
    loss_fn, _, both = LOSSES[kind]
    z = rng.normal(size=(3, 5))
    z[:, 1] = -np.inf
    labels = np.array([0, 2, 4])
    loss, grad = both(z, labels)
    kept = np.delete(z, 1, axis=1)
    loss_kept, grad_kept = both(kept, np.array([0, 1, 3]))
    assert_allclose(loss, loss_kept, rtol=1e-14)
    assert_allclose(np.delete(grad, 1, axis=1), grad_kept, atol=1e-15)
    assert_array_equal(grad[:, 1], 0.0)
    # the target puts mass on the masked entry: +inf loss, finite gradient
    loss, grad = both(z, np.array([1, 1, 0]))
    assert loss[0] == np.inf and loss[1] == np.inf and np.isfinite(loss[2])
    assert np.isfinite(grad).all()
    assert_array_equal(grad[:2, 1], -1.0)
    q = np.full((3, 5), 0.25)
    q[:, 1] = 0.0
    assert np.isfinite(loss_fn(z, q)).all()
    q[0] = 0.2
    assert loss_fn(z, q)[0] == np.inf


@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 1), ((3, 4, 5), 0), ((6,), 0), ((6,), -1)])
def test_axis_and_shapes(shape, axis, rng, method):
    z = rng.normal(size=shape)
    n = shape[axis]
    batch = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    labels = rng.integers(0, n, size=batch)
    loss, grad = sparsemax_loss_and_grad(z, labels, axis=axis, method=method)
    assert loss.shape == batch and grad.shape == shape
    zr = np.moveaxis(z, axis, -1).reshape(-1, n)
    lr = labels.reshape(-1)
    assert_allclose(loss.reshape(-1), sparsemax_loss_ref(zr, one_hot(lr, n)), rtol=1e-12, atol=1e-14)
    q = np.moveaxis(one_hot(labels, n), -1, axis)
    assert_allclose(sparsemax_loss(z, q, axis=axis, method=method), loss, rtol=1e-14)


def test_methods_agree(rng):
    z = rng.normal(size=(10, 400)) * 1e-2
    labels = rng.integers(0, 400, size=10)
    ref = sparsemax_loss_and_grad(z, labels, method="sort")
    for m in ("heap", "bisect", "condat", "auto"):
        loss, grad = sparsemax_loss_and_grad(z, labels, method=m)
        assert_allclose(loss, ref[0], rtol=1e-12)
        assert_allclose(grad, ref[1], atol=1e-14)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_grad_out(kind, rng):
    _, grad_fn, both = LOSSES[kind]
    z = rng.normal(size=(4, 6))
    labels = rng.integers(0, 6, size=4)
    out = np.empty((6, 4)).T
    assert grad_fn(z, labels, out=out) is out
    assert_allclose(out, grad_fn(z, labels))
    out32 = np.empty((4, 6), np.float32)
    loss, g = both(z, labels, out=out32)
    assert g is out32
    assert_allclose(out32, grad_fn(z, labels), atol=1e-7)


# -- errors --------------------------------------------------------------------------------

def _with_row(q, r, values):
    q = q.copy()
    q[r] = values
    return q


TARGET_ERRORS = [
    # (target builder, exception, message)
    (lambda q, lab: np.where(np.arange(4) == 2, 5, lab), ValueError,
     "target has label 5 in row 2 (rows run along axis 1; 1 bad row(s) in all), outside [0, 5)"),
    (lambda q, lab: np.where(np.arange(4) >= 1, -1, lab), ValueError,
     "target has label -1 in row 1 (rows run along axis 1; 3 bad row(s) in all), outside [0, 5)"),
    (lambda q, lab: lab.astype(float), TypeError, "labels must be integers"),
    (lambda q, lab: q[:, :4], ValueError, "target has shape (4, 4); it must be integer class labels of shape (4,)"),
    (lambda q, lab: lab[:3], ValueError, "target has shape (3,)"),
    (lambda q, lab: _with_row(q, 3, [1.5, -0.5, 0.0, 0.0, 0.0]), ValueError,
     "target has a negative entry in row 3"),
    (lambda q, lab: _with_row(q, 1, [0.25, 0.25, 0.5, 0.5, 0.5]), ValueError,
     "target sums to 2.0 in row 1 (rows run along axis 1; 1 bad row(s) in all), not 1"),
    (lambda q, lab: np.where((np.arange(4)[:, None] == 2) & (np.arange(5) == 4), np.nan, q), ValueError,
     "target contains NaN in row 2"),
    (lambda q, lab: np.where((np.arange(4)[:, None] == 0) & (np.arange(5) == 4), np.inf, q), ValueError,
     "target contains inf in row 0"),
]


@pytest.mark.parametrize("kind", sorted(LOSSES))
@pytest.mark.parametrize("case", range(len(TARGET_ERRORS)))
def test_target_errors(kind, case, rng):
    build, exc, msg = TARGET_ERRORS[case]
    z = rng.normal(size=(4, 5))
    q = rng.random((4, 5))
    q /= q.sum(-1, keepdims=True)
    lab = rng.integers(0, 5, size=4)
    target = build(q, lab)
    for fn in LOSSES[kind]:
        out = np.full((4, 5), 7.0)
        with pytest.raises(exc, match=re.escape(msg)):
            if fn.__name__.endswith("loss"):
                fn(z, target)
            else:
                fn(z, target, out=out)
        assert_array_equal(out, 7.0)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_score_errors_come_first_and_name_the_row(kind, rng):
    z = rng.normal(size=(4, 5))
    z[1, 2] = np.nan
    z[3] = -np.inf
    with pytest.raises(ValueError, match=re.escape("z contains NaN in row 1 (rows run along axis 1; 2 bad")):
        LOSSES[kind][0](z, np.array([0, 9, 0, 0]))
    z[1, 2] = 0.0
    with pytest.raises(ValueError, match=re.escape("z has no finite entry in row 3")):
        LOSSES[kind][2](z, np.zeros(4, int))


def test_distribution_tolerance(rng):
    z = rng.normal(size=(2, 1000))
    q32 = rng.random((2, 1000)).astype(np.float32)
    q32 /= q32.sum(-1, keepdims=True)  # normalised in float32: off by rounding only
    assert np.isfinite(sparsemax_loss(z, q32)).all()
    q = rng.random((2, 1000))
    q /= q.sum(-1, keepdims=True)
    q[1, 0] += 1e-9
    with pytest.raises(ValueError, match="target sums to 1.000000001 in row 1"):
        sparsemax_loss(z, q)
    y = rng.random((2, 1000)) < 0.1  # a 0/1 label matrix must be normalised first
    with pytest.raises(ValueError, match=re.escape("normalise it, e.g. q = y / y.sum(axis=1, keepdims=True)")):
        sparsemax_loss(z, y)
    assert np.isfinite(sparsemax_loss(z, y / y.sum(axis=1, keepdims=True))).all()


def test_uint64_labels_past_int64(rng):
    z = rng.normal(size=(2, 3))
    with pytest.raises(ValueError, match="target has label 18446744073709551615 in row 1"):
        sparsemax_loss(z, np.array([0, 2**64 - 1], np.uint64))
