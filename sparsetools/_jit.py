"""The one place that decides how sparsetools compiles with Numba.

Every kernel is compiled with the same options: cached on disk (a second process loads the
machine code instead of compiling it), ``nogil`` so callers may use threads, NumPy's error
model (a float division by zero gives inf, never a Python exception inside a kernel), and no
global fastmath (fastmath would let LLVM assume that NaN and inf never occur, which breaks
the -inf masking and the NaN detection that the kernels do in their own pass); only FMA
contraction and reassociation may be asked for, function by function.

Compilation is lazy: nothing is compiled at import; a (driver, method, dtype) triple is
compiled, or loaded from the on-disk cache, the first time it is called.

Where Numba finds nowhere to write its cache (a read-only install with a read-only home and
no ``NUMBA_CACHE_DIR``), the kernels are compiled without one (``CACHE`` is then False):
everything works, and each new process compiles what it calls. With ``NUMBA_DISABLE_JIT=1``
every kernel runs as plain Python (slowly, for debugging), with the same results to
rounding (compiled loops sum in vector lanes and fuse multiply-adds) and, as compiled, no
floating-point warnings (``_quiet``)."""

import functools
import threading
import types as pytypes

import numba
import numpy as np
from numba.core import config, types

from . import _parallel

_OPTIONS = dict(nogil=True, error_model="numpy")
#: Whether ``DISABLE_JIT`` is set: kernels then run as Python functions.
DISABLE_JIT = bool(config.DISABLE_JIT)


def _cache_works():
    """Whether Numba can cache a function of this package (it raises RuntimeError "no
    locator available" where neither the package folder nor the user's cache folder can
    be written)."""
    if DISABLE_JIT:
        return False

    def probe():  # pragma: no cover - never called, only decorated
        return 0

    try:
        numba.njit(cache=True)(probe)
    except RuntimeError:
        return False
    return True


#: Whether compiled kernels are cached on disk.
CACHE = _cache_works()
#: Literals from this one on select kernels registered at run time: the drivers compiled
#: for them are never cached on disk (Numba cannot tell when such a kernel changes).
UNCACHED_FROM = 1 << 30


def _options(parallel=False, contract=False, reassoc=False, inline=False):
    options = dict(_OPTIONS, cache=CACHE, parallel=parallel)
    flags = {"contract"} if contract else set()
    if reassoc:
        flags.add("reassoc")
    if flags:
        options["fastmath"] = flags
    if inline:
        options["inline"] = "always"
    return options


def jit(fn=None, *, contract=False, reassoc=False, inline=False):
    """``numba.njit`` with the project's options, for row kernels and their helpers.

    Two fast-math flags may be asked for, function by function, because neither assumes
    anything about NaN or inf: ``contract=True`` lets LLVM fuse a multiply and an add into
    one FMA (which rounds once instead of twice), ``reassoc=True`` lets it reorder
    additions, so that a sum vectorises (only for pure sums: it could also fold
    ``x * 1e300 * 1e300`` into ``x * inf``). ``inline=True`` inlines the function into its
    callers in Numba's IR, so that a small elementary function does not stop the caller's
    loop from vectorising.
    """
    options = _options(contract=contract, reassoc=reassoc, inline=inline)
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


def intrinsic(python_impl):
    """``numba.extending.intrinsic`` that also runs without the JIT: the decorated
    intrinsic is used in compiled code, ``python_impl`` where ``NUMBA_DISABLE_JIT`` is set."""

    def wrap(fn):
        if DISABLE_JIT:
            return python_impl
        from numba.extending import intrinsic as _intrinsic

        return _intrinsic(fn)

    return wrap


def _py_row_of(a, r):
    return a[r]


@intrinsic(_py_row_of)
def row_of(typingctx, a, r):
    """``a[r]`` for an array of two or more dimensions, as a view that borrows ``a``'s
    memory instead of holding a reference to it (no meminfo, so no reference count).

    Numba's own ``a[r]`` increments and decrements the array's reference count, atomically,
    for every view it makes; a driver makes two to four per row. A /tmp probe of the
    sparsemax JVP driver on one thread, 65536x16 float64: 40 ns a row with ``p[r]``,
    9.5 with this; rows of 128, 61 against 48. The view must not outlive ``a``, which a
    row kernel's never does. Its type is that of Numba's ``a[r]``: layout C for a C array,
    A otherwise, the same dtype and flags."""
    if not (isinstance(a, types.Array) and a.ndim >= 2 and isinstance(r, types.Integer)):
        return None
    view = a.copy(ndim=a.ndim - 1, layout="C" if a.layout == "C" else "A")

    def codegen(context, builder, signature, args):
        from numba.core import cgutils

        aty, rty = signature.args
        arr = context.make_array(aty)(context, builder, value=args[0])
        r = context.cast(builder, args[1], rty, types.intp)
        shape = cgutils.unpack_tuple(builder, arr.shape, aty.ndim)
        strides = cgutils.unpack_tuple(builder, arr.strides, aty.ndim)
        out = context.make_array(signature.return_type)(context, builder)
        context.populate_array(out, data=cgutils.pointer_add(builder, arr.data, builder.mul(r, strides[0])),
                               shape=cgutils.pack_array(builder, shape[1:]),
                               strides=cgutils.pack_array(builder, strides[1:]),
                               itemsize=arr.itemsize, meminfo=None, parent=None)
        return out._getvalue()

    return view(a, r), codegen


def _py_keep_alive(*arrays):
    return None


@intrinsic(_py_keep_alive)
def keep_alive(typingctx, a):
    """A use of ``a`` that emits no code. Numba frees a local array after its last use, and
    a view from ``row_of`` does not hold it: a driver that passes ``row_of`` views of its
    scratch to the calls in its row loop names the scratch here, after the loop, so that
    it lives until then."""
    if not isinstance(a, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return types.none(a), codegen


def _row_of_aliases(lhs, args, alias_map, arg_aliases):
    """Tell Numba's alias analysis that ``row_of(a, r)`` is a view of ``a``. Without it
    the view counts as a fresh array, and the dead-code pass that follows an inlined
    overload (or a parfor) drops a store into it that nothing in the function reads back
    (the softmax loss's ``g[label] -= 1`` was lost that way)."""
    from numba.core.ir_utils import _add_alias

    _add_alias(lhs, args[0].name, alias_map, arg_aliases)


if not DISABLE_JIT:
    from numba.core import ir_utils as _ir_utils

    _ir_utils.alias_func_extensions[("row_of", __name__)] = _row_of_aliases


class Driver:
    """A driver over the rows of a (rows, n) array, run in parallel or serially.

    The decorated function is the work of one chunk of rows: ``fn(lo, hi, *args)`` does
    the rows ``range(lo, hi)`` of its first argument. It is compiled once per signature
    (``serial``), and ``parallel`` is a thin ``prange`` loop that splits the rows into
    ``nchunks`` contiguous chunks (four per thread, at most one per row) and calls it on
    each; a call picks one (``_parallel.claim``: serial in a forked child of a GNU OpenMP
    process, with one thread, or while another workqueue region runs). Call it as
    ``driver(*args)``; ``literal=`` passes a last argument as a compile-time literal (see
    :meth:`__call__`).

    The chunk function is compiled once for both ways: compiling the whole row loop
    twice, as a parallel function and as a serial twin, with the parallel compiler's
    passes run over every inlined row kernel, took about half as long again. The
    parallel loop is generated from the chunk function's parameter
    names (Numba's ``prange`` needs a function of its own) and cached on disk under
    ``qualname + "_parallel_"`` and a hash of its text. Each chunk allocates its scratch once.
    """

    def __init__(self, fn):
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self.serial, self.parallel = _compile_driver(fn, CACHE)
        self._uncached = None

    def uncached(self):
        """``(parallel, serial)`` twins that are never cached on disk, for the literals of
        kernels registered at run time (``UNCACHED_FROM`` on), compiled on first use."""
        if self._uncached is None:
            serial, parallel = _compile_driver(_twin(self.__wrapped__, "_uncached"), False)
            self._uncached = (parallel, serial)
        return self._uncached

    def __call__(self, *args, literal=None):
        """Run the driver on ``args``: serially as ``fn(0, rows, *args)``, or in parallel.

        ``literal``: an int passed as the driver's last argument as a compile-time literal,
        the registry code of the map and method whose row pieces the driver inlines; only
        the called (driver, code, dtype) is compiled."""
        threads, lock = (0, None) if _small(args[0]) else _parallel.claim()
        if literal is not None and literal >= UNCACHED_FROM:
            parallel, serial = self.uncached()
        else:
            parallel, serial = self.parallel, self.serial
        rows = args[0].shape[0]
        if threads:
            dispatcher, head = parallel, (max(1, min(rows, 4 * threads)),)
        else:
            dispatcher, head = serial, (0, rows)
        try:
            if literal is None:
                return dispatcher(*head, *args)
            return specialize(dispatcher, head + args, literal)(*head, *args, literal)
        finally:
            if lock is not None:
                lock.release()


def _compile_driver(fn, cache):
    """``(serial, parallel)`` dispatchers of the chunk function ``fn(lo, hi, *args)``: the
    function itself, and ``parallel(nchunks, *args)``, a ``prange`` over the chunks that
    calls it. The parallel loop's source is generated with ``fn``'s parameter names and
    compiled under the file of ``fn``'s module, so that Numba can cache it there."""
    import hashlib
    import inspect
    import sys

    names = list(inspect.signature(fn).parameters)
    if names[:2] != ["lo", "hi"] or len(names) < 3:
        raise TypeError(f"a driver takes (lo, hi, rows_array, ...), not {tuple(names)}")
    args = ", ".join(names[2:])
    body = (f"(nchunks, {args}):\n"
            f"    rows = {names[2]}.shape[0]\n"
            f"    nchunks = min(nchunks, rows)\n"
            f"    for c in prange(nchunks):\n"
            f"        _chunk(c * rows // nchunks, (c + 1) * rows // nchunks, {args})\n")
    # the name carries a hash of the loop's text: Numba's disk cache knows a function by
    # its name and its file's time stamp, and a change of this text in this file alone
    # would otherwise load the loop cached before it
    name = f"{fn.__name__}_parallel_{hashlib.sha1(body.encode()).hexdigest()[:8]}"
    src = f"def {name}{body}"
    opts = dict(_options(), cache=cache)
    serial = numba.njit(**opts)(fn)
    scope = {"prange": numba.prange, "_chunk": serial}
    filename = getattr(sys.modules.get(fn.__module__), "__file__", None) or "<driver>"
    exec(compile(src, filename, "exec"), scope)
    loop = scope[name]
    loop.__module__ = fn.__module__
    loop.__qualname__ = fn.__qualname__[: -len(fn.__name__)] + name
    loop.__doc__ = f"The parallel loop over the chunks of ``{fn.__qualname__}``."
    parallel = numba.njit(**dict(_options(parallel=True), cache=cache))(loop)
    if DISABLE_JIT:
        return _quiet(serial), _quiet(parallel)
    return serial, parallel


def _quiet(fn):
    """``fn`` run with NumPy's floating-point warnings off, for plain Python kernels: the
    compiled ones (``error_model="numpy"``) give inf and NaN silently where NumPy scalars
    warn on an overflow, a division by zero or an invalid operation, and some kernels
    compute such values on purpose (a support indicator from an overflowing product)."""

    @functools.wraps(fn)
    def run(*args):
        with np.errstate(all="ignore"):
            return fn(*args)

    return run


#: Work below which a call runs serially: ``rows * (n + 44) < SMALL_WORK``, an estimate of
#: a row's cost (a fixed part worth 44 entries, then one per entry) against the cost of
#: starting a parallel region. Measured on 2 cores with the sparsemax driver (serial /
#: parallel, microseconds): 32x10 2.8 / 3.0, 64x10 5.4 / 4.1, 8x128 2.5 / 3.2,
#: 16x128 4.5 / 4.0, 1x1024 1.4 / 2.8, 2x1024 2.4 / 2.7, 4x1024 4.3 / 3.9: a parallel region
#: costs about 2 us to start, so rows worth less than about 3 us of work run serially.
#: Below it a call also never waits for a thread another process has descheduled.
SMALL_WORK = 2000


def _small(z):
    shape = z.shape
    return len(shape) < 2 or shape[0] * (shape[-1] + 44) < SMALL_WORK


def _twin(fn, suffix):
    """A copy of the Python function ``fn`` under the qualified name ``qualname + suffix``,
    so that Numba caches it apart from ``fn``."""
    twin = pytypes.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix,
                                fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + suffix
    twin.__module__ = fn.__module__
    twin.__doc__ = fn.__doc__
    return twin


#: Decorator: a driver function as a :class:`Driver` (parallel and serial).
driver = Driver


_specialized = {}
_lock = threading.Lock()


def specialize(dispatcher, args, literal):
    """Return the compiled entry point of ``dispatcher`` for ``args`` plus a literal int.

    The drivers take the method as their last argument and select the row kernel at compile
    time from its literal value, so only the method that is called gets compiled. Numba's
    ``literally`` would do the same but re-runs part of its compiler on every call (about
    6 ms); compiling the literal signature once and calling its entry point costs about
    2 us per call. The compiled entry points are kept under a cheap key of the arguments'
    types (:func:`_type_key`); the signature they are compiled for is built from the
    arrays' own Numba types, so an entry point receives exactly the types it was compiled for.
    Without the JIT, the Python function itself.
    """
    if DISABLE_JIT:
        return dispatcher
    key = (dispatcher, literal, *map(_fingerprint, args))
    entry = _specialized.get(key)
    if entry is None:
        with _lock:
            entry = _specialized.get(key)
            if entry is None:
                sig = tuple(numba.typeof(a) for a in args) + (types.literal(literal),)
                dispatcher.compile(sig)
                entry = dispatcher.overloads[sig].entry_point
                _specialized[key] = entry
    return entry


def _type_key(a):
    """A cheap stand-in for ``numba.typeof(a)`` as a cache key: ``typeof`` of an array costs
    about 20 us, which on small batches was most of a call. It is Numba's own fingerprint
    of the argument's type, what its dispatcher dispatches on (dtype, ndim, layout,
    writeable; 0.1 us). The fingerprint leaves out alignment, so every array a driver is
    given must be aligned: the contract copies an unaligned input, and computes aside of an
    unaligned ``out=`` (``_contract.Rows``)."""
    return _fingerprint(a)


try:
    from numba._dispatcher import compute_fingerprint as _fingerprint
except ImportError:  # pragma: no cover - other Numba versions
    def _fingerprint(a):
        if type(a) is np.ndarray:
            return (a.dtype, a.ndim, a.flags.num & 0x0503)
        return type(a) if type(a) in (bool, int, float) else numba.typeof(a)
