"""CPU kernels: ``@njit(parallel=True, cache=True)`` twins of :mod:`numbaconv.cuda`.

Each module exposes host-side launchers taking normalised, C-contiguous
arrays, a preallocated output and plain resolved integers.
"""
