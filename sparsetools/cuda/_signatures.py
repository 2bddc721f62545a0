"""The one table of the GPU kernels and their arguments.

``KERNELS`` maps each kernel's name to its arguments, ``(name, kind)`` pairs; ``data`` is
an (A, n, B) view in the row dtype (float32 or float64), the others fixed types. The
kernel modules build exactly these kernels (``sparsetools.cuda._launch.kernels`` checks
it), ``scripts/check_gpu_ptx.py`` compiles each with :func:`signature`, and the tests check
every kernel's parameters against its entry.
"""

from numba import types

_D = "data"
_F1, _I1, _S1 = "float64[:]", "int64[:]", "int8[:]"

KERNELS = {
    "forward_michelot": (("z", _D), ("out", _D), ("tau", _F1), ("ksz", _I1), ("status", _S1),
                         ("write", "bool")),
    "forward_sort": (("z", _D), ("out", _D), ("tau", _F1), ("ksz", _I1), ("status", _S1), ("write", "bool")),
    "jvp": (("p", _D), ("v", _D), ("out", _D), ("status", _S1)),
    "loss_michelot": (("z", _D), ("labels", _I1), ("q", _D), ("tol", "float64"), ("loss", _F1),
                      ("grad", _D), ("status", _S1), ("write", "bool")),
    "entmax_forward": (("z", _D), ("alpha", _F1), ("out", _D), ("tau", _F1), ("ksz", _I1), ("status", _S1),
                       ("write", "bool")),
    "entmax_jvp": (("p", _D), ("v", _D), ("alpha", _F1), ("out", _D), ("status", _S1)),
    "entmax_loss": (("z", _D), ("alpha", _F1), ("labels", _I1), ("q", _D), ("tol", "float64"), ("loss", _F1),
                    ("grad", _D), ("status", _S1), ("write", "bool")),
    "simplex_forward": (("z", _D), ("radius", _F1), ("out", _D), ("tau", _F1), ("ksz", _I1), ("status", _S1),
                        ("write", "bool")),
    "capped_forward": (("z", _D), ("budget", _F1), ("upper", _F1), ("out", _D), ("tau", _F1), ("ksz", _I1),
                       ("status", _S1), ("write", "bool")),
    "long_max": (("z", _D), ("CH", "int64"), ("pmax", "float64[:, :]"), ("pcnt", "int64[:, :, :]")),
    "long_step": (("z", _D), ("CH", "int64"), ("i", "int64"), ("pmax", "float64[:, :]"),
                  ("pcnt", "int64[:, :, :]"), ("PS", "float64[:, :, :]"), ("PK", "int64[:, :, :]"),
                  ("scratch", "float64[:, :, :]"), ("scount", "int64[:, :, :]"), ("sover", "int64[:, :]")),
    "long_finish": (("z", _D), ("out", _D), ("CH", "int64"), ("last", "int64"), ("pmax", "float64[:, :]"),
                    ("pcnt", "int64[:, :, :]"), ("PS", "float64[:, :, :]"), ("PK", "int64[:, :, :]"),
                    ("tau", _F1), ("ksz", _I1), ("status", _S1), ("conv", _S1), ("write", "bool")),
}

_SCALARS = {"bool": types.boolean, "int64": types.int64, "float64": types.float64}
_DTYPES = {"float64": types.float64, "int64": types.int64, "int8": types.int8}


def _type(kind, dtype):
    if kind == _D:
        return types.Array(dtype, 3, "C")
    if kind in _SCALARS:
        return _SCALARS[kind]
    base, dims = kind.split("[")
    return types.Array(_DTYPES[base], dims.count(":"), "C")


def signature(name, dtype):
    """The Numba argument types of kernel ``name`` for rows of ``dtype`` (a Numba float
    type), all arrays C-contiguous."""
    return tuple(_type(kind, dtype) for _, kind in KERNELS[name])
