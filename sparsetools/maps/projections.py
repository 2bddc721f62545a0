"""The projections beyond the unit simplex, each a map with the sparsemax methods in its
scaled frame (``kernels.projections``):

- ``simplex``: onto {p >= 0, sum p = r}, the parameter r (one per row or one for all);
- ``l1_ball``: onto {sum |x| <= r}, the parameter r;
- ``sparse_simplex``: onto the simplex of radius r with at most k non-zeros, the parameter
  the per-row array (k, r, v, c) (v and c are written by the row's gather);
- ``capped_simplex``: onto {0 <= p <= u, sum p = b}, the parameter (b / u, u, L) (L written
  by the row's gather), with its own
  threshold methods (``newton``, ``bisect``).

None has a loss. ``auto`` is sparsemax's rule: for the simplex, sparsemax's row kernel in
the scaled frame (``kernels.passes``); for the l1 ball and the sparse simplex, whose
candidates come from their own passes, Michelot's steps, guarded by quickselect on rows
longer than ``kernels.auto.MAX_STEPS``.
"""

from .._registry import Map
from ..kernels import projections as kp
from ..kernels.auto import MAX_STEPS


def _auto(n, dtype):
    return "michelot" if n <= MAX_STEPS else "guarded_michelot"


def _register(map_):
    for name, kernel, summary in kp.SCALED_METHODS:
        map_.method(name, kernel, summary)
    map_.method("guarded_michelot", kp.tau_auto_r, "Michelot's steps, handed to duchi after MAX_STEPS",
                public=False)
    return map_


SIMPLEX = _register(Map(
    "simplex", gather=kp.simplex_gather, presolve=kp.simplex_presolve, apply=kp.simplex_apply,
    jvp=kp.simplex_jvp, jacobian=kp.simplex_jacobian, auto=lambda n, dtype: "passes", param="radius",
    summary="the Euclidean projection onto the simplex of radius r: max(z - tau, 0), sum = r",
))
SIMPLEX.method("passes", kp.simplex_passes, "Michelot's steps as vectorised passes over the row",
               public=False, row=True)

L1_BALL = _register(Map(
    "l1_ball", gather=kp.l1_gather, presolve=kp.l1_presolve, apply=kp.l1_apply,
    jvp=kp.l1_jvp, jacobian=kp.l1_jacobian, auto=_auto, param="radius",
    summary="the Euclidean projection onto the l1 ball of radius r",
))

SPARSE_SIMPLEX = _register(Map(
    "sparse_simplex", gather=kp.sparse_gather, presolve=kp.sparse_presolve, apply=kp.sparse_apply,
    jvp=kp.sparse_jvp, jacobian=kp.sparse_jacobian, auto=_auto, param="k, radius",
    summary="the Euclidean projection onto the simplex of radius r with at most k non-zeros "
            "(Kyrillidis et al. 2013)",
))


def _newton(n, dtype):
    return "newton"


CAPPED_SIMPLEX = Map(
    "capped_simplex", gather=kp.capped_gather, presolve=kp.capped_presolve, apply=kp.capped_apply,
    jvp=kp.capped_jvp, jacobian=kp.capped_jacobian, auto=_newton, param="budget, upper",
    summary="the Euclidean projection onto the capped simplex {0 <= p <= u, sum p = b}",
)
CAPPED_SIMPLEX.method("newton", kp.tau_capped_newton, "the root of the current linear piece of "
                      "sum clip(y - t, 0, 1), guarded by bisection, until it falls on its own piece")
CAPPED_SIMPLEX.method("bisect", kp.tau_capped_bisect, "bisection until the piece's own root falls on it")
