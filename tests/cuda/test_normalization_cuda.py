"""CUDA twins of batch normalisation, against the float64 formula (tests/oracles.py), tiny shapes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from devutil import to_device, to_host

import numbaconv as nc
from numbaconv import grad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracles import batch_norm_grads_ref, batch_norm_ref  # noqa: E402


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (3 + 2 * rng.standard_normal(shape)).astype(dtype)
    return (x, rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype),
            rng.uniform(0.5, 2, c).astype(dtype), rng.standard_normal(c).astype(dtype))


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 7), (2, 3, 3, 4)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_running_update(shape, training, dtype):
    x, rm, rv, w, b = _data(shape, dtype)
    ref, ref_rm, ref_rv = batch_norm_ref(x, rm, rv, w, b, training, 0.2, 1e-3)
    d_rm, d_rv = to_device(rm), to_device(rv)
    y = nc.batch_norm(to_device(x), d_rm, d_rv, to_device(w), to_device(b), training, 0.2, 1e-3)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_host(y), ref, **tol)
    np.testing.assert_allclose(d_rm.copy_to_host(), ref_rm if training else rm, **tol)
    np.testing.assert_allclose(d_rv.copy_to_host(), ref_rv if training else rv, **tol)


@pytest.mark.parametrize("training", [True, False])
def test_gradients(training):
    x, rm, rv, w, _ = _data((3, 2, 5), np.float64, 1)
    g = np.random.default_rng(2).standard_normal(x.shape)
    ref = batch_norm_grads_ref(g, x, rm, rv, w, training)
    got = grad.batch_norm_backward(to_device(g), to_device(x), to_device(rm), to_device(rv),
                                   to_device(w), training)
    for a, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(to_host(a), r, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_host(grad.batch_norm_bias(to_device(g))), ref[2], rtol=1e-12)


def _last(a):
    """The channel axis (1) moved last, contiguous."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


@pytest.mark.parametrize("training", [True, False])
def test_channels_last(training):
    x, rm, rv, w, b = _data((2, 3, 2, 4), np.float64, 3)
    g = np.random.default_rng(4).standard_normal(x.shape)
    ref, ref_rm, _ = batch_norm_ref(x, rm, rv, w, b, training, 0.1, 1e-5)
    grads = batch_norm_grads_ref(g, x, rm, rv, w, training)
    d_rm, d_rv = to_device(rm), to_device(rv)
    y = nc.batch_norm(to_device(_last(x)), d_rm, d_rv, to_device(w), to_device(b), training,
                      data_format="channels_last")
    np.testing.assert_allclose(to_host(y), _last(ref), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d_rm.copy_to_host(), ref_rm if training else rm, rtol=1e-12)
    got = grad.batch_norm_backward(to_device(_last(g)), to_device(_last(x)), to_device(rm),
                                   to_device(rv), to_device(w), training,
                                   data_format="channels_last")
    for a, r in zip(got, (_last(grads[0]), grads[1], grads[2]), strict=True):
        np.testing.assert_allclose(to_host(a), r, rtol=1e-10, atol=1e-12)


def test_mixing_host_and_device_is_refused():
    x, rm, rv, _, _ = _data((3, 2), np.float64)
    with pytest.raises(TypeError, match="CUDA array"):
        nc.batch_norm(to_device(x), rm, rv)
