"""The one import of the CUDA target, so it can be swapped in one place.

``from numba import cuda`` resolves to NVIDIA's ``numba-cuda`` package when it
is installed (the ``cuda`` extra) and to numba's built-in target otherwise;
with ``NUMBA_ENABLE_CUDASIM=1`` it is the CUDA simulator.
"""

from numba import cuda

__all__ = ["cuda"]
