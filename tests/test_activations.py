"""Activations: values against the shared float64 oracles (tests/oracles.py), derivatives and
vector-Jacobian products against finite differences and textbook identities, kinks per
PyTorch autograd, extremes, dtypes, ``out=``, serial vs parallel paths, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import oracles
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaconv as nc
from numbaconv.cpu import activations as cpu_act

NAMES = list(oracles.ACTIVATIONS)  # kernel names: gelu_tanh is gelu(approximate="tanh")
KINKS = {"step": [0.0], "relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "elu": [0.0],
         "selu": [0.0], "celu": [0.0], "hardtanh": [-0.5, 2.0], "hardsigmoid": [-3.0, 3.0],
         "hardswish": [-3.0, 3.0], "softplus": [5.0]}


def _call(name, form, *arrays, params=None, **kw):
    """numbaconv's ``form`` ('', '_derivative', '_and_derivative', '_backward') of activation
    ``name`` with the oracle table's test parameters (or ``params``)."""
    o = oracles.ACTIVATIONS[name]
    p = o.params if params is None else params
    return getattr(nc, o.func + form)(*arrays, **p, **kw)


def _tol(dtype):
    return dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-7)


GRID = np.concatenate([np.linspace(-12, 12, 481), [-1e-7, 1e-7, -0.5, 0.5, -30, 30, -80, 80]])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_against_oracle(name, dtype):
    x = GRID.astype(dtype)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(dtype)
    ref_f = oracles.activation(name, x)
    ref_d = oracles.activation(name, x, derivative=True)
    f, d = _call(name, "", x), _call(name, "_derivative", x)
    f2, d2 = _call(name, "_and_derivative", x)
    b = _call(name, "_backward", g, x)
    for got in (f, d, f2, d2, b):
        assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_allclose(f, ref_f, **_tol(dtype))
    np.testing.assert_allclose(d, ref_d, **_tol(dtype))
    # the VJP against the oracle's g * f'; its error is that of f' scaled by |g|
    tol = _tol(dtype)
    np.testing.assert_allclose(b, oracles.activation_backward(name, g, x), rtol=tol["rtol"],
                               atol=tol["atol"] * np.abs(g).max())
    np.testing.assert_array_equal(f2, f)  # the fused pass computes the same formulas
    np.testing.assert_array_equal(d2, d)
    np.testing.assert_array_equal(b, g * d)  # the documented identity, bit for bit


def _away_from_kinks(name, x, h):
    return all(abs(x - k) > 10 * h for k in KINKS.get(name, []))


@pytest.mark.parametrize("name", NAMES)
@given(x=st.floats(-15, 15), g=st.floats(-3, 3))
def test_derivative_and_vjp_match_central_differences(name, x, g):
    h = 1e-6
    if not _away_from_kinks(name, x, h):
        return
    xs = np.array([x - h, x + h, x])
    f = _call(name, "", xs)
    fd = (f[1] - f[0]) / (2 * h)
    assert _call(name, "_derivative", xs)[2] == pytest.approx(fd, rel=1e-5, abs=1e-6)
    vjp = _call(name, "_backward", np.full(3, g), xs)[2]
    assert vjp == pytest.approx(g * fd, rel=1e-5, abs=1e-6)


def test_kinks_follow_pytorch_autograd():
    def d(name, v, **p):
        return float(getattr(nc, name + "_derivative")(np.array([v]), **p)[0])

    def b(name, v, **p):  # the VJP at a kink takes the derivative's value there
        return float(getattr(nc, name + "_backward")(np.array([2.0]), np.array([v]), **p)[0])

    assert d("relu", 0.0) == 0.0 and b("relu", 0.0) == 0.0
    assert d("leaky_relu", 0.0) == 0.01 and b("leaky_relu", 0.0) == 0.02
    assert d("leaky_relu", 0.0, negative_slope=0.3) == pytest.approx(0.3)
    assert d("elu", 0.0) == 1.0 and d("elu", 0.0, alpha=2.5) == 2.5
    assert b("elu", 0.0, alpha=2.5) == 5.0
    assert d("selu", 0.0) == pytest.approx(oracles.SELU_SCALE * oracles.SELU_ALPHA)
    assert d("celu", 0.0, alpha=2.0) == 1.0
    assert d("hardtanh", -1.0) == 0.0 and d("hardtanh", 1.0) == 0.0 and d("hardtanh", 0.99) == 1.0
    assert b("hardtanh", 1.0) == 0.0 and b("hardtanh", 0.5) == 2.0
    assert d("relu6", 0.0) == 0.0 and d("relu6", 6.0) == 0.0 and d("relu6", 5.9) == 1.0
    assert d("hardsigmoid", -3.0) == 0.0 and d("hardsigmoid", 3.0) == 0.0
    assert d("hardsigmoid", 2.9) == pytest.approx(1 / 6)
    # hardswish: PyTorch 2.x autograd uses the open interval (-3, 3) for x/3 + 1/2
    # (torch.ops.aten.hardswish_backward); notes/semantics.md's closed interval is outdated.
    assert d("hardswish", -3.0) == 0.0 and d("hardswish", 3.0) == 1.0
    assert d("hardswish", -2.9) == pytest.approx(-2.9 / 3 + 0.5)
    assert d("hardswish", -3.1) == 0.0 and d("hardswish", 3.1) == 1.0
    assert d("step", 0.0) == 0.0 and d("step", 1.0) == 0.0 and b("step", 1.0) == 0.0
    assert float(nc.step(np.array([0.0]))[0]) == 0.0 and float(nc.step(np.array([1e-300]))[0]) == 1.0
    # softplus: linear strictly above the threshold (beta * x > threshold), as PyTorch
    assert float(nc.softplus(np.array([20.0]))[0]) == pytest.approx(np.log1p(np.exp(20.0)), rel=1e-15)
    assert float(nc.softplus(np.array([20.5]))[0]) == 20.5
    assert d("softplus", 20.5) == 1.0


@given(x=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-40, 40)))
def test_textbook_identities(x):
    s, t = nc.sigmoid(x), nc.tanh(x)
    np.testing.assert_allclose(nc.sigmoid_derivative(x), s * (1 - s), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(nc.tanh_derivative(x), 1 - t * t, rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(t, 2 * nc.sigmoid(2 * x) - 1, rtol=1e-12, atol=1e-15)
    # elu'(x) = elu(x) + alpha for x <= 0 (the course notes)
    neg = x <= 0
    np.testing.assert_allclose(nc.elu_derivative(x, 0.7)[neg], nc.elu(x, 0.7)[neg] + 0.7,
                               rtol=1e-12, atol=1e-15)


EXTREME = np.array([-1e4, -1e3, -100.0, 100.0, 1e3, 1e4])
STABLE = ["sigmoid", "softplus", "log_sigmoid", "silu", "mish", "gelu", "gelu_tanh", "elu", "selu",
          "tanh", "celu", "softsign"]


@pytest.mark.parametrize("name", STABLE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extremes_finite_and_accurate(name, dtype):
    x = EXTREME.astype(dtype)
    ref_f = oracles.activation(name, x)
    ref_d = np.nan_to_num(oracles.activation(name, x, derivative=True))
    f, d = _call(name, "", x), _call(name, "_derivative", x)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(d))
    np.testing.assert_allclose(f, ref_f, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(d, ref_d, rtol=1e-6, atol=1e-30)


def test_float32_gelu_keeps_relative_accuracy_in_the_tails():
    # gelu = x Phi(x) and gelu' = Phi + x phi, down to Phi(-13) ~ 1e-38 (the float32 normal
    # range): a formula through 1 + erf cancels, and one that rounds x^2 / 2 before the
    # exponential loses x^2 / 2 ulp. Error relative to Phi + |x| phi (gelu' crosses 0 at -0.75).
    x = np.linspace(-13, 14, 400_001).astype(np.float32)
    x64 = x.astype(np.float64)
    cdf, pdf = 0.5 * sp.erfc(-x64 / np.sqrt(2)), np.exp(-x64 * x64 / 2) / np.sqrt(2 * np.pi)
    scale = cdf + np.abs(x64) * pdf
    ulp = np.finfo(np.float32).eps / 2
    f, d = nc.gelu(x), nc.gelu_derivative(x)
    assert f.dtype == np.float32 and d.dtype == np.float32
    big = np.maximum(np.abs(x64), 1)  # gelu / max(|x|, 1) is on the scale of Phi + |x| phi
    for got, want in ((f / big, x64 * cdf / big), (d, cdf + x64 * pdf)):
        err = np.abs(got - want) / scale
        assert err.max() < 16 * ulp, (err.max() / ulp, x[np.argmax(err)])


# limits at -inf and +inf: (f(-inf), f(inf), f'(-inf), f'(inf))
LIMITS = {"sigmoid": (0, 1, 0, 0), "tanh": (-1, 1, 0, 0), "relu": (0, np.inf, 0, 1),
          "softplus": (0, np.inf, 0, 1), "log_sigmoid": (-np.inf, 0, 1, 0),
          "silu": (0, np.inf, 0, 1), "mish": (0, np.inf, 0, 1), "gelu": (0, np.inf, 0, 1),
          "gelu_tanh": (0, np.inf, 0, 1), "elu": (-1.5, np.inf, 0, 1),
          "softsign": (-1, 1, 0, 0), "hardswish": (0, np.inf, 0, 1), "step": (0, 1, 0, 0)}


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_infinities_give_limits_and_nan_gives_nan(name, dtype):
    x = np.array([-np.inf, np.inf, np.nan], dtype=dtype)
    f, d = _call(name, "", x), _call(name, "_derivative", x)
    lim = LIMITS[name]
    np.testing.assert_allclose(f[:2], lim[:2], rtol=1e-7)
    np.testing.assert_allclose(d[:2], lim[2:], rtol=1e-7)
    assert np.isnan(f[2]) and np.isnan(d[2])
    # the VJP: g * f'(x) in IEEE arithmetic, so a zero derivative times g stays 0 ...
    b = _call(name, "_backward", np.full(3, 2.0, dtype), x)
    np.testing.assert_allclose(b[:2], 2 * np.array(lim[2:]), rtol=1e-7)
    assert np.isnan(b[2])


@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates(name):
    x = np.array([np.nan, 1.0, np.nan, -1.0, 0.5], dtype=np.float32)
    g = np.array([1.0, 1.0, np.nan, np.nan, np.inf], dtype=np.float32)
    f, d = _call(name, "_and_derivative", x)
    assert np.isnan(f[[0, 2]]).all() and np.isnan(d[[0, 2]]).all() and not np.isnan(f[1])
    b = _call(name, "_backward", g, x)
    # NaN in x or in grad_output gives NaN; inf * f' is inf, or NaN where f' is 0 (IEEE)
    assert np.isnan(b[[0, 2, 3]]).all() and not np.isnan(b[1])
    d5 = d[4]
    assert np.isnan(b[4]) if d5 == 0 else b[4] == np.inf * np.sign(d5)


def test_scipy_anchors():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 9)) * 10
    np.testing.assert_allclose(nc.sigmoid(x), sp.expit(x), rtol=1e-14)
    np.testing.assert_allclose(nc.log_sigmoid(x), sp.log_expit(x), rtol=1e-14)
    np.testing.assert_allclose(nc.gelu(x / 3), 0.5 * (x / 3) * (1 + sp.erf(x / 3 / np.sqrt(2))),
                               rtol=1e-12, atol=1e-15)
    for axis in (0, 1, -1):
        np.testing.assert_allclose(nc.softmax(x, axis=axis), sp.softmax(x, axis=axis), rtol=1e-13)
        np.testing.assert_allclose(nc.log_softmax(x, axis=axis), sp.log_softmax(x, axis=axis),
                                   rtol=1e-13, atol=1e-13)


def test_dtypes_and_input_forms():
    x64 = np.array([-2.0, 0.5, 3.0])
    assert nc.relu([-1, 2]).dtype == np.float64  # integers promote to float64
    np.testing.assert_array_equal(nc.relu([-1, 2]), [0.0, 2.0])
    assert nc.sigmoid(np.float32(1.0)).dtype == np.float32 and nc.sigmoid(1.0).shape == ()
    big = x64.astype(">f8")
    np.testing.assert_array_equal(nc.elu(big), nc.elu(x64))
    ro = x64.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(nc.silu(ro), nc.silu(x64))
    m = np.arange(24.0).reshape(4, 6) - 12
    np.testing.assert_allclose(nc.tanh(m[:, ::2]), np.tanh(m[:, ::2]), rtol=1e-14)
    np.testing.assert_array_equal(nc.tanh(m[:, ::2]), nc.tanh(m)[:, ::2])  # layout-independent
    np.testing.assert_array_equal(nc.softsign(np.asfortranarray(m)), m / (1 + np.abs(m)))
    assert nc.mish(np.zeros((0, 3))).shape == (0, 3)
    assert nc.mish_backward(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0, 3)
    before = m.copy()
    nc.softmax(m, axis=0)
    nc.gelu_and_derivative(m)
    nc.gelu_backward(m, m)
    np.testing.assert_array_equal(m, before)  # inputs never modified
    assert nc.hardswish(np.ones(3, np.float16)).dtype == np.float32
    # the VJP computes in the promoted dtype of its two inputs
    x32 = x64.astype(np.float32)
    assert nc.relu_backward(x32, x32).dtype == np.float32
    assert nc.relu_backward(x64, x32).dtype == np.float64
    assert nc.relu_backward([1, 2, 3], x32).dtype == np.float64
    np.testing.assert_array_equal(nc.elu_backward(x64, x32), x64 * nc.elu_derivative(x32.astype(np.float64)))


def test_argument_errors_name_the_argument():
    x = np.ones(3)
    with pytest.raises(ValueError, match="approximate"):
        nc.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        nc.gelu_backward(x, x, approximate="erf")
    with pytest.raises(TypeError, match="negative_slope"):
        nc.leaky_relu(x, negative_slope="big")
    with pytest.raises(TypeError, match="alpha"):
        nc.elu(x, alpha=True)
    with pytest.raises(ValueError, match="alpha"):
        nc.elu(x, alpha=float("nan"))
    with pytest.raises(ValueError, match="alpha"):
        nc.celu_backward(x, x, alpha=0.0)
    with pytest.raises(ValueError, match="beta"):
        nc.softplus(x, beta=0)
    with pytest.raises(ValueError, match="min_val"):
        nc.hardtanh(x, min_val=2.0, max_val=1.0)
    with pytest.raises(TypeError, match="x"):
        nc.relu(np.ones(2, complex))
    with pytest.raises(TypeError, match="x"):
        nc.relu(["a", "b"])
    with pytest.raises(ValueError, match="grad_output"):
        nc.relu_backward(np.ones(4), x)
    with pytest.raises(TypeError, match="grad_output"):
        nc.relu_backward(np.ones(3, complex), x)
    with pytest.raises(ValueError, match="axis"):
        nc.softmax(x, axis=1)
    with pytest.raises(ValueError, match="dimension"):
        nc.softmax(np.float64(1.0))
    with pytest.raises(ValueError, match="weight"):
        nc.prelu(np.ones((2, 3, 4)), [0.1, 0.2])
    with pytest.raises(ValueError, match="same shape"):
        nc.softmax_backward(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="grad_output"):
        nc.grad.prelu_weight(np.ones(3), np.ones((3, 1)), [0.1])
    with pytest.raises(ValueError, match="grad_output"):
        nc.prelu_backward(np.ones(3), np.ones((3, 1)), [0.1])
    assert float(nc.softplus(np.array([1e6]), threshold=float("inf"))[0]) == 1e6


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("name", ["relu", "gelu", "softplus"])
def test_out_receives_the_result_and_is_returned(name):
    x = np.linspace(-4, 4, 37)
    g = np.cos(x)
    for form, args in (("", (x,)), ("_derivative", (x,)), ("_backward", (g, x))):
        want = _call(name, form, *args)
        out = np.empty_like(x)
        assert _call(name, form, *args, out=out) is out
        np.testing.assert_array_equal(out, want)
        strided = np.empty((x.size, 2))[:, 0]  # not contiguous: written through scratch
        assert _call(name, form, *args, out=strided) is strided
        np.testing.assert_array_equal(strided, want)
    f_out, d_out = np.empty_like(x), np.empty_like(x)
    f, d = _call(name, "_and_derivative", x, out=(f_out, d_out))
    assert f is f_out and d is d_out
    np.testing.assert_array_equal(f, _call(name, "", x))
    np.testing.assert_array_equal(d, _call(name, "_derivative", x))
    f, d = _call(name, "_and_derivative", x, out=(None, d_out))
    assert d is d_out and f is not x


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [37, cpu_act.SERIAL_BELOW_EXP + 3, 3 * cpu_act.CHUNK + 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place(name, size, dtype):
    # out=x (and out=grad_output, out=x for the VJP): each kernel's loop over the one array,
    # serially and in the parallel runs (the one-pass f and f' through a scratch piece at a
    # time), gives the out-of-place bits, which the oracle tests check; NaNs pass through in
    # place too (their lanes store the NaN computed, not the value loaded there)
    x = (np.random.default_rng(3).standard_normal(size) * 4).astype(dtype)
    x[::7] = np.nan
    g = np.random.default_rng(4).standard_normal(size).astype(dtype)
    want_f, want_d = _call(name, "", x), _call(name, "_derivative", x)
    want_b = _call(name, "_backward", g, x)
    np.testing.assert_array_equal(want_b, g * want_d)
    for form, want in (("", want_f), ("_derivative", want_d)):
        y = x.copy()
        assert _call(name, form, y, out=y) is y
        np.testing.assert_array_equal(y, want)
    gg = g.copy()
    assert _call(name, "_backward", gg, x, out=gg) is gg
    np.testing.assert_array_equal(gg, want_b)
    y = x.copy()
    assert _call(name, "_backward", g, y, out=y) is y
    np.testing.assert_array_equal(y, want_b)
    y, d = x.copy(), np.empty_like(x)
    f, d = _call(name, "_and_derivative", y, out=(y, d))
    np.testing.assert_array_equal(f, want_f)
    np.testing.assert_array_equal(d, want_d)
    y = x.copy()
    nc.leaky_relu(y, 0.1, out=y)
    np.testing.assert_array_equal(y, np.where(x > 0, x, dtype(0.1) * x))


@pytest.mark.parametrize("name", ["relu", "sigmoid"])
def test_in_place_on_the_team(name, monkeypatch, serial_only):
    # a large call in place runs in fixed runs on Numba's team (the thresholds lowered so
    # that a small array takes that path, with several runs and a tail): the bits of the
    # same call out of place on the calling thread
    x = np.random.default_rng(5).standard_normal(5 * 8192 + 11).astype(np.float32)
    x[::5] = np.nan
    g = np.random.default_rng(6).standard_normal(x.size).astype(np.float32)
    want_f, want_b = serial_only(lambda: (_call(name, "", x), _call(name, "_backward", g, x)))
    monkeypatch.setattr(cpu_act, "SERIAL_BELOW", 3 * 8192)
    monkeypatch.setattr(cpu_act, "SERIAL_BELOW_EXP", 3 * 8192)
    y = x.copy()
    assert _call(name, "", y, out=y) is y
    np.testing.assert_array_equal(y, want_f)
    gg = g.copy()
    assert _call(name, "_backward", gg, x, out=gg) is gg
    np.testing.assert_array_equal(gg, want_b)


def test_out_errors_name_out():
    x = np.ones(5)
    with pytest.raises(ValueError, match="out"):
        nc.relu(x, out=np.empty(4))
    with pytest.raises(TypeError, match="out"):
        nc.relu(x, out=np.empty(5, np.float32))
    with pytest.raises(TypeError, match="out"):
        nc.relu(x, out=[0.0] * 5)
    with pytest.raises(ValueError, match="out"):
        nc.relu_backward(x, x, out=np.empty((5, 1)))
    with pytest.raises(TypeError, match="out"):
        nc.softmax(x, out=np.empty(5, np.float32))
    with pytest.raises(ValueError, match=r"out\[1\]"):
        nc.relu_and_derivative(x, out=(np.empty(5), np.empty(4)))
    with pytest.raises(TypeError, match="out"):
        nc.relu_and_derivative(x, out=np.empty(5))
    both = np.empty(5)
    with pytest.raises(ValueError, match="share memory"):
        nc.relu_and_derivative(x, out=(both, both))
    ro = np.empty(5)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        nc.tanh(x, out=ro)
    buf = np.arange(6.0)
    with pytest.raises(ValueError, match="overlaps"):  # part of x, not x itself
        nc.relu(buf[:5], out=buf[1:])
    with pytest.raises(ValueError, match="out"):
        nc.grad.prelu_weight(np.ones((2, 3)), np.ones((2, 3)), [0.1, 0.2, 0.3], out=np.empty(2))


def test_softmax_out_overlapping_x_is_refused_on_the_fast_path_too():
    base = np.linspace(-1, 1, 15)
    x, out = base[:10].reshape(2, 5), base[5:15].reshape(2, 5)  # contiguous, overlapping
    with pytest.raises(ValueError, match="out overlaps x"):
        nc.softmax(x, out=out)
    fresh = np.empty((2, 5))
    assert nc.softmax(x, out=fresh) is fresh
    np.testing.assert_allclose(fresh, oracles.softmax(x), rtol=1e-15)


def test_out_softmax_and_prelu():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 7, 3))
    g = rng.standard_normal(x.shape)
    for axis in (-1, 1):
        y = nc.softmax(x, axis=axis)
        out = np.empty_like(x)
        assert nc.softmax(x, axis=axis, out=out) is out
        np.testing.assert_array_equal(out, y)
        z = x.copy()
        assert nc.softmax(z, axis=axis, out=z) is z  # in place
        np.testing.assert_array_equal(z, y)
        ly = nc.log_softmax(x, axis=axis)
        z = x.copy()
        nc.log_softmax(z, axis=axis, out=z)
        np.testing.assert_array_equal(z, ly)
        want = nc.softmax_backward(g, y, axis=axis)
        gg = g.copy()
        assert nc.softmax_backward(gg, y, axis=axis, out=gg) is gg
        np.testing.assert_array_equal(gg, want)
        want = nc.log_softmax_backward(g, ly, axis=axis)
        yy = ly.copy()
        nc.log_softmax_backward(g, yy, axis=axis, out=yy)
        np.testing.assert_array_equal(yy, want)
    w = np.linspace(0.1, 0.7, 7)
    want = nc.prelu(x, w)
    z = x.copy()
    assert nc.prelu(z, w, out=z) is z
    np.testing.assert_array_equal(z, want)
    want = nc.prelu_backward(g, x, w)
    gg = g.copy()
    assert nc.prelu_backward(gg, x, w, out=gg) is gg
    np.testing.assert_array_equal(gg, want)
    gw = np.empty(7)
    assert nc.grad.prelu_weight(g, x, w, out=gw) is gw
    np.testing.assert_array_equal(gw, nc.grad.prelu_weight(g, x, w))


# --------------------------------------------------------------------------- serial / parallel


@pytest.fixture
def serial_only(monkeypatch):
    """Every call on the calling thread, whatever its size."""
    def run(fn):
        with monkeypatch.context() as m:
            for name in ("SERIAL_BELOW", "SERIAL_BELOW_EXP", "SERIAL_BELOW_EXP_PIECES",
                         "PIECES_FROM", "SOFTMAX_SERIAL_BELOW",
                         "SOFTMAX_BACKWARD_SERIAL_BELOW"):
                m.setattr(cpu_act, name, 1 << 62)
            return fn()
    return run


@pytest.mark.parametrize("name", NAMES)
def test_parallel_path_is_bitwise_the_serial_path(name, serial_only):
    # more than SERIAL_BELOW elements (several pieces and a tail) against the same call
    # forced onto the calling thread, and against the oracles
    n = cpu_act.PIECES_FROM + 2 * cpu_act.PIECE + 3
    x = np.resize(GRID, n).astype(np.float32)
    x = x[np.random.default_rng(2).permutation(n)]
    g = np.random.default_rng(7).standard_normal(n).astype(np.float32)

    def run():
        xi, gi = x.copy(), g.copy()  # in place too: every piece writes over its own input
        return (_call(name, "", x), _call(name, "_derivative", x),
                *_call(name, "_and_derivative", x), _call(name, "_backward", g, x),
                _call(name, "", xi, out=xi), _call(name, "_backward", gi, x, out=gi))

    parallel, serial = run(), serial_only(run)
    np.testing.assert_array_equal(parallel[5], parallel[0])
    np.testing.assert_array_equal(parallel[6], parallel[4])
    for a, b in zip(parallel, serial, strict=True):
        np.testing.assert_array_equal(a, b)
    tol = dict(rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(parallel[0], oracles.activation(name, x), **tol)
    np.testing.assert_allclose(parallel[1], oracles.activation(name, x, derivative=True), **tol)
    np.testing.assert_allclose(parallel[4], oracles.activation_backward(name, g, x), rtol=2e-6,
                               atol=2e-7 * np.abs(g).max())


def test_prelu_and_softmax_parallel_paths_are_bitwise_serial(serial_only):
    assert 6 * 5 * 36000 > cpu_act.PIECES_FROM and 300 * 1000 > cpu_act.SOFTMAX_SERIAL_BELOW
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((6, 5, 36000)) * 3).astype(np.float32)  # > PIECES_FROM
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.uniform(0, 0.5, 5).astype(np.float32)
    rows = (rng.standard_normal((300, 1000)) * 5).astype(np.float32)
    grow = rng.standard_normal(rows.shape).astype(np.float32)

    def run():
        y, ly = nc.softmax(rows), nc.log_softmax(rows)
        return (nc.prelu(x, w), nc.prelu_derivative(x, w), nc.prelu_backward(g, x, w),
                nc.prelu(x, w[:1]), nc.grad.prelu_weight(g, x, w), y, ly,
                nc.softmax_backward(grow, y), nc.log_softmax_backward(grow, ly),
                nc.softmax(x, axis=1), nc.log_softmax(x, axis=0),
                nc.softmax_backward(g, x, axis=1))

    for a, b in zip(run(), serial_only(run), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["gelu", "mish", "softplus"])
def test_results_do_not_depend_on_thread_count(name):
    x = np.random.default_rng(5).standard_normal((8, 37, 1000)).astype(np.float32) * 5
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    w = np.array([0.1, 0.2, 0.3] * 12 + [0.4], np.float32)
    n = numba.get_num_threads()

    def run():
        y = nc.softmax(x)
        return (*getattr(nc, name + "_and_derivative")(x), getattr(nc, name + "_backward")(g, x),
                y, nc.softmax_backward(g, y), nc.softmax(x, axis=1), nc.grad.prelu_weight(g, x, w))

    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(n)
        many = run()
    finally:
        numba.set_num_threads(n)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- softmax


@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                    elements=st.floats(-1e4, 1e4)), data=st.data())
def test_softmax_properties(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    y = nc.softmax(x, axis=axis)
    ly = nc.log_softmax(x, axis=axis)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(ly))
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, oracles.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly, oracles.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-9)
    big = ly > -700
    np.testing.assert_allclose(np.log(y[big]), ly[big], rtol=1e-10, atol=1e-12)


def test_softmax_float32_and_nan():
    x = np.array([[1.0, 2.0, np.nan], [1e4, -1e4, 0.0], [-np.inf, 0.0, 1.0]], np.float32)
    for axis, xs in ((-1, x), (0, x.T.copy())):
        y = nc.softmax(xs, axis=axis)
        assert y.dtype == np.float32
        ym = np.moveaxis(y, axis, -1)
        assert np.isnan(ym[0]).all()
        np.testing.assert_allclose(ym[1:], oracles.softmax(x[1:]), rtol=1e-6, atol=1e-30)
        ly = np.moveaxis(nc.log_softmax(xs, axis=axis), axis, -1)
        assert ly[2, 0] == -np.inf and np.isnan(ly[0]).all()


def test_softmax_float32_tail_below_the_normal_range_is_zero():
    # documented: float32 probabilities under 2**-126 are 0 (float64 keeps them)
    x = np.array([0.0, -80.0, -87.0, -88.0, -100.0, -np.inf])
    y64, y32 = nc.softmax(x), nc.softmax(x.astype(np.float32))
    np.testing.assert_allclose(y64, oracles.softmax(x), rtol=1e-14, atol=0)
    np.testing.assert_allclose(y32[:3], oracles.softmax(x)[:3], rtol=2e-6, atol=0)
    assert y32[3] == 0 and y32[4] == 0 and y32[5] == 0 and y64[4] > 0
    ly32 = nc.log_softmax(x.astype(np.float32))  # log_softmax keeps its exact tail
    np.testing.assert_allclose(ly32[:5], x[:5], rtol=1e-6)


ROW_SHAPES = [(3, 15), (2, 16), (5, 17), (4, 33), (300, 10), (100, 100), (9, 511), (9, 512),
              (7, 1000), (40, 1000), (3, 5000)]


@pytest.mark.parametrize("shape", ROW_SHAPES)
def test_softmax_long_rows_and_the_parallel_path(shape):
    # rows longer than the 16 reduction lanes (with a tail), rows in blocks (shorter than
    # cpu.activations.BLOCK_BELOW) and one at a time, and >= 8k elements (parallel)
    rng = np.random.default_rng(shape[1])
    x = rng.standard_normal(shape) * 30
    x[0, -1] = -np.inf
    y, ly = nc.softmax(x), nc.log_softmax(x)
    np.testing.assert_allclose(y, oracles.softmax(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly[:, :-1], oracles.log_softmax(x)[:, :-1], rtol=1e-12, atol=1e-12)
    assert ly[0, -1] == -np.inf
    g = rng.standard_normal(shape)
    np.testing.assert_allclose(nc.softmax_backward(g, y), oracles.softmax_backward(g, y),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nc.log_softmax_backward(g, ly), oracles.log_softmax_backward(g, ly),
                               rtol=1e-10, atol=1e-12)
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(nc.softmax(x32), oracles.softmax(x), rtol=2e-5, atol=1e-30)
    np.testing.assert_allclose(nc.log_softmax(x32)[:, :-1], oracles.log_softmax(x)[:, :-1],
                               rtol=2e-5, atol=2e-5)
    x[-1, shape[1] // 2] = np.nan  # a NaN anywhere makes its whole row NaN, only that row
    y = nc.softmax(x)
    assert np.isnan(y[-1]).all() and np.isfinite(y[:-1]).all()
    assert np.isnan(nc.log_softmax(x)[-1]).all()


@pytest.mark.parametrize("n", [17, 31, 32, 33, 47, 48, 49, 64, 100, 255, 511])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_row_max_in_vectors_sees_every_element(n, dtype):
    # rows of 16 and more take their maximum in vectors of 16 (the last ones overlapping):
    # row j holds its maximum at element j, far above the rest (a missed one overflows the
    # exponential); then rows with a NaN last, a +inf, all -inf and all NaN
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((n + 4, n)) * 4).astype(dtype)
    x[np.arange(n), np.arange(n)] = 1000.0
    x[n, -1], x[n + 1, n // 2], x[n + 2], x[n + 3] = np.nan, np.inf, -np.inf, np.nan
    with np.errstate(invalid="ignore"):
        ref, lref = sp.softmax(x.astype(np.float64), axis=-1), sp.log_softmax(x.astype(np.float64),
                                                                             axis=-1)
    tol = dict(rtol=2e-5, atol=1e-30) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(nc.softmax(x), ref, equal_nan=True, **tol)
    ly = nc.log_softmax(x)
    assert np.isnan(ly[n:]).all()
    np.testing.assert_allclose(ly[:n], lref[:n], rtol=tol["rtol"], atol=1e-3 * tol["rtol"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_of_every_length(dtype):
    # the rows kernels' passes along a row are vectors of 16 from 16 elements on, the last
    # one overlapping the one before (sums: the overlap's lanes left out), scalar below:
    # every length up to five vectors, and a few beyond, against the float64 oracles, and
    # in place (out= an input) with the same bits as out of place
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for n in [*range(1, 82), 95, 100, 127, 128, 129, 257]:
        rng = np.random.default_rng(n)
        x = (rng.standard_normal((3, n)) * 4).astype(dtype)
        g = rng.standard_normal((3, n)).astype(dtype)
        y, ly = nc.softmax(x), nc.log_softmax(x)
        np.testing.assert_allclose(y, oracles.softmax(x), err_msg=f"n={n}", **tol)
        np.testing.assert_allclose(ly, oracles.log_softmax(x), err_msg=f"n={n}", **tol)
        vjp, lvjp = nc.softmax_backward(g, y), nc.log_softmax_backward(g, ly)
        np.testing.assert_allclose(vjp, oracles.softmax_backward(g, y), err_msg=f"n={n}", **tol)
        np.testing.assert_allclose(lvjp, oracles.log_softmax_backward(g, ly), err_msg=f"n={n}",
                                   **tol)
        for fn, args, want in ((nc.softmax, (x,), y), (nc.log_softmax, (x,), ly),
                               (nc.softmax_backward, (g, y), vjp),
                               (nc.log_softmax_backward, (g, ly), lvjp)):
            for k in range(len(args)):
                ins = [a.copy() for a in args]
                np.testing.assert_array_equal(fn(*ins, out=ins[k]), want, err_msg=f"n={n}")


@pytest.mark.parametrize("shape", ROW_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_in_place_is_the_out_of_place_result(shape, dtype):
    rng = np.random.default_rng(shape[0] * shape[1])
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    y, ly = nc.softmax(x), nc.log_softmax(x)
    expected = {"softmax": y, "log_softmax": ly, "softmax_backward": nc.softmax_backward(g, y),
                "log_softmax_backward": nc.log_softmax_backward(g, ly)}
    for name, args in (("softmax", (x,)), ("log_softmax", (x,)),
                       ("softmax_backward", (g, y)), ("log_softmax_backward", (g, ly))):
        for k in range(len(args)):  # out= each input in turn
            ins = [a.copy() for a in args]
            res = getattr(nc, name)(*ins, out=ins[k])
            assert res is ins[k]
            np.testing.assert_array_equal(res, expected[name], err_msg=f"{name} out=input {k}")


@pytest.mark.parametrize("shape,axis", [((3, 40, 300), 1), ((2, 300, 5), 0), ((50, 4, 600), 1),
                                        ((5, 7, 2), 1)])
def test_softmax_over_inner_axes(shape, axis):
    # slices strided in memory, in blocks of neighbouring slices (more than a block, a tail)
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape) * 20
    x.flat[7] = np.nan
    g = rng.standard_normal(shape)
    with np.errstate(invalid="ignore"):
        want, lwant = oracles.softmax(x, axis), oracles.log_softmax(x, axis)
    y, ly = nc.softmax(x, axis=axis), nc.log_softmax(x, axis=axis)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly, lwant, rtol=1e-12, atol=1e-12)
    assert np.isnan(y).sum() == shape[axis]  # the NaN's slice, only that
    ok = np.isfinite(y)
    y = np.where(ok, y, 0.0)
    ly = np.where(ok, ly, 0.0)
    np.testing.assert_allclose(nc.softmax_backward(g, y, axis=axis),
                               oracles.softmax_backward(g, y, axis), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nc.log_softmax_backward(g, ly, axis=axis),
                               oracles.log_softmax_backward(g, ly, axis), rtol=1e-10, atol=1e-12)
    x32 = x.astype(np.float32)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(nc.softmax(x32, axis=axis), want, rtol=2e-5, atol=1e-30)


@pytest.mark.parametrize("n", [1, 5, 16])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_short_slices_give_the_same_bits_on_any_axis(n, dtype):
    # up to 16 elements a slice is summed in order on every path (rows, strided slices), so a
    # softmax does not depend on the layout (a chunked dask array, a transposed copy)
    x = (np.random.default_rng(n).standard_normal((n, 7)) * 5).astype(dtype)
    g = np.random.default_rng(n + 1).standard_normal((n, 7)).astype(dtype)
    xt, gt = np.ascontiguousarray(x.T), np.ascontiguousarray(g.T)
    y = nc.softmax(x, axis=0)
    np.testing.assert_array_equal(y, nc.softmax(xt).T)
    np.testing.assert_array_equal(nc.log_softmax(x, axis=0), nc.log_softmax(xt).T)
    yt = np.ascontiguousarray(y.T)
    np.testing.assert_array_equal(nc.softmax_backward(g, y, axis=0), nc.softmax_backward(gt, yt).T)
    np.testing.assert_array_equal(nc.log_softmax_backward(g, y, axis=0),
                                  nc.log_softmax_backward(gt, yt).T)


def _softmax_jacobian(y):  # one row
    return np.diag(y) - np.outer(y, y)


@given(x=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 6)),
                    elements=st.floats(-20, 20)),
       g=st.integers(0, 2 ** 31))
def test_softmax_backward_is_the_vjp(x, g):
    gout = np.random.default_rng(g).standard_normal(x.shape)
    y = nc.softmax(x)
    ly = nc.log_softmax(x)
    vjp = nc.softmax_backward(gout, y)
    lvjp = nc.log_softmax_backward(gout, ly)
    for r in range(x.shape[0]):
        J = _softmax_jacobian(oracles.softmax(x[r]))
        np.testing.assert_allclose(vjp[r], gout[r] @ J, rtol=1e-9, atol=1e-12)
        Jl = np.eye(x.shape[1]) - np.outer(np.ones(x.shape[1]), oracles.softmax(x[r]))
        np.testing.assert_allclose(lvjp[r], gout[r] @ Jl, rtol=1e-9, atol=1e-12)
    # along another axis: the transposed problem
    np.testing.assert_allclose(nc.softmax_backward(gout.T, y.T, axis=0), vjp.T, rtol=1e-14)
    np.testing.assert_allclose(nc.log_softmax_backward(gout.T, ly.T, axis=0), lvjp.T, rtol=1e-14)


# --------------------------------------------------------------------------- PReLU


@pytest.mark.parametrize("shape,wsize", [((5,), 1), ((2, 3), 3), ((2, 3, 4, 5), 3),
                                          ((2, 3, 4), 1), ((), 1)])
def test_prelu_against_oracle(shape, wsize):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    w = rng.uniform(0, 0.5, wsize)
    f_ref, d_ref = oracles.prelu(x, w)
    np.testing.assert_allclose(nc.prelu(x, w), f_ref, rtol=1e-15)
    np.testing.assert_allclose(nc.prelu_derivative(x, w), d_ref, rtol=1e-15)
    f, d = nc.prelu_and_derivative(x, w)
    np.testing.assert_array_equal(f, nc.prelu(x, w))
    np.testing.assert_array_equal(d, nc.prelu_derivative(x, w))
    g = rng.standard_normal(shape)
    np.testing.assert_allclose(nc.prelu_backward(g, x, w), g * d_ref, rtol=1e-15)
    # weight gradient: sum of g * x over x <= 0, per channel
    gw = nc.grad.prelu_weight(g, x, w)
    assert gw.shape == w.shape
    contrib = g * np.where(x > 0, 0.0, x)
    if wsize == 1:
        np.testing.assert_allclose(gw, [contrib.sum()], rtol=1e-12)
    else:
        axes = tuple(a for a in range(x.ndim) if a != 1)
        np.testing.assert_allclose(gw, contrib.sum(axis=axes), rtol=1e-12)
    # and by finite differences of <g, prelu(x, w)> in w and in x
    h = 1e-6
    for c in range(wsize):
        e = np.zeros(wsize)
        e[c] = h
        fd = (np.sum(g * nc.prelu(x, w + e)) - np.sum(g * nc.prelu(x, w - e))) / (2 * h)
        assert gw[c] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    if x.size:
        i = np.unravel_index(x.size // 2, x.shape) if x.ndim else ()
        e = np.zeros_like(x)
        e[i] = h
        fd = (np.sum(g * nc.prelu(x + e, w)) - np.sum(g * nc.prelu(x - e, w))) / (2 * h)
        assert nc.prelu_backward(g, x, w)[i] == pytest.approx(fd, rel=1e-6)


def test_prelu_dtypes_and_nan():
    x = np.array([[-1.0, 2.0, np.nan]], np.float32)
    assert nc.prelu(x, np.array([0.5])).dtype == np.float32
    assert nc.prelu_backward(x, x, np.array([0.5])).dtype == np.float32
    assert np.isnan(nc.prelu(x, 0.5)[0, 2]) and np.isnan(nc.prelu_derivative(x, 0.5)[0, 2])
    assert np.isnan(nc.prelu_backward(np.ones_like(x), x, 0.5)[0, 2])
    assert nc.grad.prelu_weight(x[:, :2], x[:, :2], np.float64(0.5)).shape == ()


# --------------------------------------------------------------------------- kernels


def test_float32_fast_exp_is_within_2_ulp():
    from numba import njit

    from numbaconv.scalar.activations import fexp

    @njit(error_model="numpy")
    def run(x, out):
        for i in range(x.size):
            out[i] = fexp(x[i])

    x = np.concatenate([np.linspace(-104, 89, 200_001), [-1e4, -110, 88.72, 1e4]]).astype(np.float32)
    out = np.empty_like(x)
    run(x, out)
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64))
        ref32 = ref.astype(np.float32)
    normal = (ref32 > np.finfo(np.float32).tiny) & np.isfinite(ref32)
    ulp = np.abs(out[normal].astype(np.float64) - ref[normal]) / np.spacing(ref32[normal]).astype(np.float64)
    assert ulp.max() <= 2.0
    assert np.all(out[~normal & (ref < 1)] < 2e-38) and np.all(np.isinf(out[~np.isfinite(ref32)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_keeps_the_sign_of_zero(dtype):
    # an odd function: tanh(-0.0) is -0.0 (NumPy, PyTorch), tanh(0.0) is 0.0
    x = np.array([-0.0, 0.0, -1e-30, 1e-30], dtype)
    np.testing.assert_array_equal(np.signbit(nc.tanh(x)), np.signbit(np.tanh(x)))
    np.testing.assert_array_equal(np.signbit(nc.tanh_and_derivative(x)[0]),
                                  np.signbit(np.tanh(x)))


def test_float64_fast_exponentials_are_within_a_few_ulp():
    # the float64 CPU forms of exp, expm1, tanh and log1p (branch-free, vectorised) against
    # the same functions in NumPy's extended precision (x86's 80-bit long double; NumPy's
    # float64 libm where there is none, one ulp more allowed)
    from numba import njit

    from numbaconv.scalar.activations import fexp, fexp_nonpos, fexpm1, flog1p_unit, ftanh

    @njit(error_model="numpy")
    def run(x, o1, o2, o3, o4, o5):
        for i in range(x.size):
            xi = x[i]
            o1[i] = fexp(xi)
            o2[i] = fexpm1(xi)
            o3[i] = ftanh(xi)
            o4[i] = flog1p_unit(min(max(xi, 0.0), 1.0))
            o5[i] = fexp_nonpos(min(xi, 0.0))

    rng = np.random.default_rng(5)
    tiny = np.geomspace(1e-300, 1, 20_000)
    x = np.concatenate([np.linspace(-746, 710, 200_001), np.linspace(-1, 1, 100_001),
                        rng.standard_normal(50_000) * 1e-3, tiny, -tiny,
                        [0.0, -0.0, 709.78, 709.79, -745.1, -745.2, 1e4, -1e4, np.inf, -np.inf,
                         np.nan]])
    outs = [np.empty_like(x) for _ in range(5)]
    run(x, *outs)
    extended = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
    lx = x.astype(np.longdouble if extended else np.float64)
    slack = 0.0 if extended else 1.0
    with np.errstate(all="ignore"):
        refs = [np.exp(lx), np.expm1(lx), np.tanh(lx), np.log1p(np.clip(lx, 0, 1)),
                np.exp(np.minimum(lx, 0))]
    for name, out, ref, bound in zip(("exp", "expm1", "tanh", "log1p", "exp_nonpos"), outs,
                                     refs, (1.0, 2.0, 3.0, 3.0, 1.0), strict=True):
        with np.errstate(over="ignore"):
            r64 = ref.astype(np.float64)
        normal = np.isfinite(r64) & (np.abs(r64) >= np.finfo(np.float64).tiny)
        ulp = (np.abs(out[normal].astype(ref.dtype) - ref[normal])
               / np.spacing(np.abs(r64[normal])).astype(ref.dtype))
        assert ulp.max() <= bound + slack, (name, float(ulp.max()), x[normal][np.argmax(ulp)])
        sub = np.isfinite(r64) & ~normal  # subnormal results: within one unit of the last place
        assert np.abs(out[sub] - r64[sub]).max(initial=0.0) <= 5e-324, name
        rest = ~np.isfinite(r64)  # inf and NaN exactly
        np.testing.assert_array_equal(out[rest], r64[rest], err_msg=name)


def test_float64_erfcx_polynomial_matches_scipy():
    # the shipped coefficients of S(t) = erfcx(z) / t (z = 2 / t - 2) in powers of the
    # Chebyshev variable, evaluated by Horner's rule in float64 as the kernels do, against
    # scipy.special.erfcx over the whole range the kernels use (u = sqrt(2) z up to 38.6):
    # within 3e-15 (scipy's own error here reaches 1e-15, the polynomial's 3.7e-16)
    from numbaconv.scalar import activations as act
    from numbaconv.scalar.fit_erfcx import horner

    t_min = act._ERFCX64_T_MIN
    t = np.concatenate([np.linspace(t_min, 1.0, 100_001),
                        1.0 / (1.0 + np.geomspace(1e-12, 38.6, 2001) * (0.5 / np.sqrt(2.0)))])
    want = sp.erfcx(2.0 / t - 2.0) / t
    got = horner(act._ERFCX64_P, t, t_min)
    assert np.abs(got / want - 1.0).max() < 3e-15


def test_float64_normal_cdf_and_density_are_accurate():
    # gelu's float64 CPU form: Phi from a polynomial for erfcx (relative accuracy in
    # the far left tail too) against scipy's ndtr, whose own error there is ~2e-13; the
    # density against the formula in extended precision
    from numba import njit

    from numbaconv.scalar.activations import fnorm_cdf, fnorm_cdf_pdf

    @njit(error_model="numpy")
    def run(x, cdf, cdf2, pdf):
        for i in range(x.size):
            cdf[i] = fnorm_cdf(x[i])
            cdf2[i], pdf[i] = fnorm_cdf_pdf(x[i])

    tiny = np.geomspace(1e-300, 1, 500)
    x = np.concatenate([np.linspace(-40, 40, 200_001), tiny, -tiny, [0.0, -0.0, np.inf, -np.inf]])
    cdf, cdf2, pdf = (np.empty_like(x) for _ in range(3))
    run(x, cdf, cdf2, pdf)
    np.testing.assert_array_equal(cdf, cdf2)
    ref = sp.ndtr(x)
    normal = ref > np.finfo(np.float64).tiny
    assert (np.abs(cdf[normal] - ref[normal]) / ref[normal]).max() < 1e-12
    assert np.abs(cdf[~normal]).max() < 1e-307  # (underflowed: Phi(-37.5) < 2.3e-308)
    lx = x.astype(np.longdouble)
    want = np.exp(-lx * lx / 2) / np.sqrt(2 * np.pi, dtype=np.longdouble)
    dense = want > np.finfo(np.float64).tiny
    bound = 1e-15 if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else 1e-13
    assert (np.abs(pdf[dense] - want[dense]) / want[dense]).max() < bound
    assert cdf[-2] == 1.0 and cdf[-1] == 0.0 and pdf[-2] == pdf[-1] == 0.0


def test_vectorised_log_of_row_sums_is_within_2_ulp_of_numpy():
    # log_softmax's float32 rows take the log of their float64 sums (>= 1) in a branch-free
    # form; the oracle is NumPy's log, in float64
    from numba import njit

    from numbaconv.scalar.activations import flog_ge1

    @njit(error_model="numpy")
    def run(v, like, out):
        for i in range(v.size):
            out[i] = flog_ge1(v[i], like)

    rng = np.random.default_rng(11)
    v = np.concatenate([[1.0, np.nextafter(1.0, 2.0), 2.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2),
                         3.0, 32000.0, 2.0**52, 1e300],
                        1 + rng.random(50_000) * 1e3, np.exp(rng.random(50_000) * 600)])
    for like in (np.empty(1, np.float32), np.empty(1, np.float64)):
        out = np.empty_like(v)
        run(v, like, out)
        ref = np.log(v)
        assert out[0] == 0.0
        assert (np.abs(out - ref) / np.spacing(np.maximum(ref, 1e-300))).max() <= 2.0
        nan = np.array([np.nan])
        run(nan, like, out[:1])
        assert np.isnan(out[0])


def test_kernels_are_cacheable_module_level_functions():
    # a kernel closing over another dispatcher pickles with a per-process id: its on-disk
    # cache entry is never found again. Every kernel here is a plain module-level function.
    from numba.core.registry import CPUDispatcher

    found = 0
    for value in vars(cpu_act).values():
        if isinstance(value, CPUDispatcher):
            found += 1
            assert value.py_func.__closure__ is None, value.py_func.__name__
            assert type(value._cache).__name__ != "NullCache", value.py_func.__name__
            assert value.py_func.__qualname__ == value.py_func.__name__  # not made in a function
    assert found >= 4 * len(NAMES)
    for kernels in cpu_act.KERNELS.values():
        assert len(set(kernels)) == 4  # f, f', both, VJP: each call compiles only its own


def test_second_process_compiles_nothing(tmp_path):
    # one kernel, two fresh interpreters sharing one NUMBA_CACHE_DIR: the second loads it
    code = ("import numpy as np, numbaconv as nc\n"
            "nc.relu_backward(np.ones(4, np.float32), np.ones(4, np.float32))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(nc.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    logs, files = [], []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             check=True)
        logs.append(res.stdout + res.stderr)
        files.append(sorted(str(p) for p in tmp_path.rglob("*") if p.is_file()))
    assert "data saved" in logs[0]
    assert "data saved" not in logs[1] and "data loaded" in logs[1]
    assert files[1] == files[0]


# --------------------------------------------------------------------------- PyTorch


TORCH_BACKWARD = {  # name -> (torch function, its parameters for our test parameters)
    "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}), "relu": ("relu", {}),
    "relu6": ("relu6", {}), "leaky_relu": ("leaky_relu", {"negative_slope": 0.2}),
    "elu": ("elu", {"alpha": 1.5}), "selu": ("selu", {}), "celu": ("celu", {"alpha": 0.5}),
    "gelu": ("gelu", {}), "gelu_tanh": ("gelu", {"approximate": "tanh"}), "silu": ("silu", {}),
    "mish": ("mish", {}), "softplus": ("softplus", {"beta": 2.0, "threshold": 10.0}),
    "softsign": ("softsign", {}), "hardtanh": ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    "hardsigmoid": ("hardsigmoid", {}), "hardswish": ("hardswish", {}),
    "log_sigmoid": ("logsigmoid", {}),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torch_cross_check(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.concatenate([np.linspace(-6, 6, 97), [0.0, -3.0, 3.0, 6.0, 1.0, -1.0, -0.5, 2.0]])
    x = x.astype(dtype)
    g = np.random.default_rng(9).standard_normal(x.shape).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for name, (tname, p) in TORCH_BACKWARD.items():
        fn = getattr(torch, tname) if tname in ("sigmoid", "tanh") else getattr(F, tname)
        t = torch.tensor(x, requires_grad=True)
        y = fn(t, **p)
        y.backward(torch.tensor(g))
        np.testing.assert_allclose(_call(name, "", x), y.detach().numpy(), **tol, err_msg=name)
        rtol = max(tol["rtol"], 1e-7) if name == "hardsigmoid" else tol["rtol"]  # torch: 1/6 in float32
        np.testing.assert_allclose(_call(name, "_backward", g, x), t.grad.numpy(), rtol=rtol,
                                   atol=tol["atol"] * 10, err_msg=name)
    # prelu: the weight gradient and the input VJP
    xs = torch.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    w = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    F.prelu(xs, w).pow(2).sum().backward()
    gp = 2 * F.prelu(xs, w).detach().numpy()
    xn, wn = xs.detach().numpy(), w.detach().numpy()
    np.testing.assert_allclose(nc.grad.prelu_weight(gp, xn, wn), w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nc.prelu_backward(gp, xn, wn), xs.grad.numpy(), rtol=1e-12)
    # softmax VJPs against PyTorch's backward ops
    rows = np.random.default_rng(1).standard_normal((5, 40)).astype(dtype)
    gr = np.random.default_rng(2).standard_normal(rows.shape).astype(dtype)
    for log in (False, True):
        t = torch.tensor(rows, requires_grad=True)
        y = (torch.log_softmax if log else torch.softmax)(t, -1)
        y.backward(torch.tensor(gr))
        ours = (nc.log_softmax_backward if log else nc.softmax_backward)(gr, y.detach().numpy())
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)
