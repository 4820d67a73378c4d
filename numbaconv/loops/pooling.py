"""Pooling loop bodies shared by the CPU kernels (:mod:`numbaconv.cpu.pooling`) and their
CUDA twins (:mod:`numbaconv.cuda.pooling`): one source, so both backends scan windows, break
ties, treat NaN and order their sums identically, bit for bit.

Arrays are flat. An element of spatial position ``(d, h, w)`` of one ``(n, c)`` plane sits at
``base + ((d*H + h)*W + w)*cs``: channels-first planes have ``cs = 1`` and ``base`` the
plane's start; channels-last arrays have ``cs = C`` and ``base = n*D*H*W*C + c``. Window
tables ``win``, ``geo``, ``fac``, ``inv`` are those of :mod:`numbaconv.core.pooling`.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

_U = np.uint64


@register_jitable
def takes(v, best):
    """True when tap value ``v`` replaces the running maximum ``best``.

    A greater value, or a NaN when the maximum is not NaN yet: so the first
    maximum and the first NaN of the scan win (branch-free, for vector loops).
    """
    return (not (v <= best)) & (best == best)  # v > best, or v NaN; never when best is NaN


@register_jitable
def pick(v, best):
    """The running maximum after tap ``v``: ``v if takes(v, best) else best``, bit for bit.

    Three selects on one comparison each (greater; ``v`` NaN; ``best`` NaN), where a select
    on :func:`takes`' two-comparison condition compiles to a jump in scalar code: these
    become vector blends, and the row loops that use them vectorise.
    """
    t = v if v > best else best
    t = v if v != v else t
    return best if best != best else t


@register_jitable
def row_argmax(x, base, cs, rq, win, dw, ow, best, idx):
    """Scan window ``ow``'s taps along W in one tap row (plane position ``rq = (d*H + h)*W``),
    updating the running ``(best, idx)``: a tap is taken when ``idx < 0`` (none yet) or by
    :func:`takes`. Returns the new ``(best, idx)``. (``idx = 0`` on entry: values only.)"""
    for jw in range(win[2, 1, ow], win[2, 2, ow]):
        p = rq + win[2, 0, ow] + jw * dw
        v = x[base + p * cs]
        if idx < 0 or takes(v, best):
            best = v
            idx = p
    return best, idx


@register_jitable
def window_argmax(x, base, cs, H, W, win, geo, od, oh, ow):
    """``(value, index)`` of the first maximum (first NaN) of output ``(od, oh, ow)``'s window.

    Taps are scanned in (d, h, w) order; ``index`` is the flat spatial position
    ``(d*H + h)*W + w`` in the plane, -1 when no tap lies inside the input (the
    value is then meaningless: the caller writes -inf).
    """
    best = x[base]
    idx = -1
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * geo[0]
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            rq = (d * H + win[1, 0, oh] + jh * geo[1]) * W
            best, idx = row_argmax(x, base, cs, rq, win, geo[2], ow, best, idx)
    return best, idx


@register_jitable
def divisor(fac, od, oh, ow):
    """The average-pooling divisor of output ``(od, oh, ow)``, always grouped this way."""
    return (fac[0, od] * fac[1, oh]) * fac[2, ow]


@register_jitable
def window_sum(x, base, cs, H, W, win, od, oh, ow, zero):
    """The sum over output ``(od, oh, ow)``'s window, column by column: for each w tap (in
    order) the sum over its (d, h) taps (in order), the columns then added in w order."""
    acc = zero
    for jw in range(win[2, 1, ow], win[2, 2, ow]):
        w = win[2, 0, ow] + jw
        col = zero
        for jd in range(win[0, 1, od], win[0, 2, od]):
            d = win[0, 0, od] + jd
            for jh in range(win[1, 1, oh], win[1, 2, oh]):
                col += x[base + ((d * H + win[1, 0, oh] + jh) * W + w) * cs]
        acc += col
    return acc


@register_jitable
def add_col_grads(g, gbase, cs, oD, oH, oW, fac, inv, d, h, ow0, ow1, acc, a0):
    """Average-pooling gradient reaching input row ``(d, h)`` through output columns
    ``ow0 <= ow < ow1``: ``acc[a0 + ow - ow0] += g / divisor`` for every output ``(od, oh)``
    whose window holds ``(d, h)``, in ascending order (``g`` of one plane at
    ``gbase + ((od*oH + oh)*oW + ow)*cs``). With ``acc`` zeroed this is the column gradient the
    CPU gathers along W and a CUDA thread sums for one input element."""
    cm = inv.shape[1]
    fw = fac[2]
    n = ow1 - ow0
    for a in range(cm):
        od = inv[0, a, d]
        if od == oD:
            continue
        for b in range(cm):
            oh = inv[1, b, h]
            if oh == oH:
                continue
            go = gbase + ((od * oH + oh) * oW + ow0) * cs
            f = fac[0, od] * fac[1, oh]  # (the grouping of divisor(), hoisted)
            for i in range(n):  # (unsigned offsets: no wraparound checks, vectorised)
                acc[_U(a0) + _U(i)] += g[_U(go) + _U(i * cs)] / (f * fw[_U(ow0) + _U(i)])


@register_jitable
def unpool_plane(x, idx, out, xbase, obase, cs, n_in, n_out):
    """One plane of max unpooling: zeros, then each pooled value written at its index in scan
    order (a repeated index keeps the last value; -1 and out-of-plane indices are skipped)."""
    for i in range(n_out):
        out[obase + i * cs] = 0
    for j in range(n_in):
        i = idx[xbase + j * cs]
        if i >= 0 and i < n_out:
            out[obase + i * cs] = x[xbase + j * cs]


@register_jitable
def locate(i, channels_last, C, D, H, W):
    """``(t, c, d, h, w)`` of flat element ``i`` of an array of planes of spatial size
    ``(D, H, W)``: ``t`` is the plane ``n*C + c`` (channels-first; ``c`` is then 0) or the
    sample ``n`` (channels-last)."""
    if channels_last:
        c = i % C
        t = i // C
    else:
        c = 0
        t = i
    w = t % W
    t //= W
    h = t % H
    t //= H
    d = t % D
    t //= D
    return t, c, d, h, w


@register_jitable
def plane_base(t, c, channels_last, C, size):
    """The ``base`` (module docstring) of plane ``(t, c)`` from :func:`locate`, planes of
    ``size`` spatial elements."""
    if channels_last:
        return t * size * C + c
    return t * size
