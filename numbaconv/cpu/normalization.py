"""CPU batch-normalisation kernels: per-channel float64 statistics, elementwise passes.

Arrays arrive as ``(outer, C, inner)`` views (see :mod:`numbaconv.core.normalization`):
channel ``c`` is the ``outer`` runs ``x3[o, c, :]``, each contiguous.

*Reductions* (the batch mean and variance, the backward sums) are split into fixed work
items: channel ``c`` x a block of :func:`_rows_per_item` rows of ``outer``. Each item sums its
runs in :data:`LANES` float64 partial sums (element ``k`` of a run goes to lane ``k %
LANES``; the lanes vectorise where a single running sum could not), the lanes are added in
order, and the items of a channel are added in block order. The split depends on the shape
alone, so results are bitwise identical whatever the thread count, and the serial path
(below :data:`SERIAL_BELOW` elements) runs the same items in the same order. The variance
is two-pass (mean first, then the squared deviations): no cancellation.

*Elementwise passes* (normalise, input gradient) run over the ``outer * C`` runs, each
with its channel's float64 coefficients, in float64, rounded once when stored.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..loops.normalization import (
    channel_scale,
    channel_shift,
    input_grad,
    normalized,
    running_update,
)

#: float64 partial sums per run (vectorised lanes; the order is fixed)
LANES = 16
#: elements per reduction work item (fixed by the shape alone)
ITEM_ELEMENTS = 1 << 14
#: below this many elements a call runs on the calling thread (waking the pool costs more)
SERIAL_BELOW = 1 << 15


def _rows_per_item(inner: int) -> int:
    """Rows of ``outer`` in one reduction work item."""
    return max(1, ITEM_ELEMENTS // max(inner, 1))


# ------------------------------------------------------------------------------ run sums


@njit(cache=True, error_model="numpy")
def _add_runs(a3, c, o0, o1, shift):
    """Sum of ``a3[o, c, :] - shift`` over rows ``[o0, o1)``, in lanes, float64."""
    inner = a3.shape[2]
    nb = inner // LANES
    acc = np.zeros(LANES, dtype=np.float64)
    for o in range(o0, o1):
        r = a3[o, c]
        for b in range(nb):
            for lane in range(LANES):
                acc[lane] += np.float64(r[b * LANES + lane]) - shift
        for k in range(nb * LANES, inner):
            acc[k - nb * LANES] += np.float64(r[k]) - shift
    total = acc[0]
    for lane in range(1, LANES):
        total += acc[lane]
    return total


@njit(cache=True, error_model="numpy")
def _add_squares(a3, c, o0, o1, shift):
    """Sum of ``(a3[o, c, :] - shift)**2`` over rows ``[o0, o1)``, in lanes, float64."""
    inner = a3.shape[2]
    nb = inner // LANES
    acc = np.zeros(LANES, dtype=np.float64)
    for o in range(o0, o1):
        r = a3[o, c]
        for b in range(nb):
            for lane in range(LANES):
                d = np.float64(r[b * LANES + lane]) - shift
                acc[lane] += d * d
        for k in range(nb * LANES, inner):
            d = np.float64(r[k]) - shift
            acc[k - nb * LANES] += d * d
    total = acc[0]
    for lane in range(1, LANES):
        total += acc[lane]
    return total


@njit(cache=True, error_model="numpy")
def _add_products(g3, x3, c, o0, o1, shift):
    """Sum of ``g3 * (x3 - shift)`` over the runs of channel ``c``, rows ``[o0, o1)``."""
    inner = x3.shape[2]
    nb = inner // LANES
    acc = np.zeros(LANES, dtype=np.float64)
    for o in range(o0, o1):
        gr = g3[o, c]
        xr = x3[o, c]
        for b in range(nb):
            for lane in range(LANES):
                i = b * LANES + lane
                acc[lane] += np.float64(gr[i]) * (np.float64(xr[i]) - shift)
        for k in range(nb * LANES, inner):
            acc[k - nb * LANES] += np.float64(gr[k]) * (np.float64(xr[k]) - shift)
    total = acc[0]
    for lane in range(1, LANES):
        total += acc[lane]
    return total


@njit(cache=True, error_model="numpy")
def _combine(part, out, count):
    """``out[c] = sum over blocks of part[c, :] / count``, in block order."""
    for c in range(part.shape[0]):
        t = part[c, 0]
        for b in range(1, part.shape[1]):
            t += part[c, b]
        out[c] = t / count


# ------------------------------------------------------------------------------ statistics
# Each reduction is a serial and a parallel kernel over the same work items: item ``it`` is
# channel ``it // nblk``, block ``it % nblk`` of rows, and writes ``part[c, block]``.


@njit(cache=True, error_model="numpy")
def _item_rows(it, nblk, rows, outer):
    c = it // nblk
    blk = it - c * nblk
    o0 = blk * rows
    return c, blk, o0, min(outer, o0 + rows)


@njit(parallel=True, cache=True, error_model="numpy")
def _sums_parallel(a3, part, rows):
    for it in prange(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, a3.shape[0])
        part[c, blk] = _add_runs(a3, c, o0, o1, 0.0)


@njit(cache=True, error_model="numpy")
def _sums_serial(a3, part, rows):
    for it in range(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, a3.shape[0])
        part[c, blk] = _add_runs(a3, c, o0, o1, 0.0)


@njit(parallel=True, cache=True, error_model="numpy")
def _squares_parallel(a3, mean, part, rows):
    for it in prange(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, a3.shape[0])
        part[c, blk] = _add_squares(a3, c, o0, o1, mean[c])


@njit(cache=True, error_model="numpy")
def _squares_serial(a3, mean, part, rows):
    for it in range(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, a3.shape[0])
        part[c, blk] = _add_squares(a3, c, o0, o1, mean[c])


@njit(parallel=True, cache=True, error_model="numpy")
def _products_parallel(g3, x3, mean, part, rows):
    for it in prange(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, x3.shape[0])
        part[c, blk] = _add_products(g3, x3, c, o0, o1, mean[c])


@njit(cache=True, error_model="numpy")
def _products_serial(g3, x3, mean, part, rows):
    for it in range(part.shape[0] * part.shape[1]):
        c, blk, o0, o1 = _item_rows(it, part.shape[1], rows, x3.shape[0])
        part[c, blk] = _add_products(g3, x3, c, o0, o1, mean[c])


def _parts(a3):
    """The partial-sum array of a reduction over ``a3`` and its rows per item."""
    outer, nc, inner = a3.shape
    rows = _rows_per_item(inner)
    return np.empty((nc, max(1, (outer + rows - 1) // rows)), dtype=np.float64), rows


def _sum(a3, out, divide):
    part, rows = _parts(a3)
    (_sums_serial if a3.size < SERIAL_BELOW else _sums_parallel)(a3, part, rows)
    _combine(part, out, divide)


def batch_stats(x3: np.ndarray, mean: np.ndarray, var: np.ndarray) -> None:
    """Per channel of ``x3`` (outer, C, inner): ``mean`` and biased ``var`` (float64, (C,))."""
    count = float(x3.shape[0] * x3.shape[2])
    _sum(x3, mean, count)
    part, rows = _parts(x3)
    (_squares_serial if x3.size < SERIAL_BELOW else _squares_parallel)(x3, mean, part, rows)
    _combine(part, var, count)


@njit(cache=True, error_model="numpy")
def _update(running_mean, running_var, mean, var, momentum, unbias):
    for c in range(mean.shape[0]):
        running_mean[c] = running_update(np.float64(running_mean[c]), mean[c], momentum)
        running_var[c] = running_update(np.float64(running_var[c]), var[c] * unbias, momentum)


def update_running(running_mean: np.ndarray, running_var: np.ndarray, mean: np.ndarray,
                   var: np.ndarray, momentum: float, count: int) -> None:
    """PyTorch's in-place update: the running variance takes the unbiased batch variance."""
    _update(running_mean, running_var, mean, var, float(momentum), count / (count - 1.0))


# ------------------------------------------------------------------------------ elementwise


@njit(cache=True, error_model="numpy")
def _coefficients(mean, var, weight, bias, eps, scale, shift):
    for c in range(mean.shape[0]):
        scale[c] = channel_scale(var, weight, eps, c)[0]
        shift[c] = channel_shift(bias, c)


@njit(cache=True, error_model="numpy")
def _normalize_run(xr, outr, m, s, t):
    for i in range(xr.shape[0]):
        outr[i] = normalized(np.float64(xr[i]), m, s, t)


@njit(parallel=True, cache=True, error_model="numpy")
def _normalize_parallel(x3, mean, scale, shift, out3):
    nc = x3.shape[1]
    for r in prange(x3.shape[0] * nc):
        o = r // nc
        c = r - o * nc
        _normalize_run(x3[o, c], out3[o, c], mean[c], scale[c], shift[c])


@njit(cache=True, error_model="numpy")
def _normalize_serial(x3, mean, scale, shift, out3):
    nc = x3.shape[1]
    for r in range(x3.shape[0] * nc):
        o = r // nc
        c = r - o * nc
        _normalize_run(x3[o, c], out3[o, c], mean[c], scale[c], shift[c])


def normalize(x3: np.ndarray, mean: np.ndarray, var: np.ndarray, weight: np.ndarray,
              bias: np.ndarray, eps: float, out3: np.ndarray) -> None:
    """``out3 = (x3 - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1).

    ``mean``, ``var``, ``weight``, ``bias``: float64 ``(C,)``; an empty ``weight``/``bias``
    means none.
    """
    nc = x3.shape[1]
    scale = np.empty(nc, dtype=np.float64)
    shift = np.empty(nc, dtype=np.float64)
    _coefficients(mean, var, weight, bias, float(eps), scale, shift)
    run = _normalize_serial if x3.size < SERIAL_BELOW else _normalize_parallel
    run(x3, mean, scale, shift, out3)


def channel_sum(g3: np.ndarray, total: np.ndarray) -> None:
    """``total[c] = sum of g3[:, c, :]`` (float64, (C,))."""
    _sum(g3, total, 1.0)


def backward_sums(g3: np.ndarray, x3: np.ndarray, mean: np.ndarray, sum_g: np.ndarray,
                  sum_gx: np.ndarray) -> None:
    """Per channel: ``sum_g = sum(g)``, ``sum_gx = sum(g * (x - mean))`` (float64, (C,))."""
    _sum(g3, sum_g, 1.0)
    part, rows = _parts(x3)
    (_products_serial if x3.size < SERIAL_BELOW else _products_parallel)(g3, x3, mean, part, rows)
    _combine(part, sum_gx, 1.0)


@njit(cache=True, error_model="numpy")
def _input_grad_run(gr, xr, outr, m, s, mg, k, training):
    if training:
        for i in range(gr.shape[0]):
            outr[i] = input_grad(np.float64(gr[i]), np.float64(xr[i]), m, s, mg, k)
    else:
        for i in range(gr.shape[0]):
            outr[i] = np.float64(gr[i]) * s


@njit(cache=True, error_model="numpy")
def _backward_coefficients(var, weight, sum_g, sum_gx, eps, count, scale, mean_g, k):
    for c in range(var.shape[0]):
        s, invstd = channel_scale(var, weight, eps, c)
        scale[c] = s
        mean_g[c] = sum_g[c] / count
        k[c] = sum_gx[c] * invstd * invstd / count


@njit(parallel=True, cache=True, error_model="numpy")
def _input_grad_parallel(g3, x3, mean, scale, mean_g, k, training, out3):
    nc = x3.shape[1]
    for r in prange(x3.shape[0] * nc):
        o = r // nc
        c = r - o * nc
        _input_grad_run(g3[o, c], x3[o, c], out3[o, c], mean[c], scale[c], mean_g[c], k[c],
                        training)


@njit(cache=True, error_model="numpy")
def _input_grad_serial(g3, x3, mean, scale, mean_g, k, training, out3):
    nc = x3.shape[1]
    for r in range(x3.shape[0] * nc):
        o = r // nc
        c = r - o * nc
        _input_grad_run(g3[o, c], x3[o, c], out3[o, c], mean[c], scale[c], mean_g[c], k[c],
                        training)


def backward_input(g3: np.ndarray, x3: np.ndarray, mean: np.ndarray, var: np.ndarray,
                   weight: np.ndarray, sum_g: np.ndarray, sum_gx: np.ndarray, eps: float,
                   training: bool, out3: np.ndarray) -> None:
    """The input gradient: through the batch statistics (``training``) or the fixed ones."""
    nc = x3.shape[1]
    scale = np.empty(nc, dtype=np.float64)
    mean_g = np.empty(nc, dtype=np.float64)
    k = np.empty(nc, dtype=np.float64)
    _backward_coefficients(var, weight, sum_g, sum_gx, float(eps),
                           float(x3.shape[0] * x3.shape[2]), scale, mean_g, k)
    run = _input_grad_serial if x3.size < SERIAL_BELOW else _input_grad_parallel
    run(g3, x3, mean, scale, mean_g, k, bool(training), out3)


@njit(cache=True, error_model="numpy")
def _channel_grads(sum_g, sum_gx, var, eps, grad_weight, grad_bias):
    for c in range(grad_weight.shape[0]):
        grad_weight[c] = sum_gx[c] / math.sqrt(var[c] + eps)
    for c in range(grad_bias.shape[0]):
        grad_bias[c] = sum_g[c]


def channel_grads(sum_g: np.ndarray, sum_gx: np.ndarray, var: np.ndarray, eps: float,
                  grad_weight: np.ndarray, grad_bias: np.ndarray) -> None:
    """``grad_weight = sum_gx / sqrt(var + eps)``, ``grad_bias = sum_g``, cast to their dtype;
    an empty ``grad_weight`` or ``grad_bias`` is skipped."""
    _channel_grads(sum_g, sum_gx, var, float(eps), grad_weight, grad_bias)
