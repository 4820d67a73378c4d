"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.signal
import scipy.special as sp

# ----------------------------------------------------------------------------------- activations
# Every elementwise activation: float64 NumPy/SciPy formulas written out from the definitions
# (PyTorch's), with the kinks of PyTorch's autograd, as functions of x and the parameters.
# Keys are the kernel names: "gelu_tanh" is gelu(x, approximate="tanh").

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class ActivationOracle(NamedTuple):
    func: str  #: the numbaconv function ("gelu" for gelu_tanh)
    params: dict  #: what the tests pass: non-default values where there are parameters
    f: object  #: f(x, **params), float64
    df: object  #: f'(x, **params), float64


def _nan(x, v):
    """``v``, NaN where ``x`` is NaN (formulas such as ``x > 0`` drop it)."""
    return np.where(np.isnan(x), np.nan, v)


def _elu(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_d(x, alpha):
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def _softplus(x, beta, threshold):
    return np.where(beta * x > threshold, x, np.logaddexp(0.0, beta * x) / beta)


def _gelu_d(x):
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return 0.5 * sp.erfc(-x / math.sqrt(2)) + np.where(np.isinf(x), 0.0, x * pdf)


def _gelu_tanh_u(x):
    return math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)


def _gelu_tanh(x, approximate):
    return x * sp.expit(2 * _gelu_tanh_u(x))  # 0.5 x (1 + tanh u), without its cancellation


def _gelu_tanh_d(x, approximate):
    s = sp.expit(2 * _gelu_tanh_u(x))
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x ** 2)
    return s + 2 * x * s * sp.expit(-2 * _gelu_tanh_u(x)) * du  # 0.5 (1 + t) + 0.5 x (1 - t^2) u'


def _mish_d(x):
    t = np.tanh(np.logaddexp(0.0, x))
    return t + x * (1 - t * t) * sp.expit(x)


ACTIVATIONS: dict[str, ActivationOracle] = {
    "identity": ActivationOracle("identity", {}, lambda x: x, lambda x: _nan(x, 1.0)),
    "step": ActivationOracle("step", {}, lambda x: _nan(x, (x > 0) * 1.0), lambda x: _nan(x, 0.0)),
    "sigmoid": ActivationOracle("sigmoid", {}, sp.expit, lambda x: sp.expit(x) * sp.expit(-x)),
    "tanh": ActivationOracle("tanh", {}, np.tanh, lambda x: 1 / np.cosh(np.clip(x, -700, 700)) ** 2),
    "relu": ActivationOracle("relu", {}, lambda x: np.maximum(x, 0), lambda x: _nan(x, (x > 0) * 1.0)),
    "relu6": ActivationOracle("relu6", {}, lambda x: np.clip(x, 0, 6),
                              lambda x: _nan(x, ((x > 0) & (x < 6)) * 1.0)),
    "leaky_relu": ActivationOracle(
        "leaky_relu", {"negative_slope": 0.2},
        lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
        lambda x, negative_slope=0.01: _nan(x, np.where(x > 0, 1.0, negative_slope))),
    "elu": ActivationOracle("elu", {"alpha": 1.5}, lambda x, alpha=1.0: _elu(x, alpha),
                            lambda x, alpha=1.0: _elu_d(x, alpha)),
    "selu": ActivationOracle("selu", {}, lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
                             lambda x: SELU_SCALE * _elu_d(x, SELU_ALPHA)),
    "celu": ActivationOracle("celu", {"alpha": 0.5}, lambda x, alpha=1.0: alpha * _elu(x / alpha, 1.0),
                             lambda x, alpha=1.0: _elu_d(x / alpha, 1.0)),
    "gelu": ActivationOracle("gelu", {}, lambda x: 0.5 * x * sp.erfc(-x / math.sqrt(2)), _gelu_d),
    "gelu_tanh": ActivationOracle("gelu", {"approximate": "tanh"}, _gelu_tanh, _gelu_tanh_d),
    "silu": ActivationOracle("silu", {}, lambda x: x * sp.expit(x),
                             lambda x: sp.expit(x) * (1 + x * sp.expit(-x))),
    "mish": ActivationOracle("mish", {}, lambda x: x * np.tanh(np.logaddexp(0.0, x)), _mish_d),
    "softplus": ActivationOracle(
        "softplus", {"beta": 2.0, "threshold": 10.0},
        lambda x, beta=1.0, threshold=20.0: _softplus(x, beta, threshold),
        lambda x, beta=1.0, threshold=20.0: _nan(x, np.where(beta * x > threshold, 1.0,
                                                             sp.expit(beta * x)))),
    "softsign": ActivationOracle("softsign", {}, lambda x: x / (1 + np.abs(x)),
                                 lambda x: 1 / (1 + np.abs(x)) ** 2),
    "hardtanh": ActivationOracle(
        "hardtanh", {"min_val": -0.5, "max_val": 2.0},
        lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
        lambda x, min_val=-1.0, max_val=1.0: _nan(x, ((x > min_val) & (x < max_val)) * 1.0)),
    "hardsigmoid": ActivationOracle("hardsigmoid", {}, lambda x: np.clip(x / 6 + 0.5, 0, 1),
                                    lambda x: _nan(x, np.where((x > -3) & (x < 3), 1 / 6, 0.0))),
    "hardswish": ActivationOracle(
        "hardswish", {}, lambda x: x * np.clip(x + 3, 0, 6) / 6,
        lambda x: _nan(x, np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5)))),
    "log_sigmoid": ActivationOracle("log_sigmoid", {}, sp.log_expit, lambda x: sp.expit(-x)),
}


def activation(name: str, x, derivative: bool = False, params: dict | None = None):
    """Activation ``name`` (or its derivative) at ``x`` in float64, with the test parameters
    of :data:`ACTIVATIONS` (``params={}``: the function's defaults)."""
    o = ACTIVATIONS[name]
    p = o.params if params is None else params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.asarray((o.df if derivative else o.f)(x, **p), dtype=np.float64)


def activation_backward(name: str, grad_output, x, params: dict | None = None):
    """The vector-Jacobian product ``grad_output * f'(x)`` in float64."""
    g = np.asarray(grad_output, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return g * activation(name, x, derivative=True, params=params)


def softmax(x, axis=-1):
    """``scipy.special.softmax`` in float64."""
    return sp.softmax(np.asarray(x, dtype=np.float64), axis=axis)


def log_softmax(x, axis=-1):
    """``scipy.special.log_softmax`` in float64."""
    return sp.log_softmax(np.asarray(x, dtype=np.float64), axis=axis)


def softmax_backward(grad_output, output, axis=-1):
    """The softmax VJP written out: ``y (g - sum(g y))``, in float64."""
    g, y = np.asarray(grad_output, np.float64), np.asarray(output, np.float64)
    return y * (g - (g * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(grad_output, output, axis=-1):
    """The log-softmax VJP written out: ``g - exp(y) sum(g)``, in float64."""
    g, y = np.asarray(grad_output, np.float64), np.asarray(output, np.float64)
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


def prelu(x, weight):
    """``(prelu(x, w), prelu'(x, w))`` in float64, one weight or one per channel (axis 1)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64).ravel()
    shape = [1] * x.ndim
    if w.size > 1:
        shape[1] = w.size
    wb = w.reshape(shape) if x.ndim else w[0]
    return np.where(x > 0, x, wb * x), _nan(x, np.where(x > 0, 1.0, wb * np.ones_like(x)))


# ------------------------------------------------------------------------------------- pooling
#
# A NumPy sliding-window reference: pad explicitly (-inf for max, zeros for average), cut every
# window with ``sliding_window_view`` and reduce it with NumPy, in float64; channels first
# ``(N, C, *spatial)``. Gradients: index routing (max) and the pooling matrix (average).


def pool_out_len(n, k, s, lo, hi, d, ceil_mode):
    """PyTorch's pooling output length, written out (floor/ceil, drop a window starting in the pad)."""
    span = n + lo + hi - (d * (k - 1) + 1)
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + lo:
            o -= 1
        return o
    return span // s + 1


def pool_windows(a, k, s, d, pads, outs, fill):
    """(N, C, *outs, *k) windows of ``a`` (N, C, *spatial) padded with ``fill``."""
    from numpy.lib.stride_tricks import sliding_window_view

    nd = len(k)
    widths = [(0, 0), (0, 0)]
    for i in range(nd):
        need = (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1
        widths.append((pads[i][0], max(0, need - a.shape[2 + i] - pads[i][0])))
    ap = np.pad(a, widths, constant_values=fill)
    eff = tuple(d[i] * (k[i] - 1) + 1 for i in range(nd))
    v = sliding_window_view(ap, eff, axis=tuple(range(2, 2 + nd)))
    sl = ((slice(None), slice(None))
          + tuple(slice(0, (outs[i] - 1) * s[i] + 1, s[i]) for i in range(nd))
          + tuple(slice(None, None, d[i]) for i in range(nd)))
    return v[sl]


def ref_max_pool(x, k, s, d, pads, outs):
    """(values, flat in-plane indices) in float64: first maximum / first NaN of each window,
    -inf and -1 for a window with no tap inside the input."""
    nd = len(k)
    w = pool_windows(x.astype(np.float64), k, s, d, pads, outs, -np.inf)
    sp = x.shape[2:]
    pos = np.arange(int(np.prod(sp))).reshape((1, 1) + sp)
    wi = pool_windows(pos, k, s, d, pads, outs, -1)
    flat = w.reshape(w.shape[:2 + nd] + (-1,))
    wi = np.broadcast_to(wi, w.shape).reshape(flat.shape)
    inside = wi >= 0
    key = np.where(inside, flat, -np.inf)  # a padding tap never wins
    am = np.argmax(key, axis=-1)  # numpy: the first maximum, or the first NaN
    all_neg_inf = np.all(key == -np.inf, axis=-1)
    am = np.where(all_neg_inf, np.argmax(inside, axis=-1), am)  # then: the first tap inside
    vals = np.take_along_axis(flat, am[..., None], -1)[..., 0]
    idx = np.take_along_axis(wi, am[..., None], -1)[..., 0]
    none = ~np.any(inside, axis=-1)
    return np.where(none, -np.inf, vals), np.where(none, -1, idx)


def ref_avg_pool(x, k, s, pads, outs, include_pad, override=None):
    """Average pooling in float64 (PyTorch's divisors, TensorFlow's for ``include_pad=False``)."""
    nd = len(k)
    ones = (1,) * nd
    w = pool_windows(x.astype(np.float64), k, s, ones, pads, outs, 0.0)
    axes = tuple(range(2 + nd, 2 + 2 * nd))
    total = w.sum(axis=axes)
    if override is not None:
        return total / override
    mask = np.ones((1, 1) + x.shape[2:])
    if include_pad:  # padding counts; the part of a window beyond the padding never does
        widths = [(0, 0), (0, 0)] + [(lo, hi) for lo, hi in pads]
        mask = np.pad(mask, widths, constant_values=1.0)
        count = pool_windows(mask, k, s, ones, [(0, 0)] * nd, outs, 0.0).sum(axis=axes)
    else:
        count = pool_windows(mask, k, s, ones, pads, outs, 0.0).sum(axis=axes)
    return total / count


def adaptive_bounds(n, o):
    """PyTorch's adaptive windows: output ``i`` pools ``[floor(i*n/o), ceil((i+1)*n/o))``."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def ref_adaptive_pool(x, outs, op):
    """Adaptive max (``op='max'``: values, first-maximum indices) or average pooling."""
    nd = len(outs)
    sp = x.shape[2:]
    bounds = [adaptive_bounds(n, o) for n, o in zip(sp, outs, strict=True)]
    vals = np.empty(x.shape[:2] + tuple(outs))
    idx = np.empty(x.shape[:2] + tuple(outs), np.int64)
    pos = np.arange(int(np.prod(sp))).reshape(sp)
    for o in np.ndindex(*outs):
        sl = tuple(slice(*bounds[a][o[a]]) for a in range(nd))
        win = x[(Ellipsis,) + sl].astype(np.float64).reshape(x.shape[:2] + (-1,))
        if op == "max":
            am = np.argmax(win, axis=-1)
            vals[(Ellipsis,) + o] = np.take_along_axis(win, am[..., None], -1)[..., 0]
            idx[(Ellipsis,) + o] = pos[sl].ravel()[am]
        else:
            vals[(Ellipsis,) + o] = win.mean(axis=-1)
    return vals, idx


def route_max_grad(g, idx, in_shape):
    """Max-pool gradient reference: every g entry added to the input at its index (-1: none)."""
    n, c = in_shape[:2]
    out = np.zeros((n, c, int(np.prod(in_shape[2:]))))
    for i in range(n):
        for j in range(c):
            ii = idx[i, j].ravel()
            keep = ii >= 0
            np.add.at(out[i, j], ii[keep], np.asarray(g[i, j], np.float64).ravel()[keep])
    return out.reshape(in_shape)


def ref_unpool(x, idx, out_spatial):
    """Zeros with ``x`` written at its flat in-plane indices in scan order (the last wins)."""
    n, c = x.shape[:2]
    out = np.zeros((n, c, int(np.prod(out_spatial))), x.dtype)
    for i in range(n):
        for j in range(c):
            for v, k in zip(x[i, j].ravel(), idx[i, j].ravel(), strict=True):
                if k >= 0:
                    out[i, j, k] = v
    return out.reshape((n, c) + tuple(out_spatial))


def linear_map_matrix(fn, in_shape):
    """The matrix of a linear map, from the map applied to every basis vector."""
    size = int(np.prod(in_shape))
    cols = [np.asarray(fn(np.eye(size)[i].reshape(in_shape))).ravel() for i in range(size)]
    return np.stack(cols, axis=1)


def to_channels_last(a, batched=True):
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)`` (``(C, *sp)`` -> ``(*sp, C)`` unbatched)."""
    a = np.asarray(a)
    first = 1 if batched else 0
    return np.ascontiguousarray(np.moveaxis(a, first, -1))


def to_channels_first(a, batched=True):
    """The inverse of :func:`to_channels_last`."""
    a = np.asarray(a)
    first = 1 if batched else 0
    return np.ascontiguousarray(np.moveaxis(a, -1, first))


# ---------------------------------------------------------------------------------- convolution
# Deep-learning convolution (channels-first, float64) from scipy.signal.correlate/convolve on
# numpy.pad-padded planes: dilation by a zero-inserted kernel, stride by slicing (forward)
# or by zero-inserting the data (transposed convolution, weight gradient).

#: PyTorch's padding_mode names -> numpy.pad's
CONV_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                  "circular": "wrap", "symmetric": "symmetric"}


def dilate(a, steps):
    """``a`` with ``step - 1`` zeros inserted between its elements along every axis."""
    a = np.asarray(a, np.float64)
    out = np.zeros(tuple(s * (n - 1) + 1 for n, s in zip(a.shape, steps, strict=True)))
    out[tuple(slice(None, None, s) for s in steps)] = a
    return out


def conv_reference(x, w, bias=None, stride=None, pads=None, dilation=None, groups=1,
                   mode="zeros"):
    """``conv{nd}d`` of a batched ``(N, C, *spatial)`` ``x`` with ``(K, C/groups, *k)`` ``w``.

    Sum over the group's input channels of ``scipy.signal.correlate(padded plane,
    dilated kernel, 'valid')``, every ``stride``-th output kept, plus the bias.
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads),
                mode=CONV_PAD_MODES.get(mode, mode))
    K, cg = w.shape[:2]
    kg = K // groups
    out = []
    for n in range(x.shape[0]):
        chans = []
        for k in range(K):
            acc = 0
            for c in range(cg):
                acc = acc + scipy.signal.correlate(xp[n, (k // kg) * cg + c],
                                                   dilate(w[k, c], dilation), "valid",
                                                   method="direct")
            acc = acc[tuple(slice(None, None, s) for s in stride)]
            chans.append(acc + (0 if bias is None else bias[k]))
        out.append(np.stack(chans))
    return np.stack(out)


def conv_transpose_reference(y, w, bias=None, stride=None, pads=None, dilation=None, groups=1,
                             out_size=None):
    """``conv_transpose{nd}d`` of ``(N, C_in, *spatial)`` ``y`` with ``(C_in, C_out/groups, *k)``
    ``w``: the input gradient of :func:`conv_reference`.

    Each input channel's plane, zero-inserted by ``stride``, is ``scipy.signal.convolve``d
    ('full') with the dilated kernel; the result loses ``before`` elements at the start of
    every axis and is cut (or zero-extended) to ``out_size`` (default: PyTorch's length with
    ``output_padding = 0``), plus the bias.
    """
    y = np.asarray(y, np.float64)
    w = np.asarray(w, np.float64)
    nd = y.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    if out_size is None:
        out_size = tuple((n - 1) * s - lo - hi + d * (k - 1) + 1 for n, s, (lo, hi), d, k in
                         zip(y.shape[2:], stride, pads, dilation, w.shape[2:], strict=True))
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    out = np.zeros((y.shape[0], cog * groups) + tuple(out_size))
    for n in range(y.shape[0]):
        for ci in range(c_in):
            up = dilate(y[n, ci], stride)
            for o in range(cog):
                full = scipy.signal.convolve(up, dilate(w[ci, o], dilation), "full",
                                             method="direct")
                part = full[tuple(slice(lo, lo + m) for (lo, _), m in zip(pads, out_size,
                                                                           strict=True))]
                target = out[n, (ci // cig) * cog + o]
                target[tuple(slice(0, m) for m in part.shape)] += part
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape((-1,) + (1,) * nd)
    return out


def conv_input_grad_reference(x_shape, w, g, stride=None, pads=None, dilation=None, groups=1):
    """``grad.conv{nd}d_input``: the transposed convolution of ``g`` cut to ``x_shape``."""
    return conv_transpose_reference(g, w, None, stride, pads, dilation, groups,
                                    tuple(x_shape[2:]))


def conv_weight_grad_reference(x, w_shape, g, stride=None, pads=None, dilation=None, groups=1):
    """``grad.conv{nd}d_weight``: ``dw[k, c]`` is the sum over the batch of
    ``scipy.signal.correlate(padded x plane, g plane zero-inserted by stride, 'valid')``
    read every ``dilation``-th element."""
    x = np.asarray(x, np.float64)
    g = np.asarray(g, np.float64)
    nd = x.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads))
    K, cg = w_shape[:2]
    kg = K // groups
    dw = np.zeros(tuple(w_shape))
    for k in range(K):
        for c in range(cg):
            for n in range(x.shape[0]):
                corr = scipy.signal.correlate(xp[n, (k // kg) * cg + c], dilate(g[n, k], stride),
                                              "valid", method="direct")
                dw[k, c] += corr[tuple(slice(0, d * (m - 1) + 1, d) for d, m in
                                       zip(dilation, w_shape[2:], strict=True))]
    return dw



# --------------------------------------------------------------------------------------- signal


def scipy_signal(name, a, b, *args, **kwargs):
    """scipy.signal's ``name`` (convolve, correlate, convolve2d, ..., fftconvolve, oaconvolve).

    Bool inputs, which scipy's N-D direct path refuses, are computed in int64 and compared
    with 0 (a bool convolution is an OR of ANDs); 'auto' is taken as 'direct', the method
    whose NaN semantics numbaconv's 'auto' keeps.
    """
    import numpy as np
    import scipy.signal as ss

    fn = getattr(ss, name)
    if kwargs.get("method") == "auto":
        kwargs = dict(kwargs, method="direct")
    if np.asarray(a).dtype == np.bool_ and name in ("convolve", "correlate"):
        kwargs = {k: v for k, v in kwargs.items() if k != "method"}
        return fn(np.asarray(a, np.int64), np.asarray(b, np.int64), *args, method="direct",
                  **kwargs) != 0
    return fn(a, b, *args, **kwargs)


def assert_signal_close(got, want, exact: bool | None = None, single: bool | None = None):
    """Same dtype and shape as scipy's result; equal for integers and bools, else close to
    the precision of the dtype (``single``: of float32, e.g. when an input was float32),
    relative to the result's largest magnitude."""
    import numpy as np

    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact if exact is not None else want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    if single is None:
        single = want.dtype in (np.float32, np.complex64)
    tol = 2e-4 if single else 1e-10
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)



# --------------------------------------------------------------------------------- normalization


def batch_norm_ref(x, running_mean, running_var, weight=None, bias=None, training=False,
                   momentum=0.1, eps=1e-5):
    """Batch normalisation written out in float64 (PyTorch's definition).

    Returns ``(y, new_running_mean, new_running_var)``; the running statistics are new
    arrays (None when not given), never the arguments.
    """
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    new_mean = new_var = None
    if training:
        n = x.size // c
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
        if running_mean is not None:
            rm = np.asarray(running_mean, dtype=np.float64)
            rv = np.asarray(running_var, dtype=np.float64)
            new_mean = (1 - momentum) * rm + momentum * mean
            new_var = (1 - momentum) * rv + momentum * var * n / (n - 1)
    else:
        mean = np.asarray(running_mean, dtype=np.float64)
        var = np.asarray(running_var, dtype=np.float64)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    b = np.zeros(c) if bias is None else np.asarray(bias, dtype=np.float64)
    y = ((x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + eps) * w.reshape(bshape)
         + b.reshape(bshape))
    return y, new_mean, new_var


def batch_norm_grads_ref(grad_output, x, running_mean, running_var, weight=None,
                         training=False, eps=1e-5):
    """``(grad_input, grad_weight, grad_bias)`` of batch normalisation, written out in float64.

    Training mode differentiates through the batch mean and biased variance:
    ``dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat))``.
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
    else:
        mean = np.asarray(running_mean, dtype=np.float64)
        var = np.asarray(running_var, dtype=np.float64)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    sigma = np.sqrt(var + eps).reshape(bshape)
    xhat = (x - mean.reshape(bshape)) / sigma
    gb = g.sum(axis=axes)
    gw = (g * xhat).sum(axis=axes)
    if training:
        gx = w.reshape(bshape) / sigma * (g - g.mean(axis=axes, keepdims=True)
                                          - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    else:
        gx = g * w.reshape(bshape) / sigma
    return gx, gw, gb
