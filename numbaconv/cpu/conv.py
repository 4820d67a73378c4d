"""CPU convolution kernels: im2col/col2im + BLAS GEMM, and direct kernels for thin layers.

Every launcher works on 3-D-spatial arrays: ``x`` is ``(N, C, D, H, W)``,
``w`` is ``(K, C/groups, kd, kh, kw)``, 1-D and 2-D convolutions arrive with
singleton ``D``/``H`` axes. Arguments are already resolved by
``numbaconv.api.conv``: ``stride``, ``lo`` (padding before) and ``dilation``
are 3-tuples of ints and the output arrays are preallocated. Padding after
the data is implicit: a tap that falls outside the input reads zero.

Two strategies, picked per call by :func:`_use_gemm`:

* *GEMM*: a parallel njit ``im2col`` gathers the patches of one group of a
  few images into a ``(C/groups*kd*kh*kw, positions)`` buffer, and NumPy's
  ``matmul`` (OpenBLAS, with its own threads; never called inside ``prange``)
  multiplies it by the weights. The input gradient is ``col2im(W^T @ G)``,
  the weight gradient ``G @ cols^T``. The bias rides along as an extra row
  of ones in ``cols``.
* *direct*: for layers whose reduction is tiny (depthwise, one input
  channel), a vectorised loop nest over output planes.

Determinism: njit kernels ``prange`` over an axis whose elements are each
reduced serially by one thread (rows of ``cols``, input planes, weight
planes), and the GEMM blocking does not depend on Numba's thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: below this reduction length (C/groups * kernel taps) or with fewer output
#: channels per group than ``_MIN_KG``, direct loops beat im2col + GEMM.
_MIN_REDUCTION = 32
_MIN_KG = 8
#: aim for at least this many output positions per GEMM (batching small images)
_TARGET_COLS = 2048
#: cap on the im2col buffer, in elements
_MAX_COLS_ELEMS = 4 << 20


@njit(inline="always")
def _span(n_in, n_out, off, s):
    """Output indices ``[o0, o1)`` whose input index ``o*s + off`` lies in ``[0, n_in)``."""
    o0 = 0 if off >= 0 else (-off + s - 1) // s
    if n_in - 1 - off < 0:
        return o0, o0
    o1 = (n_in - 1 - off) // s + 1
    if o1 > n_out:
        o1 = n_out
    if o1 < o0:
        o1 = o0
    return o0, o1


# Hot loops index flat arrays with unsigned offsets: Numba then skips the negative-index
# wraparound select and LLVM vectorises the copy (measured 6-10x on im2col).
_U = np.uint64


@njit(cache=True)
def _im2col(x, cols, n0, nb, c0, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw, dd, dh, dw,
            Do, Ho, Wo):
    """``cols[r, b*P + p]`` = patch element ``r`` at output position ``p`` of image ``n0 + b``.

    Serial on purpose: it runs between BLAS calls, and Numba's OpenMP workers spinning
    after a parallel region starve OpenBLAS's threads (measured 3-9x slower GEMMs).
    """
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    P = Do * Ho * Wo
    R = cg * kd * kh * kw
    ncols = cols.shape[1]
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for b in range(nb):
        n = n0 + b
        for r in range(R):
            tw = r % kw
            q = r // kw
            th = q % kh
            q //= kh
            td = q % kd
            c = c0 + q // kd
            off = tw * dw - lw
            ow0, ow1 = _span(W, Wo, off, sw)
            for od in range(Do):
                i_d = od * sd - ld + td * dd
                for oh in range(Ho):
                    cb = _U(r * ncols + b * P + (od * Ho + oh) * Wo)
                    ih = oh * sh - lh + th * dh
                    if i_d < 0 or i_d >= D or ih < 0 or ih >= H:
                        for ow in range(Wo):
                            cf[cb + _U(ow)] = 0
                        continue
                    xb = _U((((n * C + c) * D + i_d) * H + ih) * W + off + ow0 * sw)
                    for ow in range(ow0):
                        cf[cb + _U(ow)] = 0
                    cb0 = cb + _U(ow0)
                    if sw == 1:
                        for j in range(ow1 - ow0):
                            cf[cb0 + _U(j)] = xf[xb + _U(j)]
                    else:
                        for j in range(ow1 - ow0):
                            cf[cb0 + _U(j)] = xf[xb + _U(j * sw)]
                    for ow in range(ow1, Wo):
                        cf[cb + _U(ow)] = 0


@njit(cache=True)
def _col2im(cols, dx, bias, n0, nb, c0, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw, dd, dh, dw,
            Do, Ho, Wo):
    """``dx[n0+b, c0+c] = bias[c0+c] +`` the rows of channel ``c`` scattered back (serial, see _im2col)."""
    C, D, H, W = dx.shape[1], dx.shape[2], dx.shape[3], dx.shape[4]
    P = Do * Ho * Wo
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    df = dx.reshape(-1)
    plane = D * H * W
    for b in range(nb):
        n = n0 + b
        for c in range(cg):
            ci = c0 + c
            pb = _U((n * C + ci) * plane)
            init = bias[ci]
            for i in range(plane):
                df[pb + _U(i)] = init
            for td in range(kd):
                for th in range(kh):
                    for tw in range(kw):
                        r = ((c * kd + td) * kh + th) * kw + tw
                        off = tw * dw - lw
                        ow0, ow1 = _span(W, Wo, off, sw)
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                cb = _U(r * ncols + b * P + (od * Ho + oh) * Wo + ow0)
                                xb = pb + _U((i_d * H + ih) * W + off + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j)] += cf[cb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j * sw)] += cf[cb + _U(j)]


@njit(parallel=True, cache=True)
def _direct_forward(x, w, bias, out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per output plane ``(n, k)``: bias, then every tap added row by row."""
    N, K, Do, Ho, Wo = out.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    xf = x.reshape(-1)
    of = out.reshape(-1)
    oplane = Do * Ho * Wo
    for nk in prange(N * K):
        n = nk // K
        k = nk % K
        c0 = (k // kg) * cg
        ob0 = _U(nk * oplane)
        init = bias[k]
        for i in range(oplane):
            of[ob0 + _U(i)] = init
        for c in range(cg):
            for td in range(kd):
                for th in range(kh):
                    for tw in range(kw):
                        wv = w[k, c, td, th, tw]
                        off = tw * dw - lw
                        ow0, ow1 = _span(W, Wo, off, sw)
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                ob = ob0 + _U((od * Ho + oh) * Wo + ow0)
                                xb = _U((((n * C + c0 + c) * D + i_d) * H + ih) * W + off
                                        + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        of[ob + _U(j)] += wv * xf[xb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        of[ob + _U(j)] += wv * xf[xb + _U(j * sw)]


@njit(parallel=True, cache=True)
def _direct_input_grad(g, w, bias, dx, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per input plane ``(n, c)``: scatter ``w * g`` of every output that reads it."""
    N, C, D, H, W = dx.shape
    K, Do, Ho, Wo = g.shape[1], g.shape[2], g.shape[3], g.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    kg = K // groups
    gf = g.reshape(-1)
    df = dx.reshape(-1)
    plane = D * H * W
    for nc in prange(N * C):
        n = nc // C
        ci = nc % C
        c = ci % cg
        k0 = (ci // cg) * kg
        pb = _U(nc * plane)
        init = bias[ci]
        for i in range(plane):
            df[pb + _U(i)] = init
        for k in range(k0, k0 + kg):
            for td in range(kd):
                for th in range(kh):
                    for tw in range(kw):
                        wv = w[k, c, td, th, tw]
                        off = tw * dw - lw
                        ow0, ow1 = _span(W, Wo, off, sw)
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                gb = _U((((n * K + k) * Do + od) * Ho + oh) * Wo + ow0)
                                xb = pb + _U((i_d * H + ih) * W + off + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j)] += wv * gf[gb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        df[xb + _U(j * sw)] += wv * gf[gb + _U(j)]


@njit(parallel=True, cache=True)
def _direct_weight_grad(x, g, dw_out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw):
    """One thread per weight plane ``(k, c)``; each tap sums ``g * x`` into a row, then the row."""
    N, K, Do, Ho, Wo = g.shape
    C, D, H, W = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = dw_out.shape[1], dw_out.shape[2], dw_out.shape[3], dw_out.shape[4]
    kg = K // groups
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    for kc in prange(K * cg):
        k = kc // cg
        c = kc % cg
        ci = (k // kg) * cg + c
        acc = np.zeros(Wo, dtype=dw_out.dtype)
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    acc[:] = 0
                    off = tw * dw - lw
                    ow0, ow1 = _span(W, Wo, off, sw)
                    for n in range(N):
                        for od in range(Do):
                            i_d = od * sd - ld + td * dd
                            if i_d < 0 or i_d >= D:
                                continue
                            for oh in range(Ho):
                                ih = oh * sh - lh + th * dh
                                if ih < 0 or ih >= H:
                                    continue
                                gb = _U((((n * K + k) * Do + od) * Ho + oh) * Wo + ow0)
                                xb = _U((((n * C + ci) * D + i_d) * H + ih) * W + off
                                        + ow0 * sw)
                                if sw == 1:
                                    for j in range(ow1 - ow0):
                                        acc[ow0 + j] += gf[gb + _U(j)] * xf[xb + _U(j)]
                                else:
                                    for j in range(ow1 - ow0):
                                        acc[ow0 + j] += gf[gb + _U(j)] * xf[xb + _U(j * sw)]
                    total = acc[0]
                    for ow in range(1, Wo):
                        total += acc[ow]
                    dw_out[k, c, td, th, tw] = total


@njit(parallel=True, cache=True)
def _bias_grad(g, db):
    """``db[k] = sum(g[:, k, :])`` accumulated in float64, serially per channel."""
    N, K, S = g.shape
    for k in prange(K):
        acc = 0.0
        for n in range(N):
            for s in range(S):
                acc += g[n, k, s]
        db[k] = acc


# ----------------------------------------------------------------------------------------------
# launchers


def _use_gemm(w_shape, groups: int) -> bool:
    K, cg = w_shape[0], w_shape[1]
    taps = int(np.prod(w_shape[2:]))
    return cg * taps >= _MIN_REDUCTION and K // groups >= _MIN_KG


def _batch(N: int, P: int, R: int) -> int:
    """Images per GEMM: enough columns for BLAS, a bounded im2col buffer."""
    nb = max(1, min(N, -(-_TARGET_COLS // max(P, 1))))
    while nb > 1 and (R + 1) * nb * P > _MAX_COLS_ELEMS:
        nb -= 1
    return nb


def _cols_view(buf, rows: int, ncols: int):
    """A C-contiguous ``(rows, ncols)`` view of the front of ``buf`` (one kernel specialisation)."""
    return buf[: rows * ncols].reshape(rows, ncols)


def _bias_or_zeros(bias, n: int, dtype):
    return np.zeros(n, dtype=dtype) if bias is None else bias


def conv_forward(x, w, bias, out, stride, lo, dilation, groups: int) -> None:
    """``out = conv(x, w) + bias`` (cross-correlation); ``bias`` may be None."""
    N = x.shape[0]
    K, cg, kd, kh, kw = w.shape
    Do, Ho, Wo = out.shape[2:]
    sd, sh, sw = stride
    ld, lh, lw = lo
    dd, dh, dw = dilation
    if out.size == 0:
        return
    if not _use_gemm(w.shape, groups):
        _direct_forward(x, w, _bias_or_zeros(bias, K, out.dtype), out, groups,
                        sd, sh, sw, ld, lh, lw, dd, dh, dw)
        return
    kg = K // groups
    R = cg * kd * kh * kw
    P = Do * Ho * Wo
    nb = _batch(N, P, R)
    # weights with the bias as an extra column; cols get a matching row of ones
    wa = np.empty((K, R + 1), dtype=out.dtype)
    wa[:, :R] = w.reshape(K, R)
    wa[:, R] = 0 if bias is None else bias
    buf = np.empty((R + 1) * nb * P, dtype=out.dtype)
    tmp = np.empty((kg, nb * P), dtype=out.dtype) if nb > 1 else None
    cview = None
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        if cview is None or cview.shape[1] != b * P:
            cview = _cols_view(buf, R + 1, b * P)
            cview[R] = 1
        for gi in range(groups):
            _im2col(x, cview, n0, b, gi * cg, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw,
                    dd, dh, dw, Do, Ho, Wo)
            wg = wa[gi * kg:(gi + 1) * kg]
            if b == 1:
                np.matmul(wg, cview, out=out[n0, gi * kg:(gi + 1) * kg].reshape(kg, P))
            else:
                t = tmp[:, : b * P]
                np.matmul(wg, cview, out=t)
                out[n0:n0 + b, gi * kg:(gi + 1) * kg] = (
                    t.reshape(kg, b, Do, Ho, Wo).transpose(1, 0, 2, 3, 4))


def conv_input_grad(g, w, bias, dx, stride, lo, dilation, groups: int) -> None:
    """``dx = conv_input(g, w) + bias`` (the transposed convolution); ``bias`` may be None."""
    N, C = dx.shape[0], dx.shape[1]
    K, cg, kd, kh, kw = w.shape
    Do, Ho, Wo = g.shape[2:]
    sd, sh, sw = stride
    ld, lh, lw = lo
    dd, dh, dw = dilation
    if dx.size == 0:
        return
    b_arr = _bias_or_zeros(bias, C, dx.dtype)
    if g.size == 0 or not _use_gemm(w.shape, groups):
        _direct_input_grad(g, w, b_arr, dx, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw)
        return
    kg = K // groups
    R = cg * kd * kh * kw
    P = Do * Ho * Wo
    nb = _batch(N, P, R)
    w2 = w.reshape(K, R)
    buf = np.empty(R * nb * P, dtype=dx.dtype)
    gbuf = np.empty((kg, nb * P), dtype=dx.dtype) if nb > 1 else None
    for n0 in range(0, N, nb):
        b = min(nb, N - n0)
        cview = _cols_view(buf, R, b * P)
        for gi in range(groups):
            wt = w2[gi * kg:(gi + 1) * kg].T
            if b == 1:
                gm = g[n0, gi * kg:(gi + 1) * kg].reshape(kg, P)
            else:
                gm = gbuf[:, : b * P]
                gm.reshape(kg, b, P)[:] = g[n0:n0 + b, gi * kg:(gi + 1) * kg].reshape(
                    b, kg, P).transpose(1, 0, 2)
            np.matmul(wt, gm, out=cview)
            _col2im(cview, dx, b_arr, n0, b, gi * cg, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw,
                    dd, dh, dw, Do, Ho, Wo)


def conv_weight_grad(x, g, dw_out, stride, lo, dilation, groups: int) -> None:
    """``dw_out = conv_weight(x, g)``: the correlation of ``g`` with ``x`` summed over the batch."""
    N = x.shape[0]
    K, cg, kd, kh, kw = dw_out.shape
    Do, Ho, Wo = g.shape[2:]
    sd, sh, sw = stride
    ld, lh, lw = lo
    dd, dh, dw = dilation
    if dw_out.size == 0:
        return
    if g.size == 0 or x.size == 0:
        dw_out[...] = 0
        return
    if not _use_gemm(dw_out.shape, groups):
        _direct_weight_grad(x, g, dw_out, groups, sd, sh, sw, ld, lh, lw, dd, dh, dw)
        return
    kg = K // groups
    R = cg * kd * kh * kw
    P = Do * Ho * Wo
    nb = _batch(N, P, R)
    dw2 = dw_out.reshape(K, R)
    buf = np.empty(R * nb * P, dtype=dw_out.dtype)
    gbuf = np.empty((kg, nb * P), dtype=dw_out.dtype) if nb > 1 else None
    part = np.empty((kg, R), dtype=dw_out.dtype)
    for gi in range(groups):
        first = True
        for n0 in range(0, N, nb):
            b = min(nb, N - n0)
            cview = _cols_view(buf, R, b * P)
            _im2col(x, cview, n0, b, gi * cg, cg, kd, kh, kw, sd, sh, sw, ld, lh, lw,
                    dd, dh, dw, Do, Ho, Wo)
            if b == 1:
                gm = g[n0, gi * kg:(gi + 1) * kg].reshape(kg, P)
            else:
                gm = gbuf[:, : b * P]
                gm.reshape(kg, b, P)[:] = g[n0:n0 + b, gi * kg:(gi + 1) * kg].reshape(
                    b, kg, P).transpose(1, 0, 2)
            target = dw2[gi * kg:(gi + 1) * kg]
            if first:
                np.matmul(gm, cview.T, out=target)
                first = False
            else:
                np.matmul(gm, cview.T, out=part)
                target += part


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]``; ``g`` is ``(N, K, positions)``."""
    if db.size == 0:
        return
    _bias_grad(g, db)
