"""alpha-entmax (Peters, Niculae & Martins 2019): the sparse maps between softmax and
sparsemax, ``entmax_alpha(z) = [(alpha - 1) z - tau]_+ ^ (1 / (alpha - 1))``.

The map's parameter is alpha (one per row, or one for every row): every piece takes it
last. The pieces (``kernels.entmax``) work in the frame y = (alpha - 1)(z - max z), where
the candidates lie in (-1, 0] as sparsemax's do:

- ``gather(row, buf, alpha)``: the max, the check and the candidates;
- ``presolve(y, m, alpha)``: a power-free lower bound of the threshold drops candidates
  (repeated to its fixed point for alpha >= 2: Michelot's algorithm settles alpha = 2);
  alpha = 1 (softmax) is settled by its log-sum-exp;
- the methods ``kernel(y, m, tmp, alpha) -> (t, k)``;
- ``apply``, ``jvp``, ``jacobian``: p, and J = diag(g) - g g^T / sum(g), g = p^(2 - alpha);
- ``loss_label``, ``loss_dist``: the Tsallis Fenchel-Young loss and its gradient p - q.

``auto`` is ``newton`` on every row length (``scripts/compare_algorithms.py --map entmax``
times the methods); on float32 rows, ``newton32``, the same steps with float32 powers in
its float64 sums (and a float32 output takes float32 powers too: ``apply_row``).
"""

import numpy as np

from .._registry import Map
from ..kernels.entmax import (
    apply_row,
    apply_support,
    gather,
    jacobian_row,
    jvp_row,
    loss_dist_row,
    loss_label_from_p,
    loss_label_row,
    presolve,
    tau_bisect,
    tau_newton,
    tau_newton32,
    tau_newton_write,
    tau_sort,
)


def _auto(n, dtype):
    return "newton32" if dtype == np.float32 else "newton"


MAP = Map(
    "entmax", gather=gather, presolve=presolve, apply=apply_row, jvp=jvp_row,
    jacobian=jacobian_row, loss_label=loss_label_row, loss_dist=loss_dist_row, auto=_auto,
    summary="alpha-entmax, the Tsallis-entropy maps from softmax (alpha = 1) to sparsemax "
            "(alpha = 2) (Peters, Niculae & Martins 2019)",
    param="alpha", apply_support=apply_support, loss_label_from_p=loss_label_from_p,
)

# the kernels that leave the support in row order (``keep_above``'s compactions) write
# the output from it (``apply_support``); the sort does not
MAP.method("newton", tau_newton, ordered=True, write=tau_newton_write,
           summary="Halley's method on the b-norm, guarded by Newton's lower bounds (alpha <= 2; "
                   "above, Newton's steps on it inside a bisection bracket), closed form for "
                   "alpha = 1.5")
MAP.method("sort", tau_sort, "sort the candidates, find the support on the sorted row "
           "(Peters et al.'s Algorithm 2 for alpha = 1.5), then tau on it")
MAP.method("bisect", tau_bisect, ordered=True,
           summary="bisection until no candidate is inside the bracket, then tau on the "
                   "support by Newton's method")
MAP.method("newton32", tau_newton32, ordered=True,
           summary="newton with float32 powers summed in float64, for float32 rows (auto's "
                   "choice there)", public=False)
