"""Benchmark helpers: timings as ratios to the memory-copy floor, measured in the same run.

A time on a shared or noisy machine means little alone; the time of ``np.copyto`` of the
same array into a preallocated one (one read and one write of every element, the least any
exact kernel must do) taken in the same run does. Every result is reported as a ratio to it.
"""

import platform
import time

import numpy as np

SHAPES = ((8192, 128), (2048, 1024), (128, 16384), (2, 1_000_000))
REGIMES = ("normal", "dense")


def make_rows(shape, regime, dtype=np.float64, seed=0):
    """Rows drawn from N(0, 1) (supports of a few entries) or the same scaled by 1e-3
    ("dense": supports of hundreds to thousands of entries)."""
    z = np.random.default_rng(seed).standard_normal(shape)
    if regime == "dense":
        z *= 1e-3
    elif regime != "normal":
        raise ValueError(f"unknown regime {regime!r}; known: {REGIMES}")
    return z.astype(dtype, copy=False)


def derivative_cases(z, seed=1):
    """``{name: (call, check)}``: the derivative, loss and softmax kernels that
    ``scripts/bench_cpu.py`` times on the rows ``z`` (labels and tangents drawn from
    ``seed``); ``check()`` runs the call and returns the largest absolute difference of its
    results from independent NumPy formulas."""
    import sparsetools as st

    rng = np.random.default_rng(seed)
    p = st.sparsemax(z)
    v = rng.standard_normal(z.shape).astype(z.dtype)
    labels = rng.integers(0, z.shape[-1], z.shape[:-1])
    x = z.astype(np.float64)
    s = p > 0
    k = s.sum(-1, keepdims=True)
    onehot = np.zeros(z.shape)
    np.put_along_axis(onehot, labels[..., None], 1.0, -1)
    zc = np.take_along_axis(x, labels[..., None], -1)[..., 0]
    # the paper's formulas: J v, the sparsemax loss with tau from the support, the NLL
    jv = np.where(s, v - np.where(s, v, 0).sum(-1, keepdims=True) / k, 0.0)
    tau = (np.where(s, x, 0).sum(-1, keepdims=True) - 1) / k
    sp_loss = -zc + 0.5 * np.where(s, x**2 - tau**2, 0).sum(-1) + 0.5
    e = np.exp(x - x.max(-1, keepdims=True))
    sm = e / e.sum(-1, keepdims=True)
    sm_loss = np.log(e.sum(-1)) - (zc - x.max(-1))

    def diff(got, ref):
        return float(np.max(np.abs(np.asarray(got, np.float64) - ref)))

    def check_pair(call, loss_ref, grad_ref):
        loss, grad = call()
        return max(diff(loss, loss_ref), diff(grad, grad_ref))

    cases = {
        "sparsemax_jvp": (lambda: st.sparsemax_jvp(p, v), lambda c: diff(c(), jv)),
        "sparsemax_vjp": (lambda: st.sparsemax_vjp(p, v), lambda c: diff(c(), jv)),
        "sparsemax_loss_and_grad": (lambda: st.sparsemax_loss_and_grad(z, labels),
                                    lambda c: check_pair(c, sp_loss, p - onehot)),
        "softmax": (lambda: st.softmax(z), lambda c: diff(c(), sm)),
        "softmax_loss_and_grad": (lambda: st.softmax_loss_and_grad(z, labels),
                                  lambda c: check_pair(c, sm_loss, sm - onehot)),
    }
    return {name: (call, lambda call=call, chk=chk: chk(call)) for name, (call, chk) in cases.items()}


def ratio_to_copy(fn, z, repeat=9, warmup=2, min_time=0.05):
    """``(time of fn, time of the copy of z)``, medians of samples taken alternately.

    The copy's time on this machine drifts by up to 2x between runs (whether ``z`` sits in
    the last-level cache); sampling the two in turn makes their ratio stable."""
    dst = np.empty_like(z)

    def copy():
        np.copyto(dst, z)

    for _ in range(warmup):
        fn()
        copy()
    loops = []
    for f in (fn, copy):
        t0 = time.perf_counter()
        f()
        loops.append(max(1, int(min_time / max(time.perf_counter() - t0, 1e-9))))
    samples = ([], [])
    for _ in range(repeat):
        for f, n, out in zip((fn, copy), loops, samples):
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            out.append((time.perf_counter() - t0) / n)
    return float(np.median(samples[0])), float(np.median(samples[1]))


def machine():
    """One line saying where a benchmark ran."""
    import os

    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        layer = numba.threading_layer()  # known once a parallel kernel has run
    except ValueError:
        layer = numba.config.THREADING_LAYER
    return (
        f"{cpu}, {os.cpu_count()} logical cores, numba {numba.__version__} "
        f"({layer} threading layer, {numba.get_num_threads()} threads), "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )
