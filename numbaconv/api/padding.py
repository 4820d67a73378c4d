"""Public padding API: :func:`pad`, a parallel, GPU-capable ``numpy.pad``."""

from __future__ import annotations

from ..core import padding as padspec
from ..core.dispatch import asarray, backend_of, empty, kernels
from ..core.operands import dtype_of, result_dtype

__all__ = ["pad"]


def pad(x, pad_width, mode: str = "constant", constant_values=0):
    """Pad an N-D array; the same result as :func:`numpy.pad`, in parallel, on CPU or GPU.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape. A CUDA array (``__cuda_array_interface__``) is
        padded on the GPU and a device array is returned.
    pad_width : int or sequence
        ``numpy.pad``'s forms: ``n``, ``(before, after)``, or one
        ``(before, after)`` pair per axis. Pads wider than the axis are allowed.
    mode : str, optional
        ``'constant'`` (alias ``'zeros'``), ``'edge'`` (``'replicate'``),
        ``'reflect'`` (mirror without repeating the edge), ``'symmetric'``
        (mirror repeating the edge) or ``'wrap'`` (``'circular'``).
    constant_values : scalar or sequence, optional
        Value(s) for ``'constant'`` in ``numpy.pad``'s forms.

    Returns
    -------
    ndarray or CUDA array
        The padded array, of ``x``'s dtype.

    Raises
    ------
    ValueError
        On an unknown ``mode``, negative widths, or a non-constant pad of an
        empty axis.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.pad(np.array([1, 2, 3]), (2, 3), mode='reflect')
    array([3, 2, 1, 2, 3, 2, 1, 2])
    >>> nc.pad(np.ones((2, 2)), 1, constant_values=7)
    array([[7., 7., 7., 7.],
           [7., 1., 1., 7.],
           [7., 1., 1., 7.],
           [7., 7., 7., 7.]])
    """
    backend = backend_of(x=x)
    dtype = result_dtype(dtype_of(x, "x"))
    arr = asarray(x, "x", backend, dtype)
    mode = padspec.resolve_mode(mode)
    widths = padspec.resolve_pad_width(pad_width, arr.ndim)
    cvals = padspec.resolve_constant_values(constant_values if mode == "constant" else 0,
                                            arr.ndim, arr.dtype)
    if arr.ndim == 0:  # numpy.pad returns a copy of a 0-d array
        out = empty(backend, (), arr.dtype)
        if backend == "cpu":
            out[()] = arr
        else:
            out.copy_to_device(arr)
        return out
    maps, offsets = padspec.index_maps(arr.shape, widths, mode)
    out = empty(backend, padspec.padded_shape(arr.shape, widths), arr.dtype)
    kernels("padding", backend).pad(arr, out, maps, offsets, cvals, widths[-1][0])
    return out
