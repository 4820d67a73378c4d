"""CPU convolution kernels: Winograd, im2col/col2im + BLAS GEMM, direct kernels for thin layers.

Every launcher works on 3-D-spatial arrays: ``x`` is ``(N, C, D, H, W)``,
``w`` is ``(K, C/groups, kd, kh, kw)``, 1-D and 2-D convolutions arrive with
singleton ``D``/``H`` axes. Arguments are already resolved by
``numbaconv.api.conv``: ``stride``, ``lo`` (padding before) and ``dilation``
are 3-tuples of ints and the output arrays are preallocated. Padding after
the data is implicit: a tap that falls outside the input reads zero.

Three strategies, picked per call by :func:`_use_gemm` and :func:`_winograd_2d`:

* *Winograd* F(2x2, 3x3) (:mod:`numbaconv.cpu.winograd`): 2-D 3x3 stride-1
  layers (dilation up to 4) with at least 32 input and output channels, forward and input
  gradient (the input gradient of such a layer is again one); 2.25x fewer
  multiplications, same NaN/inf semantics (non-finite data is redone by GEMM).

* *GEMM*: a call is split into a fixed number of independent work items
  (image x group x block of output rows, or of channels for the gradients).
  Each item runs a GIL-free njit ``im2col`` into a per-thread buffer and one
  single-threaded BLAS GEMM through NumPy's ``matmul``; the items run on
  ``numba.get_num_threads()`` Python threads (:mod:`numbaconv.cpu.threads`). The input
  gradient is ``col2im(W^T @ G)``, the weight gradient ``G @ cols^T``
  summed over the batch in order; the bias rides along as a row of ones.
* *direct*: for layers whose reduction is tiny (depthwise, one input
  channel), parallel loop nests over output planes (forward), input planes
  (input gradient) or weight planes (weight gradient). With stride 1 in
  (H, W) each work item pads the planes it reads onto a small local
  padded-width grid so each tap is one long vectorised run, several taps per
  pass (``_direct_forward_s1_fused``; the input gradient is then the
  correlation with the flipped kernel; ``_direct_weight_grad_s1_fused``).

Determinism: direct kernels ``prange`` over planes that one thread reduces
serially; the GEMM path's blocking is a constant (``_ITEMS``), so neither
depends on the thread count.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

from . import conv_plan as _plan
from .threads import run_items as _run
from .threads import split as _split

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
    single-threaded GEMM (see :func:`numbaconv.cpu.threads.run_items`).
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


# Stride-1 direct kernels on a padded-width grid: output position (oh, ow) lives at
# q = oh*Wp + ow and reads padded input q + th*dh*Wp + tw*dw, so every tap is ONE contiguous
# run (rows of ~56 are too short for LLVM's unrolled vector loop). The (Wp - Wo) extra
# columns per row are computed and dropped. Each work item pads the planes it reads into a
# small local buffer (_pad_into), so they stay in L1 and the input is read once.


#: output elements (rows of the padded-width grid) one pass over the taps covers in the fused
#: stride-1 forward: the accumulator block and the padded planes then stay in L1.
_ACC_BLOCK = 1024
#: chunks of work items the fused stride-1 forward's parallel loop runs
_FWD_CHUNKS = 32


@njit(inline="always")
def _pad_into(xf, src0, H, W, buf, dst0, lh, lw, Hp, Wp):
    """The ``(H, W)`` plane at ``xf[src0:]`` onto the zero ``(Hp + 1, Wp)`` grid at
    ``buf[dst0:]``, starting at ``(-lh, -lw)``."""
    c0 = max(0, lw)
    c1 = max(c0, min(Wp, W + lw))
    for r in range(Hp + 1):
        ih = r - lh
        dst = dst0 + _U(r * Wp)
        if ih < 0 or ih >= H or r == Hp:
            for j in range(Wp):
                buf[dst + _U(j)] = 0
            continue
        src = _U(src0 + ih * W - lw)
        for j in range(c0):
            buf[dst + _U(j)] = 0
        for j in range(c0, c1):
            buf[dst + _U(j)] = xf[src + _U(j)]
        for j in range(c1, Wp):
            buf[dst + _U(j)] = 0


@njit(parallel=True, cache=True)
def _direct_forward_s1_fused(x, w, bias, out, groups, kb, sd, ld, lh, lw, dd, dh, dw, Hp, Wp):
    """Stride-1 (H, W) direct forward, one work item per (image, group, block of ``kb``
    filters): the item pads its input planes into a local buffer (shared by its filters),
    then for every filter and block of output rows sums the taps in their order
    ``(c, td, th, tw)``, several taps per pass over a small accumulator (each element is
    still ``((bias + t0) + t1) + ...``), and copies the rows out."""
    N, K, Do, Ho, Wo = out.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    nkb = (kg + kb - 1) // kb
    PL = (Hp + 1) * Wp
    ntap = cg * kd * kh * kw
    xf = x.reshape(-1)
    of = out.reshape(-1)
    rb = max(1, min(Ho, _ACC_BLOCK // Wp))
    per_n = groups * nkb
    items = N * per_n
    # items run in chunks (each allocating its buffers once); every item is independent
    nch = min(items, _FWD_CHUNKS)
    for ch in prange(nch):
        xp = np.empty(cg * D * PL, dtype=x.dtype)
        acc = np.empty(rb * Wp, dtype=out.dtype)
        offs = np.empty(ntap, dtype=np.int64)
        wts = np.empty(ntap, dtype=w.dtype)
        for it in range(ch * items // nch, (ch + 1) * items // nch):
            n = it // per_n
            gi = (it % per_n) // nkb
            k0 = gi * kg + (it % nkb) * kb
            k1 = min(k0 + kb, (gi + 1) * kg)
            c0 = gi * cg
            for c in range(cg):
                for d in range(D):
                    _pad_into(xf, ((n * C + c0 + c) * D + d) * H * W, H, W, xp,
                              _U((c * D + d) * PL), lh, lw, Hp, Wp)
            for k in range(k0, k1):
                b = bias[k]
                for od in range(Do):
                    nt = 0
                    for c in range(cg):
                        for td in range(kd):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for th in range(kh):
                                for tw in range(kw):
                                    offs[nt] = (c * D + i_d) * PL + th * dh * Wp + tw * dw
                                    wts[nt] = w[k, c, td, th, tw]
                                    nt += 1
                    for oh0 in range(0, Ho, rb):
                        nr = min(rb, Ho - oh0)
                        L = nr * Wp
                        q0 = oh0 * Wp
                        if nt == 0:
                            for q in range(L):
                                acc[_U(q)] = b
                        t = 0
                        while t < nt:
                            first = t == 0
                            if nt - t >= 9:
                                w0, w1, w2 = wts[t], wts[t + 1], wts[t + 2]
                                w3, w4, w5 = wts[t + 3], wts[t + 4], wts[t + 5]
                                w6, w7, w8 = wts[t + 6], wts[t + 7], wts[t + 8]
                                o0, o1, o2 = _U(offs[t] + q0), _U(offs[t + 1] + q0), _U(offs[t + 2] + q0)
                                o3, o4, o5 = _U(offs[t + 3] + q0), _U(offs[t + 4] + q0), _U(offs[t + 5] + q0)
                                o6, o7, o8 = _U(offs[t + 6] + q0), _U(offs[t + 7] + q0), _U(offs[t + 8] + q0)
                                if first:
                                    for q in range(L):
                                        u = _U(q)
                                        s = b + w0 * xp[o0 + u]
                                        s = s + w1 * xp[o1 + u]
                                        s = s + w2 * xp[o2 + u]
                                        s = s + w3 * xp[o3 + u]
                                        s = s + w4 * xp[o4 + u]
                                        s = s + w5 * xp[o5 + u]
                                        s = s + w6 * xp[o6 + u]
                                        s = s + w7 * xp[o7 + u]
                                        acc[u] = s + w8 * xp[o8 + u]
                                else:
                                    for q in range(L):
                                        u = _U(q)
                                        s = acc[u] + w0 * xp[o0 + u]
                                        s = s + w1 * xp[o1 + u]
                                        s = s + w2 * xp[o2 + u]
                                        s = s + w3 * xp[o3 + u]
                                        s = s + w4 * xp[o4 + u]
                                        s = s + w5 * xp[o5 + u]
                                        s = s + w6 * xp[o6 + u]
                                        s = s + w7 * xp[o7 + u]
                                        acc[u] = s + w8 * xp[o8 + u]
                                t += 9
                            elif nt - t >= 3:
                                w0, w1, w2 = wts[t], wts[t + 1], wts[t + 2]
                                o0, o1, o2 = _U(offs[t] + q0), _U(offs[t + 1] + q0), _U(offs[t + 2] + q0)
                                if first:
                                    for q in range(L):
                                        u = _U(q)
                                        s = b + w0 * xp[o0 + u]
                                        s = s + w1 * xp[o1 + u]
                                        acc[u] = s + w2 * xp[o2 + u]
                                else:
                                    for q in range(L):
                                        u = _U(q)
                                        s = acc[u] + w0 * xp[o0 + u]
                                        s = s + w1 * xp[o1 + u]
                                        acc[u] = s + w2 * xp[o2 + u]
                                t += 3
                            else:
                                w0 = wts[t]
                                o0 = _U(offs[t] + q0)
                                if first:
                                    for q in range(L):
                                        u = _U(q)
                                        acc[u] = b + w0 * xp[o0 + u]
                                else:
                                    for q in range(L):
                                        u = _U(q)
                                        acc[u] = acc[u] + w0 * xp[o0 + u]
                                t += 1
                        ob = _U(((n * K + k) * Do + od) * Ho * Wo + oh0 * Wo)
                        for r in range(nr):
                            for ow in range(Wo):
                                of[ob + _U(r * Wo + ow)] = acc[_U(r * Wp + ow)]


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _direct_weight_grad_s1_fused(x, g, dw_out, groups, sd, ld, lh, lw, dd, dh, dw, Hp, Wp):
    """Stride-1 (H, W) direct weight gradient: one thread per weight plane ``(k, c)``.

    For each image the thread pads its input planes and grids its ``g`` planes (zeros in
    the extra columns) into local buffers, then every tap is a dot product of long runs,
    three taps per pass sharing the ``g`` loads; ``reassoc`` lets LLVM keep vector partial
    sums in registers. A tap's total is the sum of its per-(image, depth) dot products in
    order; the association is fixed at compile time, so results do not depend on the
    thread count.
    """
    N, K, Do, Ho, Wo = g.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = dw_out.shape[1], dw_out.shape[2], dw_out.shape[3], dw_out.shape[4]
    kg = K // groups
    L = Ho * Wp
    PL = (Hp + 1) * Wp
    ntap = kd * kh * kw
    xf = x.reshape(-1)
    gf = g.reshape(-1)
    for kc in prange(K * cg):
        k = kc // cg
        c = kc % cg
        ci = (k // kg) * cg + c
        xp = np.empty(D * PL, dtype=x.dtype)
        gg = np.empty(Do * L, dtype=g.dtype)
        total = np.zeros(ntap, dtype=dw_out.dtype)
        offs = np.empty(ntap, dtype=np.int64)
        for n in range(N):
            for d in range(D):
                _pad_into(xf, ((n * C + ci) * D + d) * H * W, H, W, xp, _U(d * PL),
                          lh, lw, Hp, Wp)
            for od in range(Do):
                for oh in range(Ho):
                    src = _U((((n * K + k) * Do + od) * Ho + oh) * Wo)
                    dst = _U(od * L + oh * Wp)
                    for ow in range(Wo):
                        gg[dst + _U(ow)] = gf[src + _U(ow)]
                    for ow in range(Wo, Wp):
                        gg[dst + _U(ow)] = 0
            for od in range(Do):
                gb = _U(od * L)
                for td in range(kd):
                    i_d = od * sd - ld + td * dd
                    if i_d < 0 or i_d >= D:
                        offs[td * kh * kw:(td + 1) * kh * kw] = -1
                        continue
                    for th in range(kh):
                        for tw in range(kw):
                            offs[(td * kh + th) * kw + tw] = i_d * PL + th * dh * Wp + tw * dw
                t = 0
                while t < ntap:
                    if offs[t] < 0:
                        t += 1
                        continue
                    if t + 3 <= ntap and offs[t + 1] >= 0 and offs[t + 2] >= 0:
                        o0, o1, o2 = _U(offs[t]), _U(offs[t + 1]), _U(offs[t + 2])
                        p0 = dw_out.dtype.type(0)
                        p1 = dw_out.dtype.type(0)
                        p2 = dw_out.dtype.type(0)
                        for q in range(L):
                            u = _U(q)
                            gv = gg[gb + u]
                            p0 += gv * xp[o0 + u]
                            p1 += gv * xp[o1 + u]
                            p2 += gv * xp[o2 + u]
                        total[t] += p0
                        total[t + 1] += p1
                        total[t + 2] += p2
                        t += 3
                    else:
                        o0 = _U(offs[t])
                        p0 = dw_out.dtype.type(0)
                        for q in range(L):
                            u = _U(q)
                            p0 += gg[gb + u] * xp[o0 + u]
                        total[t] += p0
                        t += 1
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    dw_out[k, c, td, th, tw] = total[(td * kh + th) * kw + tw]


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


def _use_gemm(w_shape, groups: int) -> bool:
    K, cg = w_shape[0], w_shape[1]
    taps = int(np.prod(w_shape[2:]))
    return cg * taps >= _MIN_REDUCTION and K // groups >= _MIN_KG


def _bias_or_zeros(bias, n: int, dtype):
    return np.zeros(n, dtype=dtype) if bias is None else bias


#: fewest work items the fused stride-1 forward splits a call into
_FWD_ITEMS = 16


def _forward_s1(x, w, bias, out, groups, sd, lo, dilation) -> None:
    """Pad ``x``'s planes once, then the stride-1 direct forward over them."""
    Ho, Wo = out.shape[3], out.shape[4]
    kh, kw = w.shape[3], w.shape[4]
    Hp, Wp = Ho + (kh - 1) * dilation[1], Wo + (kw - 1) * dilation[2]
    N, K = out.shape[0], out.shape[1]
    kg = K // groups
    # filters per work item: all of a group's unless that leaves fewer than _FWD_ITEMS items
    # (a constant, and each output element is summed by one item, so results do not depend
    # on the blocking or the thread count)
    nkb = min(kg, -(-_FWD_ITEMS // (N * groups)))
    kb = -(-kg // nkb)
    _direct_forward_s1_fused(x, w, bias, out, groups, kb, sd, lo[0], lo[1], lo[2], *dilation,
                             Hp, Wp)


def _winograd_2d(x, w, stride, lo, dilation, groups) -> bool:
    """A 2-D (singleton depth) layer that :mod:`numbaconv.cpu.winograd` runs faster."""
    from .winograd import winograd_applies

    return (x.shape[2] == 1 and w.shape[2] == 1 and lo[0] == 0 and min(lo) >= 0
            and winograd_applies((x.shape[0], x.shape[1], *x.shape[3:]),
                                 (w.shape[0], w.shape[1], *w.shape[3:]),
                                 stride[1:], dilation[1:], groups))


def _winograd_forward(x, w, b, out, lo, dilation) -> None:
    """Winograd, or im2col + GEMM where it met non-finite data (keeps NaN local, inf inf)."""
    from .winograd import winograd_forward

    s = x.shape
    finite = winograd_forward(x.reshape(s[0], s[1], s[3], s[4]), w.reshape(*w.shape[:2], 3, 3),
                              b, out.reshape(out.shape[0], out.shape[1], *out.shape[3:]),
                              lo[1], lo[2], dilation[1], dilation[2])
    if not finite:
        gemm_forward(x, w, b, out, (1, 1, 1), lo, dilation, 1)


def conv_forward(x, w, bias, out, stride, lo, dilation, groups: int) -> None:
    """``out = conv(x, w) + bias`` (cross-correlation); ``bias`` may be None."""
    K = w.shape[0]
    if out.size == 0:
        return
    if _plan.forward(x, w, bias, out, stride, lo, dilation, groups):
        return
    if not _use_gemm(w.shape, groups):
        b = _bias_or_zeros(bias, K, out.dtype)
        if stride[1] == stride[2] == 1:
            _forward_s1(x, w, b, out, groups, stride[0], lo, dilation)
        else:
            _direct_forward(x, w, b, out, groups, *stride, *lo, *dilation)
    elif _winograd_2d(x, w, stride, lo, dilation, groups):
        _winograd_forward(x, w, _bias_or_zeros(bias, K, out.dtype), out, lo, dilation)
    else:
        gemm_forward(x, w, bias, out, stride, lo, dilation, groups)


def gemm_forward(x, w, bias, out, stride, lo, dilation, groups: int) -> None:
    """The im2col + GEMM forward (any layer; Winograd's fallback for non-finite data)."""
    N = x.shape[0]
    K, cg, kd, kh, kw = w.shape
    Do, Ho, Wo = out.shape[2:]
    geo = (kd, kh, kw, *stride, *lo, *dilation)
    if out.size == 0:
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
    if _plan.input_grad(g, w, bias, dx, stride, lo, dilation, groups):
        return
    b_arr = _bias_or_zeros(bias, C, dx.dtype)
    flo = (0, 2 * dilation[1] - lo[1], 2 * dilation[2] - lo[2])  # d*(k-1) - lo
    if (g.size and groups == 1 and kd == 1 and kh == kw == 3 and min(flo) >= 0
            and _winograd_2d(g, w.transpose(1, 0, 2, 3, 4), stride, flo, dilation, 1)):
        # the correlation of g with the flipped, channel-transposed kernel, padded
        # d*(k-1) - lo before
        wf = np.ascontiguousarray(w[:, :, :, ::-1, ::-1].transpose(1, 0, 2, 3, 4))
        _winograd_forward(g, wf, b_arr, dx, flo, dilation)
        return
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
    if _plan.weight_grad(x, g, dw_out, stride, lo, dilation, groups):
        return
    if not _use_gemm(dw_out.shape, groups):
        if stride[1] == stride[2] == 1:
            Hp, Wp = Ho + (kh - 1) * dilation[1], Wo + (kw - 1) * dilation[2]
            _direct_weight_grad_s1_fused(x, g, dw_out, groups, stride[0], *lo, *dilation,
                                         Hp, Wp)
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
    if _plan.bias_grad(g, db):
        return
    _bias_grad(g, db)
