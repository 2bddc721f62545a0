"""``auto``: Michelot's steps, with Duchi et al.'s quickselect as a guard against slow rows.

The rule comes from ``scripts/compare_algorithms.py`` (README "Algorithm comparison"):
``michelot`` is the fastest method, or within the noise of the fastest, on nearly every row
length, batch size and regime swept, because each of its steps is one branch-free,
vectorised pass over a set that shrinks fast. The number of steps it needs after
presolve's (``michelot_steps`` in scripts/harness/bench.py) was at most 13 on every regime of the row-length
sweep up to n = 2^20, and grows like log(n / k) on rows with a planted support of k
entries, all within 1 of the max: 19 at n = 2^20, k = 4. Rows built so that each step
drops only a fraction of its set need more (``tests/test_sparsemax.slow_michelot_row``:
25 steps on 16839 entries). So ``auto`` makes at most ``MAX_STEPS`` steps and, if they
have not converged, finishes the survivors with ``duchi``, whose expected cost is linear
whatever the values; after 20 steps few survivors are left, so the hand-over is cheap.
"""

from .._jit import jit
from .duchi import tau_duchi
from .michelot import michelot_steps

#: Michelot steps ``auto`` makes before it hands the survivors to ``duchi``.
MAX_STEPS = 20


@jit
def tau_auto(y, m, tmp):
    """``tau_michelot`` when it converges within ``MAX_STEPS`` steps (the same bits), else
    ``tau_duchi`` on the survivors.

    Each step that does not converge drops at least one entry, so rows of at most
    ``MAX_STEPS`` candidates always converge in time. (Whole rows that short get here only
    from ``kernels.passes``, with a set the passes have already narrowed.)"""
    t, k, done = michelot_steps(y, m, MAX_STEPS)
    if done:
        return t, k
    return tau_duchi(y, k, tmp)
