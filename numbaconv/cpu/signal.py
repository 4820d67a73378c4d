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
cores busy as well as many short rows do. Inside a block, each kernel tap adds
``w * x[...]`` to the block with the out-of-range part clipped off the index
range, so the innermost loop is a branch-free, contiguous axpy that LLVM
vectorises. Each output element is accumulated by one thread in a fixed tap
order, so results are bitwise identical for any thread count.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange

#: output elements per parallel work item along the last axis (fits L1 for float64/complex128)
BLOCK = 2048


@njit(parallel=True, cache=True)
def _corr_shifted(x, w, out, xshape, wshape, oshape, lo, xstrides, block):
    nd = oshape.shape[0]
    ol = oshape[nd - 1]
    ml = wshape[nd - 1]
    xl = xshape[nd - 1]
    lo_l = lo[nd - 1]
    rows = out.size // ol
    krows = w.size // ml
    nblocks = (ol + block - 1) // block
    for item in prange(rows * nblocks):
        r = item // nblocks
        i0 = (item % nblocks) * block
        i1 = min(ol, i0 + block)
        ob = r * ol
        out[ob + i0:ob + i1] = 0
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
                    _fused(out, x, w, wb + j, g, ob, xo + j, ga, gb)
                else:
                    ga, gb = i1, i1
                for q in range(j, j + g):  # the rest of each tap's own range, tap by tap
                    ia = max(i0, lo_l - q)
                    ib = min(i1, xl + lo_l - q)
                    _fused(out, x, w, wb + q, 1, ob, xo + q, ia, min(ib, ga))
                    _fused(out, x, w, wb + q, 1, ob, xo + q, max(ia, gb), ib)


#: taps fused into one pass over an output block
GROUP = 4


@njit(cache=True, inline="always")
def _fused(out, x, w, wj, g, ob, xj, ia, ib):
    """``out[ob+i] += sum_{q<g} x[xj+q+i] * w[wj+q]`` for i in [ia, ib), g in 1..4.

    Slices starting at 0 make LLVM vectorise the loops (raw offset indexing it does not);
    the sum order is fixed for each g, so results do not depend on the thread count.
    """
    if ib <= ia:
        return
    n = ib - ia
    ov = out[ob + ia:ob + ib]
    x0 = x[xj + ia:xj + ib]
    w0 = w[wj]
    if g == 1:
        for t in range(n):
            ov[t] += x0[t] * w0
        return
    x1 = x[xj + 1 + ia:xj + 1 + ib]
    w1 = w[wj + 1]
    if g == 2:
        for t in range(n):
            ov[t] += x0[t] * w0 + x1[t] * w1
        return
    x2 = x[xj + 2 + ia:xj + 2 + ib]
    w2 = w[wj + 2]
    if g == 3:
        for t in range(n):
            ov[t] += (x0[t] * w0 + x1[t] * w1) + x2[t] * w2
        return
    x3 = x[xj + 3 + ia:xj + 3 + ib]
    w3 = w[wj + 3]
    for t in range(n):
        ov[t] += (x0[t] * w0 + x1[t] * w1) + (x2[t] * w2 + x3[t] * w3)


def correlate_shifted(x: np.ndarray, w: np.ndarray, out: np.ndarray, lo) -> None:
    """``out[o] = sum_j w[j] * x[o + j - lo]`` with zeros outside ``x`` (all C-contiguous, one dtype)."""
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
    _corr_shifted(x.reshape(-1), w.reshape(-1), out.reshape(-1), xshape, wshape, oshape,
                  lo_arr, xstrides, BLOCK)


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
