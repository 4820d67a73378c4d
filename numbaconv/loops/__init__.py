"""Loop bodies written once and compiled for both twins: the CPU kernels in :mod:`numbaconv.cpu`
and the CUDA kernels in :mod:`numbaconv.cuda`.

Each module (one per family) holds ``numba.extending.register_jitable`` functions: plain
Python that ``@njit`` and ``@cuda.jit`` kernels both call, and that runs as Python under the
CUDA simulator. Scalar formulas live in :mod:`numbaconv.scalar`; what is here iterates (a
softmax row, a window's argmax, an index unravel, a convolution's tap loop).
"""
