"""CUDA conv kernels against the scipy oracles of tests/oracles.py (tiny shapes)."""

from __future__ import annotations

import numpy as np
import pytest
from devutil import to_device, to_host
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    conv_input_grad_reference,
    conv_reference,
    conv_transpose_reference,
    conv_weight_grad_reference,
    to_channels_first,
    to_channels_last,
)

import numbaconv as nc
from numbaconv import grad

CONV = {1: nc.conv1d, 2: nc.conv2d, 3: nc.conv3d}
CONV_INPUT = {1: grad.conv1d_input, 2: grad.conv2d_input, 3: grad.conv3d_input}
CONV_WEIGHT = {1: grad.conv1d_weight, 2: grad.conv2d_weight, 3: grad.conv3d_weight}
CONV_T = {1: nc.conv_transpose1d, 2: nc.conv_transpose2d, 3: nc.conv_transpose3d}


@st.composite
def problems(draw):
    nd = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 2]))
    cg, kg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2 if nd == 3 else 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, 1)), draw(st.integers(0, 1))) for _ in range(nd))
    spatial = tuple(draw(st.integers(max(1, d * (k - 1) + 1 - lo - hi), 3 if nd == 3 else 5))
                    for k, d, (lo, hi) in zip(kernel, dilation, pads, strict=True))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    x = rng.standard_normal((draw(st.integers(1, 2)), groups * cg) + spatial)
    w = rng.standard_normal((groups * kg, cg) + kernel)
    bias = rng.standard_normal(groups * kg) if draw(st.booleans()) else None
    return nd, x, w, bias, dict(stride=stride, padding=pads, dilation=dilation, groups=groups)


@settings(max_examples=20)  # tiny shapes: about 1 s per example under the simulator
@given(problems())
def test_forward_and_gradients_on_device(p):
    nd, x, w, bias, kw = p
    args = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
    want = conv_reference(x, w, bias, *args)
    y = to_host(CONV[nd](to_device(x), to_device(w), None if bias is None else to_device(bias),
                         **kw))
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    g = np.random.default_rng(1).standard_normal(y.shape)
    dx = to_host(CONV_INPUT[nd](x.shape, to_device(w), to_device(g), **kw))
    dw = to_host(CONV_WEIGHT[nd](to_device(x), w.shape, to_device(g), **kw))
    db = to_host(grad.conv_bias(to_device(g)))
    np.testing.assert_allclose(dx, conv_input_grad_reference(x.shape, w, g, *args), rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(dw, conv_weight_grad_reference(x, w.shape, g, *args),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, g.sum(axis=tuple(i for i in range(g.ndim) if i != 1)))


def test_float32_padding_mode_and_unbatched_on_device():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    got = to_host(nc.conv2d(to_device(x), to_device(w), padding=1, padding_mode="symmetric"))
    assert got.dtype == np.float32 and got.shape == (3, 5, 6)
    want = conv_reference(x[None], w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, "symmetric")[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    same = to_host(nc.conv1d(to_device(np.ascontiguousarray(x[:, 0])), to_device(w[:, :, 0]), stride=2, padding="same"))
    assert same.shape == (3, 3)  # ceil(6 / 2)


@pytest.mark.parametrize("groups", [1, 2])
def test_transpose_on_device_matches_scipy(groups):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 3, 2))
    w = rng.standard_normal((2, 3, 2, 3))
    b = rng.standard_normal(3 * groups)
    kw = dict(stride=2, padding=1, output_padding=1, dilation=1, groups=groups)
    got = to_host(nc.conv_transpose2d(to_device(x), to_device(w), to_device(b), **kw))
    want = conv_transpose_reference(x, w, b, (2, 2), ((1, 1), (1, 1)), (1, 1), groups, (5, 4))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_mixed_host_and_device_is_refused():
    with pytest.raises(TypeError, match="same device"):
        nc.conv2d(to_device(np.ones((1, 1, 3, 3))), np.ones((1, 1, 2, 2)))


@settings(max_examples=10)
@given(problems())
def test_channels_last_on_device(p):
    nd, x, w, bias, kw = p
    args = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
    cl = dict(kw, data_format="channels_last")
    want = conv_reference(x, w, bias, *args)
    y = to_host(CONV[nd](to_device(to_channels_last(x)), to_device(w),
                         None if bias is None else to_device(bias), **cl))
    np.testing.assert_allclose(to_channels_first(y), want, rtol=1e-10, atol=1e-10)
    g = np.random.default_rng(4).standard_normal(want.shape)
    gl = to_device(to_channels_last(g))
    xl_shape = to_channels_last(x).shape
    dx = to_host(CONV_INPUT[nd](xl_shape, to_device(w), gl, **cl))
    np.testing.assert_allclose(to_channels_first(dx),
                               conv_input_grad_reference(x.shape, w, g, *args),
                               rtol=1e-10, atol=1e-10)
    dw = to_host(CONV_WEIGHT[nd](to_device(to_channels_last(x)), w.shape, gl, **cl))
    np.testing.assert_allclose(dw, conv_weight_grad_reference(x, w.shape, g, *args),
                               rtol=1e-10, atol=1e-10)
    db = to_host(grad.conv_bias(gl, data_format="channels_last"))
    np.testing.assert_allclose(db, g.sum(axis=tuple(i for i in range(g.ndim) if i != 1)))


def test_channels_last_transpose_on_device_matches_scipy():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 3, 2))
    w = rng.standard_normal((2, 3, 2, 3))
    b = rng.standard_normal(6)
    kw = dict(stride=2, padding=1, output_padding=1, dilation=1, groups=2,
              data_format="channels_last")
    got = to_host(nc.conv_transpose2d(to_device(to_channels_last(x)), to_device(w),
                                      to_device(b), **kw))
    want = conv_transpose_reference(x, w, b, (2, 2), ((1, 1), (1, 1)), (1, 1), 2, (5, 4))
    np.testing.assert_allclose(to_channels_first(got), want, rtol=1e-10, atol=1e-10)
