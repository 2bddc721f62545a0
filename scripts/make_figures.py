#!/usr/bin/env python
"""Regenerate every figure of sparsetools into figures/ (the toolkit's main job).

Each figure is a function of ``sparsetools.plotting.FIGURES`` drawn with its defaults; the
output is deterministic (fixed data and seeds, no dates in the files). Names:
figure1, hard_sigmoid, surfaces, support_map, entmax_curves, entmax_surfaces,
entmax_support_map, bars, simplex, projections, temperature_path.
"""

import argparse
import time
from pathlib import Path

from sparsetools.plotting import FIGURES, save_figure

import _cli  # scripts/_cli.py: the shared argument checks

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "figures"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--format", default="png", choices=["png", "pdf", "svg"], help="file format (default png)")
    ap.add_argument("--dpi", type=int, default=200,
                    help="resolution of PNG files (default 200; PDF and SVG are vector files)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--only", action="append", choices=list(FIGURES), metavar="NAME",
                    help="write only this figure (repeatable); one of " + ", ".join(FIGURES))
    args = ap.parse_args(argv)
    if args.dpi <= 0:
        ap.error(f"--dpi must be positive, got {args.dpi}")
    _cli.out_folder(ap, args.out)
    written = []
    for name in args.only or FIGURES:
        path = args.out / f"{name}.{args.format}"
        t0 = time.perf_counter()
        save_figure(name, path, dpi=args.dpi)
        print(f"wrote {path} ({time.perf_counter() - t0:.1f} s)", flush=True)
        written.append(path)
    return written


if __name__ == "__main__":
    main()
