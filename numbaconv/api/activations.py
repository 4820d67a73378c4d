"""Public activations API: activation functions, their derivatives, softmax and PReLU.

Every elementwise activation ``f`` comes in three forms, all generated from
one table (:data:`_DOCS` here, :data:`numbaconv.scalar.activations.ELEMENTWISE`
for the formulas):

* ``f(x, **params)``: the activation (PyTorch's ``torch.nn.functional``
  names and default parameters);
* ``f_derivative(x, **params)``: ``f'(x)`` elementwise; at kinks the value
  PyTorch's autograd uses (``relu'(0) = 0``, ``leaky_relu'(0) =
  negative_slope``, ``elu'(0) = alpha``, ``hardtanh' = 0`` at the limits...);
* ``f_and_derivative(x, **params)``: ``(f(x), f'(x))`` in one pass over ``x``.

Common rules: any shape; float32 in gives float32 out, float64 stays
float64, integer and bool inputs compute in float64; NaN in gives NaN out
(for derivatives too); the input is never modified; a CUDA array in gives a
CUDA array out. The formulas are stable: sigmoid, softplus, log_sigmoid,
softmax, log_softmax, silu, mish, gelu, elu and selu stay finite and accurate
for ``|x|`` up to 1e4 and beyond, and return their limits at +-inf.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import validate
from ..core.dispatch import asarray, backend_of, empty, is_cuda_array, kernels
from ..core.operands import dtype_of, float_dtype
from ..scalar.activations import ELEMENTWISE

__all__: list[str] = ["prelu", "prelu_derivative", "prelu_and_derivative", "softmax",
                      "log_softmax", "softmax_backward", "log_softmax_backward"]
__grad_all__: list[str] = ["prelu_weight"]

_FAMILY = "activations"


# --------------------------------------------------------------------------- argument helpers


def _check_float(value, name: str, allow_inf: bool = False) -> float:
    """A real scalar parameter as a Python float, or an error naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                        np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type "
                        f"{type(value).__name__}")
    v = float(value)
    if v != v or (not allow_inf and abs(v) == float("inf")):
        kind = "a real number (not NaN)" if allow_inf else "a finite real number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return v


def _params(key: str, values: tuple) -> tuple[float, float]:
    """Check one activation's parameters; return them as the kernels' ``(a, b)``."""
    names = [p for p, _ in ELEMENTWISE[key].params]
    vals = [_check_float(v, n, allow_inf=(n == "threshold")) for n, v in zip(names, values, strict=True)]
    if key == "celu" and vals[0] == 0.0:
        raise ValueError("alpha must be non-zero for celu (it divides x)")
    if key == "softplus" and vals[0] == 0.0:
        raise ValueError("beta must be non-zero for softplus (it divides the result)")
    if key == "hardtanh" and vals[0] > vals[1]:
        raise ValueError(f"hardtanh needs min_val <= max_val, got min_val={vals[0]} and "
                         f"max_val={vals[1]}")
    vals += [0.0] * (2 - len(vals))
    return vals[0], vals[1]


def _operand(x, name: str = "x"):
    backend = backend_of(**{name: x})
    dtype = float_dtype(dtype_of(x, name))
    return backend, asarray(x, name, backend, dtype)


def _elementwise(key: str, kind: str, x, values: tuple):
    a, b = _params(key, values)
    backend, arr = _operand(x)
    k = kernels(_FAMILY, backend)
    t = arr.dtype.type
    out = empty(backend, arr.shape, arr.dtype)
    if kind == "forward":
        k.elementwise(key, arr, out, t(a), t(b))
        return out
    if kind == "derivative":
        k.elementwise_derivative(key, arr, out, t(a), t(b))
        return out
    dout = empty(backend, arr.shape, arr.dtype)
    k.elementwise_and_derivative(key, arr, out, dout, t(a), t(b))
    return out, dout


def _gelu_key(approximate) -> str:
    approximate = validate.check_choice(approximate, "approximate", ("none", "tanh"))
    return "gelu" if approximate == "none" else "gelu_tanh"


# --------------------------------------------------------------------------- generated functions

#: public name -> (summary, formula / notes, parameter docs, example forward, example derivative)
#: Examples use ``x = np.array([-2.0, 0.0, 2.0])``; values checked against NumPy/SciPy formulas.
_DOCS = {
    "identity": ("The identity (linear) activation.", "f(x) = x, f'(x) = 1.", "",
                 "array([-2.,  0.,  2.])", "array([1., 1., 1.])"),
    "step": ("The Heaviside step function.",
             "f(x) = 1 for x > 0, else 0; step(0) = 0. f'(x) = 0 everywhere (as autograd "
             "treats a threshold).", "",
             "array([0., 0., 1.])", "array([0., 0., 0.])"),
    "sigmoid": ("The logistic sigmoid.",
                "f(x) = 1 / (1 + exp(-x)), computed from exp(-|x|); f' = f (1 - f), computed "
                "without cancellation.", "",
                "array([0.1192, 0.5   , 0.8808])", "array([0.105, 0.25 , 0.105])"),
    "tanh": ("The hyperbolic tangent.",
             "f(x) = tanh(x); f' = 1 - tanh(x)^2, computed as 4e / (1 + e)^2 with e = "
             "exp(-2|x|).", "",
             "array([-0.964,  0.   ,  0.964])", "array([0.0707, 1.    , 0.0707])"),
    "relu": ("The rectified linear unit.", "f(x) = max(x, 0); f'(0) = 0 (PyTorch).", "",
             "array([0., 0., 2.])", "array([0., 0., 1.])"),
    "relu6": ("ReLU capped at 6.", "f(x) = min(max(x, 0), 6); f' = 0 at 0 and at 6.", "",
              "array([0., 0., 2.])", "array([0., 0., 1.])"),
    "leaky_relu": ("The leaky ReLU.",
                   "f(x) = x for x > 0, else negative_slope * x; f'(0) = negative_slope.",
                   "negative_slope : float, optional\n    Slope for x <= 0 (default 0.01).",
                   "array([-0.02,  0.  ,  2.  ])", "array([0.01, 0.01, 1.  ])"),
    "elu": ("The exponential linear unit.",
            "f(x) = x for x > 0, else alpha * expm1(x); f'(x) = alpha * exp(x) for x <= 0, "
            "so f'(0) = alpha.",
            "alpha : float, optional\n    Scale of the negative part (default 1.0).",
            "array([-0.8647,  0.    ,  2.    ])", "array([0.1353, 1.    , 1.    ])"),
    "selu": ("The scaled ELU.",
             "f(x) = scale * elu(x, alpha) with PyTorch's alpha = 1.6732632423543772 and "
             "scale = 1.0507009873554805; f'(0) = scale * alpha.", "",
             "array([-1.5202,  0.    ,  2.1014])", "array([0.2379, 1.7581, 1.0507])"),
    "celu": ("The continuously differentiable ELU.",
             "f(x) = max(0, x) + min(0, alpha * expm1(x / alpha)); f'(x) = exp(x / alpha) "
             "for x <= 0.",
             "alpha : float, optional\n    Non-zero scale (default 1.0).",
             "array([-0.8647,  0.    ,  2.    ])", "array([0.1353, 1.    , 1.    ])"),
    "gelu": ("The Gaussian error linear unit.",
             "approximate='none': f(x) = x Phi(x) = 0.5 x erfc(-x / sqrt 2); approximate="
             "'tanh': f(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed as "
             "x sigmoid(2u). f(-inf) = 0.",
             "approximate : {'none', 'tanh'}, optional\n    The exact form (default) or "
             "PyTorch's tanh approximation.",
             "array([-0.0455,  0.    ,  1.9545])", "array([-0.0852,  0.5   ,  1.0852])"),
    "silu": ("The sigmoid linear unit (swish).",
             "f(x) = x sigmoid(x); f' = s (1 + x (1 - s)). f(-inf) = 0.", "",
             "array([-0.2384,  0.    ,  1.7616])", "array([-0.0908,  0.5   ,  1.0908])"),
    "mish": ("The Mish activation.",
             "f(x) = x tanh(softplus(x)), with tanh(softplus(x)) computed from one exp "
             "without cancellation. f(-inf) = 0.", "",
             "array([-0.2525,  0.    ,  1.944 ])", "array([-0.1084,  0.6   ,  1.0693])"),
    "softplus": ("The softplus function.",
                 "f(x) = log(1 + exp(beta x)) / beta, computed as (log1p(exp(-|beta x|)) + "
                 "max(beta x, 0)) / beta; f(x) = x where beta x > threshold (PyTorch). "
                 "f' = sigmoid(beta x), 1 beyond the threshold.",
                 "beta : float, optional\n    Non-zero sharpness (default 1.0).\n"
                 "threshold : float, optional\n    Linear above ``beta * x > threshold`` "
                 "(default 20.0).",
                 "array([0.1269, 0.6931, 2.1269])", "array([0.1192, 0.5   , 0.8808])"),
    "softsign": ("The softsign function.", "f(x) = x / (1 + |x|); f' = 1 / (1 + |x|)^2.", "",
                 "array([-0.6667,  0.    ,  0.6667])", "array([0.1111, 1.    , 0.1111])"),
    "hardtanh": ("The hard tanh (clamp).",
                 "f(x) = min(max(x, min_val), max_val); f' = 1 strictly between the limits, 0 at "
                 "and beyond them.",
                 "min_val, max_val : float, optional\n    The limits (default -1.0 and 1.0), "
                 "min_val <= max_val.",
                 "array([-1.,  0.,  1.])", "array([0., 1., 0.])"),
    "hardsigmoid": ("The hard sigmoid.",
                    "f(x) = relu6(x + 3) / 6; f' = 1/6 strictly inside (-3, 3), 0 elsewhere.", "",
                    "array([0.1667, 0.5   , 0.8333])", "array([0.1667, 0.1667, 0.1667])"),
    "hardswish": ("The hard swish.",
                  "f(x) = x relu6(x + 3) / 6; f' = 0 for x <= -3, x/3 + 1/2 strictly inside "
                  "(-3, 3), 1 for x >= 3 (PyTorch 2.x autograd).",
                  "", "array([-0.3333,  0.    ,  1.6667])", "array([-0.1667,  0.5   ,  1.1667])"),
    "log_sigmoid": ("The log of the sigmoid.",
                    "f(x) = min(x, 0) - log1p(exp(-|x|)); f' = 1 - sigmoid(x) = sigmoid(-x).", "",
                    "array([-2.1269, -0.6931, -0.1269])", "array([0.8808, 0.5   , 0.1192])"),
}

_TEMPLATE = '''
def {fname}(x{sig}){ret}:
    return _elementwise({key}, "{kind}", x, ({args}))
'''

_DOC = """{summary}

{what}

{notes}

Parameters
----------
x : array_like or CUDA array
    Input of any shape; integers compute in float64, float32 stays float32.
{params}
Returns
-------
{returns}

Examples
--------
>>> import numpy as np
>>> import numbaconv as nc
>>> x = np.array([-2.0, 0.0, 2.0])
>>> {call}
{expected}
"""


def _define(name: str) -> None:
    summary, notes, pdoc, ex_f, ex_d = _DOCS[name]
    if name == "gelu":
        sig, args, key, call_args = ", approximate: str = 'none'", "", "_gelu_key(approximate)", ""
    else:
        params = ELEMENTWISE[name].params
        sig = "".join(f", {p}: float = {d!r}" for p, d in params)
        args = "".join(f"{p}, " for p, _ in params)
        key, call_args = repr(name), ""
    forms = (
        (name, "forward", "The activation.", " -> np.ndarray",
         "ndarray or CUDA array\n    f(x), same shape, floating dtype.", ex_f),
        (f"{name}_derivative", "derivative", f"The derivative of :func:`{name}`.",
         " -> np.ndarray", "ndarray or CUDA array\n    f'(x), same shape, floating dtype.", ex_d),
        (f"{name}_and_derivative", "both", f":func:`{name}` and its derivative in one pass.",
         " -> tuple[np.ndarray, np.ndarray]",
         "(ndarray, ndarray) or (CUDA array, CUDA array)\n    f(x) and f'(x).", None),
    )
    for fname, kind, what, ret, returns, expected in forms:
        namespace: dict = {}
        exec(_TEMPLATE.format(fname=fname, sig=sig, ret=ret, key=key, kind=kind, args=args),
             globals(), namespace)
        fn = namespace[fname]
        if expected is None:
            call = f"[v.round(4) for v in nc.{fname}(x{call_args})]"
            expected = f"[{ex_f}, {ex_d}]"
        else:
            call = f"nc.{fname}(x{call_args}).round(4)"
        fn.__doc__ = _DOC.format(summary=summary if kind == "forward" else what, what=(
            what if kind == "forward" else summary), notes=notes,
            params=(pdoc + "\n") if pdoc else "", returns=returns, call=call, expected=expected)
        fn.__module__ = __name__
        globals()[fname] = fn
        __all__.append(fname)


for _name in _DOCS:
    _define(_name)
del _name


# --------------------------------------------------------------------------- PReLU


def _prelu_operands(x, weight, extra=None):
    backend = backend_of(x=x, weight=weight, **({"grad_output": extra} if extra is not None
                                                 else {}))
    dtype = float_dtype(dtype_of(x, "x"))
    arr = asarray(x, "x", backend, dtype)
    w = asarray(weight, "weight", backend, dtype)
    channels = arr.shape[1] if arr.ndim >= 2 else 1
    if w.size not in (1, channels):
        raise ValueError(f"weight must have 1 element or one per channel (x.shape[1] = "
                         f"{channels}), got {w.size} elements")
    if w.size == 1:
        shape3 = (1, 1, arr.size)
    else:
        shape3 = (arr.shape[0], channels, int(np.prod(arr.shape[2:], dtype=np.int64)))
    return backend, arr, w, shape3


def _prelu(x, weight, derivative: bool):
    backend, arr, w, shape3 = _prelu_operands(x, weight)
    out = empty(backend, arr.shape, arr.dtype)
    if arr.size:
        kernels(_FAMILY, backend).channelwise("leaky_relu", derivative, arr.reshape(shape3),
                                              w.reshape(w.size), out.reshape(shape3))
    return out


def prelu(x, weight) -> np.ndarray:
    """The parametric ReLU: ``x`` for ``x > 0``, ``weight * x`` otherwise.

    Parameters
    ----------
    x : array_like or CUDA array
        Input, channels along axis 1 (``(N, C, ...)``); fewer than 2 dimensions
        means one channel.
    weight : array_like or CUDA array
        One slope for all channels, or one per channel (``x.shape[1]`` values).
        It is cast to the computation dtype of ``x``.

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``x``, floating dtype.

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
    return _prelu(x, weight, derivative=False)


def prelu_derivative(x, weight) -> np.ndarray:
    """The derivative of :func:`prelu` with respect to ``x``: 1 for ``x > 0``, else ``weight``.

    At 0 the derivative is ``weight`` (PyTorch's autograd).

    Parameters
    ----------
    x, weight : array_like or CUDA array
        As in :func:`prelu`.

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.prelu_derivative(np.array([[-2.0, 0.0, 3.0]]), [0.25])
    array([[0.25, 0.25, 1.  ]])
    """
    return _prelu(x, weight, derivative=True)


def prelu_and_derivative(x, weight) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prelu` and :func:`prelu_derivative` together.

    Parameters
    ----------
    x, weight : array_like or CUDA array
        As in :func:`prelu`.

    Returns
    -------
    (ndarray, ndarray) or (CUDA array, CUDA array)

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> f, d = nc.prelu_and_derivative(np.array([-2.0, 3.0]), 0.5)
    >>> f, d
    (array([-1.,  3.]), array([0.5, 1. ]))
    """
    return _prelu(x, weight, derivative=False), _prelu(x, weight, derivative=True)


def prelu_weight(grad_output, x, weight) -> np.ndarray:
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

    Returns
    -------
    ndarray or CUDA array
        Same shape as ``weight``, the computation dtype of ``x``.

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
    backend, arr, w, shape3 = _prelu_operands(x, weight, grad_output)
    g = asarray(grad_output, "grad_output", backend, arr.dtype)
    if tuple(g.shape) != tuple(arr.shape):
        raise ValueError(f"grad_output must have the shape of x {tuple(arr.shape)}, got "
                         f"{tuple(g.shape)}")
    out = empty(backend, (w.size,), arr.dtype)
    kernels(_FAMILY, backend).prelu_weight(g.reshape(shape3), arr.reshape(shape3), out)
    wshape = np.shape(weight) if not is_cuda_array(weight) else tuple(weight.shape)
    return out.reshape(wshape) if wshape else out.reshape(())


# --------------------------------------------------------------------------- softmax


def _axis_split(shape, axis: int) -> tuple[int, int, int]:
    outer = math.prod(shape[:axis])  # math.prod: np.prod costs ~10 us a call here
    inner = math.prod(shape[axis + 1:])
    return outer, int(shape[axis]), inner


def _softmax(x, axis, log: bool):
    backend, arr = _operand(x)
    if arr.ndim == 0:
        raise ValueError("x must have at least 1 dimension for softmax over an axis")
    ax = validate.normalize_axis(axis, arr.ndim)
    out = empty(backend, arr.shape, arr.dtype)
    if arr.size:
        s3 = _axis_split(arr.shape, ax)
        kernels(_FAMILY, backend).softmax(arr.reshape(s3), out.reshape(s3), log)
    return out


def softmax(x, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``exp(x - max) / sum(exp(x - max))``.

    Shifted by the maximum, so no overflow for any finite input; a NaN makes its whole
    slice NaN; ``-inf`` entries give 0. Sums in float64, each slice by one thread in a fixed
    order.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of at least one dimension.
    axis : int, optional
        The axis that sums to 1 (default: the last).

    Returns
    -------
    ndarray or CUDA array
        Same shape, floating dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1e4]])).round(4)
    array([[0.09  , 0.2447, 0.6652],
           [0.    , 0.    , 1.    ]])
    """
    return _softmax(x, axis, log=False)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """Log-softmax along ``axis``: ``x - max - log(sum(exp(x - max)))``.

    Parameters
    ----------
    x : array_like or CUDA array
        Input of at least one dimension.
    axis : int, optional
        The axis to normalise over (default: the last).

    Returns
    -------
    ndarray or CUDA array
        Same shape, floating dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.log_softmax(np.array([1.0, 2.0, 3.0])).round(4)
    array([-2.4076, -1.4076, -0.4076])
    >>> nc.log_softmax(np.array([0.0, -1e4]))  # no underflow to log(0)
    array([     0., -10000.])
    """
    return _softmax(x, axis, log=True)


def _softmax_vjp(grad_output, output, axis, log: bool):
    backend = backend_of(grad_output=grad_output, output=output)
    dtype = float_dtype(dtype_of(grad_output, "grad_output"), dtype_of(output, "output"))
    g = asarray(grad_output, "grad_output", backend, dtype)
    y = asarray(output, "output", backend, dtype)
    if tuple(g.shape) != tuple(y.shape):
        raise ValueError(f"grad_output and output must have the same shape, got "
                         f"{tuple(g.shape)} and {tuple(y.shape)}")
    if y.ndim == 0:
        raise ValueError("output must have at least 1 dimension")
    ax = validate.normalize_axis(axis, y.ndim)
    out = empty(backend, y.shape, dtype)
    if y.size:
        s3 = _axis_split(y.shape, ax)
        kernels(_FAMILY, backend).softmax_backward(g.reshape(s3), y.reshape(s3),
                                                   out.reshape(s3), log)
    return out


def softmax_backward(grad_output, output, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of :func:`softmax`, from its output.

    ``grad_input = output * (grad_output - sum(grad_output * output, axis))``.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the softmax output.
    output : array_like or CUDA array
        ``softmax(x, axis)``, same shape.
    axis : int, optional
        The softmax axis.

    Returns
    -------
    ndarray or CUDA array
        Gradient with respect to ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> y = np.array([0.25, 0.25, 0.5])
    >>> nc.softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.1875, -0.0625, -0.125 ])
    """
    return _softmax_vjp(grad_output, output, axis, log=False)


def log_softmax_backward(grad_output, output, axis: int = -1) -> np.ndarray:
    """Vector-Jacobian product of :func:`log_softmax`, from its output.

    ``grad_input = grad_output - exp(output) * sum(grad_output, axis)``.

    Parameters
    ----------
    grad_output : array_like or CUDA array
        Gradient of the loss with respect to the log-softmax output.
    output : array_like or CUDA array
        ``log_softmax(x, axis)``, same shape.
    axis : int, optional
        The log-softmax axis.

    Returns
    -------
    ndarray or CUDA array
        Gradient with respect to ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> y = np.log(np.array([0.25, 0.25, 0.5]))
    >>> nc.log_softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.75, -0.25, -0.5 ])
    """
    return _softmax_vjp(grad_output, output, axis, log=True)

