"""CPU convolution kernels: direct loops (twins of :mod:`numbaconv.cuda.conv`), and the CPU-only
grid, im2col/col2im + BLAS GEMM and Winograd paths.

Launchers (:func:`conv_forward`, :func:`conv_input_grad`, :func:`conv_weight_grad`,
:func:`conv_bias_grad`) take C-contiguous arrays and the call's
:class:`numbaconv.core.conv.ConvGeometry` (resolved once by :mod:`numbaconv.api.conv`):
a forward convolution on three spatial axes, ``x`` ``(N, C, D, H, W)``, ``w`` ``(K,
C/groups, kd, kh, kw)``, output ``(N, K, Do, Ho, Wo)``, or channels-last ``(N, D, H, W,
C)`` / ``(N, Do, Ho, Wo, K)`` (``geometry.channels_last``; 1-D and 2-D calls have
singleton leading axes, and the arrays may arrive in any shape of that size and layout).
The output arrays are preallocated; padding after the data is implicit (a tap outside
the input reads zero). Each launcher picks its strategy in one marked place at its top
(``# -- strategy``):

* *direct* (layers whose reduction is short: depthwise, few input channels): the tap
  loops of :mod:`numbaconv.loops.conv`, shared with the CUDA kernels, over whole output
  planes (forward), input planes (input gradient) or weight planes (weight gradient);
  channels-last, over rows of positions with the innermost run over the channels. A
  serial item kernel does the work; below :data:`PARALLEL_WORK` multiply-adds the
  launcher calls it on the calling thread, above it runs chunks of items on Python
  threads (:func:`_threaded`, the GEMM paths' team: no OpenMP team spins between calls);
* *grid* (CPU only, channels-first, stride 1 in (H, W), from :data:`GRID_WORK`
  multiply-adds): each item pads the planes it reads onto a padded-width grid so every
  tap is one long run; the same sums in the same order as the direct forward (the input
  gradient is the forward of the flipped kernel), the weight gradient reassociated;
* *depthwise 3x3, channels-last* (:mod:`numbaconv.cpu.depthwise`, CPU only): forward and
  weight gradient of 2-D layers with one filter per channel, any stride, padding and
  dilation, vectorised over the channels with the taps of a pass sharing their loads;
* *Winograd* F(2x2, 3x3) (:mod:`numbaconv.cpu.winograd`, CPU only): 2-D 3x3 stride-1
  layers (dilation up to 4) with at least 32 input and output channels, forward and input
  gradient (the input gradient of such a layer is again one), both layouts, non-finite
  data redone by GEMM;
* *GEMM* (CPU only): a fixed number of independent work items (image x group x block of
  output rows, or of channels for the gradients); each runs a GIL-free njit
  :func:`_im2col` (:func:`_im2col_cl`) into a per-thread buffer and one single-threaded
  BLAS GEMM through NumPy's ``matmul``, on :func:`numbaconv.cpu.threads.run_items`'s
  threads, or on the calling thread below :data:`GEMM_PARALLEL_WORK`. The input gradient
  is ``col2im(W^T @ G)``, the weight gradient ``G @ cols^T`` summed over the batch in
  order; the bias rides along as a row of ones.

Determinism: every output element of a direct or grid kernel is summed by one item in a
fixed order, and the GEMM blocking is a constant (:data:`_ITEMS`), so results do not
depend on the thread count or on the serial/parallel choice.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np

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
    G_N,
    G_SD,
    G_SH,
    G_SW,
    G_W,
    G_WO,
    ConvGeometry,
    make_geometry,
)
from ..loops.conv import (
    forward_block,
    forward_cl_block,
    input_grad_block,
    input_grad_cl_block,
    span,
    weight_grad_cl_block,
    weight_grad_run,
)
from . import conv_plan as _plan
from . import depthwise as _depthwise
from . import strided as _strided
from .jit import I0, cl_grid, cl_grid_offsets, copy_elems, njit, pad_into, transpose_into
from .native import team_runs
from .simd import (
    FILTERS,
    OUTER_TAPS,
    PAIR_TAPS,
    POSITIONS,
    positions_block,
    taps_block,
    taps_outer,
    taps_outer_pairs,
)
from .simd import lanes as _lanes
from .threads import run_items as _run
from .threads import run_ranges, scratch
from .threads import split as _split

#: multiply-adds below which a direct kernel runs serially on the calling thread (handing
#: work to a Python thread, ~30 us, costs more than it saves)
PARALLEL_WORK = 1 << 19
#: runs of items a parallel direct kernel is cut into (each item's result does not depend
#: on the cut)
_CHUNKS = 16

#: the zero-length "no bias" arrays the kernels take instead of None (one specialisation)
_NO_BIAS = {np.dtype(np.float32): np.empty(0, np.float32),
            np.dtype(np.float64): np.empty(0, np.float64)}

# Hot loops index flat arrays with unsigned offsets: Numba then skips the negative-index
# wraparound select and LLVM vectorises the copy (measured 6-10x on im2col).
_U = np.uint64


# ----------------------------------------------------------------------------------------------
# direct kernels: a serial item kernel each, run on the calling thread or in chunks on threads


@njit(cache=True, nogil=True)
def _forward_planes(xf, wf, bf, of, geo, p0, p1):
    """Output planes ``(n, k, od)`` ``[p0, p1)``: the bias (or 0), then every tap."""
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    zero = of.dtype.type(0)
    size = Ho * Wo
    for p in range(p0, p1):
        od = p % Do
        k = (p // Do) % K
        base = p * size
        init = bf[k] if bf.size else zero
        for j in range(size):
            of[_U(base + j)] = init
        forward_block(of, base, Wo, xf, wf, geo, p // (Do * K), k, od, 0, Ho, 0, Wo)


@njit(cache=True, nogil=True)
def _input_grad_planes(gf, wf, bf, df, geo, p0, p1):
    """Input-gradient planes ``(n, ci, id)`` ``[p0, p1)``: the bias (or 0), then every
    ``w * g`` that reads the plane."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    zero = df.dtype.type(0)
    size = H * W
    for p in range(p0, p1):
        i_d = p % D
        ci = (p // D) % C
        base = p * size
        init = bf[ci] if bf.size else zero
        for j in range(size):
            df[_U(base + j)] = init
        input_grad_block(df, base, W, gf, wf, geo, p // (D * C), ci, i_d, 0, H, 0, W)


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


def _threaded(kernel, args, items: int) -> None:
    """``kernel(*args, i0, i1)`` over ``range(items)`` (independent items) in up to
    :data:`_CHUNKS` runs on Python threads: the thread team of the GEMM paths, so that a
    training step never has an OpenMP team spinning on the core its workers need."""
    run_ranges(kernel, args, items, max(1, -(-items // _CHUNKS)))


def _bias_array(bias, dtype):
    return _NO_BIAS[dtype] if bias is None else bias.ravel()


# The serial path calls the item kernel itself on all the items (no driver to compile).


def _on_items(kernel, args: tuple, items: int, serial: bool) -> None:
    """``kernel(*args, i0, i1)`` over ``range(items)``: on the calling thread when
    ``serial``, else in runs on the threads (:func:`_threaded`)."""
    if serial:
        kernel(*args, 0, items)
    else:
        _threaded(kernel, args, items)


def _direct_runner(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: the direct loops (:func:`_forward_planes`) over the call's
    output planes, on the calling thread below :data:`PARALLEL_WORK` multiply-adds, the
    constants looked up once (a repeated tiny 1-D call, (1, 1, 16) * (1, 1, 3), routed
    afresh on every call took 11 us)."""
    _, ho, wo = geometry.out_size
    hw, geo, no_bias = ho * wo, geometry.array, _NO_BIAS[np.dtype(dtype)]
    serial = geometry.macs < PARALLEL_WORK

    def run(x, w, bias, out):
        _on_items(_forward_planes, (x.ravel(), w.ravel(), no_bias if bias is None
                                    else bias.ravel(), out.ravel(), geo), out.size // hw, serial)

    return run


def _direct_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    _direct_runner(geometry, out.dtype)(x, w, bias, out)


def _direct_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    args = (g.ravel(), w.ravel(), _bias_array(bias, dx.dtype), dx.ravel(), geometry.array)
    _, h, w_ = geometry.in_size
    planes = dx.size // (h * w_)
    if geometry.macs < PARALLEL_WORK:
        _input_grad_planes(*args, 0, planes)
    else:
        _threaded(_input_grad_planes, args, planes)


def _direct_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    args = (x.ravel(), g.ravel(), dw.ravel(), geometry.array)
    planes = geometry.filters * geometry.group_channels
    if geometry.macs < PARALLEL_WORK:
        _weight_grad_planes(*args, 0, planes)
    else:
        _threaded(_weight_grad_planes, args, planes)


# ----------------------------------------------------------------------------------------------
# Grid kernels (CPU only) for stride 1 in (H, W): output position (oh, ow) lives at
# q = oh*Wp + ow of a padded-width grid and reads padded input q + th*dh*Wp + tw*dw, so
# every tap is ONE contiguous run over a block of output rows (rows of ~56 are too short
# for LLVM's unrolled vector loop). The (Wp - Wo) extra columns per row are computed and
# dropped. Each item pads the planes it reads into a small local buffer, so they stay in
# L1 and the input is read once. The forward sums each output's taps in the row kernels'
# order, ((bias + t0) + t1) + ..., so it gives their results bit for bit.

#: output elements (grid positions) one pass over the taps covers: the accumulator block
#: and the padded planes then stay in L1
_ACC_BLOCK = 1024
#: fewest work items the grid forward splits a call into, unless that leaves an item less
#: than _GRID_ITEM_WORK multiply-adds (each item pads its input planes and starts its own
#: loops: a batch-1 (1, 1, 28, 28) -> 32 layer in 16 items took 24 us, in 2 items 17)
_GRID_ITEMS = 16
_GRID_ITEM_WORK = 1 << 16
#: runs the filter- and position-block kernels' parallel calls are cut into (any cut gives
#: the same bits: each output element is one item's)
_BLOCK_PARTS = 8
#: output positions (padded-width grid) of one block of :func:`_grid_forward_blocks`:
#: FILTERS accumulator rows of this many elements stay in the L1 cache
_BLOCK_POSITIONS = 512
GRID_WORK = _plan.GRID_WORK


@njit(cache=True, nogil=True)
def _grid_taps(acc, xp, offs, wts, nt, q0, L):
    """``acc[q] += wts[t] * xp[offs[t] + q0 + q]`` for the taps ``t < nt`` in order, ``q < L``,
    nine or three taps per pass (each element still rounds as ``((a + t0) + t1) + ...``)."""
    t = 0
    while t < nt:
        if nt - t >= 9:
            w0, w1, w2 = wts[t], wts[t + 1], wts[t + 2]
            w3, w4, w5 = wts[t + 3], wts[t + 4], wts[t + 5]
            w6, w7, w8 = wts[t + 6], wts[t + 7], wts[t + 8]
            o0, o1, o2 = _U(offs[t] + q0), _U(offs[t + 1] + q0), _U(offs[t + 2] + q0)
            o3, o4, o5 = _U(offs[t + 3] + q0), _U(offs[t + 4] + q0), _U(offs[t + 5] + q0)
            o6, o7, o8 = _U(offs[t + 6] + q0), _U(offs[t + 7] + q0), _U(offs[t + 8] + q0)
            for q in range(L):
                u = _U(q)
                s = acc[u] + w0 * xp[o0 + u]
                s = s + w1 * xp[o1 + u]
                s = s + w2 * xp[o2 + u]
                s = s + w3 * xp[o3 + u]
                s = s + w4 * xp[o4 + u]
                s = s + w5 * xp[o5 + u]
                s = s + w6 * xp[o6 + u]
                s = s + w7 * xp[o7 + u]
                acc[u] = s + w8 * xp[o8 + u]
            t += 9
        elif nt - t >= 3:
            w0, w1, w2 = wts[t], wts[t + 1], wts[t + 2]
            o0, o1, o2 = _U(offs[t] + q0), _U(offs[t + 1] + q0), _U(offs[t + 2] + q0)
            for q in range(L):
                u = _U(q)
                s = acc[u] + w0 * xp[o0 + u]
                s = s + w1 * xp[o1 + u]
                acc[u] = s + w2 * xp[o2 + u]
            t += 3
        else:
            w0 = wts[t]
            o0 = _U(offs[t] + q0)
            for q in range(L):
                u = _U(q)
                acc[u] = acc[u] + w0 * xp[o0 + u]
            t += 1


@njit(cache=True, nogil=True)
def _grid_forward_items(xf, wf, bf, of, geo, kb, i0, i1):
    """Grid forward items ``[i0, i1)``: item = (image, group, block of ``kb`` filters). The
    item pads its group's input planes (shared by its filters), then for every filter,
    output depth and block of output rows sums the taps in the order ``(c, td, th, tw)``
    and copies the rows out."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    cg, kd, kh, kw = geo[G_CG], geo[G_KD], geo[G_KH], geo[G_KW]
    sd, ld, lh, lw = geo[G_SD], geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    groups = geo[G_GROUPS]
    kg = K // groups
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    nkb = (kg + kb - 1) // kb
    PL = (Hp + 1) * Wp
    ntap = cg * kd * kh * kw
    rb = max(1, min(Ho, _ACC_BLOCK // Wp))
    xp = np.empty(cg * D * PL, dtype=of.dtype)
    acc = np.empty(rb * Wp, dtype=of.dtype)
    offs = np.empty(ntap, dtype=np.int64)
    wts = np.empty(ntap, dtype=of.dtype)
    zero = of.dtype.type(0)
    for it in range(i0, i1):
        n = it // (groups * nkb)
        gi = (it // nkb) % groups
        k0 = gi * kg + (it % nkb) * kb
        k1 = min(k0 + kb, (gi + 1) * kg)
        for c in range(cg):
            for d in range(D):
                pad_into(xf, ((n * C + gi * cg + c) * D + d) * H * W, H, W, xp,
                         (c * D + d) * PL, lh, lw, Hp, Wp)
        for k in range(k0, k1):
            b = bf[k] if bf.size else zero
            for od in range(Do):
                nt = I0  # (a run-time 0: a literal one compiles _grid_taps twice)
                for c in range(cg):
                    for td in range(kd):
                        i_d = od * sd - ld + td * dd
                        if i_d < 0 or i_d >= D:
                            continue
                        for th in range(kh):
                            for tw in range(kw):
                                offs[nt] = (c * D + i_d) * PL + th * dh * Wp + tw * dw
                                wts[nt] = wf[(((k * cg + c) * kd + td) * kh + th) * kw + tw]
                                nt += 1
                for oh0 in range(0, Ho, rb):
                    nr = min(rb, Ho - oh0)
                    L = nr * Wp
                    for q in range(L):
                        acc[q] = b
                    _grid_taps(acc, xp, offs, wts, nt, oh0 * Wp, L)
                    ob = (((n * K + k) * Do + od) * Ho + oh0) * Wo
                    for r in range(nr):
                        copy_elems(of, _U(ob + r * Wo), acc, _U(r * Wp), Wo)


@njit(cache=True, nogil=True)
def _grid_forward_blocks(xf, wf, bf, of, geo, V, i0, i1):
    """Grid forward of a 2-D layer (groups 1) in blocks of :data:`FILTERS` filters, items
    ``[i0, i1)``: item = (image, block; the last block ends at the last filter, overlapping
    the one before where FILTERS does not divide K: its filters are computed twice, the
    same way). The item pads the image's planes, then runs :func:`taps_block` in vectors of
    ``V`` positions (the dtype's :func:`lanes`): along each output row, straight into the
    output, where a row holds a vector (the last one overlapping the one before); else
    along the padded-width grid of a block of rows into an accumulator block whose rows are
    then copied out. Each output element: bias, then the taps in the order ``(c, th, tw)``,
    fused multiply-adds."""
    C, H, W = geo[G_C], geo[G_H], geo[G_W]
    K, Ho, Wo = geo[G_K], geo[G_HO], geo[G_WO]
    kh, kw, lh, lw = geo[G_KH], geo[G_KW], geo[G_LH], geo[G_LW]
    dh, dw = geo[G_DH], geo[G_DW]
    F = FILTERS
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    PL = (Hp + 1) * Wp
    nt = C * kh * kw
    nkb = (K + F - 1) // F
    rows = Wo >= V  # vectors along the output rows
    rb = max(1, min(Ho, _BLOCK_POSITIONS // Wp))
    nrb = (Ho + rb - 1) // rb
    rb = (Ho + nrb - 1) // nrb  # blocks of even size
    LB = max(rb * Wp, V)
    xp = np.empty(C * PL + V, dtype=of.dtype)
    xp[C * PL:] = 0
    acc = np.empty(0 if rows else F * LB, dtype=of.dtype)
    offs = np.empty(nt, dtype=np.int64)
    wts = np.empty(nt * F, dtype=of.dtype)
    bb = np.zeros(F, dtype=of.dtype)
    for c in range(C):
        for th in range(kh):
            for tw in range(kw):
                offs[(c * kh + th) * kw + tw] = c * PL + th * dh * Wp + tw * dw
    last_n = -1
    for it in range(i0, i1):
        n = it // nkb
        k0 = min((it % nkb) * F, K - F)
        if n != last_n:
            for c in range(C):
                pad_into(xf, (n * C + c) * H * W, H, W, xp, c * PL, lh, lw, Hp, Wp)
            last_n = n
        for f in range(F):
            if bf.size:
                bb[f] = bf[k0 + f]
            for t in range(nt):
                wts[t * F + f] = wf[(k0 + f) * nt + t]
        # (one call site of the intrinsic for both forms: half the compile time)
        step = 1 if rows else rb
        for oh0 in range(0, Ho, step):
            nr = min(step, Ho - oh0)
            L = Wo if rows else nr * Wp
            q = 0
            while q < L:
                qv = min(q, max(L - V, 0))
                if rows:
                    dst, a0, stride = of, ((n * K + k0) * Ho + oh0) * Wo + qv, Ho * Wo
                else:
                    dst, a0, stride = acc, qv, LB
                taps_block(dst, a0, stride, xp, oh0 * Wp + qv, offs, wts, bb, nt)
                q += V
            if rows:
                continue
            for f in range(F):
                ob = ((n * K + k0 + f) * Ho + oh0) * Wo
                for r in range(nr):
                    copy_elems(of, _U(ob + r * Wo), acc, _U(f * LB + r * Wp), Wo)


@njit(cache=True, nogil=True)
def _grid_forward_cl_blocks(xf, wt, bf, of, geo, i0, i1):
    """Channels-last forward of a 2-D layer (groups 1) with few channels, images ``[i0,
    i1)``: each image padded into a zero-bordered ``(Hp + 1, Wp, C)`` grid, then every output
    row in blocks of :data:`POSITIONS` neighbouring positions (the last block overlapping
    the one before) by :func:`positions_block`, all filters in vectors. ``wt``: the weights
    ``(C * kh * kw, K)``, taps in the order ``(c, th, tw)``; ``bf``: K biases (zeros for
    none). Each output element: bias, then the taps in that order, fused multiply-adds (the
    channels-first blocks' sums: the same bits in either layout)."""
    C, H, W = geo[G_C], geo[G_H], geo[G_W]
    K, Ho, Wo = geo[G_K], geo[G_HO], geo[G_WO]
    kh, kw, sh, sw = geo[G_KH], geo[G_KW], geo[G_SH], geo[G_SW]
    lh, lw = geo[G_LH], geo[G_LW]
    Hp, Wp = cl_grid(geo)
    nt = C * kh * kw
    xp = np.empty((Hp + 1) * Wp * C, dtype=of.dtype)
    offs = np.empty(nt, dtype=np.int64)
    cl_grid_offsets(offs, geo, Wp)
    for n in range(i0, i1):
        # the image as an (H, W*C) plane: the channels-first grids' padding, C to a column
        pad_into(xf, n * H * W * C, H, W * C, xp, I0, lh, lw * C, Hp, Wp * C)
        for oh in range(Ho):
            j = 0
            while j < Wo:
                jv = min(j, Wo - POSITIONS)
                positions_block(of, ((n * Ho + oh) * Wo + jv) * K, xp,
                                (oh * sh * Wp + jv * sw) * C, sw * C, offs, wt, bf, nt, K)
                j += POSITIONS


@njit(cache=True, nogil=True)
def _cl_thin_weight_grad(xf, gf, part, geo, parts, i0, i1, g_cf, pairs):
    """Channels-last weight gradient of a 2-D layer (groups 1) with few channels, parts
    ``[i0, i1)`` of ``parts`` (:func:`_thin_part`: a run of images, or with fewer images
    than parts a band of one image's output rows): ``part[p]`` ``(Tp, K)`` gets, for each
    tap ``t = (c, th, tw)`` (``Tp``: the taps rounded up to the taps of a pass, the extra
    rows unused), the sum over the part's output positions of ``x`` at that tap times the
    gradient's row of filters. The input rows a band reads are padded into a zero-bordered
    ``(rows + 1, Wp, C)`` grid (as the channels-last forward blocks do), then every output
    row by :func:`taps_outer`, nine taps a pass with every filter in vectors (``pairs``: by
    :func:`taps_outer_pairs`, six taps a pass and two vectors of filters at a time; the
    same sums): a row's sums in position order, added to the part row by row in order
    (the bits depend on the shapes and ``parts`` alone). ``g_cf``: the gradient is channels-first, each output row
    copied transposed into a row buffer first (the same bits as a channels-last copy of the
    whole gradient, without its pass over memory)."""
    N, C, H, W = geo[G_N], geo[G_C], geo[G_H], geo[G_W]
    K, Ho, Wo = geo[G_K], geo[G_HO], geo[G_WO]
    kh, kw, sh, sw = geo[G_KH], geo[G_KW], geo[G_SH], geo[G_SW]
    lh, lw, dh = geo[G_LH], geo[G_LW], geo[G_DH]
    Hp, Wp = cl_grid(geo)
    T = C * kh * kw
    Tp = part.shape[1]
    xp = np.empty((Hp + 1) * Wp * C, dtype=part.dtype)
    offs = np.zeros(Tp, dtype=np.int64)  # (the extra taps read the grid's first element)
    cl_grid_offsets(offs, geo, Wp)
    zero = part.dtype.type(0)
    grow = np.empty(Wo * K if g_cf else 0, dtype=part.dtype)
    for p in range(i0, i1):
        pf = part[p].reshape(-1)
        for q in range(pf.size):
            pf[q] = zero
        n0, n1, oh0, oh1 = _thin_part(N, Ho, parts, p)
        rows = (oh1 - oh0 - 1) * sh + (kh - 1) * dh + 1
        for n in range(n0, n1):
            pad_into(xf, n * H * W * C, H, W * C, xp, I0, lh - oh0 * sh, lw * C, rows,
                     Wp * C)
            for oh in range(oh0, oh1):
                gsrc, gb = gf, (n * Ho + oh) * Wo * K
                if g_cf:
                    transpose_into(gf, n * K * Ho * Wo + oh * Wo, Ho * Wo, grow, 0, K, K, Wo)
                    gsrc, gb = grow, 0
                xb = (oh - oh0) * sh * Wp * C
                for t0 in range(0, T, PAIR_TAPS if pairs else OUTER_TAPS):
                    if pairs:
                        taps_outer_pairs(pf, t0 * K, xp, xb, sw * C, offs, t0, gsrc, gb, K, Wo)
                    else:
                        taps_outer(pf, t0 * K, xp, xb, sw * C, offs, t0, gsrc, gb, K, Wo)


@njit(inline="always")
def _thin_part(N, Ho, parts, p):
    """``(n0, n1, oh0, oh1)`` of part ``p`` of ``parts``: with at least as many images as
    parts a run of images, whole; else image ``p // (parts // N)``'s band ``p % (parts //
    N)`` of output rows (``parts`` a multiple of ``N`` then)."""
    if N >= parts:
        return p * N // parts, (p + 1) * N // parts, 0, Ho
    bands = parts // N
    n, b = p // bands, p % bands
    return n, n + 1, b * Ho // bands, (b + 1) * Ho // bands


def _cl_thin_apply(geometry: ConvGeometry, itemsize: int) -> bool:
    """Whether :func:`_cl_thin_weight_grad` takes a weight gradient: 2-D, groups 1, at most
    :data:`THIN_CHANNELS` input channels, at least a vector of filters, padding before the
    data >= 0, a non-empty gradient; channels-last, or channels-first where the grid
    kernels do not take it (a stride) and each gradient element meets at least
    :data:`THIN_TRANSPOSED_TAPS` taps (the arrays are then copied channels-last first)."""
    geo = geometry
    return ((geo.channels_last or (geo.stride[1:] != (1, 1)
                                   and geo.channels * geo.taps >= THIN_TRANSPOSED_TAPS))
            and geo.groups == 1 and geo.planar and 0 < geo.channels <= THIN_CHANNELS
            and min(geo.lo) >= 0 and geo.filters >= _lanes(itemsize) and geo.batch > 0
            and min(geo.out_size) > 0)


#: taps per gradient element (``C*kh*kw``) from which a channels-first few-channel weight
#: gradient with a stride copies its input and gradient channels-last for
#: :func:`_cl_thin_weight_grad` (a copy of an element costs about as much as a few of its
#: multiply-adds there): the 7x7/2 stem (147 taps), not a 3x3 layer
THIN_TRANSPOSED_TAPS = 64


#: taps (``C*kh*kw``) from which :func:`_cl_thin_weight_grad` runs six taps by two filter
#: vectors a pass: against nine taps by one vector, two Zen 3 threads, the same bits: the
#: stem (147 taps) 1.42-1.44x, 5x5 and 7x7 kernels on 1-3 channels and 3x3 on 4 (36-75
#: taps) 1.09-1.35x; 27 taps (3x3 on RGB) 1.00-1.07x, 9 taps 0.86x (a third of its second
#: pass wasted)
PAIR_MIN_TAPS = 36


def _cl_thin_weight_grad_run(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw`` by :func:`_cl_thin_weight_grad`: the parts (:data:`_BLOCK_PARTS`, or fewer
    where the images have fewer output rows, a function of the shapes alone) on Numba's
    threads above :data:`THIN_PARALLEL_WORK`
    multiply-adds, then summed in order and transposed into ``(K, C, kh, kw)``. ``x``
    channels-last; ``g`` in the layer's layout."""
    K, T, N = geometry.filters, geometry.channels * geometry.taps, geometry.batch
    # runs of images, or bands of rows of fewer images; one part for small work (the
    # parts are a function of the shapes alone)
    serial = geometry.macs < THIN_PARALLEL_WORK
    parts = 1 if serial else _BLOCK_PARTS if N >= _BLOCK_PARTS else N * min(
        _BLOCK_PARTS // N, geometry.out_size[1])
    # six taps by two vectors of filters a pass (taps_outer_pairs) for a long reduction; a
    # short one wastes taps in the last pass, an odd count of filter vectors lanes in the
    # last pair (the same bits either way)
    vectors = -(-K // _lanes(dw.dtype.itemsize))
    pairs = T >= PAIR_MIN_TAPS and vectors >= 2 and (vectors % 2 == 0 or vectors >= 5)
    step = PAIR_TAPS if pairs else OUTER_TAPS
    part = np.empty((parts, -(-T // step) * step, K), dw.dtype)
    args = (x.ravel(), g.ravel(), part, geometry.array, parts)
    flags = (np.bool_(not geometry.channels_last), np.bool_(pairs))
    if serial or parts == 1:
        _cl_thin_weight_grad(*args, 0, parts, *flags)
    else:
        team_runs(_cl_thin_weight_grad, args, parts, parts, flags)
    total = part[0, :T]
    for p in range(1, parts):  # (the parts added in order)
        total = total + part[p, :T]
    dw.reshape(K, T)[...] = total.T


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _grid_weight_grad_planes(xf, gf, dwf, geo, p0, p1):
    """Grid weight gradient of weight planes ``(k, c)`` ``[p0, p1)``.

    For each image the item pads its input planes and grids its ``g`` planes (zeros in the
    extra columns) into local buffers, then every tap is a dot product of long runs, three
    taps per pass sharing the ``g`` loads; ``reassoc`` lets LLVM keep vector partial sums in
    registers. A tap's total is the sum of its per-(image, depth) dot products in order;
    the association is fixed at compile time, so results do not depend on the threads.
    """
    N, C, D, H, W = geo[G_N], geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    cg, kd, kh, kw = geo[G_CG], geo[G_KD], geo[G_KH], geo[G_KW]
    sd, ld, lh, lw = geo[G_SD], geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    kg = K // geo[G_GROUPS]
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    L = Ho * Wp
    PL = (Hp + 1) * Wp
    ntap = kd * kh * kw
    xp = np.empty(D * PL, dtype=dwf.dtype)
    gg = np.empty(Do * L, dtype=dwf.dtype)
    total = np.empty(ntap, dtype=dwf.dtype)
    offs = np.empty(ntap, dtype=np.int64)
    for p in range(p0, p1):
        k = p // cg
        ci = (k // kg) * cg + p % cg
        total[:] = 0
        for n in range(N):
            for d in range(D):
                pad_into(xf, ((n * C + ci) * D + d) * H * W, H, W, xp, d * PL, lh, lw, Hp, Wp)
            for od in range(Do):
                for oh in range(Ho):
                    src = (((n * K + k) * Do + od) * Ho + oh) * Wo
                    dst = od * L + oh * Wp
                    for ow in range(Wo):
                        gg[_U(dst + ow)] = gf[_U(src + ow)]
                    for ow in range(Wo, Wp):
                        gg[_U(dst + ow)] = 0
            for od in range(Do):
                gb = _U(od * L)
                for td in range(kd):
                    i_d = od * sd - ld + td * dd
                    if i_d < 0 or i_d >= D:
                        offs[td * kh * kw:(td + 1) * kh * kw] = -1
                        continue
                    for th in range(kh):
                        for tw in range(kw):
                            offs[(td * kh + th) * kw + tw] = i_d * PL + th * dh * Wp + tw * dw
                t = 0
                while t < ntap:
                    if offs[t] < 0:
                        t += 1
                        continue
                    if t + 3 <= ntap and offs[t + 1] >= 0 and offs[t + 2] >= 0:
                        o0, o1, o2 = _U(offs[t]), _U(offs[t + 1]), _U(offs[t + 2])
                        s0 = dwf.dtype.type(0)
                        s1 = dwf.dtype.type(0)
                        s2 = dwf.dtype.type(0)
                        for q in range(L):
                            u = _U(q)
                            gv = gg[gb + u]
                            s0 += gv * xp[o0 + u]
                            s1 += gv * xp[o1 + u]
                            s2 += gv * xp[o2 + u]
                        total[t] += s0
                        total[t + 1] += s1
                        total[t + 2] += s2
                        t += 3
                    else:
                        o0 = _U(offs[t])
                        s0 = dwf.dtype.type(0)
                        for q in range(L):
                            u = _U(q)
                            s0 += gg[gb + u] * xp[o0 + u]
                        total[t] += s0
                        t += 1
        for t in range(ntap):
            dwf[p * ntap + t] = total[t]


@njit(inline="always", fastmath={"reassoc", "contract"})
def _dots3x3(xv, xa, xb, xc, gv, ga, gb, gc, L, zero):
    """The nine dot products of three runs of ``gv`` (at ``ga``, ``gb``, ``gc``) with three
    of ``xv`` (at ``xa``, ``xb``, ``xc``), ``L`` elements each, as ``(g0.xa, g0.xb, g0.xc,
    g1.xa, ..., g2.xc)``: six loads for nine multiply-adds a step, the partial sums in
    vector registers (``reassoc``; the association is fixed at compile time)."""
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = zero
    for q in range(L):
        u = _U(q)
        va, vb, vc = xv[xa + u], xv[xb + u], xv[xc + u]
        g0, g1, g2 = gv[ga + u], gv[gb + u], gv[gc + u]
        s00 += g0 * va
        s01 += g0 * vb
        s02 += g0 * vc
        s10 += g1 * va
        s11 += g1 * vb
        s12 += g1 * vc
        s20 += g2 * va
        s21 += g2 * vb
        s22 += g2 * vc
    return (s00, s01, s02, s10, s11, s12, s20, s21, s22)


#: filters per block of the blocked grid weight gradient (three at a time share each input
#: load; a block is one work item)
_KBLOCK = 6


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _grid_weight_grad_kblocks(xf, gf, dwf, geo, b0, b1):
    """Grid weight gradient of a 2-D, ungrouped layer (one input and output depth) by blocks of :data:`_KBLOCK` filters
    ``[b0, b1)``: for every image the block pads all input planes and grids its ``g``
    planes once, then sums three filters by three taps at a time (nine dot products of
    long runs sharing six loads a step; :func:`_grid_weight_grad_planes` pads and grids
    again for every (filter, channel) pair and shares one load for three taps). A tap's
    total is its per-image dot products added in image order (association fixed at compile
    time: the same bits at any thread count)."""
    N, C, H, W = geo[G_N], geo[G_C], geo[G_H], geo[G_W]
    K, Ho, Wo = geo[G_K], geo[G_HO], geo[G_WO]
    kh, kw, lh, lw = geo[G_KH], geo[G_KW], geo[G_LH], geo[G_LW]
    dh, dw = geo[G_DH], geo[G_DW]
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    L = Ho * Wp
    PL = (Hp + 1) * Wp
    T = kh * kw
    kb = _KBLOCK
    xp = np.empty(C * PL, dtype=dwf.dtype)
    gg = np.empty(kb * L, dtype=dwf.dtype)
    total = np.empty(kb * C * T, dtype=dwf.dtype)
    offs = np.empty(T, dtype=np.int64)
    for th in range(kh):
        for tw in range(kw):
            offs[th * kw + tw] = th * dh * Wp + tw * dw
    zero = dwf.dtype.type(0)
    for b in range(b0, b1):
        k0 = b * kb
        nk = min(kb, K - k0)
        total[:] = 0
        for n in range(N):
            for c in range(C):
                pad_into(xf, (n * C + c) * H * W, H, W, xp, c * PL, lh, lw, Hp, Wp)
            for j in range(nk):
                for oh in range(Ho):
                    dst = j * L + oh * Wp
                    copy_elems(gg, _U(dst), gf, _U(((n * K + k0 + j) * Ho + oh) * Wo), Wo)
                    for ow in range(Wo, Wp):
                        gg[_U(dst + ow)] = zero
            for c in range(C):
                for j in range(0, nk, 3):
                    nj = min(3, nk - j)
                    ga = _U(j * L)
                    gb_ = _U((j + 1) * L) if nj > 1 else ga
                    gc = _U((j + 2) * L) if nj > 2 else ga
                    for t in range(0, T, 3):
                        nt = min(3, T - t)
                        xa = _U(c * PL + offs[t])
                        xb = _U(c * PL + offs[t + 1]) if nt > 1 else xa
                        xc = _U(c * PL + offs[t + 2]) if nt > 2 else xa
                        # (rows and taps past nj / nt repeat the first: computed, not kept)
                        sums = _dots3x3(xp, xa, xb, xc, gg, ga, gb_, gc, L, zero)
                        for a in range(nj):
                            for e in range(nt):
                                total[((j + a) * C + c) * T + t + e] += sums[3 * a + e]
        for i in range(nk * C * T):
            dwf[k0 * C * T + i] = total[i]


#: most input channels for which the blocked weight gradient reads the output gradient in
#: place (:func:`_grid_weight_grad_thin`): it then builds ``kw`` column-shifted copies of each
#: input plane per image, where the grid kernel copies the block's gradient planes
THIN_CHANNELS = 4
#: ... which runs on the calling thread below this many multiply-adds, above on Numba's
#: threads (:func:`~.native.team_runs`; on Python threads, handing half of
#: (8, 1, 28, 28) -> 32 (1.6M) to a second thread took 0.09 ms where one thread takes
#: 0.06: waking it and handing it the GIL cost 20-40 us on the 2-core virtual machine)
THIN_PARALLEL_WORK = 1 << 20


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _grid_weight_grad_thin(xf, gf, acc, geo, parts, i0, i1):
    """:func:`_grid_weight_grad_kblocks` for few input channels: for every image the block
    builds, per channel and kernel column ``tw``, the input shifted by ``tw`` columns with the
    output's row length (``xs[c, tw, h, ow] = xpad[h, ow + tw*dw]``, zeros outside), so that
    tap ``(th, tw)`` of an output position ``p`` reads ``xs[c, tw]`` at ``p + th*dh*Wo``:
    the dot products then run over the gradient planes where they lie (no copy, no zero
    columns), three filters by three taps at a time. Item ``i`` is filter block ``i //
    parts`` over the images of part ``i % parts`` (the images split evenly: a block's work
    no longer waits on the one block left over), its totals in ``acc[i % parts]``; a tap's
    total is its per-image dot products added in image order, and the caller adds the
    parts in order (the same bits at any thread count). (64, 1, 28, 28) -> 32, Zen 4: one
    thread 0.53 -> 0.39 ms, two 0.33 -> 0.25 (the grid kernel copied 6 MB of gradient)."""
    N, C, H, W = geo[G_N], geo[G_C], geo[G_H], geo[G_W]
    K, Ho, Wo = geo[G_K], geo[G_HO], geo[G_WO]
    kh, kw, lh, lw = geo[G_KH], geo[G_KW], geo[G_LH], geo[G_LW]
    dh, dw = geo[G_DH], geo[G_DW]
    Hp = Ho + (kh - 1) * dh
    L = Ho * Wo
    SL = Hp * Wo  # one shifted plane
    T = kh * kw
    kb = _KBLOCK
    xs = np.empty(C * kw * SL, dtype=acc.dtype)
    total = np.empty(kb * C * T, dtype=acc.dtype)
    offs = np.empty(T, dtype=np.int64)
    for th in range(kh):
        for tw in range(kw):
            offs[th * kw + tw] = tw * SL + th * dh * Wo
    zero = acc.dtype.type(0)
    for i in range(i0, i1):
        b, part = i // parts, i % parts
        k0 = b * kb
        nk = min(kb, K - k0)
        total[:] = 0
        for n in range(part * N // parts, (part + 1) * N // parts):
            for c in range(C):
                for tw in range(kw):
                    # columns ow whose input ow + tw*dw - lw lies inside x: [j0, j1)
                    j0 = min(Wo, max(0, lw - tw * dw))
                    j1 = max(j0, min(Wo, W + lw - tw * dw))
                    for h in range(Hp):
                        ih = h - lh
                        dst = _U((c * kw + tw) * SL + h * Wo)
                        if ih < 0 or ih >= H:
                            for j in range(Wo):
                                xs[dst + _U(j)] = zero
                            continue
                        for j in range(j0):
                            xs[dst + _U(j)] = zero
                        copy_elems(xs, dst + _U(j0), xf,
                                   _U((n * C + c) * H * W + ih * W + j0 + tw * dw - lw), j1 - j0)
                        for j in range(j1, Wo):
                            xs[dst + _U(j)] = zero
            for c in range(C):
                for j in range(0, nk, 3):
                    nj = min(3, nk - j)
                    ga = _U((n * K + k0 + j) * L)
                    gb_ = _U((n * K + k0 + j + 1) * L) if nj > 1 else ga
                    gc = _U((n * K + k0 + j + 2) * L) if nj > 2 else ga
                    for t in range(0, T, 3):
                        nt = min(3, T - t)
                        xa = _U(c * kw * SL + offs[t])
                        xb = _U(c * kw * SL + offs[t + 1]) if nt > 1 else xa
                        xc = _U(c * kw * SL + offs[t + 2]) if nt > 2 else xa
                        # (rows and taps past nj / nt repeat the first: computed, not kept)
                        sums = _dots3x3(xs, xa, xb, xc, gf, ga, gb_, gc, L, zero)
                        for a in range(nj):
                            for e in range(nt):
                                total[((j + a) * C + c) * T + t + e] += sums[3 * a + e]
        dst = acc[part]
        for e in range(nk * C * T):
            dst[k0 * C * T + e] = total[e]


def _use_grid(geometry: ConvGeometry, lo) -> bool:
    """A stride-1 (H, W) layer, read with padding ``lo`` >= 0 before the data, with enough
    work for the grid kernels."""
    return (geometry.stride[1] == geometry.stride[2] == 1 and min(lo) >= 0
            and geometry.macs >= GRID_WORK and not geometry.channels_last)


def _blocks_apply(geometry: ConvGeometry) -> bool:
    """Whether :func:`_grid_forward_blocks` takes a grid layer: 2-D, groups 1, at least
    :data:`FILTERS` filters."""
    return geometry.groups == 1 and geometry.planar and geometry.filters >= FILTERS


def _blocks_runner(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: :func:`_grid_forward_blocks` over the call's items (image x
    block of FILTERS filters; each output element is summed by one item, so the cut changes
    nothing), the constants looked up once. On the calling thread below
    :data:`PARALLEL_WORK` multiply-adds, above on Numba's threads
    (:func:`~.native.team_runs`)."""
    items = geometry.batch * -(-geometry.filters // FILTERS)
    geo, lanes = geometry.array, np.int64(_lanes(np.dtype(dtype).itemsize))
    no_bias, serial = _NO_BIAS[np.dtype(dtype)], geometry.macs < PARALLEL_WORK
    parts = min(items, _BLOCK_PARTS)

    def run(x, w, bias, out):
        args = (x.ravel(), w.ravel(), no_bias if bias is None else bias.ravel(), out.ravel(),
                geo, lanes)
        if serial:
            _grid_forward_blocks(*args, 0, items)
        else:
            team_runs(_grid_forward_blocks, args, items, parts)

    return run


def _cl_blocks_apply(geometry: ConvGeometry, itemsize: int) -> bool:
    """Whether :func:`_grid_forward_cl_blocks` takes a channels-last forward layer: 2-D,
    groups 1, few channels (a reduction the direct loops take), at least a vector of
    filters and :data:`POSITIONS` outputs a row, padding before the data >= 0."""
    geo = geometry
    return (geo.channels_last and geo.groups == 1 and geo.planar and not _use_gemm(geo) and min(geo.lo) >= 0
            and geo.filters >= _lanes(itemsize) and geo.out_size[2] >= POSITIONS
            and geo.batch > 0 and geo.channels > 0)


def _cl_blocks_first(geometry: ConvGeometry, dtype) -> bool:
    """Whether a channels-last forward call runs :func:`_grid_forward_cl_blocks` before the
    cost model is asked: a layer it takes, no strategy forced (a forced 'legacy' reaches it
    through the launcher's own channels-last paths). Its few-channel reduction is where
    the model's GEMMs are weakest: (64, 28, 28, 1) -> 32 0.46 ms by the channel-major
    GEMM, PyTorch 0.30. (Up to :data:`~numbaconv.cpu.strided.MAX_CHANNELS` channels,
    :mod:`numbaconv.cpu.strided`'s tiles take such a layer first where they apply: 0.33
    ms.)"""
    return _plan.forcing()[0] is None and _cl_blocks_apply(geometry, np.dtype(dtype).itemsize)


def _cl_blocks_runner(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: :func:`_grid_forward_cl_blocks` over the images (each
    output element summed by one image's item: the cut changes nothing), on the calling
    thread below :data:`PARALLEL_WORK` multiply-adds, else on Numba's threads."""
    geo, N = geometry.array, geometry.batch
    K, T = geometry.filters, geometry.channels * geometry.taps
    zeros, serial = np.zeros(K, dtype), geometry.macs < PARALLEL_WORK

    def run(x, w, bias, out):
        args = (x.ravel(), np.ascontiguousarray(w.reshape(K, T).T).ravel(),
                zeros if bias is None else bias.ravel(), out.ravel(), geo)
        if serial:
            _grid_forward_cl_blocks(*args, 0, N)
        else:
            team_runs(_grid_forward_cl_blocks, args, N, min(N, _BLOCK_PARTS))

    return run


def _grid_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    geo = geometry
    if _blocks_apply(geo):
        _blocks_runner(geo, out.dtype)(x, w, bias, out)
        return
    # filters per item: all of a group's unless that leaves fewer than _GRID_ITEMS items (or
    # _GRID_ITEM_WORK a piece; constants, and each output element is summed by one item: the
    # blocking changes nothing)
    kg = geo.group_filters
    target = min(_GRID_ITEMS, max(2, geo.macs // _GRID_ITEM_WORK))
    nkb = min(kg, -(-target // (geo.batch * geo.groups)))
    kb = -(-kg // nkb)
    items = geo.batch * geo.groups * (-(-kg // kb))
    args = (x.ravel(), w.ravel(), _bias_array(bias, out.dtype), out.ravel(), geo.array, kb)
    if geo.macs < PARALLEL_WORK:
        _grid_forward_items(*args, 0, items)
    else:
        team_runs(_grid_forward_items, args, items, min(items, _CHUNKS))


def _grid_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    args = (x.ravel(), g.ravel(), dw.ravel(), geometry.array)
    if geometry.groups == 1 and geometry.planar:
        blocks = -(-geometry.filters // _KBLOCK)
        if geometry.group_channels <= THIN_CHANNELS:
            parts = 2 if geometry.batch >= 2 else 1
            acc = np.empty((parts, dw.size), dw.dtype)
            targs = (x.ravel(), g.ravel(), acc, geometry.array, parts)
            if geometry.macs < THIN_PARALLEL_WORK:
                _grid_weight_grad_thin(*targs, 0, blocks * parts)
            else:
                team_runs(_grid_weight_grad_thin, targs, blocks * parts, blocks * parts)
            flat = dw.reshape(-1)
            flat[:] = acc[0]
            for part in range(1, parts):  # the parts added in order
                flat += acc[part]
            return
        if geometry.macs < PARALLEL_WORK:
            _grid_weight_grad_kblocks(*args, 0, blocks)
        else:
            team_runs(_grid_weight_grad_kblocks, args, blocks, blocks)
        return
    planes = geometry.filters * geometry.group_channels
    if geometry.macs < PARALLEL_WORK:
        _grid_weight_grad_planes(*args, 0, planes)
    else:
        team_runs(_grid_weight_grad_planes, args, planes, min(planes, _CHUNKS))


def _flipped(w, geometry: ConvGeometry):
    """The input gradient of a stride-1 layer as a forward layer: ``(geometry, weight)`` of
    the correlation of ``g`` with the flipped, channel-transposed kernel, padded
    ``d*(k - 1) - lo`` before the data (:func:`numbaconv.core.conv.flipped_lo`; both cached
    on ``geometry``, the weight one gather)."""
    adj = geometry.adjoint
    return adj, w.reshape(-1)[geometry.flipped_weight_order].reshape(adj.w_shape)


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
    return not _plan.legacy_direct(geometry.group_filters, geometry.group_channels,
                                   geometry.taps, 1)


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
# channels-last: x (N, D, H, W, C), output (N, Do, Ho, Wo, K); the innermost runs are over
# the contiguous channels (loops.conv's *_cl helpers, shared with CUDA), and the GEMM path
# works on (positions x channels) matrices, which NHWC arrays already are.


def _channel_runs(channels: int, per_group: int, groups: int):
    """The channel runs of a channels-last direct kernel: all channels at once when each
    group has one, else one run per group."""
    if per_group == 1:
        return [(0, channels)]
    return [(g * per_group, (g + 1) * per_group) for g in range(groups)]


@njit(cache=True, nogil=True)
def _forward_cl_rows(xf, wt, bf, of, geo, runs, r0, r1):
    """Output rows ``(n, od, oh)`` ``[r0, r1)`` (``Wo * K`` values each, in blocks of rows of one
    plane): the bias (or 0), then every tap, one run of output channels at a time."""
    K, Do, Ho, Wo = geo[G_K], geo[G_DO], geo[G_HO], geo[G_WO]
    zero = of.dtype.type(0)
    r = r0
    while r < r1:
        oh0 = r % Ho
        oh1 = min(Ho, oh0 + r1 - r)
        plane = r // Ho
        base = r * Wo * K
        for p in range((oh1 - oh0) * Wo):
            for k in range(K):
                of[_U(base + p * K + k)] = bf[k] if bf.size else zero
        for i in range(runs.shape[0]):
            forward_cl_block(of, base + runs[i, 0], Wo * K, K, xf, wt, geo, plane // Do,
                             plane % Do, oh0, oh1, 0, Wo, runs[i, 0], runs[i, 1])
        r += oh1 - oh0


@njit(cache=True, nogil=True)
def _input_grad_cl_rows(gf, wt, bf, df, geo, runs, r0, r1):
    """Input-gradient rows ``(n, id, ih)`` ``[r0, r1)`` (``W * C`` values each): the bias (or 0),
    then every ``w * g`` that reads them, one run of input channels at a time."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    zero = df.dtype.type(0)
    r = r0
    while r < r1:
        ih0 = r % H
        ih1 = min(H, ih0 + r1 - r)
        plane = r // H
        base = r * W * C
        for p in range((ih1 - ih0) * W):
            for c in range(C):
                df[_U(base + p * C + c)] = bf[c] if bf.size else zero
        for i in range(runs.shape[0]):
            input_grad_cl_block(df, base + runs[i, 0], W * C, C, gf, wt, geo, plane // D,
                                plane % D, ih0, ih1, 0, W, runs[i, 0], runs[i, 1])
        r += ih1 - ih0


#: filters a channels-last weight-gradient item takes at most (long runs amortise the loop
#: overhead; items are then split by blocks of taps)
_CL_RUN = 64


@njit(cache=True, nogil=True)
def _weight_grad_cl_items(xf, gf, dwf, geo, runs, tb, i0, i1):
    """Items ``[i0, i1)`` of (channel within the group, run of filters, block of ``tb`` taps):
    the item's weights, each the sum over the output positions in order. An item reads its
    part of every row of g and x once, for all its taps."""
    cg = geo[G_CG]
    taps = geo[G_KD] * geo[G_KH] * geo[G_KW]
    nr = runs.shape[0]
    nb = (taps + tb - 1) // tb
    acc = np.empty(tb * _CL_RUN, dtype=dwf.dtype)
    for it in range(i0, i1):
        c = it // (nr * nb)
        k0, k1 = runs[(it // nb) % nr, 0], runs[(it // nb) % nr, 1]
        t0 = (it % nb) * tb
        t1 = min(taps, t0 + tb)
        m = k1 - k0
        acc[:(t1 - t0) * m] = 0
        weight_grad_cl_block(acc, xf, gf, geo, c, t0, t1, k0, k1)
        for t in range(t0, t1):
            for k in range(k0, k1):
                dwf[(k * cg + c) * taps + t] = acc[(t - t0) * m + k - k0]


def _runs_array(channels: int, per_group: int, groups: int) -> np.ndarray:
    return np.array(_channel_runs(channels, per_group, groups), dtype=np.int64)


def _direct_cl_runner(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: the channels-last direct loops (:func:`_forward_cl_rows`)
    over the call's output rows, the filter runs, weight order and thread decision made
    once (a repeated tiny channels-last call took twice the channels-first one's time
    routed afresh)."""
    geo = geometry
    runs = _runs_array(geo.filters, geo.group_filters, geo.groups)
    order, arr, no_bias = geo.forward_weight_order, geo.array, _NO_BIAS[np.dtype(dtype)]
    per_row = geo.out_size[2] * geo.filters
    serial = geo.macs < PARALLEL_WORK

    def run(x, w, bias, out):
        _on_items(_forward_cl_rows, (x.ravel(), w.ravel()[order], no_bias if bias is None
                                     else bias.ravel(), out.ravel(), arr, runs),
                  out.size // per_row, serial)

    return run


def _direct_input_grad_cl(g, w, bias, dx, geometry: ConvGeometry) -> None:
    geo = geometry
    runs = _runs_array(geo.channels, geo.group_channels, geo.groups)
    args = (g.ravel(), w.ravel()[geo.input_weight_order], _bias_array(bias, dx.dtype),
            dx.ravel(), geo.array, runs)
    rows = dx.size // (geo.in_size[2] * geo.channels)
    if geo.macs < PARALLEL_WORK:
        _input_grad_cl_rows(*args, 0, rows)
    else:
        team_runs(_input_grad_cl_rows, args, rows, min(rows, _CHUNKS))


def _direct_weight_grad_cl(x, g, dw, geometry: ConvGeometry) -> None:
    geo = geometry
    runs = np.array([(a, min(r1, a + _CL_RUN))
                     for r0, r1 in _channel_runs(geo.filters, geo.group_filters, geo.groups)
                     for a in range(r0, r1, _CL_RUN)], dtype=np.int64)
    # blocks of taps only when there are fewer than _ITEMS (channel, run) items: each block
    # reads the rows again
    per = geo.group_channels * runs.shape[0]
    blocks = min(geo.taps, max(1, -(-_ITEMS // per)))
    tb = -(-geo.taps // blocks)
    args = (x.ravel(), g.ravel(), dw.ravel(), geo.array, runs, tb)
    items = per * -(-geo.taps // tb)
    if geo.macs < PARALLEL_WORK:
        _weight_grad_cl_items(*args, 0, items)
    else:
        _threaded(_weight_grad_cl_items, args, items)


@njit(cache=True, nogil=True)
def _im2col_cl(xf, cols, geo, n, cstart, cb, p0, p1):
    """``cols[p - p0, t*cb + c]``: input channel ``cstart + c`` (``c < cb``) that tap ``t`` of
    output position ``p`` (flattened ``(od, oh, ow)``, ``p0 <= p < p1``) of image ``n``
    reads, or 0 in the padding. Channels-last: each tap copies one contiguous run."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    Ho, Wo = geo[G_HO], geo[G_WO]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    # all the channels and dilation 1 along W: a row of taps is one contiguous run of x
    merge = dw == 1 and cb == C
    for p in range(p0, p1):
        ow = p % Wo
        oh = (p // Wo) % Ho
        od = p // (Wo * Ho)
        rb = (p - p0) * ncols
        iw0 = ow * sw - lw
        for td in range(kd):
            i_d = od * sd - ld + td * dd
            for th in range(kh):
                ih = oh * sh - lh + th * dh
                row = rb + (td * kh + th) * kw * cb
                if i_d < 0 or i_d >= D or ih < 0 or ih >= H:
                    for j in range(kw * cb):
                        cf[_U(row + j)] = 0
                    continue
                xrow = ((n * D + i_d) * H + ih) * W
                if merge:
                    # taps t0 <= tw < t1 lie inside the input
                    t0 = min(max(-iw0, 0), kw)
                    t1 = max(min(W - iw0, kw), t0)
                    for j in range(t0 * C):
                        cf[_U(row + j)] = 0
                    xb = _U((xrow + iw0 + t0) * C)
                    cb0 = _U(row + t0 * C)
                    for j in range((t1 - t0) * C):
                        cf[cb0 + _U(j)] = xf[xb + _U(j)]
                    for j in range(t1 * C, kw * C):
                        cf[_U(row + j)] = 0
                    continue
                for tw in range(kw):
                    iw = iw0 + tw * dw
                    cb0 = _U(row + tw * cb)
                    if iw < 0 or iw >= W:
                        for c in range(cb):
                            cf[cb0 + _U(c)] = 0
                    else:
                        xb = _U((xrow + iw) * C + cstart)
                        for c in range(cb):
                            cf[cb0 + _U(c)] = xf[xb + _U(c)]


@njit(cache=True, nogil=True)
def _col2im_cl(cols, df, bf, geo, n, cstart, cb):
    """``dx[n, ..., cstart + c] = bias +`` every ``cols[p, t*cb + c]`` scattered back to the
    input position tap ``t`` of output position ``p`` reads: the adjoint of :func:`_im2col_cl`
    over all output positions, for the channels ``cstart .. cstart + cb``."""
    C, D, H, W = geo[G_C], geo[G_D], geo[G_H], geo[G_W]
    Do, Ho, Wo = geo[G_DO], geo[G_HO], geo[G_WO]
    kd, kh, kw = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    ld, lh, lw = geo[G_LD], geo[G_LH], geo[G_LW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    ncols = cols.shape[1]
    cf = cols.reshape(-1)
    zero = df.dtype.type(0)
    img = n * D * H * W
    for q in range(D * H * W):
        xb = _U((img + q) * C + cstart)
        for c in range(cb):
            df[xb + _U(c)] = bf[cstart + c] if bf.size else zero
    # all the channels and dilation 1 along W: a row of taps is one contiguous run of dx
    merge = dw == 1 and cb == C
    for p in range(Do * Ho * Wo):
        ow = p % Wo
        oh = (p // Wo) % Ho
        od = p // (Wo * Ho)
        iw0 = ow * sw - lw
        for td in range(kd):
            i_d = od * sd - ld + td * dd
            if i_d < 0 or i_d >= D:
                continue
            for th in range(kh):
                ih = oh * sh - lh + th * dh
                if ih < 0 or ih >= H:
                    continue
                row = p * ncols + (td * kh + th) * kw * cb
                xrow = ((n * D + i_d) * H + ih) * W
                if merge:
                    t0 = min(max(-iw0, 0), kw)
                    t1 = max(min(W - iw0, kw), t0)
                    xb = _U((xrow + iw0 + t0) * C)
                    cb0 = _U(row + t0 * C)
                    for j in range((t1 - t0) * C):
                        df[xb + _U(j)] += cf[cb0 + _U(j)]
                    continue
                for tw in range(kw):
                    iw = iw0 + tw * dw
                    if iw < 0 or iw >= W:
                        continue
                    cb0 = _U(row + tw * cb)
                    xb = _U((xrow + iw) * C + cstart)
                    for c in range(cb):
                        df[xb + _U(c)] += cf[cb0 + _U(c)]


def _gemm_forward_cl(x, w, bias, out, geometry: ConvGeometry) -> None:
    """Channels-last im2col + GEMM: ``out[n, p, group] = cols (P x (taps*cg + 1)) @ W``."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg, taps = geo.group_channels, geo.group_filters, geo.taps
    P = int(np.prod(geo.out_size))
    R = taps * cg
    xf = x.ravel()
    # per group (R + 1, kg): rows (tap, channel) like cols, then the bias
    wa = np.empty((groups, R + 1, kg), dtype=out.dtype)
    wa[:, :R, :] = w.reshape(groups, kg, cg, taps).transpose(0, 3, 2, 1).reshape(groups, R, kg)
    wa[:, R, :] = 0 if bias is None else np.asarray(bias).reshape(groups, kg)
    out3 = out.reshape(N, P, K)
    blocks = _split(P, -(-_ITEMS // (N * groups)))
    items = [(n, gi, p0, p1) for n in range(N) for gi in range(groups) for p0, p1 in blocks]
    width = blocks[0][1] - blocks[0][0]
    local = threading.local()

    def work(item):
        n, gi, p0, p1 = item
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = np.empty(width * (R + 1), out.dtype)
        cols = buf[: (p1 - p0) * (R + 1)].reshape(p1 - p0, R + 1)
        _im2col_cl(xf, cols, geo.array, n, gi * cg, cg, p0, p1)
        cols[:, R] = 1
        with np.errstate(all="ignore"):  # inf * 0 is NaN, as in a direct sum; no warning
            np.matmul(cols, wa[gi], out=out3[n, p0:p1, gi * kg:(gi + 1) * kg])

    _run(work, items, _serial_items(geo))


def _gemm_input_grad_cl(g, w, bias, dx, geometry: ConvGeometry) -> None:
    """Channels-last ``dx = col2im(G @ W) + bias`` per (image, group, block of channels)."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg, taps = geo.group_channels, geo.group_filters, geo.taps
    P = int(np.prod(geo.out_size))
    df = dx.ravel()
    bf = _bias_array(bias, dx.dtype)
    w4 = w.reshape(groups, kg, cg, taps)
    g3 = g.reshape(N, P, K)
    # channel blocks of at least 8 channels (all of them when fewer): long col2im runs
    cblocks = _split(cg, min(-(-_ITEMS // (N * groups)), max(1, cg // 8)))
    # per (group, block of channels): (kg, taps * cb), columns (tap, channel) like cols
    wts = {(gi, c0): np.ascontiguousarray(w4[gi, :, c0:c1, :].transpose(0, 2, 1))
           .reshape(kg, taps * (c1 - c0)) for gi in range(groups) for c0, c1 in cblocks}
    items = [(n, gi, c0, c1) for n in range(N) for gi in range(groups) for c0, c1 in cblocks]
    local = threading.local()

    def work(item):
        n, gi, c0, c1 = item
        ncol = taps * (c1 - c0)
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < P * ncol:
            buf = local.buf = np.empty(P * taps * (cblocks[0][1] - cblocks[0][0]), dx.dtype)
        cols = buf[: P * ncol].reshape(P, ncol)
        with np.errstate(all="ignore"):
            np.matmul(g3[n, :, gi * kg:(gi + 1) * kg], wts[gi, c0], out=cols)
        _col2im_cl(cols, df, bf, geo.array, n, gi * cg + c0, c1 - c0)

    _run(work, items, _serial_items(geo))


def _gemm_weight_grad_cl(x, g, dw, geometry: ConvGeometry) -> None:
    """Channels-last ``dw = cols^T @ G`` per (group, block of channels, block of positions),
    summed over the batch in order, then over the position blocks in order."""
    geo = geometry
    N, K, groups = geo.batch, geo.filters, geo.groups
    cg, kg, taps = geo.group_channels, geo.group_filters, geo.taps
    P = int(np.prod(geo.out_size))
    xf = x.ravel()
    g3 = g.reshape(N, P, K)
    dw4 = dw.reshape(groups, kg, cg, taps)
    # channel blocks of at least 8 channels: the runs of cols stay long; with fewer blocks
    # than items (a thin layer: the 3-channel stem is one block), blocks of positions too
    cblocks = _split(cg, min(-(-_ITEMS // groups), max(1, cg // 8)))
    base = [(gi, c0, c1) for gi in range(groups) for c0, c1 in cblocks]
    pblocks = _split(P, max(1, min(-(-_ITEMS // len(base)), P // _WG_POSITIONS)))
    items = [(b, p0, p1) for b in range(len(base)) for p0, p1 in pblocks]
    sums: dict = {}
    local = threading.local()
    rows = pblocks[0][1] - pblocks[0][0]

    def work(item):
        b, p0, p1 = item
        gi, c0, c1 = base[b]
        cb = c1 - c0
        buf = getattr(local, "buf", None)
        if buf is None or buf.size < rows * taps * cb:
            buf = local.buf = np.empty(rows * taps * (cblocks[0][1] - cblocks[0][0]), dw.dtype)
        cols = buf[: (p1 - p0) * taps * cb].reshape(p1 - p0, taps * cb)
        total = np.empty((taps * cb, kg), dtype=dw.dtype)
        part = np.empty((taps * cb, kg), dtype=dw.dtype)
        for n in range(N):  # a fixed summation order over the batch
            _im2col_cl(xf, cols, geo.array, n, gi * cg + c0, cb, p0, p1)
            with np.errstate(all="ignore"):
                np.matmul(cols.T, g3[n, p0:p1, gi * kg:(gi + 1) * kg],
                          out=total if n == 0 else part)
            if n:
                total += part
        sums[item] = total

    _run(work, items, _serial_items(geo))
    for b, (gi, c0, c1) in enumerate(base):
        total = sums[(b, *pblocks[0])]
        for p0, p1 in pblocks[1:]:  # the position blocks in order
            total += sums[(b, p0, p1)]
        # rows (tap, channel) -> dw[group filters, channels, taps]
        dw4[gi, :, c0:c1, :] = total.reshape(taps, c1 - c0, kg).transpose(2, 1, 0)


#: output positions per block, at least, when the channels-last GEMM weight gradient splits
#: the positions (a block is one GEMM of ``positions x taps*channels x filters``)
_WG_POSITIONS = 2048


def _input_runs_fit(geometry: ConvGeometry) -> bool:
    """Whether the channels-last direct input gradient has runs of input channels long
    enough to vectorise (else, unless the work is small, its GEMM path is faster)."""
    geo = geometry
    return (geo.channels if geo.group_channels == 1 else geo.group_channels) >= 8


# ----------------------------------------------------------------------------------------------
# Winograd (CPU only)


def _winograd_2d(geometry: ConvGeometry, lo) -> bool:
    """A 2-D (singleton depth) layer, read with padding ``lo`` before the data, that
    :mod:`numbaconv.cpu.winograd` runs faster."""
    from .winograd import winograd_applies

    geo = geometry
    return (geo.planar and min(lo) >= 0
            and winograd_applies((geo.batch, geo.channels, *geo.in_size[1:]),
                                 (geo.filters, geo.group_channels, *geo.kernel[1:]),
                                 geo.stride[1:], geo.dilation[1:], geo.groups))


def _winograd(x, w, b, out, geometry: ConvGeometry, lo) -> bool:
    """Winograd 2-D forward with padding ``lo`` (``(0, lh, lw)``) before the data; False when
    it met non-finite data (the caller then recomputes with GEMM)."""
    from .winograd import winograd_forward, winograd_forward_cl

    geo = geometry
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    if geo.channels_last:
        return winograd_forward_cl(x.reshape(geo.batch, H, W, geo.channels),
                                   w.reshape(geo.filters, geo.group_channels, 3, 3), b,
                                   out.reshape(geo.batch, Ho, Wo, geo.filters), lo[1], lo[2],
                                   geo.dilation[1], geo.dilation[2], _serial_items(geo))
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


#: fewest input channels and filters for which a dilated 3x3 layer runs as its phases'
#: undilated layers (:func:`_phase_geometry`): the Winograd kernels' threshold
PHASE_CHANNELS = 16


def _phase_geometry(geometry: ConvGeometry) -> ConvGeometry | None:
    """The stacked undilated geometry of a dilated layer (:attr:`ConvGeometry.phases`) where
    running it so pays: an ungrouped 3x3 layer wide enough for the Winograd kernels, which
    undilated layers have and dilated ones do not. (8, 64, 56, 56) -> 64 dilated 2, two Zen
    4 threads: forward 9.3 -> 7.1 ms, input gradient 9.3 -> 6.9, weight gradient 11.9 ->
    6.2 (PyTorch 8.7, 9.0, 9.8), each with two extra passes over its arrays."""
    if (geometry.groups != 1 or geometry.kernel != (1, 3, 3)
            or min(geometry.channels, geometry.filters) < PHASE_CHANNELS):
        return None
    return geometry.phases


@njit(cache=True, nogil=True)
def _phase_rows(a, st, d, stack, i0, i1):
    """Rows ``[i0, i1)`` of :func:`_phase_stack` (``stack``: ``st[r*d + s, m, i, j, e] =
    a[m, i*d + r, j*d + s, e]``) or of its inverse; ``a`` ``(M, H, W, E)``, ``st`` ``(d*d,
    M, H/d, W/d, E)``: channels-first arrays with ``M = N*C``, ``E = 1``, channels-last ones
    with ``M = N``, ``E = C``. A row is one ``(m, i)``: the ``d`` input rows it reads, each
    dealt out to its ``d`` phases."""
    M, H, W, E = a.shape
    Hd, Wd = H // d, W // d
    af, sf = a.reshape(-1), st.reshape(-1)
    plane = M * Hd * Wd * E
    for row in range(i0, i1):
        m, i = row // Hd, row % Hd
        if d == 2 and E == 1:  # (stride-2 pairs: LLVM deals them out in vector shuffles)
            for r in range(2):
                src = _U((m * H + i * 2 + r) * W)
                d0 = _U(2 * r * plane + (m * Hd + i) * Wd)
                d1 = d0 + _U(plane)
                if stack:
                    for j in range(Wd):
                        sf[d0 + _U(j)] = af[src + _U(2 * j)]
                        sf[d1 + _U(j)] = af[src + _U(2 * j + 1)]
                else:
                    for j in range(Wd):
                        af[src + _U(2 * j)] = sf[d0 + _U(j)]
                        af[src + _U(2 * j + 1)] = sf[d1 + _U(j)]
            continue
        for r in range(d):
            src = _U(((m * H + i * d + r) * W) * E)
            for s in range(d):
                dst = _U((r * d + s) * plane + (m * Hd + i) * Wd * E)
                if stack:
                    for j in range(Wd):
                        for e in range(E):
                            sf[dst + _U(j * E + e)] = af[src + _U((j * d + s) * E + e)]
                else:
                    for j in range(Wd):
                        for e in range(E):
                            af[src + _U((j * d + s) * E + e)] = sf[dst + _U(j * E + e)]


#: elements from which the phases are moved on Numba's threads
_PHASE_PARALLEL = 1 << 16


def _phase_move(a, st, d: int, cl: bool, stack: bool) -> None:
    """:func:`_phase_rows` over the 5-D array ``a`` and its stack ``st``."""
    if cl:
        n, _, h, w, c = a.shape
        a4, s5 = a.reshape(n, h, w, c), st.reshape(d * d, n, h // d, w // d, c)
    else:
        n, c, _, h, w = a.shape
        a4, s5 = a.reshape(n * c, h, w, 1), st.reshape(d * d, n * c, h // d, w // d, 1)
    rows = a4.shape[0] * (h // d)
    if a.size < _PHASE_PARALLEL:
        _phase_rows(a4, s5, d, stack, 0, rows)
    else:  # (each row its own: the same bits in any cut)
        team_runs(_phase_rows, (a4, s5, d, stack), rows, 8)


def _phase_stack(a, d: int, cl: bool, name: str):
    """The ``d*d`` phases of the 5-D array ``a`` (``(N, C, 1, H, W)``, or channels-last
    ``(N, 1, H, W, C)``) stacked on the batch axis, phase ``(r, s)`` at ``(r*d + s)*N``, in
    this thread's scratch array ``name`` (a compiled pass on Numba's threads into reused
    memory: NumPy's strided copies into fresh arrays took 2.2 ms for an (8, 64, 56, 56)
    float32 input, two Zen 4 threads)."""
    if cl:
        n, _, h, w, c = a.shape
        shape = (d * d * n, 1, h // d, w // d, c)
    else:
        n, c, _, h, w = a.shape
        shape = (d * d * n, c, 1, h // d, w // d)
    out = scratch(name, shape, a.dtype)
    _phase_move(a, out, d, cl, True)
    return out


def _phase_unstack(stacked, a, d: int, cl: bool) -> None:
    """The inverse of :func:`_phase_stack`: each phase of ``stacked`` into its place in
    ``a``."""
    _phase_move(a, stacked, d, cl, False)


#: prepared forward passes, by (geometry, bias given, dtype, forcing): see :func:`conv_forward`
_RUNNERS: dict = {}
#: entries kept (the oldest half dropped beyond: a program's layers are a few dozen)
_RUNNERS_MAX = 256


def conv_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    """``out = conv(x, w) + bias`` (cross-correlation); ``bias`` may be None.

    A geometry (one per distinct call: :func:`numbaconv.core.conv.resolve` caches them) whose
    plan offers a prepared pass (:func:`numbaconv.cpu.conv_plan.forward_runner`) keeps it
    here, so a repeated call (a batch-1 layer) goes straight to its kernel."""
    if out.size == 0:
        return
    if (pg := _phase_geometry(geometry)) is not None:
        d, cl = geometry.dilation[1], geometry.channels_last
        ys = scratch("phases-y", pg.y_shape, out.dtype)
        conv_forward(_phase_stack(x.reshape(geometry.x_shape), d, cl, "phases-x"), w, bias,
                     ys, pg)
        _phase_unstack(ys, out.reshape(geometry.y_shape), d, cl)
        return
    _runner(x, w, bias, out, geometry)(x, w, bias, out)


#: the passes :data:`_RUNNERS` keeps, one kind a key
FORWARD_PASS, INPUT_GRAD_PASS, WEIGHT_GRAD_PASS = "forward", "input_grad", "weight_grad"


def _runner_key(geometry: ConvGeometry, bias, dtype, op: str = FORWARD_PASS) -> tuple:
    """The key of a prepared pass in :data:`_RUNNERS` (the forcing fourth:
    :func:`prepared_holds` reads it)."""
    return geometry, bias is None, dtype.char, _plan.forcing(), op


def _keep(key, make):
    """The pass kept under ``key`` in :data:`_RUNNERS`, made by ``make()`` the first time."""
    run = _RUNNERS.get(key)
    if run is None:
        run = make()
        if len(_RUNNERS) >= _RUNNERS_MAX:  # (a plain dict: no lock; a lost entry is rebuilt)
            for old in list(_RUNNERS)[:_RUNNERS_MAX // 2]:
                _RUNNERS.pop(old, None)
        _RUNNERS[key] = run
    return run


def _runner(x, w, bias, out, geometry: ConvGeometry):
    """The prepared pass of :func:`conv_forward` (not phase-split) for arrays like these,
    built once per geometry, bias presence, dtype and forced strategy (:data:`_RUNNERS`)."""
    return _keep(_runner_key(geometry, bias, out.dtype),
                 lambda: _forward_runner(x, w, bias, out, geometry))


def _pass(op: str, geometry: ConvGeometry, bias, dtype):
    """The gradient pass ``op`` (:data:`INPUT_GRAD_PASS`, :data:`WEIGHT_GRAD_PASS`) of a
    geometry not split into phases, kept in :data:`_RUNNERS` as the forward's passes are:
    ``run(a, b, bias, out)`` with :func:`conv_input_grad`'s or :func:`conv_weight_grad`'s
    arguments (``bias`` None for the weight gradient)."""
    build = _input_grad_pass if op == INPUT_GRAD_PASS else _weight_grad_pass
    return _keep(_runner_key(geometry, bias, dtype, op), lambda: build(geometry, dtype))


def prepared_forward(x, w, bias, out, geometry: ConvGeometry):
    """:func:`conv_forward` for arrays like these (shapes, dtype, bias presence), resolved
    once: ``(run(x, w, bias, out), token)``, or None where a call is not one prepared pass
    (an empty output, a dilated layer split into phases). ``run`` serves while
    :func:`prepared_holds` says so. A repeated batch-1 layer then skips the geometry's
    lookups (the wrapper's 3.4 us: 1.8)."""
    if out.size == 0 or _phase_geometry(geometry) is not None:
        return None
    return _runner(x, w, bias, out, geometry), _runner_key(geometry, bias, out.dtype)


def prepared_input_grad(g, w, bias, dx, geometry: ConvGeometry):
    """:func:`conv_input_grad` resolved once, as :func:`prepared_forward`: ``(run(g, w,
    bias, dx), token)`` or None (an empty result, a layer split into phases). A batch-1
    (1, 1, 28, 28) -> 32 input gradient's call 22 -> 20 us (its kernel 14.5)."""
    if dx.size == 0 or (g.size and _phase_geometry(geometry) is not None):
        return None
    key = _runner_key(geometry, bias, dx.dtype, INPUT_GRAD_PASS)
    return _pass(INPUT_GRAD_PASS, geometry, bias, dx.dtype), key


def prepared_weight_grad(x, g, dw, geometry: ConvGeometry):
    """:func:`conv_weight_grad` resolved once, as :func:`prepared_input_grad`: ``(run(x, g,
    None, dw), token)`` or None."""
    if dw.size == 0 or (g.size and _phase_geometry(geometry) is not None):
        return None
    key = _runner_key(geometry, None, dw.dtype, WEIGHT_GRAD_PASS)
    return _pass(WEIGHT_GRAD_PASS, geometry, None, dw.dtype), key


def prepared_holds(run, token) -> bool:
    """Whether ``run`` from :func:`prepared_forward` (or its gradient twins) is still the
    call's pass: the same strategy forced as then (none, outside the tests' ``forced``),
    and the pass still the one kept for it (the tests set the kept passes aside to take
    paths afresh)."""
    return token[3] == _plan.forcing() and _RUNNERS.get(token) is run


def _forward_runner(x, w, bias, out, geometry: ConvGeometry):
    """The prepared pass of :func:`conv_forward` for arrays like these, or the general one."""
    if _plan.forcing()[0] is None and _strided.applies(geometry, out.dtype.itemsize):
        return _strided.runner(geometry, out.dtype)
    if _cl_blocks_first(geometry, out.dtype):
        return _cl_blocks_runner(geometry, out.dtype)
    plan = _plan.route("forward", geometry, out.dtype)
    if plan is not None:
        run = _plan.forward_runner(plan, x.reshape(geometry.x_shape),
                                   w.reshape(geometry.w_shape), bias,
                                   out.reshape(geometry.y_shape), geometry.stride, geometry.lo,
                                   geometry.dilation)
        if run is not None:
            return run
        return functools.partial(_conv_forward, geometry=geometry)
    return _legacy_forward_pass(geometry, out.dtype)


def _legacy_forward_pass(geometry: ConvGeometry, dtype):
    """``run(x, w, bias, out)``: the forward of a layer the cost model does not take, the
    strategy decided once, in one place (:func:`_conv_forward` runs it afresh, the
    prepared pass of :func:`_forward_runner` keeps it): depthwise, the channels-last and
    channels-first grid blocks, the direct loops, Winograd or the GEMM."""
    geo, serial = geometry, geometry.macs < PARALLEL_WORK
    if geo.channels_last:
        if _depthwise.applies(geo):
            return _depthwise.runner(geo, dtype, serial)
        if _cl_blocks_apply(geo, np.dtype(dtype).itemsize):
            return _cl_blocks_runner(geo, dtype)
        if not _use_gemm(geo):
            return _direct_cl_runner(geo, dtype)
        return functools.partial(_winograd_or_gemm, geometry=geo, gemm=_gemm_forward_cl)
    if _depthwise.applies_cf(geo):
        return _depthwise.runner_cf(geo, dtype, serial)
    if not _use_gemm(geo):
        if not _use_grid(geo, geo.lo):
            return _direct_runner(geo, dtype)
        if _blocks_apply(geo):
            return _blocks_runner(geo, dtype)
        return functools.partial(_grid_forward, geometry=geo)
    return functools.partial(_winograd_or_gemm, geometry=geo, gemm=gemm_forward)


def _winograd_or_gemm(x, w, bias, out, geometry: ConvGeometry, gemm) -> None:
    """A GEMM-sized layer's forward: Winograd where it applies, else (or where it declines
    the call: it keeps a NaN local and an inf inf) ``gemm``."""
    if _winograd_2d(geometry, geometry.lo):
        b = _bias_or_zeros(bias, geometry.filters, out.dtype)
        if _winograd(x, w, b, out, geometry, geometry.lo):
            return
    gemm(x, w, bias, out, geometry)


def _conv_forward(x, w, bias, out, geometry: ConvGeometry) -> None:
    """:func:`conv_forward` by the plan or the legacy paths, decided on each call."""
    # -- strategy --------------------------------------------------------------------------
    # (a channels-last few-channel layer with no strategy forced never gets here: its
    # runner is _cl_blocks_runner, chosen by _forward_runner)
    plan = _plan.route("forward", geometry, out.dtype)
    if plan is not None:  # a small-map strategy of the cost model (cpu/conv_plan.py)
        _plan.run_forward(plan, x.reshape(geometry.x_shape), w.reshape(geometry.w_shape), bias,
                          out.reshape(geometry.y_shape), geometry.stride, geometry.lo,
                          geometry.dilation)
        return
    _legacy_forward_pass(geometry, out.dtype)(x, w, bias, out)


def conv_input_grad(g, w, bias, dx, geometry: ConvGeometry) -> None:
    """``dx = conv_input(g, w) + bias`` (the transposed convolution); ``bias`` may be None."""
    if dx.size == 0:
        return
    if g.size and (pg := _phase_geometry(geometry)) is not None:
        d, cl = geometry.dilation[1], geometry.channels_last
        dxs = scratch("phases-x", pg.x_shape, dx.dtype)
        conv_input_grad(_phase_stack(g.reshape(geometry.y_shape), d, cl, "phases-y"), w, bias,
                        dxs, pg)
        _phase_unstack(dxs, dx.reshape(geometry.x_shape), d, cl)
        return
    _pass(INPUT_GRAD_PASS, geometry, bias, dx.dtype)(g, w, bias, dx)


def _flipped_pass(kernel, geometry: ConvGeometry, *extra):
    """``run(g, w, bias, dx)``: ``kernel(g, w', bias, dx, adjoint, *extra)`` with ``w'`` the
    flipped kernel of each call (:func:`_flipped`)."""
    def run(g, w, bias, dx):
        adj, wf = _flipped(w, geometry)
        kernel(g, wf, bias, dx, adj, *extra)

    return run


def _flipped_runner(runner, geometry: ConvGeometry, dtype):
    """``run(g, w, bias, dx)``: the adjoint layer's prepared forward pass (``runner(adjoint,
    dtype, serial)``, its sizes resolved once) on each call's flipped kernel: a repeated
    tiny depthwise input gradient, (1, 1, 4, 4) 3x3, no longer resolves them per call."""
    adj = geometry.adjoint
    forward = runner(adj, dtype, adj.macs < PARALLEL_WORK)

    def run(g, w, bias, dx):
        forward(g, _flipped(w, geometry)[1], bias, dx)

    return run


def _flipped_winograd_pass(geometry: ConvGeometry, fallback):
    """``run(g, w, bias, dx)``: the input gradient as the F(2x2, 3x3) Winograd forward of
    the flipped layer (:func:`_winograd`), ``fallback(g, w, bias, dx, geometry)`` where it
    declines (a value came out non-finite: the fallback keeps a NaN local, an inf inf)."""
    def run(g, w, bias, dx):
        adj, wf = _flipped(w, geometry)
        if not _winograd(g, wf, _bias_or_zeros(bias, adj.filters, dx.dtype), dx, adj,
                         adj.lo):
            fallback(g, w, bias, dx, geometry)

    return run


def _input_grad_pass(geometry: ConvGeometry, dtype):
    """:func:`conv_input_grad`'s pass for a geometry not split into phases: ``run(g, w,
    bias, dx)``, the strategy decided here once (what a repeated call skips)."""
    geo = geometry
    if _plan.forcing()[0] is None and _strided.applies_input_grad(geo, np.dtype(dtype).itemsize):
        # channels-last, few input channels, stride 1: the dot products along the filters
        # in that layout (the cost model's channels-last GEMM, a 9-27-column filter matrix
        # and a scatter, ran the course notes' first layer at 1.45-1.95x the channels-first
        # time; these tiles at 0.4-0.7x of it, Zen 3)
        return _strided.input_grad_runner(geo, dtype)
    plan = _plan.route("input_grad", geo, dtype)
    if plan is not None:  # a small-map strategy of the cost model (cpu/conv_plan.py)
        def planned(g, w, bias, dx):
            _plan.run_input_grad(plan, g.reshape(geo.y_shape), w.reshape(geo.w_shape), bias,
                                 dx.reshape(geo.x_shape), geo.stride, geo.lo, geo.dilation)

        return planned
    # stride 1: the input gradient is again a forward layer (flipped kernel, see _flipped)
    some = math.prod(geo.y_shape) > 0
    stride1 = geo.stride == (1, 1, 1) and some
    flo = geo.adjoint_lo
    if geo.channels_last:
        if (stride1 and _depthwise.applies(geo) and min(flo) >= 0
                and _depthwise.applies(geo.adjoint)):
            # the adjoint of a depthwise layer is the depthwise layer of the flipped kernel:
            # its forward kernel ((8, 56, 56, 64) 0.80 -> 0.25 ms where the direct rows
            # added every w * g into the map, Zen 4)
            return _flipped_runner(_depthwise.runner, geo, dtype)
        if not some or (not _use_gemm(geo) and (_input_runs_fit(geo) or geo.macs < GRID_WORK)):
            return functools.partial(_direct_input_grad_cl, geometry=geo)
        if stride1 and geo.groups == 1 and _winograd_2d(geo, flo):
            return _flipped_winograd_pass(geo, _gemm_input_grad_cl)
        return functools.partial(_gemm_input_grad_cl, geometry=geo)
    if (stride1 and _depthwise.applies_cf(geo) and min(flo) >= 0
            and _depthwise.applies_cf(geo.adjoint)):
        return _flipped_runner(_depthwise.runner_cf, geo, dtype)
    if not some or not _use_gemm(geo):
        if stride1 and _use_grid(geo, flo):
            return _flipped_pass(_grid_forward, geo)
        if stride1 and min(flo) >= 0:
            # the forward kernel of the flipped layer: the same sums in the same order as
            # _input_grad_planes (input_grad_block's order), and no kernel of its own to
            # compile: a training step's first input gradient reuses the forward's machine
            # code (a cold first grad.conv2d_input spent 1.9 s compiling _input_grad_planes)
            return _flipped_pass(_direct_forward, geo)
        return functools.partial(_direct_input_grad, geometry=geo)
    if stride1 and geo.groups == 1 and _winograd_2d(geo, flo):
        return _flipped_winograd_pass(geo, _gemm_input_grad)
    return functools.partial(_gemm_input_grad, geometry=geo)


def conv_weight_grad(x, g, dw, geometry: ConvGeometry) -> None:
    """``dw = conv_weight(x, g)``: the correlation of ``g`` with ``x`` summed over the batch."""
    if dw.size == 0:
        return
    if g.size and (pg := _phase_geometry(geometry)) is not None:  # the phases' sum: one batch
        d, cl = geometry.dilation[1], geometry.channels_last
        conv_weight_grad(_phase_stack(x.reshape(geometry.x_shape), d, cl, "phases-x"),
                         _phase_stack(g.reshape(geometry.y_shape), d, cl, "phases-y"), dw, pg)
        return
    _pass(WEIGHT_GRAD_PASS, geometry, None, dw.dtype)(x, g, None, dw)


def _weight_grad_pass(geometry: ConvGeometry, dtype):
    """:func:`conv_weight_grad`'s pass for a geometry not split into phases: ``run(x, g,
    None, dw)`` (the third argument unused: every pass has the forward's signature), the
    strategy decided here once."""
    geo = geometry
    some = math.prod(geo.y_shape) > 0
    itemsize = np.dtype(dtype).itemsize

    def weights(kernel, *extra):
        return lambda x, g, _, dw: kernel(x, g, dw, geo, *extra)

    if some and _plan.forcing()[0] is None and _strided.applies_weight_grad(geo, itemsize):
        return weights(_strided.weight_grad)  # (the stem: register tiles of the phases)
    if some and _plan.forcing()[0] is None and _cl_thin_apply(geo, itemsize):
        # a few-channel channels-last layer: nine taps by a vector of filters in registers,
        # where the model's GEMMs and the direct loops ran at a quarter of the
        # channels-first kernels' rate ((64, 28, 28, 1) -> 32: 0.79-1.05 ms, channels-first
        # 0.28, PyTorch 0.22-0.73, Zen 4); a channels-first one with a stride and many
        # taps copied channels-last first
        if geo.channels_last:
            return weights(_cl_thin_weight_grad_run)

        def thin(x, g, _, dw):  # (the gradient is transposed row by row there)
            _cl_thin_weight_grad_run(_plan.channels_last_copy(x, geo.x_shape), g, dw, geo)

        return thin
    plan = _plan.route("weight_grad", geo, dtype)
    if plan is not None:  # a small-map strategy of the cost model (cpu/conv_plan.py)
        tiles = _plan.weight_grad_runner(plan, geo, dtype)
        if tiles is not None:
            xs, ys, ws = geo.x_shape, geo.y_shape, geo.w_shape
            return lambda x, g, _, dw: tiles(x.reshape(xs), g.reshape(ys), dw.reshape(ws))

        def planned(x, g, _, dw):
            _plan.run_weight_grad(plan, x.reshape(geo.x_shape), g.reshape(geo.y_shape),
                                  dw.reshape(geo.w_shape), geo.stride, geo.lo, geo.dilation)

        return planned
    serial = geo.macs < PARALLEL_WORK
    if geo.channels_last:
        if some and _depthwise.applies(geo):
            return weights(_depthwise.weight_grad, serial)
        if not some or not _use_gemm(geo):
            return weights(_direct_weight_grad_cl)
        return weights(_gemm_weight_grad_cl)
    if some and _depthwise.applies_cf(geo):
        run = _depthwise.weight_grad_runner_cf(geo, serial)
        return lambda x, g, _, dw: run(x, g, dw)
    if not some or not _use_gemm(geo):
        if some and _use_grid(geo, geo.lo):
            return weights(_grid_weight_grad)
        return weights(_direct_weight_grad)
    return weights(_gemm_weight_grad)


def conv_bias_grad(g, db) -> None:
    """``db[k] = sum of g[:, k, :]``; ``g`` is ``(rows, K, positions)``."""
    if db.size == 0:
        return
    # -- strategy --------------------------------------------------------------------------
    _plan.bias_grad(g, db)  # vectorised, float64 accumulation (cpu/conv_gemm.py)
