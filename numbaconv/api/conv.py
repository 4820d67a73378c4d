"""Deep-learning convolution: conv1d/2d/3d, their gradients and transposed convolution.

PyTorch ``torch.nn.functional`` semantics (cross-correlation, channels-first by default),
plus TensorFlow's ``'same'`` for any stride, Keras' ``'causal'``, a ``'symmetric'``
padding mode and ``data_format='channels_last'`` (TensorFlow's NHWC: channels on the
last axis, computed in that layout). Every call is resolved by
:func:`numbaconv.core.conv.conv_spec` into one cached spec and handed to the kernels of
:mod:`numbaconv.cpu.conv` / :mod:`numbaconv.cuda.conv` as a 3-D-spatial problem.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import padding as padspec
from ..core.conv import (
    CHANNELS_FIRST,
    CHANNELS_LAST,
    DATA_FORMATS,
    FORWARD,
    INPUT_GRAD,
    TRANSPOSE,
    WEIGHT_GRAD,
    ConvSpec,
    check_batch_axes,
    check_bias,
    check_grad_output,
    keyable,
    resolve,
)
from ..core.dispatch import asarray, backend_of, empty, kernels
from ..core.operands import dtype_of, float_dtype
from ..core.out import finish_out, host_ready, prepare_out
from ..core.validate import check_choice
from ..typing import Array, ArrayLike, Padding, Size

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
__grad_all__ = ["conv1d_input", "conv2d_input", "conv3d_input", "conv1d_weight",
                "conv2d_weight", "conv3d_weight", "conv_bias"]

_FAMILY = "conv"
_CPU = "cpu"
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_KERNELS: dict = {}
_LAYOUTS = {CHANNELS_FIRST: False, CHANNELS_LAST: True}


# ----------------------------------------------------------------------------------------------
# the steps every entry point takes


def _kernels(backend: str):
    """The conv kernel module of ``backend`` (looked up once)."""
    module = _KERNELS.get(backend)
    if module is None:
        module = _KERNELS[backend] = kernels(_FAMILY, backend)
    return module


def _ready(a, b, c=None):
    """The common dtype when ``a``, ``b`` (and ``c``, unless None) are NumPy arrays the kernels
    take as they are (C-contiguous, writeable, native float32 or float64, one dtype); else
    None. The fast path: such a call converts nothing."""
    if type(a) is np.ndarray and type(b) is np.ndarray:
        dt = a.dtype
        if (dt is b.dtype and (dt is _F32 or dt is _F64) and a.flags.carray and b.flags.carray
                and (c is None or (type(c) is np.ndarray and c.dtype is dt and c.flags.carray))):
            return dt
    return None


def _operands(*named: tuple[str, Any]) -> tuple[str, np.dtype, list[Any]]:
    """``(backend, dtype, arrays)`` for ``(name, value)`` pairs (None stays None): one backend,
    NumPy's float promotion, every array normalised for the kernels (NumPy or numba device
    arrays)."""
    backend = backend_of(**{n: a for n, a in named})
    dtype = float_dtype(*(dtype_of(a, n) for n, a in named if a is not None))
    return backend, dtype, [None if a is None else asarray(a, n, backend, dtype)
                            for n, a in named]


def _shape(shape):
    """A shape argument as a tuple when it is a list or tuple (torch.Size included)."""
    return tuple(shape) if isinstance(shape, list | tuple) else shape


def _result(out, backend: str, shape, dtype, inputs):
    """The array the kernel writes: a new one, or ``out`` (``core.out``'s checks)."""
    if out is None and backend == _CPU:
        return np.empty(shape, dtype)
    return prepare_out(out, backend, shape, dtype, inputs=inputs)


def _pad_input(x, spec: ConvSpec, pad_widths: tuple[tuple[int, int], ...], backend: str,
               dtype):
    """``x`` padded by ``spec``'s non-zero ``padding_mode`` (batched): ``spec.pad_widths``."""
    full = x if spec.batched else x.reshape((1,) + tuple(x.shape))
    maps, offsets = padspec.index_maps(full.shape, pad_widths, spec.mode)
    cvals = padspec.resolve_constant_values(0, full.ndim, dtype)
    padded = empty(backend, spec.padded_shape, dtype)
    kernels("padding", backend).pad(full, padded, maps, offsets, cvals, pad_widths[-1][0])
    return padded


#: host calls seen before, by :func:`_seen_key` (forward) or :func:`_seen_grad_key`
#: (gradients): ``(output shape, run, token)``, the CPU kernels' prepared pass
#: (:func:`numbaconv.cpu.conv.prepared_forward` and its gradient twins)
_SEEN: dict = {}
#: entries kept (the oldest half dropped beyond)
_SEEN_MAX = 256


def _seen_key(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
              data_format, dtype):
    """The key of a host forward call in :data:`_SEEN` (arrays :func:`_ready` passed), or
    None for arguments that cannot key it."""
    if not (type(groups) is int and type(padding_mode) is str and type(data_format) is str
            and keyable(stride) and keyable(padding) and keyable(dilation)):
        return None  # (resolve's rule for its own cache: True == 1 must not find 1's entry)
    return (nd, x.shape, weight.shape, None if bias is None else bias.shape, dtype, stride,
            padding, dilation, groups, padding_mode, data_format)


def _forward(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode, data_format,
             out):
    dtype = _ready(x, weight, bias)
    key = None
    if dtype is not None:  # a host call: seen before, it goes straight to its prepared pass
        key = _seen_key(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                        data_format, dtype)
        if key is not None:
            done = _run_seen(key, x, weight, bias, out,
                             out is not None and {"x": x, "weight": weight, "bias": bias})
            if done is not None:
                return done
        backend, xa, wa, ba = _CPU, x, weight, bias
    else:
        backend, dtype, (xa, wa, ba) = _operands(("x", x), ("weight", weight), ("bias", bias))
    spec = resolve(FORWARD, nd, xa.shape, wa.shape, stride, padding, dilation, groups,
                 padding_mode, 0, data_format)
    if ba is not None:
        check_bias(ba, spec.out_channels)
    dst = _result(out, backend, spec.out_shape, dtype, {"x": x, "weight": weight, "bias": bias})
    if spec.pad_widths is not None:
        xa = _pad_input(xa, spec, spec.pad_widths, backend, dtype)
    _kernels(backend).conv_forward(xa, wa, ba, dst, spec.geometry)
    if key is not None and spec.pad_widths is None:
        _remember(key, spec, xa, wa, ba, dst)
    return finish_out(out, dst)


def _remember(key, spec: ConvSpec, x, w, bias, dst) -> None:
    """Keep the prepared pass of a host forward call just made, for the same call again."""
    _keep_seen(key, spec, _kernels(_CPU).prepared_forward(x, w, bias, dst, spec.geometry))


def _seen_grad_key(op, nd, shape, a, b, stride, padding, dilation, groups, data_format,
                   dtype):
    """:func:`_seen_key` of a gradient call (``shape`` the input or weight shape argument;
    ``a``, ``b`` the arrays :func:`_ready` passed), or None."""
    if not (type(groups) is int and type(data_format) is str and keyable(shape)
            and keyable(stride) and keyable(padding) and keyable(dilation)):
        return None
    return (op, nd, shape, a.shape, b.shape, dtype, stride, padding, dilation, groups,
            data_format)


def _run_seen(key, a, b, bias, out, inputs):
    """A host call seen before (:data:`_SEEN`), run on its prepared pass ``run(a, b, bias,
    dst)``: the result, or None where the call must take the general path (not seen, the
    pass set aside, an ``out`` for the general checks; ``inputs``: the arguments ``out``
    must not overlap, by name, built by the caller only when ``out`` is given)."""
    seen = _SEEN.get(key)
    if seen is None or not _kernels(_CPU).prepared_holds(seen[1], seen[2]):
        return None
    if out is None:
        dst = np.empty(seen[0], a.dtype)
    elif host_ready(out, _CPU, seen[0], a.dtype, inputs, False):
        dst = out
    else:
        return None
    seen[1](a, b, bias, dst)
    return dst


def _keep_seen(key, spec: ConvSpec, prepared) -> None:
    """Keep a call's prepared pass (``(run, token)`` or None) for the same call again."""
    if key is None or prepared is None:
        return
    if len(_SEEN) >= _SEEN_MAX:  # (a plain dict: no lock; a lost entry is made again)
        for old in list(_SEEN)[:_SEEN_MAX // 2]:
            _SEEN.pop(old, None)
    _SEEN[key] = (spec.out_shape, *prepared)


def _input_grad(nd, input_shape, weight, grad_output, stride, padding, dilation, groups,
                data_format, out):
    dtype = _ready(weight, grad_output)
    key = None
    if dtype is not None:
        key = _seen_grad_key("input", nd, _shape(input_shape), weight, grad_output, stride,
                             padding, dilation, groups, data_format, dtype)
        if key is not None:
            done = _run_seen(key, grad_output, weight, None, out, out is not None and
                             {"weight": weight, "grad_output": grad_output})
            if done is not None:
                return done
        backend, wa, ga = _CPU, weight, grad_output
    else:
        backend, dtype, (wa, ga) = _operands(("weight", weight), ("grad_output", grad_output))
    if len(ga.shape) != len(input_shape if isinstance(input_shape, tuple) else ()):
        check_batch_axes("input_shape", input_shape, ga.shape, nd)
    spec = resolve(INPUT_GRAD, nd, _shape(input_shape), wa.shape, stride, padding, dilation,
                 groups, "zeros", 0, data_format)
    if ga.shape != spec.y_shape:
        check_grad_output(spec, ga.shape)
    dst = _result(out, backend, spec.out_shape, dtype,
                  {"weight": weight, "grad_output": grad_output})
    _kernels(backend).conv_input_grad(ga, wa, None, dst, spec.geometry)
    if key is not None:
        _keep_seen(key, spec, _kernels(_CPU).prepared_input_grad(ga, wa, None, dst,
                                                                 spec.geometry))
    return finish_out(out, dst)


def _weight_grad(nd, x, weight_shape, grad_output, stride, padding, dilation, groups,
                 data_format, out):
    dtype = _ready(x, grad_output)
    key = None
    if dtype is not None:
        key = _seen_grad_key("weight", nd, _shape(weight_shape), x, grad_output, stride,
                             padding, dilation, groups, data_format, dtype)
        if key is not None:
            done = _run_seen(key, x, grad_output, None, out,
                             out is not None and {"input": x, "grad_output": grad_output})
            if done is not None:
                return done
        backend, xa, ga = _CPU, x, grad_output
    else:
        backend, dtype, (xa, ga) = _operands(("input", x), ("grad_output", grad_output))
    if len(ga.shape) != len(xa.shape):
        check_batch_axes("input", xa.shape, ga.shape, nd)
    spec = resolve(WEIGHT_GRAD, nd, xa.shape, _shape(weight_shape), stride, padding, dilation,
                 groups, "zeros", 0, data_format)
    if ga.shape != spec.y_shape:
        check_grad_output(spec, ga.shape)
    dst = _result(out, backend, spec.out_shape, dtype, {"input": x, "grad_output": grad_output})
    _kernels(backend).conv_weight_grad(xa, ga, dst, spec.geometry)
    if key is not None:
        _keep_seen(key, spec, _kernels(_CPU).prepared_weight_grad(xa, ga, dst, spec.geometry))
    return finish_out(out, dst)


def _transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation,
               data_format, out):
    dtype = _ready(x, weight, bias)
    if dtype is not None:
        backend, xa, wa, ba = _CPU, x, weight, bias
    else:
        backend, dtype, (xa, wa, ba) = _operands(("x", x), ("weight", weight), ("bias", bias))
    spec = resolve(TRANSPOSE, nd, xa.shape, wa.shape, stride, padding, dilation, groups, "zeros",
                 output_padding, data_format)
    if ba is not None:
        check_bias(ba, spec.out_channels)
    dst = _result(out, backend, spec.out_shape, dtype, {"x": x, "weight": weight, "bias": bias})
    _kernels(backend).conv_input_grad(xa, wa, ba, dst, spec.geometry)
    return finish_out(out, dst)


# ----------------------------------------------------------------------------------------------
# forward


def conv1d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Size = 1,
           padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = CHANNELS_FIRST,
           out: Array | None = None) -> Array:
    """1-D convolution (cross-correlation), PyTorch's ``F.conv1d`` semantics.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, L)`` or unbatched ``(C, L)``; ``(N, L, C)`` / ``(L, C)`` with
        ``data_format='channels_last'``. Integers and bools compute in float64;
        float32 stays float32 (the fast path).
    weight : array_like or CUDA array
        Filters ``(K, C/groups, k)`` (in both data formats).
    bias : array_like, optional
        ``(K,)``, added to each output channel.
    stride, dilation : int or tuple of 1 int, optional
        Step between windows and spacing between kernel taps (>= 1).
    padding : int, (before, after) pair or str, optional
        An int (both sides), a ``(before, after)`` pair, ``'valid'``, ``'same'``
        (TensorFlow's rule for any stride: output ``ceil(L / stride)``, extra padding
        after), ``'full'`` or ``'causal'`` (all padding before, Keras' ``Conv1D``).
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions
        (``groups == C`` with ``K == C`` is depthwise).
    padding_mode : str, optional
        ``'zeros'``, ``'reflect'`` (edge not repeated), ``'replicate'``, ``'circular'``
        or ``'symmetric'`` (edge repeated); numpy.pad's names are accepted too.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is: second (PyTorch) or last
        (TensorFlow). Channels-last is computed in that layout.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, K, L_out)`` (channels-last ``(N, L_out, K)``; unbatched input: no ``N``),
        ``L_out`` given by :func:`numbaconv.conv_output_size`.

    Raises
    ------
    ValueError
        On inconsistent shapes, channels not divisible by ``groups``, an unknown
        padding, mode or ``data_format``, or an empty output.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1.0, 2.0, 3.0, 4.0]])             # (C=1, L=4), unbatched
    >>> w = np.array([[[1.0, 0.0, -1.0]]])               # (K=1, C=1, k=3)
    >>> nc.conv1d(x, w)
    array([[-2., -2.]])
    >>> nc.conv1d(x, w, padding='causal')
    array([[-1., -2., -2., -2.]])
    >>> nc.conv1d(x, w, padding=1, padding_mode='replicate')
    array([[-1., -2., -2., -1.]])
    >>> nc.conv1d(x.T, w, data_format='channels_last')  # (L=4, C=1) -> (L_out, K)
    array([[-2.],
           [-2.]])
    """
    return _forward(1, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                    data_format, out)


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Size = 1,
           padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = CHANNELS_FIRST,
           out: Array | None = None) -> Array:
    """2-D convolution (cross-correlation), PyTorch's ``F.conv2d`` semantics.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, H, W)`` or unbatched ``(C, H, W)``; ``(N, H, W, C)`` /
        ``(H, W, C)`` with ``data_format='channels_last'``. Integers and bools compute
        in float64; float32 stays float32 (the fast path).
    weight : array_like or CUDA array
        Filters ``(K, C/groups, kh, kw)`` (in both data formats).
    bias : array_like, optional
        ``(K,)``, added to each output channel.
    stride, dilation : int or tuple of 2 ints, optional
        Step between windows and spacing between kernel taps (>= 1).
    padding : int, tuple or str, optional
        An int (every side), one int per dimension, one ``(before, after)`` pair per
        dimension, ``'valid'``, ``'same'`` (TensorFlow's rule for any stride: output
        ``ceil(n / stride)``, extra padding after) or ``'full'``.
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions
        (``groups == C`` with ``K == C`` is depthwise).
    padding_mode : str, optional
        ``'zeros'``, ``'reflect'`` (edge not repeated), ``'replicate'``, ``'circular'``
        or ``'symmetric'`` (edge repeated); numpy.pad's names are accepted too.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is: second (PyTorch's NCHW)
        or last (TensorFlow's NHWC). Channels-last is computed in that layout.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, K, H_out, W_out)`` (channels-last ``(N, H_out, W_out, K)``; unbatched
        input: no ``N``), each size given by :func:`numbaconv.conv_output_size`.

    Raises
    ------
    ValueError
        On inconsistent shapes, channels not divisible by ``groups``, an unknown
        padding, mode or ``data_format``, or an empty output.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 2, 2))
    >>> nc.conv2d(x, w, stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> nc.conv2d(x, w, padding='same', stride=3).shape
    (1, 1, 2, 2)
    >>> nhwc = x.transpose(0, 2, 3, 1)                   # (N, H, W, C)
    >>> nc.conv2d(nhwc, w, stride=2, data_format='channels_last')[0, :, :, 0]
    array([[10., 18.],
           [42., 50.]])
    """
    return _forward(2, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                    data_format, out)


def conv3d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: Size = 1,
           padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = CHANNELS_FIRST,
           out: Array | None = None) -> Array:
    """3-D convolution (cross-correlation), PyTorch's ``F.conv3d`` semantics.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)``; ``(N, D, H, W, C)`` /
        ``(D, H, W, C)`` with ``data_format='channels_last'``. Integers and bools
        compute in float64; float32 stays float32 (the fast path).
    weight : array_like or CUDA array
        Filters ``(K, C/groups, kd, kh, kw)`` (in both data formats).
    bias : array_like, optional
        ``(K,)``, added to each output channel.
    stride, dilation : int or tuple of 3 ints, optional
        Step between windows and spacing between kernel taps (>= 1).
    padding : int, tuple or str, optional
        An int (every side), one int per dimension, one ``(before, after)`` pair per
        dimension, ``'valid'``, ``'same'`` (TensorFlow's rule for any stride: output
        ``ceil(n / stride)``, extra padding after) or ``'full'``.
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions.
    padding_mode : str, optional
        ``'zeros'``, ``'reflect'`` (edge not repeated), ``'replicate'``, ``'circular'``
        or ``'symmetric'`` (edge repeated); numpy.pad's names are accepted too.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is: second (NCDHW) or last
        (NDHWC). Channels-last is computed in that layout.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, K, D_out, H_out, W_out)`` (channels-last ``(N, D_out, H_out, W_out,
        K)``; unbatched input: no ``N``), each size given by
        :func:`numbaconv.conv_output_size`.

    Raises
    ------
    ValueError
        On inconsistent shapes, channels not divisible by ``groups``, an unknown
        padding, mode or ``data_format``, or an empty output.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.ones((2, 3, 4, 4, 4), dtype=np.float32)
    >>> w = np.ones((5, 3, 3, 3, 3), dtype=np.float32)
    >>> y = nc.conv3d(x, w, bias=np.zeros(5, np.float32), padding=1)
    >>> y.shape, y.dtype, float(y[0, 0, 1, 1, 1]), float(y[0, 0, 0, 0, 0])
    ((2, 5, 4, 4, 4), dtype('float32'), 81.0, 24.0)
    >>> nc.conv3d(x, w, bias=np.zeros(5)).dtype     # a float64 bias promotes, as in NumPy
    dtype('float64')
    """
    return _forward(3, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                    data_format, out)


# ----------------------------------------------------------------------------------------------
# gradients


def conv1d_input(input_shape, weight: ArrayLike, grad_output: ArrayLike, stride: Size = 1,
                 padding: Padding = 0, dilation: Size = 1, groups: int = 1, *,
                 data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv1d` with respect to its input.

    PyTorch's ``torch.nn.grad.conv1d_input``: the adjoint of the convolution,
    ``<conv1d(x, w), g> == <x, conv1d_input(x.shape, w, g)>``.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the forward input, ``(N, C, L)`` or ``(C, L)`` (channels-last:
        ``(N, L, C)`` or ``(L, C)``).
    weight : array_like or CUDA array
        The forward filters ``(K, C/groups, k)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call (every padding form, ``'same'`` included).
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input_shape``, ``grad_output`` and the result.
    out : ndarray or CUDA array, optional
        Array of ``input_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``input_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> w = np.array([[[1.0, 2.0]]])
    >>> grad.conv1d_input((1, 3), w, np.array([[1.0, 10.0]]))
    array([[ 1., 12., 20.]])
    >>> grad.conv1d_input((3, 1), w, np.array([[1.0], [10.0]]), data_format='channels_last')
    array([[ 1.],
           [12.],
           [20.]])
    """
    return _input_grad(1, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       data_format, out)


def conv2d_input(input_shape, weight: ArrayLike, grad_output: ArrayLike, stride: Size = 1,
                 padding: Padding = 0, dilation: Size = 1, groups: int = 1, *,
                 data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv2d` with respect to its input.

    PyTorch's ``torch.nn.grad.conv2d_input``: the adjoint of the convolution,
    ``<conv2d(x, w), g> == <x, conv2d_input(x.shape, w, g)>``.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the forward input, ``(N, C, H, W)`` or ``(C, H, W)`` (channels-last:
        ``(N, H, W, C)`` or ``(H, W, C)``).
    weight : array_like or CUDA array
        The forward filters ``(K, C/groups, kh, kw)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call (every padding form, ``'same'`` included).
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input_shape``, ``grad_output`` and the result.
    out : ndarray or CUDA array, optional
        Array of ``input_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``input_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> w = np.ones((1, 1, 2, 2))
    >>> grad.conv2d_input((1, 1, 3, 3), w, np.ones((1, 1, 2, 2)))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    return _input_grad(2, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       data_format, out)


def conv3d_input(input_shape, weight: ArrayLike, grad_output: ArrayLike, stride: Size = 1,
                 padding: Padding = 0, dilation: Size = 1, groups: int = 1, *,
                 data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv3d` with respect to its input.

    PyTorch's ``torch.nn.grad.conv3d_input``: the adjoint of the convolution,
    ``<conv3d(x, w), g> == <x, conv3d_input(x.shape, w, g)>``.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the forward input, ``(N, C, D, H, W)`` or ``(C, D, H, W)``
        (channels-last: ``(N, D, H, W, C)`` or ``(D, H, W, C)``).
    weight : array_like or CUDA array
        The forward filters ``(K, C/groups, kd, kh, kw)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call (every padding form, ``'same'`` included).
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input_shape``, ``grad_output`` and the result.
    out : ndarray or CUDA array, optional
        Array of ``input_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``input_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> w = np.ones((1, 1, 1, 1, 2))
    >>> grad.conv3d_input((1, 1, 1, 3), w, np.ones((1, 1, 1, 2)))
    array([[[[1., 2., 1.]]]])
    """
    return _input_grad(3, input_shape, weight, grad_output, stride, padding, dilation, groups,
                       data_format, out)


def conv1d_weight(input: ArrayLike, weight_shape, grad_output: ArrayLike,  # noqa: A002
                  stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                  *, data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv1d` with respect to its weight.

    PyTorch's ``torch.nn.grad.conv1d_weight``:
    ``<conv1d(x, w), g> == <w, conv1d_weight(x, w.shape, g)>``.

    Parameters
    ----------
    input : array_like or CUDA array
        The forward input ``(N, C, L)`` or ``(C, L)`` (channels-last: ``(N, L, C)`` or
        ``(L, C)``).
    weight_shape : sequence of int
        ``(K, C/groups, k)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input`` and ``grad_output`` (the weight is ``(K, C/groups, k)`` in
        both).
    out : ndarray or CUDA array, optional
        Array of ``weight_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``weight_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> grad.conv1d_weight(x, (1, 1, 2), np.array([[1.0, 10.0]]))
    array([[[21., 32.]]])
    """
    return _weight_grad(1, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        data_format, out)


def conv2d_weight(input: ArrayLike, weight_shape, grad_output: ArrayLike,  # noqa: A002
                  stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                  *, data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv2d` with respect to its weight.

    PyTorch's ``torch.nn.grad.conv2d_weight``:
    ``<conv2d(x, w), g> == <w, conv2d_weight(x, w.shape, g)>``.

    Parameters
    ----------
    input : array_like or CUDA array
        The forward input ``(N, C, H, W)`` or ``(C, H, W)`` (channels-last:
        ``(N, H, W, C)`` or ``(H, W, C)``).
    weight_shape : sequence of int
        ``(K, C/groups, kh, kw)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input`` and ``grad_output`` (the weight is ``(K, C/groups, kh, kw)``
        in both).
    out : ndarray or CUDA array, optional
        Array of ``weight_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``weight_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> grad.conv2d_weight(x, (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    >>> grad.conv2d_weight(x.transpose(0, 2, 3, 1), (1, 1, 2, 2), np.ones((1, 2, 2, 1)),
    ...                    data_format='channels_last')[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    return _weight_grad(2, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        data_format, out)


def conv3d_weight(input: ArrayLike, weight_shape, grad_output: ArrayLike,  # noqa: A002
                  stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                  *, data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.conv3d` with respect to its weight.

    PyTorch's ``torch.nn.grad.conv3d_weight``:
    ``<conv3d(x, w), g> == <w, conv3d_weight(x, w.shape, g)>``.

    Parameters
    ----------
    input : array_like or CUDA array
        The forward input ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (channels-last:
        ``(N, D, H, W, C)`` or ``(D, H, W, C)``).
    weight_shape : sequence of int
        ``(K, C/groups, kd, kh, kw)``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output, in ``data_format``.
    stride, padding, dilation, groups
        As in the forward call.
    data_format : {'channels_first', 'channels_last'}, optional
        Layout of ``input`` and ``grad_output`` (the weight is ``(K, C/groups, kd, kh,
        kw)`` in both).
    out : ndarray or CUDA array, optional
        Array of ``weight_shape`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        Array of ``weight_shape``.

    Raises
    ------
    ValueError
        If ``grad_output`` is not the shape the forward call produces, or on the forward
        call's errors.
    TypeError
        On a non-integer shape entry or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.arange(3.0).reshape(1, 1, 1, 3)
    >>> grad.conv3d_weight(x, (1, 1, 1, 1, 2), np.ones((1, 1, 1, 2)))
    array([[[[[1., 3.]]]]])
    """
    return _weight_grad(3, input, weight_shape, grad_output, stride, padding, dilation, groups,
                        data_format, out)


def conv_bias(grad_output: ArrayLike, unbatched: bool = False, *,
              data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """Gradient of a convolution's bias: ``grad_output`` summed over batch and space.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        ``(N, K, *spatial)``, or ``(K, *spatial)`` with ``unbatched=True``;
        channels-last: ``(N, *spatial, K)`` or ``(*spatial, K)``.
    unbatched : bool, optional
        Whether ``grad_output`` lacks the batch axis.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis is: after the batch axis, or last.
    out : ndarray or CUDA array, optional
        Array of shape ``(K,)`` to write the result into; returned.

    Returns
    -------
    ndarray or CUDA array
        ``(K,)``, accumulated in float64 (the same order in both data formats) and
        returned in the computation dtype.

    Raises
    ------
    ValueError
        If ``grad_output`` has too few dimensions, or on an unknown ``data_format``.
    TypeError
        If ``unbatched`` is not a bool, or on a non-numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> g = np.ones((2, 3, 4, 4), dtype=np.float32)
    >>> grad.conv_bias(g)
    array([32., 32., 32.], dtype=float32)
    >>> grad.conv_bias(np.ones((3, 5)), unbatched=True)
    array([5., 5., 5.])
    >>> grad.conv_bias(np.ones((5, 3)), unbatched=True, data_format='channels_last')
    array([5., 5., 5.])
    """
    g = grad_output
    if (type(g) is np.ndarray and (g.dtype is _F32 or g.dtype is _F64) and g.flags.carray):
        backend, dtype = _CPU, g.dtype
    else:
        backend = backend_of(grad_output=g)
        dtype = float_dtype(dtype_of(g, "grad_output"))
        g = asarray(g, "grad_output", backend, dtype)
    if unbatched is not False and unbatched is not True and not isinstance(unbatched, np.bool_):
        raise TypeError(f"unbatched must be a bool, got {unbatched!r}")
    channels_last = _LAYOUTS.get(data_format) if type(data_format) is str else None
    if channels_last is None:
        check_choice(data_format, "data_format", DATA_FORMATS)
    shape = tuple(g.shape)
    need = 1 if unbatched else 2
    if len(shape) < need:
        layout = ("(*spatial, K)" if unbatched else "(N, *spatial, K)") if channels_last else (
            "(K, *spatial)" if unbatched else "(N, K, *spatial)")
        raise ValueError(f"grad_output must have at least {need} dimensions ({layout}), "
                         f"got shape {tuple(shape)}")
    # a (rows, K, positions) view: the sums run over rows, then positions, in both layouts
    if channels_last:
        k = shape[-1]
        g3 = g.reshape(math.prod(shape[:-1]), k, 1)
    else:
        k = shape[need - 1]
        g3 = g.reshape(1 if unbatched else shape[0], k, math.prod(shape[need:]))
    db = _result(out, backend, (k,), dtype, {"grad_output": grad_output})
    _kernels(backend).conv_bias_grad(g3, db)
    return finish_out(out, db)


# ----------------------------------------------------------------------------------------------
# transposed convolution


def conv_transpose1d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                     groups: int = 1, dilation: Size = 1, *,
                     data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """1-D transposed convolution, PyTorch's ``F.conv_transpose1d``.

    The adjoint of :func:`numbaconv.conv1d` (it runs the input-gradient kernels): each
    input element scatters ``weight`` into the output.

    Parameters
    ----------
    x : array_like or CUDA array
        ``(N, C_in, L)`` or unbatched ``(C_in, L)``; ``(N, L, C_in)`` / ``(L, C_in)``
        with ``data_format='channels_last'``.
    weight : array_like or CUDA array
        ``(C_in, C_out/groups, k)`` (in both data formats).
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of 1 int, optional
        Step and tap spacing of the forward convolution this is the adjoint of.
    padding : int or (before, after) pair, optional
        Removed from each end of the full output (``dilation*(k-1) - padding`` zeros are
        added to the input in the equivalent direct convolution).
    output_padding : int or tuple of 1 int, optional
        Extra length after the output, smaller than the stride or the dilation.
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, C_out, L_out)`` (channels-last ``(N, L_out, C_out)``) with
        ``L_out = (L - 1)*stride - before - after + dilation*(k - 1) + output_padding + 1``.

    Raises
    ------
    ValueError
        On inconsistent shapes, a word padding, ``output_padding`` too large, padding
        that empties the output, or an unknown ``data_format``.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.conv_transpose1d(np.array([[1.0, 10.0]]), np.array([[[1.0, 2.0]]]), stride=2)
    array([[ 1.,  2., 10., 20.]])
    """
    return _transpose(1, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      data_format, out)


def conv_transpose2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                     groups: int = 1, dilation: Size = 1, *,
                     data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """2-D transposed convolution, PyTorch's ``F.conv_transpose2d``.

    The adjoint of :func:`numbaconv.conv2d` (it runs the input-gradient kernels): each
    input element scatters ``weight`` into the output.

    Parameters
    ----------
    x : array_like or CUDA array
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; ``(N, H, W, C_in)`` /
        ``(H, W, C_in)`` with ``data_format='channels_last'``.
    weight : array_like or CUDA array
        ``(C_in, C_out/groups, kh, kw)`` (in both data formats).
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of 2 ints, optional
        Step and tap spacing of the forward convolution this is the adjoint of.
    padding : int, tuple of 2 ints or of 2 (before, after) pairs, optional
        Removed from each side of the full output (``dilation*(k-1) - padding`` zeros
        are added to the input in the equivalent direct convolution).
    output_padding : int or tuple of 2 ints, optional
        Extra length after the output, smaller than the stride or the dilation.
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, C_out, H_out, W_out)`` (channels-last ``(N, H_out, W_out, C_out)``), each
        length ``(n - 1)*stride - before - after + dilation*(k - 1) + output_padding + 1``.

    Raises
    ------
    ValueError
        On inconsistent shapes, a word padding, ``output_padding`` too large, padding
        that empties the output, or an unknown ``data_format``.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.ones((1, 1, 2, 2), dtype=np.float32)
    >>> w = np.ones((1, 1, 3, 3), dtype=np.float32)
    >>> y = nc.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    >>> y.shape, y.dtype
    ((1, 1, 4, 4), dtype('float32'))
    """
    return _transpose(2, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      data_format, out)


def conv_transpose3d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                     stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                     groups: int = 1, dilation: Size = 1, *,
                     data_format: str = CHANNELS_FIRST, out: Array | None = None) -> Array:
    """3-D transposed convolution, PyTorch's ``F.conv_transpose3d``.

    The adjoint of :func:`numbaconv.conv3d` (it runs the input-gradient kernels): each
    input element scatters ``weight`` into the output.

    Parameters
    ----------
    x : array_like or CUDA array
        ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``; ``(N, D, H, W, C_in)``
        / ``(D, H, W, C_in)`` with ``data_format='channels_last'``.
    weight : array_like or CUDA array
        ``(C_in, C_out/groups, kd, kh, kw)`` (in both data formats).
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of 3 ints, optional
        Step and tap spacing of the forward convolution this is the adjoint of.
    padding : int, tuple of 3 ints or of 3 (before, after) pairs, optional
        Removed from each side of the full output.
    output_padding : int or tuple of 3 ints, optional
        Extra length after the output, smaller than the stride or the dilation.
    groups : int, optional
        Split input and output channels into ``groups`` independent convolutions.
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channel axis of ``x`` and of the result is.
    out : ndarray or CUDA array, optional
        Array to write the result into (its exact shape and dtype); returned.

    Returns
    -------
    ndarray or CUDA array
        ``(N, C_out, D_out, H_out, W_out)`` (channels-last: channels last), each length
        ``(n - 1)*stride - before - after + dilation*(k - 1) + output_padding + 1``.

    Raises
    ------
    ValueError
        On inconsistent shapes, a word padding, ``output_padding`` too large, padding
        that empties the output, or an unknown ``data_format``.
    TypeError
        On non-integer sizes or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.conv_transpose3d(np.ones((2, 1, 1, 1)), np.ones((2, 3, 1, 1, 2)), bias=[0, 1, 2]).shape
    (3, 1, 1, 2)
    """
    return _transpose(3, x, weight, bias, stride, padding, output_padding, groups, dilation,
                      data_format, out)
