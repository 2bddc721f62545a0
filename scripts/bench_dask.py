#!/usr/bin/env python
"""sparsetools on Dask: the three measurements of how it runs past one array in memory.

1. In memory: ``sparsemax`` on a (200000, 1000) float32 dask array in chunks of 20000 rows
   on the threaded scheduler, against the direct call on the same NumPy array. Round after
   round (medians over --repeat rounds), interleaved: the memory copy of the array
   (``np.copyto``, the floor), the direct call, and the dask graph ended three ways: with
   ``.compute()`` (the chunks, then dask gathers them into one new array), with
   ``dask.array.store`` into an array made beforehand, and with ``.persist()`` (the chunks
   kept as they are); and, as dask's own floor for a result gathered by ``.compute()``,
   ``map_blocks(np.copy).compute()`` of the same dask array.
2. Out of core: the histogram of support sizes (``sparsemax_threshold``'s k) of a lazily
   generated (4000000, 1000) float32 array (16 GB of standard normal scores, made chunk by
   chunk, never held), on the threaded scheduler, in a child process whose peak resident
   memory (/proc's VmHWM) is reported.
3. The multi-label experiment's quick grid (``scripts/multilabel_simulation.py --quick``)
   on two local worker processes, then on a two-worker ``dask.distributed.LocalCluster``
   (started and closed inside the timing): wall times over --ml-repeat alternating rounds,
   and whether the numbers are the same bits.

Markdown to stdout and, with --md, to a file (figures/dask.md is this script's --md output).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import machine

ROWS, N, CHUNK = 200_000, 1000, 20_000
BIG_ROWS = 4_000_000


def in_memory(repeat, rows=ROWS, n=N, chunk=CHUNK):
    import dask
    import dask.array as da

    import sparsetools as st

    x = np.random.default_rng(0).standard_normal((rows, n), dtype=np.float32)
    z = da.from_array(x, chunks=(chunk, n))
    dest = np.empty_like(x)
    want = st.sparsemax(x)
    got = st.sparsemax(z).compute(scheduler="threads")
    assert np.array_equal(got, want), "the dask result differs from the direct call's"
    del got
    calls = {
        "copy": lambda: np.copyto(dest, x),
        "direct": lambda: st.sparsemax(x),
        "dask .compute()": lambda: st.sparsemax(z).compute(scheduler="threads"),
        "dask store": lambda: da.store(st.sparsemax(z), dest, lock=False, scheduler="threads"),
        "dask .persist()": lambda: dask.persist(st.sparsemax(z), scheduler="threads"),
        "dask map_blocks(np.copy).compute()": lambda: z.map_blocks(np.copy).compute(scheduler="threads"),
    }
    times = {k: [] for k in calls}
    for _ in range(repeat):
        for k, f in calls.items():
            t = time.perf_counter()
            res = f()
            times[k].append(time.perf_counter() - t)
            del res
    return {k: float(np.median(v)) for k, v in times.items()}, {k: v for k, v in times.items()}


def peak_rss():
    """This process's peak resident memory in bytes: /proc's VmHWM, of this program's own
    address space (getrusage's maxrss would also count, across exec, the RSS of the
    process this one was forked from), or maxrss where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def out_of_core_child(rows, n, chunk):
    """Run in the child: the histogram, its time and this process's peak RSS (JSON)."""
    import dask.array as da

    import sparsetools as st

    t = time.perf_counter()
    z = da.random.default_rng(0).standard_normal((rows, n), chunks=(chunk, n), dtype=np.float32)
    _, k = st.sparsemax_threshold(z)
    hist = da.bincount(k, minlength=n + 1).compute(scheduler="threads")
    seconds = time.perf_counter() - t
    peak = peak_rss()
    print(json.dumps(dict(seconds=seconds, peak_rss=peak, hist=hist.tolist(), gb=rows * n * 4 / 1e9)))


def out_of_core(rows=BIG_ROWS, n=N, chunk=CHUNK):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(rows), str(n), str(chunk)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def multilabel_rounds(repeat):
    from harness import multilabel

    walls = {"local processes": [], "LocalCluster": []}
    records = {}
    for _ in range(repeat):
        for name, scheduler in (("local processes", None), ("LocalCluster", "local")):
            t = time.perf_counter()
            recs = multilabel.run_simulation("quick", workers=2, scheduler=scheduler)
            walls[name].append(time.perf_counter() - t)
            records.setdefault(name, [{k: v for k, v in r.items() if k != "seconds"} for r in recs])
    same = records["local processes"] == records["LocalCluster"]
    return {k: float(np.median(v)) for k, v in walls.items()}, walls, same


def main(argv=None):
    if argv is None and sys.argv[1:2] == ["--child"]:
        return out_of_core_child(*(int(a) for a in sys.argv[2:5]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--repeat", type=_cli.positive_int, default=9, help="rounds of the in-memory timing")
    ap.add_argument("--ml-repeat", type=_cli.positive_int, default=2, help="rounds of the multi-label grid")
    ap.add_argument("--big-rows", type=_cli.positive_int, default=BIG_ROWS,
                    help=f"rows of the out-of-core array (default {BIG_ROWS}: 16 GB)")
    ap.add_argument("--skip", nargs="+", default=(), choices=("memory", "out-of-core", "multilabel"),
                    help="leave these parts out")
    ap.add_argument("--md", help="also write the report to this Markdown file")
    args = ap.parse_args(argv)
    args.md = _cli.out_file(ap, args.md, "--md")
    import dask

    lines = ["# sparsetools on Dask", "", f"Machine: {machine()}, dask {dask.__version__}. "
             f"Load before the run: {os.getloadavg()[0]:.2f}.", ""]
    if "memory" not in args.skip:
        med, _ = in_memory(args.repeat)
        direct = med["direct"]
        lines += [f"## sparsemax on a ({ROWS}, {N}) float32 dask array, chunks of {CHUNK} rows, threaded scheduler",
                  "", f"Medians of {args.repeat} interleaved rounds.", "",
                  "| call | seconds | / direct call | / copy |", "|---|---|---|---|"]
        lines += [f"| {k} | {v:.3f} | {v / direct:.2f} | {v / med['copy']:.2f} |" for k, v in med.items()]
        lines.append("")
    if "out-of-core" not in args.skip:
        r = out_of_core(args.big_rows)
        hist = np.array(r["hist"])
        sizes = np.flatnonzero(hist)
        mean = float((np.arange(hist.size) * hist).sum() / hist.sum())
        lines += [f"## Out of core: support sizes of a lazily generated ({args.big_rows}, {N}) float32 array "
                  f"({r['gb']:.0f} GB), threaded scheduler", "",
                  f"{r['seconds']:.1f} s (generating the scores and the thresholds), peak resident memory "
                  f"{r['peak_rss'] / 2**30:.2f} GiB. Support sizes from {sizes.min()} to {sizes.max()}, "
                  f"mean {mean:.2f}, over {hist.sum()} rows.", ""]
    if "multilabel" not in args.skip:
        med, walls, same = multilabel_rounds(args.ml_repeat)
        ratio = med["LocalCluster"] / med["local processes"]
        lines += ["## The multi-label quick grid, two workers", "",
                  f"Wall time, medians of {args.ml_repeat} alternating rounds (the LocalCluster's start and close "
                  "included).", "",
                  "| where | seconds | every round |", "|---|---|---|"]
        lines += [f"| {k} | {v:.1f} | {', '.join(f'{t:.1f}' for t in walls[k])} |" for k, v in med.items()]
        lines += ["", f"LocalCluster / local processes: {ratio:.2f}. The records (every number but the "
                  f"seconds each point took) are {'the same bits' if same else 'NOT the same'}.", ""]
    text = "\n".join(lines)
    print(text)
    if args.md:
        args.md.write_text(text)


if __name__ == "__main__":
    main()
