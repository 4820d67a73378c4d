"""CUDA kernels: ``@cuda.jit`` twins of :mod:`numbaconv.cpu`, same launcher signatures.

Imported lazily by :mod:`numbaconv.core.dispatch` the first time a CUDA array
is passed to a public function.
"""
