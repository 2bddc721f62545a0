"""The registry of maps and their methods, and the compile-time dispatch that reads it.

A *map* (sparsemax; the family of sparse maps grows here) is declared once, in its own
module under ``sparsetools.maps``, by its row pieces: a candidate pass (``gather``), a first
cheap step (``presolve``), its threshold finders by method, its element-wise output
(``apply``, and optionally ``apply_support``, the output written from the support a method
left in its scratch), its Jacobian-vector product and dense Jacobian on the support, and
its loss terms. A *method* is one row kernel ``kernel(y, m, tmp) -> (t, k)`` and one entry
(:meth:`Map.method`). The drivers (``_batched``) are written once for every map: they take
an integer *code* as a compile-time literal and call the pieces through the dispatch
functions below, so only the called (driver, map, method, dtype) is compiled and the
generated code is the pieces' own, inlined.

The code of a built-in entry is a hash of its name and of its kernels' qualified names
and bytecode. Numba's disk cache keys a driver by the code, so a cached driver always runs
the kernels it was compiled with: reordering the table, or editing a kernel's own body,
gives new codes instead of stale machine code. Methods registered at run time
(:func:`register_method`) get codes of their own range and run in drivers that are never
cached on disk (their kernels live in the caller's code, which Numba cannot track).

The API, the tests, the benchmarks, the plots and the error messages all read the
registry, so a new method or map needs no edit anywhere else.
"""

import zlib

import numpy as np
from numba.core import types
from numba.extending import overload

from ._jit import CACHE
from ._jit import UNCACHED_FROM as RUNTIME_CODES  # codes of methods registered at run time


class Method:
    """One threshold finder of a map: ``kernel(y, m, tmp) -> (t, k)`` on the shifted
    candidates ``y[:m]`` (see ``sparsetools.kernels``), with its reference; or, for a
    *row* method, ``kernel(row, buf, tmp) -> (M, t, k, status)`` on the row itself, in
    place of the map's ``gather`` and ``presolve`` (sparsemax's ``auto`` kernel,
    ``kernels.passes``). ``write``, when given, is the kernel and the output in one, for an
    ``ordered`` method: ``write(row, M, y, m, tmp, out) -> (t, k, written)`` returns what
    ``kernel`` returns and, where it can, writes the map's output of the row into ``out``
    (``M``: the row's max, ``y[:m]`` its candidates; ``written`` says whether it did, else
    the caller takes ``apply_support``); the forward pass calls it instead of ``kernel``."""

    __slots__ = ("name", "kernel", "map", "summary", "code", "cached", "ordered", "row", "write")

    def __init__(self, name, kernel, map_, summary, code, cached, ordered=False, row=False,
                 write=None):
        self.name, self.kernel, self.map, self.summary = name, kernel, map_, summary
        self.code, self.cached = code, cached
        # whether the kernel leaves the support in y[:k], in row order, as the candidate
        # pass computed it (then a map's ``apply_support`` may write the output from it)
        self.ordered = ordered
        self.row = row
        self.write = write

    def __repr__(self):
        return f"<method {self.map.name}/{self.name}: {self.summary}>"


class Map:
    """A sparse map's row pieces, its methods and the rule behind ``method="auto"``.

    The pieces are Numba-compiled functions of one row (see ``sparsetools.maps.sparsemax``
    for their contracts); ``auto(n, dtype)`` names the method ``"auto"`` runs on rows of
    ``n`` entries of the computing dtype (float64 or float32); it may be a method that is
    not listed publicly, such as sparsemax's guarded Michelot kernel or entmax's float32
    one. ``code`` selects the map's pieces in the drivers that need no method
    (the Jacobian products). ``apply_support``, when given, is ``apply`` for the methods
    registered as ``ordered``, from the support they leave: ``apply_support(row, M, t, y,
    k, vals, out)`` with the support's candidates in ``y[:k]`` in row order and ``vals``
    scratch of the row's length.
    """

    def __init__(self, name, *, gather, presolve, apply, jvp, jacobian, auto, summary,
                 loss_label=None, loss_dist=None, param=None, apply_support=None,
                 loss_label_from_p=None):
        self.name = name
        self.param = param  # the name of the map's per-row parameter (entmax: "alpha"), or None
        self.gather, self.presolve, self.apply = gather, presolve, apply
        self.apply_support = apply_support
        # ``loss_label`` once the output p is in g (written by ``apply_support`` for the
        # ordered methods): ``loss_label_from_p(row, M, t, c, g)``
        self.loss_label_from_p = loss_label_from_p
        self.jvp, self.jacobian = jvp, jacobian
        self.loss_label, self.loss_dist = loss_label, loss_dist
        self.auto = auto
        self.summary = summary
        self.methods = {}  # name -> Method, public ones in registration order
        self.hidden = {}  # methods only ``auto`` runs
        # (a map without a loss, such as a projection, has None for its loss pieces)
        pieces = (gather, presolve, apply, jvp, jacobian, loss_label, loss_dist, apply_support,
                  loss_label_from_p)
        self.code = _code(name, tuple(f for f in pieces if f is not None))
        _claim(self.code, self, None)

    @property
    def names(self):
        """The public methods' names, in registration order."""
        return tuple(self.methods)

    def method(self, name, kernel, summary, *, public=True, ordered=False, row=False,
               write=None, _builtin=True):
        """Register ``kernel`` as the method ``name`` of this map and return its entry;
        ``ordered``: the kernel leaves the support in ``y[:k]`` in row order; ``row``: the
        kernel takes the row itself; ``write``: the kernel fused with the output
        (``Method``)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a method name must be an identifier string, not {name!r}")
        if name == "auto" or name in self.methods or name in self.hidden:
            raise ValueError(f"{self.name} already has a method {name!r}")
        if not callable(kernel):
            raise TypeError(f"the kernel of method {name!r} must be a Numba-compiled function "
                            f"kernel(y, m, tmp) -> (t, k), not {type(kernel).__name__}")
        if _builtin:
            code = _code(f"{self.name}/{name}" + ("/ordered" if ordered else "") + ("/row" if row else ""),
                         (kernel,) + ((write,) if write is not None else ()))
        else:
            code = _next_runtime_code()
        entry = Method(name, kernel, self, summary, code, cached=_builtin and CACHE,
                       ordered=ordered and _builtin, row=row and _builtin,
                       write=write if _builtin and ordered else None)
        _claim(code, self, entry)
        (self.methods if public else self.hidden)[name] = entry
        return entry

    def resolve(self, method, n, dtype=np.float64):
        """The ``Method`` that ``method`` (a name or ``"auto"``) runs on rows of ``n``
        entries of ``dtype``; ValueError naming the valid methods otherwise."""
        if isinstance(method, str):
            if method == "auto":
                name = self.auto(n, np.dtype(dtype))
                return self.methods.get(name) or self.hidden[name]
            entry = self.methods.get(method)
            if entry is not None:
                return entry
        valid = ", ".join(repr(m) for m in ("auto",) + self.names)
        raise ValueError(f"unknown method {method!r}; valid methods are {valid}")

    def __repr__(self):
        return f"<map {self.name}: {', '.join(self.names)}>"


#: code -> (map, method or None), for every code a driver may be compiled with.
_BY_CODE = {}
_runtime = [RUNTIME_CODES]


def _code(label, functions):
    """A stable int for ``label`` and the bytecode of ``functions`` (below RUNTIME_CODES)."""
    h = zlib.crc32(label.encode())
    for f in functions:
        py = getattr(f, "py_func", f)
        h = zlib.crc32(f"{py.__module__}.{py.__qualname__}".encode(), h)
        h = zlib.crc32(py.__code__.co_code, h)
    return h % RUNTIME_CODES


def _next_runtime_code():
    _runtime[0] += 1
    return _runtime[0]


def _claim(code, map_, method):
    if code in _BY_CODE:  # a crc collision between two built-in entries: rename one
        raise RuntimeError(f"registry code {code} of {map_.name}/{getattr(method, 'name', '')} is taken")
    _BY_CODE[code] = (map_, method)


def register_method(name, kernel, *, summary="", map="sparsemax"):
    """Add a threshold finder to a map at run time; it is then a ``method=`` of every
    function of that map, listed in ``sparsetools.METHODS`` (for sparsemax), and tested and
    timed by the project's tests and benchmarks like the built-in ones.

    ``kernel`` is a Numba-compiled function ``kernel(y, m, tmp) -> (t, k)``: given the
    candidates of one row in ``y[:m]`` (float64, shifted by the row's max so that they lie
    in [-1, 0] and include 0; a superset of the support, may be reordered and overwritten)
    and scratch space ``tmp`` of at least ``m`` float64 entries, it returns the shifted
    threshold ``t = tau - max`` and the support size ``k``. For a map with a parameter
    (``map="entmax"``) the kernel takes it last, ``kernel(y, m, tmp, alpha)``, and works in
    that map's frame (entmax: y = (alpha - 1)(z - max z), p = max(y - t, 0)^(1/(alpha - 1));
    alpha = 1 never reaches a method). Registered methods run in drivers compiled in each
    process (never cached on disk).
    """
    from .maps import MAPS

    if map not in MAPS:
        raise ValueError(f"unknown map {map!r}; the maps are {', '.join(repr(m) for m in MAPS)}")
    return MAPS[map].method(name, kernel, summary or name, _builtin=False)


def entry(code):
    """``(map, method or None)`` of a code."""
    return _BY_CODE[code]


# ---------------------------------------------------------------------------------------
# Compile-time dispatch: each stub is the Python fallback (``NUMBA_DISABLE_JIT=1``), and its
# overload serves only a literal code, calling the selected piece directly. The overloads
# are inlined into the drivers in Numba's IR (a call per row that passes row views costs
# about 45 ns of reference counting) and not cached on their own: the drivers are.


def _select(code, piece):
    """The piece a literal ``code`` selects (None for a code that is not a literal)."""
    if not isinstance(code, types.IntegerLiteral):
        return None  # Numba asks for the non-literal type first; only literals are served
    return piece(*_BY_CODE[code.literal_value])


def _make_overload(stub, piece):
    """The overload of ``stub``: its last two arguments are the map's parameter ``a`` (one
    float per row, see ``row_param``) and the literal ``code``; the selected piece gets the
    other arguments, and ``a`` too when its map has a parameter. Generated with ``exec``
    because Numba needs each implementation's exact argument list."""
    names = stub.__code__.co_varnames[:stub.__code__.co_argcount]
    head = ", ".join(names[:-2])
    args = ", ".join(names)
    src = (f"def ov({args}):\n"
           f"    fn = _select(code, piece)\n"
           f"    if fn is None:\n"
           f"        return None\n"
           f"    if _BY_CODE[code.literal_value][0].param is None:\n"
           f"        return lambda {args}: fn({head})\n"
           f"    return lambda {args}: fn({head}, {names[-2]})\n")
    namespace = {"__name__": __name__, "_select": _select, "piece": piece, "_BY_CODE": _BY_CODE}
    exec(compile(src, f"<overload of {stub.__name__}>", "exec"), namespace)
    return namespace["ov"]


def _dispatch(stub, piece):
    """Serve ``stub`` in compiled code with ``piece(map, method)`` of its literal code."""
    overload(stub, inline="always")(_make_overload(stub, piece))


def row_param(param, r, code):
    """The parameter of row ``r`` (alpha for entmax) from ``param``, an array of one value
    per row or a single value for every row; 0.0 for a map without a parameter, whose
    ``param`` is never read."""
    if _BY_CODE[code][0].param is None:
        return 0.0
    return param[r if param.shape[0] > 1 else 0]


@overload(row_param, inline="always")
def _row_param(param, r, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    if _BY_CODE[code.literal_value][0].param is None:
        return lambda param, r, code: 0.0
    return lambda param, r, code: param[r if param.shape[0] > 1 else 0]


def _call(code, fn, args, a):
    return fn(*args, a) if _BY_CODE[code][0].param is not None else fn(*args)


def row_tau(y, m, tmp, a, code):
    """``(t, k)`` of the candidates ``y[:m]`` with the method of ``code``."""
    return _call(code, _BY_CODE[code][1].kernel, (y, m, tmp), a)


def row_gather(row, buf, a, code):
    """The map's candidate pass: ``(M, m, status)``, candidates in ``buf[:m]``."""
    return _call(code, _BY_CODE[code][0].gather, (row, buf), a)


def row_forward(row, buf, tmp, a, code):
    """A row method's ``(M, t, k, status)`` of one row."""
    return _call(code, _BY_CODE[code][1].kernel, (row, buf, tmp), a)


def is_row_method(code):
    """Whether the method of ``code`` is a row method (a compile-time constant in the
    drivers)."""
    method = _BY_CODE[code][1]
    return method is not None and method.row


@overload(is_row_method, inline="always")
def _is_row_method(code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    row = is_row_method(code.literal_value)
    return lambda code: row


def writes_output(code):
    """Whether the method of ``code`` has a ``write`` kernel."""
    method = _BY_CODE[code][1]
    return method is not None and method.write is not None


def row_tau_out(row, M, y, m, tmp, out, write, a, code):
    """``(t, k, written)`` of the candidates ``y[:m]`` of ``row`` with the method of
    ``code``: its ``write`` kernel when ``write`` and it has one (``Method.write``, which
    may write the output into ``out``), else its kernel (``written`` False)."""
    method = _BY_CODE[code][1]
    if write and method.write is not None:
        return _call(code, method.write, (row, M, y, m, tmp, out), a)
    t, k = row_tau(y, m, tmp, a, code)
    return t, k, False


@overload(row_tau_out, inline="always")
def _row_tau_out(row, M, y, m, tmp, out, write, a, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    map_, method = _BY_CODE[code.literal_value]
    kernel, fused = method.kernel, method.write
    if map_.param is None:
        def plain(row, M, y, m, tmp, out, write, a, code):
            t, k = kernel(y, m, tmp)
            return t, k, False
        return plain
    if fused is None:
        def plain_a(row, M, y, m, tmp, out, write, a, code):
            t, k = kernel(y, m, tmp, a)
            return t, k, False
        return plain_a

    def either(row, M, y, m, tmp, out, write, a, code):
        if write:
            return fused(row, M, y, m, tmp, out, a)
        t, k = kernel(y, m, tmp, a)
        return t, k, False
    return either


def row_presolve(y, m, a, code):
    """The map's first step on the candidates: ``(t, k, done)``."""
    return _call(code, _BY_CODE[code][0].presolve, (y, m), a)


def row_apply(row, M, t, out, a, code):
    """The map's output of one row, written into ``out``."""
    return _call(code, _BY_CODE[code][0].apply, (row, M, t, out), a)


def takes_support(map_, method):
    """Whether the map's output after ``method`` comes from the support the method left
    (the map has ``apply_support`` and the method is ``ordered``)."""
    return map_.apply_support is not None and method is not None and method.ordered


def row_apply_support(row, M, t, y, k, vals, out, a, code):
    """The map's output of one row after its method: from the support the method left in
    ``y[:k]`` (``Map.apply_support``) where the map has that piece and the method is
    ``ordered``, else ``row_apply``."""
    map_, method = _BY_CODE[code]
    if not takes_support(map_, method):
        return row_apply(row, M, t, out, a, code)
    return _call(code, map_.apply_support, (row, M, t, y, k, vals, out), a)


@overload(row_apply_support, inline="always")
def _row_apply_support(row, M, t, y, k, vals, out, a, code):
    if not isinstance(code, types.IntegerLiteral):
        return None
    map_, method = _BY_CODE[code.literal_value]
    if not takes_support(map_, method):
        apply = map_.apply
        if map_.param is None:
            return lambda row, M, t, y, k, vals, out, a, code: apply(row, M, t, out)
        return lambda row, M, t, y, k, vals, out, a, code: apply(row, M, t, out, a)
    fn = map_.apply_support
    if map_.param is None:
        return lambda row, M, t, y, k, vals, out, a, code: fn(row, M, t, y, k, vals, out)
    return lambda row, M, t, y, k, vals, out, a, code: fn(row, M, t, y, k, vals, out, a)


def row_jvp(p, v, out, a, code):
    """The map's Jacobian-vector product at the output ``p``; returns the row's status."""
    return _call(code, _BY_CODE[code][0].jvp, (p, v, out), a)


def row_jacobian(p, out, a, code):
    """The map's dense Jacobian at the output ``p``; returns the row's status."""
    return _call(code, _BY_CODE[code][0].jacobian, (p, out), a)


_dispatch(row_tau, lambda mp, me: me.kernel)
_dispatch(row_forward, lambda mp, me: me.kernel)
_dispatch(row_gather, lambda mp, me: mp.gather)
_dispatch(row_presolve, lambda mp, me: mp.presolve)
_dispatch(row_apply, lambda mp, me: mp.apply)
_dispatch(row_jvp, lambda mp, me: mp.jvp)
_dispatch(row_jacobian, lambda mp, me: mp.jacobian)
