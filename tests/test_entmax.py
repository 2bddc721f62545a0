"""alpha-entmax: the map against an arbitrary-precision reference and the entmax package,
its properties, its derivatives (in z and in alpha) by finite differences, its loss, and
its input contract."""

import numpy as np
import pytest

import sparsetools as st
from sparsetools._jit import DISABLE_JIT

from reference import entmax_row_mp

EPS = np.finfo(np.float64).eps
ALPHAS = (1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)


def _rows(seed, n, count=3):
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=n) * s for s in (1.0, 10.0, 0.05)[:count]]
    return np.array(rows)


@pytest.mark.parametrize("method", st.ENTMAX_METHODS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
def test_against_the_arbitrary_precision_reference(n, alpha, method):
    z = _rows(n * 7 + int(alpha * 100), n)
    z[0, 0] = z[0, -1]  # a tie
    p = st.entmax(z, alpha, method=method)
    tau, k = st.entmax_threshold(z, alpha, method=method)
    for r in range(z.shape[0]):
        ref, ref_tau = entmax_row_mp(z[r], alpha)
        np.testing.assert_allclose(p[r], ref, rtol=0, atol=64 * EPS)
        assert tau[r] == pytest.approx(ref_tau, rel=0, abs=64 * EPS * max(1.0, abs(ref_tau)))
        assert k[r] == np.count_nonzero(ref > 0)
        if alpha <= 2.0:
            assert abs(p[r].sum() - 1.0) <= 4 * n * EPS


@pytest.mark.parametrize("alpha", [2.05, 3.0, 8.0])
def test_near_ties_and_dense_rows_above_two(alpha):
    """alpha > 2 (Newton's steps on a concave b-norm, in a bracket): two-level rows whose
    entries differ by 1e-12 (the first guess lands within rounding of tau, and a step
    from the right crosses the lower bound only by rounding) and dense rows (many
    candidates just above tau), against the reference."""
    rng = np.random.default_rng(11)
    rows = [np.where(rng.random(n) < 0.3, 1.0, 0.0) + rng.normal(size=n) * 1e-12 for n in (2, 7, 16)]
    rows += [rng.normal(size=24) * 1e-3, rng.normal(size=24) * 0.05]
    for z in rows:
        ref, _ = entmax_row_mp(z, alpha)
        for method in ("newton", "bisect"):
            p = st.entmax(z, alpha, method=method)
            np.testing.assert_allclose(p, ref, rtol=0, atol=64 * EPS, err_msg=method)


@pytest.mark.parametrize("alpha", [1.3, 1.45, 1.6, 1.7, 1.9])
def test_candidates_next_to_tau(alpha):
    """newton stops at a Halley point without a pass to confirm it only where that point's
    error is bounded: never with a candidate nearer t than 2^10 steps, where a Halley step
    may cross an entry's kink (with that guard off, a row of 128 at alpha = 1.9 here is
    off by 9e3 eps). Rows with one or two candidates planted 1e-15 to 1e-3 of tau away,
    above or below it, against the bisection (itself against the reference above)."""
    rng = np.random.default_rng(13)
    for n in (16, 40, 128):
        z = rng.normal(size=(200, n))
        tau, _ = st.entmax_threshold(z, alpha, method="bisect")
        p0 = st.entmax(z, alpha, method="bisect")
        for r in range(z.shape[0]):
            off = np.flatnonzero(p0[r] == 0)
            gap = 10.0 ** rng.uniform(-15, -3) * rng.choice([1.0, -1.0])
            z[r, off[:1]] = tau[r] / (alpha - 1) * (1 + gap)
            if off.size > 1 and rng.random() < 0.5:
                z[r, off[1]] = tau[r] / (alpha - 1) * (1 - gap * rng.uniform(0.5, 2))
        ref = st.entmax(z, alpha, method="bisect")
        p = st.entmax(z, alpha, method="newton")
        np.testing.assert_allclose(p, ref, rtol=0, atol=64 * EPS, err_msg=n)
        assert np.abs(p.sum(1) - 1).max() <= 4 * n * EPS


@pytest.mark.parametrize("alpha", [1.2, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_rows_sum_to_one_without_renormalising(alpha, dtype):
    rng = np.random.default_rng(3)
    # single rows of up to 1000 entries run in the serial drivers (compiled once for the
    # whole module); the long rows, in the parallel one, with the default method only
    for n, rows, methods in ((100, 1, st.ENTMAX_METHODS), (1000, 1, st.ENTMAX_METHODS), (5000, 4, ("auto",))):
        z = rng.normal(size=(rows, n)).astype(dtype)
        for method in methods:
            p = st.entmax(z, alpha, method=method)
            assert p.dtype == dtype
            s = p.astype(np.float64).sum(1)
            tol = 4 * n * np.finfo(dtype).eps
            assert np.abs(s - 1).max() <= tol, (n, method)


# plain Python (NUMBA_DISABLE_JIT) sums in order, not in vector lanes: its rows of 2,048 sum
# to 1 within the documented 0.5 n eps, not these 1-2 eps
@pytest.mark.skipif(DISABLE_JIT, reason="the bounds of the compiled sums")
@pytest.mark.parametrize("alpha", [1.0001, 1.01, 1.1, 1.25])
def test_near_softmax_float64_rows_sum_to_one_and_match_the_reference_within_2_eps(alpha):
    """For alpha <= 1.25 an ulp of d = y - tau moves p = d^b by b / 2 ulps (b = 1 / (alpha
    - 1)), so plain float64 powers summed to 1 only within about b eps (500 eps at
    alpha = 1.001). The float64 output carries d beyond float64 and refines tau by a
    Newton step on those sums: every method, dense and sparse supports (rows of 2048 at
    alpha 1.25 keep about 15% of their entries, which takes the packed path), an entry
    planted within a few ulps of tau (whose first-order correction would go below 0), the
    label and distribution losses' gradient p - q from the same p."""
    import math

    rng = np.random.default_rng(int(alpha * 1e4))
    for n, rows in ((2, 300), (3, 200), (6, 100), (16, 100), (100, 20), (2048, 4)):
        z = rng.normal(size=(rows, n)) * rng.choice([0.05, 1.0, 10.0], size=(rows, 1))
        if n == 6:  # one entry a few ulps above tau in every row (the last one: no tie)
            s = alpha - 1.0
            for r in range(rows):
                z[r, -1] = z[r, :-1].min() - 1.0
                tau, _ = st.entmax_threshold(z[r], alpha)
                z[r, -1] = np.nextafter(tau / s, np.inf) + rng.integers(0, 4) * np.spacing(tau / s)
        for method in st.ENTMAX_METHODS:
            p = st.entmax(z, alpha, method=method)
            assert (p >= 0).all(), (n, method)
            err = max(abs(math.fsum(r) - 1.0) for r in p)
            assert err <= 2 * EPS, (n, method, err / EPS)
            # the exact zeros are the threshold's support (but for the planted entry's d^b,
            # d a few ulps, which underflows to 0 where b is 10 or more)
            _, k = st.entmax_threshold(z, alpha, method=method)
            nonzero = np.count_nonzero(p > 0, axis=1)
            if n == 6 and alpha < 1.25:
                assert ((nonzero <= k) & (nonzero >= k - 1)).all(), method
            else:
                assert np.array_equal(nonzero, k), (n, method)
            if n <= 16:
                for r in range(3):
                    ref, _ = entmax_row_mp(z[r], alpha)
                    np.testing.assert_allclose(p[r], ref, rtol=0, atol=2 * EPS, err_msg=method)
        st.entmax_vjp(p, z, alpha)  # p is an entmax output that the derivatives accept
        labels = rng.integers(0, n, size=rows)
        _, g = st.entmax_loss_and_grad(z, labels, alpha)
        np.testing.assert_allclose(g + np.eye(n)[labels], p, rtol=0, atol=EPS)  # (p - 1) + 1
        q = rng.dirichlet(np.ones(n), size=rows)
        _, g = st.entmax_loss_and_grad(z, q, alpha)
        np.testing.assert_allclose(g + q, p, rtol=0, atol=EPS)


def test_compensated_output_from_a_threshold_off_by_more_than_rounding():
    """The compensated output's Newton step corrects the powers to first order when the
    threshold is within rounding of tau; a threshold further off is moved by Newton's
    steps (kept as a float64 pair) and the powers taken again: the output is then the one
    from tau itself, to a few eps, and sums to 1."""
    import math

    from sparsetools.kernels.entmax import _compensated_row

    rng = np.random.default_rng(40)
    for n, alpha in ((5, 1.01), (300, 1.25), (40, 1.1)):
        z = rng.normal(size=n)
        p_tau = st.entmax(z, alpha)
        tau, k = st.entmax_threshold(z, alpha)
        s = alpha - 1.0
        M = z.max()
        t = tau - s * M
        for rel in (0.0, 1e-9, -1e-7, 1e-5):
            shifted = t - rel * abs(t)
            out = np.empty(n)
            _compensated_row(z, M, s, shifted, out, 1.0 / s, np.empty(n), -1)
            assert abs(math.fsum(out) - 1.0) <= 2 * EPS, (n, rel)
            assert (out >= 0).all()
            # every entry the shifted threshold keeps is written nonzero, unless the
            # refined threshold drops it (a threshold below tau keeps more)
            kept = s * (z - M) > shifted
            assert not (out[~kept]).any()
            np.testing.assert_allclose(out, p_tau, rtol=0, atol=4 * EPS, err_msg=(n, rel))


EPS32 = float(np.finfo(np.float32).eps)


def test_float32_powers_within_their_bound():
    # pow_unit32 works in float32 (d's rounding to float32 put back into the logarithm):
    # a few units of 2^-24 times 1 + |log(d^b)|, exact at 0 and 1, a tiny d^b nonzero
    from sparsetools._jit import jit
    from sparsetools.kernels.special import pow_unit32

    @jit(contract=True)
    def powers(d, b, out):
        for i in range(d.shape[0]):
            out[i] = pow_unit32(d[i], b)

    rng = np.random.default_rng(30)
    d = np.concatenate([rng.random(20_000), 10.0 ** -rng.uniform(0, 30, 20_000), [1.0, 0.5]])
    out = np.empty_like(d)
    for b in (1.01, 1.5, 2.5, 10 / 3, 7 / 3, 20.0, 0.25):
        b32 = np.float32(b)
        powers(d, b32, out)
        ref = d ** np.float64(b32)
        ok = ref > np.exp(-86.0)
        rel = np.abs(out[ok] - ref[ok]) / ref[ok]
        assert (rel <= 4 * 2.0**-24 * (1.0 + np.abs(np.log(ref[ok])))).all(), b
        assert (out[~ok] > 0).all() and (out[~ok] <= 2 * np.exp(-86.0)).all()
    powers(np.array([0.0, 1.0, 1e-300]), np.float32(3.0), out[:3])
    assert out[0] == 0.0 and out[1] == 1.0 and out[2] > 0.0

    # pow32_of32, for a d that is a float32 already (0 or normal): the same bits
    from sparsetools.kernels.special import pow32_of32

    @jit(contract=True)
    def powers32(d, b, out):
        for i in range(d.shape[0]):
            out[i] = pow32_of32(d[i], b)

    d32 = d.astype(np.float32)
    d32 = d32[(d32 == 0) | (d32 >= np.finfo(np.float32).tiny)]
    out32 = np.empty_like(d32)
    for b in (1.01, 0.7, 0.3, 10 / 3, 0.05):
        b32 = np.float32(b)
        powers32(d32, b32, out32)
        powers(d32.astype(np.float64), b32, out[:d32.size])
        assert np.array_equal(out32, out[:d32.size].astype(np.float32)), b


def test_sums_in_loops_of_their_own_are_the_one_loops():
    # newton's sums take their powers in a loop of their own (float32 powers; float64
    # ones for b < 2) or in the sums' loop (float64, b > 2), the powers left in the
    # scratch: the same sums to rounding and the same distance as the plain one loop
    # below, at zeros, tiny d (below float32's range too), the pad entries, and scratch
    # of k entries (no padding)
    from sparsetools._jit import jit
    from sparsetools.kernels import entmax as kernels
    from sparsetools.kernels.special import max_nan, positive_part, pow_unit, pow_unit32

    @jit(reassoc=True, contract=True)
    def sums(y, k, t, b, low, tmp):
        if low:
            return kernels._sums3(y, k, t, b, True, tmp)
        return kernels._sums3(y, k, t, b, False, tmp)

    @jit(reassoc=True, contract=True)
    def one_loop(y, k, t, b, low):
        F = E = G = 0.0
        W = -np.inf
        c = b - 2.0 if b > 2.0 else b - 1.0
        for j in range(k):
            x = y[j] - t
            W = max_nan(W, -abs(x))
            d = positive_part(x)
            q = pow_unit32(d, np.float32(c)) if low else pow_unit(d, c)
            e = q * d if b > 2.0 else q
            F += e * d
            E += e
            G += q if b > 2.0 else e / max_nan(d, 5e-324)
        return F, E, G, -W

    rng = np.random.default_rng(33)
    for b in (10 / 3, 20.0, 2.5, 1 / 0.7, 1 / 0.55):
        for k in (1, 3, 8, 13, 64, 101):
            for _ in range(10):
                y = np.full(k + 8, np.nan)
                y[:k] = -rng.random(k) ** rng.uniform(0.3, 3.0)
                t = float(np.quantile(y[:k], rng.uniform(0, 1)))
                y[:k:5] = t  # d = 0
                if k > 2:
                    y[1] = np.nextafter(t, 0.0)  # d an ulp of t
                    if rng.random() < 0.3:  # d below float32's range
                        t = -1e-40
                        y[2] = 0.0
                for low in (True, False):
                    one = one_loop(y.copy(), k, t, b, low)
                    for size in (k + 8, k):
                        tmp = np.full(size, np.nan)
                        split = sums(y.copy(), k, t, b, low, tmp)
                        np.testing.assert_allclose(split[:3], one[:3], rtol=1e-13, atol=0,
                                                   err_msg=(b, k, low, size))
                        assert split[3] == one[3]
                        if not low:  # the float64 powers are left in the scratch
                            d = np.maximum(y[:k] - t, 0.0)
                            kept = np.where(d > 0, d ** (b - 2.0 if b > 2.0 else b - 1.0), 0.0)
                            np.testing.assert_allclose(tmp[:k], kept, rtol=1e-13, atol=0)


@pytest.mark.parametrize("alpha", [1.05, 1.2, 1.3, 1.7, 1.9, 2.5])
def test_float32_rows_take_float32_powers_and_keep_their_contract(alpha):
    # auto runs "newton32" on float32 rows (float32 powers summed in float64) and a float32
    # output takes float32 powers: within 64 float32 eps of the float64 result, rows summing
    # to 1 within 4 n eps, the threshold consistent with the output's support
    from sparsetools.maps import MAPS

    assert MAPS["entmax"].resolve("auto", 128, np.float32).name == "newton32"
    assert MAPS["entmax"].resolve("auto", 128, np.float64).name == "newton"
    rng = np.random.default_rng(31)
    for n, rows in ((2, 50), (7, 50), (20, 50), (100, 40), (128, 40), (1000, 8)):
        for scale in (1.0, 10.0, 0.05, 1e-3):
            z = (rng.normal(size=(rows, n)) * scale).astype(np.float32)
            z[0, 1] = z[0, 0]  # a tie
            p = st.entmax(z, alpha)
            assert p.dtype == np.float32
            ref = st.entmax(z.astype(np.float64), alpha, method="newton")
            np.testing.assert_allclose(p, ref, rtol=0, atol=64 * EPS32, err_msg=(n, scale))
            s = p.astype(np.float64).sum(1)
            assert np.abs(s - 1).max() <= 4 * n * EPS32, (n, scale)
            tau, k = st.entmax_threshold(z, alpha)
            assert tau.dtype == np.float32
            assert np.array_equal(k, np.count_nonzero(p, axis=1)), (n, scale)
    for n in (3, 20):  # and short rows against the arbitrary-precision reference
        z = (rng.normal(size=(4, n)) * np.array([[1.0], [10.0], [0.05], [1e-3]])).astype(np.float32)
        p = st.entmax(z, alpha)
        for r in range(z.shape[0]):
            ref, _ = entmax_row_mp(z[r], alpha)
            np.testing.assert_allclose(p[r], ref, rtol=0, atol=64 * EPS32)


@pytest.mark.parametrize("alpha", [1.2, 1.3, 1.9])
def test_float32_jvp_takes_float32_powers_within_float32_rounding(alpha):
    # g = p^(2 - alpha) in float32 arithmetic for a float32 p, subnormal entries included
    rng = np.random.default_rng(32)
    z = rng.normal(size=(40, 50)).astype(np.float32)
    p = st.entmax(z, alpha)
    p[:, 0] = np.float32(3e-42)  # float32 subnormals (not an entmax output: any p is taken)
    p[:, 1] = np.float32(2e-39)
    v = rng.normal(size=z.shape).astype(np.float32)
    got = st.entmax_jvp(p, v, alpha)
    assert got.dtype == np.float32
    ref = st.entmax_jvp(p.astype(np.float64), v.astype(np.float64), alpha)
    scale = np.abs(ref).max(axis=1, keepdims=True)
    np.testing.assert_allclose(got / scale, ref / scale, rtol=0, atol=64 * EPS32)
    np.testing.assert_allclose(st.entmax_vjp(p, v, alpha), got, rtol=0, atol=0)
    # into a float64 output the powers are the same float32 ones, taken in another loop
    wide = st.entmax_jvp(p, v, alpha, out=np.empty(p.shape))
    np.testing.assert_allclose(wide / scale, ref / scale, rtol=0, atol=64 * EPS32)
    np.testing.assert_allclose(wide, got, rtol=0, atol=4 * EPS32 * scale.max())


def test_methods_agree():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(30, 50)) * rng.uniform(0.1, 10, size=(30, 1))
    for alpha in (1.3, 1.5, 1.9, 2.0, 2.7):
        ps = [st.entmax(z, alpha, method=m) for m in st.ENTMAX_METHODS]
        for p in ps[1:]:
            np.testing.assert_allclose(p, ps[0], rtol=0, atol=8 * EPS)


def test_against_the_entmax_package():
    torch = pytest.importorskip("torch")
    entmax = pytest.importorskip("entmax")
    rng = np.random.default_rng(5)
    z = rng.normal(size=(20, 30))
    zt = torch.tensor(z)
    np.testing.assert_allclose(st.entmax15(z), entmax.entmax15(zt, dim=-1).numpy(), atol=1e-14)
    for alpha in (1.25, 1.5, 2.0, 3.0):
        ref = entmax.entmax_bisect(zt, alpha=alpha, n_iter=200).numpy()
        np.testing.assert_allclose(st.entmax(z, alpha), ref, atol=1e-12)


def test_the_ends_of_the_family():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(10, 9)) * 3
    np.testing.assert_allclose(st.entmax(z, 2.0), st.sparsemax(z), rtol=0, atol=4 * EPS)
    np.testing.assert_allclose(st.entmax(z, 1.0), st.softmax(z), rtol=0, atol=4 * EPS)
    # not closer to 1: at alpha = 1 + 1e-9 an ulp of tau moves p by 1.1e-7, and rounding
    # in the frame y - t leaves tau a few ulps from the exact one (4 to 6 on these rows)
    np.testing.assert_allclose(st.entmax(z, 1.0 + 1e-8), st.softmax(z), atol=1e-7)
    np.testing.assert_allclose(st.entmax(z, 2.0 + 1e-9), st.sparsemax(z), atol=1e-7)
    big = st.entmax(z, 50.0)
    assert (np.count_nonzero(big, axis=1) <= np.count_nonzero(st.sparsemax(z), axis=1)).all()


def test_permutation_and_shift():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(6, 40))
    perm = rng.permutation(40)
    for alpha in (1.0, 1.3, 1.5, 2.0, 3.0):
        p = st.entmax(z, alpha)
        np.testing.assert_allclose(st.entmax(z[:, perm], alpha), p[:, perm], rtol=0, atol=4 * EPS)
        np.testing.assert_allclose(st.entmax(z + 1000.0, alpha), p, rtol=0, atol=1e-12)
        # scaling z by c is the same map at a temperature: entmax((alpha-1) z) is the
        # threshold of y = (alpha-1) z, so z -> c z changes p (no invariance to test), but
        # the support only grows as c shrinks
        assert (np.count_nonzero(st.entmax(z / 4, alpha), axis=1) >= np.count_nonzero(p, axis=1)).all()


def test_one_alpha_per_row_is_each_row_alone():
    rng = np.random.default_rng(8)
    z = rng.normal(size=(3, 4, 12))
    alpha = rng.uniform(1.0, 3.0, size=(3, 4))
    alpha[0, 0] = 1.0
    alpha[1, 1] = 2.0
    alpha[2, 2] = 1.5
    p = st.entmax(z, alpha)
    for i in range(3):
        for j in range(4):
            assert np.array_equal(p[i, j], st.entmax(z[i, j], float(alpha[i, j])))
    # broadcast from the batch shape, and along another axis
    p1 = st.entmax(z, alpha[:, :1])
    assert np.array_equal(p1[:, 2], st.entmax(z[:, 2], alpha[:, 0]))
    pa = st.entmax(np.moveaxis(z, -1, 0), alpha, axis=0)
    np.testing.assert_array_equal(np.moveaxis(pa, 0, -1), p)


def test_output_is_nonzero_exactly_where_the_kernel_keeps_an_entry():
    # the output pass rounds (alpha - 1)(z - max) and then subtracts tau, as the threshold
    # kernels do (a fused multiply-add there would turn an entry at the threshold into a
    # tiny nonzero): checked at a tau equal to one entry's shifted score
    from sparsetools.kernels import entmax as kernels

    rng = np.random.default_rng(21)
    # rows of 16 take the plain packing pass or the dense loop, rows of 100 the blocked
    # one or the dense loop (with float32 too: its masks convert to float64 first)
    for z in (rng.normal(size=(2000, 16)), rng.normal(size=(300, 100)),
              rng.normal(size=(300, 100)).astype(np.float32)):
        n = z.shape[1]
        M = z.max(axis=1).astype(np.float64)
        for alpha in (1.3, 1.5, 2.5):
            y = (z.astype(np.float64) - M[:, None]) * (alpha - 1)
            at = y[np.arange(len(z)), rng.integers(0, n, len(z))]
            at = np.where(at == 0, -0.5, at)
            # tau at an entry (it is out), and an ulp below one (it is in, with a tiny d)
            for t in (at, np.nextafter(at, -np.inf)):
                # a float32 output takes float32 powers (and rows of 100, the dense loop)
                for out in (np.empty(z.shape), np.empty(z.shape, z.dtype)):
                    for r in range(len(z)):
                        kernels.apply_row(z[r], M[r], t[r], out[r], alpha)
                    assert np.array_equal(out > 0, y - t[:, None] > 0), (n, z.dtype, out.dtype, alpha)


def test_output_from_the_support_is_the_output_pass():
    # the forward pass writes the output from the support its method left (powers on the
    # support only, expanded into the row): the same bits as the output pass from the
    # threshold, also with tau at an entry or an ulp below one, on the plain and blocked
    # expansions and the dense loop, float64 and float32 outputs
    import numba

    from sparsetools.kernels import entmax as kernels

    expand = numba.njit(lambda row, M, s, t, vals, out: kernels.expand_support(row, M, s, t, vals, out))
    rng = np.random.default_rng(22)
    for z in (rng.normal(size=(100, 16)), rng.normal(size=(40, 100)),
              rng.normal(size=(40, 100)).astype(np.float32), rng.normal(size=(40, 300))[:, ::3]):
        n = z.shape[1]
        M = z.max(axis=1).astype(np.float64)
        for alpha in (1.1, 1.3, 2.5):
            y = (z.astype(np.float64) - M[:, None]) * (alpha - 1)
            at = y[np.arange(len(z)), rng.integers(0, n, len(z))]
            for t in (at, np.nextafter(at, -np.inf), np.where(at == 0, -0.5, at) * 0.5):
                for dtype in (np.float64, z.dtype):
                    ref = np.empty(z.shape, dtype)
                    out = np.full(z.shape, np.nan, dtype)
                    vals = np.empty(n)
                    # the kernels run outside a driver: without the JIT, NumPy would warn of the
                    # overflows that compiled code gives silently (1 / a subnormal d)
                    with np.errstate(all="ignore"):
                        for r in range(len(z)):
                            kernels.apply_row(z[r], M[r], t[r], ref[r], alpha)
                            keep = y[r] > t[r]
                            sup = np.concatenate([y[r][keep], np.full(n, np.nan)])
                            kernels.apply_support(z[r], M[r], t[r], sup, int(keep.sum()), vals, out[r], alpha)
                            # the expansion itself (apply_support falls back to the output pass
                            # if the count it finds is not k)
                            ex = np.full(n, np.nan, dtype)
                            assert expand(z[r], M[r], alpha - 1, t[r], np.arange(n + 1.0), ex) == keep.sum()
                            assert np.array_equal(ex, np.where(keep, np.cumsum(keep) - 1.0, 0.0))
                    assert np.array_equal(out, ref), (n, z.dtype, dtype, alpha)
    # and through the public function: without ``out=`` the forward pass writes from the
    # support (``newton``: from its last pass's powers, ``tau_newton_write``), with it the
    # output pass runs from the thresholds (``newton`` writes aside and copies)
    for z, methods in ((rng.normal(size=(64, 128)), st.ENTMAX_METHODS),
                       (rng.normal(size=(8, 1024)).astype(np.float32), ("auto",)),
                       (rng.normal(size=(300, 16)), ("auto",)),
                       (1e-3 * rng.normal(size=(64, 128)), ("auto",))):
        for alpha in (1.1, 1.3, 1.7, 2.5):
            for method in methods:
                p = st.entmax(z, alpha, method=method)
                out = np.full_like(z, np.nan)
                st.entmax(z, alpha, method=method, out=out)
                assert np.array_equal(p, out), (z.shape, z.dtype, alpha, method)


@pytest.mark.parametrize("alpha", [1.26, 1.3, 1.45, 1.7, 1.9])
def test_output_from_the_last_pass_powers(alpha):
    """``newton``'s forward pass writes p = (y - t)^b from the powers its last pass took at
    t0 (``_write_kept``): the binomial series in (t - t0) / d0 for entries far above t0,
    a fresh power for the nearer ones, 0 for those at or below t. Checked against long
    double at steps t - t0 of both signs and sizes, with entries within them of t and t0,
    and against the support's count and every zero."""
    from sparsetools.kernels import entmax as kernels

    b = 1.0 / (alpha - 1.0)
    e = b - 2.0 if b > 2.0 else b - 1.0
    rng = np.random.default_rng(31)
    for n in (16, 100, 257):
        z = rng.normal(size=n)
        M = z.max()
        y_all = (z - M) * (alpha - 1.0)
        cand = y_all > -0.9
        y0 = y_all[cand]
        t = np.sort(y0)[len(y0) // 2]  # an entry at t (out) and entries within steps of it
        for h in (0.0, 1e-15, -1e-15, 1e-9, -1e-9, 1e-4, -1e-4):
            t0 = t - h
            # (e > 0: 0 at d0 <= 0, as the pass leaves it)
            kept = np.concatenate([np.maximum(y0 - t0, 0.0) ** e, np.full(n - len(y0), np.nan)])
            y = np.concatenate([y0, np.full(n - len(y0), np.nan)])
            out = np.full(n, np.nan)
            with np.errstate(all="ignore"):
                w = kernels._write_kept(z, M, t, t0, y, int(cand.sum()), kept, out, alpha)
            d = np.longdouble(y_all) - np.longdouble(t)
            ref = np.where(d > 0, np.maximum(d, 0) ** np.longdouble(b), 0).astype(np.float64)
            assert w == np.count_nonzero(y_all > t), (n, h)
            assert np.array_equal(out > 0, y_all > t), (n, h)
            # the powers' own bound: a few ulps of the exponent b log d, |log p| of them
            on = ref > 0
            err = np.abs(out[on] - ref[on]) / ref[on]
            assert (err <= 4 * EPS * (1 + np.abs(np.log(ref[on])))).all(), (n, h, err.max() / EPS)


def test_threshold_rebuilds_the_output():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(5, 30))
    for alpha in (1.0, 1.2, 1.5, 2.0, 2.5):
        p = st.entmax(z, alpha)
        tau, k = st.entmax_threshold(z, alpha)
        if alpha == 1.0:
            rebuilt = np.exp(z - tau[:, None])
        else:
            rebuilt = np.maximum((alpha - 1) * z - tau[:, None], 0) ** (1 / (alpha - 1))
        np.testing.assert_allclose(rebuilt, p, atol=1e-13)
        assert np.array_equal(k, np.count_nonzero(p, axis=1))


def test_dtypes_masks_and_edges():
    z = np.array([[0.5, -np.inf, 0.2, 0.1], [3.0, 3.0, 3.0, 3.0]])
    for alpha in (1.0, 1.5, 2.5):
        p = st.entmax(z, alpha)
        assert p[0, 1] == 0 and np.allclose(p[1], 0.25, rtol=0, atol=4 * EPS)
        assert st.entmax(np.array([7.0]), alpha)[0] == 1.0
        p32 = st.entmax(z.astype(np.float32), alpha)
        assert p32.dtype == np.float32
        np.testing.assert_allclose(p32, p, atol=1e-6)
        p16 = st.entmax(z.astype(np.float16), alpha)
        assert p16.dtype == np.float16
        np.testing.assert_allclose(p16, p, atol=1e-3)
        assert st.entmax(np.array([1, 0, 0]), alpha).dtype == np.float64
    big = np.array([1e6, 1e6 - 1.0, 0.0], np.float32)  # exact in float32
    np.testing.assert_allclose(st.entmax(big, 1.5), st.entmax(np.array([1.0, 0.0, -1e6]), 1.5), atol=1e-7)


def test_out_and_axis():
    rng = np.random.default_rng(10)
    z = rng.normal(size=(4, 5, 6))
    for axis in (0, 1, -1):
        ref = st.entmax(z, 1.5, axis=axis)
        out = np.full(z.shape, np.nan)
        assert st.entmax(z, 1.5, axis=axis, out=out) is out
        np.testing.assert_array_equal(out, ref)
        assert np.allclose(ref.sum(axis), 1)
    out32 = np.empty(z.shape, np.float32)
    st.entmax15(z, out=out32)
    np.testing.assert_allclose(out32, st.entmax15(z), atol=1e-7)


# ---------------------------------------------------------------------------------------
# Derivatives


def _fd(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


@pytest.mark.parametrize("alpha", [1.0, 1.3, 1.5, 2.0, 2.5])
def test_jvp_vjp_and_jacobian_by_finite_differences(alpha):
    rng = np.random.default_rng(11)
    z = rng.normal(size=(6, 8))
    v = rng.normal(size=z.shape)
    p = st.entmax(z, alpha)
    fd = _fd(lambda x: st.entmax(x, alpha), z, v)
    jv = st.entmax_jvp(p, v, alpha)
    np.testing.assert_allclose(jv, fd, atol=1e-7)
    np.testing.assert_array_equal(st.entmax_vjp(p, v, alpha), jv)
    J = st.entmax_jacobian(z, alpha)
    np.testing.assert_allclose(np.einsum("rij,rj->ri", J, v), jv, atol=1e-13)
    np.testing.assert_allclose(J, np.swapaxes(J, -1, -2), atol=0)
    np.testing.assert_allclose(jv.sum(1), 0, atol=1e-13)
    assert (jv[p == 0] == 0).all()


@pytest.mark.parametrize("alpha", [1.2, 1.5, 2.0, 2.6, 4.0])
def test_dalpha_by_finite_differences(alpha):
    rng = np.random.default_rng(12)
    z = rng.normal(size=(6, 8))
    p = st.entmax(z, alpha)
    h = 1e-6
    fd = (st.entmax(z, alpha + h) - st.entmax(z, alpha - h)) / (2 * h)
    d = st.entmax_dalpha(p, alpha)
    np.testing.assert_allclose(d, fd, atol=1e-7)
    np.testing.assert_allclose(d.sum(1), 0, atol=1e-13)


def test_dalpha_at_softmax_is_the_one_sided_limit():
    rng = np.random.default_rng(13)
    z = rng.normal(size=(4, 6))
    # not smaller: near alpha = 1 an ulp of tau moves p by about 1 / (alpha - 1) ulps
    # (1e-11 at alpha = 1 + 1e-5), which the difference quotient divides by h again
    h = 1e-4
    f = lambda a: st.entmax(z, a)  # noqa: E731
    fd = (-3 * f(1.0) + 4 * f(1.0 + h) - f(1.0 + 2 * h)) / (2 * h)
    np.testing.assert_allclose(st.entmax_dalpha(st.softmax(z), 1.0), fd, atol=1e-7)
    np.testing.assert_allclose(st.entmax_dalpha(st.entmax(z, 1.001), 1.001),
                               st.entmax_dalpha(st.softmax(z), 1.0), atol=2e-3)


def test_dalpha_against_the_entmax_package():
    torch = pytest.importorskip("torch")
    entmax = pytest.importorskip("entmax")
    rng = np.random.default_rng(14)
    z = torch.tensor(rng.normal(size=(5, 7)))
    g = torch.tensor(rng.normal(size=(5, 7)))
    alpha = torch.full((5, 1), 1.4, dtype=torch.float64, requires_grad=True)
    (entmax.entmax_bisect(z, alpha=alpha, n_iter=200) * g).sum().backward()
    p = st.entmax(z.numpy(), 1.4)
    ours = (g.numpy() * st.entmax_dalpha(p, 1.4)).sum(1)
    np.testing.assert_allclose(ours, alpha.grad.numpy()[:, 0], atol=1e-10)


# ---------------------------------------------------------------------------------------
# The loss


def _loss_direct(z, q, alpha):
    """(p - q) . z + H(p) - H(q) in float64, as defined (for well-scaled rows)."""
    p = st.entmax(z, alpha)
    if alpha == 1.0:
        H = lambda x: -np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1)), 0), -1)  # noqa: E731
    else:
        H = lambda x: (1 - np.sum(x ** alpha, -1)) / (alpha * (alpha - 1))  # noqa: E731
    return np.sum((p - q) * z, -1) + H(p) - H(q)


@pytest.mark.parametrize("alpha", [1.0, 1.3, 1.5, 2.0, 2.5])
def test_loss_is_the_fenchel_young_loss(alpha):
    rng = np.random.default_rng(15)
    z = rng.normal(size=(8, 6))
    labels = rng.integers(0, 6, size=8)
    q = rng.dirichlet(np.ones(6) * 0.5, size=8)
    q[0] = st.entmax(z[0], alpha)  # loss 0
    L = st.entmax_loss(z, q, alpha)
    np.testing.assert_allclose(L, _loss_direct(z, q, alpha), atol=1e-13)
    assert L[0] == pytest.approx(0, abs=1e-15) and (L >= 0).all()
    onehot = np.eye(6)[labels]
    np.testing.assert_allclose(st.entmax_loss(z, labels, alpha), _loss_direct(z, onehot, alpha), atol=1e-13)
    loss, grad = st.entmax_loss_and_grad(z, q, alpha)
    np.testing.assert_array_equal(loss, L)
    np.testing.assert_allclose(grad, st.entmax(z, alpha) - q, atol=4 * EPS)
    np.testing.assert_array_equal(st.entmax_loss_grad(z, labels, alpha), st.entmax(z, alpha) - onehot)
    v = rng.normal(size=z.shape)
    fd = _fd(lambda x: st.entmax_loss(x, q, alpha), z, v)
    np.testing.assert_allclose(np.sum(grad * v, 1), fd, atol=1e-7)


def test_loss_ends_and_masks():
    rng = np.random.default_rng(16)
    z = rng.normal(size=(5, 7))
    y = rng.integers(0, 7, size=5)
    np.testing.assert_allclose(st.entmax_loss(z, y, 2.0), st.sparsemax_loss(z, y), atol=1e-14)
    np.testing.assert_allclose(st.entmax_loss(z, y, 1.0), st.softmax_loss(z, y), atol=1e-14)
    zero = np.array([3.0, 0.0, -np.inf])
    assert st.entmax_loss(zero, 0, 1.5) == 0.0
    assert st.entmax_loss(zero, np.array([0.5, 0.5, 0.0]), 1.5) > 0
    assert st.entmax_loss(zero, 2, 1.5) == np.inf
    assert np.isfinite(st.entmax_loss_grad(zero, 2, 1.5)).all()


def test_loss_against_the_entmax_package():
    torch = pytest.importorskip("torch")
    entmax = pytest.importorskip("entmax")
    rng = np.random.default_rng(17)
    z = rng.normal(size=(10, 9))
    y = rng.integers(0, 9, size=10)
    ref = entmax.entmax15_loss(torch.tensor(z), torch.tensor(y)).numpy()
    np.testing.assert_allclose(st.entmax_loss(z, y, 1.5), ref, atol=1e-13)
    ref = entmax.entmax_bisect_loss(torch.tensor(z), torch.tensor(y), alpha=1.3, n_iter=200).numpy()
    np.testing.assert_allclose(st.entmax_loss(z, y, 1.3), ref, atol=1e-11)


# ---------------------------------------------------------------------------------------
# The contract


@pytest.mark.parametrize("bad, kind, match", [
    (0.5, ValueError, r"alpha is 0\.5; entmax needs alpha >= 1"),
    (np.nan, ValueError, "alpha is NaN"),
    (np.inf, ValueError, "alpha is inf"),
    (-np.inf, ValueError, "alpha is -inf"),
    (True, TypeError, "not a bool"),
    (1 + 2j, TypeError, "not dtype complex128"),
    ("1.5", TypeError, "not dtype <U3"),
    (np.ones(3), ValueError, r"alpha has shape \(3,\); it must be one number or one per row"),
])
def test_bad_alpha_is_rejected_before_anything_is_written(bad, kind, match):
    z = np.zeros((2, 4))
    out = np.full(z.shape, 7.0)
    for call in (lambda: st.entmax(z, bad, out=out), lambda: st.entmax_threshold(z, bad),
                 lambda: st.entmax_loss_grad(z, np.array([0, 1]), bad, out=out),
                 lambda: st.entmax_jvp(np.full((2, 4), 0.25), z, bad, out=out),
                 lambda: st.entmax_dalpha(np.full((2, 4), 0.25), bad, out=out)):
        with pytest.raises(kind, match=match):
            call()
    assert (out == 7.0).all()


def test_a_bad_alpha_of_one_row_names_the_row():
    z = np.zeros((2, 3, 4))
    alpha = np.full((2, 3), 1.5)
    alpha[1, 2] = 0.9
    with pytest.raises(ValueError, match=r"alpha is 0\.9 in row \(1, 2\) \(1 bad in all\)"):
        st.entmax(z, alpha)


def test_bad_scores_and_outputs():
    with pytest.raises(ValueError, match="z contains NaN in row 1"):
        st.entmax(np.array([[0.0, 1.0], [np.nan, 0.0]]), 1.3)
    with pytest.raises(ValueError, match=r"p has a negative entry in row 0.*sparsemax or entmax output"):
        st.entmax_jvp(np.array([[1.5, -0.5]]), np.zeros((1, 2)), 1.5)
    with pytest.raises(ValueError, match="unknown method 'quick'; valid methods are 'auto', 'newton'"):
        st.entmax(np.zeros(3), method="quick")
    with pytest.raises(ValueError, match="target has label 3 in row 0"):
        st.entmax_loss(np.zeros((1, 3)), np.array([3]), 1.5)


def test_docstring_examples():
    import doctest

    from sparsetools import _entmax

    res = doctest.testmod(_entmax, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0 and res.failed == 0
