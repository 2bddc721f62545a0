#!/usr/bin/env python
"""tau_sort's two sorts on fresh candidates: Numba's quicksort against the radix sort.

Sorts many different rows of m shifted N(0, 1e-6) candidates (all <= 0, as tau_sort sees
them), each row once, so the branch predictor cannot learn them, and prints ns per entry
for each m. This is the measurement behind ``sparsetools.kernels.sort.RADIX_FROM``.
"""

import argparse
import time

import numba
import numpy as np

from sparsetools.kernels.sort import _radix_sort_decreasing

import _cli  # scripts/_cli.py: the shared argument checks


@numba.njit
def _quick(rows, work):
    for r in range(rows.shape[0]):
        work[:] = rows[r]
        work.sort()


@numba.njit
def _radix(rows, work, tmp):
    for r in range(rows.shape[0]):
        work[:] = rows[r]
        _radix_sort_decreasing(work, work.shape[0], tmp)


@numba.njit
def _copy(rows, work):
    for r in range(rows.shape[0]):
        work[:] = rows[r]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=_cli.positive_int, nargs="+", default=[30, 100, 300, 1000, 16384, 500_000])
    ap.add_argument("--entries", type=_cli.positive_int, default=4_000_000, help="entries sorted per size")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| m | quicksort (ns/entry) | radix (ns/entry) |\n|---|---|---|")
    for m in args.sizes:
        rows = 1e-3 * rng.standard_normal((max(2, args.entries // m), m))
        rows -= rows.max(axis=1, keepdims=True)
        work, tmp = np.empty(m), np.empty(m)
        for f in (_quick, _radix, _copy):  # compile outside the timing
            f(rows[:1], work, tmp) if f is _radix else f(rows[:1], work)
        times = []
        for f, extra in ((_copy, ()), (_quick, ()), (_radix, (tmp,))):
            t0 = time.perf_counter()
            f(rows, work, *extra)
            times.append(time.perf_counter() - t0)
        per = 1e9 / rows.size
        print(f"| {m} | {(times[1] - times[0]) * per:.1f} | {(times[2] - times[0]) * per:.1f} |", flush=True)


if __name__ == "__main__":
    main()
