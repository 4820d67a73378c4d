"""CPU kernels for layers with few input channels (a network's stem: the ResNet 7x7/2 on
RGB images; the course notes' first layers): the forward, channels-first and channels-last,
strided and (for a short reduction, :func:`_stride_one`) at stride 1, and the
channels-first weight gradient.

Such a layer's reduction is short (``C*kh*kw`` taps, 147 for the stem) and its output large,
so an im2col + GEMM spends a good part of its time building and packing the patch matrix
and the GEMM's own kernel runs at OpenBLAS's rate (83% of the FMA peak on Zen 4, where
PyTorch's oneDNN reaches 92%). These kernels read the input where it lies and keep every
output in a register from its bias to its store:

* channels-first (:func:`_tiles_cf`): the image's planes are split into their ``sh*sw``
  stride phases (:func:`_split_rows`; phase ``(ph, pw)`` holds the zero-padded input's
  rows ``ph, ph + sh, ...`` and columns ``pw, pw + sw, ...``), so that every tap of a
  strided layer reads a run of consecutive phase elements for consecutive outputs, as a
  stride-1 layer does. A tile is :data:`~numbaconv.cpu.simd.TILE_FILTERS` filters by
  :func:`~numbaconv.cpu.simd.tile_width` vectors of output positions
  (:func:`~numbaconv.cpu.simd.taps_tile`): per tap a vector load for each position vector,
  a broadcast for each filter, 24 multiply-adds on AVX-512. Each output row is covered by
  vectors, the last one overlapping the one before, and a tile takes the next vectors of
  the image, whichever rows they are on.
* channels-last (:func:`_tiles_cl`): the image is zero-padded, and a tile is six
  consecutive output positions by four vectors of filters, or eight by two or twelve by
  one for fewer filters (six by two with 16 vector registers, four by two for maps of
  four or five positions:
  :func:`~numbaconv.cpu.simd.positions_tile_shapes`;
  :func:`~numbaconv.cpu.simd.positions_tile`), the input broadcast from where each
  position's window starts: no phases needed.

Each output element is its bias (or 0) and then its taps in the order ``(c, th, tw)``,
fused multiply-adds, in either layout and on any thread: the same bits for both layouts,
any thread count, and the serial path.

Each run of tiles first makes the phase rows (or padded rows) it reads, on its own core:
split by a separate pass, the stem's 0.6 MB of phases cost 0.15 ms more to read from the
other core's cache than to make. (1, 3, 224, 224) -> 64, 7x7/2 on two Zen 4 cores: im2col +
GEMM 1.22 ms, channels-last 1.41 (its transposing copies); these tiles 1.07-1.09 in either
layout (the multiply-adds at 97% of the FMA peak), PyTorch 1.10 (channels-last; 3.1
channels-first). Batch 8: 9.3 / 9.0 ms against 15-17 / 14-16, PyTorch 25 / 9.3. Compiled
for AVX2 (``NUMBA_CPU_NAME=haswell``, same machine): 1.08 / 1.35 ms at batch 1.

The channels-first weight gradient (:func:`weight_grad`) reads the same phases: a tile is
four filters by five taps (:func:`~numbaconv.cpu.simd.taps_grad_tile`), each sum one
multiply-add chain a lane over a run of the batch's output vectors, the lanes summed at the
end; an item is a run of vectors fixed by the shapes, its partial gradient added to the
others in order. The stem 1.30 -> 1.22-1.26 ms (PyTorch 1.20-1.50); smaller layers gain
most, where the thin GEMM's per-image passes were short: (32, 3, 32, 32) -> 16, 3x3/2 0.38
-> 0.08 ms, (16, 4, 64, 64) -> 32 0.75-0.96 -> 0.23-0.30 (PyTorch 0.24 channels-last, 0.66
channels-first). It takes stride-1 few-channel layers too (one phase: the padded planes):
the course notes' first layers and CIFAR's, (128, 3, 32, 32) -> 32 3x3 1.86 -> 1.48 ms
(PyTorch 1.89).

So does the forward (2026-12-07), where :mod:`numbaconv.cpu.conv` ran its grid kernels (one
vector of positions by eight filters a step: nine loads for eight multiply-adds, where a
tile of four filters by three vectors loads seven for twelve). Same bits as those kernels
(each output its bias, then the taps in order), two Zen 3 threads, float32: channels-last
(64, 28, 28, 1) -> 32 531 -> 333 us, (128, 32, 32, 3) -> 32 3.63 -> 2.36 ms, one image
22 -> 20 us; channels-first (100, 1, 28, 28) -> 32 pad 1 875 -> 707 us, (128, 3, 32, 32) ->
32 3.15 -> 2.36 ms, and below :data:`STRIDE_ONE_WORK` multiply-adds still the grid kernels,
which were as fast there.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import prange

from ..core.conv import (
    G_C,
    G_H,
    G_HO,
    G_K,
    G_KH,
    G_LH,
    G_LW,
    G_SH,
    G_SW,
    G_W,
    G_WO,
    ConvGeometry,
)
from ..loops.conv import span as _span
from .conv_plan import legacy_direct
from .jit import (
    I0,
    cl_grid,
    cl_grid_offsets,
    copy_elems,
    njit,
    pad_rows_into,
    transpose_into,
)
from .native import team_runs
from .simd import (
    TILE_FILTERS,
    channel_dot,
    channel_dots,
    channel_dots3,
    dots_tile_shapes,
    grad_tile_shape,
    lanes,
    positions_tile,
    positions_tile_narrow,
    positions_tile_shapes,
    positions_tile_thin,
    register_bytes,
    taps_grad_tile,
    taps_grad_tile_whole,
    taps_tile,
    tile_width,
)
from .threads import scratch

#: input channels up to which a strided layer runs here: a tile's phase rows (channels x
#: phases x kernel rows) then stay in the L1 cache across its filter blocks
MAX_CHANNELS = 4
_U = np.uint64

#: multiply-adds below which a call runs on the calling thread
PARALLEL_WORK = 1 << 19
#: multiply-adds from which a channels-first stride-1 layer runs here rather than on
#: conv.py's grid kernels, which read the padded planes unsplit and pack no weights: below
#: it they were as fast or faster (two Zen 3 threads, (4, 1, 28, 28) -> 32 pad 1: 29 us
#: both in float32, 72 against 84 in float64), from about here on slower (eight such
#: images 1.0-1.08x, (100, 1, 28, 28) -> 32 1.24x, (128, 3, 32, 32) -> 32 1.33x). The
#: channels-last tiles beat that layout's grid kernel at every size (1.1x at batch 1,
#: 1.4-2.5x from four images on), so they take every stride-1 layer they can.
STRIDE_ONE_WORK = 1 << 21
#: the channels-last tiles' shapes (:func:`_tiles_cl` tells them apart by their positions)
SHAPES = positions_tile_shapes()
#: (filters, taps) of the weight gradient's tiles, and of its tiles for rows of whole vectors
GRAD_TILE, GRAD_TILE_WHOLE = grad_tile_shape(), grad_tile_shape(whole=True)
#: runs of tiles a parallel call is cut into (each output element is one tile's: any cut
#: gives the same bits)
PARTS = 8


def _cl_shape(K: int, positions: int, n: int):
    """The channels-last tile (positions, vectors of filters) for ``K`` filters and an
    image's output positions, in vectors of ``n``: the first of
    :func:`~numbaconv.cpu.simd.positions_tile_shapes` that fits, else None."""
    return next(((P, J) for P, J in positions_tile_shapes() if K >= J * n and positions >= P),
                None)


def _common(geo: ConvGeometry) -> bool:
    """2-D, groups 1, dilation 1, at most :data:`MAX_CHANNELS` input channels, any stride."""
    return (geo.groups == 1 and geo.planar
            and geo.dilation == (1, 1, 1) and 0 < geo.channels <= MAX_CHANNELS
            and geo.batch > 0)


def _stride_one(geo: ConvGeometry) -> bool:
    """Whether the tiles take a stride-1 layer: one that :mod:`numbaconv.cpu.conv` would run
    by direct loops (a short reduction: its grid kernels, one vector of positions by eight
    filters a step), padding before the data >= 0; channels-first only from
    :data:`STRIDE_ONE_WORK` multiply-adds, 16 filters and nine taps a channel or more (with
    eight filters, 0.93x the grid kernels; a 1x1 kernel 0.68x)."""
    _, kh, kw = geo.kernel
    if min(geo.lo) < 0 or not legacy_direct(geo.filters, geo.channels, kh, kw):
        return False
    return geo.channels_last or (geo.filters >= 16 and kh * kw >= 9
                                 and geo.macs >= STRIDE_ONE_WORK)


def applies(geometry: ConvGeometry, itemsize: int) -> bool:
    """Whether these kernels compute a forward layer: 2-D, groups 1, dilation 1, at most
    :data:`MAX_CHANNELS` input channels, a stride above 1 (or stride 1 where
    :func:`_stride_one` says so); channels-first: at least TILE_FILTERS filters and a vector
    of outputs a row; channels-last: at least a tile's vectors of filters, padding before
    the data >= 0."""
    geo = geometry
    if not _common(geo) or (max(geo.stride[1:]) < 2 and not _stride_one(geo)):
        return False
    n, Ho, Wo = lanes(itemsize), geo.out_size[1], geo.out_size[2]
    if geo.channels_last:
        return min(geo.lo) >= 0 and _cl_shape(geo.filters, Ho * Wo, n) is not None
    return (geo.filters >= TILE_FILTERS and Wo >= n
            and Ho * -(-Wo // n) >= tile_width())


# ------------------------------------------------------------------------- channels-first


@njit(cache=True, nogil=True)
def _split_rows(xf, pl, geo, Hq, Wq, n, r0, r1):
    """Rows ``[r0, r1)`` of image ``n``'s phase planes: plane ``(c*sh + ph)*sw + pw`` of the
    ``(C*sh*sw, Hq, Wq)`` block at ``pl[n*C*sh*sw*Hq*Wq:]``, element ``(r, q)`` the input's
    ``(r*sh + ph - lh, q*sw + pw - lw)``, 0 outside it. Each input row is first copied into
    a zero-bordered row, which is then dealt out (at stride 2 in LLVM's interleaved vector
    loads)."""
    C, H, W = geo[G_C], geo[G_H], geo[G_W]
    sh, sw, lh, lw = geo[G_SH], geo[G_SW], geo[G_LH], geo[G_LW]
    PQ, L = Hq * Wq, sw * Wq
    row = np.zeros(L, dtype=pl.dtype)
    c0 = min(max(0, lw), L)  # the row's first and last columns of input
    c1 = max(c0, min(L, W + lw))
    for c in range(C):
        for ph in range(sh):
            for r in range(r0, r1):
                y = r * sh + ph - lh
                dst = _U((((n * C + c) * sh + ph) * sw) * PQ + r * Wq)
                if y < 0 or y >= H:
                    for pw in range(sw):
                        for q in range(Wq):
                            pl[dst + _U(pw * PQ + q)] = 0
                    continue
                copy_elems(row, _U(c0), xf, _U(((n * C + c) * H + y) * W + c0 - lw), c1 - c0)
                if sw == 2:
                    d1 = dst + _U(PQ)
                    for q in range(Wq):
                        u2 = _U(2 * q)
                        pl[dst + _U(q)] = row[u2]
                        pl[d1 + _U(q)] = row[u2 + _U(1)]
                else:
                    for pw in range(sw):
                        for q in range(Wq):
                            pl[dst + _U(pw * PQ + q)] = row[q * sw + pw]


@njit(cache=True, nogil=True)
def _pack_cf(wf, bf, wts, bb, K, nt):
    """The weights ``(K, nt)`` as ``(blocks, nt, TILE_FILTERS)`` and the biases (zeros for
    none) as ``(blocks, TILE_FILTERS)``, block ``kb`` the filters from ``min(kb*F, K - F)``."""
    F = TILE_FILTERS
    for kb in range((K + F - 1) // F):
        k0 = min(kb * F, K - F)
        for f in range(F):
            bb[kb * F + f] = bf[k0 + f] if bf.size else 0
        for t in range(nt):
            for f in range(F):
                wts[(kb * nt + t) * F + f] = wf[(k0 + f) * nt + t]


@njit(inline="always")
def _image_run(i, i1, tiles, step, count):
    """The run of items from ``i`` (before ``i1``) inside image ``n = i // tiles``, item ``j``
    of an image taking ``step`` of its ``count`` elements from ``min(j*step, count - step)``:
    ``(n, the run's end, its first element, its last)``."""
    n = i // tiles
    i2 = min(i1, (n + 1) * tiles)
    first = min((i - n * tiles) * step, count - step)
    return n, i2, first, min((i2 - 1 - n * tiles) * step, count - step) + step - 1


@njit(cache=True, nogil=True)
def _tiles_cf(xf, pl, wts, bb, of, os, qs, offs, geo, V, Hq, Wq, i0, i1):
    """Tiles ``[i0, i1)`` of a channels-first forward, ``i = n*tiles + j``: the ``V`` output
    vectors from ``min(j*V, len(os) - V)`` of image ``n``, for every block of TILE_FILTERS
    filters (the last block ending at the last filter). ``wts`` ``(blocks, taps,
    TILE_FILTERS)``, ``bb`` ``(blocks, TILE_FILTERS)``. The phase rows the tiles of an image
    read are split first, by this call: on the core that reads them. (Neighbouring runs
    share a few boundary rows, which each writes once with the same final values.)"""
    C, K, Wo = geo[G_C], geo[G_K], geo[G_WO]
    HoWo, reach = geo[G_HO] * Wo, (geo[G_KH] - 1) // geo[G_SH] + 1
    F, nt, NV = TILE_FILTERS, offs.size, os.size
    PL = C * geo[G_SH] * geo[G_SW] * Hq * Wq
    tiles, blocks = (NV + V - 1) // V, (K + F - 1) // F
    i = i0
    while i < i1:
        n, i2, first, last = _image_run(i, i1, tiles, V, NV)
        _split_rows(xf, pl, geo, Hq, Wq, n, os[first] // Wo, os[last] // Wo + reach)
        x = pl[n * PL:(n + 1) * PL]
        for it in range(i, i2):
            v0 = min((it - n * tiles) * V, NV - V)
            for kb in range(blocks):
                k0 = min(kb * F, K - F)
                taps_tile(of, (n * K + k0) * HoWo, HoWo, os, x, qs, v0, offs,
                          wts[kb * nt * F:(kb + 1) * nt * F], bb[kb * F:(kb + 1) * F], nt)
        i = i2


@njit(cache=True, nogil=True)
def _forward_cf(xf, wf, bf, of, geo, pl, wts, bb, os, qs, offs, V, Hq, Wq):
    """The channels-first forward on the calling thread."""
    N = of.size // (geo[G_K] * geo[G_HO] * geo[G_WO])
    _pack_cf(wf, bf, wts, bb, geo[G_K], offs.size)
    _tiles_cf(xf, pl, wts, bb, of, os, qs, offs, geo, V, Hq, Wq, I0,
              N * ((os.size + V - 1) // V))


@njit(cache=True, nogil=True, parallel=True)
def _forward_cf_parallel(xf, wf, bf, of, geo, pl, wts, bb, os, qs, offs, V, Hq, Wq, parts):
    """:func:`_forward_cf` with the tiles in ``parts`` runs on Numba's threads."""
    N = of.size // (geo[G_K] * geo[G_HO] * geo[G_WO])
    _pack_cf(wf, bf, wts, bb, geo[G_K], offs.size)
    items = N * ((os.size + V - 1) // V)
    for p in prange(parts):
        _tiles_cf(xf, pl, wts, bb, of, os, qs, offs, geo, V, Hq, Wq, p * items // parts,
                  (p + 1) * items // parts)


# -------------------------------------------------------------------------- channels-last


@njit(cache=True, nogil=True)
def _tiles_cl(xf, xp, wt, bias, of, xs, offs, geo, P, KW, Hp, Wp, i0, i1):
    """Tiles ``[i0, i1)`` of a channels-last forward, ``i = n*tiles + j``: the ``P`` output
    positions from ``min(j*P, Ho*Wo - P)`` of image ``n``, for every ``KW`` filters (a
    tile's vectors; the last run ending at the last filter). The rows of image ``n``'s
    zero-padded ``(Hp + 1, Wp, C)`` grid (at ``xp[n*(Hp + 1)*Wp*C:]``) that the tiles read are
    padded first, by this call (as :func:`_tiles_cf` splits its phases)."""
    C, H, W, K, Wo = geo[G_C], geo[G_H], geo[G_W], geo[G_K], geo[G_WO]
    HoWo, sh, kh = geo[G_HO] * Wo, geo[G_SH], geo[G_KH]
    PL = (Hp + 1) * Wp * C
    tiles, runs = (HoWo + P - 1) // P, (K + KW - 1) // KW
    wide, narrow = P == SHAPES[0][0], P == SHAPES[1][0]
    i = i0
    while i < i1:
        n, i2, first, last = _image_run(i, i1, tiles, P, HoWo)
        pad_rows_into(xf, n * H * W * C, H, W * C, xp, n * PL, geo[G_LH], geo[G_LW] * C, Hp,
                      Wp * C, first // Wo * sh, last // Wo * sh + kh)
        x = xp[n * PL:(n + 1) * PL]
        for it in range(i, i2):
            p0 = min((it - n * tiles) * P, HoWo - P)
            for kr in range(runs):
                k0 = min(kr * KW, K - KW)
                if wide:
                    positions_tile(of, n * HoWo * K, K, x, xs, p0, offs, wt, k0, bias,
                                   offs.size)
                elif narrow:
                    positions_tile_narrow(of, n * HoWo * K, K, x, xs, p0, offs, wt, k0, bias,
                                          offs.size)
                else:
                    positions_tile_thin(of, n * HoWo * K, K, x, xs, p0, offs, wt, k0, bias,
                                        offs.size)
        i = i2


@njit(cache=True, nogil=True)
def _forward_cl(xf, wf, wt, bias, of, geo, xp, xs, offs, P, KW, Hp, Wp):
    """The channels-last forward on the calling thread (``wt``: scratch for the weights
    transposed, ``(taps, K)``)."""
    HoWo = geo[G_HO] * geo[G_WO]
    N = of.size // (HoWo * geo[G_K])
    transpose_into(wf, I0, offs.size, wt, I0, geo[G_K], geo[G_K], offs.size)  # (K, taps)
    _tiles_cl(xf, xp, wt, bias, of, xs, offs, geo, P, KW, Hp, Wp, I0,
              N * ((HoWo + P - 1) // P))


@njit(cache=True, nogil=True, parallel=True)
def _forward_cl_parallel(xf, wf, wt, bias, of, geo, xp, xs, offs, P, KW, Hp, Wp, parts):
    """:func:`_forward_cl` with the tiles in ``parts`` runs on Numba's threads."""
    HoWo = geo[G_HO] * geo[G_WO]
    N = of.size // (HoWo * geo[G_K])
    transpose_into(wf, I0, offs.size, wt, I0, geo[G_K], geo[G_K], offs.size)  # (K, taps)
    items = N * ((HoWo + P - 1) // P)
    for p in prange(parts):
        _tiles_cl(xf, xp, wt, bias, of, xs, offs, geo, P, KW, Hp, Wp, p * items // parts,
                  (p + 1) * items // parts)


# ------------------------------------------------------------- channels-first weight gradient


@njit(cache=True, nogil=True)
def _grad_items_cf(xf, pl, gf, part, os, gos, skip, qs, offs, geo, items, Hq, Wq, whole, i0,
                   i1):
    """Items ``[i0, i1)`` of a channels-first weight gradient: item ``i`` the ``i``-th of
    ``items`` equal runs of the batch's output vectors (``gos``: where each starts in the
    gradient, less its filter's plane; ``qs``: in the phases; ``os``: in its image's
    output plane), its sums ``(K, taps)`` into ``part[i]`` by tiles of filters by taps
    (:func:`taps_grad_tile`, or with ``whole`` (no vector overlaps the one before)
    :func:`taps_grad_tile_whole`; the last block of each ending at the last filter or
    tap), after splitting the phase rows its vectors read."""
    K, Wo = geo[G_K], geo[G_WO]
    HoWo, reach = geo[G_HO] * Wo, (geo[G_KH] - 1) // geo[G_SH] + 1
    F, T = GRAD_TILE_WHOLE if whole else GRAD_TILE
    nt, NV = offs.size, os.size
    total = gos.size
    for i in range(i0, i1):
        va, vb = i * total // items, (i + 1) * total // items
        if va == vb:
            part[i * K * nt:(i + 1) * K * nt] = 0
            continue
        for n in range(va // NV, (vb - 1) // NV + 1):
            a, b = max(va, n * NV) - n * NV, min(vb, (n + 1) * NV) - n * NV
            _split_rows(xf, pl, geo, Hq, Wq, n, os[a] // Wo, os[b - 1] // Wo + reach)
        for kb in range((K + F - 1) // F):
            k0 = min(kb * F, K - F)
            for tb in range((nt + T - 1) // T):
                t0 = min(tb * T, nt - T)
                if whole:
                    taps_grad_tile_whole(part, (i * K + k0) * nt + t0, nt, gf, k0 * HoWo, HoWo,
                                         gos, pl, qs, va, vb, offs, t0)
                else:
                    taps_grad_tile(part, (i * K + k0) * nt + t0, nt, gf, k0 * HoWo, HoWo, gos,
                                   skip, pl, qs, va, vb, offs, t0)


@njit(cache=True, nogil=True)
def _grad_total(part, dw, items):
    """``dw[e] = part[0, e] + part[1, e] + ...`` left to right (the order fixed by the
    shapes)."""
    E = dw.size
    for e in range(E):
        s = part[e]
        for i in range(1, items):
            s += part[i * E + e]
        dw[e] = s


@njit(cache=True, nogil=True)
def _weight_grad_cf(xf, gf, dw, geo, pl, part, os, gos, skip, qs, offs, items, Hq, Wq, whole):
    """The channels-first weight gradient on the calling thread."""
    _grad_items_cf(xf, pl, gf, part, os, gos, skip, qs, offs, geo, items, Hq, Wq, whole, I0,
                   items)
    _grad_total(part, dw, items)


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_cf_parallel(xf, gf, dw, geo, pl, part, os, gos, skip, qs, offs, items, Hq,
                             Wq, whole):
    """:func:`_weight_grad_cf` with an item a run on Numba's threads."""
    for i in prange(items):
        _grad_items_cf(xf, pl, gf, part, os, gos, skip, qs, offs, geo, items, Hq, Wq, whole,
                       i, i + 1)
    _grad_total(part, dw, items)


# -------------------------------------------------------------------------------- runners


def _taps(geo: ConvGeometry):
    """``(c, th, tw)`` of every tap in the order ``(c, th, tw)``."""
    _, kh, kw = geo.kernel
    return (a.ravel() for a in np.meshgrid(np.arange(geo.channels), np.arange(kh),
                                           np.arange(kw), indexing="ij"))


def _phase_grid(geo: ConvGeometry, n: int):
    """A channels-first layer's phase planes ``(Hq, Wq)``, every tap's offset in an image's
    phases, and the output vectors along the rows (the last of a row overlapping the one
    before): where each starts in the output plane and in the phase grid, and how many of
    its first lanes the vector before covered."""
    _, kh, kw = geo.kernel
    _, sh, sw = geo.stride
    _, Ho, Wo = geo.out_size
    c, th, tw = _taps(geo)
    Hq, Wq = Ho + (kh - 1) // sh, Wo + (kw - 1) // sw
    offs = ((c * sh + th % sh) * sw + tw % sw) * Hq * Wq + th // sh * Wq + tw // sw
    ends = np.arange(0, Wo, n)
    starts = np.minimum(ends, Wo - n)
    oy, ox = np.repeat(np.arange(Ho), starts.size), np.tile(starts, Ho)
    skip = np.tile(ends - starts, Ho)
    return Hq, Wq, *(a.astype(np.int64) for a in (offs, oy * Wo + ox, oy * Wq + ox, skip))


def runner(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: the forward of a layer :func:`applies` takes, its offsets
    and tile lists computed once (the plan of a repeated call); on the calling thread
    below :data:`PARALLEL_WORK` multiply-adds, else on Numba's threads. Per call it takes
    one scratch row of this thread's (the padded or phase-split input, the packed weights)
    and hands the rest over as computed here: a batch-1 layer's call cost 4-7 us more than
    its kernel when each piece was looked up afresh (three scratch lookups, the weights
    transposed by NumPy for channels-last)."""
    geo, dtype = geometry, np.dtype(dtype)
    C, K, N = geo.channels, geo.filters, geo.batch
    _, kh, kw = geo.kernel
    _, sh, sw = geo.stride
    _, Ho, Wo = geo.out_size
    nt, n, V = C * kh * kw, lanes(dtype.itemsize), tile_width()
    serial = geo.macs < PARALLEL_WORK
    arr = geo.array
    if geo.channels_last:
        Hp, Wp = cl_grid(arr)  # the channels-last few-channel kernels' grid and offsets
        offs = np.empty(nt, np.int64)
        cl_grid_offsets(offs, arr, Wp)
        oy, ox = np.divmod(np.arange(Ho * Wo), Wo)
        xs = ((oy * sh * Wp + ox * sw) * C).astype(np.int64)
        size = N * (Hp + 1) * Wp * C
        P, J = _cl_shape(K, Ho * Wo, n) or (0, 0)
        zeros = np.zeros(K, dtype)
        tail = (xs, offs, np.int64(P), np.int64(J * n), np.int64(Hp), np.int64(Wp))

        def run_cl(x, w, bias, out):
            buf = scratch("strided", (size + nt * K,), dtype)
            args = (x.ravel(), w.ravel(), buf[size:], zeros if bias is None else bias.ravel(),
                    out.ravel(), arr, buf[:size], *tail)
            if serial:
                _forward_cl(*args)
            else:
                _forward_cl_parallel(*args, PARTS)

        return run_cl
    Hq, Wq, offs, os, qs, _ = _phase_grid(geo, n)
    size = N * C * sh * sw * Hq * Wq
    blocks = -(-K // TILE_FILTERS)
    no_bias = np.empty(0, dtype)
    wsize = blocks * nt * TILE_FILTERS
    tail = (os, qs, offs, np.int64(V), np.int64(Hq), np.int64(Wq))

    def run_cf(x, w, bias, out):
        buf = scratch("strided", (size + wsize + blocks * TILE_FILTERS,), dtype)
        args = (x.ravel(), w.ravel(), no_bias if bias is None else bias.ravel(), out.ravel(),
                arr, buf[:size], buf[size:size + wsize], buf[size + wsize:], *tail)
        if serial:
            _forward_cf(*args)
        else:
            _forward_cf_parallel(*args, PARTS)

    return run_cf


def applies_weight_grad(geometry: ConvGeometry, itemsize: int) -> bool:
    """Whether :func:`weight_grad` computes a layer's weight gradient: channels-first, 2-D,
    groups 1, dilation 1, at most :data:`MAX_CHANNELS` input channels, at least a tile's
    filters and taps and a vector of outputs a row, **any stride**. (Stride 1 too, where the
    phases are the padded planes: the tiles beat the grid and thin-GEMM kernels on every
    few-channel layer measured, e.g. (128, 3, 32, 32) -> 32, 3x3 1.86 -> 1.48 ms, (64, 1,
    28, 28) -> 32, 5x5 1.36 -> 0.49, (8, 2, 20, 20) -> 8, 5x5 0.19 -> 0.04; Zen 4. Their
    forward is not faster there than conv.py's unsplit kernels. With 16 registers, stride 1
    from :data:`STRIDE1_CHANNELS_16` channels.)"""
    geo = geometry
    F, T = GRAD_TILE
    nt = geo.channels * geo.taps
    return (not geo.channels_last and _common(geo) and geo.filters >= F and nt >= T
            and geo.out_size[2] >= lanes(itemsize)
            and (register_bytes() == 64 or (geo.filters * nt <= SMALL_GRADIENT and (
                max(geo.stride[1:]) >= 2 or geo.channels >= STRIDE1_CHANNELS_16))))


#: input channels from which a stride-1 layer's gradient runs here with 16 vector registers:
#: AVX2 code on Zen 4, one channel 0.72-0.91x the grid kernels ((64, 1, 28, 28) -> 8, 16,
#: 32), two to four 0.97-5.4x ((8, 2, 20, 20) -> 16, 5x5 3.5x; (16, 4, 32, 32) -> 24 2.2x;
#: (128, 3, 32, 32) -> 32 1.03x); with 32 registers every layer measured gained
STRIDE1_CHANNELS_16 = 2
#: weights up to which a layer's gradient runs here with 16 vector registers (AVX2), where
#: the 2 x 4 tiles spend as much on loads as on multiply-adds. AVX2 code on Zen 4 had the
#: stem (64 x 147) at 1.78 ms against the thin GEMM's 1.58; on a real AVX2 machine (Zen 3,
#: 2026-12-06, two threads) the tiles win it: (1, 3, 224, 224) 7x7/2 2.2 ms against 2.7-3.1
#: (PyTorch 2.1-2.5), (8, 3, 224, 224) 22.9 against 27.3 (PyTorch 22.3); (16, 3, 3, 3) on
#: (32, 3, 32, 32) 0.09 against 0.34-0.48
SMALL_GRADIENT = 1 << 14
#: items a weight gradient is cut into (runs of the batch's output vectors), at most, and
#: fewest vectors an item: each item pays a sum of each tile's lanes and a partial sum of
#: the whole gradient ((32, 3, 32, 32) -> 16, 3x3/2: 0.135 ms in one item, 0.077 in four)
GRAD_ITEMS, GRAD_VECTORS = 8, 128


@functools.lru_cache(maxsize=64)
def _grad_plan(geo: ConvGeometry, n: int):
    """:func:`_phase_grid` and the batch's vectors: where each starts in the gradient (less
    its filter's plane) and in the phases, how many lanes it skips; the items; whether the
    tiles for whole vectors take it (no vector skips a lane, and a tile's filters and taps
    fit the layer's)."""
    C, K, N = geo.channels, geo.filters, geo.batch
    _, sh, sw = geo.stride
    _, Ho, Wo = geo.out_size
    Hq, Wq, offs, os, qs, skip = _phase_grid(geo, n)
    images = np.arange(N, dtype=np.int64)[:, None]
    gos = (images * K * Ho * Wo + os).ravel()
    qsb = (images * C * sh * sw * Hq * Wq + qs).ravel()
    items = max(1, min(GRAD_ITEMS, gos.size // GRAD_VECTORS))
    items -= items % 2 if items > 1 else 0  # (an even count: no core idle for the last one)
    F, T = GRAD_TILE_WHOLE
    whole = not skip.any() and K >= F and offs.size >= T
    return Hq, Wq, offs, os, gos, qsb, np.tile(skip, N), items, np.bool_(whole)


def weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw = conv_weight(x, g)`` for a layer :func:`applies_weight_grad` takes: items fixed
    by the shapes (so the same bits on any thread count and the serial path), each summing
    its run of output vectors by register tiles, the items' partial sums added in order."""
    geo, dtype = geometry, dw.dtype
    C, K, N = geo.channels, geo.filters, geo.batch
    _, sh, sw = geo.stride
    Hq, Wq, offs, os, gos, qs, skip, items, whole = _grad_plan(geo, lanes(dtype.itemsize))
    args = (x.ravel(), g.ravel(), dw.ravel(), geo.array,
            scratch("strided-x", (N * C * sh * sw * Hq * Wq,), dtype),
            scratch("strided-part", (items * K * C * geo.taps,), dtype), os, gos, skip, qs,
            offs, np.int64(items), np.int64(Hq), np.int64(Wq), whole)
    if geo.macs < PARALLEL_WORK:
        _weight_grad_cf(*args)
    else:
        _weight_grad_cf_parallel(*args)


# ----------------------------------------------------------- channels-last input gradient

#: the input gradient's tiles (:func:`~numbaconv.cpu.simd.dots_tile_shapes`): positions of a
#: one-channel tile and of a three-channel tile
DOTS_P1, DOTS_P3 = (P for P, _ in dots_tile_shapes()[:2])


#: weights (``C*kh*kw``) from which a channels-first strided input gradient runs the
#: channels-last tiles where its own path is the im2col GEMM: the 7x7/2 stem (147)
#: 1.13-1.28x, (4, 3, 64, 64) 5x5/2 (75) 1.5x, a DCGAN output layer's 4x4/2 (48)
#: 0.81-0.95x (Zen 3, same process)
CF_MIN_TAPS = 64


def applies_input_grad(geometry: ConvGeometry, itemsize: int) -> bool:
    """Whether :func:`input_grad_runner` computes a layer's input gradient: 2-D, groups 1,
    at most :data:`MAX_CHANNELS` input channels and at least a vector of filters (the
    reduction of each input element runs along them), some output; channels-last at
    stride 1 with any dilation, or at any stride undilated; channels-first at a stride
    above 1, undilated, where the layer's own path is the direct loops or each gradient
    element meets at least :data:`CF_MIN_TAPS` weights (the gradient copied channels-last
    first: at stride 1 the channels-first kernels, which read it where it lies, were as
    fast, and below that the copy costs more than the im2col GEMM loses)."""
    geo = geometry
    if not geo.channels_last and (max(geo.stride) == 1 or (
            geo.channels * geo.taps < CF_MIN_TAPS
            and not legacy_direct(geo.filters, geo.channels, geo.taps, 1))):
        return False
    return (geo.groups == 1 and geo.planar
            and (geo.stride == (1, 1, 1) or geo.dilation == (1, 1, 1))
            and 0 < geo.channels <= MAX_CHANNELS
            and geo.filters >= lanes(itemsize) and geo.batch > 0 and min(geo.out_size) > 0)


def _reach(i: int, lo: int, k: int, s: int, d: int, size: int) -> tuple[int, int, int]:
    """The taps of one axis that input index ``i`` reaches (padding ``lo`` before the data),
    ``(phase, m0, m1)``: taps ``phase + m*s`` for ``m0 <= m < m1`` (stride 1: phase 0, the
    taps ``m`` themselves); ``m1 <= m0``: none. Tap ``t`` reaches ``i`` where one of the
    ``size`` outputs reads it there (:func:`numbaconv.loops.conv.span`, the rule of both
    backends' direct kernels); such taps are one run of a single phase."""
    def reaches(t):
        o0, o1 = _span(i, i + 1, t * d - lo, s, size)
        return o1 > o0

    taps = [t for t in range(k) if reaches(t)]
    phase = (i + lo) % s
    m0 = (taps[0] - phase) // s if taps else 0
    return phase, m0, m0 + len(taps)


def _bands(taps: list) -> list[tuple[int, int, tuple]]:
    """``(start, stop, taps)``: the runs of neighbouring indices that reach the same
    taps."""
    out: list = []
    for i, t in enumerate(taps):
        if out and out[-1][2] == t:
            out[-1] = (out[-1][0], i + 1, t)
        else:
            out.append((i, i + 1, t))
    return out


def _phase_taps(k: int, s: int) -> list[int]:
    """How many of ``k`` taps each of the ``s`` phases holds (the taps ``phase + m*s``)."""
    return [-(-(k - p) // s) for p in range(s)]


#: the columns of :func:`_input_blocks`' rows
_BLOCK_COLUMNS = ("o0", "ostep", "orow", "g0", "gstep", "grow", "lines", "span", "rows",
                  "hstep", "S", "sg", "L", "w0", "wrow", "sw", "cstep", "single")


@functools.lru_cache(maxsize=64)
def _input_blocks(geo: ConvGeometry, P: int) -> np.ndarray:
    """One image's input gradient as blocks of positions that reach the same taps, a row
    of :data:`_BLOCK_COLUMNS` each: ``lines`` lines of ``span`` positions, where the
    first one lies in the image's ``(H, W, C)`` gradient and the steps to the next
    position and line; where its taps' first run starts in the ``(Ho, Wo, K)`` output
    gradient and the steps to the next position and line; the kernel rows it reaches
    (``rows``, ``hstep`` apart in the gradient), ``S`` runs of ``L`` elements a kernel row
    (``sg`` apart); where the weights of the first run start in :func:`_weights`' layout,
    the steps to the next kernel row, run and channel; whether it runs one position at a
    time. A block runs along its rows where they hold a tile of ``P`` positions, else down
    its columns where they do, else position by position (a map's corners, and maps too
    small for a tile). Strided, each pair of stride phases (the input rows and columns
    whose taps are ``phase + m*stride``) is blocked on its own: its positions are
    ``stride`` apart, and its taps read neighbouring outputs."""
    C, K = geo.channels, geo.filters
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    _, lh, lw = geo.lo
    _, kh, kw = geo.kernel
    _, sh, sw = geo.stride
    _, dh, dw = geo.dilation
    nw = _phase_taps(kw, sw)
    wbase = np.concatenate(([0], np.cumsum([C * kh * n * K for n in nw])))
    rows = [_reach(i, lh, kh, sh, dh, Ho) for i in range(H)]
    cols = [_reach(j, lw, kw, sw, dw, Wo) for j in range(W)]
    out = []
    for ph in range(min(sh, H)):
        for pw in range(min(sw, W)):
            row_bands = _bands(rows[ph::sh])
            col_bands = _bands(cols[pw::sw])
            for v0, v1, (fh, m0, m1) in row_bands:
                for u0, u1, (fw, j0, j1) in col_bands:
                    i, j = ph + v0 * sh, pw + u0 * sw
                    n = nw[fw]
                    # the outputs that the first kernel row and the first run read (a
                    # stride above 1 comes undilated), the weights' first run
                    oh = (i + lh - fh) // sh - m0 * dh
                    ow = (j + lw - fw) // sw - (j1 - 1) * dw
                    hstep, wrow = dh * Wo * K, sh * n * K
                    S, sg, L = (1, 0, (j1 - j0) * K) if dw == 1 else (j1 - j0, dw * K, K)
                    w0 = int(wbase[fw]) + ((fh + m0 * sh) * n + n - j1) * K
                    taps = (m1 - m0 if j1 > j0 else 0, hstep, S, sg, L, w0, wrow, K,
                            kh * n * K)
                    o0, g0 = (i * W + j) * C, (oh * Wo + ow) * K
                    if u1 - u0 >= P or v1 - v0 < P:  # along the rows (or one at a time)
                        out.append((o0, sw * C, sh * W * C, g0, K, Wo * K, v1 - v0, u1 - u0,
                                    *taps, int(u1 - u0 < P)))
                    else:  # down the columns
                        out.append((o0, sh * W * C, sw * C, g0, Wo * K, K, u1 - u0, v1 - v0,
                                    *taps, 0))
    return np.array(out, dtype=np.int64).reshape(-1, len(_BLOCK_COLUMNS))


def _weights(w, wt, geo: ConvGeometry) -> None:
    """``wt`` (flat): the weights ``(K, C, kh, kw)`` as :func:`_input_blocks` reads them,
    for each column phase ``(C, kh, n, K)`` (its ``n`` taps), each kernel row's taps in
    reverse order, so a row's taps read one contiguous run of the output gradient."""
    C, K = geo.channels, geo.filters
    _, kh, kw = geo.kernel
    sw = geo.stride[2]
    at = 0
    for p, n in enumerate(_phase_taps(kw, sw)):
        size = C * kh * n * K
        np.copyto(wt[at:at + size].reshape(C, kh, n, K),
                  w.transpose(1, 2, 3, 0)[:, :, p::sw][:, :, ::-1])
        at += size


def _split_blocks(blocks: np.ndarray, pieces: int) -> np.ndarray:
    """``blocks`` dealt into ``pieces`` pieces of about the same work, piece by piece: a
    block of at least ``pieces`` lines cut into one run of lines a piece, the smaller
    blocks (border rows, corners) each whole into the next piece in turn. A cut of the
    list into ``pieces`` runs then gives each run a piece (an image's share of the work
    for each thread, where there are fewer images than threads)."""
    col = {name: i for i, name in enumerate(_BLOCK_COLUMNS)}
    dealt: list[list] = [[] for _ in range(pieces)]
    turn = 0
    for blk in blocks:
        lines = int(blk[col["lines"]])
        if lines < pieces:
            dealt[turn % pieces].append(blk)
            turn += 1
            continue
        for q in range(pieces):
            l0, l1 = q * lines // pieces, (q + 1) * lines // pieces
            part = blk.copy()
            part[col["o0"]] += l0 * blk[col["orow"]]
            part[col["g0"]] += l0 * blk[col["grow"]]
            part[col["lines"]] = l1 - l0
            dealt[q].append(part)
    out = [blk for piece in dealt for blk in piece]
    return np.array(out, dtype=np.int64).reshape(-1, len(_BLOCK_COLUMNS))


@njit(cache=True, nogil=True)
def _input_grad_blocks(gf, wt, bias, dxf, geo, blocks, i0, i1):
    """Items ``[i0, i1)`` of a channels-last input gradient, ``i = n*B + b`` for image
    ``n`` and :func:`_input_blocks`' block ``b`` (of ``B``): each position's input channels
    the dot products of the output gradient's filters with the weights'
    (:func:`channel_dots`; ``wt``: :func:`_weights`), three channels together
    (:func:`channel_dots3`), else one at a time. Each block is one
    intrinsic call, which walks its tiles itself: called a tile at a time, with each
    tile's arguments worked out here, the tiles ran at half the speed (Zen 3)."""
    C, H, W, K = geo[G_C], geo[G_H], geo[G_W], geo[G_K]
    HWC, HoWoK = H * W * C, geo[G_HO] * geo[G_WO] * K
    for it in range(i0, i1):
        n, b = divmod(it, blocks.shape[0])
        (o0, ostep, orow, g0, gstep, grow, lines, span, rows, hstep, S, sg, L, w0, wrow,
         sw, cstep, single) = blocks[b]
        o0 += n * HWC
        g0 += n * HoWoK
        if single:
            for i in range(lines):
                for q in range(span):
                    for c in range(C):
                        channel_dot(dxf, o0 + i * orow + q * ostep + c, ostep, orow, gf,
                                    g0 + i * grow + q * gstep, gstep, grow, 1, 1, hstep,
                                    rows, S, sg, L, wt, w0 + c * cstep, wrow, sw, cstep,
                                    bias, c)
        elif C == 3:
            channel_dots3(dxf, o0, ostep, orow, gf, g0, gstep, grow, lines, span, hstep,
                          rows, S, sg, L, wt, w0, wrow, sw, cstep, bias, 0)
        else:
            for c in range(C):
                channel_dots(dxf, o0 + c, ostep, orow, gf, g0, gstep, grow, lines, span,
                             hstep, rows, S, sg, L, wt, w0 + c * cstep, wrow, sw, cstep,
                             bias, c)


@njit(cache=True, nogil=True)
def _transpose_images(src, dst, R, C, pieces, i0, i1):
    """Items ``[i0, i1)``, ``i = n*pieces + q``: piece ``q`` (a run of columns) of image
    ``n`` of ``src`` (flat, each ``(R, C)``) into ``dst``, each ``(C, R)`` (``R, C = K,
    Ho*Wo``: a channels-first gradient channels-last)."""
    for i in range(i0, i1):
        n, q = divmod(i, pieces)
        c0, c1 = q * C // pieces, (q + 1) * C // pieces
        transpose_into(src, n * R * C + c0, C, dst, n * R * C + c0 * R, R, R, c1 - c0)


def _transposed(src, dst, R: int, C: int, N: int, serial: bool) -> None:
    """:func:`_transpose_images` of all ``N`` images, on Numba's team unless ``serial`` (an
    image in runs of columns where there are fewer images than :data:`PARTS`)."""
    if serial:
        _transpose_images(src, dst, R, C, 1, 0, N)
    else:
        pieces = -(-PARTS // N)
        team_runs(_transpose_images, (src, dst, R, C, pieces), N * pieces, PARTS)


def input_grad_runner(geometry: ConvGeometry, dtype):
    """``run(g, w, bias, dx)``: the input gradient of a layer :func:`applies_input_grad`
    takes, computed in the channels-last layout: each input element the dot products,
    along the filters, of the output gradient's positions that its taps reach with the
    taps' weights, in vector tiles of several positions, the lanes summed at the end (the
    channels-first call instead runs the forward of the flipped kernel over the padded
    gradient, one vector of positions a step; a reduction of one to three channels leaves
    that layout's tiles mostly empty). On the calling thread below :data:`PARALLEL_WORK`
    multiply-adds, else on Numba's team in runs of blocks, each block cut into runs of
    lines where there are fewer images than :data:`PARTS` (each position's sum is one
    tile's: the same bits for any cut). A channels-first call copies the gradient
    channels-last first (and the result back for more than one channel; one channel is
    the same array in either layout): its own strided path ran scalar loops ((32, 32, 14,
    14) -> (32, 1, 28, 28), 3x3/2: 0.63 ms, against 0.13 for these tiles in the other
    layout; Zen 3)."""
    geo, dtype = geometry, np.dtype(dtype)
    C, N = geo.channels, geo.batch
    blocks = _input_blocks(geo, DOTS_P3 if C == 3 else DOTS_P1)
    serial = geo.macs < PARALLEL_WORK
    if not serial and N < PARTS:
        blocks = _split_blocks(blocks, -(-PARTS // N))
    items = N * blocks.shape[0]
    parts = min(PARTS, items)
    zeros = np.zeros(C, dtype)
    arr = geo.array
    size = C * geo.taps * geo.filters

    cl = geo.channels_last
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    K = geo.filters

    def run(g, w, bias, dx):
        wt = scratch("strided-wt", (size,), dtype)
        _weights(w.reshape(geo.w_shape)[:, :, 0], wt, geo)
        gf, df = g.ravel(), dx.ravel()
        if not cl:  # (the gradient channels-last; the result too, for several channels)
            gl = scratch("strided-g", (N * Ho * Wo * K,), dtype)
            _transposed(gf, gl, K, Ho * Wo, N, serial)
            gf, df = gl, df if C == 1 else scratch("strided-dx", (N * H * W * C,), dtype)
        args = (gf, wt, zeros if bias is None else bias.ravel(), df, arr, blocks)
        if serial:
            _input_grad_blocks(*args, 0, items)
        else:
            team_runs(_input_grad_blocks, args, items, parts)
        if not cl and C > 1:
            _transposed(df, dx.ravel(), H * W, C, N, serial)

    return run
