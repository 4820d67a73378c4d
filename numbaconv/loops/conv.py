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
# them contiguously (see each helper). Each element receives the channels-first helpers'
# sums in their order, so both layouts give the same results bit for bit.


@register_jitable
def forward_cl_block(acc, a0, arow, acol, xf, wt, geo, n, od, oh0, oh1, ow0, ow1, k0, k1):
    """``acc[a0 + (oh - oh0)*arow + (ow - ow0)*acol + k - k0] +=`` every tap of output
    ``(n, od, oh, ow, k)`` in the order ``(c, td, th, tw)``, for the output channels ``k0 <=
    k < k1`` (one group, or any when a group has one filter). ``wt`` holds the weights as
    ``(C/groups, kd*kh*kw, K)``: ``wt[(c*taps + t)*K + k] = w[k, c, t]``."""
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
                for tw in range(kw):
                    off = tw * dw - lw
                    o0, o1 = span(0, W, off, sw, ow1)
                    if o0 < ow0:
                        o0 = ow0
                    if o1 <= o0:
                        continue
                    wb = _U((c * taps + (td * kh + th) * kw + tw) * K + k0)
                    for oh in range(h0, h1):
                        xrow = ((n * D + i_d) * H + oh * sh + offh) * W
                        for ow in range(o0, o1):
                            ab = _U(a0 + (oh - oh0) * arow + (ow - ow0) * acol)
                            xb = _U((xrow + ow * sw + off) * C + cb + c)
                            if xs == 0:
                                xv = xf[xb]
                                for j in range(m):
                                    acc[ab + _U(j)] += wt[wb + _U(j)] * xv
                            else:
                                for j in range(m):
                                    acc[ab + _U(j)] += wt[wb + _U(j)] * xf[xb + _U(j * xs)]


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
                for tw in range(kw - 1, -1, -1):
                    off = tw * dw - lw
                    o0, o1 = span(iw0, iw1, off, sw, Wo)
                    if o1 <= o0:
                        continue
                    wb = _U((j * taps + (td * kh + th) * kw + tw) * C + c0)
                    for oh in range(h0, h1):
                        grow = ((n * Do + od) * Ho + oh) * Wo
                        arow_b = a0 + (oh * sh + offh - ih0) * arow
                        for ow in range(o0, o1):
                            ab = _U(arow_b + (ow * sw + off - iw0) * acol)
                            gb = _U((grow + ow) * K + kb + j)
                            if gs == 0:
                                gv = gf[gb]
                                for q in range(m):
                                    acc[ab + _U(q)] += wt[wb + _U(q)] * gv
                            else:
                                for q in range(m):
                                    acc[ab + _U(q)] += wt[wb + _U(q)] * gf[gb + _U(q * gs)]


@register_jitable
def weight_grad_cl_run(acc, xf, gf, geo, c, td, th, tw, k0, k1):
    """``acc[k - k0] +=`` the sum over the output positions ``(n, od, oh, ow)``, in order, of
    ``g[n, od, oh, ow, k] *`` the input that tap ``(td, th, tw)`` of channel ``c`` (within
    the group) reads, for the filters ``k0 <= k < k1`` (one group, or any when a group has
    one filter)."""
    N, C, D, H, W = geo[G_N], geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    cg = geo[G_CG]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    if kg == 1:
        xs, cb = cg, k0 * cg
    else:
        xs, cb = 0, (k0 // kg) * cg
    m = k1 - k0
    off = tw * dw - lw
    o0, o1 = span(0, W, off, sw, Wo)
    offh = th * dh - lh
    h0, h1 = span(0, H, offh, sh, Ho)
    for n in range(N):
        for od in range(Do):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            for oh in range(h0, h1):
                grow = ((n * Do + od) * Ho + oh) * Wo
                xrow = ((n * D + i_d) * H + oh * sh + offh) * W
                for ow in range(o0, o1):
                    gb = _U((grow + ow) * K + k0)
                    xb = _U((xrow + ow * sw + off) * C + cb + c)
                    if xs == 0:
                        xv = xf[xb]
                        for j in range(m):
                            acc[_U(j)] += gf[gb + _U(j)] * xv
                    else:
                        for j in range(m):
                            acc[_U(j)] += gf[gb + _U(j)] * xf[xb + _U(j * xs)]
