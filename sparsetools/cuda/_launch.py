"""The host side of the GPU functions: the GPU's method table, the kernels by block size,
device arrays and their (A, n, B) views, streams, launches, status checks and delivery.

A C-contiguous array whose reduction axis has length n is, without a copy, an (A, n, B)
array: A the product of the dimensions before the axis, B of those after it. Row r is
``z[r // B, :, r % B]``; for the last axis B = 1 and a block's threads read a row's
consecutive entries (coalesced). Every kernel takes such views.
"""

import importlib.util

import numpy as np

from .._contract import Rows, Target, pair, rows_shape, sum_tolerance


class GpuMethod:
    """One GPU threshold finder of a map: its forward kernel, its loss kernel (or None),
    the longest row it takes (or None), and what it does."""

    __slots__ = ("name", "forward", "loss", "max_n", "summary")

    def __init__(self, name, forward, loss, max_n, summary):
        self.name, self.forward, self.loss, self.max_n, self.summary = name, forward, loss, max_n, summary


#: The GPU's methods of each map, by name: the CPU registry's shape (``"auto"`` is
#: ``AUTO[map]``); kernel names are entries of ``_signatures.KERNELS``.
MAPS = {
    "sparsemax": {
        "michelot": GpuMethod("michelot", "forward_michelot", "loss_michelot", None,
                              "Michelot's steps from max - 1 (at most the CPU's cap), then bisection, "
                              "exact finish"),
        "sort": GpuMethod("sort", "forward_sort", None, 1024,
                          "bitonic sort in shared memory, then the scan of Held et al."),
    },
    "entmax": {
        "newton": GpuMethod("newton", "entmax_forward", "entmax_loss", None,
                            "Newton's method on the b-norm from the left end of the bracket, guarded by "
                            "bisection, to full precision"),
    },
    "simplex": {
        "michelot": GpuMethod("michelot", "simplex_forward", None, None,
                              "Michelot's steps from max - r until the set stops changing"),
    },
    "capped_simplex": {
        "newton": GpuMethod("newton", "capped_forward", None, None,
                            "the root of the current linear piece, guarded by bisection, until it falls "
                            "on its own piece"),
    },
}
AUTO = {"sparsemax": "michelot", "entmax": "newton", "simplex": "michelot", "capped_simplex": "newton"}

#: Threads per row: 32 (one warp) for rows up to ``SHORT_ROW`` entries, 256 above.
SHORT_ROW = 1024
#: Rows of at least ``LONG_ROW`` entries, in batches of fewer than ``LONG_MAX_ROWS`` rows
#: (too few for one block per row to fill a GPU), are cut into chunks of ``LONG_CHUNK``
#: entries with a block each, and take one launch per Michelot step (``sparsemax`` and
#: ``sparsemax_threshold``; the loss keeps one block per row). Unmeasured choices.
LONG_ROW = 65536
LONG_CHUNK = 8192
LONG_MAX_ROWS = 1024


_SIMULATOR_HINT = ("to run the kernels on the CPU with numba-cuda's simulator (slowly, for "
                   "testing), set NUMBA_ENABLE_CUDASIM=1 in the environment before Python starts")


def _numba_cuda_installed():
    # numba's own numba.cuda (deprecated, no longer maintained) is not what these kernels
    # are written for: numba-cuda, the NVIDIA package, provides its own numba.cuda
    return importlib.util.find_spec("numba_cuda") is not None


def is_available():
    """True when numba-cuda is installed and a GPU (or its CUDA simulator,
    ``NUMBA_ENABLE_CUDASIM=1``) can run the kernels."""
    if not _numba_cuda_installed():
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def _cuda():
    if not _numba_cuda_installed():
        raise ImportError(
            "sparsetools.cuda needs numba-cuda, which is not installed: "
            "pip install 'sparsetools[cuda]' (or pip install numba-cuda); then, without a GPU, "
            + _SIMULATOR_HINT
        )
    from numba import cuda

    if not cuda.is_available():
        raise RuntimeError(
            "sparsetools.cuda: numba-cuda is installed but finds no usable CUDA GPU (no GPU, "
            "or no CUDA driver; numba.cuda.detect() says more); " + _SIMULATOR_HINT
        )
    return cuda


def threads_for(n):
    """Threads per block (one block per row) for rows of ``n`` entries."""
    return 32 if n <= SHORT_ROW else 256


def resolve(method, n, map_="sparsemax", loss=False):
    """The ``GpuMethod`` that ``method`` (a name or ``"auto"``) runs on rows of ``n``
    entries, for the forward pass or (``loss``) the loss; ValueError otherwise."""
    table = MAPS[map_]
    entry = table.get(AUTO[map_] if method == "auto" else method)
    if entry is None:
        valid = ", ".join(repr(m) for m in ("auto",) + tuple(table))
        raise ValueError(f"unknown method {method!r} for the GPU; valid methods are {valid}")
    if loss and entry.loss is None:
        have = ", ".join(repr(m.name) for m in table.values() if m.loss is not None)
        raise ValueError(f"the GPU loss has no kernel for method {entry.name!r}; use 'auto' or one of {have}")
    if entry.max_n is not None and n > entry.max_n:
        raise ValueError(f"method {entry.name!r} takes rows of at most {entry.max_n} entries on the GPU "
                         f"({entry.summary}); these have {n}")
    return entry


_kernels = {}


def kernels(T):
    """Every kernel of ``_signatures.KERNELS`` for blocks of ``T`` threads (a power of
    two), by name, compiled on first use."""
    if T not in _kernels:
        from . import _entmax, _long_rows, _projections, _reduce, _rows
        from ._signatures import KERNELS

        red = _reduce.make(T)
        rows = _rows.make(T, red)
        built = (rows, _long_rows.make(T, red, rows), _entmax.make(T, red, rows), _projections.make(T, red, rows))
        found = {name: next((getattr(m, name) for m in built if hasattr(m, name)), None) for name in KERNELS}
        missing = [name for name, k in found.items() if k is None]
        if missing:
            raise RuntimeError(f"GPU kernels listed in _signatures.KERNELS but not built: {missing}")
        _kernels[T] = found
    return _kernels[T]


def _is_numba(x):
    # a Numba device array, the simulator's too (which has no __cuda_array_interface__)
    return hasattr(x, "copy_to_host") and hasattr(x, "is_c_contiguous")


def _is_device(x):
    """A Numba device array, or anything with the CUDA array interface (CuPy, torch)."""
    return _is_numba(x) or hasattr(x, "__cuda_array_interface__")


def _as_device(x, cuda):
    """A Numba device array over ``x``'s memory (no copy)."""
    return x if _is_numba(x) else cuda.as_cuda_array(x)


class _DeviceRows(Rows):
    """The contract's ``Rows`` for an array already on the device: shape, axis, batch and
    the messages, without touching the data. ``view`` is its (A, n, B) device view."""

    __slots__ = ("view", "_n")

    def __init__(self, darr, axis, name="z"):
        dt = np.dtype(darr.dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"{name} is a device array of dtype {dt}; on the device sparsetools takes "
                            f"float32 or float64 (convert it first, or pass a NumPy array)")
        self.name = name
        self.dtype = dt
        self.masked = False
        self.out = None  # a device out= is checked by _check_device_out
        self.shape = tuple(darr.shape)
        self.axis, n, self.batch_shape = rows_shape(self.shape, axis, name)
        if not darr.is_c_contiguous():
            raise ValueError(f"{name} is a non-contiguous device array; the GPU functions read device "
                             f"arrays in place and need them C-contiguous (make a contiguous copy)")
        self._n = n
        A = int(np.prod(self.shape[: self.axis], dtype=np.int64))
        B = int(np.prod(self.shape[self.axis + 1:], dtype=np.int64))
        self.view = darr.reshape(A, n, B)
        self.z2d = None

    @property
    def n(self):
        return self._n


def _prepare(z, axis, name, stream, cuda, out=None):
    """(rows, device (A, n, B) view, on_device); ``out`` is checked for either kind."""
    if _is_device(z):
        rows = _DeviceRows(_as_device(z, cuda), axis, name)
        if out is not None:
            _check_device_out(rows, out, cuda)
        return rows, rows.view, True
    rows = Rows(z, axis, name, out=out)
    return rows, cuda.to_device(rows.z2d.reshape(-1, rows.n, 1), stream=stream), False


def _stream(stream, cuda):
    """The stream to run on: ``None`` or 0 is the default stream, else a Numba stream."""
    if stream is None or (type(stream) is int and stream == 0):
        return cuda.default_stream()
    if not callable(getattr(stream, "synchronize", None)):
        raise TypeError(
            f"stream must be a Numba CUDA stream (numba.cuda.stream(), numba.cuda.default_stream(), "
            f"or numba.cuda.external_stream(ptr) for another library's), 0 or None, not "
            f"{type(stream).__name__}"
        )
    return stream


def _check_device_out(rows, out, cuda):
    """``out=`` for a device input, checked before anything is launched: a C-contiguous
    device array of the input's shape and dtype."""
    if not _is_device(out):
        raise TypeError(f"out must be a device array for a device input, not {type(out).__name__}")
    dout = _as_device(out, cuda)
    if tuple(dout.shape) != rows.shape or np.dtype(dout.dtype) != rows.dtype or not dout.is_c_contiguous():
        raise ValueError(f"out must be a C-contiguous device array of shape {rows.shape} and dtype "
                         f"{rows.dtype}; it has shape {tuple(dout.shape)} and dtype {np.dtype(dout.dtype)}")
    return dout


def _status_check(rows, status, stream, **kw):
    st = status.copy_to_host(stream=stream)
    stream.synchronize()
    rows.raise_for_status(st, **kw)


def deliver(rows, res, on_device, out, stream, cuda):
    """The result (an (A, n, B) device array) in the input's shape: a device array for a
    device input (copied into ``out`` if given), else a NumPy array (or ``out``)."""
    if on_device:
        res = res.reshape(*rows.shape)
        if out is None:
            return res
        dout = _check_device_out(rows, out, cuda)
        if res.size:  # (the simulator cannot copy an empty array)
            dout.copy_to_device(res, stream=stream)
            stream.synchronize()
        return out
    host = res.copy_to_host(stream=stream)
    stream.synchronize()
    return rows.deliver(host.reshape(-1, rows.n))


def _launch_rows(rows):
    return int(np.prod(rows.batch_shape, dtype=np.int64))


def _alpha_on_device(alpha, rows, stream, cuda):
    """alpha checked against the rows (``sparsetools._entmax._alpha``), on the device."""
    from .._entmax import _alpha

    return cuda.to_device(_alpha(alpha, rows), stream=stream)


def forward(z, axis, method, out, stream, write, map_="sparsemax", alpha=None):
    """The forward pass: ``(rows, result view, tau, support, on_device, stream, cuda)``;
    ``map_`` "entmax" takes ``alpha`` (checked before anything runs)."""
    cuda = _cuda()
    stream = _stream(stream, cuda)
    rows, view, on_device = _prepare(z, axis, "z", stream, cuda, out)
    entry = resolve(method, rows.n, map_)
    dalpha = _alpha_on_device(alpha, rows, stream, cuda) if map_ == "entmax" else None
    R = _launch_rows(rows)
    T = threads_for(rows.n)
    res = cuda.device_array(view.shape, dtype=view.dtype, stream=stream) if write else view
    tau = cuda.device_array(R, dtype=np.float64, stream=stream)
    ksz = cuda.device_array(R, dtype=np.int64, stream=stream)
    status = cuda.device_array(R, dtype=np.int8, stream=stream)
    kern = kernels(T)[entry.forward]
    if R and dalpha is not None:
        kern[R, T, stream](view, dalpha, res, tau, ksz, status, write)
    elif R and entry.forward == "forward_michelot" and rows.n >= LONG_ROW and R < LONG_MAX_ROWS:
        conv = _long_forward(view, res, tau, ksz, status, write, R, T, stream, cuda)
        c = conv.copy_to_host(stream=stream)
        stream.synchronize()
        if not c.all():  # a row Michelot's steps did not settle: bisection, one block per row
            kern[R, T, stream](view, res, tau, ksz, status, write)
    elif R:
        kern[R, T, stream](view, res, tau, ksz, status, write)
    _status_check(rows, status, stream)
    return rows, res, tau, ksz, on_device, stream, cuda


def project(z, axis, method, out, stream, map_, params_of):
    """A projection (``map_`` "simplex" or "capped_simplex"): its result, delivered as
    :func:`deliver` does. ``params_of(rows)`` gives the kernel's parameter arrays, checked
    on the host before anything runs."""
    cuda = _cuda()
    stream = _stream(stream, cuda)
    rows, view, on_device = _prepare(z, axis, "z", stream, cuda, out)
    entry = resolve(method, rows.n, map_)
    params = [cuda.to_device(p, stream=stream) for p in params_of(rows)]
    R = _launch_rows(rows)
    T = threads_for(rows.n)
    res = cuda.device_array(view.shape, dtype=view.dtype, stream=stream)
    tau = cuda.device_array(R, dtype=np.float64, stream=stream)
    ksz = cuda.device_array(R, dtype=np.int64, stream=stream)
    status = cuda.device_array(R, dtype=np.int8, stream=stream)
    if R:
        kernels(T)[entry.forward][R, T, stream](view, *params, res, tau, ksz, status, True)
    _status_check(rows, status, stream)
    return deliver(rows, res, on_device, out, stream, cuda)


def _long_forward(view, res, tau, ksz, status, write, R, T, stream, cuda):
    """The chunked path for a few long rows; returns the per-row converged flags."""
    from . import _long_rows, _rows

    n = view.shape[1]
    CH = LONG_CHUNK
    C = -(-n // CH)
    k = kernels(T)
    G = R * C
    pmax = cuda.device_array((R, C), np.float64, stream=stream)
    pcnt = cuda.device_array((R, C, 3), np.int64, stream=stream)
    PS = cuda.device_array((3, R, C), np.float64, stream=stream)
    PK = cuda.device_array((3, R, C), np.int64, stream=stream)
    scratch = cuda.device_array((R, C, _long_rows.GLOBAL_SLOT * T), np.float64, stream=stream)
    scount = cuda.device_array((R, C, T), np.int64, stream=stream)
    sover = cuda.device_array((R, C), np.int64, stream=stream)
    conv = cuda.device_array(R, np.int8, stream=stream)
    k["long_max"][G, T, stream](view, CH, pmax, pcnt)
    steps = _rows.MAX_STEPS + 2
    for i in range(steps):
        k["long_step"][G, T, stream](view, CH, i, pmax, pcnt, PS, PK, scratch, scount, sover)
    k["long_finish"][G, T, stream](view, res, CH, steps - 1, pmax, pcnt, PS, PK, tau, ksz, status, conv, write)
    return conv


def loss(z, target, axis, method, out, stream, write, map_="sparsemax", alpha=None):
    """The loss (a NumPy array of the batch shape) and, when ``write``, its gradient; the
    entmax loss for ``map_`` "entmax", with ``alpha``."""
    cuda = _cuda()
    stream = _stream(stream, cuda)
    rows, view, on_device = _prepare(z, axis, "z", stream, cuda, out)
    entry = resolve(method, rows.n, map_, loss=True)
    dalpha = _alpha_on_device(alpha, rows, stream, cuda) if map_ == "entmax" else None
    R = _launch_rows(rows)
    if on_device:
        if not _is_device(target):
            raise TypeError("target must be a device array when z is one")
        dt = _as_device(target, cuda)
        if tuple(dt.shape) == rows.batch_shape:
            kind = np.dtype(dt.dtype)
            if kind.kind not in "iu":
                raise TypeError(
                    f"target has shape {tuple(dt.shape)}, the shape of z without axis {rows.axis}, so it "
                    f"is read as class labels, but its dtype is {kind}; labels must be integers (a "
                    f"target distribution has the shape of z, {rows.shape})"
                )
            if kind != np.int64:
                raise TypeError(f"device labels must be int64, not {kind}: convert them on the device, "
                                f"or pass a NumPy array (any integer dtype)")
            if not dt.is_c_contiguous():
                raise ValueError("target is a non-contiguous device array of labels; the GPU functions "
                                 "read device arrays in place and need them C-contiguous")
            labels = dt.reshape(R)
            q = cuda.device_array((1, 1, 1), dtype=view.dtype, stream=stream)
            tol = 0.0
        elif tuple(dt.shape) == rows.shape:
            qrows = _DeviceRows(dt, axis, "target")
            q = qrows.view
            labels = cuda.device_array(0, dtype=np.int64, stream=stream)
            tol = sum_tolerance(qrows.dtype, rows.n)
        else:
            raise ValueError(f"target has shape {tuple(dt.shape)}; it must be int64 labels of shape "
                             f"{rows.batch_shape} or a distribution of z's shape {rows.shape}")
        host_target = None
    else:
        host_target = Target(target, rows)
        if host_target.labels is not None:
            labels = cuda.to_device(host_target.labels, stream=stream)
            q = cuda.device_array((1, 1, 1), dtype=view.dtype, stream=stream)
        else:
            labels = cuda.device_array(0, dtype=np.int64, stream=stream)
            q = cuda.to_device(host_target.q2d.reshape(-1, rows.n, 1), stream=stream)
        tol = host_target.tol
    T = threads_for(rows.n)
    loss = cuda.device_array(R, dtype=np.float64, stream=stream)
    grad = cuda.device_array(view.shape if write else (1, 1, 1), dtype=view.dtype, stream=stream)
    status = cuda.device_array(R, dtype=np.int8, stream=stream)
    if R and dalpha is not None:
        kernels(T)[entry.loss][R, T, stream](view, dalpha, labels, q, tol, loss, grad, status, write)
    elif R:
        kernels(T)[entry.loss][R, T, stream](view, labels, q, tol, loss, grad, status, write)
    st = status.copy_to_host(stream=stream)
    stream.synchronize()
    if st.any():
        if host_target is None:  # quote the bad label or sum from a host copy
            host_target = Target(_as_device(target, cuda).copy_to_host(), _host_like(rows))
        rows.raise_for_status(st, target=host_target)
    L = loss.copy_to_host(stream=stream)
    stream.synchronize()
    L = rows.batch(L, rows.dtype)
    if not write:
        return L, None
    return L, deliver(rows, grad, on_device, out, stream, cuda)


def _host_like(rows):
    # a Rows of the right shape and axis for reading a host copy of the target (errors only)
    return Rows(np.zeros(rows.shape, rows.dtype), rows.axis, rows.name)


def jvp(p, v, axis, out, stream, alpha=None):
    """``J v`` at the output ``p``, as the CPU's ``sparsemax_jvp`` (``entmax_jvp`` with
    ``alpha``)."""
    cuda = _cuda()
    stream = _stream(stream, cuda)
    if _is_device(p) != _is_device(v):
        raise TypeError("p and v must both be device arrays or both host arrays")
    if _is_device(p):
        rp = _DeviceRows(_as_device(p, cuda), axis, "p")
        rv = _DeviceRows(_as_device(v, cuda), axis, "v")
        if rp.shape != rv.shape or rp.dtype != rv.dtype:
            raise ValueError(f"v has shape {rv.shape} and dtype {rv.dtype}; it must have p's, {rp.shape} "
                             f"and {rp.dtype}")
        if out is not None:
            _check_device_out(rp, out, cuda)
        vp, vv, on_device = rp.view, rv.view, True
    else:
        rp, rv = pair(p, v, axis, ("p", "v"), out=out)
        vp = cuda.to_device(rp.z2d.reshape(-1, rp.n, 1), stream=stream)
        vv = cuda.to_device(rv.z2d.reshape(-1, rv.n, 1), stream=stream)
        on_device = False
    R = _launch_rows(rp)
    T = threads_for(rp.n)
    dalpha = None if alpha is None else _alpha_on_device(alpha, rp, stream, cuda)
    res = cuda.device_array(vp.shape, dtype=vp.dtype, stream=stream)
    status = cuda.device_array(R, dtype=np.int8, stream=stream)
    if R and dalpha is not None:
        kernels(T)["entmax_jvp"][R, T, stream](vp, vv, dalpha, res, status)
    elif R:
        kernels(T)["jvp"][R, T, stream](vp, vv, res, status)
    _status_check(rp, status, stream, other="v")
    return deliver(rp, res, on_device, out, stream, cuda)


