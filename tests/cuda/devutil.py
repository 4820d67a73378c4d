"""Host/device transfers for the CUDA tests (the tests' own, not the library's)."""

from __future__ import annotations

import numpy as np
from numba import cuda


def to_device(a):
    """Host -> device."""
    return cuda.to_device(np.ascontiguousarray(a))


def to_host(d):
    """Device -> host; fails loudly if the library returned a host array."""
    assert not isinstance(d, np.ndarray), "a CUDA input must give a CUDA array back"
    return d.copy_to_host()
