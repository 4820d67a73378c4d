"""CPU padding kernel: a parallel gather through per-axis index maps."""

from __future__ import annotations

import numpy as np
from numba import prange

from .jit import njit

#: rows per parallel task: fixed, so the work split never depends on the thread count
ROWS_PER_TASK = 64


@njit(parallel=True, cache=True)
def _pad_gather(src, out, maps, offsets, src_strides, out_shape, cvals, lo_last, n_last):
    ndim = out_shape.shape[0]
    width = out_shape[ndim - 1]
    rows = out.size // width if width else 0
    first_last = offsets[ndim - 1]
    tasks = (rows + ROWS_PER_TASK - 1) // ROWS_PER_TASK
    for t in prange(tasks):
        r0 = t * ROWS_PER_TASK
        r1 = min(rows, r0 + ROWS_PER_TASK)
        # unravel the first row of the task once; later rows advance like an odometer
        coords = np.empty(max(ndim - 1, 1), dtype=np.int64)
        rem = r0
        for a in range(ndim - 2, -1, -1):
            coords[a] = rem % out_shape[a]
            rem //= out_shape[a]
        for r in range(r0, r1):
            base = 0
            pad_axis = -1
            side = 0
            for a in range(ndim - 1):
                m = maps[offsets[a] + coords[a]]
                if m < 0:
                    pad_axis = a  # numpy.pad fills axis by axis: the last axis wins
                    side = -1 - m
                else:
                    base += m * src_strides[a]
            o = r * width
            if pad_axis >= 0:
                v = cvals[pad_axis, side]
                for j in range(width):
                    m = maps[first_last + j]
                    out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else v
            else:
                for j in range(lo_last):
                    m = maps[first_last + j]
                    out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else src[base + m]
                for j in range(n_last):  # the interior: a contiguous copy LLVM vectorises
                    out[o + lo_last + j] = src[base + j]
                for j in range(lo_last + n_last, width):
                    m = maps[first_last + j]
                    out[o + j] = cvals[ndim - 1, -1 - m] if m < 0 else src[base + m]
            for a in range(ndim - 2, -1, -1):  # next row
                coords[a] += 1
                if coords[a] < out_shape[a]:
                    break
                coords[a] = 0


def pad(x: np.ndarray, out: np.ndarray, maps, offsets, cvals, lo_last: int) -> None:
    """Fill ``out`` with ``x`` padded through the index maps (see core.padding)."""
    if out.size == 0:
        return
    strides = np.array([s // x.itemsize for s in x.strides], dtype=np.int64)
    out_shape = np.array(out.shape, dtype=np.int64)
    _pad_gather(x.reshape(-1), out.reshape(-1), maps, offsets, strides, out_shape, cvals,
                lo_last, x.shape[-1])
