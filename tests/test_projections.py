"""The projections beyond the unit simplex (the simplex of radius r, the l1 ball, the
k-sparse simplex), their Jacobian products, and the binary sparse functions: against the
quadratic program (exactly, in rationals; and scipy's solver), against optax where it is
installed, the identities between them, and every error."""

from fractions import Fraction

import numpy as np
import pytest

import sparsetools as st
from sparsetools.maps import MAPS

# ---- exact references, in rationals: the quadratic programs' solutions by their KKT
# conditions (the sorted scan), exact for float inputs


def _simplex_exact(z, r):
    zs = [Fraction(float(x)) for x in z]
    r = Fraction(float(r))
    s = sorted(zs, reverse=True)
    acc = Fraction(0)
    tau = None
    for j, x in enumerate(s, 1):
        acc += x
        t = (acc - r) / j
        if x > t:
            tau = t
    return [max(x - tau, Fraction(0)) for x in zs]


def _l1_exact(z, r):
    zs = [Fraction(float(x)) for x in z]
    if sum(abs(x) for x in zs) <= Fraction(float(r)):
        return zs
    p = _simplex_exact([abs(float(x)) for x in z], r)
    return [pi if x >= 0 else -pi for pi, x in zip(p, zs)]


def _sparse_exact(z, k, r):
    n = len(z)
    order = sorted(range(n), key=lambda i: (-z[i], i))[:k]  # ties: the lowest index first
    p = _simplex_exact([z[i] for i in order], r)
    out = [Fraction(0)] * n
    for i, v in zip(order, p):
        out[i] = v
    return out


def _close(got, exact, r=1.0):
    exact = np.array([float(x) for x in exact])
    tol = 8 * np.finfo(np.float64).eps * max(1.0, float(np.max(np.abs(exact))), r)
    np.testing.assert_allclose(got, exact, rtol=0, atol=tol)


RADII = (1.0, 0.3, 2.5, 1e3)


@pytest.mark.parametrize("radius", RADII)
@pytest.mark.parametrize("method", ["auto"] + list(st.METHODS))
def test_simplex_is_the_quadratic_programs_solution(radius, method, rng):
    z = rng.standard_normal((12, 9)) * rng.choice([0.01, 1.0, 30.0])
    p = st.project_simplex(z, radius, method=method)
    for row, got in zip(z, p):
        _close(got, _simplex_exact(row, radius), radius)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(-1), radius, rtol=1e-13)


@pytest.mark.parametrize("radius", RADII)
def test_l1_ball_is_the_quadratic_programs_solution(radius, rng):
    z = rng.standard_normal((20, 7)) * rng.choice([0.05, 1.0, 100.0])
    x = st.project_l1_ball(z, radius)
    for row, got in zip(z, x):
        _close(got, _l1_exact(row, radius), radius)
    assert np.all(np.abs(x).sum(-1) <= radius * (1 + 1e-13))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 20])
def test_sparse_simplex_is_the_k_largest_projected(k, rng):
    z = rng.standard_normal((15, 8))
    z[3] = [0.5, 0.2, 0.5, 0.5, -1, 0.2, 0.5, 0.1]  # ties at the k-th place
    for radius in (1.0, 3.0):
        p = st.project_sparse_simplex(z, k, radius)
        assert np.all(np.count_nonzero(p, -1) <= k)
        for row, got in zip(z, p):
            _close(got, _sparse_exact(list(row), k, radius), radius)


def test_ties_at_the_kth_place_take_the_lowest_index():
    z = np.array([0.1, 0.7, 0.7, 0.7, 0.0])
    np.testing.assert_array_equal(st.project_sparse_simplex(z, 2), [0, 0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(st.project_sparse_simplex(z, 2, 4.0), [0, 2, 2, 0, 0])


def test_against_scipys_quadratic_program(rng):
    from scipy.optimize import minimize

    for _ in range(4):
        z = rng.standard_normal(6)
        r = float(rng.uniform(0.5, 2))
        cons = [{"type": "eq", "fun": lambda x: x.sum() - r}]
        res = minimize(lambda x: 0.5 * np.sum((x - z) ** 2), np.full(6, r / 6), jac=lambda x: x - z,
                       bounds=[(0, None)] * 6, constraints=cons, method="SLSQP", options={"ftol": 1e-14})
        np.testing.assert_allclose(st.project_simplex(z, r), res.x, atol=1e-7)
        # the l1 ball as a QP in (x+, x-): x = x+ - x-, both >= 0, sum(x+ + x-) <= r
        zz = z * 3
        cons = [{"type": "ineq", "fun": lambda u: r - u.sum()}]
        res = minimize(lambda u: 0.5 * np.sum((u[:6] - u[6:] - zz) ** 2), np.zeros(12),
                       bounds=[(0, None)] * 12, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500})
        np.testing.assert_allclose(st.project_l1_ball(zz, r), res.x[:6] - res.x[6:], atol=1e-6)


# ---- identities


def test_radius_one_is_sparsemax_bit_for_bit(rng):
    z = rng.standard_normal((30, 50))
    for m in ("auto",) + st.METHODS:
        np.testing.assert_array_equal(st.project_simplex(z, method=m), st.sparsemax(z, method=m))
        np.testing.assert_array_equal(st.project_simplex(z.astype(np.float32), method=m),
                                      st.sparsemax(z.astype(np.float32), method=m))


def test_radius_r_is_r_times_sparsemax_of_z_over_r(rng):
    z = rng.standard_normal((20, 40)) * 3
    for r in (0.1, 2.0, 7.5):
        np.testing.assert_allclose(st.project_simplex(z, r), r * st.sparsemax(z / r), rtol=0, atol=1e-13 * r)


def test_k_at_least_n_is_the_simplex(rng):
    # the same support and tau from it (the simplex's auto sums it in another order)
    z = rng.standard_normal((10, 6))
    for k in (6, 7, 100):
        p = st.project_sparse_simplex(z, k, 2.0)
        np.testing.assert_allclose(p, st.project_simplex(z, 2.0), rtol=0, atol=8 * np.finfo(np.float64).eps)
        np.testing.assert_array_equal(p, st.project_simplex(z, 2.0, method="michelot"))


def test_inside_the_ball_is_returned_bit_for_bit(rng):
    z = rng.standard_normal((10, 6))
    z /= np.abs(z).sum(-1, keepdims=True) * 1.5
    for dt in (np.float64, np.float32):
        x = z.astype(dt)
        got = st.project_l1_ball(x)
        assert got.dtype == dt and got is not x
        np.testing.assert_array_equal(got, x)


def test_outside_the_ball_is_the_signed_simplex(rng):
    z = rng.standard_normal((10, 6)) * 4
    np.testing.assert_array_equal(st.project_l1_ball(z, 2.0), np.sign(z) * st.project_simplex(np.abs(z), 2.0))


def test_per_row_parameters_and_any_axis(rng):
    z = rng.standard_normal((4, 6, 5))
    r = rng.uniform(0.5, 3, (4, 5))
    got = st.project_simplex(z, r, axis=1)
    for i in range(4):
        for j in range(5):
            np.testing.assert_array_equal(got[i, :, j], st.project_simplex(z[i, :, j], r[i, j]))
    k = rng.integers(1, 7, (4, 5))
    got = st.project_sparse_simplex(z, k, r, axis=1)
    for i in range(4):
        for j in range(5):
            np.testing.assert_array_equal(got[i, :, j], st.project_sparse_simplex(z[i, :, j], k[i, j], r[i, j]))
    got = st.project_l1_ball(z, r[:, :1], axis=1)  # broadcast to the batch shape
    np.testing.assert_array_equal(got, st.project_l1_ball(z, np.broadcast_to(r[:, :1], (4, 5)), axis=1))


def test_masks_and_out(rng):
    z = rng.standard_normal((5, 6))
    z[:, 0] = -np.inf
    for fn, args in ((st.project_simplex, (2.0,)), (st.project_l1_ball, (0.5,)), (st.project_sparse_simplex, (3,))):
        p = fn(z, *args)
        assert np.all(p[:, 0] == 0) and np.all(np.isfinite(p))
        out = np.full_like(z, np.nan)
        assert fn(z, *args, out=out) is out
        np.testing.assert_array_equal(out, p)


def test_float32_in_its_own_precision(rng):
    z = rng.standard_normal((8, 30)).astype(np.float32)
    for fn, args in ((st.project_simplex, (3.0,)), (st.project_l1_ball, (3.0,)), (st.project_sparse_simplex, (4,))):
        p = fn(z, *args)
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, fn(z.astype(np.float64), *args), atol=2e-6)


# ---- Jacobian products


def _fd_jvp(fn, z, v, h=1e-7):
    return (fn(z + h * v) - fn(z - h * v)) / (2 * h)


@pytest.mark.parametrize("kind", ["simplex", "l1_out", "l1_in", "sparse"])
def test_jvp_is_the_derivative_and_symmetric(kind, rng):
    z = rng.standard_normal((6, 9)) * 2
    v, u = rng.standard_normal((2, 6, 9))
    if kind == "simplex":
        fn, jvp, vjp = (lambda x: st.project_simplex(x, 1.7)), st.project_simplex_jvp, st.project_simplex_vjp
        args = (1.7,)
    elif kind.startswith("l1"):
        r = 2.0 if kind == "l1_out" else 1e3
        fn, jvp, vjp = (lambda x: st.project_l1_ball(x, r)), st.project_l1_ball_jvp, st.project_l1_ball_vjp
        args = (r,)
    else:
        fn, jvp, vjp = (lambda x: st.project_sparse_simplex(x, 3, 1.5)), st.project_sparse_simplex_jvp, \
            st.project_sparse_simplex_vjp
        args = (3, 1.5)
    p = fn(z)
    Jv = jvp(p, v, *args)
    np.testing.assert_allclose(Jv, _fd_jvp(fn, z, v), atol=1e-6)
    np.testing.assert_allclose(np.sum(u * Jv, -1), np.sum(vjp(p, u, *args) * v, -1), atol=1e-12)
    if kind == "l1_in":
        np.testing.assert_array_equal(Jv, v)


def test_l1_ball_jacobian_rows():
    from sparsetools import _batched

    p = np.array([[0.5, -0.5, 0.0], [0.1, -0.2, 0.0]])
    out = np.empty((2, 3, 3))
    status = np.empty(2, np.int8)
    _batched.jacobian_rows(p, out, status, np.array([1.0]), literal=MAPS["l1_ball"].code)
    assert not status.any()
    np.testing.assert_allclose(out[0], [[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 0]])
    np.testing.assert_array_equal(out[1], np.eye(3))


# ---- optax, where installed


def test_against_optax(rng):
    jax = pytest.importorskip("jax")
    proj = pytest.importorskip("optax.projections")
    with jax.enable_x64(True):  # (a context: the flag is global, and other tests run in float32)
        _against_optax(jax, proj, rng)


def _against_optax(jax, proj, rng):
    z = rng.standard_normal((16, 12)) * 2
    for r in (1.0, 2.5):
        want = np.stack([np.asarray(proj.projection_simplex(jax.numpy.asarray(row), r)) for row in z])
        np.testing.assert_allclose(st.project_simplex(z, r), want, atol=1e-12)
        want = np.stack([np.asarray(proj.projection_l1_ball(jax.numpy.asarray(row), r)) for row in z])
        np.testing.assert_allclose(st.project_l1_ball(z, r), want, atol=1e-12)
    x = np.linspace(-3, 3, 25)
    np.testing.assert_allclose(st.sparse_sigmoid(x), np.asarray(jax.nn.sparse_sigmoid(x)), atol=1e-15)
    np.testing.assert_allclose(st.sparse_plus(x), np.asarray(jax.nn.sparse_plus(x)), atol=1e-15)
    losses = pytest.importorskip("optax.losses")
    for lab in (0.0, 1.0):
        want = np.asarray(losses.sparsemax_loss(x, np.full_like(x, lab)))
        np.testing.assert_allclose(st.sparsemax_binary_loss(x, lab), want, atol=1e-14)


# ---- the binary functions


def test_binary_functions_are_the_two_class_sparsemax(rng):
    x = np.concatenate([rng.standard_normal(50) * 2, [-1.0, 1.0, 0.0]])
    pair = np.stack([x, np.zeros_like(x)], -1)
    np.testing.assert_allclose(st.sparse_sigmoid(x), st.sparsemax(pair)[:, 0], atol=1e-15)
    h = 1e-6
    np.testing.assert_allclose((st.sparse_plus(x + h) - st.sparse_plus(x - h)) / (2 * h), st.sparse_sigmoid(x),
                               atol=1e-6)
    for t in (0.0, 1.0):  # 0/1 labels: the sparsemax loss of the pair
        lab = np.full(x.shape, 0 if t else 1)  # class 0 is x's entry
        np.testing.assert_allclose(st.sparsemax_binary_loss(x, t), st.sparsemax_loss(pair, lab), atol=1e-14)
    t = rng.uniform(0, 1, x.shape)
    loss = st.sparsemax_binary_loss(x, t)
    assert np.all(loss >= 0)
    np.testing.assert_allclose(loss, st.sparse_plus(x) - t * x - t * (1 - t), atol=1e-12)
    np.testing.assert_array_equal(st.sparsemax_binary_loss_grad(x, t), st.sparse_sigmoid(x) - t)
    g = (st.sparsemax_binary_loss(x + h, t) - st.sparsemax_binary_loss(x - h, t)) / (2 * h)
    np.testing.assert_allclose(g, st.sparsemax_binary_loss_grad(x, t), atol=1e-6)
    # zero exactly where sparse_sigmoid(x) equals the label
    np.testing.assert_array_equal(st.sparsemax_binary_loss(x, st.sparse_sigmoid(x)), 0)


def test_binary_dtypes():
    assert st.sparse_sigmoid(np.float32(0.3)).dtype == np.float32
    assert st.sparse_plus(np.arange(3)).dtype == np.float64
    assert st.sparsemax_binary_loss(np.zeros(3, np.float16), 1).dtype == np.float16


# ---- errors


def test_errors():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"radius is 0.0; it must be a positive finite number"):
        st.project_simplex(z, 0.0)
    with pytest.raises(ValueError, match=r"radius is -1.0 in row 2 \(1 bad in all\)"):
        st.project_l1_ball(z, [1.0, 2.0, -1.0])
    with pytest.raises(ValueError, match="radius is inf"):
        st.project_simplex(z, np.inf)
    with pytest.raises(ValueError, match="radius is nan"):
        st.project_simplex(z, np.nan)
    with pytest.raises(ValueError, match="radius has shape"):
        st.project_simplex(z, np.ones(4))
    with pytest.raises(TypeError, match="radius must be"):
        st.project_simplex(z, True)
    with pytest.raises(ValueError, match="k is 0.0; it must be an integer >= 1"):
        st.project_sparse_simplex(z, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        st.project_sparse_simplex(z, 2.5)
    bad = z.copy()
    bad[1, 2] = np.nan
    for fn in (st.project_simplex, st.project_l1_ball):
        with pytest.raises(ValueError, match=r"z contains NaN in row 1"):
            fn(bad)
    with pytest.raises(ValueError, match=r"z contains NaN in row 1"):
        st.project_sparse_simplex(bad, 2)
    out = np.full((3, 4), 7.0)
    with pytest.raises(ValueError):
        st.project_simplex(bad, out=out)
    assert np.all(out == 7.0)  # nothing half-written
    with pytest.raises(ValueError, match="unknown method"):
        st.project_simplex(z, method="nope")
    with pytest.raises(ValueError, match="no finite entry"):
        st.project_l1_ball(np.full((2, 3), -np.inf))
    with pytest.raises(ValueError, match=r"z contains \+inf"):
        st.project_l1_ball(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match=r"x contains NaN at index \(1,\)"):
        st.sparse_sigmoid([0.0, np.nan])
    with pytest.raises(ValueError, match=r"labels has 1.5 at index \(2,\)"):
        st.sparsemax_binary_loss(np.zeros(3), [0, 1, 1.5])
    with pytest.raises(ValueError, match="does not broadcast"):
        st.sparsemax_binary_loss(np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError):
        st.sparse_plus(np.zeros(2, complex))
    with pytest.raises(ValueError, match="v has shape"):
        st.project_simplex_jvp(np.ones((2, 3)) / 3, np.ones((2, 2)))


# ---- the capped simplex


def _capped_exact(z, b, u):
    zs = [Fraction(float(x)) for x in z]
    b, u = Fraction(float(b)), Fraction(float(u))

    def f(t):
        return sum(min(max(x - t, Fraction(0)), u) for x in zs)

    pts = sorted({x for x in zs} | {x - u for x in zs})
    # f is non-increasing and linear between the points: find the piece where it meets b
    for lo, hi in zip(pts, pts[1:]):
        flo, fhi = f(lo), f(hi)
        if flo >= b >= fhi:
            t = lo if flo == fhi else lo + (flo - b) * (hi - lo) / (flo - fhi)
            return [min(max(x - t, Fraction(0)), u) for x in zs]
    t = pts[0]  # b = n u: every entry capped
    return [min(max(x - t, Fraction(0)), u) for x in zs]


@pytest.mark.parametrize("method", ["auto", "newton", "bisect"])
@pytest.mark.parametrize("b, u", [(1.0, 1.0), (2.5, 1.0), (3.0, 0.5), (0.1, 0.05), (4.0, 0.5), (2.0, 0.3)])
def test_capped_simplex_is_the_quadratic_programs_solution(b, u, method, rng):
    z = rng.standard_normal((12, 8)) * rng.choice([0.1, 1.0, 10.0])
    z[0] = [0.3, 0.3, 0.3, 0.3, 0.1, 0.1, -0.2, 0.9]  # ties
    p = st.project_capped_simplex(z, b, u, method=method)
    for row, got in zip(z, p):
        _close(got, _capped_exact(row, b, u), max(b, 1.0))
    assert np.all((p >= 0) & (p <= u))
    np.testing.assert_allclose(p.sum(-1), b, rtol=1e-13)


def test_capped_simplex_identities_and_edges(rng):
    z = rng.standard_normal((10, 6))
    # a cap that never binds is the simplex of radius b
    np.testing.assert_allclose(st.project_capped_simplex(z, 1.5, 10.0), st.project_simplex(z, 1.5), atol=1e-14)
    # b = n u: every entry at the cap
    np.testing.assert_array_equal(st.project_capped_simplex(z, 3.0, 0.5), np.full_like(z, 0.5))
    # per-row budgets and caps, any axis
    b = rng.uniform(0.5, 2, 10)
    u = rng.uniform(0.4, 1, 10)
    got = st.project_capped_simplex(z.T, b, u, axis=0)
    for j in range(10):
        np.testing.assert_array_equal(got[:, j], st.project_capped_simplex(z[j], b[j], u[j]))
    masked = z.copy()
    masked[:, 0] = -np.inf
    p = st.project_capped_simplex(masked, 2.0, 0.5)
    assert np.all(p[:, 0] == 0)
    np.testing.assert_allclose(p.sum(-1), 2.0)


def test_capped_simplex_flat_piece_below_the_candidates_bound():
    """b / u = 6 entries at the cap: f is flat at the budget on a piece that reaches below
    the bound the candidates were kept above; the entry just below it must stay 0."""
    z = np.array([1.76291911, -0.02374751, 0.02612922, -0.14844224, -0.76334969, -1.63571603, 1.33274444,
                  0.89035401])
    p = st.project_capped_simplex(z, 3.0, 0.5)
    np.testing.assert_array_equal(p, [0.5, 0.5, 0.5, 0.5, 0, 0, 0.5, 0.5])


def test_capped_simplex_budget_n_times_upper_after_rounding(rng):
    """b = n u computed in floats, where b / u rounds above n: the one point of the set (every
    entry at the cap), not an empty set; on the GPU kernel's host check too."""
    u = 0.05
    b = 3 * u
    assert b / u > 3
    z = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(st.project_capped_simplex(z, b, u), np.full((2, 3), u))
    with pytest.raises(ValueError, match="is more than n"):
        st.project_capped_simplex(z, b * (1 + 1e-12), u)


def test_capped_simplex_against_scipy(rng):
    from scipy.optimize import minimize

    z = rng.standard_normal(6)
    b, u = 2.0, 0.6
    res = minimize(lambda x: 0.5 * np.sum((x - z) ** 2), np.full(6, b / 6), jac=lambda x: x - z,
                   bounds=[(0, u)] * 6, constraints=[{"type": "eq", "fun": lambda x: x.sum() - b}],
                   method="SLSQP", options={"ftol": 1e-14})
    np.testing.assert_allclose(st.project_capped_simplex(z, b, u), res.x, atol=1e-7)


def test_capped_simplex_jvp(rng):
    z = rng.standard_normal((6, 9)) * 2
    v, w = rng.standard_normal((2, 6, 9))
    def fn(x):
        return st.project_capped_simplex(x, 2.0, 0.5)

    p = fn(z)
    Jv = st.project_capped_simplex_jvp(p, v, 2.0, 0.5)
    np.testing.assert_allclose(Jv, _fd_jvp(fn, z, v), atol=1e-6)
    np.testing.assert_allclose(np.sum(w * Jv, -1), np.sum(st.project_capped_simplex_vjp(p, w, 2.0, 0.5) * v, -1),
                               atol=1e-12)


def test_capped_simplex_errors():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"budget 5.0 is more than n \* upper = 4 \* 1.0"):
        st.project_capped_simplex(z, 5.0)
    with pytest.raises(ValueError, match=r"budget 3.0 is more than n \* upper = 4 \* 0.5 in row 1 \(1 bad in all\)"):
        st.project_capped_simplex(z, [1.0, 3.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="budget is 0.0"):
        st.project_capped_simplex(z, 0.0)
    with pytest.raises(ValueError, match="upper is -1.0"):
        st.project_capped_simplex(z, 1.0, -1.0)
    masked = z.copy()
    masked[2, :3] = -np.inf
    with pytest.raises(ValueError, match=r"budget is more than upper times the entries that are not masked .* row 2"):
        st.project_capped_simplex(masked, 2.0)
    with pytest.raises(ValueError, match="unknown method 'sort'"):
        st.project_capped_simplex(z, 1.0, method="sort")
