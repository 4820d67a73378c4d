"""NaN and inf propagate as documented, the same way on the GPU as on the CPU.

Each case is checked against an independent NumPy/SciPy oracle on both
backends: a window holding NaN yields NaN (max pooling, convolution), an
elementwise function maps NaN to NaN, infinities saturate as the formula says.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
from devutil import to_device, to_host
from numpy.lib.stride_tricks import sliding_window_view

import numbaconv as nc


def _poisoned(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    flat = x.reshape(-1)
    flat[3] = np.nan
    flat[7] = np.inf
    flat[11] = -np.inf
    return x


def _both(fn, *arrays, **kw):
    host = fn(*arrays, **kw)
    dev = to_host(fn(*(to_device(a) for a in arrays), **kw))
    return host, dev


def test_max_pool_nan_window_is_nan_on_both():
    x = _poisoned((1, 2, 6, 6))
    expected = sliding_window_view(x, (2, 2), axis=(2, 3))[:, :, ::2, ::2].max(axis=(-2, -1))
    for got in _both(nc.max_pool2d, x, kernel_size=2):
        np.testing.assert_array_equal(got, expected)


def test_convolution_keeps_nan_local_on_both():
    x = _poisoned((6, 7))
    k = np.random.default_rng(1).standard_normal((3, 3))
    expected = scipy.signal.correlate(x, k, mode="valid", method="direct")
    for got in _both(nc.correlate, x, k, mode="valid", method="direct"):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12)


def test_activations_map_nan_and_inf_like_numpy_on_both():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -2.0, 3.0])
    oracles = {
        nc.relu: np.maximum(x, 0.0),  # numpy.maximum propagates NaN
        nc.sigmoid: np.array([np.nan, 1.0, 0.0, 0.5, 1 / (1 + np.exp(2.0)), 1 / (1 + np.exp(-3.0))]),
        nc.tanh: np.tanh(x),
    }
    for fn, expected in oracles.items():
        for got in _both(fn, x):
            np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
