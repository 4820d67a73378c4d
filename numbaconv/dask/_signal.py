"""scipy.signal-style filtering of dask arrays: pad once, then 'valid' windows chunk by chunk."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core import signal as sig
from ..core.padding import resolve_boundary
from ._common import as_dask, as_host, inmemory, sliding_windows, task

if TYPE_CHECKING:
    import dask.array as da

    from ..typing import ArrayLike

MODES = sig.MODES


def _filter(name: str, in1, in2, mode: str, nd: int | None, boundary: str = "fill",
            fillvalue: float = 0, **kwargs) -> da.Array:

    func = inmemory(name)
    x = as_dask(in1, "in1")
    h = as_host(in2, "in2")
    if nd is not None and (x.ndim != nd or h.ndim != nd):
        raise ValueError(f"in1 and in2 must both be {nd}-D arrays for {name}; got shapes "
                         f"{tuple(x.shape)} and {tuple(h.shape)}")
    if x.ndim != h.ndim:
        raise ValueError(f"in1 and in2 must have the same number of dimensions; got shapes "
                         f"{tuple(x.shape)} and {tuple(h.shape)}")
    mode = sig.check_mode(mode)
    extra = {} if nd is None else {"boundary": boundary, "fillvalue": fillvalue}
    # A probe on 1-element arrays validates every argument with the in-memory
    # function's own messages and gives the result dtype, before any graph exists.
    ones = (1,) * x.ndim
    probe = func(np.ones(ones, x.dtype), np.ones(ones, h.dtype), mode=mode, **extra, **kwargs)
    out_dtype = probe.dtype
    if x.size == 0 or h.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {tuple(x.shape)} and "
                         f"{tuple(h.shape)}")
    if mode == "valid" and not all(a >= b for a, b in zip(x.shape, h.shape, strict=True)):
        if not all(a <= b for a, b in zip(x.shape, h.shape, strict=True)):
            raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                             f"every dimension; got shapes {tuple(x.shape)} and {tuple(h.shape)}")
        # in1 is the smaller operand: the in-memory function swaps, on one chunk.
        shape = tuple(b - a + 1 for a, b in zip(x.shape, h.shape, strict=True))
        one = x.rechunk(x.shape)
        return one.map_blocks(task(func, in2=h, mode="valid", **kwargs), chunks=tuple((s,) for s in shape),
                              dtype=out_dtype, meta=np.empty((0,) * x.ndim, out_dtype))
    pad_mode = resolve_boundary(boundary) if nd is not None else "constant"
    # the in-memory functions' paddings: 'valid' windows of the extended array give ``mode``
    start = sig.corr2d_start if name == "correlate2d" else sig.conv_start
    widths = sig.paddings(x.shape, h.shape, mode, start)
    if x.dtype != out_dtype and np.can_cast(x.dtype, out_dtype, "safe"):
        x = x.astype(out_dtype)
    with np.errstate(all="ignore"):
        fill = np.asarray(fillvalue).astype(x.dtype)[()] if pad_mode == "constant" else None
    halos = tuple(m - 1 for m in h.shape)
    return sliding_windows(x, widths, pad_mode, fill, halos,
                           task(func, in2=h, mode="valid", **kwargs), out_dtype)


def convolve(in1: da.Array | ArrayLike, in2: ArrayLike, mode: str = "full",
             method: str = "auto") -> da.Array:
    """N-D convolution of a dask array with an in-memory kernel (``scipy.signal.convolve``).

    Each output chunk is ``numbaconv.convolve(block, in2, 'valid')`` of an
    input block extended by exactly ``in2.shape[a] - 1`` elements along each
    axis ``a``; 'full' and 'same' first pad ``in1`` with zeros, so the result
    equals the in-memory ``numbaconv.convolve`` for every chunking.

    Parameters
    ----------
    in1 : dask.array.Array or array_like
        The signal (NumPy input is wrapped with dask's automatic chunks).
    in2 : array_like
        The kernel, same number of dimensions, held in memory (a dask array
        is computed first).
    mode : {'full', 'valid', 'same'}, optional
        As in ``scipy.signal.convolve``.
    method : {'auto', 'direct', 'fft'}, optional
        Passed to ``numbaconv.convolve`` on each chunk.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.arange(10.0), chunks=4)
    >>> ncd.convolve(x, np.array([1.0, 1.0, 1.0]), mode="same").compute()
    array([ 1.,  3.,  6.,  9., 12., 15., 18., 21., 24., 17.])
    """
    return _filter("convolve", in1, in2, mode, None, method=method)


def correlate(in1: da.Array | ArrayLike, in2: ArrayLike, mode: str = "full",
              method: str = "auto") -> da.Array:
    """N-D cross-correlation of a dask array with an in-memory kernel (``scipy.signal.correlate``).

    Same chunking scheme and arguments as :func:`convolve`; 'same' is centred
    as ``scipy.signal.correlate`` centres it.

    Parameters
    ----------
    in1 : dask.array.Array or array_like
        The signal.
    in2 : array_like
        The kernel, in memory.
    mode : {'full', 'valid', 'same'}, optional
        As in ``scipy.signal.correlate``.
    method : {'auto', 'direct', 'fft'}, optional
        Passed to ``numbaconv.correlate`` on each chunk.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.arange(6.0), chunks=2)
    >>> ncd.correlate(x, np.array([1.0, -1.0]), mode="valid").compute()
    array([-1., -1., -1., -1., -1.])
    """
    return _filter("correlate", in1, in2, mode, None, method=method)


def convolve2d(in1: da.Array | ArrayLike, in2: ArrayLike, mode: str = "full",
               boundary: str = "fill", fillvalue: float = 0) -> da.Array:
    """2-D convolution of a dask array with an in-memory kernel (``scipy.signal.convolve2d``).

    The boundary ('fill' with ``fillvalue``, 'wrap', 'symm') is applied once
    to the whole array, exactly as the in-memory function applies it; each
    chunk then gets exactly the halo the kernel needs from its neighbours.

    Parameters
    ----------
    in1 : dask.array.Array or array_like
        The 2-D image.
    in2 : array_like
        The 2-D kernel, in memory.
    mode : {'full', 'valid', 'same'}, optional
        As in ``scipy.signal.convolve2d``.
    boundary : {'fill', 'wrap', 'symm'}, optional
        How ``in1`` is extended beyond its edges.
    fillvalue : scalar, optional
        The value for ``boundary='fill'``.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> ncd.convolve2d(x, np.ones((3, 3)), mode="same", boundary="wrap").compute()[0]
    array([60., 57., 66., 63.])
    """
    return _filter("convolve2d", in1, in2, mode, 2, boundary=boundary, fillvalue=fillvalue)


def correlate2d(in1: da.Array | ArrayLike, in2: ArrayLike, mode: str = "full",
                boundary: str = "fill", fillvalue: float = 0) -> da.Array:
    """2-D cross-correlation of a dask array (``scipy.signal.correlate2d``).

    As :func:`convolve2d`; 'same' keeps scipy's centring, which for even
    kernels differs by one sample from :func:`correlate`'s.

    Parameters
    ----------
    in1 : dask.array.Array or array_like
        The 2-D image.
    in2 : array_like
        The 2-D kernel, in memory.
    mode : {'full', 'valid', 'same'}, optional
        As in ``scipy.signal.correlate2d``.
    boundary : {'fill', 'wrap', 'symm'}, optional
        How ``in1`` is extended beyond its edges.
    fillvalue : scalar, optional
        The value for ``boundary='fill'``.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    >>> ncd.correlate2d(x, np.array([[1.0, -1.0]]), mode="valid").compute()
    array([[-1., -1.],
           [-1., -1.]])
    """
    return _filter("correlate2d", in1, in2, mode, 2, boundary=boundary, fillvalue=fillvalue)
