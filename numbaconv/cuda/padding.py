"""CUDA padding kernel: the twin of :mod:`numbaconv.cpu.padding`, one thread per output element."""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false

from __future__ import annotations

import numpy as np

from ._target import cuda
from .common import grid_1d, to_device


@cuda.jit(cache=False)
def _pad_gather(src, out, maps, offsets, src_strides, out_shape, cvals):
    ndim = out_shape.shape[0]
    width = out_shape[ndim - 1]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        j = i % width
        rem = i // width
        m_last = maps[offsets[ndim - 1] + j]
        base = 0
        pad_axis = -1
        side = 0
        for a in range(ndim - 2, -1, -1):
            c = rem % out_shape[a]
            rem //= out_shape[a]
            m = maps[offsets[a] + c]
            if m < 0:
                if pad_axis < 0:
                    pad_axis = a
                    side = -1 - m
            else:
                base += m * src_strides[a]
        if m_last < 0:  # numpy.pad fills axis by axis: the last axis wins
            out[i] = cvals[ndim - 1, -1 - m_last]
        elif pad_axis >= 0:
            out[i] = cvals[pad_axis, side]
        else:
            out[i] = src[base + m_last]


def pad(x, out, maps, offsets, cvals, lo_last: int) -> None:
    """Fill device array ``out`` with ``x`` padded through the index maps."""
    if out.size == 0:
        return
    strides = np.array([s // x.dtype.itemsize for s in x.strides], dtype=np.int64)
    out_shape = np.array(out.shape, dtype=np.int64)
    src = x.reshape(x.size) if x.size else cuda.device_array(1, dtype=x.dtype)
    _pad_gather[grid_1d(out.size)](
        src, out.reshape(out.size), to_device(maps), to_device(offsets), to_device(strides),
        to_device(out_shape), to_device(cvals),
    )
