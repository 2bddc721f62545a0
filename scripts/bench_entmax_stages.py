#!/usr/bin/env python
"""Where the time of alpha-entmax goes, stage by stage, on one thread: the candidate pass
(gather), the bound step (presolve), the method (``newton``, what ``auto`` runs) and the
output (apply), as cumulative nanoseconds per row, medians of --repeat runs over N(0, 1)
rows. The row kernels of ``sparsetools.kernels.entmax`` are called directly from one
serial loop (no driver, no contract), so the numbers are the kernels' own: the method
``auto`` runs for the dtype, and the output as the forward pass writes it.

    python scripts/bench_entmax_stages.py --shapes 8192x128 2048x1024 --alphas 1.5 1.3 2.5
"""

import argparse
import time

import numba
import numpy as np

from sparsetools.kernels import entmax as K

import _cli  # scripts/_cli.py: the shared argument checks


# not cached: a script's function (see bench_passes.py)
@numba.njit(error_model="numpy")
def _stages(z, out, upto, a):
    n = z.shape[1]
    buf = np.empty(n)
    tmp = np.empty(n)
    acc = 0.0
    for r in range(z.shape[0]):
        M, m, st = K.gather(z[r], buf, a)
        if upto == 0:
            acc += m + buf[m - 1]
            continue
        t, k, done = K.presolve(buf, m, a)
        if upto >= 2 and not done:
            # the method auto runs: float32 powers for a float32 row
            if K.is_float32(z):
                t, k = K.tau_newton32(buf, k, tmp, a)
            else:
                t, k = K.tau_newton(buf, k, tmp, a)
        acc += t
        if upto == 3:  # the forward pass's output, from the support the method left
            if done:
                K.apply_row(z[r], M, t, out[r], a)
            else:
                K.apply_support(z[r], M, t, buf, k, tmp, out[r], a)
    return acc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", type=_cli.shape, nargs="+", default=[(8192, 128), (2048, 1024)])
    ap.add_argument("--alphas", type=float, nargs="+", default=[1.5, 1.3, 2.5])
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--repeat", type=_cli.positive_int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| shape | alpha | gather | + presolve | + method | + apply (ns per row, cumulative) |")
    print("|---|---|---|---|---|---|")
    for shape in args.shapes:
        z = rng.standard_normal(shape).astype(args.dtype)
        out = np.empty_like(z)
        for a in args.alphas:
            cells = []
            for upto in range(4):
                _stages(z, out, upto, a)
                ts = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    _stages(z, out, upto, a)
                    ts.append(time.perf_counter() - t0)
                cells.append(f"{np.median(ts) / shape[0] * 1e9:.0f}")
            print(f"| {shape[0]}x{shape[1]} | {a:g} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n{args.dtype}, one thread, medians of {args.repeat} runs")


if __name__ == "__main__":
    main()
