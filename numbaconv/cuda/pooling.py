"""CUDA pooling kernels: the twins of :mod:`numbaconv.cpu.pooling`, same launchers and semantics.

One thread per output element for the forward kernels and per input element for the
gradients (gathers through the inverse window tables), in either layout. The window scans,
tie and NaN rules and summation orders are the shared loops of
:mod:`numbaconv.loops.pooling`, so results agree with the CPU kernels bit for bit.
Unpooling runs one plane per thread so repeated indices resolve in scan order (the last wins).
The spec's tables are copied to the device once per spec.
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false

from __future__ import annotations

import functools
import math

from ..loops.pooling import (
    add_col_grads,
    divisor,
    locate,
    plane_base,
    unpool_plane,
    window_argmax,
    window_sum,
)
from ._target import cuda
from .common import grid_1d, to_device


@cuda.jit(cache=False)
def _max_fwd(x, out, idx, win, geo, C, D, H, W, oD, oH, oW, cl, with_idx):
    cs = C if cl else 1
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        t, c, od, oh, ow = locate(i, cl, C, oD, oH, oW)
        b, j = window_argmax(x, plane_base(t, c, cl, C, D * H * W), cs, H, W, win, geo,
                             od, oh, ow)
        out[i] = b if j >= 0 else -math.inf
        if with_idx:
            idx[i] = j


@cuda.jit(cache=False)
def _max_bwd(g, x, gin, win, geo, inv, C, D, H, W, oD, oH, oW, cl, zero):
    cs = C if cl else 1
    cm = inv.shape[1]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, gin.shape[0], step):
        t, c, d, h, w = locate(i, cl, C, D, H, W)
        xb = plane_base(t, c, cl, C, D * H * W)
        gb = plane_base(t, c, cl, C, oD * oH * oW)
        me = (d * H + h) * W + w
        acc = zero
        for a in range(cm):  # the outputs holding this element, in the CPU's scatter order
            od = inv[0, a, d]
            if od == oD:
                continue
            for b in range(cm):
                oh = inv[1, b, h]
                if oh == oH:
                    continue
                for e in range(cm):
                    ow = inv[2, e, w]
                    if ow == oW:
                        continue
                    _, j = window_argmax(x, xb, cs, H, W, win, geo, od, oh, ow)
                    if j == me:
                        acc += g[gb + ((od * oH + oh) * oW + ow) * cs]
        gin[i] = acc


@cuda.jit(cache=False)
def _avg_fwd(x, out, win, fac, C, D, H, W, oD, oH, oW, cl, zero):
    cs = C if cl else 1
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        t, c, od, oh, ow = locate(i, cl, C, oD, oH, oW)
        s = window_sum(x, plane_base(t, c, cl, C, D * H * W), cs, H, W, win, od, oh, ow, zero)
        out[i] = s / divisor(fac, od, oh, ow)


@cuda.jit(cache=False)
def _avg_bwd(g, gin, fac, inv, C, D, H, W, oD, oH, oW, cl, zero):
    cs = C if cl else 1
    cm = inv.shape[1]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, gin.shape[0], step):
        t, c, d, h, w = locate(i, cl, C, D, H, W)
        gb = plane_base(t, c, cl, C, oD * oH * oW)
        acc = zero
        for e in range(cm):  # as the CPU's gather along W: padding slots add a zero
            ow = inv[2, e, w]
            gin[i] = zero  # (the element itself is the scratch of its column's sum)
            if ow != oW:
                add_col_grads(g, gb, cs, oD, oH, oW, fac, inv, d, h, ow, ow + 1, gin, i)
            acc += gin[i]
        gin[i] = acc


@cuda.jit(cache=False)
def _unpool(x, idx, out, planes, C, n_in, n_out, cl):
    cs = C if cl else 1
    start, step = cuda.grid(1), cuda.gridsize(1)
    for p in range(start, planes, step):  # one thread per plane: the last write wins
        t, c = (p // C, p % C) if cl else (p, 0)
        unpool_plane(x, idx, out, plane_base(t, c, cl, C, n_in), plane_base(t, c, cl, C, n_out),
                     cs, n_in, n_out)


@functools.lru_cache(maxsize=128)
def _table(spec, name):
    """A device copy of one of ``spec``'s tables (``'win'``, ``'geo'``, ``'fac'``, ``'inv'``)."""
    return to_device(getattr(spec, name))


def _flat(a):
    return a.reshape(a.size)


def max_pool(spec, x, out) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool`."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    o = _flat(out)
    _max_fwd[grid_1d(out.size)](_flat(x), o, o, _table(spec, "win"), _table(spec, "geo"),
                                spec.channels, D, H, W, oD, oH, oW, spec.channels_last, False)


def max_pool_indices(spec, x, out, idx) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool_indices`."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    _max_fwd[grid_1d(out.size)](_flat(x), _flat(out), _flat(idx), _table(spec, "win"),
                                _table(spec, "geo"), spec.channels, D, H, W, oD, oH, oW,
                                spec.channels_last, True)


def max_pool_backward(spec, g, x, gin) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool_backward`."""
    if gin.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    _max_bwd[grid_1d(gin.size)](_flat(g), _flat(x), _flat(gin), _table(spec, "win"),
                                _table(spec, "geo"), _table(spec, "inv"), spec.channels,
                                D, H, W, oD, oH, oW, spec.channels_last, x.dtype.type(0))


def avg_pool(spec, x, out) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.avg_pool`."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    _avg_fwd[grid_1d(out.size)](_flat(x), _flat(out), _table(spec, "win"), _table(spec, "fac"),
                                spec.channels, D, H, W, oD, oH, oW, spec.channels_last,
                                x.dtype.type(0))


def avg_pool_backward(spec, g, gin) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.avg_pool_backward`."""
    if gin.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    _avg_bwd[grid_1d(gin.size)](_flat(g), _flat(gin), _table(spec, "fac"), _table(spec, "inv"),
                                spec.channels, D, H, W, oD, oH, oW, spec.channels_last,
                                gin.dtype.type(0))


def max_unpool(spec, x, idx, out) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_unpool` (out-of-plane indices are
    skipped: the host's range check would need a copy of the indices)."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    planes = spec.batch * spec.channels
    _unpool[grid_1d(planes)](_flat(x), _flat(idx), _flat(out), planes, spec.channels,
                             D * H * W, oD * oH * oW, spec.channels_last)
