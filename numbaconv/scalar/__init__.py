"""Scalar math shared by CPU and CUDA twins.

Plain Python functions of scalars, compiled twice: with ``numba.njit`` for
the CPU kernels and ``numba.cuda.jit(device=True)`` for the CUDA kernels, so
a formula (a numerically stable sigmoid, say) is written exactly once.
"""
