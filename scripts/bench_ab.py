#!/usr/bin/env python
"""Time two versions of sparsetools against each other in one process, round by round.

Runs of the benchmark one after the other move by 10-30% on a shared machine (the other
core, the cache), more than most changes do. This script imports the installed (or
source-tree) ``sparsetools`` and a second copy, ``--old``: the ``sparsetools`` folder of
another checkout (``git worktree add /tmp/old <commit>`` makes one), copied under another
name so that both load side by side, each with its own Numba cache. Every call of both
versions and ``np.copyto`` of the same array are sampled in turn in the same rounds
(``harness.bench.time_calls``); the table gives each version's median as a ratio to the
copy, and new / old.

    python scripts/bench_ab.py --old /tmp/old/sparsetools
"""

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import sparsetools

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import time_calls

SHAPES = ((8192, 128), (2048, 1024), (64, 16384))


def load_old(path):
    """The package at ``path`` (a ``sparsetools`` folder), imported as ``sparsetools_old``."""
    root = Path(tempfile.mkdtemp(prefix="sparsetools-ab-"))
    shutil.copytree(path, root / "sparsetools_old", ignore=shutil.ignore_patterns("__pycache__", "*.nb?"))
    sys.path.insert(0, str(root))
    return importlib.import_module("sparsetools_old")


def _entmax_calls(z, labels, p):
    """The entmax calls of ``--entmax`` on the same rows."""
    return {
        "entmax 1.1": lambda m: m.entmax(z, 1.1),
        "entmax 1.3": lambda m: m.entmax(z, 1.3),
        "entmax15": lambda m: m.entmax15(z),
        "entmax 2.5": lambda m: m.entmax(z, 2.5),
        "entmax 1.3 loss+grad labels": lambda m: m.entmax_loss_and_grad(z, labels, 1.3),
        "entmax 1.3 vjp": lambda m: m.entmax_vjp(p, z, 1.3),
    }


def cases(dtypes, small, shapes=SHAPES, entmax=False):
    """(name, z, {function: call(module)}) for the shapes, regimes and dtypes: sparsemax's
    functions, or with ``entmax`` the entmax family's."""
    rng = np.random.default_rng(0)
    out = []
    for dtype in dtypes:
        for regime, scale in (("normal", 1.0), ("dense", 1e-3)):
            for rows, n in shapes:
                z = (scale * rng.standard_normal((rows, n))).astype(dtype)
                labels = rng.integers(0, n, rows)
                q = sparsetools.sparsemax(rng.standard_normal((rows, n))).astype(dtype)
                p = sparsetools.sparsemax(z)
                g = rng.standard_normal((rows, n)).astype(dtype)
                if entmax:
                    out.append((f"{regime} {rows}x{n} {np.dtype(dtype).name}", z,
                                _entmax_calls(z, labels, sparsetools.entmax(z, 1.3))))
                    continue
                out.append((f"{regime} {rows}x{n} {np.dtype(dtype).name}", z, {
                    "sparsemax": lambda m, z=z: m.sparsemax(z),
                    "loss+grad labels": lambda m, z=z, t=labels: m.sparsemax_loss_and_grad(z, t),
                    "loss+grad dist": lambda m, z=z, t=q: m.sparsemax_loss_and_grad(z, t),
                    "vjp": lambda m, p=p, g=g: m.sparsemax_vjp(p, g),
                    "softmax": lambda m, z=z: m.softmax(z),
                }))
    for rows, n in small:
        z = rng.standard_normal((rows, n))
        labels = np.zeros(rows, np.int64)
        out.append((f"small {rows}x{n} float64", z, {
            "sparsemax": lambda m, z=z: m.sparsemax(z),
            "loss+grad labels": lambda m, z=z, t=labels: m.sparsemax_loss_and_grad(z, t)}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", type=Path, required=True, help="the other version's sparsetools folder")
    ap.add_argument("--repeat", type=_cli.positive_int, default=9, help="rounds per case (default 9)")
    ap.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--small", nargs="*", type=_cli.shape, default=[(1, 10), (32, 10)],
                    help="small-call shapes ROWSxN (default 1x10 32x10)")
    ap.add_argument("--shapes", nargs="+", type=_cli.shape, default=list(SHAPES),
                    help="shapes ROWSxN of both regimes (default 8192x128 2048x1024 64x16384)")
    ap.add_argument("--entmax", action="store_true",
                    help="time the entmax family (alpha 1.1, 1.3, 1.5, 2.5: map; 1.3: loss, VJP) instead")
    args = ap.parse_args(argv)
    if not (args.old / "__init__.py").is_file():
        ap.error(f"--old {args.old}: not a package folder (no __init__.py)")
    old = load_old(args.old)
    print(f"new: {Path(sparsetools.__file__).parent}; old: {args.old}; medians of {args.repeat} rounds")
    print("| case | function | old / copy | new / copy | new / old |\n|---|---|---|---|---|")
    rows = []
    for name, z, fns in cases(args.dtype, [] if args.entmax else args.small, args.shapes, args.entmax):
        calls = {}
        for fn, f in fns.items():
            calls["old " + fn] = lambda f=f: f(old)
            calls["new " + fn] = lambda f=f: f(sparsetools)
        t = time_calls(calls, z, repeat=args.repeat)
        for fn in fns:
            o, w = t["old " + fn], t["new " + fn]
            rows.append(dict(case=name, function=fn, old=o / t["copy"], new=w / t["copy"], ratio=w / o))
            print(f"| {name} | {fn} | {o / t['copy']:.2f} | {w / t['copy']:.2f} | {w / o:.3f} |", flush=True)
    ratios = sorted(r["ratio"] for r in rows)
    print(f"\nnew / old over {len(ratios)} cells: median {np.median(ratios):.3f}, "
          f"from {ratios[0]:.3f} to {ratios[-1]:.3f}")
    return rows


if __name__ == "__main__":
    main()
