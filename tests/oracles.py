"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------------- activations


# ------------------------------------------------------------------------------------- pooling


# ---------------------------------------------------------------------------------- convolution


# --------------------------------------------------------------------------------------- signal


# --------------------------------------------------------------------------------- normalization


def batch_norm_ref(x, running_mean, running_var, weight=None, bias=None, training=False,
                   momentum=0.1, eps=1e-5):
    """Batch normalisation written out in float64 (PyTorch's definition).

    Returns ``(y, new_running_mean, new_running_var)``; the running statistics are new
    arrays (None when not given), never the arguments.
    """
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    new_mean = new_var = None
    if training:
        n = x.size // c
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
        if running_mean is not None:
            rm = np.asarray(running_mean, dtype=np.float64)
            rv = np.asarray(running_var, dtype=np.float64)
            new_mean = (1 - momentum) * rm + momentum * mean
            new_var = (1 - momentum) * rv + momentum * var * n / (n - 1)
    else:
        mean = np.asarray(running_mean, dtype=np.float64)
        var = np.asarray(running_var, dtype=np.float64)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    b = np.zeros(c) if bias is None else np.asarray(bias, dtype=np.float64)
    y = ((x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + eps) * w.reshape(bshape)
         + b.reshape(bshape))
    return y, new_mean, new_var


def batch_norm_grads_ref(grad_output, x, running_mean, running_var, weight=None,
                         training=False, eps=1e-5):
    """``(grad_input, grad_weight, grad_bias)`` of batch normalisation, written out in float64.

    Training mode differentiates through the batch mean and biased variance:
    ``dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat))``.
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
    else:
        mean = np.asarray(running_mean, dtype=np.float64)
        var = np.asarray(running_var, dtype=np.float64)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    sigma = np.sqrt(var + eps).reshape(bshape)
    xhat = (x - mean.reshape(bshape)) / sigma
    gb = g.sum(axis=axes)
    gw = (g * xhat).sum(axis=axes)
    if training:
        gx = w.reshape(bshape) / sigma * (g - g.mean(axis=axes, keepdims=True)
                                          - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    else:
        gx = g * w.reshape(bshape) / sigma
    return gx, gw, gb
