"""numpy's own BLAS GEMM, callable from compiled kernels.

A ``prange`` kernel that runs one GEMM per part (the one-image convolutions of
:mod:`numbaconv.cpu.conv_gemm`) could call Numba's ``np.dot``, but that goes to scipy's
BLAS, which is not numpy's: with the wheels of numpy 2.4 and scipy 1.17, scipy bundles an
older OpenBLAS (0.3.30 against 0.3.31), whose small GEMMs are up to 1.6x slower (a
121 x 289 x 32 sgemm, a batch-1 layer's filter part: 50 us against numpy's 32, one Zen 2
core). So the kernels take the address of numpy's CBLAS ``?gemm`` (found by threadpoolctl
among the BLAS libraries loaded) as an argument and call it with :func:`gemm_at` (an
argument, not a global: Numba caches a kernel that takes a function's address, never one
that bakes it in). The address is a NumPy integer, not the ctypes function: Numba types a
ctypes function argument in Python on every call, 2.5 us of a batch-1 layer's call.

Only the scipy-openblas builds that numpy's and scipy's wheels ship are used, whose symbol
names fix the integer width (``scipy_cblas_sgemm64_``: 64-bit, numpy's; ``scipy_cblas_sgemm``:
32-bit): a CBLAS of unknown width could crash on the first call. Elsewhere (conda's MKL,
Accelerate, no threadpoolctl) :func:`kernel_gemm` returns None and the callers keep to
their Python-thread paths. The library is one that :func:`numbaconv.cpu.threads.one_blas_thread`
pins, and callers hold that pin around the kernels.
"""

from __future__ import annotations

import ctypes
import functools
import re
from collections.abc import Callable
from typing import cast

import numpy as np
from llvmlite import ir
from numba import prange
from numba.core import types
from numba.extending import intrinsic

from .jit import njit
from .threads import blas_libraries, can_pin_blas, one_blas_thread

#: CBLAS constants: row-major order, no transpose, transpose
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

#: (symbol prefix, suffix, integer type) of the CBLAS builds accepted, best first
_BUILDS = (("scipy_cblas_", "64_", ctypes.c_int64), ("scipy_cblas_", "", ctypes.c_int))

_FOUND: dict = {}


def _find(dtype, name: str = "gemm"):
    """numpy's (else scipy's) CBLAS ``?gemm`` (or ``?gemv``) for ``dtype`` as a typed ctypes
    function, or None."""
    letter, real = ("s", ctypes.c_float) if dtype == np.float32 else ("d", ctypes.c_double)
    for prefix, suffix, integer in _BUILDS:
        for path in blas_libraries():
            try:
                fn = getattr(ctypes.CDLL(path), f"{prefix}{letter}{name}{suffix}")
            except (OSError, AttributeError):
                continue
            ptr, enum = ctypes.c_void_p, ctypes.c_int
            fn.argtypes = ([enum, enum, enum, integer, integer, integer, real, ptr, integer,
                            ptr, integer, real, ptr, integer] if name == "gemm" else
                           [enum, enum, integer, integer, real, ptr, integer, ptr, integer,
                            real, ptr, integer])
            fn.restype = None
            fn.library_path = path  # (for small_gemm_cap)
            return fn
    return None


def kernel_gemm(dtype):
    """The CBLAS ``?gemm`` for ``dtype`` (float32 or float64) that compiled kernels may
    call from Numba's threads (through :func:`gemm_at`), or None where none is known to be
    safe or BLAS cannot be pinned to one thread (:func:`numbaconv.cpu.threads.can_pin_blas`).

    It is the function's address: an ``np.int64`` for a build with 64-bit integers, an
    ``np.uint64`` for one with 32-bit integers. A scalar costs Numba's dispatcher nothing to
    type, where the ctypes function itself cost 2.5 us a call (typed in Python each time)."""
    key = np.dtype(dtype).char
    if key not in _FOUND:
        fn = _find(np.dtype(dtype)) if key in "fd" else None
        if fn is None:
            _FOUND[key] = None
        else:
            address = ctypes.cast(fn, ctypes.c_void_p).value or 0
            wide = fn.argtypes[3] is ctypes.c_int64
            _FOUND[key] = (np.int64(address) if wide else np.uint64(address), fn)
    found = _FOUND[key]
    return found[0] if found is not None and can_pin_blas() else None


#: OpenBLAS kernel sets with small-matrix GEMM kernels (x86-64, from 0.3.16), and the size
#: of product up to which they run a GEMM without transposes
_SMALL_KERNELS = frozenset(("SkylakeX", "Cooperlake", "SapphireRapids"))
_SMALL_MNK = 1_000_000


@functools.cache
def small_gemm_cap(dtype) -> int:
    """The most multiply-adds (``m * n * k``) of a GEMM without transposes that the library
    of :func:`kernel_gemm` runs through its small-matrix kernels, or 0 where it has none.

    OpenBLAS's AVX-512 kernel sets (with ``SMALL_MATRIX_OPT``, as the scipy-openblas wheels
    are built) compute a product of at most 100**3 multiply-adds straight from the operands;
    above that they pack both into blocks first, which at these sizes costs a quarter of the
    rate, and more where one side is narrow. One Zen 4 thread, float32 (MACs a ns):
    64 x 288 @ 288 x 76 42 (1.4M), two halves of 32 filters 50; 128 x 576 @ 576 x 15 22,
    two halves 47; the step is at 1.0M exactly, in float64 too. A product of a convolution
    GEMM above the cap is split along the rows of its result (:func:`gemm_rows_at`): the
    row-major forms ``a @ b`` and ``a.T @ b`` (OpenBLAS's column-major NN and NT; its TN
    kernels take only products of <= 1200 results, its TT none)."""
    if kernel_gemm(dtype) is None:
        return 0
    path = _FOUND[np.dtype(dtype).char][1].library_path
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 0
    for info in threadpool_info():
        if info.get("filepath") != path or info.get("internal_api") != "openblas":
            continue
        version = tuple(int(p) for p in re.findall(r"\d+", info.get("version") or "")[:3])
        if info.get("architecture") in _SMALL_KERNELS and version >= (0, 3, 16):
            return _SMALL_MNK
    return 0


def kernel_gemv(dtype):
    """The CBLAS ``?gemv`` of the library :func:`kernel_gemm` found (its address, of the same
    NumPy integer type), or None. A product of one column runs there: OpenBLAS 0.3.31's
    ``sgemm`` packs the whole matrix for it (600 x 2304 by one column, one Zen 4 thread:
    282 us, ``sgemv`` 74)."""
    gemm = kernel_gemm(dtype)
    if gemm is None:
        return None
    key = "v" + np.dtype(dtype).char
    if key not in _FOUND:
        fn = _find(np.dtype(dtype), "gemv")
        if fn is None:
            _FOUND[key] = None
        else:
            address = ctypes.cast(fn, ctypes.c_void_p).value or 0
            _FOUND[key] = (type(gemm)(address), fn)
    found = _FOUND[key]
    return found[0] if found is not None else None


def _cblas(fn, args, kinds):
    """The signature and code generator of a call to the CBLAS function at address ``fn``
    (:func:`kernel_gemm`, :func:`kernel_gemv`: ``int64``, a build with 64-bit integers;
    ``uint64``, 32-bit) with the Numba types ``args``, each passed as ``kinds`` says:
    ``'e'`` a C enum (int32), ``'i'`` the build's integer, ``'r'`` the arrays' float,
    ``'a'`` an array's data (a C-contiguous array of one float dtype, starting where the
    matrix or vector starts); None (no match) where the types do not fit."""
    arrays = [t for t, k in zip(args, kinds, strict=True) if k == "a"]
    if not (isinstance(fn, types.Integer) and getattr(fn, "bitwidth", 0) == 64
            and all(isinstance(t, types.Array) for t in arrays)
            and len({t.dtype for t in arrays}) == 1
            and arrays[0].dtype in (types.float32, types.float64)
            and all(isinstance(t, types.Integer)
                    for t, k in zip(args, kinds, strict=True) if k in "ei")
            and all(isinstance(t, (types.Float, types.Integer))
                    for t, k in zip(args, kinds, strict=True) if k == "r")):
        return None
    sig = types.void(fn, *args)
    ity = types.int64 if getattr(fn, "signed", True) else types.int32
    real_ty = arrays[0].dtype

    def codegen(context, builder, signature, values):
        tys = signature.args
        real = context.get_value_type(real_ty)
        ptr = real.as_pointer()
        lowered = {"e": ir.IntType(32), "i": context.get_value_type(ity), "r": real, "a": ptr}
        as_ty = {"e": types.int32, "i": ity, "r": real_ty}
        fnty = ir.FunctionType(ir.VoidType(), [lowered[k] for k in kinds])
        out = []
        for i, k in enumerate(kinds, start=1):
            if k == "a":
                arr = context.make_array(tys[i])(context, builder, values[i])
                out.append(builder.bitcast(arr.data, ptr))
            else:
                out.append(context.cast(builder, values[i], tys[i], as_ty[k]))
        builder.call(builder.inttoptr(values[0], fnty.as_pointer()), out)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _gemm_at(typingctx, fn, order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
             ldc):
    """``?gemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)``, the
    CBLAS function at address ``fn`` (:func:`kernel_gemm`), on the data of the C-contiguous
    arrays ``a``, ``b``, ``c`` (:func:`_cblas`)."""
    return _cblas(fn, (order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
                  "eeeiiiraiairai")


#: :func:`_gemm_at` as kernels call it, ``gemm_at(fn, order, transa, transb, m, n, k, alpha,
#: a, lda, b, ldb, beta, c, ldc)`` (Numba supplies the typing context; the cast tells type
#: checkers so)
gemm_at = cast("Callable[..., None]", _gemm_at)


@njit(inline="always")
def gemm_rows_at(fn, transa, m, n, k, a, lda, b, ldb, beta, c, ldc, cap):
    """Row-major ``c = op(a) @ b + beta c`` (``op(a)`` ``(m, k)``: ``a`` as it is with
    ``transa`` NO_TRANS, read transposed with TRANS; ``b`` ``(k, n)`` as it is) by
    :func:`gemm_at`, in blocks of rows of ``op(a)`` and ``c`` of at most ``cap``
    multiply-adds each (multiples of 8 rows; one call where ``cap`` is 0 or not even 8
    rows fit under it): see
    :func:`small_gemm_cap`. The blocks follow the shapes and ``cap`` alone. ``a`` and ``c``
    are C-contiguous (offsets are in elements of their memory from their first element)."""
    rows = m
    if cap > 0 and m * n * k > cap:
        fit = (cap // max(1, n * k)) // 8 * 8
        rows = fit if fit >= 8 else m  # (blocks of 8 rows over the cap would gain nothing)
    af, cf = a.reshape(-1), c.reshape(-1)  # (offsets in elements, whatever the arrays' ndim)
    for i in range(0, m, rows):
        gemm_at(fn, ROW_MAJOR, transa, NO_TRANS, min(rows, m - i), n, k, 1.0,
                af[i * lda if transa == NO_TRANS else i:], lda, b, ldb, beta, cf[i * ldc:], ldc)


@intrinsic
def _gemv_at(typingctx, fn, order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy):
    """``?gemv(order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)``, the CBLAS
    function at address ``fn`` (:func:`kernel_gemv`), on the data of the arrays ``a``,
    ``x``, ``y`` (:func:`_cblas`)."""
    return _cblas(fn, (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy),
                  "eeiiraiairai")


#: :func:`_gemv_at` as kernels call it
gemv_at = cast("Callable[..., None]", _gemv_at)


# ------------------------------------------------------------------- two GEMMs side by side


@njit(cache=True, nogil=True, parallel=True)
def _two_gemms(gemm, p, a1, b1, c1, a2, b2, c2):
    """``c_i = op(a_i) @ op(b_i)`` for ``i = 1, 2``, one on each of Numba's threads; ``p``
    (2, 8): per product ``transa, transb, m, n, k, lda, ldb, ldc`` (row-major CBLAS)."""
    for i in prange(2):
        if i == 0:
            gemm_at(gemm, ROW_MAJOR, p[0, 0], p[0, 1], p[0, 2], p[0, 3], p[0, 4], 1.0, a1,
                    p[0, 5], b1, p[0, 6], 0.0, c1, p[0, 7])
        else:
            gemm_at(gemm, ROW_MAJOR, p[1, 0], p[1, 1], p[1, 2], p[1, 3], p[1, 4], 1.0, a2,
                    p[1, 5], b2, p[1, 6], 0.0, c2, p[1, 7])


def _operand(v: np.ndarray, out: bool = False):
    """``(trans, ld, flat)`` of a 2-D view for CBLAS: row-major (or, not for an output,
    column-major: transposed) with unit steps along one axis; ``flat`` a 1-D view of its
    memory from its first element. None where BLAS cannot read it where it is."""
    size = v.itemsize
    s0, s1 = v.strides
    if s1 == size and s0 % size == 0 and s0 >= max(1, v.shape[1]) * size:
        trans, ld = NO_TRANS, s0 // size
        span = (v.shape[0] - 1) * ld + v.shape[1]
    elif not out and s0 == size and s1 % size == 0 and s1 >= max(1, v.shape[0]) * size:
        trans, ld = TRANS, s1 // size
        span = (v.shape[1] - 1) * ld + v.shape[0]
    else:
        return None
    flat = np.lib.stride_tricks.as_strided(v, shape=(span,), strides=(size,),
                                           writeable=out)
    return trans, ld, flat


def two_matmuls(a1, b1, c1, a2, b2, c2) -> bool:
    """``c1[...] = a1 @ b1`` and ``c2[...] = a2 @ b2`` (2-D float32 or float64 views of
    one dtype: operands row- or column-major, outputs row-major, all non-empty) side by
    side on Numba's threads, each GEMM with BLAS on one thread; False (nothing done)
    where numpy's CBLAS is not callable from kernels or a view is not one BLAS reads.

    Two Python threads calling numpy's ``matmul`` ran the two at the speed of one in a
    training step: Numba's OpenMP workers spin for a while after each parallel region of
    the step's convolutions and take a core from the second (a Fashion-MNIST step's dense
    backward, two 100 x 600 x 2304 products, 5.4-6.2 ms, and 2.9-3.1 after 10 ms of
    quiet); here the two products run on those workers themselves."""
    arrays = (a1, b1, c1, a2, b2, c2)
    dtype = c1.dtype
    if any(x.dtype != dtype or x.ndim != 2 or x.size == 0 for x in arrays):
        return False
    gemm = kernel_gemm(dtype)
    if gemm is None:
        return False
    found = [_operand(x, out=i % 3 == 2) for i, x in enumerate(arrays)]
    ops = [o for o in found if o is not None]
    if len(ops) < len(found):
        return False
    p = np.empty((2, 8), np.int64)
    for i, (a, b, c) in enumerate(((a1, b1, c1), (a2, b2, c2))):
        m, k = a.shape
        if b.shape[0] != k or c.shape != (m, b.shape[1]):
            raise ValueError(f"shapes {a.shape} @ {b.shape} -> {c.shape} do not match")
        oa, ob, oc = ops[3 * i: 3 * i + 3]
        p[i] = (oa[0], ob[0], m, b.shape[1], k, oa[1], ob[1], oc[1])
    with one_blas_thread():
        _two_gemms(gemm, p, ops[0][2], ops[1][2], ops[2][2], ops[3][2], ops[4][2], ops[5][2])
    return True
