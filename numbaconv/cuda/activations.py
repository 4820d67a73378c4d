"""CUDA activation kernels: the twins of :mod:`numbaconv.cpu.activations`.

The same scalar formulas (:mod:`numbaconv.scalar.activations`), compiled as
``cuda.jit(device=True)`` functions, inside grid-stride kernels made by a
factory keyed by the formula. Same launcher names and signatures as the CPU
module, same semantics: NaN in gives NaN out; softmax and the PReLU weight
gradient reduce each slice serially in float64, in the CPU's order.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..scalar.activations import ELEMENTWISE, K, fexp
from ._target import cuda
from .common import grid_1d
from .memory import empty as device_empty
from .memory import zeros as device_zeros


@functools.cache
def _device(f):
    return cuda.jit(device=True)(f)


@functools.cache
def _engine(f, df):
    fd, dd = _device(f), _device(df)

    @cuda.jit(cache=False)
    def kernel(x, out, dout, a, b, mode):  # mode 0: f, 1: f', 2: both
        start, step = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.shape[0], step):
            xi = x[i]
            if mode == 1:
                d = dd(xi, a, b)
                out[i] = d if xi == xi else xi
            else:
                v = fd(xi, a, b)
                out[i] = v if xi == xi else xi  # NaN in, NaN out
                if mode == 2:
                    d = dd(xi, a, b)
                    dout[i] = d if xi == xi else xi

    return kernel


def _run(name, x, out, dout, a, b, mode):
    if x.size:
        spec = ELEMENTWISE[name]
        flat = out.reshape(out.size)
        _engine(spec.forward, spec.derivative)[grid_1d(x.size)](
            x.reshape(x.size), flat, flat if dout is None else dout.reshape(dout.size), a, b, mode)


def elementwise(name: str, x, out, a, b) -> None:
    """``out = f(x)`` for the activation ``name``; ``a``, ``b``: its parameters in ``x``'s dtype."""
    _run(name, x, out, None, a, b, 0)


def elementwise_derivative(name: str, x, out, a, b) -> None:
    """``out = f'(x)`` for the activation ``name``."""
    _run(name, x, out, None, a, b, 1)


def elementwise_and_derivative(name: str, x, out, dout, a, b) -> None:
    """``out = f(x)`` and ``dout = f'(x)`` in one pass over ``x``."""
    _run(name, x, out, dout, a, b, 2)


@functools.cache
def _channel(f, df):
    fd, dd = _device(f), _device(df)

    @cuda.jit(cache=False)
    def kernel(x, w, out, inner, nc, mode):  # flat (outer, C, inner) arrays; w: (C,)
        start, step = cuda.grid(1), cuda.gridsize(1)
        for i in range(start, x.shape[0], step):
            a = w[(i // inner) % nc]
            xi = x[i]
            v = dd(xi, a, a) if mode == 1 else fd(xi, a, a)
            out[i] = v if xi == xi else xi

    return kernel


def channelwise(name: str, derivative: bool, x3, w, out3) -> None:
    """PReLU-style: ``out3[o, c, j] = f(x3[o, c, j], w[c])`` (or f') on ``(outer, C, inner)``."""
    if x3.size:
        spec = ELEMENTWISE[name]
        _channel(spec.forward, spec.derivative)[grid_1d(x3.size)](
            x3.reshape(x3.size), w, out3.reshape(out3.size), x3.shape[2], x3.shape[1],
            1 if derivative else 0)


@cuda.jit(cache=False)
def _prelu_weight_partial(g, x, partial):  # (outer, C, inner) -> partial (outer, C) float64
    start, step = cuda.grid(1), cuda.gridsize(1)
    outer, nc, inner = x.shape
    for r in range(start, outer * nc, step):
        o = r // nc
        ch = r - o * nc
        acc = 0.0
        for j in range(inner):
            xi = x[o, ch, j]
            if not xi > 0:
                acc += g[o, ch, j] * xi
        partial[o, ch] = acc


@cuda.jit(cache=False)
def _sum_rows(partial, out):  # out[c] = sum over o of partial[o, c], serially in o
    start, step = cuda.grid(1), cuda.gridsize(1)
    for ch in range(start, out.shape[0], step):
        acc = partial[0, ch]
        for o in range(1, partial.shape[0]):
            acc += partial[o, ch]
        out[ch] = acc


def prelu_weight(g3, x3, out) -> None:
    """``out[c] = sum over (o, j) of g3 * x3 where x3 <= 0`` (fixed order, float64 sums)."""
    outer, nc = x3.shape[0], x3.shape[1]
    partial = device_zeros((max(outer, 1), nc), np.float64)
    total = device_empty((nc,), np.float64)
    if x3.size:
        _prelu_weight_partial[grid_1d(outer * nc)](g3, x3, partial)
    _sum_rows[grid_1d(nc)](partial, total)
    _cast[grid_1d(nc)](total, out)


@cuda.jit(cache=False)
def _cast(src, dst):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, dst.shape[0], step):
        dst[i] = src[i]


# --------------------------------------------------------------------------- softmax


@cuda.jit(cache=False)
def _softmax3(x, out, log):
    start, step = cuda.grid(1), cuda.gridsize(1)
    outer, n, inner = x.shape
    for r in range(start, outer * inner, step):
        o = r // inner
        j = r - o * inner
        m = x[o, 0, j]
        for k in range(1, n):
            v = x[o, k, j]
            if v > m or v != v:
                m = v
        if m != m:
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


@cuda.jit(cache=False)
def _softmax3_backward(g, y, out, log):
    start, step = cuda.grid(1), cuda.gridsize(1)
    outer, n, inner = y.shape
    for r in range(start, outer * inner, step):
        o = r // inner
        j = r - o * inner
        total = 0.0
        if log:
            for k in range(n):
                total += g[o, k, j]
            t = K(y[o, 0, j], total)
            for k in range(n):
                out[o, k, j] = g[o, k, j] - fexp(y[o, k, j]) * t
        else:
            for k in range(n):
                total += g[o, k, j] * y[o, k, j]
            t = K(y[o, 0, j], total)
            for k in range(n):
                out[o, k, j] = y[o, k, j] * (g[o, k, j] - t)


def softmax(x3, out3, log: bool) -> None:
    """(Log-)softmax over axis 1 of ``(outer, n, inner)`` device arrays, ``n >= 1``."""
    _softmax3[grid_1d(x3.shape[0] * x3.shape[2])](x3, out3, log)


def softmax_backward(g3, y3, out3, log: bool) -> None:
    """VJP of (log-)softmax over axis 1, from its output ``y3`` and ``grad_output`` ``g3``."""
    _softmax3_backward[grid_1d(y3.shape[0] * y3.shape[2])](g3, y3, out3, log)
