"""Public activations API: activation functions, their derivatives, softmax and PReLU.

Every elementwise activation ``f`` comes in four forms, each its own function
below:

* ``f(x, **params)``: the activation (PyTorch's ``torch.nn.functional``
  names and default parameters);
* ``f_derivative(x, **params)``: ``f'(x)`` elementwise; at kinks the value
  PyTorch's autograd uses (``relu'(0) = 0``, ``leaky_relu'(0) =
  negative_slope``, ``elu'(0) = alpha``, ``hardtanh' = 0`` at the limits...);
* ``f_and_derivative(x, **params)``: ``(f(x), f'(x))`` in one pass over ``x``;
* ``f_backward(grad_output, x, **params)``: the vector-Jacobian product
  ``grad_output * f'(x)`` in one pass (what a backward pass needs).
Common rules: any shape; float32 in gives float32 out, float64 stays
float64, integer and bool inputs compute in float64; NaN in gives NaN out
(for derivatives too); the input is never modified; a CUDA array in gives a
CUDA array out. ``out=`` (keyword only) writes the result into an existing
array of the result's shape and dtype, which may be an input itself (in
place). The formulas are stable: sigmoid, softplus, log_sigmoid, softmax,
log_softmax, silu, mish, gelu, elu and selu stay finite and accurate for
``|x|`` up to 1e4 and beyond, and return their limits at +-inf.

Each public function validates its arguments and hands normalised arrays to
the backend's launcher (``numbaconv.cpu.activations`` or its CUDA twin); the
scalar formulas are written once in :mod:`numbaconv.scalar.activations`.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from ..core import validate
from ..core.dispatch import asarray, backend_of, is_cuda_array, kernels, memory
from ..core.operands import dtype_of, float_dtype
from ..core.out import finish_out, prepare_out, ready_out
from ..typing import Array, ArrayLike, CudaArray

__all__: list[str] = [
    "identity",
    "identity_derivative",
    "identity_and_derivative",
    "identity_backward",
    "step",
    "step_derivative",
    "step_and_derivative",
    "step_backward",
    "sigmoid",
    "sigmoid_derivative",
    "sigmoid_and_derivative",
    "sigmoid_backward",
    "tanh",
    "tanh_derivative",
    "tanh_and_derivative",
    "tanh_backward",
    "relu",
    "relu_derivative",
    "relu_and_derivative",
    "relu_backward",
    "relu6",
    "relu6_derivative",
    "relu6_and_derivative",
    "relu6_backward",
    "leaky_relu",
    "leaky_relu_derivative",
    "leaky_relu_and_derivative",
    "leaky_relu_backward",
    "elu",
    "elu_derivative",
    "elu_and_derivative",
    "elu_backward",
    "selu",
    "selu_derivative",
    "selu_and_derivative",
    "selu_backward",
    "celu",
    "celu_derivative",
    "celu_and_derivative",
    "celu_backward",
    "gelu",
    "gelu_derivative",
    "gelu_and_derivative",
    "gelu_backward",
    "silu",
    "silu_derivative",
    "silu_and_derivative",
    "silu_backward",
    "mish",
    "mish_derivative",
    "mish_and_derivative",
    "mish_backward",
    "softplus",
    "softplus_derivative",
    "softplus_and_derivative",
    "softplus_backward",
    "softsign",
    "softsign_derivative",
    "softsign_and_derivative",
    "softsign_backward",
    "hardtanh",
    "hardtanh_derivative",
    "hardtanh_and_derivative",
    "hardtanh_backward",
    "hardsigmoid",
    "hardsigmoid_derivative",
    "hardsigmoid_and_derivative",
    "hardsigmoid_backward",
    "hardswish",
    "hardswish_derivative",
    "hardswish_and_derivative",
    "hardswish_backward",
    "log_sigmoid",
    "log_sigmoid_derivative",
    "log_sigmoid_and_derivative",
    "log_sigmoid_backward",
    "prelu",
    "prelu_derivative",
    "prelu_and_derivative",
    "prelu_backward",
    "softmax",
    "log_softmax",
    "softmax_backward",
    "log_softmax_backward",
]
__grad_all__: list[str] = ["prelu_weight"]

_FAMILY = "activations"
#: dtype kinds the activations take: bool, integers (computed in float64) and floats
_REAL = "biuf"


# --------------------------------------------------------------------------- arguments


def _real(value, name: str, allow_inf: bool = False) -> float:
    """A real scalar parameter as a Python float, or an error naming it."""
    if type(value) is float and value - value == 0.0:  # the common case: a finite float
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                        np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type "
                        f"{type(value).__name__}")
    v = float(value)
    if v != v or (not allow_inf and abs(v) == math.inf):
        kind = "a real number (not NaN)" if allow_inf else "a finite real number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return v


def _nonzero(value, name: str, why: str) -> float:
    v = _real(value, name)
    if v == 0.0:
        raise ValueError(f"{name} must be non-zero ({why}), got {value!r}")
    return v


def _leaky_relu_params(negative_slope) -> tuple[float]:
    return (_real(negative_slope, "negative_slope"),)


def _elu_params(alpha) -> tuple[float]:
    return (_real(alpha, "alpha"),)


def _celu_params(alpha) -> tuple[float, float]:
    a = _nonzero(alpha, "alpha", "it divides x")
    return a, 1.0 / a  # the kernels scale x by 1 / alpha (PyTorch's input_scale)


def _softplus_params(beta, threshold) -> tuple[float, float]:
    return (_nonzero(beta, "beta", "it divides the result"),
            _real(threshold, "threshold", allow_inf=True))


def _hardtanh_params(min_val, max_val) -> tuple[float, float]:
    lo, hi = _real(min_val, "min_val"), _real(max_val, "max_val")
    if lo > hi:
        raise ValueError(f"hardtanh needs min_val <= max_val, got min_val={min_val!r} and "
                         f"max_val={max_val!r}")
    return lo, hi


def _gelu_name(approximate) -> str:
    """The kernel of gelu's form: 'gelu' (exact) or 'gelu_tanh'."""
    if approximate == "none":
        return "gelu"
    return "gelu_tanh" if validate.check_choice(approximate, "approximate",
                                                ("none", "tanh")) == "tanh" else "gelu"


# --------------------------------------------------------------------------- shared bodies


#: the dtypes a host array may have to reach a kernel as it is (NumPy's own native
#: float32/float64 descriptors: an identity test, the cheapest there is)
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_LAUNCHERS: dict = {}


def _kernels(backend: str):
    """The backend's launcher module (looked up once)."""
    k = _LAUNCHERS.get(backend)
    if k is None:
        k = _LAUNCHERS[backend] = kernels(_FAMILY, backend)
    return k

#: the CPU launchers once loaded (``import numbaconv`` imports no kernel module, nor Numba)
_HOST = None


def _host():
    global _HOST
    _HOST = _kernels("cpu")
    return _HOST


def _fresh_out(x):
    """A new output array for ``x`` if ``x`` can go to a CPU kernel as it is (a C-contiguous,
    writeable, native float32/float64 ndarray), else None: the fast path of a call without
    ``out``, which converts nothing and looks up no backend."""
    if type(x) is np.ndarray:
        dt = x.dtype
        if dt is _F64 or dt is _F32:  # (an equal but distinct dtype object: general path)
            flags = x.flags
            if flags.c_contiguous and flags.writeable:
                return np.empty_like(x)  # (C-contiguous: its layout; 0.15 us less than empty)
    return None


def _flat(a):
    """A flat view of a C-contiguous host or device array (``a`` itself if 1-d)."""
    if a.ndim == 1:
        return a
    return a.ravel() if type(a) is np.ndarray else a.reshape(a.size)


def _operand(x, name: str = "x"):
    """``(backend, x)``: ``x`` C-contiguous and native, in its floating computation dtype."""
    backend = backend_of(**{name: x})
    return backend, asarray(x, name, backend, float_dtype(dtype_of(x, name, _REAL)))


def _forward(name: str, x, out, params: tuple = ()):
    """``f(x)`` for the activation kernel ``name``, into ``out`` when given."""
    if type(x) is np.ndarray and (x.dtype is _F64 or x.dtype is _F32):
        flags = x.flags  # the fast path, as _fresh_out, written out: a call costs ~5% here
        if flags.c_contiguous and flags.writeable and (out is None or ready_out(out, x)):
            y = np.empty_like(x) if out is None else out  # (out may be x: in place)
            if x.ndim == 1:
                (_HOST or _host()).forward(name, x, y, params)
            else:
                xf = x.ravel()  # (in place: one flat view, which the launcher sees as such)
                (_HOST or _host()).forward(name, xf, xf if y is x else y.ravel(), params)
            return y
    backend, arr = _operand(x)
    dst = prepare_out(out, backend, arr.shape, arr.dtype, inputs={"x": x}, elementwise=True)
    xf = _flat(arr)
    _kernels(backend).forward(name, xf, xf if dst is arr else _flat(dst), params)
    return finish_out(out, dst)


def _derivative(name: str, x, out, params: tuple = ()):
    """``f'(x)`` for the activation kernel ``name``, into ``out`` when given."""
    if type(x) is np.ndarray and (x.dtype is _F64 or x.dtype is _F32):
        flags = x.flags  # the fast path, as _fresh_out, written out: a call costs ~5% here
        if flags.c_contiguous and flags.writeable and (out is None or ready_out(out, x)):
            y = np.empty_like(x) if out is None else out  # (out may be x: in place)
            if x.ndim == 1:
                (_HOST or _host()).derivative(name, x, y, params)
            else:
                xf = x.ravel()  # (in place: one flat view, which the launcher sees as such)
                (_HOST or _host()).derivative(name, xf, xf if y is x else y.ravel(), params)
            return y
    backend, arr = _operand(x)
    dst = prepare_out(out, backend, arr.shape, arr.dtype, inputs={"x": x}, elementwise=True)
    xf = _flat(arr)
    _kernels(backend).derivative(name, xf, xf if dst is arr else _flat(dst), params)
    return finish_out(out, dst)


def _out_pair(out):
    if out is None:
        return None, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError("out must be None or a tuple (f_out, d_out) of two arrays (either may "
                        f"be None), got {type(out).__name__}")
    return out


def _check_pair(backend: str, f_out, d_out) -> None:
    if f_out is not None and d_out is not None and memory(backend).overlaps(f_out, d_out):
        raise ValueError("out[0] and out[1] share memory; pass two separate arrays")


def _forward_and_derivative(name: str, x, out, params: tuple = ()):
    """``(f(x), f'(x))`` in one pass, into ``out = (f_out, d_out)`` when given."""
    backend, arr = _operand(x)
    f_out, d_out = _out_pair(out)
    fdst = prepare_out(f_out, backend, arr.shape, arr.dtype, inputs={"x": x}, elementwise=True,
                       name="out[0]")
    ddst = prepare_out(d_out, backend, arr.shape, arr.dtype, inputs={"x": x}, elementwise=True,
                       name="out[1]")
    _check_pair(backend, f_out, d_out)
    xf = _flat(arr)
    _kernels(backend).forward_and_derivative(name, xf, xf if fdst is arr else _flat(fdst),
                                             xf if ddst is arr else _flat(ddst), params)
    return finish_out(f_out, fdst), finish_out(d_out, ddst)


def _backward(name: str, grad_output, x, out, params: tuple = ()):
    """``grad_output * f'(x)`` in one pass, into ``out`` when given."""
    y = _fresh_out(x)
    if (y is not None and type(grad_output) is np.ndarray and grad_output.dtype is x.dtype
            and grad_output.shape == x.shape and grad_output.flags.c_contiguous
            and grad_output.flags.writeable
            and (out is None or (ready_out(out, x) and ready_out(out, grad_output)))):
        y = y if out is None else out  # (out may be x or grad_output: in place)
        gf, xf = _flat(grad_output), _flat(x)  # (in place: the input's own flat view)
        (_HOST or _host()).backward(name, gf, xf,
                                    gf if y is grad_output else xf if y is x else _flat(y),
                                    params)
        return y
    backend = backend_of(grad_output=grad_output, x=x)
    dtype = float_dtype(dtype_of(grad_output, "grad_output", _REAL), dtype_of(x, "x", _REAL))
    g = asarray(grad_output, "grad_output", backend, dtype)
    arr = asarray(x, "x", backend, dtype)
    validate.check_same_shape(g.shape, arr.shape)
    dst = prepare_out(out, backend, arr.shape, dtype,
                      inputs={"grad_output": grad_output, "x": x}, elementwise=True)
    gf, xf = _flat(g), _flat(arr)
    of = gf if dst is g else xf if dst is arr else _flat(dst)
    _kernels(backend).backward(name, gf, xf, of, params)
    return finish_out(out, dst)



# --------------------------------------------------------------------------- identity


def identity(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The identity (linear) activation: ``f(x) = x``.

    Useful as the activation of a layer that has none: ``identity(x)`` is a copy of ``x`` in
    the floating dtype.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``identity(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    identity_derivative, identity_and_derivative, identity_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.identity(x)
    array([-2.,  0.,  2.])
    """
    return _forward("identity", x, out)


def identity_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`identity`.

    ``f'(x) = 1`` (NaN where ``x`` is NaN).

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``identity'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    identity, identity_and_derivative, identity_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.identity_derivative(x)
    array([1., 1., 1.])
    """
    return _derivative("identity", x, out)


def identity_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`identity` and :func:`identity_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``identity(x)`` and ``identity_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`identity`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.identity_and_derivative(x)
    >>> f
    array([-2.,  0.,  2.])
    >>> d
    array([1., 1., 1.])
    """
    return _forward_and_derivative("identity", x, out)


def identity_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`identity`: ``grad_output * identity_derivative(x)``.

    The backward pass of ``y = identity(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. The derivative takes the values of :func:`identity_derivative`,
    kinks included, and the product is IEEE's, so the result equals ``grad_output *
    identity_derivative(x)`` bit for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``identity(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    identity, identity_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.identity_backward(g, x).round(4)
    array([ 0.5, -1. ,  2. ])
    """
    return _backward("identity", grad_output, x, out)


# --------------------------------------------------------------------------- step


def step(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The Heaviside step function: 1 for ``x > 0``, else 0.

    ``step(0) = 0``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``step(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    step_derivative, step_and_derivative, step_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.step(x)
    array([0., 0., 1.])
    """
    return _forward("step", x, out)


def step_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`step`.

    ``f'(x) = 0`` everywhere, as autograd treats a threshold (NaN where ``x`` is NaN).

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``step'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    step, step_and_derivative, step_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.step_derivative(x)
    array([0., 0., 0.])
    """
    return _derivative("step", x, out)


def step_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`step` and :func:`step_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``step(x)`` and ``step_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`step`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.step_and_derivative(x)
    >>> f
    array([0., 0., 1.])
    >>> d
    array([0., 0., 0.])
    """
    return _forward_and_derivative("step", x, out)


def step_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`step`: ``grad_output * step_derivative(x)``.

    The backward pass of ``y = step(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. The derivative takes the values of :func:`step_derivative`, kinks
    included, and the product is IEEE's, so the result equals ``grad_output *
    step_derivative(x)`` bit for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``step(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    step, step_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.step_backward(g, x)
    array([ 0., -0.,  0.])
    """
    return _backward("step", grad_output, x, out)


# --------------------------------------------------------------------------- sigmoid


def sigmoid(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The logistic sigmoid: ``1 / (1 + exp(-x))``.

    Computed from ``exp(-|x|)``: no overflow for any input, exactly 0 and 1 at ``-inf`` and
    ``inf``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``sigmoid(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    sigmoid_derivative, sigmoid_and_derivative, sigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.sigmoid(x).round(4)
    array([0.1192, 0.5   , 0.8808])
    """
    return _forward("sigmoid", x, out)


def sigmoid_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`sigmoid`.

    ``f' = f (1 - f)``, both factors computed from ``exp(-|x|)`` without cancellation, so
    the tails keep their relative accuracy. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``sigmoid'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    sigmoid, sigmoid_and_derivative, sigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.sigmoid_derivative(x).round(4)
    array([0.105, 0.25 , 0.105])
    """
    return _derivative("sigmoid", x, out)


def sigmoid_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`sigmoid` and :func:`sigmoid_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``sigmoid(x)`` and ``sigmoid_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`sigmoid`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.sigmoid_and_derivative(x)
    >>> f.round(4)
    array([0.1192, 0.5   , 0.8808])
    >>> d.round(4)
    array([0.105, 0.25 , 0.105])
    """
    return _forward_and_derivative("sigmoid", x, out)


def sigmoid_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`sigmoid`: ``grad_output * sigmoid_derivative(x)``.

    The backward pass of ``y = sigmoid(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``sigmoid_backward`` for it. The derivative
    takes the values of :func:`sigmoid_derivative`, kinks included, and the product is
    IEEE's, so the result equals ``grad_output * sigmoid_derivative(x)`` bit for bit: NaN in
    either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``sigmoid(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    sigmoid, sigmoid_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.sigmoid_backward(g, x).round(4)
    array([ 0.0525, -0.25  ,  0.21  ])
    """
    return _backward("sigmoid", grad_output, x, out)


# --------------------------------------------------------------------------- tanh


def tanh(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The hyperbolic tangent.

    -1 and 1 at ``-inf`` and ``inf``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``tanh(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    tanh_derivative, tanh_and_derivative, tanh_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.tanh(x).round(4)
    array([-0.964,  0.   ,  0.964])
    """
    return _forward("tanh", x, out)


def tanh_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`tanh`.

    ``f' = 1 - tanh(x)^2``, computed as ``4e / (1 + e)^2`` with ``e = exp(-2|x|)`` (no
    cancellation in the tails). NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``tanh'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    tanh, tanh_and_derivative, tanh_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.tanh_derivative(x).round(4)
    array([0.0707, 1.    , 0.0707])
    """
    return _derivative("tanh", x, out)


def tanh_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`tanh` and :func:`tanh_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``tanh(x)`` and ``tanh_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`tanh`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.tanh_and_derivative(x)
    >>> f.round(4)
    array([-0.964,  0.   ,  0.964])
    >>> d.round(4)
    array([0.0707, 1.    , 0.0707])
    """
    return _forward_and_derivative("tanh", x, out)


def tanh_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`tanh`: ``grad_output * tanh_derivative(x)``.

    The backward pass of ``y = tanh(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``tanh_backward`` for it. The derivative
    takes the values of :func:`tanh_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * tanh_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``tanh(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    tanh, tanh_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.tanh_backward(g, x).round(4)
    array([ 0.0353, -1.    ,  0.1413])
    """
    return _backward("tanh", grad_output, x, out)


# --------------------------------------------------------------------------- relu


def relu(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The rectified linear unit: ``max(x, 0)``.

    NaN stays NaN (``numpy.maximum``'s rule).

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``relu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    relu_derivative, relu_and_derivative, relu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.relu(x)
    array([0., 0., 2.])
    """
    return _forward("relu", x, out)


def relu_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`relu`.

    1 for ``x > 0``, else 0; ``relu'(0) = 0`` (PyTorch's autograd). NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``relu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    relu, relu_and_derivative, relu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.relu_derivative(x)
    array([0., 0., 1.])
    """
    return _derivative("relu", x, out)


def relu_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`relu` and :func:`relu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``relu(x)`` and ``relu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`relu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.relu_and_derivative(x)
    >>> f
    array([0., 0., 2.])
    >>> d
    array([0., 0., 1.])
    """
    return _forward_and_derivative("relu", x, out)


def relu_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`relu`: ``grad_output * relu_derivative(x)``.

    The backward pass of ``y = relu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``threshold_backward`` for it. The
    derivative takes the values of :func:`relu_derivative`, kinks included, and the product
    is IEEE's, so the result equals ``grad_output * relu_derivative(x)`` bit for bit: NaN in
    either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``relu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    relu, relu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.relu_backward(g, x)
    array([ 0., -0.,  2.])
    """
    return _backward("relu", grad_output, x, out)


# --------------------------------------------------------------------------- relu6


def relu6(x: ArrayLike, *, out: Array | None = None) -> Array:
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``relu6(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    relu6_derivative, relu6_and_derivative, relu6_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.relu6(x)
    array([0., 0., 2.])
    """
    return _forward("relu6", x, out)


def relu6_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`relu6`.

    1 strictly inside ``(0, 6)``, else 0: 0 at both kinks (PyTorch's autograd). NaN where
    ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``relu6'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    relu6, relu6_and_derivative, relu6_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.relu6_derivative(x)
    array([0., 0., 1.])
    """
    return _derivative("relu6", x, out)


def relu6_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`relu6` and :func:`relu6_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``relu6(x)`` and ``relu6_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`relu6`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.relu6_and_derivative(x)
    >>> f
    array([0., 0., 2.])
    >>> d
    array([0., 0., 1.])
    """
    return _forward_and_derivative("relu6", x, out)


def relu6_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`relu6`: ``grad_output * relu6_derivative(x)``.

    The backward pass of ``y = relu6(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``hardtanh_backward`` for it. The
    derivative takes the values of :func:`relu6_derivative`, kinks included, and the product
    is IEEE's, so the result equals ``grad_output * relu6_derivative(x)`` bit for bit: NaN
    in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``relu6(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    relu6, relu6_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.relu6_backward(g, x)
    array([ 0., -0.,  2.])
    """
    return _backward("relu6", grad_output, x, out)


# --------------------------------------------------------------------------- leaky_relu


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01, *, out: Array | None = None) -> Array:
    """The leaky ReLU: ``x`` for ``x > 0``, else ``negative_slope * x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    negative_slope : float, optional
        Slope for ``x <= 0`` (default 0.01), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``leaky_relu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``negative_slope`` is not a finite real number, or
        ``out`` does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    leaky_relu_derivative, leaky_relu_and_derivative, leaky_relu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.leaky_relu(x).round(4)
    array([-0.02,  0.  ,  2.  ])
    """
    return _forward("leaky_relu", x, out, _leaky_relu_params(negative_slope))


def leaky_relu_derivative(
    x: ArrayLike, negative_slope: float = 0.01, *, out: Array | None = None
) -> Array:
    """The derivative of :func:`leaky_relu`.

    1 for ``x > 0``, else ``negative_slope``: ``f'(0) = negative_slope`` (PyTorch's
    autograd). NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    negative_slope : float, optional
        Slope for ``x <= 0`` (default 0.01), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``leaky_relu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``negative_slope`` is not a finite real number, or
        ``out`` does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    leaky_relu, leaky_relu_and_derivative, leaky_relu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.leaky_relu_derivative(x).round(4)
    array([0.01, 0.01, 1.  ])
    """
    return _derivative("leaky_relu", x, out, _leaky_relu_params(negative_slope))


def leaky_relu_and_derivative(
    x: ArrayLike, negative_slope: float = 0.01, *,
    out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`leaky_relu` and :func:`leaky_relu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    negative_slope : float, optional
        Slope for ``x <= 0`` (default 0.01), any finite real.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``leaky_relu(x)`` and ``leaky_relu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`leaky_relu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.leaky_relu_and_derivative(x)
    >>> f.round(4)
    array([-0.02,  0.  ,  2.  ])
    >>> d.round(4)
    array([0.01, 0.01, 1.  ])
    """
    return _forward_and_derivative("leaky_relu", x, out, _leaky_relu_params(negative_slope))


def leaky_relu_backward(
    grad_output: ArrayLike, x: ArrayLike, negative_slope: float = 0.01, *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`leaky_relu`: ``grad_output * leaky_relu_derivative(x)``.

    The backward pass of ``y = leaky_relu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``leaky_relu_backward`` for it. The
    derivative takes the values of :func:`leaky_relu_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * leaky_relu_derivative(x)`` bit
    for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``leaky_relu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    negative_slope : float, optional
        Slope for ``x <= 0`` (default 0.01), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, ``negative_slope`` is not a
        finite real number, or ``out`` does not fit the result.

    See Also
    --------
    leaky_relu, leaky_relu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.leaky_relu_backward(g, x).round(4)
    array([ 0.005, -0.01 ,  2.   ])
    """
    return _backward("leaky_relu", grad_output, x, out, _leaky_relu_params(negative_slope))


# --------------------------------------------------------------------------- elu


def elu(x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None) -> Array:
    """The exponential linear unit: ``x`` for ``x > 0``, else ``alpha (exp(x) - 1)``.

    The negative part is computed with ``expm1`` (no cancellation near 0); ``elu(-inf) =
    -alpha``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Scale of the negative part (default 1.0), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``elu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``alpha`` is not a finite real number, or ``out`` does
        not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    elu_derivative, elu_and_derivative, elu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.elu(x).round(4)
    array([-0.8647,  0.    ,  2.    ])
    """
    return _forward("elu", x, out, _elu_params(alpha))


def elu_derivative(x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None) -> Array:
    """The derivative of :func:`elu`.

    1 for ``x > 0``, else ``alpha exp(x)``: ``f'(0) = alpha`` (PyTorch's autograd). NaN
    where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Scale of the negative part (default 1.0), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``elu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``alpha`` is not a finite real number, or ``out`` does
        not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    elu, elu_and_derivative, elu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.elu_derivative(x).round(4)
    array([0.1353, 1.    , 1.    ])
    """
    return _derivative("elu", x, out, _elu_params(alpha))


def elu_and_derivative(
    x: ArrayLike, alpha: float = 1.0, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`elu` and :func:`elu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Scale of the negative part (default 1.0), any finite real.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``elu(x)`` and ``elu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`elu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.elu_and_derivative(x)
    >>> f.round(4)
    array([-0.8647,  0.    ,  2.    ])
    >>> d.round(4)
    array([0.1353, 1.    , 1.    ])
    """
    return _forward_and_derivative("elu", x, out, _elu_params(alpha))


def elu_backward(
    grad_output: ArrayLike, x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`elu`: ``grad_output * elu_derivative(x)``.

    The backward pass of ``y = elu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``elu_backward`` for it. The derivative
    takes the values of :func:`elu_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * elu_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``elu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    alpha : float, optional
        Scale of the negative part (default 1.0), any finite real.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, ``alpha`` is not a finite real
        number, or ``out`` does not fit the result.

    See Also
    --------
    elu, elu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.elu_backward(g, x).round(4)
    array([ 0.0677, -1.    ,  2.    ])
    """
    return _backward("elu", grad_output, x, out, _elu_params(alpha))


# --------------------------------------------------------------------------- selu


def selu(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The scaled exponential linear unit: ``scale * elu(x, alpha)``.

    With PyTorch's constants ``alpha = 1.6732632423543772`` and ``scale =
    1.0507009873554805``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``selu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    selu_derivative, selu_and_derivative, selu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.selu(x).round(4)
    array([-1.5202,  0.    ,  2.1014])
    """
    return _forward("selu", x, out)


def selu_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`selu`.

    ``scale`` for ``x > 0``, else ``scale alpha exp(x)``: ``f'(0) = scale * alpha`` (about
    1.7581, PyTorch's autograd). NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``selu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    selu, selu_and_derivative, selu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.selu_derivative(x).round(4)
    array([0.2379, 1.7581, 1.0507])
    """
    return _derivative("selu", x, out)


def selu_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`selu` and :func:`selu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``selu(x)`` and ``selu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`selu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.selu_and_derivative(x)
    >>> f.round(4)
    array([-1.5202,  0.    ,  2.1014])
    >>> d.round(4)
    array([0.2379, 1.7581, 1.0507])
    """
    return _forward_and_derivative("selu", x, out)


def selu_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`selu`: ``grad_output * selu_derivative(x)``.

    The backward pass of ``y = selu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``elu_backward`` for it. The derivative
    takes the values of :func:`selu_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * selu_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``selu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    selu, selu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.selu_backward(g, x).round(4)
    array([ 0.119 , -1.7581,  2.1014])
    """
    return _backward("selu", grad_output, x, out)


# --------------------------------------------------------------------------- celu


def celu(x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None) -> Array:
    """The continuously differentiable ELU: ``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    The negative part is computed with ``expm1``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Non-zero scale (default 1.0), any finite real but 0.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``celu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``alpha`` is 0 or not a finite real number, or ``out``
        does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    celu_derivative, celu_and_derivative, celu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.celu(x).round(4)
    array([-0.8647,  0.    ,  2.    ])
    """
    return _forward("celu", x, out, _celu_params(alpha))


def celu_derivative(x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None) -> Array:
    """The derivative of :func:`celu`.

    1 for ``x > 0``, else ``exp(x / alpha)``: ``f'(0) = 1``. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Non-zero scale (default 1.0), any finite real but 0.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``celu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``alpha`` is 0 or not a finite real number, or ``out``
        does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    celu, celu_and_derivative, celu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.celu_derivative(x).round(4)
    array([0.1353, 1.    , 1.    ])
    """
    return _derivative("celu", x, out, _celu_params(alpha))


def celu_and_derivative(
    x: ArrayLike, alpha: float = 1.0, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`celu` and :func:`celu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    alpha : float, optional
        Non-zero scale (default 1.0), any finite real but 0.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``celu(x)`` and ``celu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`celu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.celu_and_derivative(x)
    >>> f.round(4)
    array([-0.8647,  0.    ,  2.    ])
    >>> d.round(4)
    array([0.1353, 1.    , 1.    ])
    """
    return _forward_and_derivative("celu", x, out, _celu_params(alpha))


def celu_backward(
    grad_output: ArrayLike, x: ArrayLike, alpha: float = 1.0, *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`celu`: ``grad_output * celu_derivative(x)``.

    The backward pass of ``y = celu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``elu_backward`` for it. The derivative
    takes the values of :func:`celu_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * celu_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``celu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    alpha : float, optional
        Non-zero scale (default 1.0), any finite real but 0.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, ``alpha`` is 0 or not a finite
        real number, or ``out`` does not fit the result.

    See Also
    --------
    celu, celu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.celu_backward(g, x).round(4)
    array([ 0.0677, -1.    ,  2.    ])
    """
    return _backward("celu", grad_output, x, out, _celu_params(alpha))


# --------------------------------------------------------------------------- gelu


def gelu(x: ArrayLike, approximate: str = 'none', *, out: Array | None = None) -> Array:
    """The Gaussian error linear unit: ``x Phi(x)``, with ``Phi`` the standard normal CDF.

    ``approximate='none'``: ``x Phi(x) = 0.5 x erfc(-x / sqrt 2)`` (no cancellation for ``x
    << 0``). ``approximate='tanh'``: PyTorch's approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x
    + 0.044715 x^3)))``, computed as ``x sigmoid(2u)``. ``gelu(-inf) = 0``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    approximate : {'none', 'tanh'}, optional
        The exact form (default) or PyTorch's tanh approximation.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``gelu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``approximate`` is not 'none' or 'tanh', or ``out``
        does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    gelu_derivative, gelu_and_derivative, gelu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.gelu(x).round(4)
    array([-0.0455,  0.    ,  1.9545])
    """
    return _forward(_gelu_name(approximate), x, out)


def gelu_derivative(x: ArrayLike, approximate: str = 'none', *, out: Array | None = None) -> Array:
    """The derivative of :func:`gelu`.

    ``Phi(x) + x phi(x)`` (``phi`` the normal density), or the derivative of the tanh form;
    0 at ``-inf`` and 1 at ``inf``. In float32, ``Phi`` and ``phi`` share one exponential
    and keep their relative accuracy into the far tails. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    approximate : {'none', 'tanh'}, optional
        The exact form (default) or PyTorch's tanh approximation.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``gelu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``approximate`` is not 'none' or 'tanh', or ``out``
        does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    gelu, gelu_and_derivative, gelu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.gelu_derivative(x).round(4)
    array([-0.0852,  0.5   ,  1.0852])
    """
    return _derivative(_gelu_name(approximate), x, out)


def gelu_and_derivative(
    x: ArrayLike, approximate: str = 'none', *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`gelu` and :func:`gelu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    approximate : {'none', 'tanh'}, optional
        The exact form (default) or PyTorch's tanh approximation.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``gelu(x)`` and ``gelu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`gelu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.gelu_and_derivative(x)
    >>> f.round(4)
    array([-0.0455,  0.    ,  1.9545])
    >>> d.round(4)
    array([-0.0852,  0.5   ,  1.0852])
    """
    return _forward_and_derivative(_gelu_name(approximate), x, out)


def gelu_backward(
    grad_output: ArrayLike, x: ArrayLike, approximate: str = 'none', *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`gelu`: ``grad_output * gelu_derivative(x)``.

    The backward pass of ``y = gelu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``gelu_backward`` for it. The derivative
    takes the values of :func:`gelu_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * gelu_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``gelu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    approximate : {'none', 'tanh'}, optional
        The exact form (default) or PyTorch's tanh approximation.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, ``approximate`` is not 'none' or
        'tanh', or ``out`` does not fit the result.

    See Also
    --------
    gelu, gelu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.gelu_backward(g, x).round(4)
    array([-0.0426, -0.5   ,  2.1705])
    """
    return _backward(_gelu_name(approximate), grad_output, x, out)


# --------------------------------------------------------------------------- silu


def silu(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The sigmoid linear unit (swish): ``x sigmoid(x)``.

    ``silu(-inf) = 0``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``silu(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    silu_derivative, silu_and_derivative, silu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.silu(x).round(4)
    array([-0.2384,  0.    ,  1.7616])
    """
    return _forward("silu", x, out)


def silu_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`silu`.

    ``s (1 + x (1 - s))`` with ``s = sigmoid(x)``; 0 at ``-inf``, 1 at ``inf``. NaN where
    ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``silu'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    silu, silu_and_derivative, silu_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.silu_derivative(x).round(4)
    array([-0.0908,  0.5   ,  1.0908])
    """
    return _derivative("silu", x, out)


def silu_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`silu` and :func:`silu_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``silu(x)`` and ``silu_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`silu`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.silu_and_derivative(x)
    >>> f.round(4)
    array([-0.2384,  0.    ,  1.7616])
    >>> d.round(4)
    array([-0.0908,  0.5   ,  1.0908])
    """
    return _forward_and_derivative("silu", x, out)


def silu_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`silu`: ``grad_output * silu_derivative(x)``.

    The backward pass of ``y = silu(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``silu_backward`` for it. The derivative
    takes the values of :func:`silu_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * silu_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``silu(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    silu, silu_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.silu_backward(g, x).round(4)
    array([-0.0454, -0.5   ,  2.1816])
    """
    return _backward("silu", grad_output, x, out)


# --------------------------------------------------------------------------- mish


def mish(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The Mish activation: ``x tanh(softplus(x))``.

    ``tanh(softplus(x))`` is computed from one ``exp(-|x|)`` without cancellation;
    ``mish(-inf) = 0``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``mish(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    mish_derivative, mish_and_derivative, mish_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.mish(x).round(4)
    array([-0.2525,  0.    ,  1.944 ])
    """
    return _forward("mish", x, out)


def mish_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`mish`.

    ``t + x (1 - t^2) sigmoid(x)`` with ``t = tanh(softplus(x))``; 0 at ``-inf``, 1 at
    ``inf``. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``mish'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    mish, mish_and_derivative, mish_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.mish_derivative(x).round(4)
    array([-0.1084,  0.6   ,  1.0693])
    """
    return _derivative("mish", x, out)


def mish_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`mish` and :func:`mish_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``mish(x)`` and ``mish_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`mish`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.mish_and_derivative(x)
    >>> f.round(4)
    array([-0.2525,  0.    ,  1.944 ])
    >>> d.round(4)
    array([-0.1084,  0.6   ,  1.0693])
    """
    return _forward_and_derivative("mish", x, out)


def mish_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`mish`: ``grad_output * mish_derivative(x)``.

    The backward pass of ``y = mish(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``mish_backward`` for it. The derivative
    takes the values of :func:`mish_derivative`, kinks included, and the product is IEEE's,
    so the result equals ``grad_output * mish_derivative(x)`` bit for bit: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``mish(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    mish, mish_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.mish_backward(g, x).round(4)
    array([-0.0542, -0.6   ,  2.1386])
    """
    return _backward("mish", grad_output, x, out)


# --------------------------------------------------------------------------- softplus


def softplus(
    x: ArrayLike, beta: float = 1.0, threshold: float = 20.0, *, out: Array | None = None
) -> Array:
    """The softplus function: ``log(1 + exp(beta x)) / beta``.

    Computed as ``(log1p(exp(-|beta x|)) + max(beta x, 0)) / beta``; linear (``f(x) = x``)
    where ``beta * x > threshold``, as PyTorch.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    beta : float, optional
        Non-zero sharpness (default 1.0), any finite real but 0.
    threshold : float, optional
        Linear above ``beta * x > threshold`` (default 20.0); may be ``inf``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``softplus(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``beta`` is 0 or not a finite real number,
        ``threshold`` is NaN, or ``out`` does not fit the result (shape, dtype, device,
        overlap).

    See Also
    --------
    softplus_derivative, softplus_and_derivative, softplus_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.softplus(x).round(4)
    array([0.1269, 0.6931, 2.1269])
    """
    return _forward("softplus", x, out, _softplus_params(beta, threshold))


def softplus_derivative(
    x: ArrayLike, beta: float = 1.0, threshold: float = 20.0, *, out: Array | None = None
) -> Array:
    """The derivative of :func:`softplus`.

    ``sigmoid(beta x)``, and exactly 1 where ``beta * x > threshold``. NaN where ``x`` is
    NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    beta : float, optional
        Non-zero sharpness (default 1.0), any finite real but 0.
    threshold : float, optional
        Linear above ``beta * x > threshold`` (default 20.0); may be ``inf``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``softplus'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, ``beta`` is 0 or not a finite real number,
        ``threshold`` is NaN, or ``out`` does not fit the result (shape, dtype, device,
        overlap).

    See Also
    --------
    softplus, softplus_and_derivative, softplus_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.softplus_derivative(x).round(4)
    array([0.1192, 0.5   , 0.8808])
    """
    return _derivative("softplus", x, out, _softplus_params(beta, threshold))


def softplus_and_derivative(
    x: ArrayLike, beta: float = 1.0, threshold: float = 20.0, *,
    out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`softplus` and :func:`softplus_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    beta : float, optional
        Non-zero sharpness (default 1.0), any finite real but 0.
    threshold : float, optional
        Linear above ``beta * x > threshold`` (default 20.0); may be ``inf``.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``softplus(x)`` and ``softplus_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`softplus`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.softplus_and_derivative(x)
    >>> f.round(4)
    array([0.1269, 0.6931, 2.1269])
    >>> d.round(4)
    array([0.1192, 0.5   , 0.8808])
    """
    return _forward_and_derivative("softplus", x, out, _softplus_params(beta, threshold))


def softplus_backward(
    grad_output: ArrayLike, x: ArrayLike, beta: float = 1.0, threshold: float = 20.0, *,
    out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`softplus`: ``grad_output * softplus_derivative(x)``.

    The backward pass of ``y = softplus(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``softplus_backward`` for it. The
    derivative takes the values of :func:`softplus_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * softplus_derivative(x)`` bit for
    bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``softplus(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    beta : float, optional
        Non-zero sharpness (default 1.0), any finite real but 0.
    threshold : float, optional
        Linear above ``beta * x > threshold`` (default 20.0); may be ``inf``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, ``beta`` is 0 or not a finite
        real number, ``threshold`` is NaN, or ``out`` does not fit the result.

    See Also
    --------
    softplus, softplus_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.softplus_backward(g, x).round(4)
    array([ 0.0596, -0.5   ,  1.7616])
    """
    return _backward("softplus", grad_output, x, out, _softplus_params(beta, threshold))


# --------------------------------------------------------------------------- softsign


def softsign(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The softsign function: ``x / (1 + |x|)``.

    -1 and 1 at ``-inf`` and ``inf``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``softsign(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    softsign_derivative, softsign_and_derivative, softsign_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.softsign(x).round(4)
    array([-0.6667,  0.    ,  0.6667])
    """
    return _forward("softsign", x, out)


def softsign_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`softsign`.

    ``1 / (1 + |x|)^2``. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``softsign'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    softsign, softsign_and_derivative, softsign_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.softsign_derivative(x).round(4)
    array([0.1111, 1.    , 0.1111])
    """
    return _derivative("softsign", x, out)


def softsign_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`softsign` and :func:`softsign_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``softsign(x)`` and ``softsign_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`softsign`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.softsign_and_derivative(x)
    >>> f.round(4)
    array([-0.6667,  0.    ,  0.6667])
    >>> d.round(4)
    array([0.1111, 1.    , 0.1111])
    """
    return _forward_and_derivative("softsign", x, out)


def softsign_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`softsign`: ``grad_output * softsign_derivative(x)``.

    The backward pass of ``y = softsign(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. The derivative takes the values of :func:`softsign_derivative`,
    kinks included, and the product is IEEE's, so the result equals ``grad_output *
    softsign_derivative(x)`` bit for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``softsign(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    softsign, softsign_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.softsign_backward(g, x).round(4)
    array([ 0.0556, -1.    ,  0.2222])
    """
    return _backward("softsign", grad_output, x, out)


# --------------------------------------------------------------------------- hardtanh


def hardtanh(
    x: ArrayLike, min_val: float = -1.0, max_val: float = 1.0, *, out: Array | None = None
) -> Array:
    """The hard tanh: ``x`` clamped to ``[min_val, max_val]``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    min_val : float, optional
        Lower limit (default -1.0).
    max_val : float, optional
        Upper limit (default 1.0), ``min_val <= max_val``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardtanh(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, a limit is not a finite real number or ``min_val >
        max_val``, or ``out`` does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    hardtanh_derivative, hardtanh_and_derivative, hardtanh_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardtanh(x)
    array([-1.,  0.,  1.])
    """
    return _forward("hardtanh", x, out, _hardtanh_params(min_val, max_val))


def hardtanh_derivative(
    x: ArrayLike, min_val: float = -1.0, max_val: float = 1.0, *, out: Array | None = None
) -> Array:
    """The derivative of :func:`hardtanh`.

    1 strictly between the limits, 0 at and beyond them (PyTorch's autograd). NaN where
    ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    min_val : float, optional
        Lower limit (default -1.0).
    max_val : float, optional
        Upper limit (default 1.0), ``min_val <= max_val``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardtanh'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, a limit is not a finite real number or ``min_val >
        max_val``, or ``out`` does not fit the result (shape, dtype, device, overlap).

    See Also
    --------
    hardtanh, hardtanh_and_derivative, hardtanh_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardtanh_derivative(x)
    array([0., 1., 0.])
    """
    return _derivative("hardtanh", x, out, _hardtanh_params(min_val, max_val))


def hardtanh_and_derivative(
    x: ArrayLike, min_val: float = -1.0, max_val: float = 1.0, *,
    out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`hardtanh` and :func:`hardtanh_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    min_val : float, optional
        Lower limit (default -1.0).
    max_val : float, optional
        Upper limit (default 1.0), ``min_val <= max_val``.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``hardtanh(x)`` and ``hardtanh_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`hardtanh`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.hardtanh_and_derivative(x)
    >>> f
    array([-1.,  0.,  1.])
    >>> d
    array([0., 1., 0.])
    """
    return _forward_and_derivative("hardtanh", x, out, _hardtanh_params(min_val, max_val))


def hardtanh_backward(
    grad_output: ArrayLike, x: ArrayLike, min_val: float = -1.0, max_val: float = 1.0, *,
    out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`hardtanh`: ``grad_output * hardtanh_derivative(x)``.

    The backward pass of ``y = hardtanh(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``hardtanh_backward`` for it. The
    derivative takes the values of :func:`hardtanh_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * hardtanh_derivative(x)`` bit for
    bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``hardtanh(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    min_val : float, optional
        Lower limit (default -1.0).
    max_val : float, optional
        Upper limit (default 1.0), ``min_val <= max_val``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, a limit is not a finite real
        number or ``min_val > max_val``, or ``out`` does not fit the result.

    See Also
    --------
    hardtanh, hardtanh_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.hardtanh_backward(g, x)
    array([ 0., -1.,  0.])
    """
    return _backward("hardtanh", grad_output, x, out, _hardtanh_params(min_val, max_val))


# --------------------------------------------------------------------------- hardsigmoid


def hardsigmoid(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The hard sigmoid: ``relu6(x + 3) / 6``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardsigmoid(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    hardsigmoid_derivative, hardsigmoid_and_derivative, hardsigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardsigmoid(x).round(4)
    array([0.1667, 0.5   , 0.8333])
    """
    return _forward("hardsigmoid", x, out)


def hardsigmoid_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`hardsigmoid`.

    1/6 strictly inside ``(-3, 3)``, 0 elsewhere (0 at both kinks, PyTorch's autograd). NaN
    where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardsigmoid'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    hardsigmoid, hardsigmoid_and_derivative, hardsigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardsigmoid_derivative(x).round(4)
    array([0.1667, 0.1667, 0.1667])
    """
    return _derivative("hardsigmoid", x, out)


def hardsigmoid_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`hardsigmoid` and :func:`hardsigmoid_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``hardsigmoid(x)`` and ``hardsigmoid_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`hardsigmoid`; also if ``out`` is not a pair or its arrays share
        memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.hardsigmoid_and_derivative(x)
    >>> f.round(4)
    array([0.1667, 0.5   , 0.8333])
    >>> d.round(4)
    array([0.1667, 0.1667, 0.1667])
    """
    return _forward_and_derivative("hardsigmoid", x, out)


def hardsigmoid_backward(
    grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`hardsigmoid`: ``grad_output * hardsigmoid_derivative(x)``.

    The backward pass of ``y = hardsigmoid(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``hardsigmoid_backward`` for it. The
    derivative takes the values of :func:`hardsigmoid_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * hardsigmoid_derivative(x)`` bit
    for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``hardsigmoid(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    hardsigmoid, hardsigmoid_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.hardsigmoid_backward(g, x).round(4)
    array([ 0.0833, -0.1667,  0.3333])
    """
    return _backward("hardsigmoid", grad_output, x, out)


# --------------------------------------------------------------------------- hardswish


def hardswish(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The hard swish: ``x relu6(x + 3) / 6``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardswish(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    hardswish_derivative, hardswish_and_derivative, hardswish_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardswish(x).round(4)
    array([-0.3333,  0.    ,  1.6667])
    """
    return _forward("hardswish", x, out)


def hardswish_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`hardswish`.

    0 for ``x <= -3``, ``x / 3 + 1/2`` strictly inside ``(-3, 3)``, 1 for ``x >= 3``
    (PyTorch 2.x autograd). NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``hardswish'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    hardswish, hardswish_and_derivative, hardswish_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.hardswish_derivative(x).round(4)
    array([-0.1667,  0.5   ,  1.1667])
    """
    return _derivative("hardswish", x, out)


def hardswish_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`hardswish` and :func:`hardswish_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``hardswish(x)`` and ``hardswish_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`hardswish`; also if ``out`` is not a pair or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.hardswish_and_derivative(x)
    >>> f.round(4)
    array([-0.3333,  0.    ,  1.6667])
    >>> d.round(4)
    array([-0.1667,  0.5   ,  1.1667])
    """
    return _forward_and_derivative("hardswish", x, out)


def hardswish_backward(grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`hardswish`: ``grad_output * hardswish_derivative(x)``.

    The backward pass of ``y = hardswish(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``hardswish_backward`` for it. The
    derivative takes the values of :func:`hardswish_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * hardswish_derivative(x)`` bit
    for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``hardswish(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    hardswish, hardswish_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.hardswish_backward(g, x).round(4)
    array([-0.0833, -0.5   ,  2.3333])
    """
    return _backward("hardswish", grad_output, x, out)


# --------------------------------------------------------------------------- log_sigmoid


def log_sigmoid(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The log of the sigmoid: ``log(1 / (1 + exp(-x)))``.

    Computed as ``min(x, 0) - log1p(exp(-|x|))``: no overflow, and ``log_sigmoid(x) = x``
    far below 0.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``log_sigmoid(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    log_sigmoid_derivative, log_sigmoid_and_derivative, log_sigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.log_sigmoid(x).round(4)
    array([-2.1269, -0.6931, -0.1269])
    """
    return _forward("log_sigmoid", x, out)


def log_sigmoid_derivative(x: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`log_sigmoid`.

    ``1 - sigmoid(x) = sigmoid(-x)``. NaN where ``x`` is NaN.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        ``log_sigmoid'(x)``, the shape of ``x``, floating dtype (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If ``x`` is not numeric, or ``out`` does not fit the result (shape, dtype,
        device, overlap).

    See Also
    --------
    log_sigmoid, log_sigmoid_and_derivative, log_sigmoid_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> nc.log_sigmoid_derivative(x).round(4)
    array([0.8808, 0.5   , 0.1192])
    """
    return _derivative("log_sigmoid", x, out)


def log_sigmoid_and_derivative(
    x: ArrayLike, *, out: tuple[Array | None, Array | None] | None = None
) -> tuple[Array, Array]:
    """:func:`log_sigmoid` and :func:`log_sigmoid_derivative` in one pass over ``x``.

    The same values, bit for bit, as the two separate calls, for one read of ``x``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of any shape; float32 stays float32, integers and bools compute in float64.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and its derivative into
        (keyword only; either may be None, either may be ``x``).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``log_sigmoid(x)`` and ``log_sigmoid_derivative(x)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`log_sigmoid`; also if ``out`` is not a pair or its arrays share
        memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> f, d = nc.log_sigmoid_and_derivative(x)
    >>> f.round(4)
    array([-2.1269, -0.6931, -0.1269])
    >>> d.round(4)
    array([0.8808, 0.5   , 0.1192])
    """
    return _forward_and_derivative("log_sigmoid", x, out)


def log_sigmoid_backward(
    grad_output: ArrayLike, x: ArrayLike, *, out: Array | None = None
) -> Array:
    """Vector-Jacobian product of :func:`log_sigmoid`: ``grad_output * log_sigmoid_derivative(x)``.

    The backward pass of ``y = log_sigmoid(x)``: the gradient with respect to ``x`` from
    ``grad_output``, the gradient with respect to ``y``, in one pass over both arrays and
    without a temporary. PyTorch's autograd runs ``log_sigmoid_backward`` for it. The
    derivative takes the values of :func:`log_sigmoid_derivative`, kinks included, and the
    product is IEEE's, so the result equals ``grad_output * log_sigmoid_derivative(x)`` bit
    for bit: NaN in either input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``log_sigmoid(x)``; the shape of ``x``.
    x : array_like or CUDA array
        The input of the forward call. The result's dtype is the floating promotion of
        both dtypes (float32 and float32 stay float32).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), of the result's shape and dtype;
        ``out=grad_output`` (or ``out=x``) computes in place.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x``, the shape of ``x`` (``out`` when given).

    Raises
    ------
    TypeError, ValueError
        If an input is not numeric, the shapes differ, or ``out`` does not fit the
        result.

    See Also
    --------
    log_sigmoid, log_sigmoid_derivative

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> g = np.array([0.5, -1.0, 2.0])
    >>> nc.log_sigmoid_backward(g, x).round(4)
    array([ 0.4404, -0.5   ,  0.2384])
    """
    return _backward("log_sigmoid", grad_output, x, out)


# --------------------------------------------------------------------------- PReLU


def _prelu_operands(x, weight, grad_output=None):
    """``(backend, x, weight, inner)``: ``weight`` flat in ``x``'s computation dtype, and the
    length of the rows of ``x`` that share a slope (``x`` seen as ``(outer, C, inner)``)."""
    backend = backend_of(x=x, weight=weight, grad_output=grad_output)
    dtype = float_dtype(dtype_of(x, "x", _REAL))
    if grad_output is not None:
        dtype = float_dtype(dtype, dtype_of(grad_output, "grad_output", _REAL))
    arr = asarray(x, "x", backend, dtype)
    w = asarray(weight, "weight", backend, dtype)
    channels = arr.shape[1] if arr.ndim >= 2 else 1
    if w.size not in (1, channels):
        raise ValueError(f"weight must have 1 element or one per channel (x.shape[1] = "
                         f"{channels}), got {w.size} elements")
    inner = arr.size if w.size == 1 else math.prod(arr.shape[2:])
    return backend, arr, _flat(w), inner


def _prelu(launcher: str, x, weight, out):
    backend, arr, w, inner = _prelu_operands(x, weight)
    dst = prepare_out(out, backend, arr.shape, arr.dtype, inputs={"x": x, "weight": weight},
                      elementwise=True)
    if arr.size:
        xf = _flat(arr)
        getattr(_kernels(backend), launcher)(xf, w, xf if dst is arr else _flat(dst), inner)
    return finish_out(out, dst)


def prelu(x: ArrayLike, weight: ArrayLike, *, out: Array | None = None) -> Array:
    """The parametric ReLU: ``x`` for ``x > 0``, ``weight * x`` otherwise.

    ``weight`` holds one slope shared by all elements, or one slope per channel
    (axis 1 of ``x``), as ``torch.nn.functional.prelu``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input, channels along axis 1 (``(N, C, ...)``); fewer than 2 dimensions
        means one channel. float32 stays float32; integers compute in float64.
    weight : array_like or CUDA array
        One slope, or one per channel (``x.shape[1]`` values), cast to the
        computation dtype of ``x``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the result's shape and
        dtype; may be ``x`` itself.

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``x``, floating dtype (``out`` when given).

    Raises
    ------
    ValueError
        If ``weight`` has neither 1 nor ``x.shape[1]`` elements, or ``out`` has the wrong shape.
    TypeError
        If an input is not numeric, or ``out`` has the wrong dtype.

    See Also
    --------
    prelu_derivative, numbaconv.grad.prelu_weight

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[-2.0, 3.0], [-4.0, -1.0]])
    >>> nc.prelu(x, [0.25])
    array([[-0.5 ,  3.  ],
           [-1.  , -0.25]])
    >>> nc.prelu(x, [0.5, 0.1])
    array([[-1. ,  3. ],
           [-2. , -0.1]])
    """
    return _prelu("prelu", x, weight, out)


def prelu_derivative(x: ArrayLike, weight: ArrayLike, *, out: Array | None = None) -> Array:
    """The derivative of :func:`prelu` with respect to ``x``: 1 for ``x > 0``, else ``weight``.

    At 0 the derivative is ``weight`` (PyTorch's autograd); NaN where ``x`` is NaN.

    Parameters
    ----------
    x, weight : array_like or CUDA array
        As in :func:`prelu`.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only), as in :func:`prelu`.

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``x`` (``out`` when given).

    Raises
    ------
    ValueError, TypeError
        As :func:`prelu`.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.prelu_derivative(np.array([[-2.0, 0.0, 3.0]]), [0.25])
    array([[0.25, 0.25, 1.  ]])
    """
    return _prelu("prelu_derivative", x, weight, out)


def prelu_and_derivative(x: ArrayLike, weight: ArrayLike, *,
                         out: tuple[Array | None, Array | None] | None = None
                         ) -> tuple[Array, Array]:
    """:func:`prelu` and :func:`prelu_derivative` together.

    Parameters
    ----------
    x, weight : array_like or CUDA array
        As in :func:`prelu`.
    out : tuple of two arrays, optional
        ``(f_out, d_out)``: arrays to write the activation and the derivative
        into (keyword only; either may be None).

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)
        ``prelu(x, weight)`` and ``prelu_derivative(x, weight)``.

    Raises
    ------
    ValueError, TypeError
        As :func:`prelu`; also if ``out`` is not a pair, or its arrays share memory.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> f, d = nc.prelu_and_derivative(np.array([-2.0, 3.0]), 0.5)
    >>> f, d
    (array([-1.,  3.]), array([0.5, 1. ]))
    """
    backend, arr, w, inner = _prelu_operands(x, weight)
    f_out, d_out = _out_pair(out)
    inputs = {"x": x, "weight": weight}
    fdst = prepare_out(f_out, backend, arr.shape, arr.dtype, inputs=inputs, elementwise=True,
                       name="out[0]")
    ddst = prepare_out(d_out, backend, arr.shape, arr.dtype, inputs=inputs, elementwise=True,
                       name="out[1]")
    _check_pair(backend, f_out, d_out)
    if arr.size:
        xf = _flat(arr)
        _kernels(backend).prelu_and_derivative(xf, w, xf if fdst is arr else _flat(fdst),
                                               xf if ddst is arr else _flat(ddst), inner)
    return finish_out(f_out, fdst), finish_out(d_out, ddst)


def prelu_backward(grad_output: ArrayLike, x: ArrayLike, weight: ArrayLike, *,
                   out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`prelu` for ``x``: ``grad_output * prelu_derivative``.

    The gradient with respect to ``x`` in one pass (the input half of PyTorch's
    ``_prelu_kernel_backward``; :func:`numbaconv.grad.prelu_weight` is the other half).
    Equal bit for bit to ``grad_output * prelu_derivative(x, weight)``: NaN in either
    input gives NaN.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``prelu(x, weight)``; the shape of ``x``.
    x, weight : array_like or CUDA array
        As in :func:`prelu`. The result's dtype is the floating promotion of the dtypes of
        ``grad_output`` and ``x``.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only); may be ``grad_output`` or ``x``.

    Returns
    -------
    ndarray or CUDA array
        The gradient with respect to ``x`` (``out`` when given).

    Raises
    ------
    ValueError, TypeError
        As :func:`prelu`; also if ``grad_output`` does not have the shape of ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[-2.0, 3.0], [-4.0, -1.0]])
    >>> nc.prelu_backward(np.ones_like(x), x, [0.5, 0.1])
    array([[0.5, 1. ],
           [0.5, 0.1]])
    """
    backend, arr, w, inner = _prelu_operands(x, weight, grad_output)
    g = asarray(grad_output, "grad_output", backend, arr.dtype)
    validate.check_same_shape(g.shape, arr.shape)
    dst = prepare_out(out, backend, arr.shape, arr.dtype,
                      inputs={"grad_output": grad_output, "x": x, "weight": weight},
                      elementwise=True)
    if arr.size:
        gf, xf = _flat(g), _flat(arr)
        of = gf if dst is g else xf if dst is arr else _flat(dst)
        _kernels(backend).prelu_backward(gf, xf, w, of, inner)
    return finish_out(out, dst)


def prelu_weight(grad_output: ArrayLike, x: ArrayLike, weight: ArrayLike, *,
                 out: Array | None = None) -> Array:
    """Gradient of :func:`prelu` with respect to ``weight``, summed as PyTorch does.

    ``sum(grad_output * x)`` over the elements where ``x <= 0``, per channel (axis 1)
    for a per-channel weight, over everything for a single weight. Sums run in
    float64 in a fixed order (independent of the thread count).

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to ``prelu(x, weight)``; shape of ``x``.
    x : array_like or CUDA array
        The forward input.
    weight : array_like or CUDA array
        The forward weight (1 or ``x.shape[1]`` values).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the shape of ``weight``,
        the computation dtype of ``x``.

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``weight``, the computation dtype of ``x`` (``out`` when given).

    Raises
    ------
    ValueError
        If ``grad_output`` does not have the shape of ``x``, or as :func:`prelu`.
    TypeError
        As :func:`prelu`.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.array([[-2.0, 3.0], [-4.0, -1.0]])
    >>> g = np.ones_like(x)
    >>> nc.grad.prelu_weight(g, x, [0.25])
    array([-7.])
    >>> nc.grad.prelu_weight(g, x, [0.25, 0.25])
    array([-6., -1.])
    """
    backend, arr, w, inner = _prelu_operands(x, weight)
    g = asarray(grad_output, "grad_output", backend, arr.dtype)
    validate.check_same_shape(g.shape, arr.shape)
    wshape = tuple(cast(CudaArray, weight).shape) if is_cuda_array(weight) else np.shape(weight)
    dst = prepare_out(out, backend, wshape, arr.dtype,
                      inputs={"grad_output": grad_output, "x": x, "weight": weight})
    shape3 = (1, 1, arr.size) if w.size == 1 else (arr.shape[0], w.size, inner)
    _kernels(backend).prelu_weight(g.reshape(shape3), arr.reshape(shape3), _flat(dst))
    return finish_out(out, dst)


# --------------------------------------------------------------------------- softmax


def _axis_split(shape, axis: int) -> tuple[int, int, int]:
    outer = math.prod(shape[:axis])  # math.prod: np.prod costs ~10 us a call here
    inner = math.prod(shape[axis + 1:])
    return outer, int(shape[axis]), inner


def _softmax(launcher: str, x, axis, out):
    if axis == -1 and type(x) is np.ndarray and (x.dtype is _F64 or x.dtype is _F32):
        flags, shape = x.flags, x.shape  # the fast path: contiguous floats, the last axis
        if (flags.c_contiguous and flags.writeable and shape and shape[-1]
                and (out is None or ready_out(out, x))):
            y = np.empty_like(x) if out is None else out
            if len(shape) == 1:
                getattr(_HOST or _host(), launcher)(x, y, 1, shape[0], 1)
            else:
                n = shape[-1]
                getattr(_HOST or _host(), launcher)(x.ravel(), y.ravel(), x.size // n, n, 1)
            return y
    backend, arr = _operand(x)
    if arr.ndim == 0:
        raise ValueError("x must have at least 1 dimension for softmax over an axis")
    ax = validate.normalize_axis(axis, arr.ndim)
    dst = prepare_out(out, backend, arr.shape, arr.dtype, inputs={"x": x}, elementwise=True)
    if arr.size:
        xf = _flat(arr)
        getattr(_kernels(backend), launcher)(xf, xf if dst is arr else _flat(dst),
                                             *_axis_split(arr.shape, ax))
    return finish_out(out, dst)


def softmax(x: ArrayLike, axis: int = -1, *, out: Array | None = None) -> Array:
    """Softmax along ``axis``: ``exp(x - max) / sum(exp(x - max))``.

    Shifted by the maximum, so no overflow for any finite input; a NaN makes its whole
    slice NaN; ``-inf`` entries give 0. Sums in float64; each slice is reduced by one
    thread, so the result does not depend on the thread count. On the CPU, float32
    probabilities below float32's normal range (``2**-126``, about 1.2e-38) come out as 0.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of at least one dimension; float32 stays float32, integers compute in float64.
    axis : int, optional
        The axis that sums to 1 (default: the last).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        Same shape, floating dtype (``out`` when given).

    Raises
    ------
    ValueError
        If ``x`` is 0-d, ``axis`` is out of range, or ``out`` has the wrong shape.
    TypeError
        If ``x`` is not numeric, or ``out`` has the wrong dtype.

    See Also
    --------
    log_softmax, softmax_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1e4]])).round(4)
    array([[0.09  , 0.2447, 0.6652],
           [0.    , 0.    , 1.    ]])
    """
    return _softmax("softmax", x, axis, out)


def log_softmax(x: ArrayLike, axis: int = -1, *, out: Array | None = None) -> Array:
    """Log-softmax along ``axis``: ``x - max - log(sum(exp(x - max)))``.

    No underflow to ``log(0)``: entries far below the maximum keep their exact
    value ``x - max - log(sum)``. A NaN makes its whole slice NaN. Sums in float64, as
    :func:`softmax`.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of at least one dimension.
    axis : int, optional
        The axis to normalise over (default: the last).
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the result's shape and dtype;
        ``out=x`` computes in place.

    Returns
    -------
    ndarray or CUDA array
        Same shape, floating dtype (``out`` when given).

    Raises
    ------
    ValueError, TypeError
        As :func:`softmax`.

    See Also
    --------
    softmax, log_softmax_backward

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.log_softmax(np.array([1.0, 2.0, 3.0])).round(4)
    array([-2.4076, -1.4076, -0.4076])
    >>> nc.log_softmax(np.array([0.0, -1e4]))  # no underflow to log(0)
    array([     0., -10000.])
    """
    return _softmax("log_softmax", x, axis, out)


def _softmax_vjp(launcher: str, grad_output, output, axis, out):
    if (axis == -1 and type(output) is np.ndarray
            and type(grad_output) is np.ndarray and (output.dtype is _F64 or output.dtype is _F32)
            and grad_output.dtype is output.dtype and grad_output.shape == output.shape):
        fy, fg, shape = output.flags, grad_output.flags, output.shape  # the fast path
        if (fy.c_contiguous and fy.writeable and fg.c_contiguous and fg.writeable and shape
                and shape[-1] and (out is None or (ready_out(out, output)
                                                   and ready_out(out, grad_output)))):
            res = np.empty(shape, output.dtype) if out is None else out
            n = shape[-1]
            getattr(_HOST or _host(), launcher)(grad_output.ravel(), output.ravel(), res.ravel(),
                                                output.size // n, n, 1)
            return res
    backend = backend_of(grad_output=grad_output, output=output)
    dtype = float_dtype(dtype_of(grad_output, "grad_output", _REAL),
                        dtype_of(output, "output", _REAL))
    g = asarray(grad_output, "grad_output", backend, dtype)
    y = asarray(output, "output", backend, dtype)
    if tuple(g.shape) != tuple(y.shape):
        raise ValueError(f"grad_output and output must have the same shape, got "
                         f"{tuple(g.shape)} and {tuple(y.shape)}")
    if y.ndim == 0:
        raise ValueError("output must have at least 1 dimension")
    ax = validate.normalize_axis(axis, y.ndim)
    dst = prepare_out(out, backend, y.shape, dtype,
                      inputs={"grad_output": grad_output, "output": output}, elementwise=True)
    if y.size:
        gf, yf = _flat(g), _flat(y)
        of = gf if dst is g else yf if dst is y else _flat(dst)
        getattr(_kernels(backend), launcher)(gf, yf, of, *_axis_split(y.shape, ax))
    return finish_out(out, dst)


def softmax_backward(grad_output: ArrayLike, output: ArrayLike, axis: int = -1, *,
                     out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`softmax`, from its output.

    ``grad_input = output * (grad_output - sum(grad_output * output, axis))``
    (PyTorch's ``_softmax_backward_data``), the sum in float64.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the softmax output.
    output : array_like or CUDA array
        ``softmax(x, axis)``, same shape.
    axis : int, optional
        The softmax axis.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the result's shape and dtype;
        may be ``grad_output`` or ``output`` (in place).

    Returns
    -------
    ndarray or CUDA array
        Gradient with respect to ``x``; the promoted floating dtype of the inputs.

    Raises
    ------
    ValueError
        If the shapes differ, the inputs are 0-d, ``axis`` is out of range, or ``out``
        has the wrong shape.
    TypeError
        If an input is not numeric, or ``out`` has the wrong dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> y = np.array([0.25, 0.25, 0.5])
    >>> nc.softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.1875, -0.0625, -0.125 ])
    """
    return _softmax_vjp("softmax_backward", grad_output, output, axis, out)


def log_softmax_backward(grad_output: ArrayLike, output: ArrayLike, axis: int = -1, *,
                         out: Array | None = None) -> Array:
    """Vector-Jacobian product of :func:`log_softmax`, from its output.

    ``grad_input = grad_output - exp(output) * sum(grad_output, axis)``
    (PyTorch's ``_log_softmax_backward_data``), the sum in float64.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the log-softmax output.
    output : array_like or CUDA array
        ``log_softmax(x, axis)``, same shape.
    axis : int, optional
        The log-softmax axis.
    out : ndarray or CUDA array, optional
        Array to write the result into (keyword only): the result's shape and dtype;
        may be ``grad_output`` or ``output`` (in place).

    Returns
    -------
    ndarray or CUDA array
        Gradient with respect to ``x``; the promoted floating dtype of the inputs.

    Raises
    ------
    ValueError, TypeError
        As :func:`softmax_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> y = np.log(np.array([0.25, 0.25, 0.5]))
    >>> nc.log_softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.75, -0.25, -0.5 ])
    """
    return _softmax_vjp("log_softmax_backward", grad_output, output, axis, out)
