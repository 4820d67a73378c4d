"""CPU-only convolution strategy for small maps and batches: channels-last im2row + one GEMM
per block of images.

The per-image GEMM of :mod:`numbaconv.cpu.conv` (``(K x C*taps) @ (C*taps x P)`` for
each image, im2col rows of ``Wo`` elements) wastes most of the machine when a map
is small: with ``P = 9`` or ``121`` positions the GEMM is too narrow for the BLAS
rate, copying rows of 3 or 11 elements costs as much as the GEMM, and the weight
gradient becomes ``N`` small GEMMs. Here a *block* of ``nb`` consecutive images
(or of output rows of one image) is one GEMM on a channels-last patch matrix:

* :func:`_im2row` pads each image of the block into a small channels-last
  ``(Hp, Wp, C)`` plane (one transposing copy) and writes ``rows[(n, oh, ow),
  (th, tw, c)]``, each patch row made of ``kh`` runs of ``kw*C`` contiguous
  elements (``kh*kw`` runs of ``C`` when dilated), plus a column of ones for the
  bias;
* forward: ``res = rows @ [W' | b]^T`` ``(nb*P, K)`` (``W'`` the filters in
  ``(K, kh, kw, C)`` order), transposed into ``out[n, k, p]``;
* input gradient: ``G`` of the block gathered as ``(K, nb*P)``, ``drows = G^T @ W'``,
  added back patch by patch into a channels-last plane per image, transposed
  into ``dx`` (:func:`_row2im`);
* weight gradient: ONE reduction over ``N*P``: ``dW' = sum over blocks of
  G_b @ rows_b`` ``(K x nb*P) @ (nb*P x kh*kw*C)``. A fixed number of work items
  each sums a fixed run of blocks in order; the partial sums are added in item
  order.

Block sizes, item counts and the choice of this strategy come from
:mod:`numbaconv.cpu.conv_plan` (a function of the shapes and of the machine's
cache sizes, never of the thread count), so every result is bitwise the same
whatever ``numba.get_num_threads()``. Work items run on
:func:`numbaconv.cpu.threads.run_items` (BLAS one thread per item). 2-D layers
(``D == 1``) with ``groups == 1`` only.

One image in one block (a batch-1 layer: inference) is a single GEMM, too small to
split across Python threads (a hand-off costs ~30 us, the GEMM 50-200): each pass runs
whole in one ``prange`` kernel instead (:func:`_forward_one`, :func:`_input_grad_one`,
:func:`_weight_grad_one`): the patch rows in two halves and the filters packed by parts,
then the GEMM split into a fixed number of parts (by filters, or by positions for the input
gradient; :func:`~numbaconv.cpu.threads.gemm_parts`, from the shape) that Numba's pool
runs, each part one call of numpy's CBLAS ``?gemm`` from compiled code
(:func:`numbaconv.cpu.blas.kernel_gemm`; BLAS pinned to one thread around the call).

The channel-major forward (the plan's ``gemm_nchw``) runs whole in one such kernel at any
batch (:func:`_forward_units`): units of output rows of one image, each its own im2col and
one GEMM of the unpacked filters into ``out``; a strided layer's input is first split into
column phases (:func:`_phase_split`) so that every im2col run is a contiguous copy.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import prange
from numba.extending import register_jitable

from . import threads
from .blas import (
    NO_TRANS,
    ROW_MAJOR,
    TRANS,
    gemm_at,
    gemm_rows_at,
    gemv_at,
    kernel_gemm,
    kernel_gemv,
    small_gemm_cap,
)
from .jit import B0 as _B0
from .jit import I0 as _I0
from .jit import I1 as _I1
from .jit import njit, transpose_into
from .native import call, fingerprint, native, team_runs
from .simd import lanes, positions_tile, positions_tile_shapes, touch_span
from .threads import DOT_POSITIONS, few_positions, one_blas_thread
from .threads import run_items as _run
from .threads import scratch as _buffer

_U = np.uint64


@njit(inline="always")
def _plane_nhwc(xf, src0, C, H, W, pl, r0, Hb, Wp, lh, lw, cl):
    """Channels-last padded rows ``[r0, r0 + Hb)`` of one ``(C, H, W)`` image (``cl``: one
    ``(H, W, C)`` image, each row one copy) at ``xf[src0:]`` into ``pl`` (``(Hb, Wp, C)``,
    zeros outside the image); padded row ``r`` / column ``j`` is input row ``r - lh`` /
    column ``j - lw``."""
    for i in range(Hb * Wp * C):
        pl[_U(i)] = 0
    j0 = max(0, lw)
    j1 = min(Wp, W + lw)
    if not cl:  # (the rows read, plane by plane, streamed in first)
        y0, y1 = max(0, r0 - lh), min(H, r0 + Hb - lh)
        for c in range(C if y0 < y1 else 0):
            touch_span(xf, src0 + (c * H + y0) * W, src0 + (c * H + y1) * W)
    for r in range(Hb):
        ih = r0 + r - lh
        if ih < 0 or ih >= H or j1 <= j0:
            continue
        if cl:
            db = _U((r * Wp + j0) * C)
            sb = _U(src0 + (ih * W + j0 - lw) * C)
            for j in range((j1 - j0) * C):
                pl[db + _U(j)] = xf[sb + _U(j)]
            continue
        db = _U(r * Wp * C)
        for c in range(C):
            sb = _U(src0 + (c * H + ih) * W - lw)
            for j in range(j0, j1):
                pl[db + _U(j * C + c)] = xf[sb + _U(j)]


@njit(cache=True, nogil=True)
def _im2row(x, rows, n0, n1, oh0, oh1, kh, kw, sh, sw, lh, lw, dh, dw, Wo, ones, cl):
    """``rows[(n - n0)*Pb + (oh - oh0)*Wo + ow, (th*kw + tw)*C + c] = x[n, c, oh*sh - lh + th*dh,
    ow*sw - lw + tw*dw]`` (zero outside the image) for the images ``[n0, n1)`` and output
    rows ``[oh0, oh1)``; with ``ones`` the extra last column is 1. ``cl``: ``x`` is
    channels-last, ``(N, 1, H, W, C)``."""
    if cl:
        H, W, C = x.shape[2], x.shape[3], x.shape[4]
    else:
        C, H, W = x.shape[1], x.shape[3], x.shape[4]
    nr = oh1 - oh0
    Hb = (nr - 1) * sh + (kh - 1) * dh + 1
    Wp = (Wo - 1) * sw + (kw - 1) * dw + 1
    ld_ = rows.shape[1]
    xf = x.reshape(-1)
    rf = rows.reshape(-1)
    pl = np.empty(Hb * Wp * C, dtype=x.dtype)
    run = kw * C if dw == 1 else C
    nrun = kh if dw == 1 else kh * kw
    for n in range(n0, n1):
        _plane_nhwc(xf, n * C * H * W, C, H, W, pl, oh0 * sh, Hb, Wp, lh, lw, cl)
        for oh in range(nr):
            for ow in range(Wo):
                rb = _U(((n - n0) * nr + oh) * Wo + ow) * _U(ld_)
                for q in range(nrun):
                    if dw == 1:
                        th = q
                        sb = _U(((oh * sh + th * dh) * Wp + ow * sw) * C)
                    else:
                        th = q // kw
                        sb = _U(((oh * sh + th * dh) * Wp + ow * sw + (q % kw) * dw) * C)
                    db = rb + _U(q * run)
                    for j in range(run):
                        rf[db + _U(j)] = pl[sb + _U(j)]
                if ones:
                    rf[rb + _U(kh * kw * C)] = 1


@njit(cache=True, nogil=True)
def _rows_to_nchw(res, out3, n0, n1, p0):
    """``out3[n, k, p0 + p] = res[(n - n0)*Pb + p, k]`` for the images ``[n0, n1)``, ``Pb``
    positions each."""
    K, P = out3.shape[1], out3.shape[2]
    Pb = res.shape[0] // (n1 - n0)
    ld_ = res.shape[1]
    rf = res.reshape(-1)
    of = out3.reshape(-1)
    for n in range(n0, n1):
        for k in range(K):
            db = _U((n * K + k) * P + p0)
            sb = _U((n - n0) * Pb * ld_ + k)
            for p in range(Pb):
                of[db + _U(p)] = rf[sb + _U(p * ld_)]


@njit(inline="always")
def _gather_rows(gf, gb, N, K, P, n0, a, b):
    """``gb[k, (n - n0)*P + p] = g[n, k, p]`` (``gf`` flat ``(N, K, P)``, ``gb`` flat ``(K,
    ld)``) for the images ``[a, b)`` of the block starting at image ``n0``."""
    ld_ = gb.size // K
    for n in range(a, b):
        for k in range(K):
            src = _U((n * K + k) * P)
            dst = _U(k * ld_ + (n - n0) * P)
            for p in range(P):
                gb[dst + _U(p)] = gf[src + _U(p)]


@njit(cache=True, nogil=True)
def _gather_block(g3, gb, n0, n1):
    """``gb[k, (n - n0)*P + p] = g3[n, k, p]`` for the images ``[n0, n1)``."""
    N, K, P = g3.shape
    _gather_rows(g3.reshape(-1), gb.reshape(-1), N, K, P, n0, n0, n1)


@njit(cache=True, nogil=True)
def _row2im(drows, dx, bias, n0, n1, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl):
    """``dx[n, c] = bias[c] +`` every patch row of image ``n`` added back where it was read
    (the adjoint of :func:`_im2row`), positions in order, for the images ``[n0, n1)``
    (``cl``: ``dx`` is channels-last, ``(N, 1, H, W, C)``)."""
    if cl:
        H, W, C = dx.shape[2], dx.shape[3], dx.shape[4]
    else:
        C, H, W = dx.shape[1], dx.shape[3], dx.shape[4]
    P = Ho * Wo
    Hp = (Ho - 1) * sh + (kh - 1) * dh + 1
    Wp = (Wo - 1) * sw + (kw - 1) * dw + 1
    ld_ = drows.shape[1]
    rf = drows.reshape(-1)
    df = dx.reshape(-1)
    acc = np.empty(Hp * Wp * C, dtype=dx.dtype)
    run = kw * C if dw == 1 else C
    nrun = kh if dw == 1 else kh * kw
    i0 = max(0, lh)
    i1 = min(Hp, H + lh)
    j0 = max(0, lw)
    j1 = min(Wp, W + lw)
    for n in range(n0, n1):
        for i in range(Hp * Wp * C):
            acc[_U(i)] = 0
        for oh in range(Ho):
            for ow in range(Wo):
                rb = _U(((n - n0) * P + oh * Wo + ow) * ld_)
                for q in range(nrun):
                    if dw == 1:
                        db = _U(((oh * sh + q * dh) * Wp + ow * sw) * C)
                    else:
                        db = _U(((oh * sh + (q // kw) * dh) * Wp + ow * sw + (q % kw) * dw) * C)
                    sb = rb + _U(q * run)
                    for j in range(run):
                        acc[db + _U(j)] += rf[sb + _U(j)]
        if cl:  # rows of W*C: the biases, then the plane's window added
            ib = _U(n * H * W * C)
            for i in range(H * W):
                for c in range(C):
                    df[ib + _U(i * C + c)] = bias[c]
            for r in range(i0, i1):
                ob = ib + _U(((r - lh) * W + j0 - lw) * C)
                ab = _U((r * Wp + j0) * C)
                for j in range((j1 - j0) * C):
                    df[ob + _U(j)] += acc[ab + _U(j)]
            continue
        for c in range(C):
            b = bias[c]
            pb = _U((n * C + c) * H * W)
            for i in range(H * W):
                df[pb + _U(i)] = b
            for r in range(i0, i1):
                ob = pb + _U((r - lh) * W - lw)
                ab = _U(r * Wp * C + c)
                for j in range(j0, j1):
                    df[ob + _U(j)] += acc[ab + _U(j * C)]


@njit(cache=True, nogil=True)
def _add_into(acc, part):
    """``acc += part`` (same size)."""
    af = acc.reshape(-1)
    pf = part.reshape(-1)
    for i in range(af.size):
        af[_U(i)] += pf[_U(i)]


@njit(cache=True, nogil=True)
def _pack_filters(w, dst):
    """``(K, C, 1, kh, kw)`` filters in patch-row order ``r = (th*kw + tw)*C + c``:
    ``dst[k, r]`` (``dst`` C-contiguous, its rows at least ``C*kh*kw`` long).

    Eight channels at a time: each tap's eight go to one contiguous run (1.5x), one filter's
    few cache lines reused from L1 by the next passes."""
    K, C, kh, kw = w.shape[0], w.shape[1], w.shape[3], w.shape[4]
    taps = kh * kw
    wf = w.reshape(-1)
    df = dst.reshape(-1)
    ld_ = dst.shape[1]
    C8 = C - C % 8
    for k in range(K):
        for c0 in range(0, C8, 8):
            src = _U((k * C + c0) * taps)
            for t in range(taps):
                db = _U(k * ld_ + t * C + c0)
                for j in range(8):
                    df[db + _U(j)] = wf[src + _U(j * taps + t)]
        for c in range(C8, C):
            src = _U((k * C + c) * taps)
            for t in range(taps):
                df[_U(k * ld_ + t * C + c)] = wf[src + _U(t)]


@njit(cache=True, nogil=True)
def _unpack_filters(src, dw):
    """``dw[k, c, 0, th, tw] = src[k, (th*kw + tw)*C + c]`` (the inverse of
    :func:`_pack_filters`; both C-contiguous). Flat unsigned offsets, one filter's
    (taps, C) block at a time: 67 -> 29 us for a (128, 64, 3, 3) layer's gradient."""
    K, C, kh, kw = dw.shape[0], dw.shape[1], dw.shape[3], dw.shape[4]
    taps = kh * kw
    sf = src.reshape(-1)
    df = dw.reshape(-1)
    ld_ = src.shape[1]
    for k in range(K):
        for t in range(taps):
            sb = _U(k * ld_ + t * C)
            db = _U(k * C * taps + t)
            for c in range(C):
                df[db + _U(c * taps)] = sf[sb + _U(c)]


@njit(cache=True, nogil=True, parallel=True)
def _patch_rows_one(im2row, x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, ones, cl):
    """One image's patch rows (``im2row``: :func:`_im2row` as a
    :class:`numbaconv.cpu.native.Native`; ``ones``: 1 for the bias column, else 0; ``cl``:
    ``x`` channels-last), its two halves of output rows on Numba's threads."""
    C = x.shape[4] if cl else x.shape[1]
    rows = np.empty((Ho * Wo, kh * kw * C + ones), dtype=x.dtype)
    halves = min(2, Ho)
    for i in prange(halves):
        oh0, oh1 = i * Ho // halves, (i + 1) * Ho // halves
        call(im2row, x, rows[oh0 * Wo:oh1 * Wo], _I0, _I1, oh0, oh1, kh, kw, sh, sw, lh, lw, dh,
             dw, Wo, ones == 1, cl)
    return rows


@njit(cache=True, nogil=True, parallel=True)
def _pack_filters_one(w, bias, parts):
    """``[W' | b]`` ``(K, R + 1)`` (:func:`_pack_filters`, the biases, or zeros, in the last
    column), by filter parts on Numba's threads."""
    K, R = w.shape[0], w.shape[1] * w.shape[3] * w.shape[4]
    wl = np.empty((K, R + 1), dtype=w.dtype)
    for i in prange(parts):
        k0, k1 = i * K // parts, (i + 1) * K // parts
        _pack_filters(w[k0:k1], wl[k0:k1])
        for k in range(k0, k1):
            wl[k, R] = bias[k] if bias.size else 0
    return wl


@njit(cache=True, nogil=True)
def _pack_filters_t(w, bias, parts):
    """``[W' | b]^T`` ``(R + 1, K)``: row ``r = (th*kw + tw)*C + c`` of patch-row order holds
    every filter's tap (the per-tap GEMMs' ``(taps, C, K)`` filters, :func:`_tap_weights`),
    the last row the biases (or zeros); ``parts`` is unused (the signature of
    :func:`_pack_filters_one`, which the callers take either of). The GEMMs ``rows @ [W' |
    b]^T`` then take no transpose, a form OpenBLAS's small-matrix kernels run
    (:func:`numbaconv.cpu.blas.small_gemm_cap`; with the filters transposed, OpenBLAS takes
    a product of at most 1200 results there): 13 x 577 @ 577 x 128 57.6 us transposed, 19.7
    so (one Zen 4 thread)."""
    K, R = w.shape[0], w.shape[1] * w.shape[3] * w.shape[4]
    wt = np.empty((R + 1, K), dtype=w.dtype)
    _tap_weights(w, wt[:R], np.bool_(True))
    for k in range(K):
        wt[R, k] = bias[k] if bias.size else 0
    return wt


def _packed_t(w, bias):
    """:func:`_pack_filters_t` from Python, into this thread's reused buffer (fresh, a (128,
    128, 3, 3) layer's 590 KB faulted its pages in on every call), large filters transposed
    on Numba's threads (:func:`_tap_weights_parallel`)."""
    K, R = w.shape[0], w.shape[1] * w.shape[3] * w.shape[4]
    wt = _buffer("packed-t", (R + 1, K), w.dtype)
    if w.size >= TAP_WEIGHTS_PARALLEL and threads.num_threads() > 1:
        _tap_weights_parallel(w, wt[:R], np.bool_(True))
    else:
        _tap_weights(w, wt[:R], np.bool_(True))
    wt[R] = bias if bias.size else 0
    return wt


@njit(cache=True, nogil=True, parallel=True)
def _forward_one(gemm, prows, im2row, pack, x, w, bias, of, kh, kw, sh, sw, lh, lw, dh, dw, Ho,
                 Wo, parts, cl, cap):
    """One image's forward pass on Numba's threads: the patch rows and ``[W' | b]``, then
    ``out = [W' | b] @ [rows | 1]^T`` in ``parts`` (by positions when there are at least as
    many as filters, else by filters: each part's GEMM packs its share of the larger
    operand, where splitting (1, 32, 14, 14) -> 64 by filters packed all 144 patch rows
    twice, 77 against 68 us on one thread), each part's GEMM (``gemm``,
    :func:`numbaconv.cpu.blas.kernel_gemm`) writing its block of ``of`` (flat ``(K, P)``)
    directly. The split follows the shapes only (BLAS rounds a block's values by how it is
    cut), so the bits are the same at any thread count. ``cl``: ``x`` and ``of`` (flat ``(P,
    K)``) channels-last, each part's GEMM ``[rows | 1] @ [W' | b]^T``. ``prows``, ``pack``:
    :func:`_patch_rows_one` (given ``im2row``) and :func:`_pack_filters_one` as
    :class:`numbaconv.cpu.native.Native` entry points (:func:`_patch_rows_natives`,
    :func:`_pack_native`)."""
    K, R1 = w.shape[0], kh * kw * w.shape[1] + 1
    P = Ho * Wo
    rows = call(prows, im2row, x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, _I1, cl)
    wl = call(pack, w, bias, parts)
    if cl:  # (wl: [W' | b]^T, (R1, K): no transposes, in blocks under the cap)
        if P >= K:
            for i in prange(parts):
                p0, p1 = i * P // parts, (i + 1) * P // parts
                gemm_rows_at(gemm, NO_TRANS, p1 - p0, K, R1, rows[p0:], R1, wl, K, 0.0,
                             of[p0 * K:], K, cap)
            return
        wf = wl.reshape(-1)
        for i in prange(parts):
            k0, k1 = i * K // parts, (i + 1) * K // parts
            gemm_rows_at(gemm, NO_TRANS, P, k1 - k0, R1, rows, R1, wf[k0:], K, 0.0, of[k0:], K,
                         cap)
        return
    if P >= K:  # by positions: each part packs its share of the patch rows, all the filters
        for i in prange(parts):
            p0, p1 = i * P // parts, (i + 1) * P // parts
            gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, K, p1 - p0, R1, 1.0, wl, R1, rows[p0:],
                 R1, 0.0, of[p0:], P)
        return
    for i in prange(parts):
        k0, k1 = i * K // parts, (i + 1) * K // parts
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, k1 - k0, P, R1, 1.0, wl[k0:], R1, rows,
             R1, 0.0, of[k0 * P:], P)


@njit(inline="always")
def _dots_4x3(wf, w0, R, rf, a0):
    """The twelve dot products of filters ``w0 + j*R`` (``j < 4``) with patch rows ``a0 +
    i*R`` (``i < 3``), each over ``R``: seven vector loads feed twelve multiply-adds, so the
    tile runs at the multiply-add rate where one position at a time was load-bound."""
    zero = wf.dtype.type(0)
    w1, w2, w3 = w0 + _U(R), w0 + _U(2 * R), w0 + _U(3 * R)
    a1, a2 = a0 + _U(R), a0 + _U(2 * R)
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = zero
    for r in range(R):
        u = _U(r)
        v0, v1, v2 = rf[a0 + u], rf[a1 + u], rf[a2 + u]
        x0, x1, x2, x3 = wf[w0 + u], wf[w1 + u], wf[w2 + u], wf[w3 + u]
        s00 += x0 * v0
        s01 += x0 * v1
        s02 += x0 * v2
        s10 += x1 * v0
        s11 += x1 * v1
        s12 += x1 * v2
        s20 += x2 * v0
        s21 += x2 * v1
        s22 += x2 * v2
        s30 += x3 * v0
        s31 += x3 * v1
        s32 += x3 * v2
    return (s00, s01, s02), (s10, s11, s12), (s20, s21, s22), (s30, s31, s32)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _filter_dots(wf, k0, k1, rf, R, P, of, ks, ps, bias):
    """``of[k*ks + p*ps] = bias[k] + sum_r wf[k*R + r] * rf[p*R + r]`` for ``k0 <= k < k1``,
    ``p < P`` (``ks, ps``: ``P, 1`` channels-first, ``1, K`` channels-last): the filters'
    dot products with the patch rows in register tiles of four filters by three positions
    (:func:`_dots_4x3`; vectorised sums, the association fixed at compile time by the
    tile's shape, which follows ``k0, k1`` and ``P`` only), each group of four filters
    against every position while its rows are in the L1 cache (the filters are read once;
    the patch rows, ``P*R``, stay cached). The last ``P % 3`` positions four filters by one
    (the load of each patch-row vector shared), the last ``(k1 - k0) % 4`` filters one dot
    product at a time. Single-threaded, (1, 64, 5, 5) -> 128:
    16 against 21-30 us for four filters by one position (Zen 3; ~80 GFLOP/s, where
    OpenBLAS's GEMM of those shapes runs 41)."""
    zero = of.dtype.type(0)
    P3 = P - P % 3
    k = k0
    while k + 4 <= k1:
        w0 = _U(k * R)
        for p in range(0, P3, 3):
            sums = _dots_4x3(wf, w0, R, rf, _U(p * R))
            for j in range(4):
                b = bias[k + j] if bias.size else zero
                for i in range(3):
                    of[_U((k + j) * ks + (p + i) * ps)] = b + sums[j][i]
        for p in range(P3, P):
            rb = _U(p * R)
            s0 = s1 = s2 = s3 = zero
            for r in range(R):
                u = _U(r)
                v = rf[rb + u]
                s0 += wf[w0 + u] * v
                s1 += wf[w0 + _U(R) + u] * v
                s2 += wf[w0 + _U(2 * R) + u] * v
                s3 += wf[w0 + _U(3 * R) + u] * v
            for j, sj in enumerate((s0, s1, s2, s3)):
                of[_U((k + j) * ks + p * ps)] = (bias[k + j] if bias.size else zero) + sj
        k += 4
    while k < k1:
        w0 = _U(k * R)
        for p in range(P):
            rb = _U(p * R)
            s0 = zero
            for r in range(R):
                s0 += wf[w0 + _U(r)] * rf[rb + _U(r)]
            of[_U(k * ks + p * ps)] = (bias[k] if bias.size else zero) + s0
        k += 1


@njit(cache=True, nogil=True)
def _row_updates(gf, P, gks, gps, wf, K, R, r0, r1, df):
    """``df[p*R + r] = sum_k gf[k*gks + p*gps] * wf[k*R + r]`` for ``p < P``, ``r0 <= r < r1``
    (``gks, gps``: ``P, 1`` channels-first, ``1, K`` channels-last),
    ``k`` in order (four filters' rows a pass: a quarter of the loads and stores of ``df``):
    the input gradient's product as one pass over the filters' rows, each group of four
    applied to every position while it is in the L1 cache."""
    for p in range(P):
        for r in range(r0, r1):
            df[_U(p * R + r)] = 0
    k = 0
    while k < K:
        if K - k >= 4:
            w0, w1, w2, w3 = _U(k * R), _U((k + 1) * R), _U((k + 2) * R), _U((k + 3) * R)
            for p in range(P):
                db = _U(p * R)
                gb = k * gks + p * gps
                g0, g1 = gf[_U(gb)], gf[_U(gb + gks)]
                g2, g3 = gf[_U(gb + 2 * gks)], gf[_U(gb + 3 * gks)]
                for r in range(r0, r1):
                    u = _U(r)
                    a = df[db + u] + g0 * wf[w0 + u]
                    a = a + g1 * wf[w1 + u]
                    a = a + g2 * wf[w2 + u]
                    df[db + u] = a + g3 * wf[w3 + u]
            k += 4
        else:
            wb = _U(k * R)
            for p in range(P):
                db = _U(p * R)
                gk = gf[_U(k * gks + p * gps)]
                for r in range(r0, r1):
                    df[db + _U(r)] += gk * wf[wb + _U(r)]
            k += 1


@njit(cache=True, nogil=True, parallel=True)
def _forward_one_dots(gather, dots, x, w, bias, of, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                      parts, cl, by_filters):
    """One image's forward pass as the filters' dot products with patch rows in their own
    order, the positions in ``parts`` runs of whole three-position tiles on Numba's threads:
    each run gathers its own rows (``gather``: :func:`_channel_major_rows`) and meets every
    filter (``dots``: :func:`_filter_dots`), so the gather is shared out too, nothing is
    packed and no BLAS is called. A position's sum is in a tile of three wherever the runs
    are cut (the last ``P % 3`` positions in the last run's tiles of one), so the bits are
    the same for any ``parts`` and thread count. ``cl``: ``x`` and ``of`` (flat ``(P, K)``)
    channels-last. Batch 1 at two Zen 3 threads, against the GEMM of the channel-major
    units: (1, 32, 13, 13) -> 64 37 against 58 us, (1, 64, 7, 7) -> 128 29 against 55.
    ``by_filters``: few positions (:func:`_dots_only`), all the rows gathered once and the
    filters split into ``parts`` instead (the tiles then follow the split, a function of
    the shape), one compiled kernel for both (a batch-1 network's first call compiled a
    second, ~6 s). The two callees are :class:`~numbaconv.cpu.native.Native` entry points
    (:func:`_dots_natives`): linked in, LLVM compiled their unrolled loops again at each of
    the five call sites in this kernel and its ``prange`` bodies, 7.5 of a cold first
    batch-1 call's 14 s (Zen 3)."""
    C, H, W, cs, hs, ws = _image_strides(x, cl)
    K, R = w.shape[0], kh * kw * C
    P = Ho * Wo
    T = P // 3
    ks, ps = (1, K) if cl else (P, 1)
    wf, xf = w.reshape(-1), x.reshape(-1)
    if by_filters:
        rows = np.empty(P * R, dtype=x.dtype)
        call(gather, xf, rows, C, H, W, cs, hs, ws, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
             _I0, P, _B0)
        for i in prange(parts):
            call(dots, wf, i * K // parts, (i + 1) * K // parts, rows, R, P, of, ks, ps,
                 bias)
        return
    for i in prange(parts):
        p0 = i * T // parts * 3
        p1 = (i + 1) * T // parts * 3 if i < parts - 1 else P
        rows = np.empty((p1 - p0) * R, dtype=x.dtype)
        call(gather, xf, rows, C, H, W, cs, hs, ws, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
             p0, p1, _B0)
        call(dots, wf, _I0, K, rows, R, p1 - p0, of[p0 * ps:], ks, ps, bias)


_DOTS: dict = {}


def _dots_natives(x, w, bias, of):
    """``(gather, dots)``: :func:`_channel_major_rows` and :func:`_filter_dots` as
    :class:`~numbaconv.cpu.native.Native` entry points for :func:`_forward_one_dots`'s
    arrays (``of`` flat; looked up by their types)."""
    key = (fingerprint(x), fingerprint(w), fingerprint(bias), fingerprint(of))
    found = _DOTS.get(key)
    if found is None:
        xf, wf = x.reshape(-1), w.reshape(-1)
        rows = np.empty(0, x.dtype)
        found = _DOTS[key] = (native(_channel_major_rows, xf, rows, *(_I0,) * 18, _B0),
                              native(_filter_dots, wf, _I0, _I0, rows, _I0, _I0, of, _I0, _I0,
                                     bias))
    return found


@njit(cache=True, nogil=True, parallel=True)
def _forward_one_cm(gemm, x, w, bias, of, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl):
    """:func:`_forward_one` for maps of few positions: the patch rows in the filters' own
    order (:func:`_patch_rows_channel_major`, a gather of ``P*R``), so each part's GEMM reads
    the filters where they are, with no packing (``K*R``, which costs more than the GEMM when
    ``P`` is small); ``of`` holds the biases first and the GEMM adds into it. (On up to
    :data:`~numbaconv.cpu.threads.DOT_POSITIONS` positions the filters' dot products run
    instead, with no BLAS: :func:`_forward_one_dots`.) ``cl``: ``x`` and ``of`` (flat ``(P,
    K)``) channels-last, each part's GEMM then ``rows @ W_part^T`` into its columns of
    ``of``."""
    K, R = w.shape[0], kh * kw * w.shape[1]
    P = Ho * Wo
    rows = _patch_rows_channel_major(x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl)
    wf = w.reshape(-1)
    zero = of.dtype.type(0)
    ks, ps = (1, K) if cl else (P, 1)
    for i in prange(parts):
        k0, k1 = i * K // parts, (i + 1) * K // parts
        for k in range(k0, k1):
            b = bias[k] if bias.size else zero
            for p in range(P):
                of[_U(k * ks + p * ps)] = b
        if cl:
            gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, P, k1 - k0, R, 1.0, rows, R,
                    wf[k0 * R:], R, 1.0, of[k0:], K)
        else:
            gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, k1 - k0, P, R, 1.0, wf[k0 * R:], R,
                    rows, R, 1.0, of[k0 * P:], P)


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_one(gemm, prows, im2row, x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                     parts, cl, cap):
    """One image's weight gradient ``G @ rows`` ``(K, R)`` into ``dwo`` ``(K, C, 1, kh,
    kw)``: the patch rows (``prows``, ``im2row`` as for :func:`_forward_one`), then the GEMM
    (``gemm``) and the unpacking split by filters into ``parts`` on Numba's threads.
    ``cl``: ``x`` channels-last and ``g2`` ``(P, K)``, read transposed."""
    K, R = dwo.shape[0], kh * kw * dwo.shape[1]
    P = Ho * Wo
    rows = call(prows, im2row, x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, _I0, cl)
    total = np.empty((K, R), dtype=x.dtype)
    gf = g2.reshape(-1)
    for i in prange(parts):
        k0, k1 = i * K // parts, (i + 1) * K // parts
        _g_rows_gemm(gemm, gf, k0, k1, P, K, rows, R, total.reshape(-1)[k0 * R:], cl, cap)
        _unpack_filters(total[k0:k1], dwo[k0:k1])


@njit(inline="always")
def _g_rows_gemm(gemm, gf, k0, k1, P, K, rows, R, dst, cl, cap):
    """``dst = G[k0:k1] @ rows`` ``(k1 - k0, R)``, ``G`` flat ``(K, P)``, or with ``cl``
    flat ``(P, K)`` and read transposed; in blocks of filters under ``cap``
    (:func:`~numbaconv.cpu.blas.gemm_rows_at`)."""
    if cl:
        gemm_rows_at(gemm, TRANS, k1 - k0, R, P, gf[k0:], K, rows, R, 0.0, dst, R, cap)
    else:
        gemm_rows_at(gemm, NO_TRANS, k1 - k0, R, P, gf[k0 * P:], P, rows, R, 0.0, dst, R, cap)


@register_jitable
def _windows_inside(H, W, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo):
    """Whether every window of the layer lies inside the ``H x W`` map (no padding read):
    :func:`_channel_major_rows`' gather without bounds, and where the one-image weight
    gradient's register tiles run (in Python and in kernels alike)."""
    return (lh <= 0 and lw <= 0 and (Ho - 1) * sh - lh + (kh - 1) * dh < H
            and (Wo - 1) * sw - lw + (kw - 1) * dw < W)


@njit(cache=True, nogil=True)
def _channel_major_rows(xf, rf, C, H, W, cs, hs, ws, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                        p0, p1, scatter):
    """Between one image's map ``xf`` (element ``(c, ih, iw)`` at ``c*cs + ih*hs + iw*ws``:
    ``H*W, W, 1`` channels-first, ``1, W*C, C`` channels-last) and its patch rows ``rf`` in
    the filters' own order, ``rows[oh*Wo + ow - p0, (c*kh + th)*kw + tw] = x[c, oh*sh - lh +
    th*dh, ow*sw - lw + tw*dw]`` (zero outside the image) for the positions ``p0 <= oh*Wo +
    ow < p1``: ``scatter`` False gathers the rows, True adds every row back where it was
    read, positions in order (the adjoint).
    Scalar, for few positions; where every window lies inside the image (no padding
    reached), without the per-element bounds (a (1, 64, 5, 5) 3x3 layer's gather 9.5 ->
    2 us, Zen 4)."""
    R = C * kh * kw
    zero = rf.dtype.type(0)
    if not scatter and _windows_inside(H, W, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo):
        for p in range(p0, p1):
            oh, ow = p // Wo, p % Wo
            rb = _U((p - p0) * R)
            base = (oh * sh - lh) * hs + (ow * sw - lw) * ws
            if kw == 3:  # (a run of three unrolled: 3.3x the loop's rate, Zen 3)
                _runs_of_three(xf, rf, rb, base, C, cs, kh, dh * hs, dw * ws)
                continue
            for c in range(C):
                for th in range(kh):
                    src = base + c * cs + th * dh * hs
                    dst = rb + _U((c * kh + th) * kw)
                    for tw in range(kw):
                        rf[dst + _U(tw)] = xf[_U(src + tw * dw * ws)]
        return
    for p in range(p0, p1):
        oh, ow = p // Wo, p % Wo
        rb = (p - p0) * R
        iw0 = ow * sw - lw
        # the taps inside the image's columns: t0 <= tw < t1 (the same for every row)
        t0 = min(kw, max(0, -(iw0 // dw)))  # (ceil(-iw0 / dw))
        t1 = max(t0, min(kw, -(-(W - iw0) // dw)))
        ih0 = oh * sh - lh
        if (not scatter and kw == 3 and t0 == 0 and t1 == 3 and ih0 >= 0
                and ih0 + (kh - 1) * dh < H):  # a window inside the image
            _runs_of_three(xf, rf, _U(rb), ih0 * hs + iw0 * ws, C, cs, kh, dh * hs, dw * ws)
            continue
        if not scatter and kw == 3:  # (a window over the padding: its taps masked)
            _masked_runs_of_three(xf, rf, rb, ih0, iw0, t0, t1, C, H, cs, hs, ws, kh, dh, dw)
            continue
        for c in range(C):
            for th in range(kh):
                ih = oh * sh - lh + th * dh
                r = rb + (c * kh + th) * kw
                if ih < 0 or ih >= H:  # a row of padding
                    if not scatter:
                        for tw in range(kw):
                            rf[_U(r + tw)] = zero
                    continue
                src = c * cs + ih * hs + iw0 * ws
                if scatter:
                    for tw in range(t0, t1):
                        xf[_U(src + tw * dw * ws)] += rf[_U(r + tw)]
                    continue
                for tw in range(t0):
                    rf[_U(r + tw)] = zero
                for tw in range(t0, t1):
                    rf[_U(r + tw)] = xf[_U(src + tw * dw * ws)]
                for tw in range(t1, kw):
                    rf[_U(r + tw)] = zero


@njit(inline="always")
def _runs_of_three(xf, rf, d, base, C, cs, kh, rs, ts):
    """:func:`_channel_major_rows`' gather of one position's patch row for a kernel three
    taps wide: for each channel and kernel row the three taps (``ts`` apart, the rows ``rs``
    apart, the channels ``cs``) from ``base``, written from ``rf[d]`` on. A 3x3 kernel
    copies a channel's nine values unrolled (:func:`_nine_taps`), with constant offsets
    where the taps are contiguous: (1, 32, 14, 14), 41k elements, 9 against 26 us;
    channels-last (1, 13, 13, 32) 11 against 21 (Zen 3)."""
    if kh == 3 and ts == 1:
        _nine_taps(xf, rf, d, base, C, cs, rs, 1)
    elif kh == 3:
        _nine_taps(xf, rf, d, base, C, cs, rs, ts)
    else:
        for c in range(C):
            src = base + c * cs
            for th in range(kh):
                s = _U(src + th * rs)
                a, b, e = xf[s], xf[s + _U(ts)], xf[s + _U(2 * ts)]
                rf[d] = a
                rf[d + _U(1)] = b
                rf[d + _U(2)] = e
                d += _U(3)


@njit(inline="always")
def _nine_taps(xf, rf, d, base, C, cs, rs, ts):
    """:func:`_runs_of_three` for a 3x3 kernel: each channel's nine values (``ts`` apart
    along a row, ``rs`` between rows) loaded, then stored in the patch row's order."""
    t1, t2 = _U(ts), _U(2 * ts)
    for c in range(C):
        s0 = _U(base + c * cs)
        s1, s2 = s0 + _U(rs), s0 + _U(2 * rs)
        a0, a1, a2 = xf[s0], xf[s0 + t1], xf[s0 + t2]
        b0, b1, b2 = xf[s1], xf[s1 + t1], xf[s1 + t2]
        c0, c1, c2 = xf[s2], xf[s2 + t1], xf[s2 + t2]
        rf[d] = a0
        rf[d + _U(1)] = a1
        rf[d + _U(2)] = a2
        rf[d + _U(3)] = b0
        rf[d + _U(4)] = b1
        rf[d + _U(5)] = b2
        rf[d + _U(6)] = c0
        rf[d + _U(7)] = c1
        rf[d + _U(8)] = c2
        d += _U(9)


@njit(inline="always")
def _masked_runs_of_three(xf, rf, d, ih0, iw0, t0, t1, C, H, cs, hs, ws, kh, dh, dw):
    """:func:`_runs_of_three` for a window reaching the padding: the kernel rows from ``ih0``
    (``dh`` apart) outside the ``H`` rows and the taps outside ``t0 <= tw < t1`` are zero
    (no loop of a variable trip count a row: 2-3x the per-element loops' rate)."""
    zero = rf.dtype.type(0)
    m0, m1, m2 = t0 <= 0 < t1, t0 <= 1 < t1, t0 <= 2 < t1
    for c in range(C):
        for th in range(kh):
            ih = ih0 + th * dh
            o = _U(d + (c * kh + th) * 3)
            if ih < 0 or ih >= H:
                rf[o] = rf[o + _U(1)] = rf[o + _U(2)] = zero
                continue
            s = c * cs + ih * hs + iw0 * ws
            rf[o] = xf[_U(s)] if m0 else zero
            rf[o + _U(1)] = xf[_U(s + dw * ws)] if m1 else zero
            rf[o + _U(2)] = xf[_U(s + 2 * dw * ws)] if m2 else zero


@njit(inline="always")
def chw(a, cl):
    """Channels, rows and columns of a 5-D 2-D-layer array, ``(N, C, 1, H, W)`` or with
    ``cl`` ``(N, 1, H, W, C)`` (the one layout rule of the compiled small-map kernels)."""
    if cl:
        return a.shape[4], a.shape[2], a.shape[3]
    return a.shape[1], a.shape[3], a.shape[4]


@njit(inline="always")
def _image_strides(a, cl):
    """``C, H, W`` (:func:`chw`) and the element strides of channel, row and column of one
    2-D image ``a``."""
    C, H, W = chw(a, cl)
    if cl:
        return C, H, W, 1, W * C, C
    return C, H, W, H * W, W, 1


@njit(cache=True, nogil=True)
def _patch_rows_channel_major(x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl):
    """One image's patch rows in the filters' own order (:func:`_channel_major_rows`;
    ``cl``: ``x`` channels-last)."""
    C, H, W, cs, hs, ws = _image_strides(x, cl)
    rows = np.empty((Ho * Wo, C * kh * kw), dtype=x.dtype)
    _channel_major_rows(x.reshape(-1), rows.reshape(-1), C, H, W, cs, hs, ws, kh, kw, sh, sw,
                        lh, lw, dh, dw, Ho, Wo, _I0, Ho * Wo, np.bool_(False))
    return rows


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_one_cm(gemm, x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl,
                        cap):
    """:func:`_weight_grad_one` for maps of few positions: the patch rows in the filters' own
    order (:func:`_patch_rows_channel_major`), so each part's GEMM writes its filters of
    ``dwo`` directly, with no unpacking of a ``(K, R)`` result (which costs more than the
    GEMM when ``P`` is small; ``cl`` as there)."""
    K, R = dwo.shape[0], kh * kw * dwo.shape[1]
    P = Ho * Wo
    rows = _patch_rows_channel_major(x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl)
    df = dwo.reshape(-1)
    gf = g2.reshape(-1)
    for i in prange(parts):
        k0, k1 = i * K // parts, (i + 1) * K // parts
        _g_rows_gemm(gemm, gf, k0, k1, P, K, rows, R, df[k0 * R:], cl, cap)


#: (filters, vectors of columns) of :func:`_weight_grad_one_tiles`' register tile
#: (:func:`numbaconv.cpu.simd.positions_tile`'s first shape) and the vector lanes of
#: float32 and float64
_WG_TILE = positions_tile_shapes()[0]
_WG_LANES4, _WG_LANES8 = lanes(4), lanes(8)


def _weight_tiles_fit(K: int, R: int, itemsize: int) -> bool:
    """Whether :func:`_weight_grad_one_tiles` takes a one-image weight gradient of ``K``
    filters and patches of ``R``: a register tile's filters and columns both fit."""
    return K >= _WG_TILE[0] and R >= _WG_TILE[1] * lanes(itemsize)


@njit(cache=True, nogil=True)
def _weight_grad_one_tiles(x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl, i0,
                           i1):
    """:func:`_weight_grad_one_cm` without BLAS: ``dW[k, r] = sum_t G[k, t] rows[t, r]``
    (the ``P`` positions in order) by register tiles of filters by vectors of columns
    (:func:`numbaconv.cpu.simd.positions_tile`, the positions its taps), the tiles of
    filters in ``parts`` ranges on Numba's threads; the last tile of each kind overlaps the
    one before (the same sums, the same bits); ranges ``i0 <= i < i1`` of ``parts`` here
    (:func:`_one_image_tiles` runs them). With few positions that product is a
    rank-``P`` update, whose BLAS GEMMs (a reduction of 9 for a 3x3 map) packed more than
    they computed and did not overlap on two threads: (1, 64, 5, 5) -> 128, 31 us where
    this takes 6 (Zen 4). ``G`` is ``g2`` ``(K, P)``, or with ``cl`` ``(P, K)``."""
    K, R = dwo.shape[0], kh * kw * dwo.shape[1]
    P = Ho * Wo
    df, gf = dwo.reshape(-1), g2.reshape(-1)
    offs = np.empty(P, np.int64)  # (position t of filter k: gf[offs[t] + xs[k]])
    xs = np.empty(K, np.int64)
    for t in range(P):
        offs[t] = t * K if cl else t
    for k in range(K):
        xs[k] = k if cl else k * P
    zero = np.zeros(R, dwo.dtype)
    TK = _WG_TILE[0]
    cols = _WG_TILE[1] * (_WG_LANES4 if dwo.itemsize == 4 else _WG_LANES8)
    ntk, ntr = -(-K // TK), -(-R // cols)
    for i in range(i0, i1):
        # (each part gathers its own patch rows: read by the other core right after the
        # calling thread wrote them, they cost more than the gather)
        rf = _patch_rows_channel_major(x, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                                       cl).reshape(-1)
        # a strip of columns (P x cols, from L2) meets every tile of the part's filters
        # while it is in L1, G's rows (K x P) staying there too: the rows are read from L2
        # once, not once a tile of filters ((1, 32, 28, 28) -> 64: 367 -> 306 us, Zen 3)
        for rt in range(ntr):
            r0 = min(rt * cols, R - cols)
            for kt in range(i * ntk // parts, (i + 1) * ntk // parts):
                positions_tile(df, _I0, R, gf, xs, min(kt * TK, K - TK), offs, rf, r0, zero,
                               P)


def _one_image_tiles(x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl) -> None:
    """:func:`_weight_grad_one_tiles`: one range on the calling thread, more on Numba's
    threads (as a ``prange`` loop of its own, the kernel compiled again as the loop's
    gufunc: 11 s of a cold compile)."""
    if parts == 1:
        _weight_grad_one_tiles(x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl,
                               _I0, _I1)
    else:
        team_runs(_weight_grad_one_tiles, (x, g2, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                                           parts, cl), parts, parts)


#: multiply-adds up to which a one-image weight gradient runs register tiles rather than
#: BLAS: the tiles reach ~80% of BLAS's rate on big products, and save the patch rows'
#: packing and unpacking, BLAS's pinning and its own packing, which on small maps cost more
#: than the product. Zen 3, two threads, float32 (tiles / BLAS, us): (1, 32, 13, 13) -> 64
#: 56 / 100, (1, 64, 14, 14) -> 64 135 / 243, (1, 64, 20, 20) -> 64 282 / 343 (12M
#: multiply-adds), (1, 128, 14, 14) -> 128 476 / 462 (21M), (1, 64, 20, 20) -> 128 padded
#: 667 / 529 (30M), (1, 32, 56, 56) -> 64 1256 / 1156 (54M)
WEIGHT_TILES_UP_TO = 12 << 20


def _weight_tile_parts(K: int, R: int, P: int, itemsize: int) -> int:
    """The filter ranges :func:`_weight_grad_one_tiles` takes a one-image weight gradient
    of ``K`` filters, patches of ``R`` and ``P`` positions in (each range gathers the patch
    rows itself), or 0 where the tiles do not take it (past WEIGHT_TILES_UP_TO
    multiply-adds, or a tile wider than the filters or patches): one range, two from
    PARTS_FROM multiply-adds and 16 filters on, four from 128 filters (every output is
    summed the same way whatever the split)."""
    work = K * R * P
    if work > WEIGHT_TILES_UP_TO or not _weight_tiles_fit(K, R, itemsize):
        return 0
    if K < 16 or work < threads.PARTS_FROM:
        return 1
    return 4 if K >= 128 else 2


def weight_grad_tiles_runner(x_shape, g_shape, w_shape, stride, lo, dilation, dtype,
                            cl: bool = False):
    """:func:`weight_grad`'s one-image register tiles (:func:`_weight_grad_one_image`) with
    every choice made once: ``run(x, g, dw_out)`` for 5-D arrays of these shapes, or None
    where :func:`weight_grad` takes another path. A batch-1 (1, 64, 5, 5) -> 128 gradient's
    call spent ~8 us of its ~30 on :func:`weight_grad`'s lookups."""
    K, C, _, kh, kw = w_shape
    Ho, Wo = (g_shape[2], g_shape[3]) if cl else (g_shape[3], g_shape[4])
    P, R = Ho * Wo, C * kh * kw
    parts = _weight_tile_parts(K, R, P, np.dtype(dtype).itemsize)
    if x_shape[0] != 1 or not parts:
        return None
    args = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Ho, Wo,
            parts, np.bool_(cl))
    g2 = (P, K) if cl else (K, P)

    def run(x, g, dw_out):
        _one_image_tiles(x, g.reshape(g2), dw_out, *args)

    return run


def _few_weight_positions(P: int, K: int) -> bool:
    """Whether a one-image weight gradient builds its patch rows in the filters' own order:
    on fewer positions than half the filters (the unpacking, ``K*R``, then costs more than
    the gather, ``P*R``)."""
    return 2 * P < K


def _weight_grad_one_image(x, g2, dw_out, geo, Ho: int, Wo: int, cl: bool = False) -> bool:
    """One image's weight gradient by a compiled kernel (False where none can run: no safe
    BLAS for compiled code): register tiles up to WEIGHT_TILES_UP_TO multiply-adds, beyond
    one GEMM, whose patch rows on maps of fewer positions than half the filters are
    channel-major (a gather of ``P*R``) instead of unpacking the result (``K*R``).
    ``cl``: ``x`` channels-last, ``g2`` ``(P, K)``."""
    K, C, _, kh, kw = dw_out.shape
    P, R = Ho * Wo, C * kh * kw
    _, _, sh, sw, lh, lw, dh, dw = geo
    parts = _weight_tile_parts(K, R, P, x.dtype.itemsize)
    if parts:
        _one_image_tiles(x, g2, dw_out, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts,
                         np.bool_(cl))
        return True
    gemm = kernel_gemm(x.dtype)
    if gemm is None:
        return False
    args = (x, g2, dw_out, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, threads.gemm_parts(P, R, K),
            np.bool_(cl), small_gemm_cap(x.dtype))
    with one_blas_thread():
        if _few_weight_positions(P, K):
            _weight_grad_one_cm(gemm, *args)
        else:
            prows, im2row = _patch_rows_natives(x)
            _weight_grad_one(gemm, prows, im2row, *args)
    return True


@njit(cache=True, nogil=True, parallel=True)
def _input_grad_one(gemm, pack, row2im, g2, w, bias, dx, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                    parts, cl, cap):
    """One image's input gradient: ``drows = G^T @ W'`` ``(P, R)`` split by output positions
    into ``parts`` on Numba's threads (``gemm``), then added back into ``dx`` (``row2im``,
    :func:`_row2im`; ``pack``, :func:`_pack_filters_one`: both
    :class:`numbaconv.cpu.native.Native` entry points). ``cl``: ``g2`` ``(P, K)`` (``G^T`` as
    it is) and ``dx`` channels-last."""
    K, P = w.shape[0], Ho * Wo
    R = kh * kw * w.shape[1]
    wl = call(pack, w, bias[:0], parts)  # (K, R + 1): the GEMM reads R columns
    drows = np.empty((P, R), dtype=w.dtype)
    gf = g2.reshape(-1)
    for i in prange(parts):
        p0, p1 = i * P // parts, (i + 1) * P // parts
        _gt_rows_gemm(gemm, gf, p0, p1, P, K, wl.reshape(-1), R + 1, R, drows[p0:], cl, cap)
    call(row2im, drows, dx, bias, _I0, _I1, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl)


@njit(inline="always")
def _gt_rows_gemm(gemm, gf, p0, p1, P, K, wf, ldw, R, dst, cl, cap):
    """``dst = G^T[p0:p1] @ W`` ``(p1 - p0, R)``, ``W`` ``(K, R)`` of leading dimension
    ``ldw``; ``G`` flat ``(K, P)``, or with ``cl`` flat ``(P, K)`` (``G^T`` as it is); in
    blocks of positions under ``cap`` (:func:`~numbaconv.cpu.blas.gemm_rows_at`)."""
    if cl:
        gemm_rows_at(gemm, NO_TRANS, p1 - p0, R, K, gf[p0 * K:], K, wf, ldw, 0.0, dst, R, cap)
    else:
        gemm_rows_at(gemm, TRANS, p1 - p0, R, K, gf[p0:], P, wf, ldw, 0.0, dst, R, cap)


@njit(cache=True, nogil=True)
def _row2im_channel_major(drows, dx, bias, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl):
    """``dx[0, c] = bias[c] +`` every channel-major patch row (:func:`_patch_rows_channel_major`)
    added back where it was read, positions in order (its adjoint; ``cl``: ``dx``
    channels-last)."""
    C, H, W, cs, hs, ws = _image_strides(dx, cl)
    df = dx.reshape(-1)
    for c in range(C):
        b = bias[c]
        for i in range(H * W):
            df[_U(c * cs + i * ws)] = b  # (i * ws: a row of W*ws continues the last)
    _channel_major_rows(df, drows.reshape(-1), C, H, W, cs, hs, ws, kh, kw, sh, sw, lh, lw, dh,
                        dw, Ho, Wo, _I0, Ho * Wo, np.bool_(True))


@njit(cache=True, nogil=True, parallel=True)
def _input_grad_one_cm(gemm, g2, w, bias, dx, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts,
                       cl, cap):
    """:func:`_input_grad_one` for maps of few positions: ``drows = G^T @ W`` with the filters
    read where they are (no packing), patch rows in the filters' own order, added back by
    :func:`_row2im_channel_major`. On up to :data:`~numbaconv.cpu.threads.DOT_POSITIONS`
    positions the product is :func:`_row_updates`, its parts splitting the columns (``cl``
    as :func:`_input_grad_one`)."""
    K, P = w.shape[0], Ho * Wo
    R = kh * kw * w.shape[1]
    drows = np.empty((P, R), dtype=w.dtype)
    gf = g2.reshape(-1)
    wf = w.reshape(-1)
    if P <= DOT_POSITIONS:  # parts: of the patch-row columns, each a pass over the filters
        df = drows.reshape(-1)
        gks, gps = (1, K) if cl else (P, 1)
        for i in prange(parts):
            _row_updates(gf, P, gks, gps, wf, K, R, i * R // parts, (i + 1) * R // parts, df)
    else:
        for i in prange(parts):
            p0, p1 = i * P // parts, (i + 1) * P // parts
            _gt_rows_gemm(gemm, gf, p0, p1, P, K, wf, R, R, drows[p0:], cl, cap)
    _row2im_channel_major(drows, dx, bias, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl)


@njit(cache=True, nogil=True, parallel=True)
def _input_grad_one_tiles(g2, w, bias, dx, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, parts, cl):
    """:func:`_input_grad_one_cm` without BLAS: ``drows[p, r] = sum_k G[k, p] W[k, r]`` (the
    filters in order) by register tiles of positions by vectors of columns
    (:func:`numbaconv.cpu.simd.positions_tile`, the filters its taps, ``W`` read where it
    is), the tiles in ``parts`` ranges on Numba's threads (the last of each kind overlapping
    the one before: the same sums), then added back by :func:`_row2im_channel_major`.
    (1, 64, 5, 5) -> 128: 30 us by the row updates, 13 so (Zen 4, two threads)."""
    K, P = w.shape[0], Ho * Wo
    R = kh * kw * w.shape[1]
    drows = np.empty((P, R), dtype=w.dtype)
    gf, wf, df = g2.reshape(-1), w.reshape(-1), drows.reshape(-1)
    offs = np.empty(K, np.int64)  # (filter t of position p: gf[offs[t] + xs[p]])
    xs = np.empty(P, np.int64)
    for t in range(K):
        offs[t] = t if cl else t * P
    for p in range(P):
        xs[p] = p * K if cl else p
    zero = np.zeros(R, w.dtype)
    TP = _WG_TILE[0]
    cols = _WG_TILE[1] * (_WG_LANES4 if w.itemsize == 4 else _WG_LANES8)
    ntp, ntr = -(-P // TP), -(-R // cols)
    items = ntp * ntr
    for i in prange(parts):
        for it in range(i * items // parts, (i + 1) * items // parts):
            pt, rt = it // ntr, it % ntr
            positions_tile(df, _I0, R, gf, xs, min(pt * TP, P - TP), offs, wf,
                           min(rt * cols, R - cols), zero, K)
    _row2im_channel_major(drows, dx, bias, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo, cl)


#: filter elements from which the forward's packing runs in two parts on Numba's threads
#: (a copy: the split changes no bit)
_SPLIT_PACK = 1 << 16

_NO_BIAS = {np.dtype(t).char: np.empty(0, t) for t in (np.float32, np.float64)}


def image_items(N: int, Ho: int, nb: int, rb: int):
    """Work items ``(n0, n1, oh0, oh1)``: blocks of ``nb`` images, or with ``nb == 1`` blocks
    of ``rb`` output rows of one image."""
    if nb > 1:
        return [(n0, min(N, n0 + nb), 0, Ho) for n0 in range(0, N, nb)]
    return [(n, n + 1, r0, min(Ho, r0 + rb)) for n in range(N) for r0 in range(0, Ho, rb)]


@njit(cache=True, nogil=True, parallel=True)
def _forward_row_blocks(gemm, im2row, x, wt, of, rows, res, kh, kw, sh, sw, lh, lw, dh, dw, Ho,
                        Wo, nb, parts, ones, cl, cap):
    """:func:`forward` for blocks of ``nb`` whole images, one block after another, each on
    Numba's threads: its patch rows in two halves of its images (of a one-image block, of
    its output rows; ``im2row``,
    :func:`_im2row` as a :class:`numbaconv.cpu.native.Native`), the GEMM ``[rows | 1] @
    [W' | b]^T`` in ``parts`` runs of rows (``gemm``, single-threaded BLAS each) and, for
    a channels-first ``of``, the ``(m, K)`` result ``res`` transposed into it in the same
    halves (``cl``: the GEMM writes ``of``'s rows directly). Every output element is one
    GEMM's, cut by the shapes only, so the bits are the same at any thread count.
    Where blocks ran on Python threads, one block's GEMM at a time (a batch of one or two
    blocks) used one core: (16, 64, 5, 5) -> 128 0.30 -> 0.19 ms on two (Zen 4)."""
    N = x.shape[0]
    R1, K = wt.shape[0], wt.shape[1]
    P = Ho * Wo
    for n0 in range(0, N, nb):
        n1, m, halves = _block_span(n0, nb, N, Ho, Wo)
        for h in prange(halves):
            a, b, r0, r1, q0 = _row_half(h, halves, n0, n1, Ho, Wo)
            call(im2row, x, rows[q0:], a, b, r0, r1, kh, kw, sh, sw, lh, lw, dh, dw, Wo, ones,
                 cl)
        if cl:
            for i in prange(parts):
                p0, p1 = i * m // parts, (i + 1) * m // parts
                gemm_rows_at(gemm, NO_TRANS, p1 - p0, K, R1, rows[p0:], R1, wt, K, 0.0,
                             of[(n0 * P + p0) * K:], K, cap)
            continue
        for i in prange(parts):
            p0, p1 = i * m // parts, (i + 1) * m // parts
            gemm_rows_at(gemm, NO_TRANS, p1 - p0, K, R1, rows[p0:], R1, wt, K, 0.0, res[p0:], K,
                         cap)
        of3 = of.reshape(N, K, P)
        for h in prange(halves):
            a, b, r0, r1, q0 = _row_half(h, halves, n0, n1, Ho, Wo)
            _rows_to_nchw(res[q0:q0 + (b - a) * (r1 - r0) * Wo], of3, a, b, r0 * Wo)


@njit(inline="always")
def _block_span(n0, nb, N, Ho, Wo):
    """The block of up to ``nb`` images from ``n0``: ``(n1, m, halves)``, its end, its patch
    rows and the parts its copies split into (:func:`_row_half`)."""
    n1 = min(N, n0 + nb)
    return n1, (n1 - n0) * Ho * Wo, 2 if n1 - n0 >= 2 or Ho >= 2 else 1


@njit(inline="always")
def _row_half(h, halves, n0, n1, Ho, Wo):
    """Part ``h`` of ``halves`` of a block of images ``[n0, n1)``: a share of its images, or
    of a one-image block, of its output rows; ``(a, b, r0, r1, q0)``, images, output rows
    and the part's first patch row within the block."""
    if n1 - n0 >= 2:
        a = n0 + h * (n1 - n0) // halves
        b = n0 + (h + 1) * (n1 - n0) // halves
        return a, b, _I0, Ho, (a - n0) * Ho * Wo
    r0 = h * Ho // halves
    r1 = (h + 1) * Ho // halves
    return n0, n1, r0, r1, r0 * Wo


_IM2ROW: dict = {}
#: an empty 2-D array per dtype, standing for the patch-row buffers in native lookups
_ROWS2D = {np.dtype(t).char: np.empty((0, 0), t) for t in (np.float32, np.float64)}
_PATCH_ROWS: dict = {}
_PACK: dict = {}


def _patch_rows_natives(x):
    """``(prows, im2row)``: :func:`_patch_rows_one` and the :func:`_im2row` it calls as
    :class:`numbaconv.cpu.native.Native` entry points for one image ``x``'s kernels (looked
    up by ``x``'s type)."""
    key = fingerprint(x)
    found = _PATCH_ROWS.get(key)
    if found is None:
        im2row = _im2row_native(x, _ROWS2D[x.dtype.char])
        found = _PATCH_ROWS[key] = (native(_patch_rows_one, im2row, x, *(_I0,) * 11, _B0),
                                    im2row)
    return found


def _pack_native(w, bias, transposed: bool = False):
    """:func:`_pack_filters_one` (``transposed``: :func:`_pack_filters_t`) as a
    :class:`numbaconv.cpu.native.Native` for these arrays' types."""
    key = (fingerprint(w), fingerprint(bias), transposed)
    found = _PACK.get(key)
    if found is None:
        fn = _pack_filters_t if transposed else _pack_filters_one
        found = _PACK[key] = native(fn, w, bias, _I0)
    return found


def _im2row_native(x, rows):
    """:func:`_im2row` for ``x`` and a patch-row buffer like ``rows``, as
    :func:`_forward_row_blocks` calls it (looked up by the arrays' types)."""
    key = (fingerprint(x), fingerprint(rows))
    found = _IM2ROW.get(key)
    if found is None:
        found = _IM2ROW[key] = native(_im2row, x, rows, *(_I0,) * 13, _B0, _B0)
    return found


def _dots_only(P: int, K: int) -> bool:
    """Whether a one-image forward pass on ``P`` positions and ``K`` filters is the filters'
    dot products with all positions (:func:`_forward_one_dots` ``by_filters``: no GEMM, so
    no BLAS to pin)."""
    return P <= DOT_POSITIONS and few_positions(P, K)


def forward_dots_runner(x, w, bias, out, stride, lo, dilation, cl: bool = False,
                        dots: bool = False):
    """:func:`forward`'s one-image passes of dot products (:func:`_dots_only`, or with
    ``dots`` :func:`_forward_one_dots`) with all but the arrays looked up once: ``run(x, w,
    bias, out)`` for arrays of these sizes (reshaped to these 5-D views) and ``bias`` None or
    not as here; None where :func:`forward` takes another path. A batch-1 (1, 64, 5, 5) ->
    128 layer's call spent ~5 us of its ~30 on :func:`forward`'s lookups."""
    K, C, _, kh, kw = w.shape
    Ho, Wo = (out.shape[2], out.shape[3]) if cl else (out.shape[3], out.shape[4])
    few = _dots_only(Ho * Wo, K)
    if x.shape[0] != 1 or not (dots or few):
        return None
    no_bias = _NO_BIAS[out.dtype.char]
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Ho, Wo,
           threads.gemm_parts(Ho * Wo, kh * kw * C + 1, K), np.bool_(cl), np.bool_(few))
    xshape, wshape = x.shape, w.shape
    gather, dots_ = _dots_natives(x, w, no_bias if bias is None else bias, out.reshape(-1))

    def run(x, w, bias, out):  # (arrays of the call's own shapes: the 5-D views here)
        _forward_one_dots(gather, dots_, x.reshape(xshape), w.reshape(wshape),
                          no_bias if bias is None else bias, out.reshape(-1), *geo)

    return run


def forward(x, w, bias, out, stride, lo, dilation, nb: int, rb: int, cl: bool = False,
            parts: int = 2, dots: bool = False) -> None:
    """``out = conv(x, w) + bias`` for a 2-D layer, one GEMM per work item (see the module);
    ``cl``: ``x`` and ``out`` channels-last (``(N, 1, H, W, C)``), each block's GEMM then
    written straight into its rows of ``out``. Blocks of whole images run one after another
    from one compiled kernel where numpy's CBLAS can be called from one
    (:func:`_forward_row_blocks`, each block's GEMM in up to ``parts`` runs of rows).
    ``dots``: one image's pass as dot products (:func:`_forward_one_dots`), the plan's
    choice."""
    N = x.shape[0]
    K, C, _, kh, kw = w.shape
    Ho, Wo = (out.shape[2], out.shape[3]) if cl else (out.shape[3], out.shape[4])
    R = kh * kw * C
    if rb >= Ho and (run := forward_dots_runner(x, w, bias, out, stride, lo, dilation, cl,
                                                dots)) is not None:
        run(x, w, bias, out)  # (dot products: no BLAS to pin, ~3 us a call)
        return
    if N == 1 and rb >= Ho and (gemm := kernel_gemm(out.dtype)) is not None:  # one image
        b = _NO_BIAS[out.dtype.char] if bias is None else bias
        args = (x, w, b, out.reshape(-1), kh, kw, stride[1], stride[2], lo[1], lo[2],
                dilation[1], dilation[2], Ho, Wo, threads.gemm_parts(Ho * Wo, R + 1, K),
                np.bool_(cl))
        with one_blas_thread():
            if few_positions(Ho * Wo, K):
                _forward_one_cm(gemm, *args)
            else:
                prows, im2row = _patch_rows_natives(x)
                pack = _pack_native(w, b, transposed=cl)
                _forward_one(gemm, prows, im2row, pack, *args, small_gemm_cap(out.dtype))
        return
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Wo)
    # [W' | b] (K, R + 1), multiplied transposed: packing the filters in their own row order
    # reads and writes in runs, where packing [W' | b]^T gathered every element (2.1 ms
    # where this takes 0.46 for a (600, 2304) dense-like layer; 344 -> 98 us for (256, 128,
    # 3, 3)); BLAS packs its operand either way (the GEMM within 1% from 64 rows)
    b = _NO_BIAS[out.dtype.char] if bias is None else bias
    parts_ = 2 if K > 1 and K * R >= _SPLIT_PACK else 1
    if (rb >= Ho or nb > 1) and (gemm := kernel_gemm(out.dtype)) is not None:
        wt = _packed_t(w, b)  # ([W' | b]^T: the GEMMs take no transpose)
        nb = max(1, min(nb, N))
        m = nb * Ho * Wo
        rows = _buffer("rows", (m, R + 1), out.dtype)
        res = _buffer("res", (m, K), out.dtype) if not cl else rows
        runs = max(1, min(parts, m // 32))
        with one_blas_thread():
            _forward_row_blocks(gemm, _im2row_native(x, rows), x, wt, out.reshape(-1), rows,
                                res, kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1],
                                dilation[2], Ho, Wo, nb, runs, np.bool_(True), np.bool_(cl),
                                small_gemm_cap(out.dtype))
        return
    wl = _pack_filters_one(w, b, parts_)
    out3 = out.reshape(N, K, Ho * Wo)
    out2 = out.reshape(N * Ho * Wo, K)

    def work(item):
        n0, n1, oh0, oh1 = item
        m = (n1 - n0) * (oh1 - oh0) * Wo
        rows = _buffer("rows", (m, R + 1), out.dtype)
        _im2row(x, rows, n0, n1, oh0, oh1, *geo, True, cl)
        if cl:  # (n, oh, ow) rows of out, contiguous within a block
            r0 = (n0 * Ho + oh0) * Wo
            np.matmul(rows, wl.T, out=out2[r0:r0 + m])
            return
        res = _buffer("res", (m, K), out.dtype)
        np.matmul(rows, wl.T, out=res)
        _rows_to_nchw(res, out3, n0, n1, oh0 * Wo)

    _run(work, image_items(N, Ho, nb, rb))


@njit(cache=True, nogil=True, parallel=True)
def _input_grad_row_blocks(gemm, row2im, gf, wl, dx, bias, drows, gb, kh, kw, sh, sw, lh, lw,
                           dh, dw, Ho, Wo, nb, parts, cl, cap):
    """:func:`input_grad` for blocks of ``nb >= 2`` images, one block after another, each on
    Numba's threads: (channels-first) its output gradient gathered into ``gb`` ``(K, m)``
    in two halves of its images, the GEMM ``drows = G^T @ W'`` in ``parts`` runs of rows
    (``gemm``, single-threaded BLAS each; channels-last ``gf`` is ``G^T`` as it is), and the
    rows added back into ``dx`` in the same halves (``row2im``, :func:`_row2im` as a
    :class:`numbaconv.cpu.native.Native`). Each value is computed by one GEMM or one
    image's adjoint, cut by the shapes only: the same bits at any thread count."""
    N = dx.shape[0]
    K, R = wl.shape[0], wl.shape[1]
    P = Ho * Wo
    bf = gb.reshape(-1)
    ldg = gb.shape[1]
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        m = (n1 - n0) * P
        halves = 2 if n1 - n0 >= 2 else 1
        if cl:
            for i in prange(parts):
                p0, p1 = i * m // parts, (i + 1) * m // parts
                gemm_rows_at(gemm, NO_TRANS, p1 - p0, R, K, gf[(n0 * P + p0) * K:], K, wl, R,
                             0.0, drows[p0:], R, cap)
        else:
            for h in prange(halves):
                a = n0 + h * (n1 - n0) // halves
                b = n0 + (h + 1) * (n1 - n0) // halves
                _gather_rows(gf, bf, N, K, P, n0, a, b)
            for i in prange(parts):
                p0, p1 = i * m // parts, (i + 1) * m // parts
                gemm_rows_at(gemm, TRANS, p1 - p0, R, K, bf[p0:], ldg, wl, R, 0.0, drows[p0:],
                             R, cap)
        for h in prange(halves):
            a = n0 + h * (n1 - n0) // halves
            b = n0 + (h + 1) * (n1 - n0) // halves
            call(row2im, drows[(a - n0) * P:], dx, bias, a, b, kh, kw, sh, sw, lh, lw, dh, dw,
                 Ho, Wo, cl)


_ROW2IM: dict = {}


def _row2im_native(drows, dx, bias):
    """:func:`_row2im` for arrays like these, as :func:`_input_grad_row_blocks` calls it."""
    key = (fingerprint(drows), fingerprint(dx), fingerprint(bias))
    found = _ROW2IM.get(key)
    if found is None:
        found = _ROW2IM[key] = native(_row2im, drows, dx, bias, *(_I0,) * 12, _B0)
    return found


def input_grad(g, w, bias, dx, stride, lo, dilation, nb: int, cl: bool = False,
               parts: int = 2) -> None:
    """``dx = conv_input(g, w) + bias`` for a 2-D layer, blocks of ``nb`` images (``cl``:
    ``g`` and ``dx`` channels-last, a block of ``g`` read as it is). A few blocks (up to
    ``2 * parts``) of two images or more run one after another from one compiled kernel
    where numpy's CBLAS can be called from one (:func:`_input_grad_row_blocks`, each GEMM
    in up to ``parts`` runs)."""
    N = dx.shape[0]
    K, C, _, kh, kw = w.shape
    Ho, Wo = (g.shape[2], g.shape[3]) if cl else (g.shape[3], g.shape[4])
    P = Ho * Wo
    R = kh * kw * C
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Ho, Wo)
    b = np.zeros(C, dx.dtype) if bias is None else bias
    g3 = g.reshape(N, K, P)
    g2 = g.reshape(-1, K)  # (channels-last: its (n, p) rows of K; read only then)
    if N == 1 and (gemm := kernel_gemm(dx.dtype)) is not None:  # one image
        parts = threads.position_parts(P, K, R)
        args = (g2 if cl else g3[0], w, b, dx, *geo)
        if few_positions(P, K) and _weight_tiles_fit(P, R, dx.dtype.itemsize):
            _input_grad_one_tiles(*args, 2, np.bool_(cl))
            return
        with one_blas_thread():
            if few_positions(P, K):
                if P <= DOT_POSITIONS:
                    parts = threads.gemm_parts(P, K, R)  # (its row updates split by columns)
                _input_grad_one_cm(gemm, *args, parts, np.bool_(cl), small_gemm_cap(dx.dtype))
            else:
                drows = _ROWS2D[dx.dtype.char]
                _input_grad_one(gemm, _pack_native(w, b[:0]), _row2im_native(drows, dx, b),
                                *args, parts, np.bool_(cl), small_gemm_cap(dx.dtype))
        return
    wl = np.empty((K, R), dtype=dx.dtype)
    _pack_filters(w, wl)
    # (with more blocks the Python threads keep every core busy on whole blocks, GEMM and
    # adjoint alike: 0.76-1.0x for 6 to 22 blocks of (N, 32, 13, 13) -> 64 in the compiled
    # kernel, where 1 to 4 blocks ran 1.1-1.6x faster in it; Zen 4, two threads)
    if 2 <= nb and -(-N // nb) <= 2 * parts and (gemm := kernel_gemm(dx.dtype)) is not None:
        nb = min(nb, N)
        m = nb * P
        drows = _buffer("rows", (m, R), dx.dtype)
        gb = _buffer("g", (K, m), dx.dtype) if not cl else drows
        with one_blas_thread():
            _input_grad_row_blocks(gemm, _row2im_native(drows, dx, b), g.reshape(-1), wl, dx, b,
                                   drows, gb, *geo, nb, max(1, min(parts, m // 32)),
                                   np.bool_(cl), small_gemm_cap(dx.dtype))
        return

    def work(item):
        n0, n1 = item
        m = (n1 - n0) * P
        drows = _buffer("rows", (m, R), dx.dtype)
        if cl:
            np.matmul(g2[n0 * P:n1 * P], wl, out=drows)
        else:
            if n1 - n0 == 1:
                gb = g3[n0]
            else:
                gb = _buffer("g", (K, m), dx.dtype)
                _gather_block(g3, gb, n0, n1)
            np.matmul(gb.T, wl, out=drows)
        _row2im(drows, dx, b, n0, n1, *geo, cl)

    _run(work, [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)])


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_row_blocks(gemm, im2row, x, gf, acc, rows, gb, kh, kw, sh, sw, lh, lw, dh, dw,
                            Ho, Wo, nb, parts, cl, cap):
    """:func:`weight_grad` with its blocks of ``nb`` images one after another, each on
    Numba's threads: the block's patch rows (``im2row``, :func:`_im2row` as a
    :class:`numbaconv.cpu.native.Native`) in two halves of its images (of a one-image block,
    of its output rows) and, channels-first, its output gradient gathered into ``gb`` ``(K,
    m)``; then ``acc (K, R) += G_block @ rows`` in ``parts`` runs of filters (``gemm``,
    single-threaded BLAS each, the first block's written, the others' added by BLAS's
    ``beta = 1``). Each element of ``acc`` is summed by one GEMM a block, blocks in order:
    the same bits at any thread count."""
    N = x.shape[0]
    K, R = acc.shape[0], acc.shape[1]
    P = Ho * Wo
    af = acc.reshape(-1)
    bf = gb.reshape(-1)
    ldg = gb.shape[1]
    for n0 in range(0, N, nb):
        n1, m, halves = _block_span(n0, nb, N, Ho, Wo)
        for h in prange(halves):
            a, b, r0, r1, q0 = _row_half(h, halves, n0, n1, Ho, Wo)
            call(im2row, x, rows[q0:], a, b, r0, r1, kh, kw, sh, sw, lh, lw, dh, dw, Wo, _B0,
                 cl)
            if not cl and n1 - n0 >= 2:
                _gather_rows(gf, bf, N, K, P, n0, a, b)
        beta = 0.0 if n0 == 0 else 1.0
        for i in prange(parts):
            k0, k1 = i * K // parts, (i + 1) * K // parts
            if cl:
                gemm_rows_at(gemm, TRANS, k1 - k0, R, m, gf[n0 * P * K + k0:], K, rows, R,
                             beta, af[k0 * R:], R, cap)
            elif n1 - n0 == 1:
                gemm_rows_at(gemm, NO_TRANS, k1 - k0, R, m, gf[(n0 * K + k0) * P:], P, rows, R,
                             beta, af[k0 * R:], R, cap)
            else:
                gemm_rows_at(gemm, NO_TRANS, k1 - k0, R, m, bf[k0 * ldg:], ldg, rows, R, beta,
                             af[k0 * R:], R, cap)


def weight_grad(x, g, dw_out, stride, lo, dilation, nb: int, items: int,
                cl: bool = False, parts: int = 2) -> None:
    """``dw_out = sum over images of G_n @ rows_n`` as one reduction over ``N*P`` (2-D layer).

    Blocks of ``nb`` images; ``items`` work items each sum a fixed run of consecutive
    blocks (one GEMM per block, accumulated in block order) and the items' partial sums
    are added in item order: a fixed association whatever the thread count. ``cl``: ``x``
    and ``g`` channels-last, a block of ``g`` read as it is (``G^T``). A few blocks (2 to
    ``2 * parts``) run one after another from one compiled kernel where numpy's CBLAS can
    be called from one (:func:`_weight_grad_row_blocks`, each GEMM in up to ``parts`` runs
    of filters).
    """
    N = x.shape[0]
    K, C, _, kh, kw = dw_out.shape
    Ho, Wo = (g.shape[2], g.shape[3]) if cl else (g.shape[3], g.shape[4])
    P = Ho * Wo
    R = kh * kw * C
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Wo)
    g3 = g.reshape(N, K, P)
    g2 = g.reshape(-1, K)  # (channels-last: its (n, p) rows of K; read only then)
    if N == 1 and _weight_grad_one_image(x, g2 if cl else g3[0], dw_out, geo[:8], Ho, Wo, cl):
        return
    # (one block stays on the calling thread: 0.84x in the kernel for (16, 64, 5, 5) -> 128,
    # where 2 and 4 blocks ran 1.1x and 1.5x faster in it; Zen 4, two threads)
    if 1 < -(-N // nb) <= 2 * parts and (gemm := kernel_gemm(x.dtype)) is not None:
        rows = _buffer("rows", (nb * P, R), x.dtype)
        gb = _buffer("g", (K, nb * P), x.dtype) if not cl and nb >= 2 else rows
        acc = np.empty((K, R), dw_out.dtype)
        with one_blas_thread():
            _weight_grad_row_blocks(gemm, _im2row_native(x, rows), x, g.reshape(-1), acc, rows,
                                    gb, *geo[:8], Ho, Wo, nb, max(1, min(parts, K // 8)),
                                    np.bool_(cl), small_gemm_cap(x.dtype))
        _unpack_filters(acc, dw_out)
        return
    blocks = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    items = max(1, min(items, len(blocks)))
    runs = [blocks[i * len(blocks) // items:(i + 1) * len(blocks) // items] for i in range(items)]
    sums = [np.empty((K, R), dw_out.dtype) for _ in range(items)]

    def work(i):
        acc = sums[i]
        for j, (n0, n1) in enumerate(runs[i]):
            m = (n1 - n0) * P
            rows = _buffer("rows", (m, R), x.dtype)
            _im2row(x, rows, n0, n1, 0, Ho, *geo, False, cl)
            if cl:
                gb = g2[n0 * P:n1 * P].T
            elif n1 - n0 == 1:
                gb = g3[n0]
            else:
                gb = _buffer("g", (K, m), x.dtype)
                _gather_block(g3, gb, n0, n1)
            if j == 0:
                np.matmul(gb, rows, out=acc)
            else:
                part = _buffer("part", (K, R), x.dtype)
                np.matmul(gb, rows, out=part)
                _add_into(acc, part)

    _run(work, list(range(items)))
    total = sums[0]
    for p in sums[1:]:
        _add_into(total, p)
    _unpack_filters(total, dw_out)


# --------------------------------------------------- channel-major im2col, batched GEMMs
# For thin layers (few input channels) on bigger maps the patch matrix is better built
# channel-major (rows of Wo contiguous outputs, as numbaconv.cpu.conv's im2col) and each
# image's GEMM writes its (K, P) output straight into ``out``; numpy's stacked matmul runs a
# block's per-image GEMMs in one call.


@njit(cache=True, nogil=True)
def _im2col_blocks(x, cols, n0, n1, oh0, oh1, s_img, s_row, kh, kw, sh, sw, lh, lw, dh, dw,
                   Wo, ones, W, Wq):
    """``cols[(n - n0)*s_img + r*s_row + (oh - oh0)*Wo + ow]`` (flat) = patch element
    ``r = (c*kh + th)*kw + tw`` of image ``n`` at output ``(oh, ow)`` (zero outside the
    image), for images ``[n0, n1)`` and output rows ``[oh0, oh1)``; with ``ones`` row
    ``R`` is all ones. ``W`` is the input's width; with ``Wq > 0``, ``x`` is the input split
    into column phases (:func:`_phase_split`), so every run copied is contiguous."""
    C, H, Wx = x.shape[1], x.shape[3], x.shape[4]
    R = C * kh * kw
    m = (oh1 - oh0) * Wo
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for n in range(n0, n1):
        ib = (n - n0) * s_img
        for r in range(R):
            tw = r % kw
            th = (r // kw) % kh
            c = r // (kw * kh)
            off = tw * dw - lw
            o0 = 0 if off >= 0 else (-off + sw - 1) // sw
            o1 = min(Wo, (W - 1 - off) // sw + 1) if W - 1 - off >= 0 else 0
            o1 = max(o1, o0)
            rb = ib + r * s_row
            for oh in range(oh0, oh1):
                cb = _U(rb + (oh - oh0) * Wo)
                ih = oh * sh - lh + th * dh
                if ih < 0 or ih >= H or o1 == o0:
                    for ow in range(Wo):
                        cf[cb + _U(ow)] = 0
                    continue
                for ow in range(o0):
                    cf[cb + _U(ow)] = 0
                if Wq > 0:  # the phase of this row's columns, contiguous there
                    col0 = off + o0 * sw
                    xb = _U(((n * C + c) * H + ih) * Wx + (col0 % sw) * Wq + col0 // sw)
                    db = cb + _U(o0)
                    for j in range(o1 - o0):
                        cf[db + _U(j)] = xf[xb + _U(j)]
                    for ow in range(o1, Wo):
                        cf[cb + _U(ow)] = 0
                    continue
                xb = _U(((n * C + c) * H + ih) * Wx + off + o0 * sw)
                db = cb + _U(o0)  # (an unsigned base and index: the loops vectorise)
                if sw == 1:
                    for j in range(o1 - o0):
                        cf[db + _U(j)] = xf[xb + _U(j)]
                else:
                    for j in range(o1 - o0):
                        cf[db + _U(j)] = xf[xb + _U(j * sw)]
                for ow in range(o1, Wo):
                    cf[cb + _U(ow)] = 0
        if ones:
            rb = ib + R * s_row
            for j in range(m):
                cf[_U(rb + j)] = 1


@njit(cache=True, nogil=True, parallel=True)
def _phase_split(x, sw):
    """``x`` (5-D) with each row's columns regrouped by phase: ``xs[..., ih, ph*Wq + j] =
    x[..., ih, j*sw + ph]`` (``Wq = ceil(W / sw)``; zero past the row), so that a strided
    convolution's im2col copies contiguous runs (a 7x7/2 stem's im2col: 0.83 -> 0.37 ms on
    one Zen 3 core, where the strided loads did not vectorise)."""
    N, C, D, H, W = x.shape
    Wq = -(-W // sw)
    xs = np.empty((N, C, D, H, sw * Wq), dtype=x.dtype)
    xf = x.reshape(-1)
    sf = xs.reshape(-1)
    for i in prange(N * C * D * H):
        for ph in range(sw):
            d = _U(i * sw * Wq + ph * Wq)
            for j in range(Wq):
                col = j * sw + ph
                sf[d + _U(j)] = xf[_U(i * W + col)] if col < W else 0
    return xs


def _phases(x, sw: int):
    """``(x or its phase split, W, Wq)`` for :func:`_im2col_blocks`: the split for strides
    above 1."""
    W = x.shape[4]
    if sw > 1:
        return _phase_split(x, sw), W, -(-W // sw)
    return x, W, 0


@njit(cache=True, nogil=True)
def _wide_unit(gemm, gemv, xs, wf, bias, of, n, oh0, oh1, k0, k1, kh, kw, dh, dw, Ho, Wo, last,
               cap):
    """One unit of :func:`_forward_units` for an unpadded stride-1 layer, computed on whole
    input rows: patch row ``r = (c, th, tw)`` of output rows ``[oh0, oh1)`` is then the
    input's run from ``(c, oh0 + th*dh, tw*dw)``, ``(rows - 1) * W + Wo`` elements in one
    copy (an im2col of small maps is otherwise a loop start per output row and tap: three
    quarters of (1, 64, 5, 5) -> 128's time); the GEMM's columns between the output rows
    are the wrapped-around ones the compaction into ``of`` (plus the bias) skips."""
    C, H, Wx = xs.shape[1], xs.shape[3], xs.shape[4]
    R = C * kh * kw
    K = wf.size // R
    kb = k1 - k0
    rows = oh1 - oh0
    m2 = (rows - 1) * Wx + Wo
    xf = xs.reshape(-1)
    if m2 == 1 and gemv != 0:
        _one_position(gemv, xf, wf, bias, of, n, oh0, k0, kb, C, H, Wx, kh, kw, dh, dw,
                      Ho * Wo, K, last)
        return
    cols = np.empty(R * m2, dtype=of.dtype)
    dst = _U(0)
    for c in range(C):  # (nested, not one loop over r: its divisions cost more than a run)
        for th in range(kh):
            row = ((n * C + c) * H + oh0 + th * dh) * Wx
            for tw in range(kw):
                src = _U(row + tw * dw)
                for j in range(m2):
                    cols[dst + _U(j)] = xf[src + _U(j)]
                dst += _U(m2)
    tmp = np.empty(kb * m2, dtype=of.dtype)
    P = Ho * Wo
    if m2 == 1 and gemv != 0:  # one column (either layout): a GEMV
        gemv_at(gemv, ROW_MAJOR, NO_TRANS, kb, R, 1.0, wf[k0 * R:], R, cols, 1, 0.0, tmp, 1)
    else:
        gemm_rows_at(gemm, NO_TRANS, kb, m2, R, wf[k0 * R:], R, cols, m2, 0.0, tmp, m2, cap)
    if last:  # each output row's Wo columns of the (kb, m2) block, transposed, into (N, P, K)
        if bias.size:  # (the sums tmp + b of the channels-first compaction below)
            for k in range(kb):
                b = bias[k0 + k]
                for j in range(m2):
                    tmp[_U(k * m2 + j)] += b
        for i in range(rows):
            transpose_into(tmp, i * Wx, m2, of, (n * P + (oh0 + i) * Wo) * K + k0, K, kb, Wo)
        return
    for k in range(kb):
        for i in range(rows):
            o = _U((n * K + k0 + k) * P + (oh0 + i) * Wo)
            t = _U(k * m2 + i * Wx)
            if bias.size:
                b = bias[k0 + k]
                for ow in range(Wo):
                    of[o + _U(ow)] = tmp[t + _U(ow)] + b
            else:
                for ow in range(Wo):
                    of[o + _U(ow)] = tmp[t + _U(ow)]


@njit(inline="always")
def _one_position(gemv, xf, wf, bias, of, n, oh, k0, kb, C, H, Wx, kh, kw, dh, dw, P, K, last):
    """:func:`_wide_unit` for one output position (a column ``oh`` of width one; a dense
    layer's batch-1 call as a 1x1 convolution): one GEMV straight from the input into
    ``of`` (either layout; the biases first, then added to with ``beta = 1``), the input's
    patch read in place with a 1x1 kernel (channels ``H * Wx`` apart) or gathered. The
    general unit's copy of the patch (a loop set up per element) and its block to compact
    cost more than the GEMV's 2304 x 300 on the Fashion net's fc1 (one thread: 114 us a
    unit against 75 for the GEMV alone, Zen 4)."""
    y0, incy = ((n * P + oh) * K + k0, 1) if last else ((n * K + k0) * P + oh, P)
    beta = 0.0
    if bias.size:
        for k in range(kb):
            of[_U(y0 + k * incy)] = bias[k0 + k]
        beta = 1.0
    base = (n * C * H + oh) * Wx
    if kh == 1 and kw == 1:
        gemv_at(gemv, ROW_MAJOR, NO_TRANS, kb, C, 1.0, wf[k0 * C:], C, xf[base:], H * Wx,
                beta, of[y0:], incy)
        return
    R = C * kh * kw
    cols = np.empty(R, dtype=of.dtype)
    i = 0
    for c in range(C):
        for th in range(kh):
            for tw in range(kw):
                cols[i] = xf[_U(base + (c * H + th * dh) * Wx + tw * dw)]
                i += 1
    gemv_at(gemv, ROW_MAJOR, NO_TRANS, kb, R, 1.0, wf[k0 * R:], R, cols, 1, beta, of[y0:],
            incy)


@njit(cache=True, nogil=True, parallel=True)
def _forward_units(gemm, gemv, im2col, xs, W, Wq, w, bias, of, kh, kw, sh, sw, lh, lw, dh, dw,
                   Ho, Wo, rb, kb, wide, last, cap):
    """``out = conv(x, w) + bias`` (2-D) in units of ``rb`` output rows of one image and
    ``kb`` filters, all on Numba's threads: each unit's channel-major im2col ``(R, m)`` in a
    buffer of its own, its block of ``of`` (flat ``(N, K, P)``) set to the biases, and one
    GEMM ``W[k0:k1] @ cols`` (the filters where they are, ``(K, R)``: nothing packed) adding
    into it. The units follow the shapes only, and each is one GEMM of the same operands
    whichever thread runs it, so the bits are the same at any thread count. ``xs, W, Wq``:
    the input as :func:`_phases` gives it; ``im2col``: :func:`_im2col_blocks` as a
    :class:`numbaconv.cpu.native.Native` (compiled once, not again into each caller).
    ``last``: ``of`` is the channels-last output (flat ``(N, P, K)``): each unit runs the
    same GEMM into a block of its own and writes it transposed (with the biases) into its
    rows of ``of``, so both layouts give the same bits (``cols.T @ W[k0:k1].T``, BLAS
    reading both operands transposed, ran OpenBLAS's slower transposed kernels: (1, 13, 13,
    32) -> 64 57 us against 44 so, Zen 4). (Units of filters let one image's small map use every core where
    rows alone would leave each GEMM a few columns: (1, 64, 5, 5) -> 128.) ``wide``: an
    unpadded stride-1 layer's units by :func:`_wide_unit`."""
    N, K = xs.shape[0], w.shape[0]
    R = w.shape[1] * kh * kw
    P = Ho * Wo
    per = -(-Ho // rb)
    kparts = -(-K // kb)
    wf = w.reshape(-1)
    beta = 1.0 if bias.size else 0.0
    for u in prange(N * per * kparts):
        k0 = (u % kparts) * kb
        k1 = min(K, k0 + kb)
        r = u // kparts
        n = r // per
        oh0 = (r % per) * rb
        oh1 = min(Ho, oh0 + rb)
        m = (oh1 - oh0) * Wo
        if wide:
            _wide_unit(gemm, gemv, xs, wf, bias, of, n, oh0, oh1, k0, k1, kh, kw, dh, dw, Ho,
                       Wo, last, cap)
            continue
        cols = np.empty(R * m, dtype=of.dtype)
        call(im2col, xs, cols, n, n + 1, oh0, oh1, _I0, m, kh, kw, sh, sw, lh, lw, dh, dw, Wo,
             _B0, W, Wq)
        # the block (k0:k1, positions) of the channels-first output, or with ``last`` a
        # block of its own (then written transposed into its rows of ``of``): the biases,
        # then the GEMM adding into them
        if last:
            dst, base, ld = np.empty((k1 - k0) * m, dtype=of.dtype), 0, m
        else:
            dst, base, ld = of, (n * K + k0) * P + oh0 * Wo, P
        if bias.size:
            for k in range(k0, k1):
                b = bias[k]
                for j in range(m):
                    dst[_U(base + (k - k0) * ld + j)] = b
        if m == 1 and gemv != 0:
            gemv_at(gemv, ROW_MAJOR, NO_TRANS, k1 - k0, R, 1.0, wf[k0 * R:], R, cols, 1, beta,
                    dst[base:], ld)
        else:
            gemm_rows_at(gemm, NO_TRANS, k1 - k0, m, R, wf[k0 * R:], R, cols, m, beta,
                         dst[base:], ld, cap)
        if last:
            transpose_into(dst, 0, m, of, (n * P + oh0 * Wo) * K + k0, K, k1 - k0, m)


@njit(cache=True, nogil=True)
def transpose_images(x, dst, R, C):
    """Each image of ``x`` (C-contiguous; its first axis the images) read as an ``(R, C)``
    matrix, written transposed into ``dst``'s image, ``(C, R)``, by :func:`numbaconv.cpu.jit.transpose_into`:
    ``R, C = H*W, channels`` copies channels-last images channels-first, ``R, C =
    channels, H*W`` the other way."""
    N = x.shape[0]
    xf = x.reshape(-1)
    df = dst.reshape(-1)
    for n in range(N):
        transpose_into(xf, n * R * C, C, df, n * R * C, R, R, C)


_IM2COL: dict = {}


def _im2col_native(xs):
    """:func:`_im2col_blocks` for the input ``xs`` and a 1-D buffer, as the compiled kernels
    call it (:func:`numbaconv.cpu.native.native`; looked up by ``xs``'s type alone, the
    other arguments' types being fixed: 0.2 us a call where fingerprinting all twenty took
    3)."""
    key = fingerprint(xs)
    found = _IM2COL.get(key)
    if found is None:
        # (an empty 1-D array of the dtype stands for the buffers: only its type matters)
        found = _IM2COL[key] = native(_im2col_blocks, xs, _NO_BIAS[xs.dtype.char],
                                      *(_I0,) * 15, _B0, _I0, _I0)
    return found


def forward_nchw(x, w, bias, out, stride, lo, dilation, nb: int, rb: int,
                 channels_last: bool = False, kb: int = 0, wide: bool = False) -> None:
    """``out = conv(x, w) + bias`` (2-D): per block, channel-major im2col and each image's
    GEMM ``[W | b] @ cols`` written into ``out`` (blocks of ``nb`` images, or of ``rb``
    output rows of one image); with numpy's CBLAS callable from compiled code, the whole
    pass is one kernel (:func:`_forward_units`, units of ``rb`` rows of one image).

    ``channels_last``: ``x`` and ``out`` are channels-last 5-D arrays; the units read the
    input channels-first (one channel: the same memory; more: a copy transposed in a
    buffer, :func:`transpose_images`, ``N*H*W*C`` elements where the patches the units
    copy from it are ``kh*kw`` times as many) and each unit writes its block of the
    channels-last output transposed (the compiled path only:
    :func:`numbaconv.cpu.conv_plan._route_cl` offers it where ``kernel_gemm`` exists)."""
    N = x.shape[0]
    K, C, _, kh, kw = w.shape
    if channels_last:
        if C == 1:
            x = x.reshape(N, 1, *x.shape[1:4])  # (N, D, H, W, 1): the same memory
        else:
            xc = _buffer("channels-first", (N, C, *x.shape[1:4]), x.dtype)
            transpose_images(x, xc, x.size // (N * C), C)
            x = xc
        Ho, Wo = out.shape[2], out.shape[3]
    else:
        Ho, Wo = out.shape[3], out.shape[4]
    R = C * kh * kw
    gemm = kernel_gemm(out.dtype)
    if gemm is not None:
        b = _NO_BIAS[out.dtype.char] if bias is None else bias
        xs, W, Wq = _phases(x, stride[2])
        with one_blas_thread():
            gemv = kernel_gemv(out.dtype)
            gemv = type(gemm)(0) if gemv is None else gemv
            _forward_units(gemm, gemv, _im2col_native(xs), xs, W, Wq, w, b, out.reshape(-1), kh,
                           kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2],
                           Ho, Wo, max(1, min(rb or Ho, Ho)), max(1, min(kb or K, K)), wide,
                           channels_last, small_gemm_cap(out.dtype))
        return
    if channels_last:
        raise ValueError("the channels-last channel-major GEMM needs numpy's CBLAS")
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Wo)
    xs, W, Wq = _phases(x, stride[2])
    wa = np.empty((K, R + 1), dtype=out.dtype)
    wa[:, :R] = w.reshape(K, R)
    wa[:, R] = 0 if bias is None else bias
    out3 = out.reshape(N, K, Ho * Wo)

    def work(item):
        n0, n1, oh0, oh1 = item
        m = (oh1 - oh0) * Wo
        cols = _buffer("cols", ((n1 - n0), R + 1, m), out.dtype)
        _im2col_blocks(xs, cols, n0, n1, oh0, oh1, (R + 1) * m, m, *geo, True, W, Wq)
        np.matmul(wa, cols, out=out3[n0:n1, :, oh0 * Wo:oh1 * Wo])

    _run(work, image_items(N, Ho, nb, rb))


def forward_nchw_runner(x, w, bias, out, stride, lo, dilation, rb: int, kb: int = 0,
                        wide: bool = False, channels_last: bool = False):
    """:func:`forward_nchw`'s compiled path with all but the arrays looked up once: a callable
    ``run(x, w, bias, out)`` for arrays of these sizes (reshaped to these 5-D views) and
    Numba types (``bias`` None or not, as here), or None where :func:`forward_nchw` must
    run itself (no compiled BLAS; strides along W split the input into phases a call). A
    batch-1 layer's call spent ~4 us finding BLAS, the im2col entry point and the GEMM cap
    again each time; ``run`` checks the input's type (the entry point's) and pins BLAS,
    nothing more (``channels_last``: and copies an input of several channels transposed,
    :func:`transpose_images`)."""
    gemm = kernel_gemm(out.dtype)
    if gemm is None or stride[2] != 1:
        return None
    gemv = kernel_gemv(out.dtype)
    gemv = type(gemm)(0) if gemv is None else gemv
    K, C, _, kh, kw = w.shape
    N = x.shape[0]
    if channels_last:
        H, W = x.shape[2], x.shape[3]
        Ho, Wo = out.shape[2], out.shape[3]
    else:
        H, W = x.shape[3], x.shape[4]
        Ho, Wo = out.shape[3], out.shape[4]
    no_bias = _NO_BIAS[out.dtype.char]
    kind = fingerprint(x)
    im2col = _im2col_native(x)
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Ho, Wo,
           max(1, min(rb or Ho, Ho)), max(1, min(kb or K, K)), wide, channels_last,
           small_gemm_cap(out.dtype))

    xshape, wshape, yshape = x.shape, w.shape, out.shape
    if (N == 1 and H == W == Ho == Wo == kh == kw == 1 and w.shape[2] == 1
            and x.shape[1 if channels_last else 2] == 1):
        return _dense_runner(x, w, out, C, K, kind, functools.partial(
            forward_nchw, stride=stride, lo=lo, dilation=dilation, nb=1, rb=rb,
            channels_last=channels_last, kb=kb, wide=wide))
    cf_shape = (N, C, 1, H, W)
    pin = not _small_units(K, C * kh * kw, Ho, Wo, W, geo[10], geo[11], wide, geo[14])

    def run(x, w, bias, out):  # (arrays of the call's own shapes: the 5-D views here)
        x, w, out = x.reshape(xshape), w.reshape(wshape), out.reshape(yshape)
        if fingerprint(x) != kind:  # (another layout or a read-only input: its own path)
            forward_nchw(x, w, bias, out, stride, lo, dilation, 1, rb, channels_last, kb, wide)
            return
        if channels_last:
            if C == 1:
                x = x.reshape(cf_shape)
            else:
                xc = _buffer("channels-first", cf_shape, x.dtype)
                transpose_images(x, xc, H * W, C)
                x = xc
        args = (gemm, gemv, im2col, x, W, 0, w, no_bias if bias is None else bias,
                out.reshape(-1), *geo)
        if pin:
            with one_blas_thread():
                _forward_units(*args)
        else:
            _forward_units(*args)

    return run


@njit(cache=True, nogil=True, parallel=True)
def _filter_dots_parallel(wf, rf, R, of, bias, parts):
    """:func:`_position_dots` (one position, ``rf`` its ``R`` inputs) for every filter, in
    ``parts`` runs of filters on Numba's threads (each filter's sum its own: the same bits
    for any split)."""
    K = of.size
    for i in prange(parts):
        _position_dots(wf, i * K // parts, (i + 1) * K // parts, rf, R, of, bias)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _position_dots(wf, k0, k1, rf, R, of, bias):
    """``of[k] = bias[k] + sum_r wf[k*R + r] * rf[r]`` for ``k0 <= k < k1``: one position's
    dot products (:func:`_filter_dots` with ``P = 1``), eight filters at a time sharing
    each input load (vectorised sums: the association is fixed at compile time). The
    filters stream from memory once; eight streams kept the Fashion net's fc1 (600 x 2304
    float32, 5.5 MB from the L3 cache) at 37 us on two Zen 4 cores where four took 42
    (500 x 1200: 17.9 against 23.6)."""
    zero = of.dtype.type(0)
    k = k0
    while k + 8 <= k1:
        w0, r1 = _U(k * R), _U(R)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
        for r in range(R):
            u = _U(r)
            v = rf[u]
            s0 += wf[w0 + u] * v
            s1 += wf[w0 + r1 + u] * v
            s2 += wf[w0 + _U(2) * r1 + u] * v
            s3 += wf[w0 + _U(3) * r1 + u] * v
            s4 += wf[w0 + _U(4) * r1 + u] * v
            s5 += wf[w0 + _U(5) * r1 + u] * v
            s6 += wf[w0 + _U(6) * r1 + u] * v
            s7 += wf[w0 + _U(7) * r1 + u] * v
        for j, sj in enumerate((s0, s1, s2, s3, s4, s5, s6, s7)):
            of[_U(k + j)] = (bias[k + j] if bias.size else zero) + sj
        k += 8
    while k < k1:
        w0 = _U(k * R)
        s0 = zero
        for r in range(R):
            s0 += wf[w0 + _U(r)] * rf[_U(r)]
        of[_U(k)] = (bias[k] if bias.size else zero) + s0
        k += 1


def _dense_runner(x, w, out, C: int, K: int, kind, general):
    """The run of a one-position 1x1 layer of one image (a dense layer as a convolution,
    the course notes' batch-1 inference): the filters' dot products with the input
    (:func:`_position_dots`, eight filters at a time; no BLAS call, so no pin of BLAS
    around it), split by filters on Numba's threads. The units' GEMV per block of filters
    inside a pin of BLAS to one thread took 49.3-50.1 us for the Fashion net's 2304 -> 600
    layer, four filters at a time 42, eight 37 (numpy's two-thread GEMV 39.9; Zen 4).
    Either layout: one position's channels are contiguous in both.
    ``general(x, w, bias, out)`` runs an input of another Numba type (``kind``: the
    fingerprint of this one's)."""
    xshape, wshape = x.shape, w.shape
    no_bias = _NO_BIAS[out.dtype.char]
    parts = threads.gemm_parts(1, C + 1, K)

    def run(x, w, bias, out):
        x, w = x.reshape(xshape), w.reshape(wshape)
        if fingerprint(x) != kind:
            general(x, w, bias, out)
            return
        b = no_bias if bias is None else bias
        if parts > 1:
            _filter_dots_parallel(w.reshape(-1), x.reshape(-1), C, out.reshape(-1), b, parts)
        else:
            _position_dots(w.reshape(-1), _I0, np.int64(K), x.reshape(-1), np.int64(C),
                           out.reshape(-1), b)

    return run


def _small_units(K: int, R: int, Ho: int, Wo: int, W: int, rb: int, kb: int, wide: bool,
                 cap: int) -> bool:
    """Whether every GEMM of :func:`_forward_units`' channels-first units (``rb`` output rows,
    ``kb`` filters; ``wide``: over whole input rows of width ``W``) runs through the BLAS's
    small-matrix kernels (each at most ``cap`` multiply-adds, :func:`gemm_rows_at`'s row
    blocks included), which compute on the calling thread: such a call needs no pin of the
    BLAS's thread count (1.9 us of a batch-1 layer's call). A one-column unit runs a GEMV,
    which OpenBLAS threads above 9,216 elements: not counted as small."""
    if cap <= 0:
        return False
    m_max = (rb - 1) * W + Wo if wide else rb * Wo
    last_rows = Ho - (-(-Ho // rb) - 1) * rb
    m_min = (last_rows - 1) * W + Wo if wide else last_rows * Wo
    if m_min <= 1:
        return False
    return kb * m_max * R <= cap or (cap // (m_max * R)) // 8 * 8 >= 8


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_units(gemm, im2col, xs, W, Wq, g, dwo, kh, kw, sh, sw, lh, lw, dh, dw, Ho, Wo,
                       rb, parts):
    """``dW = sum over units of G_u @ cols_u^T`` (2-D, computed transposed) on Numba's
    threads: units of ``rb``
    output rows of one image (as :func:`_forward_units`), ``parts`` fixed runs of them, each
    run summed in order by its GEMMs (``beta = 1`` after the first, reading ``G`` where it
    is), the runs' sums then added in order into ``dwo`` (flat ``(K, R)``). Units and runs
    follow the shapes only, so the bits are the same at any thread count. ``xs, W, Wq``: the
    input as :func:`_phases` gives it; ``im2col`` as in :func:`_forward_units`."""
    N, K = xs.shape[0], g.shape[1]
    R = xs.shape[1] * kh * kw
    P = Ho * Wo
    per = -(-Ho // rb)
    units = N * per
    gf = g.reshape(-1)
    acc = np.empty((parts, K * R), dtype=dwo.dtype)
    for i in prange(parts):
        cols = np.empty(R * rb * Wo, dtype=dwo.dtype)
        u0, u1 = i * units // parts, (i + 1) * units // parts
        for u in range(u0, u1):
            n = u // per
            oh0 = (u % per) * rb
            oh1 = min(Ho, oh0 + rb)
            m = (oh1 - oh0) * Wo
            call(im2col, xs, cols, n, n + 1, oh0, oh1, _I0, m, kh, kw, sh, sw, lh, lw, dh, dw,
                 Wo, _B0, W, Wq)
            # dW^T = cols @ G^T: OpenBLAS ran this orientation 1.01-1.25x faster than G @
            # cols^T on every layer measured (one thread, Zen 4: the 7x7/2 stem 1.38 against
            # 1.60 ms for half of it, (32, 32, 13, 13) -> 64 1.57 against 1.92)
            gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, R, K, m, 1.0, cols, m,
                    gf[(n * K) * P + oh0 * Wo:], P, 0.0 if u == u0 else 1.0, acc[i], K)
        if u1 == u0:
            acc[i, :] = 0
    for k in range(K):
        for r in range(R):
            v = acc[0, r * K + k]
            for i in range(1, parts):
                v += acc[i, r * K + k]
            dwo[k * R + r] = v


def weight_grad_nchw(x, g, dw_out, stride, lo, dilation, nb: int, items: int,
                     rb: int = 0) -> None:
    """``dw_out = sum over blocks of G_b @ cols_b^T`` (2-D), channel-major im2col of ``nb``
    images a block (image-major columns), one GEMM a block; fixed runs of blocks per work
    item, partial sums added in item order. With numpy's CBLAS callable from compiled code,
    one kernel (:func:`_weight_grad_units`: units of ``rb`` output rows, ``items`` runs)."""
    N = x.shape[0]
    K, C, _, kh, kw = dw_out.shape
    Ho, Wo = g.shape[3], g.shape[4]
    P = Ho * Wo
    R = C * kh * kw
    geo = (kh, kw, stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2], Wo)
    gemm = kernel_gemm(x.dtype)
    if threads.weight_grad_units(R, gemm is not None):
        rb = max(1, min(Ho, rb or Ho))
        units = N * -(-Ho // rb)
        xs, W, Wq = _phases(x, stride[2])
        with one_blas_thread():
            _weight_grad_units(gemm, _im2col_native(xs), xs, W, Wq, g, dw_out.reshape(-1), kh, kw,
                               stride[1], stride[2], lo[1], lo[2], dilation[1], dilation[2],
                               Ho, Wo, rb, max(1, min(items, units)))
        return
    g3 = g.reshape(N, K, P)
    if N == 1 and _weight_grad_one_image(x, g3[0], dw_out, geo[:8], Ho, Wo):
        return
    xs, W, Wq = _phases(x, stride[2])
    blocks = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    items = max(1, min(items, len(blocks)))
    runs = [blocks[i * len(blocks) // items:(i + 1) * len(blocks) // items] for i in range(items)]
    parts = [dw_out.reshape(K, R)] + [np.empty((K, R), dw_out.dtype) for _ in range(items - 1)]

    def work(i):
        acc = parts[i]
        for j, (n0, n1) in enumerate(runs[i]):
            m = (n1 - n0) * P
            cols = _buffer("cols", (R, m), x.dtype)
            _im2col_blocks(xs, cols, n0, n1, 0, Ho, P, m, *geo, False, W, Wq)
            if n1 - n0 == 1:
                gb = g3[n0]
            else:
                gb = _buffer("g", (K, m), x.dtype)
                _gather_block(g3, gb, n0, n1)
            if j == 0:
                np.matmul(gb, cols.T, out=acc)
            else:
                part = _buffer("part", (K, R), x.dtype)
                np.matmul(gb, cols.T, out=part)
                _add_into(acc, part)

    _run(work, list(range(items)))
    for p in parts[1:]:
        _add_into(parts[0], p)


# ----------------------------------------------------------------------------- bias gradient


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _bias_grad_rows(g, db, k0, k1):
    """``db[k] = sum(g[:, k, :])`` for ``k`` in ``[k0, k1)``, float64: one vectorised
    reduction along each channel's rows (``reassoc`` lets LLVM keep vector partial sums; the
    association is fixed when the kernel is compiled, so it never depends on the thread
    count)."""
    N, K, S = g.shape
    gf = g.reshape(-1)
    for k in range(k0, k1):
        s = 0.0
        for n in range(N):
            b = _U((n * K + k) * S)
            for j in range(S):
                s += np.float64(gf[b + _U(j)])
        db[k] = s


@njit(cache=True, nogil=True)
def _bias_grad_short(g, db):
    """``db[k] = sum(g[:, k, :])`` for short rows: each image's ``(K, S)`` slab is added
    element-wise into float64 sums (one long vectorised run per image), then each channel's
    ``S`` sums are added in order."""
    N, K, S = g.shape
    gf = g.reshape(-1)
    L = K * S
    acc = np.zeros(L, dtype=np.float64)
    for n in range(N):
        b = _U(n * L)
        for q in range(L):
            acc[q] += np.float64(gf[b + _U(q)])
    for k in range(K):
        s = 0.0
        for j in range(S):
            s += acc[k * S + j]
        db[k] = s


#: elements of ``g`` below which the bias gradient runs on the calling thread; rows shorter
#: than ``_BIAS_SHORT`` use :func:`_bias_grad_short`
_BIAS_SERIAL = 1 << 19
_BIAS_SHORT = 64
_BIAS_ITEMS = 8


def bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]`` (``g`` is ``(N, K, positions)``), float64 accumulation."""
    K, S = g.shape[1], g.shape[2]
    if S < _BIAS_SHORT:
        _bias_grad_short(g, db)
    elif g.size <= _BIAS_SERIAL or K < 2:
        _bias_grad_rows(g, db, 0, K)
    else:
        _bias_grad_rows_parallel(g, db, min(K, _BIAS_ITEMS))


@njit(cache=True, nogil=True, parallel=True)
def _bias_grad_rows_parallel(g, db, parts):
    """:func:`_bias_grad_rows` over the channels in ``parts`` fixed runs on Numba's threads
    (each channel's sum is one run's: the same bits). (64, 32, 26, 26) on two Python
    threads 156 us, on Numba's 64 (Zen 4)."""
    K = g.shape[1]
    for p in prange(parts):
        _bias_grad_rows(g, db, p * K // parts, (p + 1) * K // parts)


# ------------------------------------------------------ per-tap GEMMs that skip the padding
# On a tiny padded map most (position, tap) pairs read padding: a 3x3 map with padding 1
# has 49 of its 81 pairs inside the image. Per tap ``t`` the outputs whose input lies in
# the image form a rectangle; their rows of a channels-last copy of the input are gathered
# and multiplied by that tap's filters, so the padding is never multiplied.


@njit(cache=True, nogil=True)
def _to_rows(x, xr, n0, n1):
    """``xr[(n - n0)*H*W + i, c] = x[n, c, i]`` (an image block's planes channels-last)."""
    C = x.shape[1]
    S = x.shape[2] * x.shape[3] * x.shape[4]
    xf = x.reshape(-1)
    rf = xr.reshape(-1)
    for n in range(n0, n1):
        db = _U((n - n0) * S * C)
        c = 0
        while c + 4 <= C:  # four channels a pass: four load streams, adjacent stores
            s0 = _U((n * C + c) * S)
            for i in range(S):
                d = db + _U(i * C + c)
                rf[d] = xf[s0 + _U(i)]
                rf[d + _U(1)] = xf[s0 + _U(S + i)]
                rf[d + _U(2)] = xf[s0 + _U(2 * S + i)]
                rf[d + _U(3)] = xf[s0 + _U(3 * S + i)]
            c += 4
        while c < C:
            s0 = _U((n * C + c) * S)
            for i in range(S):
                rf[db + _U(i * C + c)] = xf[s0 + _U(i)]
            c += 1


@njit(cache=True, nogil=True)
def _tap_rows(src, dst, nimg, S_in, P, rect, mode, first):
    """Move rows between channels-last matrices for one tap: for every image ``i < nimg``
    and output ``(oh, ow)`` of ``rect = (oh0, oh1, ow0, ow1, sh, sw, ih0, iw0, W_in, Wo)``
    in order, with input row ``(oh*sh + ih0)*W_in + ow*sw + iw0`` of ``S_in`` per image and
    output row ``oh*Wo + ow`` of ``P`` per image: ``mode`` 0 copies input rows of ``src``
    into consecutive rows of ``dst``, 1 adds consecutive rows of ``src`` onto output rows
    of ``dst``, 2 adds them onto input rows, 3 copies output rows into consecutive rows.
    The rows copied from (modes 0 and 3) are those of image ``first + i`` of ``src``."""
    oh0, oh1, ow0, ow1 = rect[0], rect[1], rect[2], rect[3]
    sh, sw, ih0, iw0, W_in, Wo = rect[4], rect[5], rect[6], rect[7], rect[8], rect[9]
    L = src.shape[1]
    sf = src.reshape(-1)
    df = dst.reshape(-1)
    q = 0
    for i in range(nimg):
        i_in = i + first if mode == 0 else i
        i_out = i + first if mode == 3 else i
        for oh in range(oh0, oh1):
            for ow in range(ow0, ow1):
                r_in = i_in * S_in + (oh * sh + ih0) * W_in + ow * sw + iw0
                r_out = i_out * P + oh * Wo + ow
                if mode == 0:
                    s, d = r_in, q
                elif mode == 1:
                    s, d = q, r_out
                elif mode == 2:
                    s, d = q, r_in
                else:
                    s, d = r_out, q
                sb = _U(s * L)
                db = _U(d * L)
                if mode == 1 or mode == 2:
                    for j in range(L):
                        df[db + _U(j)] += sf[sb + _U(j)]
                else:
                    for j in range(L):
                        df[db + _U(j)] = sf[sb + _U(j)]
                q += 1


def tap_rects(H, W, Ho, Wo, kh, kw, stride, lo, dilation):
    """``(t, rect)`` per tap ``t = th*kw + tw`` that reads the image at all: the rectangle of
    outputs whose input lies inside the image (see :func:`_tap_rows`)."""
    return _tap_plan(H, W, Ho, Wo, kh, kw, tuple(stride), tuple(lo), tuple(dilation))[0]


def tap_table(H, W, Ho, Wo, kh, kw, stride, lo, dilation) -> np.ndarray:
    """:func:`tap_rects` as the compiled kernels take it: rows ``(t, *rect)`` (int64; shared
    between calls, never written)."""
    return _tap_plan(H, W, Ho, Wo, kh, kw, tuple(stride), tuple(lo), tuple(dilation))[1]


@functools.lru_cache(maxsize=256)
def _tap_plan(H, W, Ho, Wo, kh, kw, stride, lo, dilation):
    """``(rects, table)`` of :func:`tap_rects` and :func:`tap_table`, built once per shape
    (20 us of Python a call, a tenth of a (16, 128, 3, 3) layer's)."""
    sh, sw = stride[1], stride[2]
    lh, lw = lo[1], lo[2]
    dh, dw = dilation[1], dilation[2]
    rects = []
    for th in range(kh):
        oh = [o for o in range(Ho) if 0 <= o * sh - lh + th * dh < H]
        for tw in range(kw):
            ow = [o for o in range(Wo) if 0 <= o * sw - lw + tw * dw < W]
            if oh and ow:
                rects.append((th * kw + tw, np.array(
                    [oh[0], oh[-1] + 1, ow[0], ow[-1] + 1, sh, sw, th * dh - lh, tw * dw - lw,
                     W, Wo], np.int64)))
    table = np.array([[t, *rect] for t, rect in rects], np.int64).reshape(len(rects), 11)
    return tuple(rects), table


def _rect_rows(rect) -> int:
    return int((rect[1] - rect[0]) * (rect[3] - rect[2]))


#: :func:`_tap_rows`' modes as one kernel passes them to another (``int64`` values, not
#: literals: a literal argument compiles a specialisation of its own)
_TAKE_IN, _ADD_OUT, _ADD_IN, _TAKE_OUT = (np.int64(m) for m in range(4))


@njit(cache=True, nogil=True)
def _tap_weights(w, dst, by_channel):
    """Each tap's filter matrix: ``dst[t, c, k] = w[k, c, t]`` (``by_channel``: the forward's
    ``C x K``), else ``dst[t, k, c]`` (the input gradient's ``K x C``); ``w`` ``(K, C, 1, kh,
    kw)`` (:func:`_tap_weights_span` over every row)."""
    _tap_weights_span(w, dst, by_channel, _I0, w.shape[1] if by_channel else w.shape[0], _I0)


@njit(cache=True, nogil=True, parallel=True)
def _tap_weights_parallel(w, dst, by_channel):
    """:func:`_tap_weights` in two halves on Numba's threads (a copy: the same bits)."""
    outer = w.shape[1] if by_channel else w.shape[0]
    for h in prange(2):
        _tap_weights_span(w, dst, by_channel, h * outer // 2, (h + 1) * outer // 2, _I0)


@njit(cache=True, nogil=True)
def _tap_weights_span(w, dst, by_channel, i0, i1, j0):
    """:func:`_tap_weights` for the channels (``by_channel``) or filters ``i0 <= i < i1``, and
    of the filters (channels) the ``dst.shape[-1]`` from ``j0`` on (``dst[t, i, j - j0]``).
    Per channel (per filter) the ``T`` rows of ``K`` (of ``C``) it fills are gathered in a
    small buffer first, then stored as runs: stored straight, the ``T`` store streams one
    ``C x K`` plane apart (64 KiB for 128 x 128) fell into one L1 set, 306 us for 128 x 128
    3x3 filters (numpy's transposing copy 96)."""
    K, C = w.shape[0], w.shape[1]
    T = w.size // max(1, K * C)
    wf = w.reshape(-1)
    df = dst.reshape(-1)
    outer = C if by_channel else K
    inner = dst.shape[-1]
    if T == 1:  # (one store stream: straight, no buffer; twice as fast for a 1x1 layer)
        for i in range(i0, i1):
            for j in range(inner):
                k, c = (j0 + j, i) if by_channel else (i, j0 + j)
                df[_U(i * inner + j)] = wf[_U(k * C + c)]
        return
    buf = np.empty(T * inner, dst.dtype)
    for i in range(i0, i1):
        for j in range(inner):
            k, c = (j0 + j, i) if by_channel else (i, j0 + j)
            src = _U((k * C + c) * T)
            for t in range(T):
                buf[t * inner + j] = wf[src + _U(t)]
        for t in range(T):  # row (t, i) of dst
            d = _U((t * outer + i) * inner)
            for j in range(inner):
                df[d + _U(j)] = buf[t * inner + j]


#: filters (elements) from which :func:`_taps_compiled` transposes them on the threads: a
#: (128, 128, 3, 3) layer's 65 us on one Zen 4 thread was a fifth of its padded 3x3 forward
TAP_WEIGHTS_PARALLEL = 1 << 15


@njit(cache=True, nogil=True)
def _taps_blocks(gemm, src, w, wt, brow, dst, rects, nb, parts, forward, cap, cl, i0, i1):
    """:func:`forward_taps` (``forward``: ``src`` the input, ``dst`` the output, ``wt`` the
    taps' ``C x K`` filters) or :func:`input_grad_taps` (``src`` the output gradient,
    ``dst`` the input gradient, ``wt`` the taps' ``K x C``) in blocks of ``nb`` images, each
    block's outputs in ``parts`` ranges of output channels, on Numba's threads, each
    (block, range) whole on one: its planes as rows (channels-last), per tap the rows of its
    rectangle (``rects[i] = (t, *rect)``, :func:`tap_rects`) gathered, one GEMM (under the
    small-GEMM ``cap``), the result added onto the rows it belongs to (the bias first, taps
    in order), the rows back into planes. With ``parts > 1`` each range transposes its own
    columns of the filters ``w`` (``wt`` unused): read by the thread that wrote them, where
    the shared transpose was read from the other core's cache. ``cl``: ``src`` and ``dst``
    channels-last, ``(N, 1, H, W, C)``, their rows read and written where they are. The
    blocks and ranges follow the shapes only: the same bits at any thread count. The work
    items ``i0 <= item < i1`` of ``ceil(N / nb) * parts``: a run of
    :func:`numbaconv.cpu.native.team_runs` (as a ``prange`` loop of its own, this kernel's
    body compiled again as the loop's gufunc: 15 s of a cold compile against 5, Zen 3)."""
    N = src.shape[0]
    L_in, L_out = (src.shape[4], dst.shape[4]) if cl else (src.shape[1], dst.shape[1])
    T = w.shape[2] * w.shape[3] * w.shape[4]
    S_src = src.size // max(1, N * L_in)
    S_dst = dst.size // max(1, N * L_out)
    P, S = (S_dst, S_src) if forward else (S_src, S_dst)
    df = dst.reshape(-1)
    for item in range(i0, i1):
        b, j = item // parts, item % parts
        l0 = j * L_out // parts
        ln = (j + 1) * L_out // parts - l0
        n0 = b * nb
        n1 = min(N, n0 + nb)
        nimg = n1 - n0
        if parts > 1:
            wv = np.empty((T, L_in, ln), dst.dtype)
            _tap_weights_span(w, wv, forward, _I0, L_in, l0)
        else:
            wv = wt
        if cl:  # (the input's own rows, from image n0 on)
            rows = src.reshape(N * S_src, L_in)
            first = n0
        else:
            rows = np.empty((nimg * S_src, L_in), dst.dtype)
            _to_rows(src, rows, n0, n1)
            first = 0
        acc = np.empty((nimg * S_dst, ln), dst.dtype)
        for r in range(nimg * S_dst):
            for q in range(ln):
                acc[r, q] = brow[l0 + q]
        taken = np.empty((nimg * P, L_in), dst.dtype)
        part = np.empty((nimg * P, ln), dst.dtype)
        for i in range(rects.shape[0]):
            rect = rects[i, 1:]
            m = nimg * (rect[1] - rect[0]) * (rect[3] - rect[2])
            _tap_rows(rows, taken, nimg, S, P, rect, _TAKE_IN if forward else _TAKE_OUT,
                      first)
            gemm_rows_at(gemm, NO_TRANS, m, ln, L_in, taken, L_in, wv[rects[i, 0]], ln, 0.0,
                         part, ln, cap)
            _tap_rows(part, acc, nimg, S, P, rect, _ADD_OUT if forward else _ADD_IN, _I0)
        if cl:  # the rows into the output's rows
            for r in range(nimg * S_dst):
                db = _U((n0 * S_dst + r) * L_out + l0)
                for q in range(ln):
                    df[db + _U(q)] = acc[r, q]
        else:
            for n in range(n0, n1):  # the rows back into planes
                for q in range(ln):
                    db = _U((n * L_out + l0 + q) * S_dst)
                    sb = (n - n0) * S_dst
                    for p in range(S_dst):
                        df[db + _U(p)] = acc[sb + p, q]


def _taps_compiled(src, w, bias, dst, table, nb: int, forward: bool, parts: int,
                   cl: bool = False) -> bool:
    """:func:`_taps_blocks` for ``forward_taps`` / ``input_grad_taps`` (False where no
    compiled BLAS is callable: the Python-thread path runs; ``cl``: channels-last arrays)."""
    gemm = kernel_gemm(dst.dtype)
    if gemm is None:
        return False
    K, C, _, kh, kw = w.shape
    parts = max(1, min(parts, K if forward else C))
    if parts > 1:
        wt = _buffer("tap-weights", (1, 1, 1), dst.dtype)  # (unused: each range its own)
    else:
        # (a reused buffer: fresh, its pages faulted in on every call, 590 KB for 128 x 128 3x3)
        wt = _buffer("tap-weights", (kh * kw, C, K) if forward else (kh * kw, K, C), dst.dtype)
        if w.size >= TAP_WEIGHTS_PARALLEL and threads.num_threads() > 1:
            _tap_weights_parallel(w, wt, np.bool_(forward))
        else:
            _tap_weights(w, wt, np.bool_(forward))
    n = C if not forward else K
    brow = np.zeros(n, dst.dtype) if bias is None else bias
    nb = max(1, nb)
    items = -(-src.shape[0] // nb) * parts
    with one_blas_thread():
        team_runs(_taps_blocks, (gemm, src, w, wt, brow, dst, table, nb, parts, forward,
                                 small_gemm_cap(dst.dtype), np.bool_(cl)), items, items)
    return True


def _taps_channels_last(src, w, bias, dst, stride, lo, dilation, nb: int, parts: int,
                        forward: bool) -> None:
    """:func:`_taps_blocks` on channels-last 5-D arrays (``forward``: ``src`` the input,
    ``dst`` the output; else ``src`` the output gradient, ``dst`` the input gradient); the
    route offers it only where numpy's CBLAS can be called from compiled code."""
    x, y = (src, dst) if forward else (dst, src)
    table = tap_table(x.shape[2], x.shape[3], y.shape[2], y.shape[3], w.shape[3], w.shape[4],
                      stride, lo, dilation)
    if not _taps_compiled(src, w, bias, dst, table, nb, forward, parts, True):
        raise RuntimeError("the channels-last per-tap GEMMs need a compiled BLAS")


def forward_taps(x, w, bias, out, stride, lo, dilation, nb: int, parts: int = 1,
                 cl: bool = False) -> None:
    """``out = conv(x, w) + bias`` (2-D): per block of ``nb`` images, per tap, the rows of the
    outputs whose input is inside the image times that tap's filters, added in tap order
    onto the bias: one compiled kernel where numpy's CBLAS can be called from one
    (:func:`_taps_blocks`, each block's filters in ``parts`` ranges; (16, 128, 3, 3) -> 128
    padded 0.70 -> 0.29 ms, Zen 4), else blocks on Python threads with numpy's matmul
    (``cl``: channels-last ``x`` and ``out``, compiled kernel only)."""
    if cl:
        _taps_channels_last(x, w, bias, out, stride, lo, dilation, nb, parts, True)
        return
    N, C, _, H, W = x.shape
    K, _, _, kh, kw = w.shape
    Ho, Wo = out.shape[3], out.shape[4]
    P, S = Ho * Wo, H * W
    if _taps_compiled(x, w, bias, out, tap_table(H, W, Ho, Wo, kh, kw, stride, lo, dilation),
                      nb, True, parts):
        return
    rects = tap_rects(H, W, Ho, Wo, kh, kw, stride, lo, dilation)
    wt = np.ascontiguousarray(w.reshape(K, C, kh * kw).transpose(2, 1, 0))  # (taps, C, K)
    brow = np.zeros(K, out.dtype) if bias is None else bias
    out3 = out.reshape(N, K, P)

    def work(item):
        n0, n1 = item
        nimg = n1 - n0
        xr = _buffer("xr", (nimg * S, C), out.dtype)
        _to_rows(x, xr, n0, n1)
        y = _buffer("res", (nimg * P, K), out.dtype)
        y[:] = brow
        for t, rect in rects:
            m = nimg * _rect_rows(rect)
            xt = _buffer("rows", (m, C), out.dtype)
            _tap_rows(xr, xt, nimg, S, P, rect, 0, 0)
            part = _buffer("part", (m, K), out.dtype)
            np.matmul(xt, wt[t], out=part)
            _tap_rows(part, y, nimg, S, P, rect, 1, 0)
        _rows_to_nchw(y, out3, n0, n1, 0)

    _run(work, [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)])


def input_grad_taps(g, w, bias, dx, stride, lo, dilation, nb: int, parts: int = 1,
                    cl: bool = False) -> None:
    """``dx = conv_input(g, w) + bias`` (2-D): per block, per tap, the gradient rows of the
    outputs whose input is inside the image times that tap's filters, added onto those
    inputs' rows (bias first, taps in order); compiled as :func:`forward_taps` (each block's
    channels in ``parts`` ranges; ``cl``: channels-last ``g`` and ``dx``)."""
    if cl:
        _taps_channels_last(g, w, bias, dx, stride, lo, dilation, nb, parts, False)
        return
    N, C, _, H, W = dx.shape
    K, _, _, kh, kw = w.shape
    Ho, Wo = g.shape[3], g.shape[4]
    P, S = Ho * Wo, H * W
    if _taps_compiled(g, w, bias, dx, tap_table(H, W, Ho, Wo, kh, kw, stride, lo, dilation),
                      nb, False, parts):
        return
    rects = tap_rects(H, W, Ho, Wo, kh, kw, stride, lo, dilation)
    wk = np.ascontiguousarray(w.reshape(K, C, kh * kw).transpose(2, 0, 1))  # (taps, K, C)
    brow = np.zeros(C, dx.dtype) if bias is None else bias
    dx3 = dx.reshape(N, C, S)

    def work(item):
        n0, n1 = item
        nimg = n1 - n0
        gr = _buffer("xr", (nimg * P, K), dx.dtype)
        _to_rows(g, gr, n0, n1)
        acc = _buffer("res", (nimg * S, C), dx.dtype)
        acc[:] = brow
        for t, rect in rects:
            m = nimg * _rect_rows(rect)
            gt = _buffer("rows", (m, K), dx.dtype)
            _tap_rows(gr, gt, nimg, S, P, rect, 3, 0)
            part = _buffer("part", (m, C), dx.dtype)
            np.matmul(gt, wk[t], out=part)
            _tap_rows(part, acc, nimg, S, P, rect, 2, 0)
        _rows_to_nchw(acc, dx3, n0, n1, 0)

    _run(work, [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)])


@njit(cache=True, nogil=True)
def _weight_grad_taps_runs(gemm, x, g, acc, rects, nb, cap, cl, i0, i1):
    """:func:`weight_grad_taps`'s runs ``i0 <= i < i1`` (of ``acc.shape[0]``, on Numba's
    threads by :func:`numbaconv.cpu.native.team_runs`; the caller adds them in order into
    ``acc[0]``): run ``i`` sums its fixed range of blocks into ``acc[i]`` (``(taps, K,
    C)``, zeroed first), per block and tap ``G_t^T @ X_t`` added by BLAS (``beta = 1``;
    under the small-GEMM ``cap``), the blocks in order. Fixed by the shapes: the same bits
    at any thread count. ``cl``: ``x`` and ``g`` channels-last, their rows read where they
    are (channels-first blocks are copied into rows first)."""
    N = x.shape[0]
    C, K = (x.shape[4], g.shape[4]) if cl else (x.shape[1], g.shape[1])
    S = x.size // max(1, N * C)
    P = g.size // max(1, N * K)
    items = acc.shape[0]
    blocks = -(-N // nb)
    for i in range(i0, i1):
        acc[i] = 0
        xr = x.reshape((N * S, C)) if cl else np.empty((nb * S, C), x.dtype)
        gr = g.reshape((N * P, K)) if cl else np.empty((nb * P, K), x.dtype)
        xt = np.empty((nb * P, C), x.dtype)
        gt = np.empty((nb * P, K), x.dtype)
        for b in range(i * blocks // items, (i + 1) * blocks // items):
            n0 = b * nb
            n1 = min(N, n0 + nb)
            nimg = n1 - n0
            first = n0 if cl else 0  # (the block's first image in xr and gr)
            if not cl:
                _to_rows(x, xr, n0, n1)
                _to_rows(g, gr, n0, n1)
            for r in range(rects.shape[0]):
                rect = rects[r, 1:]
                m = nimg * (rect[1] - rect[0]) * (rect[3] - rect[2])
                _tap_rows(xr, xt, nimg, S, P, rect, _TAKE_IN, first)
                _tap_rows(gr, gt, nimg, S, P, rect, _TAKE_OUT, first)
                gemm_rows_at(gemm, TRANS, K, C, m, gt, K, xt, C, 1.0, acc[i, rects[r, 0]], C,
                             cap)


@njit(cache=True, nogil=True)
def _untap_weights(src, dw):
    """``dw[k, c, 0, th, tw] = src[t, k, c]`` (``t = th * kw + tw``): the inverse of
    :func:`_tap_weights`'s input-gradient layout, each filter's ``T`` rows of ``C`` copied
    into a small buffer first (read straight, the ``T`` load streams one plane apart)."""
    T, K, C = src.shape[0], src.shape[1], src.shape[2]
    sf = src.reshape(-1)
    df = dw.reshape(-1)
    buf = np.empty(T * C, dw.dtype)
    for k in range(K):
        for t in range(T):
            s0 = _U((t * K + k) * C)
            for c in range(C):
                buf[t * C + c] = sf[s0 + _U(c)]
        for c in range(C):
            d = _U((k * C + c) * T)
            for t in range(T):
                df[d + _U(t)] = buf[t * C + c]


def weight_grad_taps(x, g, dw_out, stride, lo, dilation, nb: int, items: int,
                     cl: bool = False) -> None:
    """``dw_out[:, :, th, tw] = sum over blocks of G_t^T @ X_t`` (2-D): per tap the gradient
    and input rows of the outputs whose input is inside the image; fixed runs of blocks per
    work item, partial sums added in item order (one compiled kernel where numpy's CBLAS can
    be called from one: :func:`_weight_grad_taps_runs`; ``cl``: ``x`` and ``g``
    channels-last, read as they are there)."""
    if cl and kernel_gemm(dw_out.dtype) is None:  # (the planner's taps need the kernel)
        x, g = x.transpose(0, 4, 1, 2, 3).copy(), g.transpose(0, 4, 1, 2, 3).copy()
        cl = False
    N, C, H, W = (x.shape[0], x.shape[4], x.shape[2], x.shape[3]) if cl else \
        (x.shape[0], x.shape[1], x.shape[3], x.shape[4])
    K, _, _, kh, kw = dw_out.shape
    Ho, Wo = (g.shape[2], g.shape[3]) if cl else (g.shape[3], g.shape[4])
    P, S = Ho * Wo, H * W
    taps = kh * kw
    rects = tap_rects(H, W, Ho, Wo, kh, kw, stride, lo, dilation)
    if (gemm := kernel_gemm(dw_out.dtype)) is not None:  # one compiled kernel
        acc = np.empty((max(1, min(items, -(-N // max(1, nb)))), taps, K, C), dw_out.dtype)
        table = tap_table(H, W, Ho, Wo, kh, kw, stride, lo, dilation)
        with one_blas_thread():
            team_runs(_weight_grad_taps_runs, (gemm, x, g, acc, table, max(1, nb),
                                               small_gemm_cap(dw_out.dtype), np.bool_(cl)),
                      acc.shape[0], acc.shape[0])
        for i in range(1, acc.shape[0]):  # (the runs in order: the same bits at any count)
            _add_into(acc[0], acc[i])
        _untap_weights(acc[0], dw_out)
        return
    blocks = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    items = max(1, min(items, len(blocks)))
    runs = [blocks[i * len(blocks) // items:(i + 1) * len(blocks) // items] for i in range(items)]
    parts = [np.zeros((taps, K, C), dw_out.dtype) for _ in range(items)]

    def work(i):
        acc = parts[i]
        for n0, n1 in runs[i]:
            nimg = n1 - n0
            xr = _buffer("xr", (nimg * S, C), x.dtype)
            _to_rows(x, xr, n0, n1)
            gr = _buffer("res", (nimg * P, K), x.dtype)
            _to_rows(g, gr, n0, n1)
            for t, rect in rects:
                m = nimg * _rect_rows(rect)
                xt = _buffer("rows", (m, C), x.dtype)
                _tap_rows(xr, xt, nimg, S, P, rect, 0, 0)
                gt = _buffer("g", (m, K), x.dtype)
                _tap_rows(gr, gt, nimg, S, P, rect, 3, 0)
                part = _buffer("part", (K, C), x.dtype)
                np.matmul(gt.T, xt, out=part)
                _add_into(acc[t], part)

    _run(work, list(range(items)))
    total = parts[0]
    for p in parts[1:]:
        _add_into(total, p)
    dw_out[:, :, 0] = total.reshape(kh, kw, K, C).transpose(2, 3, 0, 1)
