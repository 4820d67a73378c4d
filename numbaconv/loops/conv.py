"""The convolution tap loops, written once for the CPU direct kernels and the CUDA kernels.

Each helper accumulates, for a block of outputs (rows x columns), every kernel tap into
``acc[a0:]`` in a fixed order; the callers pick the block:

* the CPU direct kernels (:mod:`numbaconv.cpu.conv`) pass whole planes, accumulating
  straight into the output, so the innermost loop is one vectorised run per tap and row
  and each tap's output range is computed once per plane;
* the CUDA kernels (:mod:`numbaconv.cuda.conv`) pass a run of one element (one thread,
  one output) and a one-element local accumulator.

Either way each output element receives the same sums in the same order, so the twins
agree up to the device's fused multiply-adds. Arrays are flat; ``geo`` is
:attr:`numbaconv.core.conv.ConvGeometry.array` (indexed by the ``G_*`` constants of
:mod:`numbaconv.core.conv`). Index arithmetic is unsigned (``_U``) where it feeds a hot
loop: Numba then drops the negative-index wraparound and LLVM vectorises.

Channels-first (``x`` is ``(N, C, D, H, W)``, the output ``(N, K, Do, Ho, Wo)``):

* :func:`forward_block`: outputs ``oh0 <= oh < oh1``, ``ow0 <= ow < ow1`` of plane
  ``(n, k, od)``, taps in the order ``(c, td, th, tw)``;
* :func:`input_grad_block`: input-gradient elements ``ih0 <= ih < ih1``, ``iw0 <= iw <
  iw1`` of plane ``(n, ci, id)``, taps in the order ``k``, then ``(td, th, tw)`` from the
  last to the first (the adjoint);
* :func:`weight_grad_run`: for one tap of weight plane ``(k, ci)``, the per-column sums
  ``sum over (n, od, oh) of g * x`` of output columns ``ow0 <= ow < ow1``.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from ..core.conv import (
    G_C,
    G_CG,
    G_D,
    G_DD,
    G_DH,
    G_DO,
    G_DW,
    G_GROUPS,
    G_H,
    G_HO,
    G_K,
    G_KD,
    G_KH,
    G_KW,
    G_LD,
    G_LH,
    G_LW,
    G_N,
    G_SD,
    G_SH,
    G_SW,
    G_W,
    G_WO,
)

_U = np.uint64


@register_jitable
def span(i0, i1, off, s, n):
    """``(o0, o1)``: the outputs ``0 <= o < n`` whose input position ``o*s + off`` lies in
    ``[i0, i1)`` (empty: ``o0 == o1``)."""
    a = i0 - off
    b = i1 - off
    if s == 1:
        o0 = a if a > 0 else 0
        o1 = b if b > 0 else 0
    else:
        o0 = (a + s - 1) // s if a > 0 else 0
        o1 = (b + s - 1) // s if b > 0 else 0
    if o1 > n:
        o1 = n
    if o1 < o0:
        o1 = o0
    return o0, o1


@register_jitable
def forward_block(acc, a0, arow, xf, wf, geo, n, k, od, oh0, oh1, ow0, ow1):
    """``acc[a0 + (oh - oh0)*arow + ow - ow0] +=`` every tap of output ``(n, k, od, oh, ow)``,
    ``oh0 <= oh < oh1``, ``ow0 <= ow < ow1``, in the order ``(c, td, th, tw)``; taps
    outside the input add nothing. The output range of each tap is computed once per
    tap, not per row."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, cg = geo[G_K], geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    c0 = (k // (K // geo[G_GROUPS])) * cg
    for c in range(cg):
        for td in range(kd):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            plane = ((n * C + c0 + c) * D + i_d) * H
            for th in range(kh):
                offh = th * dh - lh
                h0, h1 = span(0, H, offh, sh, oh1)
                if h0 < oh0:
                    h0 = oh0
                wrow = (((k * cg + c) * kd + td) * kh + th) * kw
                for tw in range(kw):
                    off = tw * dw - lw
                    o0, o1 = span(0, W, off, sw, ow1)
                    if o0 < ow0:
                        o0 = ow0
                    if o1 <= o0:
                        continue
                    wv = wf[wrow + tw]
                    m = o1 - o0
                    for oh in range(h0, h1):
                        ab = _U(a0 + (oh - oh0) * arow + o0 - ow0)
                        xb = _U((plane + oh * sh + offh) * W + off + o0 * sw)
                        if sw == 1:
                            for j in range(m):
                                acc[ab + _U(j)] += wv * xf[xb + _U(j)]
                        else:
                            for j in range(m):
                                acc[ab + _U(j)] += wv * xf[xb + _U(j * sw)]


@register_jitable
def input_grad_block(acc, a0, arow, gf, wf, geo, n, ci, i_d, ih0, ih1, iw0, iw1):
    """``acc[a0 + (ih - ih0)*arow + iw - iw0] +=`` every ``w * g`` that input element
    ``(n, ci, i_d, ih, iw)``, ``ih0 <= ih < ih1``, ``iw0 <= iw < iw1``, contributes to: the
    adjoint of :func:`forward_block`. Order: ``k``, then the taps ``(td, th, tw)`` from last
    to first, i.e. the order of the correlation with the flipped kernel (the CPU computes a
    large stride-1 input gradient that way, with the same results)."""
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    cg = geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    c = ci % cg
    k0 = (ci // cg) * kg
    for k in range(k0, k0 + kg):
        for td in range(kd - 1, -1, -1):
            t = i_d + ld - td * dd
            if t < 0 or t % sd != 0 or t // sd >= Do:
                continue
            plane = ((n * K + k) * Do + t // sd) * Ho
            for th in range(kh - 1, -1, -1):
                # input row ih = oh*sh + offh reads output row oh
                offh = th * dh - lh
                h0, h1 = span(ih0, ih1, offh, sh, Ho)
                wrow = (((k * cg + c) * kd + td) * kh + th) * kw
                for tw in range(kw - 1, -1, -1):
                    off = tw * dw - lw
                    o0, o1 = span(iw0, iw1, off, sw, Wo)
                    if o1 <= o0:
                        continue
                    wv = wf[wrow + tw]
                    m = o1 - o0
                    for oh in range(h0, h1):
                        ab = _U(a0 + (oh * sh + offh - ih0) * arow + o0 * sw + off - iw0)
                        gb = _U((plane + oh) * Wo + o0)
                        if sw == 1:
                            for j in range(m):
                                acc[ab + _U(j)] += wv * gf[gb + _U(j)]
                        else:
                            for j in range(m):
                                acc[ab + _U(j * sw)] += wv * gf[gb + _U(j)]


@register_jitable
def weight_grad_run(acc, xf, gf, geo, k, ci, td, th, tw, ow0, ow1):
    """``acc[ow - ow0] +=`` the sum over ``(n, od, oh)`` of ``g[n, k, od, oh, ow] *`` the
    input tap ``(td, th, tw)`` reads, for the output columns ``ow0 <= ow < ow1``."""
    N, C, D, H, W = geo[G_N], geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    off = tw * dw - lw
    o0, o1 = span(0, W, off, sw, ow1)
    if o0 < ow0:
        o0 = ow0
    if o1 <= o0:
        return
    offh = th * dh - lh
    h0, h1 = span(0, H, offh, sh, Ho)
    ab = _U(o0 - ow0)
    m = o1 - o0
    for n in range(N):
        for od in range(Do):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            gplane = ((n * K + k) * Do + od) * Ho
            xplane = ((n * C + ci) * D + i_d) * H
            for oh in range(h0, h1):
                gb = _U((gplane + oh) * Wo + o0)
                xb = _U((xplane + oh * sh + offh) * W + off + o0 * sw)
                if sw == 1:
                    for j in range(m):
                        acc[ab + _U(j)] += gf[gb + _U(j)] * xf[xb + _U(j)]
                else:
                    for j in range(m):
                        acc[ab + _U(j)] += gf[gb + _U(j)] * xf[xb + _U(j * sw)]


# ----------------------------------------------------------------------------------------------
# channels-last: x is (N, D, H, W, C), the output (N, Do, Ho, Wo, K); the innermost run is
# over channels, which are contiguous. A run of channels lies in one group, or spans the
# groups when each group has one channel on the run's side (depthwise layers), where the
# other side's channel advances with it. The weights come transposed so that the run reads
# them contiguously (see each helper). The forward and the input gradient sum each
# element in the channels-first helpers' order, so both layouts give the same results bit
# for bit; the weight gradient sums over the output positions in order.


@register_jitable
def _cl_taps(acc, ab, astep, wt, wb, wstep, src, sb, spos, stap, xs, m, nt, npos):
    """For ``npos`` positions ``p`` (accumulator at ``ab + p*astep``, source at ``sb + p*spos``):
    ``acc[.. + j] += sum over taps t < nt, in order, of wt[wb + t*wstep + j] * src[.. +
    t*stap + j*xs]``, ``j < m``, one or three taps per pass (each element still rounds as
    ``((a + t0) + t1) + t2``); ``xs == 0``: the source is one value per tap."""
    for p in range(npos):
        a0 = _U(ab + p * astep)
        sp = sb + p * spos
        if nt == 3:
            w0, w1, w2 = _U(wb), _U(wb + wstep), _U(wb + 2 * wstep)
            s0, s1, s2 = _U(sp), _U(sp + stap), _U(sp + 2 * stap)
            if xs == 0:
                v0, v1, v2 = src[s0], src[s1], src[s2]
                for j in range(m):
                    u = _U(j)
                    a = acc[a0 + u] + wt[w0 + u] * v0
                    a = a + wt[w1 + u] * v1
                    acc[a0 + u] = a + wt[w2 + u] * v2
            elif xs == 1:
                for j in range(m):
                    u = _U(j)
                    a = acc[a0 + u] + wt[w0 + u] * src[s0 + u]
                    a = a + wt[w1 + u] * src[s1 + u]
                    acc[a0 + u] = a + wt[w2 + u] * src[s2 + u]
            else:
                for j in range(m):
                    u = _U(j)
                    v = _U(j * xs)
                    a = acc[a0 + u] + wt[w0 + u] * src[s0 + v]
                    a = a + wt[w1 + u] * src[s1 + v]
                    acc[a0 + u] = a + wt[w2 + u] * src[s2 + v]
        else:
            w0, s0 = _U(wb), _U(sp)
            if xs == 0:
                v0 = src[s0]
                for j in range(m):
                    u = _U(j)
                    acc[a0 + u] += wt[w0 + u] * v0
            elif xs == 1:
                for j in range(m):
                    u = _U(j)
                    acc[a0 + u] += wt[w0 + u] * src[s0 + u]
            else:
                for j in range(m):
                    u = _U(j)
                    acc[a0 + u] += wt[w0 + u] * src[s0 + _U(j * xs)]


@register_jitable
def _cl_dots(acc, ab, g, gb, gstep, x, xb, xstep, xs, m, npos):
    """``acc[ab + j] += sum over positions p < npos, in order, of g[gb + p*gstep + j] * x[xb +
    p*xstep + j*xs]``, ``j < m``: four positions per pass, then one (the accumulator is read
    and written once per pass; each element still rounds in order). ``xs == 0``: one
    value of ``x`` per position."""
    ab = _U(ab)
    p = 0
    while p < npos:
        if npos - p >= 4:
            g0 = _U(gb + p * gstep)
            g1, g2, g3 = g0 + _U(gstep), g0 + _U(2 * gstep), g0 + _U(3 * gstep)
            x0 = _U(xb + p * xstep)
            x1, x2, x3 = x0 + _U(xstep), x0 + _U(2 * xstep), x0 + _U(3 * xstep)
            if xs == 0:
                v0, v1, v2, v3 = x[x0], x[x1], x[x2], x[x3]
                for j in range(m):
                    u = _U(j)
                    a = acc[ab + u] + g[g0 + u] * v0
                    a = a + g[g1 + u] * v1
                    a = a + g[g2 + u] * v2
                    acc[ab + u] = a + g[g3 + u] * v3
            elif xs == 1:
                for j in range(m):
                    u = _U(j)
                    a = acc[ab + u] + g[g0 + u] * x[x0 + u]
                    a = a + g[g1 + u] * x[x1 + u]
                    a = a + g[g2 + u] * x[x2 + u]
                    acc[ab + u] = a + g[g3 + u] * x[x3 + u]
            else:
                for j in range(m):
                    u = _U(j)
                    v = _U(j * xs)
                    a = acc[ab + u] + g[g0 + u] * x[x0 + v]
                    a = a + g[g1 + u] * x[x1 + v]
                    a = a + g[g2 + u] * x[x2 + v]
                    acc[ab + u] = a + g[g3 + u] * x[x3 + v]
            p += 4
        else:
            g0, x0 = _U(gb + p * gstep), _U(xb + p * xstep)
            if xs == 0:
                v0 = x[x0]
                for j in range(m):
                    u = _U(j)
                    acc[ab + u] += g[g0 + u] * v0
            elif xs == 1:
                for j in range(m):
                    u = _U(j)
                    acc[ab + u] += g[g0 + u] * x[x0 + u]
            else:
                for j in range(m):
                    u = _U(j)
                    acc[ab + u] += g[g0 + u] * x[x0 + _U(j * xs)]
            p += 1


@register_jitable
def forward_cl_block(acc, a0, arow, acol, xf, wt, geo, n, od, oh0, oh1, ow0, ow1, k0, k1):
    """``acc[a0 + (oh - oh0)*arow + (ow - ow0)*acol + k - k0] +=`` every tap of output
    ``(n, od, oh, ow, k)`` in the order ``(c, td, th, tw)``, for the output channels ``k0 <=
    k < k1`` (one group, or any when a group has one filter). ``wt`` holds the weights as
    ``(C/groups, kd*kh*kw, K)``: ``wt[(c*taps + t)*K + k] = w[k, c, t]``. Taps along W go
    three per pass where all three are inside the input."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, cg = geo[G_K], geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    taps = kd * kh * kw
    if kg == 1:  # the input channel of filter k is k*cg + c: it advances with k
        xs, cb = cg, k0 * cg
    else:
        xs, cb = 0, (k0 // kg) * cg
    m = k1 - k0
    for c in range(cg):
        for td in range(kd):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            for th in range(kh):
                offh = th * dh - lh
                h0, h1 = span(0, H, offh, sh, oh1)
                if h0 < oh0:
                    h0 = oh0
                tw = 0
                while tw < kw:
                    nt = 3 if kw - tw >= 3 else 1
                    # outputs that every one of the nt taps reads inside the input
                    f0, _ = span(0, W, tw * dw - lw, sw, ow1)
                    _, f1 = span(0, W, (tw + nt - 1) * dw - lw, sw, ow1)
                    if f0 < ow0:
                        f0 = ow0
                    if f1 < f0:
                        f1 = f0
                    wb = (c * taps + (td * kh + th) * kw + tw) * K + k0
                    for oh in range(h0, h1):
                        xrow = ((n * D + i_d) * H + oh * sh + offh) * W
                        arow_b = a0 + (oh - oh0) * arow - ow0 * acol
                        # the border outputs, tap by tap in order
                        for t in range(nt):
                            off = (tw + t) * dw - lw
                            o0, o1 = span(0, W, off, sw, ow1)
                            if o0 < ow0:
                                o0 = ow0
                            for b0, b1 in ((o0, min(o1, f0)), (max(o0, f1), o1)):
                                if b1 > b0:
                                    _cl_taps(acc, arow_b + b0 * acol, acol, wt, wb + t * K, 0,
                                             xf, (xrow + b0 * sw + off) * C + cb + c, sw * C, 0,
                                             xs, m, 1, b1 - b0)
                        # the interior outputs, nt taps per pass
                        if f1 > f0:
                            _cl_taps(acc, arow_b + f0 * acol, acol, wt, wb, K, xf,
                                     (xrow + f0 * sw + tw * dw - lw) * C + cb + c, sw * C, dw * C,
                                     xs, m, nt, f1 - f0)
                    tw += nt


@register_jitable
def input_grad_cl_block(acc, a0, arow, acol, gf, wt, geo, n, i_d, ih0, ih1, iw0, iw1, c0, c1):
    """``acc[a0 + (ih - ih0)*arow + (iw - iw0)*acol + ci - c0] +=`` every ``w * g`` that input
    element ``(n, i_d, ih, iw, ci)`` contributes to, for the input channels ``c0 <= ci < c1``
    (one group, or any when a group has one channel), in :func:`input_grad_block`'s order.
    ``wt`` holds the weights as ``(K/groups, kd*kh*kw, C)``: ``wt[(j*taps + t)*C + ci] =
    w[(ci // cg)*kg + j, ci % cg, t]``."""
    C, K = geo[G_C], geo[G_K]
    Do, Ho, Wo = geo[G_DO], geo[G_HO], geo[G_WO]
    cg = geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    taps = kd * kh * kw
    if cg == 1:  # the filters of channel ci are ci*kg + j: they advance with ci
        gs, kb = kg, c0 * kg
    else:
        gs, kb = 0, (c0 // cg) * kg
    m = c1 - c0
    for j in range(kg):
        for td in range(kd - 1, -1, -1):
            t = i_d + ld - td * dd
            if t < 0 or t % sd != 0 or t // sd >= Do:
                continue
            od = t // sd
            for th in range(kh - 1, -1, -1):
                offh = th * dh - lh
                h0, h1 = span(ih0, ih1, offh, sh, Ho)
                tw = kw - 1
                while tw >= 0:
                    # stride 1: taps tw, tw - 1, tw - 2 read outputs dw apart; three per pass
                    nt = 3 if sw == 1 and tw >= 2 else 1
                    wb = (j * taps + (td * kh + th) * kw + tw) * C + c0
                    # (stride 1) the inputs every one of the three taps reaches: [f0, f1)
                    f0 = max(tw * dw - lw, iw0)
                    f1 = max(min((tw - 2) * dw - lw + Wo, iw1), f0)
                    for oh in range(h0, h1):
                        grow = ((n * Do + od) * Ho + oh) * Wo
                        arow_b = a0 + (oh * sh + offh - ih0) * arow - iw0 * acol
                        for t in range(nt):
                            off = (tw - t) * dw - lw
                            o0, o1 = span(iw0, iw1, off, sw, Wo)
                            # input iw = ow*sw + off: the outputs of the border, tap by tap
                            e0 = o1 if nt == 1 else min(o1, f0 - off)
                            e1 = o1 if nt == 1 else max(o0, f1 - off)
                            for b0, b1 in ((o0, e0), (e1, o1)):
                                if b1 > b0:
                                    _cl_taps(acc, arow_b + (b0 * sw + off) * acol, sw * acol, wt,
                                             wb - t * C, 0, gf, (grow + b0) * K + kb + j, K, 0,
                                             gs, m, 1, b1 - b0)
                        if nt == 3 and f1 > f0:
                            _cl_taps(acc, arow_b + f0 * acol, acol, wt, wb, -C, gf,
                                     (grow + f0 - (tw * dw - lw)) * K + kb + j, K, dw * K, gs, m,
                                     3, f1 - f0)
                    tw -= nt


@register_jitable
def weight_grad_cl_block(acc, xf, gf, geo, c, t0, t1, k0, k1):
    """``acc[(t - t0)*m + k - k0] +=`` the sum over the output positions ``(n, od, oh, ow)``, in
    order, of ``g[n, od, oh, ow, k] *`` the input that tap ``t0 <= t < t1`` (flattened ``(td,
    th, tw)``) of channel ``c`` (within the group) reads, for the filters ``k0 <= k < k1`` (one
    group, or any when a group has one filter), ``m = k1 - k0``. Output row by output row,
    every tap, so each row of ``g`` and ``x`` is read from cache by all the taps."""
    N, C, D, H, W = geo[G_N], geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    cg = geo[G_CG]
    kh, kw = geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    if kg == 1:
        xs, cb = cg, k0 * cg
    else:
        xs, cb = 0, (k0 // kg) * cg
    m = k1 - k0
    for n in range(N):
        for od in range(Do):
            for oh in range(Ho):
                grow = ((n * Do + od) * Ho + oh) * Wo
                for t in range(t0, t1):
                    tw = t % kw
                    th = (t // kw) % kh
                    i_d = od * sd - ld + (t // (kw * kh)) * dd
                    ih = oh * sh - lh + th * dh
                    if i_d < 0 or i_d >= D or ih < 0 or ih >= H:
                        continue
                    off = tw * dw - lw
                    o0, o1 = span(0, W, off, sw, Wo)
                    if o1 > o0:
                        _cl_dots(acc, (t - t0) * m, gf, (grow + o0) * K + k0, K, xf,
                                 (((n * D + i_d) * H + ih) * W + o0 * sw + off) * C + cb + c,
                                 sw * C, xs, m, o1 - o0)
