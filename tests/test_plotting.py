"""sparsetools.plotting and scripts/make_figures.py, on the Agg backend: the plotted data
against closed forms and against sparsemax, the script's files, and each figure against the
committed PNG in figures/."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

import sparsetools  # noqa: E402
from sparsetools import plotting, sparsemax  # noqa: E402

from helpers import load_script  # noqa: E402

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"


def test_hard_sigmoid_data_are_the_closed_forms():
    fig = plotting.plot_hard_sigmoid()
    sparse, soft = fig.axes[0].lines[:2]
    t = sparse.get_xdata()
    assert t.min() == -3.0 and t.max() == 3.0 and t.size > 100
    assert_allclose(sparse.get_ydata(), np.clip((t + 1) / 2, 0, 1), rtol=0, atol=1e-15)
    assert_allclose(soft.get_ydata(), 1 / (1 + np.exp(-t)), rtol=1e-14, atol=0)
    y = sparse.get_ydata()
    assert np.all(y[t <= -1] == 0.0) and np.all(y[t >= 1] == 1.0)  # exactly, not nearly


def test_softmax_is_stable():
    assert_allclose(plotting.softmax([1000.0, 0.0]), [1.0, np.exp(-1000.0)], rtol=0, atol=1e-300)
    assert_allclose(plotting.softmax([[0.0, np.log(3.0)]]), [[0.25, 0.75]])


def test_support_map_agrees_with_sparsemax_on_its_grid():
    fig = plotting.plot_support_map(n=61)
    codes = fig.axes[0].images[0].get_array()
    t = np.linspace(-3, 3, 61)
    for i in range(0, 61, 6):
        for j in range(0, 61, 5):
            p = sparsemax(np.array([t[j], t[i], 0.0]))  # row i is t2, column j is t1
            assert plotting.SUPPORTS[codes[i, j]] == tuple(np.flatnonzero(p > 0))
    assert set(np.unique(codes)) == set(range(7))  # all seven supports appear


@pytest.mark.parametrize("seg", plotting.BOUNDARIES)
def test_boundaries_separate_different_supports(seg):
    (a0, b0), (a1, b1) = seg
    d = np.array([a1 - a0, b1 - b0])
    normal = np.array([-d[1], d[0]]) / np.hypot(*d)
    for s in (0.1, 0.5, 0.9):
        x = np.array([a0, b0]) + s * d
        sides = [plotting.support_codes(np.array([*(x + e * normal), 0.0])) for e in (-1e-6, 1e-6)]
        assert sides[0] != sides[1], (seg, s)
        on = sparsemax(np.array([*x, 0.0]))
        assert np.count_nonzero(on > 1e-9) <= max(len(plotting.SUPPORTS[c]) for c in sides)


def test_surfaces_are_softmax_and_sparsemax():
    t1, t2, z = plotting.grid3(41)
    p = sparsemax(z)[..., 0]
    assert_allclose(p, np.clip(p, 0, 1))
    assert np.any(p == 0.0) and np.any(p == 1.0)  # the flat zones
    q = plotting.softmax(z)[..., 0]
    assert np.all((q > 0) & (q < 1))
    fig = plotting.plot_surfaces(n=21)
    assert [ax.name for ax in fig.axes] == ["3d", "3d"]
    assert "softmax" in fig.axes[0].get_title() and "sparsemax" in fig.axes[1].get_title()


def _lab(color):
    """CIELAB of a colour (D65), for the distinctness check."""
    from matplotlib.colors import to_rgb

    r = np.array(to_rgb(color))
    r = np.where(r <= 0.04045, r / 12.92, ((r + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ r
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), (6 / 29) ** 3))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_support_colors_are_distinct():
    """No two supports share a near-identical colour: every pair at least 30 apart in
    CIELAB (a just-noticeable difference is about 2; the palette this replaced had 19)."""
    labs = [_lab(c) for c in plotting._SUPPORT_COLORS]
    d = min(np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1:])
    assert d >= 30, d


def test_entmax_support_map_agrees_with_entmax():
    fig = plotting.plot_support_map(n=41, alpha=1.5)
    codes = fig.axes[0].images[0].get_array()
    t = np.linspace(-3, 3, 41)
    for i in range(0, 41, 4):
        for j in range(0, 41, 5):
            p = sparsetools.entmax(np.array([t[j], t[i], 0.0]), 1.5)
            assert plotting.SUPPORTS[codes[i, j]] == tuple(np.flatnonzero(p > 0))
    assert set(np.unique(codes)) == set(range(7))
    assert "1.5-entmax" in fig.axes[0].get_title()


def test_entmax_curves_are_entmax():
    fig = plotting.plot_entmax_curves()
    lines = fig.axes[0].lines[: len(plotting.ENTMAX_ALPHAS)]
    for a, line in zip(plotting.ENTMAX_ALPHAS, lines):
        t, y = line.get_xdata(), line.get_ydata()
        z = np.stack([t, np.zeros_like(t)], -1)
        assert_allclose(y, sparsetools.entmax(z, a)[:, 0], atol=1e-15)
        if a > 1:  # exactly 0 and 1 beyond +-1 / (alpha - 1)
            w = 1 / (a - 1)
            assert np.all(y[t <= -w] == 0.0) and np.all(y[t >= w] == 1.0)
    assert_allclose(lines[0].get_ydata(), 1 / (1 + np.exp(-lines[0].get_xdata())), atol=1e-15)


def test_surface_layouts_and_figure1():
    fig = plotting.plot_surfaces(n=11, maps=("sparsemax", "1.5-entmax"), layout="row")
    assert [ax.name for ax in fig.axes] == ["3d", "3d"] and "1.5-entmax" in fig.axes[1].get_title()
    assert fig.get_figwidth() > fig.get_figheight()
    with pytest.raises(ValueError, match="unknown map 'argmax'"):
        plotting.plot_surfaces(n=5, maps=("argmax",))
    fig = plotting.plot_figure1(n=11)
    assert [ax.name for ax in fig.axes] == ["rectilinear", "3d", "3d"]
    assert fig.get_figwidth() >= 2 * plotting.COLUMN_WIDTH  # across the page, side by side


def test_figures_drawn_directly_have_the_style():
    fig = plotting.plot_bars()  # not through save(): the style is the function's own
    assert fig.axes[0].title.get_fontsize() == plotting.STYLE["axes.titlesize"]


def test_bars_are_the_two_distributions():
    z = np.array([0.3, 2.0, 1.5, -1.0])
    fig = plotting.plot_bars(z)
    sparse, soft = fig.axes[0].containers[:2]
    assert_allclose([b.get_height() for b in sparse], sparsemax(z), atol=1e-15)
    assert_allclose([b.get_height() for b in soft], np.exp(z) / np.exp(z).sum(), rtol=1e-14)
    assert "keeps 2 of 4" in fig.axes[0].get_title()


def test_simplex_projections():
    z = plotting.simplex_points()
    fig = plotting.plot_simplex(z)
    proj = fig.axes[0].collections[0].get_offsets()
    p = sparsemax(z)
    assert_allclose(proj, plotting._to_plane(p), atol=1e-12)
    kinds = plotting.landing(p)
    assert set(kinds) == {0, 1, 2}  # the default points land on vertices, edges and inside
    assert_array_equal(plotting.landing(np.eye(3)), 0)
    assert_allclose(plotting._to_plane(np.eye(3)), [[0, 0], [1, 0], [0.5, np.sqrt(3) / 2]], atol=1e-15)


def test_projections_figure():
    fig = plotting.plot_projections()
    ball, capped, sparse = fig.axes
    # each panel: the points, then their projections, as drawn
    pts = ball.collections[0].get_offsets()
    proj = ball.collections[1].get_offsets()
    assert_allclose(proj, sparsetools.project_l1_ball(np.asarray(pts)), atol=1e-12)
    z3 = plotting.simplex_points()
    assert_allclose(capped.collections[1].get_offsets(),
                    plotting._to_plane(sparsetools.project_capped_simplex(z3, 1.0, plotting.CAP)), atol=1e-12)
    assert_allclose(sparse.collections[1].get_offsets(),
                    plotting._to_plane(sparsetools.project_sparse_simplex(z3, 2)), atol=1e-12)
    # every kind of landing is shown: inside, edge and vertex on the ball and the hexagon
    for ax in (ball, capped):
        assert len({tuple(c) for c in ax.collections[1].get_facecolors()}) == 3


def test_temperature_path():
    z = np.array(plotting.PATH_SCORES)
    fig = plotting.plot_temperature_path()
    lines = fig.axes[0].lines[: z.size]
    T = lines[0].get_xdata()
    for i, line in enumerate(lines):
        assert_allclose(line.get_ydata(), sparsemax(z[None] / T[:, None])[:, i], atol=1e-15)
    for i, Ti in enumerate(plotting.support_entry_temperatures(z)):
        if Ti > 0:
            assert sparsemax(z / (Ti * (1 + 1e-9)))[i] > 0  # just above: in the support
            assert sparsemax(z / (Ti * (1 - 1e-9)))[i] == 0.0  # just below: out
    assert plotting.support_entry_temperatures(z)[np.argmax(z)] == 0.0
    assert T[0] < T[-1] and "rises" in fig.axes[0].get_title()  # the title reads left to right


def test_unknown_figure_and_format(tmp_path):
    with pytest.raises(ValueError, match="unknown figure 'nope'; known figures: figure1, hard_sigmoid"):
        plotting.save_figure("nope", tmp_path / "x.png")
    with pytest.raises(ValueError, match="unsupported figure format 'jpg'"):
        plotting.save_figure("bars", tmp_path / "x.jpg")


def _script():
    return load_script("make_figures")


@pytest.mark.slow
def test_script_writes_every_figure(tmp_path, capsys):
    written = _script().main(["--out", str(tmp_path), "--dpi", "40"])
    assert sorted(p.name for p in written) == sorted(f"{n}.png" for n in plotting.FIGURES)
    assert all(p.stat().st_size > 1000 for p in written)
    assert capsys.readouterr().out.count("wrote ") == len(plotting.FIGURES)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_script_only_and_format_deterministic(tmp_path, fmt):
    run = _script().main
    a = run(["--out", str(tmp_path / "a"), "--only", "hard_sigmoid", "--format", fmt, "--dpi", "40"])
    b = run(["--out", str(tmp_path / "b"), "--only", "hard_sigmoid", "--format", fmt, "--dpi", "40"])
    assert [p.name for p in a] == [f"hard_sigmoid.{fmt}"]
    assert a[0].read_bytes() == b[0].read_bytes()


def test_script_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        _script().main(["--only", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(plotting.FIGURES))
def test_figure_matches_committed_png(name, tmp_path):
    expected = FIGURES_DIR / f"{name}.png"
    actual = tmp_path / f"{name}.png"
    plotting.save_figure(name, actual)  # the script's defaults: 200 dpi
    result = compare_images(str(expected), str(actual), tol=2.0)
    assert result is None, result


def test_import_sparsetools_does_not_load_matplotlib():
    import subprocess
    import sys

    code = "import sys, sparsetools; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_winner_map_counts_auto_among_the_entrants():
    """A cell where auto beat every listed method is auto's, with 1.00: never a ratio below
    1 under a "fastest" label."""
    recs = []
    for n, k, times in ((64, 4, {"sort": 2.0, "michelot": 1.0, "auto": 1.5}),
                        (128, 4, {"sort": 2.0, "michelot": 1.2, "auto": 0.9})):
        for comp, sec in times.items():
            recs.append(dict(sweep="map", n=n, support=k, competitor=comp, seconds=sec, dtype="float64"))
    fig = plotting.plot_winner_map(recs, ("sort", "michelot"))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1.50", "1.00"]
    assert [p.get_facecolor()[:3] for p in fig.axes[0].patches[:2]] == [
        matplotlib.colors.to_rgb(plotting.competitor_style(c)[0]) for c in ("michelot", "auto")]


def test_multilabel_panels_label_both_axes():
    recs = [dict(mixture=m, K=K, loss=loss, length=L, jsd=0.1, jsd_fold_std=0.01, mse=0.2)
            for m in ("uniform", "random") for K in (10, 50) for loss in ("softmax", "sparsemax")
            for L in (20, 40)]
    fig = plotting.plot_multilabel_simulation(recs)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert len(labels) == 8 and all(labels), labels  # 4 panels, each with its left and right axis
