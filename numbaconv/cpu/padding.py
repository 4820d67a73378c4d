"""CPU padding kernel: a gather through per-axis index maps (see :mod:`numbaconv.core.padding`).

The output is viewed as rows along its last axis; a task is ``ROWS_PER_TASK`` consecutive
rows. Each row is found from its per-axis coordinates (unravelled once per task, then advanced
like an odometer); a row whose coordinate on some leading axis maps to the constant is filled
with it, any other row copies the input row's interior contiguously and gathers its edges
through the last axis's map. Outputs under ``SERIAL_BYTES`` run on the calling thread;
larger ones hand runs of tasks to the threads Numba would use, each thread taking the next run
when done (:func:`numbaconv.cpu.threads.run_chunks`: a thread descheduled on a busy machine
does not hold the call up). Every output element is written once, by whichever thread runs
its task, so the result never depends on the threads.
"""

from __future__ import annotations

import functools

import numpy as np

from .jit import njit
from .threads import num_threads, run_chunks

#: rows per parallel task: fixed, so the work split never depends on the thread count
ROWS_PER_TASK = 64

#: outputs smaller than this (bytes) are padded on the calling thread: waking the worker
#: threads costs more than copying them
SERIAL_BYTES = 1 << 20


@njit(cache=True, nogil=True)
def _pad_rows(src, out, maps, offsets, src_strides, out_shape, cvals, lo_last, n_last, slot,
              t0, t1):
    """Tasks ``t0 <= t < t1`` of the gather (``ROWS_PER_TASK`` output rows each)."""
    ndim = out_shape.shape[0]
    width = out_shape[ndim - 1]
    rows = out.size // width if width else 0
    first_last = offsets[ndim - 1]
    coords = np.empty(max(ndim - 1, 1), dtype=np.int64)
    for t in range(t0, t1):
        r0 = t * ROWS_PER_TASK
        r1 = min(rows, r0 + ROWS_PER_TASK)
        # unravel the first row of the task once; later rows advance like an odometer
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


@functools.lru_cache(maxsize=256)
def _layout(strides: tuple, itemsize: int, out_shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's ``x`` strides in elements and output shape as int64 arrays, built once per
    layout (two ``np.array`` calls were a quarter of a tiny pad's cost); the kernel only reads
    them."""
    return (np.array([s // itemsize for s in strides], dtype=np.int64),
            np.array(out_shape, dtype=np.int64))


def prepared(x: np.ndarray, out: np.ndarray, maps, offsets, cvals, lo_last: int):
    """``run(x, out)``: :func:`pad` for arrays of ``x``'s and ``out``'s shapes and dtypes, its
    constants and thread decision made once (the pass a repeated call keeps: a tiny pad
    spent half its time building them)."""
    if out.size == 0:
        return lambda x, out: None
    tasks = -(-(out.size // out.shape[-1]) // ROWS_PER_TASK)
    strides, out_shape = _layout(x.strides, x.itemsize, out.shape)
    consts = (maps, offsets, strides, out_shape, cvals, lo_last, x.shape[-1])
    if out.nbytes < SERIAL_BYTES or tasks == 1:
        def run(x, out):
            _pad_rows(x.reshape(-1), out.reshape(-1), *consts, 0, 0, tasks)
    else:
        chunk = max(1, tasks // 16)

        def run(x, out):
            run_chunks(_pad_rows, (x.reshape(-1), out.reshape(-1), *consts), tasks, chunk,
                       num_threads())
    return run


def pad(x: np.ndarray, out: np.ndarray, maps, offsets, cvals, lo_last: int) -> None:
    """Fill ``out`` with ``x`` padded through the index maps (see core.padding)."""
    prepared(x, out, maps, offsets, cvals, lo_last)(x, out)
