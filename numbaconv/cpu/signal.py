"""CPU kernels for scipy.signal-style convolution: direct (Numba) and FFT (scipy.fft, CPU only).

Direct method. Every direct operation is the one primitive of
:mod:`numbaconv.core.signal`, a correlation of the extended input with taps::

    out[o] = sum_j w[j] * xext[o + j]

read from the geometry vector ``g`` (shapes and per-axis index maps). The
output is viewed as rows along its last (contiguous) axis, each row cut into
blocks of ``BLOCK`` outputs; a work item is one block of one row, so one long
1-D signal keeps both cores busy as well as many short rows do. In a block,
the *interior* outputs (whose every tap lies inside ``x`` along the last axis)
run as fused contiguous passes of up to 8 taps from any kernel rows
(``out += x0*w0 + ... + x7*w7``, which LLVM vectorises); the few outputs near
the edges sum their taps through the last axis's index map
(:func:`numbaconv.loops.signal.edge_dot`, shared with the CUDA twin), and
kernel rows that fall outside ``x`` add the fill value or are skipped. No
padded copy of ``x`` is made for any boundary, except by the kernel for small
2-D maps, large kernels and stacks of images (:func:`_slices2d`), where the
edges' index-map sums would dominate: it builds each 2-D slice's extended input
once and computes eight output rows at a time over it in registers
(:func:`numbaconv.cpu.simd.rows_taps`; complex dtypes in fused passes), as the
1-D kernel computes eight vectors of outputs at a time. Calls under ``SERIAL_WORK``
multiply-adds run on the calling thread; larger ones hand runs of work items
to the threads Numba would use, each taking the next run when it is done
(:func:`numbaconv.cpu.threads.run_chunks`: a descheduled thread on a busy
machine does not hold the call up, and no parallel kernel has to compile).
Each output is accumulated by one thread in an order fixed by the shapes, so
the results are bitwise identical for any thread count and either path.

FFT method (CPU only: :func:`fft_convolve`, :func:`fft_workers`). scipy.fft
transforms, one over the whole padded extent, overlap-add blocks or overlap-save
tiles, with ``workers`` set to the threads Numba uses. Real 2-D images in float32
or float64 (:func:`fft_window_2d`, the large-kernel path of ``convolve2d`` and of
``convolve(method='auto')``) go in pairs of tiles through complex transforms, read
straight from the input through the padding's index maps.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import cast

import numpy as np
from numba import types
from numba.extending import overload

from ..loops.signal import edge_dot, row_base
from .jit import njit
from .simd import ROWS, lanes, rows_taps
from .threads import num_threads, run_chunks, run_parallel

#: output elements per work item along the last axis (L1-sized for float64 and complex128)
BLOCK = 2048

#: below this many multiply-adds a call runs on the calling thread: waking the worker threads
#: costs more than it saves, and on a loaded machine a descheduled worker stalls the whole call
SERIAL_WORK = 1_000_000

#: a 2-D call runs :func:`_slices2d` (the extended input built once, then plain fused
#: passes, on the calling thread) below this many multiply-adds, whatever its kernel;
#: above, :func:`_rows` except in the cases of :func:`_extended`. Float64 'symm' 'same',
#: Zen 3: 8x8 * 3x3 6.9 -> 4.1 us, 128x128 * 3x3 65 -> 38 us, 64x64 * 7x7 132 -> 31 us,
#: 32x32 * 31x31 2.0 -> 0.13 ms; 256x256 * 3x3 134 against 138 us, hence the limit
SMALL_WORK = 1 << 18
#: ... and for larger kernels while the extended input has at most this many elements (in
#: L2) and the call at most this many multiply-adds: one thread over the extended input
#: beats the row kernel's parallel edges there (100x100 * 11x11: 0.58 -> 0.13 ms; 256x256
#: * 7x7: 0.45 -> 0.36 ms), and loses from 512x512 * 7x7 (1.1 against 3.8 ms)
EXTENDED_MAX = 1 << 17
EXTENDED_WORK = 1 << 23
#: multiply-adds per run when a stack of slices goes to the threads (a run is one hand-out)
EXTENDED_RUN = 1 << 19

#: outputs per parallel chunk (a chunk is a run of work items on one thread)
CHUNK_OUTPUTS = 16384


@njit(cache=True, nogil=True, fastmath={"contract"})
def _interior(out, o0, n, x, zx, tw, to, nt):
    """``out[o0 + t] = sum_q tw[q] * x[to[q] + t]`` for ``t < n``, in fused passes of 4 taps;
    the first pass writes, the others accumulate (no zeroing pass).

    ``to[q]`` is where tap ``q`` starts reading ``x``. The ``nt`` taps are padded to a
    multiple of 4 with zero taps (``to = -1``) that read the zero buffer ``zx``, never ``x``
    (``0 * inf`` would be NaN). Slices starting at 0 make LLVM vectorise the loops;
    ``contract`` lets it fuse each multiply-add. The sum order is fixed by the tap list.
    """
    ov = out[o0:o0 + n]
    for q in range(0, nt, 4):
        x0 = x[to[q]:to[q] + n] if to[q] >= 0 else zx[:n]
        x1 = x[to[q + 1]:to[q + 1] + n] if to[q + 1] >= 0 else zx[:n]
        x2 = x[to[q + 2]:to[q + 2] + n] if to[q + 2] >= 0 else zx[:n]
        x3 = x[to[q + 3]:to[q + 3] + n] if to[q + 3] >= 0 else zx[:n]
        w0, w1, w2, w3 = tw[q], tw[q + 1], tw[q + 2], tw[q + 3]
        if q == 0:
            for t in range(n):
                ov[t] = x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3
        else:
            for t in range(n):
                ov[t] += x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3


@njit(cache=True, nogil=True, fastmath={"contract"})
def _line(x, w, out, tf, ti, flip, lo, slot, item0, item1):
    """1-D with zero fill (convolve/correlate of vectors), blocks ``item0 <= item < item1``.

    ``tf``/``ti`` hold the scratch (see :func:`_scratch`); ``slot`` is the calling thread's.
    """
    block = BLOCK
    ol, ml, xl = out.shape[0], w.shape[0], x.shape[0]
    cap = (ml + 3) // 4 * 4
    per = (tf.shape[0] - 2) // (ti.shape[0] // cap)
    zlen = per - cap
    tw = tf[2 + slot * per:2 + slot * per + cap]
    zx = tf[2 + slot * per + cap:2 + (slot + 1) * per]
    to = ti[slot * cap:(slot + 1) * cap]
    for t in range(zlen):
        zx[t] = 0
    for j in range(cap):
        tw[j] = 0 if j >= ml else (w[ml - 1 - j] if flip else w[j])
    for item in range(item0, item1):
        i0 = item * block
        i1 = i0 + block if i0 + block < ol else ol
        ov = out[i0:i1]
        # interior: outputs whose every tap is inside x
        ia = lo if lo > i0 else i0
        ib = xl + lo - ml + 1 if xl + lo - ml + 1 < i1 else i1
        if ib <= ia:
            ia = i1
            ib = i1
        for e in range((ia - i0) + (i1 - ib)):  # the edges: [i0, ia) and [ib, i1)
            c = i0 + e if i0 + e < ia else ib + (e - (ia - i0))
            j0 = lo - c if lo > c else 0
            j1 = xl + lo - c if xl + lo - c < ml else ml
            acc = zx[0]
            for j in range(j0, j1):
                acc += x[c + j - lo] * tw[j]
            ov[c - i0] = acc
        if ib > ia:
            _line_run(out, ia, ib - ia, x, ia - lo, tw, ml, zx, to, cap)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _rows(x, w, out, g, tf, ti, flip, zero_fill, slot, item0, item1):
    """N-D with any boundary: work items ``item0 <= item < item1``, one block of one output row
    each. ``tf``/``ti`` hold the fill value and the scratch (see :func:`_scratch`); ``slot`` is
    the calling thread's.
    """
    block = BLOCK
    nd = g[0]
    ol, ml, xl, lo = g[3 * nd], g[2 * nd], g[nd], g[6 * nd]
    krows = w.shape[0] // ml
    nblocks = (ol + block - 1) // block
    cval = tf[0]
    zero = tf[1]
    cap = (w.shape[0] + 3) // 4 * 4
    per = (tf.shape[0] - 2) // (ti.shape[0] // cap)
    zlen = per - cap
    tw = tf[2 + slot * per:2 + slot * per + cap]
    zx = tf[2 + slot * per + cap:2 + (slot + 1) * per]
    to = ti[slot * cap:(slot + 1) * cap]
    for t in range(zlen):
        zx[t] = zero
    for item in range(item0, item1):
        r = item // nblocks
        i0 = (item % nblocks) * block
        i1 = i0 + block if i0 + block < ol else ol
        ov = out[r * ol + i0:r * ol + i1]
        # interior: every tap inside x along the last axis
        ia = lo if lo > i0 else i0
        ib = xl + lo - ml + 1 if xl + lo - ml + 1 < i1 else i1
        if ib <= ia:
            ia = i1
            ib = i1
        for e in range((ia - i0) + (i1 - ib)):  # the edges start at zero
            ov[e if i0 + e < ia else e + (ib - ia)] = zero
        nt = 0
        sfill = zero  # the sum of the rows of the fill value, added to every output at the end
        for kr in range(krows):
            base = row_base(g, r, kr)
            if base < 0 and zero_fill:
                continue
            # the edges [i0, ia) and [ib, i1) through the index map; a row of the fill value
            # (base < 0) gives every output the same sum, computed once (one call site)
            nedge = (ia - i0) + (i1 - ib) if base >= 0 else 1
            s = zero
            for e in range(nedge):
                c = i0 + e if i0 + e < ia else ib + (e - (ia - i0))
                s = edge_dot(x, w, g, base, kr, c, flip, cval, zero_fill,
                             ov[c - i0] if base >= 0 else zero)
                if base >= 0:
                    ov[c - i0] = s
            if base < 0:
                sfill += s
                continue
            if ib > ia:
                wb = w.shape[0] - 1 - kr * ml if flip else kr * ml
                ws = -1 if flip else 1
                for j in range(ml):
                    tw[nt] = w[wb + j * ws]
                    to[nt] = base + ia + j - lo
                    nt += 1
        # the interior, written by its first pass (no zeroing pass); with no tap inside x, one
        # zero tap on the zero buffer writes the zeros
        n4 = (nt + 3) // 4 * 4 if nt > 0 else 4
        for q in range(nt, n4):
            tw[q] = zero
            to[q] = -1
        _interior(out, r * ol + ia, ib - ia, x, zx, tw, to, n4)
        if not zero_fill:
            for t in range(i1 - i0):
                ov[t] += sfill


@njit(cache=True, nogil=True)
def _slices2d(x, w, out, g, cval, flip, zero_fill, bh, slot, s0, s1) -> bool:
    """Items ``s0 <= s < s1`` of the output's 2-D slices (its leading axes flattened; the
    kernel's leading axes have length 1) in bands of ``bh`` rows (item = (slice, band)), any
    boundary: each band's extended input (``x`` through the last two axes' index maps, the
    fill value outside; the band's rows and the ``krows - 1`` below) built once in a scratch
    array, then a plain correlation over it (:func:`_band_rows`: blocks of :data:`ROWS`
    output rows in vectors for real dtypes, complex ones row by row). A row's values do not
    depend on the band it is in.
    Where :func:`_rows` sums every row's edges through the index maps (9 ns a multiply-add)
    and sets up its passes per row (an 8x8 * 3x3 'symm' call: 4.2 us of setup for 576
    multiply-adds). False, with nothing written, when the fill is skipped (``zero_fill``)
    and ``w`` holds an inf or NaN: a skipped tap is not ``0 * w`` then, and :func:`_rows`
    keeps the difference. (``slot``: the thread's, unused: the scratch is the call's own.)"""
    if zero_fill:
        for q in range(w.shape[0]):
            d = w[q] - w[q]
            if d != d:
                return False
    nd = g[0]
    ra, la = nd - 2, nd - 1  # the row axis and the last axis
    ml, ol, rows, krows = g[1 + nd + la], g[1 + 2 * nd + la], g[1 + 2 * nd + ra], g[1 + nd + ra]
    mo = g[1 + 4 * nd + la]  # where the last axis's index map starts in g
    xw, lo = g[1 + la], g[1 + 5 * nd + la]
    e1n = ol + ml - 1
    bh = min(bh, rows)
    nb = -(-rows // bh)
    # real dtypes: every block of ROWS output rows in vectors of V (:func:`_band_rows`), a
    # row narrower than a vector and a band's rows past a multiple of ROWS read from the
    # extended rows' padding (zeros; those outputs are dropped), complex ones row by row
    V = _vector_lanes(out)
    e1w = e1n if V == 0 else max(e1n, max(ol, V) + ml - 1)  # an extended row's stride
    erows = bh if V == 0 else -(-bh // ROWS) * ROWS
    ext = np.empty((erows + krows - 1) * e1w, out.dtype)
    blk = np.empty(0 if V == 0 else ROWS * max(ol, V), out.dtype)
    if V > 0 and (ol < V or rows - (nb - 1) * bh < ROWS):
        for i in range(ext.size):  # the padding a scratch block reads: zeros, not whatever
            ext[i] = 0             # the memory held (a denormal would slow the FMAs down)
    # along the last axis, x's own span [a, b) of an extended row is a copy (the index map is
    # e1 - lo there); the rest goes through the map
    a = lo if lo > 0 else 0
    a = a if a < e1n else e1n
    b = lo + xw if lo + xw > a else a
    b = b if b < e1n else e1n
    # the taps, padded to a multiple of 4 with zero taps (:func:`_interior`'s, complex
    # dtypes); np.empty and loops: np.zeros and np.full would each compile their own
    # overload on a cold first call, 0.15 s apiece
    nt = krows * ml
    tw = np.empty((nt + 3) // 4 * 4, out.dtype)
    for q in range(tw.size):
        tw[q] = 0 if q >= nt else (w[w.shape[0] - 1 - q] if flip else w[q])
    for it in range(s0, s1):
        sl = it // nb
        r0 = (it % nb) * bh
        r1 = r0 + bh if r0 + bh < rows else rows
        for e in range(r1 - r0 + krows - 1):
            # extended row e0 is where output row rl meets kernel row e0 - rl (the kernel's
            # leading axes have length 1): its start in x through every axis's index map
            e0 = r0 + e
            rl = e0 if e0 < rows else rows - 1
            xb = row_base(g, sl * rows + rl, e0 - rl)
            er = ext[e * e1w:e * e1w + e1n]
            if xb < 0:
                for e1 in range(e1n):
                    er[e1] = cval
                continue
            xs = x[xb - lo + a:xb - lo + b]  # (a >= lo: inside x)
            es = er[a:b]
            for e1 in range(b - a):  # (views from 0: a vectorised copy, where indexing x
                es[e1] = xs[e1]      # at xb - lo + e1 ran scalar, 1.8 of 3.3 ms a 1024^2)
            for e1 in range(a):
                xi = g[mo + e1]
                er[e1] = x[xb + xi] if xi >= 0 else cval
            for e1 in range(b, e1n):
                xi = g[mo + e1]
                er[e1] = x[xb + xi] if xi >= 0 else cval
        _band_rows(out, (sl * rows + r0) * ol, ol, r1 - r0, ext, e1w, tw, krows, ml, blk)
    return True


def _line_run(out, o0, n, x, x0, tw, ml, zx, to, cap) -> None:
    """A 1-D interior run, ``out[o0 + t] = sum_j tw[j] * x[x0 + j + t]`` for ``t < n``.

    Real dtypes: in blocks of :data:`ROWS` vectors (:func:`numbaconv.cpu.simd.rows_taps`
    with the vectors as its rows; n = 1e6 float64 * 31 taps, Zen 4: 1.68 -> 1.02 ms,
    float32 1.08 -> 0.61), the last, partial block over a zero-padded copy of its inputs
    into a scratch block (the same sums in the same order): no fused-pass fallback compiled
    in (a cold first ``convolve`` 1.5-1.7 -> 1.24-1.31 s). Complex dtypes:
    :func:`_interior`'s passes (``zx``, ``to``, ``cap`` its zero buffer, offsets and padded
    tap count)."""
    raise NotImplementedError("compiled code only (the overload below)")


@overload(_line_run)
def _line_run_typed(out, o0, n, x, x0, tw, ml, zx, to, cap):
    if not isinstance(out.dtype, types.Float):
        def passes(out, o0, n, x, x0, tw, ml, zx, to, cap):
            for j in range(cap):
                to[j] = x0 + j if j < ml else -1
            _interior(out, o0, n, x, zx, tw, to, cap)

        return passes
    v = lanes(out.dtype.bitwidth // 8)

    def blocks(out, o0, n, x, x0, tw, ml, zx, to, cap):
        step = ROWS * v
        done = n // step * step
        for t in range(0, done, step):
            rows_taps(out, o0 + t, v, x, x0 + t, v, tw, 1, ml, v)
        if done < n:  # the last, partial block
            xs = np.empty(step + ml - 1, out.dtype)
            ys = np.empty(step, out.dtype)
            m = n - done + ml - 1
            for i in range(xs.size):
                xs[i] = x[x0 + done + i] if i < m else 0
            rows_taps(ys, 0, v, xs, 0, v, tw, 1, ml, v)
            for i in range(n - done):
                out[o0 + done + i] = ys[i]

    return blocks


def _vector_lanes(out) -> int:
    """The lanes of :func:`_band_rows`'s vectors for ``out``'s dtype; 0 for complex dtypes
    (row by row)."""
    raise NotImplementedError("compiled code only (the overload below)")


@overload(_vector_lanes)
def _vector_lanes_typed(out):
    n = lanes(out.dtype.bitwidth // 8) if isinstance(out.dtype, types.Float) else 0
    return lambda out: n


def _band_rows(out, o0, ol, nr, ext, e1w, tw, krows, ml, blk) -> None:
    """The ``nr`` output rows of one band of :func:`_slices2d`, ``out[o0 + r*ol + c] = sum
    over (kr, j) of tw[kr*ml + j] * ext[(r + kr)*e1w + j + c]``.

    Real dtypes: :data:`ROWS` rows at once in vectors of ``V = lanes``
    (:func:`numbaconv.cpu.simd.rows_taps`; 1024x1024 float64 * 3x3, Zen 4, one thread: 71
    -> 46 us a band of 61 rows), straight into ``out`` (a band's last block overlapping the
    one before) where the band has ``ROWS`` rows of at least ``V``, else into ``blk``
    (``ROWS`` rows of ``max(ol, V)``), whose rows and columns past the band's are dropped:
    ``ext`` holds ``-(-nr // ROWS) * ROWS + krows - 1`` rows of ``e1w >= max(ol, V) + ml -
    1``. Every output is the same sum in the same order whichever way it goes, so a row's
    value does not depend on the band it is in. One vector kernel in the compiled code: a
    fallback of fused passes for the narrow rows made a cold first ``convolve2d`` 0.25-0.4
    s slower. Complex dtypes: row by row in :func:`_interior`'s passes (``tw`` padded with
    zero taps to a multiple of four)."""
    raise NotImplementedError("compiled code only (the overload below)")


@overload(_band_rows)
def _band_rows_typed(out, o0, ol, nr, ext, e1w, tw, krows, ml, blk):
    if not isinstance(out.dtype, types.Float):
        def passes(out, o0, ol, nr, ext, e1w, tw, krows, ml, blk):
            to = np.empty(tw.size, np.int64)
            zx = np.empty(ol, out.dtype)
            for c in range(ol):
                zx[c] = 0
            for q in range(krows * ml, tw.size):
                to[q] = -1
            for r in range(nr):
                for kr in range(krows):
                    for j in range(ml):
                        to[kr * ml + j] = (r + kr) * e1w + j
                _interior(out, o0 + r * ol, ol, ext, zx, tw, to, tw.size)

        return passes
    n = lanes(out.dtype.bitwidth // 8)

    def vectors(out, o0, ol, nr, ext, e1w, tw, krows, ml, blk):
        direct = nr >= ROWS and ol >= n
        wide = ol if ol > n else n
        for r in range(0, nr, ROWS):
            rr = r if r < nr - ROWS or not direct else nr - ROWS
            dst, d0, ds = (out, o0 + rr * ol, ol) if direct else (blk, 0, wide)
            rows_taps(dst, d0, ds, ext, rr * e1w, e1w, tw, krows, ml, ds)  # (one call site)
            if not direct:
                for i in range(min(ROWS, nr - r)):
                    for c in range(ol):
                        out[o0 + (r + i) * ol + c] = blk[i * wide + c]

    return vectors


def _extended(oshape, wshape) -> tuple[int, int]:
    """How :func:`correlate` runs a call over extended slices (:func:`_slices2d`), and in
    bands of how many rows: ``(0, 0)``, not at all (the row kernel); ``(1, rows)``, on the
    calling thread; ``(2, bh)``, items of ``bh`` rows of a slice on the threads.

    Calls below :data:`SMALL_WORK` multiply-adds run serially, whatever the kernel. Slices
    whose extended input has at most :data:`EXTENDED_MAX` elements run whole: a stack of
    them (leading kernel axes of length 1: a batch of images) on the threads, one slice
    with a kernel of more than 9 taps serially within :data:`EXTENDED_WORK`. Larger slices,
    one or a stack, run in bands on the threads (:func:`_bands`), whatever the kernel's
    size: the row kernel is left the N-D kernels (1024x1024 float64, 3x3 to 31x31, and
    512x512 * 45x45 or 63x63: the bands 3.6-5.8x faster; Zen 4, 2026-12-05)."""
    if len(wshape) < 2 or math.prod(wshape[:-2]) != 1:
        return 0, 0
    rows = oshape[-2]
    work = math.prod(oshape) * math.prod(wshape)
    if work < SMALL_WORK:
        return 1, rows
    ext = (rows + wshape[-2] - 1) * (oshape[-1] + wshape[-1] - 1)
    if ext <= EXTENDED_MAX:
        if math.prod(oshape[:-2]) > 1:
            return (1 if work < SERIAL_WORK else 2), rows
        if wshape[-2] * wshape[-1] > 9 and work < EXTENDED_WORK:
            return 1, rows
    return 2, _bands(rows, oshape[-1] + wshape[-1] - 1, wshape[-2])


#: elements of one band's extended input (in L2 for float64) and fewest output rows a band
#: has per kernel row (the ``krows - 1`` rows below a band are built again by the next one),
#: chosen with the row-at-a-time kernel: 1024x1024 float64 'symm', two
#: Zen 4 threads, row kernel against bands (one process, 2026-12-04): 3x3 1.20-1.38 against
#: 1.04-1.06 ms, 7x7 3.9-4.2 against 2.9-3.1 ms, 31x31 14.3-15.1 against 14.1-14.9 ms (on one
#: thread the bands lose on 3x3, 2.06 against 1.83 ms, and win on 7x7, 4.9 against 6.2)
BAND_EXT = 1 << 16
BAND_PER_KROW = 4


def _bands(rows: int, e1n: int, krows: int) -> int:
    """Output rows per band when one large slice runs in bands on the threads: an extended
    input of about :data:`BAND_EXT` elements, at least :data:`BAND_PER_KROW` rows a kernel
    row. A fixed function of the shapes (a band's rows are computed alike whatever the
    split)."""
    return max(1, min(rows, max(BAND_PER_KROW * krows, BAND_EXT // e1n - krows + 1)))


_scratch_local = threading.local()


def _scratch(dtype, cap: int, zlen: int, slots: int):
    """The kernels' scratch: ``tf`` = [fill value, zero, then per slot (thread) a tap list of
    ``cap`` and a zero buffer of ``zlen``], ``ti`` = per slot the taps' offsets. Reused by the
    calling thread between calls (one call at a time per thread)."""
    key = (dtype, cap, zlen, slots)
    pool = _scratch_local.__dict__.setdefault("kernel", {})
    bufs = pool.get(key)
    if bufs is None:
        if len(pool) > 64:
            pool.clear()
        bufs = pool[key] = (np.zeros(2 + slots * (cap + zlen), dtype),
                            np.empty(slots * cap, np.int64))
    return bufs


def correlate(x, w, out, geom, fill, flip: bool) -> None:
    """``out[o] = sum_j w'[j] * xext[o + j]``: ``w'`` is ``w``, reversed along every axis when
    ``flip``; ``xext`` is ``x`` extended through ``geom``'s index maps with ``fill`` (None:
    zeros, skipped). All arrays C-contiguous, native, of one dtype."""
    size = out.size
    if size == 0:
        return
    ol = out.shape[-1]
    how, bh = _extended(out.shape, w.shape)
    if how:
        args = (x.ravel(), w.ravel(), out.ravel(), geom,
                out.dtype.type(0 if fill is None else fill), flip)
        rows = out.shape[-2]
        items = (size // (rows * ol)) * -(-rows // bh)  # (slice, band) pairs
        if how == 1 and _slices2d(*args, fill is None, bh, 0, 0, items):
            return
        if how == 2 and (fill is not None or np.isfinite(w).all()):
            per = w.size * bh * ol  # multiply-adds an item
            run_chunks(_slices2d, (*args, False, bh), items, max(1, -(-EXTENDED_RUN // per)),
                       num_threads())
            return
    items = (size // ol) * ((ol + BLOCK - 1) // BLOCK)
    slots = 1 if size * w.size < SERIAL_WORK or items == 1 else num_threads()
    tf, ti = _scratch(out.dtype, (w.size + 3) // 4 * 4, min(BLOCK, ol), slots)
    kernel: Callable[..., None]  # _line or _rows, each with its own arguments
    if out.ndim == 1 and fill is None:
        args = (x, w, out, tf, ti, flip, int(geom[6]))
        kernel = _line
    else:
        tf[0] = 0 if fill is None else fill
        args = (x.ravel(), w.ravel(), out.ravel(), geom, tf, ti, flip, fill is None)
        kernel = _rows
    if slots == 1:
        kernel(*args, 0, 0, items)
    else:
        run_chunks(kernel, args, items, max(1, CHUNK_OUTPUTS // min(ol, BLOCK)), slots)


def prepared_correlate(out_shape, w_shape, geom, flip: bool, dtype):
    """:func:`correlate` for these shapes with the fill skipped (zeros), resolved once:
    ``run(x, w, out)``, or None where the path is not fixed by the shapes. A tiny call
    spends most of its time choosing the path and building the arguments (8x8 * 3x3 'symm':
    1.2 of 2.5 us on Zen 4); a repeated one skips that."""
    if len(out_shape) == 1:
        return _prepared_line(out_shape[0], w_shape[0], geom, flip)
    how, bh = _extended(tuple(out_shape), tuple(w_shape))
    if how != 1 or not math.prod(out_shape):
        return None
    rows = out_shape[-2]
    items = (math.prod(out_shape) // (rows * out_shape[-1])) * -(-rows // bh)
    zero = np.dtype(dtype).type(0)

    def run(x, w, out) -> None:
        if not _slices2d(x.reshape(-1), w.reshape(-1), out.reshape(-1), geom, zero, flip, True,
                         bh, 0, 0, items):  # an inf or NaN weight: the row kernel
            correlate(x, w, out, geom, None, flip)

    return run


def _prepared_line(ol: int, ml: int, geom, flip: bool):
    """:func:`prepared_correlate` of vectors: :func:`correlate`'s serial row kernel
    (:func:`_line`) with its sizes resolved once, or None where a call runs on the threads
    (a 16 * 3 ``convolve`` 3.3 -> 2.1 us a call: the path, the items and the scratch's key
    were found again each time)."""
    items = -(-ol // BLOCK)
    if not ol or (ol * ml >= SERIAL_WORK and items > 1):
        return None
    cap, zlen, lo = (ml + 3) // 4 * 4, min(BLOCK, ol), int(geom[6])

    def run(x, w, out) -> None:
        tf, ti = _scratch(out.dtype, cap, zlen, 1)
        _line(x, w, out, tf, ti, flip, lo, 0, 0, items)

    return run


def reverse(src, dst, conj: bool) -> None:
    """``dst = src`` reversed along every axis, conjugated too when ``conj`` (complex only)."""
    rev = src[(slice(None, None, -1),) * src.ndim]
    if conj and src.dtype.kind == "c":
        np.conjugate(rev, out=dst)
    else:
        np.copyto(dst, rev)


#: largest temporary (bytes) kept alive per thread for reuse
SCRATCH_LIMIT = 64 * 2**20


def workspace(shape, dtype, slot: str = "pad") -> np.ndarray:
    """A temporary array for intermediate results, reused between calls of one thread.

    Fresh large allocations cost page faults on first touch (several ms for a 1024x1024
    float64 image); reusing a per-thread buffer avoids them. Never returned to callers.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > SCRATCH_LIMIT:
        return np.empty(shape, dtype)
    pool = _scratch_local.__dict__.setdefault("pool", {})
    buf = pool.get(slot)
    if buf is None or buf.size < nbytes:
        buf = pool[slot] = np.empty(max(nbytes, 1), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


# --------------------------------------------------------------------------- FFT (CPU only)


#: samples of the whole transform (the full convolution's size) from which fftconvolve and
#: oaconvolve run overlap-save tiles instead of scipy's plan, where the tile model offers
#: several tiles (``api.signal._freq_tiles``): below, the tiles' set-up costs more than
#: they save (256 x 256 * 5 x 5, 67,600 samples: 0.83 -> 1.28 ms; 512 x 512 * 11 x 11,
#: 272,484: 4.5 -> 1.7 ms; two Zen 4 cores)
FFT_TILES_FROM = 1 << 17
#: the same for 1-D convolutions, whose tiles are few and long: 64,000 * 101 1.14 -> 0.70 ms,
#: 32,768 * 4,096 0.58 -> 0.41, 1e5 * 1e4 2.9 -> 1.6; 16,000 * 101 lost (0.29 -> 0.39)
FFT_TILES_FROM_1D = 1 << 15


def fft_workers() -> int:
    """Threads for scipy.fft: the threads Numba would use (:func:`.threads.num_threads`)."""
    return num_threads()


def _float_operand(a):
    """scipy.signal's rule: integers (and bools) are transformed as float64."""
    return a.astype(np.float64) if a.dtype.kind in "biu" else a


def fft_convolve(x, k, out, plan) -> None:
    """The window of the linear convolution of ``x`` and ``k`` over ``plan.axes`` (broadcasting
    over the other axes) that starts at ``plan.start``, written into ``out``.

    ``plan`` is a :class:`numbaconv.core.signal.FreqSpec`: one FFT per axis of length
    ``plan.fshape``, or overlap-add blocks (``plan.blocks``). Integer and bool outputs are
    rounded (bool: nonzero). Any dtype scipy.fft takes, long double included.
    """
    import scipy.fft as sfft

    if out.size == 0:
        return
    workers = fft_workers()
    if plan.tiles is not None:
        _overlap_save(x, k, out, plan, sfft, workers)
        return
    if not plan.axes:
        full = x * k
    elif plan.blocks is None:
        full = _fft_whole(_float_operand(x), _float_operand(k), plan, sfft, workers)
    else:
        full = _overlap_add(_float_operand(x), _float_operand(k), plan, sfft, workers)
    window = full[tuple(slice(s, s + n) for s, n in zip(plan.start, out.shape, strict=True))]
    if out.dtype.kind in "biu" and window.dtype.kind not in "biu":
        window = np.round(window.real)
        if out.dtype.kind == "b":
            window = window != 0
    with np.errstate(invalid="ignore", over="ignore"):
        np.copyto(out, window, casting="unsafe")


@njit(cache=True, nogil=True)
def _extended_row(x, maps, offsets, lo1, cval, er, e0, buf):
    """Columns ``e0 <= e < e0 + len(buf)`` of row ``er`` of ``x`` extended through the index
    maps of :mod:`numbaconv.core.padding` (a negative entry: ``cval``) into ``buf``."""
    n = buf.shape[0]
    m = maps[er]
    if m < 0:
        for j in range(n):
            buf[j] = cval
        return
    xr = x[m]
    m1 = maps[offsets[1]:offsets[2]]
    j0 = min(n, max(0, lo1 - e0))                    # before x's first column
    j1 = max(j0, min(n, lo1 + x.shape[1] - e0))      # x's own columns end
    for j in range(j0):
        mj = m1[e0 + j]
        buf[j] = cval if mj < 0 else xr[mj]
    src = xr[e0 + j0 - lo1:e0 + j1 - lo1]  # x's own columns: a copy in vectors (indexing
    dst = buf[j0:j1]                       # xr at e0 + j - lo1 kept it scalar: 4x slower)
    for j in range(j1 - j0):
        dst[j] = src[j]
    for j in range(j1, n):
        mj = m1[e0 + j]
        buf[j] = cval if mj < 0 else xr[mj]


@njit(cache=True, nogil=True, fastmath={"reassoc"})  # the NaN sum may run in vectors
def _pack_pairs(x, maps, offsets, lo1, cval, z, s0, s1, c1, ntiles, p0, p1):
    """Overlap-save tiles ``2p`` and ``2p + 1`` of ``x`` extended through the index maps
    (tile ``t`` starts at extended row ``(t // c1) * s0`` and column ``(t % c1) * s1``) as the
    real and imaginary parts of ``z[p - p0]``, for ``p0 <= p < p1``; a last tile without a
    partner gets a zero imaginary part. True: no NaN or inf was read."""
    b0, b1 = z.shape[1], z.shape[2]
    rows = np.empty((2, b1), x.dtype)
    ra, rb = rows[0], rows[1]
    acc = x.dtype.type(0)
    for p in range(p0, p1):
        zp = z[p - p0]
        ta, tb = 2 * p, 2 * p + 1
        ea0, fa0 = (ta // c1) * s0, (ta % c1) * s1
        pair = tb < ntiles
        eb0, fb0 = (tb // c1) * s0, (tb % c1) * s1
        if not pair:
            rb[:] = 0
        for r in range(b0):
            _extended_row(x, maps, offsets, lo1, cval, ea0 + r, fa0, ra)
            if pair:
                _extended_row(x, maps, offsets, lo1, cval, eb0 + r, fb0, rb)
            zr = zp[r]
            for c in range(b1):
                u, v = ra[c], rb[c]
                acc += u * 0 + v * 0   # NaN from a NaN or an inf
                zr[c] = complex(u, v)
    return acc == 0


@njit(cache=True, nogil=True)
def _times_half_spectrum(z, kh, b1, i0, i1):
    """``z[i] *= K[i % b0]`` for the rows ``i0 <= i < i1`` of ``z``, where ``K`` is the
    spectrum of a real kernel (length ``b1`` along the last axis) and ``kh`` its half
    (``rfft`` along the last axis, ``b0`` rows): ``K[u, v] = conj(kh[-u, b1 - v])`` past the
    half."""
    b0 = kh.shape[0]
    nh = kh.shape[1]
    for i in range(i0, i1):
        zr = z[i]
        u = i % b0
        kr = kh[u]
        kc = kh[(b0 - u) % b0]
        for v in range(nh):
            zr[v] *= kr[v]
        for v in range(nh, b1):
            zr[v] *= kc[b1 - v].conjugate()


@njit(cache=True, nogil=True)
def _unpack_pairs(res, out, m1, s0, s1, c1, ntiles, p0, p1):
    """The valid outputs of tiles ``2p`` (real parts of ``res[p - p0]``) and ``2p + 1``
    (imaginary parts) into their places in ``out``, for ``p0 <= p < p1``; ``res``'s rows are
    the valid rows already, its valid columns start at ``m1 - 1``."""
    n0, n1 = out.shape
    for p in range(p0, p1):
        for h in range(2):
            t = 2 * p + h
            if t >= ntiles:
                break
            o0, o1 = (t // c1) * s0, (t % c1) * s1
            rows, cols = min(s0, n0 - o0), min(s1, n1 - o1)
            for r in range(rows):
                src = res[p - p0, r, m1 - 1:m1 - 1 + cols]
                dst = out[o0 + r, o1:o1 + cols]
                if h == 0:
                    for c in range(cols):
                        dst[c] = src[c].real
                else:
                    for c in range(cols):
                        dst[c] = src[c].imag


def fft_window_2d(x, k, out, plan, pad, cval) -> bool:
    """The 'valid' convolution of ``x`` extended by ``pad`` (a
    :class:`numbaconv.core.padding.PadPlan` to the shape ``plan.s1``; ``cval`` where its maps
    say so) with ``k``, by overlap-save tiles (``plan.tiles``), into ``out``. Real 2-D
    float32/float64 only (:func:`packs_2d`). Returns False when ``x`` holds a NaN or inf (a
    transform would spread it over its tile); ``out`` may then be partly written.

    The kernel is real, so the convolution of ``a + ib`` with it is ``a * k + i (b * k)``:
    the tiles go in pairs into complex tiles, read straight from ``x`` through the maps (no
    extended copy), half as many complex transforms replace the real ones, the product
    reads the kernel's half spectrum, and the inverse's last pass runs over the valid rows
    only. Each piece (one pair of large tiles, or up to :data:`TILE_GROUP_BYTES` of small
    ones) goes through all of that on one thread, in that thread's scratch, while it is in
    the caches (the threads take pieces one at a time; fewer pieces than threads share the
    threads in the transforms): a tile makes one trip to memory where a batch of all of
    them made six, and the scratch is one piece a thread, not all of them.
    1024x1024 * 31x31 float64 'same', 2 threads: Zen 4 9.5-10.9 -> 5.9-7.2 ms as pairs,
    OpenCV's ``filter2D`` 6.9-7.5 in the same runs; Zen 3, median of 15 interleaved, 11.7
    (batched) -> 9.4 ms (pair by pair), OpenCV 9.3.
    """
    import scipy.fft as sfft

    threads = fft_workers()
    (b0, s0, c0), (b1, s1, c1) = plan.tiles
    m0, m1 = k.shape
    ntiles = c0 * c1
    pairs = -(-ntiles // 2)
    cdtype = np.result_type(x.dtype, np.complex64)
    group = max(1, TILE_GROUP_BYTES // (b0 * b1 * cdtype.itemsize))  # (the same batches of
    #                                          transforms at any thread count: the same bits)
    pieces = -(-pairs // group)
    workers = max(1, threads // pieces)  # a transform's own threads
    kh = _half_spectrum(k, b0, b1, cdtype, sfft, threads)
    fill = x.dtype.type(cval)
    finite = [True]

    def piece(i: int) -> None:
        if not finite[0]:  # a NaN or inf seen: the caller computes another way
            return
        p0, p1 = i * group, min(pairs, (i + 1) * group)
        z = workspace((p1 - p0, b0, b1), cdtype, "fft-tiles")
        if not _pack_pairs(x, pad.maps, pad.offsets, pad.lo_last, fill, z, s0, s1, c1,
                           ntiles, p0, p1):
            finite[0] = False
            return
        z = cast(np.ndarray, sfft.fft2(z, workers=workers, overwrite_x=True))  # in place
        _times_half_spectrum(z.reshape(-1, b1), kh, b1, 0, (p1 - p0) * b0)
        z = cast(np.ndarray, sfft.ifft(z, axis=-2, workers=workers, overwrite_x=True))
        res = sfft.ifft(z[:, m0 - 1:, :], axis=-1, workers=workers, overwrite_x=True)
        _unpack_pairs(res, out, m1, s0, s1, c1, ntiles, p0, p1)

    run_parallel(piece, range(pieces))
    return finite[0]


#: the half spectra of the last few small kernels: filtering many images with one kernel
#: transforms it once (0.3 of 7 ms for 1024x1024 * 31x31). Keyed by the kernel's bytes,
#: shape, dtype and the tile size; kernels up to ``KERNEL_CACHE_BYTES`` only
_KERNEL_SPECTRA: dict = {}
KERNEL_CACHE_BYTES = 1 << 16
KERNEL_CACHE_SIZE = 8


def _half_spectrum(k, b0, b1, cdtype, sfft, workers):
    """The kernel's transform at the tile size, ``rfft`` along the last axis (``k``'s rows
    first, then the columns: the zero rows are never transformed), as ``cdtype``."""
    key = None
    if k.nbytes <= KERNEL_CACHE_BYTES:
        key = (k.tobytes(), k.shape, k.dtype.str, b0, b1, np.dtype(cdtype).str)
        kh = _KERNEL_SPECTRA.get(key)
        if kh is not None:
            return kh
    kh = sfft.fft(sfft.rfft(k, b1, axis=1, workers=workers), b0, axis=0, workers=workers,
                  overwrite_x=True).astype(cdtype, copy=False)
    if key is not None:
        if len(_KERNEL_SPECTRA) >= KERNEL_CACHE_SIZE:
            _KERNEL_SPECTRA.clear()
        _KERNEL_SPECTRA[key] = kh
    return kh


def packs_2d(x, k, out) -> bool:
    """:func:`fft_window_2d` takes these: real 2-D float32 or float64, one dtype for all."""
    return (x.ndim == 2 and x.dtype in (np.float32, np.float64)
            and k.dtype == x.dtype == out.dtype)


#: bytes of complex tiles (or spectra) the overlap-save paths (:func:`fft_window_2d`,
#: :func:`_overlap_save`) take through their transforms at once on one thread: small tiles
#: go in groups (each piece is half a dozen Python calls, and two threads between them
#: contend for the GIL: 96x96 tiles one pair at a time cost 160 us a pair more than in
#: groups), large ones one at a time
TILE_GROUP_BYTES = 1 << 21


def _overlap_save(x, k, out, plan, sfft, workers):
    """Overlap-save: the 'valid' convolution of ``x`` (shape ``plan.s1``: whole tiles) with
    ``k``. The overlapping tiles of ``x`` (a strided view: scipy.fft reads it in place, no
    gathered copy) go in slabs (rows of tiles along the first axis, about
    :data:`TILE_GROUP_BYTES` of spectra a slab), each slab on one of ``workers`` threads
    through its transform, the product with the kernel's transform at the tile size, the
    inverse and the copy of its valid parts into their place in ``out``, while it is in
    that thread's caches (one batch of all tiles took every stage through memory: 1e6 *
    1001 float64 'same', 63 tiles, Zen 3, best of 7 interleaved: 13.8 -> 10.8 ms, median
    20 -> 12; (2000, 2000) * (31, 31) complex 91 -> 77). The slabs follow the shapes
    only: the same batches of transforms, so the same bits, at any thread count. Float or
    complex ``x``, ``k`` and ``out`` (the callers' rule: integer results take the whole
    transform); real 2-D float32/float64 input goes to :func:`fft_window_2d` instead."""
    from numpy.lib.stride_tricks import sliding_window_view

    nd = x.ndim
    fshape = plan.fshape
    steps = tuple(st for _, st, _ in plan.tiles)
    counts = tuple(c for _, _, c in plan.tiles)
    tiles = sliding_window_view(x, fshape)[tuple(slice(None, None, st) for st in steps)]
    axes = tuple(range(nd, 2 * nd))
    fwd, inv = _transforms(plan, sfft)
    kf = fwd(k, fshape, workers=workers)
    row = math.prod(counts[1:]) * kf.size * kf.itemsize  # spectra of a row of tiles
    group = max(1, TILE_GROUP_BYTES // row)
    pieces = -(-counts[0] // group)
    inner = max(1, workers // pieces)  # a transform's own threads
    order = [i for a in range(nd) for i in (a, nd + a)]
    rest = tuple(c * st for c, st in zip(counts[1:], steps[1:], strict=True))

    def slab(i: int) -> None:
        c0, c1 = i * group, min(counts[0], (i + 1) * group)
        sp = fwd(tiles[c0:c1], fshape, axes=axes, workers=inner)
        sp *= kf
        res = inv(sp, fshape, axes=axes, workers=inner, overwrite_x=True)
        valid = res[(Ellipsis,) + tuple(slice(m - 1, None) for m in k.shape)]
        # (count_0, ..., S_0, ...) -> (count_0, S_0, count_1, S_1, ...) -> its output rows
        merged = valid.transpose(order).reshape(((c1 - c0) * steps[0],) + rest)
        r0, r1 = c0 * steps[0], min(out.shape[0], c1 * steps[0])
        window = merged[(slice(0, r1 - r0),) + tuple(slice(0, n) for n in out.shape[1:])]
        np.copyto(out[r0:r1], window)

    run_parallel(slab, range(pieces))


def _transforms(plan, sfft):
    return (sfft.rfftn, sfft.irfftn) if plan.real else (sfft.fftn, sfft.ifftn)


def _fft_whole(x, k, plan, sfft, workers):
    """One transform per input over the whole padded extent, product, inverse."""
    fwd, inv = _transforms(plan, sfft)
    sp = fwd(x, plan.fshape, axes=plan.axes, workers=workers)
    sk = fwd(k, plan.fshape, axes=plan.axes, workers=workers)
    if np.result_type(sp, sk) == sp.dtype and sp.shape == np.broadcast_shapes(sp.shape, sk.shape):
        sp *= sk
    else:
        sp = sp * sk
    return inv(sp, plan.fshape, axes=plan.axes, workers=workers, overwrite_x=True)


def _overlap_add(x, k, plan, sfft, workers):
    """Overlap-add: along each blocked axis the longer input is cut into steps, every block is
    convolved by FFTs of the plan's block length (a batch scipy.fft spreads over ``workers``),
    and the blocks' tails are added into the next blocks' heads."""
    fwd, inv = _transforms(plan, sfft)
    ndim = x.ndim
    # for each transformed axis: a step axis inserted before it (the block index)
    xs, ks = list(x.shape), list(k.shape)
    xshape, kshape, fft_axes, fshape, splits = [], [], [], [], []
    for a in range(ndim):
        if a not in plan.axes:
            xshape.append(xs[a])
            kshape.append(ks[a])
            continue
        block, overlap, step1, step2 = plan.blocks[plan.axes.index(a)]
        if overlap is None:  # one block along this axis
            n1 = n2 = 1
            step1, step2 = xs[a], ks[a]
            block = sfft.next_fast_len(xs[a] + ks[a] - 1, plan.real)
        else:
            n1 = -(-xs[a] // step1)
            n2 = -(-ks[a] // step2)
        xshape += [n1, step1]
        kshape += [n2, step2]
        fft_axes.append(len(xshape) - 1)
        fshape.append(block)
        splits.append((a, len(xshape) - 2, step1 if n1 > 1 else step2, xs[a] + ks[a] - 1))
    xb = _blocked(x, xshape, plan.axes)
    kb = _blocked(k, kshape, plan.axes)
    sp = fwd(xb, fshape, axes=fft_axes, workers=workers)
    sk = fwd(kb, fshape, axes=fft_axes, workers=workers)
    sp = sp * sk
    res = inv(sp, fshape, axes=fft_axes, workers=workers, overwrite_x=True)
    # fold each (step axis, block axis) pair back into one axis, adding the overlaps
    for _axis, sax, step, full in reversed(splits):
        res = _fold(res, sax, step, full)
    return res


def _blocked(a, shape, axes):
    """``a`` zero-padded to whole steps and reshaped to ``shape`` (step axis before each)."""
    target = []
    i = 0
    for ax in range(a.ndim):
        if ax in axes:
            target.append(shape[i] * shape[i + 1])
            i += 2
        else:
            target.append(shape[i])
            i += 1
    if tuple(target) != a.shape:
        padded = np.zeros(target, a.dtype)
        padded[tuple(slice(0, n) for n in a.shape)] = a
        a = padded
    return a.reshape(shape)


def _fold(res, sax, step, full):
    """Merge axes ``sax`` (blocks) and ``sax + 1`` (block samples) of ``res`` into one axis of
    length ``full``: block ``i`` starts at ``i * step``; overlapping samples add up."""
    nb, blen = res.shape[sax], res.shape[sax + 1]
    if nb == 1:
        out = np.moveaxis(res, sax, 0)[0]
        return out[(slice(None),) * sax + (slice(0, full),)]
    moved = np.moveaxis(res, (sax, sax + 1), (0, 1))
    length = (nb - 1) * step + blen
    acc = np.zeros((length,) + moved.shape[2:], res.dtype)
    for i in range(nb):  # a few dozen blocks at most: each addition is a whole slab
        acc[i * step:i * step + blen] += moved[i]
    return np.moveaxis(acc[:full], 0, sax)
