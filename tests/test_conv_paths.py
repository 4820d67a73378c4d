"""Every CPU convolution strategy of numbaconv.cpu.conv_plan on every geometry it accepts.

Each strategy is forced (``conv_plan.forced``) on Hypothesis' small 2-D geometries and
checked against independent oracles: the forward pass and, at stride 1, both gradients
against ``scipy.signal.correlate`` / ``convolve`` in float64 (a small local oracle: the
shared one in tests/oracles.py belongs to the conv API work), the gradients at any
stride and dilation by the adjoint identities. Then: bitwise-identical results at 1 and
2 threads for calls split into several work items, NaN locality, the bias gradient.
"""

from __future__ import annotations

import dataclasses
import functools
from unittest import mock

import numba
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

import numbaconv as nc
from numbaconv import grad
from numbaconv.cpu import conv_plan, threads
from numbaconv.cpu.native import team_runs

#: (strategy, variant of the Winograd input gradient); gemm_nchw has no input gradient (the
#: plan falls back to the model's choice there)
FORCINGS = [("legacy", None), ("gemm_nhwc", None), ("gemm_nchw", "narrow"), ("gemm_nchw", "wide"),
            ("gemm_taps", None), ("gemm_taps", "split"),
            ("winograd_nhwc", "adjoint"), ("winograd_nhwc", "flipped"), ("winograd4", "adjoint"),
            ("winograd4", "flipped")]
#: the strategies that run channels-last arrays in place
CL_FORCINGS = [("gemm_nhwc", None), ("winograd_nhwc", "adjoint"), ("winograd_nhwc", "flipped"),
               ("winograd4", "adjoint"), ("winograd4", "flipped"), ("gemm_nchw", "narrow"),
               ("gemm_nchw", "wide"), ("gemm_taps", None), ("gemm_taps", "split")]
#: the passes a strategy runs where it is not every pass (forced, the others fall back to
#: the model's choice)
PASSES = {"gemm_nchw": ("forward", "weight_grad")}
#: the same for channels-last calls (the channel-major units run a channels-last forward
#: from a transposed copy of its input; the per-tap GEMMs run all three in place)
CL_PASSES = {"gemm_nchw": ("forward",)}
ALL_PASSES = ("forward", "input_grad", "weight_grad")


# ----------------------------------------------------------------------------------- oracles


def _dilate(w, d):
    kh, kw = w.shape[-2:]
    out = np.zeros(w.shape[:-2] + (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1))
    out[..., ::d[0], ::d[1]] = w
    return out


def ref_forward(x, w, b, stride, pads, dilation):
    """float64 ``conv2d``: per (image, filter) the sum over channels of scipy's direct
    correlation of the zero-padded input with the dilated filter, then every stride-th."""
    x = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0)) + tuple(pads))
    wd = _dilate(np.asarray(w, np.float64), dilation)
    N, K = x.shape[0], w.shape[0]
    out = []
    for n in range(N):
        maps = []
        for k in range(K):
            acc = sum(scipy.signal.correlate(x[n, c], wd[k, c], "valid", method="direct")
                      for c in range(x.shape[1]))
            maps.append(acc[::stride[0], ::stride[1]] + (0 if b is None else b[k]))
        out.append(maps)
    return np.array(out)


def ref_input_grad_s1(shape, w, g, pads):
    """Stride 1, undilated: ``dx[n, c]`` = the full convolution of ``g[n, k]`` with
    ``w[k, c]`` summed over ``k``, cropped to the unpadded input."""
    (lh, _), (lw, _) = pads
    H, W = shape[2:]
    dx = np.zeros(shape)
    for n in range(shape[0]):
        for c in range(shape[1]):
            full = sum(scipy.signal.convolve(g[n, k], w[k, c], "full", method="direct")
                       for k in range(w.shape[0]))
            dx[n, c] = full[lh:lh + H, lw:lw + W]
    return dx


def ref_weight_grad_s1(x, g, kshape, pads):
    """Stride 1, undilated: ``dw[k, c]`` = the valid correlation of the padded ``x[n, c]`` with
    ``g[n, k]`` summed over ``n``."""
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0)) + tuple(pads))
    kh, kw = kshape
    dw = np.zeros((g.shape[1], x.shape[1], kh, kw))
    for k in range(g.shape[1]):
        for c in range(x.shape[1]):
            dw[k, c] = sum(scipy.signal.correlate(xp[n, c], g[n, k], "valid",
                                                  method="direct")[:kh, :kw]
                           for n in range(x.shape[0]))
    return dw


# -------------------------------------------------------------------------------- geometries


@st.composite
def layers(draw, strategy):
    """A small 2-D, ungrouped layer the strategy accepts (3x3, stride 1, undilated for
    Winograd); the padding after the data may differ from the padding before."""
    wino = strategy in ("winograd_nhwc", "winograd4")
    kh, kw = (3, 3) if wino else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (1, 1) if wino else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (1, 1) if wino else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    span = [d * (k - 1) + 1 - lo - hi for d, k, (lo, hi) in zip(dil, (kh, kw), pads, strict=True)]
    H = draw(st.integers(max(1, span[0]), max(1, span[0]) + 7))
    W = draw(st.integers(max(1, span[1]), max(1, span[1]) + 7))
    # (Winograd also on runs of channels and filters past a vector, whole or not: its
    # transforms' explicit-vector form, cpu.simd.matrix_rows)
    chans = st.one_of(st.integers(1, 5), st.integers(9, 19)) if wino else st.integers(1, 5)
    N, C, K = draw(st.integers(1, 3)), draw(chans), draw(chans)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C, kh, kw))
    b = rng.standard_normal(K) if draw(st.booleans()) else None
    return x, w, b, stride, pads, dil


def _draw_window(draw, kh_max, kw_max, s_max, extra):
    """``(kh, kw, stride, dilation, pads, H, W)`` of a 2-D window: kernels up to the maxima,
    strides up to ``s_max``, dilations 1-2, paddings 0-2 before and after, and a map that
    holds at least one window (up to ``extra`` rows and columns more)."""
    kh, kw = draw(st.integers(1, kh_max)), draw(st.integers(1, kw_max))
    stride = (draw(st.integers(1, s_max)), draw(st.integers(1, s_max)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    span = [d * (k - 1) + 1 - lo - hi for d, k, (lo, hi) in zip(dil, (kh, kw), pads, strict=True)]
    H = draw(st.integers(max(1, span[0]), max(1, span[0]) + extra))
    W = draw(st.integers(max(1, span[1]), max(1, span[1]) + extra))
    return kh, kw, stride, dil, pads, H, W


def _kw(stride, pads, dil):
    return dict(stride=stride, padding=pads, dilation=dil)


def _plan_of(op, x, w, stride, pads, dil):
    out = tuple(nc.conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                zip(x.shape[2:], w.shape[2:], stride, pads, dil, strict=True))
    shapes = ((x.shape[0], x.shape[1], 1, *x.shape[2:]), (w.shape[0], w.shape[1], 1, *w.shape[2:]),
              (x.shape[0], w.shape[0], 1, *out))
    return conv_plan.plan(op, *shapes, (1, *stride), (0, pads[0][0], pads[1][0]), (1, *dil),
                          x.dtype.itemsize)


# -------------------------------------------------------------------- every path vs oracles


@pytest.mark.parametrize("strategy, variant", FORCINGS)
@settings(max_examples=15)
@given(data=st.data())
def test_forced_strategy_matches_oracles(strategy, variant, data):
    x, w, b, stride, pads, dil = data.draw(layers(strategy))
    kw = _kw(stride, pads, dil)
    with conv_plan.forced(strategy, variant):
        for op in PASSES.get(strategy, ALL_PASSES):
            assert _plan_of(op, x, w, stride, pads, dil).strategy == strategy
        if strategy in ("winograd_nhwc", "winograd4"):
            assert _plan_of("input_grad", x, w, stride, pads, dil).variant == variant
        y = nc.conv2d(x, w, b, **kw)
        g = np.random.default_rng(1).standard_normal(y.shape)
        dx = grad.conv2d_input(x.shape, w, g, **kw)
        dw = grad.conv2d_weight(x, w.shape, g, **kw)
    want = ref_forward(x, w, b, stride, pads, dil)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    y0 = want - (0 if b is None else b.reshape(-1, 1, 1))
    # adjoint identities: <conv(x), g> = <x, conv_input(g)> = <w, conv_weight(x, g)>
    np.testing.assert_allclose(np.vdot(x, dx), np.vdot(y0, g), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.vdot(w, dw), np.vdot(y0, g), rtol=1e-9, atol=1e-9)
    if stride == (1, 1) and dil == (1, 1):
        np.testing.assert_allclose(dx, ref_input_grad_s1(x.shape, w, g, pads),
                                   rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dw, ref_weight_grad_s1(x, g, w.shape[2:], pads),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("strategy, variant", CL_FORCINGS)
@settings(max_examples=20)
@given(data=st.data())
def test_channels_last_strategies_match_oracles(strategy, variant, data):
    # the strategies that run channels-last arrays in place (the GEMM's patch rows from the
    # input's own rows, G and the output read and written as they are; Winograd's
    # transforms gathering channels-last column planes, its output transform writing runs
    # of filters), forced: against the float64 oracles in the channels-first layout, at any
    # stride, dilation and padding they accept; the same bits at one and two threads
    from numbaconv.core import conv as core_conv

    x, w, b, stride, pads, dil = data.draw(layers(strategy))
    kw = dict(_kw(stride, pads, dil), data_format="channels_last")
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    want = ref_forward(x, w, b, stride, pads, dil)
    g = np.random.default_rng(1).standard_normal(want.shape)
    gl = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    spec = core_conv.conv_spec("forward", 2, xl.shape, w.shape, stride, pads, dil, 1,
                               "zeros", 0, "channels_last")
    with conv_plan.forced(strategy, variant):
        for op in CL_PASSES.get(strategy, ALL_PASSES):
            p = conv_plan.route(op, spec.geometry, xl.dtype)
            if strategy in ("gemm_nchw", "gemm_taps") and not conv_plan._compiled_gemm(8):
                assert p is None  # (numpy's BLAS not callable from compiled code)
                continue
            assert p is not None and p.strategy == strategy and p.channels_last
            if op == "input_grad" and strategy.startswith("winograd"):
                assert p.variant == variant
            if variant == "split" and op != "weight_grad":  # (a reduction: not split)
                assert p.parts == 2
        results = _at_one_and_two_threads(lambda: (
            nc.conv2d(xl, w, b, **kw), grad.conv2d_input(xl.shape, w, gl, **kw),
            grad.conv2d_weight(xl, w.shape, gl, **kw)))
    for a, c in zip(*results, strict=True):
        np.testing.assert_array_equal(a, c)
    y, dx, dw = results[0]
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), want, rtol=1e-10, atol=1e-10)
    y0 = want - (0 if b is None else b.reshape(-1, 1, 1))
    np.testing.assert_allclose(np.vdot(xl, dx), np.vdot(y0, g), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dw, ref_weight_grad(x, g, w.shape[2:], stride, pads, dil),
                               rtol=1e-10, atol=1e-10)
    if stride == (1, 1) and dil == (1, 1):
        np.testing.assert_allclose(dx.transpose(0, 3, 1, 2),
                                   ref_input_grad_s1(x.shape, w, g, pads),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("variant", ["narrow", "wide"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=15)
@given(data=st.data())
def test_channels_last_channel_major_forward_is_the_channels_first_one(variant, dtype, data):
    # a channels-last forward on the channel-major units reads a transposed copy of its
    # input and writes each unit's block transposed: the channels-first call's bits, with
    # or without bias, at any stride, dilation and padding, one and two threads; the input
    # is left as it was
    x, w, b, stride, pads, dil = data.draw(layers("gemm_nchw"))
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    kw = _kw(stride, pads, dil)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    before = xl.copy()
    with conv_plan.forced("gemm_nchw", variant):
        cf = nc.conv2d(x, w, b, **kw)
        got = _at_one_and_two_threads(
            lambda: nc.conv2d(xl, w, b, **kw, data_format="channels_last"))
    for y in got:
        np.testing.assert_array_equal(y.transpose(0, 3, 1, 2), cf)
    np.testing.assert_array_equal(xl, before)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(cf, ref_forward(x, w, b, stride, pads, dil), rtol=tol, atol=tol)


@pytest.mark.parametrize("variant", ["narrow", "wide"])
@pytest.mark.parametrize("n, c, hw, k, stride, pad, with_bias", [
    (1, 13, (9, 11), 19, 1, 0, True),    # channels and filters past a tile of 8, odd maps
    (2, 8, (10, 8), 16, 1, 1, False),    # whole tiles
    (1, 32, (13, 13), 64, 1, 0, True),   # Keras MNIST's second layer at batch 1
    (1, 3, (23, 21), 24, 2, 3, True),    # a 7x7/2-like stem: three channels, stride 2
])
def test_channels_last_channel_major_forward_tiles(variant, n, c, hw, k, stride, pad,
                                                   with_bias):
    # the transposed copies (input to channels-first, each unit's block to channels-last)
    # go by tiles of 8 x 8 with scalar edges: layers across those edges give the
    # channels-first call's bits, and the float64 oracle's values
    rng = np.random.default_rng(c)
    kh = 7 if stride == 2 else 3
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w = rng.standard_normal((k, c, kh, kh)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32) if with_bias else None
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    with conv_plan.forced("gemm_nchw", variant):
        cf = nc.conv2d(x, w, b, stride=stride, padding=pad)
        got = nc.conv2d(xl, w, b, stride=stride, padding=pad, data_format="channels_last")
    np.testing.assert_array_equal(got.transpose(0, 3, 1, 2), cf)
    pads = ((pad, pad), (pad, pad))
    want = ref_forward(x, w, b, (stride, stride), pads, (1, 1))
    np.testing.assert_allclose(cf, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_transposing_copies_match_numpy():
    # the tiled transposing copies (channels-last to channels-first and back) against
    # numpy's, on shapes across the tile edges
    from numbaconv.cpu import conv_gemm

    rng = np.random.default_rng(0)
    for shape in [(1, 1, 1, 1, 1), (2, 1, 3, 5, 7), (1, 1, 4, 2, 8), (3, 1, 5, 5, 17),
                  (1, 1, 13, 13, 32), (2, 1, 9, 11, 3)]:
        x = rng.standard_normal(shape).astype(np.float32)
        n, _, h, w, c = shape
        dst = np.full((n, c, 1, h, w), np.nan, np.float32)
        conv_gemm.transpose_images(x, dst, h * w, c)
        np.testing.assert_array_equal(dst, x.transpose(0, 4, 1, 2, 3))
        back = np.full(shape, np.nan, np.float32)
        conv_gemm.transpose_images(dst, back, c, h * w)
        np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("channel_major", [True, False])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@settings(max_examples=15)
@given(data=st.data())
def test_one_image_patch_row_orders_match_oracles(channel_major, data_format, data):
    # a batch-1 pass builds its patch rows in the filters' order on maps of few positions
    # and channels-last elsewhere, from either layout; both orders forced on any geometry
    # (strides, dilations, uneven paddings) against the oracles and the adjoint identity
    # (the weight gradient's BLAS paths: its register tiles, which take small layers, off)
    from numbaconv.cpu import blas, conv_gemm

    if blas.kernel_gemm(np.float64) is None:
        pytest.skip("no compiled-BLAS kernels on this machine: the one-image paths are unused")
    x, w, b, stride, pads, dil = data.draw(layers("gemm_nhwc"))
    x = x[:1]
    last = data_format == "channels_last"
    kw = dict(_kw(stride, pads, dil), data_format=data_format)
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last else (lambda a: a)
    want = ref_forward(x, w, b, stride, pads, dil)
    g = np.random.default_rng(2).standard_normal(want.shape)
    with pytest.MonkeyPatch.context() as mp, conv_plan.forced("gemm_nhwc"):
        mp.setattr(conv_gemm, "few_positions", lambda P, K: channel_major)
        mp.setattr(conv_gemm, "_few_weight_positions", lambda P, K: channel_major)
        mp.setattr(conv_gemm, "WEIGHT_TILES_UP_TO", -1)
        _replan()
        y = back(nc.conv2d(to(x), w, b, **kw))
        dx = back(grad.conv2d_input(to(x).shape, w, to(g), **kw))
        dw = grad.conv2d_weight(to(x), w.shape, to(g), **kw)
    _replan()
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    y0 = want - (0 if b is None else b.reshape(-1, 1, 1))
    np.testing.assert_allclose(np.vdot(x, dx), np.vdot(y0, g), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dw, ref_weight_grad(x, g, w.shape[2:], stride, pads, dil),
                               rtol=1e-10, atol=1e-10)
    if stride == (1, 1) and dil == (1, 1):
        np.testing.assert_allclose(dx, ref_input_grad_s1(x.shape, w, g, pads),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("strategy, variant, data_format",
                         [(*f, "channels_first") for f in FORCINGS[1:]]
                         + [(*f, "channels_last") for f in CL_FORCINGS])
@pytest.mark.parametrize("shape, k, pad", [
    ((5, 32, 13, 13), 48, 0),     # Keras MNIST's second layer, small
    ((3, 16, 5, 5), 24, 0),       # 5x5 map -> 3x3
    ((4, 8, 3, 3), 8, 1),         # 3x3 map, padded
    ((2, 3, 9, 8), 5, 1),         # odd width, few channels
])
def test_float32_course_layers_every_path(strategy, variant, data_format, shape, k, pad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((k, shape[1], 3, 3)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    last = data_format == "channels_last"
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last else (lambda a: a)
    kw = dict(padding=pad, data_format=data_format)
    with conv_plan.forced(strategy, variant):
        y = back(nc.conv2d(to(x), w, b, **kw))
        g = rng.standard_normal(y.shape).astype(np.float32)
        dx = back(grad.conv2d_input(to(x).shape, w, to(g), **kw))
        dw = grad.conv2d_weight(to(x), w.shape, to(g), **kw)
    pads = ((pad, pad), (pad, pad))
    for got, want in ((y, ref_forward(x, w, b, (1, 1), pads, (1, 1))),
                      (dx, ref_input_grad_s1(x.shape, w, g.astype(np.float64), pads)),
                      (dw, ref_weight_grad_s1(x, g.astype(np.float64), (3, 3), pads))):
        assert got.dtype == np.float32
        assert np.abs(got - want).max() <= 2e-5 * max(1.0, np.abs(want).max())


# ------------------------------------------------------------------------------ determinism


def _all_ops(x, w, g, pad):
    return (nc.conv2d(x, w, padding=pad), grad.conv2d_input(x.shape, w, g, padding=pad),
            grad.conv2d_weight(x, w.shape, g, padding=pad), grad.conv_bias(g))


def _at_one_and_two_threads(call):
    """``[call(), call()]`` with Numba at one thread, then two (the thread count restored)."""
    default = numba.get_num_threads()
    results = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            results.append(call())
    finally:
        numba.set_num_threads(default)
    return results


def _replan():
    """Plans made afresh from here on (after patching the cost model): the cached plans,
    the routes, and the prepared passes built from them."""
    from numbaconv.cpu import conv as cpu_conv

    conv_plan._plan_cached.cache_clear()
    conv_plan._route.cache_clear()
    cpu_conv._RUNNERS.clear()


@pytest.mark.parametrize("strategy, variant", FORCINGS[1:])
def test_bitwise_identical_at_one_and_two_threads(strategy, variant, monkeypatch):
    # small work per reduction item, so that this small call's weight gradient is summed
    # as several partial sums (large calls get them from the model unprompted)
    monkeypatch.setattr(conv_plan, "_ITEM_CYCLES", 10_000)
    _replan()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 8, 6, 7)).astype(np.float32)
    w = rng.standard_normal((12, 8, 3, 3)).astype(np.float32)
    g = rng.standard_normal((40, 12, 6, 7)).astype(np.float32)
    with conv_plan.forced(strategy, variant):
        # the split must have several work items for the check to mean anything
        ops = PASSES.get(strategy, ALL_PASSES)
        plans = [_plan_of(op, x, w, (1, 1), ((1, 1), (1, 1)), (1, 1)) for op in ops]
        assert all(p.strategy == strategy and -(-40 // p.nb) >= 2 for p in plans)
        assert "weight_grad" not in ops or plans[-1].items >= 2
        results = _at_one_and_two_threads(lambda: _all_ops(x, w, g, 1))
    _replan()
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hw, k, with_bias", [((7, 6), 7, True), ((7, 6), 6, False),
                                              ((7, 6), 1, True),
                                              # 4 * P <= K: channel-major patch rows,
                                              # P > DOT_POSITIONS: one GEMM
                                              ((4, 4), 65, True), ((4, 4), 64, False),
                                              # P <= DOT_POSITIONS: dot products
                                              ((3, 2), 33, True), ((3, 2), 24, False),
                                              ((1, 2), 9, True), ((2, 1), 11, False)])
def test_one_image_forward_in_filter_parts(hw, k, with_bias, dtype, monkeypatch):
    # a batch-1 layer's forward runs as one compiled kernel, its GEMM split by filters into
    # parts on Numba's threads; every split (odd filter counts: a part with padding filters)
    # against the oracle, and the same bits at one and two threads
    from numbaconv.cpu import conv_gemm

    monkeypatch.setattr(threads, "PARTS_FROM", 0)
    rng = np.random.default_rng(k)
    x = rng.standard_normal((1, 5, *hw)).astype(dtype)
    w = rng.standard_normal((k, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype) if with_bias else None
    x[0, 2, hw[0] // 2, hw[1] // 2] = np.nan  # stays in the outputs whose windows hold it
    assert conv_gemm.few_positions(hw[0] * hw[1], k) == (hw != (7, 6))
    assert threads.gemm_parts(30, 46, k) == (2 if k >= 16 else 1)
    monkeypatch.setattr(threads, "gemm_parts", lambda m, R, K: 2)
    with conv_plan.forced("gemm_nhwc"):
        results = _at_one_and_two_threads(lambda: nc.conv2d(x, w, b, padding=1))
    np.testing.assert_array_equal(results[0], results[1])
    want = ref_forward(x.astype(np.float64), w.astype(np.float64),
                       None if b is None else b.astype(np.float64), (1, 1), ((1, 1), (1, 1)),
                       (1, 1))
    np.testing.assert_array_equal(np.isnan(results[0]), np.isnan(want))
    ok = ~np.isnan(want)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(results[0][ok], want[ok], rtol=tol, atol=tol)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=12)
@given(data=st.data())
def test_one_image_dot_products_match_oracles(data_format, dtype, data):
    """One image's forward pass as dot products of the filters with patch rows, the
    positions shared out in runs of three-position tiles (cpu/conv_gemm.py,
    _forward_one_dots; forced: the model takes it for patches of 64 and more): any kernel,
    stride, dilation and padding (the gather's inside, masked and general windows) against
    scipy's correlation, the same bits at one and two threads and for one, two or three
    runs of positions (a position's sum never depends on where the runs are cut), and a NaN
    only in the outputs whose windows read it."""
    from numbaconv.cpu import conv_gemm

    kh, kw, stride, dil, pads, H, W = _draw_window(data.draw, 3, 4, 2, 9)
    C, K = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 9))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((1, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype) if data.draw(st.booleans()) else None
    if data.draw(st.booleans()):
        x[0, C // 2, H // 2, W // 2] = np.nan
    last = data_format == "channels_last"
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last else (lambda a: a)
    kwargs = dict(stride=stride, padding=pads, dilation=dil, data_format=data_format)
    results = []
    for parts in (1, 2, 3):
        _replan()
        with (mock.patch.object(threads, "gemm_parts", lambda m, R, K, n=parts: n),
              conv_plan.forced("gemm_nhwc", "dots")):
            assert _plan_of("forward", x, w, stride, pads, dil).variant == "dots"
            results += _at_one_and_two_threads(lambda: back(nc.conv2d(to(x), w, b, **kwargs)))
    _replan()
    pairs = list(zip(results[::2], results[1::2], strict=True))  # (1 thread, 2) a split
    for one, two in pairs:
        np.testing.assert_array_equal(one, two)
    P = results[0].shape[2] * results[0].shape[3]
    if not conv_gemm._dots_only(P, K):  # (few positions split the filters, whose tiles
        for one, _ in pairs[1:]:        # follow the parts)
            np.testing.assert_array_equal(one, pairs[0][0])
    bad = np.isnan(x)
    want = ref_forward(np.where(bad, 0.0, x.astype(np.float64)), w.astype(np.float64),
                       None if b is None else b.astype(np.float64), stride, pads, dil)
    # the outputs whose windows read the NaN (the oracle's own 0 * NaN in a dilated
    # kernel's holes would mark those it skips)
    reads = ref_forward(bad.astype(np.float64), np.ones(w.shape), None, stride, pads, dil) > 0
    np.testing.assert_array_equal(np.isnan(results[0]), reads)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(results[0][~reads], want[~reads], rtol=tol, atol=tol)


def test_model_runs_batch_1_mid_layers_as_dot_products():
    """The model's rule for one image's dot products (conv_plan._cost_dots_one): the
    course notes' batch-1 mid layers take them, thin patches (a first layer), a batch, and
    patch rows beyond the L2 cache do not."""
    l2 = conv_plan.machine().l2

    def variant(x_shape, k, pad=0):
        x = np.empty(x_shape, np.float32)
        w = np.empty((k, x_shape[1], 3, 3), np.float32)
        return _plan_of("forward", x, w, (1, 1), ((pad, pad), (pad, pad)), (1, 1)).variant

    assert variant((1, 32, 13, 13), 64) == "dots"    # Keras net conv2 (R = 288)
    assert variant((1, 32, 14, 14), 64) == "dots"    # Fashion net conv2
    assert variant((1, 1, 28, 28), 32, 1) != "dots"  # R = 9 < DOTS_MIN_PATCH
    assert variant((4, 32, 13, 13), 64) != "dots"    # a batch
    c = l2 // (4 * 9 * 81) + 1                        # 81 patch rows of C*9 beyond L2
    assert variant((1, c, 11, 11), 64) != "dots"


@pytest.mark.parametrize("pad, nan", [(1, False), (0, False), (1, True)])
def test_one_image_winograd_forward(pad, nan):
    # batch 1: the 16 GEMMs run from one compiled kernel on Numba's threads; a NaN input
    # sends the call to the channels-last GEMM, which keeps it local
    rng = np.random.default_rng(pad)
    x = rng.standard_normal((1, 16, 9, 8))
    w = rng.standard_normal((17, 16, 3, 3))
    b = rng.standard_normal(17)
    if nan:
        x[0, 3, 4, 4] = np.nan
    with conv_plan.forced("winograd_nhwc"):
        assert _plan_of("forward", x, w, (1, 1), ((pad, pad), (pad, pad)),
                        (1, 1)).strategy == "winograd_nhwc"
        results = _at_one_and_two_threads(lambda: nc.conv2d(x, w, b, padding=pad))
    np.testing.assert_array_equal(results[0], results[1])
    want = ref_forward(x, w, b, (1, 1), ((pad, pad), (pad, pad)), (1, 1))
    np.testing.assert_array_equal(np.isnan(results[0]), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(results[0][ok], want[ok], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op, nb, rb", [  # blocks: the batch; two images; two tile rows
    (op, nb, rb) for op in ("forward", "input_grad", "weight_grad")
    for nb, rb in ((5, 5), (2, 5), (1, 2)) if op != "input_grad" or rb == 5])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_winograd_compiled_blocks_match_python_threads(op, nb, rb, data_format, monkeypatch):
    # the Winograd passes run their blocks from one compiled kernel (each block's 16 GEMMs
    # and transforms on Numba's threads); without a compiled-kernel BLAS, on Python threads.
    # Both compute every block alike: the same bits, at one and two threads, and the oracle.
    # (The input gradient's adjoint form takes whole images; the weight gradient sums its
    # blocks in two work items.)
    from numbaconv.cpu import blas, winograd_nhwc

    if blas.kernel_gemm(np.float64) is None:
        pytest.skip("no compiled-BLAS kernels on this machine: the compiled path is unused")
    rng = np.random.default_rng(nb)
    x = rng.standard_normal((5, 16, 9, 8))
    w = rng.standard_normal((33, 16, 3, 3))
    b = rng.standard_normal(33)
    g = rng.standard_normal((5, 33, 9, 8))
    pads = ((1, 1), (1, 1))
    last = data_format == "channels_last"
    xl, gl = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if last else a for a in (x, g))
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last and op != "weight_grad" else (lambda a: a)
    kw = dict(padding=1, data_format=data_format)
    call = {"forward": lambda: nc.conv2d(xl, w, b, **kw),
            "input_grad": lambda: grad.conv2d_input(xl.shape, w, gl, **kw),
            "weight_grad": lambda: grad.conv2d_weight(xl, w.shape, gl, **kw)}[op]
    monkeypatch.setattr(conv_plan, "_nb_wino", lambda *a: (nb, rb))
    monkeypatch.setattr(conv_plan, "_items_for", lambda cycles, blocks: min(2, blocks))
    _replan()
    try:
        with conv_plan.forced("winograd_nhwc", "adjoint" if op == "input_grad" else None):
            plan = _plan_of(op, x, w, (1, 1), pads, (1, 1))
            assert plan.strategy == "winograd_nhwc" and plan.nb == nb
            assert op != "weight_grad" or plan.items == (1 if nb == 5 else 2)
            compiled = _at_one_and_two_threads(call)
            monkeypatch.setattr(winograd_nhwc, "kernel_gemm", lambda dtype: None)
            python = call()
    finally:
        _replan()
    np.testing.assert_array_equal(compiled[0], compiled[1])
    np.testing.assert_array_equal(compiled[0], python)
    want = {"forward": lambda: ref_forward(x, w, b, (1, 1), pads, (1, 1)),
            "input_grad": lambda: ref_input_grad_s1(x.shape, w, g, pads),
            "weight_grad": lambda: ref_weight_grad_s1(x, g, w.shape[2:], pads)}[op]()
    np.testing.assert_allclose(back(compiled[0]), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", ["forward", "input_grad", "weight_grad"])
@pytest.mark.parametrize("nb", [4, 2, 1])  # one block of 4 images; two of 2; four of 1
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gemm_nhwc_compiled_blocks_match_oracles(op, nb, data_format, dtype, monkeypatch):
    # a few blocks of the channels-last GEMM run from one compiled kernel, each block's copies
    # in halves (of its images, or of a one-image block's rows) and its GEMM in runs on
    # Numba's threads: against the oracle, and the same bits at one and two threads
    from numbaconv.cpu import blas, conv_gemm

    if blas.kernel_gemm(dtype) is None:
        pytest.skip("no compiled-BLAS kernels on this machine: the compiled path is unused")
    kernel = {"forward": "_forward_row_blocks", "input_grad": "_input_grad_row_blocks",
              "weight_grad": "_weight_grad_row_blocks"}[op]
    calls = []
    real = getattr(conv_gemm, kernel)
    monkeypatch.setattr(conv_gemm, kernel, lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(conv_plan, "_nb_gemm", lambda *a, **k: nb)
    two_cores = dataclasses.replace(conv_plan.machine(), cores=2)
    monkeypatch.setattr(conv_plan, "machine", lambda: two_cores)
    rng = np.random.default_rng(nb)
    x = rng.standard_normal((4, 6, 7, 5)).astype(dtype)
    w = rng.standard_normal((17, 6, 3, 3)).astype(dtype)
    b = rng.standard_normal(17).astype(dtype)
    g = rng.standard_normal((4, 17, 7, 5)).astype(dtype)
    pads = ((1, 1), (1, 1))
    last = data_format == "channels_last"
    xl, gl = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if last else a for a in (x, g))
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last and op != "weight_grad" else (lambda a: a)
    kw = dict(padding=1, data_format=data_format)
    call = {"forward": lambda: nc.conv2d(xl, w, b, **kw),
            "input_grad": lambda: grad.conv2d_input(xl.shape, w, gl, **kw),
            "weight_grad": lambda: grad.conv2d_weight(xl, w.shape, gl, **kw)}[op]
    _replan()
    try:
        with conv_plan.forced("gemm_nhwc"):
            results = _at_one_and_two_threads(call)
    finally:
        _replan()
    # (the forward: whole images or one-image blocks of all their rows; the input gradient:
    # blocks of two images or more; the weight gradient: two blocks or more)
    expect_compiled = {"forward": True, "input_grad": nb >= 2, "weight_grad": nb < 4}[op]
    assert bool(calls) == expect_compiled
    np.testing.assert_array_equal(results[0], results[1])
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    want = {"forward": lambda: ref_forward(x64, w, b, (1, 1), pads, (1, 1)),
            "input_grad": lambda: ref_input_grad_s1(x.shape, w, g64, pads),
            "weight_grad": lambda: ref_weight_grad_s1(x64, g64, w.shape[2:], pads)}[op]()
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(back(results[0]), want, rtol=tol, atol=tol * np.abs(want).max())


def ref_weight_grad(x, g, kshape, stride, pads, dilation):
    """Any stride and dilation, the textbook sum: ``dw[k, c, th, tw] = sum over (n, oh, ow)
    of g[n, k, oh, ow] * xp[n, c, oh*sh + th*dh, ow*sw + tw*dw]`` (float64)."""
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0)) + tuple(pads))
    g = np.asarray(g, np.float64)
    Ho, Wo = g.shape[2:]
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros((g.shape[1], x.shape[1], *kshape))
    for th in range(kshape[0]):
        for tw in range(kshape[1]):
            win = xp[:, :, th * dh:th * dh + sh * (Ho - 1) + 1:sh,
                     tw * dw:tw * dw + sw * (Wo - 1) + 1:sw]
            out[:, :, th, tw] = np.einsum("nkhw,nchw->kc", g, win)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=12)
@given(data=st.data())
def test_channel_major_units_match_oracles(dtype, data):
    # the compiled channel-major kernels: the forward in units of output rows, the weight
    # gradient's units summed in fixed runs; patches long enough for the weight gradient's
    # kernel, strides 1-3 (the im2col reads column phases), dilation, unequal padding, any
    # unit height and run count; against the float64 oracles, the same bits at one and two
    # threads
    from numbaconv.cpu import conv_gemm
    _skip_without_kernel_blas(dtype)
    kh, kw, stride, dil, pads, H, W = _draw_window(data.draw, 4, 4, 3, 9)
    C = -(-threads.WG_UNITS_MIN_PATCH // (kh * kw)) + data.draw(st.integers(0, 2))
    N, K = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype) if data.draw(st.booleans()) else None
    Ho, Wo = (nc.conv_output_size(n, k, s, p, d) for n, k, s, p, d in
              zip((H, W), (kh, kw), stride, pads, dil, strict=True))
    g = rng.standard_normal((N, K, Ho, Wo)).astype(dtype)
    rb, runs = data.draw(st.integers(1, Ho)), data.draw(st.integers(1, 3))
    geo = ((1, *stride), (0, pads[0][0], pads[1][0]), (1, *dil))

    def both():
        y = np.empty((N, K, 1, Ho, Wo), dtype)
        conv_gemm.forward_nchw(x[:, :, None], w[:, :, None], b, y, *geo, 1, rb)
        dw = np.empty((K, C, 1, kh, kw), dtype)
        conv_gemm.weight_grad_nchw(x[:, :, None], g[:, :, None], dw, *geo, 1, runs, rb)
        return y[:, :, 0], dw[:, :, 0]

    (y1, dw1), (y2, dw2) = _at_one_and_two_threads(both)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(dw1, dw2)
    want_y = ref_forward(x, w, b, stride, pads, dil)
    want_dw = ref_weight_grad(x, g, (kh, kw), stride, pads, dil)
    for got, want in ((y1, want_y), (dw1, want_dw)):
        tol = 1e-10 if dtype == np.float64 else 3e-5 * max(1.0, np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _skip_without_kernel_blas(dtype):
    from numbaconv.cpu.blas import kernel_gemm

    if kernel_gemm(np.dtype(dtype)) is None:
        pytest.skip("numpy's CBLAS is not callable from compiled kernels here")


def _assert_near_oracle(got, want, dtype):
    """float64: to 1e-10; float32: to 3e-5 of the largest value (the float64 oracle's)."""
    tol = 1e-10 if dtype == np.float64 else 3e-5 * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("variant", ["narrow", "wide"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=15)
@given(data=st.data())
def test_forward_units_split_their_gemm_under_the_small_gemm_cap(variant, dtype, data):
    # a unit's GEMM above the BLAS's small-matrix cap runs in blocks of 8k filters: with the
    # cap made tiny, every unit splits (blocks of 8 filters, a last partial one), against
    # the float64 oracle and the same bits at one and two threads
    _skip_without_kernel_blas(dtype)
    from numbaconv.cpu import conv_gemm

    cap = data.draw(st.sampled_from([500, 2000, 8000, 30000]))
    n, c, k = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 4)), data.draw(
        st.integers(9, 40))
    h, wd = data.draw(st.integers(3, 8)), data.draw(st.integers(3, 8))
    pad = 0 if variant == "wide" else data.draw(st.integers(0, 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, w, b = rng.standard_normal((n, c, h, wd)), rng.standard_normal((k, c, 3, 3)), \
        rng.standard_normal(k)
    with conv_plan.forced("gemm_nchw", variant), \
            mock.patch.object(conv_gemm, "small_gemm_cap", lambda dt: cap):
        y1, y2 = _at_one_and_two_threads(lambda: nc.conv2d(
            x.astype(dtype), w.astype(dtype), b.astype(dtype), padding=pad))
    np.testing.assert_array_equal(y1, y2)
    _assert_near_oracle(y1, ref_forward(x, w, b, (1, 1), ((pad, pad), (pad, pad)), (1, 1)),
                        dtype)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=15)
@given(data=st.data())
def test_one_image_gradients_split_their_gemm_under_the_small_gemm_cap(dtype, data_format,
                                                                       data):
    # one image's input and weight gradients (channels-last GEMMs: positions x patch rows,
    # filters x patch rows) in row blocks under a tiny cap, few and many positions
    # (either form of each), against the float64 oracles, the same bits at one and two
    # threads
    _skip_without_kernel_blas(dtype)
    from numbaconv.cpu import conv_gemm

    cap = data.draw(st.sampled_from([500, 2000, 8000, 30000]))
    last = data_format == "channels_last"
    c, k = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 40))
    h, wd = data.draw(st.integers(3, 9)), data.draw(st.integers(3, 9))
    pad = data.draw(st.integers(0, 1))
    pads = ((pad, pad), (pad, pad))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, w = rng.standard_normal((1, c, h, wd)), rng.standard_normal((k, c, 3, 3))
    g = rng.standard_normal((1, k, h - 2 + 2 * pad, wd - 2 + 2 * pad))
    xd, wd_, gd = x.astype(dtype), w.astype(dtype), g.astype(dtype)
    if last:
        xd, gd = (np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in (xd, gd))
    kw = dict(padding=pad, data_format=data_format)
    with conv_plan.forced("gemm_nhwc"), \
            mock.patch.object(conv_gemm, "small_gemm_cap", lambda dt: cap):
        dx1, dx2 = _at_one_and_two_threads(lambda: grad.conv2d_input(xd.shape, wd_, gd, **kw))
        dw1, dw2 = _at_one_and_two_threads(lambda: grad.conv2d_weight(xd, wd_.shape, gd, **kw))
    np.testing.assert_array_equal(dx1, dx2)
    np.testing.assert_array_equal(dw1, dw2)
    if last:
        dx1 = dx1.transpose(0, 3, 1, 2)
    _assert_near_oracle(dx1, ref_input_grad_s1(x.shape, w, g, pads), dtype)
    _assert_near_oracle(dw1, ref_weight_grad_s1(x, g, (3, 3), pads), dtype)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("variant", ["narrow", "wide"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, c, k, hw, khw", [(1, 300, 37, (1, 1), (1, 1)),   # a dense layer
                                              (3, 300, 37, (1, 1), (1, 1)),   # ... a batch
                                              (2, 20, 9, (3, 2), (3, 2)),     # one position
                                              (1, 1, 5, (1, 1), (1, 1))])
def test_one_position_units_run_a_gemv(n, c, k, hw, khw, dtype, variant, data_format):
    # a channel-major unit of one output column calls BLAS's GEMV (its GEMM of one column
    # packs the filters first), in the wide form straight from the input into the output
    # (the patch read in place or gathered; in either layout): against numpy's product,
    # biased and not, at one and two threads the same bits, both layouts the same bits
    from numbaconv.cpu.blas import kernel_gemv

    if kernel_gemv(np.dtype(dtype)) is None:
        pytest.skip("numpy's CBLAS is not callable from compiled kernels here")
    rng = np.random.default_rng(k)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    w = rng.standard_normal((k, c, *khw)).astype(dtype)
    last = data_format == "channels_last"
    xin = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if last else x
    for b in (None, rng.standard_normal(k).astype(dtype)):
        with conv_plan.forced("gemm_nchw", variant):
            p = _plan_of("forward", x, w, (1, 1), ((0, 0), (0, 0)), (1, 1))
            assert p.strategy == "gemm_nchw"
            y1, y2 = _at_one_and_two_threads(
                lambda b=b: nc.conv2d(xin, w, b, data_format=data_format))
            if last:  # the same bits as the channels-first call
                np.testing.assert_array_equal(y1.reshape(n, k), nc.conv2d(x, w, b).reshape(n, k))
        np.testing.assert_array_equal(y1, y2)
        want = np.einsum("nchw,kchw->nk", x.astype(np.float64), w.astype(np.float64))
        if b is not None:
            want += b
        tol = 1e-12 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(y1.reshape(n, k), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("n, pad", [(64, 0), (100, 1)])
def test_one_channel_channels_last_forward_follows_the_channels_first_pick(n, pad):
    # the course notes' first layers: where the model runs the channels-first call on the
    # channel-major GEMM, the channels-last call runs there too (the launchers' own
    # channels-last paths took 2.7-3.7x as long), with the channels-first call's result
    from numbaconv.core import conv as core_conv
    from numbaconv.cpu.blas import kernel_gemm

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((32, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    xl = x.reshape(n, 28, 28, 1)
    spec = core_conv.conv_spec("forward", 2, xl.shape, w.shape, (1, 1), ((pad, pad),) * 2,
                               (1, 1), 1, "zeros", 0, "channels_last")
    cf = _plan_of("forward", x, w, (1, 1), ((pad, pad),) * 2, (1, 1))
    p = conv_plan.route("forward", spec.geometry, xl.dtype)
    if cf.strategy == "gemm_nchw" and kernel_gemm(np.float32) is not None:
        assert p is not None and p.strategy == "gemm_nchw" and p.channels_last
    got = nc.conv2d(xl, w, b, padding=pad, data_format="channels_last")
    want = ref_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                       (1, 1), ((pad, pad),) * 2, (1, 1))
    np.testing.assert_allclose(got.transpose(0, 3, 1, 2), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("strategy", ["gemm_nhwc", "gemm_nchw"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hw, k", [((8, 7), 17), ((3, 4), 33)])  # (3, 4): P < K / 2
def test_one_image_weight_gradient_in_filter_parts(strategy, dtype, hw, k, monkeypatch):
    # batch 1: the weight gradient's one GEMM split by filters on Numba's threads (on maps
    # of few positions, from channel-major patch rows written straight into dw); against
    # the oracle, and the same bits at one and two threads
    monkeypatch.setattr(threads, "gemm_parts", lambda m, R, K: 2)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 6, *hw)).astype(dtype)
    w_shape = (k, 6, 3, 3)
    g = rng.standard_normal((1, k, *hw)).astype(dtype)
    with conv_plan.forced(strategy):
        results = _at_one_and_two_threads(lambda: grad.conv2d_weight(x, w_shape, g, padding=1))
    np.testing.assert_array_equal(results[0], results[1])
    want = ref_weight_grad_s1(x.astype(np.float64), g.astype(np.float64), (3, 3),
                              ((1, 1), (1, 1)))
    tol = 1e-12 if dtype == np.float64 else 2e-5 * np.abs(want).max()
    np.testing.assert_allclose(results[0], want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hw, k, pad, with_bias", [((9, 7), 17, 1, True), ((9, 7), 17, 0, False),
                                                   ((9, 7), 17, 2, True),
                                                   # 4 * P <= K: channel-major patch rows,
                                                   # P > DOT_POSITIONS: one GEMM
                                                   ((6, 6), 64, 0, True), ((4, 5), 81, 1, False),
                                                   # P <= DOT_POSITIONS: row updates
                                                   ((5, 5), 40, 0, True), ((3, 3), 36, 1, False),
                                                   ((1, 4), 17, 1, True), ((3, 4), 9, 0, False)])
def test_one_image_input_gradient_in_position_parts(hw, k, pad, with_bias, dtype, monkeypatch):
    # batch 1: the input gradient's one GEMM split by output positions on Numba's threads
    # (an odd count: unequal parts), then added back into the map; against the oracle, a
    # NaN in the gradient stays in the inputs whose windows saw it, the same bits at one
    # and two threads
    from numbaconv.cpu import conv_gemm

    monkeypatch.setattr(threads, "gemm_parts", lambda m, R, K: 2)
    rng = np.random.default_rng(pad)
    shape = (1, 5, *hw)
    w = rng.standard_normal((k, 5, 3, 3)).astype(dtype)
    Ho, Wo = shape[2] + 2 * pad - 2, shape[3] + 2 * pad - 2
    assert conv_gemm.few_positions(Ho * Wo, k) == (hw != (9, 7))
    g = rng.standard_normal((1, k, Ho, Wo)).astype(dtype)
    if Ho >= 3 and Wo >= 3:  # (the scipy oracle spreads a NaN over maps narrower than the
        g[0, 4, Ho // 2, Wo - 1] = np.nan  # kernel: it multiplies its zero padding by it)
    with conv_plan.forced("gemm_nhwc"):
        assert _plan_of("input_grad", np.empty(shape), w, (1, 1), ((pad, pad), (pad, pad)),
                        (1, 1)).strategy == "gemm_nhwc"
        results = _at_one_and_two_threads(
            lambda: grad.conv2d_input(shape, w, g, padding=pad))
    np.testing.assert_array_equal(results[0], results[1])
    want = ref_input_grad_s1(shape, w.astype(np.float64), g.astype(np.float64),
                             ((pad, pad), (pad, pad)))
    np.testing.assert_array_equal(np.isnan(results[0]), np.isnan(want))
    ok = ~np.isnan(want)
    tol = 1e-12 if dtype == np.float64 else 2e-5 * np.abs(want[ok]).max()
    np.testing.assert_allclose(results[0][ok], want[ok], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_layer_as_a_one_pixel_convolution(dtype):
    # a dense layer written as a 1x1 convolution of one pixel (a classifier head on pooled
    # features): dot products / row updates split by filters / columns on the threads,
    # against numpy's products, the same bits at one and two threads
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 300, 1)).astype(dtype)
    w = rng.standard_normal((70, 300, 1)).astype(dtype)
    b = rng.standard_normal(70).astype(dtype)
    g = rng.standard_normal((1, 70, 1)).astype(dtype)
    one, two = _at_one_and_two_threads(lambda: (nc.conv1d(x, w, b),
                                                grad.conv1d_input(x.shape, w, g),
                                                grad.conv1d_weight(x, w.shape, g)))
    for a, a2 in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, a2)
    y, dx, dw = one
    tol = 1e-12 if dtype == np.float64 else 2e-5
    x64, w64, g64 = (a.astype(np.float64).reshape(a.shape[:2]) for a in (x, w, g))
    np.testing.assert_allclose(y.reshape(1, 70), x64 @ w64.T + b, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dx.reshape(1, 300), g64 @ w64, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dw.reshape(70, 300), g64.T @ x64, rtol=tol, atol=tol)


def test_kernel_gemm_is_numpys_row_major_gemm():
    # the CBLAS gemm the one-image kernels call (its address, called by blas.gemm_at from
    # compiled code), against numpy's matmul: every transpose, leading dimensions wider than
    # the rows, both dtypes; unknown dtypes get None
    from numba import njit

    from numbaconv.cpu import blas, threads

    @njit
    def call(fn, ta, tb, a, lda, b, ldb, c):
        blas.gemm_at(fn, blas.ROW_MAJOR, ta, tb, 7, 9, 12, 1.0, a, lda, b, ldb, 0.0, c, 11)

    if not threads.can_pin_blas():
        pytest.skip("no BLAS pin (threadpoolctl): the kernels are not used")
    rng = np.random.default_rng(6)
    for dtype in (np.float32, np.float64):
        gemm = blas.kernel_gemm(dtype)
        if gemm is None:
            pytest.skip("no scipy-openblas CBLAS loaded")
        a = rng.standard_normal((7, 12)).astype(dtype)
        b = rng.standard_normal((12, 9)).astype(dtype)
        for ta, tb in [(False, False), (True, False), (False, True), (True, True)]:
            A = np.ascontiguousarray(a.T) if ta else a
            B = np.ascontiguousarray(b.T) if tb else b
            c = np.full((7, 11), 5.0, dtype)  # ldc 11: the last two columns stay
            call(gemm, blas.TRANS if ta else blas.NO_TRANS, blas.TRANS if tb else blas.NO_TRANS,
                 A, A.shape[1], B, B.shape[1], c)
            tol = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(c[:, :9], a.astype(np.float64) @ b, rtol=tol, atol=tol)
            assert (c[:, 9:] == 5).all()
    assert blas.kernel_gemm(np.int32) is None


def test_compiled_blas_kernels_need_the_pin(monkeypatch):
    # without a working BLAS pin (no threadpoolctl) the one-image kernels are not used:
    # BLAS's own threads inside Numba's would oversubscribe the cores
    from numbaconv.cpu import conv_gemm

    called = []
    monkeypatch.setattr(threads, "_CONTROLLER", [None, [], []])
    monkeypatch.setattr(conv_gemm, "_forward_one", lambda *a: called.append(a))
    monkeypatch.setattr(conv_gemm, "_weight_grad_one", lambda *a: called.append(a))
    monkeypatch.setattr(conv_gemm, "_weight_grad_one_cm", lambda *a: called.append(a))
    monkeypatch.setattr(conv_gemm, "_input_grad_one", lambda *a: called.append(a))
    monkeypatch.setattr(conv_gemm, "_forward_one_cm", lambda *a: called.append(a))
    monkeypatch.setattr(conv_gemm, "_input_grad_one_cm", lambda *a: called.append(a))
    assert not threads.can_pin_blas()
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 8, 7, 7)), rng.standard_normal((16, 8, 3, 3))
    with conv_plan.forced("gemm_nhwc"):
        y = nc.conv2d(x, w, padding=1)
        dw = grad.conv2d_weight(x, w.shape, y, padding=1)
        dx = grad.conv2d_input(x.shape, w, y, padding=1)
    assert not called
    np.testing.assert_allclose(y, ref_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1)),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, ref_weight_grad_s1(x, y, (3, 3), ((1, 1), (1, 1))),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, ref_input_grad_s1(x.shape, w, y, ((1, 1), (1, 1))),
                               rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------- NaN / inf


@pytest.mark.parametrize("strategy, variant, data_format",
                         [(*f, "channels_first") for f in FORCINGS[1:]]
                         + [(*f, "channels_last") for f in CL_FORCINGS])
@pytest.mark.parametrize("pad", [0, 1])
def test_nan_stays_local(strategy, variant, data_format, pad):
    """A NaN in the input reaches exactly the outputs whose window reads it (forward,
    weight gradient); a NaN in the output gradient exactly the inputs it reaches (input
    gradient), in either layout. The expected NaN patterns come from the float64 scipy
    oracles."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((3, 4, 3, 3))
    x[1, 2, 4, 3] = np.nan
    pads = ((pad, pad), (pad, pad))
    last = data_format == "channels_last"
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last else (lambda a: a)
    kw = dict(padding=pad, data_format=data_format)
    with conv_plan.forced(strategy, variant):
        y = back(nc.conv2d(to(x), w, **kw))
        g = rng.standard_normal(y.shape)
        dw = grad.conv2d_weight(to(x), w.shape, to(g), **kw)
        g2 = g.copy()
        g2[0, 1, 2, 2] = np.nan
        dx = back(grad.conv2d_input(to(x).shape, w, to(g2), **kw))
    with np.errstate(invalid="ignore"):
        want_y = ref_forward(x, w, None, (1, 1), pads, (1, 1))
        want_dw = ref_weight_grad_s1(x, g, (3, 3), pads)
        want_dx = ref_input_grad_s1(x.shape, w, g2, pads)
    for got, want in ((y, want_y), (dw, want_dw), (dx, want_dx)):
        assert 0 < np.isnan(want).sum() < want.size
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("variant", ["adjoint", "flipped"])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_winograd4_transposed_convolution_with_bias(variant, data_format):
    # conv_transpose2d is the input gradient plus a bias a channel: both F(4x4) forms add
    # it, against the float64 oracle
    rng = np.random.default_rng(9)
    g = rng.standard_normal((3, 5, 7, 6))
    w = rng.standard_normal((5, 4, 3, 3))
    b = rng.standard_normal(4)
    want = ref_input_grad_s1((3, 4, 7, 6), w, g, ((1, 1), (1, 1))) + b.reshape(-1, 1, 1)
    last = data_format == "channels_last"
    gin = np.ascontiguousarray(g.transpose(0, 2, 3, 1)) if last else g
    with conv_plan.forced("winograd4", variant):
        p = _plan_of("input_grad", np.empty((3, 4, 7, 6)), w, (1, 1), ((1, 1), (1, 1)), (1, 1))
        assert p.strategy == "winograd4" and p.variant == variant
        got = nc.conv_transpose2d(gin, w, b, padding=1, data_format=data_format)
    if last:
        got = got.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_winograd_tile_rule_counts_products():
    # F(3x3, 3x3) where its 25 products a tile, over its tiles, are fewer than F(4x4)'s 36
    # over its: counted here tile by tile for every output size up to 40
    for ho in range(1, 41):
        for wo in (1, 3, 4, 9, ho):
            f3 = 25 * len(range(0, ho, 3)) * len(range(0, wo, 3))
            f4 = 36 * len(range(0, ho, 4)) * len(range(0, wo, 4))
            assert conv_plan.wino3_better(ho, wo) == (f3 < f4)
    assert [h for h in range(1, 20) if conv_plan.wino3_better(h, h)] == [1, 2, 3, 5, 6, 9]


@pytest.mark.parametrize("variant", ["flipped", "adjoint"])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw, pad", [((3, 3), 1), ((5, 5), 0), ((7, 8), 1), ((9, 6), 0),
                                     ((11, 11), 0)])
def test_winograd_f3_tiles_match_the_oracle_and_keep_nan_local(variant, data_format, dtype,
                                                               hw, pad):
    # the winograd4 strategy's forward and input gradient (the flipped forward on x's map,
    # the adjoint on the output's) on F(3x3, 3x3)'s tiles where they take less work (3x3,
    # 5x5, 6x6, 9x9 maps; 9x6: 9 rows, 6 columns): the float64 oracle's values (the same
    # bits at one and two threads), F(4x4)'s tiles elsewhere; a NaN reaches exactly the
    # outputs whose window reads it (the call declines, the fallback keeps it local)
    from numbaconv.cpu import winograd3

    ran = []
    real, real_adjoint = winograd3.forward, winograd3.input_grad
    real_prepare = winograd3.prepare_forward

    def counted(*a):  # (a repeated call runs the prepared pass: counted as the calls are)
        run = real_prepare(*a)
        return lambda *b: (ran.append(b[3].shape), run(*b))[1]

    _replan()
    rng = np.random.default_rng(sum(hw) + pad)
    x = rng.standard_normal((5, 6, *hw))
    w = rng.standard_normal((7, 6, 3, 3))
    b = rng.standard_normal(7)
    pads = ((pad, pad), (pad, pad))
    last = data_format == "channels_last"
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    back = (lambda a: a.transpose(0, 3, 1, 2)) if last else (lambda a: a)
    kw = dict(padding=pad, data_format=data_format)
    want = ref_forward(x, w, b, (1, 1), pads, (1, 1))
    g = rng.standard_normal(want.shape)
    want_dx = ref_input_grad_s1(x.shape, w, g, pads)
    tol = dict(rtol=2e-5, atol=2e-5 * np.abs(want).max()) if dtype == np.float32 else \
        dict(rtol=1e-10, atol=1e-10)
    with conv_plan.forced("winograd4", variant), mock.patch.object(
            winograd3, "forward", lambda *a: (ran.append(a[3].shape), real(*a))[1]), \
            mock.patch.object(winograd3, "input_grad",
                              lambda *a: (ran.append(a[3].shape), real_adjoint(*a))[1]), \
            mock.patch.object(winograd3, "prepare_forward", counted):
        y, y2 = _at_one_and_two_threads(
            lambda: back(nc.conv2d(to(x.astype(dtype)), w.astype(dtype), b.astype(dtype), **kw)))
        dx = back(grad.conv2d_input(to(x).shape, w.astype(dtype), to(g.astype(dtype)), **kw))
        x[2, 3, hw[0] // 2, hw[1] // 2] = np.nan
        y_nan = back(nc.conv2d(to(x.astype(dtype)), w.astype(dtype), **kw))
    _replan()  # (no counting pass left behind)
    np.testing.assert_allclose(y, want, **tol)
    np.testing.assert_array_equal(y, y2)  # (one thread, two: the same bits)
    np.testing.assert_allclose(dx, want_dx, **{k: 3 * v for k, v in tol.items()})
    f3_out, f3_in = conv_plan.wino3_better(*want.shape[2:]), conv_plan.wino3_better(*hw)
    # (the NaN call too; the flipped input gradient tiles x's map, the adjoint the output's)
    assert len(ran) == 3 * f3_out + (f3_in if variant == "flipped" else f3_out)
    with np.errstate(invalid="ignore"):
        want_nan = ref_forward(x, w, None, (1, 1), pads, (1, 1))
    assert 0 < np.isnan(want_nan).sum() < want_nan.size
    np.testing.assert_array_equal(np.isnan(y_nan), np.isnan(want_nan))


#: the kernel transforms as published: F(4x4, 3x3)'s (Lavin and Gray, points 0, +-1, +-2)
#: and F(3x3, 3x3)'s (points 0, +-1, 2), written here independently of the kernels
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
G3 = np.array([[1 / 2, 0, 0], [-1 / 2, -1 / 2, -1 / 2], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 6, 1 / 3, 2 / 3], [0, 0, 1]])


@pytest.mark.parametrize("family", ["winograd4", "winograd3"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("K, C", [(64, 32), (5, 3), (1, 1), (3, 40), (200, 7), (16, 1)])
def test_winograd_weight_transform_is_g_w_gt(family, dtype, K, C):
    # U[e, c K + k] = (G w[k, c] G^T)[e] in two channel ranges (each writing only its own
    # runs of U), by chunks of channels and vectors of kernels (runs thinner than a vector
    # through scratch); a flipped, non-contiguous kernel view too
    import importlib

    mod = importlib.import_module(f"numbaconv.cpu.{family}")
    G = G4 if family == "winograd4" else G3
    E = G.shape[0] ** 2
    rng = np.random.default_rng(K + C)
    base = rng.standard_normal((K, C, 3, 3)).astype(dtype)
    for w in (base, base[:, :, ::-1, ::-1]):
        want = np.einsum("ia,kcab,mb->imck", G, w.astype(np.float64), G).reshape(E, C * K)
        U = np.full((E, C * K + 19), np.nan, dtype)
        half = C // 2
        mod._weights(w, U, 0, half)
        assert np.isnan(U[:, half * K:]).all()  # (nothing past its own channels)
        mod._weights(w, U, half, C)
        assert np.isnan(U[:, C * K:]).all()
        tol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(U[:, :C * K], want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("family, hw, pad", [("winograd4", (8, 8), 1), ("winograd4", (9, 12), 0),
                                             ("winograd3", (5, 5), 1), ("winograd3", (11, 8), 0)])
@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_image_winograd_in_filter_ranges(family, hw, pad, parts, data_format, dtype):
    # one image's F(4x4) / F(3x3) forward with its filters in ranges, each with its own
    # weight transform (40 filters in 3 ranges: 13, 13, 14, thinner than a vector): the
    # oracle's values, the same bits at one and two threads and as one range; a NaN input
    # makes the call decline (the caller's fallback keeps it local)
    import importlib

    mod = importlib.import_module(f"numbaconv.cpu.{family}")
    last = data_format == "channels_last"
    rng = np.random.default_rng(hw[0] + parts)
    x = rng.standard_normal((1, 33, *hw))
    w = rng.standard_normal((40, 33, 3, 3))
    b = rng.standard_normal(40)
    want = ref_forward(x, w, b, (1, 1), ((pad, pad), (pad, pad)), (1, 1))
    Ho, Wo = want.shape[2:]
    xs = x.transpose(0, 2, 3, 1)[:, None] if last else x[:, :, None]
    xs = np.ascontiguousarray(xs.astype(dtype))
    ws = np.ascontiguousarray(w[:, :, None].astype(dtype))

    def run(p, xin=xs):
        out = np.zeros((1, 1, Ho, Wo, 40) if last else (1, 40, 1, Ho, Wo), dtype)
        ok = mod.forward(xin, ws, b.astype(dtype), out, pad, pad, 1, last, p)
        return ok, (out[:, 0].transpose(0, 3, 1, 2) if last else out[:, :, 0])

    (ok1, y1), (ok2, y2) = _at_one_and_two_threads(lambda: run(parts))
    assert ok1 and ok2
    np.testing.assert_array_equal(y1, y2)
    tol = dict(rtol=2e-5, atol=2e-5 * np.abs(want).max()) if dtype == np.float32 else \
        dict(rtol=1e-10, atol=1e-10 * np.abs(want).max())
    np.testing.assert_allclose(y1, want, **tol)
    np.testing.assert_allclose(run(1)[1], want, **tol)
    bad = xs.copy()
    bad.reshape(-1)[bad.size // 2] = np.nan
    assert not run(parts, bad)[0]


def test_one_image_winograd_through_the_api_and_its_prepared_pass():
    # a batch-1 layer forced onto the Winograd strategy takes the filter ranges (two cores
    # or more), and its repeated call the prepared pass: right each time, with and without
    # a bias, and for a read-only input (other Numba types: the general path)
    from numbaconv.cpu import conv as cpu_conv

    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 32, 10, 10)).astype(np.float32)
    w = rng.standard_normal((48, 32, 3, 3)).astype(np.float32)
    b = rng.standard_normal(48).astype(np.float32)
    want = ref_forward(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1))
    tol = dict(rtol=2e-5, atol=2e-5 * np.abs(want).max())
    _replan()
    try:
        with conv_plan.forced("winograd4"):
            p = _plan_of("forward", x, w, (1, 1), ((1, 1), (1, 1)), (1, 1))
            assert p.strategy == "winograd4"
            assert p.parts == (2 if conv_plan.machine().cores > 1 else 1)
            for _ in range(3):
                np.testing.assert_allclose(nc.conv2d(x, w, b, padding=1), want, **tol)
                np.testing.assert_allclose(nc.conv2d(x, w, padding=1) + b[:, None, None],
                                           want, **tol)
            ro = x.copy()
            ro.flags.writeable = False
            np.testing.assert_allclose(nc.conv2d(ro, w, b, padding=1), want, **tol)
    finally:
        _replan()
        cpu_conv._RUNNERS.clear()


def _one_image_layer(draw, channels, filters, extra):
    """A batch-1 layer of Hypothesis' drawing for the one-image register tiles: ``(kh, kw,
    stride, dil, pads, H, W, C, K, Ho, Wo, dtype, channels-last, rng)``."""
    kh, kw, stride, dil, pads, H, W = _draw_window(draw, 3, 3, 2, extra)
    C, K = draw(st.integers(*channels)), draw(st.integers(*filters))
    Ho = nc.conv_output_size(H, kh, stride[0], pads[0], dil[0])
    Wo = nc.conv_output_size(W, kw, stride[1], pads[1], dil[1])
    return (kh, kw, stride, dil, pads, H, W, C, K, Ho, Wo,
            draw(st.sampled_from([np.float32, np.float64])), draw(st.booleans()),
            np.random.default_rng(draw(st.integers(0, 2**16))))


def _counted_threads(name, call):
    """``call()`` at one and two threads (:func:`_at_one_and_two_threads`), the channels-last
    GEMM strategy forced and ``conv_gemm.<name>`` counted: (results, whether it ran)."""
    from numbaconv.cpu import conv_gemm

    ran = []
    real = getattr(conv_gemm, name)
    with mock.patch.object(conv_gemm, name, lambda *a: (ran.append(1), real(*a))[1]), \
            conv_plan.forced("gemm_nhwc"):
        _replan()
        got = _at_one_and_two_threads(call)
    _replan()
    np.testing.assert_array_equal(got[0], got[1])
    return got[0], bool(ran)


def _layouts(last):
    """(to the call's layout, back to channels-first, data_format) of an NCHW array."""
    if last:
        return (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1)),
                lambda a: a.transpose(0, 3, 1, 2), "channels_last")
    return (lambda a: a), (lambda a: a), "channels_first"


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_image_weight_gradient_on_register_tiles(data):
    # batch 1, up to WEIGHT_TILES_UP_TO multiply-adds: the register-tile rank-P update (no
    # BLAS) where a tile of filters and of columns fits (tiles overlapping at the ends),
    # windows reading padding or not, either layout, any stride, dilation and padding: the
    # definition's values, the same bits at one and two threads
    from numbaconv.cpu import conv_gemm

    kh, kw, stride, dil, pads, H, W, C, K, Ho, Wo, dtype, last, rng = _one_image_layer(
        data.draw, (6, 20), (6, 70), 2)
    x = rng.standard_normal((1, C, H, W))
    g = rng.standard_normal((1, K, Ho, Wo))
    want = ref_weight_grad(x, g, (kh, kw), stride, pads, dil)
    R = C * kh * kw
    tiles = (K * R * Ho * Wo <= conv_gemm.WEIGHT_TILES_UP_TO
             and conv_gemm._weight_tiles_fit(K, R, np.dtype(dtype).itemsize))
    unpadded = not any(p for pair in pads for p in pair)
    to, _, fmt = _layouts(last)
    got, ran = _counted_threads("_one_image_tiles", lambda: grad.conv2d_weight(
        to(x.astype(dtype)), (K, C, kh, kw), to(g.astype(dtype)), data_format=fmt,
        **_kw(stride, pads, dil)))
    assert ran == tiles if unpadded else (not ran or tiles)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


def ref_input_grad(shape, w, g, stride, pads, dil):
    """``dx[n, c, oh*sh - lh + th*dh, ow*sw - lw + tw*dw] += g[n, k, oh, ow] * w[k, c, th, tw]``
    in float64 over the padded map, cropped to ``shape`` (the definition, by slicing)."""
    (lh, hh), (lw, hw) = pads
    g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
    Ho, Wo = g.shape[2:]
    dxp = np.zeros((shape[0], shape[1], shape[2] + lh + hh, shape[3] + lw + hw))
    for th in range(w.shape[2]):
        for tw in range(w.shape[3]):
            h0, w0 = th * dil[0], tw * dil[1]
            dxp[:, :, h0:h0 + (Ho - 1) * stride[0] + 1:stride[0],
                w0:w0 + (Wo - 1) * stride[1] + 1:stride[1]] += np.einsum(
                    "nkhw,kc->nchw", g, w[:, :, th, tw])
    return dxp[:, :, lh:lh + shape[2], lw:lw + shape[3]]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_image_input_gradient_on_few_positions(data):
    # batch 1, at most a quarter as many positions as filters: the register-tile product
    # of the output gradient and the filters as they are (no BLAS), then the patch rows
    # added back, either layout, any stride, dilation and padding: the definition's
    # values, the same bits at one and two threads
    from numbaconv.cpu import conv_gemm

    kh, kw, stride, dil, pads, H, W, C, K, Ho, Wo, dtype, last, rng = _one_image_layer(
        data.draw, (4, 12), (8, 90), 1)
    w = rng.standard_normal((K, C, kh, kw))
    g = rng.standard_normal((1, K, Ho, Wo))
    want = ref_input_grad((1, C, H, W), w, g, stride, pads, dil)
    tiles = (threads.few_positions(Ho * Wo, K)
             and conv_gemm._weight_tiles_fit(Ho * Wo, C * kh * kw, np.dtype(dtype).itemsize))
    to, back, fmt = _layouts(last)
    shape = (1, H, W, C) if last else (1, C, H, W)
    got, ran = _counted_threads("_input_grad_one_tiles", lambda: back(grad.conv2d_input(
        shape, w.astype(dtype), to(g.astype(dtype)), data_format=fmt,
        **_kw(stride, pads, dil))))
    assert ran == tiles
    tol = 2e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_course_layer_batch_one_gradients_take_the_register_tiles(data_format):
    # the Keras net's (1, 64, 5, 5) -> 128 layer: 9 positions, 128 filters, patches of 576
    from numbaconv.cpu import conv_gemm

    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 64, 5, 5)).astype(np.float32)
    g = rng.standard_normal((1, 128, 3, 3)).astype(np.float32)
    want = ref_weight_grad(x, g, (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    last = data_format == "channels_last"
    to = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if last else (lambda a: a)
    w = rng.standard_normal((128, 64, 3, 3)).astype(np.float32)
    want_dx = ref_input_grad(x.shape, w, g, (1, 1), ((0, 0), (0, 0)), (1, 1))
    ran = []
    # (the weight gradient's tiles through their launcher, which runs the kernel on the
    # calling thread or by its address on Numba's threads)
    real, real_dx = conv_gemm._one_image_tiles, conv_gemm._input_grad_one_tiles
    _replan()
    with mock.patch.object(conv_gemm, "_one_image_tiles",
                           lambda *a: (ran.append("w"), real(*a))[1]), \
            mock.patch.object(conv_gemm, "_input_grad_one_tiles",
                              lambda *a: (ran.append("x"), real_dx(*a))[1]):
        got = grad.conv2d_weight(to(x), (128, 64, 3, 3), to(g), data_format=data_format)
        dx = grad.conv2d_input(to(x).shape, w, to(g), data_format=data_format)
    _replan()
    assert ran == ["w", "x"]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * np.abs(want).max())
    dx = dx.transpose(0, 3, 1, 2) if last else dx
    np.testing.assert_allclose(dx, want_dx, rtol=2e-5, atol=2e-5 * np.abs(want_dx).max())


@pytest.mark.parametrize("strategy", ["gemm_nhwc", "gemm_nchw", "gemm_taps", "winograd_nhwc",
                                      "winograd4"])
def test_inf_stays_inf(strategy):
    rng = np.random.default_rng(5)
    x = np.abs(rng.standard_normal((1, 2, 6, 6)))
    w = np.abs(rng.standard_normal((2, 2, 3, 3)))
    x[0, 1, 2, 2] = np.inf
    with conv_plan.forced(strategy):
        y = nc.conv2d(x, w, padding=1)
    want = ref_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(want))
    assert not np.isnan(y).any()


# ------------------------------------------------------------------------------ bias, model


@pytest.mark.parametrize("shape", [(1, 3, 7), (5, 4, 70), (3, 2, 1), (64, 40, 300), (7, 6, 9)])
def test_bias_grad_is_the_float64_sum(shape):
    g = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    got = grad.conv_bias(g.reshape(shape[0], shape[1], shape[2], 1))
    want = g.astype(np.float64).sum(axis=(0, 2))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_bias_grad_parallel_runs_give_the_serial_bits():
    # the bias gradient's channels in fixed runs on Numba's threads: each channel's sum is
    # one run's, so the calling thread, one and two threads give the same bits
    from numbaconv.cpu import conv_gemm

    g = np.random.default_rng(7).standard_normal((9, 13, 17, 23)).astype(np.float32)
    with mock.patch.object(conv_gemm, "_BIAS_SERIAL", 1 << 62):
        serial = grad.conv_bias(g)
    with mock.patch.object(conv_gemm, "_BIAS_SERIAL", 0):
        runs = _at_one_and_two_threads(lambda: grad.conv_bias(g))
    for r in runs:
        np.testing.assert_array_equal(r, serial)
    np.testing.assert_allclose(serial, g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-6,
                               atol=1e-5)


def test_machine_and_plan_are_sane():
    m = conv_plan.machine()
    assert m.lanes in (4, 8, 16) and m.gemm_lanes >= m.lanes and m.l1 >= 4096 and m.l2 >= m.l1
    # the plan is a function of the shapes only: the same answer twice, a valid strategy
    shapes = ((64, 32, 1, 13, 13), (64, 32, 1, 3, 3), (64, 64, 1, 11, 11))
    p = conv_plan.plan("forward", *shapes, (1, 1, 1), (0, 0, 0), (1, 1, 1), 4)
    assert p.strategy in conv_plan.STRATEGIES and p == conv_plan.plan(
        "forward", *shapes, (1, 1, 1), (0, 0, 0), (1, 1, 1), 4)
    with pytest.raises(ValueError, match="strategy"):
        with conv_plan.forced("nope"):
            pass


@pytest.mark.parametrize("nd, groups, x_shape, w_shape, stride, padding", [
    (2, 1, (2, 32, 13, 13), (64, 32, 3, 3), 1, 0), (2, 1, (1, 1, 4, 4), (1, 1, 3, 3), 1, 0),
    (2, 1, (3, 16, 5, 5), (16, 16, 3, 3), 1, 1), (2, 2, (2, 8, 9, 9), (8, 4, 3, 3), 1, 1),
    (2, 1, (2, 3, 1, 4), (4, 3, 3, 3), 1, 2), (2, 1, (2, 0, 5, 5), (4, 0, 3, 3), 1, 0),
    (2, 1, (0, 3, 5, 5), (4, 3, 3, 3), 1, 0), (2, 1, (1, 3, 3, 3), (4, 3, 3, 3), 1, 0),
    (3, 1, (2, 8, 1, 9, 9), (8, 8, 1, 3, 3), 1, 1),     # depth 1, padded: three depths out
    (3, 1, (2, 8, 1, 9, 9), (8, 8, 1, 3, 3), 2, 1),     # one output depth, only padding
    (3, 1, (2, 8, 1, 9, 9), (8, 8, 1, 3, 3), 1, (0, 1, 1)),  # depth 1 in and out: planar
    (3, 1, (2, 4, 5, 6, 6), (4, 4, 3, 3, 3), 1, 1),
])
@pytest.mark.parametrize("strategy", [None, "legacy", "gemm_taps", "winograd_nhwc"])
def test_route_takes_exactly_the_planar_ungrouped_float_layers_with_work(
        nd, groups, x_shape, w_shape, stride, padding, strategy):
    """route() offers a small-map plan only for a layer that is 2-D in effect (one input,
    kernel and output depth, the output depth reading the input), ungrouped, float32/64
    and with work (images, channels, filters, outputs; the gradients an input too); there
    it is plan()'s choice on the channels-first shapes, or None where that is 'legacy'."""
    from numbaconv.core.conv import FORWARD, resolve

    try:
        spec = resolve(FORWARD, nd, x_shape, w_shape, stride, padding, 1, groups)
    except ValueError:
        pytest.skip("not a valid layer")
    geo = spec.geometry
    x5, w5, y5 = geo.x_shape, geo.w_shape, geo.y_shape
    planar = x5[2] == w5[2] == y5[2] == 1 and geo.lo[0] == 0
    with conv_plan.forced(strategy):
        for op in ("forward", "input_grad", "weight_grad"):
            for dtype in (np.float32, np.float64, np.float16):
                takes = (groups == 1 and planar and dtype != np.float16
                         and 0 not in (x5[0], x5[1], w5[0], *y5[2:])
                         and (op == "forward" or 0 not in x5[2:]))
                p = conv_plan.route(op, geo, np.dtype(dtype))
                if not takes:
                    assert p is None, (op, dtype)
                    continue
                want = conv_plan.plan(op, x5, w5, y5, geo.stride, geo.lo, geo.dilation,
                                      np.dtype(dtype).itemsize)
                assert p == (None if want.strategy == "legacy" else want), (op, dtype)


@pytest.mark.parametrize("x_shape, k", [((64, 1, 1, 28, 28), 32), ((256, 4, 1, 12, 12), 8)])
def test_thin_weight_gradient_gemms_count_their_items_in_series_on_several_cores(
        x_shape, k, monkeypatch):
    """A weight gradient whose GEMM has under THIN_GEMM rows or columns: on several cores the
    GEMM strategies' items cost as if run one after another (BLAS does not overlap them), the
    direct loops' cost stays; on one core nothing changes."""
    N, C, _, H, W = x_shape
    args = ("weight_grad", x_shape, (k, C, 1, 3, 3), (N, k, 1, H - 2, W - 2), (1, 1, 1),
            (0, 0, 0), (1, 1, 1), 4)
    assert min(k, C * 9) < conv_plan.THIN_GEMM
    one = conv_plan.machine()
    monkeypatch.setattr(conv_plan, "machine", lambda: dataclasses.replace(one, cores=1))
    single = dict(conv_plan._plan(*args).costs)
    monkeypatch.setattr(conv_plan, "machine", lambda: dataclasses.replace(one, cores=4))
    several = dict(conv_plan._plan(*args).costs)
    assert several["legacy"] == single["legacy"]
    items = {s: conv_plan._plan(*args, force=s).items for s in ("gemm_nhwc", "gemm_nchw", "gemm_taps")}
    assert max(items.values()) > 1
    for s, n in items.items():
        assert several[s] == pytest.approx(single[s] * min(4, max(1, n)))


def test_prepared_forward_passes_across_calls_and_threads():
    # a geometry planned as the channel-major GEMM (forced: on AVX2 the model gives the
    # course layer to Winograd) keeps a prepared pass (cpu.conv's runners): repeated calls,
    # with and without a bias, a read-only input (another Numba type: the general path),
    # and eight threads calling several such layers at once all give the float64 oracle's
    # values, the threads the serial calls' bits
    with conv_plan.forced("gemm_nchw"):
        _prepared_forward_passes()


def _prepared_forward_passes():
    import concurrent.futures as cf

    from numbaconv.cpu import conv as cpu_conv

    _skip_without_kernel_blas(np.float32)
    rng = np.random.default_rng(3)
    layers = [((1, 32, 13, 13), (64, 32, 3, 3), 0), ((1, 64, 5, 5), (128, 64, 3, 3), 0),
              ((2, 16, 9, 9), (24, 16, 3, 3), 1)]
    jobs = []
    for xs, ws, pad in layers:
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        want = ref_forward(x, w, b, (1, 1), ((pad, pad), (pad, pad)), (1, 1))
        x32, w32, b32 = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)
        p = _plan_of("forward", x32, w32, (1, 1), ((pad, pad), (pad, pad)), (1, 1))
        assert p.strategy == "gemm_nchw"
        ro = x32.copy()
        ro.flags.writeable = False
        for _ in range(2):
            _assert_near_oracle(nc.conv2d(x32, w32, b32, padding=pad), want, np.float32)
            _assert_near_oracle(nc.conv2d(ro, w32, b32, padding=pad), want, np.float32)
            _assert_near_oracle(nc.conv2d(x32, w32, padding=pad), want - b[:, None, None],
                                np.float32)
        jobs += [(x32, w32, b32, pad), (x32, w32, None, pad)]
    assert any(not isinstance(run, functools.partial) for run in cpu_conv._RUNNERS.values())
    serial = [nc.conv2d(x, w, b, padding=pad) for x, w, b, pad in jobs]
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            futures = [pool.submit(nc.conv2d, x, w, b, padding=pad)
                       for x, w, b, pad in jobs * 4]
            for fut, want in zip(futures, serial * 4, strict=True):
                np.testing.assert_array_equal(fut.result(), want)


@pytest.mark.parametrize("shape", [(128, 128, 3, 3), (37, 61, 3, 3), (40, 30, 5, 5),
                                   (64, 96, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_tap_filters_match_numpys_transpose(shape, dtype, monkeypatch):
    """The per-tap filter matrices (serial, and in halves on the threads for large filters),
    and the forward's [W' | b]^T: numpy's transposing copies are the oracle."""
    from numbaconv.cpu import conv_gemm

    rng = np.random.default_rng(21)
    K, C, kh, kw = shape
    w = rng.standard_normal((K, C, 1, kh, kw)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    taps = w.reshape(K, C, kh * kw)
    for by_channel, want in ((True, taps.transpose(2, 1, 0)), (False, taps.transpose(2, 0, 1))):
        for fn in (conv_gemm._tap_weights, conv_gemm._tap_weights_parallel):
            got = np.full(want.shape, np.nan, dtype)
            fn(w, got, np.bool_(by_channel))
            np.testing.assert_array_equal(got, want)
        # a range of the columns (the split per-tap GEMMs' own filters): want's columns
        n = want.shape[2]
        for j0, j1 in ((0, n // 2), (n // 2, n), (n // 3, n // 3 + 1)):
            got = np.full((want.shape[0], want.shape[1], j1 - j0), np.nan, dtype)
            conv_gemm._tap_weights_span(w, got, np.bool_(by_channel), 0, want.shape[1], j0)
            np.testing.assert_array_equal(got, want[:, :, j0:j1])
    for limit in (1, 1 << 62):  # on the threads and serially
        monkeypatch.setattr(conv_gemm, "TAP_WEIGHTS_PARALLEL", limit)
        for bias in (b, np.empty(0, dtype)):
            got = conv_gemm._packed_t(w, bias)
            want = np.concatenate([taps.transpose(2, 1, 0).reshape(-1, K),
                                   (bias if bias.size else np.zeros(K, dtype))[None]])
            np.testing.assert_array_equal(got, want)


def _weight_grad_oracle(x, g, kh, kw, pad, dilation):
    """``dW[k, c, th, tw] = sum g[n, k, oh, ow] * xpad[n, c, oh + th*d, ow + tw*d]`` in float64."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = g.shape[2], g.shape[3]
    dw = np.empty((g.shape[1], x.shape[1], kh, kw))
    for th in range(kh):
        for tw in range(kw):
            win = xp[:, :, th * dilation:th * dilation + Ho, tw * dilation:tw * dilation + Wo]
            dw[:, :, th, tw] = np.einsum("nkhw,nchw->kc", g.astype(np.float64), win)
    return dw


@pytest.mark.parametrize("c, n, pad, dilation, kh, kw", [
    (1, 64, 0, 1, 3, 3), (1, 1, 1, 1, 3, 3), (2, 3, 2, 1, 3, 5), (3, 5, 1, 2, 3, 3),
    (4, 2, 0, 1, 5, 2), (5, 2, 1, 1, 3, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grid_weight_gradient_of_thin_layers_matches_the_oracle(c, n, pad, dilation, kh, kw,
                                                                dtype):
    """The blocked grid weight gradient for few input channels (shifted input copies, the
    gradient read in place, images in two parts) and above them (the grid kernel): every
    filter block, including a short last one, against a float64 sum; the same bits at one
    and two threads."""
    from numbaconv.cpu import conv as cpu_conv

    rng = np.random.default_rng(31)
    k = 32  # blocks of six filters: five, then two
    x = rng.standard_normal((n, c, 28, 27)).astype(dtype)
    ho = 28 + 2 * pad - dilation * (kh - 1)
    wo = 27 + 2 * pad - dilation * (kw - 1)
    g = rng.standard_normal((n, k, ho, wo)).astype(dtype)
    want = _weight_grad_oracle(x, g, kh, kw, pad, dilation)
    assert n * k * c * kh * kw * ho * wo >= cpu_conv.GRID_WORK
    runs = []
    before = numba.get_num_threads()
    try:
        for threads_ in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads_)
            with conv_plan.forced("legacy"):
                runs.append(grad.conv2d_weight(x, (k, c, kh, kw), g, padding=pad,
                                               dilation=dilation))
    finally:
        numba.set_num_threads(before)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    scale = np.abs(want).max()
    np.testing.assert_allclose(runs[1], want, rtol=tol, atol=tol * scale)
    assert runs[0].tobytes() == runs[1].tobytes()


# ------------------------------------------------ the grid forward in blocks of filters


@st.composite
def few_channel_layers(draw):
    """A stride-1 2-D layer the filter-block kernel takes: few channels, at least FILTERS
    filters (not always a multiple: the last block overlaps), output rows shorter and
    longer than a vector (the grid and the row forms), zero padding before and after."""
    from numbaconv.cpu.simd import FILTERS, lanes

    dtype = draw(st.sampled_from([np.float32, np.float64]))
    v = lanes(np.dtype(dtype).itemsize)
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    wo = draw(st.sampled_from([1, 3, v - 1, v, v + 1, 2 * v + 3]))
    ho = draw(st.integers(1, 9))
    H = ho + dil[0] * (kh - 1) - sum(pads[0])
    W = wo + dil[1] * (kw - 1) - sum(pads[1])
    if H < 1 or W < 1:
        pads = ((0, 0), (0, 0))
        H, W = ho + dil[0] * (kh - 1), wo + dil[1] * (kw - 1)
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, min(3, 31 // (kh * kw))))  # (longer reductions: the GEMM paths)
    k = draw(st.integers(FILTERS, 2 * FILTERS + 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, H, W)).astype(dtype)
    w = rng.standard_normal((k, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype) if draw(st.booleans()) else None
    return x, w, b, pads, dil


def _through(kernel: str, call):
    """``call()`` with the CPU conv kernel ``kernel`` counted (on the calling thread: the
    parallel drivers call it from compiled code), asserting that it ran; prepared calls
    set aside, so the call takes its path afresh."""
    from numbaconv.cpu import conv as cpu_conv

    calls = []
    real = getattr(cpu_conv, kernel)

    def spy(*args):
        calls.append(args[-2:])
        return real(*args)

    with mock.patch.object(cpu_conv, kernel, spy), \
            mock.patch.object(cpu_conv, "PARALLEL_WORK", 1 << 62), \
            mock.patch.dict(cpu_conv._RUNNERS, clear=True):
        y = call()
    assert calls, f"{kernel} did not run"
    return y


def _blocks_call(x, w, b, pads, dil):
    """``conv2d`` through the filter-block kernel."""
    from numbaconv.cpu import conv as cpu_conv

    with mock.patch.object(cpu_conv, "GRID_WORK", 0), conv_plan.forced("legacy"):
        return _through("_grid_forward_blocks",
                        lambda: nc.conv2d(x, w, b, padding=pads, dilation=dil))


@settings(max_examples=60)
@given(layer=few_channel_layers())
def test_filter_blocks_forward_matches_scipy(layer):
    """Every output element is the bias and the taps' fused multiply-adds: against scipy's
    float64 correlation, rows shorter and longer than a vector, the last block of filters
    overlapping the one before, any padding and dilation."""
    x, w, b, pads, dil = layer
    y = _blocks_call(x, w, b, pads, dil)
    want = ref_forward(x, w, b, (1, 1), pads, dil)
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    scale = 1 + np.abs(want).max()
    assert y.dtype == x.dtype and y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw, pad", [((28, 28), 0), ((9, 7), 2)])
def test_filter_blocks_same_bits_in_any_cut_and_nan_local(dtype, hw, pad):
    """The items (image x filter block) give the same bits serially, in runs on Numba's
    threads (one and two), and item by item; a NaN in the input reaches exactly the outputs whose window
    reads it (the float64 oracle's NaN pattern)."""
    from numbaconv.core.conv import FORWARD, resolve
    from numbaconv.cpu import conv as cpu_conv

    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, *hw)).astype(dtype)
    x[1, 1, 4, 3] = np.nan
    w = rng.standard_normal((20, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(20).astype(dtype)
    geo = resolve(FORWARD, 2, x.shape, w.shape, 1, pad, 1, 1, "zeros", 0,
                  "channels_first").geometry
    args = (x.ravel(), w.ravel(), b, None, geo.array,
            np.int64(cpu_conv._lanes(np.dtype(dtype).itemsize)))
    items = 3 * 3  # three blocks of 8 filters (the last one overlapping) per image
    outs = [np.full(geo.y_shape, -1.0, dtype).reshape(3, 20, *geo.y_shape[-2:])
            for _ in range(3)]
    cpu_conv._grid_forward_blocks(*args[:3], outs[0].ravel(), *args[4:], 0, items)
    _at_one_and_two_threads(lambda: team_runs(
        cpu_conv._grid_forward_blocks, (*args[:3], outs[1].ravel(), *args[4:]), items, 4))
    for i in reversed(range(items)):
        cpu_conv._grid_forward_blocks(*args[:3], outs[2].ravel(), *args[4:], i, i + 1)
    assert outs[0].tobytes() == outs[1].tobytes() == outs[2].tobytes()
    with np.errstate(invalid="ignore"):
        want = ref_forward(x, w, b, (1, 1), ((pad, pad), (pad, pad)), (1, 1))
    assert 0 < np.isnan(want).sum() < want.size
    np.testing.assert_array_equal(np.isnan(outs[0]), np.isnan(want))
    ok = ~np.isnan(want)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs[0][ok], want[ok], rtol=tol, atol=tol * np.abs(want[ok]).max())


@settings(max_examples=200)
@given(K=st.integers(1, 300), R=st.integers(1, 600), Ho=st.integers(1, 30),
       Wo=st.integers(1, 30), extra=st.integers(0, 4), rb=st.integers(1, 30),
       kb=st.integers(1, 300), wide=st.booleans(),
       cap=st.sampled_from([0, 1000, 100**3]))
def test_small_units_means_every_gemm_under_the_cap(K, R, Ho, Wo, extra, rb, kb, wide, cap):
    """``_small_units`` (the forward units' call then skips pinning BLAS to one thread) holds
    exactly when every GEMM the units issue, row blocks of ``gemm_rows_at`` included, has at
    most ``cap`` multiply-adds and no unit is a one-column GEMV: enumerated unit by unit."""
    from numbaconv.cpu.conv_gemm import _small_units

    rb, kb, W = min(rb, Ho), min(kb, K), Wo + extra
    sizes = []
    for oh0 in range(0, Ho, rb):
        rows = min(rb, Ho - oh0)
        m = (rows - 1) * W + Wo if wide else rows * Wo
        for k0 in range(0, K, kb):
            kr = min(kb, K - k0)
            if m == 1:
                sizes.append(None)  # a GEMV
                continue
            block = kr
            if m * kr * R > cap > 0 and (cap // (m * R)) // 8 * 8 >= 8:
                block = (cap // (m * R)) // 8 * 8
            sizes += [min(block, kr - i) * m * R for i in range(0, kr, block)]
    want = cap > 0 and all(s is not None and s <= cap for s in sizes)
    assert _small_units(K, R, Ho, Wo, W, rb, kb, wide, cap) == want


@st.composite
def few_channel_cl_layers(draw):
    """A channels-last layer the positions kernel takes: few channels, at least a vector of
    filters (not always a multiple: the last vector overlaps), rows of at least POSITIONS
    outputs (not always a multiple), any stride, dilation and padding."""
    from numbaconv.cpu.simd import POSITIONS, lanes

    dtype = draw(st.sampled_from([np.float32, np.float64]))
    v = lanes(np.dtype(dtype).itemsize)
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    ho, wo = draw(st.integers(1, 5)), draw(st.integers(POSITIONS, 2 * POSITIONS + 3))
    H = (ho - 1) * stride[0] + dil[0] * (kh - 1) + 1 - sum(pads[0])
    W = (wo - 1) * stride[1] + dil[1] * (kw - 1) + 1 - sum(pads[1])
    if H < 1 or W < 1:
        pads = ((0, 0), (0, 0))
        H = (ho - 1) * stride[0] + dil[0] * (kh - 1) + 1
        W = (wo - 1) * stride[1] + dil[1] * (kw - 1) + 1
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = draw(st.integers(v, 2 * v + 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, H, W)).astype(dtype)
    w = rng.standard_normal((k, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype) if draw(st.booleans()) else None
    return x, w, b, stride, pads, dil


@settings(max_examples=60)
@given(layer=few_channel_cl_layers())
def test_channels_last_positions_forward_matches_scipy(layer):
    """The channels-last few-channel forward (eight positions a block, every filter in
    vectors): against scipy's float64 correlation, any stride, dilation and padding (the
    strided layers that cpu/strided.py's tiles take patched onto it); at stride 1 with the
    channels-first filter blocks' bits (the same sums in the same order)."""
    from numbaconv.cpu import strided

    x, w, b, stride, pads, dil = layer
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    with mock.patch.object(strided, "applies", lambda geo, itemsize: False):
        y = _through("_grid_forward_cl_blocks",
                     lambda: nc.conv2d(xl, w, b, stride=stride, padding=pads, dilation=dil,
                                       data_format="channels_last"))
    want = ref_forward(x, w, b, stride, pads, dil).transpose(0, 2, 3, 1)
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, want, rtol=tol, atol=tol * (1 + np.abs(want).max()))
    if stride == (1, 1) and w.shape[0] >= 8:
        first = _blocks_call(x, w, b, pads, dil)
        assert first.transpose(0, 2, 3, 1).tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_last_positions_same_bits_in_any_cut_and_nan_local(dtype):
    """The images give the same bits serially, in runs on Numba's threads (one and two)
    and one by one; a NaN
    reaches exactly the outputs whose window reads it."""
    from numbaconv.core.conv import FORWARD, resolve
    from numbaconv.cpu import conv as cpu_conv

    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 13, 11, 2)).astype(dtype)
    x[3, 6, 4, 1] = np.nan
    w = rng.standard_normal((21, 2, 3, 3)).astype(dtype)
    geo = resolve(FORWARD, 2, x.shape, w.shape, 1, 1, 1, 1, "zeros", 0,
                  "channels_last").geometry
    wt = np.ascontiguousarray(w.reshape(21, 18).T).ravel()
    b = rng.standard_normal(21).astype(dtype)
    outs = [np.full((5, 13, 11, 21), -1.0, dtype) for _ in range(3)]
    cpu_conv._grid_forward_cl_blocks(x.ravel(), wt, b, outs[0].ravel(), geo.array, 0, 5)
    _at_one_and_two_threads(lambda: team_runs(
        cpu_conv._grid_forward_cl_blocks, (x.ravel(), wt, b, outs[1].ravel(), geo.array), 5, 3))
    for i in reversed(range(5)):
        cpu_conv._grid_forward_cl_blocks(x.ravel(), wt, b, outs[2].ravel(), geo.array, i, i + 1)
    assert outs[0].tobytes() == outs[1].tobytes() == outs[2].tobytes()
    with np.errstate(invalid="ignore"):
        want = ref_forward(x.transpose(0, 3, 1, 2), w, b, (1, 1), ((1, 1), (1, 1)),
                           (1, 1)).transpose(0, 2, 3, 1)
    assert 0 < np.isnan(want).sum() < want.size
    np.testing.assert_array_equal(np.isnan(outs[0]), np.isnan(want))
    ok = ~np.isnan(want)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs[0][ok], want[ok], rtol=tol, atol=tol * np.abs(want[ok]).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(data=st.data())
def test_channels_last_thin_weight_gradient_matches_the_oracle(dtype, data):
    # the channels-last few-channel weight gradient (nine taps by a vector of filters in
    # registers, a partial sum per run of images or band of rows): any kernel, stride,
    # dilation and padding (the taps past a pass of nine, the filters past a whole vector),
    # in one part and in parts, against the float64 oracle; the parts give the same bits
    # on one and two of Numba's threads
    from numbaconv.cpu import conv as cpu_conv
    from numbaconv.cpu.simd import lanes

    kh, kw, stride, dil, pads, H, W = _draw_window(data.draw, 5, 4, 2, 6)
    n, c = data.draw(st.integers(1, 10)), data.draw(st.integers(1, 4))
    k = lanes(np.dtype(dtype).itemsize) + data.draw(st.integers(0, 9))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, H, W)).astype(dtype)
    kwargs = _kw(stride, pads, dil)
    want_shape = nc.conv2d(x, np.zeros((k, c, kh, kw), dtype), **kwargs).shape
    g = rng.standard_normal(want_shape).astype(dtype)
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    gl = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    spec_geo = cpu_conv.make_geometry(n, c, k, 1, (1, H, W), (1, *want_shape[2:]), (1, kh, kw),
                                      (1, *stride), (0, pads[0][0], pads[1][0]), (1, *dil),
                                      True)
    assert cpu_conv._cl_thin_apply(spec_geo, np.dtype(dtype).itemsize)
    runs = []
    with mock.patch.object(cpu_conv, "THIN_PARALLEL_WORK", 1 << 62):
        runs.append(grad.conv2d_weight(xl, (k, c, kh, kw), gl, **kwargs,
                                       data_format="channels_last"))
    with mock.patch.object(cpu_conv, "THIN_PARALLEL_WORK", 0):
        runs += _at_one_and_two_threads(lambda: grad.conv2d_weight(
            xl, (k, c, kh, kw), gl, **kwargs, data_format="channels_last"))
    np.testing.assert_array_equal(runs[1], runs[2])
    want = ref_weight_grad(x, g, (kh, kw), stride, pads, dil)
    tol = 1e-10 if dtype == np.float64 else 2e-5 * max(1.0, np.abs(want).max())
    for r in runs[:2]:
        np.testing.assert_allclose(r, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c, hw, k, kernel, stride, pad", [
    (1, 3, (23, 21), 17, (7, 7), (2, 2), 3),   # a 7x7/2 stem, filters past a vector
    (2, 2, (19, 20), 16, (6, 6), (2, 1), 1),   # a stride along one axis
    (3, 4, (17, 17), 24, (5, 5), (3, 2), 2),
])
def test_channels_first_strided_thin_weight_gradient(dtype, n, c, hw, k, kernel, stride,
                                                     pad):
    # a channels-first few-channel weight gradient with a stride and many taps that the
    # strided tiles leave (cpu/strided.py: a 16-register target's large layers; patched off
    # here) copies its input and gradient channels-last and runs the channels-last kernel:
    # against the float64 oracle, and the channels-last call's bits
    from numbaconv.cpu import conv as cpu_conv
    from numbaconv.cpu import strided

    rng = np.random.default_rng(k)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    kwargs = dict(stride=stride, padding=pad)
    y_shape = nc.conv2d(x, np.zeros((k, c, *kernel), dtype), **kwargs).shape
    g = rng.standard_normal(y_shape).astype(dtype)
    calls = []
    real = cpu_conv._cl_thin_weight_grad_run
    with mock.patch.object(cpu_conv, "_cl_thin_weight_grad_run",
                           lambda *a: (calls.append(a[-1]), real(*a))), \
            mock.patch.object(strided, "applies_weight_grad", lambda geo, itemsize: False):
        got = grad.conv2d_weight(x, (k, c, *kernel), g, **kwargs)
        cl = grad.conv2d_weight(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), (k, c, *kernel),
                                np.ascontiguousarray(g.transpose(0, 2, 3, 1)), **kwargs,
                                data_format="channels_last")
    assert len(calls) == 2 and not calls[0].channels_last
    np.testing.assert_array_equal(got, cl)
    want = ref_weight_grad(x, g, kernel, stride, ((pad, pad), (pad, pad)), (1, 1))
    tol = 1e-10 if dtype == np.float64 else 2e-5 * max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
def test_touch_span_reads_any_span_and_changes_nothing(dtype):
    # the gathers' cache warm-up (cpu.simd.touch_span): any span of a 1-D contiguous array,
    # empty, unaligned, one element, up to its last element, leaves every bit as it was
    from numba import njit

    from numbaconv.cpu.simd import touch_span

    @njit
    def touch(a, spans):
        for i in range(spans.shape[0]):
            touch_span(a, spans[i, 0], spans[i, 1])

    a = np.arange(1000).astype(dtype)
    before = a.copy()
    spans = np.array([(0, 0), (5, 5), (0, 1), (3, 17), (15, 16), (0, 1000), (999, 1000),
                      (1, 999), (7, 7 + 64 // a.itemsize)], np.int64)
    touch(a, spans)
    np.testing.assert_array_equal(a, before)


_MATRIX = ((4.0, 0.0, 0.0, 0.0, -1.0), (0.0, -4.0, 4.0, -2.0, 2.0), (-5.0, 1.0, 0.0, 1.0, 0.5),
           (0.0, 0.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize("accumulate, bias", [(False, False), (True, False), (False, True)])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_matrix_rows_applies_its_matrix_to_every_column(accumulate, bias, data):
    # the Winograd transforms' intrinsic (cpu.simd.matrix_rows): a constant matrix (zeros,
    # ones, negative and fractional entries, a zero row) applied to any number of columns
    # from a vector's width on, at any offsets and strides, written, added (the last,
    # overlapping vector adding each column once) or with a bias a column; against numpy in
    # float64, every element outside the rows written left as it was
    from numba import njit

    from numbaconv.cpu.simd import lanes, matrix_rows

    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    n = lanes(np.dtype(dtype).itemsize)
    count = data.draw(st.integers(n, 4 * n + 3))
    s0, d0 = data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9))
    ss = data.draw(st.integers(count, count + 7))
    ds = data.draw(st.integers(count, count + 7))
    rows = matrix_rows(_MATRIX, accumulate=accumulate, bias=bias)
    if bias:
        @njit
        def apply(dst, src, b):
            rows(dst, d0, ds, src, s0, ss, count, b)
    else:
        @njit
        def apply(dst, src, b):
            rows(dst, d0, ds, src, s0, ss, count)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    src = rng.standard_normal(s0 + 5 * ss + 3).astype(dtype)
    dst = rng.standard_normal(d0 + 4 * ds + 3).astype(dtype)
    b = rng.standard_normal(count).astype(dtype)
    before = dst.copy()
    apply(dst, src, b)
    cols = np.stack([src[s0 + q * ss:s0 + q * ss + count] for q in range(5)]).astype(np.float64)
    want = np.asarray(_MATRIX) @ cols + (b.astype(np.float64) if bias else 0.0)
    expect = before.astype(np.float64).copy()
    for i in range(4):
        lo = d0 + i * ds
        expect[lo:lo + count] = want[i] + (expect[lo:lo + count] if accumulate else 0.0)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(dst, expect, rtol=tol, atol=tol * 20)
    written = np.zeros(dst.size, bool)
    for i in range(4):
        written[d0 + i * ds:d0 + i * ds + count] = True
    np.testing.assert_array_equal(dst[~written], before[~written])
