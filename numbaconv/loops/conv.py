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
