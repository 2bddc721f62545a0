#!/usr/bin/env python
"""The kernels ``auto`` chooses between, side by side: what sparsemax's ``WHOLE_ROW_MAX`` and
the whole-row kernel's dense probe are chosen from.

For each shape, regime (N(0, 1) rows, and the same times 1e-3: dense) and dtype, runs the
forward driver with each kernel (``--kernels``: registry entries of the sparsemax map,
public or not) and ``np.copyto`` of the same array, sampled in turn in the same rounds
(``harness.bench.time_calls``), after checking every kernel's output against ``sort``;
prints each median as a ratio to the copy's.

    python scripts/bench_auto_rule.py --dtype float64 float32
"""

import argparse

import numpy as np

from sparsetools import _batched, sparsemax
from sparsetools.maps import MAPS

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import time_calls

SHAPES = ((65536, 16), (32768, 32), (16384, 64), (8192, 128), (4096, 256), (2048, 512),
          (512, 2048), (128, 16384), (32, 65536), (8, 262144), (2, 1000000))
KERNELS = ("whole_row", "guarded_newton", "guarded_michelot")


def entry(name):
    sm = MAPS["sparsemax"]
    e = sm.methods.get(name) or sm.hidden.get(name)
    if e is None:
        raise SystemExit(f"no sparsemax kernel {name!r}; there are "
                         f"{', '.join(list(sm.methods) + list(sm.hidden))}")
    return e


def run(code, z, out):
    R = z.shape[0]
    _batched.forward_rows(z, out, np.empty(R), np.empty(R), np.empty(R, np.int64),
                          np.empty(R, np.int8), True, np.zeros(1), literal=code)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--shapes", nargs="+", type=_cli.shape, default=list(SHAPES), help="ROWSxN")
    ap.add_argument("--kernels", nargs="+", default=list(KERNELS))
    ap.add_argument("--repeat", type=_cli.positive_int, default=9, help="rounds (default 9)")
    args = ap.parse_args(argv)
    entries = [entry(k) for k in args.kernels]
    rng = np.random.default_rng(0)
    print("ratio to np.copyto of the same array, medians of", args.repeat, "rounds\n")
    print("| dtype | regime | shape | " + " | ".join(args.kernels) + " |")
    print("|---" * (3 + len(entries)) + "|")
    for dtype in args.dtype:
        for regime, scale in (("normal", 1.0), ("dense", 1e-3)):
            for rows, n in args.shapes:
                z = (scale * rng.standard_normal((rows, n))).astype(dtype)
                out = np.empty_like(z)
                ref = sparsemax(z, method="sort")
                tol = 64 * np.finfo(dtype).eps
                calls = {}
                for e in entries:
                    run(e.code, z, out)
                    err = np.abs(out - ref).max()
                    if not err <= tol:
                        raise SystemExit(f"{e.name} on {regime} {rows}x{n} {dtype}: off by {err:.3g}")
                    calls[e.name] = lambda c=e.code: run(c, z, out)
                t = time_calls(calls, z, repeat=args.repeat)
                cells = " | ".join(f"{t[e.name] / t['copy']:.2f}" for e in entries)
                print(f"| {dtype} | {regime} | {rows}x{n} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
