"""The projections' comparison: every method of each projection of sparsetools against
optax's ``projection_simplex`` and ``projection_l1_ball`` (jitted, vmapped over the rows,
JAX on the CPU), over row length and dtype.

Every result is checked before it is timed: each method against the float64 result of
``auto`` (to rounding); a peer's output against the same reference, recorded, and timed
only when it is within ``PEER_TOLERANCE``. Times are medians of rounds that also time
``np.copyto`` of the same array (``bench.time_calls``); the peers are timed in rounds of
their own, and their times are reported scaled to the copy of ours.
"""

import numpy as np

from .bench import machine, make_rows, peer_versions, time_calls

#: The sets and their parameters (the capped simplex's budget fits rows of 8: b <= n u).
SETS = {
    "simplex": dict(fn="project_simplex", map="simplex", args=(2.0,), peer="projection_simplex"),
    "l1_ball": dict(fn="project_l1_ball", map="l1_ball", args=(1.0,), peer="projection_l1_ball"),
    "capped_simplex": dict(fn="project_capped_simplex", map="capped_simplex", args=(2.0, 0.5), peer=None),
    "sparse_simplex": dict(fn="project_sparse_simplex", map="sparse_simplex", args=(16,), peer=None),
}
GRIDS = {
    "full": dict(ns=(8, 128, 1024, 8192, 65536), dtypes=("float64", "float32"), total=1 << 18, repeat=5,
                 min_time=0.02),
    "quick": dict(ns=(32, 1024, 32768), dtypes=("float64",), total=1 << 18, repeat=3, min_time=0.005),
    # the test suite's grid: every code path once, float64 and one method beside auto (each
    # method and dtype is one more compiled driver per projection)
    "tiny": dict(ns=(8, 200), dtypes=("float64",), total=400, repeat=1, min_time=0.0, methods=("bisect",)),
}
PEER_TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def _peer(name, scale, z):
    """optax's projection ``name`` with radius ``scale`` on a JAX copy of ``z`` (None when
    optax is not installed)."""
    try:
        import jax
        from optax import projections
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    fn = getattr(projections, name)
    r = np.asarray(scale, z.dtype)
    call = jax.jit(jax.vmap(lambda row: fn(row, r)))
    x = jax.device_put(z)
    return lambda: np.asarray(call(x).block_until_ready())


def run(grid="quick", use_peers=True, progress=None):
    """Time every point of ``grid`` (a name of ``GRIDS``); returns a dict with the grid,
    the machine, the peers' versions and one record per (point, competitor)."""
    import sparsetools
    from sparsetools.maps import MAPS

    g = GRIDS[grid]
    points = [(s, d, n) for s in SETS for d in g["dtypes"] for n in g["ns"]]
    records = []
    for i, (name, dtype, n) in enumerate(points):
        spec = SETS[name]
        fn = getattr(sparsetools, spec["fn"])
        rows = max(2, g["total"] // n)
        z = make_rows((rows, n), "normal", np.dtype(dtype))
        ref = fn(z.astype(np.float64), *spec["args"])
        tol = 8 * np.finfo(dtype).eps * max(1.0, float(np.abs(ref).max()))
        calls, errs, valid = {}, {}, {}
        names = MAPS[spec["map"]].names
        for m in tuple(m for m in g.get("methods", names) if m in names) + ("auto",):
            call = (lambda m: lambda: fn(z, *spec["args"], method=m))(m)
            err = float(np.abs(call().astype(np.float64) - ref).max())
            if not err <= 4 * tol:
                raise AssertionError(f"{spec['fn']} method {m!r} is off by {err} at {dtype} n={n}")
            calls[m], errs[m], valid[m] = call, err, True
        peer_calls = {}
        if use_peers and spec["peer"]:
            call = _peer(spec["peer"], spec["args"][0], z)
            if call is not None:
                label = f"optax {spec['peer']}"
                try:
                    err = float(np.abs(np.asarray(call(), np.float64) - ref).max())
                except Exception:  # noqa: BLE001 - a peer that fails is recorded, not timed
                    err = float("inf")
                errs[label], valid[label] = err, err <= max(PEER_TOLERANCE[dtype], 4 * tol)
                if valid[label]:
                    peer_calls[label] = call
        t = time_calls(calls, z, repeat=g["repeat"], warmup=0, min_time=g["min_time"])
        tp = time_calls(peer_calls, z, repeat=g["repeat"], warmup=1, min_time=g["min_time"]) if peer_calls else {}
        for comp in errs:
            if comp in calls:
                s = t[comp]
            elif comp in tp:
                s = tp[comp] / tp["copy"] * t["copy"]
            else:
                s = float("nan")
            records.append(dict(set=name, dtype=dtype, n=n, rows=rows, competitor=comp, seconds=s,
                                copy_seconds=t["copy"], ratio=s / t["copy"], ns_per_element=s / z.size * 1e9,
                                max_abs_diff=errs[comp], valid=valid[comp]))
        if progress:
            progress(i + 1, len(points), f"{name} {dtype} n={n}")
    return dict(grid=g, grid_name=grid, machine=machine(), peers=peer_versions() if use_peers else {},
                records=records)


def markdown(results):
    """One table per (set, dtype): per n, each method's time / copy, and the peers' time as
    a multiple of auto's."""
    recs = results["records"]
    versions = ", ".join(f"{k} {v}" for k, v in results["peers"].items()) or "none installed"
    out = ["# The projections' comparison", "",
           f"Machine: {results['machine']}. Peers: {versions}.", "",
           "Each cell: median time / median time of `np.copyto` of the same array, timed in alternating",
           "rounds in the same run (N(0, 1) rows); the peers' columns are their time / auto's (a blank: not",
           "timed, its output off the reference or a failure). `python scripts/compare_algorithms.py --map "
           "projections`.",
           "", "Parameters: " + "; ".join(f"`{s['fn']}{s['args']}`" for s in SETS.values()) + "."]
    for name in dict.fromkeys(r["set"] for r in recs):
        for dtype in dict.fromkeys(r["dtype"] for r in recs if r["set"] == name):
            sub = [r for r in recs if r["set"] == name and r["dtype"] == dtype]
            comps = list(dict.fromkeys(r["competitor"] for r in sub))
            ours = [c for c in comps if not c.startswith("optax")]
            peers = [c for c in comps if c.startswith("optax")]
            out += ["", f"## {name}, {dtype}", "",
                    "| n | rows | " + " | ".join(ours) + "".join(f" | {p} / auto" for p in peers) + " |",
                    "|---" * (2 + len(ours) + len(peers)) + "|"]
            for n in sorted({r["n"] for r in sub}):
                by = {r["competitor"]: r for r in sub if r["n"] == n}
                cells = [str(n), str(by["auto"]["rows"])] + [f"{by[c]['ratio']:.2f}" for c in ours]
                for p in peers:
                    r = by.get(p)
                    cells.append(f"{r['seconds'] / by['auto']['seconds']:.0f}x" if r and r["valid"] else "")
                out.append("| " + " | ".join(cells) + " |")
    out += ["", summary(results)]
    return "\n".join(out) + "\n"


def summary(results):
    """The speed-up of auto over each peer, and the points where a peer was not timed."""
    recs = results["records"]
    auto = {(r["set"], r["dtype"], r["n"]): r["seconds"] for r in recs if r["competitor"] == "auto"}
    lines = []
    for peer in sorted({r["competitor"] for r in recs if r["competitor"].startswith("optax")}):
        s = [r["seconds"] / auto[(r["set"], r["dtype"], r["n"])]
             for r in recs if r["competitor"] == peer and r["valid"]]
        bad = [f"{r['dtype']} n={r['n']}" for r in recs if r["competitor"] == peer and not r["valid"]]
        if s:
            lines.append(f"- auto over {peer}: {min(s):.1f}x to {max(s):.0f}x, median {np.median(s):.1f}x, at "
                         f"{len(s)} points" + (f"; not timed at {', '.join(bad)} (off the reference, or it "
                                               f"failed)" if bad else ""))
    return "\n".join(lines)
