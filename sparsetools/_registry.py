"""The one table of sparsemax methods: name -> row kernel, and the rule behind ``auto``.

The API, the tests and the benchmarks all read this table, so a new method is one entry
here and is then tested and timed everywhere. The drivers select a kernel at compile time
from its position in ``KERNELS``; ``row_tau`` is that selection.
"""

from numba.core import types
from numba.extending import overload

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
KERNELS = tuple(_TABLE.values())


def auto_method(n):
    """The method ``method="auto"`` uses for rows of length ``n``: ``bisect``, whatever n.

    Measured by ``scripts/bench_cpu.py`` (float64, README "Performance"), bisect is the best
    method or within 1.5x of the best on every shape and regime of the benchmark, and the
    best on every dense shape but the shortest rows, where all four share the shortcut of
    ``kernels.common.presolve``. Every other method is 2x or more off the best somewhere
    (heap and condat on dense 2048x1024, sort on rows of a few candidates). The shape alone
    cannot see the support size, so the rule picks the method with the smallest worst case.
    ``n`` stays an argument: the algorithm-comparison work may refine the rule by shape.
    """
    return "bisect"


def method_code(method, n):
    """Position of ``method`` in the registry (``auto`` resolved for rows of length n)."""
    if isinstance(method, str):
        if method == "auto":
            method = auto_method(n)
        for code, name in enumerate(METHODS):
            if name == method:
                return code
    valid = ", ".join(repr(m) for m in ("auto",) + METHODS)
    raise ValueError(f"unknown method {method!r}; valid methods are {valid}")


def row_tau(y, m, tmp, method):
    """``(t, k)`` of the candidates ``y[:m]`` with the kernel at position ``method``;
    ``tmp`` is scratch space of at least ``m`` float64 entries.

    Only callable from jitted code, where ``method`` is a compile-time literal."""
    raise NotImplementedError("row_tau is only callable from Numba-compiled code")


@overload(row_tau, jit_options=dict(cache=True))
def _row_tau(y, m, tmp, method):
    if not isinstance(method, types.IntegerLiteral):
        return None  # Numba asks for the non-literal type first; only literals are served
    kernel = KERNELS[method.literal_value]

    def impl(y, m, tmp, method):
        return kernel(y, m, tmp)

    return impl
