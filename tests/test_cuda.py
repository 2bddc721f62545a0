"""sparsetools.cuda against the CPU functions. Without a GPU (CI), conftest.py turns on
numba-cuda's simulator, which runs every block's threads as Python threads: the shapes here
are tiny, and most tests run blocks of 4 threads (the kernels are written for any power of
two; one test runs the real 32 and 256). Tests marked ``gpu`` need a real device."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sparsetools
from sparsetools import cuda as sc
from sparsetools.cuda import _launch, _rows, _signatures

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is in the test extra")
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
if not SIM and not sc.is_available():
    pytest.skip("a CUDA driver is installed but no GPU is usable: run with NUMBA_ENABLE_CUDASIM=1 "
                "to test on the simulator", allow_module_level=True)
gpu = pytest.mark.skipif(SIM or not sc.is_available(), reason="needs a real CUDA GPU")

RTOL = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of 4 threads: the simulator's cost is per thread and per barrier."""
    if SIM:
        monkeypatch.setattr(_launch, "threads_for", lambda n: 4)


def rows(rng, shape, dtype=np.float64, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def close(a, b, dtype):
    np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(b).max())


def test_is_available():
    assert sc.is_available()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["auto", "michelot", "sort"])
def test_sparsemax_matches_the_cpu(rng, method, dtype):
    z = rows(rng, (3, 9), dtype)
    z[0, :4] = 0.4  # ties
    z[1, 2] = -np.inf  # a mask
    z[2] *= 1e-3  # a dense row: every entry in the support
    p = sc.sparsemax(z, method=method)
    assert p.dtype == dtype and p.shape == z.shape
    close(p, sparsetools.sparsemax(z), dtype)
    assert p[1, 2] == 0.0 and (p[2] > 0).all()
    tau, k = sc.sparsemax_threshold(z, method=method)
    tc, kc = sparsetools.sparsemax_threshold(z)
    close(tau, tc, dtype)
    np.testing.assert_array_equal(k, kc)


@pytest.mark.slow  # the simulator's longest cases
def test_any_axis_and_layout_of_numpy_input(rng):
    z = rows(rng, (2, 5, 3))
    for axis in (0, 1, -1):
        close(sc.sparsemax(z, axis=axis), sparsetools.sparsemax(z, axis=axis), np.float64)
    f = np.asfortranarray(rows(rng, (4, 6)))[:, ::2]
    close(sc.sparsemax(f, axis=0), sparsetools.sparsemax(f, axis=0), np.float64)
    one = sc.sparsemax(np.array([1.76405235, 0.40015721, 0.97873798, 2.2408932, 1.86755799]))
    np.testing.assert_allclose(one, [0.1398845, 0, 0, 0.61672535, 0.24339015], atol=1e-8)
    half = sc.sparsemax(np.array([[1, 0, 3]], np.float16))  # computed in float32, returned as float16
    assert half.dtype == np.float16


def test_the_bisection_fallback_is_exact(rng, monkeypatch):
    # one Michelot step only: every row with more than one step left finishes by bisection
    monkeypatch.setattr(_rows, "MAX_STEPS", 1)
    monkeypatch.setattr(_launch, "_kernels", {})
    z = rows(rng, (3, 12), scale=0.3)
    z[2] = np.linspace(0, 1, 12) ** 3  # spread values: several steps
    close(sc.sparsemax(z, method="michelot"), sparsetools.sparsemax(z), np.float64)
    tau, k = sc.sparsemax_threshold(z, method="michelot")
    tc, kc = sparsetools.sparsemax_threshold(z)
    close(tau, tc, np.float64)
    np.testing.assert_array_equal(k, kc)


@pytest.mark.slow
def test_staged_and_unstaged_rows_give_the_same_bits(rng, monkeypatch):
    # blocks of 4 stage 32 candidates per thread: the dense row of 200 does not fit
    assert _rows.stage_slot(4) == 32
    z = rows(rng, (3, 200), scale=0.3)
    z[1] *= 1e-3  # every entry a candidate: 50 per thread
    staged = sc.sparsemax(z)
    close(staged, sparsetools.sparsemax(z), np.float64)
    L, _ = sc.sparsemax_loss_and_grad(z, np.array([0, 1, 2]))
    close(L, sparsetools.sparsemax_loss(z, np.array([0, 1, 2])), np.float64)
    monkeypatch.setattr(_rows, "stage_slot", lambda T: 1)  # (almost) nothing staged
    monkeypatch.setattr(_launch, "_kernels", {})
    assert sc.sparsemax(z).tobytes() == staged.tobytes()


@pytest.mark.slow
def test_the_real_block_sizes(rng, monkeypatch):
    monkeypatch.undo()  # threads_for as shipped: 32 threads up to 1024 entries, 256 above
    assert _launch.threads_for(1024) == 32 and _launch.threads_for(1025) == 256
    z = rows(rng, (1, 40))
    close(sc.sparsemax(z, method="sort"), sparsetools.sparsemax(z), np.float64)
    z = rows(rng, (1, 1100), scale=0.05)
    close(sc.sparsemax(z), sparsetools.sparsemax(z), np.float64)


def test_same_bits_every_run(rng):
    z = rows(rng, (2, 33), np.float32, 0.05)
    a = sc.sparsemax(z)
    b = sc.sparsemax(z)
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jvp_and_vjp_match_the_cpu(rng, dtype):
    p = sparsetools.sparsemax(rows(rng, (3, 8), dtype))
    v = rows(rng, (3, 8), dtype)
    close(sc.sparsemax_jvp(p, v), sparsetools.sparsemax_jvp(p, v), dtype)
    close(sc.sparsemax_vjp(p, v), sparsetools.sparsemax_vjp(p, v), dtype)


@pytest.mark.slow  # the simulator's longest cases
def test_losses_match_the_cpu(rng):
    z = rows(rng, (4, 7))
    labels = np.array([0, 6, 3, 2])
    L, G = sc.sparsemax_loss_and_grad(z, labels)
    Lc, Gc = sparsetools.sparsemax_loss_and_grad(z, labels)
    close(L, Lc, np.float64)
    close(G, Gc, np.float64)
    q = rng.random(z.shape)
    q[:, :3] = 0.0
    q /= q.sum(axis=1, keepdims=True)
    close(sc.sparsemax_loss(z, q), sparsetools.sparsemax_loss(z, q), np.float64)
    close(sc.sparsemax_loss_grad(z, q), sparsetools.sparsemax_loss_grad(z, q), np.float64)
    # a mask the target gives mass: an infinite loss, a finite gradient
    z[0, 0] = -np.inf
    L, G = sc.sparsemax_loss_and_grad(z, labels)
    assert L[0] == np.inf and np.isfinite(G).all()
    L32 = sc.sparsemax_loss(z.astype(np.float32), labels)
    assert L32.dtype == np.float32


@pytest.mark.slow  # the simulator's longest cases
def test_device_arrays_in_device_arrays_out(rng):
    z = rows(rng, (2, 3, 5), np.float32)
    d = cuda.to_device(z)
    p = sc.sparsemax(d, axis=1)
    assert not isinstance(p, np.ndarray) and p.shape == z.shape
    close(p.copy_to_host(), sparsetools.sparsemax(z, axis=1), np.float32)
    out = cuda.device_array(z.shape, np.float32)
    assert sc.sparsemax(d, axis=1, out=out) is out
    close(out.copy_to_host(), sparsetools.sparsemax(z, axis=1), np.float32)
    g = cuda.to_device(rows(rng, z.shape, np.float32))
    close(sc.sparsemax_vjp(p, g, axis=1).copy_to_host(),
          sparsetools.sparsemax_vjp(p.copy_to_host(), g.copy_to_host(), axis=1), np.float32)
    zl = rows(rng, (3, 6))
    lab = np.array([1, 5, 0])
    L, G = sc.sparsemax_loss_and_grad(cuda.to_device(zl), cuda.to_device(lab))
    Lc, Gc = sparsetools.sparsemax_loss_and_grad(zl, lab)
    close(L, Lc, np.float64)
    close(G.copy_to_host(), Gc, np.float64)
    s = cuda.stream()
    close(sc.sparsemax(z, axis=1, stream=s), sparsetools.sparsemax(z, axis=1), np.float32)


def test_out_for_numpy_input(rng):
    z = rows(rng, (3, 6))
    out = np.full(z.shape, 7.0)
    assert sc.sparsemax(z, out=out) is out
    close(out, sparsetools.sparsemax(z), np.float64)


def cpu_error(f, *args, **kw):
    with pytest.raises(Exception) as info:
        f(*args, **kw)
    return info.type, str(info.value)


@pytest.mark.parametrize("case", ["nan", "posinf", "all_neginf"])
def test_bad_scores_raise_the_cpus_error_and_write_nothing(rng, case):
    z = rows(rng, (3, 5))
    z[2, 1] = {"nan": np.nan, "posinf": np.inf}.get(case, 0.0)
    if case == "all_neginf":
        z[2] = -np.inf
    kind, msg = cpu_error(sparsetools.sparsemax, z)
    out = np.full(z.shape, 7.0)
    with pytest.raises(kind) as info:
        sc.sparsemax(z, out=out)
    assert str(info.value) == msg and "row 2" in msg
    assert (out == 7.0).all()
    d = cuda.to_device(z)
    dout = cuda.to_device(np.full(z.shape, 7.0))
    with pytest.raises(kind, match="row 2"):
        sc.sparsemax(d, out=dout)
    assert (dout.copy_to_host() == 7.0).all()


@pytest.mark.slow  # the simulator's longest cases
def test_bad_targets_and_p_raise_the_cpus_errors(rng):
    z = rows(rng, (3, 4))
    q = np.full(z.shape, 0.25)
    bads = {"label": np.array([0, 4, 1])}
    for name, fix in (("neg", lambda q: q.__setitem__((1, 0), -0.25)), ("sum", lambda q: q.__setitem__((1, 0), 0.5)),
                      ("nan", lambda q: q.__setitem__((1, 0), np.nan))):
        qq = q.copy()
        fix(qq)
        bads[name] = qq
    for target in bads.values():
        kind, msg = cpu_error(sparsetools.sparsemax_loss, z, target)
        with pytest.raises(kind) as info:
            sc.sparsemax_loss(z, target)
        assert str(info.value) == msg and "row 1" in msg
    p = sparsetools.sparsemax(z)
    p[1, 0] = -0.5
    kind, msg = cpu_error(sparsetools.sparsemax_jvp, p, z)
    with pytest.raises(kind) as info:
        sc.sparsemax_jvp(p, z)
    assert str(info.value) == msg


def test_arguments_are_checked():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="unknown method 'heap'"):
        sc.sparsemax(z, method="heap")
    with pytest.raises(ValueError, match="at most 1024"):
        sc.sparsemax(np.zeros((1, 1025)), method="sort")
    with pytest.raises(np.exceptions.AxisError):
        sc.sparsemax(z, axis=2)
    with pytest.raises(ValueError, match="empty reduction axis"):
        sc.sparsemax(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="float32 or float64"):
        sc.sparsemax(cuda.to_device(np.zeros((2, 3), np.int32)))
    with pytest.raises(ValueError, match="non-contiguous"):
        sc.sparsemax(cuda.to_device(np.zeros((4, 6)))[:, ::2])
    with pytest.raises(ValueError, match="no kernel for method 'sort'; use 'auto' or one of 'michelot'"):
        sc.sparsemax_loss(z, np.array([0, 1]), method="sort")
    with pytest.raises(ValueError, match="valid methods are 'auto', 'michelot', 'sort'"):
        sc.sparsemax(z, method="bisect")


def test_hostile_arguments_get_clear_errors_before_any_launch(rng):
    z = rows(rng, (2, 3))
    d = cuda.to_device(z)
    close(sc.sparsemax(z, stream=0), sparsetools.sparsemax(z), np.float64)  # Numba's default-stream 0
    for bad in ("abc", True, 1, object()):
        with pytest.raises(TypeError, match="stream must be a Numba CUDA stream"):
            sc.sparsemax(z, stream=bad)
        with pytest.raises(TypeError, match="stream must be"):
            sc.sparsemax_loss(z, np.array([0, 1]), stream=bad)
    with pytest.raises(TypeError, match="labels must be integers"):
        sc.sparsemax_loss(d, cuda.to_device(np.array([0.0, 2.0])))
    with pytest.raises(TypeError, match="device labels must be int64, not int32"):
        sc.sparsemax_loss(d, cuda.to_device(np.array([0, 2], np.int32)))
    with pytest.raises(ValueError, match="non-contiguous device array of labels"):
        sc.sparsemax_loss(cuda.to_device(np.zeros((2, 2, 3))), cuda.to_device(np.zeros((2, 4), np.int64))[:, ::2])
    for f in (lambda o: sc.sparsemax(d, out=o), lambda o: sc.sparsemax_vjp(d, d, out=o),
              lambda o: sc.sparsemax_loss_grad(d, cuda.to_device(np.array([0, 1])), out=o)):
        with pytest.raises(ValueError, match=r"it has shape \(3, 2\)"):
            f(cuda.device_array((3, 2)))
        with pytest.raises(TypeError, match="out must be a device array for a device input"):
            f(np.empty((2, 3)))
    empty = cuda.to_device(np.zeros((0, 8), np.float32))  # no rows, a device out
    assert sc.sparsemax(empty, out=cuda.device_array_like(empty)).shape == (0, 8)
    assert sc.sparsemax_vjp(empty, empty, out=cuda.device_array_like(empty)).shape == (0, 8)


def test_the_cpu_toolkit_never_imports_numba_cuda():
    code = ("import sys, numpy, sparsetools; sparsetools.sparsemax(numpy.ones(3)); "
            "sparsetools.cuda.is_available; assert 'numba.cuda' not in sys.modules, 'imported'; "
            "assert sparsetools.cuda.__name__ == 'sparsetools.cuda'")
    subprocess.run([sys.executable, "-c", code], check=True)


@gpu
def test_cuda_array_interface_inputs_are_used_in_place():
    torch = pytest.importorskip("torch")
    z = torch.randn(64, 300, device="cuda", dtype=torch.float32)
    p = torch.as_tensor(sc.sparsemax(z), device="cuda")
    np.testing.assert_allclose(p.cpu().numpy(), sparsetools.sparsemax(z.cpu().numpy()), rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_bench_gpu_checks_and_times_every_operation(capsys, tmp_path):
    from helpers import load_script

    mod = load_script("bench_gpu")
    (rec,) = mod.main(["--shapes", "3x8", "--repeat", "1", "--warmup", "0", "--no-torch",
                       "--json", str(tmp_path / "gpu.json")])
    assert {"copy_ms", "forward_ms", "vjp_ms", "loss_grad_ms", "err_forward", "err_vjp", "err_loss",
            "entmax15_ms", "entmax13_ms", "entmax_vjp_ms", "entmax_loss_grad_ms", "simplex_ms", "capped_ms",
            "err_simplex", "err_capped"} <= set(rec)
    assert rec["err_forward"] <= 1e-5 and rec["err_loss"] <= 1e-5
    assert "| 3x8 | float32 |" in capsys.readouterr().out
    assert (tmp_path / "gpu.json").exists()


PTX_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_gpu_ptx.py"


def _real_compiler_env():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    probe = subprocess.run([sys.executable, str(PTX_SCRIPT), "--probe"], env=env, capture_output=True, text=True)
    if probe.returncode == 3:
        return None
    assert probe.returncode == 0, probe.stdout + probe.stderr
    return env


@pytest.mark.slow
def test_every_kernel_compiles_for_a_real_gpu():
    """The simulator runs the kernels as Python; this compiles them with NVVM (sm_90). It
    needs NVVM and NVRTC (pip install nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12), which
    the test extra leaves out (300 MB): without them it is skipped."""
    env = _real_compiler_env()
    if env is None:
        pytest.skip("no CUDA compiler libraries (NVVM, NVRTC): "
                    "pip install nvidia-cuda-nvcc-cu12 nvidia-cuda-nvrtc-cu12")
    res = subprocess.run([sys.executable, str(PTX_SCRIPT)], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(" ok ") == 2 * 2 * len(_signatures.KERNELS)  # block sizes, dtypes


def test_the_signature_table_is_the_kernels():
    """Every kernel is in the table with its own parameters, in order, and nothing else is."""
    import inspect

    built = _launch.kernels(4)
    assert set(built) == set(_signatures.KERNELS)
    for name, args in _signatures.KERNELS.items():
        assert tuple(inspect.signature(built[name].py_func).parameters) == tuple(a for a, _ in args), name
        assert len(_signatures.signature(name, _signatures.types.float32)) == len(args)
    for table in _launch.MAPS.values():  # the method table names kernels of the table
        for m in table.values():
            assert m.forward in built and (m.loss is None or m.loss in built)


def test_an_empty_batch_launches_nothing():
    z = np.zeros((0, 4))
    assert sc.sparsemax(z).shape == (0, 4)
    tau, k = sc.sparsemax_threshold(z)
    assert tau.shape == k.shape == (0,)
    assert sc.sparsemax_loss(z, np.zeros(0, np.int64)).shape == (0,)
    assert sc.sparsemax_jvp(z, z).shape == (0, 4)


@pytest.fixture
def long_rows(monkeypatch):
    """Rows of 40 count as long, in chunks of 16 (3 chunks a row); records the converged
    flags of each chunked run."""
    monkeypatch.setattr(_launch, "LONG_ROW", 40)
    monkeypatch.setattr(_launch, "LONG_CHUNK", 16)
    flags = []
    real = _launch._long_forward

    def spy(*args):
        conv = real(*args)
        flags.append(conv.copy_to_host())
        return conv

    monkeypatch.setattr(_launch, "_long_forward", spy)
    return flags


@pytest.mark.slow
def test_long_rows_split_in_chunks_match_the_cpu(rng, long_rows):
    z = rows(rng, (2, 40))
    z[1] *= 1e-3  # every entry a candidate: 4 per thread and chunk, past the 2 staged
    z[0, 7] = -np.inf
    p = sc.sparsemax(z)
    close(p, sparsetools.sparsemax(z), np.float64)
    assert long_rows and long_rows[-1].all()  # the chunked path settled both rows
    tau, k = sc.sparsemax_threshold(z)
    tc, kc = sparsetools.sparsemax_threshold(z)
    close(tau, tc, np.float64)
    np.testing.assert_array_equal(k, kc)
    assert sc.sparsemax(z).tobytes() == p.tobytes()
    z[1, 30] = np.nan
    with pytest.raises(ValueError, match="z contains NaN in row 1"):
        sc.sparsemax(z)


@pytest.mark.slow
def test_long_rows_steps_did_not_settle_finish_by_bisection(rng, long_rows, monkeypatch):
    monkeypatch.setattr(_rows, "MAX_STEPS", 0)
    monkeypatch.setattr(_launch, "_kernels", {})
    z = rows(rng, (2, 40), scale=0.2)
    close(sc.sparsemax(z), sparsetools.sparsemax(z), np.float64)
    assert not long_rows[-1].all()


def _message(fn, *args):
    with pytest.raises(ValueError) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.slow  # the simulator's longest cases
def test_the_gpu_raises_the_cpu_error_for_every_bad_row():
    """The status precedence is the shared scalar pieces', so each bad input gets the same
    message from both backends, also where two problems meet in one row."""
    p = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [0.2, -0.1, 0.9]])
    v = np.array([[1.0, 0.0, 0.0], [np.nan, 0.0, 0.0], [0.0, np.inf, 0.0]])
    for rows in ([0, 1], [0, 2], [1], [2]):  # empty support with a NaN in v; p < 0 with inf in v
        assert _message(sc.sparsemax_jvp, p[rows], v[rows]) == _message(sparsetools.sparsemax_jvp, p[rows], v[rows])
    z = np.zeros((2, 3))
    for q in ([[1.0, 0.0, 0.0], [-np.inf, 1.0, 1.0]], [[1.0, 0.0, 0.0], [np.inf, 0.0, 0.0]],
              [[1.0, 0.0, 0.0], [np.nan, -1.0, 0.0]], [[1.0, 0.0, 0.0], [0.5, 0.4, 0.0]]):
        q = np.array(q)
        assert _message(sc.sparsemax_loss, z, q) == _message(sparsetools.sparsemax_loss, z, q)
    for zz in ([[0.0, np.nan, np.inf]], [[np.inf, -np.inf, 0.0]], [[-np.inf, -np.inf, -np.inf]]):
        zz = np.array(zz)
        assert _message(sc.sparsemax, zz) == _message(sparsetools.sparsemax, zz)


# ---------------------------------------------------------------------------------------
# alpha-entmax


# the simulator costs about a second per alpha and call: a few alphas in the default tier,
# the rest in the slow one
_FAST_ALPHAS = {np.float64: (1.0, 3.0), np.float32: (1.3,)}
_SLOW_ALPHAS = {np.float64: (1.3, 1.5, 2.0), np.float32: (1.0, 1.5, 2.0, 3.0)}


@pytest.mark.parametrize("dtype, alphas", [(d, a) for d, a in _FAST_ALPHAS.items()] +
                         [pytest.param(d, a, marks=pytest.mark.slow) for d, a in _SLOW_ALPHAS.items()])
def test_entmax_matches_the_cpu(rng, dtype, alphas):
    z = rows(rng, (4, 6), dtype)
    z[0, :3] = 0.4  # ties
    z[1, 2] = -np.inf  # a mask
    for alpha in alphas:
        p = sc.entmax(z, alpha)
        assert p.dtype == dtype and p.shape == z.shape
        close(p, sparsetools.entmax(z, alpha), dtype)
        assert p[1, 2] == 0.0
        tau, k = sc.entmax_threshold(z, alpha)
        tc, kc = sparsetools.entmax_threshold(z, alpha)
        close(tau, tc, dtype)
        np.testing.assert_array_equal(k, kc)
    if dtype == np.float64:
        per_row = np.array([1.0, 1.5, 2.0, 4.0])
        close(sc.entmax(z, per_row), sparsetools.entmax(z, per_row), dtype)
        close(sc.entmax15(z, axis=0), sparsetools.entmax15(z, axis=0), dtype)


@pytest.mark.parametrize("alphas", [(1.0, 1.5), pytest.param((1.25, 2.0, 2.5), marks=pytest.mark.slow)])
def test_entmax_jvp_and_losses_match_the_cpu(rng, alphas):
    z = rows(rng, (3, 7))
    v = rows(rng, (3, 7))
    labels = np.array([0, 3, 6])
    q = rng.dirichlet(np.ones(7), size=3)
    for alpha in alphas:
        p = sparsetools.entmax(z, alpha)
        close(sc.entmax_vjp(p, v, alpha), sparsetools.entmax_vjp(p, v, alpha), np.float64)
        for target in (labels, q):
            L, g = sc.entmax_loss_and_grad(z, target, alpha)
            Lc, gc = sparsetools.entmax_loss_and_grad(z, target, alpha)
            np.testing.assert_allclose(L, Lc, rtol=1e-12, atol=1e-14)
            close(g, gc, np.float64)


def test_entmax_errors_are_the_cpus_and_come_first(rng):
    z = rows(rng, (2, 5))
    out = np.full(z.shape, 7.0)
    for bad, match in ((0.9, r"alpha is 0\.9; entmax needs alpha >= 1"), (np.nan, "alpha is NaN"),
                       (np.array([1.5, np.inf]), r"alpha is inf in row 1")):
        with pytest.raises(ValueError, match=match):
            sc.entmax(z, bad, out=out)
        with pytest.raises(ValueError, match=match):
            sc.entmax_loss_grad(z, np.array([0, 1]), bad, out=out)
    assert (out == 7.0).all()
    z[1, 0] = np.nan
    with pytest.raises(ValueError, match="z contains NaN in row 1"):
        sc.entmax(z, 1.5)
    with pytest.raises(ValueError, match="p has a negative entry in row 0"):
        sc.entmax_jvp(np.array([[1.5, -0.5]]), np.zeros((1, 2)), 1.5)
    with pytest.raises(ValueError, match="unknown method 'sort' for the GPU; valid methods are 'auto', 'newton'"):
        sc.entmax(np.zeros(3), method="sort")


# ---- the projections on the GPU: the simplex of radius r and the capped simplex


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projections_match_the_cpu(rng, dtype):
    z = rows(rng, (4, 6), dtype)
    z[0, :3] = 0.4  # ties
    z[1, 2] = -np.inf  # a mask
    for r in (1.0, 2.5):
        close(sc.project_simplex(z, r), sparsetools.project_simplex(z, r), dtype)
    per_row = np.array([0.5, 1.0, 2.0, 4.0])
    close(sc.project_simplex(z, per_row), sparsetools.project_simplex(z, per_row), dtype)
    for b, u in ((1.0, 0.5), (2.0, 0.6), (3.0, 0.6)):
        p = sc.project_capped_simplex(z, b, u)
        assert p.dtype == dtype and p[1, 2] == 0.0
        close(p, sparsetools.project_capped_simplex(z, b, u), dtype)
    full = rows(rng, (2, 5), dtype)  # b = n u: every entry at the cap, exactly
    np.testing.assert_array_equal(sc.project_capped_simplex(full, 2.5, 0.5), np.full((2, 5), 0.5, dtype))


def test_projection_errors_are_the_cpus_and_come_first(rng):
    z = rows(rng, (3, 4))
    out = np.full(z.shape, 7.0)
    with pytest.raises(ValueError, match=r"radius is -1.0 in row 2"):
        sc.project_simplex(z, [1.0, 1.0, -1.0], out=out)
    with pytest.raises(ValueError, match=r"budget 5.0 is more than n \* upper = 4 \* 1.0"):
        sc.project_capped_simplex(z, 5.0, out=out)
    assert (out == 7.0).all()
    z[1, :3] = -np.inf
    with pytest.raises(ValueError, match="budget is more than upper times the entries that are not masked"):
        sc.project_capped_simplex(z, 2.0)
    z[2, 0] = np.nan
    with pytest.raises(ValueError, match="z contains NaN in row 2"):
        sc.project_simplex(z)
