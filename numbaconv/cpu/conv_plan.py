"""Which CPU convolution strategy runs a call: a deterministic cost model from the geometry.

The launchers of :mod:`numbaconv.cpu.conv` ask this module first
(:func:`forward`, :func:`input_grad`, :func:`weight_grad`, :func:`bias_grad`); it
either runs one of the small-map strategies and returns True, or returns False and
the launcher runs its own (``legacy``) choice: direct loops for thin layers,
Winograd over tile rows, or per-image im2col + GEMM. The strategies:

``gemm_nhwc``
    channels-last im2row + one GEMM per block of images
    (:mod:`numbaconv.cpu.conv_gemm`); the weight gradient is one reduction over
    ``N * positions``.
``gemm_nchw``
    channel-major im2col of a block of images and each image's GEMM written straight
    into the output (:mod:`numbaconv.cpu.conv_gemm`), for thin layers on bigger maps;
    forward and weight gradient. The forward is one compiled kernel over units of output
    rows where numpy's CBLAS can be called from one (batch-1 mid layers, the 7x7/2 stem).
``gemm_taps``
    one GEMM per kernel tap on the channels-last rows of the outputs whose input lies
    inside the image (:mod:`numbaconv.cpu.conv_gemm`): the padding is never multiplied,
    which on a 3x3 map with padding 1 is 32 of 81 (position, tap) pairs. A lone block
    (one image, or a small batch) has its output channels cut into ranges, one a core
    (``Plan.parts``); forward and input gradient run channels-last arrays in place.
``winograd_nhwc``
    Winograd F(2x2, 3x3) with channels-last transforms vectorised along
    ``(tile column, channel)``, batched over images or over rows of tiles
    (:mod:`numbaconv.cpu.winograd_nhwc`); 3x3, stride 1, undilated layers with >= 16
    channels each way. The input gradient is either the adjoint on the forward pass's
    own tiles or the forward pass of the flipped kernel (``Plan.variant``).
``legacy``
    :mod:`numbaconv.cpu.conv`'s own paths.

The choice is the candidate of least estimated cost (:func:`plan`). Every estimate
is in core cycles, a function of the shapes and of :func:`machine` only:

* a GEMM of ``m x n x k`` costs ``2mnk / (4 * gemm_lanes) / eff`` with
  ``gemm_lanes`` the float32 lanes of the widest vector registers (BLAS uses them; 2
  FMA pipes) and an efficiency that falls with each small dimension (BLAS's register
  blocking);
* a copy or transform pass costs per element ``1 / lanes`` times a few vector
  operations when it runs along long contiguous runs, plus a fixed cost per run,
  ``lanes`` the width Numba's loops get (8 float32 on AVX2 and, by LLVM's tuning, on
  AVX-512 too: see :class:`Machine`); the transposing copies into and out of
  channels-last layout cost about 1.5 cycles an element (scalar);
* each work item costs a fixed Python/hand-off overhead;
* legacy paths are modelled the same way (their known weak spots: im2col rows of
  ``Wo`` elements, per-image GEMMs of ``P`` columns, Winograd transforms along tile
  rows of ``Wo / 2`` tiles).

Constants were fitted on an AMD EPYC (AVX2) with single-threaded measurements
(``python -m numbaconv bench sweep`` and ``conv``); everything that depends on the
machine enters through the vector widths and the cache sizes (block sizes follow
L2), never through timing at run time. The thread count never enters: blocks and work items
are the same whatever ``numba.get_num_threads()``, so results are bitwise
reproducible across thread counts.

Tests force a strategy with :func:`forced` (``with conv_plan.forced("gemm_nhwc"):
...``); a forced strategy that does not apply to a call falls back to the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
from dataclasses import dataclass

import numpy as np

from . import threads
from .simd import FILTERS, target_features
from .simd import lanes as taps_lanes

STRATEGIES = ("legacy", "gemm_nhwc", "gemm_nchw", "gemm_taps", "winograd_nhwc", "winograd4")

#: assumed clock for turning the fixed per-item cost (seconds) into cycles
_GHZ = 3.0
#: Python + thread hand-off cost of one work item, of one call, and of pinning BLAS to one
#: thread around a call's GEMMs, in seconds
_ITEM_S = 18e-6
_CALL_S = 20e-6
_PIN_S = 12e-6
#: scalar cost of one element of a transposing copy (cycles)
_TRANSPOSE = 1.5
#: fixed cost of starting a vectorised loop over one run (cycles)
_RUN = 12.0
#: cycles of one more parallel region in a compiled kernel (Numba's team started and joined:
#: the one-image channels-last forward has three, patch rows, filters and GEMM, where the
#: channel-major one has one)
_REGION = 5e-6 * _GHZ * 1e9
#: work (cycles) worth one more work item, and the most items a call is split into
_ITEM_CYCLES = 300_000
_MAX_ITEMS = 16


@dataclass(frozen=True)
class Machine:
    """What the cost model knows about the CPU: float32 lanes of the vectors Numba's loops
    get (``lanes``) and of the widest registers, which BLAS uses (``gemm_lanes``), and
    the per-core L1 data / L2 cache sizes in bytes, and the cores this process may run on
    (``cores``: the one-image kernels split their work into parts that many cores share;
    the thread count Numba is later set to does not enter, so a plan never depends on it).

    The two differ on AVX-512 CPUs: LLVM's tuning for Intel's (skylake-avx512, icelake,
    sapphirerapids: ``prefer-256-bit``) vectorises Numba's loops with 256-bit registers,
    while OpenBLAS's kernels use 512-bit ones. ``NUMBA_CPU_FEATURES`` with
    ``-prefer-256-bit`` gives the loops 512-bit registers too. (On znver4, llvmlite 0.50,
    Numba's loops do use 512-bit registers, but Zen 4 runs them on 256-bit pipes: the
    throughput of 8 lanes, which ``lanes = 8`` counts.)
    """

    lanes: int
    gemm_lanes: int
    l1: int
    l2: int
    cores: int = 1


def _cache_sizes():
    """(L1d, L2) bytes of cpu0 from sysfs, with defaults where unreadable."""
    l1, l2 = 32 * 1024, 1024 * 1024
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for idx in sorted(os.listdir(base)):
            path = os.path.join(base, idx)
            try:
                with open(os.path.join(path, "level")) as f:
                    level = int(f.read())
                with open(os.path.join(path, "type")) as f:
                    kind = f.read().strip()
                with open(os.path.join(path, "size")) as f:
                    text = f.read().strip().upper()
            except (OSError, ValueError):
                continue
            mult = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
            size = int(text.rstrip("KM") or 0) * mult
            if level == 1 and kind in ("Data", "Unified") and size:
                l1 = size
            elif level == 2 and size:
                l2 = size
    except OSError:
        pass
    return l1, l2


def _lanes():
    """(loop lanes, BLAS lanes) for float32 from Numba's target features
    (:func:`numbaconv.cpu.simd.target_features`): 16 with AVX-512F, 8 with AVX, 4
    otherwise; loops stay at 8 on AVX-512 unless ``-prefer-256-bit`` is given."""
    have, wide_loops = target_features()
    if "avx512f" in have:
        return (16 if wide_loops else 8), 16
    if "avx" in have:
        return 8, 8
    return 4, 4


@functools.cache
def machine() -> Machine:
    """The machine parameters, read once per process."""
    l1, l2 = _cache_sizes()
    lanes, gemm_lanes = _lanes()
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not on every platform)
        cores = os.cpu_count() or 1
    return Machine(lanes, gemm_lanes, l1, l2, max(1, cores))


@dataclass(frozen=True)
class Plan:
    """A chosen strategy: ``nb`` images per block (or, with ``nb == 1``, ``rb`` output rows
    (GEMM) or tile rows (Winograd) of one image per block), ``items`` work items for a
    reduction, ``variant`` the Winograd input gradient's form (``adjoint`` on the output
    tiles, or ``flipped``: the forward pass of the flipped kernel); ``costs`` the
    estimates (cycles) of every candidate, for reporting."""

    strategy: str
    nb: int = 1
    rb: int = 0
    items: int = 1
    variant: str = ""
    costs: tuple = ()
    channels_last: bool = False
    kb: int = 0
    parts: int = 1


# ----------------------------------------------------------------------------- the cost model


def _gemm(m: float, n: float, k: float, lanes: int, itemsize: int) -> float:
    """Cycles of one single-threaded BLAS GEMM ``(m x k) @ (k x n)`` (0 when it is empty)."""
    if m <= 0 or n <= 0 or k <= 0:
        return 0.0
    rate = 4.0 * lanes * (4 / itemsize)  # 2 FMA pipes x 2 flops
    eff = 0.92 * (m / (m + 6.0)) * (n / (n + 10.0)) * (k / (k + 6.0))
    return 2.0 * m * n * k / (rate * eff)


def _vec(elems: float, ops: float, lanes: int, runs: float = 0.0) -> float:
    """Cycles of a vectorised pass: ``ops`` vector operations per ``lanes`` elements plus
    a fixed cost per contiguous run."""
    return elems * ops / lanes + runs * _RUN


def _overhead(items: int, blas: bool = True) -> float:
    """Fixed cost of a call of ``items`` work items (``blas``: with BLAS pinned around them;
    the legacy direct kernels are one Numba call each)."""
    if not blas:
        return _CALL_S * _GHZ * 1e9
    return (_CALL_S + _PIN_S + _ITEM_S * items) * _GHZ * 1e9


@functools.cache
def _compiled_gemm(itemsize: int) -> bool:
    """Whether compiled kernels can call numpy's CBLAS for this float size
    (:func:`numbaconv.cpu.blas.kernel_gemm`)."""
    from .blas import kernel_gemm

    return kernel_gemm(np.float32 if itemsize == 4 else np.float64) is not None


def _items_for(cycles: float, blocks: int) -> int:
    return max(1, min(blocks, _MAX_ITEMS, int(cycles // _ITEM_CYCLES) + 1))


def _nb_gemm(N, P, R, K, itemsize, l2, reduce_=False):
    """Images per block of the channels-last GEMM: patch rows and result of a block in
    half the L2, at least ~128 GEMM rows, and enough blocks to share out."""
    per_img = (R + 1 + K) * P * itemsize
    nb = max(1, (l2 // 2) // per_img)
    nb = max(nb, -(-128 // P))
    if not reduce_:  # output-parallel: keep >= 4 blocks while each keeps >= 256 rows,
        # and at most _MAX_ITEMS blocks: each costs a BLAS call and a scatter on a Python
        # thread, which the few-channel input gradients' one- or two-image blocks (fitted
        # in half the L2) paid a hundred times over: channels-last (100, 28, 28, 1) -> 32
        # padded 2.2 -> 1.4 ms, (128, 32, 32, 3) -> 32 8.4 -> 6.4, (256, 28, 28, 1) -> 32
        # 4.6 -> 3.8 (Zen 3, same process)
        nb = max(nb, -(-N // _MAX_ITEMS))
        nb = min(nb, max(-(-256 // P), -(-N // 4)))
    else:  # a reduction: as many blocks, evenly filled ((16, 64, 5, 5): 8 + 8 images where
        # 15 + 1 left the second work item idle, and its model counted two full blocks)
        nb = -(-N // -(-N // max(1, nb)))
    return max(1, min(N, nb))


def _nb_wino(N, nty, ntx, C, K, itemsize, l2):
    """Images per Winograd block, or with one image, tile rows per block: about 256 tiles
    (GEMM width) but the transforms' 16 planes of a block within 4x the L2 (measured: wider
    GEMMs pay for spilling to L3 up to about there), and >= 4 blocks while each keeps
    >= 128 tiles."""
    T1 = nty * ntx
    per_tile = 16 * (C + K) * itemsize
    tiles = max(64, min(256, (4 * l2) // per_tile))
    if T1 >= tiles:  # big maps: blocks of tile rows of one image
        rb = max(1, tiles // ntx)
        return 1, min(nty, rb)
    nb = -(-tiles // T1)
    nb = min(nb, max(-(-128 // T1), -(-N // 4)))
    return max(1, min(N, nb)), nty


def _few_positions_work(P, R, K, gemm, itemsize, lanes):
    """Cycles of a one-image product on few positions: up to
    :data:`~numbaconv.cpu.threads.DOT_POSITIONS`, dot products (or row updates) streaming the
    filters once, bound by the cache's bandwidth (~16 bytes a cycle) or the FMAs; beyond,
    the GEMM."""
    if P <= threads.DOT_POSITIONS:
        return max(K * R * itemsize / 16.0, K * R * P / (2.0 * lanes))
    return gemm


def _cost_gemm_nhwc(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, dh, dw, itemsize, mach):
    """Estimated cycles, and (nb, rb, items), of the channels-last GEMM strategy."""
    P = Ho * Wo
    R = C * kh * kw
    lanes = mach.lanes
    nb = _nb_gemm(N, P, R, K, itemsize, mach.l2, reduce_=(op == "weight_grad"))
    rb = 0
    if nb == 1 and op == "forward":
        # one-image blocks of rb output rows: >= 4 blocks per image when N is small
        rb = max(1, min(Ho, max(-(-256 // Wo), -(-Ho * N // 4) // max(N, 1))))
        rows = N * -(-Ho // rb)
        m = rb * Wo
    else:
        rows = -(-N // nb)
        m = nb * P
    Hp = (Ho - 1) * sh + (kh - 1) * dh + 1
    Wp = (Wo - 1) * sw + (kw - 1) * dw + 1
    run = kw * C if dw == 1 else C
    nrun = kh if dw == 1 else kh * kw
    plane = N * C * Hp * Wp * _TRANSPOSE                                   # channels-last copy
    patches = _vec(N * P * R, 2, lanes, N * P * nrun) * (1 + 8.0 / max(run, 1))
    repack = K * R * 1.0  # the filters into (or the gradient out of) patch-row order, scalar
    nblk = -(-N // nb) if nb > 1 else rows
    if op == "forward":
        gemm = nblk * _gemm(m, K, R + 1, mach.gemm_lanes, itemsize)
        extra = N * K * P * _TRANSPOSE                                     # (m, K) -> NCHW
        items = rows
        if N == 1 and rows == 1 and threads.few_positions(P, K):  # channel-major rows
            parts = threads.gemm_parts(P, R + 1, K)
            work = _few_positions_work(P, R, K, gemm, itemsize, lanes)
            if 3 <= P <= threads.DOT_POSITIONS:
                # the dot products' register tiles run at ~80% of the multiply-add rate
                # and the gather at ~1 cycle an element (single-threaded (1, 64, 5, 5) ->
                # 128: 16.6 and 1.7 us, Zen 3); no BLAS to pin. Two threads, the calls
                # against the channel-major GEMM's wide units: (1, 64, 5, 5) -> 128 25
                # against 44 us, (1, 128, 3, 3) -> 128 19 against 21, (1, 256, 3, 3) ->
                # 256 33 against 39, (1, 128, 5, 5) -> 256 60 against 109 (Zen 3)
                work = max(work, K * R * P / (1.6 * lanes * 4 // itemsize))
                return (P * R * 1.0 + work / min(mach.cores, parts)
                        + _overhead(1) - _PIN_S * _GHZ * 1e9), (nb, rb, 1)
            if P <= threads.DOT_POSITIONS:
                # fewer positions than a tile: four filters by one position, ~0.33 cycles
                # a multiply-add ((1, 256, 3, 3) -> 256 33 us, Zen 4, two threads)
                work = max(work, (0.3 + 0.03 * P) * K * R * P)
            return P * R * 3.0 + work / min(mach.cores, parts) + _overhead(1), (nb, rb, 1)
        if N == 1 and rows == 1:  # the one-image kernel: everything in parts on the cores
            parts = threads.gemm_parts(P, R + 1, K)
            share = min(mach.cores, max(2, parts) if Ho > 1 else parts)
            cyc = ((plane + patches + repack) / share + (gemm + extra) / min(mach.cores, parts)
                   + _overhead(1) + 2 * _REGION)
            return cyc, (nb, rb, 1)
    elif op == "input_grad":
        gemm = nblk * _gemm(m, R, K, mach.gemm_lanes, itemsize)
        extra = N * K * P * (1.0 if nb > 1 else 0.0) + patches * 1.5 + plane
        items = nblk
        if N == 1 and threads.few_positions(P, K):  # channel-major, filters unpacked
            parts = (threads.gemm_parts(P, K, R) if P <= threads.DOT_POSITIONS
                     else threads.position_parts(P, K, R))
            work = _few_positions_work(P, R, K, gemm, itemsize, lanes)
            return P * R * 3.0 + work / min(mach.cores, parts) + _overhead(1), (nb, rb, 1)
        if N == 1:  # the one-image kernel: filters packed and the GEMM in parts
            share = min(mach.cores, threads.position_parts(P, K, R))
            return (gemm + repack) / share + extra + _overhead(1), (nb, rb, 1)
    else:
        gemm = nblk * _gemm(K, R, m, mach.gemm_lanes, itemsize)
        extra = N * K * P * (1.0 if nb > 1 else 0.0)
        items = _items_for(gemm, nblk)
        if N == 1:  # the one-image kernel: patch rows in halves, GEMM + unpacking in parts
            share = min(mach.cores, threads.gemm_parts(P, R, K))
            return ((plane + patches) / min(mach.cores, 2 if Ho > 1 else 1)
                    + (gemm + repack) / share + _overhead(1)), (nb, rb, 1)
    cyc = gemm + plane + patches + extra + repack + _overhead(items)
    if op != "weight_grad" and nb > 1:
        # the compiled forward and input gradient run their blocks one after another: as
        # many, evenly filled ((16, 128, 3, 3): 8 + 8 images, not 15 + 1; the input gradient
        # of (16, 64, 5, 5) -> 128 0.304 -> 0.284 ms, Zen 3, same process). (The estimate
        # keeps the blocks it was fitted with, the last counted full.)
        nb = -(-N // -(-N // nb))
    return cyc, (nb, rb, items)


#: cycles per output element of the channel-major forward beyond its multiply-adds: each
#: image's GEMM writes a whole (K, Ho*Wo) map, which OpenBLAS zeroes first (beta = 0) and its
#: kernels then add into; with a thin layer's short reduction that is not hidden ((128, 3,
#: 32, 32) -> 32, reduction 28: a memset was 12% of the call, and the direct kernels 8-10%
#: faster than this strategy, which the model had picked)
_C_PASS = 1.0


#: shortest patch (``C * kh * kw``) for one image's forward pass as dot products
#: (:func:`_cost_dots_one`): each register tile ends in twelve horizontal sums
DOTS_MIN_PATCH = 64


def _cost_dots_one(op, N, C, K, kh, kw, Ho, Wo, itemsize, mach,
                   forced: bool = False) -> float | None:
    """Estimated cycles of one image's forward pass as dot products of the filters with patch
    rows in their own order, the positions shared out
    (:func:`numbaconv.cpu.conv_gemm._forward_one_dots`), or None where it does not apply:
    not one image's forward pass, few positions (the filters' split of
    :func:`_cost_gemm_nhwc` runs those), a patch shorter than :data:`DOTS_MIN_PATCH`, or
    patch rows beyond the L2 cache (each group of four filters, read once, meets all of a
    run's rows, which must stay cached; ``forced``: any one image's forward pass, for the
    tests). The tiles run at ~80% of the multiply-add rate, the
    gather at ~1 cycle an element, and no BLAS is pinned (two Zen 3 threads: (1, 32, 13,
    13) -> 64 37 us against the channel-major GEMM's 58, (1, 64, 14, 14) -> 64 78 against
    97)."""
    P, R = Ho * Wo, C * kh * kw
    if op != "forward" or N != 1:
        return None
    if not forced and (P < 3 or R < DOTS_MIN_PATCH
                       or (P <= threads.DOT_POSITIONS and threads.few_positions(P, K))
                       or P * R * itemsize > mach.l2):
        return None
    lanes = mach.lanes * 4 // itemsize
    parts = threads.gemm_parts(P, R + 1, K)
    work = P * R * 1.0 + K * R * P / (1.6 * lanes)
    return work / min(mach.cores, parts) + _overhead(1) - _PIN_S * _GHZ * 1e9


def _cost_nchw_units(op, N, C, K, kh, kw, H, W, Ho, Wo, sw, itemsize, mach, valid=False):
    """Estimated cycles, and (nb, rb, items, kb, wide), of the channel-major forward or weight
    gradient as one compiled kernel (:func:`numbaconv.cpu.conv_gemm._forward_units`,
    :func:`~numbaconv.cpu.conv_gemm._weight_grad_units`): units of ``rb`` output rows of
    one image, each an im2col within half the L2 and a GEMM of the filters (or of the
    gradient) as they are. One image's forward is cut into units for the cores
    (:func:`_cost_one_image_units`; (1, 32, 13, 13) -> 64 at two threads on Zen 3: two
    units 115 us, one 173); a batch keeps whole images where they fit. The weight gradient
    sums its units in one fixed run a core (``items``). ``valid``: an unpadded stride-1
    layer, whose forward units may copy whole input rows (``wide``:
    :func:`~numbaconv.cpu.conv_gemm._wide_unit`)."""
    P = Ho * Wo
    R = C * kh * kw
    fit = max(1, (mach.l2 // 2) // max(1, R * itemsize * Wo))
    if N == 1 and op == "forward":
        return _cost_one_image_units(C, K, kh, kw, H, W, Ho, Wo, sw, itemsize, mach, fit, valid)
    rb = max(1, min(Ho, fit))
    units = N * -(-Ho // rb)
    copy = N * R * P * (0.3 + 12.0 / Wo) + (N * C * H * W * 1.0 if sw > 1 else 0.0)
    wide = False
    if op == "forward":
        gemm = units * _unit_gemm(K, rb * Wo, R, mach, itemsize) + N * K * P * 0.5
        if valid:
            wcopy, wgemm = _wide_unit_cost(R, K, rb, W, Wo, itemsize, mach)
            if units * (wcopy + wgemm) + N * K * P * 0.5 < copy + gemm:
                copy, gemm, wide = units * wcopy, units * wgemm + N * K * P * 0.5, True
        items = units
    else:
        gemm = units * _gemm(K, R, rb * Wo, mach.gemm_lanes, itemsize)
        items = min(mach.cores, units)
        gemm += items * K * R * 1.0
    share = min(mach.cores, units) if N == 1 else 1
    return (copy + gemm) / share + _overhead(1), (1, rb, items, K, wide)


def _unit_gemm(kb, m, R, mach, itemsize):
    """Cycles of a channel-major unit's product ``(kb x R) @ (R x m)``: a GEMV streaming the
    filters where ``m == 1`` (~0.16 cycles a float32 element: 300 x 2304 37.6 us on one Zen 4
    thread, where OpenBLAS's GEMM of one column packs the filters first: 4x that), else
    :func:`_gemm`."""
    if m == 1:
        return 0.16 * kb * R * itemsize / 4
    return _gemm(kb, m, R, mach.gemm_lanes, itemsize)


def _wide_unit_cost(R, kb, rows, W, Wo, itemsize, mach):
    """(copy, GEMM) cycles of one wide unit: one run of ``(rows - 1) * W + Wo`` a patch
    row, a GEMM over as many columns. (A run's start is a few cycles in its plain loop,
    where the general im2col's, with its padding and phase cases, costs ~30: (1, 128, 3, 3)
    -> 128, 1152 runs of one element a unit, 22 against 35 us, Zen 4.)"""
    m2 = (rows - 1) * W + Wo
    return R * (m2 * 0.3 + 4.0), _unit_gemm(kb, m2, R, mach, itemsize)


def _cost_one_image_units(C, K, kh, kw, H, W, Ho, Wo, sw, itemsize, mach, fit, valid=False):
    """:func:`_cost_nchw_units` for one image's forward pass: the units of ``rb`` output rows
    (and ``kb`` filters) go to the cores in turn, so the pass takes ``ceil(units / cores)``
    units' time; of the distinct splits (``rb = ceil(Ho / u)`` for ``u`` units, within
    ``fit`` rows; all the filters, or halves or quarters of them) the one of least such
    time, the fewer units on a tie. Three units of (1, 64, 14, 14) -> 64 on two cores
    (``rb = 5``, by the earlier rule of two units a core of >= 64 columns) ran in 180 us
    where two of 7 rows ran in 122 (Zen 4); (1, 64, 5, 5) -> 128, two units of 2 + 1 rows
    28 us, one 41. Units of filters serve the maps of a few rows: (1, 128, 3, 3) -> 128,
    wide, two units of 64 filters 19 us, one unit 23 (Zen 4)."""
    R = C * kh * kw
    best = (math.inf, Ho, K, False)
    splits = sorted({K, -(-K // 2), -(-K // 4)}, reverse=True) if K >= 16 else [K]
    for u in range(1, Ho + 1):
        rb = -(-Ho // u)
        if rb > fit or -(-Ho // rb) != u:
            continue
        m = rb * Wo
        for kb in splits:
            units = u * -(-K // kb)
            copy = R * m * (0.3 + 12.0 / Wo)
            gemm = _unit_gemm(kb, m, R, mach, itemsize)
            forms = [(copy + gemm, False)]
            if valid:
                forms.append((sum(_wide_unit_cost(R, kb, rb, W, Wo, itemsize, mach)), True))
            for cyc, wide in forms:
                unit = cyc + kb * m * 0.5
                best = min(best, (-(-units // mach.cores) * unit, rb, kb, wide),
                           key=lambda b: b[0])
    span, rb, kb, wide = best
    if span == math.inf:  # no split within ``fit``: rows one at a time
        rb, kb, wide = 1, K, False
        m = Wo
        span = Ho * (R * m * (0.3 + 12.0 / Wo) + _gemm(K, m, R, mach.gemm_lanes, itemsize))
    strided = C * H * W * 1.0 / mach.cores if sw > 1 else 0.0
    return span + strided + _overhead(1), (1, rb, -(-Ho // rb) * -(-K // kb), kb, wide)


def _cost_gemm_nchw(op, N, C, K, kh, kw, Ho, Wo, sw, itemsize, mach, H=0, W=0, valid=False):
    """Estimated cycles, and (nb, rb, items, kb, wide), of the channel-major batched GEMM
    strategy
    (forward, weight gradient); the forward, and the weight gradient of patches of >=
    :data:`~numbaconv.cpu.threads.WG_UNITS_MIN_PATCH`, as one compiled kernel where numpy's
    CBLAS can be called from one (:func:`_cost_nchw_units`)."""
    P = Ho * Wo
    R = C * kh * kw
    if (_compiled_gemm(itemsize) if op == "forward"
            else threads.weight_grad_units(R, _compiled_gemm(itemsize))):
        return _cost_nchw_units(op, N, C, K, kh, kw, H, W, Ho, Wo, sw, itemsize, mach, valid)
    per_img = (R + 1) * P * itemsize
    half = mach.l2 // 2
    rb = Ho
    if per_img > half:  # one image per block; big maps in blocks of output rows (forward)
        nb = 1
        if op == "forward":
            rb = max(1, min(Ho, half // ((R + 1) * Wo * itemsize)))
            rb = max(rb, min(Ho, -(-256 // Wo)))
    else:
        # per-image GEMMs: a block only needs enough work to amortise its Python overhead
        # (~_ITEM_CYCLES) with its patches within 4x the L2
        img = _gemm(K, P, R + 1, mach.gemm_lanes, itemsize)
        nb = max(1, min(N, -(-_ITEM_CYCLES // int(img)), (4 * mach.l2) // per_img))
        if op == "forward":
            nb = min(nb, max(1, -(-N // 4)))
    blocks = -(-N // nb) * -(-Ho // rb)
    copy = N * R * P * ((0.3 if sw == 1 else 1.2) + 24.0 / Wo)  # (a loop start per row of Wo)
    if op == "forward":
        gemm = N * -(-Ho // rb) * _gemm(K, rb * Wo, R + 1, mach.gemm_lanes, itemsize)
        gemm += N * K * P * _C_PASS
        items = blocks
    else:
        gemm = blocks * _gemm(K, R, nb * P, mach.gemm_lanes, itemsize)
        copy += N * K * P * (0.4 if nb > 1 else 0.0)
        items = _items_for(gemm, blocks)
    return gemm + copy + _overhead(items), (nb, rb, items, K, False)


def _tap_pairs(H, W, Ho, Wo, kh, kw, sh, sw, lh, lw, dh, dw):
    """(position, tap) pairs per image whose input lies inside the image, and taps used."""
    rows = [sum(1 for o in range(Ho) if 0 <= o * sh - lh + t * dh < H) for t in range(kh)]
    cols = [sum(1 for o in range(Wo) if 0 <= o * sw - lw + t * dw < W) for t in range(kw)]
    return sum(rows) * sum(cols), sum(1 for r in rows if r) * sum(1 for c in cols if c)


#: output channels a range of the per-tap GEMMs' compiled kernel takes at least (a GEMM
#: narrower than this runs below BLAS's rate)
TAPS_PART_MIN = 32
#: most GEMM rows (images times rows a tap) of the one block whose output channels are cut
#: into ranges (its buffers stay in L2)
TAPS_ONE_BLOCK_ROWS = 1024
#: a single block's output channels are cut into ranges only where its GEMMs reduce over at
#: least this many channels and have at least this many rows a tap: thinner or tinier
#: layers ((1, 32, 13, 13) -> 64, (1, 64, 5, 5) -> 128) ran slower so than on the
#: channel-major GEMM (Zen 4)
TAPS_PART_MIN_IN = 64
TAPS_PART_MIN_ROWS = 16


def taps_parts(blocks: int, n_out: int, cores: int) -> int:
    """Ranges of output channels each block of the per-tap GEMMs is cut into
    (:func:`numbaconv.cpu.conv_gemm._taps_blocks`): as many as make the work items one a
    core where the blocks are fewer than the cores, each at least :data:`TAPS_PART_MIN`
    wide (``cores`` the machine's, never the thread count: the items follow the shapes)."""
    if blocks >= cores:
        return 1
    return max(1, min(-(-cores // blocks), n_out // TAPS_PART_MIN))


def _cost_gemm_taps(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, lh, lw, dh, dw, itemsize,
                    mach):
    """Estimated cycles, and (nb, items, parts), of the per-tap GEMMs that skip the
    padding."""
    pairs, taps = _tap_pairs(H, W, Ho, Wo, kh, kw, sh, sw, lh, lw, dh, dw)
    P, S = Ho * Wo, H * W
    lanes = mach.lanes
    m1 = pairs / max(taps, 1)  # GEMM rows per image and tap, on average (no tap: bias only)
    # one compiled kernel where numpy's CBLAS can be called from one (conv_gemm._taps_blocks,
    # _weight_grad_taps_runs: blocks on Numba's threads; the filters transposed to or from
    # (taps, C, K) / (taps, K, C) through a small buffer, ~1.4 cycles an element), else
    # blocks on Python threads, numpy's matmul per tap and numpy's transposing copies
    compiled = _compiled_gemm(itemsize)
    nb = max(1, min(N, -(-256 // max(1, int(m1)))))
    if op != "weight_grad":
        nb = min(nb, max(1, -(-N // 4)))
    elif compiled:  # (an even number of blocks, two runs of as many: balanced on two cores)
        pairs_ = -(-N // (2 * nb))
        nb = max(1, -(-N // (2 * pairs_)))
    blocks = -(-N // nb)
    m = nb * m1
    if op == "forward":
        gemm = blocks * taps * _gemm(m, K, C, mach.gemm_lanes, itemsize)
    elif op == "input_grad":
        gemm = blocks * taps * _gemm(m, C, K, mach.gemm_lanes, itemsize)
    else:
        gemm = blocks * taps * _gemm(K, C, m, mach.gemm_lanes, itemsize)
    moves = N * (S * C + P * K) * _TRANSPOSE
    rows = N * pairs * (_vec(C + K, 2, lanes) + 2 * 10.0)
    if compiled and op == "weight_grad":  # (scaled to the other strategies' estimates,
        # measured / model on (16, 64, 5, 5) -> 128, (16|256, 128, 3, 3) -> 128 padded, (8,
        # 256, 3, 3) -> 256 padded and (64, 64, 5, 5) -> 128, Zen 4: weight gradient x0.6,
        # theirs 0.74-1.4 against 0.51-0.70. The runs: each its (taps, K, C) sums zeroed and
        # added up.)
        items = min(blocks, 2)
        moves += K * C * kh * kw * (1.4 + 0.3 * items)
        scale = _TAPS_WG_SCALE if P >= _TAPS_WG_MAP else 0.6
        return scale * (gemm + moves + rows) + _overhead(1), (nb, items, 1)
    if compiled:  # (forward and input gradient x1.4, scaled as above: theirs 0.42-0.66
        # against these 0.75-0.91)
        n_out, n_in = (K, C) if op == "forward" else (C, K)
        w_moves = K * C * kh * kw * 1.4
        if mach.cores > 1 and blocks > 1:
            # the filters, transposed once on the threads, are read by every core's GEMMs,
            # half of them from another core's cache: (16, 128, 3, 3) -> 128 padded, 35 us
            # to transpose, 40 more in the GEMMs (Zen 4)
            w_moves += K * C * kh * kw * 1.0
        best = (1.4 * (gemm + moves + w_moves + rows) + _overhead(1), (nb, blocks, 1))
        parts = taps_parts(1, n_out, mach.cores)
        if parts > 1 and blocks > 1 and N * m1 <= TAPS_ONE_BLOCK_ROWS:
            # one block of every image, its output channels in ranges, one a core, each
            # transposing its own filters: (16, 128, 3, 3) -> 128 padded 0.35 -> 0.19 ms
            # (Zen 4, same process)
            gemm1 = taps * parts * _gemm(N * m1, n_out / parts, n_in, mach.gemm_lanes,
                                         itemsize)
            moves1 = moves + K * C * kh * kw * 1.4
            cost = 1.4 * (gemm1 + moves1 + rows) + _overhead(1)
            if cost < best[0]:
                best = (cost, (N, parts, parts))
        elif parts > 1 and blocks == 1 and n_in >= TAPS_PART_MIN_IN \
                and N * m1 >= TAPS_PART_MIN_ROWS:
            # one block (a batch of one to four): its ranges on the cores, (1, 64, 14, 14) ->
            # 64 padded 212 -> 105 us. Against the batch-1 estimates of the other
            # strategies, which a batch's idle-core count (_plan) leaves out, measured /
            # model was 0.11-0.13 here and 0.18-0.54 there (same process, Zen 4, twelve
            # layers of one and two images): scaled by 0.6 / parts it is picked where it was
            # the faster ((1, 256, 7, 7) -> 256 padded 0.38 against 0.46 ms forward, 0.36
            # against 0.56 input gradient; (1, 64, 14, 14) -> 64 input gradient 0.11 against
            # 0.12-0.20) and not on the thin or tiny layers where its GEMMs are slow
            gemm1 = taps * parts * _gemm(N * m1, n_out / parts, n_in, mach.gemm_lanes,
                                         itemsize)
            best = (0.6 / parts * 1.4 * (gemm1 + moves + w_moves + rows) + _overhead(1),
                    (nb, parts, parts))
        cost, (nb, items, parts) = best
        if items < mach.cores:
            # (the model's estimates are total work: a call of fewer items leaves cores
            # idle; _plan counts that for a batch, this for one image too)
            cost *= mach.cores / max(1, items) if N == 1 else 1.0
        return cost, (nb, items, parts)
    if op != "weight_grad":  # (numpy's copy: a 1x1 layer of one pixel, (1, 2304) -> 600,
        # 2.4 ms of 2.5)
        moves += K * C * kh * kw * 4.0
    elif K * C * kh * kw * itemsize > 4 << 20:  # the gradient's (taps, K, C) sums, too big
        # for the caches, zeroed, added and transposed back in memory (the same layer: 3.4 ms)
        moves += K * C * kh * kw * 8.0
    items = blocks if op != "weight_grad" else _items_for(gemm, blocks)
    calls = blocks * (3 + 3 * taps) * 2e-6 * _GHZ * 1e9
    return gemm + moves + rows + calls + _overhead(items), (nb, items, 1)


def _cost_winograd_nhwc(op, N, C, K, Ho, Wo, itemsize, mach):
    """Estimated cycles, and (nb, items), of the channels-last Winograd strategy."""
    nty, ntx = -(-Ho // 2), -(-Wo // 2)
    T1 = nty * ntx
    lanes = mach.lanes
    nb, rb = _nb_wino(N, nty, ntx, C, K, itemsize, mach.l2)
    if op == "weight_grad" and mach.cores > 1 and rb == nty and N > nb:
        # whole images a block: as many blocks a core ((8, 128, 14, 14) -> 128 in three
        # blocks of three images ran 3.3 ms on two cores, as long as (16, 128, 14, 14) in
        # four blocks; the GEMM strategy's blocks are balanced the same way)
        rounds = -(-N // (mach.cores * nb))
        nb = -(-N // (mach.cores * rounds))
    nblk = -(-N // nb) * -(-nty // rb)
    T = nb * rb * ntx
    Hp, Wh = 2 * rb + 2, ntx + 1
    # input: channels-last phase planes (~1 cycle an element, zeros included), then 16 runs
    # of ntx*C per tile row, 4 loads + 3 ops + 1 store (measured ~4 vector ops a lane-group)
    inp = N * -(-nty // rb) * 2 * Hp * Wh * C * 1.0 + _vec(N * T1 * C * 16, 4, lanes,
                                                          N * nty * 16)
    if op == "weight_grad":
        grad = N * K * Ho * Wo * 1.5 + _vec(N * T1 * K * 16, 4, lanes, nblk * K * 4)
        gemm = nblk * 16 * _gemm(K, C, T, mach.gemm_lanes, itemsize)
        fixed = 16 * K * C * 4.0
        items = _items_for(gemm, nblk)
        return inp + grad + gemm + fixed + _overhead(items), (nb, rb, items)
    # output: per channel 4 + 2 passes along the block's tiles (~32 vector ops a tile), then
    # rows of Wo copied into the map
    out = _vec(N * T1 * K, 32, lanes, 0) + N * K * Ho * (Wo + 8.0)
    gemm = nblk * 16 * _gemm(K, T, C, mach.gemm_lanes, itemsize)
    if op == "forward" and N == 1:
        # one image's GEMMs run on the cores (cpu/winograd_nhwc.py), as the one-image units
        # of the channel-major GEMM are counted (:func:`_cost_one_image_units`); a batch is
        # counted as total work, as every other strategy's is (divided here too, it made
        # the Winograd look 1.6x cheaper than it runs beside them on Zen 4: (256, 128, 3, 3)
        # -> 128 at 4.45 ms against gemm_taps' 3.32, channels-last (8, 56, 56, 64) -> 64
        # at 7.98 against the older channels-last Winograd's 5.76)
        gemm /= min(mach.cores, 16)
    fixed = 16 * K * C * 3.0
    return inp + gemm + out + fixed + _overhead(nblk), (nb, rb, nblk)


def _cost_winograd4(N, C, K, Ho, Wo, H, W, itemsize, mach, reduce_=False, adjoint=False,
                    small_tiles=True):
    """Estimated cycles, and (nb, blocks), of the F(4x4, 3x3) Winograd forward
    (:mod:`numbaconv.cpu.winograd4`), or None where its blocks would be too thin: blocks
    of ``nb`` images, each whole on one core, reading all 36 transformed filter planes
    once (``36 C K`` values from the L3 at ~8 bytes a cycle: (8, 256, 14, 14) -> 256 in
    one-image blocks streamed 9.4 MB an image, 1.5 ms of its GEMMs' 1.45) and its own 36
    planes of transformed input and products (streamed too when they pass the L2); of
    the block sizes that leave two blocks a core where the batch allows, the cheapest.
    Per piece, fitted on Zen 4 (float32, one thread, 2026-12-04: (8, 32, 13, 13) -> 64
    weights 29 us, padded copy 34, input transform 68, GEMMs 98, output transform 53-75;
    (16, 128, 3, 3) -> 128: 235 / 18 / 60 / 170 / 16): the weight transform ~50 cycles a
    (filter, channel), the copy ~1.4 an element, the transforms ~100 cycles a (tile,
    channel) and ~45 a (tile, filter); since their row passes and the channel-major
    copies vectorise (436cb97), 1.0, 45 and 40; since the weight transform runs along
    vectors of kernels (twenty-seventh session), ~20 cycles a kernel in float32 and ~36 in
    float64 (:data:`_WT_CYCLES`; the weight gradient's inverse transform, still a kernel
    at a time, keeps the 50). The total is scaled by
    :data:`_WINO4_SCALE`. The weight gradient
    (``reduce_``) has the same pieces, its 36 planes of sums read and written by every
    block ((8, 256, 14, 14) -> 256: 20.4 ms in blocks of two images, F(2x2) 10.8). The
    input gradient as the adjoint (``adjoint``; :func:`numbaconv.cpu.winograd4.input_grad`)
    has the forward's pieces, the transforms' roles swapped, and its blocks as wide as the
    forward's: it kept a block's planes within half the L2 while its overlap-add ran scalar
    ((64, 32, 13, 13) -> 64: blocks of 1-4 images 1.33-1.37 ms, of 8 1.49, Zen 4), but
    with the transforms as vector intrinsics wider blocks pay (Zen 3, two threads, blocks
    of 1 / 2 / 4 / 8 images: that layer 2.23 / 1.73 / 1.42 / 1.41 ms, at batch 256 12.8 /
    10.5 / 8.8 / 8.2; (100, 32, 14, 14) -> 64 5.15 / 3.39 / 2.52 / 2.49)."""
    # (the forward on F(3x3, 3x3)'s tiles where they take less work: 25 planes, not 36;
    # ``small_tiles`` False: counted as F(4x4)'s all the same)
    small = small_tiles and not (reduce_ or adjoint) and wino3_better(Ho, Wo)
    m, E = (3, 25) if small else (4, 36)
    nty, ntx = -(-Ho // m), -(-Wo // m)
    nt = nty * ntx
    fixed = ((_WG_INVERSE_CYCLES if reduce_ else _WT_CYCLES[itemsize]) * K * C * E / 36
             + N * ((m * nty + 2) * (m * ntx + 2) + H * W) * C * 1.0
             + N * nt * (C * 45.0 + K * 40.0) * E / 36)
    top = max(1, -(-N // (2 * mach.cores)))
    best = None
    for nb in sorted({1, 2, 4, 8, 16, 32, 64, top} & set(range(1, top + 1))):
        T = nb * nt
        if T < _WINO4_MIN_TILES and nb < top:
            continue
        blocks = -(-N // nb)
        planes = E * T * (C + K) * itemsize
        if reduce_ and nb > 1 and planes > mach.l2:
            continue  # (32, 64, 28, 28) -> 64: blocks of 1-4 images 5.4-5.6 ms, of 32 17.9
        # the filter planes again for every block where they leave the L2 (``reduce_``, the
        # weight gradient: sums, read and written back)
        filt = E * C * K * itemsize
        if nb > 1 and planes > 2 * mach.l2 and filt <= 4 * mach.l2:
            # a block's planes past twice the L2 lost more than the filters' reuse saved
            # where the filters are a few MB: (256, 128, 3, 3) -> 128 padded, blocks of 64
            # images 2.61 ms, of 16-32 2.30 (same process, Zen 4); where they are many MB,
            # wide blocks still pay ((8, 256, 14, 14) -> 256: 4 images 6.3 ms, 1 7.4)
            continue
        stream = blocks * filt / 8.0 * (3.0 if reduce_ else 1.0) if filt > mach.l2 else 0.0
        if planes > mach.l2:
            stream += blocks * 2 * planes / 8.0
        cyc = blocks * E * _gemm(T, K, C, mach.gemm_lanes, itemsize) + stream
        if best is None or cyc < best[0]:
            best = (cyc, nb, blocks)
    if best is None or best[1] * nt < _WINO4_MIN_TILES:
        return None
    cyc, nb, blocks = best
    return (fixed + cyc) * _WINO4_SCALE + _overhead(1), (nb, blocks)


def _cost_winograd4_split(C, K, Ho, Wo, H, W, itemsize, mach):
    """Estimated cycles, and the parts, of one image's Winograd forward
    (:func:`numbaconv.cpu.winograd4.forward` with ``parts``): its filters in ranges on as
    many cores, each range with its own weight transform and the whole input transformed
    by each (cycles of one part: they run side by side); None on one core or with too few
    filters for two ranges of a vector's width. Per piece, measured on Zen 4 (float32, one
    thread, (1, 32, 14, 14) -> 64 in two ranges, 2026-12-06): the weight transform ~20
    cycles a kernel (float64 ~36), the padded copy ~2 an element, the input transform ~36
    a (tile, channel), the output transform and copy ~58 a (tile, filter), each GEMM call
    ~700 besides its arithmetic; the total is scaled by :data:`_WINO4_SPLIT_SCALE`."""
    parts = min(mach.cores, K // _SPLIT_FILTERS, 4)
    if parts < 2 or C < _SPLIT_CHANNELS:
        return None
    m, E = (3, 25) if wino3_better(Ho, Wo) else (4, 36)
    nt = -(-Ho // m) * -(-Wo // m)
    Kp = -(-K // parts)
    cyc = (_WT_CYCLES[itemsize] * C * Kp * E / 36
           + 2.0 * H * W * C + 36.0 * nt * C * E / 36
           + E * (_gemm(nt, Kp, C, mach.gemm_lanes, itemsize) + 700.0)
           + 58.0 * nt * Kp * E / 36)
    if mach.gemm_lanes < 16 and C < 2 * _SPLIT_CHANNELS:
        cyc *= _SPLIT_FEW_CHANNELS_AVX2
    return cyc * _WINO4_SPLIT_SCALE + _overhead(1), parts


#: fewest filters a range of the one-image Winograd forward takes (a float32 vector with
#: AVX-512: the weight transform's run)
_SPLIT_FILTERS = 16
#: fewest input channels of the one-image Winograd forward: with 16 its transforms' short
#: runs cost more than counted ((1, 16, 28, 28) -> 32 padded: 107 us against the
#: channel-major GEMM's 80, where the model made it 0.94x)
_SPLIT_CHANNELS = 32
#: where BLAS has 8-lane registers (AVX2), the estimate of a layer of fewer than twice
#: that many channels against the others': its 36 small GEMMs and short transforms cost
#: more than counted there (Zen 3, two threads, 2026-12-06, forced, best of 5 x 60):
#: (1, 32, 13, 13) -> 64 72 us against the channel-major GEMM's 60 and (1, 32, 14, 14)
#: -> 64 72 against 62, which the model gave to Winograd at 0.89x and 0.87x, where
#: (1, 32, 26, 26) -> 64 151 against 172 stays with it. One factor for every layer did
#: not fit: (1, 64, 14, 14) -> 64 padded (124 against the per-tap GEMMs' 170) would have
#: gone to the GEMMs with the C = 32 layers
_SPLIT_FEW_CHANNELS_AVX2 = 1.6
#: the one-image Winograd forward's estimate (one part's cycles) against the other
#: strategies' one-image estimates: real / model 0.6-0.7 beside them on nine layers (Zen 4,
#: two threads, 2026-12-06): (1, 64, 14, 14) -> 64 padded 106 us against the per-tap
#: GEMMs' 134, (1, 128, 14, 14) -> 128 padded 226 against 371, (1, 32, 26, 26) -> 64 100
#: against the channel-major GEMM's 131; a tie on the course layers ((1, 32, 13, 13) ->
#: 64: 36 against 38, left to the GEMM), and losses on the 3x3 and 5x5 maps ((1, 64, 5,
#: 5) -> 128 48 against 27), which the model keeps on the GEMMs
_WINO4_SPLIT_SCALE = 0.7


def wino3_better(Ho: int, Wo: int) -> bool:
    """Whether the Winograd forward runs F(3x3, 3x3) (:mod:`numbaconv.cpu.winograd3`) on an
    ``Ho x Wo`` output rather than F(4x4, 3x3): less GEMM work, 25 products a tile against
    36 counted over each one's tiles (3x3, 5x5, 6x6, 9x9 outputs; (256, 128, 3, 3) -> 128
    padded 2.13 -> 1.53 ms, (64, 64, 5, 5) -> 128 0.41 -> 0.31, Zen 4)."""
    return 25 * -(-Ho // 3) * -(-Wo // 3) < 36 * -(-Ho // 4) * -(-Wo // 4)


#: the F(2x2, 3x3) input gradient as a flipped forward pass, against its estimate
_FLIPPED = 1.5

#: the compiled per-tap GEMMs' weight-gradient estimate against the other strategies'
#: from :data:`_TAPS_WG_MAP` output positions (below, 0.6: fitted on 3x3 and 5x5 maps,
#: where the GEMMs win). On 7x7 to 14x14 maps real / model was 0.38-0.52 there against the
#: channels-last Winograd's 0.24-0.29 (same process, Zen 4, nine layers): 0.87 moves (8|16,
#: 128, 14, 14) -> 128, (4|8, 256, 14, 14) -> 256 and (32, 128|256, 7, 7) to the Winograd
#: ((8, 256, 14, 14) -> 256: 9.2 -> 6.7 ms, PyTorch 8.7; (8, 128, 14, 14): 2.37 -> 1.80)
_TAPS_WG_SCALE = 0.87
_TAPS_WG_MAP = 36

#: cycles of the Winograd weight transform a (filter, channel) kernel, by float size (Zen 4,
#: one thread, (64, 32) kernels: 10.9 us in float32, 20.3 in float64, the vector rows of
#: :func:`numbaconv.cpu.simd.sandwich_rows`)
_WT_CYCLES = {4: 20.0, 8: 36.0}
#: cycles of the weight gradient's inverse transform ``G^T dU G`` a kernel (scalar)
_WG_INVERSE_CYCLES = 50.0

#: fewest tiles in a block of the F(4x4, 3x3) forward: its 36 GEMMs have that many rows
#: ((16, 128, 3, 3) -> 128, blocks of 4 one-tile images: 0.51 ms against F(2x2)'s 0.38)
_WINO4_MIN_TILES = 12
#: the F(4x4, 3x3) forward's estimate against the GEMM strategies' (real / model on the
#: same layers, two Zen 4 threads: GEMMs 0.77-0.79, this model unscaled 0.64); 0.8 until
#: its blocks reused their scratch (twenty-first session), which left (8|16, 128, 14, 14)
#: -> 128 padded on F(2x2): forward 1.59 / 2.95 ms against F(4x4)'s 1.16 / 2.10, input
#: gradient 1.45 / 2.64 against 1.27 / 2.19 (same process, Zen 4)
_WINO4_SCALE = 0.68


def _cost_winograd_adjoint(N, C, K, Ho, Wo, H, W, itemsize, mach):
    """Estimated cycles, and (nb, items), of the channels-last Winograd input gradient as the
    adjoint of the forward pass (``K`` output-gradient channels, ``C`` input channels,
    the tiles of the ``Ho x Wo`` output); None when a block would not hold whole images."""
    nty, ntx = -(-Ho // 2), -(-Wo // 2)
    T1 = nty * ntx
    lanes = mach.lanes
    nb, rb = _nb_wino(N, nty, ntx, K, C, itemsize, mach.l2)
    if rb < nty:
        return None
    nblk = -(-N // nb)
    T = nb * T1
    Hp, Wh = 2 * nty + 2, ntx + 1
    grad = N * 2 * (2 * nty) * ntx * K * 1.0 + _vec(N * T1 * K * 16, 4, lanes, N * nty * 16)
    gemm = nblk * 16 * _gemm(T, C, K, mach.gemm_lanes, itemsize)
    adj = (_vec(N * T1 * C * 16, 7, lanes, N * nty * 32) + N * 2 * Hp * Wh * C / lanes
           + N * C * H * W * 1.5)
    fixed = 16 * K * C * 3.0
    return grad + gemm + adj + fixed + _overhead(nblk), (nb, nblk)


#: a weight-gradient GEMM with fewer rows or columns (filters, or channels x taps) than this
#: runs its work items one after another, whatever the threads (see :func:`_plan`)
THIN_GEMM = 16

#: the rule numbaconv.cpu.conv's own strategies follow (written once, here): a reduction
#: (C/groups * taps) shorter than this, or fewer output channels per group than
#: ``_LEGACY_MIN_K``, runs direct loops rather than im2col + GEMM
_LEGACY_MIN_REDUCTION = 32
_LEGACY_MIN_K = 8
#: multiply-adds from which a stride-1 channels-first layer takes the grid kernels of
#: :mod:`numbaconv.cpu.conv` (below, the row kernels: smaller work, and nothing more to
#: compile for small calls)
GRID_WORK = 1 << 16


def legacy_direct(K: int, C: int, kh: int, kw: int) -> bool:
    """Whether :mod:`numbaconv.cpu.conv` runs a layer with direct loops (``K`` filters and
    ``C`` channels per group)."""
    return C * kh * kw < _LEGACY_MIN_REDUCTION or K < _LEGACY_MIN_K


def _grid_weight_grad_slow(C: int, K: int) -> float:
    """The channels-first stride-1 direct weight gradient (the blocked grid kernel, three
    filters by three taps a step) in cycles per vector FMA, times two. One input channel:
    2.3 (Zen 2, float32: (64, 1, 28, 28) -> 32 at 2.4; Zen 4 2.1). Two and three channels
    share each gradient load among more taps: 1.0-1.4 on Zen 4 ((128, 3, 32, 32) -> 32 1.0,
    (32, 3, 64, 64) -> 16 1.0, (256, 3, 16, 16) -> 64 1.4, (64, 2, 28, 28) -> 32 1.0;
    2026-12-04), where 2.3 sent them to the channel-major GEMM at 1.0-3.6x the direct
    loops' time (its (32 x 27) results over a long reduction are mostly BLAS packing).
    Fewer than 8 filters fill the kernel's filter triples less well: 2.3 (16 channels,
    4 filters: 2.5)."""
    return 2.3 if C == 1 or K < _LEGACY_MIN_K else 1.1


def _cost_legacy(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, dh, dw, lh, lw, itemsize, mach):
    """Estimated cycles of :mod:`numbaconv.cpu.conv`'s own choice for a 2-D, ungrouped call."""
    from .winograd import winograd_applies

    P = Ho * Wo
    R = C * kh * kw
    lanes = mach.lanes
    fma = float(N) * K * R * P
    if (op == "forward" and legacy_direct(K, C, kh, kw) and sh == sw == 1 and min(lh, lw) >= 0
            and K >= FILTERS and fma >= GRID_WORK):
        # the grid kernel in blocks of FILTERS filters (cpu/conv.py _grid_forward_blocks):
        # one vector FMA per tap, filter and vector of positions (along the output rows, or
        # along the padded-width grid for rows shorter than a vector), at the FMA rate
        V = taps_lanes(itemsize)
        Wp = Wo + (kw - 1) * dw
        vecs = Ho * -(-Wo // V) if Wo >= V else -(-Ho * Wp // V) + Ho * Wo / V
        rate = 2.0 * lanes * 4 / itemsize  # lanes of FMAs a cycle
        return (N * -(-K // FILTERS) * FILTERS * vecs * V * (R + 1) / rate
                + N * C * (Ho + (kh - 1) * dh) * Wp * 0.3 + _overhead(1, blas=False))
    if legacy_direct(K, C, kh, kw):
        # direct loops: one vector FMA per tap and lane, at about a quarter of peak
        # (accumulators in L1, not in registers), more for the gradients' scatter/reduce
        slow = {"forward": 2.7, "input_grad": 3.0, "weight_grad": 5.0}[op]
        if sh != 1 or sw != 1:
            slow *= 3.0
        elif op == "weight_grad":
            slow = _grid_weight_grad_slow(C, K)
        return fma / lanes * slow / 2.0 + N * K * P * 0.3 + _overhead(1, blas=False)
    wino = op != "weight_grad" and winograd_applies((N, C, H, W), (K, C, kh, kw),
                                                    (sh, sw), (dh, dw), 1)
    if op == "input_grad":
        wino = wino and kh == kw == 3 and 2 * dh - lh >= 0 and 2 * dw - lw >= 0
    if wino:
        Hw, Ww = (H, W) if op == "input_grad" else (Ho, Wo)
        cin, cout = (K, C) if op == "input_grad" else (C, K)
        nty, ntx = -(-Hw // 2), -(-Ww // 2)
        T = N * nty * ntx
        per_tile_c = 30.0 + 200.0 / ntx
        per_tile_k = 12.0 + 200.0 / ntx
        gemm = 16 * _gemm(cout, min(T, 196), cin, mach.gemm_lanes, itemsize) * (T / min(T, 196))
        return gemm + T * (cin * per_tile_c + cout * per_tile_k) + _overhead(8)
    # per-image im2col + GEMM, 4 work items at least (row or channel blocks)
    blocks = max(1, -(-4 // N))
    cols = float(N) * R * P * (0.3 + 12.0 / Wo)
    if op == "forward":
        gemm = N * blocks * _gemm(K, P / blocks, R + 1, mach.gemm_lanes, itemsize)
    elif op == "input_grad":
        gemm = N * blocks * _gemm(R / blocks, P, K, mach.gemm_lanes, itemsize)
        cols *= 1.5
    else:
        gemm = N * _gemm(K, R / 4, P, mach.gemm_lanes, itemsize) * 4 + N * K * R * 0.5
    return gemm + cols + _overhead(N * blocks)


def _plan(op, x_shape, w_shape, out_shape, stride, lo, dilation, itemsize, force=None,
          force_variant=None):
    """The cheapest applicable strategy for a 2-D, ungrouped call (shapes as 5-D tuples)."""
    N, C, _, H, W = x_shape
    K, _, _, kh, kw = w_shape
    Ho, Wo = out_shape[3], out_shape[4]
    _, sh, sw = stride
    _, lh, lw = lo
    _, dh, dw = dilation
    mach = machine()
    costs = {"legacy": _cost_legacy(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, dh, dw, lh, lw,
                                    itemsize, mach)}
    params = {"legacy": {}}
    cyc, (nb, rb, items) = _cost_gemm_nhwc(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, dh, dw,
                                           itemsize, mach)
    costs["gemm_nhwc"] = cyc
    params["gemm_nhwc"] = dict(nb=nb, rb=rb, items=items)
    want_dots = force == "gemm_nhwc" and force_variant == "dots"
    dots = _cost_dots_one(op, N, C, K, kh, kw, Ho, Wo, itemsize, mach, want_dots)
    if dots is not None and force_variant != "gemm" and (dots < cyc or want_dots):
        costs["gemm_nhwc"] = dots
        params["gemm_nhwc"] = dict(nb=1, rb=Ho, items=1, variant="dots")
    cyc, (nb, items, parts) = _cost_gemm_taps(op, N, C, K, kh, kw, Ho, Wo, H, W, sh, sw, lh,
                                              lw, dh, dw, itemsize, mach)
    costs["gemm_taps"] = cyc
    if force == "gemm_taps" and force_variant == "split" and op != "weight_grad":
        items, parts = -(-N // nb) * 2, 2  # (tests: every block's channels in two ranges)
    params["gemm_taps"] = dict(nb=nb, items=items, parts=parts)
    # channel-major batched GEMM: forward only where the reduction is long enough for BLAS
    # with AVX2 kernels (a 1-channel 3x3 layer's k = 10 GEMM lost to the direct loops on Zen
    # 2/3); BLAS's AVX-512 kernels run it faster than the direct loops (Zen 4, OpenBLAS
    # SkylakeX: (64, 1, 28, 28) -> 32 0.21-0.49 against 0.51-0.81 ms, 2026-12-04), and the
    # model then picks it from batch 16 on and keeps the direct loops below (batch 1: they win)
    # (one image's weight gradient runs the channels-last kernel on either path)
    if ((op == "weight_grad" and (N > 1 or force == "gemm_nchw"
                                  or threads.weight_grad_units(C * kh * kw,
                                                               _compiled_gemm(itemsize))))
            or (op == "forward" and (C * kh * kw >= 16 or mach.gemm_lanes >= 16
                                     or force == "gemm_nchw"))):
        valid = (sh == sw == 1 and lh == lw == 0 and Ho == H - (kh - 1) * dh
                 and Wo == W - (kw - 1) * dw)
        cyc, (nb, rb, items, kb, wide) = _cost_gemm_nchw(op, N, C, K, kh, kw, Ho, Wo, sw,
                                                         itemsize, mach, H, W, valid)
        costs["gemm_nchw"] = cyc
        if force == "gemm_nchw" and op == "forward" and force_variant in ("wide", "narrow"):
            kb, wide = -(-K // 2), force_variant == "wide" and valid
        params["gemm_nchw"] = dict(nb=nb, rb=rb, items=items, kb=kb,
                                   variant="wide" if wide else "")
    if winograd_nhwc_applies(op, w_shape, stride, lo, dilation, H, W):
        cin, cout = (K, C) if op == "input_grad" else (C, K)
        hw = (H, W) if op == "input_grad" else (Ho, Wo)
        cyc, (nb, rb, items) = _cost_winograd_nhwc(op, N, cin, cout, *hw, itemsize, mach)
        if op == "input_grad":
            # the flipped forward's real / model time was 1.10 where the adjoint's and the
            # GEMMs' were 0.57-0.77 (Zen 4, (128, 32, 16, 16) -> 64 and the course layers);
            # counted so, the padded layers go to the F(4x4) Winograd or the adjoint:
            # (128, 32, 16, 16) -> 64 6.3 against 9.9 ms, (16, 128, 3, 3) -> 128 0.58
            # against 1.15, (64, 32, 28, 28) -> 32 4.7 against 6.5
            cyc *= _FLIPPED
        costs["winograd_nhwc"] = cyc
        params["winograd_nhwc"] = dict(nb=nb, rb=rb, items=items,
                                       variant="flipped" if op == "input_grad" else "")
        if op == "input_grad":
            adj = _cost_winograd_adjoint(N, C, K, Ho, Wo, H, W, itemsize, mach)
            if adj is not None and force_variant != "flipped" and (
                    adj[0] < cyc or force_variant == "adjoint"):
                costs["winograd_nhwc"] = adj[0]
                params["winograd_nhwc"] = dict(nb=adj[1][0], items=adj[1][1], variant="adjoint")
    if (op == "forward" and N == 1 and _compiled_gemm(itemsize)
            and winograd_nhwc_applies(op, w_shape, stride, lo, dilation, H, W)
            and (split := _cost_winograd4_split(C, K, Ho, Wo, H, W, itemsize, mach))):
        # one image: its filters in ranges on the cores
        costs["winograd4"] = split[0]
        params["winograd4"] = dict(nb=1, items=split[1], parts=split[1])
    elif ((N > 1 or force == "winograd4")
          and (_compiled_gemm(itemsize) or force == "winograd4")
          and winograd_nhwc_applies(op, w_shape, stride, lo, dilation, H, W)):
        # (forced without numpy's CBLAS callable from compiled code, the calls fall back to
        # the GEMM: the same results)
        # (the input gradient: the forward pass of the output gradient, flipped kernel; the
        # weight gradient: the same tiles and GEMM sizes, reduced over the blocks)
        variant = ""
        if op == "input_grad":
            # the flipped forward pass tiles the H x W input, the adjoint the Ho x Wo output
            # (fewer tiles where the layer is unpadded: same process, Zen 4, (64, 32, 13, 13)
            # -> 64 1.33 ms against the flipped 2.25 and F(2x2)'s adjoint 3.05; (64, 64, 5,
            # 5) -> 128 0.65 against 1.60 and 1.07)
            # (counted on F(4x4)'s tiles, though it runs F(3x3)'s where they take less work:
            # so counted, the flipped pass took (16, 64, 5, 5) -> 128 from the per-tap GEMMs,
            # 0.47 ms against 0.21, Zen 4)
            flipped = _cost_winograd4(N, K, C, H, W, Ho, Wo, itemsize, mach,
                                      small_tiles=False)
            found = _cost_winograd4(N, C, K, Ho, Wo, H, W, itemsize, mach, adjoint=True)
            variant = "adjoint"
            # where the flipped pass has no more tiles than the adjoint (a 'same'-padded
            # layer) it ran faster on every layer measured, whatever the model's estimates:
            # same process, Zen 4, (32, 64, 28, 28) -> 64 4.2 against 7.4 ms, (128, 32, 16,
            # 16) -> 64 4.0 against 5.8, (8, 256, 14, 14) -> 256 6.2 against 9.8, (256, 128,
            # 3, 3) -> 128 2.7 against 6.6 (the adjoint adds its tiles' overlaps back)
            if force_variant == "flipped" or (force_variant != "adjoint" and (
                    found is None or (flipped is not None
                                      and (flipped[0] < found[0] or H * W <= Ho * Wo)))):
                found, variant = flipped, "flipped"
        else:
            found = _cost_winograd4(N, C, K, Ho, Wo, H, W, itemsize, mach, op == "weight_grad")
        nb, blocks = found[1] if found is not None else (1, N)
        # a weight gradient's blocks are summed in fixed runs, one a core (at least two)
        items = min(blocks, max(2, mach.cores)) if op == "weight_grad" else blocks
        if found is not None:
            costs["winograd4"] = found[0]
            params["winograd4"] = dict(nb=nb, items=items, variant=variant)
        elif force == "winograd4":  # (tests: thin blocks run too, one image a block)
            costs["winograd4"] = 0.0
            params["winograd4"] = dict(nb=1, items=items, variant=variant or "")
    if op == "weight_grad" and min(K, C * kh * kw) < THIN_GEMM and mach.cores > 1:
        # the GEMM strategies' weight gradient is then a GEMM with fewer than THIN_GEMM
        # rows or columns per block, and such GEMMs do not overlap when work items call
        # BLAS on several threads at once (OpenBLAS 0.3.30/0.3.31, Haswell kernels: two
        # threads 0.92x one, where a 16-column one runs 2.0x); the direct loops' planes do
        for s in ("gemm_nhwc", "gemm_nchw", "gemm_taps"):
            if s in costs:
                costs[s] *= min(mach.cores, max(1, params[s]["items"]))
    if op != "weight_grad" and N > 1 and mach.cores > 1:
        # a batch's estimates are total work; a strategy whose call has fewer work items
        # than cores leaves the rest idle ((4, 64, 5, 5) -> 128: the channels-last GEMM's one
        # block of four images 228 us, one unit an image of the channel-major GEMM 74, Zen 4)
        for s, kw_ in params.items():
            if s != "legacy" and kw_.get("items", mach.cores) < mach.cores:
                costs[s] *= mach.cores / max(1, kw_["items"])
    best = force if force in costs else min(costs, key=costs.__getitem__)
    return Plan(best, costs=tuple(sorted(costs.items())), **params[best])


_plan_cached = functools.lru_cache(maxsize=512)(_plan)


#: fewest input and output channels for the channels-last Winograd (its 16 GEMMs reduce over
#: one of them; thinner layers lose more to the transforms than the GEMMs save)
_WINO_MIN_CHANNELS = 16


def winograd_nhwc_applies(op, w_shape, stride, lo, dilation, H, W) -> bool:
    """3x3, stride 1, undilated, >= 16 channels each way; the input gradient as a forward pass
    needs ``lo <= 2``."""
    kh, kw = w_shape[3], w_shape[4]
    if (kh, kw) != (3, 3) or tuple(stride[1:]) != (1, 1) or tuple(dilation[1:]) != (1, 1):
        return False
    if _FORCED[0] not in ("winograd_nhwc", "winograd4") \
            and min(w_shape[0], w_shape[1]) < _WINO_MIN_CHANNELS:
        return False
    if op == "input_grad":
        return lo[1] <= 2 and lo[2] <= 2
    return lo[1] >= 0 and lo[2] >= 0


def plan(op, x_shape, w_shape, out_shape, stride, lo, dilation, itemsize) -> Plan:
    """The strategy for one call (cached on the shapes; ``op`` is 'forward', 'input_grad' or
    'weight_grad'; 5-D shapes ``(N, C, D, H, W)``, ``(K, C, kd, kh, kw)``,
    ``(N, K, Do, Ho, Wo)``)."""
    return _plan_cached(op, tuple(x_shape), tuple(w_shape), tuple(out_shape), tuple(stride),
                        tuple(lo), tuple(dilation), int(itemsize), *_FORCED)


_FORCED: list = [None, None]


@contextlib.contextmanager
def forced(strategy: str | None, variant: str | None = None):
    """Within the block, every call this module plans uses ``strategy`` (and for the Winograd
    input gradient ``variant``, 'adjoint' or 'flipped'; for the channel-major GEMM's forward
    units 'wide' (where the layer is unpadded, stride 1) or 'narrow', either in units of
    half the filters; for the per-tap GEMMs 'split': every block's output channels in two
    ranges; for the channels-last GEMM's one-image forward 'dots' (the dot products of
    :func:`_cost_dots_one`) or 'gemm' (the GEMM)) where it applies (tests; not
    thread-safe)."""
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if variant not in (None, "adjoint", "flipped", "wide", "narrow", "split", "dots", "gemm"):
        raise ValueError("variant must be 'adjoint', 'flipped', 'wide', 'narrow', 'split', "
                         f"'dots' or 'gemm', got {variant!r}")
    saved = list(_FORCED)
    _FORCED[:] = [strategy, variant]
    try:
        yield
    finally:
        _FORCED[:] = saved


def _small_map_shapes(op, geo, dtype):
    """The call's channels-first 5-D input and output shapes, or None where no small-map
    strategy takes it: grouped, not planar (3-D, or the one output depth reading only
    padding: :attr:`~numbaconv.core.conv.ConvGeometry.planar`), not float32/64, or empty
    (no image, channel, filter or output; for the gradients, no input either)."""
    if (geo.groups != 1 or not geo.planar or dtype not in (np.float32, np.float64)
            or 0 in (geo.batch, geo.channels, geo.filters) or 0 in geo.out_size
            or (op != "forward" and 0 in geo.in_size)):
        return None
    return (geo.batch, geo.channels, *geo.in_size), (geo.batch, geo.filters, *geo.out_size)


@functools.lru_cache(maxsize=1024)
def _route(op, geometry, dtype, force, force_variant) -> Plan | None:
    """:func:`route` cached on the (cached, identity-hashed) geometry and the forced strategy."""
    geo = geometry
    shapes = _small_map_shapes(op, geo, dtype)
    if shapes is None:
        return None
    args = (op, shapes[0], geo.w_shape, shapes[1], geo.stride, geo.lo, geo.dilation,
            np.dtype(dtype).itemsize)
    if geo.channels_last:
        return _route_cl(args, force, force_variant)
    p = plan(*args)
    return None if p.strategy == "legacy" else p


#: the channels-last launchers' own paths against what the legacy model counts for the
#: channels-first ones, by pass and by whether the layer is one the Winograd kernels take
#: (>= 16 channels each way, 3x3, stride 1), set against the cheaper of
#: :data:`CL_STRATEGIES`. Fitted on the course notes' layers in the channels-last layout
#: (legacy / gemm_nhwc time, paired rounds, two Zen 3 threads: forward 0.2-0.55 for one
#: input channel; input gradient 1.4-2.1 with one input channel (its loops run along the
#: channels), 0.9-3.8 with more; weight gradient 0.5-0.7 and 1.8-4.9), then for the
#: Winograd layers against the small-map Winograd on twelve layers from 3x3 to 56x56 maps
#: (2026-12-04): the older channels-last Winograd is the faster on 28x28 and 56x56 maps (a
#: (8, 56, 56, 64) forward 8.0 against 13.8 ms, input gradient 8.1 against 14.2), the
#: small-map one below (a (8, 14, 14, 256) forward 1.29x faster in paired rounds); 0.55
#: and 0.7 put each pass of those layers on the faster path or within 8% of it. Since the
#: F(4x4) Winograd reuses its scratch (twenty-first session) it beats those paths on the
#: big maps too (channels-last, same process, Zen 4: (8, 28, 28, 128) -> 128 forward 3.35
#: ms against 5.82, (8, 56, 56, 64) 3.39 against 5.26, (16, 14, 14, 128) 1.89 against
#: 2.92; (8, 14, 14, 256) input gradient 6.17 against 8.05): 0.7 and 0.8
_CL_LEGACY = {("forward", True): 0.7, ("forward", False): 0.5,
              ("input_grad", True): 0.8, ("input_grad", False): 10.0,
              ("weight_grad", True): 1.2, ("weight_grad", False): 2.0}


#: the strategies that run a channels-last call in its own layout
CL_STRATEGIES = ("gemm_nhwc", "winograd_nhwc", "winograd4")


def _units_forward(args) -> bool:
    """Whether a channels-last call may run the channel-major GEMM (``gemm_nchw``): a
    forward pass with numpy's CBLAS callable from compiled code. The units read the input
    channels-first (one channel: the channels-last input byte for byte; more: a transposed
    copy, :data:`_TRANSPOSE_CYCLES` an element) and write their blocks of the channels-last
    output transposed. The launchers' own channels-last paths ran one-channel layers at
    2.7-3.7x the channels-first time ((64, 28, 28, 1) -> 32: 0.57 against 0.21 ms; (100,
    28, 28, 1) -> 32 padded: 1.52 against 0.41; Zen 4). (The launcher runs the
    channels-last few-channel kernel before asking here where it takes the layer:
    :func:`numbaconv.cpu.conv._cl_blocks_first`.)"""
    op, _, _, _, _, _, _, itemsize = args
    return op == "forward" and _compiled_gemm(itemsize)


#: cycles an element of the channels-last input costs to copy transposed for the
#: channel-major units (:func:`numbaconv.cpu.conv_gemm.transpose_images`)
_TRANSPOSE_CYCLES = 1.0


def _taps_in_place(args) -> bool:
    """Whether a channels-last call may run the per-tap GEMMs in its own layout: numpy's
    CBLAS callable from compiled code (the compiled kernels take channels-last rows as
    they are: (64, 5, 5, 64) -> 128's weight gradient 1.49 ms by the F(4x4) Winograd, the
    model's pick without them, 0.95 by the channels-first call's per-tap GEMMs, Zen 3)."""
    return _compiled_gemm(args[7])


def _route_cl(args, force, force_variant) -> Plan | None:
    """:func:`route` for a channels-last call: of the strategies that read and write the
    channels-last arrays as they are (:data:`CL_STRATEGIES`: the channels-last GEMM, its
    patch rows copied straight from the input's rows; the small-map Winograd, whose
    transforms gather even/odd column planes from either layout), the cheapest by the
    model where it is below the launchers' own channels-last paths (direct loops, the
    older channels-last Winograd, im2col + GEMM) counted with :data:`_CL_LEGACY`, else
    None. ``args`` are :func:`plan`'s, channels-first shapes. The per-tap GEMMs
    (``gemm_taps``, forward and input gradient, with a compiled BLAS) read and write the
    channels-last rows where they are, and are counted without the channels-first call's
    transposing copies."""
    strategies = CL_STRATEGIES + (("gemm_nchw",) if _units_forward(args) else ()) \
        + (("gemm_taps",) if _taps_in_place(args) else ())
    if force is not None and force not in strategies:
        return None
    p = _plan_cached(*args, force, force_variant)
    x_shape = args[1]
    if force is None and p.strategy == "gemm_nchw" and "gemm_nchw" in strategies \
            and x_shape[1] == 1:
        # one channel: the channels-first call's pick, which runs in either layout at the
        # same speed (the model's estimate of it is 2.7x high there, so it is not set
        # against the launchers' fit below)
        return dataclasses.replace(p, channels_last=True)
    costs = dict(p.costs)
    if "gemm_nchw" in costs and x_shape[1] > 1:
        costs["gemm_nchw"] += _TRANSPOSE_CYCLES * math.prod(x_shape)
    if "gemm_taps" in strategies:  # (no planes to rows and back: _cost_gemm_taps' moves)
        costs["gemm_taps"] -= 1.4 * _TRANSPOSE * (math.prod(x_shape) + math.prod(args[3]))
    if args[0] == "forward" and x_shape[0] == 1 and "winograd4" in costs:
        # the one-image Winograd's padded copy takes channels-last runs as they are, where
        # :func:`_cost_winograd4_split` counts the planes' gather at 2 cycles an element
        # ((1, 13, 13, 32) -> 64: 34 us against the channel-major GEMM's 43, Zen 4)
        costs["winograd4"] -= 1.5 * _WINO4_SPLIT_SCALE * math.prod(x_shape)
    best = force if force in costs else min(strategies, key=lambda s: costs.get(s, math.inf))
    if force is None and p.strategy == "gemm_nchw" and best == "gemm_nchw":
        # several channels: the channels-first call's pick still, the input copied
        # transposed, where it is the cheapest of the channels-last strategies too (set
        # against the launchers' fit below, the model's high estimate of the units kept the
        # 7x7/2 stem on the channels-last direct loops: (1, 224, 224, 3) -> 64 1.74 ms
        # against 1.54 so, channels-first 1.28; Zen 4)
        return dataclasses.replace(p, channels_last=True)
    legacy = costs["legacy"] * _CL_LEGACY[args[0], "winograd_nhwc" in costs]
    op, _, w_shape, _, stride = args[:5]
    C, K = x_shape[1], w_shape[0]
    if op == "weight_grad" and legacy_direct(K, C, w_shape[3], w_shape[4]) \
            and stride[1:] == (1, 1):
        # the channels-last direct weight gradient does not gain from a second or third
        # channel as the channels-first grid kernel does: (128, 32, 32, 3) -> 32 5.8 ms
        # against the channels-last GEMM's 3.8, so its fit stays at the one-channel rate
        legacy *= 2.3 / _grid_weight_grad_slow(C, K)
    if force is None and legacy <= costs[best]:
        return None
    if best != p.strategy:
        p = _plan_cached(*args, best, force_variant)
    return dataclasses.replace(p, channels_last=True)


def route(op: str, geometry, dtype) -> Plan | None:
    """The small-map plan of one call of ``op`` ('forward', 'input_grad', 'weight_grad'), or
    None where the launcher's own (legacy) paths run it: not eligible (grouped, 3-D,
    empty) or the model picks legacy (for a channels-last call, the channels-last GEMM or
    None: :func:`_route_cl`). Cached per geometry and dtype, so a
    repeated call costs one dictionary lookup (the launchers of :mod:`numbaconv.cpu.conv`
    ask this before reshaping anything)."""
    return _route(op, geometry, dtype, *_FORCED)


# ------------------------------------------------------------------------------ the launchers


@functools.cache
def _gemm_module():
    """:mod:`numbaconv.cpu.conv_gemm`, imported on first use (it compiles kernels; this
    module only plans), then one cached call away instead of an import statement a call."""
    from . import conv_gemm

    return conv_gemm


@functools.cache
def _wino4_module():
    """:mod:`numbaconv.cpu.winograd4`, imported on first use."""
    from . import winograd4

    return winograd4


@functools.cache
def _wino3_module():
    """:mod:`numbaconv.cpu.winograd3`, imported on first use."""
    from . import winograd3

    return winograd3


def _wino_tiles_module(out, cl):
    """The module of the ``winograd4`` strategy's forward pass on ``out``'s map: F(4x4, 3x3),
    or F(3x3, 3x3) where its tiles take less work (:func:`wino3_better`; its adjoint input
    gradient likewise, on the output gradient's map)."""
    Ho, Wo = (out.shape[2], out.shape[3]) if cl else (out.shape[3], out.shape[4])
    return _wino3_module() if wino3_better(Ho, Wo) else _wino4_module()


def _wino_tiles_forward(x, w, bias, out, lh, lw, nb, cl, parts=1) -> bool:
    """The ``winograd4`` strategy's forward pass (:func:`_wino_tiles_module`); False where it
    declines (a non-finite output)."""
    return _wino_tiles_module(out, cl).forward(x, w, bias, out, lh, lw, nb, cl, parts)


@functools.cache
def _wino_module():
    """:mod:`numbaconv.cpu.winograd_nhwc`, as :func:`_gemm_module`."""
    from . import winograd_nhwc

    return winograd_nhwc


def run_forward(p: Plan, x, w, bias, out, stride, lo, dilation) -> None:
    """Run the forward pass with the small-map plan ``p`` (5-D arrays)."""
    if p.strategy == "gemm_nhwc":
        run = _gemm_module().forward
        Ho = out.shape[2] if p.channels_last else out.shape[3]
        run(x, w, bias, out, stride, lo, dilation, p.nb, p.rb or Ho, p.channels_last,
            machine().cores, p.variant == "dots")
    elif p.strategy == "gemm_nchw":
        run = _gemm_module().forward_nchw
        run(x, w, bias, out, stride, lo, dilation, p.nb, p.rb, p.channels_last, p.kb,
            p.variant == "wide")
    elif p.strategy == "gemm_taps":
        run = _gemm_module().forward_taps
        run(x, w, bias, out, stride, lo, dilation, p.nb, p.parts, p.channels_last)
    elif p.strategy == "winograd4":
        cl = p.channels_last
        if not _wino_tiles_forward(x, w, bias, out, lo[1], lo[2], p.nb, cl, p.parts):
            _gemm_module().forward(x, w, bias, out, stride, lo, dilation, 1,
                                   out.shape[2 if cl else 3], cl)
    else:
        fallback = _gemm_module().forward
        run = _wino_module().forward
        cl = p.channels_last
        if not run(x, w, bias, out, lo[1], lo[2], p.nb, p.rb, cl):
            fallback(x, w, bias, out, stride, lo, dilation, 1, out.shape[2 if cl else 3], cl)


def channels_last_copy(a, shape5):
    """A channels-last copy ``(N, 1, H, W, C)`` of the channels-first 2-D-layer array ``a``
    (``shape5``: its 5-D shape ``(N, C, 1, H, W)``), by the units' tiled transpose."""
    N, C, _, H, W = shape5
    out = np.empty((N, 1, H, W, C), a.dtype)
    _gemm_module().transpose_images(a.reshape(shape5), out, C, H * W)
    return out


def forward_runner(p: Plan, x, w, bias, out, stride, lo, dilation):
    """A prepared ``run(x, w, bias, out)`` of the plan ``p``'s forward pass for 5-D arrays
    like these, where its strategy offers one (the channel-major GEMM's units:
    :func:`numbaconv.cpu.conv_gemm.forward_nchw_runner`; one image's dot products:
    :func:`~numbaconv.cpu.conv_gemm.forward_dots_runner`), else None."""
    if p.strategy == "gemm_nchw":
        return _gemm_module().forward_nchw_runner(x, w, bias, out, stride, lo, dilation, p.rb,
                                                  p.kb, p.variant == "wide", p.channels_last)
    if p.strategy == "winograd4":
        return _wino_runner(p, x, w, bias, out, stride, lo, dilation)
    if p.strategy == "gemm_nhwc":
        return _gemm_module().forward_dots_runner(x, w, bias, out, stride, lo, dilation,
                                                  p.channels_last, p.variant == "dots")
    return None


def weight_grad_runner(p: Plan, geometry, dtype):
    """A prepared ``run(x, g, dw)`` of the plan ``p``'s weight gradient for 5-D arrays of
    ``geometry``'s shapes, where its strategy offers one (one image's register tiles:
    :func:`numbaconv.cpu.conv_gemm.weight_grad_tiles_runner`), else None."""
    if p.strategy != "gemm_nhwc":
        return None
    return _gemm_module().weight_grad_tiles_runner(
        geometry.x_shape, geometry.y_shape, geometry.w_shape, geometry.stride, geometry.lo,
        geometry.dilation, dtype, p.channels_last)


def _wino_runner(p: Plan, x, w, bias, out, stride, lo, dilation):
    """:func:`forward_runner` of the ``winograd4`` strategy: the tile family's prepared pass
    (:func:`numbaconv.cpu.winograd4.prepare_forward`), a non-finite output recomputed by
    the channels-last GEMM as :func:`run_forward` does; None without compiled BLAS."""
    cl = p.channels_last
    prepared = _wino_tiles_module(out, cl).prepare_forward(x, w, bias, out, p.nb, cl, p.parts)
    if prepared is None:
        return None
    xshape, wshape, yshape, lh, lw = x.shape, w.shape, out.shape, lo[1], lo[2]

    def run(x, w, bias, out):  # (arrays of the call's own shapes: the 5-D views here)
        x, w, out = x.reshape(xshape), w.reshape(wshape), out.reshape(yshape)
        if not prepared(x, w, bias, out, lh, lw):
            _gemm_module().forward(x, w, bias, out, stride, lo, dilation, 1,
                                   yshape[2 if cl else 3], cl)

    return run


def forcing() -> tuple:
    """The strategy and variant :func:`forced` sets now (``(None, None)`` outside it): part of
    the key of anything cached from a plan."""
    return tuple(_FORCED)


def flipped_weights(w):
    """The kernel of the input gradient's flipped forward pass (stride 1): ``(C, K, kd, kh,
    kw)``, flipped along every spatial axis, C-contiguous."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1, ::-1].transpose(1, 0, 2, 3, 4))


def run_input_grad(p: Plan, g, w, bias, dx, stride, lo, dilation) -> None:
    """Run the input gradient with the small-map plan ``p`` (5-D arrays)."""
    if p.strategy == "gemm_nhwc":
        run = _gemm_module().input_grad
        run(g, w, bias, dx, stride, lo, dilation, p.nb, p.channels_last, machine().cores)
    elif p.strategy == "gemm_taps":
        run = _gemm_module().input_grad_taps
        run(g, w, bias, dx, stride, lo, dilation, p.nb, p.parts, p.channels_last)
    elif p.strategy == "winograd4":
        cl = p.channels_last
        if p.variant == "adjoint":
            Ho, Wo = (g.shape[2], g.shape[3]) if cl else (g.shape[3], g.shape[4])
            tiles = _wino3_module() if wino3_better(Ho, Wo) else _wino4_module()
            ok = tiles.input_grad(g, w, bias, dx, lo[1], lo[2], p.nb, cl)
        else:
            # the correlation of g with the flipped, channel-transposed kernel, padded 2 - lo
            # (a view: the weight transform reads it where it lies, where a copy cost 80 of
            # (256, 128, 3, 3) -> 128's 2.3 ms)
            ok = _wino_tiles_forward(g, w[:, :, ::-1, ::-1, ::-1].transpose(1, 0, 2, 3, 4),
                                     bias, dx, 2 - lo[1], 2 - lo[2], p.nb, cl)
        if not ok:
            _gemm_module().input_grad(g, w, bias, dx, stride, lo, dilation, 1, cl)
    else:
        fallback = _gemm_module().input_grad
        run = _wino_module().forward
        cl = p.channels_last
        if p.variant == "adjoint":
            adjoint = _wino_module().input_grad
            ok = adjoint(g, w, bias, dx, lo[1], lo[2], p.nb, cl)
        else:
            # the correlation of g with the flipped, channel-transposed kernel, padded 2 - lo
            ok = run(g, flipped_weights(w), bias, dx, 2 - lo[1], 2 - lo[2], p.nb, p.rb, cl)
        if not ok:
            fallback(g, w, bias, dx, stride, lo, dilation, 1, cl)


def run_weight_grad(p: Plan, x, g, dw_out, stride, lo, dilation) -> None:
    """Run the weight gradient with the small-map plan ``p`` (5-D arrays)."""
    if p.strategy == "gemm_nhwc":
        run = _gemm_module().weight_grad
        run(x, g, dw_out, stride, lo, dilation, p.nb, p.items, p.channels_last,
            machine().cores)
    elif p.strategy == "gemm_nchw":
        run = _gemm_module().weight_grad_nchw
        run(x, g, dw_out, stride, lo, dilation, p.nb, p.items, p.rb)
    elif p.strategy == "gemm_taps":
        run = _gemm_module().weight_grad_taps
        run(x, g, dw_out, stride, lo, dilation, p.nb, p.items, p.channels_last)
    else:
        fallback = _gemm_module().weight_grad
        cl = p.channels_last
        if p.strategy == "winograd4":
            ok = _wino4_module().weight_grad(x, g, dw_out, lo[1], lo[2], p.nb, p.items, cl)
        else:
            ok = _wino_module().weight_grad(x, g, dw_out, lo[1], lo[2], p.nb, p.rb, p.items,
                                            cl)
        if not ok:
            xs, gs = x.shape, g.shape
            if cl:  # (the plan's shapes are channels-first)
                xs, gs = (xs[0], xs[4], 1, xs[2], xs[3]), (gs[0], gs[4], 1, gs[2], gs[3])
            q = plan_gemm("weight_grad", xs, dw_out.shape, gs, stride, lo, dilation,
                          x.dtype.itemsize)
            fallback(x, g, dw_out, stride, lo, dilation, q.nb, q.items, cl)


def plan_gemm(op, x_shape, w_shape, out_shape, stride, lo, dilation, itemsize) -> Plan:
    """The channels-last GEMM's blocking for a call (Winograd's fallback)."""
    with forced("gemm_nhwc"):
        return plan(op, x_shape, w_shape, out_shape, stride, lo, dilation, itemsize)


def bias_grad(g, db) -> bool:
    """``db[k] = sum of g[:, k, :]`` (float64 accumulation, vectorised): always taken."""
    run = _gemm_module().bias_grad
    run(g, db)
    return True
