"""The one table of sparsemax methods: name -> row kernel, and the rule behind ``auto``.

The API, the tests and the benchmarks all read this table, so a new method is one entry
here and is then tested and timed everywhere. The drivers select a kernel at compile time
from its position in ``KERNELS``; ``row_tau`` is that selection.
"""

from numba.core import types
from numba.extending import overload

from ._jit import CACHE
from .kernels.auto import MAX_STEPS, tau_auto
from .kernels.bisect import tau_bisect
from .kernels.condat import tau_condat
from .kernels.duchi import tau_duchi
from .kernels.heap import tau_heap
from .kernels.michelot import tau_michelot
from .kernels.sort import tau_sort

_TABLE = {
    "sort": tau_sort,
    "heap": tau_heap,
    "bisect": tau_bisect,
    "condat": tau_condat,
    "duchi": tau_duchi,
    "michelot": tau_michelot,
}

#: The concrete methods, in registry order. ``method="auto"`` is accepted as well.
METHODS = tuple(_TABLE)
#: The row kernels by code: the methods', then ``auto``'s at ``AUTO``.
KERNELS = tuple(_TABLE.values()) + (tau_auto,)
AUTO = len(METHODS)


def method_code(method, n):
    """Position of ``method`` in ``KERNELS`` for rows of length ``n``.

    ``"auto"`` has its own kernel (``kernels.auto``): Michelot's steps, handed to
    ``duchi`` if they have not converged after ``kernels.auto.MAX_STEPS``. Rows of at most
    ``MAX_STEPS`` entries cannot need more steps (each step that does not converge drops
    an entry), so for them ``auto`` is ``michelot`` itself: the guard's code, even when it
    is never taken, made the whole driver about 10% slower on rows of 8 (README
    "Algorithm comparison").
    """
    if isinstance(method, str):
        if method == "auto":
            return METHODS.index("michelot") if n <= MAX_STEPS else AUTO
        for code, name in enumerate(METHODS):
            if name == method:
                return code
    valid = ", ".join(repr(m) for m in ("auto",) + METHODS)
    raise ValueError(f"unknown method {method!r}; valid methods are {valid}")


def row_tau(y, m, tmp, method):
    """``(t, k)`` of the candidates ``y[:m]`` with the kernel at position ``method``;
    ``tmp`` is scratch space of at least ``m`` float64 entries.

    In compiled code ``method`` is a compile-time literal and the call is the kernel's own
    (the overload below); as Python (``NUMBA_DISABLE_JIT=1``) it looks the kernel up."""
    return KERNELS[method](y, m, tmp)


@overload(row_tau, jit_options=dict(cache=CACHE))
def _row_tau(y, m, tmp, method):
    if not isinstance(method, types.IntegerLiteral):
        return None  # Numba asks for the non-literal type first; only literals are served
    kernel = KERNELS[method.literal_value]

    def impl(y, m, tmp, method):
        return kernel(y, m, tmp)

    return impl
