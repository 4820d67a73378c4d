"""CUDA kernels for scipy.signal-style convolution: twins of :mod:`numbaconv.cpu.signal`.

Direct method only (there is no GPU FFT in numbaconv). One thread per output
element computes ``out[o] = sum_j w[j] * x[o + j - lo]``: the output index is
unravelled once, each kernel row once, and the contiguous taps of a kernel row
run over the range clipped to ``x`` (no per-tap bounds test), accumulating in
kernel order (the CPU kernel fuses up to 8 taps per pass, so float rounding may
differ in the last bits; ties and NaN behave the same).
"""

from __future__ import annotations

import numpy as np

from ._target import cuda
from .common import grid_1d, to_device
from .memory import empty as device_empty


@cuda.jit(cache=False)
def _corr_shifted(x, w, out, xshape, wshape, oshape, lo, xstrides, zero):
    nd = oshape.shape[0]
    ol = oshape[nd - 1]
    ml = wshape[nd - 1]
    xl = xshape[nd - 1]
    lo_l = lo[nd - 1]
    krows = w.shape[0] // ml
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        r = i // ol
        ol_i = i - r * ol
        # taps j of a kernel row that land inside x along the last axis
        j0 = max(0, lo_l - ol_i)
        j1 = min(ml, xl + lo_l - ol_i)
        acc = zero[0]
        for kr in range(krows):
            rem_o = r
            rem_k = kr
            xb = 0
            inside = True
            for a in range(nd - 2, -1, -1):
                oa = rem_o % oshape[a]
                rem_o //= oshape[a]
                ka = rem_k % wshape[a]
                rem_k //= wshape[a]
                xa = oa + ka - lo[a]
                if xa < 0 or xa >= xshape[a]:
                    inside = False
                xb += xa * xstrides[a]
            if inside:
                xo = xb + ol_i - lo_l
                wb = kr * ml
                for j in range(j0, j1):  # same tap order as the CPU kernel
                    acc += x[xo + j] * w[wb + j]
        out[i] = acc


@cuda.jit(cache=False)
def _taps(k, out, flip, conj):
    start, step = cuda.grid(1), cuda.gridsize(1)
    n = out.shape[0]
    for i in range(start, n, step):
        # reversing every axis of a C-contiguous array reverses its flat order
        v = k[n - 1 - i] if flip else k[i]
        out[i] = v.conjugate() if conj else v


def correlate_shifted(x, w, out, lo) -> None:
    """``out[o] = sum_j w[j] * x[o + j - lo]`` with zeros outside ``x`` (device arrays)."""
    if out.size == 0:
        return
    nd = max(out.ndim, 1)
    xshape = np.array(x.shape if x.ndim else (1,), dtype=np.int64)
    wshape = np.array(w.shape if w.ndim else (1,), dtype=np.int64)
    oshape = np.array(out.shape if out.ndim else (1,), dtype=np.int64)
    xstrides = np.ones(nd, dtype=np.int64)
    for a in range(nd - 2, -1, -1):
        xstrides[a] = xstrides[a + 1] * xshape[a + 1]
    lo_arr = np.array(lo if len(lo) else (0,), dtype=np.int64)
    zero = np.zeros(1, dtype=np.dtype(out.dtype))
    _corr_shifted[grid_1d(out.size)](
        x.reshape(x.size), w.reshape(w.size), out.reshape(out.size), to_device(xshape),
        to_device(wshape), to_device(oshape), to_device(lo_arr), to_device(xstrides),
        to_device(zero),
    )


def taps(k, out, flip: bool, conj: bool) -> None:
    """``out = k`` reversed along every axis (``flip``) and/or conjugated (``conj``)."""
    if out.size == 0:
        return
    conj = bool(conj) and np.dtype(out.dtype).kind == "c"
    _taps[grid_1d(out.size)](k.reshape(k.size), out.reshape(out.size), bool(flip), conj)


def workspace(shape, dtype, slot: str = "pad"):
    """A temporary device array for intermediate results (the CPU twin reuses host buffers)."""
    return device_empty(shape, dtype)
