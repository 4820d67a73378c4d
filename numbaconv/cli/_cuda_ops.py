"""The demo's own CUDA kernels: what the networks of :mod:`numbaconv.cli.nets` need on a GPU
beyond numbaconv (an elementwise product, the Adam update, zeros). Imported only by
``Device('cuda')``."""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false

from __future__ import annotations

import math

from numbaconv.cuda._target import cuda
from numbaconv.cuda.common import grid_1d


@cuda.jit(cache=False)
def _mul(a, b, out):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, out.shape[0], step):
        out[i] = a[i] * b[i]


@cuda.jit(cache=False)
def _adam(p, g, m, v, lr, b1, b2, eps, c1, c2):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, p.shape[0], step):
        gi = g[i]
        mi = b1 * m[i] + (1 - b1) * gi
        vi = b2 * v[i] + (1 - b2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr * (mi / c1) / (math.sqrt(vi / c2) + eps)


@cuda.jit(cache=False)
def _fill0(a):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, a.shape[0], step):
        a[i] = 0


def mul(a, b):
    """``a * b`` elementwise, on the device."""
    out = cuda.device_array(a.shape, dtype=a.dtype)
    if a.size:
        _mul[grid_1d(a.size)](a.reshape(a.size), b.reshape(b.size), out.reshape(out.size))
    return out


def adam(p, g, m, v, lr, b1, b2, eps, c1, c2) -> None:
    """One Adam step on the device array ``p`` in place."""
    _adam[grid_1d(p.size)](p.reshape(p.size), g.reshape(g.size), m.reshape(m.size),
                           v.reshape(v.size), lr, b1, b2, eps, c1, c2)


def zeros_like(a):
    """A zero-filled device array of ``a``'s shape and dtype."""
    out = cuda.device_array(a.shape, dtype=a.dtype)
    if out.size:
        _fill0[grid_1d(out.size)](out.reshape(out.size))
    return out
