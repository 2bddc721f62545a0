"""sparsemax, alpha-entmax and the projections onto the simplex of radius r and the capped
simplex on a CUDA GPU with numba-cuda: the same names, arguments and input contract as the
CPU functions, for NumPy arrays (copied to the device and back) and for device arrays
(Numba device arrays, or anything with ``__cuda_array_interface__``: CuPy arrays, PyTorch
CUDA tensors), which are used in place and give Numba device arrays back (wrap them with
``cupy.asarray`` or ``torch.as_tensor``: no copy).

numba-cuda is needed only here (``pip install ".[cuda]"``), and is imported on first use;
``is_available()`` says whether a GPU (or the CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1``)
can run the kernels.

Contract (the CPU functions' input contract), with the GPU's particulars:

- NumPy input: every dtype and layout the CPU functions take (the CPU contract converts it).
  Device input: float32 or float64, C-contiguous (any shape, any ``axis``: rows are read in
  place through an (A, n, B) view; a non-contiguous device array raises ``ValueError``).
- Errors: each kernel writes a status per row; it is copied back (a synchronisation) and
  the first bad row raises the CPU's error. Nothing is written to ``out=`` before that
  check: with ``out=`` the result is computed aside and copied in once it is accepted.
- ``stream=``: a Numba stream (``numba.cuda.stream()``, or ``numba.cuda.external_stream(ptr)``
  for another library's stream); every copy and launch goes on it.
- ``method``: ``"michelot"`` (Michelot's steps from max - 1, at most as many as the CPU's
  ``auto`` makes, then bisection for a row they have not settled; exact finish), ``"sort"``
  (bitonic sort in shared memory; rows of at most 1024 entries) or ``"auto"``. ``auto`` is
  ``michelot`` with 32 threads per row up to n = 1024 and 256 above: the choice between the
  two methods still has to be measured on a GPU. A few long rows (see
  ``_launch.LONG_ROW``) are cut into chunks, a block each, with one launch per step. The
  loss has a ``michelot`` kernel only.
- Deterministic: no atomics; the same input gives the same bits on every run.
"""

from . import _launch
from ._launch import is_available

#: The GPU's sparsemax methods (``method="auto"`` is accepted as well).
METHODS = tuple(_launch.MAPS["sparsemax"])


def sparsemax(z, axis=-1, *, method="auto", out=None, stream=None):
    """``sparsetools.sparsemax`` on the GPU (see the module's notes for the contract)."""
    rows, res, _, _, on_device, stream, cuda = _launch.forward(z, axis, method, out, stream, True)
    return _launch.deliver(rows, res, on_device, out, stream, cuda)


def sparsemax_threshold(z, axis=-1, *, method="auto", stream=None):
    """``(tau, support_size)`` as ``sparsetools.sparsemax_threshold``: NumPy arrays of the
    batch shape (tau in the result dtype, the size int64), for any input."""
    rows, _, tau, ksz, _, stream, _ = _launch.forward(z, axis, method, None, stream, False)
    t = tau.copy_to_host(stream=stream)
    k = ksz.copy_to_host(stream=stream)
    stream.synchronize()
    return rows.batch(t, rows.dtype), rows.batch(k)


def sparsemax_jvp(p, v, axis=-1, *, out=None, stream=None):
    """``J v`` with J the Jacobian of sparsemax at the output ``p`` (as
    ``sparsetools.sparsemax_jvp``); J is symmetric, so this is also the VJP."""
    return _launch.jvp(p, v, axis, out, stream)


def sparsemax_vjp(p, g, axis=-1, *, out=None, stream=None):
    """``g^T J`` at the output ``p``: equal to :func:`sparsemax_jvp` (J is symmetric)."""
    return sparsemax_jvp(p, g, axis, out=out, stream=stream)


def sparsemax_loss(z, target, axis=-1, *, method="auto", stream=None):
    """``sparsetools.sparsemax_loss`` on the GPU: one loss per row, a NumPy array."""
    return _launch.loss(z, target, axis, method, None, stream, False)[0]


def sparsemax_loss_grad(z, target, axis=-1, *, method="auto", out=None, stream=None):
    """``sparsemax(z) - q``, as ``sparsetools.sparsemax_loss_grad``."""
    return _launch.loss(z, target, axis, method, out, stream, True)[1]


def sparsemax_loss_and_grad(z, target, axis=-1, *, method="auto", out=None, stream=None):
    """``(loss, grad)`` from one kernel, as ``sparsetools.sparsemax_loss_and_grad``: the
    losses as a NumPy array, the gradient like z (a device array for a device input)."""
    return _launch.loss(z, target, axis, method, out, stream, True)


#: The GPU's entmax methods (``method="auto"`` is accepted as well).
ENTMAX_METHODS = tuple(_launch.MAPS["entmax"])


def entmax(z, alpha=1.5, axis=-1, *, method="auto", out=None, stream=None):
    """``sparsetools.entmax`` on the GPU: alpha-entmax, alpha one number or one per row
    (checked on the host before anything runs). One method, ``"newton"``: Newton's method
    on the b-norm from the left end of the bracket, guarded by bisection for alpha > 2, to
    full precision (the support follows from tau)."""
    rows, res, _, _, on_device, stream, cuda = _launch.forward(z, axis, method, out, stream, True, "entmax", alpha)
    return _launch.deliver(rows, res, on_device, out, stream, cuda)


def entmax15(z, axis=-1, *, out=None, stream=None):
    """``entmax(z, 1.5)`` on the GPU."""
    return entmax(z, 1.5, axis, out=out, stream=stream)


def entmax_threshold(z, alpha=1.5, axis=-1, *, method="auto", stream=None):
    """``(tau, support_size)`` as ``sparsetools.entmax_threshold``, as NumPy arrays."""
    rows, _, tau, ksz, _, stream, _ = _launch.forward(z, axis, method, None, stream, False, "entmax", alpha)
    t = tau.copy_to_host(stream=stream)
    k = ksz.copy_to_host(stream=stream)
    stream.synchronize()
    return rows.batch(t, rows.dtype), rows.batch(k)


def entmax_jvp(p, v, alpha=1.5, axis=-1, *, out=None, stream=None):
    """``J v`` at the entmax output ``p`` (as ``sparsetools.entmax_jvp``); J is symmetric,
    so this is also the VJP."""
    return _launch.jvp(p, v, axis, out, stream, alpha=alpha)


def entmax_vjp(p, g, alpha=1.5, axis=-1, *, out=None, stream=None):
    """``g^T J`` at the entmax output ``p``: equal to :func:`entmax_jvp`."""
    return entmax_jvp(p, g, alpha, axis, out=out, stream=stream)


def entmax_loss(z, target, alpha=1.5, axis=-1, *, method="auto", stream=None):
    """``sparsetools.entmax_loss`` on the GPU: one loss per row, a NumPy array."""
    return _launch.loss(z, target, axis, method, None, stream, False, "entmax", alpha)[0]


def entmax_loss_grad(z, target, alpha=1.5, axis=-1, *, method="auto", out=None, stream=None):
    """``entmax(z, alpha) - q``, as ``sparsetools.entmax_loss_grad``."""
    return _launch.loss(z, target, axis, method, out, stream, True, "entmax", alpha)[1]


def entmax_loss_and_grad(z, target, alpha=1.5, axis=-1, *, method="auto", out=None, stream=None):
    """``(loss, grad)`` from one kernel, as ``sparsetools.entmax_loss_and_grad``."""
    return _launch.loss(z, target, axis, method, out, stream, True, "entmax", alpha)


__all__ = [
    "ENTMAX_METHODS",
    "METHODS",
    "entmax",
    "entmax15",
    "entmax_jvp",
    "entmax_loss",
    "entmax_loss_and_grad",
    "entmax_loss_grad",
    "entmax_threshold",
    "entmax_vjp",
    "is_available",
    "sparsemax",
    "sparsemax_jvp",
    "sparsemax_loss",
    "sparsemax_loss_and_grad",
    "sparsemax_loss_grad",
    "sparsemax_threshold",
    "sparsemax_vjp",
]


def project_simplex(z, radius=1.0, axis=-1, *, method="auto", out=None, stream=None):
    """``sparsetools.project_simplex`` on the GPU: the projection onto the simplex of
    radius r (one number or one per row, checked on the host before anything runs). One
    method, ``"michelot"``: Michelot's steps from max - r until the set stops changing."""
    from .._projections import _RADIUS, _per_row

    return _launch.project(z, axis, method, out, stream, "simplex",
                           lambda rows: (_per_row(radius, rows, "radius", _RADIUS),))


def project_capped_simplex(z, budget, upper=1.0, axis=-1, *, method="auto", out=None, stream=None):
    """``sparsetools.project_capped_simplex`` on the GPU: the projection onto
    {0 <= p <= u, sum p = b} (b and u one number or one per row, b <= n u, checked on the
    host). One method, ``"newton"``: the root of the current linear piece of
    sum clip(z - tau, 0, u), guarded by bisection, until it falls on its own piece."""
    from .._projections import _capped_checked

    return _launch.project(z, axis, method, out, stream, "capped_simplex",
                           lambda rows: _capped_checked(budget, upper, rows))
