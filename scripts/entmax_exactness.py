#!/usr/bin/env python
"""How exactly alpha-entmax sums to 1 and matches an arbitrary-precision reference, alpha
by alpha, for every method, and for the entmax package when it is installed.

For each alpha and row length: N(0, 1) rows times 0.1, 1 and 10 (``--rows`` of each),
float64; the largest |sum(p) - 1| over the rows (the sum taken exactly, ``math.fsum``) in
units of n eps, eps = 2^-52, the bound the contract states; and, on the first ``--ref``
rows of each scale for rows of up to 64 entries, the largest |p_i - ref_i| in eps against
alpha-entmax in mpmath at 40 digits (tau by 130 bisection steps, far below float64's
resolution). The entmax package's ``entmax_bisect`` (float64 torch CPU, its default
steps) renormalises its output, so its sums are 1 to rounding whatever its error against
the reference; its ``entmax15`` is measured at alpha = 1.5 only. Markdown to stdout and, with
--md, to a file (figures/entmax_exactness.md is this script's --md output).

    python scripts/entmax_exactness.py --md figures/entmax_exactness.md
"""

import argparse
import math

import numpy as np

import sparsetools as st

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import machine

ALPHAS = (1.0001, 1.001, 1.01, 1.05, 1.1, 1.2, 1.25, 1.3, 1.5, 1.75, 2.0, 2.5)
SIZES = (2, 3, 16, 128, 1024)
SCALES = (0.1, 1.0, 10.0)
REF_UP_TO = 64
EPS = float(np.finfo(np.float64).eps)


def entmax_mp(z, alpha, dps=40):
    """alpha-entmax of one 1-D float64 row in mpmath at ``dps`` digits, rounded to float64
    (None when mpmath is not installed)."""
    try:
        import mpmath
    except ImportError:
        return None
    with mpmath.workdps(dps):
        M = max(mpmath.mpf(float(v)) for v in z)
        s = mpmath.mpf(alpha) - 1
        b = 1 / s
        y = [s * (mpmath.mpf(float(v)) - M) for v in z]
        lo, hi = mpmath.mpf(-1), mpmath.mpf(0)
        for _ in range(130):
            mid = (lo + hi) / 2
            if sum((v - mid) ** b for v in y if v > mid) >= 1:
                lo = mid
            else:
                hi = mid
        return np.array([float((v - lo) ** b) if v > lo else 0.0 for v in y])


def _peers():
    """The entmax package's maps on float64 torch tensors, by name (empty if absent)."""
    try:
        import entmax
        import torch
    except ImportError:
        return {}

    def bisect(z, alpha):
        return entmax.entmax_bisect(torch.from_numpy(z), alpha, dim=-1).numpy()

    def sort15(z, alpha):
        return entmax.entmax15(torch.from_numpy(z), dim=-1).numpy() if alpha == 1.5 else None

    return {"entmax.entmax_bisect": bisect, "entmax.entmax15": sort15}


def measure(alphas=ALPHAS, sizes=SIZES, rows=300, ref=2, seed=0):
    """One table row per (alpha, n): ``(alpha, n, {name: (sum error in n eps, reference
    error in eps or None)})`` for every method and peer."""
    rng = np.random.default_rng(seed)
    peers = _peers()
    out = []
    for alpha in alphas:
        for n in sizes:
            z = np.concatenate([rng.normal(size=(rows, n)) * s for s in SCALES])
            refs = {}
            if n <= REF_UP_TO:
                for r in (r for k in range(len(SCALES)) for r in range(k * rows, k * rows + ref)):
                    p_ref = entmax_mp(z[r], alpha)
                    if p_ref is not None:
                        refs[r] = p_ref
            results = {}
            calls = {m: (lambda z, a, m=m: st.entmax(z, a, method=m)) for m in st.ENTMAX_METHODS}
            calls.update(peers)
            for name, fn in calls.items():
                p = fn(z, alpha)
                if p is None:
                    continue
                sum_err = max(abs(math.fsum(row) - 1.0) for row in p) / (n * EPS)
                ref_err = max((np.abs(p[r] - pr).max() / EPS for r, pr in refs.items()), default=None)
                results[name] = (sum_err, ref_err)
            out.append((alpha, n, results))
    return out


def markdown(table):
    names = list(dict.fromkeys(name for _, _, res in table for name in res))
    head = ["alpha", "n"] + [f"{name}: sum, ref" for name in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for alpha, n, res in table:
        cells = [f"{alpha:g}", str(n)]
        for name in names:
            if name not in res:
                cells.append("")
                continue
            s, r = res[name]
            cells.append(f"{s:.2f}" + ("" if r is None else f", {r:.2f}"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    ap.add_argument("--sizes", type=_cli.positive_int, nargs="+", default=list(SIZES))
    ap.add_argument("--rows", type=_cli.positive_int, default=300,
                    help="rows of each scale (default 300)")
    ap.add_argument("--ref", type=_cli.nonneg_int, default=2,
                    help="rows of each scale checked against the reference (default 2)")
    ap.add_argument("--md", help="also write the table to this Markdown file")
    args = ap.parse_args(argv)
    if any(not a >= 1.0 or a == 1.0 for a in args.alphas):
        ap.error("--alphas: every alpha must be > 1")
    table = measure(args.alphas, args.sizes, args.rows, args.ref)
    text = "\n".join([
        "# alpha-entmax: sums and errors against an arbitrary-precision reference",
        "",
        "`python scripts/entmax_exactness.py"
        + (f" --md {args.md}" if args.md else "") + "`",
        "",
        "Each cell: the largest |sum(p) - 1| (math.fsum) in units of n eps, then the largest "
        "|p_i - ref_i| in eps against mpmath at 40 digits (rows of up to "
        f"{REF_UP_TO} entries). eps = 2^-52; float64; {args.rows} N(0, 1) rows at each of the "
        f"scales {', '.join(f'{s:g}' for s in SCALES)}, {args.ref} of each against the reference.",
        "",
        markdown(table),
        "",
        machine(),
        "",
    ])
    print(text)
    if args.md:
        with open(args.md, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
