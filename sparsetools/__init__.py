"""sparsetools: exact, fast sparsemax and alpha-entmax for NumPy (and Dask) arrays, compiled
with Numba: the maps, their derivatives, their losses, the projections onto the simplex of
radius r, the l1 ball and the sparse simplex, and softmax counterparts to compare with."""

from ._activations import softmax, softmax_sigmoid, softmax_sigmoid_jacobian, softmax_sigmoid_vjp
from ._core import sparsemax, sparsemax_threshold
from ._derivs import sparsemax_jacobian, sparsemax_jvp, sparsemax_vjp
from ._entmax import (
    entmax,
    entmax15,
    entmax_dalpha,
    entmax_jacobian,
    entmax_jvp,
    entmax_loss,
    entmax_loss_and_grad,
    entmax_loss_grad,
    entmax_threshold,
    entmax_vjp,
)
from ._losses import (
    softmax_loss,
    softmax_loss_and_grad,
    softmax_loss_grad,
    sparsemax_loss,
    sparsemax_loss_and_grad,
    sparsemax_loss_grad,
)
from ._projections import (
    project_capped_simplex,
    project_capped_simplex_jvp,
    project_capped_simplex_vjp,
    project_l1_ball,
    project_l1_ball_jvp,
    project_l1_ball_vjp,
    project_simplex,
    project_simplex_jvp,
    project_simplex_vjp,
    project_sparse_simplex,
    project_sparse_simplex_jvp,
    project_sparse_simplex_vjp,
    sparse_plus,
    sparse_sigmoid,
    sparsemax_binary_loss,
    sparsemax_binary_loss_grad,
)
from ._registry import register_method

__all__ = [
    "ENTMAX_METHODS",
    "METHODS",
    "entmax",
    "entmax15",
    "entmax_dalpha",
    "entmax_jacobian",
    "entmax_jvp",
    "entmax_loss",
    "entmax_loss_and_grad",
    "entmax_loss_grad",
    "entmax_threshold",
    "entmax_vjp",
    "project_capped_simplex",
    "project_capped_simplex_jvp",
    "project_capped_simplex_vjp",
    "project_l1_ball",
    "project_l1_ball_jvp",
    "project_l1_ball_vjp",
    "project_simplex",
    "project_simplex_jvp",
    "project_simplex_vjp",
    "project_sparse_simplex",
    "project_sparse_simplex_jvp",
    "project_sparse_simplex_vjp",
    "register_method",
    "softmax",
    "softmax_loss",
    "softmax_loss_and_grad",
    "softmax_loss_grad",
    "softmax_sigmoid",
    "softmax_sigmoid_jacobian",
    "softmax_sigmoid_vjp",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "sparsemax_binary_loss",
    "sparsemax_binary_loss_grad",
    "sparsemax_jacobian",
    "sparsemax_jvp",
    "sparsemax_loss",
    "sparsemax_loss_and_grad",
    "sparsemax_loss_grad",
    "sparsemax_threshold",
    "sparsemax_vjp",
]
__version__ = "0.1.0"

#: Submodules loaded on first use: ``sparsetools.cuda`` needs numba-cuda, ``plotting``
#: matplotlib, ``torch`` and ``jax`` their frameworks; the CPU toolkit imports none of them.
_LAZY = ("cuda", "plotting", "torch", "jax")


def __getattr__(name):
    if name == "METHODS":  # read from the registry, so registered methods are listed
        from .maps import MAPS

        return MAPS["sparsemax"].names
    if name == "ENTMAX_METHODS":
        from .maps import MAPS

        return MAPS["entmax"].names
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
