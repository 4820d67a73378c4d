"""numbaconv on dask arrays: lazy, chunk-by-chunk versions of the public operations.

Needs the optional extra ``dask`` (``pip install numbaconv[dask]``);
``import numbaconv`` itself never imports dask.

Every function takes a dask array (NumPy input is wrapped), builds a graph
whose tasks call the in-memory numbaconv function on one chunk at a time,
and returns a dask array equal to the in-memory result for every chunking.
Inside each task Numba runs ``numba_threads_per_task()`` threads, so Numba
threads x dask threads stay within the cores. See ``docs/dask.md``.

Examples
--------
>>> import numpy as np, dask.array as da
>>> import numbaconv.dask as ncd
>>> img = da.ones((6, 6), chunks=3)
>>> ncd.convolve2d(img, np.ones((3, 3)), mode="same").compute()[0]
array([4., 6., 6., 6., 6., 4.])
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("numbaconv.dask needs dask: pip install 'numbaconv[dask]'") from exc

from ._activations import (
    celu,
    celu_backward,
    celu_derivative,
    elu,
    elu_backward,
    elu_derivative,
    gelu,
    gelu_backward,
    gelu_derivative,
    hardsigmoid,
    hardsigmoid_backward,
    hardsigmoid_derivative,
    hardswish,
    hardswish_backward,
    hardswish_derivative,
    hardtanh,
    hardtanh_backward,
    hardtanh_derivative,
    identity,
    identity_backward,
    identity_derivative,
    leaky_relu,
    leaky_relu_backward,
    leaky_relu_derivative,
    log_sigmoid,
    log_sigmoid_backward,
    log_sigmoid_derivative,
    mish,
    mish_backward,
    mish_derivative,
    relu,
    relu6,
    relu6_backward,
    relu6_derivative,
    relu_backward,
    relu_derivative,
    selu,
    selu_backward,
    selu_derivative,
    sigmoid,
    sigmoid_backward,
    sigmoid_derivative,
    silu,
    silu_backward,
    silu_derivative,
    softplus,
    softplus_backward,
    softplus_derivative,
    softsign,
    softsign_backward,
    softsign_derivative,
    step,
    step_backward,
    step_derivative,
    tanh,
    tanh_backward,
    tanh_derivative,
)
from ._dl import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    conv1d,
    conv2d,
    conv3d,
    log_softmax,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    prelu,
    softmax,
)
from ._signal import convolve, convolve2d, correlate, correlate2d
from ._threads import cores, dask_threads, local_cluster, numba_threads_per_task

__all__ = [
    "convolve", "correlate", "convolve2d", "correlate2d", "conv1d", "conv2d", "conv3d",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "softmax",
    "log_softmax", "prelu", "identity", "identity_derivative", "identity_backward", "step",
    "step_derivative", "step_backward", "sigmoid", "sigmoid_derivative", "sigmoid_backward", "tanh",
    "tanh_derivative", "tanh_backward", "relu", "relu_derivative", "relu_backward", "relu6",
    "relu6_derivative", "relu6_backward", "leaky_relu", "leaky_relu_derivative",
    "leaky_relu_backward", "elu", "elu_derivative", "elu_backward", "selu", "selu_derivative",
    "selu_backward", "celu", "celu_derivative", "celu_backward", "gelu", "gelu_derivative",
    "gelu_backward", "silu", "silu_derivative", "silu_backward", "mish", "mish_derivative",
    "mish_backward", "softplus", "softplus_derivative", "softplus_backward", "softsign",
    "softsign_derivative", "softsign_backward", "hardtanh", "hardtanh_derivative",
    "hardtanh_backward", "hardsigmoid", "hardsigmoid_derivative", "hardsigmoid_backward",
    "hardswish", "hardswish_derivative", "hardswish_backward", "log_sigmoid",
    "log_sigmoid_derivative", "log_sigmoid_backward", "numba_threads_per_task", "local_cluster",
    "cores", "dask_threads",
]
