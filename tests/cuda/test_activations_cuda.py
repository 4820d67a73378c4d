"""CUDA twins of the activations, against the shared float64 oracles of tests/oracles.py
(tiny shapes: the simulator runs every GPU thread as a Python thread)."""

from __future__ import annotations

import numpy as np
import oracles
import pytest
from devutil import assert_twin, to_device, to_host

import numbaconv as nc

X = np.array([-1e4, -30.0, -6.0, -3.0, -2.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 2.0, 3.0, 6.0, 30.0,
              1e4, np.nan])


def _call(name, form, *arrays, **kw):
    o = oracles.ACTIVATIONS[name]
    return getattr(nc, o.func + form)(*arrays, **o.params, **kw)


@pytest.mark.parametrize("name", list(oracles.ACTIVATIONS))
def test_elementwise_twins(name):
    dtype = np.float32 if name in ("sigmoid", "gelu", "mish", "elu", "relu") else np.float64
    x = X.astype(dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    rf = oracles.activation(name, x)
    rd = np.nan_to_num(oracles.activation(name, x, derivative=True), nan=0.0)
    rf[-1] = rd[-1] = np.nan  # NaN in, NaN out
    tol = dict(rtol=2e-6, atol=1e-30) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-300)
    f, d = _call(name, "_and_derivative", to_device(x))
    f, d = to_host(f), to_host(d)
    assert f.dtype == dtype and d.dtype == dtype
    np.testing.assert_allclose(f, rf, **tol)
    np.testing.assert_allclose(d, rd, **tol)
    np.testing.assert_allclose(to_host(_call(name, "", to_device(x))), rf, **tol)
    np.testing.assert_allclose(to_host(_call(name, "_derivative", to_device(x))), rd, **tol)
    b = to_host(_call(name, "_backward", to_device(g), to_device(x)))
    assert b.dtype == dtype
    np.testing.assert_allclose(b, g * rd, rtol=tol["rtol"], atol=1e-30)
    # out=: a device array of the result's shape, returned itself; in place on the device
    out = to_device(np.empty_like(x))
    assert _call(name, "", to_device(x), out=out) is out
    np.testing.assert_allclose(to_host(out), rf, **tol)
    dg = to_device(g)
    assert _call(name, "_backward", dg, to_device(x), out=dg) is dg
    np.testing.assert_array_equal(to_host(dg), b)


def test_prelu_twin():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5))
    w = np.array([0.1, 0.2, 0.3])
    g = rng.standard_normal(x.shape)
    ref, dref = oracles.prelu(x, w)
    np.testing.assert_allclose(to_host(nc.prelu(to_device(x), to_device(w))), ref, rtol=1e-15)
    np.testing.assert_allclose(to_host(nc.prelu_derivative(to_device(x), to_device(w))), dref)
    f, d = nc.prelu_and_derivative(to_device(x), to_device(w))
    np.testing.assert_allclose(to_host(f), ref, rtol=1e-15)
    np.testing.assert_allclose(to_host(d), dref)
    np.testing.assert_allclose(to_host(nc.prelu_backward(to_device(g), to_device(x), to_device(w))),
                               g * dref, rtol=1e-15)
    gw = to_host(nc.grad.prelu_weight(to_device(g), to_device(x), to_device(w)))
    np.testing.assert_allclose(gw, (g * np.where(x > 0, 0.0, x)).sum(axis=(0, 2)), rtol=1e-12)
    # the CPU result: the same float64 sums in the same order (bitwise but for FMA rounding)
    assert_twin(gw, nc.grad.prelu_weight(g, x, w))
    w1 = np.array([0.25])
    gw1 = to_host(nc.grad.prelu_weight(to_device(g), to_device(x), to_device(w1)))
    np.testing.assert_allclose(gw1, [(g * np.where(x > 0, 0.0, x)).sum()], rtol=1e-12)
    np.testing.assert_allclose(to_host(nc.prelu(to_device(x), to_device(w1))),
                               oracles.prelu(x, w1)[0], rtol=1e-15)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_twins(axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5)) * 5
    x[0, 0, 0] = 1e4
    y = to_host(nc.softmax(to_device(x), axis=axis))
    ly = to_host(nc.log_softmax(to_device(x), axis=axis))
    np.testing.assert_allclose(y, oracles.softmax(x, axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly, oracles.log_softmax(x, axis), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(x.shape)
    vjp = to_host(nc.softmax_backward(to_device(g), to_device(y), axis=axis))
    np.testing.assert_allclose(vjp, oracles.softmax_backward(g, y, axis), rtol=1e-10, atol=1e-14)
    lvjp = to_host(nc.log_softmax_backward(to_device(g), to_device(ly), axis=axis))
    np.testing.assert_allclose(lvjp, oracles.log_softmax_backward(g, ly, axis), rtol=1e-10,
                               atol=1e-14)
    if axis != -1:  # the slices path: the same loops as the CPU (bitwise but for FMA rounding
        # and the CPU's own float64 exp)
        assert_twin(vjp, nc.softmax_backward(g, y, axis=axis))
        assert_twin(y, nc.softmax(x, axis=axis), exp_ulps=4)


def test_softmax_float32_nan_row():
    x = np.array([[1.0, np.nan, 0.0], [0.0, -1e4, 1e4]], np.float32)
    y = to_host(nc.softmax(to_device(x)))
    assert y.dtype == np.float32 and np.isnan(y[0]).all()
    np.testing.assert_allclose(y[1], [0.0, 0.0, 1.0])


def test_mixed_host_and_device_is_refused():
    with pytest.raises(TypeError, match="same device"):
        nc.softmax_backward(to_device(np.ones(3)), np.ones(3))
    with pytest.raises(TypeError, match="same device"):
        nc.relu_backward(to_device(np.ones(3)), np.ones(3))
