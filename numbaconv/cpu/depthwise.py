"""CPU kernels for depthwise 3x3 convolution, channels-last and channels-first (CPU only).

A depthwise layer (``groups == C == K``: every channel its own filter) has a reduction of
only nine taps per output, so its speed is the loads and stores it makes per multiply-add.
In channels-last layout the channels are the contiguous axis, and these kernels vectorise
over them (the generic channels-last loops of :mod:`numbaconv.loops.conv` load and store
the accumulator for every few taps and the weights for every output):

* forward (:func:`_forward_rows`): an item is one output row ``(n, oh)``. An output whose
  nine taps all lie inside ``x`` is computed in one pass, its bias plus the taps in order;
  at stride 1 and dilation 1 four neighbours share a pass and their input loads (18 loads
  for 36 taps), then two (12 for 18), then one: each pass over the channels also pays
  LLVM's run-time overlap checks, and two a pass took 0.76 ms where four take 0.63 for
  (8, 56, 56, 64) on one Zen 4 thread (PyTorch's oneDNN 0.39). With at least a vector of
  channels the four-output pass is :func:`numbaconv.cpu.simd.depthwise4`, in explicit
  vectors with an overlapping last one (the same bits; 24 channels 0.33 -> 0.28 ms, 32
  channels of 112x112 2.4 -> 2.1; 64 channels unchanged: the pass is memory-bound). The outputs near the padding are summed tap by tap (a tap outside ``x``
  contributes nothing, as a zero would).
* weight gradient (:func:`_weight_grad_items`): an item is a fixed block of output rows; it
  sums ``g * x`` for every tap into its own ``(3, 3, C)`` partial; the partials are then
  summed in item order (:func:`_total`). Where an output row's three input rows are all
  inside ``x`` (stride and dilation 1 along the row), its inside outputs run all nine taps
  in one pass (:func:`numbaconv.cpu.simd.depthwise_grad_rows`: nine sums in registers, one
  vector of ``g`` and three of ``x`` loaded an output; (8, 56, 56, 64) on one Zen 4 thread
  0.90 -> 0.64 ms, PyTorch 0.78), and with 32 vector registers (AVX-512) two neighbouring
  rows a pass where the stride equals the dilation
  (:func:`numbaconv.cpu.simd.depthwise_grad_rows2`, 18 multiply-adds for two vectors of
  ``g`` and four of ``x``: 0.64 -> 0.555 ms); other rows run three taps a pass, a kernel
  row at a time.

Any stride, padding and dilation. The items are fixed by the shapes alone (:data:`ITEMS`),
so the results are bitwise the same for any thread count and on the serial path. Other
kernel sizes and channel multipliers run the generic channels-last loops.

Channels-first (stride 1, any padding and dilation; the rows of a plane are the contiguous
axis, and these kernels vectorise along them):

* forward (:func:`_forward_planes`, the input gradient as the flipped layer's forward): an
  item is one plane ``(n, c)``, padded into a zero-bordered grid, then four output rows a
  pass (:func:`numbaconv.cpu.simd.plane_rows4`: six input rows' vectors loaded once for
  36 multiply-adds, four independent chains), each output its bias and the nine taps in
  order. The grid kernels' passes of three taps kept an accumulator row in memory:
  (8, 64, 56, 56) 0.97 -> 0.63 ms on one Zen 4 thread, 0.50 -> 0.30 on two (PyTorch
  0.45-0.49).
* weight gradient (:func:`_weight_grad_channels`): an item is a channel, every image in
  it in order, so no partial sums: per output row and kernel row, one pass of three dot
  products along the row (LLVM's vector partial sums).
"""

from __future__ import annotations

import numpy as np

from ..core.conv import ConvGeometry
from ..loops.conv import span
from .jit import I0, njit, pad_into
from .native import team_runs
from .simd import (
    depthwise4,
    depthwise_grad_rows,
    depthwise_grad_rows2,
    depthwise_grad_run,
    lanes,
    plane_rows4,
    register_bytes,
)

#: weight-gradient items (blocks of output rows) a call is cut into, at most: the work per
#: item amortises the item's partial sums, and 32 items still balance several threads
ITEMS = 32

_U = np.uint64


def applies(geometry: ConvGeometry) -> bool:
    """A 2-D channels-last depthwise 3x3 layer with one filter per channel (any stride,
    padding and dilation): what these kernels compute."""
    geo = geometry
    return (geo.channels_last and geo.group_channels == 1 and geo.group_filters == 1
            and geo.planar and geo.kernel == (1, 3, 3)
            and geo.batch > 0 and geo.channels > 0)


@njit(inline="always", fastmath={"contract"})
def _four_outputs(of, o, xf, xb, rs, wf, wt0, bias, C, rows):
    """Four neighbouring outputs at ``of[o:]`` of a stride-1, dilation-1 depthwise pass over
    ``rows`` (2 or 3, a constant where it is called: the loop is unrolled before LLVM
    vectorises the channels) rows of taps from ``xf[xb:]`` (row stride ``rs``), the weights'
    rows from ``wt0``: bias, then the taps in order. 18 input loads for 36 taps (three
    rows)."""
    zero = of.dtype.type(0)
    c1, c2, c3, c4, c5 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C), _U(5 * C)
    for c in range(C):
        u = _U(c)
        s0 = s1 = s2 = s3 = bias[c] if bias.size else zero
        for th in range(rows):
            xr = xb + _U(th) * rs + u
            a0, a1, a2 = xf[xr], xf[xr + c1], xf[xr + c2]
            a3, a4, a5 = xf[xr + c3], xf[xr + c4], xf[xr + c5]
            wr = wt0 + _U(3 * th) * c1 + u
            w0, w1, w2 = wf[wr], wf[wr + c1], wf[wr + c2]
            s0 = s0 + w0 * a0 + w1 * a1 + w2 * a2
            s1 = s1 + w0 * a1 + w1 * a2 + w2 * a3
            s2 = s2 + w0 * a2 + w1 * a3 + w2 * a4
            s3 = s3 + w0 * a3 + w1 * a4 + w2 * a5
        of[o + u] = s0
        of[o + c1 + u] = s1
        of[o + c2 + u] = s2
        of[o + c3 + u] = s3


@njit(cache=True, nogil=True, fastmath={"contract"})
def _forward_rows(x, wt, bias, out, sh, sw, lh, lw, dh, dw, V, r0, r1):
    """Output rows ``r0 <= r < r1`` (``r = n*Ho + oh``) of ``out`` ``(N, Ho, Wo, C)``: each
    output is its bias (or 0) plus its nine taps in order (``wt`` ``(3, 3, C)``), those that
    lie inside ``x`` ``(N, H, W, C)``. Where all nine do, one pass computes the output (two
    or four neighbours per pass at stride 1, sharing their input loads); at stride 1 the
    first and last rows' outputs with two rows of taps inside four a pass, the first and
    last columns' with two columns inside one a pass (the same sums in the same order);
    elsewhere (corners, wider padding) tap by tap. The edges so cost (8, 56, 56, 64)
    padded 1 at one Zen 4 thread 582 -> 498 us (465 unpadded on a 58 x 58 input)."""
    _, H, W, C = x.shape
    _, Ho, Wo, _ = out.shape
    xf, wf, of = x.reshape(-1), wt.reshape(-1), out.reshape(-1)
    zero = of.dtype.type(0)
    c1, c2, c3 = _U(C), _U(2 * C), _U(3 * C)
    c4, c5, c6, c7, c8 = _U(4 * C), _U(5 * C), _U(6 * C), _U(7 * C), _U(8 * C)
    f0, f1 = span(0, W - 2 * dw, -lw, sw, Wo)
    for r in range(r0, r1):
        n, oh = r // Ho, r % Ho
        ob = r * Wo * C
        ih0 = oh * sh - lh
        inside = ih0 >= 0 and ih0 + 2 * dh < H
        e0, e1 = (f0, f1) if inside else (Wo, Wo)
        if not inside and sw == 1 and dw == 1:
            # a first or last row (rows of taps t0 <= th < t1 inside x): where two rows
            # are, its columns with every tap of those rows inside four a pass (the same
            # sums in the same order as tap by tap below), the rest tap by tap
            t0, t1 = 0, 3
            while t0 < 3 and ih0 + t0 * dh < 0:
                t0 += 1
            while t1 > t0 and ih0 + (t1 - 1) * dh >= H:
                t1 -= 1
            e0 = e1 = f0
            if t1 - t0 == 2:  # (two rows: a constant trip count, unrolled, vectorised)
                xr0 = (n * H + ih0 + t0 * dh) * W * C - lw * C
                rs = _U(dh * W * C)
                wt0 = _U(3 * t0) * c1
                while e1 + 4 <= f1:
                    _four_outputs(of, _U(ob + e1 * C), xf, _U(xr0 + e1 * C), rs, wf, wt0,
                                  bias, C, 2)
                    e1 += 4
        # outputs with a tap outside x: bias, then the taps inside, in order
        for e in range(e0 + (Wo - e1)):
            ow = e if e < e0 else e1 + (e - e0)
            o = ob + ow * C
            iw0 = ow * sw - lw
            if inside and dw == 1 and W >= 2 and (iw0 == -1 or iw0 + 2 == W):
                # a first or last column with two columns of taps inside: one pass
                u0 = 1 if iw0 == -1 else 0
                xb, rs = _U(((n * H + ih0) * W + iw0 + u0) * C), _U(dh * W * C)
                for c in range(C):
                    u = _U(c)
                    s0 = bias[c] if bias.size else zero
                    for th in range(3):
                        xr = xb + _U(th) * rs + u
                        wr = _U((3 * th + u0) * C) + u
                        s0 = s0 + wf[wr] * xf[xr] + wf[wr + c1] * xf[xr + c1]
                    of[_U(o) + u] = s0
                continue
            for c in range(C):
                of[_U(o + c)] = bias[c] if bias.size else zero
            for t in range(9):
                ih, iw = ih0 + (t // 3) * dh, ow * sw - lw + (t % 3) * dw
                if 0 <= ih < H and 0 <= iw < W:
                    wb, xb = t * C, ((n * H + ih) * W + iw) * C
                    for c in range(C):
                        of[_U(o + c)] += wf[_U(wb + c)] * xf[_U(xb + c)]
        # outputs with every tap inside x: one pass each
        if e1 <= e0 or not inside:
            continue
        x0 = (n * H + ih0) * W * C - lw * C
        r1_, r2_ = _U(dh * W * C), _U(2 * dh * W * C)
        ow = e0
        if sw == 1 and dw == 1 and C >= V:  # four outputs a pass in explicit vectors
            while ow + 4 <= e1:
                depthwise4(of, ob + ow * C, xf, x0 + ow * C, dh * W * C, wf, bias, C)
                ow += 4
        if sw == 1 and dw == 1:  # four outputs a pass: 18 input loads for 36 taps
            while ow + 4 <= e1:
                _four_outputs(of, _U(ob + ow * C), xf, _U(x0 + ow * C), r1_, wf, _U(0), bias,
                              C, 3)
                ow += 4
            while ow + 2 <= e1:  # two outputs a pass: 12 input loads for 18 taps
                o, xb = _U(ob + ow * C), _U(x0 + ow * C)
                for c in range(C):
                    u = _U(c)
                    b = bias[c] if bias.size else zero
                    a0, a1, a2, a3 = (xf[xb + u], xf[xb + c1 + u], xf[xb + c2 + u],
                                      xf[xb + c3 + u])
                    w0, w1, w2 = wf[u], wf[c1 + u], wf[c2 + u]
                    s0 = b + w0 * a0 + w1 * a1 + w2 * a2
                    s1 = b + w0 * a1 + w1 * a2 + w2 * a3
                    a0, a1, a2, a3 = (xf[xb + r1_ + u], xf[xb + r1_ + c1 + u],
                                      xf[xb + r1_ + c2 + u], xf[xb + r1_ + c3 + u])
                    w0, w1, w2 = wf[c3 + u], wf[c4 + u], wf[c5 + u]
                    s0 = s0 + w0 * a0 + w1 * a1 + w2 * a2
                    s1 = s1 + w0 * a1 + w1 * a2 + w2 * a3
                    a0, a1, a2, a3 = (xf[xb + r2_ + u], xf[xb + r2_ + c1 + u],
                                      xf[xb + r2_ + c2 + u], xf[xb + r2_ + c3 + u])
                    w0, w1, w2 = wf[c6 + u], wf[c7 + u], wf[c8 + u]
                    of[o + u] = s0 + w0 * a0 + w1 * a1 + w2 * a2
                    of[o + c1 + u] = s1 + w0 * a1 + w1 * a2 + w2 * a3
                ow += 2
        d1, d2 = _U(dw * C), _U(2 * dw * C)
        while ow < e1:
            o, xb = _U(ob + ow * C), _U(x0 + ow * sw * C)
            for c in range(C):
                u = _U(c)
                s0 = (bias[c] if bias.size else zero) + wf[u] * xf[xb + u]
                s0 = s0 + wf[c1 + u] * xf[xb + d1 + u] + wf[c2 + u] * xf[xb + d2 + u]
                s0 = (s0 + wf[c3 + u] * xf[xb + r1_ + u] + wf[c4 + u] * xf[xb + r1_ + d1 + u]
                      + wf[c5 + u] * xf[xb + r1_ + d2 + u])
                of[o + u] = (s0 + wf[c6 + u] * xf[xb + r2_ + u]
                             + wf[c7 + u] * xf[xb + r2_ + d1 + u]
                             + wf[c8 + u] * xf[xb + r2_ + d2 + u])
            ow += 1


@njit(cache=True, nogil=True, fastmath={"contract"})
def _weight_grad_items(x, g, part, per, sh, sw, lh, lw, dh, dw, V, two, i0, i1):
    """Items ``i0 <= i < i1``: ``part[i]`` ``(3, 3, C)`` = the sum of ``g * x`` over output
    rows ``[i*per, (i+1)*per)`` for every tap: per kernel row, the outputs with a tap outside
    ``x`` tap by tap, then the others three taps a pass (four outputs a pass at stride 1,
    sharing their loads of ``g`` and ``x``)."""
    N, H, W, C = x.shape
    _, Ho, Wo, _ = g.shape
    xf, gf = x.reshape(-1), g.reshape(-1)
    zero = part.dtype.type(0)
    c1, c2, c3, c4, c5 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C), _U(5 * C)
    f0, f1 = span(0, W - 2 * dw, -lw, sw, Wo)
    rs = dh * W * C
    for it in range(i0, i1):
        pf = part[it].reshape(-1)
        for q in range(pf.size):
            pf[q] = zero
        pend = -1  # a row whose inside outputs wait for the next row, to run as a pair
        for r in range(it * per, min(N * Ho, (it + 1) * per)):
            n, oh = r // Ho, r % Ho
            gr = r * Wo * C
            ih0 = oh * sh - lh
            # every kernel row inside x: the outputs with all taps inside in one pass
            rows3 = (sw == 1 and dw == 1 and C >= V and f1 > f0 and ih0 >= 0
                     and ih0 + 2 * dh < H)
            for th in range(3):
                ih = ih0 + th * dh
                if ih < 0 or ih >= H:
                    continue
                xr = (n * H + ih) * W * C
                pb = th * 3 * C
                for e in range(f0 + (Wo - f1)):
                    ow = e if e < f0 else f1 + (e - f0)
                    for tw in range(3):
                        iw = ow * sw - lw + tw * dw
                        if 0 <= iw < W:
                            pt, xb, gb = pb + tw * C, xr + iw * C, gr + ow * C
                            for c in range(C):
                                pf[_U(pt + c)] += gf[_U(gb + c)] * xf[_U(xb + c)]
                if rows3:
                    continue
                p0 = _U(pb)
                ow = f0
                if sw == 1 and dw == 1 and C >= V and f1 - ow >= 2:
                    m = (f1 - ow) // 2 * 2  # (the odd one out: the one-output loop below)
                    depthwise_grad_run(pf, pb, xf, xr + (ow - lw) * C, gf, gr + ow * C, C, m)
                    ow += m
                if sw == 1 and dw == 1:
                    while ow + 4 <= f1:
                        gb, xb = _U(gr + ow * C), _U(xr + (ow - lw) * C)
                        for c in range(C):
                            u = _U(c)
                            g0, g1, g2, g3 = (gf[gb + u], gf[gb + c1 + u], gf[gb + c2 + u],
                                              gf[gb + c3 + u])
                            a0, a1, a2 = xf[xb + u], xf[xb + c1 + u], xf[xb + c2 + u]
                            a3, a4, a5 = xf[xb + c3 + u], xf[xb + c4 + u], xf[xb + c5 + u]
                            pf[p0 + u] = pf[p0 + u] + g0 * a0 + g1 * a1 + g2 * a2 + g3 * a3
                            pf[p0 + c1 + u] = (pf[p0 + c1 + u] + g0 * a1 + g1 * a2 + g2 * a3
                                               + g3 * a4)
                            pf[p0 + c2 + u] = (pf[p0 + c2 + u] + g0 * a2 + g1 * a3 + g2 * a4
                                               + g3 * a5)
                        ow += 4
                d1, d2 = _U(dw * C), _U(2 * dw * C)
                while ow < f1:
                    gb, xb = _U(gr + ow * C), _U(xr + (ow * sw - lw) * C)
                    for c in range(C):
                        u = _U(c)
                        g0 = gf[gb + u]
                        pf[p0 + u] = pf[p0 + u] + g0 * xf[xb + u]
                        pf[p0 + c1 + u] = pf[p0 + c1 + u] + g0 * xf[xb + d1 + u]
                        pf[p0 + c2 + u] = pf[p0 + c2 + u] + g0 * xf[xb + d2 + u]
                    ow += 1
            if pend >= 0 and not (rows3 and r == pend + 1 and oh > 0):
                _grad_row_inside(pf, xf, gf, pend, H, W, C, Ho, Wo, sh, lh, lw, rs, f0, f1)
                pend = -1
            if rows3 and pend >= 0:  # (two rows, the second's input rows the first's + 1)
                depthwise_grad_rows2(pf, xf, ((n * H + ih0 - sh) * W + f0 - lw) * C, rs, gf,
                                     (pend * Wo + f0) * C, Wo * C, C, f1 - f0)
                pend = -1
            elif rows3 and two and sh == dh:
                pend = r
            elif rows3:
                _grad_row_inside(pf, xf, gf, r, H, W, C, Ho, Wo, sh, lh, lw, rs, f0, f1)
        if pend >= 0:
            _grad_row_inside(pf, xf, gf, pend, H, W, C, Ho, Wo, sh, lh, lw, rs, f0, f1)


@njit(inline="always")
def _grad_row_inside(pf, xf, gf, r, H, W, C, Ho, Wo, sh, lh, lw, rs, f0, f1):
    """Output row ``r``'s outputs with every tap inside ``x``, all nine taps in one pass."""
    n, oh = r // Ho, r % Ho
    ih0 = oh * sh - lh
    depthwise_grad_rows(pf, xf, ((n * H + ih0) * W + f0 - lw) * C, rs, gf,
                        (r * Wo + f0) * C, C, f1 - f0)


def runner(geometry: ConvGeometry, dtype, serial: bool):
    """``run(x, w, bias, out)``: ``out = conv(x, w) + bias`` for a layer :func:`applies`
    accepts (C-contiguous arrays of any shape of the layout's size; ``bias`` may be None),
    its sizes resolved once (a repeated call's prepared pass, as :func:`runner_cf`; a
    channels-last (1, 4, 4, 1) layer's call routed afresh took twice the channels-first
    one's time); ``serial``: on the calling thread (the launcher's threshold,
    :data:`numbaconv.cpu.conv.PARALLEL_WORK`)."""
    geo = geometry
    N, C = geo.batch, geo.channels
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    kh, kw = 3, 3
    zeros = np.zeros(C, dtype)  # (zeros: as no bias)
    sizes = (geo.stride[1], geo.stride[2], geo.lo[1], geo.lo[2], geo.dilation[1],
             geo.dilation[2], np.int64(lanes(np.dtype(dtype).itemsize)))

    def run(x, w, bias, out):
        wt = np.ascontiguousarray(w.reshape(C, kh, kw).transpose(1, 2, 0))
        args = (x.reshape(N, H, W, C), wt, zeros if bias is None else bias.ravel(),
                out.reshape(N, Ho, Wo, C), *sizes)
        if serial:
            _forward_rows(*args, 0, N * Ho)
        else:
            # on Numba's threads: the pass is memory-bound, and each run on Python threads
            # was a kernel call and a hand-off of the GIL ((8, 56, 56, 64) two threads: 32
            # such runs 0.48-0.58 ms, four 0.36-0.43; one thread 0.62-0.76)
            team_runs(_forward_rows, args, N * Ho, min(N * Ho, 8))

    return run


def weight_grad(x, g, dw, geometry: ConvGeometry, serial: bool) -> None:
    """``dw = conv_weight(x, g)`` for a layer :func:`applies` accepts (``dw`` ``(C, 1, kh,
    kw)`` in any shape of that size); ``serial`` as for :func:`runner`."""
    geo = geometry
    N, C = geo.batch, geo.channels
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    kh, kw = 3, 3
    rows = N * Ho
    per = -(-rows // ITEMS)
    items = -(-rows // per)
    part = np.empty((items, kh, kw, C), dtype=dw.dtype)
    args = (x.reshape(N, H, W, C), g.reshape(N, Ho, Wo, C), part, per, geo.stride[1],
            geo.stride[2], geo.lo[1], geo.lo[2], geo.dilation[1], geo.dilation[2],
            np.int64(lanes(dw.dtype.itemsize)), np.bool_(register_bytes() == 64))
    if serial:
        _weight_grad_items(*args, 0, items)
    else:
        team_runs(_weight_grad_items, args, items, items)
    _total(part, dw.reshape(C, kh * kw))


@njit(cache=True, nogil=True)
def _total(part, out):
    """``out[c, t] = part[0, t, c] + part[1, t, c] + ...`` left to right (the order is fixed
    by the shapes; 30 NumPy additions of the partials took 16 us of an (8, 56, 56, 64)
    call)."""
    items, T, C = part.shape[0], out.shape[1], out.shape[0]
    pf = part.reshape(items, T, C)
    for c in range(C):
        for t in range(T):
            s = pf[0, t, c]
            for i in range(1, items):
                s += pf[i, t, c]
            out[c, t] = s


# ------------------------------------------------------------------------ channels-first


def applies_cf(geometry: ConvGeometry) -> bool:
    """A 2-D channels-first depthwise 3x3 layer with one filter per channel, stride 1, any
    dilation, padding before the data >= 0: what the channels-first kernels compute (the
    input gradient as the forward pass of the flipped layer, whose geometry this also
    takes)."""
    geo = geometry
    return (not geo.channels_last and geo.group_channels == 1 and geo.group_filters == 1
            and geo.planar and geo.kernel == (1, 3, 3)
            and geo.stride == (1, 1, 1) and min(geo.lo) >= 0 and geo.batch > 0
            and geo.channels > 0 and min(geo.out_size) > 0)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _forward_planes(xf, wf, bias, of, C, H, W, Ho, Wo, lh, lw, dh, dw, V, p0, p1):
    """Planes ``p = n*C + c`` in ``[p0, p1)`` of a stride-1 depthwise 3x3 forward pass over
    channels-first arrays (flat): each plane padded into a zero-bordered grid (as the
    channels-first grid kernels pad), then each output row in one pass, every output its
    bias and then the nine taps in the order ``(th, tw)``, fused multiply-adds (LLVM's
    vectors of outputs: nine loads and nine multiply-adds a vector, nothing through memory
    in between; the grid kernel's taps-by-three passes kept an accumulator row in memory,
    and ran (8, 64, 56, 56) at 0.97 ms on one Zen 4 thread)."""
    zero = of.dtype.type(0)
    Hp, Wp = Ho + 2 * dh, Wo + 2 * dw
    xp = np.empty((Hp + 1) * Wp, dtype=of.dtype)
    coef = np.empty(10, dtype=of.dtype)
    d1, d2 = _U(dw), _U(2 * dw)
    for p in range(p0, p1):
        c = p % C
        b = bias[c] if bias.size else zero
        w0, w1, w2 = wf[c * 9], wf[c * 9 + 1], wf[c * 9 + 2]
        w3, w4, w5 = wf[c * 9 + 3], wf[c * 9 + 4], wf[c * 9 + 5]
        w6, w7, w8 = wf[c * 9 + 6], wf[c * 9 + 7], wf[c * 9 + 8]
        pad_into(xf, p * H * W, H, W, xp, I0, lh, lw, Hp, Wp)
        ob = p * Ho * Wo
        oh = 0
        if dh == 1 and Wo >= V:  # four rows a pass in explicit vectors (plane_rows4)
            coef[0], coef[1], coef[2], coef[3], coef[4] = w0, w1, w2, w3, w4
            coef[5], coef[6], coef[7], coef[8], coef[9] = w5, w6, w7, w8, b
            while oh + 4 <= Ho:
                plane_rows4(of, ob + oh * Wo, Wo, xp, oh * Wp, Wp, dw, coef, Wo)
                oh += 4
        while oh < Ho:
            r0 = _U(oh * Wp)
            r1, r2 = r0 + _U(dh * Wp), r0 + _U(2 * dh * Wp)
            o = _U(ob + oh * Wo)
            for ow in range(Wo):
                u = _U(ow)
                s = b + w0 * xp[r0 + u] + w1 * xp[r0 + u + d1] + w2 * xp[r0 + u + d2]
                s = s + w3 * xp[r1 + u] + w4 * xp[r1 + u + d1] + w5 * xp[r1 + u + d2]
                of[o + u] = s + w6 * xp[r2 + u] + w7 * xp[r2 + u + d1] + w8 * xp[r2 + u + d2]
            oh += 1


@njit(cache=True, nogil=True, fastmath={"contract", "reassoc"})
def _weight_grad_channels(xf, gf, dwf, N, C, H, W, Ho, Wo, lh, lw, dh, dw, c0, c1):
    """Channels ``[c0, c1)`` of a stride-1 depthwise 3x3 weight gradient over channels-first
    arrays: ``dw[c, th, tw]`` = the sum over images and output rows, in order, of each
    row's dot product of ``g`` with the row of the padded input plane it meets at that
    tap (the three taps of a kernel row in one pass along the row, LLVM's vector partial
    sums). A channel is one item, every image inside it: the sums do not depend on the
    threads."""
    zero = dwf.dtype.type(0)
    Hp, Wp = Ho + 2 * dh, Wo + 2 * dw
    xp = np.empty((Hp + 1) * Wp, dtype=dwf.dtype)
    d1, d2 = _U(dw), _U(2 * dw)
    for c in range(c0, c1):
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = zero
        for n in range(N):
            pad_into(xf, (n * C + c) * H * W, H, W, xp, I0, lh, lw, Hp, Wp)
            gb = (n * C + c) * Ho * Wo
            for oh in range(Ho):
                gr = _U(gb + oh * Wo)
                for th in range(3):
                    r = _U((oh + th * dh) * Wp)
                    s0 = s1 = s2 = zero
                    for ow in range(Wo):
                        u = _U(ow)
                        gv = gf[gr + u]
                        s0 += gv * xp[r + u]
                        s1 += gv * xp[r + u + d1]
                        s2 += gv * xp[r + u + d2]
                    if th == 0:
                        a0, a1, a2 = a0 + s0, a1 + s1, a2 + s2
                    elif th == 1:
                        a3, a4, a5 = a3 + s0, a4 + s1, a5 + s2
                    else:
                        a6, a7, a8 = a6 + s0, a7 + s1, a8 + s2
        d = c * 9
        dwf[d], dwf[d + 1], dwf[d + 2] = a0, a1, a2
        dwf[d + 3], dwf[d + 4], dwf[d + 5] = a3, a4, a5
        dwf[d + 6], dwf[d + 7], dwf[d + 8] = a6, a7, a8


#: runs a parallel channels-first pass is cut into (the cut changes nothing computed)
_CF_PARTS = 16


def _cf_args(geometry: ConvGeometry):
    geo = geometry
    _, H, W = geo.in_size
    _, Ho, Wo = geo.out_size
    return (geo.channels, H, W, Ho, Wo, geo.lo[1], geo.lo[2], geo.dilation[1], geo.dilation[2])


def runner_cf(geometry: ConvGeometry, dtype, serial: bool):
    """``run(x, w, bias, out)``: ``out = conv(x, w) + bias`` for a layer :func:`applies_cf`
    accepts (C-contiguous arrays of any shape of the layout's size; ``bias`` may be None),
    its sizes resolved once (a repeated call's prepared pass; a (1, 1, 4, 4) layer's call
    5.6 -> 3.1 us); ``serial``: on the calling thread."""
    sizes = _cf_args(geometry) + (np.int64(lanes(np.dtype(dtype).itemsize)),)
    planes = geometry.batch * geometry.channels
    no_bias = np.zeros(0, dtype)
    parts = min(planes, _CF_PARTS)

    def run(x, w, bias, out):
        b = no_bias if bias is None else bias.ravel()
        if serial:
            _forward_planes(x.reshape(-1), w.reshape(-1), b, out.reshape(-1), *sizes, 0,
                            planes)
        else:
            team_runs(_forward_planes, (x.reshape(-1), w.reshape(-1), b, out.reshape(-1),
                                        *sizes), planes, parts)

    return run


def weight_grad_runner_cf(geometry: ConvGeometry, serial: bool):
    """``run(x, g, dw)``: ``dw = conv_weight(x, g)`` for a layer :func:`applies_cf` accepts
    (``dw`` ``(C, 1, 3, 3)`` in any C-contiguous shape of that size), its sizes resolved
    once (a repeated call's prepared pass, as :func:`runner_cf`); ``serial`` as there."""
    sizes = (geometry.batch,) + _cf_args(geometry)
    C = geometry.channels
    parts = min(C, _CF_PARTS)

    def run(x, g, dw):
        if serial:
            _weight_grad_channels(x.reshape(-1), g.reshape(-1), dw.reshape(-1), *sizes, 0, C)
        else:
            team_runs(_weight_grad_channels,
                      (x.reshape(-1), g.reshape(-1), dw.reshape(-1), *sizes), C, parts)

    return run
