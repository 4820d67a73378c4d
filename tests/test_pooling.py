"""Pooling against the NumPy sliding-window oracles of ``tests/oracles.py``.

The oracles pad explicitly (-inf for max, zeros for average), cut every window with
``sliding_window_view`` and reduce it in float64; gradients are checked against index routing
(max), the pooling matrix built from the oracle (average), the adjoint identity and finite
differences. Channels-last results are checked against the channels-first ones of the same
call on permuted axes (which the oracles check), bit for bit; PyTorch is an optional extra.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import (
    linear_map_matrix,
    pool_out_len,
    ref_adaptive_pool,
    ref_avg_pool,
    ref_max_pool,
    ref_unpool,
    route_max_grad,
    to_channels_first,
    to_channels_last,
)

import numbaconv as nc
from numbaconv import grad

CL = {"data_format": "channels_last"}
FN = {(op, nd): getattr(nc, f"{op}{nd}d") for op in ("max_pool", "avg_pool") for nd in (1, 2, 3)}


# ------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------


@st.composite
def configs(draw, dilation=True, values=None):
    nd = draw(st.integers(1, 3))
    maxside = {1: 9, 2: 7, 3: 5}[nd]
    sp = tuple(draw(st.integers(1, maxside)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    p = tuple(draw(st.integers(0, (d[i] * (k[i] - 1) + 1) // 2)) for i in range(nd))
    ceil_mode = draw(st.booleans())
    assume(all(sp[i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1 for i in range(nd)))
    batch = draw(st.sampled_from([None, 1, 2]))
    c = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = ((c,) if batch is None else (batch, c)) + sp
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if values == "ties":  # few distinct values, -0.0, -inf and NaN: every tie and NaN rule
        x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.nan]), shape,
                       p=[0.15, 0.25, 0.15, 0.15, 0.25, 0.05]).astype(dtype)
    else:
        x = rng.standard_normal(shape).astype(dtype)
    return nd, x, k, s, d, p, ceil_mode


def batched(x, nd):
    return x if x.ndim == nd + 2 else x[None]


def outs_of(xb, nd, k, s, d, p, ceil_mode):
    return tuple(pool_out_len(n, k[i], s[i], p[i], p[i], d[i], ceil_mode)
                 for i, n in enumerate(xb.shape[2:]))


# ------------------------------------------------------------------------------------------
# forward
# ------------------------------------------------------------------------------------------


@given(configs())
def test_max_pool_matches_reference(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = outs_of(xb, nd, k, s, d, p, ceil_mode)
    assert outs == tuple(nc.pool_output_size(n, k[i], s[i], p[i], d[i], ceil_mode)
                         for i, n in enumerate(xb.shape[2:]))
    vals, idx = ref_max_pool(xb, k, s, d, [(q, q) for q in p], outs)
    got, got_idx = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    plain = FN["max_pool", nd](x, k, s, p, d, ceil_mode)
    assert got.dtype == x.dtype and got_idx.dtype == np.int64
    assert got.shape == x.shape[:-nd] + outs
    np.testing.assert_array_equal(batched(got, nd), vals.astype(x.dtype))
    np.testing.assert_array_equal(batched(got_idx, nd), idx)
    np.testing.assert_array_equal(plain, got)


@given(configs(values="ties"))
def test_max_pool_ties_nan_and_minus_infinity(cfg):
    """The first maximum / first NaN wins (-0.0 and 0.0 tie: the first one's sign), an all
    -inf window points at its first tap inside the input, the value path agrees bit for bit."""
    nd, x, k, s, d, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = outs_of(xb, nd, k, s, d, p, ceil_mode)
    vals, idx = ref_max_pool(xb, k, s, d, [(q, q) for q in p], outs)
    got, got_idx = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(batched(got_idx, nd), idx)
    picked = np.where(idx >= 0, np.take_along_axis(
        xb.reshape(xb.shape[:2] + (-1,)), np.maximum(idx, 0).reshape(idx.shape[:2] + (-1,)),
        -1).reshape(idx.shape), -np.inf).astype(x.dtype)
    assert batched(got, nd).tobytes() == picked.tobytes()  # the element at the index, signs too
    np.testing.assert_array_equal(batched(got, nd), vals.astype(x.dtype))
    assert FN["max_pool", nd](x, k, s, p, d, ceil_mode).tobytes() == got.tobytes()


@given(configs(dilation=False), st.booleans(), st.sampled_from([None, 1, 3]))
def test_avg_pool_matches_reference(cfg, include_pad, override):
    nd, x, k, s, _, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = outs_of(xb, nd, k, s, (1,) * nd, p, ceil_mode)
    expected = ref_avg_pool(xb, k, s, [(q, q) for q in p], outs, include_pad, override)
    got = FN["avg_pool", nd](x, k, s, p, ceil_mode, include_pad, override)
    assert got.dtype == x.dtype and got.shape == x.shape[:-nd] + outs
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(batched(got, nd), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("k, s", [(2, 2), (3, 2), (3, 1), (4, 3)])
def test_same_padding_is_tensorflow(nd, k, s):
    """'same': output ceil(n/s), extra pad after; average excludes the padding (Keras)."""
    rng = np.random.default_rng(nd * 10 + k)
    x = rng.standard_normal((2, 3) + (7, 6, 5)[:nd])
    pads = [nc.same_padding(n, k, s) for n in x.shape[2:]]
    outs = tuple(-(-n // s) for n in x.shape[2:])
    got = getattr(nc, f"max_pool{nd}d")(x, k, s, "same")
    np.testing.assert_array_equal(got, ref_max_pool(x, (k,) * nd, (s,) * nd, (1,) * nd, pads,
                                                    outs)[0])
    got = getattr(nc, f"avg_pool{nd}d")(x, k, s, "same")
    np.testing.assert_allclose(got, ref_avg_pool(x, (k,) * nd, (s,) * nd, pads, outs, False),
                               rtol=1e-12)
    got = getattr(nc, f"avg_pool{nd}d")(x, k, s, "valid")
    assert got.shape[2:] == tuple((n - k) // s + 1 for n in x.shape[2:])


def test_same_average_pooling_matches_keras_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    # k=2, s=2: windows [1,2], [3,4], [5, pad] -> the last divides by 1, not 2
    np.testing.assert_array_equal(nc.avg_pool1d(x, 2, padding="same"), [[1.5, 3.5, 5.0]])


@st.composite
def adaptive_configs(draw):
    nd = draw(st.integers(1, 3))
    sp = tuple(draw(st.integers(1, {1: 12, 2: 7, 3: 5}[nd])) for _ in range(nd))
    outs = tuple(draw(st.integers(1, n + 2)) for n in sp)  # also larger than the input
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    batch = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal(((2, 3) if batch else (3,)) + sp).astype(dtype)
    return nd, x, outs


@given(adaptive_configs())
def test_adaptive_pooling_matches_reference(cfg):
    nd, x, outs = cfg
    xb = batched(x, nd)
    vals, idx = ref_adaptive_pool(xb, outs, "max")
    got, got_idx = getattr(nc, f"adaptive_max_pool{nd}d")(x, outs, return_indices=True)
    np.testing.assert_array_equal(batched(got, nd), vals.astype(x.dtype))
    np.testing.assert_array_equal(batched(got_idx, nd), idx)
    mean, _ = ref_adaptive_pool(xb, outs, "avg")
    got = getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs)
    assert got.shape == x.shape[:-nd] + outs
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(batched(got, nd), mean, rtol=tol, atol=tol)


def test_adaptive_none_keeps_axis_and_global_pooling():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 6))
    got = nc.adaptive_avg_pool2d(x, (None, 2))
    assert got.shape == (2, 3, 5, 2)
    np.testing.assert_allclose(got[..., 0], x[..., :3].mean(-1))
    np.testing.assert_allclose(nc.adaptive_avg_pool2d(x, 1)[..., 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_array_equal(nc.adaptive_max_pool2d(x, 1)[..., 0, 0], x.max(axis=(2, 3)))


# ------------------------------------------------------------------------------------------
# documented edges: ties, NaN, -inf, dilation windows in the padding, ceil_mode
# ------------------------------------------------------------------------------------------


def test_ties_first_maximum_wins_and_takes_the_gradient():
    x = np.array([[[1.0, 7.0, 7.0], [7.0, 7.0, 0.0], [7.0, 2.0, 7.0]]])
    out, idx = nc.max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(out, [[[7.0, 7.0], [7.0, 7.0]]])
    np.testing.assert_array_equal(idx, [[[1, 1], [3, 4]]])  # row-major scan order
    g = nc.grad.max_pool2d_input(np.ones((1, 2, 2)), x, 2, stride=1)
    np.testing.assert_array_equal(g, [[[0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])


def test_nan_propagates_and_index_points_at_the_first_nan():
    nan = np.nan
    x = np.array([[1.0, nan, 3.0, nan, 0.0, 2.0]])
    out, idx = nc.max_pool1d(x, 4, stride=2, return_indices=True)
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1])
    np.testing.assert_array_equal(idx, [[1, 3]])
    assert np.isnan(nc.avg_pool1d(x, 2)[0, 0])
    g = nc.grad.max_pool1d_input(np.array([[1.0, 10.0]]), x, 4, stride=2)
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0, 10.0, 0.0, 0.0]])
    np.testing.assert_array_equal(nc.max_pool1d(x, 4, stride=2), out)


def test_minus_infinity_and_dilated_windows_inside_the_padding():
    x = np.full((1, 4), -np.inf)
    out, idx = nc.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(out, np.full((1, 4), -np.inf))
    np.testing.assert_array_equal(idx, [[0, 0, 1, 2]])  # the first tap inside the input
    # k=2, dilation=3, padding=2 on a length-1 input: taps at -2 and 1, both outside
    out, idx = nc.max_pool1d(np.array([[5.0]]), 2, stride=2, padding=2, dilation=3,
                             return_indices=True)
    np.testing.assert_array_equal(out, [[-np.inf]])
    np.testing.assert_array_equal(idx, [[-1]])
    g = nc.grad.max_pool1d_input(np.array([[1.0]]), np.array([[5.0]]), 2, 2, 2, 3)
    np.testing.assert_array_equal(g, [[0.0]])


def test_ceil_mode_last_window_rules():
    x = np.arange(1.0, 6.0)[None]  # length 5, k=2, s=2
    np.testing.assert_array_equal(nc.max_pool1d(x, 2, ceil_mode=True), [[2.0, 4.0, 5.0]])
    # the partial window never counts the part beyond input + padding
    np.testing.assert_array_equal(nc.avg_pool1d(x, 2, ceil_mode=True), [[1.5, 3.5, 5.0]])
    # padding=1, k=2, s=2, n=4, ceil: a 4th window would start in the right padding: dropped
    x4 = np.arange(1.0, 5.0)[None]
    assert nc.max_pool1d(x4, 2, padding=1, ceil_mode=True).shape == (1, 3)
    np.testing.assert_allclose(nc.avg_pool1d(x4, 2, padding=1, ceil_mode=True), [[0.5, 2.5, 2.0]])


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 2, 0), (2, 1, 1), (3, 3, 1),
                                     (4, 2, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vectorised_interiors_with_ties_and_nan(k, s, p, dtype):
    """Rows wide enough for the fused/vectorised interior loops, with ties, -0.0 and NaN."""
    rng = np.random.default_rng(k * 10 + s)
    x = rng.integers(-2, 3, (2, 3, 9, 41)).astype(dtype)
    x[x == 0] = -0.0
    x[0, 1, 4, 7] = np.nan
    x[1, 2, 0, 30] = np.nan
    outs = tuple(pool_out_len(n, k, s, p, p, 1, False) for n in x.shape[2:])
    vals, idx = ref_max_pool(x, (k, k), (s, s), (1, 1), [(p, p)] * 2, outs)
    got, got_idx = nc.max_pool2d(x, k, s, p, return_indices=True)
    np.testing.assert_array_equal(got, vals.astype(dtype))
    np.testing.assert_array_equal(got_idx, idx)
    # the value kernel returns exactly the element at the index (sign of zero included)
    plain = nc.max_pool2d(x, k, s, p)
    picked = np.take_along_axis(x.reshape(2, 3, -1), got_idx.reshape(2, 3, -1), -1).reshape(got.shape)
    assert plain.tobytes() == picked.tobytes()
    g = rng.standard_normal(got.shape).astype(dtype)
    expected = route_max_grad(g, idx, x.shape)
    np.testing.assert_allclose(grad.max_pool2d_input(g, x, k, s, p), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(nc.avg_pool2d(np.nan_to_num(x), k, s, p),
                               ref_avg_pool(np.nan_to_num(x), (k, k), (s, s), [(p, p)] * 2, outs,
                                            True), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape, kw", [
    ((2, 3, 8, 10), {}), ((2, 3, 9, 11), {}), ((1, 2, 7, 5), {"ceil_mode": True}),
    ((3, 2, 5, 7), {"padding": "same"}), ((2, 2, 3, 6), {"ceil_mode": True}),
    ((2, 3, 26, 26), {}), ((1, 2, 13, 40), {}), ((3, 4, 6), {}), ((1, 67, 6, 5), {}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_by_two_tiles_match_the_reference(shape, kw, dtype):
    """Kernel 2 / stride 2 (the CNN pooling, its own kernels: windows tile the plane) against
    the oracle: values, indices and the routed gradient, with ties, -0.0, -inf and NaN, odd
    sizes (the rows and columns no window reads get zero gradient), ceil_mode and 'same'."""
    rng = np.random.default_rng(sum(shape))
    x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.nan, 0.5, 3.0]), shape,
                   p=[0.05, 0.2, 0.15, 0.15, 0.2, 0.05, 0.1, 0.1]).astype(dtype)
    bits = x.view(np.uint32 if dtype == np.float32 else np.uint64)
    nan = np.isnan(x)  # NaNs of distinct payloads: the first NaN of a window is the one kept
    bits[nan] |= np.arange(1, nan.sum() + 1, dtype=bits.dtype) % 7 + 1
    xb = x if x.ndim == 4 else x[None]
    pads = ([nc.same_padding(n, 2, 2) for n in xb.shape[2:]] if kw.get("padding") == "same"
            else [(0, 0)] * 2)
    outs = tuple(pool_out_len(n, 2, 2, lo, hi, 1, kw.get("ceil_mode", False))
                 for n, (lo, hi) in zip(xb.shape[2:], pads, strict=True))
    vals, idx = ref_max_pool(xb, (2, 2), (2, 2), (1, 1), pads, outs)
    got, got_idx = nc.max_pool2d(x, 2, return_indices=True, **kw)
    plain = nc.max_pool2d(x, 2, **kw)
    np.testing.assert_array_equal(got_idx.reshape(idx.shape), idx)
    np.testing.assert_array_equal(got.reshape(vals.shape), vals.astype(dtype))
    picked = np.take_along_axis(xb.reshape(xb.shape[:2] + (-1,)),
                                idx.reshape(idx.shape[:2] + (-1,)), -1).reshape(idx.shape)
    assert plain.tobytes() == got.tobytes() == picked.astype(dtype).tobytes()
    # channels-last (its own 2x2 kernel): the same bits on permuted axes
    b = x.ndim == 4
    assert _cf(nc.max_pool2d(_cl(x, b), 2, data_format="channels_last", **kw),
               b).tobytes() == plain.tobytes()
    g = rng.standard_normal(got.shape).astype(dtype)
    g.flat[::3] = -0.0  # the gradient of a maximum is 0 + g: +0.0, never -0.0
    gin = grad.max_pool2d_input(g, x, 2, **kw)
    expected = route_max_grad(g.reshape(idx.shape), idx, xb.shape).astype(dtype)
    assert gin.tobytes() == (expected + dtype(0)).reshape(x.shape).tobytes()
    assert _cf(grad.max_pool2d_input(_cl(g, b), _cl(x, b), 2, data_format="channels_last",
                                     **kw), b).tobytes() == gin.tobytes()
    if x.ndim == 4:  # the adaptive form with uniform windows is the same pooling
        half = (x.shape[2] // 2, x.shape[3] // 2)
        if half[0] and half[1] and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0:
            assert nc.adaptive_max_pool2d(x, half).tobytes() == plain.tobytes()


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------


@given(configs())
def test_max_pool_gradient_routes_to_the_reference_index(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = outs_of(xb, nd, k, s, d, p, ceil_mode)
    _, idx = ref_max_pool(xb, k, s, d, [(q, q) for q in p], outs)
    g = np.random.default_rng(0).standard_normal(x.shape[:-nd] + outs).astype(x.dtype)
    got = getattr(grad, f"max_pool{nd}d_input")(g, x, k, s, p, d, ceil_mode)
    assert got.shape == x.shape and got.dtype == x.dtype
    expected = route_max_grad(batched(g, nd), idx, xb.shape)
    tol = 1e-6 if x.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(batched(got, nd), expected, rtol=tol, atol=tol)


@given(configs(dilation=False), st.booleans(), st.sampled_from([None, 2]))
def test_avg_pool_gradient_is_the_transposed_reference_matrix(cfg, include_pad, override):
    nd, x, k, s, _, p, ceil_mode = cfg
    x = x.astype(np.float64)
    xb = batched(x, nd)
    assume(xb.size <= 150)
    outs = outs_of(xb, nd, k, s, (1,) * nd, p, ceil_mode)
    pads = [(q, q) for q in p]
    A = linear_map_matrix(lambda e: ref_avg_pool(e, k, s, pads, outs, include_pad, override),
                          xb.shape)
    g = np.random.default_rng(1).standard_normal(x.shape[:-nd] + outs)
    got = getattr(grad, f"avg_pool{nd}d_input")(g, x.shape, k, s, p, ceil_mode, include_pad,
                                                 override)
    np.testing.assert_allclose(batched(got, nd).ravel(), A.T @ batched(g, nd).ravel(), atol=1e-12)


def test_gradients_by_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.permutation(60).reshape(1, 3, 4, 5) / 7.0  # distinct values: no ties near x
    g = rng.standard_normal((1, 3, 2, 3))
    eps = 1e-6

    def num_grad(f):
        out = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = eps
            out[i] = (np.vdot(f(x + e), g) - np.vdot(f(x - e), g)) / (2 * eps)
        return out

    np.testing.assert_allclose(grad.max_pool2d_input(g, x, 2, ceil_mode=True),
                               num_grad(lambda v: nc.max_pool2d(v, 2, ceil_mode=True)), atol=1e-6)
    np.testing.assert_allclose(grad.avg_pool2d_input(g, x.shape, 3, 2, 1),
                               num_grad(lambda v: nc.avg_pool2d(v, 3, 2, 1)), atol=1e-6)
    np.testing.assert_allclose(grad.adaptive_avg_pool2d_input(g, x.shape),
                               num_grad(lambda v: nc.adaptive_avg_pool2d(v, (2, 3))), atol=1e-6)
    np.testing.assert_allclose(grad.adaptive_max_pool2d_input(g, x),
                               num_grad(lambda v: nc.adaptive_max_pool2d(v, (2, 3))), atol=1e-6)


@given(adaptive_configs())
def test_adaptive_gradients(cfg):
    nd, x, outs = cfg
    x = x.astype(np.float64)
    xb = batched(x, nd)
    g = np.random.default_rng(2).standard_normal(x.shape[:-nd] + outs)
    _, idx = ref_adaptive_pool(xb, outs, "max")
    got = getattr(grad, f"adaptive_max_pool{nd}d_input")(g, x)
    np.testing.assert_allclose(batched(got, nd), route_max_grad(batched(g, nd), idx, xb.shape),
                               atol=1e-14)
    got = getattr(grad, f"adaptive_avg_pool{nd}d_input")(g, x.shape)
    mean, _ = ref_adaptive_pool(xb, outs, "avg")
    assert np.isclose(np.vdot(mean, batched(g, nd)), np.vdot(x, got), rtol=1e-10, atol=1e-12)
    if xb.size <= 120:
        A = linear_map_matrix(lambda e: ref_adaptive_pool(e, outs, "avg")[0], xb.shape)
        np.testing.assert_allclose(batched(got, nd).ravel(), A.T @ batched(g, nd).ravel(),
                                   atol=1e-12)


# ------------------------------------------------------------------------------------------
# unpooling
# ------------------------------------------------------------------------------------------


@given(configs(dilation=False))
def test_unpool_writes_each_value_at_its_index(cfg):
    nd, x, k, s, _, p, ceil_mode = cfg
    assume(not ceil_mode)
    xb = batched(x, nd)
    out, idx = FN["max_pool", nd](x, k, s, p, 1, False, True)
    default = tuple((o - 1) * s[i] - 2 * p[i] + k[i] for i, o in enumerate(batched(out, nd).shape[2:]))
    sizes = xb.shape[2:]
    assume(all(default[i] - s[i] < sizes[i] < default[i] + s[i] for i in range(nd)))
    u = getattr(nc, f"max_unpool{nd}d")(out, idx, k, s, p, output_size=sizes)
    assert u.shape == x.shape and u.dtype == x.dtype
    expected = ref_unpool(batched(out, nd), batched(idx, nd), sizes)
    assert batched(u, nd).tobytes() == expected.tobytes()


def test_unpool_default_size_repeats_and_errors():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    idx = np.array([[[0, 3], [9, 15]]])
    u = nc.max_unpool2d(x, idx, 2)
    assert u.shape == (1, 4, 4)
    np.testing.assert_array_equal(u[None], ref_unpool(x[None], idx[None], (4, 4)))
    dup = np.array([[[5, 5], [-1, 5]]])  # repeated: the last in scan order wins; -1 skipped
    np.testing.assert_array_equal(nc.max_unpool2d(x, dup, 2).ravel()[5], 4.0)
    with pytest.raises(ValueError, match="indices"):
        nc.max_unpool2d(x, idx + 1, 2)
    with pytest.raises(ValueError, match="output_size"):
        nc.max_unpool2d(x, idx, 2, output_size=(7, 4))
    with pytest.raises(ValueError, match="shape"):
        nc.max_unpool2d(x, idx[..., :1], 2)
    with pytest.raises(TypeError, match="indices"):
        nc.max_unpool2d(x, idx.astype(float), 2)


# ------------------------------------------------------------------------------------------
# channels-last: the channels-first result of the same call on permuted axes, bit for bit
# ------------------------------------------------------------------------------------------


def _cl(a, x_nd_plus_2):
    return to_channels_last(a, batched=x_nd_plus_2)


def _cf(a, x_nd_plus_2):
    return to_channels_first(a, batched=x_nd_plus_2)


@given(configs(values="ties"), st.booleans())
def test_channels_last_is_channels_first_on_permuted_axes(cfg, include_pad):
    nd, x, k, s, d, p, ceil_mode = cfg
    b = x.ndim == nd + 2
    xl = _cl(x, b)
    rng = np.random.default_rng(7)
    # max pooling, its indices and gradient
    v, i = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    vl, il = FN["max_pool", nd](xl, k, s, p, d, ceil_mode, return_indices=True, **CL)
    assert _cf(vl, b).tobytes() == v.tobytes() and _cf(il, b).tobytes() == i.tobytes()
    assert FN["max_pool", nd](xl, k, s, p, d, ceil_mode, **CL).tobytes() == vl.tobytes()
    g = rng.standard_normal(v.shape).astype(x.dtype)
    mg = getattr(grad, f"max_pool{nd}d_input")
    assert (_cf(mg(_cl(g, b), xl, k, s, p, d, ceil_mode, **CL), b).tobytes()
            == mg(g, x, k, s, p, d, ceil_mode).tobytes())
    # average pooling (no dilation: the padding bound is the kernel's) and its gradient
    if all(2 * p[j] <= k[j] and x.shape[-nd + j] + 2 * p[j] >= k[j] for j in range(nd)):
        finite = np.nan_to_num(x, posinf=0.0, neginf=0.0)
        a = FN["avg_pool", nd](finite, k, s, p, ceil_mode, include_pad)
        al = FN["avg_pool", nd](_cl(finite, b), k, s, p, ceil_mode, include_pad, **CL)
        assert _cf(al, b).tobytes() == a.tobytes()
        ga = rng.standard_normal(a.shape).astype(x.dtype)
        ag = getattr(grad, f"avg_pool{nd}d_input")
        assert (_cf(ag(_cl(ga, b), xl.shape, k, s, p, ceil_mode, include_pad, **CL), b).tobytes()
                == ag(ga, x.shape, k, s, p, ceil_mode, include_pad).tobytes())
    # unpooling of the max pooling's output
    un = getattr(nc, f"max_unpool{nd}d")
    try:
        unpooled = un(v, i, k, s, p)
    except ValueError as exc:  # (an empty or too small default size): refused in both layouts
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            un(vl, il, k, s, p, **CL)
    else:
        assert _cf(un(vl, il, k, s, p, **CL), b).tobytes() == unpooled.tobytes()


@given(adaptive_configs())
def test_adaptive_channels_last_is_channels_first_on_permuted_axes(cfg):
    nd, x, outs = cfg
    b = x.ndim == nd + 2
    xl = _cl(x, b)
    v, i = getattr(nc, f"adaptive_max_pool{nd}d")(x, outs, return_indices=True)
    vl, il = getattr(nc, f"adaptive_max_pool{nd}d")(xl, outs, return_indices=True, **CL)
    assert _cf(vl, b).tobytes() == v.tobytes() and _cf(il, b).tobytes() == i.tobytes()
    a = getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs)
    assert _cf(getattr(nc, f"adaptive_avg_pool{nd}d")(xl, outs, **CL), b).tobytes() == a.tobytes()
    g = np.random.default_rng(3).standard_normal(v.shape).astype(x.dtype)
    mg = getattr(grad, f"adaptive_max_pool{nd}d_input")
    ag = getattr(grad, f"adaptive_avg_pool{nd}d_input")
    assert _cf(mg(_cl(g, b), xl, **CL), b).tobytes() == mg(g, x).tobytes()
    assert _cf(ag(_cl(g, b), xl.shape, **CL), b).tobytes() == ag(g, x.shape).tobytes()


@pytest.mark.parametrize("C", [1, 5, 70])  # one channel, a vector tail, two channel blocks
def test_channels_last_wide_channels_against_the_oracle(C):
    rng = np.random.default_rng(C)
    x = rng.integers(-3, 4, (2, C, 9, 11)).astype(np.float32)
    x[0, 0, 2, 3] = np.nan
    xl = _cl(x, True)
    outs = tuple(pool_out_len(n, 3, 2, 1, 1, 1, True) for n in x.shape[2:])
    vals, idx = ref_max_pool(x, (3, 3), (2, 2), (1, 1), [(1, 1)] * 2, outs)
    vl, il = nc.max_pool2d(xl, 3, 2, 1, ceil_mode=True, return_indices=True, **CL)
    np.testing.assert_array_equal(_cf(vl, True), vals.astype(np.float32))
    np.testing.assert_array_equal(_cf(il, True), idx)
    g = rng.standard_normal(vals.shape).astype(np.float32)
    got = nc.grad.max_pool2d_input(_cl(g, True), xl, 3, 2, 1, ceil_mode=True, **CL)
    np.testing.assert_allclose(_cf(got, True), route_max_grad(g, idx, x.shape), rtol=1e-6,
                               atol=1e-6)
    finite = np.nan_to_num(x)
    np.testing.assert_allclose(_cf(nc.avg_pool2d(_cl(finite, True), 3, 2, 1, **CL), True),
                               ref_avg_pool(finite, (3, 3), (2, 2), [(1, 1)] * 2,
                                            tuple(pool_out_len(n, 3, 2, 1, 1, 1, False)
                                                  for n in x.shape[2:]), True),
                               rtol=1e-5, atol=1e-5)


@given(configs())
def test_channels_last_matches_torch_on_permuted_axes(cfg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd, x, k, s, d, p, ceil_mode = cfg
    assume(all(2 * p[i] <= k[i] for i in range(nd)))  # PyTorch's stricter padding bound
    b = x.ndim == nd + 2
    x = x.astype(np.float64)
    vl, il = FN["max_pool", nd](_cl(x, b), k, s, p, d, ceil_mode, return_indices=True, **CL)
    assume(np.all(il >= 0))  # PyTorch points an all-padding window outside the plane
    ev, ei = getattr(F, f"max_pool{nd}d")(torch.tensor(x), k, s, p, d, ceil_mode,
                                          return_indices=True)
    np.testing.assert_array_equal(_cf(vl, b), ev.numpy())
    np.testing.assert_array_equal(_cf(il, b), ei.numpy())


def test_data_format_must_be_one_of_the_two_words():
    x = np.zeros((1, 4, 4, 2))
    for call in (lambda: nc.max_pool2d(x, 2, data_format="NHWC"),
                 lambda: nc.adaptive_avg_pool2d(x, 1, data_format="channels-last"),
                 lambda: nc.grad.adaptive_max_pool2d_input(x, x, data_format=None),
                 lambda: nc.max_unpool2d(x, x.astype(np.int64), 2, data_format="last")):
        with pytest.raises(ValueError, match="data_format must be one of 'channels_first', "
                                             "'channels_last'"):
            call()


# ------------------------------------------------------------------------------------------
# out=
# ------------------------------------------------------------------------------------------

X4 = np.arange(2 * 3 * 6 * 8, dtype=np.float64).reshape(2, 3, 6, 8) % 7
G3 = np.ones((2, 3, 3, 4))

OUT_CALLS = {
    "max_pool2d": lambda out: nc.max_pool2d(X4, 2, out=out),
    "avg_pool2d": lambda out: nc.avg_pool2d(X4, 2, out=out),
    "adaptive_max_pool2d": lambda out: nc.adaptive_max_pool2d(X4, (3, 4), out=out),
    "adaptive_avg_pool2d": lambda out: nc.adaptive_avg_pool2d(X4, (3, 4), out=out),
    "max_unpool2d": lambda out: nc.max_unpool2d(G3, np.zeros(G3.shape, np.int64), 2, out=out),
    "max_pool2d_input": lambda out: grad.max_pool2d_input(G3, X4, 2, out=out),
    "avg_pool2d_input": lambda out: grad.avg_pool2d_input(G3, X4.shape, 2, out=out),
    "adaptive_max_pool2d_input": lambda out: grad.adaptive_max_pool2d_input(G3, X4, out=out),
    "adaptive_avg_pool2d_input": lambda out: grad.adaptive_avg_pool2d_input(G3, X4.shape, out=out),
}


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_receives_the_result_and_is_returned(name):
    call = OUT_CALLS[name]
    expected = call(None)
    out = np.full(expected.shape, 99.0)
    assert call(out) is out
    np.testing.assert_array_equal(out, expected)
    strided = np.full(expected.shape[:-1] + (2 * expected.shape[-1],), 99.0)[..., ::2]
    assert call(strided) is strided  # not C-contiguous: written through scratch
    np.testing.assert_array_equal(strided, expected)
    with pytest.raises(ValueError, match="out must have the result's shape"):
        call(np.empty(expected.shape[:-1] + (expected.shape[-1] + 1,)))
    with pytest.raises(TypeError, match="out must have the result's .* dtype float64"):
        call(np.empty(expected.shape, np.float32))
    with pytest.raises(TypeError, match="out must be a NumPy array"):
        call(expected.tolist())


def test_out_must_not_overlap_an_input():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="out shares memory with the input x"):
        nc.max_pool2d(x, 2, out=x[:, :, :2, :2])
    g = np.ones((1, 1, 2, 2))
    with pytest.raises(ValueError, match="out shares memory with the input grad_output"):
        grad.avg_pool2d_input(g, (1, 1, 2, 2), 1, out=g)


def test_out_with_indices_takes_one_array_or_a_pair():
    v, i = nc.max_pool2d(X4, 3, 2, 1, return_indices=True)
    vo = np.empty_like(v)
    got_v, got_i = nc.max_pool2d(X4, 3, 2, 1, return_indices=True, out=vo)
    assert got_v is vo and np.array_equal(vo, v) and np.array_equal(got_i, i)
    io = np.empty_like(i)
    got_v, got_i = nc.max_pool2d(X4, 3, 2, 1, return_indices=True, out=(None, io))
    assert got_i is io and np.array_equal(io, i) and np.array_equal(got_v, v)
    vo, io = np.empty_like(v), np.empty_like(i)
    got = nc.adaptive_max_pool2d(X4, v.shape[2:], return_indices=True, out=(vo, io))
    assert got[0] is vo and got[1] is io
    with pytest.raises(TypeError, match=r"out\[1\] must have the result's .* dtype int64"):
        nc.max_pool2d(X4, 2, return_indices=True, out=(None, np.empty(v.shape)))
    buf = np.empty(2 * v.size)
    with pytest.raises(ValueError, match=r"out\[1\]"):  # the pair overlaps itself
        nc.max_pool2d(X4, 3, 2, 1, return_indices=True,
                      out=(buf[:v.size].reshape(v.shape), buf[:v.size].view(np.int64).reshape(v.shape)))
    with pytest.raises(ValueError, match="out must be one array"):
        nc.max_pool2d(X4, 2, return_indices=True, out=(vo, io, vo))


# ------------------------------------------------------------------------------------------
# the resolution is cached; serial and parallel kernels agree bit for bit
# ------------------------------------------------------------------------------------------


def test_a_repeated_call_resolves_nothing():
    from numbaconv.core.pooling import pool_spec

    x = np.zeros((1, 2, 9, 9), np.float32)
    nc.max_pool2d(x, 3, 2, 1)
    before = pool_spec.cache_info()
    for _ in range(3):
        nc.max_pool2d(x, 3, 2, 1)
        grad.max_pool2d_input(np.zeros((1, 2, 5, 5), np.float32), x, 3, 2, 1)
    after = pool_spec.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 6


def test_a_cached_spec_never_skips_a_check():
    x = np.zeros((1, 1, 4, 4))
    nc.max_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(TypeError, match="kernel_size"):
        nc.max_pool2d(x, 2.0, ceil_mode=True)
    with pytest.raises(TypeError, match="ceil_mode"):
        nc.max_pool2d(x, 2, ceil_mode=1)


@pytest.mark.parametrize("window", [(3, 2, 1), (2, 2, 0)])  # (2, 2, 0): the 2x2 tile kernels
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_serial_and_parallel_paths_are_bitwise_identical(monkeypatch, layout, window):
    from numbaconv.cpu import pooling as kernels

    rng = np.random.default_rng(11)
    x = rng.integers(-2, 3, (3, 5, 13, 17)).astype(np.float32) + np.float32(0.1)
    x[1, 2, 3, 4] = np.nan
    if layout == "channels_last":
        x = _cl(x, True)
    args = (x, *window)
    kw = {"data_format": layout}

    def run():
        v, i = nc.max_pool2d(*args, return_indices=True, **kw)
        g = np.ones(v.shape, np.float32) / 3
        a = nc.avg_pool2d(*args, ceil_mode=True, **kw)
        return (v, i, nc.max_pool2d(*args, **kw), a,
                grad.max_pool2d_input(g, *args, **kw),
                grad.avg_pool2d_input(np.ones(a.shape, np.float32) / 3, x.shape, *window,
                                      ceil_mode=True, **kw),
                nc.adaptive_avg_pool2d(x, (4, 5), **kw),
                nc.max_unpool2d(v, i, *window, output_size=(13, 17), **kw))

    monkeypatch.setattr(kernels, "SERIAL_WORK", 1 << 62)
    serial = run()
    monkeypatch.setattr(kernels, "SERIAL_WORK", 0)
    monkeypatch.setattr(kernels, "ITEM_WORK", 1 << 9)  # many small chunks
    parallel = run()
    for a, b in zip(serial, parallel, strict=True):
        assert a.tobytes() == b.tobytes()


def test_small_map_two_by_two_gradient_serial_and_parallel_match_the_oracle(monkeypatch):
    # maps with fewer than 8 windows a row take the plane-by-plane 2x2 gradient kernel;
    # serial, in many parallel chunks, and against the routed oracle (NaN, ties, odd sizes)
    from numbaconv.cpu import pooling as kernels

    rng = np.random.default_rng(12)
    x = rng.integers(-2, 3, (3, 5, 11, 9)).astype(np.float32)
    x[1, 2, 3, 4] = np.nan
    vals, idx = ref_max_pool(x, (2, 2), (2, 2), (1, 1), [(0, 0)] * 2, (5, 4))
    g = rng.standard_normal(vals.shape).astype(np.float32)
    want = (route_max_grad(g, idx, x.shape).astype(np.float32) + np.float32(0)).tobytes()
    monkeypatch.setattr(kernels, "SERIAL_WORK", 1 << 62)
    assert grad.max_pool2d_input(g, x, 2).tobytes() == want
    monkeypatch.setattr(kernels, "SERIAL_WORK", 0)
    monkeypatch.setattr(kernels, "ITEM_WORK", 1 << 9)
    # (into a NaN-filled out=: a plane no run wrote would show, not reuse a freed result)
    out = np.full(x.shape, np.nan, np.float32)
    assert grad.max_pool2d_input(g, x, 2, out=out).tobytes() == want


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("shape", [(3, 5, 27, 26), (2, 3, 26, 33), (4, 2, 17, 40),
                                   (2, 2, 6, 16), (1, 3, 9, 47)])
def test_two_by_two_gradient_rows_serial_and_parallel_match_the_oracle(monkeypatch, shape,
                                                                       layout):
    # maps of 8 or more windows a row take the row kernel of the 2x2 gradient (channels-
    # last: its own rows kernel): serial, in many parallel chunks (ranges ending anywhere),
    # and against the routed oracle (NaN, ties, odd sizes and the rows and columns no
    # window reads)
    from numbaconv.cpu import pooling as kernels

    rng = np.random.default_rng(sum(shape))
    x = rng.integers(-2, 3, shape).astype(np.float32)
    x.flat[::37] = np.nan
    outs = (shape[2] // 2, shape[3] // 2)
    vals, idx = ref_max_pool(x, (2, 2), (2, 2), (1, 1), [(0, 0)] * 2, outs)
    g = rng.standard_normal(vals.shape).astype(np.float32)
    want = route_max_grad(g, idx, x.shape).astype(np.float32) + np.float32(0)
    vals = vals.astype(np.float32)
    if layout == "channels_last":
        x, g, want, vals = (np.ascontiguousarray(a.transpose(0, 2, 3, 1))
                            for a in (x, g, want, vals))
    kw = {"data_format": layout}
    monkeypatch.setattr(kernels, "SERIAL_WORK", 1 << 62)
    assert grad.max_pool2d_input(g, x, 2, **kw).tobytes() == want.tobytes()
    monkeypatch.setattr(kernels, "SERIAL_WORK", 0)
    plain = nc.max_pool2d(x, 2, **kw)
    assert plain.tobytes() == vals.tobytes()
    for item, runs in ((1 << 7, 2), (1 << 9, 3), (1 << 11, 7)):
        # (the Python threads' chunks, and the runs on Numba's threads: cuts anywhere)
        monkeypatch.setattr(kernels, "ITEM_WORK", item)
        monkeypatch.setattr(kernels, "_PARALLEL_RUNS", runs)
        assert grad.max_pool2d_input(g, x, 2, **kw).tobytes() == want.tobytes()
        assert nc.max_pool2d(x, 2, **kw).tobytes() == plain.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_by_two_average_kernel_gives_the_general_kernels_bits(monkeypatch, dtype):
    """2x2 / stride-2 average pooling of whole tiles runs its own kernel: the general window
    kernel's sums in its order (signed zeros, NaN, inf included) for avg_pool2d, a divisor
    override and adaptive pooling to half the size; and the float64 oracle."""
    from numbaconv.cpu import pooling as kernels

    rng = np.random.default_rng(13)
    x = rng.integers(-3, 4, (3, 4, 11, 14)).astype(dtype) * dtype(0.3)
    x[0, 1, 2, 3] = np.nan
    x[1, 0, 4, 5] = np.inf
    x[2, 3, 0:2, 0:2] = -0.0
    calls = (lambda: nc.avg_pool2d(x, 2), lambda: nc.avg_pool2d(x, 2, divisor_override=3),
             lambda: nc.adaptive_avg_pool2d(x[..., :10, :], (5, 7)),
             lambda: nc.avg_pool2d(x[2:, 3:, :2, :2], 2))  # a tile of -0.0
    taken = []
    real = kernels._avg2_rows
    monkeypatch.setattr(kernels, "_avg2_rows", lambda *a: (taken.append(1), real(*a)))
    fast = [c() for c in calls]
    assert len(taken) == len(calls)
    monkeypatch.setattr(kernels, "_avg_tiles2", lambda spec: None)
    general = [c() for c in calls]
    for a, b in zip(fast, general, strict=True):
        assert a.dtype == dtype and a.tobytes() == b.tobytes()
    assert fast[3][0, 0, 0, 0] == 0 and not np.signbit(fast[3][0, 0, 0, 0])  # 0 + -0 = +0
    want = ref_avg_pool(x, (2, 2), (2, 2), [(0, 0)] * 2, (5, 7), True)
    np.testing.assert_allclose(fast[0], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fast[1], want * 4 / 3, rtol=1e-6, atol=1e-6)


def test_max_pool_backward_is_deterministic_across_thread_counts():
    import numba

    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (4, 8, 33, 31)).astype(np.float32)  # many ties, overlapping windows
    g = rng.standard_normal((4, 8, 17, 16)).astype(np.float32)
    g2 = rng.standard_normal((4, 8, 16, 15)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for t in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(t)
            results.append((grad.max_pool2d_input(g, x, 3, 2, 1),
                            grad.max_pool2d_input(g2, x, 2),  # the 2x2 tile kernel
                            grad.avg_pool2d_input(g, x.shape, 3, 2, 1),
                            nc.avg_pool2d(x, 3, 2, 1)))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(results[0], results[-1], strict=True):
        assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------------------------
# inputs and errors
# ------------------------------------------------------------------------------------------


def test_awkward_inputs_work_and_are_not_modified():
    base = np.arange(2 * 3 * 6 * 8, dtype=np.float64).reshape(2, 3, 6, 8) % 11
    readonly = base.copy()
    readonly.flags.writeable = False
    expected = ref_max_pool(base, (2, 2), (2, 2), (1, 1), [(0, 0)] * 2, (3, 4))[0]
    for x in (np.asfortranarray(base), base.astype(">f8"), readonly, base.tolist()):
        before = np.array(x, copy=True)
        np.testing.assert_array_equal(nc.max_pool2d(x, 2), expected)
        np.testing.assert_array_equal(np.asarray(x), before)
    strided = np.repeat(base, 2, axis=3)[..., ::2]
    np.testing.assert_array_equal(nc.max_pool2d(strided, 2), expected)
    ints = base.astype(np.int32)
    got = nc.avg_pool2d(ints, 2)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ref_avg_pool(base, (2, 2), (2, 2), [(0, 0)] * 2, (3, 4), True))


def test_empty_batch():
    x = np.zeros((0, 3, 4, 4), np.float32)
    assert nc.max_pool2d(x, 2).shape == (0, 3, 2, 2)
    assert nc.max_pool2d(x.transpose(0, 2, 3, 1), 2, **CL).shape == (0, 2, 2, 3)
    assert grad.avg_pool2d_input(np.zeros((0, 3, 2, 2)), (0, 3, 4, 4), 2).shape == (0, 3, 4, 4)


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: nc.max_pool2d(x, 0), ValueError, "kernel_size"),
    (lambda x: nc.max_pool2d(x, 2.5), TypeError, "kernel_size"),
    (lambda x: nc.max_pool2d(x, 2, stride=(1, 2, 3)), ValueError, "stride"),
    (lambda x: nc.max_pool2d(x, 2, padding=2), ValueError, "half"),
    (lambda x: nc.max_pool2d(x, 2, padding="full"), ValueError, "padding"),
    (lambda x: nc.max_pool2d(x, 9), ValueError, "larger"),
    (lambda x: nc.max_pool2d(x[0, 0], 2), ValueError, "dimensions"),
    (lambda x: nc.max_pool2d(x.astype(complex), 2), TypeError, "complex"),
    (lambda x: nc.max_pool2d(x, 2, ceil_mode="yes"), TypeError, "ceil_mode"),
    (lambda x: nc.max_pool2d(x, 2, return_indices=1), TypeError, "return_indices"),
    (lambda x: nc.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda x: nc.adaptive_avg_pool2d(x, 0), ValueError, "output_size"),
    (lambda x: nc.adaptive_avg_pool2d(x, (1, 2, 3)), ValueError, "output_size"),
    (lambda x: grad.max_pool2d_input(np.ones((1, 1, 3, 3)), x, 2), ValueError, "grad_output"),
    (lambda x: grad.avg_pool2d_input(np.ones((1, 1, 2, 2)), (1, 4, 4), 2), ValueError,
     "input_shape"),
    (lambda x: grad.avg_pool2d_input(np.ones((1, 1, 2, 2)), (1, 1, 4), 2), ValueError,
     r"input_shape of shape \(1, 1, 4\): pooling window"),
    (lambda x: nc.max_pool2d(np.zeros((1, 1, 0, 4)), 1), ValueError, "spatial"),
    (lambda x: nc.max_pool2d(x, 2, data_format="channels_last"), ValueError,
     r"x of shape \(1, 1, 4, 4\): pooling window of 2 elements is larger than the padded input "
     "length 1"),
])
def test_errors_name_the_argument(call, exc, match):
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(exc, match=match):
        call(x)


# ------------------------------------------------------------------------------------------
# PyTorch cross-check (an extra oracle where installed)
# ------------------------------------------------------------------------------------------


@given(configs())
def test_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd, x, k, s, d, p, ceil_mode = cfg
    assume(all(2 * p[i] <= k[i] for i in range(nd)))  # PyTorch's stricter padding bound
    x = x.astype(np.float64)
    got, got_idx = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    # a dilated window entirely in the padding: PyTorch returns an index outside the plane
    assume(np.all(got_idx >= 0))
    t = torch.tensor(x, requires_grad=True)
    out, idx = getattr(F, f"max_pool{nd}d")(t, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(got, out.detach().numpy())
    np.testing.assert_array_equal(got_idx, idx.numpy())
    g = np.random.default_rng(0).standard_normal(got.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(getattr(grad, f"max_pool{nd}d_input")(g, x, k, s, p, d, ceil_mode),
                               t.grad.numpy(), atol=1e-12)
    default = [(o - 1) * s[i] - 2 * p[i] + k[i] for i, o in enumerate(got.shape[-nd:])]
    if all(default[i] - s[i] < x.shape[-nd + i] < default[i] + s[i] for i in range(nd)):
        np.testing.assert_array_equal(
            getattr(nc, f"max_unpool{nd}d")(got, got_idx, k, s, p, output_size=x.shape[-nd:]),
            getattr(F, f"max_unpool{nd}d")(out.detach(), idx, k, s, p,
                                           output_size=x.shape[-nd:]).numpy())
    if any(n < kk for n, kk in zip(x.shape[-nd:], k, strict=True)):
        return  # PyTorch's average pooling refuses windows larger than the input
    for include in (True, False):
        ta = torch.tensor(x, requires_grad=True)
        avg = getattr(F, f"avg_pool{nd}d")(ta, k, s, p, ceil_mode, include)
        np.testing.assert_allclose(FN["avg_pool", nd](x, k, s, p, ceil_mode, include),
                                   avg.detach().numpy(), rtol=1e-12)
        ga = np.random.default_rng(1).standard_normal(tuple(avg.shape))
        avg.backward(torch.tensor(ga))
        np.testing.assert_allclose(
            getattr(grad, f"avg_pool{nd}d_input")(ga, x.shape, k, s, p, ceil_mode, include),
            ta.grad.numpy(), atol=1e-12)


@given(adaptive_configs())
def test_adaptive_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd, x, outs = cfg
    t = torch.tensor(x)
    out, idx = getattr(F, f"adaptive_max_pool{nd}d")(t, outs, return_indices=True)
    got, got_idx = getattr(nc, f"adaptive_max_pool{nd}d")(x, outs, return_indices=True)
    np.testing.assert_array_equal(got, out.numpy())
    np.testing.assert_array_equal(got_idx, idx.numpy())
    tol = 1e-6 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs),
                               getattr(F, f"adaptive_avg_pool{nd}d")(t, outs).numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w", [2, 3, 15, 16, 17, 26, 31, 32, 33, 47, 66])
def test_two_by_two_rows_in_vectors_pick_the_first_maximum(dtype, w):
    """2x2 / stride 2 rows of every width around the vector lengths (the vector form, its
    overlapping last vector, rows running on into the next row's outputs, the loop for the
    last rows): each output is bit for bit the element the reference scan picks, with ties
    of -0.0 and 0.0, -inf and NaN in every position of a window."""
    rng = np.random.default_rng(w)
    x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.nan]), (2, 3, 7, w),
                   p=[0.1, 0.25, 0.2, 0.2, 0.2, 0.05]).astype(dtype)
    outs = tuple(pool_out_len(n, 2, 2, 0, 0, 1, False) for n in x.shape[2:])
    _, idx = ref_max_pool(x, (2, 2), (2, 2), (1, 1), [(0, 0)] * 2, outs)
    got = nc.max_pool2d(x, 2)
    want = np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1), -1).reshape(got.shape)
    assert got.tobytes() == want.tobytes()
