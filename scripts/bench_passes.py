#!/usr/bin/env python
"""Where a row's time goes: each shared pass and each method, in ns per entry, one thread.

For every benchmark shape and regime, runs the stages of the sparsemax driver cumulatively
over all rows in one thread (the candidate pass ``gather``; then ``presolve``; then the
method; then the output write) and prints each stage's time as the difference of two
cumulative timings, divided by the number of entries, next to the time of ``np.copyto`` of
the same array. Fresh rows every time (the whole batch), so the branch predictor cannot
learn a row. Used for the analysis in the README's "Performance" section.

``--candidates`` times the plain and the blocked candidate pass alone instead;
``--auto``, ``auto``'s row kernel (``kernels.passes``: Michelot's steps as passes over the
row) against the candidate path it replaces (``guarded_michelot``) in the sparsemax driver,
one thread, row length by row length and regime by regime, both dtypes: what
``kernels.passes.SHORT``, ``DENSE`` and ``SPARSE`` are chosen from.
"""

import argparse
import time

import numba
import numpy as np

from sparsetools import _batched
from sparsetools._jit import specialize
from sparsetools._registry import row_tau
from sparsetools.kernels.common import _candidates_blocked, _candidates_plain, apply_row, gather, presolve, row_max
from sparsetools.maps import MAPS

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import ALL_REGIMES, REGIMES, SHAPES, make_rows


# not cached on disk: a cached copy of a function defined in a script that calls the
# literal-dispatched row_tau fails to load in the next process ("No module named <dynamic>")
@numba.njit(error_model="numpy")
def _stages(z, out, upto, method):
    """Run the driver's stages up to ``upto`` (0 gather, 1 presolve, 2 method, 3 write)."""
    n = z.shape[1]
    buf = np.empty(n)
    tmp = np.empty(n)
    acc = 0.0
    for r in range(z.shape[0]):
        M, m, st = gather(z[r], buf)
        if upto == 0:
            acc += m + buf[m - 1]
            continue
        t, k, done = presolve(buf, m)
        if upto >= 2 and not done:
            t, k = row_tau(buf, k, tmp, 0.0, method)
        acc += t
        if upto == 3:
            apply_row(z[r], M, t, out[r])
    return acc


@numba.njit(error_model="numpy")
def _row_maxima(z):
    """Every row's max (computed before the candidate pass is timed) and a scratch row."""
    n = z.shape[1]
    buf = np.empty(n)
    M = np.empty(z.shape[0])
    for r in range(z.shape[0]):
        M[r] = row_max(z[r])[0]
    return M, buf


@numba.njit(error_model="numpy")
def _run_candidates(z, M, buf, blocked):
    w = 0
    for r in range(z.shape[0]):
        if blocked:
            w += _candidates_blocked(z[r], M[r], 1.0, -1.0, buf, z.shape[1] + 1)
        else:
            w += _candidates_plain(z[r], M[r], 1.0, -1.0, buf, 0, 0)
    return w


def candidates_table(shapes, repeat):
    """The plain and the blocked candidate pass, ns per entry, one thread, both dtypes:
    what ``kernels.common.BLOCKED_FROM`` is chosen from."""
    print("candidate pass alone, ns per entry, one thread: plain / blocked\n")
    print("| regime | shape | float64 plain | float64 blocked | float32 plain | float32 blocked |")
    print("|---|---|---|---|---|---|")
    for regime in REGIMES:
        for shape in shapes:
            cells = []
            for dtype in (np.float64, np.float32):
                z = make_rows(shape, regime, dtype)
                M, buf = _row_maxima(z)
                per = 1e9 / z.size
                for blocked in (False, True):
                    cells.append(_best(lambda: _run_candidates(z, M, buf, blocked), repeat) * per)
            print(f"| {regime} | {shape[0]}x{shape[1]} | " + " | ".join(f"{c:.2f}" for c in cells) + " |",
                  flush=True)


CANDIDATE_SHAPES = ((65536, 16), (32768, 32), (16384, 64), (8192, 128), (4096, 256), (2048, 512),
                    (1024, 1024), (64, 16384))


AUTO_NS = (8, 16, 32, 64, 128, 192, 256, 512, 1024, 4096, 16384)


def auto_table(ns, repeat, total=1 << 20):
    """``auto``'s row kernel against the candidate path, one thread: the median time of the
    sparsemax driver with each, sampled in turn in the same rounds, as passes / candidates
    (below 1: the passes are faster), on ``total // n`` rows of each regime."""
    sm = MAPS["sparsemax"]
    codes = (sm.hidden["passes"].code, sm.hidden["guarded_michelot"].code)
    print("auto's passes / the candidate path, the sparsemax driver on one thread "
          f"(median of {repeat} rounds)\n")
    print("| dtype | regime | " + " | ".join(str(n) for n in ns) + " |")
    print("|---|---|" + "---|" * len(ns))
    for dtype in (np.float64, np.float32):
        for regime in ALL_REGIMES:
            cells = []
            for n in ns:
                rows = max(2, total // n)
                z = make_rows((rows, n), regime, dtype, seed=1)
                args = (0, rows, z, np.empty_like(z), np.empty(rows), np.empty(rows), np.empty(rows, np.int64),
                        np.empty(rows, np.int8), True, np.zeros(1))
                calls = [specialize(_batched.forward_rows.serial, args, c) for c in codes]
                times = [[], []]
                for entry, code in zip(calls, codes):
                    entry(*args, code)
                for _ in range(repeat):
                    for j, (entry, code) in enumerate(zip(calls, codes)):
                        t0 = time.perf_counter()
                        entry(*args, code)
                        times[j].append(time.perf_counter() - t0)
                cells.append(np.median(times[0]) / np.median(times[1]))
            print(f"| {np.dtype(dtype).name} | {regime} | " + " | ".join(f"{c:.2f}" for c in cells) + " |",
                  flush=True)


def _best(f, repeat):
    f()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=_cli.positive_int, default=7, help="timings per stage (the minimum is kept)")
    ap.add_argument("--shape", action="append", metavar="ROWSxN", type=_cli.shape,
                    help="a shape to time instead of the benchmark's (repeatable), e.g. 64x128")
    ap.add_argument("--candidates", action="store_true",
                    help="time the plain and the blocked candidate pass instead (rows of 16 to 16384)")
    ap.add_argument("--auto", action="store_true",
                    help="time auto's passes against the candidate path instead, by row length and regime")
    args = ap.parse_args(argv)
    if args.auto:
        auto_table(AUTO_NS, max(args.repeat, 9))
        return
    if args.candidates:
        candidates_table(args.shape or CANDIDATE_SHAPES, args.repeat)
        return
    shapes = args.shape or SHAPES
    methods = MAPS["sparsemax"].methods
    print("ns per entry, one thread; each stage is the difference of two cumulative timings\n")
    print("| regime | shape | copy | gather | presolve | " + " | ".join(f"{m} | +write" for m in methods) + " |")
    print("|" + "---|" * (5 + 2 * len(methods)))
    for regime in REGIMES:
        for shape in shapes:
            z = make_rows(shape, regime)
            out = np.empty_like(z)
            per = 1e9 / z.size

            def stage(upto, code):
                entry = specialize(_stages, (z, out, upto), code)  # the method is a literal
                return _best(lambda: entry(z, out, upto, code), args.repeat)

            copy = _best(lambda: np.copyto(out, z), args.repeat)
            first = next(iter(methods.values())).code
            g = stage(0, first)
            p = stage(1, first)
            cells = [copy * per, g * per, (p - g) * per]
            for entry in methods.values():
                t2 = stage(2, entry.code)
                t3 = stage(3, entry.code)
                cells += [(t2 - p) * per, (t3 - t2) * per]
            print(f"| {regime} | {shape[0]}x{shape[1]} | " + " | ".join(f"{c:.2f}" for c in cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
