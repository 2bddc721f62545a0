"""The input contract of SPEC section 6, written once.

Converts the input, applies the dtype rules, moves the reduction axis last and flattens the
batch to (rows, n), checks ``out=``, and turns the kernels' per-row status codes into
exceptions that name the first offending row. Kernels know nothing of axes or dtypes.
"""

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .kernels import common

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Rows:
    """An input prepared for the row drivers.

    ``z2d`` is a C-contiguous (rows, n) array in the compute dtype (a view of the input
    when no conversion is needed, else one copy); ``batch_shape`` is the input's shape
    without ``axis``; ``dtype`` is the dtype results are returned in.
    """

    __slots__ = ("z2d", "shape", "axis", "batch_shape", "dtype", "name")

    def __init__(self, z, axis, name="z"):
        arr = np.asarray(z)
        compute, self.dtype = _dtypes(arr.dtype, name)
        self.name = name
        self.shape = arr.shape
        self.axis = normalize_axis_index(axis, arr.ndim) if arr.ndim else _no_axis(axis, name)
        n = arr.shape[self.axis]
        if n == 0:
            raise ValueError(
                f"{name} has an empty reduction axis (axis {self.axis} of shape {arr.shape} "
                f"has length 0); sparsemax needs at least one entry per row"
            )
        moved = np.moveaxis(arr, self.axis, -1)
        self.batch_shape = moved.shape[:-1]
        self.z2d = np.ascontiguousarray(moved, dtype=compute).reshape(-1, n)

    @property
    def n(self):
        return self.z2d.shape[1]

    def unflatten(self, a2d):
        """A (rows, n) result back to the input's shape and axis, in the result dtype."""
        a = a2d.reshape(self.batch_shape + (self.n,))
        a = np.moveaxis(a, -1, self.axis)
        return a if a.dtype == self.dtype else a.astype(self.dtype)

    def batch(self, a1d, dtype=None):
        """A per-row result (rows,) back to the batch shape."""
        a = a1d.reshape(self.batch_shape)
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)

    def row_label(self, r):
        """How the messages name row ``r`` of the flattened batch."""
        if len(self.batch_shape) == 0:
            return "the only row"
        idx = np.unravel_index(r, self.batch_shape)
        if len(idx) == 1:
            return f"row {int(idx[0])}"
        return "row (" + ", ".join(str(int(i)) for i in idx) + ")"

    def raise_for_status(self, status):
        """Raise for the first row whose status is not OK (nothing has been written yet)."""
        bad = np.flatnonzero(status)
        if bad.size == 0:
            return
        r = int(bad[0])
        where = f"{self.row_label(r)} (rows run along axis {self.axis}; {bad.size} bad row(s) in all)"
        code = int(status[r])
        if code == common.HAS_NAN:
            raise ValueError(f"{self.name} contains NaN in {where}")
        if code == common.HAS_POSINF:
            raise ValueError(f"{self.name} contains +inf in {where}; only -inf (a mask) is allowed")
        if code == common.ALL_NEGINF:
            raise ValueError(
                f"{self.name} has no finite entry in {where}: every entry is -inf, so the "
                f"row has no probability to give"
            )
        raise RuntimeError(f"internal error: unknown row status {code}")  # pragma: no cover

    def check_out(self, out):
        """Validate ``out=``: same shape as the input, a floating dtype, writable."""
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
        if out.shape != self.shape:
            raise ValueError(f"out has shape {out.shape}; it must have the input's shape {self.shape}")
        if out.dtype.kind != "f":
            raise TypeError(f"out has dtype {out.dtype}; it must have a floating dtype")
        if not out.flags.writeable:
            raise ValueError("out is read-only")

    def rows_of(self, out):
        """``out`` as a (rows, n) C-contiguous view in the compute dtype, or None when it
        is not one (then the result is computed aside and copied in)."""
        if out.dtype != self.z2d.dtype or np.may_share_memory(out, self.z2d):
            return None
        view = np.moveaxis(out, self.axis, -1)
        if not view.flags.c_contiguous:
            return None
        return view.reshape(self.z2d.shape)


def _dtypes(dt, name):
    """(compute dtype, result dtype) under SPEC section 6's rules (always native byte order)."""
    if dt.byteorder not in "=|":
        dt = dt.newbyteorder("=")
    if dt in _FLOATS:
        return dt, dt
    if dt == np.float16:
        return np.dtype(np.float32), dt
    if dt.kind in "biu":
        return np.dtype(np.float64), np.dtype(np.float64)
    if dt.kind == "f":
        raise TypeError(
            f"{name} has dtype {dt}, which sparsetools does not compute in; "
            f"convert it to float64 (or float32)"
        )
    raise TypeError(
        f"{name} has dtype {dt}; sparsemax needs real numbers "
        f"(float16, float32, float64, integer or bool)"
    )


def _no_axis(axis, name):
    # normalize_axis_index raises numpy.exceptions.AxisError with the standard message
    return normalize_axis_index(axis, 0, msg_prefix=f"{name} is 0-d")
