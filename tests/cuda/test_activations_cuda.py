"""CUDA twins of the activations, against the same independent NumPy/SciPy oracles (tiny shapes)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
from devutil import to_device, to_host

import numbaconv as nc

SELU_A = 1.6732632423543772848170429916717
SELU_S = 1.0507009873554804934193349852946

# name -> (params, forward oracle, derivative oracle), float64 NumPy/SciPy formulas
ORACLES = {
    "identity": ({}, lambda x: x, lambda x: np.ones_like(x)),
    "step": ({}, lambda x: (x > 0) * 1.0, lambda x: np.zeros_like(x)),
    "sigmoid": ({}, sp.expit, lambda x: sp.expit(x) * sp.expit(-x)),
    "tanh": ({}, np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "relu": ({}, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "relu6": ({}, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0),
    "leaky_relu": ({"negative_slope": 0.2}, lambda x: np.where(x > 0, x, 0.2 * x),
                   lambda x: np.where(x > 0, 1.0, 0.2)),
    "elu": ({"alpha": 1.5}, lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, 1.5 * np.exp(np.minimum(x, 0)))),
    "selu": ({}, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))),
             lambda x: SELU_S * np.where(x > 0, 1.0, SELU_A * np.exp(np.minimum(x, 0)))),
    "celu": ({"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
             lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / 0.5))),
    "gelu": ({}, lambda x: 0.5 * x * sp.erfc(-x / np.sqrt(2)),
             lambda x: 0.5 * sp.erfc(-x / np.sqrt(2)) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
    "silu": ({}, lambda x: x * sp.expit(x), lambda x: sp.expit(x) * (1 + x * sp.expit(-x))),
    "mish": ({}, lambda x: x * np.tanh(np.logaddexp(0.0, x)),
             lambda x: np.tanh(np.logaddexp(0.0, x))
             + x * (1 - np.tanh(np.logaddexp(0.0, x)) ** 2) * sp.expit(x)),
    "softplus": ({"beta": 2.0, "threshold": 10.0},
                 lambda x: np.where(2 * x > 10, x, np.logaddexp(0.0, 2 * x) / 2),
                 lambda x: np.where(2 * x > 10, 1.0, sp.expit(2 * x))),
    "softsign": ({}, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "hardtanh": ({"min_val": -0.5, "max_val": 2.0}, lambda x: np.clip(x, -0.5, 2.0),
                 lambda x: ((x > -0.5) & (x < 2.0)) * 1.0),
    "hardsigmoid": ({}, lambda x: np.clip(x / 6 + 0.5, 0, 1),
                    lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0.0)),
    "hardswish": ({}, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5))),
    "log_sigmoid": ({}, sp.log_expit, lambda x: sp.expit(-x)),
}

X = np.array([-1e4, -30.0, -6.0, -3.0, -2.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 2.0, 3.0, 6.0, 30.0,
              1e4, np.nan])


@pytest.mark.parametrize("name", list(ORACLES))
def test_elementwise_twins(name):
    params, f_ref, d_ref = ORACLES[name]
    dtype = np.float32 if name in ("sigmoid", "gelu", "mish", "elu") else np.float64
    x = X.astype(dtype)
    with np.errstate(all="ignore"):
        rf = f_ref(x.astype(np.float64))
        rd = np.nan_to_num(d_ref(x.astype(np.float64)), nan=0.0)
    rf[-1] = rd[-1] = np.nan  # NaN in, NaN out (the oracles of step, relu... drop it)
    tol = dict(rtol=2e-6, atol=1e-30) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-300)
    f, d = getattr(nc, name + "_and_derivative")(to_device(x), **params)
    f, d = to_host(f), to_host(d)
    assert f.dtype == dtype and d.dtype == dtype
    np.testing.assert_allclose(f, rf, **tol)
    np.testing.assert_allclose(d, rd, **tol)
    np.testing.assert_allclose(to_host(getattr(nc, name)(to_device(x), **params)), rf, **tol)
    np.testing.assert_allclose(to_host(getattr(nc, name + "_derivative")(to_device(x), **params)),
                               rd, **tol)


def test_gelu_tanh_twin():
    x = X[:-1]
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    ref = x * sp.expit(2 * u)  # = 0.5 x (1 + tanh u) without its cancellation for x << 0
    np.testing.assert_allclose(to_host(nc.gelu(to_device(x), approximate="tanh")), ref,
                               rtol=1e-12, atol=1e-300)


def test_prelu_twin():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5))
    w = np.array([0.1, 0.2, 0.3])
    g = rng.standard_normal(x.shape)
    ref = np.where(x > 0, x, w[None, :, None] * x)
    np.testing.assert_allclose(to_host(nc.prelu(to_device(x), to_device(w))), ref, rtol=1e-15)
    dref = np.where(x > 0, 1.0, w[None, :, None] * np.ones_like(x))
    np.testing.assert_allclose(to_host(nc.prelu_derivative(to_device(x), to_device(w))), dref)
    gw = to_host(nc.grad.prelu_weight(to_device(g), to_device(x), to_device(w)))
    np.testing.assert_allclose(gw, (g * np.where(x > 0, 0.0, x)).sum(axis=(0, 2)), rtol=1e-12)
    # bitwise the CPU result: the same float64 sums in the same order
    np.testing.assert_array_equal(gw, nc.grad.prelu_weight(g, x, w))
    w1 = np.array([0.25])
    gw1 = to_host(nc.grad.prelu_weight(to_device(g), to_device(x), to_device(w1)))
    np.testing.assert_allclose(gw1, [(g * np.where(x > 0, 0.0, x)).sum()], rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_twins(axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5)) * 5
    x[0, 0, 0] = 1e4
    y = to_host(nc.softmax(to_device(x), axis=axis))
    ly = to_host(nc.log_softmax(to_device(x), axis=axis))
    np.testing.assert_allclose(y, sp.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly, sp.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(x.shape)
    vjp = to_host(nc.softmax_backward(to_device(g), to_device(y), axis=axis))
    np.testing.assert_allclose(vjp, y * (g - (g * y).sum(axis=axis, keepdims=True)), rtol=1e-10,
                               atol=1e-14)
    lvjp = to_host(nc.log_softmax_backward(to_device(g), to_device(ly), axis=axis))
    np.testing.assert_allclose(lvjp, g - np.exp(ly) * g.sum(axis=axis, keepdims=True),
                               rtol=1e-10, atol=1e-14)


def test_softmax_float32_nan_row():
    x = np.array([[1.0, np.nan, 0.0], [0.0, -1e4, 1e4]], np.float32)
    y = to_host(nc.softmax(to_device(x)))
    assert y.dtype == np.float32 and np.isnan(y[0]).all()
    np.testing.assert_allclose(y[1], [0.0, 0.0, 1.0])


def test_mixed_host_and_device_is_refused():
    with pytest.raises(TypeError, match="same device"):
        nc.softmax_backward(to_device(np.ones(3)), np.ones(3))
