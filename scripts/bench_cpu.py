#!/usr/bin/env python
"""Time every sparsemax method, and the derivative, loss and softmax kernels, against a
copy of the same array (the memory floor).

Prints, for each input regime and shape, each method's median time as a ratio to
``np.copyto`` of the same array into a preallocated one, sampled alternately in the same
run after a warm-up (compilation excluded); then the same for sparsemax_jvp,
sparsemax_vjp, sparsemax_loss_and_grad and softmax_loss_and_grad (integer labels) and
softmax, with the default method; small calls (one row of 10, 32x10) against the NumPy
sort version and ``scipy.special.softmax``; and a busy mode, calls timed one by one while
another process spins on one core (p50, p99). Also times the warm-cache and cold-cache
first call in fresh processes. Results go to stdout as Markdown tables and, with --json and --md, to
files (figures/performance.md is this script's --md output).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import sparsetools

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import REGIMES, SHAPES, derivative_cases, machine, make_rows, ratio_to_copy

STARTUP = "import numpy, sparsetools; sparsetools.sparsemax(numpy.ones((4, 8)))"


_LINES = []


def emit(line=""):
    """Print a line of the report, and keep it for --md."""
    print(line, flush=True)
    _LINES.append(line)


def startup_times():
    """Wall time of a fresh process that imports sparsetools and calls the default method:
    with a cold Numba cache (an empty NUMBA_CACHE_DIR) and then warm (the same dir)."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", STARTUP], env=env, check=True)
            out[label] = time.perf_counter() - t0
    return out


#: The shapes of the method and kernel tables: rows of 16, then the shared benchmark shapes.
BENCH_SHAPES = ((65536, 16),) + SHAPES
LATENCY_SHAPES = ((1, 10), (32, 10))
BUSY_SHAPES = ((32, 10), (8192, 128))


def latency_table(dtype, repeat):
    """Small calls, in microseconds: sparsemax against the NumPy sort version
    (``harness.bench.sparsemax_numpy``), softmax against ``scipy.special.softmax``, medians
    of interleaved rounds."""
    from scipy.special import softmax as scipy_softmax

    from harness.bench import sparsemax_numpy, time_calls

    emit(f"\n### Small calls ({dtype}): microseconds per call\n")
    emit("| shape | sparsemax | NumPy sort version | speed-up | softmax | scipy.special.softmax | speed-up |")
    emit("|---|---|---|---|---|---|---|")
    out = []
    for shape in LATENCY_SHAPES:
        z = make_rows(shape, "normal", dtype)
        t = time_calls({"sparsemax": lambda: sparsetools.sparsemax(z), "numpy": lambda: sparsemax_numpy(z),
                        "softmax": lambda: sparsetools.softmax(z), "scipy": lambda: scipy_softmax(z, axis=-1)},
                       z, repeat=repeat, warmup=3, min_time=0.05)
        us = {k: v * 1e6 for k, v in t.items()}
        emit(f"| {shape[0]}x{shape[1]} | {us['sparsemax']:.2f} | {us['numpy']:.2f} | "
             f"{us['numpy'] / us['sparsemax']:.1f}x | {us['softmax']:.2f} | {us['scipy']:.2f} | "
             f"{us['scipy'] / us['softmax']:.1f}x |")
        out.append(dict(table="latency", shape=list(shape), **{f"{k}_us": v for k, v in us.items()}))
    return out


_SPIN = "import time\nt = time.time() + {seconds}\nwhile time.time() < t:\n    pass\n"


def busy_table(dtype, calls=300):
    """Calls timed one by one while another process keeps one core busy: the median, the
    99th percentile and their ratio (a call that waits for a descheduled thread shows in
    the tail)."""
    emit(f"\n### Busy machine ({dtype}): one other process spinning on one core, {calls} calls each\n")
    emit("| shape | p50 (us) | p99 (us) | p99 / p50 | max (us) |")
    emit("|---|---|---|---|---|")
    out = []
    for shape in BUSY_SHAPES:
        z = make_rows(shape, "normal", dtype)
        for _ in range(5):
            sparsetools.sparsemax(z)
        spinner = subprocess.Popen([sys.executable, "-c", _SPIN.format(seconds=120)])
        try:
            time.sleep(0.3)  # let it start spinning
            ts = []
            for _ in range(calls):
                t0 = time.perf_counter()
                sparsetools.sparsemax(z)
                ts.append(time.perf_counter() - t0)
        finally:
            spinner.kill()
            spinner.wait()
        ts = np.asarray(ts) * 1e6
        p50, p99 = np.percentile(ts, 50), np.percentile(ts, 99)
        emit(f"| {shape[0]}x{shape[1]} | {p50:.1f} | {p99:.1f} | {p99 / p50:.1f} | {ts.max():.1f} |")
        out.append(dict(table="busy", shape=list(shape), p50_us=p50, p99_us=p99, max_us=float(ts.max())))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", nargs="+", default=["float64"], choices=["float64", "float32"],
                    help="one table set per dtype (default float64)")
    ap.add_argument("--methods", nargs="+", default=list(sparsetools.METHODS),
                    choices=list(sparsetools.METHODS))
    ap.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    ap.add_argument("--tables", nargs="+", default=["methods", "derivatives", "latency", "busy"],
                    choices=["methods", "derivatives", "latency", "busy"], help="which tables to time")
    ap.add_argument("--no-startup", action="store_true", help="skip the fresh-process timings")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--md", help="also write the report (the tables as printed) to this Markdown file")
    args = ap.parse_args(argv)
    _cli.out_file(ap, args.json)
    _cli.out_file(ap, args.md, "--md")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    repeat = 3 if args.quick else 9
    results = []
    for name in args.dtype:
        dtype = np.dtype(name)
        emit(f"## {dtype}\n")
        if "methods" in args.tables:
            results += [dict(r, dtype=name) for r in methods_table(args.methods, dtype, repeat)]
        if "derivatives" in args.tables:
            results += [dict(r, dtype=name) for r in derivatives_table(dtype, repeat)]
        if "latency" in args.tables:
            results += [dict(r, dtype=name) for r in latency_table(dtype, repeat)]
        if "busy" in args.tables:
            results += [dict(r, dtype=name) for r in busy_table(dtype, calls=100 if args.quick else 300)]
        emit()
    emit(f"machine: {machine()}")
    report = dict(machine=machine(), dtypes=args.dtype, results=results)
    if not args.no_startup:
        st = startup_times()
        report["startup_seconds"] = st
        emit(f"\nfresh process `{STARTUP}`: cold cache {st['cold']:.2f} s, warm cache {st['warm']:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.md:
        command = "python scripts/bench_cpu.py " + " ".join(sys.argv[1:] if argv is None else argv)
        head = ["# CPU benchmark", "", f"`{command.strip()}`, one run; load average {load:.2f} when it "
                "started. Each cell: the median time of the call divided by the median time of `np.copyto` "
                "of the same array into a preallocated one (the memory floor), sampled alternately in the "
                "same rounds after a warm-up; every timed result was first checked (methods against `sort`, "
                "the other kernels against NumPy formulas). `normal`: rows drawn from N(0, 1); `dense`: the "
                "same rows times 1e-3 (supports of hundreds to thousands of entries).", ""]
        with open(args.md, "w") as f:
            f.write("\n".join(head + _LINES) + "\n")


def methods_table(methods, dtype, repeat):
    """``auto`` (the default), then the sparsemax methods, one column each."""
    methods = ["auto"] + [m for m in methods if m != "auto"]
    header = "| regime | shape | copy (ms) | " + " | ".join(methods) + " | best | auto / best |"
    emit(header)
    emit("|" + "---|" * (header.count("|") - 1))
    results = []
    for regime in REGIMES:
        for shape in BENCH_SHAPES:
            z = make_rows(shape, regime, dtype)
            ref = sparsetools.sparsemax(z, method="sort")
            cells, copies = [], []
            for method in methods:
                p = sparsetools.sparsemax(z, method=method)
                err = float(np.max(np.abs(p - ref)))
                if err > (1e-5 if dtype == np.float32 else 1e-12):
                    raise SystemExit(f"{method} disagrees with sort by {err} on {regime} {shape}")
                t, c = ratio_to_copy(lambda: sparsetools.sparsemax(z, method=method), z, repeat=repeat)
                cells.append(t / c)
                copies.append(c)
                results.append(dict(regime=regime, shape=list(shape), method=method, seconds=t,
                                    copy_seconds=c, ratio=t / c, max_abs_diff_vs_sort=err))
            b = 1 + int(np.argmin(cells[1:]))
            emit(f"| {regime} | {shape[0]}x{shape[1]} | {np.median(copies) * 1e3:.3f} | "
                  + " | ".join(f"{r:.2f}" for r in cells) + f" | {methods[b]} | {cells[0] / cells[b]:.2f} |")
    return results


def derivatives_table(dtype, repeat):
    """The derivative, loss and softmax kernels (``harness.bench.derivative_cases``)."""
    names = list(derivative_cases(make_rows((2, 4), "normal", dtype)))
    emit("\n| regime | shape | copy (ms) | sparsemax | " + " | ".join(names)
         + " | sparsemax_loss_and_grad / sparsemax |")
    emit("|" + "---|" * (len(names) + 5))
    results = []
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for regime in REGIMES:
        for shape in BENCH_SHAPES:
            z = make_rows(shape, regime, dtype)
            t, c = ratio_to_copy(lambda: sparsetools.sparsemax(z), z, repeat=repeat)
            cells, copies = [t / c], [c]
            for name, (call, check) in derivative_cases(z).items():
                err = check()
                if not err <= tol:
                    raise SystemExit(f"{name} is off by {err} on {regime} {shape}")
                t, c = ratio_to_copy(call, z, repeat=repeat)
                cells.append(t / c)
                copies.append(c)
                results.append(dict(regime=regime, shape=list(shape), kernel=name, seconds=t,
                                    copy_seconds=c, ratio=t / c, max_abs_diff_vs_numpy=err))
            loss = cells[1 + names.index("sparsemax_loss_and_grad")]
            emit(f"| {regime} | {shape[0]}x{shape[1]} | {np.median(copies) * 1e3:.3f} | "
                  + " | ".join(f"{r:.2f}" for r in cells) + f" | {loss / cells[0]:.2f} |")
    return results


if __name__ == "__main__":
    main()
