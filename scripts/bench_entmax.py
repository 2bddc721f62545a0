#!/usr/bin/env python
"""Time alpha-entmax against sparsemax on the same array, against the memory copy, and
against the entmax package (deep-spin/entmax, PyTorch CPU).

For each shape of the core benchmark and each dtype, one run samples, round after round
(``harness.bench.time_calls``: the copy and every call interleaved, medians): the copy,
``sparsemax``, ``entmax15`` and ``entmax`` at alpha = 1.3 and 2.5 (default method), and,
when installed, ``entmax.entmax15`` and ``entmax.entmax_bisect`` (alpha = 1.5 and 1.3, its
default 50 steps) on torch tensors of the same rows, in rounds of their own (with the copy
again). Reports each time as a ratio to the copy and to sparsemax, and the peers' times as
multiples of ours (each side as its ratio to the copy of its own rounds). Markdown to stdout and,
with --md, to a file (figures/entmax.md is this script's --md output).
"""

import argparse
import os

import numpy as np

import sparsetools as st

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import SHAPES, machine, make_rows, time_calls

DTYPES = ("float64", "float32")
OURS = {
    "sparsemax": lambda z: st.sparsemax(z),
    "entmax15": lambda z: st.entmax15(z),
    "entmax 1.3": lambda z: st.entmax(z, 1.3),
    "entmax 2.5": lambda z: st.entmax(z, 2.5),
}


def _peers(z):
    """The entmax package's calls on a torch copy of ``z`` (empty if not installed)."""
    try:
        import entmax
        import torch
    except ImportError:
        return {}
    x = torch.from_numpy(z)
    with torch.no_grad():
        return {
            "entmax.entmax15": lambda: entmax.entmax15(x, dim=-1),
            "entmax.entmax_bisect 1.5": lambda: entmax.entmax_bisect(x, alpha=1.5, dim=-1),
            "entmax.entmax_bisect 1.3": lambda: entmax.entmax_bisect(x, alpha=1.3, dim=-1),
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=_cli.positive_int, default=7, help="rounds (medians are reported)")
    ap.add_argument("--shapes", type=_cli.shape, nargs="+", default=SHAPES[:3], help="ROWSxN shapes")
    ap.add_argument("--no-peers", action="store_true", help="leave the entmax package out")
    ap.add_argument("--md", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    args.md = _cli.out_file(ap, args.md, "--md")
    lines = ["| shape | dtype | sparsemax / copy | entmax15 / copy | entmax15 / sparsemax | "
             "alpha 1.3 / sparsemax | alpha 2.5 / sparsemax | entmax.entmax15 / ours | "
             "entmax_bisect 1.5 / ours | entmax_bisect 1.3 / ours |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for shape in args.shapes:
        for dtype in DTYPES:
            z = make_rows(shape, "normal", getattr(np, dtype))
            calls = {name: (lambda f=f: f(z)) for name, f in OURS.items()}
            t = time_calls(calls, z, repeat=args.repeat, warmup=2, min_time=0.05)
            # the peers in rounds of their own: PyTorch's OpenMP threads keep spinning after
            # a call and slowed whichever call came next in a shared round (sparsemax on
            # 2048x1024 read 4.5x the copy instead of 1.9x); each side is then a ratio to
            # the copy of its own rounds
            tp = {} if args.no_peers else time_calls(_peers(z), z, repeat=args.repeat, warmup=2, min_time=0.05)
            sm = t["sparsemax"]

            def peer(name, ours):
                if name not in tp:
                    return "-"
                return f"{(tp[name] / tp['copy']) / (t[ours] / t['copy']):.0f}x"

            line = (f"| {shape[0]}x{shape[1]} | {dtype} | {sm / t['copy']:.2f} | "
                    f"{t['entmax15'] / t['copy']:.2f} | {t['entmax15'] / sm:.2f} | "
                    f"{t['entmax 1.3'] / sm:.2f} | {t['entmax 2.5'] / sm:.2f} | "
                    f"{peer('entmax.entmax15', 'entmax15')} | "
                    f"{peer('entmax.entmax_bisect 1.5', 'entmax15')} | "
                    f"{peer('entmax.entmax_bisect 1.3', 'entmax 1.3')} |")
            lines.append(line)
            print(line, flush=True)
    threads = ""
    try:
        import torch

        threads = f"; torch {torch.__version__} with {torch.get_num_threads()} threads"
    except ImportError:
        pass
    note = (f"\nN(0, 1) rows; medians of {args.repeat} interleaved rounds (the copy and every call "
            f"sampled in turn; the peers in rounds of their own){threads}; {machine()}; "
            f"load average {os.getloadavg()[0]:.2f} at the end")
    print(note)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# alpha-entmax: time against sparsemax, the copy, and the entmax package\n\n"
                    "`python scripts/bench_entmax.py --md figures/entmax.md`\n\n"
                    + "\n".join(lines) + "\n" + note + "\n")


if __name__ == "__main__":
    main()
