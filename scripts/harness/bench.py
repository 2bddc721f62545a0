"""Benchmark helpers: timings as ratios to the memory-copy floor, measured in the same run.

A time on a shared or noisy machine means little alone; the time of ``np.copyto`` of the
same array into a preallocated one (one read and one write of every element, the least any
exact kernel must do) taken in the same run does. Every result is reported as a ratio to it.
"""

import platform
import time

import numpy as np

SHAPES = ((8192, 128), (2048, 1024), (128, 16384), (2, 1_000_000))
#: The regimes of ``scripts/bench_cpu.py``.
REGIMES = ("normal", "dense")
#: Every regime ``make_rows`` knows; ``scripts/compare_algorithms.py`` sweeps them all.
ALL_REGIMES = ("normal", "dense", "planted", "ascending", "descending", "ties")


def make_rows(shape, regime, dtype=np.float64, seed=0, support=None):
    """Rows of the given shape (rows along the last axis) in one of ``ALL_REGIMES``:

    - ``normal``: N(0, 1); supports of a few entries, a few dozen candidates.
    - ``dense``: N(0, 1) times 1e-3; supports of hundreds to thousands of entries.
    - ``planted``: exactly ``support`` entries (default ``round(sqrt(n))``) in the support,
      with sparsemax(z) equal to them (positive, summing to 1: weights drawn from
      U(0.5, 1.5), normalised), and every other entry drawn from [max - 1, 0), below
      tau = 0 but within 1 of the max, so that all n entries are candidates whatever the
      support size. (For a support of 1, max = 1 and the others are drawn from [-1, 0): a
      support of one entry means no other is a candidate.)
    - ``ascending`` and ``descending``: N(0, 1) rows sorted (adversarial for a quicksort
      and for the running max of the candidate pass).
    - ``ties``: entries from {0, 0.25, 0.5, 0.75}: a quarter of the row tied at the top,
      every entry a candidate.
    """
    rng = np.random.default_rng(seed)
    n = shape[-1]
    if regime in ("normal", "dense", "ascending", "descending"):
        z = rng.standard_normal(shape)
        if regime == "dense":
            z *= 1e-3
        elif regime != "normal":
            z.sort(axis=-1)
            if regime == "descending":
                z = np.ascontiguousarray(z[..., ::-1])
    elif regime == "planted":
        k = max(1, round(n**0.5)) if support is None else int(support)
        if not 1 <= k <= n:
            raise ValueError(f"support must be in [1, {n}] for rows of {n}, got {support}")
        where = np.argpartition(rng.random(shape), k - 1, axis=-1)[..., :k]
        w = rng.uniform(0.5, 1.5, where.shape)
        p = w / w.sum(-1, keepdims=True)
        width = 1.0 - p.max(-1, keepdims=True) if k > 1 else 1.0
        z = -width * (1.0 - rng.random(shape))  # in [max - 1, 0): out of the support
        np.put_along_axis(z, where, p, -1)
    elif regime == "ties":
        z = rng.integers(0, 4, shape) * 0.25
    else:
        raise ValueError(f"unknown regime {regime!r}; known: {ALL_REGIMES}")
    if support is not None and regime != "planted":
        raise ValueError("support= is only for the planted regime")
    return z.astype(dtype, copy=False)


def sparsemax_numpy(z):
    """Sparsemax along the last axis with NumPy alone (sort, cumulative sum, scan), in z's
    floating dtype: the reference every timed result is checked against (called on float64
    rows) and the "numpy" column of the comparison (called on the timed rows).

    Held et al. (1974): with y = z - max(z) sorted decreasingly and c its cumulative sum,
    k is the last j with 1 + j y_j > c_j and tau = (c_k - 1) / k.
    """
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    y = z - z.max(-1, keepdims=True)
    ys = -np.sort(-y, axis=-1)
    c = np.cumsum(ys, axis=-1)
    j = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    holds = 1 + j * ys > c
    k = z.shape[-1] - np.argmax(holds[..., ::-1], axis=-1)  # the last j where it holds
    tau = (np.take_along_axis(c, k[..., None] - 1, -1) - 1) / k[..., None].astype(z.dtype)
    return np.maximum(y - tau, 0)


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
    # how idle OpenMP threads wait (spin, then sleep: libgomp's default), which decides how
    # long a call waits for a thread that another process has descheduled
    wait = ""
    if layer == "omp" and os.environ.get("OMP_WAIT_POLICY"):
        wait = f", OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}"
    return (
        f"{cpu}, {os.cpu_count()} logical cores, numba {numba.__version__} "
        f"({layer} threading layer{wait}, {numba.get_num_threads()} threads), "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )


# ---------------------------------------------------------------------------------------
# The algorithm comparison (``scripts/compare_algorithms.py``): every method, the NumPy
# reference and the installed peers, over row length, batch size, dtype and regime.


def michelot_steps(z):
    """Per row of ``z`` (float64, rows along the last axis): how many of Michelot's steps
    the row needs after ``presolve``'s first one, i.e. how many passes ``michelot`` makes
    (and what ``auto``'s guard, ``kernels.auto.MAX_STEPS``, is compared with). NumPy, all
    rows at once."""
    y = np.asarray(z, np.float64)
    y = y - y.max(-1, keepdims=True)
    keep = y >= -1.0
    steps = np.full(y.shape[:-1], -1)
    active = np.ones(y.shape[:-1], bool)
    while active.any():
        t = (np.where(keep, y, 0.0).sum(-1) - 1.0) / keep.sum(-1)
        new = keep & (y > t[..., None])
        steps += active
        active &= (new != keep).any(-1)
        keep = new
    return steps


def time_calls(calls, z, repeat=7, warmup=1, min_time=0.02, budget=2.0):
    """``{name: median seconds per call}`` for every call of ``calls`` and for ``"copy"``
    (``np.copyto`` of ``z`` into a preallocated array), after ``warmup`` calls each.

    The calls are sampled in turn, round after round, so that a drift of the machine (the
    other core busy, ``z`` in or out of the last-level cache) hits all of them alike and
    their ratios stay stable. The first round times each call once; from then on a sample
    is the mean over enough back-to-back calls to last ``min_time``. A call stops being
    sampled after ``repeat`` samples, or after 3 once its samples add up to ``budget``
    seconds (the slow peers: one call of theirs is long enough to be stable)."""
    dst = np.empty_like(z)
    calls = dict(calls)
    calls["copy"] = lambda: np.copyto(dst, z)
    for f in calls.values():
        for _ in range(warmup):
            f()
    samples = {name: [] for name in calls}
    loops = dict.fromkeys(calls, 1)
    spent = dict.fromkeys(calls, 0.0)
    for _ in range(repeat):
        for name, f in calls.items():
            if len(samples[name]) >= 3 and spent[name] >= budget:
                continue
            n = loops[name]
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            dt = time.perf_counter() - t0
            samples[name].append(dt / n)
            spent[name] += dt
            loops[name] = max(1, int(min_time / max(dt / n, 1e-9)))
    return {name: float(np.median(s)) for name, s in samples.items()}


def peers():
    """``{name: make}`` for the installed peer implementations, where ``make(z)`` returns a
    call that computes sparsemax of the NumPy rows ``z`` (the input converted once,
    outside the call) and returns a NumPy array. Optional: a peer that is not installed
    is left out.

    - ``entmax``: ``entmax.sparsemax`` (deep-spin/entmax) on PyTorch CPU tensors, under
      ``torch.no_grad`` (a sort of the whole row, then the scan).
    - ``optax``: ``optax.projections.projection_simplex`` vmapped over the rows and
      jit-compiled by JAX on the CPU (float64 needs ``jax_enable_x64``, set here).
    """
    found = {}
    try:
        import entmax
        import torch
    except ImportError:
        pass
    else:

        def make_entmax(z):
            t = torch.from_numpy(z)

            def call():
                with torch.no_grad():
                    return entmax.sparsemax(t, dim=-1).numpy()

            return call

        found["entmax"] = make_entmax
    try:
        import jax
        from optax.projections import projection_simplex
    except ImportError:
        pass
    else:
        jax.config.update("jax_enable_x64", True)
        project = jax.jit(jax.vmap(projection_simplex))

        def make_optax(z):
            x = jax.device_put(z)

            def call():
                return np.asarray(project(x).block_until_ready())

            return call

        found["optax"] = make_optax
    return found


def peer_versions():
    """``{package: version}`` of the peers' packages that are installed."""
    from importlib import metadata

    out = {}
    for pkg in ("torch", "entmax", "jax", "optax"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


#: The sweeps of ``run_comparison``, by name. ``ns``: row lengths of the main sweep, each
#: timed on ``total // n`` rows (at least ``min_rows``) in every regime and dtype;
#: ``batch``: (n, rows) points of the batch-size sweep (normal rows, first dtype);
#: ``map_ns`` x ``map_ks``: the planted-support grid of the winner map (first dtype,
#: k <= n); ``repeat`` and ``min_time`` as in ``time_calls``.
GRIDS = {
    "full": dict(
        ns=(8, 32, 128, 512, 2048, 8192, 32768, 131072, 524288, 1048576),
        dtypes=("float64", "float32"),
        regimes=ALL_REGIMES,
        total=1 << 21,
        min_rows=2,
        batch=tuple((n, r) for n in (128, 16384) for r in (1, 4, 16, 64, 256, 1024, 4096)),
        map_ns=(32, 128, 512, 2048, 8192, 32768, 131072, 1048576),
        map_ks=(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 1048576),
        repeat=5,
        min_time=0.02,
    ),
    "quick": dict(
        ns=(8, 128, 2048, 32768, 1048576),
        dtypes=("float64",),
        regimes=ALL_REGIMES,
        total=1 << 19,
        min_rows=2,
        batch=((128, 1), (128, 64), (128, 4096)),
        map_ns=(128, 2048, 32768),
        map_ks=(1, 16, 256, 4096),
        repeat=3,
        min_time=0.005,
    ),
    # the test suite's grid: every code path, a few seconds, no meaningful times
    "tiny": dict(
        ns=(8, 300),
        dtypes=("float64", "float32"),
        regimes=ALL_REGIMES,
        total=600,
        min_rows=2,
        batch=((40, 1), (40, 3)),
        map_ns=(16, 64),
        map_ks=(1, 4, 64),
        repeat=1,
        min_time=0.0,
    ),
}


def comparison_points(grid):
    """The points of a grid, in the order they are timed: dicts with ``sweep`` ("n",
    "batch" or "map"), ``dtype``, ``regime``, ``n``, ``rows`` and ``support`` (the planted
    support size, or None)."""
    g = GRIDS[grid] if isinstance(grid, str) else grid
    pts = []
    for dtype in g["dtypes"]:
        for regime in g["regimes"]:
            for n in g["ns"]:
                rows = max(g["min_rows"], g["total"] // n)
                pts.append(dict(sweep="n", dtype=dtype, regime=regime, n=n, rows=rows, support=None))
    for n, rows in g["batch"]:
        pts.append(dict(sweep="batch", dtype=g["dtypes"][0], regime="normal", n=n, rows=rows, support=None))
    for n in g["map_ns"]:
        rows = max(g["min_rows"], g["total"] // n)
        for k in g["map_ks"]:
            if k <= n:
                pts.append(dict(sweep="map", dtype=g["dtypes"][0], regime="planted", n=n, rows=rows, support=k))
    return pts


def tolerance(dtype, exact):
    """Largest absolute difference from the float64 NumPy reference a timed result may
    have: sparsetools' methods sum in float64 whatever the dtype (``exact``); the NumPy
    column and the peers sum float32 rows in float32, so they get a looser bound."""
    if np.dtype(dtype) == np.float64:
        return 1e-12 if exact else 1e-9
    return 1e-6 if exact else 1e-3


def time_point(point, methods, peer_makers=None, repeat=5, min_time=0.02, seed=0):
    """Time every method (and ``auto``), the NumPy reference and the peers on the rows of
    one point; returns one record per competitor (dicts: the point's keys plus
    ``competitor``, ``seconds``, ``copy_seconds``, ``ratio`` (to the copy),
    ``ns_per_element``, ``max_abs_diff`` (from the float64 reference), ``mean_support``,
    ``max_michelot_steps`` (``michelot_steps``, the largest over the rows) and ``valid``).

    Every competitor's output is checked before it is timed: a sparsetools method off the
    reference by more than ``tolerance`` raises AssertionError (a bug); a NumPy or peer
    result that far off is recorded with ``valid=False`` and not timed."""
    import sparsetools

    dtype = np.dtype(point["dtype"])
    z = make_rows((point["rows"], point["n"]), point["regime"], dtype, seed=seed, support=point["support"])
    ref = sparsemax_numpy(z.astype(np.float64))
    mean_support = float(np.count_nonzero(ref, axis=-1).mean())
    steps = int(michelot_steps(z).max())
    calls, errors, valid = {}, {}, {}
    for method in tuple(methods) + ("auto",):
        call = (lambda m: lambda: sparsetools.sparsemax(z, method=m))(method)
        err = float(np.max(np.abs(call() - ref)))
        if not err <= tolerance(dtype, exact=True):
            raise AssertionError(f"method {method!r} is off the reference by {err} on {point}")
        calls[method], errors[method], valid[method] = call, err, True
    others = {"numpy": lambda: (lambda: sparsemax_numpy(z))}
    others.update((name, (lambda mk: lambda: mk(z))(mk)) for name, mk in (peer_makers or {}).items())
    for name, make in others.items():
        call = make()
        err = float(np.max(np.abs(np.asarray(call(), np.float64) - ref)))
        errors[name], valid[name] = err, err <= tolerance(dtype, exact=False)
        if valid[name]:
            calls[name] = call
    # every call has just run once for its check: that was its warm-up
    times = time_calls(calls, z, repeat=repeat, warmup=0, min_time=min_time)
    copy = times["copy"]
    records = []
    for name in errors:
        t = times.get(name, float("nan"))
        records.append(dict(point, competitor=name, seconds=t, copy_seconds=copy, ratio=t / copy,
                            ns_per_element=t / z.size * 1e9, max_abs_diff=errors[name],
                            mean_support=mean_support, max_michelot_steps=steps, valid=valid[name]))
    return records


_COMPILE_PROBE = """
import sys, time
t0 = time.perf_counter()
import numpy as np, sparsetools
t1 = time.perf_counter()
z = np.random.default_rng(0).standard_normal((64, 300)).astype(sys.argv[2])
sparsetools.sparsemax(z, method=sys.argv[1])
t2 = time.perf_counter()
sparsetools.sparsemax(z, method=sys.argv[1])
t3 = time.perf_counter()
print(t1 - t0, (t2 - t1) - (t3 - t2))
"""


def compile_times(methods, dtypes, auto=True):
    """Per (method, dtype): the seconds of the first call in a fresh process (the warm
    call's time subtracted), with an empty Numba cache (``compile``: what a new user waits
    for) and then with the cache that first process left (``load``), and the import time.
    Each measurement is its own process, so one method's compilation never serves another.
    ``auto`` adds method "auto". Returns a list of dicts."""
    import os
    import subprocess
    import sys
    import tempfile

    out = []
    for dtype in dtypes:
        for method in tuple(methods) + (("auto",) if auto else ()):
            rec = dict(method=method, dtype=dtype)
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache)
                for label in ("compile", "load"):
                    res = subprocess.run([sys.executable, "-c", _COMPILE_PROBE, method, dtype], env=env,
                                         check=True, capture_output=True, text=True)
                    imp, first = map(float, res.stdout.split())
                    rec[f"{label}_seconds"] = first
                    rec[f"import_seconds_{label}"] = imp
            out.append(rec)
    return out


class Progress:
    """A progress bar on stderr: ``[####......]  12/120  label  0:41 left``. Redraws in place
    on a terminal; elsewhere (a log file, CI) prints a line every tenth of the way."""

    def __init__(self, total, stream=None, width=28):
        import sys

        self.total, self.done, self.width = total, 0, width
        self.stream = sys.stderr if stream is None else stream
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.t0 = time.perf_counter()
        self._last_decile = -1

    def step(self, label=""):
        self.done += 1
        frac = self.done / max(self.total, 1)
        elapsed = time.perf_counter() - self.t0
        left = elapsed / frac * (1 - frac) if frac else 0.0
        bar = "#" * int(frac * self.width)
        line = (f"[{bar:<{self.width}}] {self.done:>4}/{self.total}  {label}  "
                f"{int(left // 60)}:{int(left % 60):02d} left")
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:100] + ("\n" if self.done == self.total else ""))
        elif int(frac * 10) != self._last_decile or self.done == self.total:
            self._last_decile = int(frac * 10)
            self.stream.write(line + "\n")
        self.stream.flush()


def run_comparison(grid="quick", methods=None, use_peers=True, compile=True, progress=True, seed=0,
                   scheduler=None, workers=1, executor=None):
    """Run a comparison grid (a name of ``GRIDS`` or a dict like them): returns a dict with
    ``machine``, ``peers`` (their versions), ``grid``, ``records`` (``time_point``'s, every
    point) and ``compile`` (``compile_times``, or [] when ``compile`` is false).

    The points are timed here, one after the other, unless ``executor`` (any
    ``concurrent.futures``-style executor) or ``scheduler`` ("local" for a
    dask.distributed LocalCluster of ``workers`` processes, or a running cluster's address)
    says where (``executors.open_executor``). A point's inputs, checks and every number but
    the times are the same wherever it runs; its times are of the machine it ran on (two
    points timed at once on one machine share its cores: one worker per machine times
    what a point run here times). The compile times are measured here."""
    import sparsetools

    from . import executors

    g = GRIDS[grid] if isinstance(grid, str) else grid
    methods = tuple(sparsetools.METHODS if methods is None else methods)
    pts = comparison_points(g)
    bar = Progress(len(pts)) if progress else None
    jobs = [(pt, methods, use_peers, g["repeat"], g["min_time"], seed) for pt in pts]

    def label(job):
        pt = job[0]
        return (f"{pt['sweep']} {pt['dtype']} {pt['regime']} n={pt['n']} rows={pt['rows']}"
                + (f" k={pt['support']}" if pt["support"] else ""))

    step = bar.step if bar else None
    if executor is not None:
        results = executors.run_points(_time_job, jobs, executor, step, label, single=False)
    else:
        with executors.open_executor(scheduler, workers if scheduler else 1, one_thread=False) as ex:
            results = executors.run_points(_time_job, jobs, ex, step, label, single=False)
    records = [rec for recs in results for rec in recs]
    comp = compile_times(methods, g["dtypes"]) if compile else []
    return dict(machine=machine(), peers=peer_versions() if use_peers else {}, grid=g,
                methods=list(methods), records=records, compile=comp)


_PEERS = {}


def _time_job(job):
    """One point of ``run_comparison`` (wherever it runs): ``time_point`` with the peers
    made in this process (once)."""
    pt, methods, use_peers, repeat, min_time, seed = job
    makers = {}
    # the winner map is about sparsetools' own methods: no peers there
    if use_peers and pt["sweep"] != "map":
        if "makers" not in _PEERS:
            _PEERS["makers"] = peers()
        makers = _PEERS["makers"]
    return time_point(pt, methods, makers, repeat=repeat, min_time=min_time, seed=seed)


POINT_KEYS = ("sweep", "dtype", "regime", "n", "rows", "support")


def by_point(records):
    """``{point key: {competitor: record}}``, points in the order they were timed."""
    out = {}
    for rec in records:
        out.setdefault(tuple(rec[k] for k in POINT_KEYS), {})[rec["competitor"]] = rec
    return out


def auto_report(records, methods):
    """For every point: the best of ``methods`` (``auto`` excluded), its time, auto's time
    and their ratio. A list of dicts (the point's keys plus ``best``, ``best_seconds``,
    ``auto_seconds``, ``auto_over_best``)."""
    out = []
    for key, recs in by_point(records).items():
        best = min(methods, key=lambda m: recs[m]["seconds"])
        out.append(dict(zip(POINT_KEYS, key), best=best, best_seconds=recs[best]["seconds"],
                        auto_seconds=recs["auto"]["seconds"],
                        auto_over_best=recs["auto"]["seconds"] / recs[best]["seconds"]))
    return out


def _fmt(x):
    return "n/a" if not np.isfinite(x) else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def markdown_table(records, methods, sweep="n", dtype="float64", ns=None, others=()):
    """A Markdown table of one sweep: a line per point, each cell the competitor's time as
    a ratio to the copy, the copy's time per element, and the best method. ``ns`` keeps
    only those row lengths; ``others`` are the extra columns (``numpy``, peers)."""
    cols = list(methods) + ["auto"] + list(others)
    head = ["regime", "n", "rows"] + (["k"] if sweep == "map" else []) + ["copy ns/elt"] + cols + ["best"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, recs in by_point(records).items():
        pt = dict(zip(POINT_KEYS, key))
        if pt["sweep"] != sweep or pt["dtype"] != dtype or (ns is not None and pt["n"] not in ns):
            continue
        any_rec = next(iter(recs.values()))
        copy_ns = any_rec["copy_seconds"] / (pt["n"] * pt["rows"]) * 1e9
        best = min(methods, key=lambda m: recs[m]["seconds"])
        cells = [pt["regime"], str(pt["n"]), str(pt["rows"])] + ([str(pt["support"])] if sweep == "map" else [])
        cells += [f"{copy_ns:.2f}"] + [_fmt(recs[c]["ratio"]) if c in recs else "-" for c in cols] + [best]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
