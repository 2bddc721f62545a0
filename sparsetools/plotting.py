"""Figures of sparsemax against softmax: the paper's Figure 1 and the pictures a reader wants.

Every ``plot_*`` function takes an optional Matplotlib axes (or figure, for the multi-panel
ones), draws on it, and returns the Figure. Without one it makes a new Figure sized for one
column of a two-column paper (3.4 in wide) with fonts that stay readable there. Nothing here
uses ``pyplot``: the figures are plain ``matplotlib.figure.Figure`` objects, so importing this
module never selects or starts a GUI backend; save them with ``fig.savefig``.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); sparsemax
is always blue and softmax always vermillion. The figures of ``scripts/make_figures.py`` are
the functions of ``FIGURES`` with their defaults.

Matplotlib is imported only by this module (``import sparsetools`` does not load it).
"""

import zlib

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from ._activations import softmax
from ._core import sparsemax
from ._entmax import entmax, entmax_threshold
from ._projections import project_capped_simplex, project_l1_ball, project_sparse_simplex

# Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
SPARSEMAX_COLOR = OKABE_ITO["blue"]
SOFTMAX_COLOR = OKABE_ITO["vermillion"]

#: rc settings applied while a figure is drawn: sizes for a 3.4 in column
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.4,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "svg.hashsalt": "sparsetools",  # deterministic SVG ids
}

COLUMN_WIDTH = 3.4  # inches


def _axes(ax, size, projection=None):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot(projection=projection)


def _styled(draw):
    """Run a ``plot_*`` function in ``STYLE``, so that a figure drawn directly (or composed
    from several of them on one Figure) has the fonts and lines of the saved ones."""
    import functools

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return styled


# --------------------------------------------------------------------------------------
# 1-D: the hard sigmoid


@_styled
def plot_hard_sigmoid(t=None, ax=None):
    """The paper's Figure 1, left: ``sparsemax([t, 0])_1`` against ``softmax([t, 0])_1``.

    For two scores sparsemax is the hard sigmoid ``clip((t + 1) / 2, 0, 1)``, exactly 0
    below t = -1 and exactly 1 above t = 1; softmax is the logistic function ``1 / (1 +
    exp(-t))``, which never reaches either. ``t`` defaults to 601 points on [-3, 3].
    Lines, in order: sparsemax, softmax.
    """
    t = np.linspace(-3.0, 3.0, 601) if t is None else np.asarray(t, dtype=np.float64)
    z = np.stack([t, np.zeros_like(t)], axis=-1)
    fig, ax = _axes(ax, (COLUMN_WIDTH, 2.3))
    ax.plot(t, sparsemax(z)[:, 0], color=SPARSEMAX_COLOR, label=r"sparsemax$([t, 0])_1$")
    ax.plot(t, softmax(z)[:, 0], color=SOFTMAX_COLOR, linestyle="--", label=r"softmax$([t, 0])_1$")
    ax.axhline(0.0, color="0.8", linewidth=0.6, zorder=0)
    ax.axhline(1.0, color="0.8", linewidth=0.6, zorder=0)
    ax.set_xlabel(r"score $t$ (the other score is 0)")
    ax.set_ylabel("probability of the first entry")
    ax.set_title("Two scores: sparsemax is a hard sigmoid")
    ax.set_xlim(t.min(), t.max())
    ax.set_ylim(-0.04, 1.04)
    ax.legend(loc="upper left", frameon=False)
    return fig


#: the alphas of the entmax curves: softmax (1), the logistic curve, to sparsemax (2), the
#: hard sigmoid, and beyond
ENTMAX_ALPHAS = (1.0, 1.25, 1.5, 2.0, 4.0)
_ALPHA_COLORS = (SOFTMAX_COLOR, OKABE_ITO["orange"], OKABE_ITO["bluish green"], SPARSEMAX_COLOR,
                 OKABE_ITO["reddish purple"])


def alpha_label(alpha):
    """How the figures name alpha-entmax: softmax, sparsemax, or alpha-entmax."""
    return {1.0: r"softmax ($\alpha = 1$)", 2.0: r"sparsemax ($\alpha = 2$)"}.get(
        float(alpha), rf"$\alpha = {alpha:g}$")


@_styled
def plot_entmax_curves(alphas=ENTMAX_ALPHAS, t=None, ax=None):
    """``entmax_alpha([t, 0])_1`` for several alpha: from the logistic curve of softmax
    (alpha = 1) through the hard sigmoid of sparsemax (alpha = 2) and beyond.

    For alpha > 1 the curve is exactly 0 for t <= -1 / (alpha - 1) and exactly 1 for
    t >= 1 / (alpha - 1) (one entry alone reaches the threshold there): the larger alpha,
    the narrower the smooth part. ``t`` defaults to 601 points on [-3, 3]. Lines, in the
    order of ``alphas``."""
    t = np.linspace(-3.0, 3.0, 601) if t is None else np.asarray(t, dtype=np.float64)
    z = np.stack([t, np.zeros_like(t)], axis=-1)
    fig, ax = _axes(ax, (COLUMN_WIDTH, 2.4))
    for i, a in enumerate(alphas):
        color = _ALPHA_COLORS[i] if i < len(_ALPHA_COLORS) else competitor_style(f"alpha {a}")[0]
        ax.plot(t, entmax(z, a)[:, 0], color=color, linestyle="--" if a == 1.0 else "-", label=alpha_label(a))
    ax.axhline(0.0, color="0.8", linewidth=0.6, zorder=0)
    ax.axhline(1.0, color="0.8", linewidth=0.6, zorder=0)
    ax.set_xlabel(r"score $t$ (the other score is 0)")
    ax.set_ylabel(r"$\alpha$-entmax$([t, 0])_1$")
    ax.set_title(r"Two scores: $\alpha$ from the logistic curve to the hard sigmoid")
    ax.set_xlim(t.min(), t.max())
    ax.set_ylim(-0.04, 1.04)
    ax.legend(loc="upper left", frameon=False, fontsize=6.5)
    return fig


# --------------------------------------------------------------------------------------
# 2-D: surfaces, and the support map that explains them


def grid3(n=121, lim=3.0):
    """``(t1, t2, z)``: an n x n grid on [-lim, lim]^2 and the score vectors [t1, t2, 0]."""
    t = np.linspace(-lim, lim, n)
    t1, t2 = np.meshgrid(t, t)
    z = np.stack([t1, t2, np.zeros_like(t1)], axis=-1)
    return t1, t2, z


#: the maps of the surface figures: name -> (probability of the first entry, colour, colour map)
_SURFACE_MAPS = {
    "softmax": (lambda z: softmax(z)[..., 0], SOFTMAX_COLOR, "Reds"),
    "sparsemax": (lambda z: sparsemax(z)[..., 0], SPARSEMAX_COLOR, "Blues"),
    "1.5-entmax": (lambda z: entmax(z, 1.5)[..., 0], OKABE_ITO["bluish green"], "Greens"),
}
_SURFACE_TITLES = {"softmax": "smooth, never 0 or 1", "sparsemax": "flat at exactly 0 and 1",
                   "1.5-entmax": "flat at 0 and 1, curved between"}


def _surface(ax, t1, t2, p, name):
    """One surface panel: seen from the side of large t1 and small t2, where the three
    kinds of regions show (the plateau at 1, the ramps of two-entry supports, the
    full-support middle); every grid cell its own facet (no mesh lines, no bands)."""
    import matplotlib
    from matplotlib.colors import LightSource

    _, color, cmap = _SURFACE_MAPS[name]
    # coloured by height and lit from the upper left, so that each planar piece of the
    # sparse maps has its own shade
    rgb = LightSource(azdeg=315, altdeg=40).shade(p, cmap=matplotlib.colormaps[cmap], vert_exag=2.5,
                                                   blend_mode="soft", vmin=-0.4, vmax=1.1)
    ax.plot_surface(t1, t2, p, facecolors=rgb, rstride=1, cstride=1, linewidth=0, antialiased=False,
                    shade=False)
    ax.set_box_aspect((1.0, 1.0, 0.85))
    ax.set_xlabel(r"$t_1$", labelpad=-7)
    ax.set_ylabel(r"$t_2$", labelpad=-7)
    ax.set_zlabel(rf"{name}$([t_1, t_2, 0])_1$", labelpad=-5)
    ax.set_zlim(0.0, 1.0)
    ax.tick_params(pad=-3)
    ax.set_title(f"{name}: {_SURFACE_TITLES.get(name, '')}", pad=0)
    ax.view_init(elev=30, azim=-60)


@_styled
def plot_surfaces(n=91, fig=None, maps=("softmax", "sparsemax"), layout="column"):
    """The paper's Figure 1, right: the probability of the first entry of
    ``map([t1, t2, 0])`` over [-3, 3]^2 as surfaces, one per map of ``maps`` ("softmax",
    "sparsemax", "1.5-entmax"), one above the other (``layout="column"``) or side by side
    (``"row"``).

    The sparsemax surface is piecewise linear with flat zones: exactly 0 where the first
    entry is out of the support and exactly 1 where it is the whole support; between them
    the ramps of the two-entry supports and the plane of the full support. Softmax is
    smooth and never reaches either; 1.5-entmax has sparsemax's flat zones with curved
    ramps. Returns the Figure; its axes are the maps, in order.
    """
    t1, t2, z = grid3(n)
    k = len(maps)
    if fig is None:
        size = (COLUMN_WIDTH, 2.8 * k) if layout == "column" else (2.35 * k, 2.6)
        fig = Figure(figsize=size, layout="constrained")
    for i, name in enumerate(maps):
        if name not in _SURFACE_MAPS:
            raise ValueError(f"unknown map {name!r}; the surfaces are of {', '.join(_SURFACE_MAPS)}")
        ax = fig.add_subplot(k, 1, i + 1, projection="3d") if layout == "column" else \
            fig.add_subplot(1, k, i + 1, projection="3d")
        _surface(ax, t1, t2, _SURFACE_MAPS[name][0](z), name)
        if layout != "column":  # side by side, the long titles would run into each other
            ax.set_title(f"{name}\n{_SURFACE_TITLES.get(name, '')}", pad=0)
    return fig


@_styled
def plot_figure1(n=91):
    """The paper's Figure 1 as it is laid out there, its panels side by side across the
    width of a two-column page: the two-score curves (sparsemax's hard sigmoid against
    softmax's logistic curve), then the softmax and sparsemax surfaces of three scores.
    Returns the Figure; its axes are the curves, then the two surfaces."""
    fig = Figure(figsize=(2 * COLUMN_WIDTH + 0.3, 2.45), layout="constrained")
    gs = fig.add_gridspec(1, 3, width_ratios=(1.0, 1.1, 1.1))
    plot_hard_sigmoid(ax=fig.add_subplot(gs[0]))
    fig.axes[0].set_title("Two scores: the hard sigmoid")
    t1, t2, z = grid3(n)
    for i, name in enumerate(("softmax", "sparsemax")):
        ax = fig.add_subplot(gs[i + 1], projection="3d")
        _surface(ax, t1, t2, _SURFACE_MAPS[name][0](z), name)
        ax.set_title(f"{name}, three scores", pad=0)
    return fig


#: the seven supports of sparsemax([t1, t2, 0]), in the order of their codes 0..6
SUPPORTS = ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2))
#: one colour per support, opaque: the one-entry supports in the palette's strongest
#: colours, the pairs in the others, all three light grey. The smallest distance between
#: two of them is 33 in CIELAB (vermillion and orange); the translucent palette this
#: replaced put blue beside sky blue at 19 (``support_color_distance`` in the tests).
_SUPPORT_COLORS = (
    OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish green"],
    OKABE_ITO["reddish purple"], OKABE_ITO["yellow"], OKABE_ITO["orange"], "#DDDDDD",
)


def support_codes(z, alpha=2.0):
    """For score vectors ``z[..., 3]``: the index in ``SUPPORTS`` of the support of each
    one's ``entmax(z, alpha)`` (alpha = 2: sparsemax)."""
    p = (sparsemax(z) if alpha == 2.0 else entmax(z, alpha)) > 0
    bits = p[..., 0] * 1 + p[..., 1] * 2 + p[..., 2] * 4
    lookup = np.full(8, -1)
    for code, s in enumerate(SUPPORTS):
        lookup[sum(1 << i for i in s)] = code
    return lookup[bits]


#: the exact region boundaries of sparsemax([a, b, 0]) as segments ((a0, b0), (a1, b1)) in
#: [-3, 3]^2: a vertex region ends where its runner-up reaches it (a - b = 1, a = 1, ...),
#: an edge region where the third entry reaches the edge's tau (a + b = 1: tau of {1, 2} is
#: (a + b - 1) / 2 = 0; b = (a - 1) / 2: tau of {1, 3} is (a - 1) / 2 = b; and symmetrically)
BOUNDARIES = (
    ((1.0, 0.0), (3.0, 2.0)),    # {1} | {1, 2}:   a - b = 1, b >= 0
    ((1.0, 0.0), (1.0, -3.0)),   # {1} | {1, 3}:   a = 1, b <= 0
    ((0.0, 1.0), (2.0, 3.0)),    # {2} | {1, 2}:   b - a = 1, a >= 0
    ((0.0, 1.0), (-3.0, 1.0)),   # {2} | {2, 3}:   b = 1, a <= 0
    ((-1.0, -1.0), (-1.0, -3.0)),  # {3} | {1, 3}: a = -1, b <= -1
    ((-1.0, -1.0), (-3.0, -1.0)),  # {3} | {2, 3}: b = -1, a <= -1
    ((1.0, 0.0), (0.0, 1.0)),    # {1, 2} | all:   a + b = 1
    ((1.0, 0.0), (-1.0, -1.0)),  # {1, 3} | all:   b = (a - 1) / 2
    ((0.0, 1.0), (-1.0, -1.0)),  # {2, 3} | all:   a = (b - 1) / 2
)


@_styled
def plot_support_map(n=601, ax=None, alpha=2.0):
    """The (t1, t2) plane coloured by the support of ``sparsemax([t1, t2, 0])`` (or of
    ``entmax([t1, t2, 0], alpha)``), with the region boundaries drawn over it.

    Seven regions: three where one entry takes all the mass (the flat zones at 1 of the
    surfaces), three where exactly two share it, and the central one where all three do.
    For sparsemax the boundaries are the exact segments of ``BOUNDARIES``; for another
    alpha they are the zero lines of (alpha - 1) z_i - tau, entry by entry, which are
    curves. The image is ``support_codes`` on an n x n grid; it is the first image of the
    axes.
    """
    t1, t2, z = grid3(n)
    codes = support_codes(z, alpha)
    fig, ax = _axes(ax, (COLUMN_WIDTH, 3.2))
    ax.imshow(codes, origin="lower", extent=(-3, 3, -3, 3), cmap=ListedColormap(_SUPPORT_COLORS),
              vmin=-0.5, vmax=6.5, interpolation="nearest")
    if alpha == 2.0:
        for (a0, b0), (a1, b1) in BOUNDARIES:
            ax.plot([a0, a1], [b0, b1], color="black", linewidth=0.9)
    else:
        tau, _ = entmax_threshold(z, alpha)
        for i in range(3):
            ax.contour(t1, t2, (alpha - 1.0) * z[..., i] - tau, levels=[0.0], colors="black",
                       linewidths=0.9)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$t_1$")
    ax.set_ylabel(r"$t_2$")
    name = "sparsemax" if alpha == 2.0 else f"{alpha:g}-entmax"
    ax.set_title(rf"Support of {name}$([t_1, t_2, 0])$")
    handles = [Patch(facecolor=c, label="{" + ", ".join(str(i + 1) for i in s) + "}")
               for s, c in zip(SUPPORTS, _SUPPORT_COLORS)]
    ax.legend(handles=handles, title="non-zero entries", loc="center left", bbox_to_anchor=(1.02, 0.5),
              frameon=False, title_fontsize=7)
    return fig


# --------------------------------------------------------------------------------------
# one score vector: bars; the simplex; the temperature path

#: the score vector of the bar chart: the first eight draws of ``np.random.seed(0);
#: np.random.randn(8)`` (the example of ``scripts/demo.py`` has the first five), rounded
BAR_SCORES = (1.76, 0.4, 0.98, 2.24, 1.87, -0.98, 0.95, -0.15)


@_styled
def plot_bars(z=BAR_SCORES, ax=None):
    """sparsemax(z) and softmax(z) of one score vector as side-by-side bars, one pair per
    entry, with the scores on the axis and exact zeros marked. The first bar container is
    sparsemax, the second softmax."""
    z = np.asarray(z, dtype=np.float64)
    p, q = sparsemax(z), softmax(z)
    fig, ax = _axes(ax, (COLUMN_WIDTH, 2.3))
    x = np.arange(z.size)
    w = 0.38
    ax.bar(x - w / 2, p, w, color=SPARSEMAX_COLOR, label="sparsemax")
    ax.bar(x + w / 2, q, w, color=SOFTMAX_COLOR, label="softmax")
    for xi, pi in zip(x, p):
        if pi == 0.0:
            ax.text(xi - w / 2, 0.01, "0", ha="center", va="bottom", fontsize=7, color=SPARSEMAX_COLOR)
    ax.set_xticks(x, [f"{v:g}" for v in z])
    ax.set_xlabel(r"entry $i$, labelled by its score $z_i$")
    ax.set_ylabel("probability")
    ax.set_title(f"Same scores: sparsemax keeps {int(np.count_nonzero(p))} of {z.size} entries")
    ax.set_ylim(0, max(p.max(), q.max()) * 1.12)
    ax.legend(frameon=False)
    return fig


def _to_plane(p):
    """2-D coordinates of points of the plane sum = 1 (rows of ``p``), with the simplex's
    vertices e1, e2, e3 at (0, 0), (1, 0), (1/2, sqrt(3)/2)."""
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 1] + 0.5 * p[..., 2], (np.sqrt(3) / 2) * p[..., 2]], axis=-1)


def simplex_points(n=40, seed=0):
    """``n`` reproducible points of R^3 for the simplex figure: normal around the centre
    (1/3, 1/3, 1/3), spread enough for every kind of landing place."""
    rng = np.random.default_rng(seed)
    return 1 / 3 + 0.55 * rng.standard_normal((n, 3))


LANDINGS = ("vertex", "edge", "interior")
_LANDING_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["blue"])


def landing(p):
    """Where sparsemax outputs ``p[..., 3]`` lie on the triangle: 0 vertex, 1 edge, 2 interior
    (the number of non-zero entries minus one)."""
    return np.count_nonzero(np.asarray(p) > 0, axis=-1) - 1


@_styled
def plot_simplex(z=None, ax=None):
    """Points of R^3 and their sparsemax, the Euclidean projection onto the triangle
    {p >= 0, sum p = 1}, drawn in the triangle's plane.

    Each point z is shown where it meets the plane along (1, 1, 1) (sparsemax ignores that
    direction), joined to its projection, which is marked by where it lands: on a vertex
    (one non-zero entry), an edge (two) or inside (three). Points inside the triangle are
    their own projection. ``z`` defaults to ``simplex_points()``. The first collection of
    the axes holds the projections, in the order of ``z``.
    """
    z = simplex_points() if z is None else np.asarray(z, dtype=np.float64)
    p = sparsemax(z)
    shifted = z - (z.sum(axis=-1, keepdims=True) - 1.0) / 3.0  # z moved along (1, 1, 1) into the plane
    a, b = _to_plane(shifted), _to_plane(p)
    where = landing(p)
    fig, ax = _axes(ax, (COLUMN_WIDTH, 3.0))
    ax.scatter(b[:, 0], b[:, 1], s=16, c=[_LANDING_COLORS[i] for i in where], zorder=3,
               edgecolors="black", linewidths=0.4)
    corners = _to_plane(np.eye(3))
    ax.add_patch(Polygon(corners, closed=True, facecolor="0.93", edgecolor="black", linewidth=0.9, zorder=0))
    for (x0, y0), (x1, y1) in zip(a, b):
        ax.plot([x0, x1], [y0, y1], color="0.55", linewidth=0.5, zorder=1)
    ax.scatter(a[:, 0], a[:, 1], s=7, facecolors="white", edgecolors="0.35", linewidths=0.5, zorder=2)
    offsets = ((-0.07, -0.06), (0.04, -0.06), (0.0, 0.05))
    for (x, y), name, (dx, dy) in zip(corners, ("$e_1$", "$e_2$", "$e_3$"), offsets):
        ax.text(x + dx, y + dy, name, ha="center", va="center")
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title("Sparsemax projects onto the simplex")
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.35",
                      markersize=3.5, label=r"point $z$ (moved along $(1,1,1)$)")]
    article = {"edge": "an", "vertex": "a"}
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="black",
                       markersize=4.5, label=f"projection on {article.get(n, 'the')} {n}")
                for n, c in zip(LANDINGS, _LANDING_COLORS)]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, frameon=False,
              fontsize=6.5, handletextpad=0.2, columnspacing=0.8)
    return fig


def _landing_legend(ax, names):
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.35",
                      markersize=3.5, label="point")]
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="black",
                       markersize=4.5, label=name) for name, c in zip(names, _LANDING_COLORS)]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, frameon=False,
              fontsize=6.5, handletextpad=0.2, columnspacing=0.8)


def _draw_landings(ax, a, b, where):
    """Points ``a`` joined to their projections ``b`` (2-D), the projections coloured by
    ``where`` (0 vertex, 1 edge, 2 interior)."""
    for (x0, y0), (x1, y1) in zip(a, b):
        ax.plot([x0, x1], [y0, y1], color="0.55", linewidth=0.5, zorder=1)
    ax.scatter(a[:, 0], a[:, 1], s=7, facecolors="white", edgecolors="0.35", linewidths=0.5, zorder=2)
    ax.scatter(b[:, 0], b[:, 1], s=16, c=[_LANDING_COLORS[i] for i in where], zorder=3,
               edgecolors="black", linewidths=0.4)
    ax.set_aspect("equal")
    ax.set_axis_off()


#: the capped simplex of the projections figure: {0 <= p <= CAP, sum p = 1} in R^3
CAP = 0.6


@_styled
def plot_projections(fig=None, seed=0):
    """Where points land on three sets of the threshold family, the siblings of
    :func:`plot_simplex`: the l1 ball {|x1| + |x2| <= 1} in the plane (points inside are
    their own projection), the capped simplex {0 <= p <= 0.6, sum p = 1} of R^3 (a
    hexagon in the triangle's plane) and the 2-sparse simplex of R^3 (the triangle's
    edges: at most two non-zero entries). Each projection is coloured by where it lands:
    inside the set, on an edge, or at a vertex. The first collection of each axes holds
    the points' segments' ends as drawn (points, then projections)."""
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.7), layout="constrained")
    axes = fig.subplots(1, 3)
    rng = np.random.default_rng(seed)
    # the l1 ball
    z = 1.1 * rng.standard_normal((45, 2))
    x = project_l1_ball(z)
    nonzero = np.count_nonzero(x, axis=-1)
    inside = np.abs(z).sum(-1) <= 1.0
    where = np.where(inside, 2, np.where(nonzero == 2, 1, 0))
    ax = axes[0]
    ax.add_patch(Polygon([(1, 0), (0, 1), (-1, 0), (0, -1)], closed=True, facecolor="0.93", edgecolor="black",
                         linewidth=0.9, zorder=0))
    ax.axhline(0, color="0.8", linewidth=0.5, zorder=0)
    ax.axvline(0, color="0.8", linewidth=0.5, zorder=0)
    _draw_landings(ax, z, x, where)
    ax.set_title("The l1 ball")
    _landing_legend(ax, ("at a vertex", "on an edge", "inside (itself)"))
    # the capped simplex and the 2-sparse simplex, in the plane sum = 1
    z3 = simplex_points(seed=seed)
    shifted = z3 - (z3.sum(axis=-1, keepdims=True) - 1.0) / 3.0
    corners = _to_plane(np.eye(3))
    p = project_capped_simplex(z3, 1.0, CAP)
    free = np.count_nonzero((p > 0) & (p < CAP), axis=-1)
    where = np.where(free == 3, 2, np.where(free == 2, 1, 0))
    ax = axes[1]
    ax.add_patch(Polygon(corners, closed=True, facecolor="none", edgecolor="0.6", linewidth=0.6,
                         linestyle=":", zorder=0))
    hexagon = [(CAP, 1 - CAP, 0), (1 - CAP, CAP, 0), (0, CAP, 1 - CAP), (0, 1 - CAP, CAP), (1 - CAP, 0, CAP),
               (CAP, 0, 1 - CAP)]
    ax.add_patch(Polygon(_to_plane(np.array(hexagon)), closed=True, facecolor="0.93", edgecolor="black",
                         linewidth=0.9, zorder=0))
    _draw_landings(ax, _to_plane(shifted), _to_plane(p), where)
    ax.set_title(f"The capped simplex ($p_i \\leq {CAP:g}$)")
    _landing_legend(ax, ("at a vertex", "on an edge", "inside"))
    q = project_sparse_simplex(z3, 2)
    where = np.count_nonzero(q, axis=-1) - 1  # 0 a vertex, 1 an edge
    ax = axes[2]
    ax.add_patch(Polygon(corners, closed=True, facecolor="none", edgecolor="black", linewidth=1.6, zorder=0))
    _draw_landings(ax, _to_plane(shifted), _to_plane(q), where)
    ax.set_title("The 2-sparse simplex (the edges)")
    _landing_legend(ax, ("at a vertex", "on an edge"))
    for ax in axes[1:]:
        for (xc, yc), name, (dx, dy) in zip(corners, ("$e_1$", "$e_2$", "$e_3$"),
                                            ((-0.07, -0.06), (0.04, -0.06), (0.0, 0.05))):
            ax.text(xc + dx, yc + dy, name, ha="center", va="center")
    return fig


#: the score vector of the temperature path
PATH_SCORES = (2.0, 1.4, 1.1, 0.5, 0.2, -0.6)


def support_entry_temperatures(z):
    """For each entry of ``z``: the temperature at or below which it has left the support
    of ``sparsemax(z / T)`` (0 for the largest entry, which never leaves).

    Entry i sits exactly at the threshold when the entries above it carry all the mass,
    ``sum_{j: z_j > z_i} (z_j - z_i) / T = 1``, so it is in the support for
    ``T > sum_{j: z_j > z_i} (z_j - z_i)`` and out of it at or below that temperature.
    """
    z = np.asarray(z, dtype=np.float64)
    return np.array([np.sum(np.maximum(z - zi, 0.0)) for zi in z])


@_styled
def plot_temperature_path(z=PATH_SCORES, temps=None, ax=None):
    """Each coordinate of ``sparsemax(z / T)`` as the temperature T goes from 0.2 to 20 (log
    scale, left to right): as T rises, entries join the support one by one, at the
    temperatures of ``support_entry_temperatures`` (dotted lines), from the largest alone
    towards the uniform distribution. The
    first ``len(z)`` lines of the axes are the coordinates, in the order of ``z``."""
    z = np.asarray(z, dtype=np.float64)
    temps = np.geomspace(0.2, 20.0, 801) if temps is None else np.asarray(temps, dtype=np.float64)
    p = sparsemax(z[None, :] / temps[:, None])
    fig, ax = _axes(ax, (COLUMN_WIDTH, 2.5))
    # the palette without yellow, which is faint on white for thin lines
    colors = [c for k, c in OKABE_ITO.items() if k != "yellow"]
    for i in range(z.size):
        ax.plot(temps, p[:, i], color=colors[i % len(colors)], label=f"$z_{i + 1} = {z[i]:g}$")
    for T in support_entry_temperatures(z):
        if temps.min() < T < temps.max():
            ax.axvline(T, color="0.6", linestyle=":", linewidth=0.8, zorder=0)
    ax.set_xscale("log")
    ax.set_xlim(temps.min(), temps.max())
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"temperature $T$")
    ax.set_ylabel(r"sparsemax$(z / T)_i$")
    ax.set_title("As the temperature rises, entries join the support")
    ax.legend(frameon=False, ncols=2, loc="upper right", fontsize=6.5)
    return fig


#: name -> function of every figure ``scripts/make_figures.py`` writes
FIGURES = {
    "figure1": plot_figure1,
    "hard_sigmoid": plot_hard_sigmoid,
    "surfaces": plot_surfaces,
    "support_map": plot_support_map,
    "entmax_curves": plot_entmax_curves,
    "entmax_surfaces": lambda: plot_surfaces(maps=("sparsemax", "1.5-entmax"), layout="row"),
    "entmax_support_map": lambda: plot_support_map(alpha=1.5),
    "bars": plot_bars,
    "simplex": plot_simplex,
    "projections": plot_projections,
    "temperature_path": plot_temperature_path,
}


def save_figure(name, path, dpi=200):
    """Draw the figure ``name`` of ``FIGURES`` with its defaults in the module's ``STYLE`` and
    save it to ``path`` (format from the suffix: png, pdf or svg). The files are
    deterministic: no creation date or software version is written into them."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known figures: {', '.join(FIGURES)}")
    return save(FIGURES[name], path, dpi=dpi)


def save(draw, path, dpi=200):
    """``draw()`` (a function returning a Figure) run in ``STYLE`` and saved to ``path``
    (png, pdf or svg, from the suffix) with no date or software version in the file."""
    import matplotlib

    fmt = str(path).rsplit(".", 1)[-1].lower()
    metadata = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None, "Creator": None},
                "svg": {"Date": None, "Creator": None}}.get(fmt)
    if metadata is None:
        raise ValueError(f"unsupported figure format {fmt!r} in {str(path)!r}; use png, pdf or svg")
    with matplotlib.rc_context(STYLE):
        fig = draw()
        fig.savefig(path, dpi=dpi, metadata=metadata)
    return fig


# --------------------------------------------------------------------------------------
# The algorithm comparison (records of ``run_comparison`` in the scripts' harness, scripts/harness/bench.py)

#: colour, line style and marker of each competitor of the comparison
COMPETITOR_STYLE = {
    "sort": (OKABE_ITO["orange"], "-", "o"),
    "heap": (OKABE_ITO["sky blue"], "-", "s"),
    "bisect": (OKABE_ITO["bluish green"], "-", "^"),
    "condat": (OKABE_ITO["reddish purple"], "-", "v"),
    "duchi": (OKABE_ITO["vermillion"], "-", "D"),
    "michelot": (OKABE_ITO["blue"], "-", "x"),
    "auto": (OKABE_ITO["black"], "-", None),
    "numpy": ("0.45", ":", "."),
    "entmax": ("#8C510A", "--", "+"),
    "newton": (OKABE_ITO["blue"], "-", "x"),
    "entmax15": ("#8C510A", "--", "+"),
    "entmax_bisect": ("#7F7F00", "-.", "1"),
    "optax": ("#7F7F00", "-.", "1"),
}
#: colours and markers for competitors ``COMPETITOR_STYLE`` does not list (a method
#: registered at run time), apart from the listed ones
_EXTRA_COLORS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#882255", "#AA4499")
_EXTRA_MARKERS = ("P", "X", "*", "h", "p", "<", ">", "d")


def competitor_style(name):
    """``(colour, line style, marker)`` of a competitor of the algorithm comparison: its
    entry in ``COMPETITOR_STYLE``, or for any other name a style of its own, the same in
    every figure (chosen from the name's characters, so it does not depend on which other
    competitors a figure shows)."""
    style = COMPETITOR_STYLE.get(name)
    if style is not None:
        return style
    h = zlib.crc32(str(name).encode())
    return _EXTRA_COLORS[h % len(_EXTRA_COLORS)], "-", _EXTRA_MARKERS[(h >> 8) % len(_EXTRA_MARKERS)]


_REGIME_COLORS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["bluish green"],
                  OKABE_ITO["orange"], OKABE_ITO["reddish purple"], OKABE_ITO["sky blue"])


def _sweep(records, sweep, dtype):
    return [r for r in records if r["sweep"] == sweep and r["dtype"] == dtype]


def _in_order(values):
    return list(dict.fromkeys(values))


@_styled
def plot_method_times(records, dtype="float64", fig=None):
    """Time per element against row length, one panel per input regime, one line per
    competitor (every method, ``auto``, the NumPy reference and the installed peers) and the
    copy of the same array (grey band: the memory floor), from the ``n`` sweep."""
    recs = _sweep(records, "n", dtype)
    regimes = _in_order(r["regime"] for r in recs)
    names = _in_order(r["competitor"] for r in recs)
    ncols = 3
    nrows = -(-len(regimes) // ncols)
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 1.9 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, regime in zip(axes, regimes):
        rs = [r for r in recs if r["regime"] == regime]
        ns = sorted({r["n"] for r in rs})
        copy = [next(r["copy_seconds"] / (r["n"] * r["rows"]) * 1e9 for r in rs if r["n"] == n) for n in ns]
        ax.fill_between(ns, [c * 0.98 for c in copy], [c * 1.02 for c in copy], color="0.75", lw=0)
        ax.plot(ns, copy, color="0.6", lw=2.5, alpha=0.6, label="copy")
        for name in names:
            pts = sorted((r["n"], r["ns_per_element"]) for r in rs if r["competitor"] == name and r["valid"])
            if not pts:
                continue
            color, ls, marker = competitor_style(name)
            ax.plot(*zip(*pts), color=color, linestyle=ls, marker=marker, markersize=2.5,
                    lw=1.8 if name == "auto" else 0.9, label=name, zorder=3 if name == "auto" else 2)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(regime)
    for ax in axes[len(regimes):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("ns per element")
    for ax in axes[-ncols:]:
        ax.set_xlabel("row length n")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, frameon=False)
    fig.suptitle(f"sparsemax, {dtype}: time per element (rows of about {_rows_label(recs)} elements in all)")
    return fig


def _rows_label(recs):
    sizes = sorted({r["n"] * r["rows"] for r in recs})
    return f"{sizes[len(sizes) // 2]:,}" if sizes else "?"


@_styled
def plot_speedups(records, dtype="float64", fig=None):
    """Speed-up of sparsetools (``auto``) over the NumPy reference and over each installed
    peer, against row length, one line per regime (above 1: sparsetools is faster)."""
    recs = _sweep(records, "n", dtype)
    baselines = [b for b in ("numpy", "entmax", "optax") if any(r["competitor"] == b for r in recs)]
    regimes = _in_order(r["regime"] for r in recs)
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.3), layout="constrained")
    axes = fig.subplots(1, len(baselines), sharey=True, squeeze=False).ravel()
    auto = {(r["regime"], r["n"]): r["seconds"] for r in recs if r["competitor"] == "auto"}
    for ax, base in zip(axes, baselines):
        for color, regime in zip(_REGIME_COLORS * 2, regimes):
            pts = sorted((r["n"], r["seconds"] / auto[regime, r["n"]]) for r in recs
                         if r["competitor"] == base and r["regime"] == regime and r["valid"])
            if pts:
                ax.plot(*zip(*pts), color=color, marker="o", markersize=2.5, lw=1, label=regime)
        ax.axhline(1.0, color="0.6", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"over {base}")
        ax.set_xlabel("row length n")
    axes[0].set_ylabel("speed-up of sparsetools auto")
    axes[-1].legend(frameon=False, fontsize=6)
    fig.suptitle(f"sparsemax, {dtype}: time of the other implementation / time of sparsetools")
    return fig


@_styled
def plot_winner_map(records, methods, ax=None):
    """The fastest method on rows with a planted support of k entries (every entry a
    candidate), over row length n and k, from the ``map`` sweep. Each cell is coloured by
    its winner among ``methods`` and ``auto`` itself (auto is timed as a competitor, and its
    hidden guarded method may beat every listed one), and says how far ``auto`` was from
    it: auto's time / the winner's, 1.00 where auto won."""
    recs = [r for r in records if r["sweep"] == "map"]
    ns = sorted({r["n"] for r in recs})
    ks = sorted({r["support"] for r in recs})
    fig, ax = _axes(ax, (COLUMN_WIDTH * 1.6, 2.8))
    times = {}
    for r in recs:
        times.setdefault((r["n"], r["support"]), {})[r["competitor"]] = r["seconds"]
    entrants = tuple(methods) + ("auto",)
    for (n, k), t in times.items():
        best = min(entrants, key=lambda m: t[m])  # auto too: its time is never below the winner's
        x, y = ns.index(n), ks.index(k)
        ax.add_patch(Polygon([(x - .5, y - .5), (x + .5, y - .5), (x + .5, y + .5), (x - .5, y + .5)],
                             closed=True, facecolor=competitor_style(best)[0], edgecolor="white", alpha=0.85))
        ax.text(x, y, f"{t['auto'] / t[best]:.2f}", ha="center", va="center", fontsize=5.5, color="white")
    ax.set_xlim(-0.5, len(ns) - 0.5)
    ax.set_ylim(-0.5, len(ks) - 0.5)
    ax.set_xticks(range(len(ns)), [_pow2(n) for n in ns])
    ax.set_yticks(range(len(ks)), [_pow2(k) for k in ks])
    ax.set_xlabel("row length n")
    ax.set_ylabel("support size k (planted)")
    winners = _in_order(min(entrants, key=lambda m: t[m]) for t in times.values())
    ax.legend(handles=[Patch(color=competitor_style(w)[0], label=w) for w in entrants if w in winners],
              loc="upper left", frameon=False, fontsize=6)
    ax.set_title(f"Fastest of the methods and auto (cell text: auto's time / the fastest's, >= 1), "
                 f"{recs[0]['dtype'] if recs else ''}")
    return fig


@_styled
def plot_entmax_comparison(records, dtype="float64", regime="normal", fig=None):
    """The alpha-entmax comparison (records of ``scripts/harness/entmax_bench.py``): one
    panel per alpha, time per element against row length n for each sparsetools method,
    ``auto`` and the entmax package's functions, on ``regime`` rows in ``dtype``."""
    recs = [r for r in records if r["dtype"] == dtype and r["regime"] == regime and r["valid"]]
    alphas = _in_order(r["alpha"] for r in recs)
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.4), layout="constrained")
    axes = fig.subplots(1, max(1, len(alphas)), sharey=True, squeeze=False)[0]
    for ax, alpha in zip(axes, alphas):
        sub = [r for r in recs if r["alpha"] == alpha]
        for comp in _in_order(r["competitor"] for r in sub):
            pts = sorted((r["n"], r["ns_per_element"]) for r in sub if r["competitor"] == comp)
            color, ls, marker = competitor_style(comp)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color, linestyle=ls, marker=marker,
                    markersize=3, label=comp, linewidth=1.6 if comp == "auto" else 1.0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(rf"$\alpha = {alpha:g}$")
        ax.set_xlabel("row length n")
    axes[0].set_ylabel("ns per element")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False, fontsize=6.5)
    fig.suptitle(f"alpha-entmax, {dtype}, {regime} rows: time per element")
    return fig


def _pow2(x):
    e = int(round(np.log2(x)))
    return f"$2^{{{e}}}$" if 2**e == x and x >= 16 else str(x)


# --------------------------------------------------------------------------------------
# The multi-label simulation (records of ``run_simulation`` in scripts/harness/multilabel.py)

#: colour and marker of each loss in the experiment's figures
LOSS_STYLE = {
    "sparsemax": (SPARSEMAX_COLOR, "o"),
    "softmax": (SOFTMAX_COLOR, "s"),
    "logistic": (OKABE_ITO["bluish green"], "^"),
}


@_styled
def plot_multilabel_simulation(records, losses=("softmax", "sparsemax"), fig=None):
    """The layout of the paper's simulation figure (section 4.1): a panel per mixture
    (rows: uniform, random label proportions) and number of classes K (columns); in each,
    against document length L, the test Jensen-Shannon divergence JS(p, q) / K (solid, left
    axis; error bars: one standard deviation over the cross-validation fold models) and the
    squared error ||p - q||^2 / K (dashed, right axis), one colour per loss."""
    mixtures = _in_order(r["mixture"] for r in records)
    Ks = sorted({r["K"] for r in records})
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 1.75 * len(mixtures) + 0.6), layout="constrained")
    axes = fig.subplots(len(mixtures), len(Ks), sharex=True, squeeze=False)
    handles = {}
    for i, mixture in enumerate(mixtures):
        for j, K in enumerate(Ks):
            ax = axes[i, j]
            right = ax.twinx()
            right.spines["right"].set_visible(True)
            for loss in losses:
                rs = sorted((r for r in records if r["mixture"] == mixture and r["K"] == K and r["loss"] == loss),
                            key=lambda r: r["length"])
                if not rs:
                    continue
                color, marker = LOSS_STYLE.get(loss, ("0.3", None))
                L = [r["length"] for r in rs]
                h = ax.errorbar(L, [r["jsd"] for r in rs], yerr=[r["jsd_fold_std"] for r in rs], color=color,
                                marker=marker, markersize=3, capsize=2, lw=1.2, label=f"{loss}, JSD")
                (h2,) = right.plot(L, [r["mse"] for r in rs], color=color, ls="--", marker=marker, markersize=3,
                                   mfc="white", lw=1.0, label=f"{loss}, MSE")
                handles[f"{loss}, JSD"] = h
                handles[f"{loss}, MSE"] = h2
            ax.set_title(f"{mixture} proportions, K = {K}")
            ax.set_ylim(bottom=0)
            right.set_ylim(bottom=0)
            ax.set_ylabel("JS(p, q) / K (solid)")
            right.set_ylabel(r"$\|p - q\|^2 / K$ (dashed)")
            if i == len(mixtures) - 1:
                ax.set_xlabel("document length L")
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=4, frameon=False)
    return fig


# --------------------------------------------------------------------------------------
# Training with the PyTorch front-end (records of ``scripts/train_torch.py``)

#: colour of each map in the training figure
TRAINING_STYLE = {"sparsetools": SPARSEMAX_COLOR, "entmax": "#8C510A", "softmax": SOFTMAX_COLOR}
#: line style of each map (entmax's sparsemax is the same map as sparsetools': dashed, so
#: that the two coinciding curves both show)
TRAINING_LINES = {"entmax": "--"}


@_styled
def plot_training(records, fig=None):
    """Top: the training loss per epoch of each map, for each task (the sparsemax loss and
    cross-entropy are on different scales, so each curve is its own loss). Bottom: the
    attention weights over the positions of the first test examples of the retrieval task,
    one panel per map, the right position of each example outlined."""
    tasks = _in_order(r["task"] for r in records)
    attn = [r for r in records if "attention_maps" in r]
    if fig is None:
        fig = Figure(figsize=(2 * COLUMN_WIDTH, 2.2 + (1.6 if attn else 0)), layout="constrained")
    grid = fig.add_gridspec(2 if attn else 1, max(len(tasks), len(attn), 1))
    for j, task in enumerate(tasks):
        ax = fig.add_subplot(grid[0, j])
        for r in (r for r in records if r["task"] == task):
            ax.plot(range(1, len(r["train_loss"]) + 1), r["train_loss"], marker="o", markersize=3,
                    color=TRAINING_STYLE.get(r["map"], "0.3"), linestyle=TRAINING_LINES.get(r["map"], "-"),
                    label=r["map"])
        ax.set_title(f"{task}: training loss")
        ax.set_xlabel("epoch")
        ax.legend(frameon=False)
    for j, r in enumerate(attn):
        ax = fig.add_subplot(grid[1, j])
        maps = np.asarray(r["attention_maps"])
        ax.imshow(maps, cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for i, t in enumerate(r["attention_targets"]):
            ax.add_patch(Polygon([(t - 0.5, i - 0.5), (t + 0.5, i - 0.5), (t + 0.5, i + 0.5), (t - 0.5, i + 0.5)],
                                 closed=True, fill=False, edgecolor=TRAINING_STYLE.get(r["map"], "C0"), lw=1.2))
        ax.set_title(f"{r['map']}: {r['attention_zeros']:.0%} zeros")
        ax.set_xlabel("position")
        ax.set_yticks([])
    return fig
