"""CUDA tests: run on a real GPU, or under the simulator (NUMBA_ENABLE_CUDASIM=1).

This directory is its own pytest process (``make test-cuda``): the simulator
must be chosen before numba is imported. Shapes stay tiny because the
simulator runs every GPU thread as a Python thread.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from numba import config, cuda

settings.register_profile("cuda-sim", max_examples=6, deadline=None, print_blob=True)
# a real GPU: more examples (a launch costs microseconds), no deadline (each kernel's first
# launch compiles it), and no shrinking: a device session is short, and the printed blob
# reproduces a failure
settings.register_profile("cuda-gpu", max_examples=40, deadline=None, print_blob=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
if config.ENABLE_CUDASIM:
    settings.load_profile("cuda-sim")
elif cuda.is_available():
    settings.load_profile("cuda-gpu")

if not (config.ENABLE_CUDASIM or cuda.is_available()):
    pytest.skip("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True)


# The simulator's device arrays forward every attribute to the NumPy array they wrap, so
# library code that calls a NumPy-only attribute on a CUDA array (``x.itemsize``,
# ``x.astype``) passes here and fails on a GPU. Under the simulator, only what a real
# ``DeviceNDArray`` has (numba-cuda 0.30's public attributes) is forwarded.
DEVICE_ARRAY_ATTRS = frozenset({
    "shape", "strides", "dtype", "size", "ndim", "nbytes", "alloc_size", "gpu_data", "stream",
    "flags", "T", "transpose", "reshape", "ravel", "view", "squeeze", "split", "bind",
    "copy_to_host", "copy_to_device", "is_c_contiguous", "is_f_contiguous", "getitem",
    "setitem", "as_cuda_arg", "device_ctypes_pointer", "get_ipc_handle",
})

if config.ENABLE_CUDASIM:
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    _forward = FakeCUDAArray.__getattr__

    def _device_array_getattr(self, name):
        if not name.startswith("_") and name not in DEVICE_ARRAY_ATTRS:
            raise AttributeError(f"a CUDA device array has no attribute {name!r} (the "
                                 "simulator's arrays would forward it to NumPy)")
        return _forward(self, name)

    FakeCUDAArray.__getattr__ = _device_array_getattr
