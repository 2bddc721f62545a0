"""The scripts are thin shells over importable code: run that code on small inputs."""

import sys
from pathlib import Path

import numpy as np
import pytest

import sparsetools

from harness import bench
from helpers import load_script


def test_demo_prints_the_seed_example_with_every_method(capsys):
    demo = load_script("demo")
    demo.main([])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "tau =" in line]
    assert len(lines) == len(sparsetools.METHODS)
    for line in lines:
        assert "tau = 1.62416785" in line
        assert "k = 3" in line
        assert "support = [0, 3, 4]" in line
        assert "0.61672535" in line and "0.24339015" in line and "0.1398845" in line


def test_demo_takes_scores_from_the_command_line(capsys):
    load_script("demo").main(["3", "1", "0.5"])
    out = capsys.readouterr().out
    assert "p = [1. 0. 0.]" in out and "k = 1" in out


@pytest.mark.slow
def test_bench_passes_prints_every_stage(capsys):
    load_script("bench_passes").main(["--repeat", "1", "--shape", "4x40"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    assert len(body) == len(bench.REGIMES)
    for line in body:
        cells = line.strip("| ").split(" | ")
        assert len(cells) == header.count("|") - 1 == 5 + 2 * len(sparsetools.METHODS)
        [float(c) for c in cells[2:]]  # every stage timed


@pytest.mark.slow
def test_bench_sort_prints_both_sorts(capsys):
    load_script("bench_sort").main(["--sizes", "5", "300", "--entries", "3000"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "m |" not in line]
    assert [line.split(" | ")[0] for line in rows] == ["| 5", "| 300"]
    for line in rows:
        [float(c) for c in line.strip("| ").split(" | ")[1:]]


@pytest.mark.parametrize("regime", bench.REGIMES)
def test_make_rows_regimes(regime):
    z = bench.make_rows((3, 1000), regime, np.float32, seed=1)
    assert z.shape == (3, 1000) and z.dtype == np.float32
    spread = float(z.std())
    assert (0.5 < spread < 2.0) if regime == "normal" else (5e-4 < spread < 2e-3)
    with pytest.raises(ValueError, match="unknown regime"):
        bench.make_rows((2, 2), "uniform")


def test_ratio_to_copy_times_both():
    z = np.ones((64, 64))
    calls = []
    t, c = bench.ratio_to_copy(lambda: calls.append(1), z, repeat=3, warmup=1, min_time=1e-4)
    assert t > 0 and c > 0 and len(calls) >= 1 + 1 + 3
    assert "numba" in bench.machine()


@pytest.mark.parametrize("regime", bench.REGIMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_derivative_cases_run_and_check(regime, dtype):
    z = bench.make_rows((5, 40), regime, dtype)
    cases = bench.derivative_cases(z)
    assert set(cases) >= {"sparsemax_jvp", "sparsemax_vjp", "sparsemax_loss_and_grad", "softmax"}
    for name, (call, check) in cases.items():
        call()
        assert check() <= (1e-5 if dtype == np.float32 else 1e-12), name


def test_derivative_check_catches_a_wrong_result(monkeypatch):
    import sparsetools

    z = bench.make_rows((5, 40), "normal")
    monkeypatch.setattr(sparsetools, "softmax", lambda z: np.full(z.shape, 1.0 / z.shape[-1]))
    assert bench.derivative_cases(z)["softmax"][1]() > 1e-3


def test_bench_small_calls_prints_every_batch(capsys):
    load_script("bench_small_calls").main(["--rows", "1", "3", "--repeat", "1"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:3] in ("| 1", "| 3")]
    assert len(rows) == 2
    for line in rows:
        [float(c) for c in line.strip("| ").split(" | ")]


@pytest.mark.slow
def test_output_hashes_tell_a_change_of_any_result(tmp_path, monkeypatch, capsys):
    script = load_script("output_hashes")
    z = np.random.default_rng(0).standard_normal((3, 6))
    monkeypatch.setattr(script, "_inputs", lambda: [("small", z)])
    first = tmp_path / "first.json"
    hashes = script.main(["--out", str(first)])
    assert any(k.startswith("sparsemax/") for k in hashes) and any(k.startswith("error/") for k in hashes)
    assert hashes["error/method"].startswith("ValueError: unknown method 'nope'")
    script.main(["--compare", str(first)])  # the same code: the same hashes
    assert "0 of" in capsys.readouterr().out
    monkeypatch.setattr(script, "_inputs", lambda: [("small", 1.5 * z)])
    with pytest.raises(SystemExit) as e:
        script.main(["--compare", str(first)])
    out = capsys.readouterr().out
    assert e.value.code == 1 and "differs: " in out and f" of {len(hashes)} cases differ" in out


@pytest.mark.slow
def test_bench_ab_times_two_versions_side_by_side(monkeypatch, capsys):
    script = load_script("bench_ab")
    monkeypatch.setattr(script, "SHAPES", ((4, 8),))
    rows = script.main(["--old", str(Path(sparsetools.__file__).parent), "--repeat", "1", "--dtype", "float64",
                        "--small"])
    assert {r["function"] for r in rows} == {"sparsemax", "loss+grad labels", "loss+grad dist", "vjp", "softmax"}
    assert len(rows) == 2 * 5 and all(r["ratio"] > 0 for r in rows)
    assert "new / old over 10 cells" in capsys.readouterr().out
    assert sys.modules["sparsetools_old"].__file__ != sparsetools.__file__


@pytest.mark.slow
def test_bench_cpu_latency_and_busy_tables(capsys):
    script = load_script("bench_cpu")
    lat = script.latency_table(np.dtype(np.float64), repeat=2)
    assert [r["shape"] for r in lat] == [list(s) for s in script.LATENCY_SHAPES]
    assert all(r["sparsemax_us"] > 0 and r["numpy_us"] > 0 and r["scipy_us"] > 0 for r in lat)
    busy = script.busy_table(np.dtype(np.float32), calls=20)
    assert all(0 < r["p50_us"] <= r["p99_us"] <= r["max_us"] for r in busy)
    out = capsys.readouterr().out
    assert "NumPy sort version" in out and "p99 / p50" in out


def test_entmax_exactness_measures_every_method_against_the_reference():
    exact = load_script("entmax_exactness")
    table = exact.measure(alphas=(1.01, 1.5), sizes=(2, 100), rows=4, ref=1)
    assert [(a, n) for a, n, _ in table] == [(1.01, 2), (1.01, 100), (1.5, 2), (1.5, 100)]
    for _, n, res in table:
        for method in sparsetools.ENTMAX_METHODS:
            sum_err, ref_err = res[method]
            assert sum_err <= 4.0  # in units of n eps
            assert (ref_err is None) == (n > exact.REF_UP_TO)
            assert ref_err is None or ref_err <= 64.0
    text = exact.markdown(table)
    assert text.count("\n") == 1 + len(table) and "newton: sum, ref" in text
    with pytest.raises(SystemExit):
        exact.main(["--alphas", "1.0"])
