"""CPU pooling kernels: one generic 3-D implementation for 1-, 2- and 3-D pooling.

Every launcher takes C-contiguous 4-D arrays ``(P, D, H, W)`` (``P = N*C``
planes; 1-D and 2-D pooling arrive with singleton leading spatial axes) and
per-axis *window tables* resolved by :mod:`numbaconv.api.pooling`:

* ``win[a, 0, o]`` the input position of tap 0 of output ``o`` along axis ``a``
  (negative inside the left padding), ``win[a, 1, o]`` / ``win[a, 2, o]`` the
  first / one-past-last tap that lies inside the input; tap ``j`` reads input
  position ``win[a, 0, o] + j * geo[a]`` (``geo[0:3]`` are the dilations);
* ``geo[3]`` the stride along W and ``[geo[4], geo[5])`` the outputs along W
  whose whole window is inside the input (the vectorised interior);
* ``fac[a, o]`` the per-axis divisor factors of average pooling (their product
  is the divisor);
* ``inv[a, m, i]``: per axis, the ``m``-th output whose window holds input
  position ``i`` (ascending; the sentinel ``out_a`` pads), for the gradients.

Semantics shared with the CUDA twin (identical results, bit for bit):

* max: taps are scanned in (d, h, w) order; a tap replaces the running maximum
  when it is greater, or when it is NaN and the maximum is not yet NaN; so the
  first maximum wins and the first NaN wins. A window with no tap inside the
  input (possible only with dilation) gives -inf and index -1.
* average: ``sum_w (sum_{d,h} x) / ((fac_d * fac_h) * fac_w)`` accumulated in
  the array dtype, columns first; its gradient at an input element is
  ``sum_ow (sum_{od,oh} g / divisor)`` over the outputs in ascending order.
* gradients are gathers or per-plane serial scatters: results do not depend
  on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_U = np.uint64

#: rows per parallel work item (a fixed split: results never depend on the thread count)
CHUNK = 8


@njit(cache=True, inline="always")
def _takes(v, best):
    """True when tap value ``v`` replaces the running maximum ``best`` (first max / first NaN)."""
    return (v > best) | ((v != v) & (best == best))


@njit(cache=True, inline="always")
def _imax(x, xb, acc, a0, m, s):
    """acc[a0+i] = max(acc[a0+i], x[xb+i*s]) under the first-maximum / first-NaN rule.

    Unsigned offsets: no negative-index wraparound, so LLVM vectorises the loop.
    """
    for i in range(m):
        v = x[_U(xb) + _U(i * s)]
        b = acc[_U(a0 + i)]
        acc[_U(a0 + i)] = v if _takes(v, b) else b


@njit(cache=True, inline="always")
def _imax_row(x, xb, acc, a0, m, s, k):
    """All ``k`` taps of one window row at once (scan order kept): one pass over ``acc``.

    Called with literal ``s`` and ``k``, so the tap loop unrolls and the output loop vectorises.
    """
    for i in range(m):
        b = acc[_U(a0 + i)]
        for jw in range(k):
            v = x[_U(xb) + _U(i * s + jw)]
            b = v if _takes(v, b) else b
        acc[_U(a0 + i)] = b


@njit(cache=True, inline="always")
def _iargmax_row(x, xb, best, idx, a0, m, s, k, p0, first):
    """:func:`_imax_row` with indices; ``first`` starts every window at this row's first tap."""
    for i in range(m):
        if first:
            b = x[_U(xb) + _U(i * s)]
            j = p0 + i * s
        else:
            b = best[_U(a0 + i)]
            j = idx[_U(a0 + i)]
        for jw in range(k):
            v = x[_U(xb) + _U(i * s + jw)]
            t = _takes(v, b)
            b = v if t else b
            j = p0 + i * s + jw if t else j
        best[_U(a0 + i)] = b
        idx[_U(a0 + i)] = j


@njit(cache=True, inline="always")
def _iset(x, xb, best, idx, a0, m, s, p0):
    """The first tap of interior windows: taken unconditionally."""
    for i in range(m):
        best[_U(a0 + i)] = x[_U(xb) + _U(i * s)]
        idx[_U(a0 + i)] = p0 + i * s


@njit(cache=True, inline="always")
def _iargmax(x, xb, best, idx, a0, m, s, p0):
    for i in range(m):
        v = x[_U(xb) + _U(i * s)]
        b = best[_U(a0 + i)]
        t = _takes(v, b)
        best[_U(a0 + i)] = v if t else b
        idx[_U(a0 + i)] = p0 + i * s if t else idx[_U(a0 + i)]


@njit(cache=True, inline="always")
def _isum(c, cb, acc, a0, m, s):
    for i in range(m):
        acc[_U(a0 + i)] += c[_U(cb) + _U(i * s)]


@njit(cache=True, inline="always")
def _max_row(x, xp, dims, win, geo, od, oh, acc, neg_inf):
    """acc[:oW] = max over each window of output row (od, oh); ``xp`` the plane offset."""
    H, W, oW = dims[1], dims[2], dims[5]
    dd, dh, dw, sw, ia, ib = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    for ow in range(oW):
        acc[ow] = neg_inf
    kw = win[2, 2, ia] if ib > ia else 0
    b0 = win[2, 0, 0]
    m = ib - ia
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * dd
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            h = win[1, 0, oh] + jh * dh
            rb = xp + (d * H + h) * W
            for ow in range(ia):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    v = x[rb + win[2, 0, ow] + jw * dw]
                    if _takes(v, acc[ow]):
                        acc[ow] = v
            taps = kw
            if dw == 1 and sw == 2 and kw == 2:  # the common windows: one fused pass
                _imax_row(x, rb + b0 + ia * sw, acc, ia, m, 2, 2)
                taps = 0
            elif dw == 1 and sw == 2 and kw == 3:
                _imax_row(x, rb + b0 + ia * sw, acc, ia, m, 2, 3)
                taps = 0
            for jw in range(taps):
                start = rb + b0 + ia * sw + jw * dw
                if sw == 1:  # the interior: no bounds, vectorised (constant strides)
                    _imax(x, start, acc, ia, m, 1)
                elif sw == 2:
                    _imax(x, start, acc, ia, m, 2)
                else:
                    _imax(x, start, acc, ia, m, sw)
            for ow in range(ib, oW):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    v = x[rb + win[2, 0, ow] + jw * dw]
                    if _takes(v, acc[ow]):
                        acc[ow] = v


@njit(cache=True, inline="always")
def _argmax_row(x, xp, dims, win, geo, od, oh, best, idx, neg_inf):
    """Like :func:`_max_row`, also writing each maximum's flat in-plane index to ``idx[:oW]``."""
    H, W, oW = dims[1], dims[2], dims[5]
    dd, dh, dw, sw, ia, ib = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    for ow in range(oW):
        best[ow] = neg_inf
        idx[ow] = -1
    kw = win[2, 2, ia] if ib > ia else 0
    b0 = win[2, 0, 0]
    m = ib - ia
    first = True
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * dd
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            h = win[1, 0, oh] + jh * dh
            rp = (d * H + h) * W
            rb = xp + rp
            for ow in range(ia):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    w = win[2, 0, ow] + jw * dw
                    v = x[rb + w]
                    if idx[ow] < 0 or _takes(v, best[ow]):
                        best[ow] = v
                        idx[ow] = rp + w
            taps = kw
            xb, pb = rb + b0 + ia * sw, rp + b0 + ia * sw
            if dw == 1 and sw == 2 and kw == 2:  # the common windows: one fused pass
                if first:  # (literal flags: each call compiles to a branch-free loop)
                    _iargmax_row(x, xb, best, idx, ia, m, 2, 2, pb, True)
                else:
                    _iargmax_row(x, xb, best, idx, ia, m, 2, 2, pb, False)
                taps = 0
                first = False
            elif dw == 1 and sw == 2 and kw == 3:
                if first:
                    _iargmax_row(x, xb, best, idx, ia, m, 2, 3, pb, True)
                else:
                    _iargmax_row(x, xb, best, idx, ia, m, 2, 3, pb, False)
                taps = 0
                first = False
            for jw in range(taps):
                w0 = b0 + ia * sw + jw * dw
                p0 = rp + w0
                if first:  # the first tap of every interior window: no comparison
                    _iset(x, rb + w0, best, idx, ia, m, sw, p0)
                    first = False
                elif sw == 1:  # vectorised (constant strides)
                    _iargmax(x, rb + w0, best, idx, ia, m, 1, p0)
                elif sw == 2:
                    _iargmax(x, rb + w0, best, idx, ia, m, 2, p0)
                else:
                    _iargmax(x, rb + w0, best, idx, ia, m, sw, p0)
            for ow in range(ib, oW):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    w = win[2, 0, ow] + jw * dw
                    v = x[rb + w]
                    if idx[ow] < 0 or _takes(v, best[ow]):
                        best[ow] = v
                        idx[ow] = rp + w


@njit(parallel=True, cache=True)
def _max_fwd(x, out, dims, win, geo, neg_inf):
    P, D, H, W, oD, oH, oW = dims[6], dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    rows = P * oD * oH
    for c in prange((rows + CHUNK - 1) // CHUNK):
        acc = np.empty(oW, x.dtype)
        for r in range(c * CHUNK, min(rows, (c + 1) * CHUNK)):
            oh = r % oH
            t = r // oH
            od = t % oD
            p = t // oD
            _max_row(x, p * D * H * W, dims, win, geo, od, oh, acc, neg_inf)
            o0 = r * oW
            for ow in range(oW):
                out[o0 + ow] = acc[ow]


@njit(parallel=True, cache=True)
def _max_fwd_idx(x, out, idx, dims, win, geo, neg_inf):
    P, D, H, W, oD, oH, oW = dims[6], dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    rows = P * oD * oH
    for c in prange((rows + CHUNK - 1) // CHUNK):
        best = np.empty(oW, x.dtype)
        bidx = np.empty(oW, np.int64)
        for r in range(c * CHUNK, min(rows, (c + 1) * CHUNK)):
            oh = r % oH
            t = r // oH
            od = t % oD
            p = t // oD
            _argmax_row(x, p * D * H * W, dims, win, geo, od, oh, best, bidx, neg_inf)
            o0 = r * oW
            for ow in range(oW):
                out[o0 + ow] = best[ow]
                idx[o0 + ow] = bidx[ow]


@njit(parallel=True, cache=True)
def _max_bwd(g, x, gin, dims, win, geo, neg_inf):
    P, D, H, W, oD, oH, oW = dims[6], dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    plane, oplane = D * H * W, oD * oH * oW
    for p in prange(P):  # one thread scatters one whole plane, in output order
        xp = p * plane
        for i in range(plane):
            gin[_U(xp) + _U(i)] = 0
        best = np.empty(oW, x.dtype)
        idx = np.empty(oW, np.int64)
        for od in range(oD):
            for oh in range(oH):
                _argmax_row(x, xp, dims, win, geo, od, oh, best, idx, neg_inf)
                go = p * oplane + (od * oH + oh) * oW
                for ow in range(oW):
                    i = idx[ow]
                    if i >= 0:
                        gin[_U(xp) + _U(i)] += g[_U(go) + _U(ow)]


@njit(parallel=True, cache=True)
def _avg_fwd(x, out, dims, win, geo, fac, zero):
    P, D, H, W, oD, oH, oW = dims[6], dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    sw, ia, ib = geo[3], geo[4], geo[5]
    rows = P * oD * oH
    b0 = win[2, 0, 0]
    kw = win[2, 2, ia] if ib > ia else 0
    for c in prange((rows + CHUNK - 1) // CHUNK):
        col = np.empty(W, x.dtype)
        acc = np.empty(oW, x.dtype)
        for r in range(c * CHUNK, min(rows, (c + 1) * CHUNK)):
            oh = r % oH
            t = r // oH
            od = t % oD
            p = t // oD
            xp = p * D * H * W
            for w in range(W):
                col[w] = zero
            h0, h1 = win[1, 0, oh] + win[1, 1, oh], win[1, 0, oh] + win[1, 2, oh]
            for jd in range(win[0, 1, od], win[0, 2, od]):
                rd = xp + (win[0, 0, od] + jd) * H * W
                for h in range(h0, h1 - 1, 2):  # two rows per pass, added in row order
                    ra = rd + h * W
                    rb = ra + W
                    for w in range(W):  # column sums: contiguous, vectorised
                        col[w] = (col[w] + x[_U(ra) + _U(w)]) + x[_U(rb) + _U(w)]
                if (h1 - h0) % 2:
                    ra = rd + (h1 - 1) * W
                    for w in range(W):
                        col[w] += x[_U(ra) + _U(w)]
            o0 = r * oW
            f = fac[0, od] * fac[1, oh]
            for ow in range(oW):
                acc[ow] = zero
            for ow in range(ia):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    acc[ow] += col[win[2, 0, ow] + jw]
            m = ib - ia
            taps = kw
            if taps > m:  # few wide windows (global pooling): one window at a time, same order
                for i in range(m):
                    a = acc[ia + i]
                    base = b0 + (ia + i) * sw
                    for jw in range(taps):
                        a += col[_U(base + jw)]
                    acc[ia + i] = a
                taps = 0
            for jw in range(taps):
                start = b0 + ia * sw + jw
                if sw == 1:  # vectorised over the interior outputs (constant strides)
                    _isum(col, start, acc, ia, m, 1)
                elif sw == 2:
                    _isum(col, start, acc, ia, m, 2)
                else:
                    _isum(col, start, acc, ia, m, sw)
            for ow in range(ib, oW):
                for jw in range(win[2, 1, ow], win[2, 2, ow]):
                    acc[ow] += col[win[2, 0, ow] + jw]
            for ow in range(oW):
                out[o0 + ow] = acc[ow] / (f * fac[2, ow])


@njit(parallel=True, cache=True)
def _avg_bwd(g, gin, dims, fac, inv, zero):
    P, D, H, W, oD, oH, oW = dims[6], dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    rows = P * D * H
    cm = inv.shape[1]
    fw = fac[2, :oW]
    for c in prange((rows + CHUNK - 1) // CHUNK):
        tmp = np.empty(oW + 1, gin.dtype)  # tmp[oW] = 0: the sentinel slot
        for r in range(c * CHUNK, min(rows, (c + 1) * CHUNK)):  # one input row each
            h = r % H
            t = r // H
            d = t % D
            p = t // D
            for ow in range(oW + 1):
                tmp[ow] = zero
            for a in range(cm):
                od = inv[0, a, d]
                if od == oD:
                    continue
                for b in range(cm):
                    oh = inv[1, b, h]
                    if oh == oH:
                        continue
                    go = ((p * oD + od) * oH + oh) * oW
                    f = fac[0, od] * fac[1, oh]
                    for ow in range(oW):  # vectorised
                        tmp[_U(ow)] += g[_U(go) + _U(ow)] / (f * fw[_U(ow)])
            gb = r * W
            for w in range(W):
                gin[_U(gb) + _U(w)] = zero
            for m in range(cm):  # gather along W, outputs in ascending order
                for w in range(W):
                    gin[_U(gb) + _U(w)] += tmp[inv[2, m, _U(w)]]


@njit(parallel=True, cache=True)
def _unpool(x, idx, out, plane_in, plane_out):
    P = out.shape[0] // plane_out if plane_out else 0
    for p in prange(P):  # one thread per plane: the last write wins, deterministically
        ob = p * plane_out
        for i in range(plane_out):
            out[ob + i] = 0
        xb = p * plane_in
        for j in range(plane_in):
            i = idx[xb + j]
            if 0 <= i < plane_out:
                out[ob + i] = x[xb + j]


def _dims(x4, o4):
    """(D, H, W, oD, oH, oW, P) as a tuple of ints."""
    return (int(x4.shape[1]), int(x4.shape[2]), int(x4.shape[3]),
            int(o4.shape[1]), int(o4.shape[2]), int(o4.shape[3]), int(x4.shape[0]))


def max_pool(x, out, win, geo) -> None:
    """``out`` (P, oD, oH, oW) = max pooling of ``x`` (P, D, H, W) through the window tables."""
    if out.size == 0:
        return
    _max_fwd(x.reshape(-1), out.reshape(-1), _dims(x, out), win, geo, x.dtype.type(-np.inf))


def max_pool_indices(x, out, idx, win, geo) -> None:
    """Max pooling that also writes the flat in-plane index of every maximum to ``idx``."""
    if out.size == 0:
        return
    _max_fwd_idx(x.reshape(-1), out.reshape(-1), idx.reshape(-1), _dims(x, out), win, geo,
                 x.dtype.type(-np.inf))


def max_pool_backward(g, x, gin, win, geo, inv) -> None:
    """``gin`` (P, D, H, W) = the max-pooling gradient: each ``g`` entry goes to its window's maximum.

    Scattered plane by plane in output order (``inv`` serves the CUDA twin's gather).
    """
    if gin.size == 0:
        return
    _max_bwd(g.reshape(-1), x.reshape(-1), gin.reshape(-1), _dims(x, g), win, geo,
             x.dtype.type(-np.inf))


def avg_pool(x, out, win, geo, fac) -> None:
    """``out`` = average pooling of ``x``: window sums over the divisor ``prod_a fac[a, o_a]``."""
    if out.size == 0:
        return
    _avg_fwd(x.reshape(-1), out.reshape(-1), _dims(x, out), win, geo, fac, x.dtype.type(0))


def avg_pool_backward(g, gin, win, geo, fac, inv) -> None:
    """``gin`` = the average-pooling gradient, gathered per input element through ``inv``."""
    if gin.size == 0:
        return
    _avg_bwd(g.reshape(-1), gin.reshape(-1), _dims(gin, g), fac, inv, gin.dtype.type(0))


def max_unpool(x, idx, out) -> None:
    """``out`` (P, *out_spatial) = zeros with ``x`` scattered to ``idx`` (flat in-plane positions)."""
    if out.size == 0:
        return
    plane_in = x.size // x.shape[0]
    plane_out = out.size // out.shape[0]
    _unpool(x.reshape(-1), idx.reshape(-1), out.reshape(-1), plane_in, plane_out)
