"""CUDA batch-normalisation kernels: the twins of :mod:`numbaconv.cpu.normalization`.

Same launchers, same signatures, the same float64 formulas
(:mod:`numbaconv.loops.normalization`). Reductions run one thread block per channel:
each thread sums a fixed stride of the channel's values in float64, then the block adds
the threads' sums in a fixed tree in shared memory, so results are deterministic (the
order differs from the CPU's lanes: the two agree to float64 rounding, not bitwise).
Elementwise passes are grid-stride loops, one thread per element.
"""

# Numba CUDA kernels: pyright reads @cuda.jit functions, the CUDA intrinsics (cuda.grid,
# cuda.local.array, cuda.threadIdx, ...) and numba.cuda's unannotated signatures as plain
# Python, so kernel[blocks, threads](...) launches and intrinsic calls are false positives
# under these rules:
# pyright: reportCallIssue=false, reportIndexIssue=false, reportArgumentType=false, reportOptionalSubscript=false

from __future__ import annotations

import math

import numpy as np

from ..loops.normalization import (
    channel_scale,
    channel_shift,
    input_grad,
    normalized,
    running_update,
)
from ._target import cuda
from .common import THREADS, grid_1d

_float64 = np.float64


def _blocks(channels: int) -> tuple[int, int]:
    """One block of :data:`THREADS` threads per channel (grid-stride beyond the grid limit)."""
    return max(1, min(channels, 65535)), THREADS


@cuda.jit(device=True)
def _block_total(sh, tid):
    """Sum ``sh[0:THREADS]`` in a fixed tree; every thread gets the total."""
    cuda.syncthreads()
    s = THREADS // 2
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
        cuda.syncthreads()
        s //= 2
    total = sh[0]
    cuda.syncthreads()
    return total


@cuda.jit(cache=False)
def _stats(x, mean, var, outer, nc, inner):  # x: flat (outer, C, inner)
    sh = cuda.shared.array(THREADS, dtype=_float64)
    tid = cuda.threadIdx.x
    count = outer * inner
    for c in range(cuda.blockIdx.x, nc, cuda.gridDim.x):
        acc = 0.0
        for j in range(tid, count, THREADS):
            o = j // inner
            acc += x[(o * nc + c) * inner + j - o * inner]
        sh[tid] = acc
        m = _block_total(sh, tid) / count
        acc = 0.0
        for j in range(tid, count, THREADS):
            o = j // inner
            d = x[(o * nc + c) * inner + j - o * inner] - m
            acc += d * d
        sh[tid] = acc
        v = _block_total(sh, tid) / count
        if tid == 0:
            mean[c] = m
            var[c] = v


def batch_stats(x3, mean, var) -> None:
    """Per channel of ``x3`` (outer, C, inner): ``mean`` and biased ``var`` (float64, (C,))."""
    outer, nc, inner = x3.shape
    _stats[_blocks(nc)](x3.reshape(x3.size), mean, var, outer, nc, inner)


@cuda.jit(cache=False)
def _update(running_mean, running_var, mean, var, momentum, unbias):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for c in range(start, mean.shape[0], step):
        running_mean[c] = running_update(_float64(running_mean[c]), mean[c], momentum)
        running_var[c] = running_update(_float64(running_var[c]), var[c] * unbias, momentum)


def update_running(running_mean, running_var, mean, var, momentum: float, count: int) -> None:
    """PyTorch's in-place update: the running variance takes the unbiased batch variance."""
    _update[grid_1d(mean.shape[0])](running_mean, running_var, mean, var, float(momentum),
                                   count / (count - 1.0))


@cuda.jit(cache=False)
def _normalize(x, mean, var, weight, bias, eps, out, nc, inner):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.shape[0], step):
        c = (i // inner) % nc
        scale = channel_scale(var, weight, eps, c)[0]
        out[i] = normalized(_float64(x[i]), mean[c], scale, channel_shift(bias, c))


def normalize(x3, mean, var, weight, bias, eps: float, out3) -> None:
    """``out3 = (x3 - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1)."""
    if x3.size:
        _normalize[grid_1d(x3.size)](x3.reshape(x3.size), mean, var, weight, bias, float(eps),
                                     out3.reshape(out3.size), x3.shape[1], x3.shape[2])


@cuda.jit(cache=False)
def _sums(g, x, mean, sum_g, sum_gx, outer, nc, inner, products):
    sh = cuda.shared.array(THREADS, dtype=_float64)
    tid = cuda.threadIdx.x
    count = outer * inner
    for c in range(cuda.blockIdx.x, nc, cuda.gridDim.x):
        acc = 0.0
        for j in range(tid, count, THREADS):
            o = j // inner
            acc += g[(o * nc + c) * inner + j - o * inner]
        sh[tid] = acc
        tg = _block_total(sh, tid)
        if tid == 0:
            sum_g[c] = tg
        if products:
            m = mean[c]
            acc = 0.0
            for j in range(tid, count, THREADS):
                o = j // inner
                k = (o * nc + c) * inner + j - o * inner
                acc += _float64(g[k]) * (_float64(x[k]) - m)
            sh[tid] = acc
            tgx = _block_total(sh, tid)
            if tid == 0:
                sum_gx[c] = tgx


def channel_sum(g3, total) -> None:
    """``total[c] = sum of g3[:, c, :]`` (float64, (C,))."""
    outer, nc, inner = g3.shape
    flat = g3.reshape(g3.size)
    _sums[_blocks(nc)](flat, flat, total, total, total, outer, nc, inner, False)


def backward_sums(g3, x3, mean, sum_g, sum_gx) -> None:
    """Per channel: ``sum_g = sum(g)``, ``sum_gx = sum(g * (x - mean))`` (float64, (C,))."""
    outer, nc, inner = x3.shape
    _sums[_blocks(nc)](g3.reshape(g3.size), x3.reshape(x3.size), mean, sum_g, sum_gx,
                       outer, nc, inner, True)


def backward_stats(g3, x3, mean, var, sum_g, sum_gx) -> None:
    """A training backward's reductions: :func:`batch_stats`, then :func:`backward_sums`
    about the batch mean (the host fuses them into one pass over each block of ``x`` about
    its first value; a GPU block reduces a channel either way)."""
    batch_stats(x3, mean, var)
    backward_sums(g3, x3, mean, sum_g, sum_gx)


@cuda.jit(cache=False)
def _input_grad(g, x, mean, var, weight, sum_g, sum_gx, eps, count, training, out, nc, inner):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, x.shape[0], step):
        c = (i // inner) % nc
        scale, invstd = channel_scale(var, weight, eps, c)
        if training:
            out[i] = input_grad(_float64(g[i]), _float64(x[i]), mean[c], scale,
                                sum_g[c] / count, sum_gx[c] * invstd * invstd / count)
        else:
            out[i] = _float64(g[i]) * scale


def backward_input(g3, x3, mean, var, weight, sum_g, sum_gx, eps: float, training: bool,
                   out3) -> None:
    """The input gradient: through the batch statistics (``training``) or the fixed ones."""
    if x3.size:
        _input_grad[grid_1d(x3.size)](g3.reshape(g3.size), x3.reshape(x3.size), mean, var,
                                      weight, sum_g, sum_gx, float(eps),
                                      float(x3.shape[0] * x3.shape[2]), bool(training),
                                      out3.reshape(out3.size), x3.shape[1], x3.shape[2])


@cuda.jit(cache=False)
def _channel_grads(sum_g, sum_gx, var, eps, grad_weight, grad_bias):
    start, step = cuda.grid(1), cuda.gridsize(1)
    for c in range(start, grad_weight.shape[0], step):
        grad_weight[c] = sum_gx[c] / math.sqrt(var[c] + eps)
    for c in range(start, grad_bias.shape[0], step):
        grad_bias[c] = sum_g[c]


def channel_grads(sum_g, sum_gx, var, eps: float, grad_weight, grad_bias) -> None:
    """``grad_weight = sum_gx / sqrt(var + eps)``, ``grad_bias = sum_g``, cast to their dtype;
    an empty ``grad_weight`` or ``grad_bias`` is skipped."""
    n = max(grad_weight.shape[0], grad_bias.shape[0], 1)
    _channel_grads[grid_1d(n)](sum_g, sum_gx, var, float(eps), grad_weight, grad_bias)
