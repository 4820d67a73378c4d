"""Deep-learning convolution: conv1d/2d/3d, their gradients and transposed convolution.

PyTorch ``torch.nn.functional`` semantics (cross-correlation, channels-first),
plus TensorFlow's ``'same'`` for any stride, Keras' ``'causal'`` and a
``'symmetric'`` padding mode. One N-D implementation: every call is resolved
here and handed to the kernels as a 3-D-spatial problem (1-D and 2-D inputs
get singleton axes), see :mod:`numbaconv.cpu.conv` / :mod:`numbaconv.cuda.conv`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import padding as padspec
from ..core.dispatch import asarray, backend_of, empty, kernels
from ..core.layout import resolve_padding, split_batch, unbatch, window_args
from ..core.operands import dtype_of, float_dtype
from ..core.validate import check_int, int_tuple
from ..shapes import conv_output_size, conv_transpose_output_size

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]
__grad_all__ = ["conv1d_input", "conv2d_input", "conv3d_input", "conv1d_weight",
                "conv2d_weight", "conv3d_weight", "conv_bias"]

_FAMILY = "conv"


# ----------------------------------------------------------------------------------------------
# resolution shared by every entry point


def _to3(t, fill):
    """Left-fill a per-dimension tuple to 3 entries (singleton leading axes)."""
    return (fill,) * (3 - len(t)) + tuple(t)


def _as5(a, nd):
    """View a ``(N, C, *spatial)`` array with ``nd`` spatial axes as ``(N, C, D, H, W)``."""
    return a.reshape(tuple(a.shape[:2]) + (1,) * (3 - nd) + tuple(a.shape[2:]))


def _check_groups(groups, c_in, w_shape, wname="weight", transposed=False):
    groups = check_int(groups, "groups", 1)
    k_out = w_shape[0]
    if transposed:
        if c_in != k_out:
            raise ValueError(f"x has {c_in} channels but {wname} of shape {tuple(w_shape)} expects "
                             f"{k_out} (weight is (C_in, C_out/groups, *kernel))")
        if c_in % groups:
            raise ValueError(f"groups={groups} must divide the {c_in} input channels")
        return groups
    if k_out % groups:
        raise ValueError(f"groups={groups} must divide the number of output channels "
                         f"{wname}.shape[0]={k_out}")
    if c_in % groups or c_in // groups != w_shape[1]:
        raise ValueError(
            f"input has {c_in} channels, so {wname}.shape[1] must be {c_in}/groups="
            f"{c_in / groups:g} for groups={groups}; got {wname} of shape {tuple(w_shape)}")
    return groups


def _check_weight(w, nd, name="weight"):
    if w.ndim != nd + 2:
        raise ValueError(f"{name} must have {nd + 2} dimensions (K, C/groups, *kernel) for a "
                         f"{nd}-D convolution, got shape {tuple(w.shape)}")
    if 0 in w.shape[2:]:
        raise ValueError(f"{name} has an empty kernel axis: shape {tuple(w.shape)}")


def _geometry(nd, spatial, kernel_shape, stride, padding, dilation):
    """Per-dimension kernel/stride/dilation, ``(before, after)`` pads and output sizes."""
    kernel, stride, dilation = window_args(nd, kernel_shape, stride, dilation)
    pads = resolve_padding(padding, spatial, kernel, stride, dilation)
    out = tuple(conv_output_size(n, k, s, p, d)
                for n, k, s, p, d in zip(spatial, kernel, stride, pads, dilation, strict=True))
    return kernel, stride, dilation, pads, out


def _launch_args(nd, stride, pads, dilation):
    return _to3(stride, 1), _to3(tuple(p[0] for p in pads), 0), _to3(dilation, 1)


def _bias(bias, k, backend, dtype, name="bias"):
    if bias is None:
        return None
    b = asarray(bias, name, backend, dtype)
    if b.ndim != 1 or b.shape[0] != k:
        raise ValueError(f"{name} must have shape ({k},) (one value per output channel), "
                         f"got {tuple(b.shape)}")
    return b


def _arrays(backend, dtype, **named):
    return {n: asarray(a, n, backend, dtype) for n, a in named.items()}


# ----------------------------------------------------------------------------------------------
# forward


def _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode):
    backend = backend_of(x=x, weight=weight, bias=bias)
    dts = [dtype_of(x, "x"), dtype_of(weight, "weight")]
    if bias is not None:
        dts.append(dtype_of(bias, "bias"))
    dtype = float_dtype(*dts)
    a = _arrays(backend, dtype, x=x, weight=weight)
    xb, unb = split_batch(a["x"], nd)
    w = a["weight"]
    _check_weight(w, nd)
    groups = _check_groups(groups, xb.shape[1], w.shape)
    b = _bias(bias, w.shape[0], backend, dtype)
    mode = padspec.resolve_mode(padding_mode, "padding_mode")
    spatial = tuple(xb.shape[2:])
    if 0 in spatial:
        raise ValueError(f"x has an empty spatial axis: shape {tuple(a['x'].shape)}")
    kernel, stride, dilation, pads, out_sp = _geometry(nd, spatial, w.shape[2:], stride,
                                                       padding, dilation)
    if mode != "constant" and any(p != (0, 0) for p in pads):
        widths = ((0, 0), (0, 0)) + pads
        maps, offsets = padspec.index_maps(xb.shape, widths, mode)
        cvals = padspec.resolve_constant_values(0, xb.ndim, dtype)
        padded = empty(backend, padspec.padded_shape(xb.shape, widths), dtype)
        kernels("padding", backend).pad(xb, padded, maps, offsets, cvals, widths[-1][0])
        xb = padded
        pads = ((0, 0),) * nd
    out = empty(backend, (xb.shape[0], w.shape[0]) + out_sp, dtype)
    s3, l3, d3 = _launch_args(nd, stride, pads, dilation)
    kernels(_FAMILY, backend).conv_forward(_as5(xb, nd), _as5(w, nd), b, _as5(out, nd),
                                           s3, l3, d3, groups)
    return unbatch(out, unb)


_FORWARD_DOC = """{nd}-D convolution (cross-correlation), PyTorch's ``F.conv{nd}d`` semantics.

    Parameters
    ----------
    x : array_like or CUDA array
        Input ``(N, C, {sp})`` or unbatched ``(C, {sp})``. Integers and bools
        compute in float64; float32 stays float32 (the fast path).
    weight : array_like or CUDA array
        Filters ``(K, C/groups, {ksp})``.
    bias : array_like, optional
        ``(K,)``, added to each output channel.
    stride, dilation : int or tuple of {nd} ints, optional
        Step between windows and spacing between kernel taps (>= 1).
    padding : int, tuple or str, optional
        An int (every side), one int per dimension, one ``(before, after)``
        pair per dimension, ``'valid'``, ``'same'`` (TensorFlow's rule for any
        stride: output ``ceil(n / stride)``, extra padding after){causal}.
    groups : int, optional
        Split input and output channels into ``groups`` independent
        convolutions (``groups == C`` with ``K == C`` is depthwise).
    padding_mode : str, optional
        ``'zeros'``, ``'reflect'`` (edge not repeated), ``'replicate'``,
        ``'circular'`` or ``'symmetric'`` (edge repeated); numpy.pad's names
        are accepted too.

    Returns
    -------
    ndarray or CUDA array
        ``(N, K, {osp})`` (unbatched input: no ``N``), each size given by
        :func:`numbaconv.conv_output_size`.

    Raises
    ------
    ValueError
        On inconsistent shapes, channels not divisible by ``groups``, an
        unknown padding or mode, or an empty output.
    TypeError
        On non-integer knobs or non-numeric arrays.
"""


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           padding_mode: str = "zeros"):
    return _conv(1, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           padding_mode: str = "zeros"):
    return _conv(2, x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           padding_mode: str = "zeros"):
    return _conv(3, x, weight, bias, stride, padding, dilation, groups, padding_mode)


conv1d.__doc__ = _FORWARD_DOC.format(
    nd=1, sp="L", ksp="k", osp="L_out", causal=", or ``'causal'`` (all padding before)") + """
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
"""

conv2d.__doc__ = _FORWARD_DOC.format(nd=2, sp="H, W", ksp="kh, kw", osp="H_out, W_out",
                                     causal="") + """
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
"""

conv3d.__doc__ = _FORWARD_DOC.format(nd=3, sp="D, H, W", ksp="kd, kh, kw",
                                     osp="D_out, H_out, W_out", causal="") + """
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


# ----------------------------------------------------------------------------------------------
# gradients


def _shape_arg(shape, name, nd):
    if not isinstance(shape, Sequence | np.ndarray) or isinstance(shape, str):
        raise TypeError(f"{name} must be a sequence of ints (a shape), got {shape!r}")
    items = tuple(check_int(s, f"{name}[{i}]", 0) for i, s in enumerate(shape))
    if len(items) not in (nd + 1, nd + 2):
        raise ValueError(f"{name} must have {nd + 2} entries (N, C, *spatial) or {nd + 1} "
                         f"(C, *spatial) for a {nd}-D convolution, got {items}")
    return items


def _check_out_shape(g, expected, name="grad_output"):
    if tuple(g.shape) != tuple(expected):
        raise ValueError(f"{name} has shape {tuple(g.shape)}, but the convolution described "
                         f"by the other arguments produces {tuple(expected)}")


def _conv_input(nd, input_shape, weight, grad_output, stride, padding, dilation, groups):
    backend = backend_of(weight=weight, grad_output=grad_output)
    dtype = float_dtype(dtype_of(weight, "weight"), dtype_of(grad_output, "grad_output"))
    a = _arrays(backend, dtype, weight=weight, grad_output=grad_output)
    w = a["weight"]
    _check_weight(w, nd)
    shape = _shape_arg(input_shape, "input_shape", nd)
    unb = len(shape) == nd + 1
    full = (1,) + shape if unb else shape
    gb, g_unb = split_batch(a["grad_output"], nd, "grad_output")
    if g_unb != unb:
        raise ValueError(f"input_shape {shape} and grad_output of shape "
                         f"{tuple(a['grad_output'].shape)} disagree on having a batch axis")
    if min(full[2:]) < 1:
        raise ValueError(f"input_shape has an empty spatial axis: {shape}")
    groups = _check_groups(groups, full[1], w.shape)
    kernel, stride, dilation, pads, out_sp = _geometry(nd, full[2:], w.shape[2:], stride,
                                                       padding, dilation)
    _check_out_shape(gb, (full[0], w.shape[0]) + out_sp)
    dx = empty(backend, full, dtype)
    s3, l3, d3 = _launch_args(nd, stride, pads, dilation)
    kernels(_FAMILY, backend).conv_input_grad(_as5(gb, nd), _as5(w, nd), None, _as5(dx, nd),
                                              s3, l3, d3, groups)
    return unbatch(dx, unb)


def _conv_weight(nd, x, weight_shape, grad_output, stride, padding, dilation, groups):
    backend = backend_of(input=x, grad_output=grad_output)
    dtype = float_dtype(dtype_of(x, "input"), dtype_of(grad_output, "grad_output"))
    a = _arrays(backend, dtype, input=x, grad_output=grad_output)
    xb, unb = split_batch(a["input"], nd, "input")
    gb, g_unb = split_batch(a["grad_output"], nd, "grad_output")
    if g_unb != unb:
        raise ValueError(f"input of shape {tuple(a['input'].shape)} and grad_output of shape "
                         f"{tuple(a['grad_output'].shape)} disagree on having a batch axis")
    if not isinstance(weight_shape, Sequence | np.ndarray) or isinstance(weight_shape, str):
        raise TypeError(f"weight_shape must be a sequence of ints, got {weight_shape!r}")
    wshape = tuple(check_int(s, f"weight_shape[{i}]", 1) for i, s in enumerate(weight_shape))
    if len(wshape) != nd + 2:
        raise ValueError(f"weight_shape must have {nd + 2} entries (K, C/groups, *kernel), "
                         f"got {wshape}")
    groups = _check_groups(groups, xb.shape[1], wshape, "weight_shape")
    if 0 in xb.shape[2:]:
        raise ValueError(f"input has an empty spatial axis: shape {tuple(a['input'].shape)}")
    kernel, stride, dilation, pads, out_sp = _geometry(nd, tuple(xb.shape[2:]), wshape[2:],
                                                       stride, padding, dilation)
    _check_out_shape(gb, (xb.shape[0], wshape[0]) + out_sp)
    dw = empty(backend, wshape, dtype)
    s3, l3, d3 = _launch_args(nd, stride, pads, dilation)
    kernels(_FAMILY, backend).conv_weight_grad(_as5(xb, nd), _as5(gb, nd), _as5(dw, nd),
                                               s3, l3, d3, groups)
    return dw


_INPUT_DOC = """Gradient of :func:`numbaconv.conv{nd}d` with respect to its input.

    PyTorch's ``torch.nn.grad.conv{nd}d_input``: the adjoint of the
    convolution, ``<conv(x, w), g> == <x, conv{nd}d_input(x.shape, w, g)>``.

    Parameters
    ----------
    input_shape : sequence of int
        Shape of the forward input, ``(N, C, {sp})`` or ``(C, {sp})``.
    weight : array_like or CUDA array
        The forward filters ``(K, C/groups, {ksp})``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output.
    stride, padding, dilation, groups
        As in the forward call (every padding form, ``'same'`` included).

    Returns
    -------
    ndarray or CUDA array
        Array of ``input_shape``.
"""

_WEIGHT_DOC = """Gradient of :func:`numbaconv.conv{nd}d` with respect to its weight.

    PyTorch's ``torch.nn.grad.conv{nd}d_weight``:
    ``<conv(x, w), g> == <w, conv{nd}d_weight(x, w.shape, g)>``.

    Parameters
    ----------
    input : array_like or CUDA array
        The forward input ``(N, C, {sp})`` or ``(C, {sp})``.
    weight_shape : sequence of int
        ``(K, C/groups, {ksp})``.
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the forward output.
    stride, padding, dilation, groups
        As in the forward call.

    Returns
    -------
    ndarray or CUDA array
        Array of ``weight_shape``.
"""


def conv1d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1,
                 groups: int = 1):
    return _conv_input(1, input_shape, weight, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1,
                 groups: int = 1):
    return _conv_input(2, input_shape, weight, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_shape, weight, grad_output, stride=1, padding=0, dilation=1,
                 groups: int = 1):
    return _conv_input(3, input_shape, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1,  # noqa: A002
                  groups: int = 1):
    return _conv_weight(1, input, weight_shape, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1,  # noqa: A002
                  groups: int = 1):
    return _conv_weight(2, input, weight_shape, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_shape, grad_output, stride=1, padding=0, dilation=1,  # noqa: A002
                  groups: int = 1):
    return _conv_weight(3, input, weight_shape, grad_output, stride, padding, dilation, groups)


conv1d_input.__doc__ = _INPUT_DOC.format(nd=1, sp="L", ksp="k") + """
    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> w = np.array([[[1.0, 2.0]]])
    >>> grad.conv1d_input((1, 3), w, np.array([[1.0, 10.0]]))
    array([[ 1., 12., 20.]])
"""
conv2d_input.__doc__ = _INPUT_DOC.format(nd=2, sp="H, W", ksp="kh, kw") + """
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
conv3d_input.__doc__ = _INPUT_DOC.format(nd=3, sp="D, H, W", ksp="kd, kh, kw") + """
    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> w = np.ones((1, 1, 1, 1, 2))
    >>> grad.conv3d_input((1, 1, 1, 3), w, np.ones((1, 1, 1, 2)))
    array([[[[1., 2., 1.]]]])
"""
conv1d_weight.__doc__ = _WEIGHT_DOC.format(nd=1, sp="L", ksp="k") + """
    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.array([[1.0, 2.0, 3.0]])
    >>> grad.conv1d_weight(x, (1, 1, 2), np.array([[1.0, 10.0]]))
    array([[[21., 32.]]])
"""
conv2d_weight.__doc__ = _WEIGHT_DOC.format(nd=2, sp="H, W", ksp="kh, kw") + """
    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> grad.conv2d_weight(x, (1, 1, 2, 2), np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
"""
conv3d_weight.__doc__ = _WEIGHT_DOC.format(nd=3, sp="D, H, W", ksp="kd, kh, kw") + """
    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.arange(3.0).reshape(1, 1, 1, 3)
    >>> grad.conv3d_weight(x, (1, 1, 1, 1, 2), np.ones((1, 1, 1, 2)))
    array([[[[[1., 3.]]]]])
"""


def conv_bias(grad_output, unbatched: bool = False):
    """Gradient of a convolution's bias: ``grad_output`` summed over batch and space.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        ``(N, K, *spatial)``, or ``(K, *spatial)`` with ``unbatched=True``.
    unbatched : bool, optional
        Whether ``grad_output`` lacks the batch axis.

    Returns
    -------
    ndarray or CUDA array
        ``(K,)``, accumulated in float64 and returned in the computation dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> g = np.ones((2, 3, 4, 4), dtype=np.float32)
    >>> grad.conv_bias(g)
    array([32., 32., 32.], dtype=float32)
    >>> grad.conv_bias(np.ones((3, 5)), unbatched=True)
    array([5., 5., 5.])
    """
    backend = backend_of(grad_output=grad_output)
    dtype = float_dtype(dtype_of(grad_output, "grad_output"))
    g = asarray(grad_output, "grad_output", backend, dtype)
    if not isinstance(unbatched, bool | np.bool_):
        raise TypeError(f"unbatched must be a bool, got {unbatched!r}")
    need = 1 if unbatched else 2
    if g.ndim < need:
        raise ValueError(f"grad_output must have at least {need} dimensions "
                         f"({'(K, *spatial)' if unbatched else '(N, K, *spatial)'}), "
                         f"got shape {tuple(g.shape)}")
    if unbatched:
        g = g.reshape((1,) + tuple(g.shape))
    k = g.shape[1]
    rest = int(np.prod(g.shape[2:], dtype=np.int64))
    db = empty(backend, (k,), dtype)
    kernels(_FAMILY, backend).conv_bias_grad(g.reshape(g.shape[0], k, rest), db)
    return db


# ----------------------------------------------------------------------------------------------
# transposed convolution


def _conv_transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    backend = backend_of(x=x, weight=weight, bias=bias)
    dts = [dtype_of(x, "x"), dtype_of(weight, "weight")]
    if bias is not None:
        dts.append(dtype_of(bias, "bias"))
    dtype = float_dtype(*dts)
    a = _arrays(backend, dtype, x=x, weight=weight)
    xb, unb = split_batch(a["x"], nd)
    w = a["weight"]
    _check_weight(w, nd)
    groups = _check_groups(groups, xb.shape[1], w.shape, transposed=True)
    c_out = w.shape[1] * groups
    b = _bias(bias, c_out, backend, dtype)
    spatial = tuple(xb.shape[2:])
    if 0 in spatial:
        raise ValueError(f"x has an empty spatial axis: shape {tuple(a['x'].shape)}")
    if isinstance(padding, str):
        raise ValueError(f"padding must be an int, one int per dimension or one (before, after) "
                         f"pair per dimension for a transposed convolution; got {padding!r}")
    kernel, stride, dilation = window_args(nd, w.shape[2:], stride, dilation)
    pads = resolve_padding(padding, spatial, kernel, stride, dilation, words=())
    ops = int_tuple(output_padding, nd, "output_padding", 0)
    out_sp = []
    for i in range(nd):
        m = conv_transpose_output_size(spatial[i], kernel[i], stride[i], pads[i], dilation[i],
                                       ops[i])
        if conv_output_size(m, kernel[i], stride[i], pads[i], dilation[i]) != spatial[i]:
            raise ValueError(f"padding {pads[i]} is too large for axis {i}: the transposed "
                             f"output would have length {m}")
        out_sp.append(m)
    out = empty(backend, (xb.shape[0], c_out) + tuple(out_sp), dtype)
    s3, l3, d3 = _launch_args(nd, stride, pads, dilation)
    kernels(_FAMILY, backend).conv_input_grad(_as5(xb, nd), _as5(w, nd), b, _as5(out, nd),
                                              s3, l3, d3, groups)
    return unbatch(out, unb)


_TRANSPOSE_DOC = """{nd}-D transposed convolution, PyTorch's ``F.conv_transpose{nd}d``.

    The adjoint of :func:`numbaconv.conv{nd}d` (it runs the input-gradient
    kernels): each input element scatters ``weight`` into the output.

    Parameters
    ----------
    x : array_like or CUDA array
        ``(N, C_in, {sp})`` or unbatched ``(C_in, {sp})``.
    weight : array_like or CUDA array
        ``(C_in, C_out/groups, {ksp})``.
    bias : array_like, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of {nd} ints, optional
    padding : int, tuple of {nd} ints or of {nd} (before, after) pairs, optional
        Removed from each side of the full output (``dilation*(k-1) - padding``
        zeros are added to the input in the equivalent direct convolution).
    output_padding : int or tuple of {nd} ints, optional
        Extra length after the output, smaller than the stride or dilation.
    groups : int, optional

    Returns
    -------
    ndarray or CUDA array
        ``(N, C_out, ...)`` with lengths
        ``(n - 1)*stride - before - after + dilation*(k - 1) + output_padding + 1``.
"""


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(1, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(2, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(3, x, weight, bias, stride, padding, output_padding, groups, dilation)


conv_transpose1d.__doc__ = _TRANSPOSE_DOC.format(nd=1, sp="L", ksp="k") + """
    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.conv_transpose1d(np.array([[1.0, 10.0]]), np.array([[[1.0, 2.0]]]), stride=2)
    array([[ 1.,  2., 10., 20.]])
"""
conv_transpose2d.__doc__ = _TRANSPOSE_DOC.format(nd=2, sp="H, W", ksp="kh, kw") + """
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
conv_transpose3d.__doc__ = _TRANSPOSE_DOC.format(nd=3, sp="D, H, W", ksp="kd, kh, kw") + """
    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.conv_transpose3d(np.ones((2, 1, 1, 1)), np.ones((2, 3, 1, 1, 2)), bias=[0, 1, 2]).shape
    (3, 1, 1, 2)
"""

