#!/usr/bin/env python
"""Forward + backward through the framework front-ends against the framework peers.

PyTorch (CPU, float32): ``sparsetools.torch.sparsemax`` against ``entmax.sparsemax``, and
``SparsemaxLoss`` against entmax's, forward and backward (``x.grad`` from an upstream
gradient); JAX: ``jax.grad`` through ``sparsetools.jax.sparsemax`` against optax's
``projection_simplex`` under ``jax.vmap``, both jitted. Every call and ``np.copyto`` of
the same array are timed in turn, round by round (medians); the table gives each as a
ratio to the copy and the speed-up over the peer. A peer that is not installed is left
out.

    python scripts/bench_frameworks.py [--repeat 9] [--md figures/frameworks.md]
"""

import argparse
import os

import numpy as np

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import machine, time_calls

TORCH_SHAPES = ((32, 10), (256, 1024), (4096, 128))
LOSS_SHAPES = ((32, 10), (4096, 128))
JAX_SHAPES = ((2048, 1024),)


def _torch_calls(z, loss):
    import torch

    import sparsetools.torch as st

    x = torch.from_numpy(z.copy()).requires_grad_(True)
    g = torch.from_numpy(np.random.default_rng(1).standard_normal(z.shape).astype(z.dtype))
    labels = torch.from_numpy(np.random.default_rng(2).integers(0, z.shape[1], z.shape[0]))
    ours_loss = st.SparsemaxLoss()

    def run(fn):
        def call():
            x.grad = None
            if loss:
                fn().backward()
            else:
                fn().backward(g)
        return call

    if loss:
        calls = {"sparsetools": run(lambda: ours_loss(x, labels))}
    else:
        calls = {"sparsetools": run(lambda: st.sparsemax(x, dim=-1))}
    try:
        import entmax
    except ImportError:
        return calls
    if loss:
        peer = entmax.SparsemaxLoss()
        calls["entmax"] = run(lambda: peer(x, labels))
    else:
        calls["entmax"] = run(lambda: entmax.sparsemax(x, dim=-1))
    return calls


def _jax_calls(z):
    import jax
    import jax.numpy as jnp

    import sparsetools.jax as sj

    x = jnp.asarray(z)
    g = jnp.asarray(np.random.default_rng(1).standard_normal(z.shape).astype(z.dtype))
    ours = jax.jit(jax.grad(lambda x: (sj.sparsemax(x) * g).sum()))
    calls = {"sparsetools": lambda: ours(x).block_until_ready()}
    try:
        from optax.projections import projection_simplex
    except ImportError:
        return calls
    theirs = jax.jit(jax.grad(lambda x: (jax.vmap(projection_simplex)(x) * g).sum()))
    calls["optax"] = lambda: theirs(x).block_until_ready()
    return calls


def _row(what, shape, times):
    copy = times["copy"]
    peer = next((k for k in times if k not in ("sparsetools", "copy")), None)
    ours = times["sparsetools"]
    cells = [what, f"{shape[0]}x{shape[1]}", f"{ours * 1e3:.3f}", f"{ours / copy:.1f}"]
    if peer:
        cells += [peer, f"{times[peer] * 1e3:.3f}", f"{times[peer] / ours:.1f}x"]
    else:
        cells += ["(not installed)", "", ""]
    return "| " + " | ".join(cells) + " |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=_cli.positive_int, default=9, help="rounds (medians are reported)")
    ap.add_argument("--md", help="also write the table to this Markdown file")
    ap.add_argument("--only", choices=("torch", "jax"), help="only one framework")
    args = ap.parse_args(argv)
    args.md = _cli.out_file(ap, args.md, "--md")
    rng = np.random.default_rng(0)
    lines = ["| forward + backward | shape | sparsetools (ms) | / copy | peer | peer (ms) | speed-up |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    results = []
    if args.only in (None, "torch"):
        import torch

        for loss, shapes in ((False, TORCH_SHAPES), (True, LOSS_SHAPES)):
            for shape in shapes:
                z = rng.standard_normal(shape).astype(np.float32)
                times = time_calls(_torch_calls(z, loss), z, repeat=args.repeat)
                line = _row("torch SparsemaxLoss" if loss else "torch sparsemax", shape, times)
                lines.append(line)
                results.append(times)
                print(line, flush=True)
        threads = f"torch {torch.__version__} with {torch.get_num_threads()} threads"
    else:
        threads = ""
    if args.only in (None, "jax"):
        import jax

        for shape in JAX_SHAPES:
            z = rng.standard_normal(shape).astype(np.float32)
            times = time_calls(_jax_calls(z), z, repeat=args.repeat)
            line = _row("jax grad of sparsemax", shape, times)
            lines.append(line)
            print(line, flush=True)
        threads += f"{', ' if threads else ''}jax {jax.__version__}"
    note = (f"\nfloat32, CPU; medians of {args.repeat} interleaved rounds; {threads}; {machine()}; "
            f"load average {os.getloadavg()[0]:.2f} at the end")
    print(note)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# Framework front-ends: forward + backward\n\n"
                    "`python scripts/bench_frameworks.py --md figures/frameworks.md`\n\n"
                    + "\n".join(lines) + "\n" + note + "\n")


if __name__ == "__main__":
    main()
