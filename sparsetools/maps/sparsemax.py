"""sparsemax (Martins & Astudillo 2016): the Euclidean projection onto the probability simplex.

``sparsemax(z) = max(z - tau, 0)`` with tau such that the row sums to 1. Every piece works
in the frame shifted by the row's max M (``y = z - M``, ``t = tau - M``), where the
candidates of the support lie in [-1, 0] (tau >= M - 1 because the largest entry alone
would sum to more than 1 above it):

- ``gather(row, buf) -> (M, m, status)``: one pass, the max, the input check and the
  candidates ``buf[:m]``, shifted (``kernels.common.gather``);
- ``presolve(y, m) -> (t, k, done)``: Michelot's first step on the candidates; when it
  settles the row no method runs (``kernels.common.presolve``);
- the methods ``kernel(y, m, tmp) -> (t, k)``: the threshold from the survivors;
- ``apply(row, M, t, out)``: ``out = max(y - t, 0)``;
- ``jvp(p, v, out) -> status`` and ``jacobian(p, out) -> status``: J = diag(s) - s s^T / k
  at the output p, s its support indicator (``kernels.derivs``);
- ``loss_label`` and ``loss_dist``: the sparsemax loss 1/2 ||p - q||^2 +
  sum_i q_i max(t - y_i, 0) and its gradient p - q (``kernels.derivs``).

``auto`` is a row method (``kernels.passes``): Michelot's steps as vectorised passes over
the whole row on short rows and on long rows with many candidates, else Michelot's steps on
the candidates, guarded by Duchi et al.'s quickselect (``guarded_michelot``,
``kernels.auto``).
"""

from .._registry import Map
from ..kernels.auto import tau_auto
from ..kernels.bisect import tau_bisect
from ..kernels.common import apply_row, gather, presolve
from ..kernels.condat import tau_condat
from ..kernels.derivs import jacobian_row, jvp_row, sparsemax_loss_dist_row, sparsemax_loss_label_row
from ..kernels.duchi import tau_duchi
from ..kernels.heap import tau_heap
from ..kernels.michelot import tau_michelot
from ..kernels.passes import tau_passes
from ..kernels.sort import tau_sort


def _auto(n, dtype):
    return "passes"


MAP = Map(
    "sparsemax", gather=gather, presolve=presolve, apply=apply_row, jvp=jvp_row,
    jacobian=jacobian_row, loss_label=sparsemax_loss_label_row,
    loss_dist=sparsemax_loss_dist_row, auto=_auto,
    summary="the Euclidean projection onto the probability simplex (Martins & Astudillo 2016)",
)

MAP.method("sort", tau_sort, "sort the candidates, then the scan of Held et al. (1974)")
MAP.method("heap", tau_heap, "a max-heap built in O(m), popped until the sort condition fails")
MAP.method("bisect", tau_bisect, "bisection of sum max(y - t, 0) = 1, stopped once the support is known")
MAP.method("condat", tau_condat, "Condat (2016), Algorithm 1")
MAP.method("duchi", tau_duchi, "Duchi et al. (2008): randomized-pivot quickselect")
MAP.method("michelot", tau_michelot, "Michelot (1986): Newton steps from the left end of the bracket")
MAP.method("guarded_michelot", tau_auto, "Michelot's steps, handed to duchi after MAX_STEPS",
           public=False)
MAP.method("passes", tau_passes, "Michelot's steps as vectorised passes over the row (long rows "
           "with few candidates: guarded_michelot on them)", public=False, row=True)
