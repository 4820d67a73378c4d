"""The convolution tap loops, written once for the CPU direct kernels and the CUDA kernels.

Each helper accumulates, for a *run* of consecutive outputs along one axis, every kernel
tap into ``acc[a0:]`` in a fixed order; the callers pick the run:

* the CPU direct kernels (:mod:`numbaconv.cpu.conv`) pass whole rows (or channel runs),
  accumulating straight into the output, so the innermost loop is one long vectorised
  run per tap;
* the CUDA kernels (:mod:`numbaconv.cuda.conv`) pass a run of one element (one thread,
  one output) and a one-element local accumulator.

Either way each output element receives the same sums in the same order, so the twins
agree up to the device's fused multiply-adds. Arrays are flat; ``geo`` is
:attr:`numbaconv.core.conv.ConvGeometry.array` (indexed by the ``G_*`` constants of
:mod:`numbaconv.core.conv`). Index arithmetic is unsigned (``_U``) where it feeds a hot
loop: Numba then drops the negative-index wraparound and LLVM vectorises.

Channels-first (``x`` is ``(N, C, D, H, W)``, the output ``(N, K, Do, Ho, Wo)``):

* :func:`forward_run`: outputs ``ow0 <= ow < ow1`` of row ``(n, k, od, oh)``, taps in the
  order ``(c, td, th, tw)``;
* :func:`input_grad_run`: input-gradient elements ``iw0 <= iw < iw1`` of row
  ``(n, ci, id, ih)``, taps in the order ``(k, td, th, tw)`` (the adjoint);
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
def forward_run(acc, a0, xf, wf, geo, n, k, od, oh, ow0, ow1):
    """``acc[a0 + ow - ow0] +=`` every tap of output ``(n, k, od, oh, ow)``, ``ow0 <= ow < ow1``,
    in the order ``(c, td, th, tw)``; taps outside the input add nothing."""
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
            for th in range(kh):
                ih = oh * sh - lh + th * dh
                if ih < 0 or ih >= H:
                    continue
                xrow = (((n * C + c0 + c) * D + i_d) * H + ih) * W
                wrow = (((k * cg + c) * kd + td) * kh + th) * kw
                for tw in range(kw):
                    off = tw * dw - lw
                    o0, o1 = span(0, W, off, sw, ow1)
                    if o0 < ow0:
                        o0 = ow0
                    if o1 <= o0:
                        continue
                    wv = wf[wrow + tw]
                    ab = _U(a0 + o0 - ow0)
                    xb = _U(xrow + off + o0 * sw)
                    if sw == 1:
                        for j in range(o1 - o0):
                            acc[ab + _U(j)] += wv * xf[xb + _U(j)]
                    else:
                        for j in range(o1 - o0):
                            acc[ab + _U(j)] += wv * xf[xb + _U(j * sw)]


@register_jitable
def input_grad_run(acc, a0, gf, wf, geo, n, ci, i_d, ih, iw0, iw1):
    """``acc[a0 + iw - iw0] +=`` every ``w * g`` that input ``(n, ci, i_d, ih, iw)``,
    ``iw0 <= iw < iw1``, contributes to, in the order ``(k, td, th, tw)``: the adjoint of
    :func:`forward_run`."""
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
        for td in range(kd):
            t = i_d + ld - td * dd
            if t < 0 or t % sd != 0 or t // sd >= Do:
                continue
            od = t // sd
            for th in range(kh):
                u = ih + lh - th * dh
                if u < 0 or u % sh != 0 or u // sh >= Ho:
                    continue
                grow = (((n * K + k) * Do + od) * Ho + u // sh) * Wo
                wrow = (((k * cg + c) * kd + td) * kh + th) * kw
                for tw in range(kw):
                    # input iw = ow*sw + off reads output ow
                    off = tw * dw - lw
                    o0, o1 = span(iw0, iw1, off, sw, Wo)
                    if o1 <= o0:
                        continue
                    wv = wf[wrow + tw]
                    ab = _U(a0 + o0 * sw + off - iw0)
                    gb = _U(grow + o0)
                    if sw == 1:
                        for j in range(o1 - o0):
                            acc[ab + _U(j)] += wv * gf[gb + _U(j)]
                    else:
                        for j in range(o1 - o0):
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
    ab = _U(o0 - ow0)
    for n in range(N):
        for od in range(Do):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            for oh in range(Ho):
                ih = oh * sh - lh + th * dh
                if ih < 0 or ih >= H:
                    continue
                gb = _U((((n * K + k) * Do + od) * Ho + oh) * Wo + o0)
                xb = _U((((n * C + ci) * D + i_d) * H + ih) * W + off + o0 * sw)
                if sw == 1:
                    for j in range(o1 - o0):
                        acc[ab + _U(j)] += gf[gb + _U(j)] * xf[xb + _U(j)]
                else:
                    for j in range(o1 - o0):
                        acc[ab + _U(j)] += gf[gb + _U(j)] * xf[xb + _U(j * sw)]
