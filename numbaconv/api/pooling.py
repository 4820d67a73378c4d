"""Public pooling API: max, average and adaptive pooling in 1-3 D, unpooling, and their gradients.

PyTorch ``torch.nn.functional`` semantics and argument order, in either layout:
``data_format='channels_first'`` (the default, PyTorch's ``(N, C, *spatial)``) or
``'channels_last'`` (Keras' ``(N, *spatial, C)``, computed in that layout); unbatched
input drops ``N``. Each call resolves its arguments once into a cached
:class:`numbaconv.core.pooling.PoolSpec` (output shape, window tables, divisors) and runs
the CPU or CUDA kernel of the input's device.

Semantics (identical on CPU and GPU, in both layouts):

* max pooling pads with -inf. Taps are scanned in row-major (d, h, w) order; the first
  maximum wins (its index is returned and it takes the whole gradient). A window holding a
  NaN yields NaN and its index points at the first NaN (PyTorch points at the last one). A
  window lying entirely in the padding (possible only with dilation) yields -inf and index -1.
* indices are int64 flat positions ``(d*H + h)*W + w`` within each (n, c) input plane.
* average pooling: ``count_include_pad`` counts zero padding in the divisor, the part of a
  ``ceil_mode`` window beyond input + padding never counts, ``divisor_override`` replaces
  the divisor. ``padding='same'`` leaves the padding out of the divisor (Keras/TensorFlow),
  whatever ``count_include_pad``. Sums accumulate in the array's dtype.
* adaptive pooling: output ``i`` pools ``[floor(i*n/out), ceil((i+1)*n/out))``.
* integer and bool input is computed in float64; float32 stays float32; inputs are never
  modified. A CUDA array in gives a CUDA array out.
* ``out=`` (keyword-only): an array of the result's shape and dtype to write into (NumPy's
  convention); the function returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

import numpy as np

from ..core.dispatch import CPU, asarray, backend_of, kernels
from ..core.operands import dtype_of, float_dtype
from ..core.out import finish_out, prepare_out
from ..core.pooling import (
    LAYOUTS,
    PoolSpec,
    adaptive_spec,
    check_bool,
    pool_spec,
    split_shape,
    unpool_spec,
)
from ..core.validate import check_choice, check_same_shape, int_tuple
from ..typing import Array, ArrayLike, Padding, Size

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
]
__grad_all__ = [
    "max_pool1d_input", "max_pool2d_input", "max_pool3d_input",
    "avg_pool1d_input", "avg_pool2d_input", "avg_pool3d_input",
    "adaptive_max_pool1d_input", "adaptive_max_pool2d_input", "adaptive_max_pool3d_input",
    "adaptive_avg_pool1d_input", "adaptive_avg_pool2d_input", "adaptive_avg_pool3d_input",
]

_FAMILY = "pooling"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: what ``out=`` may be when a function returns (values, indices)
OutPair = Array | tuple[Array | None, Array | None] | None


# ------------------------------------------------------------------------ shared implementation


def _operand(x, name: str):
    """``(backend, array)``: ``x`` ready for the kernels (float32/float64, C-contiguous)."""
    if (type(x) is np.ndarray and x.dtype in _FLOATS and x.flags.c_contiguous
            and x.flags.writeable):
        return CPU, x  # already what asarray would return
    backend = backend_of(**{name: x})
    return backend, asarray(x, name, backend, float_dtype(dtype_of(x, name)))


def _operands(grad_output, x):
    """``grad_output`` and ``x`` on one backend, in their common float dtype."""
    if (type(grad_output) is np.ndarray and type(x) is np.ndarray
            and grad_output.dtype in _FLOATS and grad_output.dtype == x.dtype
            and grad_output.flags.c_contiguous and x.flags.c_contiguous
            and grad_output.flags.writeable and x.flags.writeable):
        return CPU, grad_output, x
    backend = backend_of(grad_output=grad_output, x=x)
    dtype = float_dtype(dtype_of(grad_output, "grad_output"), dtype_of(x, "x"))
    return (backend, asarray(grad_output, "grad_output", backend, dtype),
            asarray(x, "x", backend, dtype))


def _check_grad(g, spec: PoolSpec, source: str) -> None:
    if tuple(g.shape) != spec.out_shape:
        raise ValueError(f"grad_output has shape {tuple(g.shape)}, but the pooling of {source} "
                         f"of shape {spec.in_shape} has output shape {spec.out_shape}")


def _input_shape(input_shape, nd: int) -> tuple[int, ...]:
    if type(input_shape) is tuple and all(type(v) is int and v >= 0 for v in input_shape):
        shape = input_shape
    elif isinstance(input_shape, (Sequence, np.ndarray)) and not isinstance(input_shape, str):
        shape = int_tuple(input_shape, len(input_shape), "input_shape", 0)
    else:
        shape = ()
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(f"input_shape must be the forward input's full shape, {nd + 2} entries "
                         f"batched or {nd + 1} unbatched (like grad_output); got {input_shape!r}")
    return shape


def _out_pair(out):
    if out is None:
        return None, None
    if isinstance(out, (tuple, list)):
        if len(out) != 2:
            raise ValueError("out must be one array (the values) or a pair (values, indices) "
                             f"when return_indices=True; got a sequence of {len(out)}")
        return out[0], out[1]
    return out, None


def _max(spec: PoolSpec, backend, x, arr, return_indices, out):
    k = kernels(_FAMILY, backend)
    if check_bool(return_indices, "return_indices"):
        vout, iout = _out_pair(out)
        dst = prepare_out(vout, backend, spec.out_shape, arr.dtype, inputs={"x": x},
                          name="out[0]" if iout is not None else "out")
        idst = prepare_out(iout, backend, spec.out_shape, np.int64,
                           inputs={"x": x, "out[0]": vout}, name="out[1]")
        k.max_pool_indices(spec, arr, dst, idst)
        return finish_out(vout, dst), finish_out(iout, idst)
    dst = prepare_out(out, backend, spec.out_shape, arr.dtype, inputs={"x": x})
    k.max_pool(spec, arr, dst)
    return finish_out(out, dst)


def _avg(spec: PoolSpec, backend, x, arr, out):
    dst = prepare_out(out, backend, spec.out_shape, arr.dtype, inputs={"x": x})
    kernels(_FAMILY, backend).avg_pool(spec, arr, dst)
    return finish_out(out, dst)


def _max_pool(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              data_format, out):
    backend, arr = _operand(x, "x")
    spec = pool_spec("max", nd, arr.shape, arr.dtype, kernel_size, stride, padding, dilation,
                     ceil_mode, True, None, data_format)
    if out is None and return_indices is False and backend == CPU:  # the common call, short
        dst = np.empty(spec.out_shape, arr.dtype)
        (_HOST or _host()).max_pool(spec, arr, dst)
        return dst
    return _max(spec, backend, x, arr, return_indices, out)


_HOST = None


def _host():
    """The CPU pooling kernels (looked up once)."""
    global _HOST
    _HOST = kernels(_FAMILY, CPU)
    return _HOST


def _avg_pool(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, data_format, out):
    backend, arr = _operand(x, "x")
    spec = pool_spec("avg", nd, arr.shape, arr.dtype, kernel_size, stride, padding, 1,
                     ceil_mode, count_include_pad, divisor_override, data_format)
    if out is None and backend == CPU:  # the common call, short (as _max_pool's)
        dst = np.empty(spec.out_shape, arr.dtype)
        (_HOST or _host()).avg_pool(spec, arr, dst)
        return dst
    return _avg(spec, backend, x, arr, out)


def _adaptive_max_pool(nd, x, output_size, return_indices, data_format, out):
    backend, arr = _operand(x, "x")
    spec = adaptive_spec("adaptive_max", nd, arr.shape, arr.dtype, output_size, data_format)
    return _max(spec, backend, x, arr, return_indices, out)


def _adaptive_avg_pool(nd, x, output_size, data_format, out):
    backend, arr = _operand(x, "x")
    spec = adaptive_spec("adaptive_avg", nd, arr.shape, arr.dtype, output_size, data_format)
    return _avg(spec, backend, x, arr, out)


def _max_grad(spec: PoolSpec, backend, g, xa, grad_output, x, out):
    _check_grad(g, spec, "x")
    dst = prepare_out(out, backend, spec.in_shape, xa.dtype,
                      inputs={"grad_output": grad_output, "x": x})
    kernels(_FAMILY, backend).max_pool_backward(spec, g, xa, dst)
    return finish_out(out, dst)


def _avg_grad(spec: PoolSpec, backend, g, grad_output, out):
    _check_grad(g, spec, "input_shape")
    dst = prepare_out(out, backend, spec.in_shape, g.dtype, inputs={"grad_output": grad_output})
    kernels(_FAMILY, backend).avg_pool_backward(spec, g, dst)
    return finish_out(out, dst)


def _max_pool_input(nd, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                    data_format, out):
    backend, g, xa = _operands(grad_output, x)
    spec = pool_spec("max", nd, xa.shape, xa.dtype, kernel_size, stride, padding, dilation,
                     ceil_mode, True, None, data_format)
    if out is None and backend == CPU:  # the common call, short (as _max_pool's)
        _check_grad(g, spec, "x")
        dst = np.empty(spec.in_shape, xa.dtype)
        (_HOST or _host()).max_pool_backward(spec, g, xa, dst)
        return dst
    return _max_grad(spec, backend, g, xa, grad_output, x, out)


def _avg_pool_input(nd, grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override, data_format, out):
    backend, g = _operand(grad_output, "grad_output")
    spec = pool_spec("avg", nd, _input_shape(input_shape, nd), g.dtype, kernel_size, stride,
                     padding, 1, ceil_mode, count_include_pad, divisor_override, data_format,
                     "input_shape")
    if out is None and backend == CPU:  # the common call, short (as _max_pool's)
        _check_grad(g, spec, "input_shape")
        dst = np.empty(spec.in_shape, g.dtype)
        (_HOST or _host()).avg_pool_backward(spec, g, dst)
        return dst
    return _avg_grad(spec, backend, g, grad_output, out)


def _grad_output_size(g, nd, data_format):
    cl = check_choice(data_format, "data_format", LAYOUTS) == "channels_last"
    return split_shape(g.shape, nd, cl, "grad_output")[2]


def _adaptive_max_pool_input(nd, grad_output, x, data_format, out):
    backend, g, xa = _operands(grad_output, x)
    spec = adaptive_spec("adaptive_max", nd, xa.shape, xa.dtype,
                         _grad_output_size(g, nd, data_format), data_format)
    return _max_grad(spec, backend, g, xa, grad_output, x, out)


def _adaptive_avg_pool_input(nd, grad_output, input_shape, data_format, out):
    backend, g = _operand(grad_output, "grad_output")
    spec = adaptive_spec("adaptive_avg", nd, _input_shape(input_shape, nd), g.dtype,
                         _grad_output_size(g, nd, data_format), data_format, "input_shape")
    return _avg_grad(spec, backend, g, grad_output, out)


def _max_unpool(nd, x, indices, kernel_size, stride, padding, output_size, data_format, out):
    backend = backend_of(x=x, indices=indices)
    xa = asarray(x, "x", backend, float_dtype(dtype_of(x, "x")))
    dtype_of(indices, "indices", "iu")
    ia = asarray(indices, "indices", backend, np.int64, kinds="iu")
    check_same_shape(ia.shape, xa.shape, "indices")
    if isinstance(output_size, list):
        output_size = tuple(output_size)
    spec = unpool_spec(nd, xa.shape, xa.dtype, kernel_size, stride, padding, output_size,
                       data_format)
    plane = int(np.prod(spec.out_spatial))
    if backend == CPU and ia.size:
        lo, hi = int(ia.min()), int(ia.max())
        if lo < -1 or hi >= plane:
            raise ValueError(f"indices must be flat positions in [0, {plane}) within each output "
                             f"plane of spatial shape {spec.out_spatial} (or -1 for none); found "
                             f"{lo if lo < -1 else hi}")
    dst = prepare_out(out, backend, spec.out_shape, xa.dtype, inputs={"x": x, "indices": indices})
    kernels(_FAMILY, backend).max_unpool(spec, xa, ia, dst)
    return finish_out(out, dst)


# ------------------------------------------------------------------------------- max pooling


@overload
def max_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ..., *, data_format: str = ...,
               out: Array | None = ...) -> Array: ...
@overload
def max_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True], *, data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True], data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ..., *, data_format: str = ...,
               out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def max_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, data_format: str = "channels_first",
               out: OutPair = None) -> Array | tuple[Array, Array]:
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, L)`` or unbatched ``(C, L)``; ``(N, L, C)`` / ``(L, C)`` with
        ``data_format='channels_last'``.
    kernel_size : int or tuple of 1 int
        Window size.
    stride : int or tuple of 1 int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit -inf padding: an int (both sides, at most half the effective window), a
        ``(before, after)`` pair, ``'valid'`` (none) or ``'same'`` (TensorFlow's rule:
        output ``ceil(L / stride)``).
    dilation : int or tuple of 1 int, optional
        Spacing between window taps.
    ceil_mode : bool, optional
        Round the output length up instead of down; a last window that would start inside
        the right padding is dropped (PyTorch's rule).
    return_indices : bool, optional
        Also return the int64 flat position of each maximum within its (n, c) input plane.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the outputs.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into. With ``return_indices=True``: one array receives
        the values only, a pair ``(values, indices)`` both (either may be None).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, out_L)``, ``out_L`` from :func:`numbaconv.pool_output_size`.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.max_pool1d(x, 2)
    array([[3., 5.]])
    >>> nc.max_pool1d(x, 2, ceil_mode=True)
    array([[3., 5., 4.]])
    >>> nc.max_pool1d(x, 3, stride=1, return_indices=True)[1]
    array([[1, 3, 3]])
    >>> nc.max_pool1d(x.T, 2, data_format="channels_last")
    array([[3.],
           [5.]])
    """
    return _max_pool(1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format, out)


@overload
def max_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ..., *, data_format: str = ...,
               out: Array | None = ...) -> Array: ...
@overload
def max_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True], *, data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True], data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ..., *, data_format: str = ...,
               out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def max_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, data_format: str = "channels_first",
               out: OutPair = None) -> Array | tuple[Array, Array]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``; ``(N, H, W, C)`` /
        ``(H, W, C)`` with ``data_format='channels_last'``.
    kernel_size : int or tuple of 2 ints
        Window size.
    stride : int or tuple of 2 ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit -inf padding: an int (all sides, at most half the effective window), one
        int or ``(before, after)`` pair per axis, ``'valid'`` (none) or ``'same'``
        (TensorFlow's rule: output ``ceil(n / stride)``).
    dilation : int or tuple of 2 ints, optional
        Spacing between window taps.
    ceil_mode : bool, optional
        Round output sizes up instead of down; a last window that would start inside the
        right padding is dropped (PyTorch's rule).
    return_indices : bool, optional
        Also return the int64 flat position ``h*W + w`` of each maximum within its (n, c)
        input plane.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the outputs.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into. With ``return_indices=True``: one array receives
        the values only, a pair ``(values, indices)`` both (either may be None).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, out_H, out_W)``, sizes from :func:`numbaconv.pool_output_size`.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.max_pool2d(x, 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> nc.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)[1]
    array([[[ 5,  7],
            [13, 15]]])
    >>> y = np.empty((1, 2, 2))
    >>> nc.max_pool2d(x, 2, out=y) is y
    True
    >>> nc.max_pool2d(x.transpose(1, 2, 0), 2, data_format="channels_last")[..., 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return _max_pool(2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format, out)


@overload
def max_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ..., *, data_format: str = ...,
               out: Array | None = ...) -> Array: ...
@overload
def max_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True], *, data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True], data_format: str = ...,
               out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def max_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ..., *, data_format: str = ...,
               out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def max_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False, *, data_format: str = "channels_first",
               out: OutPair = None) -> Array | tuple[Array, Array]:
    """3-D max pooling, as ``torch.nn.functional.max_pool3d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``; ``(N, D, H, W, C)`` /
        ``(D, H, W, C)`` with ``data_format='channels_last'``.
    kernel_size : int or tuple of 3 ints
        Window size.
    stride : int or tuple of 3 ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit -inf padding: an int (all sides, at most half the effective window), one
        int or ``(before, after)`` pair per axis, ``'valid'`` or ``'same'``.
    dilation : int or tuple of 3 ints, optional
        Spacing between window taps.
    ceil_mode : bool, optional
        Round output sizes up instead of down (PyTorch's rule).
    return_indices : bool, optional
        Also return the int64 flat position ``(d*H + h)*W + w`` of each maximum within its
        (n, c) input plane.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the outputs.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into. With ``return_indices=True``: one array receives
        the values only, a pair ``(values, indices)`` both (either may be None).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, out_D, out_H, out_W)``.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> nc.max_pool3d(x, 2)
    array([[[[13., 15.]]]])
    >>> nc.max_pool3d(x, 2, return_indices=True)[1]
    array([[[[13, 15]]]])
    """
    return _max_pool(3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format, out)


# --------------------------------------------------------------------------- average pooling


def avg_pool1d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *, data_format: str = "channels_first",
               out: Array | None = None) -> Array:
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, L)`` or unbatched ``(C, L)``; ``(N, L, C)`` / ``(L, C)`` with
        ``data_format='channels_last'``.
    kernel_size : int or tuple of 1 int
        Window size.
    stride : int or tuple of 1 int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit zero padding: an int (both sides, at most half the window), a
        ``(before, after)`` pair, ``'valid'`` or ``'same'`` (TensorFlow's rule; the padding
        is then never counted in the divisor, as in Keras).
    ceil_mode : bool, optional
        Round the output length up; the part of the last window beyond input + padding
        never counts.
    count_include_pad : bool, optional
        Count the zero padding in the divisor.
    divisor_override : int, optional
        Divide every window sum by this instead.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the output.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, out_L)``; window sums accumulate in the array's dtype.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.avg_pool1d(x, 2)
    array([[2. , 3.5]])
    >>> nc.avg_pool1d(x, 2, padding='same')    # the padding is not counted
    array([[2. , 3.5, 4. ]])
    """
    return _avg_pool(1, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, data_format, out)


def avg_pool2d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *, data_format: str = "channels_first",
               out: Array | None = None) -> Array:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``; ``(N, H, W, C)`` /
        ``(H, W, C)`` with ``data_format='channels_last'``.
    kernel_size : int or tuple of 2 ints
        Window size.
    stride : int or tuple of 2 ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit zero padding: an int (all sides, at most half the window), one int or
        ``(before, after)`` pair per axis, ``'valid'`` or ``'same'`` (TensorFlow's rule; the
        padding is then never counted in the divisor, as in Keras).
    ceil_mode : bool, optional
        Round output sizes up; the part of a last window beyond input + padding never counts.
    count_include_pad : bool, optional
        Count the zero padding in the divisor.
    divisor_override : int, optional
        Divide every window sum by this instead.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the output.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, out_H, out_W)``; window sums accumulate in the array's dtype.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.avg_pool2d(x, 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> nc.avg_pool2d(x, 2, divisor_override=1)
    array([[[10., 18.],
            [42., 50.]]])
    >>> nc.avg_pool2d(x.transpose(1, 2, 0), 2, data_format="channels_last")[..., 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _avg_pool(2, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, data_format, out)


def avg_pool3d(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None, *, data_format: str = "channels_first",
               out: Array | None = None) -> Array:
    """3-D average pooling, as ``torch.nn.functional.avg_pool3d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``; ``(N, D, H, W, C)`` /
        ``(D, H, W, C)`` with ``data_format='channels_last'``.
    kernel_size : int or tuple of 3 ints
        Window size.
    stride : int or tuple of 3 ints, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, tuple or str, optional
        Implicit zero padding: an int, one int or ``(before, after)`` pair per axis,
        ``'valid'`` or ``'same'`` (padding never counted, as in Keras).
    ceil_mode : bool, optional
        Round output sizes up; the part of a last window beyond input + padding never counts.
    count_include_pad : bool, optional
        Count the zero padding in the divisor.
    divisor_override : int, optional
        Divide every window sum by this instead.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``x`` and the output.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, out_D, out_H, out_W)``.

    Raises
    ------
    ValueError
        On a bad shape, an out-of-range window argument, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input, a non-integer size or a non-bool flag.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> nc.avg_pool3d(x, 2)
    array([[[[6.5, 8.5]]]])
    """
    return _avg_pool(3, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, data_format, out)


# -------------------------------------------------------------------------- adaptive pooling


@overload
def adaptive_max_pool1d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[False] = ..., *, data_format: str = ...,
                        out: Array | None = ...) -> Array: ...
@overload
def adaptive_max_pool1d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[True], *, data_format: str = ...,
                        out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def adaptive_max_pool1d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = ..., *, data_format: str = ...,
                        out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def adaptive_max_pool1d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = False, *, data_format: str = "channels_first",
                        out: OutPair = None) -> Array | tuple[Array, Array]:
    """1-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)`` channels-last).
    output_size : int or tuple of 1 int (or None)
        Output length; None keeps the input's. Output ``i`` pools input
        ``[floor(i*L/out), ceil((i+1)*L/out))``; 1 is global pooling.
    return_indices : bool, optional
        Also return the int64 flat in-plane position of each maximum.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into (a pair ``(values, indices)`` with
        ``return_indices=True``; a single array receives the values).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.adaptive_max_pool1d(x, 2)
    array([[3., 5.]])
    >>> nc.adaptive_max_pool1d(x, 1, return_indices=True)
    (array([[5.]]), array([[3]]))
    """
    return _adaptive_max_pool(1, x, output_size, return_indices, data_format, out)


@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[False] = ..., *, data_format: str = ...,
                        out: Array | None = ...) -> Array: ...
@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[True], *, data_format: str = ...,
                        out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def adaptive_max_pool2d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = ..., *, data_format: str = ...,
                        out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def adaptive_max_pool2d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = False, *, data_format: str = "channels_first",
                        out: OutPair = None) -> Array | tuple[Array, Array]:
    """2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` / ``(H, W, C)``
        channels-last).
    output_size : int or tuple of 2 ints (or None)
        Output size; None keeps that axis. Output ``i`` pools input
        ``[floor(i*n/out), ceil((i+1)*n/out))``; 1 is global pooling.
    return_indices : bool, optional
        Also return the int64 flat in-plane position ``h*W + w`` of each maximum.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into (a pair ``(values, indices)`` with
        ``return_indices=True``; a single array receives the values).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, *output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.adaptive_max_pool2d(x, (1, None))     # None keeps the axis
    array([[[12., 13., 14., 15.]]])
    """
    return _adaptive_max_pool(2, x, output_size, return_indices, data_format, out)


@overload
def adaptive_max_pool3d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[False] = ..., *, data_format: str = ...,
                        out: Array | None = ...) -> Array: ...
@overload
def adaptive_max_pool3d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: Literal[True], *, data_format: str = ...,
                        out: OutPair = ...) -> tuple[Array, Array]: ...
@overload
def adaptive_max_pool3d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = ..., *, data_format: str = ...,
                        out: OutPair = ...) -> Array | tuple[Array, Array]: ...
def adaptive_max_pool3d(x: ArrayLike, output_size: int | Sequence[int | None],
                        return_indices: bool = False, *, data_format: str = "channels_first",
                        out: OutPair = None) -> Array | tuple[Array, Array]:
    """3-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool3d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last: ``(N, D, H, W, C)`` /
        ``(D, H, W, C)``).
    output_size : int or tuple of 3 ints (or None)
        Output size; None keeps that axis. Output ``i`` pools input
        ``[floor(i*n/out), ceil((i+1)*n/out))``; 1 is global pooling.
    return_indices : bool, optional
        Also return the int64 flat in-plane position of each maximum.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, or a pair of them, optional
        Array to write the result into (a pair ``(values, indices)`` with
        ``return_indices=True``; a single array receives the values).

    Returns
    -------
    ndarray or CUDA array, or a tuple (values, indices)
        Shape ``(N, C, *output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> nc.adaptive_max_pool3d(x, 1, return_indices=True)
    (array([[[[15.]]]]), array([[[[15]]]]))
    """
    return _adaptive_max_pool(3, x, output_size, return_indices, data_format, out)


def adaptive_avg_pool1d(x: ArrayLike, output_size: int | Sequence[int | None], *,
                        data_format: str = "channels_first", out: Array | None = None) -> Array:
    """1-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)`` channels-last).
    output_size : int or tuple of 1 int (or None)
        Output length; None keeps the input's. Output ``i`` averages input
        ``[floor(i*L/out), ceil((i+1)*L/out))``; 1 is global average pooling.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.adaptive_avg_pool1d(x, 1)               # global average pooling
    array([[3.]])
    """
    return _adaptive_avg_pool(1, x, output_size, data_format, out)


def adaptive_avg_pool2d(x: ArrayLike, output_size: int | Sequence[int | None], *,
                        data_format: str = "channels_first", out: Array | None = None) -> Array:
    """2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` / ``(H, W, C)``
        channels-last).
    output_size : int or tuple of 2 ints (or None)
        Output size; None keeps that axis. Output ``i`` averages input
        ``[floor(i*n/out), ceil((i+1)*n/out))``; 1 is global average pooling.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, *output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.adaptive_avg_pool2d(x, 1)
    array([[[7.5]]])
    >>> nc.adaptive_avg_pool2d(x.reshape(4, 4, 1), 1, data_format="channels_last")
    array([[[7.5]]])
    """
    return _adaptive_avg_pool(2, x, output_size, data_format, out)


def adaptive_avg_pool3d(x: ArrayLike, output_size: int | Sequence[int | None], *,
                        data_format: str = "channels_first", out: Array | None = None) -> Array:
    """3-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool3d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last: ``(N, D, H, W, C)`` /
        ``(D, H, W, C)``).
    output_size : int or tuple of 3 ints (or None)
        Output size; None keeps that axis. Output ``i`` averages input
        ``[floor(i*n/out), ceil((i+1)*n/out))``; 1 is global average pooling.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``(N, C, *output_size)``.

    Raises
    ------
    ValueError
        On a bad shape, ``output_size`` < 1, a bad ``data_format`` or ``out``.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> nc.adaptive_avg_pool3d(x, (1, 1, 2))
    array([[[[6.5, 8.5]]]])
    """
    return _adaptive_avg_pool(3, x, output_size, data_format, out)


# -------------------------------------------------------------------------------- unpooling


def max_unpool1d(x: ArrayLike, indices: ArrayLike, kernel_size: Size,
                 stride: Size | None = None, padding: Size = 0,
                 output_size: Sequence[int] | None = None, *,
                 data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Partial inverse of :func:`max_pool1d`, as ``torch.nn.functional.max_unpool1d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Pooled values ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)``
        channels-last).
    indices : array_like or CUDA array of integers
        Flat in-plane positions, as returned with ``return_indices=True`` (same shape as
        ``x``); -1 (an all-padding window) is skipped. On CPU an index outside the output
        plane is a ValueError; the GPU kernel skips it.
    kernel_size : int or tuple of 1 int
        The pooling's window.
    stride : int or tuple of 1 int, optional
        The pooling's step; defaults to ``kernel_size``.
    padding : int or tuple of 1 int, optional
        The pooling's padding.
    output_size : sequence of ints, optional
        The unpooled length (or the full output shape), to undo a pooling that dropped
        input; see :func:`numbaconv.shapes.unpool_output_size`.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Zeros with each value of ``x`` at its index; when indices repeat, the last one in
        scan order wins.

    Raises
    ------
    ValueError
        On mismatched shapes, out-of-range indices or an impossible ``output_size``.
    TypeError
        On non-integer indices or sizes.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> vals, idx = nc.max_pool1d(x, 2, return_indices=True)
    >>> nc.max_unpool1d(vals, idx, 2)
    array([[0., 3., 0., 5.]])
    >>> nc.max_unpool1d(vals, idx, 2, output_size=[5])
    array([[0., 3., 0., 5., 0.]])
    """
    return _max_unpool(1, x, indices, kernel_size, stride, padding, output_size, data_format,
                       out)


def max_unpool2d(x: ArrayLike, indices: ArrayLike, kernel_size: Size,
                 stride: Size | None = None, padding: Size = 0,
                 output_size: Sequence[int] | None = None, *,
                 data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Pooled values ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` / ``(H, W, C)``
        channels-last).
    indices : array_like or CUDA array of integers
        Flat in-plane positions, as returned with ``return_indices=True`` (same shape as
        ``x``); -1 is skipped. On CPU an index outside the output plane is a ValueError;
        the GPU kernel skips it.
    kernel_size : int or tuple of 2 ints
        The pooling's window.
    stride : int or tuple of 2 ints, optional
        The pooling's step; defaults to ``kernel_size``.
    padding : int or tuple of 2 ints, optional
        The pooling's padding.
    output_size : sequence of ints, optional
        The unpooled spatial size (or the full output shape), to undo a pooling that dropped
        input; see :func:`numbaconv.shapes.unpool_output_size`.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Zeros with each value of ``x`` at its index; when indices repeat, the last one in
        scan order wins.

    Raises
    ------
    ValueError
        On mismatched shapes, out-of-range indices or an impossible ``output_size``.
    TypeError
        On non-integer indices or sizes.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> vals, idx = nc.max_pool2d(x, 2, return_indices=True)
    >>> nc.max_unpool2d(vals, idx, 2)
    array([[[ 0.,  0.,  0.,  0.],
            [ 0.,  5.,  0.,  7.],
            [ 0.,  0.,  0.,  0.],
            [ 0., 13.,  0., 15.]]])
    """
    return _max_unpool(2, x, indices, kernel_size, stride, padding, output_size, data_format,
                       out)


def max_unpool3d(x: ArrayLike, indices: ArrayLike, kernel_size: Size,
                 stride: Size | None = None, padding: Size = 0,
                 output_size: Sequence[int] | None = None, *,
                 data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Partial inverse of :func:`max_pool3d`, as ``torch.nn.functional.max_unpool3d``.

    Parameters
    ----------
    x : array_like or CUDA array
        Pooled values ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last:
        ``(N, D, H, W, C)`` / ``(D, H, W, C)``).
    indices : array_like or CUDA array of integers
        Flat in-plane positions, as returned with ``return_indices=True`` (same shape as
        ``x``); -1 is skipped. On CPU an index outside the output plane is a ValueError;
        the GPU kernel skips it.
    kernel_size : int or tuple of 3 ints
        The pooling's window.
    stride : int or tuple of 3 ints, optional
        The pooling's step; defaults to ``kernel_size``.
    padding : int or tuple of 3 ints, optional
        The pooling's padding.
    output_size : sequence of ints, optional
        The unpooled spatial size (or the full output shape); see
        :func:`numbaconv.shapes.unpool_output_size`.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Zeros with each value of ``x`` at its index; when indices repeat, the last one in
        scan order wins.

    Raises
    ------
    ValueError
        On mismatched shapes, out-of-range indices or an impossible ``output_size``.
    TypeError
        On non-integer indices or sizes.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> vals, idx = nc.max_pool3d(x, 2, return_indices=True)
    >>> nc.max_unpool3d(vals, idx, 2)[0, 1]
    array([[ 0.,  0.,  0.,  0.],
           [ 0., 13.,  0., 15.]])
    """
    return _max_unpool(3, x, indices, kernel_size, stride, padding, output_size, data_format,
                       out)


# -------------------------------------------------------------------------------- gradients


def max_pool1d_input(grad_output: ArrayLike, x: ArrayLike, kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, dilation: Size = 1,
                     ceil_mode: bool = False, *, data_format: str = "channels_first",
                     out: Array | None = None) -> Array:
    """Gradient of :func:`max_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    x : array_like or CUDA array
        The forward input ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)``
        channels-last).
    kernel_size, stride, padding, dilation, ceil_mode
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``: each ``grad_output`` entry added to its window's (first) maximum,
        in output order (deterministic for overlapping windows).

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.grad.max_pool1d_input(np.ones((1, 2)), x, 2)
    array([[0., 1., 0., 1., 0.]])
    """
    return _max_pool_input(1, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                           data_format, out)


def max_pool2d_input(grad_output: ArrayLike, x: ArrayLike, kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, dilation: Size = 1,
                     ceil_mode: bool = False, *, data_format: str = "channels_first",
                     out: Array | None = None) -> Array:
    """Gradient of :func:`max_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    x : array_like or CUDA array
        The forward input ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` /
        ``(H, W, C)`` channels-last).
    kernel_size, stride, padding, dilation, ceil_mode
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``: each ``grad_output`` entry added to its window's (first) maximum,
        in output order (deterministic for overlapping windows).

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.grad.max_pool2d_input(np.ones((1, 2, 2)), x, 2)
    array([[[0., 0., 0., 0.],
            [0., 1., 0., 1.],
            [0., 0., 0., 0.],
            [0., 1., 0., 1.]]])
    """
    return _max_pool_input(2, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                           data_format, out)


def max_pool3d_input(grad_output: ArrayLike, x: ArrayLike, kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, dilation: Size = 1,
                     ceil_mode: bool = False, *, data_format: str = "channels_first",
                     out: Array | None = None) -> Array:
    """Gradient of :func:`max_pool3d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    x : array_like or CUDA array
        The forward input ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last:
        ``(N, D, H, W, C)`` / ``(D, H, W, C)``).
    kernel_size, stride, padding, dilation, ceil_mode
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``: each ``grad_output`` entry added to its window's (first) maximum.

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> nc.grad.max_pool3d_input(np.ones((1, 1, 1, 2)), x, 2)[0, 1]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """
    return _max_pool_input(3, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
                           data_format, out)


def avg_pool1d_input(grad_output: ArrayLike, input_shape: Sequence[int], kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, ceil_mode: bool = False,
                     count_include_pad: bool = True, divisor_override: int | None = None, *,
                     data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Gradient of :func:`avg_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, L)`` or unbatched ``(C, L)`` like
        ``grad_output`` (``(N, L, C)`` / ``(L, C)`` channels-last).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``: each input element receives ``g / divisor`` of every window
        holding it.

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.avg_pool1d_input(np.ones((1, 2)), (1, 5), 2)
    array([[0.5, 0.5, 0.5, 0.5, 0. ]])
    """
    return _avg_pool_input(1, grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, data_format, out)


def avg_pool2d_input(grad_output: ArrayLike, input_shape: Sequence[int], kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, ceil_mode: bool = False,
                     count_include_pad: bool = True, divisor_override: int | None = None, *,
                     data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Gradient of :func:`avg_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, H, W)`` or unbatched ``(C, H, W)`` like
        ``grad_output`` (``(N, H, W, C)`` / ``(H, W, C)`` channels-last).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``: each input element receives ``g / divisor`` of every window
        holding it.

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.avg_pool2d_input(np.ones((1, 2, 2)), (1, 4, 4), 2)[0, 0]
    array([0.25, 0.25, 0.25, 0.25])
    """
    return _avg_pool_input(2, grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, data_format, out)


def avg_pool3d_input(grad_output: ArrayLike, input_shape: Sequence[int], kernel_size: Size,
                     stride: Size | None = None, padding: Padding = 0, ceil_mode: bool = False,
                     count_include_pad: bool = True, divisor_override: int | None = None, *,
                     data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Gradient of :func:`avg_pool3d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output, its shape.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``
        like ``grad_output`` (channels-last: ``(N, D, H, W, C)`` / ``(D, H, W, C)``).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``.

    Raises
    ------
    ValueError
        On a ``grad_output`` that is not the pooling's output shape, or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.avg_pool3d_input(np.ones((1, 1, 1, 2)), (1, 2, 2, 4), 2)[0, 0, 0]
    array([0.125, 0.125, 0.125, 0.125])
    """
    return _avg_pool_input(3, grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, data_format, out)


def adaptive_max_pool1d_input(grad_output: ArrayLike, x: ArrayLike, *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_max_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its length is the ``output_size``.
    x : array_like or CUDA array
        The forward input ``(N, C, L)`` or ``(C, L)`` (``(N, L, C)`` / ``(L, C)``
        channels-last).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``; each entry of ``grad_output`` goes to its window's (first) maximum.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1., 3., 2., 5., 4.]])
    >>> nc.grad.adaptive_max_pool1d_input(np.ones((1, 1)), x)
    array([[0., 0., 0., 1., 0.]])
    """
    return _adaptive_max_pool_input(1, grad_output, x, data_format, out)


def adaptive_max_pool2d_input(grad_output: ArrayLike, x: ArrayLike, *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_max_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its spatial shape is the ``output_size``.
    x : array_like or CUDA array
        The forward input ``(N, C, H, W)`` or ``(C, H, W)`` (``(N, H, W, C)`` /
        ``(H, W, C)`` channels-last).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``; each entry of ``grad_output`` goes to its window's (first) maximum.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 4, 4)
    >>> nc.grad.adaptive_max_pool2d_input(np.ones((1, 1, 1)), x)[0, 3]
    array([0., 0., 0., 1.])
    """
    return _adaptive_max_pool_input(2, grad_output, x, data_format, out)


def adaptive_max_pool3d_input(grad_output: ArrayLike, x: ArrayLike, *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_max_pool3d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its spatial shape is the ``output_size``.
    x : array_like or CUDA array
        The forward input ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last:
        ``(N, D, H, W, C)`` / ``(D, H, W, C)``).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for every array.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape of ``x``; each entry of ``grad_output`` goes to its window's (first) maximum.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.).reshape(1, 2, 2, 4)
    >>> float(nc.grad.adaptive_max_pool3d_input(np.ones((1, 1, 1, 1)), x).sum())
    1.0
    """
    return _adaptive_max_pool_input(3, grad_output, x, data_format, out)


def adaptive_avg_pool1d_input(grad_output: ArrayLike, input_shape: Sequence[int], *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_avg_pool1d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its length is the ``output_size``.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, L)`` or ``(C, L)`` like ``grad_output``
        (``(N, L, C)`` / ``(L, C)`` channels-last).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.adaptive_avg_pool1d_input(np.ones((1, 1)), (1, 5))
    array([[0.2, 0.2, 0.2, 0.2, 0.2]])
    """
    return _adaptive_avg_pool_input(1, grad_output, input_shape, data_format, out)


def adaptive_avg_pool2d_input(grad_output: ArrayLike, input_shape: Sequence[int], *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_avg_pool2d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its spatial shape is the ``output_size``.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, H, W)`` or ``(C, H, W)`` like
        ``grad_output`` (``(N, H, W, C)`` / ``(H, W, C)`` channels-last).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.adaptive_avg_pool2d_input(np.ones((1, 1, 1)), (1, 4, 4))[0, 0]
    array([0.0625, 0.0625, 0.0625, 0.0625])
    """
    return _adaptive_avg_pool_input(2, grad_output, input_shape, data_format, out)


def adaptive_avg_pool3d_input(grad_output: ArrayLike, input_shape: Sequence[int], *,
                              data_format: str = "channels_first",
                              out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_avg_pool3d` with respect to its input.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the pooled output; its spatial shape is the ``output_size``.
    input_shape : tuple of ints
        The forward input's full shape, ``(N, C, D, H, W)`` or ``(C, D, H, W)`` like
        ``grad_output`` (channels-last: ``(N, D, H, W, C)`` / ``(D, H, W, C)``).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is, for ``grad_output``, ``input_shape`` and the result.
    out : ndarray or CUDA array, optional
        Array to write the result into.

    Returns
    -------
    ndarray or CUDA array
        Shape ``input_shape``.

    Raises
    ------
    ValueError
        On mismatched shapes or a bad argument.
    TypeError
        On a non-numeric input or a non-integer size.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.grad.adaptive_avg_pool3d_input(np.ones((1, 1, 1, 1)), (1, 2, 2, 4))[0, 0, 0]
    array([0.0625, 0.0625, 0.0625, 0.0625])
    """
    return _adaptive_avg_pool_input(3, grad_output, input_shape, data_format, out)
