"""CPU/GPU dispatch: the single place that maps a backend to its modules.

Each operation family ``F`` has two twin modules with the same launcher
functions and signatures: ``numbaconv.cpu.F`` and ``numbaconv.cuda.F``; each
backend also has a ``memory`` module (array normalisation, allocation, the
``out=`` checks). A public wrapper finds the backend with :func:`backend_of`,
gets arrays ready with :func:`asarray` / :func:`empty`, and calls
``kernels(F, backend).launcher(...)``.

Backends are imported by name, lazily, only here: ``core`` never imports
``cpu`` or ``cuda`` code, and ``import numbaconv`` never touches the GPU stack.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import numpy as np

CPU = "cpu"
CUDA = "cuda"
BACKENDS = (CPU, CUDA)


#: (family, backend) -> module, once imported (importlib.import_module costs ~1.4 us a call)
_MODULES: dict[tuple[str, str], ModuleType] = {}


def kernels(family: str, backend: str) -> ModuleType:
    """The kernel module of ``family`` ('padding', 'signal', ...) for ``backend``."""
    module = _MODULES.get((family, backend))
    if module is None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'cpu' or 'cuda', got {backend!r}")
        module = _MODULES[family, backend] = importlib.import_module(
            f"numbaconv.{backend}.{family}")
    return module


def memory(backend: str) -> ModuleType:
    """The array module of ``backend``: :mod:`numbaconv.cpu.memory` or its CUDA twin."""
    return kernels("memory", backend)


def is_cuda_array(x) -> bool:
    """True for a CUDA array: anything with ``__cuda_array_interface__`` (numba, CuPy, torch
    CUDA), or a device array the loaded CUDA target recognises as its own (the simulator's)."""
    if hasattr(x, "__cuda_array_interface__"):
        return True
    if type(x) is np.ndarray or "numba.cuda" not in sys.modules:
        return False  # no CUDA target loaded: no other kind of device array can exist
    return memory(CUDA).is_device_array(x)


def backend_of(**arrays) -> str:
    """Return ``'cuda'`` if every non-None argument is a CUDA array, ``'cpu'`` if none is.

    Mixing host and device arrays raises a TypeError naming both arguments:
    numbaconv never moves data between host and device behind your back.
    """
    on_device = {name: is_cuda_array(a) for name, a in arrays.items() if a is not None}
    if not any(on_device.values()):
        return CPU
    if all(on_device.values()):
        return CUDA
    dev = next(n for n, v in on_device.items() if v)
    host = next(n for n, v in on_device.items() if not v)
    raise TypeError(
        f"{dev} is a CUDA array but {host} is a host array; pass all arrays on the same "
        "device (copy with numba.cuda.to_device or .copy_to_host())"
    )


def asarray(x, name: str, backend: str, dtype=None, kinds: str = "biufc"):
    """``x`` normalised for ``backend``'s kernels: C-contiguous, native, writeable, ``dtype``."""
    return memory(backend).asarray(x, name, dtype, kinds)


def empty(backend: str, shape, dtype):
    """An uninitialised output array on ``backend``."""
    return memory(backend).empty(shape, dtype)


def zeros(backend: str, shape, dtype):
    """A zero-filled output array on ``backend`` (for scatter-add kernels)."""
    return memory(backend).zeros(shape, dtype)
