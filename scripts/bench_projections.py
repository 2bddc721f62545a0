#!/usr/bin/env python
"""Time the projections against sparsemax on the same array, against the memory copy, and
against optax's projections (jitted, vmapped over the rows, JAX on the CPU).

For each shape and dtype, one run samples, round after round (``harness.bench.time_calls``:
the copy and every call interleaved, medians): the copy, ``sparsemax``,
``project_simplex`` (radius 1, the same rows' work as sparsemax's, and radius 2, whose
support is larger; also against sparsemax of z / 2, which has the same supports),
``project_l1_ball`` (radius 1: N(0, 1) rows lie outside),
``project_capped_simplex`` (budget 4, cap 0.5) and ``project_sparse_simplex`` (k = 16 and
64, radius 1); then, when installed, optax's ``projection_simplex`` and
``projection_l1_ball`` (the same radii; ``jax.jit(jax.vmap(...))``, float64 under
``jax_enable_x64``) in rounds of their own with the copy again. Reports each time as a
ratio to sparsemax's and the copy's, and optax's as a multiple of ours (each side as its
ratio to the copy of its own rounds). Every result is checked against float64 before it is
timed. Markdown to stdout and, with --md, to a file (figures/projections.md is this
script's --md output).
"""

import argparse
import os

import numpy as np

import sparsetools as st

import _cli  # scripts/_cli.py: the shared argument checks
from harness.bench import machine, make_rows, time_calls

DTYPES = ("float64", "float32")
SHAPES = ((2048, 1024), (8192, 128))
OURS = {
    "sparsemax": lambda z: st.sparsemax(z),
    "simplex r=1": lambda z: st.project_simplex(z, 1.0),
    "simplex r=2": lambda z: st.project_simplex(z, 2.0),
    "l1 ball": lambda z: st.project_l1_ball(z, 1.0),
    "capped": lambda z: st.project_capped_simplex(z, 4.0, 0.5),
    "sparse k=16": lambda z: st.project_sparse_simplex(z, 16),
    "sparse k=64": lambda z: st.project_sparse_simplex(z, 64),
}
PEERS_OF = {"optax simplex": "simplex r=2", "optax l1 ball": "l1 ball"}


def _optax(z):
    """optax's projections on a JAX copy of ``z`` (empty if not installed)."""
    try:
        import jax
        from optax import projections
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    x = jax.device_put(z)
    two, one = np.asarray(2.0, z.dtype), np.asarray(1.0, z.dtype)  # (a float64 radius breaks float32 rows)
    simplex = jax.jit(jax.vmap(lambda r: projections.projection_simplex(r, two)))
    ball = jax.jit(jax.vmap(lambda r: projections.projection_l1_ball(r, one)))
    calls = {"optax simplex": lambda: simplex(x).block_until_ready(),
             "optax l1 ball": lambda: ball(x).block_until_ready()}
    for name, call in list(calls.items()):
        try:
            call()
        except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not timed
            FAILED[(name, str(z.dtype))] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
            del calls[name]
    return calls


#: (peer, dtype) -> why it was not timed
FAILED = {}


def _check(z):
    """Every call's result against the float64 one (exact to rounding)."""
    tol = 1e-12 if z.dtype == np.float64 else 2e-5
    z64 = z.astype(np.float64)
    for name, f in OURS.items():
        err = float(np.max(np.abs(f(z).astype(np.float64) - f(z64))))
        if not err <= tol:
            raise AssertionError(f"{name} is off its float64 result by {err}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=_cli.positive_int, default=7, help="rounds (medians are reported)")
    ap.add_argument("--shapes", type=_cli.shape, nargs="+", default=SHAPES, help="ROWSxN shapes")
    ap.add_argument("--no-peers", action="store_true", help="leave optax out")
    ap.add_argument("--md", help="also write the tables to this Markdown file")
    args = ap.parse_args(argv)
    args.md = _cli.out_file(ap, args.md, "--md")
    names = [k for k in OURS if k != "sparsemax"]
    head = (["shape", "dtype", "sparsemax / copy"] + [f"{k} / sparsemax" for k in names]
            + ["simplex r=2 / sparsemax(z/2)"] + [f"{k} / ours" for k in PEERS_OF])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    print("\n".join(lines), flush=True)
    for shape in args.shapes:
        for dtype in DTYPES:
            z = make_rows(shape, "normal", getattr(np, dtype))
            _check(z)
            calls = {name: (lambda f=f: f(z)) for name, f in OURS.items()}
            half = z / 2  # radius 2's work for sparsemax: the same supports as project_simplex(z, 2)
            calls["sparsemax z/2"] = lambda: st.sparsemax(half)
            t = time_calls(calls, z, repeat=args.repeat, warmup=2, min_time=0.05)
            tp = {} if args.no_peers else time_calls(_optax(z), z, repeat=args.repeat, warmup=2, min_time=0.05)
            sm = t["sparsemax"]
            cells = [f"{shape[0]}x{shape[1]}", dtype, f"{sm / t['copy']:.2f}"]
            cells += [f"{t[k] / sm:.2f}" for k in names]
            cells.append(f"{t['simplex r=2'] / t['sparsemax z/2']:.2f}")
            cells += [f"{(tp[p] / tp['copy']) / (t[o] / t['copy']):.0f}x" if p in tp else "-"
                      for p, o in PEERS_OF.items()]
            line = "| " + " | ".join(cells) + " |"
            lines.append(line)
            print(line, flush=True)
    note = (f"\nN(0, 1) rows; medians of {args.repeat} interleaved rounds (the copy and every call "
            f"sampled in turn; optax in rounds of its own); {machine()}; "
            f"load average {os.getloadavg()[0]:.2f} at the end")
    for (name, dtype), why in sorted(FAILED.items()):
        note += f"\n\n{name} on {dtype} rows failed and was not timed ({why})."
    print(note)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# The projections: time against sparsemax, the copy, and optax\n\n"
                    "`python scripts/bench_projections.py --md figures/projections.md`\n\n"
                    + "\n".join(lines) + "\n" + note + "\n")


if __name__ == "__main__":
    main()
