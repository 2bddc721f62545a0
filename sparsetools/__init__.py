"""sparsetools: exact, fast sparsemax for NumPy arrays, compiled with Numba."""

from ._core import sparsemax, sparsemax_threshold
from ._registry import METHODS

__all__ = ["METHODS", "sparsemax", "sparsemax_threshold"]
__version__ = "0.1.0"
