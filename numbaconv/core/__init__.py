"""Shared layer: argument resolution, array normalisation and CPU/GPU dispatch.

Nothing in here computes on array data; kernels in :mod:`numbaconv.cpu` and
:mod:`numbaconv.cuda` receive already-resolved, normalised arguments.
"""
