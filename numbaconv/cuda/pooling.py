"""CUDA pooling kernels: the twins of :mod:`numbaconv.cpu.pooling`, same launchers and semantics.

One thread per output element for the forward kernels and per input element
for the gradients (gathers through the inverse window lists, summing in the
CPU kernels' order so results agree bit for bit); unpooling scatters one
plane per thread so repeated indices resolve in scan order (the last wins).
"""

from __future__ import annotations

import numpy as np

from ._target import cuda
from .common import grid_1d, to_device


@cuda.jit(device=True)
def _argmax_at(x, xp, H, W, win, geo, od, oh, ow, neg_inf):
    """(maximum, flat in-plane index) of one window: first maximum / first NaN, scan order."""
    best = neg_inf
    idx = -1
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * geo[0]
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            rp = (d * H + win[1, 0, oh] + jh * geo[1]) * W
            for jw in range(win[2, 1, ow], win[2, 2, ow]):
                w = win[2, 0, ow] + jw * geo[2]
                v = x[xp + rp + w]
                if idx < 0 or v > best or (v != v and best == best):
                    best = v
                    idx = rp + w
    return best, idx


@cuda.jit(cache=False)
def _max_fwd(x, out, idx, dims, win, geo, neg_inf, with_idx):
    D, H, W, oD, oH, oW = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        ow = i % oW
        t = i // oW
        oh = t % oH
        t //= oH
        od = t % oD
        p = t // oD
        b, j = _argmax_at(x, p * D * H * W, H, W, win, geo, od, oh, ow, neg_inf)
        out[i] = b
        if with_idx:
            idx[i] = j


@cuda.jit(cache=False)
def _max_bwd(g, x, gin, dims, win, geo, inv, neg_inf, zero):
    D, H, W, oD, oH, oW = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, gin.shape[0], step):
        w = i % W
        t = i // W
        h = t % H
        t //= H
        d = t % D
        p = t // D
        xp = p * D * H * W
        me = (d * H + h) * W + w
        acc = zero
        cm = inv.shape[1]
        for a in range(cm):  # the outputs holding this element, in the CPU's scatter order
            od = inv[0, a, d]
            if od == oD:
                continue
            for b in range(cm):
                oh = inv[1, b, h]
                if oh == oH:
                    continue
                for c in range(cm):
                    ow = inv[2, c, w]
                    if ow == oW:
                        continue
                    _, j = _argmax_at(x, xp, H, W, win, geo, od, oh, ow, neg_inf)
                    if j == me:
                        acc += g[((p * oD + od) * oH + oh) * oW + ow]
        gin[i] = acc


@cuda.jit(cache=False)
def _avg_fwd(x, out, dims, win, fac, zero):
    D, H, W, oD, oH, oW = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        ow = i % oW
        t = i // oW
        oh = t % oH
        t //= oH
        od = t % oD
        p = t // oD
        xp = p * D * H * W
        acc = zero
        for jw in range(win[2, 1, ow], win[2, 2, ow]):  # columns first, as the CPU kernel
            w = win[2, 0, ow] + jw
            col = zero
            for jd in range(win[0, 1, od], win[0, 2, od]):
                d = win[0, 0, od] + jd
                for jh in range(win[1, 1, oh], win[1, 2, oh]):
                    col += x[xp + (d * H + win[1, 0, oh] + jh) * W + w]
            acc += col
        out[i] = acc / ((fac[0, od] * fac[1, oh]) * fac[2, ow])


@cuda.jit(cache=False)
def _avg_bwd(g, gin, dims, fac, inv, zero):
    D, H, W, oD, oH, oW = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, gin.shape[0], step):
        w = i % W
        t = i // W
        h = t % H
        t //= H
        d = t % D
        p = t // D
        cm = inv.shape[1]
        acc = zero
        for c in range(cm):  # as the CPU: padding slots add a zero
            ow = inv[2, c, w]
            col = zero
            if ow != oW:
                for a in range(cm):
                    od = inv[0, a, d]
                    if od == oD:
                        continue
                    for b in range(cm):
                        oh = inv[1, b, h]
                        if oh == oH:
                            continue
                        col += g[((p * oD + od) * oH + oh) * oW + ow] / ((fac[0, od] * fac[1, oh])
                                                                          * fac[2, ow])
            acc += col
        gin[i] = acc


@cuda.jit(cache=False)
def _unpool(x, idx, out, planes, plane_in, plane_out, zero):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for p in range(start, planes, step):  # one thread per plane: the last write wins
        ob = p * plane_out
        for i in range(plane_out):
            out[ob + i] = zero
        xb = p * plane_in
        for j in range(plane_in):
            i = idx[xb + j]
            if i >= 0 and i < plane_out:
                out[ob + i] = x[xb + j]


def _dims(x4, o4):
    return to_device(np.array([x4.shape[1], x4.shape[2], x4.shape[3],
                               o4.shape[1], o4.shape[2], o4.shape[3], x4.shape[0]], np.int64))


def _flat(a):
    return a.reshape(a.size)


def max_pool(x, out, win, geo) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool`."""
    if out.size == 0:
        return
    dummy = cuda.device_array(1, np.int64)
    _max_fwd[grid_1d(out.size)](_flat(x), _flat(out), dummy, _dims(x, out), to_device(win),
                                to_device(geo), x.dtype.type(-np.inf), False)


def max_pool_indices(x, out, idx, win, geo) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool_indices`."""
    if out.size == 0:
        return
    _max_fwd[grid_1d(out.size)](_flat(x), _flat(out), _flat(idx), _dims(x, out), to_device(win),
                                to_device(geo), x.dtype.type(-np.inf), True)


def max_pool_backward(g, x, gin, win, geo, inv) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_pool_backward`."""
    if gin.size == 0:
        return
    _max_bwd[grid_1d(gin.size)](_flat(g), _flat(x), _flat(gin), _dims(x, g), to_device(win),
                                to_device(geo), to_device(inv), x.dtype.type(-np.inf),
                                x.dtype.type(0))


def avg_pool(x, out, win, geo, fac) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.avg_pool`."""
    if out.size == 0:
        return
    _avg_fwd[grid_1d(out.size)](_flat(x), _flat(out), _dims(x, out), to_device(win),
                                to_device(fac), x.dtype.type(0))


def avg_pool_backward(g, gin, win, geo, fac, inv) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.avg_pool_backward`."""
    if gin.size == 0:
        return
    _avg_bwd[grid_1d(gin.size)](_flat(g), _flat(gin), _dims(gin, g), to_device(fac),
                                to_device(inv), gin.dtype.type(0))


def max_unpool(x, idx, out) -> None:
    """Device twin of :func:`numbaconv.cpu.pooling.max_unpool` (out-of-range indices are skipped)."""
    if out.size == 0:
        return
    planes = out.shape[0]
    plane_in = x.size // planes
    plane_out = out.size // planes
    _unpool[grid_1d(planes)](_flat(x), _flat(idx), _flat(out), planes, plane_in, plane_out,
                             out.dtype.type(0))
