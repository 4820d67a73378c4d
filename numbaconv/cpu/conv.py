"""CPU convolution kernels: im2col/col2im + BLAS GEMM, and direct kernels for thin layers.

Every launcher works on 3-D-spatial arrays: ``x`` is ``(N, C, D, H, W)``,
``w`` is ``(K, C/groups, kd, kh, kw)``, 1-D and 2-D convolutions arrive with
singleton ``D``/``H`` axes. Arguments are already resolved by
``numbaconv.api.conv``: ``stride``, ``lo`` (padding before) and ``dilation``
are 3-tuples of ints and the output arrays are preallocated. Padding after
the data is implicit: a tap that falls outside the input reads zero.

Two strategies, picked per call by :func:`_use_gemm`:

* *GEMM*: a call is split into a fixed number of independent work items
  (image x group x block of output rows, or of channels for the gradients).
  Each item runs a GIL-free njit ``im2col`` into a per-thread buffer and one
  single-threaded BLAS GEMM through NumPy's ``matmul``; the items run on
  ``numba.get_num_threads()`` Python threads (:func:`_run`). The input
  gradient is ``col2im(W^T @ G)``, the weight gradient ``G @ cols^T``
  summed over the batch in order; the bias rides along as a row of ones.
* *direct*: for layers whose reduction is tiny (depthwise, one input
  channel), parallel loop nests over output planes (forward), input planes
  (input gradient) or weight planes (weight gradient). With stride 1 in
  (H, W) the input is padded once onto a padded-width grid so each tap is
  one long vectorised run (``_direct_forward_s1``; the input gradient is
  then the correlation with the flipped kernel, ``_direct_weight_grad_s1``).

Determinism: direct kernels ``prange`` over planes that one thread reduces
serially; the GEMM path's blocking is a constant (``_ITEMS``), so neither
depends on the thread count.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from numba import njit, prange

#: below this reduction length (C/groups * kernel taps) or with fewer output
#: channels per group than ``_MIN_KG``, direct loops beat im2col + GEMM.
_MIN_REDUCTION = 32
_MIN_KG = 8


@njit(inline="always")
def _span(n_in, n_out, off, s):
    """Output indices ``[o0, o1)`` whose input index ``o*s + off`` lies in ``[0, n_in)``."""
    o0 = 0 if off >= 0 else (-off + s - 1) // s
    if n_in - 1 - off < 0:
        return o0, o0
    o1 = (n_in - 1 - off) // s + 1
    if o1 > n_out:
        o1 = n_out
    if o1 < o0:
        o1 = o0
    return o0, o1


# Hot loops index flat arrays with unsigned offsets: Numba then skips the negative-index
# wraparound select and LLVM vectorises the copy (measured 6-10x on im2col).
_U = np.uint64


@njit(cache=True, nogil=True)
def _im2col(x, cols, n, c0, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw, dd, dh, dw,
            Do, Ho, Wo, row0, row1):
    """``cols[r, j]``: patch element ``r`` (channel-major) of image ``n`` at output position
    ``row0*Wo + j``, for the output rows ``(od, oh)`` flattened in ``[row0, row1)``.

    Serial and GIL-free: the launchers run one per worker thread next to a
    single-threaded GEMM (see :func:`_run`).
    """
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    R = cg * kd * kh * kw
    ncols = cols.shape[1]
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for r in range(R):
        tw = r % kw
        q = r // kw
        th = q % kh
        q //= kh
        td = q % kd
        c = c0 + q // kd
        off = tw * dw - lw
        ow0, ow1 = _span(W, Wo, off, sw)
        for row in range(row0, row1):
            od = row // Ho
            oh = row % Ho
            i_d = od * sd - ld + td * dd
            cb = _U(r * ncols + (row - row0) * Wo)
            ih = oh * sh - lh + th * dh
            if i_d < 0 or i_d >= D or ih < 0 or ih >= H:
                for ow in range(Wo):
                    cf[cb + _U(ow)] = 0
                continue
            xb = _U((((n * C + c) * D + i_d) * H + ih) * W + off + ow0 * sw)
            for ow in range(ow0):
                cf[cb + _U(ow)] = 0
            cb0 = cb + _U(ow0)
            if sw == 1:
                for j in range(ow1 - ow0):
                    cf[cb0 + _U(j)] = xf[xb + _U(j)]
            else:
                for j in range(ow1 - ow0):
                    cf[cb0 + _U(j)] = xf[xb + _U(j * sw)]
            for ow in range(ow1, Wo):
                cf[cb + _U(ow)] = 0


@njit(cache=True, nogil=True)
def _col2im(cols, dx, bias, n, c0, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw, dd, dh, dw,
            Do, Ho, Wo):
    """``dx[n, c0+c] = bias[c0+c] +`` the rows of channel ``c`` of ``cols`` scattered back."""
    C, D, H, W = dx.shape[1], dx.shape[2], dx.shape[3], dx.shape[4]
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    df = dx.reshape(-1)
    plane = D * H * W
    for c in range(cg):
        ci = c0 + c
        pb = _U((n * C + ci) * plane)
        init = bias[ci]
        for i in range(plane):
            df[pb + _U(i)] = init
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    r = ((c * kd + td) * kh + th) * kw + tw
                    off = tw * dw - lw
                    ow0, ow1 = _span(W, Wo, off, sw)
                    for od in range(Do):
                        i_d = od * sd - ld + td * dd
                        if i_d < 0 or i_d >= D:
                            continue
                        for oh in range(Ho):
                            ih = oh * sh - lh + th * dh
                            if ih < 0 or ih >= H:
                                continue
                            cb = _U(r * ncols + (od * Ho + oh) * Wo + ow0)
                            xb = pb + _U((i_d * H + ih) * W + off + ow0 * sw)
                            if sw == 1:
                                for j in range(ow1 - ow0):
                                    df[xb + _U(j)] += cf[cb + _U(j)]
                            else:
                                for j in range(ow1 - ow0):
                                    df[xb + _U(j * sw)] += cf[cb + _U(j)]


@njit(parallel=True, cache=True)
def _direct_forward(x, w, bias, out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per output plane ``(n, k)``: bias, then every tap added row by row."""
    N, K, Do, Ho, Wo = out.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    xf = x.reshape(-1)
    of = out.reshape(-1)
    oplane = Do * Ho * Wo
    for nk in prange(N * K):
        n = nk // K
        k = nk % K
        c0 = (k // kg) * cg
        ob0 = _U(nk * oplane)
        init = bias[k]
        for i in range(oplane):
            of[ob0 + _U(i)] = init
        for c in range(cg):
            for td in range(kd):
                for th in range(kh):
                    for tw in range(kw):
                        wv = w[k, c, td, th, tw]
                        off = tw * dw - lw
                        ow0, ow1 = _span(W, Wo, off, sw)
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                ob = ob0 + _U((od * Ho + oh) * Wo + ow0)
                                xb = _U((((n * C + c0 + c) * D + i_d) * H + ih) * W + off
                                        + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        of[ob + _U(j)] += wv * xf[xb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        of[ob + _U(j)] += wv * xf[xb + _U(j * sw)]


@njit(parallel=True, cache=True)
def _direct_input_grad(g, w, bias, dx, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per input plane ``(n, c)``: scatter ``w * g`` of every output that reads it."""
    N, C, D, H, W = dx.shape
    K, Do, Ho, Wo = g.shape[1], g.shape[2], g.shape[3], g.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    gf = g.reshape(-1)
    df = dx.reshape(-1)
    plane = D * H * W
    for nc in prange(N * C):
        n = nc // C
        ci = nc % C
        c = ci % cg
        k0 = (ci // cg) * kg
        pb = _U(nc * plane)
        init = bias[ci]
        for i in range(plane):
            df[pb + _U(i)] = init
        for k in range(k0, k0 + kg):
            for td in range(kd):
                for th in range(kh):
                    for tw in range(kw):
                        wv = w[k, c, td, th, tw]
                        off = tw * dw - lw
                        ow0, ow1 = _span(W, Wo, off, sw)
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                gb = _U((((n * K + k) * Do + od) * Ho + oh) * Wo + ow0)
                                xb = pb + _U((i_d * H + ih) * W + off + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j)] += wv * gf[gb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j * sw)] += wv * gf[gb + _U(j)]


@njit(parallel=True, cache=True)
def _direct_weight_grad(x, g, dw_out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per weight plane ``(k, c)``; each tap sums ``g * x`` into a row, then the row."""
    N, K, Do, Ho, Wo = g.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = dw_out.shape[1], dw_out.shape[2], dw_out.shape[3], dw_out.shape[4]
    kg = K // groups
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    for kc in prange(K * cg):
        k = kc // cg
        c = kc % cg
        ci = (k // kg) * cg + c
        acc = np.zeros(Wo, dtype=dw_out.dtype)
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    acc[:] = 0
                    off = tw * dw - lw
                    ow0, ow1 = _span(W, Wo, off, sw)
                    for n in range(N):
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                gb = _U((((n * K + k) * Do + od) * Ho + oh) * Wo + ow0)
                                xb = _U((((n * C + ci) * D + i_d) * H + ih) * W + off
                                        + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        acc[ow0 + j] += gf[gb + _U(j)] * xf[xb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        acc[ow0 + j] += gf[gb + _U(j)] * xf[xb + _U(j * sw)]
                    total = acc[0]
                    for ow in range(1, Wo):
                        total += acc[ow]
                    dw_out[k, c, td, th, tw] = total


@njit(parallel=True, cache=True)
def _pad_planes(x, xp, lh, lw, Hp, Wp):
    """Every ``(H, W)`` plane of ``x`` onto a zero ``(Hp + 1, Wp)`` grid starting at
    ``(-lh, -lw)`` (the extra row absorbs the overrun of the last taps)."""
    H, W = x.shape[3], x.shape[4]
    planes = x.shape[0] * x.shape[1] * x.shape[2]
    PL = (Hp + 1) * Wp
    xf = x.reshape(-1)
    pf = xp.reshape(-1)
    c0 = max(0, lw)
    c1 = min(Wp, W + lw)
    for p in prange(planes):
        dst0 = _U(p * PL)
        for i in range(PL):
            pf[dst0 + _U(i)] = 0
        for r in range(Hp):
            ih = r - lh
            if ih < 0 or ih >= H:
                continue
            src = _U(p * H * W + ih * W - lw)
            dst = dst0 + _U(r * Wp)
            for j in range(c0, c1):
                pf[dst + _U(j)] = xf[src + _U(j)]


# Stride-1 direct kernels on a padded-width grid: output position (oh, ow) lives at
# q = oh*Wp + ow and reads padded input q + th*dh*Wp + tw*dw, so every tap is ONE contiguous
# run of Ho*Wp elements (rows of ~56 are too short for LLVM's unrolled AVX-512 loop). The
# (Wp - Wo) extra columns per row are computed and dropped. The input is padded once
# (_pad_planes) and shared by every output channel.


@njit(parallel=True, cache=True)
def _direct_forward_s1(xp, w, bias, out, groups, sd, ld, dd, dh, dw, D, Hp, Wp):
    """Stride-1 (H, W) direct forward from padded planes: one thread per output plane ``(n, k)``."""
    N, K, Do, Ho, Wo = out.shape
    C = xp.shape[1]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    L = Ho * Wp
    PL = (Hp + 1) * Wp
    xf = xp.reshape(-1)
    for nk in prange(N * K):
        n = nk // K
        k = nk % K
        c0 = (k // kg) * cg
        acc = np.empty(L, dtype=out.dtype)
        for od in range(Do):
            acc[:] = bias[k]
            for c in range(cg):
                for td in range(kd):
                    i_d = od * sd - ld + td * dd
                    if i_d < 0 or i_d >= D:
                        continue
                    base = ((n * C + c0 + c) * D + i_d) * PL
                    for th in range(kh):
                        for tw in range(kw):
                            wv = w[k, c, td, th, tw]
                            off = _U(base + th * dh * Wp + tw * dw)
                            for q in range(L):
                                acc[_U(q)] += wv * xf[off + _U(q)]
            for oh in range(Ho):
                for ow in range(Wo):
                    out[n, k, od, oh, ow] = acc[oh * Wp + ow]


@njit(parallel=True, cache=True)
def _grid_g(g, gg, Wp):
    """``g`` onto a padded-width grid (zeros in the extra columns)."""
    Ho, Wo = g.shape[3], g.shape[4]
    planes = g.shape[0] * g.shape[1] * g.shape[2]
    gf = g.reshape(-1)
    ggf = gg.reshape(-1)
    for p in prange(planes):
        for oh in range(Ho):
            src = _U(p * Ho * Wo + oh * Wo)
            dst = _U((p * Ho + oh) * Wp)
            for ow in range(Wo):
                ggf[dst + _U(ow)] = gf[src + _U(ow)]
            for ow in range(Wo, Wp):
                ggf[dst + _U(ow)] = 0


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _direct_weight_grad_s1(xp, gg, dw_out, groups, sd, ld, dd, dh, dw, D, Hp, Wp, Do, Ho):
    """Stride-1 (H, W) direct weight gradient: one thread per weight plane ``(k, c)``.

    Each tap is a dot product of long runs; ``reassoc`` lets LLVM keep vector partial
    sums in registers. The association is fixed at compile time, so results do not
    depend on the thread count.
    """
    N, C = xp.shape[0], xp.shape[1]
    K = gg.shape[1]
    cg, kd, kh, kw = dw_out.shape[1], dw_out.shape[2], dw_out.shape[3], dw_out.shape[4]
    kg = K // groups
    L = Ho * Wp
    PL = (Hp + 1) * Wp
    xf = xp.reshape(-1)
    gf = gg.reshape(-1)
    for kc in prange(K * cg):
        k = kc // cg
        c = kc % cg
        ci = (k // kg) * cg + c
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    total = dw_out.dtype.type(0)
                    for n in range(N):
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            gb = _U(((n * K + k) * Do + od) * L)
                            off = _U(((n * C + ci) * D + i_d) * PL + th * dh * Wp + tw * dw)
                            part = dw_out.dtype.type(0)
                            for q in range(L):
                                part += gf[gb + _U(q)] * xf[off + _U(q)]
                            total += part
                    dw_out[k, c, td, th, tw] = total


@njit(parallel=True, cache=True)
def _bias_grad(g, db):
    """``db[k] = sum(g[:, k, :])`` accumulated in float64, serially per channel."""
    N, K, S = g.shape
    for k in prange(K):
        acc = 0.0
        for n in range(N):
            for s in range(S):
                acc += g[n, k, s]
        db[k] = acc


# ----------------------------------------------------------------------------------------------
# GEMM path: independent work items on a few threads, each im2col + a single-threaded GEMM

#: work items the GEMM path splits a call into (a constant, so the blocking, and therefore
#: every rounding, is the same whatever the thread count).
_ITEMS = 4
_EXECUTORS: dict = {}
_CONTROLLER: list = []
_BLAS_LOCK = threading.Lock()


def _after_fork_in_child() -> None:  # worker threads do not survive a fork
    global _BLAS_LOCK
    _EXECUTORS.clear()
    _BLAS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _blas_controller():
    """threadpoolctl's controller, or None when threadpoolctl is not installed."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except Exception:  # not installed, or no BLAS found
            _CONTROLLER.append(None)
    return _CONTROLLER[0]


def _run(work, items) -> None:
    """Run ``work(item)`` for every item on ``numba.get_num_threads()`` threads.

    Each worker calls BLAS with one thread (threadpoolctl). Two single-threaded
    GEMMs on two cores match one two-threaded GEMM on an idle machine and stay
    fast on a busy one, where OpenBLAS's spinning thread team collapses
    (measured 80 vs 6 GFLOP/s with three other processes running). Without
    threadpoolctl the items run in order with BLAS's own threads.
    """
    import numba

    threads = min(numba.get_num_threads(), len(items))
    ctl = _blas_controller()
    if threads <= 1 or ctl is None:
        for item in items:
            work(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = _EXECUTORS.get(threads)
    if pool is None:
        pool = _EXECUTORS[threads] = ThreadPoolExecutor(threads, "numbaconv-conv")

    # dynamic scheduling: a worker slowed down by other processes simply takes fewer items
    # (each item's result does not depend on which thread runs it)
    queue = iter(items)
    qlock = threading.Lock()

    def worker(t):
        while True:
            with qlock:
                item = next(queue, None)
            if item is None:
                return
            work(item)

    # one call at a time holds the BLAS limit, so concurrent callers cannot restore it wrongly
    with _BLAS_LOCK, ctl.limit(limits=1, user_api="blas"):
        for f in [pool.submit(worker, t) for t in range(threads)]:
            f.result()


def _split(n: int, parts: int):
    """``parts`` (at most ``n``) contiguous ranges covering ``range(n)``."""
    parts = max(1, min(n, parts))
    step = -(-n // parts)
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def _use_gemm(w_shape, groups: int) -> bool:
    K, cg = w_shape[0], w_shape[1]
    taps = int(np.prod(w_shape[2:]))
    return cg * taps >= _MIN_REDUCTION and K // groups >= _MIN_KG


def _bias_or_zeros(bias, n: int, dtype):
    return np.zeros(n, dtype=dtype) if bias is None else bias


def _forward_s1(x, w, bias, out, groups, sd, lo, dilation) -> None:
    """Pad ``x``'s planes once, then the stride-1 direct forward over them."""
    Ho, Wo = out.shape[3], out.shape[4]
    kh, kw = w.shape[3], w.shape[4]
    Hp, Wp = Ho + (kh - 1) * dilation[1], Wo + (kw - 1) * dilation[2]
    xp = np.empty(x.shape[:3] + (Hp + 1, Wp), dtype=x.dtype)
    _pad_planes(x, xp, lo[1], lo[2], Hp, Wp)
    _direct_forward_s1(xp, w, bias, out, groups, sd, lo[0], *dilation, x.shape[2], Hp, Wp)


def conv_forward(x, w, bias, out, stride, lo, dilation, groups: int) -> None:
    """``out = conv(x, w) + bias`` (cross-correlation); ``bias`` may be None."""
    N = x.shape[0]
    K, cg, kd, kh, kw = w.shape
    Do, Ho, Wo = out.shape[2:]
    geo = (kd, kh, kw, *stride, *lo, *dilation)
    if out.size == 0:
        return
    if not _use_gemm(w.shape, groups):
        b = _bias_or_zeros(bias, K, out.dtype)
        if stride[1] == stride[2] == 1:
            _forward_s1(x, w, b, out, groups, stride[0], lo, dilation)
        else:
            _direct_forward(x, w, b, out, groups, *stride, *lo, *dilation)
        return
    kg = K // groups
    R = cg * kd * kh * kw
    P = Do * Ho * Wo
    # weights with the bias as an extra column; cols get a matching row of ones
    wa = np.empty((groups, kg, R + 1), dtype=out.dtype)
    wa[:, :, :R] = w.reshape(groups, kg, R)
    wa[:, :, R] = 0 if bias is None else np.asarray(bias).reshape(groups, kg)
    out3 = out.reshape(N, K, P)
    blocks = _split(Do * Ho, -(-_ITEMS // (N * groups)))
    items = [(n, gi, r0, r1) for n in range(N) for gi in range(groups) for r0, r1 in blocks]
    local = threading.local()

    def work(item):
        n, gi, r0, r1 = item
        width = (r1 - r0) * Wo
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < (R + 1) * width:
            buf = local.buf = np.empty((R + 1) * (blocks[0][1] - blocks[0][0]) * Wo, out.dtype)
        cols = buf[: (R + 1) * width].reshape(R + 1, width)
        _im2col(x, cols, n, gi * cg, cg, *geo, Do, Ho, Wo, r0, r1)
        cols[R] = 1
        np.matmul(wa[gi], cols, out=out3[n, gi * kg:(gi + 1) * kg, r0 * Wo:r1 * Wo])

    _run(work, items)


def conv_input_grad(g, w, bias, dx, stride, lo, dilation, groups: int) -> None:
    """``dx = conv_input(g, w) + bias`` (the transposed convolution); ``bias`` may be None."""
    N, C = dx.shape[0], dx.shape[1]
    K, cg, kd, kh, kw = w.shape
    Do, Ho, Wo = g.shape[2:]
    geo = (kd, kh, kw, *stride, *lo, *dilation)
    if dx.size == 0:
        return
    b_arr = _bias_or_zeros(bias, C, dx.dtype)
    if g.size == 0 or not _use_gemm(w.shape, groups):
        # stride 1: the input gradient is a stride-1 correlation of g with the flipped,
        # channel-transposed kernel, padded d*(k-1) - lo before
        flo = tuple(d * (k - 1) - p for d, k, p in zip(dilation, w.shape[2:], lo, strict=True))
        if g.size and stride == (1, 1, 1) and min(flo) >= 0:
            kg = K // groups
            wf = np.ascontiguousarray(
                w[:, :, ::-1, ::-1, ::-1].reshape(groups, kg, cg, kd, kh, kw)
                .transpose(0, 2, 1, 3, 4, 5).reshape(C, kg, kd, kh, kw))
            _forward_s1(g, wf, b_arr, dx, groups, 1, flo, dilation)
        else:
            _direct_input_grad(g, w, b_arr, dx, groups, *stride, *lo, *dilation)
        return
    kg = K // groups
    taps = kd * kh * kw
    P = Do * Ho * Wo
    # W^T per group, rows channel-major like cols
    wt = np.ascontiguousarray(w.reshape(groups, kg, cg * taps).transpose(0, 2, 1))
    g3 = g.reshape(N, K, P)
    cblocks = _split(cg, -(-_ITEMS // (N * groups)))
    items = [(n, gi, c0, c1) for n in range(N) for gi in range(groups) for c0, c1 in cblocks]
    local = threading.local()

    def work(item):
        n, gi, c0, c1 = item
        rows = (c1 - c0) * taps
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < rows * P:
            buf = local.buf = np.empty((cblocks[0][1] - cblocks[0][0]) * taps * P, dx.dtype)
        cols = buf[: rows * P].reshape(rows, P)
        np.matmul(wt[gi, c0 * taps:c1 * taps], g3[n, gi * kg:(gi + 1) * kg], out=cols)
        _col2im(cols, dx, b_arr, n, gi * cg + c0, c1 - c0, *geo, Do, Ho, Wo)

    _run(work, items)


def conv_weight_grad(x, g, dw_out, stride, lo, dilation, groups: int) -> None:
    """``dw_out = conv_weight(x, g)``: the correlation of ``g`` with ``x`` summed over the batch."""
    N = x.shape[0]
    K, cg, kd, kh, kw = dw_out.shape
    Do, Ho, Wo = g.shape[2:]
    geo = (kd, kh, kw, *stride, *lo, *dilation)
    if dw_out.size == 0:
        return
    if g.size == 0 or x.size == 0:
        dw_out[...] = 0
        return
    if not _use_gemm(dw_out.shape, groups):
        if stride[1] == stride[2] == 1:
            Ho, Wo = g.shape[3], g.shape[4]
            Hp, Wp = Ho + (kh - 1) * dilation[1], Wo + (kw - 1) * dilation[2]
            xp = np.empty(x.shape[:3] + (Hp + 1, Wp), dtype=x.dtype)
            _pad_planes(x, xp, lo[1], lo[2], Hp, Wp)
            gg = np.empty(g.shape[:4] + (Wp,), dtype=g.dtype)
            _grid_g(g, gg, Wp)
            _direct_weight_grad_s1(xp, gg, dw_out, groups, stride[0], lo[0], *dilation,
                                   x.shape[2], Hp, Wp, g.shape[2], Ho)
        else:
            _direct_weight_grad(x, g, dw_out, groups, *stride, *lo, *dilation)
        return
    kg = K // groups
    taps = kd * kh * kw
    P = Do * Ho * Wo
    dw3 = dw_out.reshape(groups, kg, cg * taps)
    g3 = g.reshape(N, K, P)
    cblocks = _split(cg, -(-_ITEMS // groups))
    items = [(gi, c0, c1) for gi in range(groups) for c0, c1 in cblocks]
    local = threading.local()

    def work(item):
        gi, c0, c1 = item
        rows = (c1 - c0) * taps
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < rows * P:
            buf = local.buf = np.empty((cblocks[0][1] - cblocks[0][0]) * taps * P, dw_out.dtype)
        cols = buf[: rows * P].reshape(rows, P)
        target = dw3[gi, :, c0 * taps:c1 * taps]
        part = np.empty((kg, rows), dtype=dw_out.dtype)
        for n in range(N):  # a fixed summation order over the batch
            _im2col(x, cols, n, gi * cg + c0, c1 - c0, *geo, Do, Ho, Wo, 0, Do * Ho)
            if n == 0:
                np.matmul(g3[n, gi * kg:(gi + 1) * kg], cols.T, out=target)
            else:
                np.matmul(g3[n, gi * kg:(gi + 1) * kg], cols.T, out=part)
                target += part

    _run(work, items)


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]``; ``g`` is ``(N, K, positions)``."""
    if db.size == 0:
        return
    _bias_grad(g, db)
