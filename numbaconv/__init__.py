"""numbaconv: Numba-accelerated convolution, padding, pooling, activations and normalisation.

One NumPy-style API over ``@njit(parallel=True)`` CPU kernels and
``@cuda.jit`` GPU kernels: NumPy arrays in, NumPy arrays out; CUDA arrays
(anything with ``__cuda_array_interface__``) in, CUDA arrays out.

Examples
--------
>>> import numpy as np
>>> import numbaconv as nc
>>> nc.conv_output_size(28, 5, stride=1, padding=2)
28
>>> nc.pad(np.arange(3), 1, mode='edge')
array([0, 0, 1, 2, 2])

Importing numbaconv changes no process-wide setting: the environment, Numba's
threading layer and other libraries' thread pools stay as they were (see
README, "Threads").
"""

from __future__ import annotations

from . import grad, shapes, typing
from .api.activations import (
    celu,
    celu_and_derivative,
    celu_derivative,
    elu,
    elu_and_derivative,
    elu_derivative,
    gelu,
    gelu_and_derivative,
    gelu_derivative,
    hardsigmoid,
    hardsigmoid_and_derivative,
    hardsigmoid_derivative,
    hardswish,
    hardswish_and_derivative,
    hardswish_derivative,
    hardtanh,
    hardtanh_and_derivative,
    hardtanh_derivative,
    identity,
    identity_and_derivative,
    identity_derivative,
    leaky_relu,
    leaky_relu_and_derivative,
    leaky_relu_derivative,
    log_sigmoid,
    log_sigmoid_and_derivative,
    log_sigmoid_derivative,
    log_softmax,
    log_softmax_backward,
    mish,
    mish_and_derivative,
    mish_derivative,
    prelu,
    prelu_and_derivative,
    prelu_derivative,
    relu,
    relu6,
    relu6_and_derivative,
    relu6_derivative,
    relu_and_derivative,
    relu_derivative,
    selu,
    selu_and_derivative,
    selu_derivative,
    sigmoid,
    sigmoid_and_derivative,
    sigmoid_derivative,
    silu,
    silu_and_derivative,
    silu_derivative,
    softmax,
    softmax_backward,
    softplus,
    softplus_and_derivative,
    softplus_derivative,
    softsign,
    softsign_and_derivative,
    softsign_derivative,
    step,
    step_and_derivative,
    step_derivative,
    tanh,
    tanh_and_derivative,
    tanh_derivative,
)
from .api.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .api.normalization import (
    batch_norm,
)
from .api.padding import (
    pad,
)
from .api.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .api.signal import (
    choose_conv_method,
    convolve,
    convolve2d,
    correlate,
    correlate2d,
)
from .shapes import (
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    same_padding,
)

__version__ = "0.1.0"

__all__ = [
    # modules
    "grad",
    "shapes",
    "typing",
    # shapes
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "same_padding",
    # padding
    "pad",
    # signal
    "convolve",
    "correlate",
    "choose_conv_method",
    "convolve2d",
    "correlate2d",
    # conv
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    # pooling
    "max_pool1d",
    "avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_avg_pool1d",
    "max_unpool1d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_max_pool2d",
    "adaptive_avg_pool2d",
    "max_unpool2d",
    "max_pool3d",
    "avg_pool3d",
    "adaptive_max_pool3d",
    "adaptive_avg_pool3d",
    "max_unpool3d",
    # activations
    "prelu",
    "prelu_derivative",
    "prelu_and_derivative",
    "softmax",
    "log_softmax",
    "softmax_backward",
    "log_softmax_backward",
    "identity",
    "identity_derivative",
    "identity_and_derivative",
    "step",
    "step_derivative",
    "step_and_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "sigmoid_and_derivative",
    "tanh",
    "tanh_derivative",
    "tanh_and_derivative",
    "relu",
    "relu_derivative",
    "relu_and_derivative",
    "relu6",
    "relu6_derivative",
    "relu6_and_derivative",
    "leaky_relu",
    "leaky_relu_derivative",
    "leaky_relu_and_derivative",
    "elu",
    "elu_derivative",
    "elu_and_derivative",
    "selu",
    "selu_derivative",
    "selu_and_derivative",
    "celu",
    "celu_derivative",
    "celu_and_derivative",
    "gelu",
    "gelu_derivative",
    "gelu_and_derivative",
    "silu",
    "silu_derivative",
    "silu_and_derivative",
    "mish",
    "mish_derivative",
    "mish_and_derivative",
    "softplus",
    "softplus_derivative",
    "softplus_and_derivative",
    "softsign",
    "softsign_derivative",
    "softsign_and_derivative",
    "hardtanh",
    "hardtanh_derivative",
    "hardtanh_and_derivative",
    "hardsigmoid",
    "hardsigmoid_derivative",
    "hardsigmoid_and_derivative",
    "hardswish",
    "hardswish_derivative",
    "hardswish_and_derivative",
    "log_sigmoid",
    "log_sigmoid_derivative",
    "log_sigmoid_and_derivative",
    # normalization
    "batch_norm",
]
