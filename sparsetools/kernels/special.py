"""Elementary functions the row kernels need in a form LLVM can vectorise.

Numba calls the C library's ``exp`` one element at a time (about 5.3 ns per call on the
development machine, with no SVML). ``exp_nonpos`` is exp written out in plain arithmetic
and integer bit operations, so the loops that call it compile to AVX2 code: 1.5 ns per
element in the same loop, within 1.01 ulp of ``np.exp`` (tests/test_activations.py checks
it). It is only used on shifted scores, x = z - max(z) <= 0, which is the case softmax
needs; there it is also exact at the ends: exp(0) = 1, exp(-inf) = 0, and results that
underflow are 0 or the right subnormal.
"""

import numpy as np
from numba.core import types
from numba.extending import overload

from .._jit import intrinsic, jit


def _py_f64_bits(x):
    return np.array(x, np.float64).view(np.int64)[()]


def _py_bits_f64(i):
    return np.array(i, np.int64).view(np.float64)[()]


@intrinsic(_py_f64_bits)
def _f64_bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a bitcast, free)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic(_py_bits_f64)
def _bits_f64(typingctx, i):
    """The float64 whose IEEE bits are the int64 ``i`` (a bitcast, free)."""
    if not isinstance(i, types.Integer) or i.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


def _py_unit_on(x):
    a = np.asarray(x)
    bits = a.view(np.int32 if a.dtype == np.float32 else np.int64)[()]
    return a.dtype.type(1.0 if bits > 0 else np.copysign(0.0, a))


@intrinsic(_py_unit_on)
def unit_on(typingctx, x):
    """The support indicator of an output entry, in its own dtype: 1.0 where x > 0 (or
    NaN: its bits as a signed integer are positive), else a zero with x's sign, the same
    value as ``min(x * 1e300 * 1e300, 1.0)`` for x >= 0. It is one comparison and two bit
    operations at x's width, so that a float32 loop that multiplies by it keeps eight
    lanes: ``jvp_row``'s float32 write pass took 0.32 ns an entry with the float64
    indicator, 0.13 with this (rows of 128 and 1024 in cache, one thread)."""
    if not (isinstance(x, types.Float) and x.bitwidth in (32, 64)):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        w = x.bitwidth
        it = ir.IntType(w)
        bits = builder.bitcast(args[0], it)
        on = builder.icmp_signed(">", bits, ir.Constant(it, 0))
        one = ir.Constant(it, 0x3F800000 if w == 32 else 0x3FF0000000000000)
        unit = builder.select(on, one, ir.Constant(it, 0))
        sign = builder.and_(bits, ir.Constant(it, 1 << (w - 1)))
        return builder.bitcast(builder.or_(unit, sign), args[0].type)

    return x(x), codegen


def is_float32(arr):
    """Whether ``arr`` is a float32 array (compiled: a constant of its type)."""
    return arr.dtype == np.float32


@overload(is_float32, inline="always")
def _is_float32(arr):
    f32 = isinstance(arr, types.Array) and arr.dtype == types.float32
    return lambda arr: f32


def _py_max_nan(a, b):
    if a != a or b != b:
        return a + b  # NaN
    if a == b:  # +0 above -0, as LLVM's maximum
        return b if np.signbit(a) else a
    return a if a > b else b


@intrinsic(_py_max_nan)
def max_nan(typingctx, a, b):
    """``max(a, b)`` that is NaN when either is NaN (LLVM's ``maximum``), for float32 and
    float64 alike. A loop ``m = max_nan(m, row[i])`` vectorises: 0.09 ns per float32 entry
    on a long row against 0.41 for ``m = x if x > m else m``, which Numba leaves a chain of
    scalar comparisons (its fast-math flags do not reach the ``select`` that LLVM would need
    to see as a max, and without them a NaN forbids the reordering)."""
    if not (isinstance(a, types.Float) and a == b and a.bitwidth in (32, 64)):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        lty = args[0].type
        name = "llvm.maximum.f32" if a.bitwidth == 32 else "llvm.maximum.f64"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty, lty]), name)
        return builder.call(fn, args)

    return a(a, a), codegen


def _py_fma(a, b, c):
    import math
    from fractions import Fraction

    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c  # an infinity or a NaN: one rounding or two agree
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:  # the sign of a zero: IEEE's, which a Fraction has lost
        return a * b + c
    try:
        return float(exact)
    except OverflowError:  # beyond the largest float: rounds to an infinity
        return math.inf if exact > 0 else -math.inf


@intrinsic(_py_fma)
def fma(typingctx, a, b, c):
    """a * b + c for float64, rounded once (LLVM's ``fma``, one instruction on FMA hardware,
    and it vectorises). ``fma(a, b, -(a * b))`` is the rounding error of the product a * b,
    exactly (unless it underflows)."""
    if not all(isinstance(v, types.Float) and v.bitwidth == 64 for v in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        lty = args[0].type
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty] * 3),
                                            "llvm.fma.f64")
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


def _py_if_positive(c, x):
    return x if c > 0.0 else 0.0


# Numba lowers a conditional expression (and the builtin ``max`` of two floats) to control
# flow, and without fast-math flags on the ``select`` LLVM does not turn it back into one
# inside a reduction, whose loop then stays scalar. ``if_positive`` emits the ``fcmp`` and
# the ``select`` itself, which vectorise to a compare and a blend (a ``vmaxpd`` with 0
# when x is c).


@intrinsic(_py_if_positive)
def if_positive(typingctx, c, x):
    """``x if c > 0 else 0.0`` for float64 c and x (a NaN c gives 0), branch-free."""
    if not all(isinstance(v, types.Float) and v.bitwidth == 64 for v in (c, x)):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        zero = ir.Constant(ir.DoubleType(), 0.0)
        return builder.select(builder.fcmp_ordered(">", args[0], zero), args[1], zero)

    return types.float64(types.float64, types.float64), codegen


@jit(inline=True)
def positive_part(x):
    """``x if x > 0 else 0.0`` (NaN and -0 give +0), branch-free (``if_positive``)."""
    return if_positive(x, x)


#: Lanes of ``block_mask``: 16 entries, one 512-bit vector of float32, two of float64.
BLOCK = 16


def _py_block_mask(row, i, M, s, lo):
    v = (np.asarray(row[i:i + BLOCK], np.float64) - M) * s
    return int(np.dot(v >= lo, 1 << np.arange(BLOCK)))


@intrinsic(_py_block_mask)
def block_mask(typingctx, row, i, M, s, lo):
    """Bit j set where ``(float64(row[i + j]) - M) * s >= lo``, for j < ``BLOCK``: the
    same arithmetic as a scalar loop, on one vector load of a C-contiguous row (the caller
    makes sure ``i + BLOCK <= len(row)``). A few vector instructions for 16 entries, so a
    pass over a long row that keeps a few of them costs little more than reading it."""
    if not (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"
            and isinstance(row.dtype, types.Float) and row.dtype.bitwidth in (32, 64)
            and isinstance(i, types.Integer)
            and all(isinstance(x, types.Float) and x.bitwidth == 64 for x in (M, s, lo))):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        rowv, iv, Mv, sv, lov = args
        data = context.make_array(signature.args[0])(context, builder, rowv).data
        elem = context.get_value_type(row.dtype)
        vty = ir.VectorType(elem, BLOCK)
        dty = ir.VectorType(ir.DoubleType(), BLOCK)
        ptr = builder.bitcast(builder.gep(data, [builder.sext(iv, ir.IntType(64))]), vty.as_pointer())
        v = builder.load(ptr)
        v.align = row.dtype.bitwidth // 8
        if row.dtype.bitwidth == 32:
            v = builder.fpext(v, dty)

        d = builder.fmul(builder.fsub(v, _splat(builder, Mv, dty)), _splat(builder, sv, dty))
        keep = builder.fcmp_ordered(">=", d, _splat(builder, lov, dty))
        return builder.zext(builder.bitcast(keep, ir.IntType(BLOCK)), ir.IntType(64))

    return types.int64(row, i, M, s, lo), codegen


def short_row_ok(row):
    """Whether ``row`` is a type the masked short-row intrinsics take: a C-contiguous 1-D
    float32 or float64 array (the caller checks ``len(row) <= BLOCK`` at run time)."""
    return (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"
            and isinstance(row.dtype, types.Float) and row.dtype.bitwidth in (32, 64))


def _masked_row(context, builder, row, rowv):
    """The row's entries as one ``<BLOCK x dtype>`` vector: a masked load of its first
    ``len(row)`` entries (no fault is possible on the lanes masked off, however near the
    end of mapped memory the row lies), -inf in the other lanes."""
    from llvmlite import ir
    from numba.core import cgutils

    ary = context.make_array(row)(context, builder, rowv)
    n = builder.extract_value(ary.shape, 0)
    elem = context.get_value_type(row.dtype)
    vty = ir.VectorType(elem, BLOCK)
    i64 = ir.IntType(64)
    lanes = ir.Constant(ir.VectorType(i64, BLOCK), list(range(BLOCK)))
    mask = builder.icmp_signed("<", lanes, _splat(builder, n, ir.VectorType(i64, BLOCK)))
    name = f"llvm.masked.load.v{BLOCK}f{row.dtype.bitwidth}.p0"
    fnty = ir.FunctionType(vty, [vty.as_pointer(), ir.IntType(32), mask.type, vty])
    load = cgutils.get_or_insert_function(builder.module, fnty, name)
    ptr = builder.bitcast(ary.data, vty.as_pointer())
    ninf = ir.Constant(vty, [float("-inf")] * BLOCK)
    return builder.call(load, [ptr, ir.Constant(ir.IntType(32), row.dtype.bitwidth // 8), mask, ninf])


def _splat(builder, x, vty):
    from llvmlite import ir

    i32 = ir.IntType(32)
    one = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(i32, 0))
    return builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined),
                                  ir.Constant(ir.VectorType(i32, vty.count), [0] * vty.count))


def _py_short_max(row):
    m = row.dtype.type(-np.inf)
    for x in row:
        m = _py_max_nan(m, x)
    return m


@intrinsic(_py_short_max)
def short_max(typingctx, row):
    """The max of a C-contiguous row of at most ``BLOCK`` entries, in its dtype, NaN if it
    holds a NaN (``max_nan``'s rule): one masked vector load and one vector reduction,
    where the loop ``m = max_nan(m, row[i])`` is scalar on rows shorter than the vector
    loop's 16 entries."""
    if not short_row_ok(row):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        v = _masked_row(context, builder, row, args[0])
        elem = v.type.element
        name = f"llvm.vector.reduce.fmaximum.v{BLOCK}f{row.dtype.bitwidth}"
        red = cgutils.get_or_insert_function(builder.module, ir.FunctionType(elem, [v.type]), name)
        return builder.call(red, [v])

    return row.dtype(row), codegen


def _py_short_sums(row, M, s, t):
    y = (np.asarray(row, np.float64) - M) * (1.0 if s is None else s)
    keep = y - t > 0.0
    return float(np.sum(y[keep])), float(np.count_nonzero(keep))


@intrinsic(_py_short_sums)
def short_sums(typingctx, row, M, s, t):
    """``passes.step_sums`` of a C-contiguous row of at most ``BLOCK`` entries: ``(sum,
    count)`` of ``y = (float64(row) - M) * s`` over the entries with ``y - t > 0`` (s None:
    no scaling), on one masked vector load, the sums in float64 as a tree of the 16 lanes.
    The vectorised loop of ``step_sums`` takes 16 entries a step, so rows shorter than that
    ran it as scalar code."""
    unscaled = isinstance(s, (types.NoneType, types.Omitted))
    if not (short_row_ok(row) and all(isinstance(x, types.Float) and x.bitwidth == 64 for x in (M, t))
            and (unscaled or (isinstance(s, types.Float) and s.bitwidth == 64))):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir
        from numba.core import cgutils

        rowv, Mv, sv, tv = args
        f64 = ir.DoubleType()
        dty = ir.VectorType(f64, BLOCK)
        v = _masked_row(context, builder, row, rowv)
        if row.dtype.bitwidth == 32:
            v = builder.fpext(v, dty)
        y = builder.fsub(v, _splat(builder, Mv, dty))
        if not unscaled:
            y = builder.fmul(y, _splat(builder, sv, dty))
        zero = ir.Constant(dty, [0.0] * BLOCK)
        keep = builder.fcmp_ordered(">", builder.fsub(y, _splat(builder, tv, dty)), zero)
        red = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f64, [f64, dty]),
                                             f"llvm.vector.reduce.fadd.v{BLOCK}f64")
        start = ir.Constant(f64, -0.0)
        S = builder.call(red, [start, builder.select(keep, y, zero)], fastmath=("reassoc",))
        c = builder.call(red, [start, builder.select(keep, ir.Constant(dty, [1.0] * BLOCK), zero)],
                         fastmath=("reassoc",))
        return context.make_tuple(builder, signature.return_type, (S, c))

    return types.UniTuple(types.float64, 2)(row, M, s, t), codegen


def _bit_intrinsic(name, llvm_name, doc, python_impl, zero_undefined=False):
    """An intrinsic ``int64 f(int64)`` that is the LLVM bit-counting intrinsic
    ``llvm_name`` (whose second argument, for ``cttz``, says a zero input is undefined)."""

    def typer(typingctx, x):
        if not isinstance(x, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            from llvmlite import ir
            from numba.core import cgutils

            i64 = ir.IntType(64)
            call = [context.cast(builder, args[0], signature.args[0], types.int64)]
            if zero_undefined:
                call.append(ir.Constant(ir.IntType(1), 1))
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(i64, [c.type for c in call]), llvm_name)
            return builder.call(fn, call)

        return types.int64(x), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(python_impl)(typer)


def _py_lowest_bit(x):
    x = int(x)  # a NumPy integer has no bit_length
    return (x & -x).bit_length() - 1


def _py_bit_count(x):
    return bin(int(x) & 0xFFFFFFFFFFFFFFFF).count("1")


lowest_bit = _bit_intrinsic("lowest_bit", "llvm.cttz.i64",
                            "The index of the lowest set bit of a nonzero int64 (``tzcnt``).",
                            _py_lowest_bit, zero_undefined=True)
bit_count = _bit_intrinsic("bit_count", "llvm.ctpop.i64",
                           "The number of set bits of an int64 (``popcnt``).", _py_bit_count)


# Round-to-nearest-integer by adding 1.5 * 2**52: the sum's low mantissa bits are the
# integer, and its bits minus the shifter's bits are that integer as an int64.
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that n * _LN2_HI is exact for |n| < 2**11
_LN2_LO = 1.9082149292705877e-10


@jit(contract=True, inline=True)
def exp_nonpos(x):
    """exp(x) for x <= 0 (and -inf), within about 1 ulp; vectorisable.

    x = n ln2 + r with |r| <= ln2 / 2; e^r by its Taylor series to degree 13 (the first
    omitted term is below 4e-18 on that interval), times 2**n built from its bits. 2**n is
    applied as two factors 2**(n // 2) and 2**(n - n // 2) so that exponents down to -1558
    stay representable and the product underflows to subnormals and 0 correctly. x is
    clamped at -1080 (exp(-1080) is 0 in float64), which also maps -inf to 0.
    """
    x = max(x, -1080.0)
    kd = x * _LOG2E + _SHIFTER
    n = kd - _SHIFTER
    ni = _f64_bits(kd) - _SHIFTER_BITS
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    h = ni >> 1
    return p * _bits_f64((h + 1023) << 52) * _bits_f64((ni - h + 1023) << 52)


_SQRT2_MANT = 0x6A09E667F3BCD  # the mantissa bits of sqrt(2): mantissas above it are halved
_MANT_MASK = 0x000FFFFFFFFFFFFF
_TWO54 = 2.0**54
_TINY = 2.0**-1022


@jit(contract=True, inline=True)
def log_pos(x):
    """log(x) for x >= 0 (log(0) = -inf), within about 1 ulp; vectorisable.

    x = 2^e m with m in [sqrt(1/2), sqrt(2)) read from its bits (a subnormal is first
    scaled by 2^54); log m = 2 atanh(u), u = (m - 1) / (m + 1), |u| <= 0.172, by its odd
    series to u^23 (the first omitted term is below 1e-18 relative); e ln 2 is added in two
    parts. Only the kernels' d in [0, 1] and the like need it: +inf and NaN are not handled.
    """
    sub = x < _TINY
    xs = x * _TWO54 if sub else x
    bits = _f64_bits(xs)
    e = (bits >> 52) - 1023
    mant = bits & _MANT_MASK
    big = mant > _SQRT2_MANT
    e = e + big - (54 if sub else 0)
    m = _bits_f64(mant | ((1022 if big else 1023) << 52))
    u = (m - 1.0) / (m + 1.0)
    u2 = u * u
    p = 2.0 / 23.0
    p = p * u2 + 2.0 / 21.0
    p = p * u2 + 2.0 / 19.0
    p = p * u2 + 2.0 / 17.0
    p = p * u2 + 2.0 / 15.0
    p = p * u2 + 2.0 / 13.0
    p = p * u2 + 2.0 / 11.0
    p = p * u2 + 2.0 / 9.0
    p = p * u2 + 2.0 / 7.0
    p = p * u2 + 2.0 / 5.0
    p = p * u2 + 2.0 / 3.0
    p = p * u2 + 2.0
    ef = _bits_f64(e + _SHIFTER_BITS) - _SHIFTER  # e as a float (no int64 conversion: AVX2 has none)
    r = ef * _LN2_HI + (p * u + ef * _LN2_LO)
    return r if x > 0.0 else -np.inf


@jit(inline=True)
def pow_unit(d, b):
    """d^b for d in [0, 1] and b > 0 (so the exponent b log d is <= 0): exp_nonpos of
    b log_pos(d), vectorisable; 0 for d = 0. Within a few ulps (the error of the exponent,
    a few ulps of b log d, is amplified by its size: |b log d| <= 745 where d^b is not 0).

    A zero d is given the exponent 0 and its result replaced by 0 afterwards: computing
    exp(-inf) in the vector lanes of the many zeros of a sparse row made products that
    underflow to subnormals, which cost microcode assists (11 ns an entry instead of 3.7)."""
    on = d > 0.0
    x = b * log_pos(d) if on else 0.0
    r = exp_nonpos(x)
    return r if on else 0.0


# ---------------------------------------------------------------------------------------
# float32 powers, for rows whose output is float32: eight lanes of an AVX2 vector instead
# of four, and shorter series. Numba widens integer arithmetic on int32 to int64, so the
# bit manipulations are written as intrinsics that stay in 32 bits.

_F32_MANT = 0x7FFFFF
_F32_SQRT2_MANT = 0x3504F3  # the mantissa bits of sqrt(2) in float32
_F32_SHIFTER = np.float32(12582912.0)  # 1.5 * 2**23: rounds a float32 to an integer
_F32_SHIFTER_BITS = 0x4B400000


def _py_bits32(x):
    return int(np.array(x, np.float32).view(np.int32)[()])


def _py_float32(i):
    return np.array(i, np.int32).view(np.float32)[()]


def _py_mant32(x):
    mant = _py_bits32(x) & _F32_MANT
    return _py_float32(mant | ((126 if mant > _F32_SQRT2_MANT else 127) << 23))


def _py_expo32(x):
    b = _py_bits32(x)
    return np.float32((b >> 23) - 127 + ((b & _F32_MANT) > _F32_SQRT2_MANT))


def _py_scale32(p, kd):
    return np.float32(p * _py_float32((_py_bits32(kd) - _F32_SHIFTER_BITS + 127) << 23))


def _float32_args(*xs):
    return all(isinstance(x, types.Float) and x.bitwidth == 32 for x in xs)


def _ir_mantissa(builder, x):
    """(bits, mantissa bits, whether the mantissa is above sqrt(2)'s) of a float32 value."""
    from llvmlite import ir

    i32 = ir.IntType(32)
    bits = builder.bitcast(x, i32)
    mant = builder.and_(bits, ir.Constant(i32, _F32_MANT))
    return bits, mant, builder.icmp_signed(">", mant, ir.Constant(i32, _F32_SQRT2_MANT))


@intrinsic(_py_mant32)
def _mant32(typingctx, x):
    """m in [sqrt(1/2), sqrt(2)) with x = 2^e m, for a positive normal float32 x."""
    if not _float32_args(x):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i32 = ir.IntType(32)
        _, mant, big = _ir_mantissa(builder, args[0])
        ex = builder.select(big, ir.Constant(i32, 126 << 23), ir.Constant(i32, 127 << 23))
        return builder.bitcast(builder.or_(mant, ex), ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic(_py_expo32)
def _expo32(typingctx, x):
    """e, as a float32, with x = 2^e m and m in [sqrt(1/2), sqrt(2)) (x positive, normal)."""
    if not _float32_args(x):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i32 = ir.IntType(32)
        bits, _, big = _ir_mantissa(builder, args[0])
        e = builder.sub(builder.ashr(bits, ir.Constant(i32, 23)), ir.Constant(i32, 127))
        return builder.sitofp(builder.add(e, builder.zext(big, i32)), ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic(_py_scale32)
def _scale32(typingctx, p, kd):
    """p 2^n, n the integer held in the low bits of kd = x log2(e) + 1.5 2^23 (for
    -126 <= n <= 127)."""
    if not _float32_args(p, kd):
        return None

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        i32 = ir.IntType(32)
        n = builder.sub(builder.bitcast(args[1], i32), ir.Constant(i32, _F32_SHIFTER_BITS))
        scale = builder.shl(builder.add(n, ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.fmul(args[0], builder.bitcast(scale, ir.FloatType()))

    return types.float32(types.float32, types.float32), codegen


_f32 = np.float32
_F32_ONE = _f32(1.0)
_F32_ZERO = _f32(0.0)
_F32_LOG2E = _f32(_LOG2E)
_F32_LN2_HI = _f32(0.693145751953125)  # 16 bits: n * _F32_LN2_HI is exact for |n| < 2**7
_F32_LN2_LO = _f32(1.4286068203094172e-06)
# exp(-86) is normal in float32 and so is every partial product below: no subnormals
_F32_EXP_FLOOR = _f32(-86.0)
_F32_TINY = _f32(2.0**-126)
_F32_EXP = tuple(_f32(1.0 / c) for c in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0))
_F32_LOG = tuple(_f32(2.0 / c) for c in (9.0, 7.0, 5.0, 3.0, 1.0))
_E7, _E6, _E5, _E4, _E3, _E2, _E1, _E0 = _F32_EXP
_L9, _L7, _L5, _L3, _L1 = _F32_LOG


@jit(contract=True, inline=True)
def _exp32(x):
    """exp(x) of a float32 x <= 0 in float32 arithmetic, for x >= -86 (below, exp(-86)):
    x = n ln2 + r, |r| <= ln2 / 2, e^r by its Taylor series to degree 7 (the first omitted
    term is below 6e-9)."""
    x = max_nan(x, _F32_EXP_FLOOR)
    kd = x * _F32_LOG2E + _F32_SHIFTER
    n = kd - _F32_SHIFTER
    r = (x - n * _F32_LN2_HI) - n * _F32_LN2_LO
    p = _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + _E1
    p = p * r + _E0
    return _scale32(p, kd)


@jit(contract=True, inline=True)
def _log32(x):
    """log(x) of a positive normal float32 in float32 arithmetic: x = 2^e m,
    m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(u), u = (m - 1) / (m + 1), by its odd series
    to u^9 (the first omitted term is below 1e-9)."""
    m = _mant32(x)
    u = (m - _F32_ONE) / (m + _F32_ONE)
    u2 = u * u
    p = _L9
    p = p * u2 + _L7
    p = p * u2 + _L5
    p = p * u2 + _L3
    p = p * u2 + _L1
    e = _expo32(x)
    return e * _F32_LN2_HI + (p * u + e * _F32_LN2_LO)


@jit(inline=True)
def split32(d):
    """``(x, c)``, two float32s, for a float64 d in [0, 1]: x = d rounded to float32 (at
    least 2^-126) and c = d - x rounded to float32, the arguments of ``pow32_split``."""
    x = max_nan(_f32(d), _F32_TINY)
    return x, _f32(d - np.float64(x))


@jit(contract=True, inline=True)
def pow32_split(x, c, b):
    """d^b from d's halves ``split32(d)`` and a float32 b, all in float32:
    exp(b (log x + c / x)), where log d = log x + c / x to within (c / x)^2 / 2 < 2^-49.

    A loop of float32 values alone takes eight lanes of an AVX2 vector. One that also
    carries float64 values (d itself, float64 sums) is vectorised four lanes wide, the
    width of its float64 part, and its long chain of dependent steps (two divisions, the
    two series) is then what limits it; so a pass that has float64 around the power does
    better splitting d in one loop (``split32``), taking the powers in a loop of their
    own, and summing in a third (``kernels.entmax._sums3``: N(0, 1) candidates at
    alpha = 1.3, 84 entries, 227 ns against 358 in one loop)."""
    return _exp32(b * (_log32(x) + c / x))


@jit(contract=True, inline=True)
def pow32_of32(x, b):
    """x^b for a float32 x in [0, 1] (0 or normal) and a float32 b > 0, all in float32:
    ``pow_unit32`` of a d that is already a float32 (its split's second half is 0), the
    same bits, in a loop that can keep to float32 values (eight lanes). 0 for x = 0."""
    r = _exp32(b * _log32(max_nan(x, _F32_TINY)))
    return r if x > _F32_ZERO else _F32_ZERO


@jit(contract=True, inline=True)
def pow_unit32(d, b):
    """d^b for a float64 d in [0, 1] and a float32 b > 0, in float32 arithmetic: the float32
    counterpart of ``pow_unit``, for rows whose output is float32. d is rounded to float32
    and the rounding put back as a first-order term of the logarithm (``split32``,
    ``pow32_split``, which are this function in two steps), so the error is that of a
    float32 exponent b log d: within 4 (1 + |log(d^b)|) 2^-24 relative
    (``tests/test_entmax.py`` checks the bound; 3.7 was the most seen), which keeps an
    absolute error below 2^-23 since x |log x| <= 1/e.
    0 for d = 0; a d^b below exp(-86) gives exp(-86), never 0, so that an entry with d > 0
    stays nonzero; d below float32's normal range (2^-126) counts as 2^-126, which is
    harmless only for b >= 1."""
    on = d > 0.0
    x, c = split32(d)
    r = np.float64(pow32_split(x, c, b))
    return r if on else 0.0
