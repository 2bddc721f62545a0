#!/usr/bin/env python
"""The multi-label experiments of Martins & Astudillo (2016), section 4, with sparsetools'
losses: linear models trained with L-BFGS on the sparsemax, softmax and logistic losses.

Simulation (the default): for uniform and random label proportions, K = 10 and 50 classes,
and document lengths L = 200, 400, ..., 2000, a data set of the paper's protocol (1,200
training, 200 development, 1,000 test documents; one Generator per K, seeded by --seed and K),
lambda chosen by 5-fold cross-validation on the training set (for the JSD and the MSE
separately, as the authors did), and the test Jensen-Shannon divergence, squared error and
micro/macro-F1 of each loss. Writes into --out
multilabel_simulation.png (the paper's figure layout: JSD and MSE against L, softmax and
sparsemax) and multilabel_simulation.csv (every number, the logistic loss too), and prints
a summary table. The points run in worker processes, one per core (--workers), or on a
Dask cluster: --scheduler local starts a dask.distributed LocalCluster of --workers
processes, --scheduler ADDRESS (tcp://host:8786) uses a running one; the numbers are the
same bits as the local worker processes' with the same seed.
On the 2-core development machine the full grid takes about 3 minutes and --quick (fewer
lengths, a smaller lambda grid, 3 folds; files named *_quick) about 30 seconds.

Data sets: --arff TRAIN TEST --labels N trains the three losses on a multi-label ARFF file
(Mulan's scene, emotions, birds, CAL500, ...: the last N attributes are the labels; you
supply the files) and prints the test micro/macro-F1 of each loss, as in the paper's table.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

import _cli  # scripts/_cli.py: the shared argument checks
from harness import multilabel
from harness.bench import Progress

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "figures"
FIELDS = ("mixture", "K", "length", "loss", "lam_jsd", "lam_mse", "jsd", "jsd_fold_mean", "jsd_fold_std", "mse",
          "mse_fold_mean", "mse_fold_std", "micro_f1", "macro_f1", "threshold", "n_iter", "converged", "seconds")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--quick", action="store_true", help="the small grid (under a minute)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: figures/)")
    p.add_argument("--seed", type=_cli.nonneg_int, default=0,
                   help="the seed of every random draw (default 0; another seed's files are named *_seedN)")
    p.add_argument("--workers", type=_cli.positive_int, default=None,
                   help="worker processes (default: one per available core; 1: no workers)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the points on a dask.distributed cluster: 'local' starts a LocalCluster of "
                        "--workers processes; an address (tcp://host:8786) uses a running scheduler")
    p.add_argument("--format", default=None, choices=("png", "pdf", "svg"), help="figure format (default png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--arff", nargs=2, metavar=("TRAIN", "TEST"), type=Path,
                   help="run the three losses on a multi-label data set in ARFF format instead")
    p.add_argument("--labels", type=_cli.positive_int,
                   help="with --arff: the number of labels (the last attributes)")
    args = p.parse_args(argv)
    if args.arff:
        if args.labels is None:
            p.error("--arff needs --labels N (the number of label attributes, at the end of the file)")
        if args.quick or args.out is not None or args.format is not None:
            p.error("--arff prints its table and writes no files: it takes no --quick, --out or --format")
        for path in args.arff:
            if not path.is_file():
                p.error(f"--arff: no file {path}")
        if args.scheduler:
            p.error("--scheduler runs the simulation's points; --arff runs in this process")
    elif args.labels is not None:
        p.error("--labels goes with --arff")
    if args.scheduler:
        _cli.check_scheduler(p)
    if not args.arff:
        args.out = _cli.out_folder(p, DEFAULT_OUT if args.out is None else args.out)
        args.format = args.format or "png"
    return args


def fmt(x, digits=5):
    return f"{x:.{digits}f}"


def summary(records):
    """A markdown table: per grid point, JSD and MSE (x 1e3) of each loss and micro-F1; then
    how often sparsemax beats softmax."""
    losses = [l for l in multilabel.LOSSES if any(r["loss"] == l for r in records)]
    by = {(r["mixture"], r["K"], r["length"], r["loss"]): r for r in records}
    points = sorted({(r["mixture"], r["K"], r["length"]) for r in records},
                    key=lambda p: (multilabel.MIXTURES.index(p[0]), p[1], p[2]))
    head = (["mixture", "K", "L"] + [f"JSD/K x1e3 {l}" for l in losses] + [f"MSE x1e3 {l}" for l in losses]
            + [f"micro-F1 {l}" for l in losses])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        cells = [p[0], str(p[1]), str(p[2])]
        cells += [fmt(1e3 * by[p + (l,)]["jsd"], 3) for l in losses]
        cells += [fmt(1e3 * by[p + (l,)]["mse"], 3) for l in losses]
        cells += [fmt(by[p + (l,)]["micro_f1"], 3) for l in losses]
        lines.append("| " + " | ".join(cells) + " |")
    if {"sparsemax", "softmax"} <= set(losses):
        for mixture in multilabel.MIXTURES:
            pts = [p for p in points if p[0] == mixture]
            if not pts:
                continue
            jsd = sum(by[p + ("sparsemax",)]["jsd"] < by[p + ("softmax",)]["jsd"] for p in pts)
            mse = sum(by[p + ("sparsemax",)]["mse"] < by[p + ("softmax",)]["mse"] for p in pts)
            lines.append(f"\n{mixture} proportions: sparsemax has the lower JSD at {jsd} of {len(pts)} points "
                         f"and the lower MSE at {mse} of {len(pts)}.")
    return "\n".join(lines)


def write_csv(records, path):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in records:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})


def file_stem(quick, seed):
    """The output files' name: the paper's grid with seed 0 is ``multilabel_simulation``
    (the README's); --quick adds ``_quick`` and another seed ``_seedN``, so that neither
    replaces those files."""
    return "multilabel_simulation" + ("_quick" if quick else "") + (f"_seed{seed}" if seed else "")


def run_arff(args):
    t0 = time.perf_counter()
    recs = multilabel.run_datasets(args.arff[0], args.arff[1], args.labels, seed=args.seed)
    print(f"{args.arff[0].name} / {args.arff[1].name}: {args.labels} labels, "
          f"{recs[-1]['n_train']} training and {recs[-1]['n_test']} test documents")
    print("| loss | micro-F1 (%) | macro-F1 (%) | lambda | threshold | documents trained on |")
    print("|---|---|---|---|---|---|")
    for r in recs:
        print(f"| {r['loss']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} | {r['lam']:g} | "
              f"{r['threshold']:g} | {r['n_train']} |")
    print(f"({time.perf_counter() - t0:.1f} s)")
    return recs


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.arff:
        return run_arff(args)
    from sparsetools import plotting

    grid = "quick" if args.quick else "full"
    g = multilabel.GRIDS[grid]
    n = len(g["mixtures"]) * len(g["K"]) * len(g["lengths"])
    bar = None if args.no_progress else Progress(n)
    t0 = time.perf_counter()
    records = multilabel.run_simulation(grid, seed=args.seed, workers=args.workers,
                                        progress=bar.step if bar else None, scheduler=args.scheduler)
    elapsed = time.perf_counter() - t0
    stem = file_stem(args.quick, args.seed)
    # the figure first: if drawing fails, no new CSV is left beside an old figure
    plotting.save(lambda: plotting.plot_multilabel_simulation(records), args.out / f"{stem}.{args.format}")
    write_csv(records, args.out / f"{stem}.csv")
    print(summary(records))
    print(f"\n{n} points, {grid} grid, seed {args.seed}: {elapsed:.0f} s. "
          f"Wrote {args.out / (stem + '.csv')} and {args.out / (stem + '.' + args.format)}")
    return records


if __name__ == "__main__":
    main()
