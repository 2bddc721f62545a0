#!/usr/bin/env python
"""Time sparsetools.cuda on a GPU: the forward pass, the VJP and the sparsemax loss with its
gradient, the same for alpha-entmax (1.5, and 1.3 for the forward pass), and the
projections onto the simplex of radius 2 and the capped simplex, against a
device-to-device copy of the same array (the memory floor: one read and one write) and,
when PyTorch is installed, against a sparsemax written with torch.sort and PyTorch ops (the
approach of deep-spin/entmax), on the same device.

Every time is the median of --repeat timings taken with CUDA events after --warmup calls;
each result is first checked against the CPU functions on a few rows. Reports, per shape:
milliseconds, the copy's fraction of the time (= the fraction of copy bandwidth reached
when the kernel moves the copy's bytes), and the speed-up over the torch version. Prints a
markdown table; --json FILE writes every number.

    python scripts/bench_gpu.py                        # the issue's shapes, float32
    python scripts/bench_gpu.py --shapes 4x8 --repeat 1 --warmup 0   # a smoke run (simulator)
"""

import argparse
import json
import platform
import sys

import numpy as np

import sparsetools
from sparsetools import cuda as sc

import _cli  # scripts/_cli.py: the shared argument checks

SHAPES = ("65536x1024", "4096x16384", "64x1000000")


def parse_shape(s):
    rows, n = s.lower().split("x")
    return int(rows), int(n)


def time_events(f, cuda, repeat, warmup):
    """Median milliseconds of ``f()`` between two CUDA events."""
    for _ in range(warmup):
        f()
    cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cuda.event(), cuda.event()
        start.record()
        f()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return float(np.median(times))


def torch_ops():
    """The torch.sort sparsemax, its VJP and its loss+grad, or None without PyTorch/CUDA."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None

    def forward(z):
        zs, _ = torch.sort(z, dim=-1, descending=True)
        cs = zs.cumsum(-1) - 1
        k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
        kz = (k * zs > cs).sum(-1, keepdim=True)
        tau = cs.gather(-1, kz - 1) / kz
        return torch.clamp(z - tau, min=0)

    def vjp(p, g):
        s = p > 0
        mean = (g * s).sum(-1, keepdim=True) / s.sum(-1, keepdim=True)
        return torch.where(s, g - mean, torch.zeros_like(g))

    def loss_and_grad(z, labels):
        p = forward(z)
        q = torch.zeros_like(z).scatter_(-1, labels[:, None], 1.0)
        zs = z.gather(-1, labels[:, None])[:, 0]
        s = p > 0
        tau = ((z * s).sum(-1) - 1) / s.sum(-1)
        loss = -zs + 0.5 * ((z * z - tau[:, None] ** 2) * s).sum(-1) + 0.5
        return loss, p - q

    return torch, forward, vjp, loss_and_grad


def check(name, got, ref, dtype):
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    err = np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30)
    if not err <= rtol * 10:
        raise AssertionError(f"{name}: relative error {err:.3g} against the CPU")
    return float(err)


def bench_shape(R, n, dtype, repeat, warmup, tops, cuda):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((R, n)).astype(dtype)
    g = rng.standard_normal((R, n)).astype(dtype)
    labels = rng.integers(0, n, R)
    dz, dg, dl = cuda.to_device(z), cuda.to_device(g), cuda.to_device(labels)
    dst = cuda.device_array_like(dz)
    out = cuda.device_array_like(dz)
    rec = {"rows": R, "n": n, "dtype": np.dtype(dtype).name, "bytes": int(z.nbytes)}
    # correctness on three rows
    pick = sorted({0, R // 2, R - 1})
    p = sc.sparsemax(dz, out=out).copy_to_host()
    rec["err_forward"] = check("forward", p[pick], sparsetools.sparsemax(z[pick]), dtype)
    dp = cuda.to_device(p)
    v = sc.sparsemax_vjp(dp, dg).copy_to_host()
    rec["err_vjp"] = check("vjp", v[pick], sparsetools.sparsemax_vjp(p[pick], g[pick]), dtype)
    L, G = sc.sparsemax_loss_and_grad(dz, dl)
    Lc, Gc = sparsetools.sparsemax_loss_and_grad(z[pick], labels[pick])
    rec["err_loss"] = check("loss", L[pick], Lc, dtype)
    rec["err_grad"] = check("grad", G.copy_to_host()[pick], Gc, dtype)
    rec["copy_ms"] = time_events(lambda: dst.copy_to_device(dz), cuda, repeat, warmup)
    rec["forward_ms"] = time_events(lambda: sc.sparsemax(dz, out=out), cuda, repeat, warmup)
    rec["vjp_ms"] = time_events(lambda: sc.sparsemax_vjp(dp, dg, out=out), cuda, repeat, warmup)
    rec["loss_grad_ms"] = time_events(lambda: sc.sparsemax_loss_and_grad(dz, dl, out=out), cuda, repeat, warmup)
    # alpha-entmax at 1.5 (closed form on the support) and 1.3 (powers), checked first
    pe = sc.entmax15(dz, out=out).copy_to_host()
    rec["err_entmax15"] = check("entmax15", pe[pick], sparsetools.entmax15(z[pick]), dtype)
    p13 = sc.entmax(dz, 1.3).copy_to_host()
    rec["err_entmax13"] = check("entmax 1.3", p13[pick], sparsetools.entmax(z[pick], 1.3), dtype)
    dpe = cuda.to_device(pe)
    ve = sc.entmax_vjp(dpe, dg, 1.5).copy_to_host()
    rec["err_entmax_vjp"] = check("entmax vjp", ve[pick], sparsetools.entmax_vjp(pe[pick], g[pick], 1.5), dtype)
    rec["entmax15_ms"] = time_events(lambda: sc.entmax15(dz, out=out), cuda, repeat, warmup)
    rec["entmax13_ms"] = time_events(lambda: sc.entmax(dz, 1.3, out=out), cuda, repeat, warmup)
    rec["entmax_vjp_ms"] = time_events(lambda: sc.entmax_vjp(dpe, dg, 1.5, out=out), cuda, repeat, warmup)
    rec["entmax_loss_grad_ms"] = time_events(lambda: sc.entmax_loss_and_grad(dz, dl, 1.5, out=out), cuda,
                                             repeat, warmup)
    # the projections onto the simplex of radius 2 and the capped simplex (b = 2, u = 0.5; rows
    # of at least 4 entries), checked first
    ps = sc.project_simplex(dz, 2.0, out=out).copy_to_host()
    rec["err_simplex"] = check("project_simplex", ps[pick], sparsetools.project_simplex(z[pick], 2.0), dtype)
    rec["simplex_ms"] = time_events(lambda: sc.project_simplex(dz, 2.0, out=out), cuda, repeat, warmup)
    b = min(2.0, n * 0.5)
    pc = sc.project_capped_simplex(dz, b, 0.5, out=out).copy_to_host()
    rec["err_capped"] = check("project_capped_simplex", pc[pick],
                              sparsetools.project_capped_simplex(z[pick], b, 0.5), dtype)
    rec["capped_ms"] = time_events(lambda: sc.project_capped_simplex(dz, b, 0.5, out=out), cuda, repeat, warmup)
    if tops is not None:
        torch, forward, vjp, loss_and_grad = tops
        tz, tg = torch.as_tensor(dz, device="cuda"), torch.as_tensor(dg, device="cuda")
        tl = torch.as_tensor(dl, device="cuda")
        tp = forward(tz)
        rec["err_torch"] = check("torch forward", tp.cpu().numpy()[pick], sparsetools.sparsemax(z[pick]), dtype)
        rec["torch_forward_ms"] = time_events(lambda: forward(tz), cuda, repeat, warmup)
        rec["torch_vjp_ms"] = time_events(lambda: vjp(tp, tg), cuda, repeat, warmup)
        rec["torch_loss_grad_ms"] = time_events(lambda: loss_and_grad(tz, tl), cuda, repeat, warmup)
    return rec


def table(records):
    head = ["shape", "dtype", "copy ms", "forward ms", "copy/forward", "vjp ms", "vjp/copy", "loss+grad ms",
            "loss+grad/copy", "torch forward ms", "speed-up fwd", "speed-up vjp", "speed-up loss"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        t = [r.get(k) for k in ("torch_forward_ms", "torch_vjp_ms", "torch_loss_grad_ms")]
        cells = [f"{r['rows']}x{r['n']}", r["dtype"], f"{r['copy_ms']:.3f}", f"{r['forward_ms']:.3f}",
                 f"{r['copy_ms'] / r['forward_ms']:.2f}", f"{r['vjp_ms']:.3f}", f"{r['vjp_ms'] / r['copy_ms']:.2f}",
                 f"{r['loss_grad_ms']:.3f}", f"{r['loss_grad_ms'] / r['copy_ms']:.2f}",
                 "-" if t[0] is None else f"{t[0]:.3f}",
                 "-" if t[0] is None else f"{t[0] / r['forward_ms']:.1f}x",
                 "-" if t[1] is None else f"{t[1] / r['vjp_ms']:.1f}x",
                 "-" if t[2] is None else f"{t[2] / r['loss_grad_ms']:.1f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    head = ["shape", "dtype", "entmax15 ms", "copy/entmax15", "alpha 1.3 ms", "copy/alpha 1.3",
            "entmax vjp ms", "vjp/copy", "entmax loss+grad ms", "loss+grad/copy"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        c = r["copy_ms"]
        cells = [f"{r['rows']}x{r['n']}", r["dtype"], f"{r['entmax15_ms']:.3f}", f"{c / r['entmax15_ms']:.2f}",
                 f"{r['entmax13_ms']:.3f}", f"{c / r['entmax13_ms']:.2f}", f"{r['entmax_vjp_ms']:.3f}",
                 f"{r['entmax_vjp_ms'] / c:.2f}", f"{r['entmax_loss_grad_ms']:.3f}",
                 f"{r['entmax_loss_grad_ms'] / c:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    head = ["shape", "dtype", "project_simplex ms", "copy/simplex", "project_capped_simplex ms", "copy/capped"]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        c = r["copy_ms"]
        cells = [f"{r['rows']}x{r['n']}", r["dtype"], f"{r['simplex_ms']:.3f}", f"{c / r['simplex_ms']:.2f}",
                 f"{r['capped_ms']:.3f}", f"{c / r['capped_ms']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", nargs="+", type=_cli.shape, default=[parse_shape(s) for s in SHAPES],
                   help="ROWSxN shapes")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--repeat", type=_cli.positive_int, default=20)
    p.add_argument("--warmup", type=_cli.nonneg_int, default=3)
    p.add_argument("--no-torch", action="store_true", help="leave out the torch.sort version")
    p.add_argument("--json", help="write every number to this file")
    args = p.parse_args(argv)
    _cli.out_file(p, args.json)
    from numba import cuda

    if not sc.is_available():
        sys.exit("no CUDA GPU (and the simulator is off): nothing to time")
    tops = None if args.no_torch else torch_ops()
    dev = cuda.get_current_device()
    info = {"device": getattr(dev, "name", b"?").decode() if isinstance(getattr(dev, "name", ""), bytes)
            else str(getattr(dev, "name", "?")), "python": platform.python_version(),
            "numpy": np.__version__, "torch": None if tops is None else tops[0].__version__}
    records = []
    for R, n in args.shapes:
        records.append(bench_shape(R, n, np.dtype(args.dtype).type, args.repeat, args.warmup, tops, cuda))
        print(f"{R}x{n}: done", file=sys.stderr)
    print(f"device: {info['device']}; torch: {info['torch'] or 'not timed'}; medians of {args.repeat} "
          f"after {args.warmup} warm-up calls")
    print(table(records))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "records": records}, f, indent=1)
    return records


if __name__ == "__main__":
    main()
