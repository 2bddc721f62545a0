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
        i32 = ir.IntType(32)
        ptr = builder.bitcast(builder.gep(data, [builder.sext(iv, ir.IntType(64))]), vty.as_pointer())
        v = builder.load(ptr)
        v.align = row.dtype.bitwidth // 8
        if row.dtype.bitwidth == 32:
            v = builder.fpext(v, dty)

        def splat(x):
            one = builder.insert_element(ir.Constant(dty, ir.Undefined), x, ir.Constant(i32, 0))
            return builder.shuffle_vector(one, ir.Constant(dty, ir.Undefined),
                                          ir.Constant(ir.VectorType(i32, BLOCK), [0] * BLOCK))

        d = builder.fmul(builder.fsub(v, splat(Mv)), splat(sv))
        keep = builder.fcmp_ordered(">=", d, splat(lov))
        return builder.zext(builder.bitcast(keep, ir.IntType(BLOCK)), ir.IntType(64))

    return types.int64(row, i, M, s, lo), codegen


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
    return (x & -x).bit_length() - 1


def _py_bit_count(x):
    return bin(x & 0xFFFFFFFFFFFFFFFF).count("1")


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
