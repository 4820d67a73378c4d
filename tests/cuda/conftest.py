"""CUDA tests: run on a real GPU, or under the simulator (NUMBA_ENABLE_CUDASIM=1).

This directory is its own pytest process (``make test-cuda``): the simulator
must be chosen before numba is imported. Shapes stay tiny because the
simulator runs every GPU thread as a Python thread.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from numba import config, cuda

settings.register_profile("cuda-sim", max_examples=6, deadline=None, print_blob=True)
if config.ENABLE_CUDASIM:
    settings.load_profile("cuda-sim")

if not (config.ENABLE_CUDASIM or cuda.is_available()):
    pytest.skip("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True)

