#!/usr/bin/env python
"""Train small PyTorch models with sparsemax (sparsetools.torch), entmax's sparsemax and
softmax, on data generated here: an MLP classifier on a Gaussian mixture, and an attention
model on a retrieval task (``scripts/harness/training.py`` describes both). Reports the
time per epoch, the test accuracy and the sparsity of the outputs and of the attention, and
draws the loss curves and the attention maps.

    python scripts/train_torch.py [--epochs 10] [--seed 0] [--quick] [--out figures]
"""

import argparse
import json
from pathlib import Path

import numpy as np

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import Progress, machine
from harness.training import available_maps, train

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "figures"
TASKS = ("classifier", "attention")


def markdown(records, command):
    lines = ["# Training with sparsemax in PyTorch", "", f"`{command}`", "",
             "| task | map | s / epoch (median) | final train loss | test accuracy | zeros in the output | "
             "attention on the right position |", "|---|---|---|---|---|---|---|"]
    for r in records:
        zeros = r.get("output_zeros", r.get("attention_zeros"))
        on = r.get("attention_on_target")
        lines.append(f"| {r['task']} | {r['map']} | {np.median(r['epoch_seconds']):.3f} | {r['train_loss'][-1]:.4f} | "
                     f"{r['test_accuracy']:.3f} | {zeros:.1%} | {'' if on is None else f'{on:.3f}'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=_cli.positive_int, default=10, help="epochs per model (default 10)")
    ap.add_argument("--seed", type=_cli.nonneg_int, default=0, help="data and initialisation seed")
    ap.add_argument("--quick", action="store_true", help="2 epochs on a tenth of the data (a smoke test)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = ap.parse_args(argv)
    _cli.out_folder(ap, args.out)
    import torch

    from sparsetools.plotting import plot_training, save

    epochs = 2 if args.quick else args.epochs
    sizes = dict(n_train=800, n_test=200) if args.quick else {}
    maps = available_maps()
    bar = Progress(len(TASKS) * len(maps) * epochs)
    records = [train(task, name, epochs=epochs, seed=args.seed, progress=bar, **sizes)
               for task in TASKS for name in maps]
    stem = "training" + ("_quick" if args.quick else "") + (f"_seed{args.seed}" if args.seed else "")
    command = "python scripts/train_torch.py" + (" --quick" if args.quick else "") + (
        f" --epochs {args.epochs}" if args.epochs != 10 and not args.quick else "") + (
        f" --seed {args.seed}" if args.seed else "")
    text = markdown(records, command) + f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads; {machine()}\n"
    print(text)
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(records, indent=1))
    save(lambda: plot_training(records), args.out / f"{stem}.png")
    print(f"wrote {args.out / stem}.md, .json and .png")
    return records


if __name__ == "__main__":
    main()
