"""What a hostile or careless user, or a real workflow, does to the toolkit: correct target
distributions at the edge of rounding, fork after use, threads under every threading layer,
masked arrays, huge finite inputs, a read-only install, NUMBA_DISABLE_JIT, odd arguments,
and the scripts' output folders. The process-level cases run in subprocesses."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import sparsetools
from sparsetools import _contract, _parallel

from helpers import load_script, ok, run_python

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------
# 1. target distributions that np.sum puts within rounding of 1


LOSSES = (sparsetools.sparsemax_loss, sparsetools.softmax_loss)


def test_the_output_of_sparsemax_is_a_target_with_loss_exactly_zero():
    for n in (400, 1000, 4097):
        z = np.zeros(n)
        assert sparsetools.sparsemax_loss(z, sparsetools.sparsemax(z)) == 0.0
        z = np.random.default_rng(n).normal(size=(3, n)) * 1e-3  # dense: every entry in S
        assert_array_equal(sparsetools.sparsemax_loss(z, sparsetools.sparsemax(z)), 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_targets_are_accepted_at_every_n(dtype):
    for n in range(2, 2000):
        q = np.full(n, 1.0 / n, dtype)
        for loss in LOSSES:
            assert np.isfinite(loss(np.zeros(n, dtype), q)), n


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_label_smoothing_and_normalised_label_matrices(dtype, rng):
    for n in (5000, 32000, 50257):
        onehot = np.zeros((2, n), dtype)
        onehot[0, 3] = onehot[1, n - 1] = 1
        q = (0.9 * onehot + 0.1 / n).astype(dtype)
        for loss in LOSSES:
            assert np.isfinite(loss(np.zeros((2, n), dtype), q)).all()
    y = (rng.random((4, 10000)) < 0.3).astype(dtype)
    q = y / y.sum(axis=1, keepdims=True)
    for loss in LOSSES:
        assert np.isfinite(loss(rng.normal(size=q.shape).astype(dtype), q)).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_row_np_sum_puts_within_rounding_of_one_is_accepted(dtype, rng):
    """Rows pushed to the edge: np.sum(q) - 1 at +-0.99 times 2 (sqrt(n) + 2) eps."""
    eps = np.finfo(dtype).eps
    for n in (2, 3, 7, 8, 100, 128, 129, 1000, 4096, 30001):
        edge = 2 * (np.sqrt(n) + 2) * eps
        for sign in (1, -1):
            q = rng.random((3, n)).astype(dtype)
            q /= q.sum(axis=1, keepdims=True)
            for _ in range(50):  # move the sum, as np.sum sees it, to the edge
                off = np.sum(q, axis=1) - 1
                want = sign * 0.9 * edge
                q = (q * (1 + (want - off)[:, None])).astype(dtype)
            s = np.sum(q, axis=1)
            q = q[np.abs(s - 1) <= edge]  # the walk lands on floats near the aim, maybe past
            assert len(q) and (np.abs(np.sum(q, axis=1) - 1) >= 0.5 * edge).all()
            for loss in LOSSES:
                assert np.isfinite(loss(np.zeros(q.shape, dtype), q)).all(), (n, sign)
        q = np.full(n, 1.0 / n, dtype)
        q[0] += 4 * sparsetools._contract.sum_tolerance(dtype, n)  # clearly off: rejected
        with pytest.raises(ValueError, match="target sums to"):
            sparsetools.sparsemax_loss(np.zeros(n, dtype), q)


def test_the_message_quotes_the_exact_sum():
    q = np.full(10, 0.1)
    q[3] += 1e-9
    with pytest.raises(ValueError, match=r"target sums to 1\.000000001 in the only row"):
        sparsetools.sparsemax_loss(np.zeros(10), q)


# ---------------------------------------------------------------------------------------
# 2, 3. processes and threads under every threading layer

FORK_SCRIPT = """
import multiprocessing as mp, os, sys
import numpy as np, numba, sparsetools

def work(job):
    shape, seed = job
    z = np.random.default_rng(seed).normal(size=shape)
    p = sparsetools.sparsemax(z)
    return (p, sparsetools.sparsemax_loss(z, np.zeros(shape[0], int)), sparsetools.softmax(z),
            sparsetools.sparsemax_vjp(p, z))

if __name__ == "__main__":
    jobs = [((3, 5), 0), ((3000, 64), 1), ((2, 50000), 2)]
    expected = [work(j) for j in jobs]  # the parent starts its threading layer
    layer = numba.threading_layer()
    with mp.get_context("fork").Pool(2) as pool:
        got = pool.map_async(work, jobs).get(timeout=150)
    for e, g in zip(expected, got):
        for a, b in zip(e, g):
            assert np.array_equal(a, b)
    pid = os.fork()  # and a grandchild, from a child that itself forks
    if pid == 0:
        with mp.get_context("fork").Pool(1) as pool:
            g = pool.map_async(work, jobs[1:2]).get(timeout=150)
        os._exit(0 if np.array_equal(g[0][0], expected[1][0]) else 3)
    _, code = os.waitpid(pid, 0)
    assert code == 0, code
    print("ok", layer, sparsetools._parallel.serial_only())
"""


LAYERS = ("tbb", "omp", "workqueue")


def layer_env(layer):
    """The environment that selects ``layer``; for tbb also the loader path of a pip
    install's libtbb (``<venv>/lib``), which Numba's TBB pool links against."""
    env = {"NUMBA_THREADING_LAYER": layer}
    if layer == "tbb":
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (os.path.join(sys.prefix, "lib"), os.environ.get("LD_LIBRARY_PATH")) if p)
    return env


def skip_if_not_loadable(proc, layer):
    """Skip where Numba cannot load ``layer`` (tbb needs ``pip install tbb`` and its
    library on the loader's path)."""
    if proc.returncode and "No threading layer could be loaded" in proc.stderr:
        pytest.skip(f"Numba cannot load the {layer} threading layer here")


@pytest.mark.slow
@pytest.mark.parametrize("layer", LAYERS)
def test_fork_after_use(layer, tmp_path):
    script = tmp_path / "fork_after_use.py"
    script.write_text(FORK_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **layer_env(layer)))
    skip_if_not_loadable(proc, layer)
    out = ok(proc)
    assert out.startswith(f"ok {layer} False")  # the parent itself stays parallel
    assert "Terminating" not in proc.stderr


THREADS_SCRIPT = """
import threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np, numba, sparsetools

rng = np.random.default_rng(0)
z = rng.normal(size=(2000, 48))
labels = rng.integers(0, 48, 2000)
p = sparsetools.sparsemax(z)
want = (p, sparsetools.sparsemax_loss(z, labels), sparsetools.softmax(z), sparsetools.sparsemax_vjp(p, z),
        sparsetools.softmax_loss_grad(z, labels))

def work(_):
    for _ in range(15):
        got = (sparsetools.sparsemax(z), sparsetools.sparsemax_loss(z, labels), sparsetools.softmax(z),
               sparsetools.sparsemax_vjp(p, z), sparsetools.softmax_loss_grad(z, labels))
        for a, b in zip(want, got):
            assert np.array_equal(a, b)
    return True

with ThreadPoolExecutor(6) as ex:  # what Dask's threaded scheduler does
    assert all(ex.map(work, range(12)))
print("ok", numba.threading_layer(), numba.get_num_threads())
"""


@pytest.mark.slow
@pytest.mark.parametrize("threads", [None, "1"])
@pytest.mark.parametrize("layer", LAYERS)
def test_threads_under_every_layer(layer, threads):
    env = dict(layer_env(layer), NUMBA_NUM_THREADS=threads)
    proc = run_python(THREADS_SCRIPT, env=env)
    skip_if_not_loadable(proc, layer)
    out = ok(proc)
    assert out.startswith(f"ok {layer}")


def test_row_views_are_views(rng):
    """The drivers' rows (``_jit.row_of``, views without a reference count) read and write
    the array's own memory, for every layout, and a store into one survives Numba's
    dead-code passes: an inlined overload's store that nothing reads back was dropped
    until the alias analysis was told that the row is a view."""
    import numba
    from numba.extending import overload

    from sparsetools._jit import row_of

    def decrement(g, i):
        g[i] = g[i] - 1.0

    @overload(decrement, inline="always")
    def _decrement(g, i):
        def impl(g, i):
            g[i] = g[i] - 1.0
        return impl

    @numba.njit
    def through_views(a, b, out):
        for r in range(a.shape[0]):
            x, o = row_of(a, r), row_of(out, r)
            for j in range(x.shape[0]):
                o[j] = 2.0 * x[j]
            decrement(row_of(b, r), 1)
        return row_of(a, a.shape[0] - 1)[0]

    base = rng.normal(size=(6, 8))
    for a in (base, base[:, ::2], np.asfortranarray(base), base[::2], base[::-1]):
        b = np.zeros(a.shape)
        out = np.zeros_like(a)
        last = through_views(a, b, out)
        assert_array_equal(out, 2.0 * a)
        assert_array_equal(b[:, 1], -1.0)
        assert np.count_nonzero(b) == a.shape[0]
        assert last == a[-1, 0]
    cube = rng.normal(size=(3, 4, 5))

    @numba.njit
    def sums(c):
        s = np.empty(c.shape[0])
        for r in range(c.shape[0]):
            s[r] = row_of(c, r).sum()
        return s

    np.testing.assert_allclose(sums(cube), cube.sum((1, 2)), rtol=1e-15)
    ro = base.copy()
    ro.flags.writeable = False
    assert sums(ro[:, :, None]).tolist() == pytest.approx(base.sum(1).tolist(), rel=1e-15)


def test_serial_and_parallel_drivers_give_the_same_bits(rng, monkeypatch):
    """Every driver run serially (forked children, one thread, a busy workqueue)
    against its parallel run, in this process."""
    z = rng.normal(size=(37, 30))
    z[3, :5] = -np.inf
    labels = rng.integers(0, 30, 37)
    q = sparsetools.sparsemax(rng.normal(size=z.shape))
    g = rng.normal(size=z.shape)
    out = np.empty((30, 37)).T  # not a (rows, n) view: computed aside
    out2 = np.empty_like(z)  # a (rows, n) view: thresholds, then the write

    def everything():
        p = sparsetools.sparsemax(z)
        return [p, sparsetools.sparsemax(z, out=out).copy(), sparsetools.sparsemax(z, out=out2).copy(),
                *sparsetools.sparsemax_threshold(z), sparsetools.sparsemax_jacobian(z[:30]),
                sparsetools.sparsemax_jvp(p, g), *sparsetools.sparsemax_loss_and_grad(z, labels),
                *sparsetools.sparsemax_loss_and_grad(z, q), sparsetools.softmax(z),
                *sparsetools.softmax_loss_and_grad(z, labels), *sparsetools.softmax_loss_and_grad(z, q),
                sparsetools.softmax_sigmoid(z, beta=3.0), sparsetools.softmax_sigmoid_vjp(z, g),
                sparsetools.softmax_sigmoid_jacobian(z[:30])]  # (30 rows: enough work to run parallel)

    parallel = everything()
    monkeypatch.setattr(_parallel, "_serial_only", True)
    monkeypatch.setattr(_parallel, "_plain", False)
    serial = everything()
    for a, b in zip(parallel, serial):
        assert_array_equal(a, b)


def test_small_calls_run_serially(monkeypatch):
    """Rows worth less work than starting a parallel region costs run on the calling
    thread (``_jit.SMALL_WORK``), whatever the threading layer."""
    from sparsetools import _batched, _jit

    if _parallel.num_threads() < 2 or _parallel.serial_only():
        pytest.skip("every call is serial here")
    assert _jit._small(np.empty((32, 10))) and not _jit._small(np.empty((64, 10)))
    assert _jit._small(np.empty((1, 1500))) and not _jit._small(np.empty((16, 128)))

    class Refuse:
        def __call__(self, *args):
            raise AssertionError("a small call entered the parallel driver")

        compile = overloads = __call__

    monkeypatch.setattr(_batched.softmax_rows, "parallel", Refuse())
    assert sparsetools.softmax(np.zeros((32, 10))).shape == (32, 10)
    with pytest.raises(AssertionError, match="entered the parallel driver"):
        sparsetools.softmax(np.zeros((64, 10)))


def test_a_busy_workqueue_region_sends_other_calls_serial(monkeypatch):
    monkeypatch.setattr(_parallel, "_workqueue", True)
    monkeypatch.setattr(_parallel, "_plain", False)
    threads, lock = _parallel.claim()
    try:
        if threads:  # this call holds the region: a second one runs serially
            assert lock is not None
            assert _parallel.claim() == (0, None)
    finally:
        if lock is not None:
            lock.release()


@pytest.mark.slow
def test_torch_dataloader_workers():
    pytest.importorskip("torch")
    code = """
    import numpy as np, torch, sparsetools
    class Rows(torch.utils.data.Dataset):
        def __len__(self): return 8
        def __getitem__(self, i):
            z = np.random.default_rng(i).normal(size=(2000, 32))
            return torch.from_numpy(sparsetools.sparsemax(z))
    sparsetools.sparsemax(np.ones((3000, 64)))  # the parent starts its threads first
    loader = torch.utils.data.DataLoader(Rows(), batch_size=2, num_workers=2,
                                         multiprocessing_context="fork")
    sums = [b.sum().item() for b in loader]
    assert np.allclose(sums, 4000.0), sums
    print("ok")
    """
    assert ok(run_python(code)).startswith("ok")


# ---------------------------------------------------------------------------------------
# 4. masked arrays


def _masked(rng, shape=(4, 6)):
    z = rng.normal(size=shape)
    mask = rng.random(shape) < 0.3
    mask[:, 0] = False  # every row keeps an entry
    return np.ma.masked_array(z, mask=mask), np.where(mask, -np.inf, z)


SCORE_FUNCTIONS = {
    "sparsemax": lambda z: sparsetools.sparsemax(z),
    "threshold": lambda z: np.stack(sparsetools.sparsemax_threshold(z)),
    "jacobian": lambda z: sparsetools.sparsemax_jacobian(z),
    "softmax": lambda z: sparsetools.softmax(z),
    "softmax_sigmoid": lambda z: sparsetools.softmax_sigmoid(z, beta=2.0),
    "softmax_sigmoid_vjp": lambda z: sparsetools.softmax_sigmoid_vjp(z, np.ones(np.shape(z))),
    "softmax_sigmoid_jacobian": lambda z: sparsetools.softmax_sigmoid_jacobian(z),
    "sparsemax_loss": lambda z: sparsetools.sparsemax_loss(z, np.zeros(4, int)),
    "sparsemax_grad": lambda z: sparsetools.sparsemax_loss_grad(z, np.zeros(4, int)),
    "softmax_loss": lambda z: sparsetools.softmax_loss(z, np.zeros(4, int)),
    "softmax_grad": lambda z: sparsetools.softmax_loss_grad(z, np.zeros(4, int)),
}


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
def test_masked_scores_mean_minus_inf(name, rng):
    zm, zf = _masked(rng)
    f = SCORE_FUNCTIONS[name]
    got = f(zm)
    assert type(got) is np.ndarray
    assert_array_equal(got, f(zf))


def test_masked_scores_in_any_dtype_and_axis(rng):
    zm, zf = _masked(rng, (6, 4))
    for dtype in (np.float32, np.float16, np.int64):
        zd = np.ma.masked_array(zm.data.astype(dtype), mask=zm.mask)
        p = sparsetools.sparsemax(zd, axis=0)
        assert p.dtype == sparsetools.sparsemax(zd.data, axis=0).dtype
        assert (p[zm.mask] == 0).all()
    assert_array_equal(sparsetools.sparsemax(zm, axis=0), sparsetools.sparsemax(zf, axis=0))
    assert_array_equal(sparsetools.sparsemax(np.ma.masked_array(zf)), sparsetools.sparsemax(zf))  # no mask


def test_masked_entries_with_target_mass_give_an_infinite_loss():
    z = np.ma.masked_array([3.0, 1.0, 0.5], mask=[1, 0, 0])
    assert_array_equal(sparsetools.sparsemax(z), [0.0, 0.75, 0.25])
    assert sparsetools.sparsemax_loss(z, 0) == np.inf
    assert sparsetools.softmax_loss(z, 0) == np.inf
    assert np.isfinite(sparsetools.sparsemax_loss_grad(z, 0)).all()
    with pytest.raises(ValueError, match="every entry is -inf or masked"):
        sparsetools.sparsemax(np.ma.masked_array([3.0, 1.0], mask=[1, 1]))


def test_masked_targets_labels_and_vectors_are_errors():
    z = np.zeros((2, 3))
    q = np.ma.masked_array(np.full((2, 3), 1 / 3), mask=[[0, 0, 1], [0, 0, 0]])
    labels = np.ma.masked_array([0, 1], mask=[0, 1])
    p = np.ma.masked_array(np.full((2, 3), 1 / 3), mask=[[0, 1, 0], [0, 0, 0]])
    cases = [
        (lambda: sparsetools.sparsemax_loss(z, q), "target is a masked array with 1 masked"),
        (lambda: sparsetools.softmax_loss_grad(z, labels), "target is a masked array"),
        (lambda: sparsetools.sparsemax_jvp(p, z), "p is a masked array"),
        (lambda: sparsetools.sparsemax_vjp(z + 1 / 3, p), "g is a masked array"),
        (lambda: sparsetools.softmax_sigmoid_vjp(z, p), "g is a masked array"),
    ]
    for f, msg in cases:
        with pytest.raises(ValueError, match=msg):
            f()
    # nothing masked: an ordinary array
    assert np.isfinite(sparsetools.sparsemax_loss(z, np.ma.masked_array(q.data))).all()


# ---------------------------------------------------------------------------------------
# 5. derivatives of huge finite inputs


@pytest.mark.parametrize("f", [sparsetools.sparsemax_jvp, sparsetools.sparsemax_vjp])
def test_products_of_huge_finite_vectors_are_exact(f):
    big = np.finfo(np.float64).max
    assert_array_equal(f(np.array([0.5, 0.5, 0.0]), np.array([big, big, 0.0])), [0.0, 0.0, 0.0])
    assert_array_equal(f(np.array([0.5, 0.5, 0.0]), np.array([big, -big, 1.0])), [big, -big, 0.0])
    got = f(np.array([0.25, 0.25, 0.5]), np.array([big, big, big / 2]))
    np.testing.assert_allclose(got, [big / 6, big / 6, -big / 3], rtol=1e-15)
    got = f(np.array([[0.25, 0.25, 0.5]] * 2, np.float32), np.array([[3e38, 3e38, 1.5e38]] * 2, np.float32))
    np.testing.assert_allclose(got, [[5e37, 5e37, -1e38]] * 2, rtol=1e-6)
    assert np.isfinite(got).all()


# ---------------------------------------------------------------------------------------
# 6. a read-only install


READ_ONLY_CHECK = """
import sys
import numpy as np
import sparsetools
from sparsetools import _jit
assert sparsetools.__file__.startswith(sys.argv[1]), sparsetools.__file__
assert not _jit.CACHE
z = np.array([[1.0, 0.5, -1.0], [0.0, 0.0, -np.inf]])
print(sparsetools.sparsemax(z).tolist(), float(sparsetools.sparsemax_loss(z, np.array([0, 1]))[0]))
"""
READ_ONLY_WANT = "[[0.75, 0.25, 0.0], [0.5, 0.5, 0.0]] 0.0625"


CACHED_DRIVER = """
import numba, numpy as np, sparsetools
from sparsetools import _batched
if numba.get_num_threads() < 2:
    print("serial")
else:
    sparsetools.sparsemax(np.random.default_rng(0).standard_normal((64, 64)), method="michelot")
    for d in (_batched.forward_rows.parallel, _batched.forward_rows.serial):
        print(sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
"""


@pytest.mark.slow
def test_the_parallel_loop_is_cached_on_disk(tmp_path):
    """The drivers' parallel loops are generated (``_jit._compile_driver``): a second
    process loads the one the first compiled, and needs no chunk function of its own."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_NUM_THREADS": "2"}
    first = ok(run_python(CACHED_DRIVER, env=env)).split()
    if first == ["serial"]:
        pytest.skip("one thread: no parallel call")
    assert first == ["0", "1", "0", "1"]  # the loop compiled, and the chunk it calls
    assert ok(run_python(CACHED_DRIVER, env=env)).split() == ["1", "0", "0", "0"]


@pytest.mark.slow
def test_import_and_run_where_nothing_can_be_cached():
    """Numba finds no cache locator (what a read-only package folder and home give)."""
    code = ("import numba.core.caching as c\n"
            "getattr(c, 'CacheImpl', getattr(c, '_CacheImpl', None))._locator_classes = []\n"
            + READ_ONLY_CHECK.replace("sys.argv[1]", "''"))
    assert ok(run_python(code)).strip() == READ_ONLY_WANT


@pytest.mark.slow
def test_a_read_only_install_and_home(tmp_path):
    """The package copied into a folder that is mounted read-only (as root) or has no write
    permission (otherwise), with a read-only home and no NUMBA_CACHE_DIR."""
    site, home = tmp_path / "site", tmp_path / "home"
    shutil.copytree(Path(sparsetools.__file__).parent, site / "sparsetools",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(site),
               PYTHONDONTWRITEBYTECODE="1")
    env.pop("NUMBA_CACHE_DIR", None)
    # a development (editable) install's import hook would find the source tree first
    code = ("import sys\nsys.meta_path[:] = [f for f in sys.meta_path "
            "if '__editable__' not in getattr(f, '__module__', '')]\n" + READ_ONLY_CHECK)
    if os.geteuid() == 0:  # root writes anywhere a permission bit allows not: mount it read-only
        if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"]).returncode:
            pytest.skip("running as root without mount namespaces: cannot make a read-only folder")
        cmd = ["unshare", "-m", "sh", "-c",
               'mount --bind -o ro "$0" "$0" && mount --bind -o ro "$1" "$1" && exec "$2" -c "$3" "$0"',
               str(site), str(home), sys.executable, code]
    else:
        for d in (site, home):
            for p in [d, *d.rglob("*")]:
                p.chmod(p.stat().st_mode & ~0o222)
        cmd = [sys.executable, "-c", code, str(site)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    finally:
        for d in (site, home):
            for p in [d, *d.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
    assert ok(proc).strip() == READ_ONLY_WANT


# ---------------------------------------------------------------------------------------
# 7. NUMBA_DISABLE_JIT, odd arguments, the GPU module's messages

EVERYTHING = """
import pickle, sys, warnings
import numpy as np, sparsetools as s
warnings.simplefilter("error")  # compiled code warns of nothing; neither may plain Python
rng = np.random.default_rng(0)
z = rng.normal(size=(3, 7)); z[1, 2] = -np.inf
g = rng.normal(size=z.shape)
q = s.sparsemax(rng.normal(size=z.shape))
lab = np.array([0, 1, 6])
p = s.sparsemax(z)
res = {"p": p, "p32": s.sparsemax(z.astype(np.float32)), "thr": s.sparsemax_threshold(z),
       "jac": s.sparsemax_jacobian(z), "jvp": s.sparsemax_jvp(p, g), "vjp": s.sparsemax_vjp(p, g),
       "sl": s.sparsemax_loss_and_grad(z, lab), "sq": s.sparsemax_loss_and_grad(z, q),
       "sm": s.softmax(z), "xl": s.softmax_loss_and_grad(z, lab), "xq": s.softmax_loss_and_grad(z, q),
       "ss": s.softmax_sigmoid(z, beta=2.0), "ssv": s.softmax_sigmoid_vjp(z, g),
       "ssj": s.softmax_sigmoid_jacobian(z)}
for m in s.METHODS:
    res["p_" + m] = s.sparsemax(z, method=m)
for a in (1.3, 1.8, 2.5):  # rows where candidates fall out of the support (d = 0)
    res["e%g" % a] = s.entmax(z, a)
# the rest of the family, its derivatives and losses, where a power of 0 or of alpha - 1 = 0
# appears (alpha = 1 and alpha > 2), and rows of 12 (the compensated output of alpha < 1.25)
z12 = rng.normal(size=(4, 12)) * 3
g12 = rng.normal(size=z12.shape)
lab12 = np.array([0, 3, 11, 5])
for a in (1.0, 1.1, 1.5, 2.5):
    pa = s.entmax(z12, a)
    res["E%g" % a] = pa
    res["Et%g" % a] = s.entmax_threshold(z12, a)
    res["Ej%g" % a] = s.entmax_jacobian(z12, a)
    res["Ev%g" % a] = s.entmax_vjp(pa, g12, a)
    res["Ed%g" % a] = s.entmax_dalpha(pa, a)
    res["El%g" % a] = s.entmax_loss_and_grad(z12, lab12, a)
    res["Eq%g" % a] = s.entmax_loss_and_grad(z, q, a)
res["z_simplex"] = ps = s.project_simplex(z, 2.0)
res["z_simplex_jvp"] = s.project_simplex_jvp(ps, g, 2.0)
res["z_l1"] = pl = s.project_l1_ball(z, 0.5)
res["z_l1_vjp"] = s.project_l1_ball_vjp(pl, g, 0.5)
res["z_capped"] = pc = s.project_capped_simplex(z, 2.0, 0.6)
res["z_capped_jvp"] = s.project_capped_simplex_jvp(pc, g, 2.0, 0.6)
res["z_sparse"] = pk = s.project_sparse_simplex(z, 2)
res["z_sparse_jvp"] = s.project_sparse_simplex_jvp(pk, g, 2)
x = rng.normal(size=9) * 2
res["z_plus"] = s.sparse_plus(x)
res["z_sig"] = s.sparse_sigmoid(x)
res["z_bin"] = s.sparsemax_binary_loss(x, x > 0)
res["z_bin_grad"] = s.sparsemax_binary_loss_grad(x, x > 0)
try:
    s.sparsemax(np.array([1.0, np.nan]))
except ValueError as e:
    res["err"] = str(e)
with open(sys.argv[1], "wb") as f:
    pickle.dump(res, f)
"""


@pytest.mark.slow
def test_numba_disable_jit_runs_every_function(tmp_path):
    import pickle

    ok(run_python(EVERYTHING, args=[str(tmp_path / "jit.pkl")]))
    ok(run_python(EVERYTHING, env={"NUMBA_DISABLE_JIT": "1"}, args=[str(tmp_path / "py.pkl")], timeout=400))
    want = pickle.loads((tmp_path / "jit.pkl").read_bytes())
    got = pickle.loads((tmp_path / "py.pkl").read_bytes())
    assert got.keys() == want.keys()
    assert got.pop("err") == want.pop("err")
    for key in want:
        a, b = want[key], got[key]
        for x, y in zip(a, b) if isinstance(a, tuple) else [(a, b)]:
            assert x.dtype == y.dtype and x.shape == y.shape, key
            np.testing.assert_allclose(y, x, rtol=1e-13, atol=1e-15, err_msg=key)


def test_an_axis_past_the_integer_range_is_an_axis_error():
    for axis in (2**63, -(2**63) - 1, 2**200):
        with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
            sparsetools.sparsemax(np.ones(3), axis=axis)
        with pytest.raises(np.exceptions.AxisError):
            sparsetools.sparsemax_loss(np.ones((2, 3)), np.zeros(2, int), axis=axis)
    with pytest.raises(TypeError, match="axis must be an integer, not float"):
        sparsetools.sparsemax(np.ones(3), axis=1.0)


def test_huge_integer_parameters_are_value_errors():
    for kw in ({"gamma": 2**2000}, {"beta": -(2**2000)}, {"alpha": 10**400}):
        with pytest.raises(ValueError, match="must be a finite real number, not an integer of"):
            sparsetools.softmax_sigmoid(np.ones(3), **kw)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        sparsetools.softmax_sigmoid(np.ones(3), gamma=0)


@pytest.mark.slow
def test_the_gpu_module_says_what_is_missing():
    """numba-cuda absent (blocked): is_available() is False even with the simulator on, and
    a call says to install numba-cuda and how to use the simulator."""
    code = """
    import sys
    sys.modules["numba_cuda"] = None  # as if numba-cuda were not installed
    import numpy as np, sparsetools
    from sparsetools import cuda
    assert not cuda.is_available()
    try:
        cuda.sparsemax(np.ones(3))
    except ImportError as e:
        print(e)
    """
    out = ok(run_python(code, env={"NUMBA_ENABLE_CUDASIM": "1"}))
    assert "needs numba-cuda, which is not installed" in out and "NUMBA_ENABLE_CUDASIM=1" in out


@pytest.mark.slow
def test_without_a_gpu_the_error_names_the_simulator():
    code = """
    import numpy as np
    from sparsetools import cuda
    try:
        import numba.cuda
    except ImportError:
        print("skip")
        raise SystemExit
    if cuda.is_available():
        print("skip")
        raise SystemExit
    try:
        cuda.sparsemax(np.ones(3))
    except RuntimeError as e:
        print(e)
    """
    out = ok(run_python(code, env={"NUMBA_ENABLE_CUDASIM": "0"}))
    if out.strip() == "skip":
        pytest.skip("a GPU is usable here")
    assert "finds no usable CUDA GPU" in out and "NUMBA_ENABLE_CUDASIM=1" in out


# ---------------------------------------------------------------------------------------
# 8. the comparison's partial runs never replace the full results


def _script():
    return load_script("compare_algorithms")


def test_a_partial_comparison_never_replaces_the_full_results(tmp_path):
    script = _script()
    full = ROOT / "figures" / "comparison" / "comparison.json"
    results = json.loads(full.read_text())
    assert script.is_complete(results["grid"], results["methods"])  # what the README shows
    shutil.copy(full, tmp_path / "comparison.json")
    before = (tmp_path / "comparison.json").read_bytes()
    for argv in (["--quick"], ["--grid", "tiny"], ["--methods", "sort", "bisect"]):
        with pytest.raises(SystemExit, match="holds the full grid's results"):
            script.main(argv + ["--out", str(tmp_path), "--no-peers"])
    assert (tmp_path / "comparison.json").read_bytes() == before
    # by default a partial grid goes to a folder of its own
    assert script.default_out(False, "quick") == script.DEFAULT_OUT / "quick"
    assert script.default_out(True, "full") == script.DEFAULT_OUT
    assert not script.is_complete("quick", None) and not script.is_complete("full", ["sort"])
    # asked explicitly, it may
    script.main(["--grid", "tiny", "--out", str(tmp_path), "--no-peers", "--no-plots", "--overwrite"])
    assert not script.is_complete(*(lambda r: (r["grid"], r["methods"]))(
        json.loads((tmp_path / "comparison.json").read_text())))


def test_a_full_run_without_the_peers_or_compile_times_keeps_the_full_results(tmp_path):
    script = _script()
    shutil.copy(ROOT / "figures" / "comparison" / "comparison.json", tmp_path / "comparison.json")
    old = script.coverage(json.loads((tmp_path / "comparison.json").read_text()))
    assert old["full"] and old["peers"] and old["compile"]
    for lacking, word in ((dict(peers=set()), "peer "), (dict(compile=False), "compile times"),
                          (dict(methods={"sort"}), "method ")):
        with pytest.raises(SystemExit, match=word):
            script.check_destination(tmp_path, dict(old, **lacking), False)
    script.check_destination(tmp_path, old, False)  # the same coverage may replace it


def test_the_comparison_checks_its_output_and_json_before_timing(tmp_path, capsys):
    f = tmp_path / "a_file"
    f.write_text("x")
    for out in (f, f / "sub"):  # a file, and a folder that cannot be made
        with pytest.raises(SystemExit):
            _script().main(["--grid", "tiny", "--out", str(out), "--no-peers"])
        assert "--out" in capsys.readouterr().err
    full = json.loads((ROOT / "figures" / "comparison" / "comparison.json").read_text())
    for broken in ({}, [], dict(full, records=[]), {k: v for k, v in full.items() if k != "records"}):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(broken))
        with pytest.raises(SystemExit):
            _script().main(["--from-json", str(bad), "--out", str(tmp_path / "o")])
        assert "not a comparison's results" in capsys.readouterr().err
        assert not (tmp_path / "o").exists()  # nothing half-written
    with pytest.raises(SystemExit):
        _script().main(["--from-json", str(bad), "--quick"])


def test_contract_helpers_keep_their_promises():
    # the tolerance covers np.sum's rounding on top of the normalisation's
    for n in (1, 2, 100, 10**6):
        assert _contract.sum_tolerance(np.float64, n) > 2 * (np.sqrt(n) + 2) * np.finfo(np.float64).eps


BAD_OPTIONS = [
    ("bench_small_calls", ["--repeat", "0"]), ("bench_small_calls", ["--rows", "-1"]),
    ("bench_sort", ["--sizes", "0"]), ("bench_sort", ["--entries", "-10"]),
    ("bench_passes", ["--shape", "0x5"]), ("bench_passes", ["--shape", "5"]), ("bench_passes", ["--repeat", "0"]),
    ("bench_cpu", ["--json", "/nonexistent/folder/x.json"]),
    ("bench_gpu", ["--shapes", "2by8"]), ("bench_gpu", ["--shapes", "2x0"]), ("bench_gpu", ["--repeat", "0"]),
    ("bench_gpu", ["--json", "/nonexistent/folder/x.json"]),
    ("check_gpu_ptx", ["--cc", "9"]), ("check_gpu_ptx", ["--cc", "abc"]),
    ("make_figures", ["--out", __file__]), ("demo", ["nan", "1"]),
]


@pytest.mark.parametrize("name, argv", BAD_OPTIONS, ids=[f"{n} {' '.join(a)}" for n, a in BAD_OPTIONS])
def test_the_scripts_reject_bad_options_at_once(name, argv, capsys):
    with pytest.raises(SystemExit) as e:
        load_script(name).main(argv)
    assert e.value.code == 2  # argparse's usage error, not a traceback after the work
    assert "error:" in capsys.readouterr().err
