"""Dask arrays in, dask arrays out.

Every public array function of sparsetools hands a ``dask.array.Array`` argument to
:func:`call`, which returns dask arrays built lazily from the NumPy function run chunk by
chunk:

- the reduction axis is gathered into one chunk (rechunked when it is split); every other
  axis keeps the chunks of the first array argument, and the other arguments are
  rechunked to match (a NumPy argument becomes a dask array of those chunks);
- what can be checked without the data is checked at once, as the NumPy function checks
  it: the axis, an empty axis, the dtypes, the shapes of the other arguments, ``method``,
  a scalar ``alpha`` and the composite's parameters (the function is run on a small
  sample of the right dtypes and shapes, which also gives the result dtypes);
- what needs the data (NaN, +inf, a row of -inf, a bad label, a target that is not a
  distribution, a bad per-row alpha) raises when the chunk is computed, with the row
  named by its index in the whole array (:data:`sparsetools._contract.CHUNK`);
- a function that returns two arrays (the threshold and the support size; a loss and its
  gradient) returns two dask arrays computed from one pass over each chunk.

dask is imported only when a dask array is passed: nobody has one before importing it.
"""

import inspect
import math
import sys
import threading

import numpy as np

from ._contract import CHUNK, ELEMENT, rows_shape

# the roles of array arguments: what a valid sample of each is, and how it is chunked
SCORES = "scores"  # rows along axis; sample 0
PROB = "prob"  # rows along axis, an output p; sample one-hot
VECTOR = "vector"  # rows along axis; sample 0
TARGET = "target"  # labels (batch shape) or a distribution (rows)
PARAM = "param"  # a number, or one per row broadcast from the batch shape

# the kinds of results
ROWS, BATCH, MATRICES = "rows", "batch", "matrices"

_Z, _ZT = {"z": SCORES}, {"z": SCORES, "target": TARGET}
_ZA, _ZTA = {"z": SCORES, "alpha": PARAM}, {"z": SCORES, "target": TARGET, "alpha": PARAM}

#: For each public function: the roles of its array arguments (the first one sets the
#: shape and the chunks) and the kinds of its results.
SPECS = {
    "sparsemax": (_Z, ROWS),
    "sparsemax_threshold": (_Z, (BATCH, BATCH)),
    "sparsemax_jacobian": (_Z, MATRICES),
    "sparsemax_jvp": ({"p": PROB, "v": VECTOR}, ROWS),
    "sparsemax_vjp": ({"p": PROB, "g": VECTOR}, ROWS),
    "sparsemax_loss": (_ZT, BATCH),
    "sparsemax_loss_grad": (_ZT, ROWS),
    "sparsemax_loss_and_grad": (_ZT, (BATCH, ROWS)),
    "softmax": (_Z, ROWS),
    "softmax_loss": (_ZT, BATCH),
    "softmax_loss_grad": (_ZT, ROWS),
    "softmax_loss_and_grad": (_ZT, (BATCH, ROWS)),
    "softmax_sigmoid": (_Z, ROWS),
    "softmax_sigmoid_vjp": ({"z": SCORES, "g": VECTOR}, ROWS),
    "softmax_sigmoid_jacobian": (_Z, MATRICES),
    "entmax": (_ZA, ROWS),
    "entmax_threshold": (_ZA, (BATCH, BATCH)),
    "entmax_jacobian": (_ZA, MATRICES),
    "entmax_jvp": ({"p": PROB, "v": VECTOR, "alpha": PARAM}, ROWS),
    "entmax_vjp": ({"p": PROB, "g": VECTOR, "alpha": PARAM}, ROWS),
    "entmax_dalpha": ({"p": PROB, "alpha": PARAM}, ROWS),
    "entmax_loss": (_ZTA, BATCH),
    "entmax_loss_grad": (_ZTA, ROWS),
    "entmax_loss_and_grad": (_ZTA, (BATCH, ROWS)),
    "project_simplex": ({"z": SCORES, "radius": PARAM}, ROWS),
    "project_l1_ball": ({"z": SCORES, "radius": PARAM}, ROWS),
    "project_sparse_simplex": ({"z": SCORES, "k": PARAM, "radius": PARAM}, ROWS),
    "project_simplex_jvp": ({"p": PROB, "v": VECTOR, "radius": PARAM}, ROWS),
    "project_simplex_vjp": ({"p": PROB, "g": VECTOR, "radius": PARAM}, ROWS),
    "project_l1_ball_jvp": ({"p": VECTOR, "v": VECTOR, "radius": PARAM}, ROWS),
    "project_l1_ball_vjp": ({"p": VECTOR, "g": VECTOR, "radius": PARAM}, ROWS),
    "project_sparse_simplex_jvp": ({"p": PROB, "v": VECTOR, "k": PARAM, "radius": PARAM}, ROWS),
    "project_sparse_simplex_vjp": ({"p": PROB, "g": VECTOR, "k": PARAM, "radius": PARAM}, ROWS),
    "project_capped_simplex": ({"z": SCORES, "budget": PARAM, "upper": PARAM}, ROWS),
    "project_capped_simplex_jvp": ({"p": PROB, "v": VECTOR, "budget": PARAM, "upper": PARAM}, ROWS),
    "project_capped_simplex_vjp": ({"p": PROB, "g": VECTOR, "budget": PARAM, "upper": PARAM}, ROWS),
}

_SIGNATURES = {}


def lazy(*xs):
    """Whether any of ``xs`` is a dask array (False at once while dask.array is not
    imported: nobody can hold a dask array before)."""
    da = sys.modules.get("dask.array")
    if da is None:
        return False
    array = da.Array
    for x in xs:
        if isinstance(x, array):
            return True
    return False


def call(fn, local_vars):
    """``fn`` (a public function) on its arguments ``local_vars`` (its ``locals()`` on
    entry, of which one or more arrays are dask arrays): its results as dask arrays."""
    import dask.array as da

    name = fn.__name__
    roles, kinds = SPECS[name]
    params = _SIGNATURES.get(name)
    if params is None:
        params = _SIGNATURES[name] = tuple(inspect.signature(fn).parameters)
    args = {k: local_vars[k] for k in params}
    if args.get("out") is not None:
        raise TypeError(f"{name}: out= cannot be used with a dask array (a dask array is never "
                        f"written in place): use the array it returns, or dask.array.store it into yours")
    single = isinstance(kinds, str)
    kinds = (kinds,) if single else kinds
    names = tuple(roles)
    lead_name = names[0]
    lead = _as_dask(args[lead_name], da)
    shape = lead.shape
    if any(isinstance(s, float) and math.isnan(s) for s in shape):
        raise ValueError(f"{lead_name} is a dask array of unknown shape {shape}: call "
                         f"{lead_name}.compute_chunk_sizes() first")
    ax, n, batch_shape = rows_shape(shape, args["axis"], lead_name)
    nd = len(shape)
    if lead.numblocks[ax] > 1:
        lead = lead.rechunk({ax: -1})
    chunks = lead.chunks
    batch_chunks = chunks[:ax] + chunks[ax + 1:]

    # the sample: every batch axis of length 1, a whole row (two entries for a Jacobian,
    # which is n x n)
    m = min(n, 2) if MATRICES in kinds else n
    sample_shape = (1,) * ax + (m,) + (1,) * (nd - 1 - ax)
    sample_batch = (1,) * (nd - 1)
    sample = dict(args)
    arrays, array_names, array_kinds = [], [], []
    for arg, role in roles.items():
        x = args[arg]
        if arg == lead_name:
            arrays.append(lead)
            kind = ROWS
        elif role == PARAM:
            if not lazy(x) and np.ndim(x) == 0:
                continue  # a number: passed to every chunk as it is, checked by the sample
            x = _as_dask(x, da)
            try:
                fits = np.broadcast_shapes(x.shape, batch_shape) == batch_shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(f"{arg} has shape {x.shape}; it must be one number or one per row, "
                                 f"broadcastable to {batch_shape} (the shape of {lead_name} without "
                                 f"axis {ax})")
            arrays.append(da.expand_dims(da.broadcast_to(x, batch_shape).rechunk(batch_chunks), ax))
            kind = BATCH
        else:
            x = _as_dask(x, da)
            if role == TARGET and x.shape == batch_shape:
                kind = BATCH  # class labels
                arrays.append(da.expand_dims(x.rechunk(batch_chunks), ax))
            elif x.shape == shape:
                kind = ROWS
                arrays.append(x.rechunk(chunks))
            elif role == TARGET:
                raise ValueError(f"target has shape {x.shape}; it must be integer class labels of shape "
                                 f"{batch_shape} (z's shape without axis {ax}) or a target distribution "
                                 f"of z's shape {shape}")
            else:
                raise ValueError(f"{arg} has shape {x.shape}; it must have the shape of {lead_name}, {shape}")
        array_names.append(arg)
        array_kinds.append(kind)
        sample[arg] = _sample(role, kind, x.dtype, sample_shape, sample_batch, ax, arg)
    result = fn(**sample)  # the checks that need no data, and the result dtypes
    result = (result,) if single else result

    consts = {k: v for k, v in args.items() if k not in array_names}
    starts = tuple(tuple(np.cumsum((0,) + c[:-1]).tolist()) for c in batch_chunks)
    spec = (fn, tuple(array_names), tuple(array_kinds), consts, ax, starts, batch_shape, kinds)
    joint = da.map_blocks(_chunk, *arrays, spec=spec, dtype=object, meta=np.empty((0,) * nd, object),
                          token=f"sparsetools-{name}")
    outs = []
    for i, (kind, r) in enumerate(zip(kinds, result)):
        meta = np.empty((0,) * np.ndim(r), r.dtype)
        if kind == ROWS:
            outs.append(da.map_blocks(_pick, joint, i, chunks=chunks, dtype=r.dtype,
                                      meta=meta, token=f"{name}-{i}"))
            continue
        one = chunks[:ax] + ((1,) * len(chunks[ax]),) + chunks[ax + 1:]
        if kind == BATCH:
            a = da.map_blocks(_pick, joint, i, chunks=one, dtype=r.dtype, meta=np.empty((0,) * nd, r.dtype),
                              token=f"{name}-{i}")
        else:  # MATRICES: (n, n) a row, after the batch axes
            a = da.map_blocks(_pick, joint, i, chunks=one + ((n,), (n,)), new_axis=[nd, nd + 1], dtype=r.dtype,
                              meta=np.empty((0,) * (nd + 2), r.dtype), token=f"{name}-{i}")
        outs.append(a.squeeze(axis=ax))
    return outs[0] if single else tuple(outs)


def _as_dask(x, da):
    return x if isinstance(x, da.Array) else da.asarray(np.asarray(x))


def _sample(role, kind, dtype, sample_shape, sample_batch, ax, name):
    """A small valid value of an argument of ``role``: what the function is run on to
    check, without the data, everything that does not depend on it."""
    if kind == BATCH:
        if role == PARAM:  # (a capped simplex's budget: tiny, so that any cap holds it)
            return np.full(sample_batch, 1e-300 if name == "budget" else 1.5).astype(dtype)
        return np.zeros(sample_batch, dtype)  # label 0
    if role in (PROB, TARGET):  # one-hot: an output p and a distribution in any dtype
        t = np.zeros(sample_shape, dtype)
        t[(0,) * len(sample_shape)] = 1
        return t
    return np.zeros(sample_shape, dtype)


def _chunk(*blocks, spec, block_id=None):
    """One chunk: the NumPy function on the chunk's blocks, with the chunk's place in the
    whole batch set for the messages. Returns a tuple of the results, a batch result with
    the reduction axis kept (length 1) so that every result has the chunk's block index."""
    fn, names, kinds, consts, ax, starts, whole, out_kinds = spec
    kw = dict(consts)
    for name, kind, b in zip(names, kinds, blocks):
        kw[name] = np.squeeze(b, axis=ax) if kind == BATCH else b
    batch_id = tuple(block_id[:ax]) + tuple(block_id[ax + 1:])
    origin = tuple(s[i] for s, i in zip(starts, batch_id))
    token = CHUNK.set((origin, whole))
    # off the main thread, a scheduler's threads (or a worker's) are the parallelism: a
    # kernel that started threads of its own beside them would only make them compete
    serial = threading.current_thread() is not threading.main_thread()
    if serial:
        import numba

        threads = numba.get_num_threads()
        numba.set_num_threads(1)
    try:
        res = fn(**kw)
    finally:
        CHUNK.reset(token)
        if serial:
            numba.set_num_threads(threads)
    res = (res,) if len(out_kinds) == 1 else res
    return tuple(r if k == ROWS else np.expand_dims(r, ax) for r, k in zip(res, out_kinds))


def _pick(joint, i):
    return joint[i]


def elementwise(fn, *args):
    """An element-wise function (``sparse_sigmoid``, the binary loss) of dask arrays,
    broadcast together: chunk by chunk, checked at once on a sample for the dtypes, and at
    compute time with the first bad entry named by its index in the whole array."""
    import dask.array as da

    arrays = [_as_dask(a, da) for a in args]
    sample = fn(*(np.zeros((1,) * a.ndim, a.dtype) for a in arrays))
    arrays = da.broadcast_arrays(*arrays)
    if len(arrays) > 1:
        arrays = list(da.core.unify_chunks(*[x for a in arrays for x in (a, tuple(range(a.ndim)))])[1])
    starts = tuple(tuple(np.cumsum((0,) + c[:-1]).tolist()) for c in arrays[0].chunks)
    return da.map_blocks(_elementwise_chunk, *arrays, fn=fn, starts=starts, dtype=sample.dtype,
                         meta=np.empty((0,) * arrays[0].ndim, sample.dtype), token=f"sparsetools-{fn.__name__}")


def _elementwise_chunk(*blocks, fn, starts, block_id=None):
    origin = tuple(s[i] for s, i in zip(starts, block_id))
    token = ELEMENT.set(origin)
    try:
        return fn(*blocks)
    finally:
        ELEMENT.reset(token)
