"""The one import of the CUDA target, so it can be swapped in one place.

``from numba import cuda`` resolves to NVIDIA's ``numba-cuda`` package when it
is installed (the ``cuda`` extra) and to numba's built-in target otherwise;
with ``NUMBA_ENABLE_CUDASIM=1`` it is the CUDA simulator.
"""

from numba import cuda

try:  # the target's own device-array classes (the simulator's under NUMBA_ENABLE_CUDASIM)
    from numba.cuda.cudadrv import devicearray as _devicearray

    #: arrays the kernels take as they are, with no ``cuda.as_cuda_array`` view made of them
    NUMBA_DEVICE_ARRAYS: tuple[type, ...] = tuple(
        getattr(_devicearray, n) for n in ("DeviceNDArray", "FakeCUDAArray")
        if hasattr(_devicearray, n))
except ImportError:  # a target without that module: every array goes through as_cuda_array
    NUMBA_DEVICE_ARRAYS = ()

__all__ = ["NUMBA_DEVICE_ARRAYS", "cuda"]
