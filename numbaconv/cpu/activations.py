"""CPU activation kernels: one generic elementwise engine, softmax rows, PReLU.

The elementwise engine is a kernel factory keyed by the scalar formula
(:mod:`numbaconv.scalar.activations`): ``_unary(f)`` is one
``@njit(parallel=True, cache=True)`` kernel per formula, compiled lazily per
dtype, so nothing compiles at import and each formula costs one compilation
the first time it is used (``cache=True`` keeps it on disk). Work is split
into fixed chunks of :data:`CHUNK` elements (``prange`` over chunks, a
contiguous inner loop that LLVM vectorises), so results never depend on the
thread count. ``error_model='numpy'``: a Python-style zero-division check
would stop the vectoriser.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from ..scalar.activations import ELEMENTWISE, K, fexp

#: elements per parallel work item (fixed: results never depend on the thread count)
CHUNK = 16384

_JIT = dict(parallel=True, cache=True, error_model="numpy")


@functools.cache
def _chunk_loops(f, df):
    """The serial loops over one chunk: ``mode`` 0 writes f, 1 writes f', 2 both.

    The branch is outside the loops, which stay branch-free and vectorise. This is a
    function of its own, called once per chunk, not inlined into a parallel loop: inside
    Numba's outlined parfor body, LLVM reloaded every polynomial constant on each vector
    iteration (30 of 120 instructions in gelu), 25-30% slower than the same loop here.
    """

    @njit(error_model="numpy")
    def run(xs, os, ds, a, b, mode):
        if mode == 0:
            for i in range(xs.size):
                xi = xs[i]
                v = f(xi, a, b)
                os[i] = v if xi == xi else xi  # NaN in, NaN out
        elif mode == 1:
            for i in range(xs.size):
                xi = xs[i]
                v = df(xi, a, b)
                os[i] = v if xi == xi else xi
        else:
            for i in range(xs.size):
                xi = xs[i]
                v = f(xi, a, b)
                d = df(xi, a, b)
                os[i] = v if xi == xi else xi
                ds[i] = d if xi == xi else xi

    return run


@functools.cache
def _engine(f, df):
    """The elementwise kernel of one activation (``mode`` as :func:`_chunk_loops`).

    One kernel per activation (not per form) halves the compilations. Up to one chunk
    runs on the calling thread: waking the worker threads costs ~20 us, more than the chunk.
    """
    run = _chunk_loops(f, df)

    @njit(**_JIT)
    def kernel(x, out, dout, a, b, mode):
        n = x.size
        if n <= CHUNK:
            run(x, out, dout, a, b, mode)
            return
        for c in prange((n + CHUNK - 1) // CHUNK):
            lo, hi = c * CHUNK, min((c + 1) * CHUNK, n)
            run(x[lo:hi], out[lo:hi], dout[lo:hi], a, b, mode)

    return kernel


def _run(name, x, out, dout, a, b, mode):
    if x.size:
        spec = ELEMENTWISE[name]
        flat = out.reshape(-1)
        _engine(spec.forward, spec.derivative)(x.reshape(-1), flat,
                                               flat if dout is None else dout.reshape(-1),
                                               a, b, mode)


def elementwise(name: str, x: np.ndarray, out: np.ndarray, a, b) -> None:
    """``out = f(x)`` for the activation ``name``; ``a``, ``b``: its parameters in ``x``'s dtype."""
    _run(name, x, out, None, a, b, 0)


def elementwise_derivative(name: str, x: np.ndarray, out: np.ndarray, a, b) -> None:
    """``out = f'(x)`` for the activation ``name``."""
    _run(name, x, out, None, a, b, 1)


def elementwise_and_derivative(name: str, x: np.ndarray, out: np.ndarray, dout: np.ndarray,
                               a, b) -> None:
    """``out = f(x)`` and ``dout = f'(x)`` in one pass over ``x``."""
    _run(name, x, out, dout, a, b, 2)


@functools.cache
def _channel(f, df):
    run = _chunk_loops(f, df)

    @njit(**_JIT)
    def kernel(x, w, out, mode):  # x, out: (outer, C, inner); w: (C,); mode 0: f, 1: f'
        outer, nc, inner = x.shape
        nchunk = (inner + CHUNK - 1) // CHUNK
        for r in prange(outer * nc * nchunk):
            oc = r // nchunk
            c = r - oc * nchunk
            o = oc // nc
            ch = oc - o * nc
            a = w[ch]
            lo, hi = c * CHUNK, min((c + 1) * CHUNK, inner)
            os = out[o, ch, lo:hi]
            run(x[o, ch, lo:hi], os, os, a, a, mode)

    return kernel


def channelwise(name: str, derivative: bool, x3: np.ndarray, w: np.ndarray,
                out3: np.ndarray) -> None:
    """PReLU-style: ``out3[o, c, j] = f(x3[o, c, j], w[c])`` (or f') on ``(outer, C, inner)``."""
    if x3.size:
        spec = ELEMENTWISE[name]
        _channel(spec.forward, spec.derivative)(x3, w, out3, 1 if derivative else 0)


@njit(**_JIT)
def _prelu_weight(g, x, partial):  # g, x: (outer, C, inner); partial: (outer, C) float64
    outer, nc, inner = x.shape
    for r in prange(outer * nc):
        o = r // nc
        ch = r - o * nc
        acc = 0.0
        for j in range(inner):
            xi = x[o, ch, j]
            if not xi > 0:  # d/dw (w x) = x where x <= 0 (NaN x gives NaN)
                acc += g[o, ch, j] * xi
        partial[o, ch] = acc


def prelu_weight(g3: np.ndarray, x3: np.ndarray, out: np.ndarray) -> None:
    """``out[c] = sum over (o, j) of g3 * x3 where x3 <= 0`` (summed in a fixed order)."""
    partial = np.zeros((max(x3.shape[0], 1), x3.shape[1]), dtype=np.float64)
    if x3.size:
        _prelu_weight(g3, x3, partial)
    total = partial[0].copy()
    for o in range(1, partial.shape[0]):  # serially in o, as the CUDA twin
        total += partial[o]
    out[:] = total.astype(out.dtype)


# --------------------------------------------------------------------------- softmax
# Arrays arrive as (outer, n, inner) views with the reduced axis in the middle. Every
# slice is reduced by one thread, serially in k, in float64: the same operations in the
# same order whatever the layout or thread count.


@njit(**_JIT)
def _softmax3(x, out, log):
    outer, n, inner = x.shape
    for r in prange(outer * inner):
        o = r // inner
        j = r - o * inner
        m = x[o, 0, j]
        for k in range(1, n):
            v = x[o, k, j]
            if v > m or v != v:
                m = v
        if m != m:  # a NaN anywhere: the whole slice is NaN
            for k in range(n):
                out[o, k, j] = m
            continue
        total = 0.0
        if log:
            for k in range(n):
                total += fexp(x[o, k, j] - m)
            lse = m + K(m, math.log(total))
            for k in range(n):
                out[o, k, j] = x[o, k, j] - lse
        else:
            for k in range(n):
                e = fexp(x[o, k, j] - m)
                out[o, k, j] = e
                total += e
            inv = K(m, 1.0 / total)
            for k in range(n):
                out[o, k, j] = out[o, k, j] * inv


@njit(**_JIT)
def _softmax3_backward(g, y, out, log):
    outer, n, inner = y.shape
    for r in prange(outer * inner):
        o = r // inner
        j = r - o * inner
        total = 0.0
        if log:  # dx = g - exp(y) * sum(g)
            for k in range(n):
                total += g[o, k, j]
            t = K(y[o, 0, j], total)
            for k in range(n):
                out[o, k, j] = g[o, k, j] - fexp(y[o, k, j]) * t
        else:  # dx = y * (g - sum(g * y))
            for k in range(n):
                total += g[o, k, j] * y[o, k, j]
            t = K(y[o, 0, j], total)
            for k in range(n):
                out[o, k, j] = y[o, k, j] * (g[o, k, j] - t)


# Rows (inner == 1, the softmax of a last axis): each row is contiguous, and its
# reductions run in LANES independent float64 partial sums (lane l takes elements
# l, l + LANES, ...), added up in lane order at the end. The order is fixed, so results
# do not depend on the thread count, and the lane loop vectorises (a single running
# sum cannot: IEEE addition is not reassociated). Small calls run serially: a parallel
# region costs more than the work below about 16 rows of 1000.
LANES = 16
_SERIAL_BELOW = 1 << 14  # elements (measured crossover: 16 rows of 1000)


@njit(inline="always")
def _row_max(xr):
    n = xr.size
    nb = n // LANES
    mx = np.empty(LANES, dtype=xr.dtype)
    for lane in range(LANES):
        mx[lane] = xr[0]
    for b in range(nb):
        for lane in range(LANES):
            v = xr[b * LANES + lane]
            mx[lane] = v if v > mx[lane] else mx[lane]  # NaN reaches the result via the sum
    m = mx[0]
    for lane in range(1, LANES):
        m = mx[lane] if mx[lane] > m else m
    for k in range(nb * LANES, n):
        m = xr[k] if xr[k] > m else m
    return m


@njit(inline="always")
def _lane_total(acc):
    total = acc[0]
    for lane in range(1, LANES):
        total += acc[lane]
    return total


@njit(inline="always")
def _softmax_row(xr, outr, log):
    # simple passes (max, exp into outr, lane sum, normalise): each one vectorises
    n = xr.size
    nb = n // LANES
    m = _row_max(xr)
    for k in range(n):
        outr[k] = fexp(xr[k] - m)
    acc = np.zeros(LANES, dtype=np.float64)
    for b in range(nb):
        for lane in range(LANES):
            acc[lane] += outr[b * LANES + lane]
    for k in range(nb * LANES, n):
        acc[k - nb * LANES] += outr[k]
    total = _lane_total(acc)  # NaN if the row holds a NaN (or +inf - +inf): all NaN
    if log:
        lse = m + K(m, math.log(total))
        for k in range(n):
            outr[k] = xr[k] - lse
    else:
        inv = K(m, 1.0 / total)
        for k in range(n):
            outr[k] = outr[k] * inv


@njit(inline="always")
def _softmax_row_backward(gr, yr, outr, log):
    n = yr.size
    nb = n // LANES
    acc = np.zeros(LANES, dtype=np.float64)
    for b in range(nb):
        for lane in range(LANES):
            i = b * LANES + lane
            acc[lane] += gr[i] if log else gr[i] * yr[i]
    for k in range(nb * LANES, n):
        acc[k - nb * LANES] += gr[k] if log else gr[k] * yr[k]
    t = K(yr[0], _lane_total(acc))
    if log:  # dx = g - exp(y) * sum(g)
        for k in range(n):
            outr[k] = gr[k] - fexp(yr[k]) * t
    else:  # dx = y * (g - sum(g * y))
        for k in range(n):
            outr[k] = yr[k] * (gr[k] - t)


@njit(**_JIT)
def _softmax_rows(x, out, log):
    for r in prange(x.shape[0]):
        _softmax_row(x[r], out[r], log)


@njit(cache=True, error_model="numpy")
def _softmax_rows_serial(x, out, log):
    for r in range(x.shape[0]):
        _softmax_row(x[r], out[r], log)


@njit(**_JIT)
def _softmax_rows_backward(g, y, out, log):
    for r in prange(y.shape[0]):
        _softmax_row_backward(g[r], y[r], out[r], log)


@njit(cache=True, error_model="numpy")
def _softmax_rows_backward_serial(g, y, out, log):
    for r in range(y.shape[0]):
        _softmax_row_backward(g[r], y[r], out[r], log)


def _rows(a3):
    return a3.reshape(a3.shape[0], a3.shape[1])  # a C-contiguous view: rows vectorise


def softmax(x3: np.ndarray, out3: np.ndarray, log: bool) -> None:
    """(Log-)softmax over axis 1 of ``(outer, n, inner)`` arrays, ``n >= 1``."""
    if x3.shape[2] != 1:
        _softmax3(x3, out3, log)
    else:
        kernel = _softmax_rows_serial if x3.size < _SERIAL_BELOW else _softmax_rows
        kernel(_rows(x3), _rows(out3), log)


def softmax_backward(g3: np.ndarray, y3: np.ndarray, out3: np.ndarray, log: bool) -> None:
    """VJP of (log-)softmax over axis 1, from its output ``y3`` and ``grad_output`` ``g3``."""
    if y3.shape[2] != 1:
        _softmax3_backward(g3, y3, out3, log)
    else:
        kernel = (_softmax_rows_backward_serial if y3.size < _SERIAL_BELOW
                  else _softmax_rows_backward)
        kernel(_rows(g3), _rows(y3), _rows(out3), log)

