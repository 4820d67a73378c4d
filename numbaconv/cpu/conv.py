"""CPU convolution kernels: direct loops (twins of :mod:`numbaconv.cuda.conv`), and the CPU-only
im2col/col2im + BLAS GEMM and Winograd paths.

Launchers (:func:`conv_forward`, :func:`conv_input_grad`, :func:`conv_weight_grad`,
:func:`conv_bias_grad`) take C-contiguous arrays and the call's
:class:`numbaconv.core.conv.ConvGeometry` (resolved once by :mod:`numbaconv.api.conv`):
a forward convolution on three spatial axes, ``x`` ``(N, C, D, H, W)``, ``w`` ``(K,
C/groups, kd, kh, kw)``, output ``(N, K, Do, Ho, Wo)`` (1-D and 2-D calls have singleton
leading axes; the arrays may arrive in any shape of that size and layout). The output
arrays are preallocated; padding after the data is implicit (a tap outside the input
reads zero). Each launcher picks its strategy in one marked place at its top:

* *direct* (layers whose reduction is short: depthwise, few input channels): the tap
  loops of :mod:`numbaconv.loops.conv`, shared with the CUDA kernels, over whole output
  rows (forward), input rows (input gradient) or weight planes (weight gradient). A
  serial item kernel does the work; below :data:`PARALLEL_WORK` multiply-adds it runs on
  the calling thread, above it a small ``prange`` driver runs fixed chunks of items;
* *Winograd* F(2x2, 3x3) (:mod:`numbaconv.cpu.winograd`, CPU only): 2-D 3x3 stride-1
  layers (dilation up to 4) with at least 32 input and output channels, forward and input
  gradient (the input gradient of such a layer is again one), non-finite data redone by
  GEMM;
* *GEMM* (CPU only): a fixed number of independent work items (image x group x block of
  output rows, or of channels for the gradients); each runs a GIL-free njit
  :func:`_im2col` into a per-thread buffer and one single-threaded BLAS GEMM through
  NumPy's ``matmul``, on :func:`numbaconv.cpu.threads.run_items`'s threads. The input
  gradient is ``col2im(W^T @ G)``, the weight gradient ``G @ cols^T`` summed over the
  batch in order; the bias rides along as a row of ones.

Determinism: every output element of a direct kernel is summed by one item in a fixed
order, and the GEMM blocking is a constant (:data:`_ITEMS`), so results do not depend on
the thread count or on the serial/parallel choice.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

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
    G_SD,
    G_SH,
    G_SW,
    G_W,
    G_WO,
    ConvGeometry,
    flipped_lo,
    make_geometry,
)
from ..loops.conv import forward_run, input_grad_run, span, weight_grad_run
from .threads import run_items as _run
from .threads import split as _split

#: below this reduction length (C/groups * kernel taps) or with fewer output channels per
#: group than ``_MIN_KG``, direct loops beat im2col + GEMM.
_MIN_REDUCTION = 32
_MIN_KG = 8

#: multiply-adds below which a direct kernel runs serially on the calling thread (waking
#: the thread pool costs more than the work; measured)
PARALLEL_WORK = 1 << 16
#: chunks of items a parallel direct kernel runs (fixed; each item's result does not
#: depend on the chunking anyway)
_CHUNKS = 64

#: the zero-length "no bias" arrays the kernels take instead of None (one specialisation)
_NO_BIAS = {np.dtype(np.float32): np.empty(0, np.float32),
            np.dtype(np.float64): np.empty(0, np.float64)}

# Hot loops index flat arrays with unsigned offsets: Numba then skips the negative-index
# wraparound select and LLVM vectorises the copy (measured 6-10x on im2col).
_U = np.uint64


# ----------------------------------------------------------------------------------------------
# direct kernels: a serial item kernel each, run by a serial or a small prange driver


@njit(cache=True, nogil=True)
def _forward_rows(xf, wf, bf, of, geo, r0, r1):
    """Output rows ``[r0, r1)`` of the ``N*K*Do*Ho`` rows: the bias (or 0), then every tap."""
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    zero = of.dtype.type(0)
    for r in range(r0, r1):
        oh = r % Ho
        q = r // Ho
        od = q % Do
        q //= Do
        k = q % K
        base = r * Wo
        init = bf[k] if bf.size else zero
        for j in range(Wo):
            of[_U(base + j)] = init
        forward_run(of, base, xf, wf, geo, q // K, k, od, oh, 0, Wo)


@njit(cache=True, nogil=True)
def _forward_serial(xf, wf, bf, of, geo):
    _forward_rows(xf, wf, bf, of, geo, 0, of.size // geo[G_WO])


@njit(cache=True, parallel=True)
def _forward_parallel(xf, wf, bf, of, geo, chunks):
    rows = of.size // geo[G_WO]
    for i in prange(chunks):
        _forward_rows(xf, wf, bf, of, geo, i * rows // chunks, (i + 1) * rows // chunks)


@njit(cache=True, nogil=True)
def _input_grad_rows(gf, wf, bf, df, geo, r0, r1):
    """Input-gradient rows ``[r0, r1)`` of the ``N*C*D*H`` rows: the bias (or 0), then every
    ``w * g`` that reads the row."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    zero = df.dtype.type(0)
    for r in range(r0, r1):
        ih = r % H
        q = r // H
        i_d = q % D
        q //= D
        ci = q % C
        base = r * W
        init = bf[ci] if bf.size else zero
        for j in range(W):
            df[_U(base + j)] = init
        input_grad_run(df, base, gf, wf, geo, q // C, ci, i_d, ih, 0, W)


@njit(cache=True, nogil=True)
def _input_grad_serial(gf, wf, bf, df, geo):
    _input_grad_rows(gf, wf, bf, df, geo, 0, df.size // geo[G_W])


@njit(cache=True, parallel=True)
def _input_grad_parallel(gf, wf, bf, df, geo, chunks):
    rows = df.size // geo[G_W]
    for i in prange(chunks):
        _input_grad_rows(gf, wf, bf, df, geo, i * rows // chunks, (i + 1) * rows // chunks)


@njit(cache=True, nogil=True)
def _weight_grad_planes(xf, gf, dwf, geo, p0, p1):
    """Weight planes ``(k, c)`` ``[p0, p1)`` of the ``K*C/groups``: per tap, the per-column
    sums of :func:`weight_grad_run`, then those columns summed in order."""
    K, Wo, cg = geo[G_K], geo[G_WO], geo[G_CG]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    kg = K // geo[G_GROUPS]
    acc = np.empty(Wo, dtype=dwf.dtype)
    for p in range(p0, p1):
        k = p // cg
        ci = (k // kg) * cg + p % cg
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    acc[:] = 0
                    weight_grad_run(acc, xf, gf, geo, k, ci, td, th, tw, 0, Wo)
                    total = dwf.dtype.type(0)
                    for j in range(Wo):
                        total += acc[j]
                    dwf[((p * kd + td) * kh + th) * kw + tw] = total


@njit(cache=True, nogil=True)
def _weight_grad_serial(xf, gf, dwf, geo):
    _weight_grad_planes(xf, gf, dwf, geo, 0, geo[G_K] * geo[G_CG])


@njit(cache=True, parallel=True)
def _weight_grad_parallel(xf, gf, dwf, geo, chunks):
    planes = geo[G_K] * geo[G_CG]
    for i in prange(chunks):
        _weight_grad_planes(xf, gf, dwf, geo, i * planes // chunks, (i + 1) * planes // chunks)


@njit(cache=True, nogil=True)
def _bias_grad_channels(g, db, k0, k1):
    """``db[k] = sum(g[:, k, :])`` for ``k0 <= k < k1``, accumulated in float64 over the rows
    of ``g``, then its columns, in order."""
    A, _, B = g.shape
    acc = np.zeros(k1 - k0)
    for a in range(A):
        for k in range(k0, k1):
            s = acc[k - k0]
            for b in range(B):
                s += g[a, k, b]
            acc[k - k0] = s
    for k in range(k0, k1):
        db[k] = acc[k - k0]


@njit(cache=True, nogil=True)
def _bias_grad_serial(g, db):
    _bias_grad_channels(g, db, 0, db.size)


@njit(cache=True, parallel=True)
def _bias_grad_parallel(g, db, chunks):
    K = db.size
    for i in prange(chunks):
        _bias_grad_channels(g, db, i * K // chunks, (i + 1) * K // chunks)


def _chunks(items: int) -> int:
    return min(items, _CHUNKS)


def _bias_array(bias, dtype):
    return _NO_BIAS[dtype] if bias is None else bias.ravel()


def _direct_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    args = (x.ravel(), w.ravel(), _bias_array(bias, out.dtype), out.ravel(), geometry.array)
    if geometry.macs < PARALLEL_WORK:
        _forward_serial(*args)
    else:
        _forward_parallel(*args, _chunks(out.size // geometry.out_size[2]))


def _direct_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    args = (g.ravel(), w.ravel(), _bias_array(bias, dx.dtype), dx.ravel(), geometry.array)
    if geometry.macs < PARALLEL_WORK:
        _input_grad_serial(*args)
    else:
        _input_grad_parallel(*args, _chunks(dx.size // geometry.in_size[2]))


def _direct_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    args = (x.ravel(), g.ravel(), dw.ravel(), geometry.array)
    if geometry.macs < PARALLEL_WORK:
        _weight_grad_serial(*args)
    else:
        _weight_grad_parallel(*args, _chunks(geometry.filters * geometry.group_channels))


# ----------------------------------------------------------------------------------------------
# GEMM path: independent work items on a few threads, each im2col + a single-threaded GEMM

#: work items the GEMM path splits a call into (a constant, so the blocking, and therefore
#: every rounding, is the same whatever the thread count).
_ITEMS = 4
#: multiply-adds below which the GEMM and Winograd work items run on the calling thread
#: (no thread-pool submit; the same items, so the same results; measured)
GEMM_PARALLEL_WORK = 1 << 23


def _serial_items(geometry: ConvGeometry) -> bool:
    return geometry.macs < GEMM_PARALLEL_WORK


@njit(cache=True, nogil=True)
def _im2col(xf, cols, geo, n, c0, cg, row0, row1):
    """``cols[r, j]``: patch element ``r`` (channel-major: ``(c, td, th, tw)``) of image ``n``,
    channels ``c0 .. c0 + cg``, at output position ``row0*Wo + j``, for the output rows
    ``(od, oh)`` flattened in ``[row0, row1)``.

    Serial and GIL-free: the launchers run one per worker thread next to a
    single-threaded GEMM (see :func:`numbaconv.cpu.threads.run_items`).
    """
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    Ho, Wo = geo[G_HO], geo[G_WO]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    R = cg * kd * kh * kw
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    for r in range(R):
        tw = r % kw
        q = r // kw
        th = q % kh
        q //= kh
        td = q % kd
        c = c0 + q // kd
        off = tw * dw - lw
        ow0, ow1 = span(0, W, off, sw, Wo)
        for row in range(row0, row1):
            od = row // Ho
            oh = row % Ho
            i_d = od * sd - ld + td * dd
            cb = _U(r * ncols + (row - row0) * Wo)
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


@njit(cache=True, nogil=True)
def _col2im(cols, df, bf, geo, n, c0, cg):
    """``dx[n, c0 + c] = bias[c0 + c] +`` the rows of channel ``c`` of ``cols`` scattered back
    (``c < cg``); the adjoint of :func:`_im2col` over all output rows."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    Do, Ho, Wo = geo[G_DO], geo[G_HO], geo[G_WO]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    plane = D * H * W
    zero = df.dtype.type(0)
    for c in range(cg):
        ci = c0 + c
        pb = _U((n * C + ci) * plane)
        init = bf[ci] if bf.size else zero
        for i in range(plane):
            df[pb + _U(i)] = init
        for td in range(kd):
            for th in range(kh):
                for tw in range(kw):
                    r = ((c * kd + td) * kh + th) * kw + tw
                    off = tw * dw - lw
                    ow0, ow1 = span(0, W, off, sw, Wo)
                    for od in range(Do):
                        i_d = od * sd - ld + td * dd
                        if i_d < 0 or i_d >= D:
                            continue
                        for oh in range(Ho):
                            ih = oh * sh - lh + th * dh
                            if ih < 0 or ih >= H:
                                continue
                            cb = _U(r * ncols + (od * Ho + oh) * Wo + ow0)
                            xb = pb + _U((i_d * H + ih) * W + off + ow0 * sw)
                            if sw == 1:
                                for j in range(ow1 - ow0):
                                    df[xb + _U(j)] += cf[cb + _U(j)]
                            else:
                                for j in range(ow1 - ow0):
                                    df[xb + _U(j * sw)] += cf[cb + _U(j)]


def _use_gemm(geometry: ConvGeometry) -> bool:
    """Whether the layer's reduction is long enough for im2col + GEMM to beat direct loops."""
    return (geometry.group_channels * geometry.taps >= _MIN_REDUCTION
            and geometry.group_filters >= _MIN_KG)


def gemm_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    """The im2col + GEMM forward (any layer; Winograd's fallback for non-finite data)."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg = geo.group_channels, geo.group_filters
    Do, Ho, Wo = geo.out_size
    R = cg * geo.taps
    P = Do * Ho * Wo
    xf = x.ravel()
    # weights with the bias as an extra column; cols get a matching row of ones
    wa = np.empty((groups, kg, R + 1), dtype=out.dtype)
    wa[:, :, :R] = w.reshape(groups, kg, R)
    wa[:, :, R] = 0 if bias is None else np.asarray(bias).reshape(groups, kg)
    out3 = out.reshape(N, K, P)
    blocks = _split(Do * Ho, -(-_ITEMS // (N * groups)))
    items = [(n, gi, r0, r1) for n in range(N) for gi in range(groups) for r0, r1 in blocks]
    local = threading.local()

    def work(item):
        n, gi, r0, r1 = item
        width = (r1 - r0) * Wo
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < (R + 1) * width:
            buf = local.buf = np.empty((R + 1) * (blocks[0][1] - blocks[0][0]) * Wo, out.dtype)
        cols = buf[: (R + 1) * width].reshape(R + 1, width)
        _im2col(xf, cols, geo.array, n, gi * cg, cg, r0, r1)
        cols[R] = 1
        with np.errstate(all="ignore"):  # inf * 0 is NaN, as in a direct sum; no warning
            np.matmul(wa[gi], cols, out=out3[n, gi * kg:(gi + 1) * kg, r0 * Wo:r1 * Wo])

    _run(work, items, _serial_items(geo))


def _gemm_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    """``dx = col2im(W^T @ G) + bias`` per (image, group, block of channels)."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg, taps = geo.group_channels, geo.group_filters, geo.taps
    P = int(np.prod(geo.out_size))
    df = dx.ravel()
    bf = _bias_array(bias, dx.dtype)
    # W^T per group, rows channel-major like cols
    wt = np.ascontiguousarray(w.reshape(groups, kg, cg * taps).transpose(0, 2, 1))
    g3 = g.reshape(N, K, P)
    cblocks = _split(cg, -(-_ITEMS // (N * groups)))
    items = [(n, gi, c0, c1) for n in range(N) for gi in range(groups) for c0, c1 in cblocks]
    local = threading.local()

    def work(item):
        n, gi, c0, c1 = item
        rows = (c1 - c0) * taps
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < rows * P:
            buf = local.buf = np.empty((cblocks[0][1] - cblocks[0][0]) * taps * P, dx.dtype)
        cols = buf[: rows * P].reshape(rows, P)
        np.matmul(wt[gi, c0 * taps:c1 * taps], g3[n, gi * kg:(gi + 1) * kg], out=cols)
        _col2im(cols, df, bf, geo.array, n, gi * cg + c0, c1 - c0)

    _run(work, items, _serial_items(geo))


def _gemm_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw = G @ cols^T`` per (group, block of channels), summed over the batch in order."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg, taps = geo.group_channels, geo.group_filters, geo.taps
    Do, Ho, _ = geo.out_size
    P = int(np.prod(geo.out_size))
    xf = x.ravel()
    dw3 = dw.reshape(groups, kg, cg * taps)
    g3 = g.reshape(N, K, P)
    cblocks = _split(cg, -(-_ITEMS // groups))
    items = [(gi, c0, c1) for gi in range(groups) for c0, c1 in cblocks]
    local = threading.local()

    def work(item):
        gi, c0, c1 = item
        rows = (c1 - c0) * taps
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < rows * P:
            buf = local.buf = np.empty((cblocks[0][1] - cblocks[0][0]) * taps * P, dw.dtype)
        cols = buf[: rows * P].reshape(rows, P)
        target = dw3[gi, :, c0 * taps:c1 * taps]
        part = np.empty((kg, rows), dtype=dw.dtype)
        for n in range(N):  # a fixed summation order over the batch
            _im2col(xf, cols, geo.array, n, gi * cg + c0, c1 - c0, 0, Do * Ho)
            if n == 0:
                np.matmul(g3[n, gi * kg:(gi + 1) * kg], cols.T, out=target)
            else:
                np.matmul(g3[n, gi * kg:(gi + 1) * kg], cols.T, out=part)
                target += part

    _run(work, items, _serial_items(geo))


# ----------------------------------------------------------------------------------------------
# Winograd (CPU only)


def _winograd_2d(geometry: ConvGeometry, lo) -> bool:
    """A 2-D (singleton depth) layer, read with padding ``lo`` before the data, that
    :mod:`numbaconv.cpu.winograd` runs faster."""
    from .winograd import winograd_applies

    geo = geometry
    return (geo.in_size[0] == 1 and geo.kernel[0] == 1 and lo[0] == 0 and min(lo) >= 0
            and not geo.channels_last
            and winograd_applies((geo.batch, geo.channels, *geo.in_size[1:]),
                                 (geo.filters, geo.group_channels, *geo.kernel[1:]),
                                 geo.stride[1:], geo.dilation[1:], geo.groups))


def _winograd(x, w, b, out, geometry: ConvGeometry, lo) -> bool:
    """Winograd 2-D forward with padding ``lo`` (``(0, lh, lw)``) before the data; False when
    it met non-finite data (the caller then recomputes with GEMM)."""
    from .winograd import winograd_forward

    geo = geometry
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    return winograd_forward(x.reshape(geo.batch, geo.channels, H, W),
                            w.reshape(geo.filters, geo.group_channels, 3, 3), b,
                            out.reshape(geo.batch, geo.filters, Ho, Wo), lo[1], lo[2],
                            geo.dilation[1], geo.dilation[2], _serial_items(geo))


def _winograd_forward(x, w, b, out, lo, dilation) -> None:
    """The forward's Winograd step on 5-D arrays (3x3, stride 1): Winograd, or im2col + GEMM
    where it met non-finite data (keeps NaN local, inf inf)."""
    N, C = x.shape[:2]
    geometry = make_geometry(N, C, w.shape[0], 1, x.shape[2:], out.shape[2:], w.shape[2:],
                             (1, 1, 1), tuple(lo), tuple(dilation), False)
    if not _winograd(x, w, b, out, geometry, geometry.lo):
        gemm_forward(x, w, b, out, geometry)


def _bias_or_zeros(bias, n: int, dtype):
    return np.zeros(n, dtype=dtype) if bias is None else bias


# ----------------------------------------------------------------------------------------------
# launchers


def conv_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    """``out = conv(x, w) + bias`` (cross-correlation); ``bias`` may be None."""
    if out.size == 0:
        return
    # -- strategy --------------------------------------------------------------------------
    if not _use_gemm(geometry):
        _direct_forward(x, w, bias, out, geometry)
    elif _winograd_2d(geometry, geometry.lo):
        b = _bias_or_zeros(bias, geometry.filters, out.dtype)
        if not _winograd(x, w, b, out, geometry, geometry.lo):
            gemm_forward(x, w, bias, out, geometry)  # keeps NaN local, inf inf
    else:
        gemm_forward(x, w, bias, out, geometry)


def conv_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    """``dx = conv_input(g, w) + bias`` (the transposed convolution); ``bias`` may be None."""
    if dx.size == 0:
        return
    # -- strategy --------------------------------------------------------------------------
    if g.size == 0 or not _use_gemm(geometry):
        _direct_input_grad(g, w, bias, dx, geometry)
        return
    flo = flipped_lo(geometry.kernel, geometry.lo, geometry.dilation)
    if geometry.groups == 1 and geometry.stride == (1, 1, 1) and _winograd_2d(geometry, flo):
        # the correlation of g with the flipped, channel-transposed kernel, padded
        # d*(k - 1) - lo before: again a forward 3x3 layer
        geo = geometry
        adj = make_geometry(geo.batch, geo.filters, geo.channels, 1, geo.out_size, geo.in_size,
                            geo.kernel, geo.stride, flo, geo.dilation, False)
        wf = np.ascontiguousarray(
            w.reshape(geo.w_shape)[:, :, :, ::-1, ::-1].transpose(1, 0, 2, 3, 4))
        b = _bias_or_zeros(bias, geo.channels, dx.dtype)
        if _winograd(g, wf, b, dx, adj, flo):
            return
    _gemm_input_grad(g, w, bias, dx, geometry)


def conv_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw = conv_weight(x, g)``: the correlation of ``g`` with ``x`` summed over the batch."""
    if dw.size == 0:
        return
    # -- strategy --------------------------------------------------------------------------
    if g.size == 0 or x.size == 0 or not _use_gemm(geometry):
        _direct_weight_grad(x, g, dw, geometry)
    else:
        _gemm_weight_grad(x, g, dw, geometry)


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]``; ``g`` is ``(rows, K, positions)``."""
    if db.size == 0:
        return
    # -- strategy --------------------------------------------------------------------------
    if g.size < PARALLEL_WORK:
        _bias_grad_serial(g, db)
    else:
        _bias_grad_parallel(g, db, _chunks(db.size))
