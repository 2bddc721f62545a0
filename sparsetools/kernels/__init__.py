"""Row kernels.

Every method is one small function ``tau_<method>(y, m) -> (t, k)``. It receives the
*candidates* of one row, ``y[:m]``: the entries above ``max(z) - 1`` (only those can be in the
support, because tau >= max(z) - 1), shifted by ``max(z)`` and stored in float64, so that
``y`` lies in [-1, 0] and contains 0. It may reorder and overwrite ``y``. It returns the
shifted threshold ``t = tau - max(z)`` and the support size ``k``, with ``t`` computed as
``(sum of the support - 1) / k`` from a float64 sum, so that every method gives the same result to rounding.

``common.gather`` builds ``y`` from a row in one pass that also detects NaN, +inf and rows
with no finite entry; ``common.apply_row`` writes ``max(z - tau, 0)``.
"""
