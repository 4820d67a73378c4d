"""CPU kernels for scipy.signal-style convolution: direct (Numba) and FFT (scipy.fft).

Every direct operation is reduced by :mod:`numbaconv.api.signal` to one
primitive, a shifted N-D correlation with implicit zeros::

    out[o] = sum_j w[j] * x[o + j - lo]      (terms with x out of range are 0)

``w`` is the kernel already flipped (convolution) and/or conjugated
(correlation) by :func:`taps`; ``lo`` is the per-axis shift that selects the
'full', 'same' or 'valid' window. Boundaries other than zero fill are padded
beforehand by the padding kernels, after which ``lo`` is 0.

Layout of the work: the output is viewed as rows along its last (contiguous)
axis and each row is cut into fixed-size blocks of ``BLOCK`` elements; the
parallel loop runs over (row, block) pairs, so one long 1-D signal keeps both
cores busy as well as many short rows do. Inside a block, up to ``GROUP``
taps of a kernel row are fused into one branch-free, contiguous pass
(``out += x0*w0 + x1*w1 + ...``) that LLVM vectorises; the first pass writes
instead of accumulating, and the few outputs whose taps fall off the edge of
``x`` are finished tap by tap. Rows shorter than ``SHORT_ROW`` (image
batches) are zero-padded explicitly and run one row per work item without
clipping. Calls under ``SERIAL_WORK`` multiply-adds run the same items on the
calling thread. Each output element is accumulated by one thread in a fixed
order that depends only on the shapes, so results are bitwise identical for
any thread count.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from numba import prange

from .jit import njit

#: output elements per parallel work item along the last axis (fits L1 for float64/complex128)
BLOCK = 2048


@njit(cache=True, inline="always")
def _shifted_item(item, x, w, out, xshape, wshape, oshape, lo, xstrides, block):
    """One work item of the shifted correlation: one block of one output row."""
    nd = oshape.shape[0]
    ol = oshape[nd - 1]
    ml = wshape[nd - 1]
    xl = xshape[nd - 1]
    lo_l = lo[nd - 1]
    krows = w.size // ml
    nblocks = (ol + block - 1) // block
    r = item // nblocks
    i0 = (item % nblocks) * block
    i1 = min(ol, i0 + block)
    ob = r * ol
    first = True  # the first pass over the block writes instead of accumulating
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
                break
            xb += xa * xstrides[a]
        if not inside:
            continue
        wb = kr * ml
        xo = xb - lo_l
        for j in range(0, ml, GROUP):
            g = min(GROUP, ml - j)
            # outputs in [ga, gb) see all g taps inside x: one fused pass over them
            ga = max(i0, lo_l - j)
            gb = min(i1, xl + lo_l - j - g + 1)
            if gb > ga:
                if first:
                    out[ob + i0:ob + ga] = 0
                    out[ob + gb:ob + i1] = 0
                _fused(out, x, w, wb + j, g, ob, xo + j, ga, gb, first)
            else:
                if first:
                    out[ob + i0:ob + i1] = 0
                ga, gb = i1, i1
            first = False
            for q in range(j, j + g):  # the rest of each tap's own range, tap by tap
                ia = max(i0, lo_l - q)
                ib = min(i1, xl + lo_l - q)
                wq = w[wb + q]
                _edge(out, x, wq, ob, xo + q, ia, min(ib, ga))
                _edge(out, x, wq, ob, xo + q, max(ia, gb), ib)
    if first:  # no kernel row reaches inside x
        out[ob + i0:ob + i1] = 0


@njit(parallel=True, cache=True)
def _corr_shifted(x, w, out, xshape, wshape, oshape, lo, xstrides, block):
    nd = oshape.shape[0]
    items = (out.size // oshape[nd - 1]) * ((oshape[nd - 1] + block - 1) // block)
    for item in prange(items):
        _shifted_item(item, x, w, out, xshape, wshape, oshape, lo, xstrides, block)


@njit(cache=True)
def _corr_shifted_serial(x, w, out, xshape, wshape, oshape, lo, xstrides, block):
    # the same items in the same order on the calling thread: bitwise the same result
    nd = oshape.shape[0]
    items = (out.size // oshape[nd - 1]) * ((oshape[nd - 1] + block - 1) // block)
    for item in range(items):
        _shifted_item(item, x, w, out, xshape, wshape, oshape, lo, xstrides, block)


#: taps fused into one pass over an output block (each pass loads and stores the block once)
GROUP = 8


@njit(cache=True, inline="always")
def _fused(out, x, w, wj, g, ob, xj, ia, ib, assign):
    """``out[ob+i] (+)= sum_{q<g} x[xj+q+i] * w[wj+q]`` for i in [ia, ib), 1 <= g <= GROUP.

    ``assign`` writes instead of accumulating (the first pass over a block: no zeroing pass).
    Slices starting at 0 make LLVM vectorise the loops (raw offset indexing it does not);
    the sum order is fixed for each g, so results do not depend on the thread count.
    """
    n = ib - ia
    ov = out[ob + ia:ob + ib]
    x0 = x[xj + ia:xj + ib]
    w0 = w[wj + 0]
    if g == 1:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0
        else:
            for t in range(n):
                ov[t] += x0[t] * w0
        return
    x1 = x[xj + 1 + ia:xj + 1 + ib]
    w1 = w[wj + 1]
    if g == 2:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1
        return
    x2 = x[xj + 2 + ia:xj + 2 + ib]
    w2 = w[wj + 2]
    if g == 3:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2
        return
    x3 = x[xj + 3 + ia:xj + 3 + ib]
    w3 = w[wj + 3]
    if g == 4:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3
        return
    x4 = x[xj + 4 + ia:xj + 4 + ib]
    w4 = w[wj + 4]
    if g == 5:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4
        return
    x5 = x[xj + 5 + ia:xj + 5 + ib]
    w5 = w[wj + 5]
    if g == 6:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5
        return
    x6 = x[xj + 6 + ia:xj + 6 + ib]
    w6 = w[wj + 6]
    if g == 7:
        if assign:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5 + x6[t] * w6
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5 + x6[t] * w6
        return
    x7 = x[xj + 7 + ia:xj + 7 + ib]
    w7 = w[wj + 7]
    if assign:
        for t in range(n):
            ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5 + x6[t] * w6 + x7[t] * w7
    else:
        for t in range(n):
            ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3 + x4[t] * w4 + x5[t] * w5 + x6[t] * w6 + x7[t] * w7


@njit(cache=True, inline="always")
def _edge(out, x, wv, ob, xq, ia, ib):
    """``out[ob+i] += x[xq+i] * wv`` for the few i in [ia, ib) at a block's clipped edges."""
    for i in range(ia, ib):
        out[ob + i] += x[xq + i] * wv


@njit(cache=True, inline="always")
def _padded_row(r, xp, w, out, oshape, xstrides, roff, ml):
    """One output row of the valid correlation of a fully padded input (no clipping)."""
    nd = oshape.shape[0]
    ol = oshape[nd - 1]
    rem = r + 0  # a copy: numba refuses updates of the prange index itself
    base = 0
    for a in range(nd - 2, -1, -1):
        base += (rem % oshape[a]) * xstrides[a]
        rem //= oshape[a]
    ob = r * ol
    for kr in range(roff.size):
        for j in range(0, ml, GROUP):
            _fused(out, xp, w, kr * ml + j, min(GROUP, ml - j), ob, base + roff[kr] + j, 0, ol,
                   kr == 0 and j == 0)


@njit(parallel=True, cache=True)
def _corr_padded(xp, w, out, oshape, xstrides, roff, ml):
    # short output rows, one per work item: one fused pass per (kernel row, GROUP taps)
    for r in prange(out.size // oshape[oshape.shape[0] - 1]):
        _padded_row(r, xp, w, out, oshape, xstrides, roff, ml)


@njit(cache=True)
def _corr_padded_serial(xp, w, out, oshape, xstrides, roff, ml):
    for r in range(out.size // oshape[oshape.shape[0] - 1]):
        _padded_row(r, xp, w, out, oshape, xstrides, roff, ml)


#: below this many multiply-adds a call runs on the calling thread: waking the worker threads
#: costs more than it saves, and on a loaded machine a descheduled worker stalls the whole call
SERIAL_WORK = 4_000_000

#: output rows shorter than this go through the padded short-row kernel
SHORT_ROW = 256

_scratch_local = threading.local()
#: largest temporary (bytes) kept alive per thread for reuse
SCRATCH_LIMIT = 64 * 2**20


def workspace(shape, dtype, slot: str = "pad") -> np.ndarray:
    """A temporary array for intermediate results, reused between calls of one thread.

    Fresh large allocations cost page faults on first touch (several ms for a 1024x1024
    float64 image); reusing a per-thread buffer avoids them. Never returned to callers.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > SCRATCH_LIMIT:
        return np.empty(shape, dtype)
    pool = _scratch_local.__dict__.setdefault("pool", {})
    buf = pool.get(slot)
    if buf is None or buf.size < nbytes:
        buf = pool[slot] = np.empty(max(nbytes, 1), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def _c_strides(shape) -> np.ndarray:
    strides = np.ones(len(shape), dtype=np.int64)
    for a in range(len(shape) - 2, -1, -1):
        strides[a] = strides[a + 1] * shape[a + 1]
    return strides


def correlate_shifted(x: np.ndarray, w: np.ndarray, out: np.ndarray, lo) -> None:
    """``out[o] = sum_j w[j] * x[o + j - lo]`` with zeros outside ``x`` (all C-contiguous, one dtype)."""
    if out.size == 0:
        return
    if out.ndim >= 2 and out.shape[-1] < SHORT_ROW:
        _correlate_short_rows(x, w, out, lo)
        return
    xshape = np.array(x.shape if x.ndim else (1,), dtype=np.int64)
    wshape = np.array(w.shape if w.ndim else (1,), dtype=np.int64)
    oshape = np.array(out.shape if out.ndim else (1,), dtype=np.int64)
    lo_arr = np.array(lo if len(lo) else (0,), dtype=np.int64)
    kernel = _corr_shifted_serial if out.size * w.size < SERIAL_WORK else _corr_shifted
    kernel(x.reshape(-1), w.reshape(-1), out.reshape(-1), xshape, wshape, oshape, lo_arr,
           _c_strides(xshape), BLOCK)


def _correlate_short_rows(x, w, out, lo) -> None:
    """Short rows: zero-pad ``x`` explicitly (padding kernel), then the unclipped row kernel."""
    from ..core import padding as padspec
    from .padding import pad

    pads = tuple((lo_a, max(0, o + m - 1 - lo_a - n))
                 for lo_a, o, m, n in zip(lo, out.shape, w.shape, x.shape, strict=True))
    if any(p != (0, 0) for p in pads):
        maps, offsets = padspec.index_maps(x.shape, pads, "constant")
        xp = workspace(padspec.padded_shape(x.shape, pads), x.dtype, "short-rows")
        pad(x, xp, maps, offsets, np.zeros((x.ndim, 2), x.dtype), pads[-1][0])
    else:
        xp = x
    strides = _c_strides(xp.shape)
    krow_index = np.indices(w.shape[:-1]).reshape(w.ndim - 1, -1)
    roff = np.ascontiguousarray((krow_index * strides[:-1, None]).sum(axis=0), dtype=np.int64)
    kernel = _corr_padded_serial if out.size * w.size < SERIAL_WORK else _corr_padded
    kernel(xp.reshape(-1), w.reshape(-1), out.reshape(-1), np.array(out.shape, dtype=np.int64),
           strides, roff, w.shape[-1])


def taps(k: np.ndarray, out: np.ndarray, flip: bool, conj: bool) -> None:
    """``out = k`` reversed along every axis (``flip``) and/or conjugated (``conj``)."""
    src = k[(slice(None, None, -1),) * k.ndim] if flip else k
    if conj and np.iscomplexobj(src):
        np.conjugate(src, out=out)
    else:
        out[...] = src


def fft_workers() -> int:
    """Threads scipy.fft may use for batched transforms."""
    return max(1, os.cpu_count() or 1)


def fft_convolve(x: np.ndarray, k: np.ndarray, out: np.ndarray, start) -> None:
    """Linear convolution of ``x`` and ``k`` by scipy.fft; ``out`` receives the window of the
    full result starting at ``start`` (per axis). Integer and bool outputs are rounded."""
    import scipy.fft as sfft

    full = [n + m - 1 for n, m in zip(x.shape, k.shape, strict=True)]
    axes = tuple(range(x.ndim))
    complex_ = np.iscomplexobj(x) or np.iscomplexobj(k)
    work = np.float32 if out.dtype in (np.float32, np.complex64) else np.float64
    if x.ndim == 1 and not complex_ and x.size >= 8 * k.size and k.size >= 16:
        res = _overlap_add_1d(x.astype(work, copy=False), k.astype(work, copy=False), sfft)
    elif complex_:
        fshape = [sfft.next_fast_len(n, real=False) for n in full]
        ct = np.complex64 if work == np.float32 else np.complex128
        sp = sfft.fftn(x.astype(ct, copy=False), fshape, axes=axes, workers=fft_workers())
        sp *= sfft.fftn(k.astype(ct, copy=False), fshape, axes=axes, workers=fft_workers())
        res = sfft.ifftn(sp, fshape, axes=axes, workers=fft_workers(), overwrite_x=True)
    else:
        fshape = [sfft.next_fast_len(n, real=True) for n in full]
        sp = sfft.rfftn(x.astype(work, copy=False), fshape, axes=axes, workers=fft_workers())
        sp *= sfft.rfftn(k.astype(work, copy=False), fshape, axes=axes, workers=fft_workers())
        res = sfft.irfftn(sp, fshape, axes=axes, workers=fft_workers(), overwrite_x=True)
    window = res[tuple(slice(s, s + n) for s, n in zip(start, out.shape, strict=True))]
    if out.dtype.kind in "biu":
        window = np.round(window.real)
        if out.dtype.kind == "b":
            window = window != 0
    with np.errstate(invalid="ignore"):
        out[...] = window


def _overlap_add_1d(x: np.ndarray, k: np.ndarray, sfft) -> np.ndarray:
    """Full 1-D linear convolution by overlap-add: a batch of short real FFTs.

    One long 1-D FFT runs on one core; cutting ``x`` into blocks gives scipy.fft a
    batch it spreads over ``workers`` threads, and short transforms stay in cache.
    """
    n, m = x.size, k.size
    nfft = sfft.next_fast_len(max(8 * m, 1024), real=True)
    step = nfft - m + 1
    nb = -(-n // step)
    blocks = np.zeros((nb, step), x.dtype)
    blocks.reshape(-1)[:n] = x
    spec = sfft.rfft(blocks, nfft, axis=1, workers=fft_workers())
    spec *= sfft.rfft(k, nfft)
    seg = sfft.irfft(spec, nfft, axis=1, workers=fft_workers(), overwrite_x=True)
    y = np.zeros((nb + 1) * step, x.dtype)
    y[:nb * step].reshape(nb, step)[...] = seg[:, :step]
    y[step:].reshape(nb, step)[:, :m - 1] += seg[:, step:]
    return y[:n + m - 1]
