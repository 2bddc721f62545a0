#!/usr/bin/env python
"""Which sparsemax algorithm is fastest, for which rows, and how sparsetools compares with
the NumPy reference and with the peers that are installed (entmax on PyTorch CPU, optax on
JAX; both optional).

Times every method of sparsetools.METHODS, method="auto", the NumPy sort reference and the
peers over: row length n (8 to 2^20; about 2^21 elements per array), input regime (normal,
dense, planted support, sorted ascending and descending, ties), float64 and float32; batch
size at n = 128 and 16384; and a planted-support grid over (n, k) for the winner map. Every
result is checked against the NumPy reference before it is timed; every time is the median
of rounds that also time np.copyto of the same array, and is reported as a ratio to it.
Compile times (first call in a fresh process, empty Numba cache) are measured separately.

--map projections compares the methods of each projection (the simplex of radius 2, the l1
ball, the capped simplex, the 16-sparse simplex) against optax's projections, and writes
projections.json and projections.md into figures/comparison/projections/
(harness/projection_bench.py).

--map entmax compares the alpha-entmax methods instead (alpha = 1.5, 1.3 and 2.5), against
the entmax package's entmax15 and entmax_bisect, and writes entmax.json, entmax.md and
entmax_times_<dtype> figures into figures/comparison/entmax/ (harness/entmax_bench.py).

Writes into --out (default: figures/comparison/ for the full grid with every method; a
partial run, a smaller grid or fewer methods, writes into a subfolder named after its grid,
and never over a full run's results unless --overwrite is given): comparison.json
(everything), comparison.csv (one line per point and competitor), compile.csv,
comparison.md (the tables), and the figures times_float64, times_float32, speedups and
winner_map. Prints the summary. --scheduler times the points on a dask.distributed cluster
(an address, or local for a LocalCluster of --workers processes), each point on one worker;
the compile times and the retimed contested points are measured here. On the 2-core development
machine, with both peers installed, the full grid took 19 minutes and --quick (a smaller
grid, fewer repeats, no compile times) 72 seconds.
"""

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import sparsetools

import _cli  # scripts/_cli.py: the shared argument checks
from harness import bench

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "figures" / "comparison"
OTHERS = ("numpy", "entmax", "optax")


def is_complete(grid, methods):
    """Whether a run covers the full grid with every method (its default output folder is
    then the README's, figures/comparison/)."""
    full = json.loads(json.dumps(bench.GRIDS["full"]))  # as it reads back from the JSON
    g = bench.GRIDS[grid] if isinstance(grid, str) else grid
    return json.loads(json.dumps(g)) == full and set(methods or sparsetools.METHODS) >= set(sparsetools.METHODS)


def coverage(results):
    """What a run's results hold: the full grid or not, its methods, its peers, compile
    times or not."""
    return dict(full=is_complete(results["grid"], results["methods"]), methods=set(results["methods"]),
                peers=set(results["peers"]), compile=bool(results["compile"]))


def missing(new, old):
    """What ``new`` lacks of what ``old`` holds (empty when it may replace it)."""
    gaps = []
    if old["full"] and not new["full"]:
        gaps.append("the full grid")
    gaps += [f"method {m}" for m in sorted(old["methods"] - new["methods"])]
    gaps += [f"peer {p}" for p in sorted(old["peers"] - new["peers"])]
    if old["compile"] and not new["compile"]:
        gaps.append("compile times")
    return gaps


def default_out(complete, grid):
    """The full grid's results go to figures/comparison/; a partial run's to a folder of
    its own beneath it (``quick/``, ``tiny/``, ``partial/``), never over the full ones."""
    if complete:
        return DEFAULT_OUT
    return DEFAULT_OUT / (grid if isinstance(grid, str) and grid != "full" else "partial")


def check_destination(out, new, overwrite):
    """Refuse, before any timing, to write results over a full grid's that they do not
    cover (fewer points, methods or peers, or no compile times); ``new`` is the run's
    ``coverage``."""
    existing = out / "comparison.json"
    if overwrite or not existing.exists():
        return
    try:
        old = coverage(json.loads(existing.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        raise SystemExit(f"{existing} exists and is not a comparison's results; "
                         f"choose another --out, or pass --overwrite to replace it") from None
    gaps = missing(new, old) if old["full"] else []
    if gaps:
        raise SystemExit(f"{out} holds the full grid's results, and this run would replace them without "
                         f"{', '.join(gaps)}. Choose another --out, or pass --overwrite to replace them "
                         f"on purpose.")


def read_results(path):
    """A comparison's results from its JSON, checked enough to redo its tables."""
    results = json.loads(path.read_text())
    if not isinstance(results, dict):
        raise ValueError("not an object")
    for key, kind in (("records", list), ("grid", dict), ("methods", list), ("peers", dict), ("compile", list),
                      ("machine", str)):
        if not isinstance(results.get(key), kind):
            raise ValueError(f"no {kind.__name__} {key!r}")
    if not results["records"]:
        raise ValueError("no records")
    return results


def retime_contested(results, limit=1.10, factor=3):
    """Time again, with ``factor`` times the repeats, every point where auto was more than
    ``limit`` times the best method: on a method-independent row (normal rows, where the
    shared candidate pass is nearly all the work) two methods differ by noise alone, and
    one round can put auto past the limit. The new records replace the old ones; the
    points are listed in ``results["retimed"]`` with the first auto/best ratio."""
    g = results["grid"]
    methods = results["methods"]
    makers = bench.peers() if results["peers"] else {}
    retimed = []
    for row in bench.auto_report(results["records"], methods):
        if row["auto_over_best"] <= limit:
            continue
        pt = {k: row[k] for k in bench.POINT_KEYS}
        new = bench.time_point(pt, methods, makers if pt["sweep"] != "map" else {}, repeat=g["repeat"] * factor,
                               min_time=g["min_time"] * 2)
        key = tuple(pt[k] for k in bench.POINT_KEYS)
        recs = results["records"]
        at = next(i for i, r in enumerate(recs) if tuple(r[k] for k in bench.POINT_KEYS) == key)
        results["records"] = recs[:at] + new + [r for r in recs[at:] if tuple(r[k] for k in bench.POINT_KEYS) != key]
        retimed.append(dict(pt, first_auto_over_best=row["auto_over_best"]))
    results["retimed"] = retimed
    return results


def write_outputs(results, out, fmt="png", dpi=150, plots=True):
    """Write the JSON, the CSVs, the Markdown tables and (``plots``) the figures."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "comparison.json", "w") as f:
        json.dump(results, f, indent=1)
    recs = results["records"]
    with open(out / "comparison.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(recs[0]))
        w.writeheader()
        w.writerows(recs)
    if results["compile"]:
        with open(out / "compile.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(results["compile"][0]))
            w.writeheader()
            w.writerows(results["compile"])
    md = markdown(results)
    (out / "comparison.md").write_text(md)
    written = [out / "comparison.json", out / "comparison.csv", out / "comparison.md"]
    if plots:
        from sparsetools import plotting

        figs = {f"times_{d}": (lambda d=d: plotting.plot_method_times(recs, d)) for d in results["grid"]["dtypes"]}
        figs["speedups"] = lambda: plotting.plot_speedups(recs, results["grid"]["dtypes"][0])
        if any(r["sweep"] == "map" for r in recs):
            figs["winner_map"] = lambda: plotting.plot_winner_map(recs, results["methods"])
        for name, draw in figs.items():
            path = out / f"{name}.{fmt}"
            plotting.save(draw, path, dpi=dpi)
            written.append(path)
    return written


def markdown(results):
    """The Markdown report: machine, every table, compile times, the auto check."""
    recs, methods = results["records"], results["methods"]
    others = [o for o in OTHERS if any(r["competitor"] == o for r in recs)]
    peers = ", ".join(f"{k} {v}" for k, v in results["peers"].items()) or "none installed"
    parts = [
        "# Algorithm comparison",
        "",
        f"Machine: {results['machine']}. Peers: {peers}.",
        "",
        "Each cell: median time / median time of `np.copyto` of the same array (the memory floor),",
        "timed in alternating rounds in the same run, after a warm-up; `copy ns/elt` is that floor per",
        "element. Every result was checked against the float64 NumPy reference before it was timed.",
    ]
    for dtype in results["grid"]["dtypes"]:
        parts += ["", f"## Row length sweep, {dtype}", "",
                  bench.markdown_table(recs, methods, "n", dtype, others=others)]
    parts += ["", "## Batch size (normal rows)", "",
              bench.markdown_table(recs, methods, "batch", results["grid"]["dtypes"][0], others=others)]
    if any(r["sweep"] == "map" for r in recs):
        parts += ["", "## Planted support of k entries (the winner map)", "",
                  bench.markdown_table(recs, methods, "map", results["grid"]["dtypes"][0], others=others)]
    if results["compile"]:
        parts += ["", "## Compile time", "",
                  "First call in a fresh process minus the second call: with an empty Numba cache (compile) and",
                  "with the cache the first process left (load).", "",
                  "| method | dtype | compile (s) | load (s) |", "|---|---|---|---|"]
        parts += [f"| {c['method']} | {c['dtype']} | {c['compile_seconds']:.2f} | {c['load_seconds']:.3f} |"
                  for c in results["compile"]]
    parts += ["", "## auto against the best method", "", auto_summary(results)]
    return "\n".join(parts) + "\n"


def auto_summary(results):
    """How far auto is from the best method, over every point."""
    rows = bench.auto_report(results["records"], results["methods"])
    worst = max(rows, key=lambda r: r["auto_over_best"])
    over = [r for r in rows if r["auto_over_best"] > 1.10]
    lines = [
        f"auto within 10% of the best method at {len(rows) - len(over)} of {len(rows)} points; "
        f"worst {worst['auto_over_best']:.3f} ({worst['sweep']} {worst['dtype']} {worst['regime']} "
        f"n={worst['n']} rows={worst['rows']}" + (f" k={worst['support']}" if worst["support"] else "")
        + f", best {worst['best']}).",
    ]
    retimed = results.get("retimed", [])
    if retimed:
        lines.append(f"{len(retimed)} point(s) were over 1.10 in the sweep and were timed again with 3x the "
                     "repeats (the numbers above are the second timing): "
                     + "; ".join(f"{r['sweep']} {r['dtype']} {r['regime']} n={r['n']} rows={r['rows']}"
                                 + (f" k={r['support']}" if r["support"] else "")
                                 + f" (first {r['first_auto_over_best']:.2f})" for r in retimed) + ".")
    for r in over:
        lines.append(f"- over 10%: {r['sweep']} {r['dtype']} {r['regime']} n={r['n']} rows={r['rows']}"
                     + (f" k={r['support']}" if r["support"] else "")
                     + f": auto/best = {r['auto_over_best']:.3f} (best {r['best']})")
    return "\n".join(lines)


def run_entmax(grid, out, use_peers, fmt, plots):
    """``--map entmax``: the alpha-entmax comparison (``harness.entmax_bench``); writes
    entmax.json, entmax.md and the figure entmax_times into ``out``."""
    from harness import entmax_bench

    t0 = time.perf_counter()
    results = entmax_bench.run(grid, use_peers=use_peers,
                               progress=lambda i, k, label: print(f"[{i}/{k}] {label}", file=sys.stderr))
    results["seconds"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    (out / "entmax.json").write_text(json.dumps(results, indent=1))
    md = entmax_bench.markdown(results)
    (out / "entmax.md").write_text(md)
    written = [out / "entmax.json", out / "entmax.md"]
    if plots:
        from sparsetools import plotting

        for dtype in results["grid"]["dtypes"]:
            path = out / f"entmax_times_{dtype}.{fmt}"
            plotting.save(lambda d=dtype: plotting.plot_entmax_comparison(results["records"], d), path)
            written.append(path)
    print(entmax_bench.summary(results))
    for path in written:
        print(f"wrote {path}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return results


def run_projections(grid, out, use_peers):
    """``--map projections``: every projection's methods against optax
    (``harness.projection_bench``); writes projections.json and projections.md into ``out``."""
    from harness import projection_bench

    t0 = time.perf_counter()
    results = projection_bench.run(grid, use_peers=use_peers,
                                   progress=lambda i, k, label: print(f"[{i}/{k}] {label}", file=sys.stderr))
    results["seconds"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    (out / "projections.json").write_text(json.dumps(results, indent=1))
    (out / "projections.md").write_text(projection_bench.markdown(results))
    print(projection_bench.summary(results))
    for name in ("projections.json", "projections.md"):
        print(f"wrote {out / name}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", choices=("sparsemax", "entmax", "projections"), default="sparsemax",
                    help="the map whose methods are compared (entmax: against the entmax package's entmax15 "
                         "and entmax_bisect, on its own grids; writes into figures/comparison/entmax/ for the "
                         "full grid)")
    ap.add_argument("--quick", action="store_true", help="the small grid, fewer repeats, no compile times")
    ap.add_argument("--grid", choices=list(bench.GRIDS), help="a grid by name (overrides --quick)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"output folder (default {DEFAULT_OUT} for the full grid with every method, "
                         f"else a subfolder named after the grid)")
    ap.add_argument("--overwrite", action="store_true",
                    help="let a partial run replace the full grid's results in --out")
    ap.add_argument("--methods", nargs="+", choices=list(sparsetools.METHODS), help="only these methods")
    ap.add_argument("--no-peers", action="store_true", help="do not time entmax or optax even if installed")
    ap.add_argument("--compile", dest="compile", action="store_true", default=None,
                    help="measure compile times (the default for the full grid)")
    ap.add_argument("--no-compile", dest="compile", action="store_false", help="skip the compile times")
    ap.add_argument("--no-plots", action="store_true", help="write the data and tables only")
    ap.add_argument("--format", default="png", choices=["png", "pdf", "svg"], help="figure format")
    ap.add_argument("--from-json", type=Path, help="redo the tables and figures of an earlier run, timing nothing")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="time the points on a dask.distributed cluster: 'local' starts a LocalCluster of "
                         "--workers processes; an address (tcp://host:8786) uses a running scheduler "
                         "(each point on one worker; one worker per machine, or points timed at once share it)")
    ap.add_argument("--workers", type=_cli.positive_int, default=1,
                    help="with --scheduler local: its worker processes (default 1)")
    args = ap.parse_args(argv)
    if args.scheduler:
        if args.map != "sparsemax" or args.from_json:
            ap.error("--scheduler times the sparsemax comparison's points; not with --map entmax, "
                     "--map projections or --from-json")
        _cli.check_scheduler(ap)
    elif args.workers != 1:
        ap.error("--workers goes with --scheduler local")
    t0 = time.perf_counter()
    if args.map == "projections":
        if args.from_json or args.methods or args.compile or args.scheduler:
            ap.error("--map projections takes --grid/--quick, --out and --no-peers only")
        from harness import projection_bench

        grid = args.grid or ("quick" if args.quick else "full")
        if grid not in projection_bench.GRIDS:
            ap.error(f"--map projections has the grids {', '.join(projection_bench.GRIDS)}, not {grid!r}")
        out = args.out or (DEFAULT_OUT / ("projections" if grid == "full" else f"projections_{grid}"))
        if out.exists() and not out.is_dir():
            ap.error(f"--out {out} is a file; it must be a folder")
        return run_projections(grid, out, not args.no_peers)
    if args.map == "entmax":
        if args.from_json or args.methods or args.compile:
            ap.error("--map entmax takes --grid/--quick, --out, --no-peers, --no-plots and --format only")
        grid = args.grid or ("quick" if args.quick else "full")
        from harness import entmax_bench

        if grid not in entmax_bench.GRIDS:
            ap.error(f"--map entmax has the grids {', '.join(entmax_bench.GRIDS)}, not {grid!r}")
        out = args.out or (DEFAULT_OUT / ("entmax" if grid == "full" else f"entmax_{grid}"))
        if out.exists() and not out.is_dir():
            ap.error(f"--out {out} is a file; it must be a folder")
        return run_entmax(grid, out, not args.no_peers, args.format, not args.no_plots)
    if args.from_json:
        if args.quick or args.grid or args.methods or args.compile is not None or args.no_peers:
            ap.error("--from-json redoes an earlier run's tables and figures: it takes no --quick, --grid, "
                     "--methods, --[no-]compile or --no-peers")
        try:
            results = read_results(args.from_json)
            new = coverage(results)
        except (OSError, ValueError, KeyError, TypeError) as e:
            ap.error(f"--from-json {args.from_json}: not a comparison's results ({type(e).__name__}: {e})")
        grid = "partial"
    else:
        grid = args.grid or ("quick" if args.quick else "full")
        compile_ = grid == "full" if args.compile is None else args.compile
        peers = [] if args.no_peers else bench.peer_versions()
        new = dict(full=is_complete(grid, args.methods), methods=set(args.methods or sparsetools.METHODS),
                   peers=set(peers), compile=compile_)
    out = args.out if args.out is not None else default_out(new["full"], grid)
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out} is a file; it must be a folder")
    check_destination(out, new, args.overwrite)
    try:  # now, not after the timing: a folder that cannot be made fails at once
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ap.error(f"--out {out}: {e.strerror or e}")
    if not args.from_json:
        print(f"grid {grid!r}: {len(bench.comparison_points(grid))} points", file=sys.stderr)
        results = bench.run_comparison(grid, methods=args.methods, use_peers=not args.no_peers,
                                       compile=compile_, progress=True, scheduler=args.scheduler,
                                       workers=args.workers)
        results = retime_contested(results)
        results["seconds"] = time.perf_counter() - t0
    written = write_outputs(results, out, fmt=args.format, plots=not args.no_plots)
    recs = results["records"]
    others = [o for o in OTHERS if any(r["competitor"] == o for r in recs)]
    print(f"machine: {results['machine']}")
    print(bench.markdown_table(recs, results["methods"], "n", results["grid"]["dtypes"][0], others=others))
    print()
    print(auto_summary(results))
    for path in written:
        print(f"wrote {path}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return results


if __name__ == "__main__":
    main()
