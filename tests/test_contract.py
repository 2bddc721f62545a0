"""The input contract: every rejected input, its exception and message
(naming the first offending row), and that nothing is written or modified on the way."""

import re

import numpy as np
import pytest
from numpy.exceptions import AxisError
from numpy.testing import assert_array_equal

from sparsetools import METHODS, sparsemax, sparsemax_threshold

ALL_METHODS = METHODS + ("auto",)
FUNCS = [sparsemax, sparsemax_threshold]


def _where(label, axis, count):
    return re.escape(f"{label} (rows run along axis {axis}; {count} bad row(s) in all)")


def _corrupt(z, axis, batch_index, kind, position=0):
    """Spoil the row ``batch_index`` (along ``axis``) of ``z`` in place."""
    row = np.moveaxis(z, axis, -1)[batch_index]  # a view
    if kind == "nan":
        row[position] = np.nan
    elif kind == "posinf":
        row[position] = np.inf
    elif kind == "neginf_row":
        row[...] = -np.inf
    else:
        raise AssertionError(kind)


MESSAGES = {
    "nan": "z contains NaN in ",
    "posinf": "z contains +inf in ",
    "neginf_row": "z has no finite entry in ",
}

# (shape, axis, bad rows as batch indices, expected label, normalised axis)
ROW_CASES = [
    ((5, 4), 1, [(3,), (4,)], "row 3", 1),
    ((5, 4), -1, [(4,), (3,)], "row 3", 1),
    ((4, 5), 0, [(4,), (3,)], "row 3", 0),
    ((5, 4), 0, [(0,)], "row 0", 0),
    ((2, 3, 4), -1, [(1, 2)], "row (1, 2)", 2),
    ((2, 3, 4), 1, [(1, 3), (1, 2)], "row (1, 2)", 1),
    ((2, 3, 4), 0, [(2, 1), (0, 3)], "row (0, 3)", 0),
    ((2, 2, 2, 3), -1, [(1, 1, 0), (1, 0, 1)], "row (1, 0, 1)", 3),
    ((2, 2, 2, 3), 2, [(1, 1, 2), (0, 1, 0), (1, 0, 0)], "row (0, 1, 0)", 2),
    ((6,), 0, [()], "the only row", 0),
    ((6,), -1, [()], "the only row", 0),
]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("kind", ["nan", "posinf", "neginf_row"])
@pytest.mark.parametrize("shape, axis, bad, label, naxis", ROW_CASES)
def test_bad_rows_named(func, kind, shape, axis, bad, label, naxis, rng):
    z = rng.normal(size=shape)
    for i, b in enumerate(bad):
        _corrupt(z, axis, b, kind, position=-1 if i % 2 else 0)
    before = z.copy()
    with pytest.raises(
        ValueError, match="^" + re.escape(MESSAGES[kind]) + _where(label, naxis, len(bad))
    ):
        func(z, axis)
    assert_array_equal(z, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("kind", ["nan", "posinf", "neginf_row"])
def test_bad_rows_every_method_and_dtype(any_method, dtype, kind, rng):
    z = rng.normal(size=(6, 9)).astype(dtype)
    _corrupt(z, -1, (4,), kind, position=5)
    _corrupt(z, -1, (2,), kind, position=8)
    for func in FUNCS:
        with pytest.raises(ValueError, match=re.escape(MESSAGES[kind]) + _where("row 2", 1, 2)):
            func(z, method=any_method)


@pytest.mark.parametrize(
    "row",
    [
        [np.nan, 1.0, 2.0],
        [1.0, 2.0, np.nan],
        [-np.inf, np.nan, -np.inf],  # NaN after and before masks
        [5.0, 4.5, np.nan],  # NaN below max - 1 of the running max
        [np.nan, np.nan, np.nan],
    ],
)
def test_nan_anywhere_in_row(contract_method, row):
    z = np.array([[0.0, 1.0, 2.0], row])
    with pytest.raises(ValueError, match=re.escape("z contains NaN in row 1")):
        sparsemax(z, method=contract_method)


@pytest.mark.parametrize("row", [[np.inf, 1.0], [1.0, np.inf], [-np.inf, np.inf], [np.inf, np.inf]])
def test_posinf_anywhere_in_row(contract_method, row):
    z = np.array([[0.0, 1.0], [2.0, 3.0], row])
    with pytest.raises(ValueError, match=re.escape("z contains +inf in row 2")):
        sparsemax(z, method=contract_method)


def test_first_bad_row_wins_whatever_its_kind():
    z = np.zeros((4, 3))
    z[1, 2] = np.inf
    z[2, 0] = np.nan
    z[3] = -np.inf
    with pytest.raises(
        ValueError, match=re.escape("z contains +inf in row 1") + r".*3 bad row\(s\)"
    ):
        sparsemax(z)
    with pytest.raises(
        ValueError, match=re.escape("z contains NaN in row 0") + r".*2 bad row\(s\)"
    ):
        sparsemax(z[2:])  # rows are numbered within the array passed
    with pytest.raises(ValueError, match=re.escape("z has no finite entry in row 1")):
        sparsemax(z[[0, 3]])


def test_all_neginf_single_entry():
    with pytest.raises(ValueError, match=re.escape("z has no finite entry in the only row")):
        sparsemax(np.array([-np.inf]))
    with pytest.raises(ValueError, match=re.escape("z has no finite entry in row 1")):
        sparsemax(np.array([[0.0], [-np.inf]]))


# --------------------------------------------------------------------------------------
# nothing is written before the error


@pytest.mark.parametrize("kind", ["nan", "posinf", "neginf_row"])
@pytest.mark.parametrize(
    "out_kind", ["same_c", "fortran", "float32", "float16", "strided", "z_itself"]
)
@pytest.mark.parametrize("axis", [0, -1])
def test_out_untouched_on_error(contract_method, kind, out_kind, axis, rng):
    z = rng.normal(size=(7, 6))
    # the bad row is the last one: every row before it is valid and could be written
    last = z.shape[0] - 1 if axis == -1 else z.shape[1] - 1
    _corrupt(z, axis, (last,), kind)
    if out_kind == "same_c":
        out = np.full(z.shape, 7.0)
    elif out_kind == "fortran":
        out = np.full(z.shape, 7.0, order="F")
    elif out_kind == "float32":
        out = np.full(z.shape, 7.0, dtype=np.float32)
    elif out_kind == "float16":
        out = np.full(z.shape, 7.0, dtype=np.float16)
    elif out_kind == "strided":
        out = np.full((14, 18), 7.0)[::2, ::3]
    else:
        out = z
    before_out = out.copy()
    before_z = z.copy()
    with pytest.raises(ValueError, match=re.escape(MESSAGES[kind])):
        sparsemax(z, axis, method=contract_method, out=out)
    assert_array_equal(out, before_out)
    assert_array_equal(z, before_z)


def test_out_untouched_when_late_row_bad_in_big_batch(contract_method, rng):
    # many rows, so the parallel driver splits them into chunks; only the last is bad
    z = rng.normal(size=(500, 8))
    z[-1, 3] = np.nan
    out = np.full_like(z, 7.0)
    with pytest.raises(ValueError, match=re.escape("z contains NaN in row 499")):
        sparsemax(z, method=contract_method, out=out)
    assert np.all(out == 7.0)


def test_readonly_input_with_error_untouched():
    z = np.zeros((3, 4))
    z[2, 1] = np.nan
    z.flags.writeable = False
    with pytest.raises(ValueError, match="NaN in row 2"):
        sparsemax(z)
    assert not z.flags.writeable and np.isnan(z[2, 1]) and np.count_nonzero(z) == 1


# --------------------------------------------------------------------------------------
# empty axis, dtypes, axes, methods


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    "shape, axis", [((0,), 0), ((0,), -1), ((3, 0), -1), ((3, 0), 1), ((0, 3), 0), ((2, 0, 4), 1)]
)
def test_empty_axis(func, shape, axis):
    with pytest.raises(ValueError, match="^z has an empty reduction axis"):
        func(np.empty(shape), axis)


BAD_DTYPES = [
    np.array([1 + 2j, 3.0]),
    np.array([1 + 2j, 3.0], dtype=np.complex64),
    np.array([1.0, 2.0], dtype=object),
    np.array(["a", "b"]),
    np.array([b"a", b"b"]),
    np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
    np.array([1, 2], dtype="timedelta64[s]"),
    np.zeros(3, dtype=[("a", "f8")]),
    [1j, 2.0],
]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("z", BAD_DTYPES, ids=lambda z: str(np.asarray(z).dtype))
def test_bad_dtype(func, z):
    with pytest.raises(TypeError, match="^z has dtype "):
        func(z)


@pytest.mark.skipif(
    np.dtype(np.longdouble) == np.dtype(np.float64), reason="longdouble is float64 here"
)
@pytest.mark.parametrize("func", FUNCS)
def test_longdouble_rejected(func):
    z = np.array([1.0, 2.0], dtype=np.longdouble)
    with pytest.raises(TypeError, match="^z has dtype "):
        func(z)


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    "z, axis",
    [
        (np.zeros((3, 4)), 2),
        (np.zeros((3, 4)), -3),
        (np.zeros(5), 1),
        (np.zeros(5), -2),
        (np.zeros((2, 3, 4)), 3),
        (np.array(2.0), 0),
        (np.array(2.0), -1),
        (np.float64(3.0), -1),
        (5, 0),
    ],
)
def test_axis_out_of_range(func, z, axis):
    with pytest.raises(AxisError):
        func(z, axis)


VALID = re.escape("valid methods are 'auto', 'sort', 'heap', 'bisect', 'condat', 'duchi', 'michelot'")


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("method", ["foo", "Sort", "", " auto", None, 0])
def test_unknown_method(func, method):
    with pytest.raises(
        ValueError, match="^" + re.escape(f"unknown method {method!r}; ") + VALID + "$"
    ):
        func(np.zeros((2, 3)), method=method)


def test_unknown_method_exact_message():
    msg = "unknown method 'foo'; valid methods are 'auto', 'sort', 'heap', 'bisect', 'condat', 'duchi', 'michelot'"
    with pytest.raises(ValueError) as info:
        sparsemax(np.zeros(3), method="foo")
    assert str(info.value) == msg


# --------------------------------------------------------------------------------------
# out=


def test_out_wrong_shape():
    z = np.zeros((3, 4))
    for shape in [(4, 3), (3, 4, 1), (12,), (3, 5)]:
        out = np.full(shape, 7.0)
        with pytest.raises(ValueError, match=re.escape("out has shape")):
            sparsemax(z, out=out)
        assert np.all(out == 7.0)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128, object])
def test_out_non_float_dtype(dtype):
    z = np.zeros((3, 4))
    out = np.ones((3, 4), dtype=dtype)
    with pytest.raises(TypeError, match="^out has dtype"):
        sparsemax(z, out=out)
    assert np.all(out == 1)


def test_out_not_an_array():
    with pytest.raises(TypeError):
        sparsemax(np.zeros((2, 2)), out=[[0.0, 0.0], [0.0, 0.0]])


def test_out_read_only():
    z = np.zeros((3, 4))
    out = np.full((3, 4), 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="^out is read-only"):
        sparsemax(z, out=out)
    assert np.all(out == 7.0)
    # a read-only input cannot be its own out
    z.flags.writeable = False
    with pytest.raises(ValueError, match="^out is read-only"):
        sparsemax(z, out=z)


def test_auto_has_its_own_kernel():
    # the rule is per row (kernels/passes.py; tests/test_sparsemax.py checks it), not per shape
    from sparsetools.kernels.passes import tau_passes
    from sparsetools.maps import MAPS

    sm = MAPS["sparsemax"]
    for n in (1, 8, 128, 8192, 10**6):
        for dtype in (np.float64, np.float32):
            entry = sm.resolve("auto", n, dtype)
            assert entry.kernel is tau_passes and entry.row and entry.name not in METHODS
    assert [sm.resolve(m, 100).name for m in METHODS] == list(METHODS)
    assert not any(sm.resolve(m, 100).row for m in METHODS)


def test_registry_codes_are_distinct_and_stable():
    """Every entry has its own code (the drivers' compile-time key), and a code depends only
    on the entry's name and its kernels' code, not on its position in the table."""
    from sparsetools import _registry
    from sparsetools.maps import MAPS

    sm = MAPS["sparsemax"]
    entries = list(sm.methods.values()) + list(sm.hidden.values())
    codes = [e.code for e in entries] + [sm.code]
    assert len(set(codes)) == len(codes)
    assert all(0 <= c < _registry.RUNTIME_CODES for c in codes)
    for e in entries:
        assert _registry.entry(e.code) == (sm, e)
        assert e.code == _registry._code(f"sparsemax/{e.name}" + ("/row" if e.row else ""), (e.kernel,))


def test_the_dispatch_key_tells_apart_every_numba_array_type():
    """``_jit.specialize`` caches entry points under ``_type_key``: two aligned arguments
    with the same key must have the same Numba type, or a call would run code compiled for
    another layout; and arrays of the same type share a key (no recompilation per call).
    The key leaves alignment out, so the contract never hands a driver an unaligned array."""
    import numba

    from sparsetools._contract import Rows, Target
    from sparsetools._jit import _type_key

    base = np.zeros((4, 6))
    ro = base.copy()
    ro.flags.writeable = False
    arrays = [base, base.T, base[:, ::2], ro, base.astype(np.float32), base[0], base[None],
              np.zeros((4, 6), np.int64), base[:, :1]]
    for a in arrays:
        for b in arrays:
            if _type_key(a) == _type_key(b):
                assert numba.typeof(a) == numba.typeof(b), (a.flags, b.flags)
    assert _type_key(np.ones((9, 2))) == _type_key(base)
    assert _type_key(True) != _type_key(1) != _type_key(1.0)
    unaligned = np.frombuffer(np.zeros(4 * 6 * 8 + 1, np.uint8).data, np.float64, 24, offset=1).reshape(4, 6)
    assert not unaligned.flags.aligned
    rows = Rows(unaligned, -1)
    assert rows.z2d.flags.aligned and Target(unaligned, rows).q2d.flags.aligned
    assert rows.rows_of(np.frombuffer(bytearray(4 * 6 * 8 + 1), np.float64, 24, offset=1).reshape(4, 6)) is None
    np.testing.assert_array_equal(sparsemax(unaligned), sparsemax(unaligned.copy()))


def test_the_short_path_of_small_calls_is_the_full_path(rng):
    """``sparsemax`` takes a short path for C-contiguous float rows along the last axis;
    it gives the bits of the full path (``out=`` goes through the full one) and its
    errors."""
    for z in (rng.normal(size=10), rng.normal(size=(32, 10)), rng.normal(size=(3, 7)).astype(np.float32)):
        full = np.empty_like(z)
        sparsemax(z, out=full)
        assert sparsemax(z).tobytes() == full.tobytes() and sparsemax(z).dtype == z.dtype
    bad = rng.normal(size=(4, 5))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"^z contains NaN in row 2 \(rows run along axis 1; 1 bad"):
        sparsemax(bad)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        sparsemax(np.zeros(3), method="nope")
