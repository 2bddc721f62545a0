"""The one table of sparsemax methods: name -> row kernel, and the rule behind ``auto``.

The API, the tests and the benchmarks all read this table, so a new method is one entry
here and is then tested and timed everywhere. The drivers select a kernel at compile time
from its position in ``KERNELS``; ``row_tau`` is that selection.
"""

from numba.core import types
from numba.extending import overload

from .kernels.bisect import tau_bisect
from .kernels.condat import tau_condat
from .kernels.heap import tau_heap
from .kernels.sort import tau_sort

_TABLE = {
    "sort": tau_sort,
    "heap": tau_heap,
    "bisect": tau_bisect,
    "condat": tau_condat,
}

#: The concrete methods, in registry order. ``method="auto"`` is accepted as well.
METHODS = tuple(_TABLE)
KERNELS = tuple(_TABLE.values())


#: ``auto`` uses ``bisect`` for rows shorter than this, ``condat`` from here on.
AUTO_CONDAT_FROM = 8192


def auto_method(n):
    """The method ``method="auto"`` uses for rows of length ``n``.

    Rule: ``bisect`` below ``AUTO_CONDAT_FROM`` entries, ``condat`` from there on. Measured by
    ``scripts/bench_cpu.py`` (float64, README "Performance"): on rows of 128 and 1024 the
    winner depends on the support size (heap on N(0, 1) rows, bisect on dense rows), and
    bisect is the one that is never far from the best (within 1.8x of it; condat was 4.5x
    off on dense 8192x128); on rows of 16384 and 10^6 condat is the best or within 20% of
    it in both regimes. The shape alone cannot see the support size, so the rule picks the
    method with the smallest worst case. The algorithm-comparison work refines it.
    """
    return "bisect" if n < AUTO_CONDAT_FROM else "condat"


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


def row_tau(y, m, method):
    """``(t, k)`` of the candidates ``y[:m]`` with the kernel at position ``method``.

    Only callable from jitted code, where ``method`` is a compile-time literal."""
    raise NotImplementedError("row_tau is only callable from Numba-compiled code")


@overload(row_tau, jit_options=dict(cache=True))
def _row_tau(y, m, method):
    if not isinstance(method, types.IntegerLiteral):
        return None  # Numba asks for the non-literal type first; only literals are served
    kernel = KERNELS[method.literal_value]

    def impl(y, m, method):
        return kernel(y, m)

    return impl
