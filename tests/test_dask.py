"""Dask arrays in, dask arrays out: every public array function, lazily, chunk by chunk,
with the same bits as the NumPy call; the errors that need no data at once, the others at
compute time naming the row by its index in the whole array; the synchronous, threaded
and distributed (LocalCluster, processes) schedulers."""

import numpy as np
import pytest

import sparsetools as st

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from sparsetools import _dask  # noqa: E402

SHAPE = (7, 5, 6)
CHUNKS = (3, 2, 4)  # every axis split, the reduction axis too


def _inputs(name, x, axis, rng):
    """Valid arguments of the public function ``name`` for scores ``x`` (NumPy)."""
    n = x.shape[axis]
    batch = np.delete(np.array(x.shape), axis % x.ndim).tolist()
    labels = rng.integers(0, n, batch)
    alpha = rng.uniform(1.0, 3.0, batch)
    if name.startswith("project_"):
        radius = rng.uniform(0.5, 3.0, batch)
        kind = name.split("_jvp")[0].split("_vjp")[0]
        par = {"project_sparse_simplex": dict(k=rng.integers(1, 6, batch), radius=radius),
               "project_capped_simplex": dict(budget=radius / 2, upper=0.6)}.get(kind, dict(radius=radius))
        if kind == name:
            return dict(z=x, **par)
        p = getattr(st, kind)(x * 3, axis=axis, **par)
        return dict(p=p, **{"v" if name.endswith("jvp") else "g": rng.standard_normal(x.shape)}, **par)
    if name.startswith("entmax") and name not in ("entmax_jvp", "entmax_vjp", "entmax_dalpha"):
        return dict(z=x, alpha=alpha) if "loss" not in name else dict(z=x, target=labels, alpha=alpha)
    if name in ("entmax_jvp", "entmax_vjp", "entmax_dalpha"):
        p = st.entmax(x, alpha, axis)
        out = dict(p=p, alpha=alpha)
        if name != "entmax_dalpha":
            out["v" if name == "entmax_jvp" else "g"] = rng.standard_normal(x.shape)
        return out
    if name in ("sparsemax_jvp", "sparsemax_vjp"):
        return dict(p=st.sparsemax(x, axis), **{"v" if name.endswith("jvp") else "g": rng.standard_normal(x.shape)})
    if "loss" in name:
        return dict(z=x, target=labels)
    if name == "softmax_sigmoid_vjp":
        return dict(z=x, g=rng.standard_normal(x.shape), gamma=2.0, beta=0.5, alpha=0.1)
    if name.startswith("softmax_sigmoid"):
        return dict(z=x, gamma=2.0, beta=0.5, alpha=0.1)
    return dict(z=x)


def _lazy(args, chunks=CHUNKS):
    return {k: (da.from_array(v, chunks=chunks[:np.ndim(v)]) if isinstance(v, np.ndarray) and v.ndim else v)
            for k, v in args.items()}


def _same(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, da.Array)
        r = g.compute(scheduler="sync")
        assert r.dtype == w.dtype and r.shape == w.shape
        np.testing.assert_array_equal(r, w)


@pytest.mark.parametrize("name", sorted(_dask.SPECS))
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_every_function_bit_identical(name, axis, rng):
    x = rng.standard_normal(SHAPE)
    x[0, 0, :2] = -np.inf if axis == -1 else x[0, 0, :2]  # a mask
    fn = getattr(st, name)
    args = _inputs(name, x, axis, rng)
    want = fn(**args, axis=axis)
    got = fn(**_lazy(args), axis=axis)
    _same(got, want)


def test_entmax15_and_scalar_alpha(rng):
    x = rng.standard_normal((9, 4))
    z = da.from_array(x, chunks=(2, 3))
    _same(st.entmax15(z), st.entmax15(x))
    _same(st.entmax(z, 1.25), st.entmax(x, 1.25))
    _same(st.entmax_threshold(z, alpha=np.float32(2.5)), st.entmax_threshold(x, alpha=np.float32(2.5)))
    a = rng.uniform(1, 2, (9, 1))  # broadcast to the batch shape
    _same(st.entmax(z, a[:, 0]), st.entmax(x, a[:, 0]))


def test_chunks_kept_and_axis_gathered(rng):
    x = rng.standard_normal((10, 8, 6)).astype(np.float32)
    z = da.from_array(x, chunks=(4, 3, 5))
    p = st.sparsemax(z, axis=1)
    assert p.chunks == ((4, 4, 2), (8,), (5, 1))
    tau, k = st.sparsemax_threshold(z, axis=1)
    assert tau.chunks == ((4, 4, 2), (5, 1)) and tau.dtype == np.float32 and k.dtype == np.int64
    J = st.sparsemax_jacobian(z, axis=0)
    assert J.shape == (8, 6, 10, 10) and J.chunks[:2] == ((3, 3, 2), (5, 1))


def test_dtype_rules(rng):
    for dt in (np.float16, np.int32, np.bool_):
        x = (rng.standard_normal((6, 5)) * 3).astype(dt)
        _same(st.sparsemax(da.from_array(x, chunks=2)), st.sparsemax(x))


def test_mixed_numpy_and_dask_arguments(rng):
    x = rng.standard_normal((8, 5))
    lab = rng.integers(0, 5, 8)
    q = rng.dirichlet(np.ones(5), 8)
    z = da.from_array(x, chunks=(3, 5))
    _same(st.sparsemax_loss(z, lab), st.sparsemax_loss(x, lab))  # NumPy labels, dask scores
    _same(st.sparsemax_loss(x, da.from_array(lab, chunks=5)), st.sparsemax_loss(x, lab))  # the other way
    _same(st.sparsemax_loss_and_grad(z, da.from_array(q, chunks=(5, 2))), st.sparsemax_loss_and_grad(x, q))
    p = st.sparsemax(x)
    _same(st.sparsemax_jvp(p, da.from_array(x, chunks=4)), st.sparsemax_jvp(p, x))
    _same(st.entmax(x, da.from_array(np.full(8, 1.5), chunks=3)), st.entmax(x, 1.5))


def test_integer_outputs_and_distributions(rng):
    p = np.zeros((6, 4), np.int64)
    p[np.arange(6), rng.integers(0, 4, 6)] = 1  # one-hot: a valid output p, and a target
    v = rng.standard_normal((6, 4))
    _same(st.sparsemax_jvp(da.from_array(p, chunks=2), v), st.sparsemax_jvp(p, v))
    _same(st.entmax_dalpha(da.from_array(p, chunks=2), 1.5), st.entmax_dalpha(p, 1.5))
    _same(st.sparsemax_loss(da.from_array(v, chunks=3), p), st.sparsemax_loss(v, p))


def test_keys_differ_between_inputs(rng):
    """Two calls on different arrays are different graphs (no key shared by name)."""
    a, b = rng.standard_normal((2, 6, 4))
    pa, pb = st.sparsemax(da.from_array(a, chunks=2)), st.sparsemax(da.from_array(b, chunks=2))
    assert pa.name != pb.name
    ra, rb = dask.compute(pa, pb, scheduler="sync")
    np.testing.assert_array_equal(ra, st.sparsemax(a))
    np.testing.assert_array_equal(rb, st.sparsemax(b))


def test_binary_functions(rng):
    x = rng.standard_normal((9, 4)) * 2
    t = rng.uniform(0, 1, (9, 4))
    z = da.from_array(x, chunks=(4, 3))
    _same(st.sparse_sigmoid(z), st.sparse_sigmoid(x))
    _same(st.sparse_plus(z), st.sparse_plus(x))
    _same(st.sparsemax_binary_loss(z, t), st.sparsemax_binary_loss(x, t))
    _same(st.sparsemax_binary_loss_grad(z, da.from_array(t[0], chunks=2)), st.sparsemax_binary_loss_grad(x, t[0]))
    bad = x.copy()
    bad[6, 2] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN at index \(6, 2\)"):
        st.sparse_sigmoid(da.from_array(bad, chunks=(4, 3))).compute()


def test_one_row(rng):
    x = rng.standard_normal(9)
    z = da.from_array(x, chunks=4)
    _same(st.sparsemax(z), st.sparsemax(x))
    _same(st.sparsemax_threshold(z), st.sparsemax_threshold(x))
    _same(st.sparsemax_loss_and_grad(z, 3), st.sparsemax_loss_and_grad(x, 3))
    with pytest.raises(ValueError, match="the only row"):
        st.sparsemax(da.from_array(np.full(4, np.nan), chunks=2)).compute()


def test_lazy_until_computed(monkeypatch, rng):
    calls = []
    real = _dask._chunk

    def counting(*blocks, spec, block_id=None):  # (dask passes block_id to who names it)
        calls.append(1)
        return real(*blocks, spec=spec, block_id=block_id)

    monkeypatch.setattr(_dask, "_chunk", counting)
    z = da.from_array(rng.standard_normal((6, 4)), chunks=(2, 4))
    loss, grad = st.sparsemax_loss_and_grad(z, np.zeros(6, int))
    assert calls == []
    dask.compute(loss, grad, scheduler="sync")
    assert len(calls) == 3  # one pass over each chunk gives both results


# ---- errors


def test_errors_that_need_no_data_are_raised_at_once():
    z = da.zeros((6, 4), chunks=2)
    with pytest.raises(np.exceptions.AxisError):
        st.sparsemax(z, axis=2)
    with pytest.raises(ValueError, match="unknown method"):
        st.sparsemax(z, method="nope")
    with pytest.raises(ValueError, match="empty reduction axis"):
        st.sparsemax(da.zeros((3, 0), chunks=2))
    with pytest.raises(TypeError, match="complex"):
        st.sparsemax(da.zeros((3, 2), dtype=complex))
    with pytest.raises(TypeError, match="out= cannot be used with a dask array"):
        st.sparsemax(z, out=np.empty((6, 4)))
    with pytest.raises(ValueError, match="target has shape"):
        st.sparsemax_loss(z, np.zeros(5, int))
    with pytest.raises(TypeError, match="labels must be integers"):
        st.sparsemax_loss(z, np.zeros(6))
    with pytest.raises(ValueError, match="v has shape"):
        st.sparsemax_jvp(z, da.zeros((6, 3)))
    with pytest.raises(ValueError, match="alpha is 0.5"):
        st.entmax(z, 0.5)
    with pytest.raises(ValueError, match="alpha has shape"):
        st.entmax(z, np.ones(4) * 1.5)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        st.softmax_sigmoid(z, gamma=-1.0)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_errors_at_compute_time_name_the_row_in_the_whole_array(scheduler):
    x = np.zeros((10, 4, 3))
    x[7, 2, 1] = np.nan
    z = da.from_array(x, chunks=(3, 3, 2))
    where = r"row \(7, 1\) \(rows run along axis 1; 1 bad row\(s\) in its chunk\)"
    with pytest.raises(ValueError, match=r"z contains NaN in " + where):
        st.sparsemax(z, axis=1).compute(scheduler=scheduler)
    lab = np.zeros(12, int)
    lab[9] = 5
    with pytest.raises(ValueError, match=r"label 5 in row 9 "):
        st.sparsemax_loss(da.zeros((12, 4), chunks=(4, 2)), lab).compute(scheduler=scheduler)
    alpha = np.full(12, 1.5)
    alpha[10] = 0.0
    with pytest.raises(ValueError, match=r"alpha is 0.0 in row 10 \(1 bad in its chunk\)"):
        st.entmax(da.zeros((12, 4), chunks=(4, 2)), alpha).compute(scheduler=scheduler)
    # and the NumPy call still counts the whole batch
    with pytest.raises(ValueError, match=r"row \(7, 1\) \(rows run along axis 1; 1 bad row\(s\) in all\)"):
        st.sparsemax(x, axis=1)


def test_chunks_run_serially_off_the_main_thread(monkeypatch):
    import numba

    seen = []
    real = st._core.forward

    def spy(*a, **k):
        seen.append(numba.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(st._core, "forward", spy)
    z = da.zeros((8, 3), chunks=2)
    st.sparsemax_threshold(z)[0].compute(scheduler="threads")
    assert seen[1:] and set(seen[1:]) == {1}  # (seen[0] is the eager sample, on this thread)
    before = numba.get_num_threads()
    seen.clear()
    st.sparsemax_threshold(z)[0].compute(scheduler="sync")
    assert set(seen) == {before} and numba.get_num_threads() == before


@pytest.mark.slow
def test_local_cluster_processes(rng):
    distributed = pytest.importorskip("distributed")
    x = rng.standard_normal((40, 16)).astype(np.float32)
    lab = rng.integers(0, 16, 40)
    bad = x.copy()
    bad[33, 4] = np.inf
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        z = da.from_array(x, chunks=(10, 8))
        got = client.compute([st.sparsemax(z), *st.sparsemax_loss_and_grad(z, lab), st.entmax(z, 1.3)])
        p, loss, grad, q = client.gather(got)
        np.testing.assert_array_equal(p, st.sparsemax(x))
        np.testing.assert_array_equal(loss, st.sparsemax_loss(x, lab))
        np.testing.assert_array_equal(grad, st.sparsemax_loss_grad(x, lab))
        np.testing.assert_array_equal(q, st.entmax(x, 1.3))
        with pytest.raises(ValueError, match=r"z contains \+inf in row 33 "):
            client.compute(st.sparsemax(da.from_array(bad, chunks=(10, 8)))).result()
