"""The comparison suite (scripts/harness/bench.py, scripts/compare_algorithms.py) on tiny grids:
its inputs, its checks and its outputs. Nothing here asserts a time."""

import csv
import io
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import sparsetools

from harness import bench
from helpers import load_script
from reference import sparsemax_ref

# the harness, end to end: the slow tier
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("regime", bench.ALL_REGIMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_make_rows(regime, dtype):
    z = bench.make_rows((5, 64), regime, dtype, seed=3)
    assert z.shape == (5, 64) and z.dtype == dtype and np.isfinite(z).all()
    assert_array_equal(z, bench.make_rows((5, 64), regime, dtype, seed=3))  # seeded
    if regime == "ascending":
        assert np.all(np.diff(z, axis=-1) >= 0)
    if regime == "descending":
        assert np.all(np.diff(z, axis=-1) <= 0)
    if regime == "ties":
        assert set(np.unique(z)) <= {0.0, 0.25, 0.5, 0.75}


@pytest.mark.parametrize("n, k", [(1, 1), (10, 1), (10, 3), (100, 10), (100, 100), (4096, 64)])
def test_planted_support(n, k):
    z = bench.make_rows((7, n), "planted", support=k)
    p, tau, kk = sparsemax_ref(z)
    assert_array_equal(kk, k)
    if k > 1:  # every entry a candidate: within 1 of the max
        assert np.all(z >= z.max(-1, keepdims=True) - 1)
    assert_allclose(p, np.maximum(z, 0), atol=1e-15)  # tau = 0: the planted entries are p


def test_make_rows_errors():
    with pytest.raises(ValueError, match="unknown regime 'uniform'"):
        bench.make_rows((2, 4), "uniform")
    with pytest.raises(ValueError, match=r"support must be in \[1, 4\]"):
        bench.make_rows((2, 4), "planted", support=5)
    with pytest.raises(ValueError, match="only for the planted regime"):
        bench.make_rows((2, 4), "normal", support=2)


@pytest.mark.parametrize("regime", bench.ALL_REGIMES)
def test_numpy_reference(regime):
    z = bench.make_rows((9, 50), regime, seed=1)
    assert_allclose(bench.sparsemax_numpy(z), sparsemax_ref(z)[0], atol=1e-15)
    z32 = z.astype(np.float32)
    assert bench.sparsemax_numpy(z32).dtype == np.float32
    assert_allclose(bench.sparsemax_numpy(z32), sparsemax_ref(z32)[0], atol=1e-6)


def test_michelot_steps_count_the_kernel_passes():
    from reference import michelot_steps_of, slow_michelot_row

    z = np.concatenate([bench.make_rows((4, 300), r, seed=2) for r in bench.ALL_REGIMES])
    assert_array_equal(bench.michelot_steps(z), [michelot_steps_of(r) for r in z])
    assert bench.michelot_steps(slow_michelot_row()[None]) == [25]


def test_time_calls_reports_every_call_and_the_copy():
    z = np.ones((4, 8))
    calls = {"a": lambda: None, "b": lambda: z.sum()}
    t = bench.time_calls(calls, z, repeat=2, min_time=0.0)
    assert set(t) == {"a", "b", "copy"} and all(v > 0 for v in t.values())


def test_time_point_checks_before_timing(monkeypatch):
    pt = dict(sweep="n", dtype="float64", regime="dense", n=20, rows=3, support=None)
    peers = {"zeros": lambda z: (lambda: np.zeros_like(z)), "good": lambda z: (lambda: bench.sparsemax_numpy(z))}
    recs = bench.time_point(pt, ["sort", "michelot"], peers, repeat=1, min_time=0.0)
    by = {r["competitor"]: r for r in recs}
    assert list(by) == ["sort", "michelot", "auto", "numpy", "zeros", "good"]
    assert not by["zeros"]["valid"] and np.isnan(by["zeros"]["seconds"])  # a wrong answer is not timed
    assert all(by[c]["valid"] and by[c]["seconds"] > 0 for c in ("sort", "michelot", "auto", "numpy", "good"))
    assert by["sort"]["mean_support"] == 20  # dense rows of 20: the whole row
    # a sparsetools method that is wrong stops the run
    real = sparsetools.sparsemax
    monkeypatch.setattr(sparsetools, "sparsemax", lambda z, method: real(z, method=method) * 1.001)
    with pytest.raises(AssertionError, match="method 'sort' is off the reference"):
        bench.time_point(pt, ["sort"], repeat=1, min_time=0.0)


def test_comparison_points_cover_the_grid():
    g = bench.GRIDS["full"]
    pts = bench.comparison_points("full")
    main = [p for p in pts if p["sweep"] == "n"]
    assert len(main) == len(g["ns"]) * len(g["dtypes"]) * len(g["regimes"])
    assert min(p["n"] for p in main) == 8 and max(p["n"] for p in main) == 2**20
    assert all(p["n"] * p["rows"] <= g["total"] or p["rows"] == g["min_rows"] for p in main)
    assert {p["dtype"] for p in pts} == {"float64", "float32"}
    assert set(bench.ALL_REGIMES) == {p["regime"] for p in main}
    m = [p for p in pts if p["sweep"] == "map"]
    assert all(p["support"] <= p["n"] for p in m) and len({p["support"] for p in m}) >= 8


def test_auto_report():
    recs = []
    for comp, t in (("sort", 2.0), ("heap", 1.0), ("auto", 1.05)):
        recs.append(dict(sweep="n", dtype="float64", regime="normal", n=8, rows=2, support=None,
                         competitor=comp, seconds=t))
    (row,) = bench.auto_report(recs, ["sort", "heap"])
    assert row["best"] == "heap" and row["auto_over_best"] == pytest.approx(1.05)


def test_progress_bar_off_a_terminal():
    s = io.StringIO()
    bar = bench.Progress(20, stream=s)
    for i in range(20):
        bar.step(f"point {i}")
    lines = s.getvalue().splitlines()
    assert 10 <= len(lines) <= 11  # a line every tenth of the way, and the last
    assert lines[-1].startswith("[" + "#" * 28 + "]   20/20  point 19")


def test_compile_times_in_fresh_processes():
    (rec,) = bench.compile_times(["sort"], ["float32"], auto=False)
    assert rec["method"] == "sort" and rec["dtype"] == "float32"
    # an empty cache compiles; the second process loads what the first one cached
    assert rec["compile_seconds"] > 0.2 and rec["load_seconds"] < rec["compile_seconds"]


def test_compare_algorithms_script(tmp_path, capsys):
    script = load_script("compare_algorithms")
    res = script.main(["--grid", "tiny", "--out", str(tmp_path), "--no-peers", "--no-compile"])
    out = capsys.readouterr().out
    names = {"comparison.json", "comparison.csv", "comparison.md", "times_float64.png", "times_float32.png",
             "speedups.png", "winner_map.png"}
    assert names <= {p.name for p in tmp_path.iterdir()}
    with open(tmp_path / "comparison.csv") as f:
        rows = list(csv.DictReader(f))
    competitors = set(sparsetools.METHODS) | {"auto", "numpy"}
    assert {r["competitor"] for r in rows} == competitors
    assert len(rows) == len(bench.comparison_points("tiny")) * len(competitors)
    assert all(r["valid"] == "True" and float(r["ratio"]) > 0 for r in rows)
    assert json.loads((tmp_path / "comparison.json").read_text())["records"] == res["records"]
    md = (tmp_path / "comparison.md").read_text()
    for title in ("Row length sweep, float64", "Row length sweep, float32", "Batch size", "winner map"):
        assert title in md
    assert "auto within 10% of the best method at" in out and "machine:" in out
    # the figures can be redone from the JSON alone
    again = tmp_path / "again"
    script.main(["--from-json", str(tmp_path / "comparison.json"), "--out", str(again), "--format", "svg"])
    assert (again / "winner_map.svg").exists()


def test_entmax_comparison(tmp_path, capsys):
    """``compare_algorithms --map entmax`` on the tiny grid: every method and auto checked
    and timed at every point, the peers (entmax15 at alpha 1.5, entmax_bisect) when the
    entmax package is installed, the tables and the figures written."""
    script = load_script("compare_algorithms")
    res = script.main(["--map", "entmax", "--grid", "tiny", "--out", str(tmp_path)])
    names = {p.name for p in tmp_path.iterdir()}
    assert {"entmax.json", "entmax.md", "entmax_times_float64.png", "entmax_times_float32.png"} <= names
    from harness import entmax_bench

    g = entmax_bench.GRIDS["tiny"]
    points = len(g["alphas"]) * len(g["dtypes"]) * len(g["regimes"]) * len(g["ns"])
    ours = [r for r in res["records"] if r["competitor"] in set(sparsetools.ENTMAX_METHODS) | {"auto"}]
    assert len(ours) == points * (len(sparsetools.ENTMAX_METHODS) + 1)
    assert all(r["valid"] and r["ratio"] > 0 for r in ours)
    md = (tmp_path / "entmax.md").read_text()
    assert "## alpha = 1.5, float64, normal rows" in md and "## alpha = 1.3, float32, dense rows" in md
    try:
        import entmax  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return
    peers = {r["competitor"] for r in res["records"]} - {r["competitor"] for r in ours}
    assert peers == {"entmax15", "entmax_bisect"}
    assert "auto over entmax_bisect" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main(["--map", "entmax", "--from-json", "x.json"])


def test_bench_entmax_script(tmp_path, capsys):
    mod = load_script("bench_entmax")
    mod.main(["--shapes", "64x32", "--repeat", "1", "--md", str(tmp_path / "e.md")])
    out = capsys.readouterr().out
    assert "| 64x32 | float64 |" in out and "| 64x32 | float32 |" in out
    assert (tmp_path / "e.md").read_text().startswith("# alpha-entmax")


def test_bench_entmax_stages_script(capsys):
    load_script("bench_entmax_stages").main(["--shapes", "16x8", "--alphas", "1.5", "2.5", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "| 16x8 | 1.5 |" in out and "| 16x8 | 2.5 |" in out


def test_comparison_points_on_an_executor():
    """The comparison's points timed on an executor: the same points, inputs and checks
    (every number but the times) as timed here."""
    from concurrent.futures import ThreadPoolExecutor

    here = bench.run_comparison("tiny", methods=("sort", "condat"), use_peers=False, compile=False,
                                progress=False)
    with ThreadPoolExecutor(1) as pool:
        there = bench.run_comparison("tiny", methods=("sort", "condat"), use_peers=False, compile=False,
                                     progress=False, executor=pool)
    timing = {"seconds", "copy_seconds", "ratio", "ns_per_element"}
    assert [{k: v for k, v in r.items() if k not in timing} for r in here["records"]] == \
        [{k: v for k, v in r.items() if k not in timing} for r in there["records"]]


@pytest.mark.slow
def test_compare_algorithms_on_a_local_dask_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    script = load_script("compare_algorithms")
    res = script.main(["--grid", "tiny", "--out", str(tmp_path), "--no-peers", "--no-compile", "--no-plots",
                       "--methods", "sort", "--scheduler", "local"])
    assert len(res["records"]) == len(bench.comparison_points("tiny")) * 3  # sort, auto, numpy
    assert all(r["valid"] for r in res["records"])


def test_compare_algorithms_scheduler_option_is_checked(capsys):
    script = load_script("compare_algorithms")
    with pytest.raises(SystemExit):
        script.main(["--grid", "tiny", "--workers", "2"])
    assert "--workers goes with --scheduler local" in capsys.readouterr().err


def test_bench_dask_script(tmp_path, capsys):
    """scripts/bench_dask.py's parts on small arrays: the in-memory timing checks the dask
    result against the direct call's; the out-of-core child reports its histogram and its
    peak memory."""
    pytest.importorskip("dask.array")
    mod = load_script("bench_dask")
    med, rounds = mod.in_memory(2, rows=300, n=16, chunk=100)
    assert set(med) >= {"copy", "direct", "dask .compute()", "dask store", "dask .persist()"}
    assert all(len(v) == 2 for v in rounds.values())
    r = mod.out_of_core(rows=2000, n=16, chunk=500)
    assert sum(r["hist"]) == 2000 and len(r["hist"]) == 17 and r["hist"][0] == 0
    assert 0 < r["peak_rss"] < 2**34
    md = tmp_path / "dask.md"
    mod.main(["--skip", "memory", "multilabel", "--big-rows", "1000", "--md", str(md)])
    assert "Out of core" in md.read_text() and "1000 rows" in md.read_text()


def test_bench_projections_script(tmp_path, capsys):
    mod = load_script("bench_projections")
    mod.main(["--shapes", "64x32", "--repeat", "1", "--no-peers", "--md", str(tmp_path / "p.md")])
    out = capsys.readouterr().out
    assert "| 64x32 | float64 |" in out and "| 64x32 | float32 |" in out
    assert (tmp_path / "p.md").read_text().startswith("# The projections")


@pytest.mark.slow  # every method of every projection, both dtypes: compiled cold in CI
def test_compare_algorithms_projections(tmp_path, capsys):
    """``--map projections`` on the tiny grid: every method of each projection checked
    against float64 and timed, optax's where installed."""
    script = load_script("compare_algorithms")
    try:
        import jax

        x64 = jax.config.jax_enable_x64
    except ImportError:
        jax = None
    try:
        res = script.main(["--map", "projections", "--grid", "tiny", "--out", str(tmp_path)])
    finally:  # the optax peers switch JAX to float64 for the whole process: switch it back
        if jax is not None:
            jax.config.update("jax_enable_x64", x64)
    from harness import projection_bench

    g = projection_bench.GRIDS["tiny"]
    autos = [r for r in res["records"] if r["competitor"] == "auto"]
    assert len(autos) == len(projection_bench.SETS) * len(g["dtypes"]) * len(g["ns"])
    assert (tmp_path / "projections.md").read_text().startswith("# The projections' comparison")
    with pytest.raises(SystemExit):
        script.main(["--map", "projections", "--methods", "sort"])
