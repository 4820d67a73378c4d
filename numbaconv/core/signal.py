"""Resolution of scipy.signal-style convolutions: one frozen spec per call signature.

Every direct computation of :mod:`numbaconv.api.signal` is one kernel primitive,
a correlation of ``in1`` *extended* beyond its edges with the taps ``w``::

    out[o] = sum_j w[j] * xext[o + j]        xext[p] = x[map[p]], or the fill value

``w`` is the kernel, flipped (convolution) or conjugated (correlation), and
``map`` per axis sends each position of the padded extent (``out + m - 1``
long) to the input index it reads under the boundary rule
(:func:`numbaconv.core.padding.axis_index_map`), or to a negative value for the
fill constant. ``(lo, hi)`` per axis selects the mode's window of the full
result: ``(M-1, M-1)`` for 'full', ``(0, 0)`` for 'valid' and ``(M-1-s, s)``
for 'same', ``s`` being where 'same' starts in the full result. Output sizes
are :func:`numbaconv.shapes.conv_output_size` of those paddings.

:func:`direct_spec` resolves all of that (which operand streams through the
kernel, flips, conjugations, the output shape, the index maps packed into the
one int64 vector the CPU and CUDA kernels read) from shapes alone, once per
call signature (:func:`numbaconv.core.plans.plan_cache`). :func:`freq_spec`
does the same for the FFT paths (``fftconvolve``, ``oaconvolve``, and
``method='fft'``): axes, broadcasting, FFT lengths, overlap-add blocks, the
window of the full result. :func:`predicted_times` is the cost model of
``method='auto'``, evaluated once per spec. Nothing here touches array data.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from ..shapes import conv_output_size, resolve_axis_padding
from . import padding as padspec
from .plans import plan_cache

#: scipy.signal's names, in the order its messages list them
MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
#: the public functions whose arguments :func:`direct_spec` resolves
OPS = ("convolve", "correlate", "convolve2d", "correlate2d")

# ---------------------------------------------------------------------------------------------
# Cost model for method='auto' (and the FFT path of convolve2d/correlate2d), fitted with
# ``python -m numbaconv.bench.fit_signal_cost`` (non-negative least squares on relative error
# over timings of numbaconv's direct kernel and of its overlap-save FFT path, float64 'same',
# 1-3 dims):
#   direct: DIRECT_S + DIRECT_PER_MAC * macs * weight + DIRECT_PER_ROW * row_blocks
#   fft:    FFT_S + FFT_PER_NLOGN * L * log2(L) * weight      (L = padded FFT size)
# ``weight`` scales by element type (float32 0.5, float64 1, complex 4x its real part).
# Machine: the 2-core AMD EPYC development machine (AVX2 + FMA, LLVM target znver2, 2 Numba
# threads), 2026-12-02, shared with other jobs (load average 7-10): the mean of two fits, which
# differed by about 25%. Between 2-D kernels of about 11x11 and 21x21 (on 1024x1024) the two
# methods are within a factor of two of each other, so the exact crossover matters little.
DIRECT_S = 5.3e-06
DIRECT_PER_MAC = 1.3e-10
DIRECT_PER_ROW = 6.6e-08
FFT_S = 1.3e-04
FFT_PER_NLOGN = 9.5e-10
# Real 1-D and 2-D calls (float32/float64) run their own kernels on the CPU: the direct ones
# in registers (1-D: blocks of eight vectors of outputs; 2-D: over extended slices, eight
# output rows), the FFT ones in overlap-save tiles (2-D: in pairs). Their models, fitted by
# the same script (``--real``) on float64 'same' cases of their own dimensionality:
#   direct: S + PER_MAC * inner * weight + PER_EDGE * edge + PER_OUT * outputs
#           (:func:`real_macs`: the multiply-adds in vectors and one by one)
#   fft:    FFT_S + PER_TILE_NLOGN * tiles * T * log2(T) * weight   (T: a tile's size)
# Machine: the 2-core AMD EPYC family 25 (Zen 4, AVX-512, LLVM target znver4, 2 Numba
# threads), 2026-12-05, shared with other jobs.
#: ndim -> (S, PER_MAC, PER_EDGE, PER_OUT, FFT_S, PER_TILE_NLOGN)
REAL_MODELS = {
    1: (4.5e-06, 2.93e-11, 1.45e-09, 1.65e-10, 1.2e-04, 8.05e-10),
    2: (3.34e-06, 2.49e-11, 0.0, 5.73e-10, 4.07e-04, 3.68e-10),
}
#: the least output extent (rows, then the last axis) of a call the real models describe:
#: smaller ones do not fill the kernels' blocks of eight rows (2-D) or eight vectors (1-D)
REAL_MIN_SHAPE = {1: (128,), 2: (8, 16)}
# ---------------------------------------------------------------------------------------------

#: output elements per work item along the last axis (the CPU kernel's block)
BLOCK = 2048


def check_mode(mode, fn: str = "") -> str:
    """``mode`` if it is 'full', 'same' or 'valid'; else scipy.signal's ValueError."""
    if isinstance(mode, str) and mode in MODES:
        return mode
    # scipy's convolve/correlate say "Acceptable", fftconvolve/oaconvolve "acceptable"
    word = "acceptable" if fn in ("fftconvolve", "oaconvolve") else "Acceptable"
    raise ValueError(f"{word} mode flags are 'valid', 'same', or 'full'; got mode={mode!r}")


def check_method(method) -> str:
    """``method`` if it is 'auto', 'direct' or 'fft'; else scipy.signal's ValueError."""
    if isinstance(method, str) and method in METHODS:
        return method
    raise ValueError("Acceptable method flags are 'auto', 'direct', or 'fft'; got "
                     f"method={method!r}")


def swap_needed(mode: str, s1, s2, axes=None) -> bool:
    """scipy's rule: in 'valid' mode one input must be at least as large as the other in every
    axis (of ``axes``); True when ``in2`` is the larger one."""
    if mode != "valid" or not s1:
        return False
    axes = range(len(s1)) if axes is None else axes
    ok1 = all(s1[a] >= s2[a] for a in axes)
    ok2 = all(s2[a] >= s1[a] for a in axes)
    if not (ok1 or ok2):
        raise ValueError("For 'valid' mode, one must be at least as large as the other in every "
                         f"dimension; got shapes {tuple(s1)} and {tuple(s2)}")
    return not ok1


def paddings(xshape, kshape, mode: str, same_start) -> tuple[tuple[int, int], ...]:
    """Per-axis ``(lo, hi)`` selecting ``mode``'s window of the full result.

    ``same_start(m)`` is where 'same' starts in the full result for a kernel of length ``m``.
    """
    if mode == "same":
        return tuple((m - 1 - same_start(m), same_start(m)) for m in kshape)
    return tuple(resolve_axis_padding(mode, n, m) for n, m in zip(xshape, kshape, strict=True))


def output_shape(xshape, kshape, pads) -> tuple[int, ...]:
    """The window's shape: :func:`numbaconv.shapes.conv_output_size` per axis."""
    return tuple(conv_output_size(n, m, padding=p)
                 for n, m, p in zip(xshape, kshape, pads, strict=True))


def conv_start(m: int) -> int:
    """Where 'same' starts in the full result: scipy's centred slice, ``(M - 1) // 2``."""
    return (m - 1) // 2


def corr2d_start(m: int) -> int:
    """scipy's correlate2d starts 'same' one sample later for even kernels: ``M // 2``."""
    return m // 2


def geometry(xshape, wshape, oshape, pads, boundary: str) -> np.ndarray:
    """The int64 vector the direct kernels read (see :mod:`numbaconv.loops.signal`).

    Layout, ``nd`` the number of axes: ``[nd, xshape, wshape, oshape, xstrides, map_offsets,
    lo]`` (``nd`` entries each), then the index maps of every axis over its padded extent
    ``oshape[a] + wshape[a] - 1``: input index, or negative for the fill value.
    """
    nd = len(xshape)
    head = 1 + 6 * nd
    maps = [padspec.axis_index_map(n, lo, o + m - 1 - n - lo, boundary)
            for n, m, o, (lo, _) in zip(xshape, wshape, oshape, pads, strict=True)]
    offs = np.cumsum([head] + [len(mp) for mp in maps])[:-1]
    strides = [math.prod(xshape[a + 1:]) for a in range(nd)]
    g = np.concatenate([np.array([nd, *xshape, *wshape, *oshape, *strides, *offs,
                                  *(lo for lo, _ in pads)], np.int64), *maps])
    return np.ascontiguousarray(g, dtype=np.int64)


@dataclass(frozen=True)
class DirectSpec:
    """One direct convolution or correlation, resolved from shapes (see module docstring)."""

    swap: bool              # in2 streams through the kernel and in1 gives the taps
    flip: bool              # taps reversed along every axis (a convolution)
    conj: bool              # taps conjugated (a correlation of complex inputs)
    undo: str               # after a swap: '' nothing, 'rev' reverse, 'revconj' reverse+conjugate
    xshape: tuple[int, ...]  # the streaming operand
    wshape: tuple[int, ...]  # the taps
    out_shape: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    boundary: str           # numpy.pad's name of the extension: 'constant', 'wrap', 'symmetric'
    geom: np.ndarray        # the kernels' int64 vector (:func:`geometry`)
    macs: int               # multiply-adds of the direct method (upper bound)
    fft_faster: bool        # the cost model predicts the FFT path faster (for this dtype)


@plan_cache
def direct_spec(op: str, s1: tuple[int, ...], s2: tuple[int, ...], mode: str,
                boundary: str, dtype: str) -> DirectSpec:
    """Resolve ``op(in1, in2, mode)`` for inputs of shapes ``s1``, ``s2`` (same length >= 1).

    ``op`` is one of :data:`OPS`; ``boundary`` is numpy.pad's name of the extension
    ('constant' for convolve/correlate); ``dtype`` (a dtype string) weighs the cost model.
    The swaps follow scipy.signal exactly: 'valid' swaps when
    ``in2`` dominates; convolve/correlate also swap in 'full' mode when ``in2`` is larger
    (correlate then reverses and conjugates the result); correlate2d reverses without
    conjugating, as scipy's does.
    """
    valid_swap = swap_needed(mode, s1, s2)
    big2 = mode == "full" and math.prod(s2) > math.prod(s1)
    swap = valid_swap or (op in ("convolve", "correlate") and big2)
    undo = ""
    if swap and op == "correlate":
        undo = "revconj"
    elif swap and op == "correlate2d":
        undo = "rev"
    xshape, wshape = (s2, s1) if swap else (s1, s2)
    start = corr2d_start if op == "correlate2d" else conv_start
    pads = paddings(xshape, wshape, mode, start)
    oshape = output_shape(xshape, wshape, pads)
    g = geometry(xshape, wshape, oshape, pads, boundary)
    macs = math.prod(oshape) * math.prod(wshape)
    direct, fft = predicted_times(xshape, wshape, oshape, pads, np.dtype(dtype))
    return DirectSpec(swap, op in ("convolve", "convolve2d"), op in ("correlate", "correlate2d"),
                      undo, tuple(xshape), tuple(wshape), oshape, pads, boundary, g, macs,
                      fft < direct)


# ------------------------------------------------------------------------------ FFT paths


def _next_fast_len(target: int, real: bool = False) -> int:
    """``scipy.fft.next_fast_len(target, real)`` (:func:`_fast_len`, equal to it: tested),
    without importing scipy.fft, 0.1 s of the first call of any direct convolution whose
    'auto' choice weighs the FFT's tiles."""
    return _fast_len(target, real)


def axes_list(axes, ndim: int) -> list[int]:
    """scipy.fft's rules for ``axes``: ints, negative from the end, in range, unique."""
    # a scalar of any kind: operator.index raises the TypeError below for a non-integer
    items = cast("Iterable[Any]", (axes,)) if isinstance(axes, numbers.Number) else axes
    try:
        axes = [operator.index(a) for a in items]
    except TypeError:
        raise ValueError(f"axes must be a scalar or iterable of integers; got {items!r}") \
            from None
    axes = [a + ndim if a < 0 else a for a in axes]
    if any(a >= ndim or a < 0 for a in axes):
        raise ValueError(f"axes exceeds dimensionality of input: {axes} for {ndim} dimensions")
    if len(set(axes)) != len(axes):
        raise ValueError(f"all axes must be unique; got {axes}")
    return axes


@dataclass(frozen=True)
class FreqSpec:
    """One frequency-domain convolution (``fftconvolve``/``oaconvolve``), resolved from shapes.

    ``axes`` are the transformed axes (scipy drops those where either input has length 1:
    broadcasting multiplies them). ``out_shape`` is the result, the window of the full
    convolution (shape ``full``) starting at ``start``. ``blocks`` is None for one FFT per
    axis of length ``fshape``, else the overlap-add plan of :func:`oa_blocks` per axis.
    """

    swap: bool
    axes: tuple[int, ...]
    s1: tuple[int, ...]      # shapes after the swap
    s2: tuple[int, ...]
    full: tuple[int, ...]
    fshape: tuple[int, ...]  # FFT length per transformed axis (plain FFT path)
    out_shape: tuple[int, ...]
    start: tuple[int, ...]
    blocks: tuple | None     # per axis of ``axes``: (block, overlap, step1, step2) or None
    real: bool
    tiles: tuple | None = None  # overlap-save: per axis (FFT length, step, tiles), see tile_spec


def _centered_start(full, shape):
    return tuple((f - n) // 2 for f, n in zip(full, shape, strict=True))


@plan_cache
def freq_spec(s1: tuple[int, ...], s2: tuple[int, ...], mode: str, axes, complex_: bool,
              overlap_add: bool = False) -> FreqSpec:
    """Resolve ``fftconvolve(in1, in2, mode, axes)`` (or ``oaconvolve`` with ``overlap_add``).

    ``axes`` is None (all axes) or a tuple of ints; ``s1``, ``s2`` have the same length and
    are not empty. Errors carry scipy.signal's messages.
    """
    ndim = len(s1)
    if axes is None:
        ax = list(range(ndim))
    else:
        ax = axes_list(axes, ndim)
        if not ax:
            raise ValueError("when provided, axes cannot be empty")
    ax = [a for a in ax if s1[a] != 1 and s2[a] != 1]
    if overlap_add:
        ax.sort()
    if not all(s1[a] == s2[a] or s1[a] == 1 or s2[a] == 1 for a in range(ndim) if a not in ax):
        raise ValueError(f"incompatible shapes for in1 and in2: {tuple(s1)} and {tuple(s2)}")
    swap = swap_needed(mode, s1, s2, axes=ax)
    if swap:
        s1, s2 = s2, s1
    full = tuple(s1[a] + s2[a] - 1 if a in ax else max(s1[a], s2[a]) for a in range(ndim))
    if mode == "full":
        out_shape = full
    elif mode == "same":
        out_shape = tuple(s1)
    else:
        out_shape = tuple(s1[a] - s2[a] + 1 if a in ax else full[a] for a in range(ndim))
    start = _centered_start(full, out_shape)
    fshape = tuple(_next_fast_len(full[a], not complex_) for a in ax)
    blocks = None
    if overlap_add and ax and tuple(s1) != tuple(s2):
        plan = tuple(oa_blocks(s1[a], s2[a]) for a in ax)
        if any(p[1] is not None for p in plan):
            blocks = plan
    return FreqSpec(swap, tuple(ax), tuple(s1), tuple(s2), full, fshape, out_shape, start,
                    blocks, not complex_)


@plan_cache
def window_spec(xshape: tuple[int, ...], kshape: tuple[int, ...], out_shape: tuple[int, ...],
                start: tuple[int, ...], complex_: bool, overlap_add: bool) -> FreqSpec:
    """The window of shape ``out_shape`` starting at ``start`` of the full N-D convolution of
    shapes ``xshape`` and ``kshape`` (every axis transformed), for the FFT paths of the direct
    functions."""
    ax = tuple(range(len(xshape)))
    full = tuple(n + m - 1 for n, m in zip(xshape, kshape, strict=True))
    fshape = tuple(_next_fast_len(f, not complex_) for f in full)
    blocks = None
    if overlap_add:
        plan = tuple(oa_blocks(n, m) for n, m in zip(xshape, kshape, strict=True))
        if any(p[1] is not None for p in plan):
            blocks = plan
    return FreqSpec(False, ax, tuple(xshape), tuple(kshape), full, fshape, tuple(out_shape),
                    tuple(start), blocks, not complex_)


#: per-sample overhead of a tiled FFT (gather, product, scatter) in units of one radix-2
#: butterfly level: a tile of length B costs ``B * (log2(B) + TILE_OVERHEAD)``
TILE_OVERHEAD = 4.0


def _tile(out: int, m: int, real: bool) -> tuple[int, int, int]:
    """``(B, S, count)``: FFT length, step and number of overlap-save tiles along one axis
    producing ``out`` outputs of a kernel of length ``m``, minimising the modelled cost."""
    # one tile over the whole extent, at the least fast length that holds it (the steps
    # below can step past it: 1e5 * 1e4 took 124416 where 110592 holds it, 6.5 against
    # 3.4 ms), then tiles from twice the kernel up
    whole = _next_fast_len(out + m - 1, real)
    best = (whole * (math.log2(whole) + TILE_OVERHEAD), whole, whole - m + 1, 1)
    target = max(2 * m, 16)
    while target < whole:
        b = _next_fast_len(target, real)
        step = b - m + 1
        count = -(-out // step)
        cost = count * b * (math.log2(b) + TILE_OVERHEAD)
        if cost < best[0]:
            best = (cost, b, step, count)
        target = b + max(1, b // 8)
    return best[1:]


#: ``tile_spec(..., split=True)``: a 1-D convolution the model keeps in one tile, whose
#: kernel is at most a quarter of its output and whose full result has at least
#: ``SPLIT_FROM`` samples, runs in this many tiles instead (below: 30,000 * 5,000 0.64 ->
#: 0.70 ms, 32,768 * 4,096 0.55 -> 0.64)
SPLIT_TILES = 4
SPLIT_FROM = 1 << 16


def _split(out: int, m: int, real: bool, tile: tuple[int, int, int]) -> tuple[int, int, int]:
    """``tile`` (from :func:`_tile`), or :data:`SPLIT_TILES` tiles where it is one tile and
    ``m <= out / SPLIT_TILES``. The model counts neither cores nor caches: a transform over
    the whole extent runs on one core and past the caches, where four tiles run batched.
    Measured (float64 'same', Zen 4, one core / two): 1e5 * 1e4 2.7 -> 2.3 / 2.9 -> 1.6 ms;
    4e5 * 2e4 52 -> 5.0 / 53 -> 5.0 (421,875 = 3**3 5**6 points whole); 1e6 * 1e5 51 -> 30
    / 51 -> 24; 2e5 * 5e4 4.8 -> 3.8 / 4.7 -> 3.0. (Two tiles lost on 1e5 * 1e4: 3.3.)"""
    if tile[2] > 1 or m * SPLIT_TILES > out or out + m - 1 < SPLIT_FROM:
        return tile
    b = _next_fast_len(-(-out // SPLIT_TILES) + m - 1, real)
    step = b - m + 1
    return b, step, -(-out // step)


@plan_cache
def tile_spec(out_shape: tuple[int, ...], kshape: tuple[int, ...], complex_: bool,
              split: bool = False) -> FreqSpec:
    """Overlap-save over every axis: the 'valid' convolution of an input of shape
    ``out + m - 1`` (extended to whole tiles) with a kernel of shape ``kshape``.

    Each tile of length ``B`` along an axis yields ``B - m + 1`` outputs; tiles step by that
    much. The extended input must have shape ``count * step + m - 1`` per axis (see
    :attr:`FreqSpec.s1`); the extra samples past the output are never read into it.
    ``split``: a 1-D convolution the model keeps in one tile is cut into tiles anyway where
    its kernel is short enough (:func:`_split`; ``fftconvolve``'s plan).
    """
    tiles = tuple(_tile(o, m, not complex_) for o, m in zip(out_shape, kshape, strict=True))
    if split and len(tiles) == 1:
        tiles = (_split(out_shape[0], kshape[0], not complex_, tiles[0]),)
    ext = tuple(c * st + m - 1 for (_, st, c), m in zip(tiles, kshape, strict=True))
    full = tuple(e + m - 1 for e, m in zip(ext, kshape, strict=True))
    return FreqSpec(False, tuple(range(len(out_shape))), ext, tuple(kshape), full,
                    tuple(b for b, _, _ in tiles), tuple(out_shape),
                    tuple(m - 1 for m in kshape), None, not complex_, tiles)


def oa_blocks(n1: int, n2: int) -> tuple[int, int | None, int, int]:
    """Overlap-add along one axis: ``(block, overlap, step1, step2)``, scipy.signal's choice.

    The block length minimises ``N log2(2N) / (N - K)`` per output sample for an overlap
    ``K = min - 1`` (solved with the Lambert W function, then rounded up to a fast FFT length).
    ``overlap`` is None when one FFT over the whole axis is as good (equal lengths, a length
    of 1, the shorter more than half the longer, or a single block).
    """
    from scipy.special import lambertw

    whole = (n1 + n2 - 1, None, n1, n2)
    if n1 == n2 or n1 == 1 or n2 == 1:
        return whole
    big, small = max(n1, n2), min(n1, n2)
    if small >= big / 2:
        return whole
    k = small - 1
    best = -k * lambertw(-1 / (2 * math.e * k), k=-1).real
    block = _next_fast_len(math.ceil(best))
    if block >= big:
        return whole
    if n1 >= n2:
        return block, k, block - small + 1, small
    return block, k, small, block - small + 1


def _weight(dtype: np.dtype) -> float:
    if dtype.kind == "c":
        return 4.0 * (0.5 if dtype == np.complex64 else 1.0)
    return 0.5 if dtype.itemsize <= 4 else 1.0


def _axis_macs(n: int, m: int, lo: int, out: int) -> int:
    """Multiply-adds along one axis: (output, tap) pairs whose input index is inside ``x``."""
    j = np.arange(m)
    first = np.maximum(0, lo - j)
    last = np.minimum(out, n + lo - j)
    return int(np.maximum(0, last - first).sum())


@functools.lru_cache(maxsize=4096)
def _fast_len(n: int, real: bool = True) -> int:
    """The smallest ``2**a * m >= n`` with ``m`` a product of 3s and 5s (``real``) or of 3, 5,
    7 and 11 (complex): the lengths pocketfft transforms fastest, scipy.fft's
    ``next_fast_len``. Every odd part ``m`` below the best length so far is tried once
    (its primes in non-decreasing order), each times the smallest power of 2 reaching
    ``n``."""
    best = 1 << max(0, (n - 1).bit_length())
    odd = (3, 5) if real else (3, 5, 7, 11)
    todo = [(1, 0)]
    while todo:
        m, i = todo.pop()
        best = min(best, m << max(0, (-(-n // m) - 1).bit_length()))
        for j in range(i, len(odd)):
            if m * odd[j] < best:
                todo.append((m * odd[j], j))
    return best


def tile_work(out_shape, wshape) -> float:
    """The 2-D FFT model's feature: tiles times ``T log2 T`` for the overlap-save tiles of
    :func:`tile_spec` (real input), ``T`` a tile's size."""
    tiles = cast(tuple, tile_spec(tuple(out_shape), tuple(wshape), False).tiles)
    size = math.prod(b for b, _, _ in tiles)
    return math.prod(c for _, _, c in tiles) * size * math.log2(max(size, 2))


def real_macs(xshape, wshape, out_shape, pads) -> tuple[int, int]:
    """The real models' multiply-adds: ``(inner, edge)``, those the kernels run in vectors
    and those they sum one by one. 2-D: every (output, tap) pair over the extended input,
    none one by one. 1-D: every tap of the outputs whose window lies inside ``x``, and the
    taps inside ``x`` of the others (a 'same' call with a long kernel has many)."""
    outputs, taps = math.prod(out_shape), math.prod(wshape)
    if len(out_shape) != 1:
        return outputs * taps, 0
    (n,), (m,), (o,), ((lo, _),) = xshape, wshape, out_shape, pads
    interior = max(0, min(o, n + lo - m + 1) - max(0, lo))
    return interior * m, _axis_macs(n, m, lo, o) - interior * m


def predicted_times(xshape, wshape, out_shape, pads, dtype: np.dtype) -> tuple[float, float]:
    """``(direct_seconds, fft_seconds)`` predicted by the fitted cost model (real 1-D and
    2-D calls large enough for their kernels' blocks by :data:`REAL_MODELS`)."""
    nd = len(out_shape)
    if dtype.kind == "f" and nd in REAL_MODELS and all(
            o >= least for o, least in zip(out_shape, REAL_MIN_SHAPE[nd], strict=True)):
        s, per_mac, per_edge, per_out, fft_s, per_tile = REAL_MODELS[nd]
        w = _weight(dtype)
        inner, edge = real_macs(xshape, wshape, out_shape, pads)
        direct = s + per_mac * inner * w + per_edge * edge + per_out * math.prod(out_shape)
        return direct, fft_s + per_tile * tile_work(out_shape, wshape) * w
    macs = math.prod(_axis_macs(n, m, p[0], o)
                     for n, m, p, o in zip(xshape, wshape, pads, out_shape, strict=True))
    rows = math.prod(out_shape[:-1]) * math.prod(wshape[:-1]) * -(-out_shape[-1] // BLOCK)
    w = _weight(dtype)
    direct = DIRECT_S + DIRECT_PER_MAC * macs * w + DIRECT_PER_ROW * rows
    real = dtype.kind != "c"
    L = math.prod(_fast_len(n + m - 1) for n, m in zip(xshape, wshape, strict=True))
    fft = FFT_S + FFT_PER_NLOGN * L * max(1.0, math.log2(L)) * (w if real else w / 2)
    return direct, fft
