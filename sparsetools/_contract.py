"""The input contract of every public function, written once.

Converts the input, applies the dtype rules, moves the reduction axis last and flattens the
batch to (rows, n), checks ``out=``, and turns the kernels' per-row status codes into
exceptions that name the first offending row. Kernels know nothing of axes or dtypes.
"""

import contextvars
import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .kernels import status as codes

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: What +inf in an input should have been: scores may hold -inf (a mask), an output p not.
_POSINF_HINT = {"z": "only -inf (a mask) is allowed", "p": "it must be a sparsemax or entmax output"}
#: Set while one chunk of a larger (dask) array is computed: ``(origin, whole)``, the index
#: of the chunk's first row along each batch axis and the whole batch shape, so that the
#: messages name a row by its index in the whole array.
CHUNK = contextvars.ContextVar("sparsetools_chunk", default=None)
#: The same for the element-wise functions: the index of the chunk's first entry.
ELEMENT = contextvars.ContextVar("sparsetools_element", default=None)


class Rows:
    """An input prepared for the row drivers.

    ``z2d`` is a C-contiguous (rows, n) array in the compute dtype (a view of the input
    when no conversion is needed, else one copy); ``batch_shape`` is the input's shape
    without ``axis``; ``dtype`` is the dtype results are returned in. ``out``, the array
    the result goes to (or None), is checked here, before any work, so that no public
    function has to remember to; :meth:`deliver` writes into it.
    """

    __slots__ = ("z2d", "shape", "axis", "batch_shape", "dtype", "name", "masked", "out")

    def __init__(self, z, axis, name="z", dtypes=None, out=None):
        arr, mask = as_array(z, name)
        compute, self.dtype = _dtypes(arr.dtype, name) if dtypes is None else dtypes
        self.name = name
        self.shape = arr.shape
        self.axis, n, self.batch_shape = rows_shape(arr.shape, axis, name)
        self.out = out
        if out is not None:
            self.check_out(out)
        self.masked = mask is not None
        if self.masked:  # a masked score is -inf: probability 0, outside the support
            arr = arr.astype(compute)
            arr[mask] = -np.inf
        moved = arr if self.axis == arr.ndim - 1 else np.moveaxis(arr, self.axis, -1)
        self.z2d = _aligned(np.ascontiguousarray(moved, dtype=compute).reshape(-1, n))

    @property
    def n(self):
        return self.z2d.shape[1]

    def unflatten(self, a2d):
        """A (rows, n) result back to the input's shape and axis, in the result dtype."""
        a = a2d.reshape(self.shape) if self.axis == len(self.shape) - 1 else \
            np.moveaxis(a2d.reshape(self.batch_shape + (self.n,)), -1, self.axis)
        return a if a.dtype == self.dtype else a.astype(self.dtype)

    def batch(self, a1d, dtype=None):
        """A per-row result (rows,) back to the batch shape."""
        a = a1d.reshape(self.batch_shape)
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)

    def row_label(self, r):
        """How the messages name row ``r`` of the flattened batch (of the whole array, when
        these rows are one chunk of it)."""
        if len(self.batch_shape) == 0:
            return "the only row"
        idx = np.unravel_index(r, self.batch_shape)
        chunk = CHUNK.get()
        if chunk is not None:
            idx = tuple(int(i) + o for i, o in zip(idx, chunk[0]))
        if len(idx) == 1:
            return f"row {int(idx[0])}"
        return "row (" + ", ".join(str(int(i)) for i in idx) + ")"

    def raise_for_status(self, status, other="target", target=None):
        """Raise for the first row whose status is not OK (nothing has been written yet).

        ``other`` names the second input (codes about it); ``target`` is the ``Target`` of
        a loss, used to quote the offending label or sum."""
        bad = np.flatnonzero(status)
        if bad.size == 0:
            return
        r = int(bad[0])
        where = f"{self.row_label(r)} (rows run along axis {self.axis}; {bad.size} bad row(s) {in_all()})"
        code = int(status[r])
        exc, message = codes.STATUS_MESSAGES[code]
        fields = dict(name=self.name, other=other, where=where, n=self.n, axis=self.axis,
                      neginf="-inf or masked" if self.masked else "-inf",
                      posinf_hint=_POSINF_HINT.get(self.name, _POSINF_HINT["z"]))
        if code == codes.BAD_LABEL:
            fields["label"] = int(target.original.reshape(-1)[r])
        elif code == codes.TARGET_SUM:
            fields["total"] = math.fsum(target.q2d[r].tolist())  # exact, then rounded once
            fields["tol"] = target.tol
        raise exc(message.format(**fields))

    def run(self, driver, inputs, outputs, params=(), code=None, **fields):
        """Run ``driver`` on these rows, check its status, and return its outputs.

        The driver is called as ``driver(*inputs, *outputs, status, *params)``, with
        ``code`` as its compile-time literal when given. ``outputs`` are arrays, or specs
        of fresh ones: ``"rows"`` (like ``z2d``), ``"matrices"`` ((rows, n, n) in its
        dtype), ``"float64"`` and ``"int64"`` (one per row), ``"none"`` (an empty
        (0, 0) array of ``z2d``'s type, for an output a flag says not to write). The first
        bad row raises (``raise_for_status`` with ``fields``) before anything reaches
        ``out=``. Returns the outputs, in order."""
        z2d = self.z2d
        arrays = [spec if type(spec) is np.ndarray else _allocate(spec, z2d) for spec in outputs]
        status = np.empty(z2d.shape[0], np.int8)
        driver(*inputs, *arrays, status, *params, literal=code)
        if np.count_nonzero(status):  # (a fifth of status.any()'s cost)
            self.raise_for_status(status, **fields)
        return arrays

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

    def deliver(self, res2d):
        """Return the (rows, n) result ``res2d`` in the input's shape, or copy it into
        ``out`` (checked when the rows were made) and return ``out``."""
        res = self.unflatten(res2d)
        if self.out is None:
            return res
        np.copyto(self.out, res, casting="same_kind")
        return self.out

    def deliver_matrices(self, res3d):
        """A (rows, n, n) result (a Jacobian per row) as ``batch_shape + (n, n)`` in the
        result dtype: the two trailing axes are (output entry i, input entry j), whatever
        the rows' axis was."""
        a = res3d.reshape(self.batch_shape + res3d.shape[1:])
        return a if a.dtype == self.dtype else a.astype(self.dtype)

    def rows_of(self, out):
        """``out`` as a (rows, n) C-contiguous view in the compute dtype, or None when it
        is not one (then the result is computed aside and copied in)."""
        if out.dtype != self.z2d.dtype or np.may_share_memory(out, self.z2d):
            return None
        view = np.moveaxis(out, self.axis, -1)
        if not (view.flags.c_contiguous and view.flags.aligned):
            return None
        return view.reshape(self.z2d.shape)


def element_index(idx):
    """How the messages of the element-wise functions name the entry ``idx`` (of the whole
    array, when it is one chunk of a larger one)."""
    origin = ELEMENT.get()
    if origin is not None:
        idx = tuple(int(i) + o for i, o in zip(idx, origin))
    return tuple(int(i) for i in idx)


def per_row(a, rows, name):
    """The float64 array ``a`` as one value (0-d) or one per row of ``rows`` (broadcast from
    the batch shape), flattened; ValueError naming the shapes otherwise."""
    if a.ndim == 0:
        return a.reshape(1)
    try:
        return np.ascontiguousarray(np.broadcast_to(a, rows.batch_shape)).reshape(-1)
    except ValueError:
        raise ValueError(f"{name} has shape {a.shape}; it must be one number or one per row, "
                         f"broadcastable to {rows.batch_shape} (the shape of {rows.name} "
                         f"without axis {rows.axis})") from None


def in_all():
    """How a message says where its count of bad rows was taken."""
    return "in all" if CHUNK.get() is None else "in its chunk"


def _aligned(a):
    """``a``, or an aligned copy of it: the drivers are dispatched on a type key that leaves
    alignment out (``_jit._type_key``), so every array they get is aligned."""
    return a if a.flags.aligned else a.copy()


_PER_ROW = {"float64": np.dtype(np.float64), "int64": np.dtype(np.int64)}


def _allocate(spec, z2d):
    if type(spec) is not str:
        return spec  # an array the caller made
    if spec == "rows":
        return np.empty_like(z2d)
    if spec == "none":
        return np.empty((0, 0), z2d.dtype)  # the same Numba type as a (rows, n) result
    if spec == "matrices":
        return np.empty(z2d.shape + z2d.shape[1:], z2d.dtype)
    return np.empty(z2d.shape[0], _PER_ROW[spec])  # "float64", "int64": one per row


def pair(a, b, axis, names, out=None):
    """Two inputs of the same shape (``p`` and ``v``, ``z`` and ``g``) as ``Rows`` in one
    compute dtype: the promotion of their own compute dtypes; results are returned in the
    promotion of their result dtypes, into ``out`` (the first one's) if given."""
    masked_a = a
    (a, mask), b = as_array(a, names[0]), as_array(b, names[1])[0]
    ca, ra = _dtypes(a.dtype, names[0])
    cb, rb = _dtypes(b.dtype, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[1]} has shape {b.shape}; it must have the shape of {names[0]}, {a.shape}"
        )
    dtypes = (np.promote_types(ca, cb), np.promote_types(ra, rb))
    first = Rows(a if mask is None else masked_a, axis, names[0], dtypes, out=out)
    return first, Rows(b, axis, names[1], dtypes)


class Target:
    """The ``target`` of a loss, read against the scores' ``Rows``.

    Integer labels have the shape of z without ``axis``: ``labels`` is then an int64
    (rows,) array. A target distribution has the shape of z: ``q2d`` is then its
    (rows, n) rows in float64 or float32, and ``tol`` the allowed distance of each row's
    (accurately computed) sum from 1 (:func:`sum_tolerance`), which covers a distribution
    normalised in the target's own dtype.
    """

    __slots__ = ("original", "labels", "q2d", "tol")

    def __init__(self, target, rows):
        t = as_array(target, "target")[0]
        self.original = t
        self.labels = self.q2d = None
        self.tol = 0.0
        if t.shape == rows.batch_shape:
            if t.dtype.kind not in "iu":
                raise TypeError(
                    f"target has shape {t.shape}, the shape of z without axis {rows.axis}, so "
                    f"it is read as class labels, but its dtype is {t.dtype}; labels must be "
                    f"integers (a target distribution has the shape of z, {rows.shape})"
                )
            self.labels = _aligned(np.ascontiguousarray(t, dtype=np.int64).reshape(-1))
            if t.dtype.kind == "u":  # uint64 labels past int64's range must stay out of range
                self.labels[t.reshape(-1) > np.iinfo(np.int64).max] = -1
            return
        if t.shape == rows.shape:
            compute, _ = _dtypes(t.dtype, "target")
            self.tol = sum_tolerance(t.dtype, rows.n)
            moved = np.moveaxis(t, rows.axis, -1)
            self.q2d = _aligned(np.ascontiguousarray(moved, dtype=compute).reshape(-1, rows.n))
            return
        raise ValueError(
            f"target has shape {t.shape}; it must be integer class labels of shape "
            f"{rows.batch_shape} (z's shape without axis {rows.axis}) or a target "
            f"distribution of z's shape {rows.shape}"
        )


def as_array(x, name):
    """``(array, mask)``: ``x`` as an ndarray, and for the scores ``z`` given as a
    ``numpy.ma.MaskedArray`` with masked entries, the boolean mask (else None); its masked
    entries are then read as -inf. Any other input with masked entries is an error: a
    masked target, label, output ``p`` or vector has no value the functions could use."""
    if not isinstance(x, np.ma.MaskedArray):
        return np.asarray(x), None
    mask = np.ma.getmaskarray(x)
    data = np.asarray(np.ma.getdata(x))
    if not mask.any():
        return data, None
    if name != "z":
        raise ValueError(
            f"{name} is a masked array with {int(mask.sum())} masked entries; only the scores "
            f"z may be masked (a masked score means -inf): fill {name}'s masked entries "
            f"(e.g. {name}.filled(0)) or drop them"
        )
    return data, mask


def rows_shape(shape, axis, name):
    """``(axis, n, batch_shape)`` of rows along ``axis`` of an array of ``shape``; raises
    the contract's errors for an axis out of range (also of a 0-d array) or an empty axis."""
    try:
        axis = normalize_axis_index(axis, len(shape)) if len(shape) else _no_axis(axis, name)
    except OverflowError:  # an int past the C long range is out of range too
        raise np.exceptions.AxisError(
            f"axis {axis} is out of bounds for {name}, an array of dimension {len(shape)}"
        ) from None
    except TypeError:
        raise TypeError(f"axis must be an integer, not {type(axis).__name__}") from None
    n = shape[axis]
    if n == 0:
        raise ValueError(
            f"{name} has an empty reduction axis (axis {axis} of shape {tuple(shape)} "
            f"has length 0); sparsemax needs at least one entry per row"
        )
    return axis, n, tuple(shape[:axis]) + tuple(shape[axis + 1:])


def sum_tolerance(dtype, n):
    """How far from 1 the sum of a target distribution's row of ``n`` entries may be.

    A row is accepted when its sum is within ``(2 (sqrt(n) + 2) + 13 + log2(n) / 2) eps``
    of 1: its running float64 sum, or where that fails, its accurate (compensated) sum,
    the exact sum to about 2 float64 eps. eps is the target dtype's
    (float64's for integers and bools). The first part is the rounding a distribution
    normalised in its own dtype carries (q = y / y.sum(): one rounding per entry and those
    of the sum); the second bounds the error of NumPy's pairwise ``np.sum`` of n
    non-negative terms (at most 25 + ceil(log2(n / 128)) roundings deep, eps / 2 each), so
    every row that ``np.sum`` puts within 2 (sqrt(n) + 2) eps of 1 is accepted, whatever
    rounding ``np.sum`` itself made. (The running sum decides only for rows it accepts, so
    a row whose exact sum is off by a little more than the tolerance, by at most the
    running sum's own rounding, n eps / 2, may pass too: a row that is not a distribution
    at all, such as an unnormalised 0/1 label row, never does.)
    """
    eps = np.finfo(dtype if np.dtype(dtype).kind == "f" else np.float64).eps
    return float((2.0 * (np.sqrt(n) + 2.0) + 13.0 + 0.5 * np.log2(max(n, 1))) * eps)


def _dtypes(dt, name):
    """(compute dtype, result dtype): float32 and float64 in their own precision, float16
    computed in float32 and returned as float16, integers and bools in float64; always in
    native byte order."""
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
