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
