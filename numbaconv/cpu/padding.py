"""CPU padding kernel: a parallel gather through per-axis index maps."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _pad_gather(src, out, maps, offsets, src_strides, out_shape, cvals, lo_last, n_last):
    ndim = out_shape.shape[0]
    width = out_shape[ndim - 1]
    rows = out.size // width if width else 0
    first_last = offsets[ndim - 1]
    for r in prange(rows):
        # unravel the row index over all axes but the last
        rem = r + 0  # a copy: numba refuses updates of the prange index itself
        base = 0
        pad_axis = -1
        side = 0
        for a in range(ndim - 2, -1, -1):
            c = rem % out_shape[a]
            rem //= out_shape[a]
            m = maps[offsets[a] + c]
            if m < 0:
                if pad_axis < 0:  # numpy.pad fills axis by axis: the last axis wins
                    pad_axis = a
                    side = -1 - m
            else:
                base += m * src_strides[a]
        o = r * width
        if pad_axis >= 0:
            v = cvals[pad_axis, side]
            for j in range(width):
                m = maps[first_last + j]
                out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else v
            continue
        for j in range(lo_last):
            m = maps[first_last + j]
            out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else src[base + m]
        for j in range(n_last):  # the interior: a contiguous copy LLVM vectorises
            out[o + lo_last + j] = src[base + j]
        for j in range(lo_last + n_last, width):
            m = maps[first_last + j]
            out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else src[base + m]


def pad(x: np.ndarray, out: np.ndarray, maps, offsets, cvals, lo_last: int) -> None:
    """Fill ``out`` with ``x`` padded through the index maps (see core.padding)."""
    if out.size == 0:
        return
    strides = np.array([s // x.itemsize for s in x.strides], dtype=np.int64) if x.ndim else np.zeros(0, np.int64)
    out_shape = np.array(out.shape, dtype=np.int64)
    n_last = x.shape[-1]
    _pad_gather(x.reshape(-1), out.reshape(-1), maps, offsets, strides, out_shape, cvals,
                lo_last, n_last)
