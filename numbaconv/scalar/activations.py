"""Activation functions and their derivatives, each formula written once.

Every function here is a plain Python function of a scalar ``x`` and up to
two parameters ``a``, ``b`` in ``x``'s dtype (defaults 0; functions without
parameters ignore them, so every formula can be called as ``f(x, a, b)``).
They are registered with :func:`numba.extending.register_jitable`, so the
same source compiles inside the ``@njit`` CPU kernels, inside ``@cuda.jit``
kernels, and runs as plain Python under the CUDA simulator.

Numerics
--------
* Constants go through :func:`K` so float32 stays float32 (a bare ``0.5``
  would promote the whole formula to float64).
* Every exponential is of a non-positive argument (``exp(-|x|)``), so nothing
  overflows; ``log1p``/``expm1`` avoid cancellation near 0; limits are
  returned at +-inf where ``inf * 0`` would give NaN. NaN handling is the
  engine's job: it returns NaN wherever ``x`` is NaN, for f and f' alike.
* :func:`fexp` is ``math.exp``, except in CPU kernels, where it is a
  branch-free range reduction + polynomial that LLVM vectorises (numba's
  ``math.exp`` is a scalar libm call there, 5x slower in float32, 4-8x in
  float64). It is within 2 ulp of the correctly rounded result in float32
  (tested against NumPy in float64), within 1 ulp in float64 (against NumPy's
  extended precision); :func:`fexpm1`, :func:`ftanh`, :func:`flog1p_unit` and
  the normal CDF (gelu's) have such forms in both dtypes too.

:data:`ELEMENTWISE` maps each activation's kernel name to its two formulas and
its parameters (:class:`Spec`): the CUDA engine and the benchmarks read it.
"""

# Numba: an @intrinsic is called without its first parameter (the typing context Numba
# passes); numba's stub types the call with it, so every intrinsic call is a false positive:
# pyright: reportCallIssue=false

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794
_SQRT_2_OVER_PI = 0.79788456080286535588
_GELU_K = 0.044715


# --------------------------------------------------------------------------- helpers


def K(x, v):
    """The constant ``v`` in ``x``'s floating type (float32 stays float32)."""
    return type(x)(v)


@overload(K, inline="always")
def _K_jit(x, v):
    t = x

    def impl(x, v):
        return t(v)

    return impl


def K_like(arr, v):
    """The constant ``v`` in ``arr``'s element type (a kernel's parameter, say)."""
    return arr.dtype.type(v)


@overload(K_like, inline="always")
def _K_like_jit(arr, v):
    t = arr.dtype

    def impl(arr, v):
        return t(v)

    return impl


def fexp(x):
    """``exp(x)``; vectorisable in float32 CPU kernels (see module notes)."""
    return math.exp(x)


@intrinsic
def _int32_bits_as_float32(typingctx, i):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def _fma32(typingctx, a, b, c):
    # a * b + c rounded once: one vectorisable instruction on FMA hardware. Written out where
    # wanted rather than letting LLVM contract (fastmath 'contract'), so the rounding never
    # depends on what LLVM merged, and f, f' and the fused f-and-f' kernels agree bitwise.
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@intrinsic
def _fma64(typingctx, a, b, c):
    # _fma32 for float64
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@intrinsic
def maxnum(typingctx, a, b):
    """IEEE ``maxNum(a, b)`` of two floats of one type: the larger, and the other one where
    one is NaN (LLVM's ``llvm.maxnum``). A loop reducing with it vectorises, unlike one with
    ``a if a > b else b``, and its result does not depend on the order."""
    sig = a(a, b)

    def codegen(context, builder, signature, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [t], ir.FunctionType(t, [t, t]))
        return builder.call(fn, args)

    return sig, codegen


@overload(fexp, target="generic")
def _fexp_generic(x):
    return lambda x: math.exp(x)


_LN2_HI = 0.693145751953125  # 22713 / 2**15: n * _LN2_HI is exact for |n| < 2**9
_LN2_LO = 1.428606765330187e-06  # ln 2 - _LN2_HI


# The float32 helpers below serve the CPU kernels only. They are marked for LLVM to inline
# (forceinline: LLVM's alwaysinline): a call left in a kernel's loop stops it vectorising,
# and whether LLVM inlines an unmarked one depends on what else the caller holds. Numba's
# IR-level inline='always' gave the same machine code at many times the compile time.


def _exp_poly_32(r):
    # exp(r) for |r| <= ln2 / 2 (a little beyond is fine): 1 + r + r**2 q(r), q of degree 5
    # in Estrin's scheme (3 dependent FMAs, not Horner's 6; 7% faster, as accurate)
    r2 = r * r
    a = _fma32(np.float32(1.6666665459e-1), r, np.float32(5.0000001201e-1))
    b = _fma32(np.float32(8.3334519073e-3), r, np.float32(4.1665795894e-2))
    d = _fma32(np.float32(1.9875691500e-4), r, np.float32(1.3981999507e-3))
    q = _fma32(_fma32(d, r2, b), r2, a)
    return _fma32(q, r2, r) + np.float32(1.0)


register_jitable(forceinline=True)(_exp_poly_32)


def _exp_scaled_32(r, n):
    # exp(r) 2**n for |r| <= ln2 / 2 (a little beyond is fine) and integral n in [-159, 128]
    p = _exp_poly_32(r)
    ni = np.int32(n)  # scale by 2**n in two normal halves (the result may be subnormal)
    h = ni >> np.int32(1)
    s1 = _int32_bits_as_float32((h + np.int32(127)) << np.int32(23))
    s2 = _int32_bits_as_float32((ni - h + np.int32(127)) << np.int32(23))
    return p * s1 * s2


register_jitable(forceinline=True)(_exp_scaled_32)


def _exp_32(x):
    # clamp (comparisons are False for NaN, so NaN passes through)
    xc = x
    if xc > np.float32(89.0):
        xc = np.float32(89.0)
    if xc < np.float32(-110.0):
        xc = np.float32(-110.0)
    # n = round(x / ln2) with the 1.5 * 2**23 trick (no libm call)
    n = _fma32(xc, np.float32(1.4426950408889634), np.float32(12582912.0)) - np.float32(12582912.0)
    r = _fma32(-n, np.float32(_LN2_HI), xc)  # Cody-Waite: ln2 in two parts
    r = _fma32(-n, np.float32(_LN2_LO), r)
    return _exp_scaled_32(r, n)


def _exp_hilo_32(hi, lo):
    # exp(hi + lo) without rounding hi + lo: hi a multiple of 2**-17 in [-128, 0], |lo| < 2.
    # hi - n * _LN2_HI is then exact, so the result keeps its relative accuracy even where
    # hi + lo would have lost lo's low bits (the far tails of exp(-x^2 / 2)).
    a = hi + lo
    ac = a if a > np.float32(-104.0) else np.float32(-104.0)  # exp(-104) rounds to 0 already
    n = _fma32(ac, np.float32(1.4426950408889634), np.float32(12582912.0)) - np.float32(12582912.0)
    r = _fma32(-n, np.float32(_LN2_HI), hi) + _fma32(-n, np.float32(_LN2_LO), lo)
    y = _exp_scaled_32(r, n)
    return y if a > np.float32(-104.0) else np.float32(0.0)


#: ln(2**-126): below it exp(x) leaves float32's normal range
_LN_TINY_32 = -87.33654475


def _exp_nonpos_32(x):
    # exp(x) for x <= 0 (or NaN) with one scaling by 2**n: 0 where exp(x) < 2**-126 (the
    # normal range ends there), the same polynomial as _exp_32 above it. A third fewer
    # instructions than _exp_32; NaN passes through (comparisons are False for NaN).
    tiny = x < np.float32(_LN_TINY_32)
    xc = np.float32(_LN_TINY_32) if tiny else x
    n = _fma32(xc, np.float32(1.4426950408889634), np.float32(12582912.0)) - np.float32(12582912.0)
    r = _fma32(-n, np.float32(_LN2_HI), xc)
    r = _fma32(-n, np.float32(_LN2_LO), r)
    s = _int32_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
    y = _exp_poly_32(r) * s
    return np.float32(0.0) if tiny else y


register_jitable(forceinline=True)(_exp_32)
register_jitable(forceinline=True)(_exp_hilo_32)
register_jitable(forceinline=True)(_exp_nonpos_32)


@overload(fexp, target="cpu", jit_options={"forceinline": True})
def _fexp_cpu(x):
    if x == types.float64:
        return _exp_64
    if x != types.float32:
        return lambda x: math.exp(x)
    return _exp_32


def fexp_nonpos(x):
    """``exp(x)`` for ``x <= 0`` (softmax's ``x - max``); in float32 CPU kernels a faster form
    that gives 0 below float32's normal range (``exp(x) < 2**-126``, ``x < -87.34``)."""
    return math.exp(x)


@overload(fexp_nonpos, target="generic")
def _fexp_nonpos_generic(x):
    return lambda x: math.exp(x)


@overload(fexp_nonpos, target="cpu", jit_options={"forceinline": True})
def _fexp_nonpos_cpu(x):
    if x == types.float64:
        return _exp_64
    if x != types.float32:
        return lambda x: math.exp(x)
    return _exp_nonpos_32


@intrinsic
def _float64_bits(typingctx, x):
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _int64_bits_as_float64(typingctx, i):
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_SQRT2 = 1.4142135623730951
_LN2_HI_64 = 6.93147180369123816490e-01  # ln 2 split: the high part times any exponent
_LN2_LO_64 = 1.90821492927058770002e-10  # below 2**11 is exact


def _log_ge1_64(v):
    # log(v) for v >= 1 (or NaN): v = 2**k m with m in [sqrt(2)/2, sqrt(2)), log m = 2 atanh(s),
    # s = (m - 1) / (m + 1), |s| < 0.172: odd series to s**21 (truncation < 1e-17 relative).
    # Branch-free, so a loop over row sums vectorises; within a few ulp of libm's log.
    b = _float64_bits(v)
    k = (b >> np.int64(52)) - np.int64(1023)
    m = _int64_bits_as_float64((b & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))
    up = m > _SQRT2
    m = m * 0.5 if up else m
    kf = _int64_as_float64(k + np.int64(1) if up else k)
    f = m - 1.0
    t = f / (m + 1.0)
    t2 = t * t
    p = 1.0 / 21.0
    p = p * t2 + 1.0 / 19.0
    p = p * t2 + 1.0 / 17.0
    p = p * t2 + 1.0 / 15.0
    p = p * t2 + 1.0 / 13.0
    p = p * t2 + 1.0 / 11.0
    p = p * t2 + 1.0 / 9.0
    p = p * t2 + 1.0 / 7.0
    p = p * t2 + 1.0 / 5.0
    p = p * t2 + 1.0 / 3.0
    r = kf * _LN2_HI_64 + (2.0 * (t + t * t2 * p) + kf * _LN2_LO_64)
    return v if v != v else r


register_jitable(forceinline=True)(_log_ge1_64)


# The float64 forms of the CPU kernels' exponentials, for the same reason as the float32
# ones: numba's math.exp / expm1 / tanh / log1p are scalar libm calls, which keep a kernel's
# loop from vectorising (float64 sigmoid of 200k elements 4.8 ns an element, 6-8x PyTorch's
# time). Branch-free (both sides computed, then selected) and within a few ulp of libm.

#: 1 / k! for k = 0 to 16: exp's and expm1's Taylor coefficients
_INV_FACT_64 = tuple(1.0 / math.factorial(k) for k in range(17))
_ROUND_64 = 6755399441055744.0  # 1.5 * 2**52: x + it - it rounds x to an integer
_ROUND_64_BITS = 0x4338000000000000  # its bits: an integer n with |n| < 2**51 added to it
#                                      sits in the low bits of the sum


def _float64_as_int64(n):
    # an integral float64 |n| < 2**51 as an int64, from the bits of n + 1.5 * 2**52: no
    # float64 -> int64 conversion, which AVX2 lacks (AVX-512DQ has it): LLVM converted each
    # lane with scalar code and then left some loops scalar altogether (silu float64 7.5 ns
    # an element on Zen 3, PyTorch 1.6)
    return _float64_bits(n + _ROUND_64) - np.int64(_ROUND_64_BITS)


def _int64_as_float64(k):
    # an int64 |k| < 2**51 as a float64, the same way back (no int64 -> float64 conversion)
    return _int64_bits_as_float64(k + np.int64(_ROUND_64_BITS)) - _ROUND_64


register_jitable(forceinline=True)(_float64_as_int64)
register_jitable(forceinline=True)(_int64_as_float64)


def _taylor_quads_64(x, x2) -> tuple[float, float, float]:
    """Estrin's first two levels for the exponential's Taylor terms 2 to 13: the sums of
    terms 2-5, 6-9 and 10-13 as polynomials in ``x`` (``x2 = x * x``), each from pairs of
    terms."""
    c = _INV_FACT_64
    a = _fma64(_fma64(c[5], x, c[4]), x2, _fma64(c[3], x, c[2]))
    b = _fma64(_fma64(c[9], x, c[8]), x2, _fma64(c[7], x, c[6]))
    d = _fma64(_fma64(c[13], x, c[12]), x2, _fma64(c[11], x, c[10]))
    return a, b, d


register_jitable(forceinline=True)(_taylor_quads_64)


def _exp_poly_64(r):
    # exp(r) for |r| <= ln2 / 2 (a little beyond is fine): Taylor to r**13 / 13! (the rest
    # below 5e-18 relative) as 1 + r + r**2 q(r), q in Estrin's scheme (pairs of terms, then
    # pairs of pairs by r**2, then by r**4): 5 dependent steps where Horner's rule took 13,
    # whose latency (4 cycles an FMA) the loop waited on (float64 exp 13% faster on Zen 3;
    # as accurate, within 1 ulp of libm)
    r2 = r * r
    r4 = r2 * r2
    a, b, d = _taylor_quads_64(r, r2)
    q = _fma64(_fma64(d, r4, b), r4, a)
    return _fma64(q, r2, r) + 1.0


def _exp_64(x):
    # clamped to [-746, 710] (exp is 0 and inf beyond; comparisons are False for NaN, so NaN
    # passes through), n = round(x / ln2), r = x - n ln2 in two parts, exp(r) 2**n with
    # 2**n applied in two normal halves (the result may be subnormal)
    xc = x
    if xc > 710.0:
        xc = 710.0
    if xc < -746.0:
        xc = -746.0
    n = _fma64(xc, 1.4426950408889634, _ROUND_64) - _ROUND_64
    r = _fma64(-n, _LN2_HI_64, xc)
    r = _fma64(-n, _LN2_LO_64, r)
    return _exp_scaled_64(r, n)


def _exp_scaled_64(r, n):
    # exp(r) 2**n for |r| <= ln2 / 2 (a little beyond is fine) and integral n in
    # [-1077, 1025], 2**n applied in two normal halves (the result may be subnormal)
    ni = _float64_as_int64(n)
    h = ni >> np.int64(1)
    s1 = _int64_bits_as_float64((h + np.int64(1023)) << np.int64(52))
    s2 = _int64_bits_as_float64((ni - h + np.int64(1023)) << np.int64(52))
    return _exp_poly_64(r) * s1 * s2


def _expm1_64(x):
    # Taylor to x**16 / 16! for |x| < 1/2 (the rest below 2e-18 relative), Estrin's scheme
    # as in _exp_poly_64; exp(x) - 1 beyond (no cancellation there: |expm1(x)| > 0.39)
    x2 = x * x
    x4 = x2 * x2
    a, b, d = _taylor_quads_64(x, x2)
    c = _INV_FACT_64
    e = _fma64(c[16], x2, _fma64(c[15], x, c[14]))  # 14 to 16
    p = _fma64(_fma64(e, x4, d), x4 * x4, _fma64(b, x4, a))
    small = _fma64(x2, p, x)
    big = _exp_64(x) - 1.0
    return small if abs(x) < 0.5 else big


def _tanh_64(x):
    # tanh|x| = |m| / (2 + m), m = expm1(-2|x|) in (-1, 0]: no cancellation at any |x|;
    # the sign of x copied on (tanh(-0.0) = -0.0, tanh(0.0) = 0.0)
    m = _expm1_64(-2.0 * abs(x))
    return math.copysign(abs(m) / (2.0 + m), x)


def _log1p_unit_64(x):
    # log1p(x) for x in [0, 1]: log(u) of u = 1 + x, plus the part of x that u lost when
    # rounded ((x - (u - 1)) / u, exact to first order: log1p(x) = x for tiny x)
    u = 1.0 + x
    return _log_ge1_64(u) + (x - (u - 1.0)) / u


register_jitable(forceinline=True)(_exp_poly_64)
register_jitable(forceinline=True)(_exp_scaled_64)
register_jitable(forceinline=True)(_exp_64)


def flog_ge1(v, like):
    """``log(v)`` of a float64 ``v >= 1`` (a softmax row's sum) or NaN; in CPU kernels on
    float32 data (``like`` is a float32 array) a branch-free form that LLVM vectorises over a
    loop of sums (libm's ``log`` is a scalar call, 15 ns), within a few ulp of it in float64,
    far inside float32's rounding."""
    return math.log(v)


@overload(flog_ge1, target="generic")
def _flog_ge1_generic(v, like):
    return lambda v, like: math.log(v)


@overload(flog_ge1, target="cpu", jit_options={"forceinline": True})
def _flog_ge1_cpu(v, like):
    if getattr(like, "dtype", None) != types.float32:
        return lambda v, like: math.log(v)
    return lambda v, like: _log_ge1_64(v)


def fexpm1(x):
    """``expm1(x)``; vectorisable in float32 CPU kernels."""
    return math.expm1(x)


def flog1p_unit(x):
    """``log1p(x)`` for ``x`` in [0, 1]; vectorisable in float32 CPU kernels."""
    return math.log1p(x)


def ftanh(x):
    """``tanh(x)``; vectorisable in float32 CPU kernels."""
    return math.tanh(x)


def fnorm_cdf(x):
    """``Phi(x)``, the standard normal CDF; one exponential in float32 CPU kernels."""
    return _norm_cdf(x)


def fnorm_cdf_pdf(x):
    """``(Phi(x), phi(x))``: the normal CDF and density, sharing one exponential in float32
    CPU kernels."""
    return _norm_cdf_pdf(x)


def _norm_cdf(x):
    # 0.5 erfc(-x / sqrt 2): no cancellation for x << 0
    return K(x, 0.5) * math.erfc(-x * K(x, _SQRT1_2))


def _norm_cdf_pdf(x):
    # exp(-x^2 / 2) with x^2 split as xh^2 (exact in float32: xh = x rounded to a multiple
    # of 2^-8) plus (x - xh)(x + xh), so float32 keeps its relative accuracy in the far tail
    xh = (x + K(x, 32768.0)) - K(x, 32768.0)
    g = math.exp(K(x, -0.5) * xh * xh) * math.exp(K(x, -0.5) * (x - xh) * (x + xh))
    return _norm_cdf(x), g * K(x, _INV_SQRT_2PI)


register_jitable(_norm_cdf)
register_jitable(_norm_cdf_pdf)


def _generic(pyfn, mathfn):
    @overload(pyfn, target="generic")
    def _ov(x):
        return lambda x: mathfn(x)


def _cpu(pyfn, mathfn, fast32, fast64=None):
    # The float32 (and float64) forms are register_jitable functions, compiled with the
    # calling kernel's flags (error_model='numpy': Python's zero-division checks would stop
    # the vectoriser), and marked for LLVM to inline (forceinline), so the kernels' loops
    # keep vectorising whatever its length; Numba's IR-level inline='always' did the same at
    # several times the compile time.
    fast = register_jitable(forceinline=True)(fast32)
    fast_64 = mathfn if fast64 is None else register_jitable(forceinline=True)(fast64)

    @overload(pyfn, target="cpu", jit_options={"forceinline": True})
    def _ov(x):
        if x == types.float32:
            return lambda x: fast(x)
        if x == types.float64:
            return lambda x: fast_64(x)
        return lambda x: mathfn(x)


def _expm1_32(x):
    # Taylor to x^8 / 8! for |x| < 1/2 (truncation < 1e-8 relative), exp(x) - 1 beyond
    # (no cancellation there: |expm1(x)| > 0.39). Both computed, then selected: no branch.
    p = np.float32(1.0 / 40320.0)
    p = _fma32(p, x, np.float32(1.0 / 5040.0))
    p = _fma32(p, x, np.float32(1.0 / 720.0))
    p = _fma32(p, x, np.float32(1.0 / 120.0))
    p = _fma32(p, x, np.float32(1.0 / 24.0))
    p = _fma32(p, x, np.float32(1.0 / 6.0))
    p = _fma32(p, x, np.float32(0.5))
    small = _fma32(x * x, p, x)
    big = _exp_32(x) - np.float32(1.0)
    return small if abs(x) < np.float32(0.5) else big


def _log1p_unit_32(x):
    # log(1 + x) = 2 atanh(s), s = x / (2 + x) in [0, 1/3]: odd series to s^15
    s = x / (np.float32(2.0) + x)
    s2 = s * s
    p = np.float32(1.0 / 15.0)
    p = _fma32(p, s2, np.float32(1.0 / 13.0))
    p = _fma32(p, s2, np.float32(1.0 / 11.0))
    p = _fma32(p, s2, np.float32(1.0 / 9.0))
    p = _fma32(p, s2, np.float32(1.0 / 7.0))
    p = _fma32(p, s2, np.float32(1.0 / 5.0))
    p = _fma32(p, s2, np.float32(1.0 / 3.0))
    return np.float32(2.0) * _fma32(s * s2, p, s)


def _tanh_32(x):
    # |x| < 1/4: Taylor series to x^11 (truncation < 1e-9 relative); beyond,
    # (1 - e) / (1 + e) with e = exp(-2|x|), where 1 - e > 0.39 does not cancel.
    z = abs(x)
    z2 = z * z
    p = np.float32(-1382.0 / 155925.0)
    p = _fma32(p, z2, np.float32(62.0 / 2835.0))
    p = _fma32(p, z2, np.float32(-17.0 / 315.0))
    p = _fma32(p, z2, np.float32(2.0 / 15.0))
    p = _fma32(p, z2, np.float32(-1.0 / 3.0))
    small = _fma32(z * z2, p, z)
    e = _exp_32(np.float32(-2.0) * z)
    big = (np.float32(1.0) - e) / (np.float32(1.0) + e)
    t = small if z < np.float32(0.25) else big
    return math.copysign(t, x)  # (tanh(-0.0) = -0.0)


# erfcx(z) = exp(z^2) erfc(z) = t S(t), t = 1 / (1 + z / 2), for z = u / sqrt 2 in [0, 16 / sqrt 2]
# (so t in [0.1502, 1]): S is a degree-8 polynomial in t - 0.5751, fitted for relative error
# with float32 coefficients by ``python -m numbaconv.scalar.fit_erfcx`` (its error as
# evaluated in float32 is below 2e-7).
_ERFCX_MID = 0.5751105546951294
_ERFCX_S = (-0.05975925177335739, 0.012432984076440334, 0.11158929020166397,
            -0.05558064207434654, -0.20191018283367157, 0.08913300186395645,
            0.5855724811553955, 0.7732862234115601, 0.5656138062477112)


# (annotated: its intrinsics raise when called from Python, so a type checker would read it as
# never returning; compiled, it returns this pair)
def _norm_tail_32(x) -> tuple[np.float32, np.float32]:
    # (Phi(-|x|), exp(-x^2 / 2)) with one exponential, both to a few ulp relative
    u = abs(x)
    u = u if u < np.float32(16.0) else np.float32(16.0)  # Phi(-16) underflows already
    uh = (u + np.float32(32768.0)) - np.float32(32768.0)  # see _norm_cdf_pdf
    g = _exp_hilo_32(np.float32(-0.5) * uh * uh, np.float32(-0.5) * (u - uh) * (u + uh))
    t = np.float32(1.0) / (np.float32(1.0) + u * np.float32(0.5 * _SQRT1_2))
    v = t - np.float32(_ERFCX_MID)
    p = np.float32(_ERFCX_S[0])
    p = _fma32(p, v, np.float32(_ERFCX_S[1]))
    p = _fma32(p, v, np.float32(_ERFCX_S[2]))
    p = _fma32(p, v, np.float32(_ERFCX_S[3]))
    p = _fma32(p, v, np.float32(_ERFCX_S[4]))
    p = _fma32(p, v, np.float32(_ERFCX_S[5]))
    p = _fma32(p, v, np.float32(_ERFCX_S[6]))
    p = _fma32(p, v, np.float32(_ERFCX_S[7]))
    p = _fma32(p, v, np.float32(_ERFCX_S[8]))
    return np.float32(0.5) * t * p * g, g


register_jitable(forceinline=True)(_norm_tail_32)


def _norm_cdf_32(x):
    q = _norm_tail_32(x)[0]
    return q if x < np.float32(0.0) else np.float32(1.0) - q


def _norm_cdf_pdf_32(x):
    q, g = _norm_tail_32(x)
    return (q if x < np.float32(0.0) else np.float32(1.0) - q), g * np.float32(_INV_SQRT_2PI)


# float64: erfcx(z) = t S(t) as in float32, S the Chebyshev interpolant of degree 26 on
# [_ERFCX64_T_MIN, 1] (u up to 38.6, beyond which Phi(-u) underflows) in 40-digit
# arithmetic, written in powers of the Chebyshev variable (highest first) and evaluated by
# Horner's rule: half the operations of Clenshaw's recurrence, the powers well conditioned
# on [-1, 1] (``python -m numbaconv.scalar.fit_erfcx``; its error as evaluated in float64
# is below 3.7e-16).
_ERFCX64_T_MIN = 0.06827261668007432
_ERFCX64_P = (
    5.2402501430951946e-11,
    1.4452217523010188e-10,
    -8.612085024623243e-10,
    -3.878315671331952e-10,
    5.084755470579771e-09,
    -4.5066296872572385e-09,
    -1.1230003407353235e-08,
    3.350525504899791e-08,
    -2.7387137152117803e-08,
    -7.040740915287172e-08,
    2.729426829511614e-07,
    -2.727384085097776e-07,
    -7.007559934093442e-07,
    2.713957623052982e-06,
    -1.7794106643486631e-06,
    -1.0632059465038571e-05,
    2.799977909457672e-05,
    1.4349752891279338e-05,
    -0.0001862556390819411,
    0.00014465647293252342,
    0.0011134863498877586,
    -0.0018056597632504488,
    -0.008854348817607625,
    0.012248425149225774,
    0.1242772775728915,
    0.3381251707126696,
    0.5349053724878565,
)
_ERFCX64_A = 2.0 / (1.0 - _ERFCX64_T_MIN)  # the Chebyshev variable: t * A + B
_ERFCX64_B = -(1.0 + _ERFCX64_T_MIN) / (1.0 - _ERFCX64_T_MIN)


def _exp_hilo_64(hi, lo):
    # exp(hi + lo) without rounding hi + lo (as _exp_hilo_32): hi a multiple of 2**-41 in
    # [-746, 0], |lo| < 2**-14
    a = hi + lo
    ac = a if a > -746.0 else -746.0
    n = _fma64(ac, 1.4426950408889634, _ROUND_64) - _ROUND_64
    r = _fma64(-n, _LN2_HI_64, hi) + _fma64(-n, _LN2_LO_64, lo)
    y = _exp_scaled_64(r, n)
    return y if a > -746.0 else 0.0


def _norm_tail_64(x) -> tuple[float, float]:
    # (Phi(-|x|), exp(-x^2 / 2)), the float64 twin of _norm_tail_32: u^2 split as uh^2
    # (exact: uh = u rounded to a multiple of 2**-20) plus (u - uh)(u + uh)
    u = abs(x)
    u = u if u < 38.6 else 38.6
    uh = (u + 4294967296.0) - 4294967296.0
    g = _exp_hilo_64(-0.5 * uh * uh, -0.5 * (u - uh) * (u + uh))
    t = 1.0 / (1.0 + u * (0.5 * _SQRT1_2))
    v = _fma64(t, _ERFCX64_A, _ERFCX64_B)
    # Horner's rule written out, as _exp_poly_64's: a loop over the tuple (a shared helper)
    # stays a loop inside the kernels' element loop, which then does not vectorise (gelu
    # in float64 9x slower)
    s = _ERFCX64_P[0]
    s = _fma64(s, v, _ERFCX64_P[1])
    s = _fma64(s, v, _ERFCX64_P[2])
    s = _fma64(s, v, _ERFCX64_P[3])
    s = _fma64(s, v, _ERFCX64_P[4])
    s = _fma64(s, v, _ERFCX64_P[5])
    s = _fma64(s, v, _ERFCX64_P[6])
    s = _fma64(s, v, _ERFCX64_P[7])
    s = _fma64(s, v, _ERFCX64_P[8])
    s = _fma64(s, v, _ERFCX64_P[9])
    s = _fma64(s, v, _ERFCX64_P[10])
    s = _fma64(s, v, _ERFCX64_P[11])
    s = _fma64(s, v, _ERFCX64_P[12])
    s = _fma64(s, v, _ERFCX64_P[13])
    s = _fma64(s, v, _ERFCX64_P[14])
    s = _fma64(s, v, _ERFCX64_P[15])
    s = _fma64(s, v, _ERFCX64_P[16])
    s = _fma64(s, v, _ERFCX64_P[17])
    s = _fma64(s, v, _ERFCX64_P[18])
    s = _fma64(s, v, _ERFCX64_P[19])
    s = _fma64(s, v, _ERFCX64_P[20])
    s = _fma64(s, v, _ERFCX64_P[21])
    s = _fma64(s, v, _ERFCX64_P[22])
    s = _fma64(s, v, _ERFCX64_P[23])
    s = _fma64(s, v, _ERFCX64_P[24])
    s = _fma64(s, v, _ERFCX64_P[25])
    s = _fma64(s, v, _ERFCX64_P[26])
    return 0.5 * t * s * g, g


register_jitable(forceinline=True)(_exp_hilo_64)
register_jitable(forceinline=True)(_norm_tail_64)


def _norm_cdf_64(x):
    q = _norm_tail_64(x)[0]
    return q if x < 0.0 else 1.0 - q


def _norm_cdf_pdf_64(x):
    q, g = _norm_tail_64(x)
    return (q if x < 0.0 else 1.0 - q), g * _INV_SQRT_2PI


for _pyfn, _mathfn, _fast, _fast64 in (
        (fexpm1, math.expm1, _expm1_32, _expm1_64),
        (flog1p_unit, math.log1p, _log1p_unit_32, _log1p_unit_64),
        (ftanh, math.tanh, _tanh_32, _tanh_64), (fnorm_cdf, _norm_cdf, _norm_cdf_32, _norm_cdf_64),
        (fnorm_cdf_pdf, _norm_cdf_pdf, _norm_cdf_pdf_32, _norm_cdf_pdf_64)):
    _generic(_pyfn, _mathfn)
    _cpu(_pyfn, _mathfn, _fast, _fast64)
del _pyfn, _mathfn, _fast, _fast64


def _jit(fn):
    """Register ``fn`` for every target; CPU kernels get a copy LLVM always inlines.

    CUDA (and the simulator) call ``fn`` as a plain device function. On the CPU, a formula
    or helper left as a call inside a kernel's loop stops the loop vectorising (gelu' was 9x
    slower in float32), and whether LLVM inlines it by itself depends on what else the caller
    holds; ``forceinline`` (LLVM's alwaysinline) makes it certain, at little compile time,
    unlike Numba's IR-level ``inline='always'`` (gelu' compiled in 6 s with it, 1 s without).
    """
    register_jitable(fn)
    clone = type(fn)(fn.__code__, fn.__globals__, f"{fn.__name__}_cpu", fn.__defaults__,
                     fn.__closure__)

    @overload(fn, target="cpu", jit_options={"forceinline": True}, strict=False)
    def _ov(*args, **kwargs):
        return clone

    return fn


@_jit
def sig_pair(x):
    """``(sigmoid(x), 1 - sigmoid(x))``, both without cancellation or overflow."""
    e = fexp(-abs(x))
    d = K(x, 1.0) / (K(x, 1.0) + e)
    if x >= K(x, 0.0):
        return d, e * d
    return e * d, d


@_jit
def log1pexp_neg_abs(x):
    """``log(1 + exp(-|x|))``: the stable tail of softplus and log_sigmoid."""
    return flog1p_unit(fexp(-abs(x)))


# --------------------------------------------------------------------------- formulas
# forward f(x, a, b) and derivative f'(x, a, b). Kinks follow PyTorch autograd.



@_jit
def identity(x, a=0.0, b=0.0):
    return x


@_jit
def identity_d(x, a=0.0, b=0.0):
    return K(x, 1.0)


@_jit
def step(x, a=0.0, b=0.0):
    return K(x, 1.0) if x > K(x, 0.0) else K(x, 0.0)


@_jit
def step_d(x, a=0.0, b=0.0):
    return K(x, 0.0)


@_jit
def sigmoid(x, a=0.0, b=0.0):
    return sig_pair(x)[0]


@_jit
def sigmoid_d(x, a=0.0, b=0.0):
    s, c = sig_pair(x)
    return s * c


@_jit
def tanh(x, a=0.0, b=0.0):
    return ftanh(x)


@_jit
def tanh_d(x, a=0.0, b=0.0):
    e = fexp(K(x, -2.0) * abs(x))  # 1 - tanh^2 = 4e / (1 + e)^2, no cancellation
    d = K(x, 1.0) + e
    return K(x, 4.0) * e / (d * d)


@_jit
def relu(x, a=0.0, b=0.0):
    return K(x, 0.0) if x <= K(x, 0.0) else x


@_jit
def relu_d(x, a=0.0, b=0.0):
    return K(x, 1.0) if x > K(x, 0.0) else K(x, 0.0)


@_jit
def hardtanh(x, a=0.0, b=0.0):
    # a = min_val, b = max_val
    if x < a:
        return a
    if x > b:
        return b
    return x


@_jit
def hardtanh_d(x, a=0.0, b=0.0):
    return K(x, 1.0) if (x > a and x < b) else K(x, 0.0)


@_jit
def relu6(x, a=0.0, b=0.0):
    return hardtanh(x, K(x, 0.0), K(x, 6.0))


@_jit
def relu6_d(x, a=0.0, b=0.0):
    return hardtanh_d(x, K(x, 0.0), K(x, 6.0))


@_jit
def leaky_relu(x, a=0.0, b=0.0):
    # a = negative_slope (also prelu's weight)
    return x if x > K(x, 0.0) else a * x


@_jit
def leaky_relu_d(x, a=0.0, b=0.0):
    return K(x, 1.0) if x > K(x, 0.0) else a


@_jit
def elu(x, a=0.0, b=0.0):
    # a = alpha
    return x if x > K(x, 0.0) else a * fexpm1(x)


@_jit
def elu_d(x, a=0.0, b=0.0):
    return K(x, 1.0) if x > K(x, 0.0) else a * fexp(x)


@_jit
def selu(x, a=0.0, b=0.0):
    return K(x, _SELU_SCALE) * elu(x, K(x, _SELU_ALPHA), b)


@_jit
def selu_d(x, a=0.0, b=0.0):
    return K(x, _SELU_SCALE) * elu_d(x, K(x, _SELU_ALPHA), b)


@_jit
def celu(x, a=0.0, b=0.0):
    # a = alpha (non-zero), b = 1 / alpha: max(0, x) + min(0, alpha * expm1(x / alpha)), with
    # x / alpha as x * (1 / alpha), PyTorch's input_scale (a division per element would not
    # vectorise as well)
    return x if x > K(x, 0.0) else a * fexpm1(x * b)


@_jit
def celu_d(x, a=0.0, b=0.0):
    # exp(min(x, 0) / alpha): exactly 1 for x >= 0, no select after the exponential. With
    # one, LLVM fed the lanes of x > 0 (their exp discarded) exp's lower clamp, whose
    # result is subnormal: a microcode assist per lane, 2.5x slower on AMD.
    return fexp((x if x < K(x, 0.0) else K(x, 0.0)) * b)


@_jit
def gelu(x, a=0.0, b=0.0):
    # x Phi(x), with Phi(x) = 0.5 erfc(-x / sqrt 2): no cancellation for x << 0; 0 at -inf
    if x == -math.inf:
        return K(x, 0.0)
    return x * fnorm_cdf(x)


@_jit
def gelu_d(x, a=0.0, b=0.0):
    if x == -math.inf:
        return K(x, 0.0)
    if x == math.inf:
        return K(x, 1.0)
    cdf, pdf = fnorm_cdf_pdf(x)
    return cdf + x * pdf


@_jit
def gelu_tanh(x, a=0.0, b=0.0):
    # 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
    if x == -math.inf:
        return K(x, 0.0)
    u = K(x, _SQRT_2_OVER_PI) * (x + K(x, _GELU_K) * x * x * x)
    return x * sig_pair(K(x, 2.0) * u)[0]


@_jit
def gelu_tanh_d(x, a=0.0, b=0.0):
    if abs(x) > K(x, 40.0):  # the derivative is exactly 1 or 0 in float64 beyond
        return K(x, 1.0) if x > K(x, 0.0) else K(x, 0.0)
    u = K(x, _SQRT_2_OVER_PI) * (x + K(x, _GELU_K) * x * x * x)
    du = K(x, _SQRT_2_OVER_PI) * (K(x, 1.0) + K(x, 3.0 * _GELU_K) * x * x)
    s, c = sig_pair(K(x, 2.0) * u)
    return s + K(x, 2.0) * x * s * c * du


@_jit
def silu(x, a=0.0, b=0.0):
    if x == -math.inf:
        return K(x, 0.0)
    return x * sig_pair(x)[0]


@_jit
def silu_d(x, a=0.0, b=0.0):
    if x == -math.inf:
        return K(x, 0.0)
    if x == math.inf:
        return K(x, 1.0)
    s, c = sig_pair(x)
    return s * (K(x, 1.0) + x * c)


@_jit
def tanh_softplus(x):
    """``(t, 1 - t, 1 + t)`` for ``t = tanh(softplus(x))``: one exp, no cancellation.

    With ``e = exp(-|x|)``: for x <= 0, ``(1 + e)^2 = 1 + n`` with ``n = e (e + 2)``, so
    ``t = n / (n + 2)``; for x > 0 multiply through by ``e^2``: ``t = n / (n + 2e^2)``
    with ``n = 1 + 2e``. Both are written as ``t = n / (n + m)`` (branch-free selects).
    """
    two = K(x, 2.0)
    e = fexp(-abs(x))
    neg = x <= K(x, 0.0)
    n = e * (e + two) if neg else K(x, 1.0) + two * e
    m = two if neg else two * e * e
    d = n + m
    return n / d, m / d, (two * n + m) / d


@_jit
def mish(x, a=0.0, b=0.0):
    if x == -math.inf:
        return K(x, 0.0)
    return x * tanh_softplus(x)[0]


@_jit
def mish_d(x, a=0.0, b=0.0):
    t, omt, opt = tanh_softplus(x)
    v = t + x * omt * opt * sig_pair(x)[0]
    # the limits selected at the end, not returned early: the loop stays branch-free and
    # vectorises (with early returns LLVM left mish' scalar, 10x slower)
    return K(x, 0.0) if x == -math.inf else (K(x, 1.0) if x == math.inf else v)


@_jit
def softplus(x, a=0.0, b=0.0):
    # a = beta (non-zero), b = threshold: linear once beta * x > threshold
    bx = a * x
    if bx > b:
        return x
    return (log1pexp_neg_abs(bx) + (bx if bx > K(x, 0.0) else K(x, 0.0))) / a


@_jit
def softplus_d(x, a=0.0, b=0.0):
    bx = a * x
    if bx > b:
        return K(x, 1.0)
    return sig_pair(bx)[0]


@_jit
def softsign(x, a=0.0, b=0.0):
    if x == math.inf:
        return K(x, 1.0)
    if x == -math.inf:
        return K(x, -1.0)
    return x / (K(x, 1.0) + abs(x))


@_jit
def softsign_d(x, a=0.0, b=0.0):
    d = K(x, 1.0) + abs(x)
    return K(x, 1.0) / (d * d)


@_jit
def hardsigmoid(x, a=0.0, b=0.0):
    if x <= K(x, -3.0):
        return K(x, 0.0)
    if x >= K(x, 3.0):
        return K(x, 1.0)
    return x / K(x, 6.0) + K(x, 0.5)


@_jit
def hardsigmoid_d(x, a=0.0, b=0.0):
    return K(x, 1.0 / 6.0) if (x > K(x, -3.0) and x < K(x, 3.0)) else K(x, 0.0)


@_jit
def hardswish(x, a=0.0, b=0.0):
    if x <= K(x, -3.0):
        return K(x, 0.0)
    if x >= K(x, 3.0):
        return x
    return x * (x + K(x, 3.0)) / K(x, 6.0)


@_jit
def hardswish_d(x, a=0.0, b=0.0):
    # PyTorch 2.x autograd: 0 for x <= -3, x/3 + 1/2 strictly inside, 1 for x >= 3
    if x <= K(x, -3.0):
        return K(x, 0.0)
    if x >= K(x, 3.0):
        return K(x, 1.0)
    return x / K(x, 3.0) + K(x, 0.5)


@_jit
def log_sigmoid(x, a=0.0, b=0.0):
    return (x if x < K(x, 0.0) else K(x, 0.0)) - log1pexp_neg_abs(x)


@_jit
def log_sigmoid_d(x, a=0.0, b=0.0):
    return sig_pair(x)[1]


# --------------------------------------------------------------------------- registry


class Spec(NamedTuple):
    """One elementwise activation: its formulas and its parameters."""

    forward: object
    derivative: object
    #: (name, default) of the parameters passed as ``a``, ``b`` (in order)
    params: tuple = ()


ELEMENTWISE: dict[str, Spec] = {
    "identity": Spec(identity, identity_d),
    "step": Spec(step, step_d),
    "sigmoid": Spec(sigmoid, sigmoid_d),
    "tanh": Spec(tanh, tanh_d),
    "relu": Spec(relu, relu_d),
    "relu6": Spec(relu6, relu6_d),
    "leaky_relu": Spec(leaky_relu, leaky_relu_d, (("negative_slope", 0.01),)),
    "elu": Spec(elu, elu_d, (("alpha", 1.0),)),
    "selu": Spec(selu, selu_d),
    "celu": Spec(celu, celu_d, (("alpha", 1.0),)),  # (b = 1 / alpha, from the wrapper)
    "gelu": Spec(gelu, gelu_d),
    "gelu_tanh": Spec(gelu_tanh, gelu_tanh_d),
    "silu": Spec(silu, silu_d),
    "mish": Spec(mish, mish_d),
    "softplus": Spec(softplus, softplus_d, (("beta", 1.0), ("threshold", 20.0))),
    "softsign": Spec(softsign, softsign_d),
    "hardtanh": Spec(hardtanh, hardtanh_d, (("min_val", -1.0), ("max_val", 1.0))),
    "hardsigmoid": Spec(hardsigmoid, hardsigmoid_d),
    "hardswish": Spec(hardswish, hardswish_d),
    "log_sigmoid": Spec(log_sigmoid, log_sigmoid_d),
}
