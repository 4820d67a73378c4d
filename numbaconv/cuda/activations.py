"""CUDA activation kernels: the twins of :mod:`numbaconv.cpu.activations`.

Same launcher names and signatures as the CPU module, same semantics: NaN in
gives NaN out; ``<name>_backward`` is ``g * f'(x)``; softmax and the PReLU
weight gradient reduce each slice serially in float64, in the CPU's order (the CPU's bits
but for FMA rounding: NVVM fuses ``a * b + c``, docs/semantics.md).

Elementwise kernels are grid-stride loops around the scalar formulas of
:mod:`numbaconv.scalar.activations`, one kernel per form (f, f', both, the VJP)
and formula, made on first use by a cached factory: CUDA kernels are compiled
per process (``cache=False``), so there is no on-disk cache entry to miss, and
one kernel per form keeps a call from compiling forms it does not run.
Parameters arrive as floats and are cast to the array's dtype in the kernel.
Softmax kernels run one slice per thread through the loop bodies the CPU
kernels share (:mod:`numbaconv.loops.activations`), with one-element scratch.
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false

from __future__ import annotations

import functools

import numpy as np
from numba import float64

from ..loops.activations import (
    log_softmax_backward_slices,
    log_softmax_slices,
    prelu_weight_row,
    softmax_backward_slices,
    softmax_slices,
)
from ..scalar.activations import ELEMENTWISE, K_like
from ._target import cuda
from .common import grid_1d
from .memory import empty as device_empty
from .memory import zeros as device_zeros


@functools.cache
def _device(f):
    return cuda.jit(device=True)(f)


def _ab(params: tuple) -> tuple[float, float]:
    """A formula's ``(a, b)`` from its 0 to 2 parameters."""
    a, b = (*params, 0.0, 0.0)[:2]
    return float(a), float(b)


@functools.cache
def _forward_kernel(f):
    fd = _device(f)

    @cuda.jit(cache=False)
    def kernel(x, out, a, b):
        start, step = cuda.grid(1), cuda.gridsize(1)
        ta, tb = K_like(x, a), K_like(x, b)
        for i in range(start, x.shape[0], step):
            xi = x[i]
            v = fd(xi, ta, tb)
            out[i] = v if xi == xi else xi  # NaN in, NaN out

    return kernel


@functools.cache
def _both_kernel(f, df):
    fd, dd = _device(f), _device(df)

    @cuda.jit(cache=False)
    def kernel(x, out, dout, a, b):
        start, step = cuda.grid(1), cuda.gridsize(1)
        ta, tb = K_like(x, a), K_like(x, b)
        for i in range(start, x.shape[0], step):
            xi = x[i]
            v = fd(xi, ta, tb)
            d = dd(xi, ta, tb)
            out[i] = v if xi == xi else xi
            dout[i] = d if xi == xi else xi

    return kernel


@functools.cache
def _backward_kernel(df):
    dd = _device(df)

    @cuda.jit(cache=False)
    def kernel(g, x, out, a, b):
        start, step = cuda.grid(1), cuda.gridsize(1)
        ta, tb = K_like(x, a), K_like(x, b)
        for i in range(start, x.shape[0], step):
            xi = x[i]
            d = dd(xi, ta, tb)
            out[i] = g[i] * d if xi == xi else xi

    return kernel


def forward(name: str, x, out, params: tuple) -> None:
    """``out = f(x)`` for the activation kernel ``name`` (flat device arrays)."""
    if x.size:
        _forward_kernel(ELEMENTWISE[name].forward)[grid_1d(x.size)](x, out, *_ab(params))


def derivative(name: str, x, out, params: tuple) -> None:
    """``out = f'(x)``."""
    if x.size:  # the derivative is a forward kernel of the derivative's formula
        _forward_kernel(ELEMENTWISE[name].derivative)[grid_1d(x.size)](x, out, *_ab(params))


def forward_and_derivative(name: str, x, out, dout, params: tuple) -> None:
    """``out = f(x)`` and ``dout = f'(x)`` in one pass over ``x``."""
    if x.size:
        spec = ELEMENTWISE[name]
        _both_kernel(spec.forward, spec.derivative)[grid_1d(x.size)](x, out, dout,
                                                                     *_ab(params))


def backward(name: str, g, x, out, params: tuple) -> None:
    """``out = g * f'(x)`` in one pass."""
    if x.size:
        _backward_kernel(ELEMENTWISE[name].derivative)[grid_1d(x.size)](g, x, out,
                                                                         *_ab(params))


# --------------------------------------------------------------------------- PReLU
# flat arrays seen as (outer, C, inner): element i has the slope w[(i // inner) % C]


@functools.cache
def _prelu_kernel(f):
    fd = _device(f)

    @cuda.jit(cache=False)
    def kernel(x, w, out, inner):
        start, step = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.shape[0], step):
            a = w[(i // inner) % w.shape[0]]
            xi = x[i]
            v = fd(xi, a, a)
            out[i] = v if xi == xi else xi

    return kernel


@functools.cache
def _prelu_both_kernel(f, df):
    fd, dd = _device(f), _device(df)

    @cuda.jit(cache=False)
    def kernel(x, w, out, dout, inner):
        start, step = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.shape[0], step):
            a = w[(i // inner) % w.shape[0]]
            xi = x[i]
            v = fd(xi, a, a)
            d = dd(xi, a, a)
            out[i] = v if xi == xi else xi
            dout[i] = d if xi == xi else xi

    return kernel


@functools.cache
def _prelu_backward_kernel(df):
    dd = _device(df)

    @cuda.jit(cache=False)
    def kernel(g, x, w, out, inner):
        start, step = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.shape[0], step):
            a = w[(i // inner) % w.shape[0]]
            xi = x[i]
            d = dd(xi, a, a)
            out[i] = g[i] * d if xi == xi else xi

    return kernel


def prelu(x, w, out, inner: int) -> None:
    """PReLU of flat device arrays seen as ``(outer, C, inner)`` rows (slopes ``w``)."""
    if x.size:
        _prelu_kernel(ELEMENTWISE["leaky_relu"].forward)[grid_1d(x.size)](x, w, out,
                                                                           max(inner, 1))


def prelu_derivative(x, w, out, inner: int) -> None:
    """``out = 1 if x > 0 else w``, as :func:`prelu`."""
    if x.size:
        _prelu_kernel(ELEMENTWISE["leaky_relu"].derivative)[grid_1d(x.size)](x, w, out,
                                                                              max(inner, 1))


def prelu_and_derivative(x, w, out, dout, inner: int) -> None:
    """:func:`prelu` and :func:`prelu_derivative` in one pass."""
    if x.size:
        spec = ELEMENTWISE["leaky_relu"]
        _prelu_both_kernel(spec.forward, spec.derivative)[grid_1d(x.size)](x, w, out, dout,
                                                                           max(inner, 1))


def prelu_backward(g, x, w, out, inner: int) -> None:
    """``out = g * prelu_derivative`` (the VJP for ``x``)."""
    if x.size:
        _prelu_backward_kernel(ELEMENTWISE["leaky_relu"].derivative)[grid_1d(x.size)](
            g, x, w, out, max(inner, 1))


@cuda.jit(cache=False)
def _prelu_weight_partial(g, x, partial):  # (outer, C, inner) -> partial (outer, C) float64
    start, step = cuda.grid(1), cuda.gridsize(1)
    outer, nc = x.shape[0], x.shape[1]
    for r in range(start, outer * nc, step):
        o = r // nc
        ch = r - o * nc
        partial[o, ch] = prelu_weight_row(g, x, o, ch)


@cuda.jit(cache=False)
def _sum_rows(partial, out):  # out[c] = sum over o of partial[o, c], serially in o
    start, step = cuda.grid(1), cuda.gridsize(1)
    for ch in range(start, out.shape[0], step):
        acc = partial[0, ch]
        for o in range(1, partial.shape[0]):
            acc += partial[o, ch]
        out[ch] = acc


@cuda.jit(cache=False)
def _cast(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dst.shape[0], step):
        dst[i] = src[i]


def prelu_weight(g3, x3, out) -> None:
    """``out[c] = sum over (o, j) of g3 * x3 where x3 <= 0`` (fixed order, float64 sums)."""
    outer, nc = x3.shape[0], x3.shape[1]
    partial = device_zeros((max(outer, 1), nc), np.float64)
    total = device_empty((nc,), np.float64)
    if x3.size:
        _prelu_weight_partial[grid_1d(outer * nc)](g3, x3, partial)
    _sum_rows[grid_1d(nc)](partial, total)
    _cast[grid_1d(nc)](total, out)


# --------------------------------------------------------------------------- softmax
# one thread per slice (o, j) of the (outer, n, inner) view, through the shared loops


@cuda.jit(cache=False)
def _softmax(x3, out3):
    start, step = cuda.grid(1), cuda.gridsize(1)
    inner = x3.shape[2]
    m = cuda.local.array(1, float64)
    s = cuda.local.array(1, float64)
    for r in range(start, x3.shape[0] * inner, step):
        o = r // inner
        softmax_slices(x3, out3, o, r - o * inner, r - o * inner + 1, m, s)


@cuda.jit(cache=False)
def _log_softmax(x3, out3):
    start, step = cuda.grid(1), cuda.gridsize(1)
    inner = x3.shape[2]
    m = cuda.local.array(1, float64)
    s = cuda.local.array(1, float64)
    for r in range(start, x3.shape[0] * inner, step):
        o = r // inner
        log_softmax_slices(x3, out3, o, r - o * inner, r - o * inner + 1, m, s)


@cuda.jit(cache=False)
def _softmax_backward(g3, y3, out3):
    start, step = cuda.grid(1), cuda.gridsize(1)
    inner = y3.shape[2]
    s = cuda.local.array(1, float64)
    for r in range(start, y3.shape[0] * inner, step):
        o = r // inner
        softmax_backward_slices(g3, y3, out3, o, r - o * inner, r - o * inner + 1, s)


@cuda.jit(cache=False)
def _log_softmax_backward(g3, y3, out3):
    start, step = cuda.grid(1), cuda.gridsize(1)
    inner = y3.shape[2]
    s = cuda.local.array(1, float64)
    for r in range(start, y3.shape[0] * inner, step):
        o = r // inner
        log_softmax_backward_slices(g3, y3, out3, o, r - o * inner, r - o * inner + 1, s)


def softmax(x, out, outer: int, n: int, inner: int) -> None:
    """Softmax over axis 1 of flat device arrays seen as ``(outer, n, inner)``, ``n >= 1``."""
    s3 = (outer, n, inner)
    _softmax[grid_1d(outer * inner)](x.reshape(s3), out.reshape(s3))


def log_softmax(x, out, outer: int, n: int, inner: int) -> None:
    """Log-softmax over axis 1."""
    s3 = (outer, n, inner)
    _log_softmax[grid_1d(outer * inner)](x.reshape(s3), out.reshape(s3))


def softmax_backward(g, y, out, outer: int, n: int, inner: int) -> None:
    """VJP of softmax over axis 1, from its output ``y`` and ``grad_output`` ``g``."""
    s3 = (outer, n, inner)
    _softmax_backward[grid_1d(outer * inner)](g.reshape(s3), y.reshape(s3), out.reshape(s3))


def log_softmax_backward(g, y, out, outer: int, n: int, inner: int) -> None:
    """VJP of log-softmax over axis 1, from its output ``y`` and ``grad_output`` ``g``."""
    s3 = (outer, n, inner)
    _log_softmax_backward[grid_1d(outer * inner)](g.reshape(s3), y.reshape(s3),
                                                  out.reshape(s3))
