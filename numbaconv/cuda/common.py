"""Device-side helpers shared by every CUDA kernel family.

Launch configurations and small parameter copies; arrays themselves are
normalised and allocated by :mod:`numbaconv.cuda.memory`.
"""

from __future__ import annotations

import math

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


def to_device(params: np.ndarray):
    """Copy a small host parameter array (index maps, constants) to the device."""
    return cuda.to_device(np.ascontiguousarray(params))
