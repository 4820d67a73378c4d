"""CUDA kernels for scipy.signal-style convolution: twins of :mod:`numbaconv.cpu.signal`.

Direct method only (numbaconv has no GPU FFT). One thread per output element
computes ``out[o] = sum_j w[j] * xext[o + j]`` with the loop bodies the CPU
kernel uses too (:mod:`numbaconv.loops.signal`): for each kernel row,
:func:`~numbaconv.loops.signal.row_base` unravels the output and kernel rows
and finds the input row, :func:`~numbaconv.loops.signal.edge_dot` sums the
row's taps through the last axis's index map (boundary and fill included). The sum
runs in kernel order (the CPU kernel fuses interior taps 8 at a time, so float
rounding may differ in the last bits; ties, NaN and the fill behave the same).
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false

from __future__ import annotations

import numpy as np

from ..loops.signal import edge_dot, row_base
from ._target import cuda
from .common import grid_1d, to_device
from .memory import empty as device_empty


@cuda.jit(cache=False)
def _correlate(x, w, out, g, cv, flip, zero_fill):
    nd = g[0]
    ol = g[3 * nd]
    krows = w.shape[0] // g[2 * nd]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        r = i // ol
        c = i - r * ol
        acc = cv[1]
        for kr in range(krows):
            base = row_base(g, r, kr)
            if base >= 0 or not zero_fill:
                acc = edge_dot(x, w, g, base, kr, c, flip, cv[0], zero_fill, acc)
        out[i] = acc


@cuda.jit(cache=False)
def _reverse(src, dst, conj):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n = dst.shape[0]
    for i in range(start, n, step):
        # reversing every axis of a C-contiguous array reverses its flat order
        v = src[n - 1 - i]
        dst[i] = v.conjugate() if conj else v


def correlate(x, w, out, geom, fill, flip: bool) -> None:
    """``out[o] = sum_j w'[j] * xext[o + j]`` on the device (see the CPU twin)."""
    if out.size == 0:
        return
    cv = np.zeros(2, dtype=np.dtype(out.dtype))
    if fill is not None:
        cv[0] = fill
    _correlate[grid_1d(out.size)](x.reshape(x.size), w.reshape(w.size), out.reshape(out.size),
                                  to_device(geom), to_device(cv), bool(flip), fill is None)


def reverse(src, dst, conj: bool) -> None:
    """``dst = src`` reversed along every axis, conjugated too when ``conj`` (complex only)."""
    if dst.size == 0:
        return
    conj = bool(conj) and np.dtype(dst.dtype).kind == "c"
    _reverse[grid_1d(dst.size)](src.reshape(src.size), dst.reshape(dst.size), conj)


def workspace(shape, dtype, slot: str = "pad"):
    """A temporary device array for intermediate results (the CPU twin reuses host buffers)."""
    return device_empty(shape, dtype)
