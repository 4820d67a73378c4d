"""numpy's own BLAS GEMM, callable from compiled kernels.

A ``prange`` kernel that runs one GEMM per part (the one-image convolutions of
:mod:`numbaconv.cpu.conv_gemm`) could call Numba's ``np.dot``, but that goes to scipy's
BLAS, which is not numpy's: with the wheels of numpy 2.4 and scipy 1.17, scipy bundles an
older OpenBLAS (0.3.30 against 0.3.31), whose small GEMMs are up to 1.6x slower (a
121 x 289 x 32 sgemm, a batch-1 layer's filter part: 50 us against numpy's 32, one Zen 2
core). So the kernels take numpy's CBLAS ``?gemm`` as an argument instead, a ctypes
function found by threadpoolctl among the BLAS libraries loaded (an argument, not a
global: Numba caches a kernel that takes a function pointer, never one that bakes it in).

Only the scipy-openblas builds that numpy's and scipy's wheels ship are used, whose symbol
names fix the integer width (``scipy_cblas_sgemm64_``: 64-bit, numpy's; ``scipy_cblas_sgemm``:
32-bit): a CBLAS of unknown width could crash on the first call. Elsewhere (conda's MKL,
Accelerate, no threadpoolctl) :func:`kernel_gemm` returns None and the callers keep to
their Python-thread paths. The library is one that :func:`numbaconv.cpu.threads.one_blas_thread`
pins, and callers hold that pin around the kernels.
"""

from __future__ import annotations

import ctypes

import numpy as np

from .threads import blas_libraries, can_pin_blas

#: CBLAS constants: row-major order, no transpose, transpose
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

#: (symbol prefix, suffix, integer type) of the CBLAS builds accepted, best first
_BUILDS = (("scipy_cblas_", "64_", ctypes.c_int64), ("scipy_cblas_", "", ctypes.c_int))

_FOUND: dict = {}


def _find(dtype):
    """numpy's (else scipy's) CBLAS gemm for ``dtype`` as a typed ctypes function, or None."""
    letter, real = ("s", ctypes.c_float) if dtype == np.float32 else ("d", ctypes.c_double)
    for prefix, suffix, integer in _BUILDS:
        for path in blas_libraries():
            try:
                fn = getattr(ctypes.CDLL(path), f"{prefix}{letter}gemm{suffix}")
            except (OSError, AttributeError):
                continue
            ptr = ctypes.c_void_p
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer,
                           real, ptr, integer, ptr, integer, real, ptr, integer]
            fn.restype = None
            return fn
    return None


def kernel_gemm(dtype):
    """The CBLAS ``?gemm`` for ``dtype`` (float32 or float64) that compiled kernels may
    call from Numba's threads, or None where none is known to be safe or BLAS cannot be
    pinned to one thread (:func:`numbaconv.cpu.threads.can_pin_blas`)."""
    key = np.dtype(dtype).char
    if key not in _FOUND:
        _FOUND[key] = _find(np.dtype(dtype)) if key in "fd" else None
    return _FOUND[key] if can_pin_blas() else None
