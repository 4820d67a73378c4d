"""CPU pooling kernels: one generic 3-D implementation for 1-, 2- and 3-D pooling, per layout.

Every launcher takes the call's :class:`numbaconv.core.pooling.PoolSpec` (shapes and window
tables, resolved once) and C-contiguous arrays in the spec's layout; 1-D and 2-D pooling are
3-D pooling with singleton leading spatial axes.

* channels-first ``(N, C, *spatial)``: rows of one output plane at a time, the innermost loop
  over output positions along W (vectorised over the interior windows, whose taps are evenly
  spaced; the few edge windows use the shared scalar loops);
* channels-last ``(N, *spatial, C)``: the innermost loop over the channels of one spatial
  position (contiguous, vectorised whatever the window), no transposition.

Each kernel is a serial ``@njit`` function over a range of work items (output rows, planes or
samples), run on the calling thread below :data:`SERIAL_WORK` and otherwise in fixed runs of
items: the forward kernels and the 2x2 gradients on Numba's threads (one ``prange`` driver
for all, :func:`numbaconv.cpu.native.team_runs`: no GIL to hand over between runs, 20-65%
faster), the other gradients
and unpooling on Python threads (:func:`numbaconv.cpu.threads.run_ranges`, as some of the
convolutions' work items).
Items never depend on the thread count and every output element is computed by the same
code in both paths, so serial and parallel results are bitwise identical. A call compiles
only the kernels it runs.

Semantics shared with the CUDA twin through :mod:`numbaconv.loops.pooling` (identical
results, bit for bit):

* max: taps scanned in (d, h, w) order; a tap replaces the running maximum when it is
  greater, or when it is NaN and the maximum is not NaN yet (:func:`~numbaconv.loops.pooling.takes`):
  the first maximum and the first NaN win. A window with no tap inside the input (possible
  only with dilation) gives -inf and index -1.
* average: ``sum_w (sum_{d,h} x) / ((fac_d * fac_h) * fac_w)``, accumulated in the array's
  dtype, columns first; its gradient at an input element is ``sum_ow (sum_{od,oh} g / divisor)``
  over the outputs whose windows hold it, in ascending order.
* max gradient: each ``grad_output`` entry added to its window's maximum, plane by plane in
  output scan order (a serial scatter per plane or channel block: deterministic).

Kernel 2, stride 2, no padding or dilation in 2-D channels-first (the CNN pooling, read off the
window tables by :func:`_tiles2`) has kernels of its own: the windows tile the plane, so the
gradient writes each input element once (``0 + g`` at the picked tap, zeros elsewhere: the
generic kernels' values) with no zeroing pass and no scatter, and the picked tap comes from
selects on single comparisons (:func:`_tile2_tap`), which compile without branches.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import types
from numba.extending import overload

from ..loops.pooling import add_col_grads, pick, row_argmax, takes, unpool_plane
from .jit import I0, njit
from .native import team_runs
from .simd import lanes, max2_row
from .threads import run_ranges

_U = np.uint64

#: below this many elements read and written (``PoolSpec.work``) a call runs on the calling
#: thread: handing work to a Python thread (~30 us) costs more than it saves
SERIAL_WORK = 1 << 18
#: elements per parallel work item (a fixed split: results never depend on the thread count).
#: Each item is a Python-level hand-out holding the GIL for a few microseconds: items of
#: 32k elements (4 us of the channels-last max kernel) made a (64, 11, 11, 64) pooling 2.6x
#: slower on two threads than on one; at 128k the split is never slower than serial
#: (measured on 0.9M-12.8M element calls, both layouts, forward and gradients)
ITEM_WORK = 1 << 17
#: channels per work item of the channels-last max-pooling gradient
CHANNEL_BLOCK = 64

_NEG_INF = -np.inf
#: every kernel: cached on disk; NumPy's error model (a float division by zero is IEEE, not a
#: Python exception: no check in the loops, which keeps them vectorised)
_JIT = dict(cache=True, nogil=True, error_model="numpy")


# --------------------------------------------------- channels-first interior loops (variants)
#
# The interior windows of a row (evenly spaced, all inside the input) are processed tap row by
# tap row over all of them at once: constant strides, no bounds, vectorised. Stride 2 with 2 or
# 3 taps (the common windows) fuse the taps into one pass. Each variant is its own compiled
# function, chosen by the *type* of the ``variant`` token the launcher passes (see
# :func:`_variant`), so a call compiles only the interior loop its windows use.
# Unsigned offsets: no negative-index wraparound checks.

#: variant tokens (their numba types select the interior loop at compile time)
STRIDE2_K2 = np.int8(0)
STRIDE2_K3 = np.int16(0)
GENERIC = np.int64(0)


@functools.lru_cache(maxsize=512)
def _variant(spec):
    """The interior-loop token of a channels-first max pooling (once per spec)."""
    geo = spec.geo
    if geo[5] > geo[4] and geo[2] == 1 and geo[3] == 2:
        kw = spec.win[2, 2, geo[4]]
        if kw == 2:
            return STRIDE2_K2
        if kw == 3:
            return STRIDE2_K3
    return GENERIC


def _max_interior(x, rb, acc, a0, m, sw, kw, dw, variant):
    """acc[a0+i] = max(acc[a0+i], taps of interior window i in the tap row at ``rb``)."""


def _max_s2k2(x, rb, acc, a0, m, sw, kw, dw, variant):
    xs = x[rb:rb + 2 * m]
    a = acc[a0:a0 + m]
    for i in range(m):
        a[i] = pick(xs[2 * i + 1], pick(xs[2 * i], a[i]))


def _max_s2k3(x, rb, acc, a0, m, sw, kw, dw, variant):
    xs = x[rb:rb + 2 * m + 1]
    a = acc[a0:a0 + m]
    for i in range(m):
        a[i] = pick(xs[2 * i + 2], pick(xs[2 * i + 1], pick(xs[2 * i], a[i])))


def _max_any(x, rb, acc, a0, m, sw, kw, dw, variant):
    a = acc[a0:a0 + m]
    for jw in range(kw):
        s0 = rb + jw * dw
        if sw == 1:
            xs = x[s0:s0 + m]
            for i in range(m):
                a[i] = pick(xs[i], a[i])
        else:
            xs = x[s0:s0 + (m - 1) * sw + 1]
            for i in range(m):
                a[i] = pick(xs[i * sw], a[i])


@overload(_max_interior)
def _max_interior_variant(x, rb, acc, a0, m, sw, kw, dw, variant):
    if variant == types.int8:
        return _max_s2k2
    if variant == types.int16:
        return _max_s2k3
    return _max_any


def _argmax_interior(x, xp, rp, best, idx, a0, m, sw, kw, dw, variant):
    """:func:`_max_interior` with indices: taps at plane positions ``rp + ...`` of the plane
    at ``xp``."""


def _argmax_s2k2(x, xp, rp, best, idx, a0, m, sw, kw, dw, variant):
    rb = xp + rp
    for i in range(m):
        b = best[_U(a0 + i)]
        j = idx[_U(a0 + i)]
        v = x[_U(rb) + _U(2 * i)]
        t = takes(v, b)
        b = v if t else b
        j = rp + 2 * i if t else j
        v = x[_U(rb) + _U(2 * i + 1)]
        t = takes(v, b)
        b = v if t else b
        j = rp + 2 * i + 1 if t else j
        best[_U(a0 + i)] = b
        idx[_U(a0 + i)] = j


def _argmax_s2k3(x, xp, rp, best, idx, a0, m, sw, kw, dw, variant):
    rb = xp + rp
    for i in range(m):
        b = best[_U(a0 + i)]
        j = idx[_U(a0 + i)]
        v = x[_U(rb) + _U(2 * i)]
        t = takes(v, b)
        b = v if t else b
        j = rp + 2 * i if t else j
        v = x[_U(rb) + _U(2 * i + 1)]
        t = takes(v, b)
        b = v if t else b
        j = rp + 2 * i + 1 if t else j
        v = x[_U(rb) + _U(2 * i + 2)]
        t = takes(v, b)
        b = v if t else b
        j = rp + 2 * i + 2 if t else j
        best[_U(a0 + i)] = b
        idx[_U(a0 + i)] = j


def _argmax_any(x, xp, rp, best, idx, a0, m, sw, kw, dw, variant):
    for jw in range(kw):
        p0 = rp + jw * dw
        s0 = xp + p0
        if sw == 1:
            for i in range(m):
                v = x[_U(s0) + _U(i)]
                b = best[_U(a0 + i)]
                t = takes(v, b)
                best[_U(a0 + i)] = v if t else b
                idx[_U(a0 + i)] = p0 + i if t else idx[_U(a0 + i)]
        else:
            for i in range(m):
                v = x[_U(s0) + _U(i * sw)]
                b = best[_U(a0 + i)]
                t = takes(v, b)
                best[_U(a0 + i)] = v if t else b
                idx[_U(a0 + i)] = p0 + i * sw if t else idx[_U(a0 + i)]


@overload(_argmax_interior)
def _argmax_interior_variant(x, xp, rp, best, idx, a0, m, sw, kw, dw, variant):
    if variant == types.int8:
        return _argmax_s2k2
    if variant == types.int16:
        return _argmax_s2k3
    return _argmax_any


# ------------------------------------------------------------------ channels-first row kernels


@njit(**_JIT)
def _max_row(x, xp, H, W, oW, win, geo, od, oh, acc, o0, variant):
    """acc[o0:o0+oW] = the maxima of output row (od, oh) of the plane starting at ``xp``.

    Per tap row: the few edge windows tap by tap (the shared
    :func:`~numbaconv.loops.pooling.row_argmax`), the interior all at once.
    """
    dd, dh, dw, sw, ia, ib = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    m = ib - ia
    edges = ia + oW - ib
    kw = win[2, 2, ia] if m > 0 else 0
    for ow in range(oW):
        acc[_U(o0 + ow)] = _NEG_INF
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * dd
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            rq = (d * H + win[1, 0, oh] + jh * dh) * W
            for e in range(edges):
                ow = e if e < ia else e - ia + ib
                b, _ = row_argmax(x, xp, 1, rq, win, dw, ow, acc[o0 + ow], 0)
                acc[o0 + ow] = b
            if m > 0:
                _max_interior(x, xp + rq + win[2, 0, ia], acc, o0 + ia, m, sw, kw, dw, variant)


@njit(**_JIT)
def _argmax_row(x, xp, H, W, oW, win, geo, od, oh, best, idx, o0, variant):
    """Like :func:`_max_row`, also writing each maximum's flat in-plane index to ``idx``.

    The interior windows start at their first tap; scanning that tap again changes
    nothing (a value never replaces itself, NaN included).
    """
    dd, dh, dw, sw, ia, ib = geo[0], geo[1], geo[2], geo[3], geo[4], geo[5]
    m = ib - ia
    edges = ia + oW - ib
    kw = win[2, 2, ia] if m > 0 else 0
    for e in range(edges):
        ow = e if e < ia else e - ia + ib
        best[o0 + ow] = _NEG_INF
        idx[o0 + ow] = -1
    a0 = o0 + ia
    if win[0, 1, od] < win[0, 2, od] and win[1, 1, oh] < win[1, 2, oh]:
        d = win[0, 0, od] + win[0, 1, od] * dd
        p0 = (d * H + win[1, 0, oh] + win[1, 1, oh] * dh) * W + win[2, 0, ia]
        for i in range(m):
            best[_U(a0 + i)] = x[_U(xp + p0) + _U(i * sw)]
            idx[_U(a0 + i)] = p0 + i * sw
    else:  # no tap row inside the input (dilation): -inf, index -1
        for i in range(m):
            best[_U(a0 + i)] = _NEG_INF
            idx[_U(a0 + i)] = -1
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * dd
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            rq = (d * H + win[1, 0, oh] + jh * dh) * W
            for e in range(edges):
                ow = e if e < ia else e - ia + ib
                b, j = row_argmax(x, xp, 1, rq, win, dw, ow, best[o0 + ow], idx[o0 + ow])
                best[o0 + ow] = b
                idx[o0 + ow] = j
            if m > 0:
                _argmax_interior(x, xp, rq + win[2, 0, ia], best, idx, o0 + ia, m, sw, kw, dw,
                                 variant)


@njit(**_JIT, inline="always")
def _isum(c, cb, acc, a0, m, s):
    for i in range(m):
        acc[_U(a0 + i)] += c[_U(cb) + _U(i * s)]


# -------------------------------------------------------------- channels-first serial kernels


# ------------------------------------------- channels-first 2x2 tiles (kernel 2, stride 2)
#
# The common CNN pooling (kernel 2, stride 2, no padding, no dilation, 2-D): the windows tile
# the plane, every input element lies in at most one window. One pass per output row reads its
# two input rows once; the gradient writes every input element once (the routed value or
# zero), so it needs neither a zeroing pass nor a scatter. Same scan order, same takes() and
# the same values as the generic kernels (a gradient entry is written as 0 + g, the generic
# kernels' zero plus one addition, so -0.0 becomes +0.0 in both).


@njit(**_JIT, inline="always")
def _tile2_tap(x0, x1, x2, x3, zero, one, two, three, four):
    """Which tap (0..3, as a float of the array's dtype) :func:`takes`' scan picks among
    ``x0..x3``: the first NaN if there is one, else the first maximum.

    Every select is conditioned on one float comparison, so the code has no branches (a select
    on :func:`takes`' two-comparison condition compiles to a jump that random data mispredicts
    half the time, 4x slower) and the gradient loops vectorise.
    """
    k = zero
    best = x0
    t = x1 > best
    best = x1 if t else best
    k = one if t else k
    t = x2 > best
    best = x2 if t else best
    k = two if t else k
    k = three if x3 > best else k
    kn = four  # the first NaN, scanned last to first
    kn = three if x3 != x3 else kn
    kn = two if x2 != x2 else kn
    kn = one if x1 != x1 else kn
    kn = zero if x0 != x0 else kn
    return kn if kn < four else k


#: a 2x2 row kernel runs its loops over a multiple of this many windows wherever the extra
#: windows stay inside ``x`` and inside its own range of rows (:func:`_run2`): LLVM then runs
#: the whole row in vector iterations. On the course notes' rows of 13 windows the scalar
#: remainder of an exact-length loop was most of the time ((2048, 26, 26) float32: 0.73 ->
#: 0.26 ms; a 1024x1024 image 0.58 -> 0.10 ms, one thread)
RUN2 = 16


@njit(**_JIT, inline="always")
def _run2(r, r1, oW, a0, W, n, m):
    """How many windows output row ``r`` of a 2x2 kernel computes: ``m`` (``oW`` rounded up to
    :data:`RUN2`) when the windows past ``oW`` read inside ``x`` (``n`` elements) and write
    outputs of the later rows of the same range (``< r1``), which overwrite them; else ``oW``."""
    if r * oW + m <= r1 * oW and a0 + W + 2 * m <= n:
        return m
    return oW


@njit(**_JIT)
def _max2_rows(x, out, H, W, oH, oW, V, r0, r1):
    """Output rows ``r0 <= r < r1`` (rows: (plane, oh)) of 2x2 / stride-2 max pooling: each
    window's taps in row-major order, the first maximum / first NaN winning (:func:`pick`:
    the values of :func:`takes`' scan), over rows of :func:`_run2` windows: in vectors of
    ``V`` (:func:`numbaconv.cpu.simd.max2_row`) where a row has that many, else a loop."""
    m = -(-oW // RUN2) * RUN2
    n = x.size
    oh, a0 = r0 % oH, (r0 // oH) * H * W + 2 * (r0 % oH) * W  # (counters: no division a row)
    for r in range(r0, r1):
        if r > r0:
            oh += 1
            a0 += 2 * W
            if oh == oH:
                oh = 0
                a0 += (H - 2 * oH) * W
        k = _run2(r, r1, oW, a0, W, n, m)
        if k >= V:
            max2_row(out, r * oW, x, a0, W, k)
            continue
        xa = x[a0:a0 + 2 * k]
        xb = x[a0 + W:a0 + W + 2 * k]
        o = out[r * oW:r * oW + k]
        for ow in range(k):
            best = pick(xa[2 * ow + 1], xa[2 * ow])
            best = pick(xb[2 * ow], best)
            o[ow] = pick(xb[2 * ow + 1], best)


@njit(**_JIT)
def _avg2_rows(x, out, H, W, oH, oW, div, r0, r1, zero):
    """Output rows ``r0 <= r < r1`` (rows: (plane, oh)) of 2x2 / stride-2 average pooling
    with one divisor ``div``: the sums of :func:`_avg_rows` in its order (column sums of
    the two rows, then the two columns, each from zero), over ``div``."""
    for r in range(r0, r1):
        oh = r % oH
        a0 = (r // oH) * H * W + 2 * oh * W
        b0 = a0 + W
        o0 = r * oW
        for ow in range(oW):
            a, b = _U(a0 + 2 * ow), _U(b0 + 2 * ow)
            left = (zero + x[a]) + x[b]
            right = (zero + x[a + _U(1)]) + x[b + _U(1)]
            out[_U(o0) + _U(ow)] = ((zero + left) + right) / div


@njit(**_JIT)
def _argmax2_rows(x, out, idx, H, W, oH, oW, r0, r1):
    """:func:`_max2_rows` also writing each maximum's flat in-plane index to ``idx`` (the tap
    :func:`_tile2_tap` picks: the same window scan)."""
    zero, one, two, three, four = (x.dtype.type(0), x.dtype.type(1), x.dtype.type(2),
                                   x.dtype.type(3), x.dtype.type(4))
    m = -(-oW // RUN2) * RUN2
    n = x.size
    for r in range(r0, r1):
        oh = r % oH
        p0 = 2 * oh * W
        a0 = (r // oH) * H * W + p0
        k = _run2(r, r1, oW, a0, W, n, m)
        xa = x[a0:a0 + 2 * k]
        xb = x[a0 + W:a0 + W + 2 * k]
        o = out[r * oW:r * oW + k]
        j = idx[r * oW:r * oW + k]
        for ow in range(k):
            x0, x1, x2, x3 = xa[2 * ow], xa[2 * ow + 1], xb[2 * ow], xb[2 * ow + 1]
            t = np.int64(_tile2_tap(x0, x1, x2, x3, zero, one, two, three, four))
            o[ow] = pick(x3, pick(x2, pick(x1, x0)))
            j[ow] = p0 + 2 * ow + (t & 1) + (t >> 1) * W


@njit(**_JIT)
def _max2_bwd_rows(g, x, gin, H, W, oH, oW, r0, r1, zero):
    """Output rows ``r0 <= r < r1`` of the 2x2 / stride-2 max-pooling gradient: the two input
    rows under output row ``r`` (and, for a plane's last output row, the rows below it that no
    window reads) written whole: ``0 + g`` at each window's maximum, zeros elsewhere.

    First the picked tap of each window of the row (:func:`_tile2_tap`), then each input row
    in one pass: three loops with contiguous or paired accesses, which vectorise."""
    one, two, three, four = (x.dtype.type(1), x.dtype.type(2), x.dtype.type(3),
                             x.dtype.type(4))
    tap = np.empty(oW, x.dtype)
    for r in range(r0, r1):
        oh = r % oH
        xp = (r // oH) * H * W
        a0 = xp + 2 * oh * W
        b0 = a0 + W
        o0 = r * oW
        for ow in range(oW):
            a = a0 + 2 * ow
            b = b0 + 2 * ow
            tap[_U(ow)] = _tile2_tap(x[_U(a)], x[_U(a) + _U(1)], x[_U(b)], x[_U(b) + _U(1)],
                                     zero, one, two, three, four)
        for ow in range(oW):
            v = zero + g[_U(o0) + _U(ow)]
            k = tap[_U(ow)]
            gin[_U(a0) + _U(2 * ow)] = v if k == zero else zero
            gin[_U(a0) + _U(2 * ow + 1)] = v if k == one else zero
        for ow in range(oW):
            v = zero + g[_U(o0) + _U(ow)]
            k = tap[_U(ow)]
            gin[_U(b0) + _U(2 * ow)] = v if k == two else zero
            gin[_U(b0) + _U(2 * ow + 1)] = v if k == three else zero
        for w in range(2 * oW, W):  # the columns right of the last window
            gin[_U(a0) + _U(w)] = zero
            gin[_U(b0) + _U(w)] = zero
        if oh == oH - 1:  # the rows below the last window
            for i in range(xp + 2 * oH * W, xp + H * W):
                gin[_U(i)] = zero


@njit(**_JIT)
def _max2_bwd_planes(g, x, gin, H, W, oH, oW, p0, p1, zero):
    """Planes ``p0 <= p < p1`` of the 2x2 / stride-2 max-pooling gradient for small maps: the
    plane zeroed in one pass, then ``0 + g`` stored at each window's maximum (the values of
    :func:`_max2_bwd_rows`, without its per-row loop starts, which cost more than the work
    on rows of a few windows)."""
    one, two, three, four = (x.dtype.type(1), x.dtype.type(2), x.dtype.type(3),
                             x.dtype.type(4))
    for p in range(p0, p1):
        xp = p * H * W
        for i in range(xp, xp + H * W):
            gin[_U(i)] = zero
        for oh in range(oH):
            a0 = xp + 2 * oh * W
            o0 = (p * oH + oh) * oW
            for ow in range(oW):
                a = a0 + 2 * ow
                b = a + W
                k = np.int64(_tile2_tap(x[_U(a)], x[_U(a) + _U(1)], x[_U(b)],
                                        x[_U(b) + _U(1)], zero, one, two, three, four))
                gin[_U(a + (k & 1) + (k >> 1) * W)] = zero + g[_U(o0) + _U(ow)]


#: how many times cheaper an element of :func:`_max2_rows_cl` is than the work model's
#: (0.06 ns against the generic kernels' 0.25): below 4M elements it runs serially (a
#: (64, 26, 26, 32) map: 0.16 ms on one thread, 0.20 on two; (100, 28, 28, 32): 0.65, 0.48)
_CL2_CHEAPER = 16

#: output widths below which the 2x2 gradient goes plane by plane (:func:`_max2_bwd_planes`)
_PLANES_BELOW = 8


@functools.lru_cache(maxsize=512)
def _tiles2(spec) -> bool:
    """True when ``spec`` is 2-D-like, channels-first max pooling with kernel 2, stride 2, no
    padding and no dilation, every window whole: the :func:`_max2_rows` kernels apply."""
    return not spec.channels_last and _two_by_two(spec)


@functools.lru_cache(maxsize=512)
def _two_by_two(spec) -> bool:
    """True when ``spec`` is 2-D-like max pooling (either layout) with kernel 2, stride 2, no
    padding and no dilation, every window whole."""
    return spec.kind in ("max", "adaptive_max") and _whole_2x2_tiles(spec)


@functools.lru_cache(maxsize=512)
def _avg_tiles2(spec):
    """The one divisor (in the dtype) when ``spec`` is 2-D-like channels-first average pooling
    whose windows are whole 2x2 tiles (kernel 2, stride 2, no padding) all divided by it (4,
    or the override): :func:`_avg2_rows` applies. Else None."""
    if spec.kind not in ("avg", "adaptive_avg") or spec.channels_last or spec.fac is None:
        return None
    if not _whole_2x2_tiles(spec):
        return None
    oH, oW = spec.dims[4], spec.dims[5]
    fac = spec.fac
    if not ((fac[1, :oH] == fac[1, 0]).all() and (fac[2, :oW] == fac[2, 0]).all()):
        return None
    return (fac[0, 0] * fac[1, 0]) * fac[2, 0]  # (the general kernel's product, its dtype)


def _whole_2x2_tiles(spec) -> bool:
    """Kernel 2, stride 2, no padding, no dilation, 2-D-like, every window whole."""
    if spec.win is None:
        return False
    D, H, W, oD, oH, oW = spec.dims
    if D != 1 or oD != 1 or oH == 0 or oW == 0 or spec.geo[1] != 1 or spec.geo[2] != 1:
        return False
    win = spec.win
    if win[0, 0, 0] != 0 or win[0, 1, 0] != 0 or win[0, 2, 0] != 1:
        return False
    for a, n in ((1, oH), (2, oW)):
        if not ((win[a, 0, :n] == 2 * np.arange(n)).all() and (win[a, 1, :n] == 0).all()
                and (win[a, 2, :n] == 2).all()):
            return False
    return True


@njit(**_JIT)
def _max_rows(x, out, win, geo, D, H, W, oD, oH, oW, r0, r1, variant):
    """Output rows ``r0 <= r < r1`` (rows: (plane, od, oh)) of max pooling."""
    for r in range(r0, r1):
        oh = r % oH
        t = r // oH
        od = t % oD
        p = t // oD
        _max_row(x, p * D * H * W, H, W, oW, win, geo, od, oh, out, r * oW, variant)


@njit(**_JIT)
def _argmax_rows(x, out, idx, win, geo, D, H, W, oD, oH, oW, r0, r1, variant):
    """Output rows ``r0 <= r < r1`` of max pooling with indices."""
    for r in range(r0, r1):
        oh = r % oH
        t = r // oH
        od = t % oD
        p = t // oD
        _argmax_row(x, p * D * H * W, H, W, oW, win, geo, od, oh, out, idx, r * oW, variant)


@njit(**_JIT)
def _max_bwd_planes(g, x, gin, win, geo, D, H, W, oD, oH, oW, p0, p1, variant):
    """Planes ``p0 <= p < p1`` of the max-pooling gradient: zeros, then each ``g`` entry
    added at its window's maximum in output scan order."""
    plane, oplane = D * H * W, oD * oH * oW
    best = np.empty(oW, x.dtype)
    idx = np.empty(oW, np.int64)
    for p in range(p0, p1):
        xp = p * plane
        for i in range(plane):
            gin[_U(xp) + _U(i)] = 0
        for od in range(oD):
            for oh in range(oH):
                _argmax_row(x, xp, H, W, oW, win, geo, od, oh, best, idx, I0, variant)
                go = p * oplane + (od * oH + oh) * oW
                for ow in range(oW):
                    i = idx[ow]
                    if i >= 0:
                        gin[_U(xp) + _U(i)] += g[_U(go) + _U(ow)]


@njit(**_JIT)
def _avg_rows(x, out, win, geo, fac, D, H, W, oD, oH, oW, r0, r1, zero):
    """Output rows ``r0 <= r < r1`` of average pooling: column sums of the window rows, then
    the window sums along W in tap order, over the divisor."""
    sw, ia, ib = geo[3], geo[4], geo[5]
    kw = win[2, 2, ia] if ib > ia else 0
    b0 = win[2, 0, ia] if ib > ia else 0
    m = ib - ia
    col = np.empty(W, x.dtype)
    acc = np.empty(oW, x.dtype)
    for r in range(r0, r1):
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
        for ow in range(oW):
            acc[ow] = zero
        for ow in range(ia):
            for jw in range(win[2, 1, ow], win[2, 2, ow]):
                acc[ow] += col[win[2, 0, ow] + jw]
        taps = kw
        if taps > m:  # few wide windows (global pooling): one window at a time, same order
            for i in range(m):
                a = acc[ia + i]
                base = b0 + i * sw
                for jw in range(taps):
                    a += col[_U(base + jw)]
                acc[ia + i] = a
            taps = 0
        for jw in range(taps):
            start = b0 + jw
            if sw == 1:  # vectorised over the interior outputs (constant strides)
                _isum(col, start, acc, ia, m, 1)
            elif sw == 2:
                _isum(col, start, acc, ia, m, 2)
            else:
                _isum(col, start, acc, ia, m, sw)
        for ow in range(ib, oW):
            for jw in range(win[2, 1, ow], win[2, 2, ow]):
                acc[ow] += col[win[2, 0, ow] + jw]
        o0 = r * oW
        f = fac[0, od] * fac[1, oh]
        for ow in range(oW):
            out[o0 + ow] = acc[ow] / (f * fac[2, ow])


@njit(**_JIT)
def _avg_bwd_rows(g, gin, fac, inv, win, D, H, W, oD, oH, oW, r0, r1, zero):
    """Input rows ``r0 <= r < r1`` (rows: (plane, d, h)) of the average-pooling gradient: the
    shared :func:`~numbaconv.loops.pooling.add_col_grads` over all output columns (vectorised
    along W), then each column added to its window's inputs, outputs in ascending order.

    That is the CUDA twin's per-element gather in the same order, minus its additions of
    +0.0 for unused slots, which never change a sum that starts at +0.0 (it is never -0.0).
    """
    tmp = np.empty(oW, gin.dtype)
    for r in range(r0, r1):
        h = r % H
        t = r // H
        d = t % D
        p = t // D
        for ow in range(oW):
            tmp[ow] = zero
        add_col_grads(g, p * oD * oH * oW, 1, oD, oH, oW, fac, inv, d, h, 0, oW, tmp, 0)
        ib = r * W
        for w in range(W):
            gin[_U(ib) + _U(w)] = zero
        for ow in range(oW):  # along W, outputs in ascending order
            v = tmp[ow]
            b = ib + win[2, 0, ow]
            for jw in range(win[2, 1, ow], win[2, 2, ow]):
                gin[_U(b + jw)] += v


@njit(**_JIT)
def _unpool_planes(x, idx, out, n_in, n_out, p0, p1):
    for p in range(p0, p1):
        unpool_plane(x, idx, out, p * n_in, p * n_out, 1, n_in, n_out)


# --------------------------------------------------------------- channels-last serial kernels


@njit(**_JIT)
def _max_rows_cl(x, out, win, geo, D, H, W, C, oD, oH, oW, r0, r1):
    """Output rows ``r0 <= r < r1`` (rows: (n, od, oh)) of channels-last max pooling.

    Per output position, one pass over its C contiguous channels per tap row, the row's
    (up to 3) taps fused into the pass; the first pass starts from the first tap.
    """
    dd, dh, dw = geo[0], geo[1], geo[2]
    for r in range(r0, r1):
        oh = r % oH
        t = r // oH
        od = t % oD
        n = t // oD
        xb = n * D * H * W * C
        for ow in range(oW):
            o = (r * oW + ow) * C
            jw0, jw1 = win[2, 1, ow], win[2, 2, ow]
            first = True
            for jd in range(win[0, 1, od], win[0, 2, od]):
                d = win[0, 0, od] + jd * dd
                for jh in range(win[1, 1, oh], win[1, 2, oh]):
                    rp = (d * H + win[1, 0, oh] + jh * dh) * W + win[2, 0, ow]
                    jw = jw0
                    if first and jw < jw1:  # the window's first tap: taken as it is
                        xo = xb + (rp + jw * dw) * C
                        if jw1 - jw >= 2:  # (with the second in the same pass)
                            x1 = xo + dw * C
                            for c in range(C):
                                b = x[_U(xo) + _U(c)]
                                v = x[_U(x1) + _U(c)]
                                out[_U(o) + _U(c)] = pick(v, b)
                            jw += 2
                        else:
                            for c in range(C):
                                out[_U(o) + _U(c)] = x[_U(xo) + _U(c)]
                            jw += 1
                        first = False
                    while jw < jw1:
                        xo = xb + (rp + jw * dw) * C
                        if jw1 - jw >= 2:  # two taps in one pass over the channels
                            x1 = xo + dw * C
                            for c in range(C):
                                b = out[_U(o) + _U(c)]
                                v = x[_U(xo) + _U(c)]
                                b = pick(v, b)
                                v = x[_U(x1) + _U(c)]
                                out[_U(o) + _U(c)] = pick(v, b)
                            jw += 2
                        else:
                            for c in range(C):  # contiguous channels: vectorised
                                b = out[_U(o) + _U(c)]
                                v = x[_U(xo) + _U(c)]
                                out[_U(o) + _U(c)] = pick(v, b)
                            jw += 1
            if first:  # no tap inside the input (dilation)
                for c in range(C):
                    out[_U(o) + _U(c)] = _NEG_INF


@njit(**_JIT, inline="always")
def _rows2_cl(r, H, W, C, oH, oW):
    """Flat offsets of channels-last 2x2 / stride-2 output row ``r`` ((n, oh)): its two input
    rows' starts and its own."""
    a0 = ((r // oH) * H + 2 * (r % oH)) * W * C
    return a0, a0 + W * C, r * oW * C


@njit(**_JIT)
def _max2_rows_cl(x, out, H, W, C, oH, oW, r0, r1):
    """Output rows ``r0 <= r < r1`` (rows: (n, oh)) of channels-last 2x2 / stride-2 max
    pooling: per output position one pass over its C contiguous channels reading the four
    taps in (h, w) order, each replacing the maximum as :func:`~numbaconv.loops.pooling.takes`
    says (the generic kernel's order and values, without its window tables and second
    pass)."""
    for r in range(r0, r1):
        a0, b0, o0 = _rows2_cl(r, H, W, C, oH, oW)
        for ow in range(oW):
            a, b, o = a0 + 2 * ow * C, b0 + 2 * ow * C, o0 + ow * C
            for c in range(C):
                m = x[_U(a) + _U(c)]
                v = x[_U(a + C) + _U(c)]
                m = v if takes(v, m) else m
                v = x[_U(b) + _U(c)]
                m = v if takes(v, m) else m
                v = x[_U(b + C) + _U(c)]
                out[_U(o) + _U(c)] = v if takes(v, m) else m


@njit(**_JIT)
def _max2_bwd_rows_cl(g, x, gin, H, W, C, oH, oW, r0, r1, zero):
    """Output rows ``r0 <= r < r1`` (rows: (n, oh)) of the channels-last 2x2 / stride-2
    max-pooling gradient: the two input rows under the row (and, for an image's last output
    row, the rows below it that no window reads) written whole, ``0 + g`` at each window's
    pick (:func:`_tile2_tap`) and zeros elsewhere, one pass over the channels per window."""
    one, two, three = x.dtype.type(1), x.dtype.type(2), x.dtype.type(3)
    four = x.dtype.type(4)
    tap = np.empty(C, x.dtype)
    for r in range(r0, r1):
        a0, b0, o0 = _rows2_cl(r, H, W, C, oH, oW)
        for ow in range(oW):
            a, b, o = a0 + 2 * ow * C, b0 + 2 * ow * C, o0 + ow * C
            # three loops of few streams each: one loop writing all four taps needs more
            # run-time overlap checks than LLVM allows, and stays scalar (4x slower)
            for c in range(C):
                tap[_U(c)] = _tile2_tap(x[_U(a) + _U(c)], x[_U(a + C) + _U(c)],
                                        x[_U(b) + _U(c)], x[_U(b + C) + _U(c)], zero, one,
                                        two, three, four)
            for c in range(C):
                v = zero + g[_U(o) + _U(c)]
                k = tap[_U(c)]
                gin[_U(a) + _U(c)] = v if k == zero else zero
                gin[_U(a + C) + _U(c)] = v if k == one else zero
            for c in range(C):
                v = zero + g[_U(o) + _U(c)]
                k = tap[_U(c)]
                gin[_U(b) + _U(c)] = v if k == two else zero
                gin[_U(b + C) + _U(c)] = v if k == three else zero
        for i in range(2 * oW * C, W * C):  # the columns right of the last window
            gin[_U(a0 + i)] = zero
            gin[_U(b0 + i)] = zero
        n = r // oH
        if r % oH == oH - 1:  # the rows below the last window
            for i in range((n * H + 2 * oH) * W * C, (n + 1) * H * W * C):
                gin[_U(i)] = zero


@njit(**_JIT, inline="always")
def _argmax_cl(x, xb, win, geo, H, W, C, c0, c1, od, oh, ow, best, idx, o):
    """best/idx[o : o + c1 - c0] = the window maxima of channels c0..c1 (channels-last): the
    first tap taken as it is, then the others two per pass over the channels."""
    dd, dh, dw = geo[0], geo[1], geo[2]
    cw = c1 - c0
    jw0, jw1 = win[2, 1, ow], win[2, 2, ow]
    first = True
    for jd in range(win[0, 1, od], win[0, 2, od]):
        d = win[0, 0, od] + jd * dd
        for jh in range(win[1, 1, oh], win[1, 2, oh]):
            rp = (d * H + win[1, 0, oh] + jh * dh) * W + win[2, 0, ow]
            jw = jw0
            if first and jw < jw1:
                p = rp + jw * dw
                xo = xb + p * C + c0
                if jw1 - jw >= 2:  # the first tap taken as it is, the second compared
                    q = p + dw
                    x1 = xo + dw * C
                    for c in range(cw):
                        b = x[_U(xo) + _U(c)]
                        v = x[_U(x1) + _U(c)]
                        t = takes(v, b)
                        best[_U(o) + _U(c)] = v if t else b
                        idx[_U(o) + _U(c)] = q if t else p
                    jw += 2
                else:
                    for c in range(cw):
                        best[_U(o) + _U(c)] = x[_U(xo) + _U(c)]
                        idx[_U(o) + _U(c)] = p
                    jw += 1
                first = False
            while jw < jw1:
                p = rp + jw * dw
                xo = xb + p * C + c0
                if jw1 - jw >= 2:
                    q = p + dw
                    x1 = xo + dw * C
                    for c in range(cw):
                        b = best[_U(o) + _U(c)]
                        j = idx[_U(o) + _U(c)]
                        v = x[_U(xo) + _U(c)]
                        t = takes(v, b)
                        b = v if t else b
                        j = p if t else j
                        v = x[_U(x1) + _U(c)]
                        t = takes(v, b)
                        best[_U(o) + _U(c)] = v if t else b
                        idx[_U(o) + _U(c)] = q if t else j
                    jw += 2
                else:
                    for c in range(cw):
                        v = x[_U(xo) + _U(c)]
                        b = best[_U(o) + _U(c)]
                        t = takes(v, b)
                        best[_U(o) + _U(c)] = v if t else b
                        idx[_U(o) + _U(c)] = p if t else idx[_U(o) + _U(c)]
                    jw += 1
    if first:  # no tap inside the input (dilation): -inf, index -1
        for c in range(cw):
            best[_U(o) + _U(c)] = _NEG_INF
            idx[_U(o) + _U(c)] = -1


@njit(**_JIT)
def _argmax_rows_cl(x, out, idx, win, geo, D, H, W, C, oD, oH, oW, r0, r1):
    """Output rows ``r0 <= r < r1`` of channels-last max pooling with indices."""
    for r in range(r0, r1):
        oh = r % oH
        t = r // oH
        od = t % oD
        n = t // oD
        xb = n * D * H * W * C
        for ow in range(oW):
            _argmax_cl(x, xb, win, geo, H, W, C, 0, C, od, oh, ow, out, idx, (r * oW + ow) * C)


@njit(**_JIT)
def _max_bwd_cl(g, x, gin, win, geo, D, H, W, C, oD, oH, oW, i0, i1):
    """Items ``i0 <= i < i1`` (items: (n, block of CHANNEL_BLOCK channels)) of the
    channels-last max-pooling gradient, scattered in output scan order."""
    nblk = (C + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    best = np.empty(CHANNEL_BLOCK, x.dtype)
    bidx = np.empty(CHANNEL_BLOCK, np.int64)
    S = D * H * W
    for it in range(i0, i1):
        n = it // nblk
        c0 = (it % nblk) * CHANNEL_BLOCK
        c1 = min(C, c0 + CHANNEL_BLOCK)
        xb = n * S * C
        for s in range(S):
            for c in range(c0, c1):
                gin[_U(xb + s * C) + _U(c)] = 0
        for od in range(oD):
            for oh in range(oH):
                for ow in range(oW):
                    _argmax_cl(x, xb, win, geo, H, W, C, c0, c1, od, oh, ow, best, bidx, 0)
                    go = (((n * oD + od) * oH + oh) * oW + ow) * C + c0
                    for c in range(c1 - c0):
                        i = bidx[c]
                        if i >= 0:
                            gin[_U(xb + i * C + c0) + _U(c)] += g[_U(go) + _U(c)]


@njit(**_JIT)
def _avg_rows_cl(x, out, win, fac, D, H, W, C, oD, oH, oW, r0, r1, zero):
    """Output rows ``r0 <= r < r1`` of channels-last average pooling (the channels-first
    kernel's order: column sums over the (d, h) taps, then the w taps, over the divisor)."""
    WC = W * C
    col = np.empty(WC, x.dtype)
    for r in range(r0, r1):
        oh = r % oH
        t = r // oH
        od = t % oD
        n = t // oD
        xb = n * D * H * WC
        first = True  # (the first row's pass sets the sums: zero plus the row, in order)
        for jd in range(win[0, 1, od], win[0, 2, od]):
            d = win[0, 0, od] + jd
            h0, h1 = win[1, 0, oh] + win[1, 1, oh], win[1, 0, oh] + win[1, 2, oh]
            h = h0
            if first and h < h1:
                rb = xb + (d * H + h) * WC
                for i in range(WC):  # a whole row of positions x channels: vectorised
                    col[i] = zero + x[_U(rb) + _U(i)]
                first = False
                h += 1
            while h + 1 < h1:  # two rows a pass, added in row order
                ra = xb + (d * H + h) * WC
                rb = ra + WC
                for i in range(WC):
                    col[i] = (col[i] + x[_U(ra) + _U(i)]) + x[_U(rb) + _U(i)]
                h += 2
            if h < h1:
                ra = xb + (d * H + h) * WC
                for i in range(WC):
                    col[i] += x[_U(ra) + _U(i)]
        if first:  # (no row: an empty window)
            for i in range(WC):
                col[i] = zero
        f = fac[0, od] * fac[1, oh]
        for ow in range(oW):
            o = _U((r * oW + ow) * C)
            j, j1, w0 = win[2, 1, ow], win[2, 2, ow], win[2, 0, ow]
            if j < j1:  # the w taps as the rows: zero plus the first, then two a pass
                cb = _U((w0 + j) * C)
                for c in range(C):
                    out[o + _U(c)] = zero + col[cb + _U(c)]
                j += 1
            else:
                for c in range(C):
                    out[o + _U(c)] = zero
            while j + 1 < j1:
                ca, cb = _U((w0 + j) * C), _U((w0 + j + 1) * C)
                for c in range(C):
                    out[o + _U(c)] = (out[o + _U(c)] + col[ca + _U(c)]) + col[cb + _U(c)]
                j += 2
            if j < j1:
                cb = _U((w0 + j) * C)
                for c in range(C):
                    out[o + _U(c)] += col[cb + _U(c)]
            dv = f * fac[2, ow]
            for c in range(C):
                out[o + _U(c)] = out[o + _U(c)] / dv


@njit(**_JIT)
def _avg_bwd_rows_cl(g, gin, fac, inv, D, H, W, C, oD, oH, oW, r0, r1, zero):
    """Input rows ``r0 <= r < r1`` (rows: (n, d, h)) of the channels-last average-pooling
    gradient, in :func:`~numbaconv.loops.pooling.add_col_grads`' order, vectorised over C."""
    cm = inv.shape[1]
    tmp = np.empty((oW + 1) * C, gin.dtype)
    for r in range(r0, r1):
        h = r % H
        t = r // H
        d = t % D
        n = t // D
        for i in range((oW + 1) * C):
            tmp[i] = zero
        for a in range(cm):
            od = inv[0, a, d]
            if od == oD:
                continue
            for b in range(cm):
                oh = inv[1, b, h]
                if oh == oH:
                    continue
                go = ((n * oD + od) * oH + oh) * oW * C
                f = fac[0, od] * fac[1, oh]
                for ow in range(oW):
                    dv = f * fac[2, ow]
                    for c in range(C):
                        tmp[_U(ow * C) + _U(c)] += g[_U(go + ow * C) + _U(c)] / dv
        ib = r * W * C
        for i in range(W * C):
            gin[_U(ib) + _U(i)] = zero
        for m in range(cm):
            for w in range(W):
                tb = inv[2, m, w] * C
                for c in range(C):
                    gin[_U(ib + w * C) + _U(c)] += tmp[_U(tb) + _U(c)]


@njit(**_JIT)
def _unpool_cl(x, idx, out, n_in, n_out, C, i0, i1):
    for n in range(i0, i1):
        for c in range(C):
            unpool_plane(x, idx, out, n * n_in * C + c, n * n_out * C + c, C, n_in, n_out)


def _split(items: int, work: int):
    """``None`` for the serial path, else the items per parallel chunk (fixed by the shapes)."""
    if work < SERIAL_WORK or items < 2:
        return None
    return max(1, -(-items * ITEM_WORK // work))


#: kernels whose parallel calls run on Numba's threads (its OpenMP team hands out work
#: without the GIL: (64, 32, 26, 26) 2x2 max pooling 0.20 ms on two Python threads, 0.09
#: on two of Numba's, one thread 0.16; its gradient 0.41 / 0.31 / 0.61; the channels-last
#: (64, 26, 26, 32) gradient 0.43 -> 0.16 ms, (64, 11, 11, 64) 0.13 -> 0.05; Zen 4), every
#: forward kernel since (Zen 3, same rounds: (64, 26, 26, 32) 2x2 average 0.59 -> 0.20 ms,
#: PyTorch 0.33; the global average of (32, 64, 112, 112) 5.2 -> 3.5, PyTorch 3.1; (32, 64,
#: 112, 112) 3x3/2 average 9.7 -> 7.7, max 29 -> 26), in this many runs
_PARALLEL_RUNS = 8


def _launch(kernel, args: tuple, items: int, work: int, tail: tuple = ()) -> None:
    """``kernel(*args, i0, i1, *tail)`` over ``range(items)``: on the calling thread below
    :data:`SERIAL_WORK`, else in fixed chunks on the threads (:func:`_split`; the 2x2 rows
    kernels in :data:`_PARALLEL_RUNS` runs on Numba's threads). Every output element is
    one item's, so no cut changes a result."""
    step = _split(items, work)
    if step is None:
        kernel(*args, 0, items, *tail)
    elif kernel in _ON_TEAM:
        team_runs(kernel, args, items, min(items, _PARALLEL_RUNS), tail)
    else:
        run_ranges(kernel, args, items, step, tail)


#: the kernels :func:`_launch` runs on Numba's threads (:func:`~.native.team_runs`)
_ON_TEAM = frozenset((_max2_rows, _max2_bwd_rows, _max2_rows_cl, _max2_bwd_rows_cl,
                      _max2_bwd_planes, _avg_rows, _avg2_rows, _avg_rows_cl, _max_rows,
                      _max_rows_cl))


# ------------------------------------------------------------------------------- launchers


def max_pool(spec, x, out) -> None:
    """``out`` = max pooling of ``x`` through ``spec``'s window tables (the kernel, its
    constant arguments and its cut chosen once per spec: :func:`_max_plan`)."""
    if out.size == 0:
        return
    kernel, consts, items, work, tail = _max_plan(spec)
    _launch(kernel, (x.ravel(), out.ravel(), *consts), items, work, tail)


@functools.lru_cache(maxsize=512)
def _max_plan(spec):
    """``(kernel, constant arguments, items, work, tail)`` of :func:`max_pool` for ``spec``
    (a repeated call, a batch-1 layer's, skips choosing again: 0.6 us)."""
    D, H, W, oD, oH, oW = spec.dims
    if spec.channels_last and _two_by_two(spec):
        return (_max2_rows_cl, (H, W, spec.channels, oH, oW), spec.batch * oH,
                spec.work // _CL2_CHEAPER, ())
    if spec.channels_last:
        return (_max_rows_cl, (spec.win, spec.geo, D, H, W, spec.channels, oD, oH, oW),
                spec.batch * oD * oH, spec.work, ())
    if _tiles2(spec):
        return (_max2_rows, (H, W, oH, oW, np.int64(lanes(np.dtype(spec.dtype).itemsize))),
                spec.batch * spec.channels * oH, spec.work, ())
    return (_max_rows, (spec.win, spec.geo, D, H, W, oD, oH, oW),
            spec.batch * spec.channels * oD * oH, spec.work, (_variant(spec),))


def max_pool_indices(spec, x, out, idx) -> None:
    """Max pooling that also writes the flat in-plane index of every maximum to ``idx``."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    xf, of, jf = x.ravel(), out.ravel(), idx.ravel()
    if spec.channels_last:
        _launch(_argmax_rows_cl, (xf, of, jf, spec.win, spec.geo, D, H, W, spec.channels, oD,
                                  oH, oW), spec.batch * oD * oH, spec.work)
    elif _tiles2(spec):
        _launch(_argmax2_rows, (xf, of, jf, H, W, oH, oW), spec.batch * spec.channels * oH,
                spec.work)
    else:
        _launch(_argmax_rows, (xf, of, jf, spec.win, spec.geo, D, H, W, oD, oH, oW),
                spec.batch * spec.channels * oD * oH, spec.work, (_variant(spec),))


def max_pool_backward(spec, g, x, gin) -> None:
    """``gin`` = the max-pooling gradient: each ``g`` entry added at its window's maximum
    (the kernel, its constant arguments and its cut chosen once per spec:
    :func:`_max_bwd_plan`)."""
    if gin.size == 0:
        return
    kernel, consts, items, tail = _max_bwd_plan(spec)
    _launch(kernel, (g.ravel(), x.ravel(), gin.ravel(), *consts), items, spec.work, tail)


@functools.lru_cache(maxsize=512)
def _max_bwd_plan(spec):
    """``(kernel, constant arguments, items, tail)`` of :func:`max_pool_backward` for
    ``spec``, as :func:`_max_plan` (a repeated tiny call skips choosing again)."""
    D, H, W, oD, oH, oW = spec.dims
    zero = (np.dtype(spec.dtype).type(0),)
    if spec.channels_last and _two_by_two(spec):  # windows tile the map: written once
        return _max2_bwd_rows_cl, (H, W, spec.channels, oH, oW), spec.batch * oH, zero
    if spec.channels_last:
        C = spec.channels
        return (_max_bwd_cl, (spec.win, spec.geo, D, H, W, C, oD, oH, oW),
                spec.batch * (-(-C // CHANNEL_BLOCK)), ())
    if _tiles2(spec) and oW < _PLANES_BELOW:  # small maps: plane by plane
        return _max2_bwd_planes, (H, W, oH, oW), spec.batch * spec.channels, zero
    if _tiles2(spec):  # every input element in at most one window: written once, by rows
        return _max2_bwd_rows, (H, W, oH, oW), spec.batch * spec.channels * oH, zero
    return (_max_bwd_planes, (spec.win, spec.geo, D, H, W, oD, oH, oW),
            spec.batch * spec.channels, (_variant(spec),))


def avg_pool(spec, x, out) -> None:
    """``out`` = average pooling of ``x``: window sums over the divisors of ``spec.fac`` (the
    kernel, its constant arguments and its cut chosen once per spec: :func:`_avg_plan`)."""
    if out.size == 0:
        return
    kernel, consts, items, tail = _avg_plan(spec)
    _launch(kernel, (x.ravel(), out.ravel(), *consts), items, spec.work, tail)


@functools.lru_cache(maxsize=512)
def _avg_plan(spec):
    """``(kernel, constant arguments, items, tail)`` of :func:`avg_pool` for ``spec`` (a
    repeated call skips the 2x2 test's array comparisons: a tiny call 3.75 -> 3.2 us)."""
    D, H, W, oD, oH, oW = spec.dims
    zero = (np.dtype(spec.dtype).type(0),)
    if spec.channels_last:
        return (_avg_rows_cl, (spec.win, spec.fac, D, H, W, spec.channels, oD, oH, oW),
                spec.batch * oD * oH, zero)
    if (div := _avg_tiles2(spec)) is not None:
        return _avg2_rows, (H, W, oH, oW, div), spec.batch * spec.channels * oH, zero
    return (_avg_rows, (spec.win, spec.geo, spec.fac, D, H, W, oD, oH, oW),
            spec.batch * spec.channels * oD * oH, zero)


def avg_pool_backward(spec, g, gin) -> None:
    """``gin`` = the average-pooling gradient, gathered per input row through ``spec.inv``
    (chosen once per spec: :func:`_avg_bwd_plan`)."""
    if gin.size == 0:
        return
    kernel, consts, items = _avg_bwd_plan(spec)
    _launch(kernel, (g.ravel(), gin.ravel(), *consts), items, spec.work,
            (gin.dtype.type(0),))


@functools.lru_cache(maxsize=512)
def _avg_bwd_plan(spec):
    """``(kernel, constant arguments, items)`` of :func:`avg_pool_backward` for ``spec``."""
    D, H, W, oD, oH, oW = spec.dims
    if spec.channels_last:
        return (_avg_bwd_rows_cl, (spec.fac, spec.inv, D, H, W, spec.channels, oD, oH, oW),
                spec.batch * D * H)
    return (_avg_bwd_rows, (spec.fac, spec.inv, spec.win, D, H, W, oD, oH, oW),
            spec.batch * spec.channels * D * H)


def max_unpool(spec, x, idx, out) -> None:
    """``out`` = zeros with each value of ``x`` at its flat in-plane index (the last wins)."""
    if out.size == 0:
        return
    D, H, W, oD, oH, oW = spec.dims
    n_in, n_out = D * H * W, oD * oH * oW
    xf, jf, of = x.ravel(), idx.ravel(), out.ravel()
    if spec.channels_last:
        _launch(_unpool_cl, (xf, jf, of, n_in, n_out, spec.channels), spec.batch, spec.work)
    else:
        _launch(_unpool_planes, (xf, jf, of, n_in, n_out), spec.batch * spec.channels,
                spec.work)
