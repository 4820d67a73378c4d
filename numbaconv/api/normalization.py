"""Public normalisation API: batch normalisation and its gradients.

PyTorch's ``torch.nn.functional.batch_norm`` semantics and argument order, channels along
axis 1 of ``(N, C)`` or ``(N, C, *spatial)`` input (1 to 3 spatial axes), or along the last
axis with ``data_format='channels_last'`` (Keras' ``BatchNormalization(axis=-1)`` layout), on
CPU and GPU.

.. warning::

   ``batch_norm(..., training=True)`` **updates** ``running_mean`` and ``running_var``
   **in place**, as PyTorch does. It is the one exception to numbaconv's rule that inputs
   are never modified. Pass ``running_mean=None, running_var=None`` to normalise with the
   batch statistics and update nothing.

Statistics are accumulated in float64 in a fixed order (deterministic, independent of the
thread count), each block of values summed about its first value and, where that value
lies far out, again about the block's mean (the corrected two-pass sums); every element is
normalised in float64 and rounded once to the computation dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.dispatch import asarray, backend_of, empty, kernels, memory
from ..core.normalization import BatchNormSpec, batch_norm_spec
from ..core.operands import dtype_of, float_dtype
from ..core.out import finish_out, prepare_out, ready_out
from ..core.validate import check_same_shape
from ..typing import Array, ArrayLike

__all__ = ["batch_norm"]
__grad_all__ = ["batch_norm_input", "batch_norm_weight", "batch_norm_bias",
                "batch_norm_backward"]

_FAMILY = "normalization"
_F64 = np.dtype(np.float64)
_FLOATS = (np.dtype(np.float32), _F64)
_NONE64 = np.empty(0, _F64)  # "no weight / bias" for the host kernels (never written)
_NONE = {np.dtype(np.float32): np.empty(0, np.float32), _F64: _NONE64}


def _plain_vectors(arrays, dtypes, c) -> bool:
    """Whether each of ``arrays`` is None or a NumPy array of shape ``c`` and a dtype of
    ``dtypes``, C-contiguous, aligned and writeable (``flags.carray``): what the host fast
    paths pass straight to the kernels (a read-only or strided one would compile the
    kernels again for its Numba type)."""
    for a in arrays:  # (a loop, not all() over a generator: half the time of a tiny call)
        if a is not None and not (type(a) is np.ndarray and a.dtype in dtypes
                                  and a.shape == c and a.flags.carray):
            return False
    return True


_HOST = None


def _host():
    """The CPU normalisation kernels (looked up once)."""
    global _HOST
    _HOST = kernels(_FAMILY, "cpu")
    return _HOST


def _none_like(a, dtype):
    """``a``, or for None the empty array of ``dtype`` that means "none" to the kernels."""
    return _NONE[dtype] if a is None else a


# ------------------------------------------------------------------------------ helpers


def _channel_param(a, name: str, spec: BatchNormSpec, backend: str):
    """A weight or bias as a float64 ``(C,)`` array; an empty array for None."""
    if a is None:
        return empty(backend, (0,), _F64)
    dtype_of(a, name, "biuf")
    arr = asarray(a, name, backend, _F64)
    if tuple(arr.shape) != (spec.channels,):
        raise ValueError(f"{name} must have shape ({spec.channels},), one value per channel of "
                         f"x (axis {spec.channel_axis} of shape {spec.shape}); got shape "
                         f"{tuple(arr.shape)}")
    return arr


def _check_running(a, name: str, spec: BatchNormSpec, backend: str) -> None:
    """A running statistic that ``training=True`` updates in place: a writeable float array."""
    mem = memory(backend)
    if not mem.is_out_array(a):
        kind = "a NumPy array" if backend == "cpu" else "a CUDA array (x is on the GPU)"
        raise TypeError(f"{name} must be {kind} of shape ({spec.channels},): training=True "
                        f"updates it in place; got {type(a).__name__}")
    dtype = dtype_of(a, name, "f")
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64 to be updated in place, got {dtype}")
    if tuple(a.shape) != (spec.channels,):
        raise ValueError(f"{name} must have shape ({spec.channels},), one value per channel of "
                         f"x (axis {spec.channel_axis} of shape {spec.shape}); got shape "
                         f"{tuple(a.shape)}")
    if not mem.is_writeable(a):
        raise ValueError(f"{name} is read-only, but training=True updates it in place")


def _running_pair(running_mean, running_var) -> bool:
    """Whether running statistics were given (both or neither, as PyTorch requires)."""
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be None or both be arrays")
    return running_mean is not None


def _statistics(spec: BatchNormSpec, backend: str, x3, running_mean, running_var):
    """Float64 ``(mean, var)`` per channel: the batch's when training, else the running ones."""
    k = kernels(_FAMILY, backend)
    if spec.training:
        mean = empty(backend, (spec.channels,), _F64)
        var = empty(backend, (spec.channels,), _F64)
        if spec.channels:
            k.batch_stats(x3, mean, var)
        return mean, var
    if running_mean is None:
        raise ValueError("running_mean and running_var are required when training=False: "
                         "evaluation normalises with the running statistics")
    return (_running_stat(running_mean, "running_mean", spec, backend),
            _running_stat(running_var, "running_var", spec, backend))


def _running_stat(a, name: str, spec: BatchNormSpec, backend: str):
    """A running statistic to read: checked, as a float64 ``(C,)`` array."""
    dtype_of(a, name, "biuf")
    arr = asarray(a, name, backend, _F64)
    if tuple(arr.shape) != (spec.channels,):
        raise ValueError(f"{name} must have shape ({spec.channels},), one value per channel "
                         f"of x (axis {spec.channel_axis} of shape {spec.shape}); got shape "
                         f"{tuple(arr.shape)}")
    return arr


def _update_running(spec: BatchNormSpec, backend: str, running_mean, running_var, mean, var):
    """The in-place update of the caller's running statistics (a scratch copy when strided)."""
    mem = memory(backend)
    targets = []
    for a in (running_mean, running_var):
        targets.append(a if mem.is_writable_c(a) else asarray(a, "running", backend, a.dtype))
    kernels(_FAMILY, backend).update_running(targets[0], targets[1], mean, var, spec.momentum,
                                             spec.count)
    for a, t in zip((running_mean, running_var), targets, strict=True):
        if t is not a:
            mem.copy_into(a, t)


def _grad_operands(grad_output, x, weight, training, eps, data_format):
    """Backend, dtype, spec and the normalised ``(outer, C, inner)`` views of a gradient."""
    backend = backend_of(grad_output=grad_output, x=x, weight=weight)
    dts = [dtype_of(grad_output, "grad_output"), dtype_of(x, "x")]
    if weight is not None:
        dts.append(dtype_of(weight, "weight"))
    dtype = float_dtype(*dts)
    xa = asarray(x, "x", backend, dtype)
    g = asarray(grad_output, "grad_output", backend, dtype)
    spec = batch_norm_spec(tuple(xa.shape), training, 0.1, eps, data_format)
    check_same_shape(g.shape, spec.shape)
    return backend, dtype, spec, g.reshape(spec.shape3), xa.reshape(spec.shape3)


def _sums(spec, backend, g3, x3, mean):
    sum_g = empty(backend, (spec.channels,), _F64)
    sum_gx = empty(backend, (spec.channels,), _F64)
    if spec.channels:
        kernels(_FAMILY, backend).backward_sums(g3, x3, mean, sum_g, sum_gx)
    return sum_g, sum_gx


def _backward(grad_output, x, running_mean, running_var, weight, training, eps, data_format,
              out, want) -> tuple[Any, Any, Any]:
    """The gradients ``want`` = (input, weight, bias) asks for, into ``out``'s arrays."""
    backend, dtype, spec, g3, x3 = _grad_operands(grad_output, x, weight, training, eps,
                                                  data_format)
    if _running_pair(running_mean, running_var) and spec.training:  # unused, but checked
        _running_stat(running_mean, "running_mean", spec, backend)
        _running_stat(running_var, "running_var", spec, backend)
    w = _channel_param(weight, "weight", spec, backend)
    want_x, want_w, want_b = want
    c = (spec.channels,)
    inputs = {"grad_output": grad_output, "x": x}
    dsts: list[Any] = [prepare_out(out[0], backend, spec.shape, dtype, inputs=inputs, name="out[0]",
                        elementwise=True) if want_x else None,
            prepare_out(out[1], backend, c, dtype, inputs=inputs, name="out[1]")
            if want_w else None,
            prepare_out(out[2], backend, c, dtype, inputs=inputs, name="out[2]")
            if want_b else None]
    k = kernels(_FAMILY, backend)
    if spec.training:  # the batch statistics and g's sums in one pass over each block
        mean, var, sum_g, sum_gx = (empty(backend, c, _F64) for _ in range(4))
        if spec.channels:
            k.backward_stats(g3, x3, mean, var, sum_g, sum_gx)
    else:
        mean, var = _statistics(spec, backend, x3, running_mean, running_var)
        if want_w or want_b:
            sum_g, sum_gx = _sums(spec, backend, g3, x3, mean)
        else:  # evaluation's input gradient is g * w / sigma: no reduction needed
            sum_g = sum_gx = mean
    if spec.channels and (want_w or want_b):
        none = empty(backend, (0,), dtype)
        k.channel_grads(sum_g, sum_gx, var, spec.eps,
                        dsts[1] if want_w else none, dsts[2] if want_b else none)
    if want_x and x3.size:
        k.backward_input(g3, x3, mean, var, w, sum_g, sum_gx, spec.eps, spec.training,
                         dsts[0].reshape(spec.shape3))
    gx, gw, gb = (finish_out(o, d) if d is not None else None
                  for o, d in zip(out, dsts, strict=True))
    return gx, gw, gb


def _host_backward(grad_output, x, running_mean, running_var, weight, training, eps,
                   data_format, out):
    """:func:`batch_norm_backward` for a training step's small host call, recognised in a
    few attribute reads: C-contiguous float32/float64 ``grad_output`` and ``x`` of one shape
    and dtype, a ``(C,)`` NumPy weight of that dtype (or None), running statistics (unused
    when training) None or float NumPy ``(C,)`` arrays, no parameter-gradient
    ``out`` and an input-gradient ``out`` that is None, ``grad_output`` itself or ready to
    write. Under the kernels' serial size one kernel call computes the general path's sums
    in its order (a (1, 32, 28, 28) map: 39 -> 19 us); above it the general path's kernels
    run without its conversions and checks ((100, 64, 12, 12) float32: 524 -> 438 us). None
    for any other call."""
    if training is not True or type(x) is not np.ndarray or type(grad_output) is not np.ndarray:
        return None
    dtype = x.dtype
    if (dtype not in _FLOATS or grad_output.dtype is not dtype or grad_output.shape != x.shape
            or not (x.flags.carray and grad_output.flags.carray)
            or out[1] is not None or out[2] is not None):
        return None
    gx = out[0]
    if gx is not None and not (gx is grad_output or ready_out(gx, x, (grad_output,))):
        return None
    spec = batch_norm_spec(x.shape, True, 0.1, eps, data_format)
    c = (spec.channels,)
    if not (_plain_vectors((weight,), (dtype,), c)
            and _plain_vectors((running_mean, running_var), _FLOATS, c)):
        return None
    if gx is None:
        gx = np.empty(x.shape, dtype)
    gw, gb = np.empty(spec.channels, dtype), np.empty(spec.channels, dtype)
    host = _HOST or _host()
    g3, x3, gx3 = grad_output.reshape(spec.shape3), x.reshape(spec.shape3), gx.reshape(spec.shape3)
    if host.backward_small(g3, x3, _none_like(weight, dtype), spec.eps, gx3, gw, gb):
        return gx, gw, gb
    # a larger call: the general path's kernels, without its conversions and checks
    mean, var, sum_g, sum_gx = (np.empty(c, _F64) for _ in range(4))
    if spec.channels:
        host.backward_stats(g3, x3, mean, var, sum_g, sum_gx)
        host.channel_grads(sum_g, sum_gx, var, spec.eps, gw, gb)
    if x.size:
        host.backward_input(g3, x3, mean, var, _NONE64 if weight is None else weight.astype(_F64),
                            sum_g, sum_gx, spec.eps, True, gx3)
    return gx, gw, gb


# ------------------------------------------------------------------------------ forward


def _host_batch_norm(x: np.ndarray, running_mean, running_var, weight, bias, training,
                     momentum, eps, data_format, out):
    """:func:`batch_norm` for the common host call, recognised in a few attribute reads: a
    C-contiguous float32/float64 ``x``, ``(C,)`` NumPy weight and bias of its dtype (or None),
    float NumPy running statistics, ``out`` None or ready to write. None for any other call,
    which the general path converts, checks and explains (a training step's batch norm of
    a (1, 32, 28, 28) map: 45 -> 13 us, the kernel 8 of it)."""
    dtype = x.dtype
    if dtype not in _FLOATS or not x.flags.carray:  # (C-contiguous, aligned, writeable)
        return None
    if running_mean is None or running_var is None:
        return None
    if out is not None and not ready_out(out, x, (running_mean, running_var)):
        return None
    spec = batch_norm_spec(x.shape, training, momentum, eps, data_format)
    c = (spec.channels,)
    if not (_plain_vectors((weight, bias), (dtype,), c)
            and _plain_vectors((running_mean, running_var), _FLOATS, c)):
        return None
    host = _HOST or _host()
    dst = np.empty_like(x) if out is None else out
    if not spec.training and host.normalize_small(
            x, running_mean, running_var, _none_like(weight, dtype), _none_like(bias, dtype),
            spec.eps, dst, spec.channels, spec.inner):
        return dst  # (an inference-sized call: one kernel, no float64 copies)
    x3 = x.reshape(spec.shape3)
    if spec.training:
        mean, var = np.empty(c, _F64), np.empty(c, _F64)
        if spec.channels:
            host.batch_stats(x3, mean, var)
            host.update_running(running_mean, running_var, mean, var, spec.momentum, spec.count)
    else:
        mean, var = running_mean.astype(_F64), running_var.astype(_F64)
    if x.size:
        host.normalize(x3, mean, var, _NONE64 if weight is None else weight.astype(_F64),
                       _NONE64 if bias is None else bias.astype(_F64), spec.eps,
                       dst.reshape(spec.shape3))
    return dst


def batch_norm(x: ArrayLike, running_mean: ArrayLike | None, running_var: ArrayLike | None,
               weight: ArrayLike | None = None, bias: ArrayLike | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5, *,
               data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Batch normalisation, ``torch.nn.functional.batch_norm`` semantics.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1, or the last
    axis with ``data_format='channels_last'``). With
    ``training=True``, ``mean`` and ``var`` are the batch's (over the batch and spatial
    axes; the biased variance) and the running statistics, when given, are **updated in
    place**::

        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)

    (the *unbiased* variance, ``n`` values per channel), exactly as PyTorch updates them.
    With ``training=False`` the running statistics normalise and nothing is modified.

    Parameters
    ----------
    x : array_like or CUDA array
        ``(N, C)`` or ``(N, C, *spatial)`` with 1 to 3 spatial axes (``'channels_last'``:
        ``(N, *spatial, C)``). Integers compute in float64; float32 stays float32.
    running_mean, running_var : array_like, CUDA array or None
        ``(C,)`` running statistics. Required when ``training=False``. When
        ``training=True`` they must be writeable float32/float64 arrays of ``x``'s backend
        (NumPy or CUDA), and **are modified in place** -- the one numbaconv function that
        writes to an argument other than ``out``; pass None for both to update nothing.
    weight, bias : array_like or CUDA array, optional
        ``(C,)`` affine scale (default 1) and shift (default 0).
    training : bool, optional
        Normalise with the batch statistics (and update the running ones) or with the
        running statistics (default).
    momentum : float, optional
        Weight of the batch statistic in the running update (default 0.1).
    eps : float, optional
        Added to the variance, >= 0 (default 1e-5).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channels are: axis 1 (PyTorch, default) or the last axis (Keras).
    out : ndarray or CUDA array, optional
        Array of ``x``'s shape and the computation dtype to write the result into (may be
        ``x`` itself).

    Returns
    -------
    ndarray or CUDA array
        The normalised ``x``, of ``x``'s shape.

    Raises
    ------
    ValueError
        On a shape that is not ``(N, C, *spatial)``, parameters or statistics not of shape
        ``(C,)``, one running statistic without the other, ``training=False`` without
        running statistics, a single value per channel when training, or a negative
        ``eps``.
    TypeError
        On non-numeric arrays, a running statistic that cannot be updated in place
        (not an array of ``x``'s backend, or not float32/float64), or a non-bool
        ``training``.

    See Also
    --------
    numbaconv.grad.batch_norm_backward : all three gradients in one pass.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])         # (N=2, C=2)
    >>> rm, rv = np.zeros(2), np.ones(2)
    >>> nc.batch_norm(x, rm, rv, training=True, eps=0.0)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> rm, rv                                          # updated in place
    (array([0.2, 0.4]), array([1.1, 1.7]))
    >>> nc.batch_norm(x, rm, rv, weight=[2.0, 1.0], bias=[0.0, 1.0], eps=0.0).round(3)
    array([[1.526, 2.227],
           [5.339, 5.295]])
    """
    if type(x) is np.ndarray:
        y = _host_batch_norm(x, running_mean, running_var, weight, bias, training, momentum,
                             eps, data_format, out)
        if y is not None:
            return y
    backend = backend_of(x=x, running_mean=running_mean, running_var=running_var,
                         weight=weight, bias=bias)
    dts = [dtype_of(x, "x")] + [dtype_of(a, n) for a, n in ((weight, "weight"), (bias, "bias"))
                                if a is not None]
    dtype = float_dtype(*dts)
    arr = asarray(x, "x", backend, dtype)
    spec = batch_norm_spec(tuple(arr.shape), training, momentum, eps, data_format)
    has_running = _running_pair(running_mean, running_var)
    if spec.training and has_running:
        _check_running(running_mean, "running_mean", spec, backend)
        _check_running(running_var, "running_var", spec, backend)
    w = _channel_param(weight, "weight", spec, backend)
    b = _channel_param(bias, "bias", spec, backend)
    dst: Any = prepare_out(out, backend, spec.shape, dtype, elementwise=True,
                      inputs={"x": x, "running_mean": running_mean, "running_var": running_var})
    x3 = arr.reshape(spec.shape3)
    mean, var = _statistics(spec, backend, x3, running_mean, running_var)
    if spec.training and has_running and spec.channels:
        _update_running(spec, backend, running_mean, running_var, mean, var)
    if arr.size:
        kernels(_FAMILY, backend).normalize(x3, mean, var, w, b, spec.eps,
                                            dst.reshape(spec.shape3))
    return finish_out(out, dst)


# ------------------------------------------------------------------------------ gradients


def batch_norm_input(grad_output: ArrayLike, x: ArrayLike, running_mean: ArrayLike | None,
                     running_var: ArrayLike | None, weight: ArrayLike | None = None,
                     training: bool = False, eps: float = 1e-5, *,
                     data_format: str = "channels_first", out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.batch_norm` with respect to its input ``x``.

    Pass the forward call's ``x``, statistics, ``weight``, ``training`` and ``eps``. With
    ``training=True`` the gradient flows through the batch mean and variance too
    (recomputed from ``x``; the running statistics are not used and may be None)::

        grad_x = w / sigma * (g - mean(g) - xhat * mean(g * xhat)),  xhat = (x - mu) / sigma

    per channel, ``sigma = sqrt(var + eps)``. With ``training=False`` the statistics are
    constants: ``grad_x = g * w / sqrt(running_var + eps)``.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the output, of ``x``'s shape.
    x : array_like or CUDA array
        The forward input ``(N, C, *spatial)``.
    running_mean, running_var : array_like, CUDA array or None
        The forward call's running statistics (read only here; needed when
        ``training=False``).
    weight : array_like or CUDA array, optional
        The forward call's ``(C,)`` weight (default 1).
    training, eps, data_format :
        As in the forward call.
    out : ndarray or CUDA array, optional
        Array of ``x``'s shape and the computation dtype to write into.

    Returns
    -------
    ndarray or CUDA array
        Of ``x``'s shape.

    Raises
    ------
    ValueError
        As :func:`numbaconv.batch_norm`, and when ``grad_output`` and ``x`` differ in shape.

    See Also
    --------
    batch_norm_backward : the input, weight and bias gradients in one pass (what a training
        step wants: the two reductions this function needs are the other two gradients).

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.array([[1.0], [3.0]])
    >>> grad.batch_norm_input(np.array([[1.0], [0.0]]), x, None, None, training=True, eps=0.0)
    array([[0.],
           [0.]])
    >>> grad.batch_norm_input(np.ones((2, 1)), x, np.zeros(1), np.full(1, 4.0), eps=0.0)
    array([[0.5],
           [0.5]])
    """
    return _backward(grad_output, x, running_mean, running_var, weight, training, eps,
                     data_format, (out, None, None), (True, False, False))[0]


def batch_norm_weight(grad_output: ArrayLike, x: ArrayLike, running_mean: ArrayLike | None,
                      running_var: ArrayLike | None, training: bool = False, eps: float = 1e-5,
                      *, data_format: str = "channels_first",
                      out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.batch_norm` with respect to ``weight``.

    ``sum(grad_output * xhat)`` per channel, with ``xhat = (x - mean) / sqrt(var + eps)``
    the normalised input (batch statistics when ``training=True``, else the running ones);
    the weight itself does not enter. Accumulated in float64.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the output, of ``x``'s shape.
    x : array_like or CUDA array
        The forward input ``(N, C, *spatial)``.
    running_mean, running_var : array_like, CUDA array or None
        The forward call's running statistics (needed when ``training=False``).
    training, eps, data_format :
        As in the forward call.
    out : ndarray or CUDA array, optional
        ``(C,)`` array of the computation dtype to write into.

    Returns
    -------
    ndarray or CUDA array
        ``(C,)``.

    Raises
    ------
    ValueError
        As :func:`batch_norm_input`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.array([[1.0], [3.0]])
    >>> grad.batch_norm_weight(np.array([[1.0], [0.0]]), x, None, None, training=True, eps=0.0)
    array([-1.])
    """
    return _backward(grad_output, x, running_mean, running_var, None, training, eps,
                     data_format, (None, out, None), (False, True, False))[1]


def batch_norm_bias(grad_output: ArrayLike, *, data_format: str = "channels_first",
                    out: Array | None = None) -> Array:
    """Gradient of :func:`numbaconv.batch_norm` with respect to ``bias``.

    ``grad_output`` summed over every axis but the channels (axis 1, or the last with
    ``data_format='channels_last'``), in float64.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        ``(N, C)`` or ``(N, C, *spatial)`` (``'channels_last'``: ``(N, *spatial, C)``).
    data_format : {'channels_first', 'channels_last'}, optional
        Where the channels are: axis 1 (PyTorch, default) or the last axis (Keras).
    out : ndarray or CUDA array, optional
        ``(C,)`` array of the computation dtype to write into.

    Returns
    -------
    ndarray or CUDA array
        ``(C,)``.

    Raises
    ------
    ValueError
        When ``grad_output`` is not ``(N, C, *spatial)`` with up to 3 spatial axes.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> grad.batch_norm_bias(np.ones((2, 3, 4), dtype=np.float32))
    array([8., 8., 8.], dtype=float32)
    """
    backend = backend_of(grad_output=grad_output)
    dtype = float_dtype(dtype_of(grad_output, "grad_output"))
    g = asarray(grad_output, "grad_output", backend, dtype)
    spec = batch_norm_spec(tuple(g.shape), False, 0.1, 1e-5, data_format, name="grad_output")
    dst = prepare_out(out, backend, (spec.channels,), dtype, inputs={"grad_output": grad_output})
    total = empty(backend, (spec.channels,), _F64)
    k = kernels(_FAMILY, backend)
    if spec.channels:
        k.channel_sum(g.reshape(spec.shape3), total)
        k.channel_grads(total, total, total, 0.0, empty(backend, (0,), dtype), dst)
    return finish_out(out, dst)


def batch_norm_backward(grad_output: ArrayLike, x: ArrayLike, running_mean: ArrayLike | None,
                        running_var: ArrayLike | None, weight: ArrayLike | None = None,
                        training: bool = False, eps: float = 1e-5, *,
                        data_format: str = "channels_first",
                        out: tuple[Array | None, Array | None, Array | None] | None = None
                        ) -> tuple[Array, Array, Array]:
    """All three gradients of :func:`numbaconv.batch_norm` in one pass: what a training step
    calls (PyTorch's autograd computes the same triple in one backward node).

    The input gradient needs ``sum(g)`` and ``sum(g * xhat)`` per channel, which *are* the
    bias and weight gradients: computing them once serves all three.
    :func:`batch_norm_input`, :func:`batch_norm_weight` and :func:`batch_norm_bias` return one
    each (``torch.nn.grad`` style) when only one is wanted.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the output, of ``x``'s shape.
    x : array_like or CUDA array
        The forward input ``(N, C, *spatial)``.
    running_mean, running_var : array_like, CUDA array or None
        The forward call's running statistics (read only; needed when ``training=False``).
    weight : array_like or CUDA array, optional
        The forward call's ``(C,)`` weight (default 1).
    training, eps, data_format :
        As in the forward call.
    out : tuple of three arrays (or None entries), optional
        ``(grad_input, grad_weight, grad_bias)`` arrays to write into (NumPy's convention
        for several outputs); None entries are allocated.

    Returns
    -------
    (grad_input, grad_weight, grad_bias) : tuple of arrays
        Of ``x``'s shape, ``(C,)`` and ``(C,)``, in the computation dtype.
        ``grad_weight`` and ``grad_bias`` are returned also when the forward call had no
        weight or bias (they are what a weight of ones and a bias of zeros would receive).

    Raises
    ------
    ValueError
        As :func:`batch_norm_input`, or ``out`` not a tuple of three.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv import grad
    >>> x = np.array([[1.0], [3.0]])
    >>> gx, gw, gb = grad.batch_norm_backward(np.array([[1.0], [0.0]]), x, None, None,
    ...                                       training=True, eps=0.0)
    >>> gx.ravel(), gw, gb
    (array([0., 0.]), array([-1.]), array([1.]))
    """
    if out is None:
        out = (None, None, None)
    if not isinstance(out, tuple) or len(out) != 3:
        raise ValueError("out must be a tuple (grad_input, grad_weight, grad_bias) of arrays "
                         f"or None entries; got {out!r}")
    fast = _host_backward(grad_output, x, running_mean, running_var, weight, training, eps,
                          data_format, out)
    if fast is not None:
        return fast
    return _backward(grad_output, x, running_mean, running_var, weight, training, eps,
                     data_format, out, (True, True, True))

