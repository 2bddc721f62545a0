"""``michelot``: Michelot (1986), the finite algorithm for the projection onto the simplex.

Equivalently, Newton's method on f(t) = sum max(y - t, 0) - 1 started from the left end of
the bracket, max(z) - 1: f is convex and piecewise linear, so every step lands on the
tau of the current set and never overshoots, and the steps stop after finitely many.
"""

from .._jit import jit
from .common import finish, keep_above, psum


@jit
def tau_michelot(y, m, tmp):
    """Repeat Michelot's step on ``y[:m]`` until nothing is dropped.

    One step: ``t = (sum - 1) / size`` of the current set (the Newton step
    ``t - f(t) / f'(t)`` from the previous ``t``), then drop every entry ``<= t``, which
    cannot be in the support since t is a lower bound on tau. When a step drops nothing the
    set is the support and t is tau. ``kernels.common.presolve`` has already made the first
    step, from the candidates; ``finish`` is the same iteration (a branch-free filter and a
    vectorised sum per step), here started with nothing known to be in the support.
    Each step is one pass over the surviving entries; the number of steps is small on
    N(0, 1) rows and grows on rows whose sorted values fall off slowly.
    """
    return finish(y, 0, m, 0.0, 0)


@jit
def michelot_steps(y, m, max_steps):
    """At most ``max_steps`` of Michelot's steps on ``y[:m]``, exactly as ``tau_michelot``
    makes them: ``(t, k, True)`` with tau and the support size if they converged, else
    ``(t, k, False)`` with the ``k`` survivors (still a superset of the support, the max
    among them) in ``y[:k]``."""
    k = m
    t = (psum(y, 0, k) - 1.0) / k
    for _ in range(max_steps - 1):
        w = keep_above(y, 0, k, t)
        if w == k:
            return t, k, True
        k = w
        t = (psum(y, 0, k) - 1.0) / k
    w = keep_above(y, 0, k, t)
    return t, w, w == k
