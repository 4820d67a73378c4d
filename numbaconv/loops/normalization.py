"""Batch normalisation's per-element and per-channel formulas, written once for both twins.

Each function is a ``register_jitable`` helper: the CPU kernels of
:mod:`numbaconv.cpu.normalization` and the CUDA kernels of
:mod:`numbaconv.cuda.normalization` call the same source, so both backends
round the same operations in the same order. Everything is float64: the
statistics are float64, and a float32 element is widened, normalised and
rounded once when stored.

``weight`` and ``bias`` are float64 ``(C,)`` arrays, or empty arrays meaning
"no affine weight" (1) and "no bias" (0): one kernel signature serves both.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable


@register_jitable
def channel_scale(var, weight, eps, c):
    """``(weight[c] / sqrt(var[c] + eps), 1 / sqrt(var[c] + eps))`` for channel ``c``."""
    invstd = 1.0 / math.sqrt(var[c] + eps)
    w = weight[c] if weight.shape[0] > 0 else 1.0
    return w * invstd, invstd


@register_jitable
def channel_shift(bias, c):
    """The bias of channel ``c`` (0 without a bias)."""
    return bias[c] if bias.shape[0] > 0 else 0.0


@register_jitable
def normalized(x, mean, scale, shift):
    """One output element: ``(x - mean) * scale + shift`` in float64."""
    return (x - mean) * scale + shift


@register_jitable
def input_grad(g, x, mean, scale, mean_g, k):
    """One element of the input gradient in training mode.

    ``scale * (g - mean(g) - (x - mean) * k)`` with ``k = sum(g * (x - mean)) / (n var_eps)``:
    the derivative of the batch statistics included.
    """
    return scale * (g - mean_g - (x - mean) * k)


@register_jitable
def running_update(old, new, momentum):
    """PyTorch's update of a running statistic: ``momentum * new + (1 - momentum) * old``."""
    return momentum * new + (1.0 - momentum) * old
