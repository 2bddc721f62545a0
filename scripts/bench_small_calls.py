#!/usr/bin/env python
"""The fixed cost of a call: sparsemax (method="auto") on a few rows of 128 N(0, 1) scores,
against np.copyto of the same array and the NumPy sort reference, in the same rounds
(``bench.time_calls``: medians). Small batches are where a call's own overhead (argument
checks, finding the compiled entry point, starting the parallel loop) shows.

    python scripts/bench_small_calls.py [--rows 1 16 1024] [--repeat 9]
"""

import argparse

import numpy as np

import sparsetools

import _cli  # scripts/_cli.py: the shared argument checks
from harness import bench


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=_cli.positive_int, nargs="+", default=[1, 16, 1024],
                   help="batch sizes (rows of 128)")
    p.add_argument("--n", type=_cli.positive_int, default=128, help="row length")
    p.add_argument("--repeat", type=_cli.positive_int, default=9, help="rounds per batch size")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"| rows of {args.n} | auto (us) | auto / copy | NumPy / copy | copy (us) |")
    print("|---|---|---|---|---|")
    for rows in args.rows:
        z = rng.standard_normal((rows, args.n))
        t = bench.time_calls({"auto": lambda: sparsetools.sparsemax(z),
                              "numpy": lambda: bench.sparsemax_numpy(z)}, z, repeat=args.repeat)
        print(f"| {rows} | {t['auto'] * 1e6:.1f} | {t['auto'] / t['copy']:.0f} | {t['numpy'] / t['copy']:.0f} | "
              f"{t['copy'] * 1e6:.2f} |")


if __name__ == "__main__":
    main()
