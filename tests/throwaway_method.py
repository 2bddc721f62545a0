"""A pytest plugin (and importable module) that registers a throwaway sparsemax method,
``scan``: a plain sort of the candidates and the scan of Held et al., written here and
nowhere in the package. ``tests/test_registry.py`` loads it (``pytest -p throwaway_method``)
to show that a new method is tested and timed by the project's tests and benchmarks with
no other edit. It registers at import, before the test modules read ``sparsetools.METHODS``.
"""

import numba
import numpy as np

import sparsetools


@numba.njit(error_model="numpy")
def tau_scan(y, m, tmp):
    a = np.sort(y[:m])[::-1]
    s = 0.0
    k = 0
    for j in range(m):
        if 1.0 + (j + 1) * a[j] > s + a[j]:
            s += a[j]
            k = j + 1
        else:
            break
    return (s - 1.0) / k, k


ENTRY = sparsetools.register_method("scan", tau_scan, summary="np.sort, then the scan (a test's method)")
