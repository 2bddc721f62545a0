"""The registry of maps and methods: a method registered at run time is a method like the
built-in ones everywhere (the tests, the benchmarks, the plots), and registration checks
what it is given."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

import sparsetools
from sparsetools import _registry
from sparsetools.maps import MAPS

from helpers import ok, run_python

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _copy_of_sparsemax(name):
    sm = MAPS["sparsemax"]
    return _registry.Map(name, gather=sm.gather, presolve=sm.presolve, apply=sm.apply, jvp=sm.jvp,
                         jacobian=sm.jacobian, loss_label=sm.loss_label, loss_dist=sm.loss_dist,
                         auto=sm.auto, summary="a copy")


def test_registration_checks_its_arguments():
    m = _copy_of_sparsemax("sparsemax_registration_copy")
    kernel = MAPS["sparsemax"].methods["sort"].kernel
    with pytest.raises(ValueError, match="must be an identifier"):
        m.method("two words", kernel, "x")
    with pytest.raises(TypeError, match="must be a Numba-compiled function"):
        m.method("fine", 3, "x")
    m.method("fine", kernel, "x", _builtin=False)
    for name in ("fine", "auto"):
        with pytest.raises(ValueError, match=f"already has a method '{name}'"):
            m.method(name, kernel, "x", _builtin=False)
    assert m.names == ("fine",) and m.methods["fine"].code >= _registry.RUNTIME_CODES
    with pytest.raises(ValueError, match="unknown map 'entmax9'"):
        sparsetools.register_method("x", kernel, map="entmax9")
    with pytest.raises(ValueError, match="valid methods are 'auto', 'fine'"):
        m.resolve("sort", 10)


def test_the_method_list_is_the_registry():
    assert sparsetools.METHODS == MAPS["sparsemax"].names
    assert "guarded_michelot" not in sparsetools.METHODS  # auto's own kernel is not listed
    with pytest.raises(ValueError, match="valid methods are 'auto', 'sort', 'heap'"):
        sparsetools.sparsemax(np.zeros(3), method="guarded_michelot")


def _env():
    return dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT / "scripts")]))


@pytest.mark.slow
def test_a_registered_method_is_tested_with_no_other_edit():
    """The method-parametrised tests pick up the throwaway method ``scan`` from the
    registry alone; every one of them passes on it."""
    cmd = [sys.executable, "-m", "pytest", "-p", "throwaway_method", "-q", "-p", "no:cacheprovider",
           "-k", "scan", "tests/test_sparsemax.py", "tests/test_properties.py", "tests/test_losses.py",
           "tests/test_derivs.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900)
    out = ok(proc)
    summary = out.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 20 and "failed" not in summary and "error" not in summary, summary


@pytest.mark.slow
def test_a_registered_method_is_timed_and_drawn(tmp_path):
    """The algorithm comparison times ``scan`` beside the built-in methods, and its figures
    draw it with a style of its own, also where it wins a cell."""
    out = ok(run_python(f"""
        import json, sys
        import throwaway_method
        from helpers import load_script

        script = load_script("compare_algorithms")
        res = script.main(["--grid", "tiny", "--out", {str(tmp_path)!r}, "--no-peers", "--no-compile"])
        recs = [r for r in res["records"] if r["competitor"] == "scan"]
        assert recs and all(r["valid"] for r in recs), recs
        # make scan the winner of every cell and redraw the figures from the JSON
        data = json.load(open({str(tmp_path / "comparison.json")!r}))
        for r in data["records"]:
            if r["competitor"] == "scan":
                r["seconds"] /= 1000
                r["ratio"] /= 1000
        json.dump(data, open({str(tmp_path / "won.json")!r}, "w"))
        script.main(["--from-json", {str(tmp_path / "won.json")!r}, "--out", {str(tmp_path / "won")!r}])
        print("timed", len(recs))
    """, env=_env(), timeout=900))
    assert "timed" in out
    assert (tmp_path / "won" / "winner_map.png").exists()
    md = (tmp_path / "comparison.md").read_text()
    assert "scan" in md


def test_plot_styles_cover_any_name():
    from sparsetools.plotting import COMPETITOR_STYLE, competitor_style

    assert competitor_style("sort") == COMPETITOR_STYLE["sort"]
    a, b = competitor_style("scan"), competitor_style("another_method")
    assert a == competitor_style("scan") and len(a) == 3 and a[0] not in {s[0] for s in COMPETITOR_STYLE.values()}
    assert a != b


@pytest.mark.slow  # two uncached parallel compiles
def test_numba_sees_one_kernel_per_code():
    """A driver compiled for one code runs that code's kernel: two methods that differ give
    different bits on a row where only one of them is right."""
    @numba.njit
    def wrong(y, m, tmp):
        return -0.5, m

    m = _copy_of_sparsemax("sparsemax_dispatch_copy")
    good = m.method("good", MAPS["sparsemax"].methods["sort"].kernel, "x", _builtin=False)
    bad = m.method("bad", wrong, "x", _builtin=False)
    from sparsetools import _batched
    from sparsetools._contract import Rows

    rows = Rows(np.array([[3.0, 2.5, 2.1, 0.0]]), -1)  # presolve leaves two survivors
    res = {}
    for e in (good, bad):
        p, shift, thresh, k = rows.run(_batched.forward_rows, (rows.z2d,), ("rows", "float64", "float64", "int64"),
                                       (True, np.zeros(1)), e.code)
        res[e.name] = float(thresh[0])
    assert res == {"good": -0.75, "bad": -0.5}


def test_the_documented_lists_are_the_registry():
    """The README's method table and the docstrings name every registered method."""
    readme = (ROOT / "README.md").read_text()
    for m in MAPS["sparsemax"].names:
        assert f"| `{m}` |" in readme, m
        assert f'``"{m}"``' in sparsetools.sparsemax.__doc__, m
    entmax_table = readme[readme.index("## alpha-entmax"):]
    for m in MAPS["entmax"].names:
        assert f"| `{m}` |" in entmax_table, m
        assert f'``"{m}"``' in sparsetools.entmax.__doc__, m
    assert sparsetools.ENTMAX_METHODS == MAPS["entmax"].names
    from sparsetools.cuda import _launch

    for m in _launch.MAPS["sparsemax"]:
        assert f'``"{m}"``' in sparsetools.cuda.__doc__, m


def test_a_method_registered_for_entmax():
    """A kernel of the parameter's map takes alpha last and is a method of every entmax
    function at once."""
    sort = MAPS["entmax"].methods["sort"].kernel
    entry = sparsetools.register_method("sort_again", sort, summary="entmax's sort, again", map="entmax")
    try:
        assert "sort_again" in sparsetools.ENTMAX_METHODS
        z = np.random.default_rng(3).normal(size=(3, 9))
        for alpha in (1.3, np.array([1.0, 1.5, 3.0])):
            assert np.array_equal(sparsetools.entmax(z, alpha, method="sort_again"),
                                  sparsetools.entmax(z, alpha, method="sort"))
        assert np.array_equal(sparsetools.entmax_loss(z, np.array([0, 1, 2]), 1.5, method="sort_again"),
                              sparsetools.entmax_loss(z, np.array([0, 1, 2]), 1.5, method="sort"))
    finally:
        del MAPS["entmax"].methods[entry.name]
