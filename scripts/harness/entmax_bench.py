"""The alpha-entmax comparison: sparsetools' entmax methods against the entmax package's
``entmax15`` and ``entmax_bisect`` (PyTorch CPU), over row length, regime, alpha and dtype.

Every result is checked before it is timed: sparsetools' methods against each other (the
``sort`` method is the reference; the methods must agree to rounding) and each row's sum;
a peer's output is compared with the reference and recorded, and timed only when it is
within ``PEER_TOLERANCE`` (entmax_bisect stops after a fixed number of halvings and then
renormalises). Times are medians of rounds that also time ``np.copyto`` of the same array
(``bench.time_calls``); the peers are timed in rounds of their own, and their times are
reported scaled to the copy of ours.
"""

import numpy as np

from .bench import machine, make_rows, peer_versions, time_calls

#: alpha -> the entmax package's functions that compute that map
ALPHAS = (1.5, 1.3, 2.5)
#: Grids: row lengths (each on ``total // n`` rows, at least 2), regimes, dtypes.
GRIDS = {
    "full": dict(ns=(8, 128, 1024, 8192, 65536), regimes=("normal", "dense"),
                 dtypes=("float64", "float32"), alphas=ALPHAS, total=1 << 18, repeat=5, min_time=0.02),
    "quick": dict(ns=(32, 1024, 32768), regimes=("normal",), dtypes=("float64",), alphas=ALPHAS,
                  total=1 << 18, repeat=3, min_time=0.005),
    "tiny": dict(ns=(8, 200), regimes=("normal", "dense"), dtypes=("float64", "float32"), alphas=(1.5, 1.3),
                 total=400, repeat=1, min_time=0.0),
}
#: Largest difference from the reference a peer's output may have and still be timed.
PEER_TOLERANCE = {"float64": 1e-6, "float32": 1e-4}


def _peers(alpha):
    """``{name: make}`` of the entmax package's calls for this alpha (empty when it is not
    installed): ``make(z)`` converts once and returns the call."""
    try:
        import entmax
        import torch
    except ImportError:
        return {}

    def wrap(fn):
        def make(z):
            x = torch.from_numpy(z)

            def call():
                with torch.no_grad():
                    return fn(x).numpy()
            return call
        return make

    found = {"entmax_bisect": wrap(lambda x: entmax.entmax_bisect(x, alpha=alpha, dim=-1))}
    if alpha == 1.5:
        found["entmax15"] = wrap(lambda x: entmax.entmax15(x, dim=-1))
    return found


def run(grid="quick", use_peers=True, progress=None):
    """Time every point of ``grid`` (a name of ``GRIDS``); returns a dict with the grid,
    the machine, the peers' versions and one record per (point, competitor)."""
    import sparsetools

    g = GRIDS[grid]
    methods = sparsetools.ENTMAX_METHODS
    records = []
    points = [(a, d, reg, n) for a in g["alphas"] for d in g["dtypes"] for reg in g["regimes"] for n in g["ns"]]
    for i, (alpha, dtype, regime, n) in enumerate(points):
        rows = max(2, g["total"] // n)
        z = make_rows((rows, n), regime, np.dtype(dtype))
        ref = sparsetools.entmax(z.astype(np.float64), alpha, method="sort")
        eps = np.finfo(dtype).eps
        calls, errs, valid = {}, {}, {}
        for m in tuple(methods) + ("auto",):
            call = (lambda m: lambda: sparsetools.entmax(z, alpha, method=m))(m)
            p = call()
            err = float(np.abs(p - ref).max())
            off = float(np.abs(p.astype(np.float64).sum(-1) - 1).max())
            if not (err <= 64 * eps and off <= 4 * n * eps + 1e-12):
                raise AssertionError(f"entmax method {m!r} is off by {err} (sum off by {off}) at "
                                     f"alpha={alpha} {dtype} {regime} n={n}")
            calls[m], errs[m], valid[m] = call, err, True
        peer_calls = {}
        for name, make in (_peers(alpha) if use_peers else {}).items():
            call = make(z)
            err = float(np.abs(np.asarray(call(), np.float64) - ref).max())
            errs[name], valid[name] = err, err <= PEER_TOLERANCE[dtype]
            if valid[name]:
                peer_calls[name] = call
        t = time_calls(calls, z, repeat=g["repeat"], warmup=0, min_time=g["min_time"])
        # the peers in rounds of their own (PyTorch's OpenMP threads spin after a call and
        # slow the next one), each time then scaled to this point's copy by its own rounds'
        tp = time_calls(peer_calls, z, repeat=g["repeat"], warmup=0, min_time=g["min_time"]) if peer_calls else {}
        for name in errs:
            if name in calls:
                s = t[name]
            elif name in tp:
                s = tp[name] / tp["copy"] * t["copy"]
            else:
                s = float("nan")
            records.append(dict(alpha=alpha, dtype=dtype, regime=regime, n=n, rows=rows, competitor=name,
                                seconds=s, copy_seconds=t["copy"], ratio=s / t["copy"],
                                ns_per_element=s / z.size * 1e9, max_abs_diff=errs[name], valid=valid[name]))
        if progress:
            progress(i + 1, len(points), f"alpha {alpha} {dtype} {regime} n={n}")
    return dict(grid=g, grid_name=grid, machine=machine(), peers=peer_versions() if use_peers else {},
                methods=list(methods), records=records)


def markdown(results):
    """One table per (alpha, dtype, regime): per n, each competitor's time / copy, and the
    peers' time as a multiple of auto's."""
    recs = results["records"]
    names = results["methods"] + ["auto"]
    peers = sorted({r["competitor"] for r in recs} - set(names))
    versions = ", ".join(f"{k} {v}" for k, v in results["peers"].items()) or "none installed"
    out = ["# alpha-entmax comparison", "",
           f"Machine: {results['machine']}. Peers: {versions}.", "",
           "Each cell: median time / median time of `np.copyto` of the same array, timed in alternating",
           "rounds in the same run; the peers' columns are their time / auto's (a blank: not timed, its",
           f"output off the reference by more than {PEER_TOLERANCE}). `python scripts/compare_algorithms.py "
           f"--map entmax`."]
    keys = list(dict.fromkeys((r["alpha"], r["dtype"], r["regime"]) for r in recs))
    for alpha, dtype, regime in keys:
        sub = [r for r in recs if (r["alpha"], r["dtype"], r["regime"]) == (alpha, dtype, regime)]
        out += ["", f"## alpha = {alpha:g}, {dtype}, {regime} rows", "",
                "| n | rows | " + " | ".join(names) + " | " + " | ".join(f"{p} / auto" for p in peers) + " |",
                "|---" * (2 + len(names) + len(peers)) + "|"]
        for n in sorted({r["n"] for r in sub}):
            by = {r["competitor"]: r for r in sub if r["n"] == n}
            cells = [str(n), str(by["auto"]["rows"])] + [f"{by[m]['ratio']:.2f}" for m in names]
            for p in peers:
                r = by.get(p)
                cells.append(f"{r['seconds'] / by['auto']['seconds']:.0f}x" if r and r["valid"] else "")
            out.append("| " + " | ".join(cells) + " |")
    out += ["", summary(results)]
    return "\n".join(out) + "\n"


def summary(results):
    """The speed-up of auto over each peer (min and median over the points it was timed)."""
    recs = results["records"]
    auto = {(r["alpha"], r["dtype"], r["regime"], r["n"]): r["seconds"] for r in recs if r["competitor"] == "auto"}
    lines = []
    for peer in sorted({r["competitor"] for r in recs} - set(results["methods"]) - {"auto"}):
        s = [r["seconds"] / auto[(r["alpha"], r["dtype"], r["regime"], r["n"])]
             for r in recs if r["competitor"] == peer and r["valid"]]
        bad = sum(1 for r in recs if r["competitor"] == peer and not r["valid"])
        if s:
            lines.append(f"- auto over {peer}: {min(s):.1f}x to {max(s):.0f}x, median {np.median(s):.1f}x, at "
                         f"{len(s)} points" + (f" ({bad} more where its output was off the reference)" if bad else ""))
    return "\n".join(lines)
