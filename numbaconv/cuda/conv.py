"""CUDA convolution kernels: the twins of :mod:`numbaconv.cpu.conv`, same launchers and signatures.

Gather formulations, one thread per output element (grid-stride loops):

* forward: one thread per output ``(n, k, od, oh, ow)`` sums its window;
* input gradient / transposed convolution: one thread per input element sums
  ``w * g`` over the outputs whose window covers it (no atomics, so the
  result is deterministic);
* weight gradient: one thread per weight element sums ``g * x`` over the
  batch and the output positions;
* bias gradient: one thread per channel.

Arrays are ``(N, C, D, H, W)`` device arrays; scalars are plain ints.
Accumulators start from a typed zero passed by the launcher so float32 stays
float32 on the device; the bias gradient accumulates in float64 as on the CPU.
"""

from __future__ import annotations

import numpy as np

from ._target import cuda
from .common import grid_1d
from .memory import zeros as device_zeros


@cuda.jit(cache=False)
def _forward(x, w, bias, out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    N, K, Do, Ho, Wo = out.shape
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    total = N * K * Do * Ho * Wo
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, total, step):
        ow = i % Wo
        r = i // Wo
        oh = r % Ho
        r //= Ho
        od = r % Do
        r //= Do
        k = r % K
        n = r // K
        c0 = (k // kg) * cg
        acc = bias[k]
        for c in range(cg):
            for td in range(kd):
                i_d = od * sd - ld + td * dd
                if i_d < 0 or i_d >= D:
                    continue
                for th in range(kh):
                    ih = oh * sh - lh + th * dh
                    if ih < 0 or ih >= H:
                        continue
                    for tw in range(kw):
                        iw = ow * sw - lw + tw * dw
                        if iw >= 0 and iw < W:
                            acc += w[k, c, td, th, tw] * x[n, c0 + c, i_d, ih, iw]
        out[n, k, od, oh, ow] = acc


@cuda.jit(cache=False)
def _input_grad(g, w, bias, dx, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    N, C, D, H, W = dx.shape
    K, Do, Ho, Wo = g.shape[1], g.shape[2], g.shape[3], g.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    total = N * C * D * H * W
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, total, step):
        iw = i % W
        r = i // W
        ih = r % H
        r //= H
        i_d = r % D
        r //= D
        ci = r % C
        n = r // C
        c = ci % cg
        k0 = (ci // cg) * kg
        acc = bias[ci]
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
                    oh = u // sh
                    for tw in range(kw):
                        v = iw + lw - tw * dw
                        if v < 0 or v % sw != 0 or v // sw >= Wo:
                            continue
                        acc += w[k, c, td, th, tw] * g[n, k, od, oh, v // sw]
        dx[n, ci, i_d, ih, iw] = acc


@cuda.jit(cache=False)
def _weight_grad(x, g, dw_out, zero, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    N, K, Do, Ho, Wo = g.shape
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = dw_out.shape[1], dw_out.shape[2], dw_out.shape[3], dw_out.shape[4]
    kg = K // groups
    total = K * cg * kd * kh * kw
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, total, step):
        tw = i % kw
        r = i // kw
        th = r % kh
        r //= kh
        td = r % kd
        r //= kd
        c = r % cg
        k = r // cg
        ci = (k // kg) * cg + c
        acc = zero
        for n in range(N):
            for od in range(Do):
                i_d = od * sd - ld + td * dd
                if i_d < 0 or i_d >= D:
                    continue
                for oh in range(Ho):
                    ih = oh * sh - lh + th * dh
                    if ih < 0 or ih >= H:
                        continue
                    for ow in range(Wo):
                        iw = ow * sw - lw + tw * dw
                        if iw >= 0 and iw < W:
                            acc += g[n, k, od, oh, ow] * x[n, ci, i_d, ih, iw]
        dw_out[k, c, td, th, tw] = acc


@cuda.jit(cache=False)
def _bias_grad(g, db):
    N, K, S = g.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, K, step):
        acc = 0.0
        for n in range(N):
            for s in range(S):
                acc += g[n, k, s]
        db[k] = acc


def _bias_or_zeros(bias, n: int, dtype):
    return device_zeros((n,), dtype) if bias is None else bias


def conv_forward(x, w, bias, out, stride, lo, dilation, groups: int) -> None:
    """``out = conv(x, w) + bias`` on the device; ``bias`` may be None."""
    if out.size == 0:
        return
    b = _bias_or_zeros(bias, w.shape[0], out.dtype)
    _forward[grid_1d(out.size)](x, w, b, out, groups, *stride, *lo, *dilation)


def conv_input_grad(g, w, bias, dx, stride, lo, dilation, groups: int) -> None:
    """``dx = conv_input(g, w) + bias`` (transposed convolution) on the device."""
    if dx.size == 0:
        return
    b = _bias_or_zeros(bias, dx.shape[1], dx.dtype)
    _input_grad[grid_1d(dx.size)](g, w, b, dx, groups, *stride, *lo, *dilation)


def conv_weight_grad(x, g, dw_out, stride, lo, dilation, groups: int) -> None:
    """``dw_out = conv_weight(x, g)`` on the device."""
    if dw_out.size == 0:
        return
    zero = np.dtype(dw_out.dtype).type(0)
    _weight_grad[grid_1d(dw_out.size)](x, g, dw_out, zero, groups, *stride, *lo, *dilation)


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]`` on the device."""
    if db.size == 0:
        return
    _bias_grad[grid_1d(db.size)](g, db)
