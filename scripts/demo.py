#!/usr/bin/env python
"""Print sparsemax of the worked example with every method: output, threshold and support.

z = the first five draws of ``np.random.seed(0); np.random.randn(5)``; the expected
result is k = 3, tau = 1.62416785, p = [0.1398845, 0, 0, 0.61672535, 0.24339015].
"""

import argparse

import numpy as np

import sparsetools


def seed_example():
    """The worked example's scores: the first five draws of N(0, 1) with seed 0."""
    return np.random.RandomState(0).randn(5)


def report(z):
    """One block of text per method: sparsemax(z), tau, k and the support's indices."""
    lines = [f"z = {np.array2string(z, precision=8)}"]
    for method in sparsetools.METHODS:
        p = sparsetools.sparsemax(z, method=method)
        tau, k = sparsetools.sparsemax_threshold(z, method=method)
        lines.append(
            f"{method:>7}: p = {np.array2string(p, precision=8)}  tau = {float(tau):.8f}  "
            f"k = {int(k)}  support = {np.flatnonzero(p).tolist()}  sum = {p.sum():.15f}"
        )
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scores", nargs="*", type=float, help="scores to project (default: the worked example)")
    args = ap.parse_args(argv)
    z = np.array(args.scores) if args.scores else seed_example()
    try:
        print(report(z))
    except ValueError as e:  # the library's own message, without a traceback
        ap.error(str(e))


if __name__ == "__main__":
    main()
