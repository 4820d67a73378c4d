"""Gradients of every differentiable operation, with PyTorch's ``torch.nn.grad`` signatures.

Each gradient is defined next to its forward operation in ``numbaconv.api.<family>``
(listed there in ``__grad_all__``) and imported here by name.
"""

from __future__ import annotations

from .api.activations import (
    prelu_weight,
)
from .api.conv import (
    conv1d_input,
    conv1d_weight,
    conv2d_input,
    conv2d_weight,
    conv3d_input,
    conv3d_weight,
    conv_bias,
)
from .api.normalization import (
    batch_norm_backward,
    batch_norm_bias,
    batch_norm_input,
    batch_norm_weight,
)
from .api.pooling import (
    adaptive_avg_pool1d_input,
    adaptive_avg_pool2d_input,
    adaptive_avg_pool3d_input,
    adaptive_max_pool1d_input,
    adaptive_max_pool2d_input,
    adaptive_max_pool3d_input,
    avg_pool1d_input,
    avg_pool2d_input,
    avg_pool3d_input,
    max_pool1d_input,
    max_pool2d_input,
    max_pool3d_input,
)

__all__ = [
    # conv
    "conv1d_input",
    "conv2d_input",
    "conv3d_input",
    "conv1d_weight",
    "conv2d_weight",
    "conv3d_weight",
    "conv_bias",

    # pooling
    "max_pool1d_input",
    "avg_pool1d_input",
    "adaptive_max_pool1d_input",
    "adaptive_avg_pool1d_input",
    "max_pool2d_input",
    "avg_pool2d_input",
    "adaptive_max_pool2d_input",
    "adaptive_avg_pool2d_input",
    "max_pool3d_input",
    "avg_pool3d_input",
    "adaptive_max_pool3d_input",
    "adaptive_avg_pool3d_input",

    # activations
    "prelu_weight",

    # normalization
    "batch_norm_input",
    "batch_norm_weight",
    "batch_norm_bias",
    "batch_norm_backward",
]
