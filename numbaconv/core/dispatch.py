"""CPU/GPU dispatch: the single place that maps a backend to its kernels.

Each operation family ``F`` has two twin modules with the same launcher
functions and signatures: ``numbaconv.cpu.F`` (``@njit(parallel=True)``) and
``numbaconv.cuda.F`` (``@cuda.jit``). A public wrapper resolves its
arguments, allocates the output with :func:`empty`, and calls
``kernels(F, backend).launcher(...)``. CUDA modules are imported only when a
CUDA array is seen, so ``import numbaconv`` never touches the GPU stack.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from .operands import CPU, CUDA


def kernels(family: str, backend: str) -> ModuleType:
    """The kernel module of ``family`` ('padding', 'signal', ...) for ``backend``."""
    if backend not in (CPU, CUDA):
        raise ValueError(f"backend must be 'cpu' or 'cuda', got {backend!r}")
    return importlib.import_module(f"numbaconv.{backend}.{family}")


def empty(backend: str, shape, dtype):
    """An uninitialised output array on ``backend``."""
    if backend == CPU:
        return np.empty(shape, dtype=dtype)
    from ..cuda.common import device_empty

    return device_empty(shape, dtype)


def zeros(backend: str, shape, dtype):
    """A zero-filled output array on ``backend`` (for scatter-add kernels)."""
    if backend == CPU:
        return np.zeros(shape, dtype=dtype)
    from ..cuda.common import device_zeros

    return device_zeros(shape, dtype)
