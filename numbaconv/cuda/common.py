"""Device-side helpers shared by every CUDA kernel family.

Normalises CUDA array-likes (numba device arrays, CuPy arrays, torch CUDA
tensors, the simulator's fake arrays) into C-contiguous numba device arrays
of one dtype, allocates outputs and computes launch configurations. All of it
stays on the device: there is no hidden host round trip.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config

from ..core.operands import _check_kind
from ._target import cuda

#: threads per block for 1-D launches; the simulator runs each thread as a
#: Python thread, so it gets small blocks.
THREADS = 32 if config.ENABLE_CUDASIM else 256


def grid_1d(n: int, threads: int = THREADS) -> tuple[int, int]:
    """``(blocks, threads)`` covering ``n`` work items with a grid-stride loop."""
    blocks = max(1, min(math.ceil(n / threads), 65535 if not config.ENABLE_CUDASIM else 64))
    return blocks, threads


def _as_numba_device(x):
    if type(x).__name__ == "FakeCUDAArray":  # the simulator's device arrays
        return x
    return cuda.as_cuda_array(x)


@cuda.jit(cache=False)
def _copy_flat(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dst.shape[0], step):
        dst[i] = src[i]


@cuda.jit(cache=False)
def _copy2(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n1 = dst.shape[1]
    for i in range(start, dst.size, step):
        dst[i // n1, i % n1] = src[i // n1, i % n1]


@cuda.jit(cache=False)
def _copy3(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n1, n2 = dst.shape[1], dst.shape[2]
    for i in range(start, dst.size, step):
        a, r = i // (n1 * n2), i % (n1 * n2)
        dst[a, r // n2, r % n2] = src[a, r // n2, r % n2]


@cuda.jit(cache=False)
def _copy4(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n1, n2, n3 = dst.shape[1], dst.shape[2], dst.shape[3]
    for i in range(start, dst.size, step):
        a, r = i // (n1 * n2 * n3), i % (n1 * n2 * n3)
        b, r = r // (n2 * n3), r % (n2 * n3)
        dst[a, b, r // n3, r % n3] = src[a, b, r // n3, r % n3]


@cuda.jit(cache=False)
def _copy5(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n1, n2, n3, n4 = dst.shape[1], dst.shape[2], dst.shape[3], dst.shape[4]
    for i in range(start, dst.size, step):
        a, r = i // (n1 * n2 * n3 * n4), i % (n1 * n2 * n3 * n4)
        b, r = r // (n2 * n3 * n4), r % (n2 * n3 * n4)
        c, r = r // (n3 * n4), r % (n3 * n4)
        dst[a, b, c, r // n4, r % n4] = src[a, b, c, r // n4, r % n4]


_STRIDED_COPY = {1: _copy_flat, 2: _copy2, 3: _copy3, 4: _copy4, 5: _copy5}


def device_array_of(x, name: str, dtype=None, kinds: str = "biufc"):
    """A C-contiguous numba device array of ``dtype`` viewing or copying ``x`` on the device."""
    d = _as_numba_device(x)
    _check_kind(np.dtype(d.dtype), name, kinds)
    target = np.dtype(dtype) if dtype is not None else np.dtype(d.dtype)
    if target == np.float16:
        target = np.dtype(np.float32)
    if np.dtype(d.dtype) == target and d.is_c_contiguous():
        return d
    out = cuda.device_array(d.shape, dtype=target)
    if d.size == 0:
        return out
    if d.ndim == 0:
        d, view = d.reshape(1), out.reshape(1)
    else:
        view = out
    if d.is_c_contiguous():
        _copy_flat[grid_1d(d.size)](d.reshape(d.size), view.reshape(d.size))
    elif d.ndim in _STRIDED_COPY:
        _STRIDED_COPY[d.ndim][grid_1d(d.size)](d, view)
    else:
        raise ValueError(f"{name}: non-contiguous CUDA arrays of more than 5 dimensions are not "
                         "supported; make it contiguous first")
    return out


def device_empty(shape, dtype):
    """Uninitialised device array."""
    return cuda.device_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


@cuda.jit(cache=False)
def _fill(flat, value):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, flat.shape[0], step):
        flat[i] = value


def device_zeros(shape, dtype):
    """Zero-filled device array."""
    out = device_empty(shape, dtype)
    if out.size:
        _fill[grid_1d(out.size)](out.reshape(out.size), out.dtype.type(0))
    return out


def to_device(params: np.ndarray):
    """Copy a small host parameter array (index maps, constants) to the device."""
    return cuda.to_device(np.ascontiguousarray(params))
