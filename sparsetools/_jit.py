"""The one place that decides how sparsetools compiles with Numba.

Every kernel is compiled with the same options: cached on disk (a second process loads the
machine code instead of compiling it), ``nogil`` so callers may use threads, NumPy's error
model (a float division by zero gives inf, never a Python exception inside a kernel), and no
global fastmath (fastmath would let LLVM assume that NaN and inf never occur, which breaks
the -inf masking and the NaN detection that the kernels do in their own pass); only FMA
contraction and reassociation may be asked for, function by function.

Compilation is lazy: nothing is compiled at import; a (driver, method, dtype) triple is
compiled, or loaded from the on-disk cache, the first time it is called.
"""

import threading

import numba
import numpy as np
from numba.core import types

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


def jit(fn=None, *, parallel=False, contract=False, reassoc=False, inline=False):
    """``numba.njit`` with the project's options; ``parallel=True`` for prange drivers.

    Two fast-math flags may be asked for, function by function, because neither assumes
    anything about NaN or inf: ``contract=True`` lets LLVM fuse a multiply and an add into
    one FMA (which rounds once instead of twice), ``reassoc=True`` lets it reorder
    additions, so that a sum vectorises (only for pure sums: it could also fold
    ``x * 1e300 * 1e300`` into ``x * inf``). ``inline=True`` inlines the function into its callers in Numba's IR, so that
    a small elementary function does not stop the caller's loop from vectorising.
    """
    options = dict(_OPTIONS, parallel=parallel)
    flags = {"contract"} if contract else set()
    if reassoc:
        flags.add("reassoc")
    if flags:
        options["fastmath"] = flags
    if inline:
        options["inline"] = "always"
    if fn is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(fn)


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
    """
    key = (dispatcher, literal) + tuple(_type_key(a) for a in args)
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
    about 20 us, which on small batches was most of a call. For a plain ndarray the key
    holds everything Numba's array type is made of (dtype, ndim, layout, writeable,
    aligned); for a bool, int or float, the Python type; anything else keys by its Numba
    type itself."""
    if type(a) is np.ndarray:
        f = a.flags
        return (a.dtype, a.ndim, f.c_contiguous, f.f_contiguous, f.writeable, f.aligned)
    if type(a) in (bool, int, float):
        return type(a)
    return numba.typeof(a)
