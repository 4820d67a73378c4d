"""Activations: values against independent NumPy/SciPy oracles, derivatives against finite
differences and textbook identities, kinks per PyTorch autograd, extremes, dtypes, errors."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaconv as nc

SELU_A = 1.6732632423543772848170429916717
SELU_S = 1.0507009873554804934193349852946


def _softplus(x, beta=1.0, threshold=20.0):
    with np.errstate(over="ignore"):
        return np.where(beta * x > threshold, x, np.logaddexp(0.0, beta * x) / beta)


def _gelu_tanh(x):
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    return 0.5 * x * (1 + np.tanh(u))


def _gelu_tanh_d(x):
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    du = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2)
    t = np.tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du


def _mish_d(x):
    sp_ = np.logaddexp(0.0, x)
    t = np.tanh(sp_)
    return t + x * (1 - t * t) * sp.expit(x)


# name -> (params, forward oracle, derivative oracle); all float64 NumPy/SciPy formulas.
ORACLES = {
    "identity": ({}, lambda x: x, lambda x: np.ones_like(x)),
    "step": ({}, lambda x: (x > 0).astype(float), lambda x: np.zeros_like(x)),
    "sigmoid": ({}, sp.expit, lambda x: sp.expit(x) * sp.expit(-x)),
    "tanh": ({}, np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "relu": ({}, lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "relu6": ({}, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float)),
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
    "mish": ({}, lambda x: x * np.tanh(np.logaddexp(0.0, x)), _mish_d),
    "softplus": ({"beta": 2.0, "threshold": 10.0}, lambda x: _softplus(x, 2.0, 10.0),
                 lambda x: np.where(2 * x > 10, 1.0, sp.expit(2 * x))),
    "softsign": ({}, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "hardtanh": ({"min_val": -0.5, "max_val": 2.0}, lambda x: np.clip(x, -0.5, 2.0),
                 lambda x: ((x > -0.5) & (x < 2.0)).astype(float)),
    "hardsigmoid": ({}, lambda x: np.clip(x / 6 + 0.5, 0, 1),
                    lambda x: np.where((x > -3) & (x < 3), 1 / 6, 0.0)),
    "hardswish": ({}, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5))),
    "log_sigmoid": ({}, sp.log_expit, lambda x: sp.expit(-x)),
}
#: gelu(approximate='tanh') is tested as its own entry
ALL = [*ORACLES, "gelu_tanh"]
KINKS = {"step": [0.0], "relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "elu": [0.0],
         "selu": [0.0], "celu": [0.0], "hardtanh": [-0.5, 2.0], "hardsigmoid": [-3.0, 3.0],
         "hardswish": [-3.0, 3.0], "softplus": [5.0]}
DEFAULT_PARAMS = {"leaky_relu": {"negative_slope": 0.01}, "elu": {"alpha": 1.0},
                  "celu": {"alpha": 1.0}, "softplus": {"beta": 1.0, "threshold": 20.0},
                  "hardtanh": {"min_val": -1.0, "max_val": 1.0}}


def _call(name, kind, x, params=None):
    """numbaconv's function (kind: '', '_derivative', '_and_derivative') with the test params."""
    if name == "gelu_tanh":
        return getattr(nc, "gelu" + kind)(x, approximate="tanh")
    p = ORACLES[name][0] if params is None else params
    return getattr(nc, name + kind)(x, **p)


def _oracle(name, x, derivative=False):
    if name == "gelu_tanh":
        return (_gelu_tanh_d if derivative else _gelu_tanh)(x)
    return ORACLES[name][2 if derivative else 1](x)


GRID = np.concatenate([np.linspace(-12, 12, 481), [-1e-7, 1e-7, -0.5, 0.5, -30, 30, -80, 80]])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_against_oracle(name, dtype):
    x = GRID.astype(dtype)
    ref_f = _oracle(name, x.astype(np.float64))
    ref_d = _oracle(name, x.astype(np.float64), derivative=True)
    f, d = _call(name, "", x), _call(name, "_derivative", x)
    f2, d2 = _call(name, "_and_derivative", x)
    assert f.dtype == dtype and d.dtype == dtype and f.shape == x.shape
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(f, ref_f, **tol)
    np.testing.assert_allclose(d, ref_d, **tol)
    np.testing.assert_array_equal(f2, f)  # the fused pass computes the same formulas
    np.testing.assert_array_equal(d2, d)


@pytest.mark.parametrize("name", ALL)
def test_parallel_chunks_against_oracle(name):
    # GRID is one chunk, computed on the calling thread; this takes the parallel path
    # (two full chunks and a tail), f, f' and the fused form alike
    from numbaconv.cpu.activations import CHUNK

    x = np.resize(GRID, 2 * CHUNK + 3).astype(np.float32)
    x = x[np.random.default_rng(2).permutation(x.size)]
    tol = dict(rtol=2e-6, atol=2e-7)
    ref_f = _oracle(name, x.astype(np.float64))
    ref_d = _oracle(name, x.astype(np.float64), derivative=True)
    f, d = _call(name, "_and_derivative", x)
    for got, want in ((f, ref_f), (d, ref_d), (_call(name, "", x), ref_f),
                      (_call(name, "_derivative", x), ref_d)):
        np.testing.assert_allclose(got, want, **tol)


def _away_from_kinks(name, x, h):
    ks = KINKS.get(name, [])
    return all(abs(x - k) > 10 * h for k in ks)


@pytest.mark.parametrize("name", ALL)
@given(x=st.floats(-15, 15))
def test_derivative_matches_central_differences(name, x):
    h = 1e-6
    if not _away_from_kinks(name, x, h):
        return
    xs = np.array([x - h, x + h, x])
    f = _call(name, "", xs)
    fd = (f[1] - f[0]) / (2 * h)
    d = _call(name, "_derivative", xs)[2]
    assert d == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_kinks_follow_pytorch_autograd():
    def d(name, v, **p):
        return float(getattr(nc, name + "_derivative")(np.array([v]), **p)[0])

    assert d("relu", 0.0) == 0.0
    assert d("leaky_relu", 0.0) == 0.01
    assert d("leaky_relu", 0.0, negative_slope=0.3) == pytest.approx(0.3)
    assert d("elu", 0.0) == 1.0 and d("elu", 0.0, alpha=2.5) == 2.5
    assert d("selu", 0.0) == pytest.approx(SELU_S * SELU_A) and d("selu", 0.0) == pytest.approx(1.7581, abs=1e-4)
    assert d("celu", 0.0, alpha=2.0) == 1.0
    assert d("hardtanh", -1.0) == 0.0 and d("hardtanh", 1.0) == 0.0 and d("hardtanh", 0.99) == 1.0
    assert d("relu6", 0.0) == 0.0 and d("relu6", 6.0) == 0.0 and d("relu6", 5.9) == 1.0
    assert d("hardsigmoid", -3.0) == 0.0 and d("hardsigmoid", 3.0) == 0.0
    assert d("hardsigmoid", 2.9) == pytest.approx(1 / 6)
    # hardswish: PyTorch 2.x autograd uses the open interval (-3, 3) for x/3 + 1/2
    # (torch.ops.aten.hardswish_backward); notes/semantics.md's closed interval is outdated.
    assert d("hardswish", -3.0) == 0.0 and d("hardswish", 3.0) == 1.0
    assert d("hardswish", -2.9) == pytest.approx(-2.9 / 3 + 0.5) and d("hardswish", 2.9) == pytest.approx(2.9 / 3 + 0.5)
    assert d("hardswish", -3.1) == 0.0 and d("hardswish", 3.1) == 1.0
    assert d("step", 0.0) == 0.0 and d("step", 1.0) == 0.0
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
    with np.errstate(all="ignore"):
        ref_f = _oracle(name, x.astype(np.float64))
        ref_d = _oracle(name, x.astype(np.float64), derivative=True)
    f, d = _call(name, "", x), _call(name, "_derivative", x)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(d))
    np.testing.assert_allclose(f, ref_f, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(d, np.nan_to_num(ref_d), rtol=1e-6, atol=1e-30)


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


@pytest.mark.parametrize("name", ALL)
def test_nan_propagates(name):
    x = np.array([np.nan, 1.0, np.nan], dtype=np.float32)
    f, d = _call(name, "_and_derivative", x)
    assert np.isnan(f[[0, 2]]).all() and np.isnan(d[[0, 2]]).all() and not np.isnan(f[1])


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
    before = m.copy()
    nc.softmax(m, axis=0)
    nc.gelu_and_derivative(m)
    np.testing.assert_array_equal(m, before)  # inputs never modified
    assert nc.hardswish(np.ones(3, np.float16)).dtype == np.float32


def test_argument_errors_name_the_argument():
    x = np.ones(3)
    with pytest.raises(ValueError, match="approximate"):
        nc.gelu(x, approximate="erf")
    with pytest.raises(TypeError, match="negative_slope"):
        nc.leaky_relu(x, negative_slope="big")
    with pytest.raises(TypeError, match="alpha"):
        nc.elu(x, alpha=True)
    with pytest.raises(ValueError, match="alpha"):
        nc.elu(x, alpha=float("nan"))
    with pytest.raises(ValueError, match="alpha"):
        nc.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="beta"):
        nc.softplus(x, beta=0)
    with pytest.raises(ValueError, match="min_val"):
        nc.hardtanh(x, min_val=2.0, max_val=1.0)
    with pytest.raises(TypeError, match="x"):
        nc.relu(np.ones(2, complex))
    with pytest.raises(TypeError, match="x"):
        nc.relu(["a", "b"])
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
    assert float(nc.softplus(np.array([1e6]), threshold=float("inf"))[0]) == 1e6


# --------------------------------------------------------------------------- softmax


@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                    elements=st.floats(-1e4, 1e4)), data=st.data())
def test_softmax_properties(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    y = nc.softmax(x, axis=axis)
    ly = nc.log_softmax(x, axis=axis)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(ly))
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, sp.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly, sp.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-9)
    big = ly > -700
    np.testing.assert_allclose(np.log(y[big]), ly[big], rtol=1e-10, atol=1e-12)


def test_softmax_float32_and_nan():
    x = np.array([[1.0, 2.0, np.nan], [1e4, -1e4, 0.0], [-np.inf, 0.0, 1.0]], np.float32)
    y = nc.softmax(x)
    assert y.dtype == np.float32
    assert np.isnan(y[0]).all()
    np.testing.assert_allclose(y[1:], sp.softmax(x[1:].astype(np.float64), axis=-1), rtol=1e-6,
                               atol=1e-30)
    ly = nc.log_softmax(x)
    assert ly[2, 0] == -np.inf and np.isnan(ly[0]).all()


@pytest.mark.parametrize("shape", [(3, 15), (2, 16), (5, 17), (4, 33), (7, 1000), (40, 1000)])
def test_softmax_long_rows_and_the_parallel_path(shape):
    # rows longer than the 16 reduction lanes (with a tail), and >= 16k elements (parallel)
    rng = np.random.default_rng(shape[1])
    x = rng.standard_normal(shape) * 30
    x[0, -1] = -np.inf
    y, ly = nc.softmax(x), nc.log_softmax(x)
    np.testing.assert_allclose(y, sp.softmax(x, axis=-1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ly[:, :-1], sp.log_softmax(x, axis=-1)[:, :-1], rtol=1e-12,
                               atol=1e-12)
    assert ly[0, -1] == -np.inf
    g = rng.standard_normal(shape)
    want = y * (g - (g * y).sum(axis=-1, keepdims=True))  # the VJP, written out
    np.testing.assert_allclose(nc.softmax_backward(g, y), want, rtol=1e-10, atol=1e-12)
    lwant = g - np.exp(ly) * g.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(nc.log_softmax_backward(g, ly), lwant, rtol=1e-10, atol=1e-12)
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(nc.softmax(x32), sp.softmax(x, axis=-1), rtol=2e-5, atol=1e-30)
    x[-1, shape[1] // 2] = np.nan  # a NaN anywhere makes its whole row NaN, only that row
    y = nc.softmax(x)
    assert np.isnan(y[-1]).all() and np.isfinite(y[:-1]).all()
    assert np.isnan(nc.log_softmax(x)[-1]).all()


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
        J = _softmax_jacobian(sp.softmax(x[r]))
        np.testing.assert_allclose(vjp[r], gout[r] @ J, rtol=1e-9, atol=1e-12)
        Jl = np.eye(x.shape[1]) - np.outer(np.ones(x.shape[1]), sp.softmax(x[r]))
        np.testing.assert_allclose(lvjp[r], gout[r] @ Jl, rtol=1e-9, atol=1e-12)
    # along another axis: the transposed problem
    np.testing.assert_allclose(nc.softmax_backward(gout.T, y.T, axis=0), vjp.T, rtol=1e-14)
    np.testing.assert_allclose(nc.log_softmax_backward(gout.T, ly.T, axis=0), lvjp.T, rtol=1e-14)


# --------------------------------------------------------------------------- PReLU


def _prelu_oracle(x, w):
    w = np.asarray(w, float).ravel()
    shape = [1] * x.ndim
    if w.size > 1:
        shape[1] = w.size
    wb = w.reshape(shape) if x.ndim else w[0]
    return np.where(x > 0, x, wb * x), np.where(x > 0, 1.0, wb * np.ones_like(x))


@pytest.mark.parametrize("shape,wsize", [((5,), 1), ((2, 3), 3), ((2, 3, 4, 5), 3),
                                          ((2, 3, 4), 1), ((), 1)])
def test_prelu_against_oracle(shape, wsize):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    w = rng.uniform(0, 0.5, wsize)
    f_ref, d_ref = _prelu_oracle(x, w)
    np.testing.assert_allclose(nc.prelu(x, w), f_ref, rtol=1e-15)
    np.testing.assert_allclose(nc.prelu_derivative(x, w), d_ref, rtol=1e-15)
    f, d = nc.prelu_and_derivative(x, w)
    np.testing.assert_array_equal(f, nc.prelu(x, w))
    # weight gradient: sum of g * x over x <= 0, per channel
    g = rng.standard_normal(shape)
    gw = nc.grad.prelu_weight(g, x, w)
    assert gw.shape == w.shape
    contrib = g * np.where(x > 0, 0.0, x)
    if wsize == 1:
        np.testing.assert_allclose(gw, [contrib.sum()], rtol=1e-12)
    else:
        axes = tuple(a for a in range(x.ndim) if a != 1)
        np.testing.assert_allclose(gw, contrib.sum(axis=axes), rtol=1e-12)
    # and by finite differences of <g, prelu(x, w)> in w
    h = 1e-6
    for c in range(wsize):
        e = np.zeros(wsize)
        e[c] = h
        fd = (np.sum(g * nc.prelu(x, w + e)) - np.sum(g * nc.prelu(x, w - e))) / (2 * h)
        assert gw[c] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_prelu_dtypes():
    x = np.array([[-1.0, 2.0]], np.float32)
    assert nc.prelu(x, np.array([0.5])).dtype == np.float32
    assert nc.grad.prelu_weight(x, x, np.float64(0.5)).shape == ()


# --------------------------------------------------------------------------- fast exp, determinism


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
    with np.errstate(over="ignore"):
        ref32 = ref.astype(np.float32)
    normal = (ref32 > np.finfo(np.float32).tiny) & np.isfinite(ref32)
    ulp = np.abs(out[normal].astype(np.float64) - ref[normal]) / np.spacing(ref32[normal]).astype(np.float64)
    assert ulp.max() <= 2.0
    assert np.all(out[~normal & (ref < 1)] < 2e-38) and np.all(np.isinf(out[~np.isfinite(ref32)]))


@pytest.mark.parametrize("name", ["gelu", "mish", "softplus"])
def test_results_do_not_depend_on_thread_count(name):
    x = np.random.default_rng(5).standard_normal((8, 37, 100)).astype(np.float32) * 5
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    w = np.array([0.1, 0.2, 0.3] * 12 + [0.4], np.float32)
    n = numba.get_num_threads()

    def run():
        y = nc.softmax(x)
        return (getattr(nc, name + "_and_derivative")(x), y, nc.softmax_backward(g, y),
                nc.grad.prelu_weight(g, x, w))

    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(n)
        many = run()
    finally:
        numba.set_num_threads(n)
    for a, b in zip(one[1:], many[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[0][0], many[0][0])


def test_torch_cross_check():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.linspace(-6, 6, 97)
    x = np.concatenate([x, [0.0, -3.0, 3.0, 6.0, 1.0, -1.0]])
    cases = {"sigmoid": (torch.sigmoid, {}), "tanh": (torch.tanh, {}), "relu": (F.relu, {}),
             "relu6": (F.relu6, {}), "leaky_relu": (F.leaky_relu, {"negative_slope": 0.01}),
             "elu": (F.elu, {"alpha": 1.0}), "selu": (F.selu, {}), "celu": (F.celu, {"alpha": 1.0}),
             "gelu": (F.gelu, {}), "silu": (F.silu, {}), "mish": (F.mish, {}),
             "softplus": (F.softplus, {"beta": 1.0, "threshold": 20.0}),
             "softsign": (F.softsign, {}), "hardtanh": (F.hardtanh, {"min_val": -1.0, "max_val": 1.0}),
             "hardsigmoid": (F.hardsigmoid, {}), "hardswish": (F.hardswish, {}),
             "log_sigmoid": (F.logsigmoid, {})}
    for name, (tf, p) in cases.items():
        t = torch.tensor(x, requires_grad=True)
        y = tf(t, **p)
        y.sum().backward()
        np.testing.assert_allclose(getattr(nc, name)(x, **p), y.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
        # (torch's hardsigmoid backward uses a float32 1/6 even in float64)
        rtol = 1e-7 if name == "hardsigmoid" else 1e-10
        np.testing.assert_allclose(getattr(nc, name + "_derivative")(x, **p), t.grad.numpy(),
                                   rtol=rtol, atol=1e-12, err_msg=name)
    t = torch.tensor(x, requires_grad=True)
    F.gelu(t, approximate="tanh").sum().backward()
    np.testing.assert_allclose(nc.gelu_derivative(x, approximate="tanh"), t.grad.numpy(), rtol=1e-10,
                               atol=1e-14)  # (torch cancels in 1 + tanh for x << 0)
    # prelu weight gradient
    xs = torch.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    w = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64, requires_grad=True)
    F.prelu(xs, w).pow(2).sum().backward()
    g = 2 * F.prelu(xs, w).detach().numpy()
    np.testing.assert_allclose(nc.grad.prelu_weight(g, xs.detach().numpy(), w.detach().numpy()),
                               w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nc.prelu_derivative(xs.detach().numpy(), w.detach().numpy()),
                               xs.grad.numpy() / g, rtol=1e-12)
