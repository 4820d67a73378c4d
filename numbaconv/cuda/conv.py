"""CUDA convolution kernels: the twins of :mod:`numbaconv.cpu.conv`, same launchers and signatures.

Gather formulations, one thread per result element (grid-stride loops), each running the
tap loop of :mod:`numbaconv.loops.conv` (the same code as the CPU direct kernels) on a run
of one element with a one-element local accumulator:

* forward: one thread per output ``(n, k, od, oh, ow)``: the bias, then its taps in the
  order ``(c, td, th, tw)``;
* input gradient / transposed convolution: one thread per input element, the bias, then
  ``w * g`` over the outputs whose window covers it, in the order ``(k, td, th, tw)`` (no
  atomics, so the result is deterministic);
* weight gradient: one thread per weight element: per output column ``ow`` the sum over
  ``(n, od, oh)``, those column sums added in order (the CPU's order);
* bias gradient: one thread per channel, accumulated in float64 as on the CPU.

Channels-last (``x`` ``(N, D, H, W, C)``): the same, with the ``*_cl`` tap loops and the
weights reordered on the device into the layouts they read
(:attr:`numbaconv.core.conv.ConvGeometry.forward_weight_order`, ``input_weight_order``).

Arrays are flat device arrays; the call's geometry
(:attr:`numbaconv.core.conv.ConvGeometry.array`) is copied to the device per call.
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false, reportArgumentType=false

from __future__ import annotations

import numpy as np

from ..core.conv import (
    G_C,
    G_CG,
    G_D,
    G_DO,
    G_GROUPS,
    G_H,
    G_HO,
    G_K,
    G_KD,
    G_KH,
    G_KW,
    G_W,
    G_WO,
    ConvGeometry,
)
from ..loops.conv import (
    forward_block,
    forward_cl_block,
    input_grad_block,
    input_grad_cl_block,
    weight_grad_cl_block,
    weight_grad_run,
)
from ._target import cuda
from .common import grid_1d, to_device


@cuda.jit(cache=False)
def _forward(xf, wf, bf, of, geo):
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    acc = cuda.local.array(1, of.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, of.size, step):
        ow = i % Wo
        r = i // Wo
        oh = r % Ho
        r //= Ho
        od = r % Do
        r //= Do
        k = r % K
        acc[0] = bf[k]
        forward_block(acc, 0, 1, xf, wf, geo, r // K, k, od, oh, oh + 1, ow, ow + 1)
        of[i] = acc[0]


@cuda.jit(cache=False)
def _input_grad(gf, wf, bf, df, geo):
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    acc = cuda.local.array(1, df.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, df.size, step):
        iw = i % W
        r = i // W
        ih = r % H
        r //= H
        i_d = r % D
        r //= D
        ci = r % C
        acc[0] = bf[ci]
        input_grad_block(acc, 0, 1, gf, wf, geo, r // C, ci, i_d, ih, ih + 1, iw, iw + 1)
        df[i] = acc[0]


@cuda.jit(cache=False)
def _weight_grad(xf, gf, dwf, geo):
    Wo, cg = geo[G_WO], geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    kg = geo[G_K] // geo[G_GROUPS]
    acc = cuda.local.array(1, dwf.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dwf.size, step):
        tw = i % kw
        r = i // kw
        th = r % kh
        r //= kh
        td = r % kd
        r //= kd
        k = r // cg
        ci = (k // kg) * cg + r % cg
        acc[0] = 0
        total = acc[0]  # a zero of the array's dtype
        for ow in range(Wo):
            acc[0] = 0
            weight_grad_run(acc, xf, gf, geo, k, ci, td, th, tw, ow, ow + 1)
            total += acc[0]
        dwf[i] = total


@cuda.jit(cache=False)
def _forward_cl(xf, wt, bf, of, geo):
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    acc = cuda.local.array(1, of.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, of.size, step):
        k = i % K
        r = i // K
        ow = r % Wo
        r //= Wo
        oh = r % Ho
        r //= Ho
        acc[0] = bf[k]
        forward_cl_block(acc, 0, 1, 1, xf, wt, geo, r // Do, r % Do, oh, oh + 1, ow, ow + 1,
                         k, k + 1)
        of[i] = acc[0]


@cuda.jit(cache=False)
def _input_grad_cl(gf, wt, bf, df, geo):
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    acc = cuda.local.array(1, df.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, df.size, step):
        ci = i % C
        r = i // C
        iw = r % W
        r //= W
        ih = r % H
        r //= H
        acc[0] = bf[ci]
        input_grad_cl_block(acc, 0, 1, 1, gf, wt, geo, r // D, r % D, ih, ih + 1, iw, iw + 1,
                            ci, ci + 1)
        df[i] = acc[0]


@cuda.jit(cache=False)
def _weight_grad_cl(xf, gf, dwf, geo):
    cg = geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    acc = cuda.local.array(1, dwf.dtype)
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dwf.size, step):
        tw = i % kw
        r = i // kw
        th = r % kh
        r //= kh
        td = r % kd
        r //= kd
        acc[0] = 0
        t = (td * kh + th) * kw + tw
        weight_grad_cl_block(acc, xf, gf, geo, r % cg, t, t + 1, r // cg, r // cg + 1)
        dwf[i] = acc[0]


@cuda.jit(cache=False)
def _gather(src, order, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dst.size, step):
        dst[i] = src[order[i]]


def _reordered(w, order):
    """``w.ravel()[order]`` on the device (the channels-last weight layouts)."""
    dst = cuda.device_array(order.size, dtype=w.dtype)
    _gather[grid_1d(order.size)](_flat(w), to_device(order), dst)
    return dst


@cuda.jit(cache=False)
def _bias_grad(g, db):
    A, K, B = g.shape
    start, step = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, K, step):
        acc = 0.0
        for a in range(A):
            for b in range(B):
                acc += g[a, k, b]
        db[k] = acc


def _flat(a):
    return a.reshape(a.size)


def _bias_or_zeros(bias, n: int, dtype):
    # no bias: a zero bias from the parameter cache (kernels only read it), not a fresh
    # allocation and fill on every call
    return to_device(np.zeros(n, dtype)) if bias is None else _flat(bias)


def conv_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    """``out = conv(x, w) + bias`` on the device; ``bias`` may be None."""
    if out.size == 0:
        return
    b = _bias_or_zeros(bias, geometry.filters, out.dtype)
    geo = to_device(geometry.array)
    if geometry.channels_last:
        wt = _reordered(w, geometry.forward_weight_order)
        _forward_cl[grid_1d(out.size)](_flat(x), wt, b, _flat(out), geo)
    else:
        _forward[grid_1d(out.size)](_flat(x), _flat(w), b, _flat(out), geo)


def conv_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    """``dx = conv_input(g, w) + bias`` (transposed convolution) on the device."""
    if dx.size == 0:
        return
    b = _bias_or_zeros(bias, geometry.channels, dx.dtype)
    geo = to_device(geometry.array)
    if geometry.channels_last:
        wt = _reordered(w, geometry.input_weight_order)
        _input_grad_cl[grid_1d(dx.size)](_flat(g), wt, b, _flat(dx), geo)
    else:
        _input_grad[grid_1d(dx.size)](_flat(g), _flat(w), b, _flat(dx), geo)


def conv_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw = conv_weight(x, g)`` on the device."""
    if dw.size == 0:
        return
    kernel = _weight_grad_cl if geometry.channels_last else _weight_grad
    kernel[grid_1d(dw.size)](_flat(x), _flat(g), _flat(dw), to_device(geometry.array))


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]`` on the device; ``g`` is ``(rows, K, positions)``."""
    if db.size == 0:
        return
    _bias_grad[grid_1d(db.size)](g, db)
