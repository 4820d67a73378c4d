"""numbaconv: Numba-accelerated convolution, padding, pooling and activations.

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
"""

from __future__ import annotations

import importlib
import os

import numba

# The default 'workqueue' threading layer aborts when two Python threads call
# parallel kernels at once; 'threadsafe' picks OpenMP or TBB, both safe.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "threadsafe"
# OpenMP's default active spin-wait makes idle workers burn a core for a while
# after each parallel region. On a busy or oversubscribed machine (shared CI,
# dask workers, several Python threads calling numbaconv) that turned a 0.2 ms
# call into 20+ ms. Passive waiting costs microseconds on an idle machine.
# Set before libgomp is loaded (numba loads it at the first parallel call).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import grad, shapes  # noqa: E402
from .api import FAMILIES  # noqa: E402
from .shapes import (  # noqa: E402
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    same_padding,
)

__version__ = "0.1.0"

__all__ = ["conv_output_size", "conv_transpose_output_size", "pool_output_size", "same_padding",
           "shapes", "grad"]

for _family in FAMILIES:
    _module = importlib.import_module(f"numbaconv.api.{_family}")
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
    __all__ += list(_module.__all__)
del _family, _module
