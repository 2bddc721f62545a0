"""The sparse maps: one module each, declaring its row pieces and its methods.

``MAPS`` is the table the drivers, the public functions, the tests and the benchmarks read
(``sparsetools._registry`` describes the pieces). A new map is a new module here and one
entry in ``MAPS``.
"""

from . import entmax, projections, sparsemax

#: name -> ``_registry.Map``, in the order the documentation lists them.
MAPS = {m.name: m for m in (sparsemax.MAP, entmax.MAP, projections.SIMPLEX, projections.L1_BALL,
                             projections.SPARSE_SIMPLEX, projections.CAPPED_SIMPLEX)}
