"""Device-side helpers shared by every CUDA kernel family.

Launch configurations and small parameter copies; arrays themselves are
normalised and allocated by :mod:`numbaconv.cuda.memory`.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict

import numpy as np
from numba import config

from ._target import cuda

#: threads per block for 1-D launches; the simulator runs each thread as a
#: Python thread, so it gets small blocks. (numba.config's settings are set at run time, unseen
#: by type checkers: they are read from its namespace.)
THREADS = 32 if vars(config)["ENABLE_CUDASIM"] else 256


def grid_1d(n: int, threads: int = THREADS) -> tuple[int, int]:
    """``(blocks, threads)`` covering ``n`` work items with a grid-stride loop."""
    cap = 65535 if not vars(config)["ENABLE_CUDASIM"] else 64
    blocks = max(1, min(math.ceil(n / threads), cap))
    return blocks, threads


#: device copies of parameter arrays by (dtype, shape, bytes), most recent last, all of one
#: CUDA context: :data:`_PARAMS_OWNER`'s
_PARAMS: OrderedDict = OrderedDict()
_PARAMS_LOCK = threading.Lock()
_PARAMS_OWNER: list = [None]  # a weak reference to that context (or the simulator's token)
#: how many parameter arrays stay on the device, and the largest one kept (bytes): a bigger
#: array (a weight permutation) would cost more to hash than to copy
PARAMS_CACHED = 256
PARAMS_MAX_BYTES = 4096


class _Simulated:
    """The simulator's stand-in for a context: its arrays are host memory, valid in any."""


_SIMULATED = _Simulated()


def _owner():
    """The object the cached copies belong to: the current CUDA context (numba keeps one per
    device, a new one after ``cuda.close()``), or one token under the simulator, whose
    ``current_context()`` makes a new object on every call."""
    return _SIMULATED if vars(config)["ENABLE_CUDASIM"] else cuda.current_context()


def to_device(params: np.ndarray):
    """A device copy of a small, read-only host parameter array (a geometry, index maps,
    constants). Copies are kept per content, for the current context only (a new context
    empties the cache, so no copy outlives its memory), so a repeated call (a training
    step's layers) launches its kernel without a host-to-device copy, which would wait for
    the GPU first. Kernels never write these arrays."""
    a = np.ascontiguousarray(params)
    if a.nbytes > PARAMS_MAX_BYTES:
        return cuda.to_device(a)
    owner = _owner()
    key = (a.dtype.str, a.shape, a.tobytes())
    with _PARAMS_LOCK:
        ref = _PARAMS_OWNER[0]
        if ref is None or ref() is not owner:
            _PARAMS.clear()
            _PARAMS_OWNER[0] = weakref.ref(owner)
        d = _PARAMS.get(key)
        if d is not None:
            _PARAMS.move_to_end(key)
            return d
    d = cuda.to_device(a)
    with _PARAMS_LOCK:
        if _PARAMS_OWNER[0]() is owner:
            _PARAMS[key] = d
            while len(_PARAMS) > PARAMS_CACHED:
                _PARAMS.popitem(last=False)
    return d
    d = cuda.to_device(a)
    with _PARAMS_LOCK:
        _PARAMS[key] = d
        while len(_PARAMS) > PARAMS_CACHED:
            _PARAMS.popitem(last=False)
    return d
