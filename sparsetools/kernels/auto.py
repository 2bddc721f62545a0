"""``auto``: Michelot's steps, with Duchi et al.'s quickselect as a guard against slow rows.

The rule comes from ``scripts/compare_algorithms.py`` (README "Algorithm comparison"):
``michelot`` is the fastest method, or within the noise of the fastest, on every row length,
batch size and regime swept, because each of its steps is one branch-free, vectorised pass
over a set that shrinks fast, and on those rows it converges in 1 to 14 steps (counted on
every regime up to n = 2^20). Its worst case is not bounded by that: rows built so
that each step drops only a few entries need many passes. So ``auto`` makes at most
``MAX_STEPS`` steps and, if they have not converged, finishes the survivors with
``duchi``, whose expected cost is linear whatever the values.
"""

from .._jit import jit
from .duchi import tau_duchi
from .michelot import michelot_steps

#: Michelot steps ``auto`` makes before it hands the survivors to ``duchi``. Every row of
#: the benchmark converges in at most 14 (presolve's step not counted).
MAX_STEPS = 20


@jit
def tau_auto(y, m, tmp):
    """``tau_michelot`` when it converges within ``MAX_STEPS`` steps (the same bits), else
    ``tau_duchi`` on the survivors."""
    t, k, done = michelot_steps(y, m, MAX_STEPS)
    if done:
        return t, k
    return tau_duchi(y, k, tmp)
