"""Device arrays: normalisation, allocation and the ``out=`` checks of the CUDA backend.

The twin of :mod:`numbaconv.cpu.memory`. Normalises CUDA array-likes (numba
device arrays, CuPy arrays, torch CUDA tensors, the simulator's fake arrays)
into C-contiguous numba device arrays of one dtype, allocates outputs, and
answers the overlap questions of ``out=``. Everything stays on the device:
there is no hidden host round trip.
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false, reportArgumentType=false

from __future__ import annotations

import numpy as np
from numba import config

from ..core.operands import NUMERIC_KINDS, check_kind
from ._target import NUMBA_DEVICE_ARRAYS, cuda
from .common import grid_1d


def is_device_array(x) -> bool:
    """CUDA arrays: ``__cuda_array_interface__``, or the simulator's own device arrays."""
    return hasattr(x, "__cuda_array_interface__") or (
        vars(config)["ENABLE_CUDASIM"] and type(x).__name__ == "FakeCUDAArray")


def _as_numba_device(x):
    # numba's own arrays as they are: a view made through __cuda_array_interface__ costs a
    # new DeviceNDArray and its context lookup (driver calls) on every call
    if isinstance(x, NUMBA_DEVICE_ARRAYS) or type(x).__name__ == "FakeCUDAArray":
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


def _copy_strided(src, dst, name: str) -> None:
    """``dst[...] = src`` on the device, for any layout of ``src`` up to 5 dimensions."""
    if src.size == 0:
        return
    if src.ndim == 0:
        src, dst = src.reshape(1), dst.reshape(1)
    if src.is_c_contiguous() and dst.is_c_contiguous():
        _copy_flat[grid_1d(src.size)](src.reshape(src.size), dst.reshape(src.size))
    elif src.ndim in _STRIDED_COPY:
        _STRIDED_COPY[src.ndim][grid_1d(src.size)](src, dst)
    else:
        raise ValueError(f"{name}: non-contiguous CUDA arrays of more than 5 dimensions are not "
                         "supported; make it contiguous first")


def asarray(x, name: str, dtype=None, kinds: str = NUMERIC_KINDS):
    """A C-contiguous numba device array of ``dtype`` viewing or copying ``x`` on the device."""
    d = _as_numba_device(x)
    check_kind(np.dtype(d.dtype), name, kinds)
    target = np.dtype(dtype) if dtype is not None else np.dtype(d.dtype)
    if target == np.float16:
        target = np.dtype(np.float32)
    if np.dtype(d.dtype) == target and d.is_c_contiguous():
        return d
    out = cuda.device_array(d.shape, dtype=target)
    _copy_strided(d, out, name)
    return out


def empty(shape, dtype):
    """An uninitialised device array."""
    return cuda.device_array(tuple(int(s) for s in shape), dtype=np.dtype(dtype))


@cuda.jit(cache=False)
def _fill(flat, value):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, flat.shape[0], step):
        flat[i] = value


def zeros(shape, dtype):
    """A zero-filled device array."""
    out = empty(shape, dtype)
    if out.size:
        _fill[grid_1d(out.size)](out.reshape(out.size), out.dtype.type(0))
    return out


def is_out_array(out) -> bool:
    """Whether ``out`` is a device array results can be written into."""
    return is_device_array(out)


def _extent(a):
    """``(first byte, one past the last byte)`` of a CUDA array's memory."""
    cai = a.__cuda_array_interface__ if hasattr(a, "__cuda_array_interface__") else None
    if cai is None:  # the simulator: its fake arrays wrap host ndarrays
        host = a._ary if hasattr(a, "_ary") else np.asarray(a)
        lo, hi = np.lib.array_utils.byte_bounds(host)
        return lo, hi
    start = cai["data"][0]
    itemsize = np.dtype(cai["typestr"]).itemsize
    shape = cai["shape"]
    if 0 in shape:
        return start, start
    strides = cai.get("strides") or None
    if strides is None:
        return start, start + itemsize * int(np.prod(shape))
    lo = start + sum(s * (n - 1) for s, n in zip(strides, shape, strict=True) if s < 0)
    hi = start + itemsize + sum(s * (n - 1) for s, n in zip(strides, shape, strict=True) if s > 0)
    return lo, hi


def is_writable_c(out) -> bool:
    """Whether a kernel can write straight into ``out`` (a C-contiguous numba device array)."""
    d = _as_numba_device(out)
    return d is out and d.is_c_contiguous()


def is_writeable(out) -> bool:
    cai = getattr(out, "__cuda_array_interface__", None)
    return cai is None or not cai["data"][1]  # data = (pointer, read_only)


def same_view(a, b) -> bool:
    """``a`` and ``b`` are the same elements in the same layout (in-place elementwise is safe)."""
    if not is_device_array(b) or tuple(a.shape) != tuple(b.shape):
        return False
    return _extent(a) == _extent(b) and _as_numba_device(a).strides == _as_numba_device(b).strides


def overlaps(a, b) -> bool:
    """Whether the device memory of ``a`` and ``b`` may overlap."""
    if not is_device_array(b):
        return False
    (a0, a1), (b0, b1) = _extent(a), _extent(b)
    return a0 < b1 and b0 < a1


def copy_into(dst, src) -> None:
    """``dst[...] = src`` on the device (a result computed in scratch lands in ``out``)."""
    _copy_strided(_as_numba_device(src), _as_numba_device(dst), "out")
