"""CPU kernels: :func:`numbaconv.cpu.jit.njit` (cached on disk) twins of :mod:`numbaconv.cuda`.

Each module exposes host-side launchers taking normalised, C-contiguous
arrays, a preallocated output and plain resolved integers.
"""
