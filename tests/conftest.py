"""Shared fixtures: seeded randomness, the method list, hypothesis settings."""

import ctypes.util
import os
import sys

# The GPU tests run on numba-cuda's simulator where there is no CUDA driver (CI, this
# project's development machine); it must be switched on before numba is imported. Set
# NUMBA_ENABLE_CUDASIM yourself to choose either way.
if "NUMBA_ENABLE_CUDASIM" not in os.environ and not ctypes.util.find_library("cuda"):
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# --import-mode=importlib does not put tests/ on sys.path; the test modules import the
# NumPy reference (tests/reference.py) by name, and the scripts, loaded from their files,
# import their shared argument checks (scripts/_cli.py) by name.
for _dir in (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "scripts"):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))

import sparsetools  # noqa: E402

# The property tests set their own max_examples; Numba's first-call compilation must not
# count against a deadline.
settings.register_profile("sparsetools", deadline=None, print_blob=True)
settings.load_profile("sparsetools")

#: Every concrete method, then "auto".
ALL_METHODS = sparsetools.METHODS + ("auto",)


@pytest.fixture
def rng(request):
    """A ``numpy.random.default_rng`` seeded from the test's id: reproducible, and
    different for each test and parameter set."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(params=sparsetools.METHODS)
def method(request):
    """Each concrete method in turn."""
    return request.param


@pytest.fixture(params=ALL_METHODS)
def any_method(request):
    """Each concrete method and "auto"."""
    return request.param


@pytest.fixture
def contract_method():
    """The one method the input-contract matrix runs on (dtypes, axes, layouts, out=,
    errors): every method sees the same float64 candidate buffer once the contract has
    done its work, so the matrix does not multiply by the methods."""
    return "auto"
