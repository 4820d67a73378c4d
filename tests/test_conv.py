"""conv1d/2d/3d, their gradients and transposed convolution against independent oracles.

Oracles (tests/oracles.py): ``scipy.signal.correlate`` / ``convolve`` per (output, input)
channel pair on the ``numpy.pad``-padded input, dilation by a zero-inserted kernel,
stride by slicing or zero insertion; the adjoint identities; central finite
differences; PyTorch as an extra cross-check when installed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    CONV_PAD_MODES,
    conv_input_grad_reference,
    conv_reference,
    conv_transpose_reference,
    conv_weight_grad_reference,
    to_channels_last,
)

import numbaconv as nc
from numbaconv import grad
from numbaconv.core.conv import conv_spec
from numbaconv.cpu import conv as cpu_conv
from numbaconv.cpu import conv_plan as cpu_plan

MODES = list(CONV_PAD_MODES)
CONV = {1: nc.conv1d, 2: nc.conv2d, 3: nc.conv3d}
CONV_INPUT = {1: grad.conv1d_input, 2: grad.conv2d_input, 3: grad.conv3d_input}
CONV_WEIGHT = {1: grad.conv1d_weight, 2: grad.conv2d_weight, 3: grad.conv3d_weight}
CONV_T = {1: nc.conv_transpose1d, 2: nc.conv_transpose2d, 3: nc.conv_transpose3d}


def geometry(x_shape, w_shape, kind="forward", **kw):
    """The kernels' geometry of a 2-D call (to ask the CPU launchers which path they take)."""
    return conv_spec(kind, len(x_shape) - 2, tuple(x_shape), tuple(w_shape), **kw).geometry


@st.composite
def conv_problems(draw, nd=None, max_side=7):
    nd = draw(st.sampled_from([1, 2, 3])) if nd is None else nd
    groups = draw(st.sampled_from([1, 1, 2]))
    cg = draw(st.integers(1, 3))
    kg = draw(st.integers(1, 3))
    n = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads, strict=True):
        lo_n = max(1, d * (k - 1) + 1 - lo - hi)
        spatial.append(draw(st.integers(lo_n, max(lo_n, 3 if nd == 3 else max_side))))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, groups * cg, *spatial))
    w = rng.standard_normal((groups * kg, cg, *kernel))
    bias = rng.standard_normal(groups * kg) if draw(st.booleans()) else None
    return dict(nd=nd, x=x, w=w, bias=bias, stride=stride, pads=pads, dilation=dilation,
                groups=groups)


# ----------------------------------------------------------------------------------------------
# forward


@given(conv_problems(), st.sampled_from(MODES))
def test_forward_matches_scipy_correlate(p, mode):
    nd = p["nd"]
    if mode in ("reflect",) and any(lo >= n or hi >= n for (lo, hi), n in
                                    zip(p["pads"], p["x"].shape[2:], strict=True)):
        mode = "symmetric"  # still numpy.pad-exact, just avoids the n == 1 degenerate case
    got = CONV[nd](p["x"], p["w"], p["bias"], stride=p["stride"], padding=p["pads"],
                   dilation=p["dilation"], groups=p["groups"], padding_mode=mode)
    want = conv_reference(p["x"], p["w"], p["bias"], p["stride"], p["pads"], p["dilation"],
                    p["groups"], mode)
    shape = tuple(nc.conv_output_size(n, k, s, pad, d) for n, k, s, pad, d in
                  zip(p["x"].shape[2:], p["w"].shape[2:], p["stride"], p["pads"],
                      p["dilation"], strict=True))
    assert got.shape == (p["x"].shape[0], p["w"].shape[0]) + shape
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    # (N, C, H, W), (K, C/g, kh, kw), stride, padding, dilation, groups: GEMM paths
    ((2, 8, 9, 10), (16, 8, 3, 3), 1, 1, 1, 1),
    ((3, 8, 9, 10), (16, 4, 3, 2), 2, (1, 2), 1, 2),
    ((2, 4, 11, 12), (8, 4, 3, 3), 1, 2, 2, 1),
    ((1, 3, 17, 16), (8, 3, 7, 7), 2, 3, 1, 1),
    ((40, 8, 3, 4), (8, 8, 2, 2), 1, 0, 1, 1),   # small images: batched GEMM
    # direct paths: depthwise, one input channel
    ((2, 6, 9, 10), (6, 1, 3, 3), 1, 1, 1, 6),
    ((2, 6, 9, 10), (12, 1, 3, 3), 2, 1, 2, 6),
    ((3, 1, 8, 8), (5, 1, 3, 3), 1, 0, 1, 1),
    # Winograd (3x3, stride 1, >= 32 channels), dilated ones as interleaved phases
    ((2, 32, 9, 10), (33, 32, 3, 3), 1, 1, 1, 1),
    ((1, 34, 7, 6), (32, 34, 3, 3), 1, (0, 2), 1, 1),
    ((2, 32, 11, 9), (32, 32, 3, 3), 1, 2, 2, 1),
    ((1, 32, 5, 7), (32, 32, 3, 3), 1, (4, 3), 3, 1),
])
def test_forward_fast_paths_match_scipy(case, dtype):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    got = nc.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    st2 = (stride, stride) if isinstance(stride, int) else stride
    pads = resolve_pairs(padding, 2)
    want = conv_reference(x, w, b, st2, pads, (dilation, dilation), groups)
    assert got.dtype == dtype
    tol = 2e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def resolve_pairs(padding, nd):
    if isinstance(padding, int):
        return ((padding, padding),) * nd
    return tuple((p, p) for p in padding)


@pytest.mark.parametrize("nd, n, k, s, d", [(1, 10, 3, 1, 1), (1, 10, 4, 3, 1), (2, 9, 3, 2, 2),
                                            (1, 224, 7, 2, 1), (1, 225, 7, 2, 1), (3, 5, 2, 2, 1)])
def test_same_padding_any_stride_is_tensorflow_rule(nd, n, k, s, d):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2) + (n,) * nd)
    w = rng.standard_normal((3, 2) + (k,) * nd)
    got = CONV[nd](x, w, stride=s, padding="same", dilation=d)
    assert got.shape[2:] == (-(-n // s),) * nd          # ceil(n / s)
    total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
    pads = ((total // 2, total - total // 2),) * nd      # extra padding after
    np.testing.assert_allclose(got, conv_reference(x, w, None, (s,) * nd, pads, (d,) * nd, 1),
                               rtol=1e-10, atol=1e-10)


def test_causal_conv1d_pads_left_only():
    x = np.arange(1.0, 9.0).reshape(1, 1, 8)
    w = np.array([[[1.0, 2.0, 3.0]]])
    got = nc.conv1d(x, w, padding="causal", dilation=2)
    assert got.shape == (1, 1, 8)
    np.testing.assert_allclose(got, conv_reference(x, w, None, (1,), ((4, 0),), (2,), 1))
    # output t only sees inputs <= t
    x2 = x.copy()
    x2[0, 0, 5:] = 100
    np.testing.assert_array_equal(nc.conv1d(x2, w, padding="causal", dilation=2)[..., :5],
                                  got[..., :5])
    with pytest.raises(ValueError, match="causal"):
        nc.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), padding="causal")


def test_padding_forms_agree():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    a = nc.conv2d(x, w, padding=1)
    np.testing.assert_array_equal(a, nc.conv2d(x, w, padding=(1, 1)))
    np.testing.assert_array_equal(a, nc.conv2d(x, w, padding=((1, 1), (1, 1))))
    np.testing.assert_array_equal(nc.conv2d(x, w, padding="valid"), nc.conv2d(x, w))
    asym = nc.conv2d(x, w, padding=((0, 2), (1, 0)))
    np.testing.assert_allclose(asym, conv_reference(x, w, None, (1, 1), ((0, 2), (1, 0)), (1, 1), 1))


def test_unbatched_and_dtype_promotion():
    rng = np.random.default_rng(3)
    x = rng.integers(-5, 5, (3, 6, 6)).astype(np.int32)
    w = rng.integers(-2, 2, (2, 3, 3, 3)).astype(np.int64)
    got = nc.conv2d(x, w)
    assert got.dtype == np.float64 and got.shape == (2, 4, 4)
    np.testing.assert_array_equal(got, conv_reference(x[None], w, None, (1, 1), ((0, 0),) * 2,
                                                (1, 1), 1)[0])
    x32 = x.astype(np.float32)
    assert nc.conv2d(x32, w.astype(np.float32)).dtype == np.float32
    assert nc.conv2d(x32, w.astype(np.float64)).dtype == np.float64


def test_awkward_inputs_work_and_are_not_modified():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((2, 8, 6, 7)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    want = nc.conv2d(base, w, padding=1)
    readonly = base.copy()
    readonly.flags.writeable = False
    for x in (np.asfortranarray(base), base.astype(">f4"), readonly, base.tolist(),
              np.ascontiguousarray(np.swapaxes(base, 2, 3)).swapaxes(2, 3)):
        before = np.array(x, copy=True)
        np.testing.assert_allclose(nc.conv2d(x, w, padding=1), want, rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(np.asarray(x), before)
    strided = rng.standard_normal((2, 8, 12, 7)).astype(np.float32)[:, :, ::2]
    np.testing.assert_allclose(nc.conv2d(strided, w, padding=1),
                               nc.conv2d(strided.copy(), w, padding=1))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(w=np.ones((2, 3, 3))), ValueError, "weight must have 4"),
    (dict(w=np.ones((2, 2, 3, 3))), ValueError, "weight.shape\\[1\\]"),
    (dict(groups=2), ValueError, "groups"),
    (dict(groups=0), ValueError, "groups"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=1.5), TypeError, "stride"),
    (dict(dilation=(1, 2, 3)), ValueError, "dilation"),
    (dict(padding="half"), ValueError, "padding"),
    (dict(padding=-1), ValueError, "padding"),
    (dict(padding_mode="mirror"), ValueError, "padding_mode"),
    (dict(bias=np.ones(3)), ValueError, "bias"),
    (dict(x=np.ones((1, 3, 2, 2))), ValueError, "empty"),
    (dict(x=np.ones((3, 5))), ValueError, "x must be batched"),
    (dict(x=np.array([["a"]])), TypeError, "x"),
    (dict(x=np.ones((1, 3, 5, 5), complex)), TypeError, "complex"),
])
def test_errors_name_the_argument(kwargs, exc, match):
    args = dict(x=np.ones((1, 3, 5, 5)), w=np.ones((2, 3, 3, 3)), bias=None, stride=1,
                padding=0, dilation=1, groups=1, padding_mode="zeros")
    args.update(kwargs)
    x, w = args.pop("x"), args.pop("w")
    with pytest.raises(exc, match=match):
        nc.conv2d(x, w, **args)


def test_nan_stays_local():
    x = np.zeros((1, 1, 1, 9))
    x[0, 0, 0, 4] = np.nan
    got = nc.conv2d(x, np.ones((1, 1, 1, 3)))
    assert np.isnan(got[0, 0, 0]).tolist() == [False, False, True, True, True, False, False]


# ----------------------------------------------------------------------------------------------
# gradients


def _grad_args(p):
    return dict(stride=p["stride"], padding=p["pads"], dilation=p["dilation"], groups=p["groups"])


@given(conv_problems())
def test_adjoint_identities(p):
    nd, x, w = p["nd"], p["x"], p["w"]
    y = CONV[nd](x, w, **_grad_args(p))
    g = np.random.default_rng(5).standard_normal(y.shape)
    dx = CONV_INPUT[nd](x.shape, w, g, **_grad_args(p))
    dw = CONV_WEIGHT[nd](x, w.shape, g, **_grad_args(p))
    assert dx.shape == x.shape and dw.shape == w.shape
    lhs = np.vdot(y, g)
    np.testing.assert_allclose(np.vdot(x, dx), lhs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.vdot(w, dw), lhs, rtol=1e-9, atol=1e-9)
    # each gradient also against its scipy oracle
    args = (p["stride"], p["pads"], p["dilation"], p["groups"])
    np.testing.assert_allclose(dx, conv_input_grad_reference(x.shape, w, g, *args),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, conv_weight_grad_reference(x, w.shape, g, *args),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    ((2, 8, 9, 10), (16, 8, 3, 3), 1, 1, 1, 1),
    ((3, 8, 9, 10), (16, 4, 3, 2), 2, (1, 2), 1, 2),
    ((2, 4, 11, 12), (8, 4, 3, 3), 1, 2, 2, 1),
    ((1, 3, 17, 16), (8, 3, 7, 7), 2, 3, 1, 1),
    ((40, 8, 3, 4), (8, 8, 2, 2), 1, 0, 1, 1),
    ((2, 6, 9, 10), (6, 1, 3, 3), 1, 1, 1, 6),
    ((2, 6, 9, 10), (12, 1, 3, 3), 2, 1, 2, 6),
    ((3, 1, 8, 8), (5, 1, 3, 3), 1, 0, 1, 1),
    ((2, 32, 9, 10), (33, 32, 3, 3), 1, 1, 1, 1),
    ((1, 34, 7, 6), (32, 34, 3, 3), 1, (0, 2), 1, 1),
    ((2, 32, 11, 9), (32, 32, 3, 3), 1, 2, 2, 1),
    ((1, 32, 5, 7), (32, 32, 3, 3), 1, (4, 3), 3, 1),
])
def test_gradient_fast_paths_by_finite_differences_and_adjoint(case, dtype):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(6)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = nc.conv2d(x, w, **kw)
    g = rng.standard_normal(y.shape)
    dx = grad.conv2d_input(x.shape, w.astype(dtype), g.astype(dtype), **kw)
    dw = grad.conv2d_weight(x.astype(dtype), w.shape, g.astype(dtype), **kw)
    db = grad.conv_bias(g.astype(dtype))
    assert dx.dtype == dw.dtype == db.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-10
    lhs = np.vdot(y, g)
    np.testing.assert_allclose(np.vdot(x, dx), lhs, rtol=tol)
    np.testing.assert_allclose(np.vdot(w, dw), lhs, rtol=tol)
    np.testing.assert_allclose(db, g.sum(axis=(0, 2, 3)), rtol=tol, atol=tol)
    # central differences of L(x, w) = <conv(x, w), g> at a few coordinates (float64, exact-ish)

    def loss(xx, ww):
        return np.vdot(nc.conv2d(xx, ww, **kw), g)

    eps = 1e-5
    for idx in [tuple(rng.integers(0, s) for s in xs) for _ in range(3)]:
        e = np.zeros_like(x)
        e[idx] = eps
        fd = (loss(x + e, w) - loss(x - e, w)) / (2 * eps)
        np.testing.assert_allclose(dx[idx], fd, rtol=max(tol, 1e-6), atol=max(tol, 1e-6))
    for idx in [tuple(rng.integers(0, s) for s in ws) for _ in range(3)]:
        e = np.zeros_like(w)
        e[idx] = eps
        fd = (loss(x, w + e) - loss(x, w - e)) / (2 * eps)
        np.testing.assert_allclose(dw[idx], fd, rtol=max(tol, 1e-6), atol=max(tol, 1e-6))


def test_gradients_accept_same_padding_and_unbatched():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 7))
    w = rng.standard_normal((2, 3, 4))
    y = nc.conv1d(x, w, stride=2, padding="same")
    g = rng.standard_normal(y.shape)
    dx = grad.conv1d_input(x.shape, w, g, stride=2, padding="same")
    dw = grad.conv1d_weight(x, w.shape, g, stride=2, padding="same")
    np.testing.assert_allclose(np.vdot(x, dx), np.vdot(y, g))
    np.testing.assert_allclose(np.vdot(w, dw), np.vdot(y, g))
    np.testing.assert_allclose(grad.conv_bias(g, unbatched=True), g.sum(axis=1))


def test_gradient_errors():
    w = np.ones((2, 3, 3, 3))
    with pytest.raises(ValueError, match="grad_output has shape"):
        grad.conv2d_input((1, 3, 5, 5), w, np.ones((1, 2, 4, 4)))
    with pytest.raises(ValueError, match="input_shape"):
        grad.conv2d_input((1, 3, 5), w, np.ones((1, 2, 3, 3)))
    with pytest.raises(TypeError, match="input_shape"):
        grad.conv2d_input(5, w, np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="weight_shape"):
        grad.conv2d_weight(np.ones((1, 3, 5, 5)), (2, 3, 3), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="batch axis"):
        grad.conv2d_weight(np.ones((3, 5, 5)), (2, 3, 3, 3), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        grad.conv_bias(np.ones(3))


def test_grad_module_lists_the_gradients():
    for name in ("conv1d_input", "conv2d_input", "conv3d_input", "conv1d_weight",
                 "conv2d_weight", "conv3d_weight", "conv_bias"):
        assert name in grad.__all__


# ----------------------------------------------------------------------------------------------
# transposed convolution


@given(conv_problems(), st.data())
def test_transpose_matches_scipy_convolve(p, data):
    nd, x, w = p["nd"], p["x"], p["w"]
    y = CONV[nd](x, w, **_grad_args(p))
    # output_padding recovers the exact input length
    op = []
    for n, k, s, (lo, hi), d in zip(x.shape[2:], w.shape[2:], p["stride"], p["pads"],
                                    p["dilation"], strict=True):
        op.append(n - ((y.shape[2 + len(op)] - 1) * s - lo - hi + d * (k - 1) + 1))
    if any(o >= max(s, d) for o, s, d in zip(op, p["stride"], p["dilation"], strict=True)):
        return  # that input length is not reachable with PyTorch's output_padding rule
    bias = data.draw(st.none() | st.just(np.arange(x.shape[1], dtype=float)))
    got = CONV_T[nd](y, w, bias, stride=p["stride"], padding=p["pads"], output_padding=op,
                     groups=p["groups"], dilation=p["dilation"])
    want = conv_transpose_reference(y, w, bias, p["stride"], p["pads"], p["dilation"],
                                    p["groups"], x.shape[2:])
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_transpose_textbook_upsampling():
    # stride-2 transposed conv of a 2-tap kernel interleaves the scaled taps
    x = np.array([[1.0, 2.0, 3.0]])
    got = nc.conv_transpose1d(x, np.array([[[1.0, 10.0]]]), stride=2)
    np.testing.assert_array_equal(got, [[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]])
    with pytest.raises(ValueError, match="output_padding"):
        nc.conv_transpose1d(x, np.ones((1, 1, 2)), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        nc.conv_transpose1d(x, np.ones((1, 1, 2)), padding="same")
    with pytest.raises(ValueError, match="channels"):
        nc.conv_transpose1d(x, np.ones((2, 1, 2)))


# ----------------------------------------------------------------------------------------------
# determinism, torch cross-check


@pytest.mark.parametrize("ws, groups", [((16, 8, 3, 3), 1), ((8, 1, 3, 3), 8)])
def test_bitwise_identical_for_one_and_two_threads(ws, groups):
    import numba

    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 8, 10, 11)).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    y = nc.conv2d(x, w, padding=1, groups=groups)
    g = rng.standard_normal(y.shape).astype(np.float32)
    results = []
    default = numba.get_num_threads()
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            results.append((nc.conv2d(x, w, padding=1, groups=groups),
                            grad.conv2d_input(x.shape, w, g, padding=1, groups=groups),
                            grad.conv2d_weight(x, w.shape, g, padding=1, groups=groups),
                            grad.conv_bias(g)))
        finally:
            numba.set_num_threads(default)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gemm_and_direct_paths_both_used():
    xs, ws = (1, 32, 9, 9), (32, 32, 3, 3)

    def wino(**kw):
        g = geometry(xs, ws, padding=1, **kw)
        return cpu_conv._winograd_2d(g, g.lo)

    assert wino()
    assert not wino(stride=2)
    assert wino(dilation=(2, 3))
    assert not wino(dilation=(5, 1))
    assert cpu_conv._use_gemm(geometry((1, 64, 9, 9), (64, 64, 3, 3)))
    assert not cpu_conv._use_gemm(geometry((1, 64, 9, 9), (64, 1, 3, 3), groups=64))
    assert not cpu_conv._use_gemm(geometry((1, 1, 9, 9), (32, 1, 3, 3)))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_torch_cross_check(nd):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4) + (6,) * nd)
    w = rng.standard_normal((6, 2) + (3,) * nd)
    b = rng.standard_normal(6)
    kw = dict(stride=2, padding=1, dilation=1, groups=2)
    tf = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = tf(tx, tw, torch.tensor(b), **kw)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(CONV[nd](x, w, b, **kw), ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(CONV_INPUT[nd](x.shape, w, g, **kw), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(CONV_WEIGHT[nd](x, w.shape, g, **kw), tw.grad.numpy(), rtol=1e-10)
    tt = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    wt = rng.standard_normal((4, 3) + (3,) * nd)
    bt = rng.standard_normal(6)
    np.testing.assert_allclose(
        CONV_T[nd](x, wt, bt, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
        tt(torch.tensor(x), torch.tensor(wt), torch.tensor(bt), stride=2, padding=1,
           output_padding=1, groups=2).numpy(), rtol=1e-10, atol=1e-12)
    for mode in ("reflect", "replicate", "circular"):
        conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[nd](
            4, 6, 3, padding=1, padding_mode=mode, groups=2).double()
        with torch.no_grad():
            conv.weight.copy_(torch.tensor(w))
            conv.bias.copy_(torch.tensor(b))
            want = conv(torch.tensor(x)).numpy()
        np.testing.assert_allclose(CONV[nd](x, w, b, padding=1, padding_mode=mode, groups=2),
                                   want, rtol=1e-10)


@given(conv_problems())
def test_gemm_path_on_every_geometry(p):
    """Force the im2col + GEMM path (normally only for wide layers) on hypothesis' geometries."""
    nd, x, w = p["nd"], p["x"], p["w"]
    from numbaconv.cpu import conv_plan

    saved = conv_plan._LEGACY_MIN_REDUCTION, conv_plan._LEGACY_MIN_K
    conv_plan._LEGACY_MIN_REDUCTION, conv_plan._LEGACY_MIN_K = 1, 1
    try:
        with conv_plan.forced("legacy"):  # cpu/conv.py's own strategies, not the small-map ones
            assert cpu_conv._use_gemm(geometry(x.shape, w.shape, **_grad_args(p)))
            y = CONV[nd](x, w, p["bias"], **_grad_args(p))
            g = np.random.default_rng(10).standard_normal(y.shape)
            dx = CONV_INPUT[nd](x.shape, w, g, **_grad_args(p))
            dw = CONV_WEIGHT[nd](x, w.shape, g, **_grad_args(p))
    finally:
        conv_plan._LEGACY_MIN_REDUCTION, conv_plan._LEGACY_MIN_K = saved
    want = conv_reference(x, w, p["bias"], p["stride"], p["pads"], p["dilation"], p["groups"])
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    y0 = want if p["bias"] is None else want - p["bias"].reshape((-1,) + (1,) * nd)
    np.testing.assert_allclose(np.vdot(x, dx), np.vdot(y0, g), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.vdot(w, dw), np.vdot(y0, g), rtol=1e-9, atol=1e-9)


def test_transpose_gemm_path_with_bias_is_adjoint_plus_bias():
    rng = np.random.default_rng(11)
    y = rng.standard_normal((2, 16, 5, 6))           # transposed-conv input: C_in = 16
    w = rng.standard_normal((16, 8, 3, 3))           # (C_in, C_out, kh, kw): GEMM-sized
    b = rng.standard_normal(8)
    assert cpu_conv._use_gemm(geometry((2, 8, 10, 12), (16, 8, 3, 3)))
    out = nc.conv_transpose2d(y, w, b, stride=2, padding=1, output_padding=1)
    assert out.shape == (2, 8, 10, 12)
    # adjoint: <conv_t(y) - bias, x> == <y, conv(x, w)> with w read as a conv weight (K=16, C=8)
    x = rng.standard_normal(out.shape)
    lhs = np.vdot(out - b.reshape(8, 1, 1), x)
    rhs = np.vdot(y, conv_reference(x, w, None, (2, 2), ((1, 1), (1, 1)), (1, 1), 1)[:, :, :5, :6])
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.conv_transpose2d(torch.tensor(y), torch.tensor(w), torch.tensor(b),
                                                stride=2, padding=1, output_padding=1).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------------------------
# out=, the resolved spec, the per-call fast path, serial and parallel kernels


def _calls(dtype=np.float64):
    """(name, call(out)) for every public function, on one small 2-D layer, and the oracle."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 4, 6, 7)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    kw = dict(stride=(1, 2), padding=1, dilation=1, groups=2)
    pads = ((1, 1), (1, 1))
    g = rng.standard_normal((2, 6, 6, 4)).astype(dtype)
    wt = rng.standard_normal((6, 3, 3, 3)).astype(dtype)
    return [
        ("conv2d", lambda out: nc.conv2d(x, w, b, **kw, out=out),
         conv_reference(x, w, b, (1, 2), pads, (1, 1), 2)),
        ("conv2d_input", lambda out: grad.conv2d_input(x.shape, w, g, **kw, out=out),
         conv_input_grad_reference(x.shape, w, g, (1, 2), pads, (1, 1), 2)),
        ("conv2d_weight", lambda out: grad.conv2d_weight(x, w.shape, g, **kw, out=out),
         conv_weight_grad_reference(x, w.shape, g, (1, 2), pads, (1, 1), 2)),
        ("conv_bias", lambda out: grad.conv_bias(g, out=out), g.astype(np.float64).sum((0, 2, 3))),
        ("conv_transpose2d",
         lambda out: nc.conv_transpose2d(g, wt, b[:6], stride=(1, 2), padding=1,
                                         output_padding=(0, 1), groups=2, out=out),
         conv_transpose_reference(g, wt, b[:6], (1, 2), pads, (1, 1), 2, (6, 8))),
    ]


@pytest.mark.parametrize("index", range(5))
def test_out_receives_the_result(index):
    name, call, want = _calls()[index]
    fresh = call(None)
    np.testing.assert_allclose(fresh, want, rtol=1e-10, atol=1e-10)
    out = np.full(want.shape, np.nan)
    assert call(out) is out
    np.testing.assert_array_equal(out, fresh)
    # a non-contiguous out gets the same numbers
    wide = np.full(want.shape[:-1] + (2 * want.shape[-1],), np.nan)
    view = wide[..., ::2]
    assert call(view) is view
    np.testing.assert_array_equal(view, fresh)
    with pytest.raises(ValueError, match="out must have"):
        call(np.empty(want.shape + (1,)))
    with pytest.raises(TypeError, match="out must have"):
        call(np.empty(want.shape, np.float32))
    with pytest.raises(TypeError, match="out must be"):
        call([0.0])


def test_out_must_not_overlap_an_input():
    x = np.ones((1, 2, 5, 5))
    with pytest.raises(ValueError, match="shares memory with the input x"):
        nc.conv2d(x, np.ones((2, 2, 1, 1)), out=x)


def test_repeated_calls_resolve_once():
    x = np.ones((1, 3, 9, 9), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    nc.conv2d(x, w, padding=(1, 2), stride=2)
    hits = conv_spec.cache_info().hits
    for _ in range(3):
        nc.conv2d(x, w, padding=[1, 2], stride=2)  # a list pads like the same tuple
    assert conv_spec.cache_info().hits == hits + 3


@pytest.mark.parametrize("bad, exc", [(dict(stride=True), TypeError),
                                      (dict(stride=1.0), TypeError),
                                      (dict(padding=(1.0, 1)), TypeError),
                                      (dict(groups=np.float64(1.0)), TypeError)])
def test_cached_specs_do_not_accept_look_alike_arguments(bad, exc):
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    good = dict(stride=1, padding=(1, 1), groups=1)
    nc.conv2d(x, w, **good)  # cached: True == 1 and 1.0 == 1 must not find this entry
    with pytest.raises(exc):
        nc.conv2d(x, w, **{**good, **bad})


def test_fast_path_converts_nothing(monkeypatch):
    import numbaconv.api.conv as api

    def refuse(*args, **kwargs):
        raise AssertionError("a ready input went through conversion")

    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    g = np.ones((1, 1, 2, 2), np.float32)
    for name in ("asarray", "backend_of", "float_dtype"):
        monkeypatch.setattr(api, name, refuse)
    nc.conv2d(x, w)
    grad.conv2d_input(x.shape, w, g)
    grad.conv2d_weight(x, w.shape, g)
    grad.conv_bias(g)
    monkeypatch.undo()
    # and anything else still converts: float16, read-only, Fortran order, lists
    ro = x.copy()
    ro.flags.writeable = False
    for other in (x.astype(np.float16), ro, np.asfortranarray(x), x.tolist()):
        np.testing.assert_array_equal(nc.conv2d(other, w), nc.conv2d(x, w))


@pytest.mark.parametrize("case", [((2, 3, 9, 8), (4, 3, 3, 3), 1, 1, 1),        # direct
                                  ((2, 4, 9, 8), (4, 1, 3, 2), (2, 1), 2, 4),   # depthwise
                                  ((1, 2, 5, 6, 7), (3, 2, 2, 3, 2), 2, 1, 1)])  # 3-D
@pytest.mark.parametrize("grid", [False, True])  # (the stride-1 calls through the grid kernels)
def test_serial_and_parallel_kernels_agree_bitwise(monkeypatch, case, grid):
    xs, ws, stride, dilation, groups = case
    if grid:
        monkeypatch.setattr(cpu_conv, "GRID_WORK", 0)
    nd = len(xs) - 2
    rng = np.random.default_rng(13)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    kw = dict(stride=stride, padding=1, dilation=dilation, groups=groups)
    g = rng.standard_normal(CONV[nd](x, w, **kw).shape).astype(np.float32)

    def run():
        return (CONV[nd](x, w, b, **kw), CONV_INPUT[nd](x.shape, w, g, **kw),
                CONV_WEIGHT[nd](x, w.shape, g, **kw), grad.conv_bias(g),
                CONV_T[nd](g, w, None, stride=stride, padding=1,
                           groups=groups, dilation=dilation))

    monkeypatch.setattr(cpu_conv, "PARALLEL_WORK", 1 << 62)
    serial = run()
    monkeypatch.setattr(cpu_conv, "PARALLEL_WORK", 0)
    parallel = run()
    for a, b_ in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b_)
    want = conv_reference(x, w, b, (stride,) * nd if isinstance(stride, int) else stride,
                          ((1, 1),) * nd, (dilation,) * nd, groups)
    np.testing.assert_allclose(serial[0], want, rtol=1e-5, atol=1e-5)


@given(n=st.integers(1, 3), c=st.integers(1, 3), k=st.integers(1, 14),
       kh=st.integers(1, 3), kw=st.integers(1, 4), dil=st.integers(1, 2),
       pads=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2),
                      st.integers(0, 2)),
       hw=st.tuples(st.integers(0, 6), st.integers(0, 6)), seed=st.integers(0, 2**16))
def test_blocked_grid_weight_gradient_matches_the_oracle(n, c, k, kh, kw, dil, pads, hw, seed):
    """The stride-1 grid weight gradient of an ungrouped 2-D layer sums blocks of filters by
    three filters and three taps at a time: every remainder of filters (1 to 14: one to
    three blocks, partial triples) and of taps, uneven paddings and dilations, against the
    scipy oracle; the same bits on the calling thread and on the thread team."""
    H = dil * (kh - 1) + 1 - pads[0] - pads[1] + hw[0]
    W = dil * (kw - 1) + 1 - pads[2] - pads[3] + hw[1]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, max(H, 1), max(W, 1)))
    kwargs = dict(padding=((pads[0], pads[1]), (pads[2], pads[3])), dilation=dil)
    y_shape = nc.conv2d(x, np.zeros((k, c, kh, kw)), **kwargs).shape
    g = rng.standard_normal(y_shape)
    runs = []
    with pytest.MonkeyPatch.context() as mp, cpu_plan.forced("legacy"):
        mp.setattr(cpu_conv, "GRID_WORK", 0)
        for work in (1 << 62, 0):
            mp.setattr(cpu_conv, "PARALLEL_WORK", work)
            runs.append(grad.conv2d_weight(x, (k, c, kh, kw), g, **kwargs))
    np.testing.assert_array_equal(runs[0], runs[1])
    want = conv_weight_grad_reference(x, (k, c, kh, kw), g, (1, 1), kwargs["padding"],
                                      (dil, dil))
    np.testing.assert_allclose(runs[0], want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("strategy", [None, *cpu_plan.STRATEGIES])
@pytest.mark.parametrize("n, kd, grid_work", [(1, 1, 0), (3, 1, 0), (1, 3, 0), (2, 1, 1 << 62)])
def test_depth_one_conv3d_padded_in_depth(n, kd, grid_work, strategy, monkeypatch):
    """A conv3d of one input depth, padded along it: a 1-deep kernel gives a 3-deep output,
    which the 2-D small-map and blocked grid kernels must not take (they crashed, or summed
    the wrong ``g`` planes); a 3-deep kernel gives one output depth. Every path against the
    scipy oracles."""
    rng = np.random.default_rng(n + kd)
    x = rng.standard_normal((n, 2, 1, 6, 6))
    w = rng.standard_normal((8, 2, kd, 3, 3))
    pads = ((1, 1),) * 3
    monkeypatch.setattr(cpu_conv, "GRID_WORK", grid_work)
    with cpu_plan.forced(strategy):
        y = nc.conv3d(x, w, padding=1)
        g = rng.standard_normal(y.shape)
        dx = grad.conv3d_input(x.shape, w, g, padding=1)
        dw = grad.conv3d_weight(x, w.shape, g, padding=1)
    assert y.shape[2] == (3 if kd == 1 else 1)
    one = (1, 1, 1)
    np.testing.assert_allclose(y, conv_reference(x, w, None, one, pads, one, 1),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, conv_input_grad_reference(x.shape, w, g, one, pads, one),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, conv_weight_grad_reference(x, w.shape, g, one, pads, one),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", [((2, 3, 9, 8), (4, 3, 3, 3), 1, 1),          # dense
                                  ((2, 4, 9, 8), (8, 1, 3, 2), (1, 2), 4),     # depthwise x2
                                  ((1, 2, 5, 6, 7), (3, 2, 2, 3, 2), 2, 1)])   # 3-D, dilated
def test_grid_kernels_give_the_row_kernels_results(monkeypatch, case):
    """The CPU-only stride-1 grid kernels sum each output's taps in the row kernels' order:
    bit for bit the same forward and input gradient (the weight gradient reassociates)."""
    xs, ws, dilation, groups = case
    nd = len(xs) - 2
    rng = np.random.default_rng(14)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    kw = dict(padding=1, dilation=dilation, groups=groups)
    g = rng.standard_normal(CONV[nd](x, w, **kw).shape).astype(np.float32)
    runs = []
    for grid_work in (1 << 62, 0):
        monkeypatch.setattr(cpu_conv, "GRID_WORK", grid_work)
        runs.append((CONV[nd](x, w, b, **kw), CONV_INPUT[nd](x.shape, w, g, **kw),
                     CONV_WEIGHT[nd](x, w.shape, g, **kw)))
    (y0, dx0, dw0), (y1, dx1, dw1) = runs
    np.testing.assert_array_equal(y0, y1)
    np.testing.assert_array_equal(dx0, dx1)
    dil = (dilation,) * nd if isinstance(dilation, int) else dilation
    want = conv_weight_grad_reference(x, w.shape, g, (1,) * nd, ((1, 1),) * nd, dil, groups)
    np.testing.assert_allclose(dw0, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw1, want, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------------------
# channels-last: every function equals channels-first on permuted axes


def _cl(a, batched=True):
    return to_channels_last(a, batched)


@given(conv_problems(), st.booleans())
def test_channels_last_equals_channels_first(p, unbatched):
    nd, x, w, bias = p["nd"], p["x"], p["w"], p["bias"]
    kw = _grad_args(p)
    cl = dict(data_format="channels_last")
    if unbatched:
        x = x[0]
    y = CONV[nd](x, w, bias, **kw)
    yl = CONV[nd](_cl(x, not unbatched), w, bias, **kw, **cl)
    np.testing.assert_allclose(yl, _cl(y, not unbatched), rtol=1e-10, atol=1e-10)
    g = np.random.default_rng(15).standard_normal(y.shape)
    gl = _cl(g, not unbatched)
    xl_shape = _cl(np.empty(x.shape), not unbatched).shape
    dx = CONV_INPUT[nd](x.shape, w, g, **kw)
    np.testing.assert_allclose(CONV_INPUT[nd](xl_shape, w, gl, **kw, **cl),
                               _cl(dx, not unbatched), rtol=1e-10, atol=1e-10)
    dw = CONV_WEIGHT[nd](x, w.shape, g, **kw)
    np.testing.assert_allclose(CONV_WEIGHT[nd](_cl(x, not unbatched), w.shape, gl, **kw, **cl),
                               dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad.conv_bias(gl, unbatched, **cl),
                               grad.conv_bias(g, unbatched), rtol=1e-12, atol=1e-12)
    # the transposed convolution of g (when its padding leaves an output)
    try:
        t = CONV_T[nd](g, w, None, stride=p["stride"], padding=p["pads"], groups=p["groups"],
                       dilation=p["dilation"])
    except ValueError:
        return
    tl = CONV_T[nd](gl, w, None, stride=p["stride"], padding=p["pads"], groups=p["groups"],
                    dilation=p["dilation"], **cl)
    np.testing.assert_allclose(tl, _cl(t, not unbatched), rtol=1e-10, atol=1e-10)


FAST_CASES = [
    ((2, 8, 9, 10), (16, 8, 3, 3), 1, 1, 1, 1),      # GEMM
    ((3, 8, 9, 10), (16, 4, 3, 2), 2, (1, 2), 1, 2),  # grouped GEMM, strided
    ((1, 3, 17, 16), (8, 3, 7, 7), 2, 3, 1, 1),      # stem-like
    ((2, 6, 9, 10), (6, 1, 3, 3), 1, 1, 1, 6),       # depthwise
    ((2, 6, 9, 10), (12, 1, 3, 3), 2, 1, 2, 6),      # depthwise x2, strided, dilated
    ((3, 1, 8, 8), (16, 1, 3, 3), 1, 0, 1, 1),       # one input channel
    ((2, 32, 9, 10), (33, 32, 3, 3), 1, 1, 1, 1),    # Winograd-sized
    ((2, 16, 20, 20), (16, 16, 3, 3), 1, 1, 2, 1),   # channels-first grid-sized
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", FAST_CASES)
def test_channels_last_fast_paths_equal_channels_first(case, dtype):
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(16)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    cl = dict(kw, data_format="channels_last")
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    y = nc.conv2d(x, w, b, **kw)
    yl = nc.conv2d(_cl(x), w, b, **cl)
    assert yl.dtype == dtype and yl.flags.c_contiguous
    np.testing.assert_allclose(yl, _cl(y), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(grad.conv2d_input(_cl(x).shape, w, _cl(g), **cl),
                               _cl(grad.conv2d_input(xs, w, g, **kw)), **tol)
    np.testing.assert_allclose(grad.conv2d_weight(_cl(x), ws, _cl(g), **cl),
                               grad.conv2d_weight(x, ws, g, **kw), **tol)
    # and the oracle, in float64
    pads = ((padding, padding),) * 2 if isinstance(padding, int) else tuple(
        (p, p) for p in padding)
    st2 = (stride, stride) if isinstance(stride, int) else stride
    want = conv_reference(x, w, b, st2, pads, (dilation, dilation), groups)
    np.testing.assert_allclose(yl, _cl(want), **tol)


_STEP = st.sampled_from((1, 1, 1, 2, 3))  # stride and dilation 1 (the blocked passes) most


@given(st.integers(1, 3), st.integers(1, 19), st.integers(1, 12), st.integers(1, 12),
       _STEP, _STEP, st.integers(0, 3), st.integers(0, 3), _STEP, _STEP, st.booleans())
def test_depthwise_channels_last_kernels_match_the_oracles(n, c, h, w_, sh, sw, ph, pw, dh,
                                                           dw, bias):
    """The channels-last depthwise 3x3 kernels (cpu/depthwise.py: one pass per output where
    every tap is inside, two or four outputs a pass at stride 1, tap by tap at the edges),
    any stride, padding, dilation and channel count, against scipy in float64; the input
    gradient too (at stride 1 the forward kernel of the flipped layer)."""
    if h + 2 * ph < 2 * dh + 1 or w_ + 2 * pw < 2 * dw + 1:
        return  # no output (the size formulas' error)
    rng = np.random.default_rng(h * 100 + w_)
    x = rng.standard_normal((n, c, h, w_))
    w = rng.standard_normal((c, 1, 3, 3))
    b = rng.standard_normal(c) if bias else None
    kw = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=c)
    args = ((sh, sw), ((ph, ph), (pw, pw)), (dh, dw), c)
    yl = nc.conv2d(_cl(x), w, b, **kw, data_format="channels_last")
    np.testing.assert_allclose(yl, _cl(conv_reference(x, w, b, *args)), rtol=1e-10,
                               atol=1e-10)
    g = rng.standard_normal(yl.shape)
    np.testing.assert_allclose(
        grad.conv2d_weight(_cl(x), w.shape, g, **kw, data_format="channels_last"),
        conv_weight_grad_reference(x, w.shape, np.moveaxis(g, -1, 1), *args),
        rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        grad.conv2d_input(_cl(x).shape, w, g, **kw, data_format="channels_last"),
        _cl(conv_input_grad_reference(x.shape, w, np.moveaxis(g, -1, 1), *args)),
        rtol=1e-10, atol=1e-10)


@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 40), st.integers(1, 40),
       st.integers(0, 3), st.integers(0, 3), _STEP, _STEP, st.booleans(),
       st.sampled_from((np.float32, np.float64)))
def test_depthwise_channels_first_kernels_match_the_oracles(n, c, h, w_, ph, pw, dh, dw, bias,
                                                            dtype):
    """The channels-first depthwise 3x3 kernels (cpu/depthwise.py: stride 1, each plane
    padded, four output rows a pass in vectors where the rows are wide enough, the weight
    gradient a channel an item), any padding, dilation and plane size, against scipy in
    float64; the input gradient too (the forward kernel of the flipped layer)."""
    if h + 2 * ph < 2 * dh + 1 or w_ + 2 * pw < 2 * dw + 1:
        return  # no output (the size formulas' error)
    rng = np.random.default_rng(h * 100 + w_)
    x = rng.standard_normal((n, c, h, w_))
    w = rng.standard_normal((c, 1, 3, 3))
    b = rng.standard_normal(c) if bias else None
    kw = dict(padding=(ph, pw), dilation=(dh, dw), groups=c)
    args = ((1, 1), ((ph, ph), (pw, pw)), (dh, dw), c)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    xd, wd = x.astype(dtype), w.astype(dtype)
    y = nc.conv2d(xd, wd, None if b is None else b.astype(dtype), **kw)
    np.testing.assert_allclose(y, conv_reference(x, w, b, *args), **tol)
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(grad.conv2d_weight(xd, w.shape, g.astype(dtype), **kw),
                               conv_weight_grad_reference(x, w.shape, g, *args), **tol)
    np.testing.assert_allclose(grad.conv2d_input(x.shape, wd, g.astype(dtype), **kw),
                               conv_input_grad_reference(x.shape, w, g, *args), **tol)


def test_depthwise_channels_first_serial_parallel_and_threads_agree_bitwise(monkeypatch):
    """The channels-first depthwise kernels' items (planes; channels for the weight
    gradient) do not depend on the threads: the same bits on the calling thread and on one
    and two of Numba's; the kernels ran (not the grid kernels)."""
    import numba

    from numbaconv.cpu import depthwise

    ran = []  # (a forward or input-gradient pass: one runner_cf entry, made as it is prepared)
    for name in ("runner_cf", "weight_grad_runner_cf"):
        real = getattr(depthwise, name)
        monkeypatch.setattr(depthwise, name,
                            lambda *a, _r=real, _n=name: (ran.append(_n), _r(*a))[1])
    rng = np.random.default_rng(29)
    x = rng.standard_normal((3, 24, 19, 37)).astype(np.float32)
    w = rng.standard_normal((24, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    kw = dict(padding=1, groups=24)
    runs = []
    default = numba.get_num_threads()
    for work, threads in ((1 << 62, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
        monkeypatch.setattr(cpu_conv, "PARALLEL_WORK", work)
        monkeypatch.setattr(cpu_conv, "_RUNNERS", {})  # (the prepared passes made afresh)
        numba.set_num_threads(threads)
        try:
            runs.append((nc.conv2d(x, w, b, **kw), grad.conv2d_weight(x, w.shape, g, **kw),
                         grad.conv2d_input(x.shape, w, g, **kw)))
        finally:
            numba.set_num_threads(default)
    assert ran.count("runner_cf") == 6 and ran.count("weight_grad_runner_cf") == 3
    for other in runs[1:]:
        for a, b_ in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b_)
    x[1, 5, 9, 20] = np.nan
    hit = np.isnan(nc.conv2d(x, w, b, **kw))
    assert hit.sum() == 9 and hit[1, 5, 8:11, 19:22].all()


def _strided_ran(monkeypatch):
    """The layouts whose forward the strided few-channel tiles (cpu/strided.py) run from
    here on (runners built afresh)."""
    from numbaconv.cpu import strided

    seen = []
    real, real_grad = strided.runner, strided.weight_grad
    monkeypatch.setattr(strided, "runner",
                        lambda geo, dt: (seen.append(geo.channels_last), real(geo, dt))[1])
    monkeypatch.setattr(strided, "weight_grad",
                        lambda x, g, dw, geo: (seen.append("grad"), real_grad(x, g, dw, geo)))
    monkeypatch.setattr(cpu_conv, "_RUNNERS", {})
    return seen


@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from((4, 5, 9, 20, 40, 64, 67)),
       st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(2, 3),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 40), st.booleans(),
       st.sampled_from((np.float32, np.float64)))
def test_strided_few_channel_tiles_match_the_oracle(n, c, k, kh, kw_, sh, sw, ph, pw, extra,
                                                    bias, dtype):
    """The strided few-channel forward (cpu/strided.py: channels-first by stride phases and
    tiles of four filters by vectors of positions, the last vector of a row and the last
    filter block overlapping the ones before; channels-last by tiles of positions by four
    vectors of filters), any kernel, stride and padding, against the float64 oracle, in
    both layouts; where both layouts run the tiles, the same bits."""
    import pytest as _pytest

    monkeypatch = _pytest.MonkeyPatch()
    try:
        seen = _strided_ran(monkeypatch)
        lanes = 64 // np.dtype(dtype).itemsize
        wo = lanes + extra
        w_in = (wo - 1) * sw + kw_ - 2 * pw
        h_in = 5 * sh + kh + extra % 7  # (six rows: a tile's vectors at least)
        if w_in < 1 or h_in + 2 * ph < kh:
            return
        rng = np.random.default_rng(n * 1000 + k * 10 + c)
        x = rng.standard_normal((n, c, h_in, w_in))
        w = rng.standard_normal((k, c, kh, kw_))
        b = rng.standard_normal(k) if bias else None
        kw = dict(stride=(sh, sw), padding=(ph, pw))
        want = conv_reference(x, w, b, (sh, sw), ((ph, ph), (pw, pw)))
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10,
                                                                         atol=1e-10)
        xd, wd, bd = x.astype(dtype), w.astype(dtype), None if b is None else b.astype(dtype)
        y = nc.conv2d(xd, wd, bd, **kw)
        yl = nc.conv2d(_cl(xd), wd, bd, **kw, data_format="channels_last")
        np.testing.assert_allclose(y, want, **tol)
        np.testing.assert_allclose(yl, _cl(want), **tol)
        assert False in seen  # (the channels-first tiles ran: at least a vector a row)
        if True in seen:
            np.testing.assert_array_equal(yl, _cl(y))
        # the weight gradient's tiles (channels-first), masked overlapping vectors and all
        g = rng.standard_normal(want.shape)
        dw = grad.conv2d_weight(xd, w.shape, g.astype(dtype), **kw)
        np.testing.assert_allclose(
            dw, conv_weight_grad_reference(x, w.shape, g, (sh, sw), ((ph, ph), (pw, pw))),
            **tol)
        from numbaconv.cpu.simd import register_bytes
        from numbaconv.cpu.strided import GRAD_TILE, SMALL_GRADIENT

        nt = c * kh * kw_
        assert ("grad" in seen) == (k >= GRAD_TILE[0] and nt >= GRAD_TILE[1] and (
            register_bytes() == 64 or k * nt <= SMALL_GRADIENT))
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw, positions", [((4, 4), 4), ((1, 9), 5), ((3, 11), 12),
                                           ((5, 5), 9)])
@pytest.mark.parametrize("k", [16, 24, 40])
def test_channels_last_strided_tiles_of_every_shape(monkeypatch, dtype, hw, positions, k):
    """The channels-last strided tiles on maps of 4 to 12 output positions, where the tile
    of positions by filter vectors changes shape (simd.positions_tile_shapes: with 16
    registers six positions, four or five on the smallest maps), and filter counts that
    leave an overlapping last run of vectors: against the float64 oracle, and where the
    tiles ran, bit-equal to the channels-first tiles."""
    from numbaconv.cpu import strided
    from numbaconv.cpu.simd import lanes

    seen = _strided_ran(monkeypatch)
    rng = np.random.default_rng(positions * 100 + k)
    x = rng.standard_normal((2, 3) + hw)
    w = rng.standard_normal((k, 3, 3, 3) if hw[0] > 1 else (k, 3, 1, 3))
    b = rng.standard_normal(k)
    pad = (1, 1) if hw[0] > 1 else (0, 1)
    want = conv_reference(x, w, b, (2, 2), tuple((p, p) for p in pad))
    assert want.shape[2] * want.shape[3] == positions
    xd, wd, bd = x.astype(dtype), w.astype(dtype), b.astype(dtype)
    yl = nc.conv2d(_cl(xd), wd, bd, stride=2, padding=pad, data_format="channels_last")
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yl, _cl(want), **tol)
    shape = strided._cl_shape(k, positions, lanes(np.dtype(dtype).itemsize))
    assert (True in seen) == (shape is not None)
    if shape is not None and False in seen:
        y = nc.conv2d(xd, wd, bd, stride=2, padding=pad)
        np.testing.assert_array_equal(yl, _cl(y))


def _strided_thread_runs(monkeypatch, spy, calls):
    """``calls()`` on the calling thread (cpu/strided.py's PARALLEL_WORK out of reach), then
    on one and on two of Numba's threads: ``[(seen, result)]``, ``seen`` what
    ``spy(monkeypatch)`` recorded during that run."""
    import numba

    from numbaconv.cpu import strided

    default = numba.get_num_threads()
    out = []
    for work, threads in ((1 << 62, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
        monkeypatch.setattr(strided, "PARALLEL_WORK", work)
        seen = spy(monkeypatch)
        numba.set_num_threads(threads)
        try:
            result = calls()
            out.append((list(seen), result))  # (what this run recorded: later spies wrap it)
        finally:
            numba.set_num_threads(default)
    return out


def test_strided_tiles_serial_parallel_and_threads_agree_bitwise(monkeypatch):
    """The strided tiles' items (runs of tiles, or of the batch's output vectors for the
    weight gradient; each splits or pads the input rows it reads) do not depend on the
    threads: the same bits on the calling thread and on one and two of Numba's, in both
    layouts, batch 1 and 3; a NaN stays in the outputs whose windows hold it."""
    rng = np.random.default_rng(31)
    w = rng.standard_normal((32, 3, 5, 5)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    kw = dict(stride=2, padding=2)

    def calls():
        y = nc.conv2d(x, w, b, **kw)
        return (y, nc.conv2d(_cl(x), w, b, **kw, data_format="channels_last"),
                grad.conv2d_weight(x, w.shape, np.cos(y), **kw))

    for n in (1, 3):
        x = rng.standard_normal((n, 3, 45, 70)).astype(np.float32)
        runs = []
        for seen, run in _strided_thread_runs(monkeypatch, _strided_ran, calls):
            assert seen == [False, True, "grad"]
            runs.append(run)
        for other in runs[1:]:
            for a, b_ in zip(runs[0], other, strict=True):
                np.testing.assert_array_equal(a, b_)
        np.testing.assert_array_equal(runs[0][1], _cl(runs[0][0]))
    x[2, 1, 20, 33] = np.nan
    for y in (nc.conv2d(x, w, b, **kw), np.moveaxis(
            nc.conv2d(_cl(x), w, b, **kw, data_format="channels_last"), -1, 1)):
        hit = np.isnan(y)
        # outputs (oy, ox) with oy*2 - 2 <= 20 <= oy*2 + 2, likewise 33: rows 9-11, 16-17
        assert hit[2, :, 9:12, 16:18].all() and hit.sum() == 32 * 3 * 2


@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from((4, 5, 9, 20, 32, 67)),
       st.integers(1, 5), st.integers(1, 5), st.integers(0, 2), st.integers(0, 2),
       st.integers(0, 40), st.sampled_from((np.float32, np.float64)))
def test_stride_one_weight_gradient_tiles_match_the_oracle(n, c, k, kh, kw_, ph, pw, extra,
                                                           dtype):
    """A stride-1 few-channel layer's channels-first weight gradient runs the strided
    tiles (one phase: the padded planes), any kernel, padding, filter count (the last
    filter block and tap block overlapping) and row length (the last vector of a row
    overlapping), against the float64 oracle."""
    from numbaconv.cpu.simd import register_bytes
    from numbaconv.cpu.strided import GRAD_TILE, SMALL_GRADIENT, STRIDE1_CHANNELS_16

    monkeypatch = pytest.MonkeyPatch()
    try:
        seen = _strided_ran(monkeypatch)
        wo = 64 // np.dtype(dtype).itemsize + extra
        h_in, w_in = 2 + extra % 9, wo + kw_ - 1 - 2 * pw
        if h_in + 2 * ph < kh or w_in < 1:
            return
        rng = np.random.default_rng(n * 1000 + k * 10 + c + extra)
        x = rng.standard_normal((n, c, h_in, w_in))
        ws = (k, c, kh, kw_)
        pads = ((ph, ph), (pw, pw))
        y = nc.conv2d(x.astype(dtype), np.ones(ws, dtype), padding=pads)
        g = rng.standard_normal(y.shape)
        dw = grad.conv2d_weight(x.astype(dtype), ws, g.astype(dtype), padding=pads)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10,
                                                                         atol=1e-10)
        np.testing.assert_allclose(
            dw, conv_weight_grad_reference(x, ws, g, (1, 1), pads), **tol)
        nt = c * kh * kw_
        # (the forward may run the tiles too: stride-1 few-channel layers, forward entries)
        assert [s for s in seen if s == "grad"] == (["grad"] if k >= GRAD_TILE[0] and nt >= GRAD_TILE[1] and (
            register_bytes() == 64 or k * nt <= SMALL_GRADIENT and c >= STRIDE1_CHANNELS_16) else [])
    finally:
        monkeypatch.undo()


def _dots_ran(monkeypatch):
    """The geometries whose input gradient the channels-last dot-product tiles
    (cpu/strided.py's input_grad_runner) run from here on (runners built afresh)."""
    from numbaconv.cpu import strided

    seen = []
    real = strided.input_grad_runner
    monkeypatch.setattr(strided, "input_grad_runner",
                        lambda geo, dt: (seen.append(geo), real(geo, dt))[1])
    monkeypatch.setattr(cpu_conv, "_RUNNERS", {})
    return seen


@settings(max_examples=80)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 40), st.integers(1, 5),
       st.integers(1, 5), st.integers(0, 4), st.integers(0, 4), st.integers(1, 2),
       st.integers(1, 3), st.integers(1, 3), st.integers(1, 20), st.integers(1, 20),
       st.booleans(), st.sampled_from((np.float32, np.float64)))
def test_channels_last_few_channel_input_gradient_matches_the_oracle(
        n, c, extra, kh, kw_, ph, pw, d, sh, sw, h, w_, bias, dtype):
    """The channels-last input gradient of a layer with one to four input channels
    (cpu/strided.py: each input element the dot products along the filters, in tiles of
    positions that reach the same taps, along rows, down columns or one at a time; filter
    counts that leave an overlapping, masked last vector; dilation at stride 1; strides
    up to 3, beyond the kernel too, so each pair of stride phases blocked on its own;
    padding beyond the kernel, so rows and columns that no tap reaches): against the
    float64 oracle and the channels-first call, the tiles having run (for the
    channels-first call too where it is strided)."""
    from numbaconv.cpu.simd import lanes

    k = lanes(np.dtype(dtype).itemsize) + extra
    if sh > 1 or sw > 1:
        d = 1
    if h + 2 * ph < d * (kh - 1) + 1 or w_ + 2 * pw < d * (kw_ - 1) + 1:
        return
    monkeypatch = pytest.MonkeyPatch()
    try:
        seen = _dots_ran(monkeypatch)
        rng = np.random.default_rng(n * 1000 + k * 10 + c + h * w_)
        ws = (k, c, kh, kw_)
        w = rng.standard_normal(ws)
        kw = dict(stride=(sh, sw), padding=(ph, pw), dilation=d)
        y = nc.conv2d(np.ones((n, c, h, w_), dtype), w.astype(dtype), **kw)
        g = rng.standard_normal(y.shape)
        b = rng.standard_normal(c) if bias else None
        want = conv_input_grad_reference((n, c, h, w_), w, g, (sh, sw), ((ph, ph), (pw, pw)),
                                         (d, d))
        if b is not None:
            want = want + b[:, None, None]
        wd, gd = w.astype(dtype), g.astype(dtype)
        if b is None:
            got = grad.conv2d_input((n, h, w_, c), wd, _cl(gd), **kw,
                                    data_format="channels_last")
        else:  # (the transposed convolution: the same pass with a bias)
            extra_hw = tuple(int(v) for v in np.array((h, w_)) - (
                (np.array(y.shape[2:]) - 1) * (sh, sw) - 2 * np.array((ph, pw))
                + d * (np.array((kh, kw_)) - 1) + 1))
            if max(extra_hw) >= max(sh, sw) or min(extra_hw) < 0:
                return  # (an input size that no output_padding below the stride gives)
            got = nc.conv_transpose2d(_cl(gd), wd, b.astype(dtype), output_padding=extra_hw,
                                      **kw, data_format="channels_last")
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10,
                                                                         atol=1e-10)
        np.testing.assert_allclose(got, _cl(want), **tol)
        assert seen  # (the tiles ran: on the dilated layer's phases where it splits)
        seen.clear()
        cf = grad.conv2d_input((n, c, h, w_), wd, gd, **kw)
        # (channels-first from a stride of 2, where the layer's own path is the direct
        # loops or the reduction is long: the gradient copied channels-last first)
        from numbaconv.cpu.strided import CF_MIN_TAPS

        assert not seen if max(sh, sw) == 1 else (seen or c * kh * kw_ < CF_MIN_TAPS)
        np.testing.assert_allclose(cf, want - (0 if b is None else b[:, None, None]), **tol)
        if b is not None:
            cf = cf + b.astype(dtype)[:, None, None]
        np.testing.assert_allclose(got, _cl(cf), **tol)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("c", [1, 3])
def test_channels_last_input_gradient_tiles_serial_parallel_threads_and_nan(monkeypatch, c):
    """The channels-last dot-product tiles give the same bits on the calling thread and on
    one and two of Numba's (images cut into runs, or one image's blocks into runs of
    lines; each position summed by one tile), channels-first strided calls too; a
    NaN in the output gradient reaches exactly the inputs whose taps read it; an inf in a
    lane that the overlapping last filter vector masks stays inf (a product masked by a
    zero weight would make it NaN)."""
    rng = np.random.default_rng(7 + c)
    K = 12  # (not a whole number of vectors: the last one overlaps, masked)
    w = np.abs(rng.standard_normal((K, c, 3, 3))).astype(np.float32) + 0.1
    g = rng.standard_normal((3, 26, 27, K)).astype(np.float32)
    xs = (3, 28, 29, c)
    # (and one image of a strided 7x7 layer: its blocks cut into runs of lines)
    w7 = rng.standard_normal((16, c, 7, 7)).astype(np.float32)
    g7 = rng.standard_normal((1, 20, 23, 16)).astype(np.float32)
    kw7 = dict(stride=2, padding=3, data_format="channels_last")

    def calls():
        return (grad.conv2d_input(xs, w, g, data_format="channels_last"),
                grad.conv2d_input((1, 40, 45, c), w7, g7, **kw7),
                grad.conv2d_input((3, c, 28, 29), w, g[:, ::2, ::2].transpose(0, 3, 1, 2),
                                  stride=2))

    runs = []
    for seen, run in _strided_thread_runs(monkeypatch, _dots_ran, calls):
        assert len(seen) == 3
        runs.append(run)
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    gn = g.copy()
    gn[1, 10, 20, 3] = np.nan
    hit = np.isnan(grad.conv2d_input(xs, w, gn, data_format="channels_last"))
    # input (i, j) reads output (i - th, j - tw): rows 10-12, columns 20-22, every channel
    assert hit[1, 10:13, 20:23].all() and hit.sum() == 9 * c
    gi = np.abs(g)
    gi[2, 5, 6, 5] = np.inf  # (lane 5: read by the first vector, masked in the last)
    dx = grad.conv2d_input(xs, w, gi, data_format="channels_last")
    assert np.isposinf(dx[2, 5:8, 6:9]).all() and np.isfinite(dx).sum() == dx.size - 9 * c


@settings(max_examples=40)
@given(st.integers(1, 3), st.integers(1, 3), st.sampled_from((16, 17, 32, 40)),
       st.sampled_from(((3, 3), (3, 5), (5, 5), (1, 3), (2, 2))), st.integers(0, 2),
       st.integers(0, 2), st.integers(0, 30), st.booleans(),
       st.sampled_from((np.float32, np.float64)))
def test_stride_one_few_channel_tiles_match_the_oracle_and_the_grid(n, c, k, ks, ph, pw,
                                                                    extra, bias, dtype):
    """A stride-1 layer with a reduction short enough for direct loops (the layers
    conv.py's grid kernels take) runs the strided tiles (one phase: the padded planes) in
    both layouts, channels-first from STRIDE_ONE_WORK multiply-adds (0 here) and a 3x3
    kernel: against the float64 oracle, serially and on Numba's threads, and with the grid
    kernels' bits (each output its bias, then the taps in the order (c, th, tw), fused
    multiply-adds)."""
    from numbaconv.cpu import strided

    kh, kw_ = ks
    if c * kh * kw_ >= 32:  # (a longer reduction: the cost model's GEMMs)
        return
    monkeypatch = pytest.MonkeyPatch()
    try:
        monkeypatch.setattr(strided, "STRIDE_ONE_WORK", 0)
        wo = 64 // np.dtype(dtype).itemsize + extra  # (a vector a row on any ISA)
        h_in, w_in = 6 + kh + extra % 7 - 2 * ph, wo + kw_ - 1 - 2 * pw
        rng = np.random.default_rng(n * 1000 + k * 10 + c + extra)
        x = rng.standard_normal((n, c, h_in, w_in))
        w = rng.standard_normal((k, c, kh, kw_))
        b = rng.standard_normal(k) if bias else None
        pads = ((ph, ph), (pw, pw))
        want = conv_reference(x, w, b, (1, 1), pads)
        xd, wd, bd = x.astype(dtype), w.astype(dtype), None if b is None else b.astype(dtype)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10,
                                                                         atol=1e-10)
        runs = []
        for work in (1 << 62, 0):  # serial, then on Numba's threads
            monkeypatch.setattr(strided, "PARALLEL_WORK", work)
            seen = _strided_ran(monkeypatch)
            runs.append((nc.conv2d(xd, wd, bd, padding=pads),
                         nc.conv2d(_cl(xd), wd, bd, padding=pads, data_format="channels_last")))
            assert seen == ([False] if kh * kw_ >= 9 else []) + [True]
        np.testing.assert_allclose(runs[0][0], want, **tol)
        np.testing.assert_allclose(runs[0][1], _cl(want), **tol)
        monkeypatch.setattr(cpu_conv, "GRID_WORK", 0)
        monkeypatch.setattr(cpu_conv, "_RUNNERS", {})
        with cpu_plan.forced("legacy"):  # (the grid kernels: no strategy but theirs)
            grid = (nc.conv2d(xd, wd, bd, padding=pads),
                    nc.conv2d(_cl(xd), wd, bd, padding=pads, data_format="channels_last"))
        tiles = (0, 1) if kh * kw_ >= 9 else (1,)  # (the layouts that ran the tiles)
        for run in runs:
            for i in tiles:
                np.testing.assert_array_equal(run[i], grid[i])
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", [((2, 3, 64, 64), (16, 3, 5, 5), 2, 2),  # Wo 32
                                   ((3, 2, 20, 20), (13, 2, 3, 3), 1, 1),  # Wo 20, 13 filters
                                   ((1, 3, 45, 70), (8, 3, 7, 7), 2, 3)])  # Wo 35
def test_weight_gradient_tiles_of_whole_vectors(monkeypatch, dtype, layer):
    """Rows that are a whole number of vectors take the weight gradient's unmasked tiles
    (more filters or taps a tile), the others the masked ones: both against the float64
    oracle, and the unmasked tiles with the masked tiles' bits (each sum the same chain over
    the vectors)."""
    from numbaconv.cpu import strided
    from numbaconv.cpu.simd import lanes

    xs, ws, s, p = layer
    rng = np.random.default_rng(7)
    x = rng.standard_normal(xs)
    ho = (xs[2] + 2 * p - ws[2]) // s + 1
    wo = (xs[3] + 2 * p - ws[3]) // s + 1
    g = rng.standard_normal((xs[0], ws[0], ho, wo))
    whole = wo % lanes(np.dtype(dtype).itemsize) == 0
    real, planned = strided._grad_plan, []

    def spy(geo, n):
        plan = real(geo, n)
        planned.append(bool(plan[-1]))
        return plan

    monkeypatch.setattr(strided, "_grad_plan", spy)
    seen = _strided_ran(monkeypatch)
    dw = grad.conv2d_weight(x.astype(dtype), ws, g.astype(dtype), stride=s, padding=p)
    assert seen == ["grad"] and planned == [whole]
    want = conv_weight_grad_reference(x, ws, g, (s, s), ((p, p), (p, p)))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, want, **tol)

    def masked(geo, n):
        return (*real(geo, n)[:-1], np.bool_(False))

    monkeypatch.setattr(strided, "_grad_plan", masked)
    again = grad.conv2d_weight(x.astype(dtype), ws, g.astype(dtype), stride=s, padding=p)
    np.testing.assert_array_equal(dw, again)


def test_stride_one_weight_gradient_tiles_agree_across_threads(monkeypatch):
    """The stride-1 weight gradient's items are the batch's output vectors in runs fixed by
    the shapes: the same bits on the calling thread and on one and two of Numba's threads;
    a NaN in the input reaches exactly the weights whose taps read it."""
    import numba

    from numbaconv.cpu import strided

    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 3, 32, 32)).astype(np.float32)
    g = rng.standard_normal((5, 32, 32, 32)).astype(np.float32)
    default, runs = numba.get_num_threads(), []
    for work, threads in ((1 << 62, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
        monkeypatch.setattr(strided, "PARALLEL_WORK", work)
        seen = _strided_ran(monkeypatch)
        numba.set_num_threads(threads)
        try:
            runs.append(grad.conv2d_weight(x, (32, 3, 3, 3), g, padding=1))
        finally:
            numba.set_num_threads(default)
        assert seen == ["grad"]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)
    x[4, 2, 0, 31] = np.nan  # (a corner: padding 1 puts it under taps th <= 1, tw >= 1)
    hit = np.isnan(grad.conv2d_weight(x, (32, 3, 3, 3), g, padding=1))
    assert hit[:, 2, :2, 1:].all() and hit.sum() == 32 * 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [7, 8, 9, 16, 17, 24, 40])
def test_depthwise_four_output_vectors_match_the_oracle(dtype, c):
    """The four-output pass and the weight gradient's runs in explicit vectors (a vector of
    channels or more: the last vector overlapping the one before) next to the loops (fewer
    channels), with and without bias, against the float64 oracle; a NaN reaches exactly its
    nine outputs."""
    rng = np.random.default_rng(c)
    x = rng.standard_normal((2, c, 6, 13)).astype(dtype)
    w = rng.standard_normal((c, 1, 3, 3)).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), c)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for bias in (b, None):
        y = nc.conv2d(_cl(x), w, bias, padding=1, groups=c, data_format="channels_last")
        np.testing.assert_allclose(y, _cl(conv_reference(x, w, bias, *args)), **tol)
    # the weight gradient's runs of outputs in vectors of channels (an odd output left over)
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(
        grad.conv2d_weight(_cl(x), w.shape, g, padding=1, groups=c, data_format="channels_last"),
        conv_weight_grad_reference(x, w.shape, np.moveaxis(g, -1, 1), *args), **tol)
    x[1, c - 1, 3, 6] = np.nan
    hit = np.isnan(nc.conv2d(_cl(x), w, b, padding=1, groups=c, data_format="channels_last"))
    assert hit.sum() == 9 and hit[1, 2:5, 5:8, c - 1].all()


@pytest.mark.parametrize("wide", [True, False])
def test_depthwise_channels_last_weight_gradient_rows_one_or_two_at_a_time(wide, monkeypatch):
    """The channels-last depthwise weight gradient runs two neighbouring output rows a pass
    where the registers are 64 bytes wide (AVX-512) and one a pass otherwise (AVX2's 16
    registers): either way against the float64 oracle, strides equal to dilations (rows
    paired) and not (single rows)."""
    from numbaconv.cpu import depthwise

    monkeypatch.setattr(depthwise, "register_bytes", lambda: 64 if wide else 32)
    rng = np.random.default_rng(37)
    c = 24
    x = rng.standard_normal((2, c, 11, 13))
    w = rng.standard_normal((c, 1, 3, 3))
    for stride, dilation, pad in ((1, 1, 1), (2, 2, 2), (1, 2, 2), (2, 1, 0)):
        kw = dict(stride=stride, dilation=dilation, padding=pad, groups=c)
        y = nc.conv2d(_cl(x), w, **kw, data_format="channels_last")
        g = rng.standard_normal(y.shape)
        args = ((stride, stride), ((pad, pad), (pad, pad)), (dilation, dilation), c)
        np.testing.assert_allclose(
            grad.conv2d_weight(_cl(x), w.shape, g, **kw, data_format="channels_last"),
            conv_weight_grad_reference(x, w.shape, np.moveaxis(g, -1, 1), *args),
            rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("tap, edge", [((0, 0), "first"), ((2, 2), "last")])
@pytest.mark.parametrize("c", [5, 16, 37])
def test_depthwise_channels_last_edges_skip_taps_outside(tap, edge, c):
    """An output sums only the taps inside the map (PyTorch's padding is never multiplied):
    an infinite weight at a corner tap leaves finite exactly the outputs of the first (or
    last) row and column, where that tap lies outside, and those equal the float64 oracle
    with the tap removed; the edge rows and columns (vector passes over two rows or two
    columns of taps, corners tap by tap) agree with it."""
    rng = np.random.default_rng(c)
    x = rng.standard_normal((2, c, 9, 11))
    w = rng.standard_normal((c, 1, 3, 3))
    b = rng.standard_normal(c)
    w_inf = w.copy()
    w_inf[:, 0, tap[0], tap[1]] = np.inf
    y = nc.conv2d(_cl(x), w_inf, b, padding=1, groups=c, data_format="channels_last")
    w0 = w.copy()
    w0[:, 0, tap[0], tap[1]] = 0.0
    want = _cl(conv_reference(x, w0, b, (1, 1), ((1, 1), (1, 1)), (1, 1), c))
    i = 0 if edge == "first" else -1
    border = np.zeros(y.shape, bool)
    border[:, i, :, :] = True
    border[:, :, i, :] = True
    assert np.isfinite(y[border]).all() and not np.isfinite(y[~border]).any()
    np.testing.assert_allclose(y[border], want[border], rtol=1e-12, atol=1e-12)


def test_depthwise_channels_last_serial_parallel_and_threads_agree_bitwise(monkeypatch):
    """The depthwise kernels' items are fixed by the shapes: the same bits on the calling
    thread, on one and on two threads; a NaN reaches exactly the outputs that read it."""
    import numba

    rng = np.random.default_rng(18)
    x = rng.standard_normal((3, 17, 19, 24)).astype(np.float32)  # (N, H, W, C)
    w = rng.standard_normal((24, 1, 3, 3)).astype(np.float32)
    cl = dict(padding=1, groups=24, data_format="channels_last")
    g = rng.standard_normal(x.shape).astype(np.float32)
    runs = []
    default = numba.get_num_threads()
    for work, threads in ((1 << 62, 1), (0, 1), (0, min(2, numba.config.NUMBA_NUM_THREADS))):
        monkeypatch.setattr(cpu_conv, "PARALLEL_WORK", work)
        numba.set_num_threads(threads)
        try:
            runs.append((nc.conv2d(x, w, **cl), grad.conv2d_weight(x, w.shape, g, **cl),
                         grad.conv2d_input(x.shape, w, g, **cl),
                         # (the channels-first weight gradient's planes, grid kernel)
                         grad.conv2d_weight(np.ascontiguousarray(np.moveaxis(x, -1, 1)), w.shape,
                                            np.ascontiguousarray(np.moveaxis(g, -1, 1)),
                                            padding=1, groups=24)))
        finally:
            numba.set_num_threads(default)
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    xf, gf = np.moveaxis(x, -1, 1), np.moveaxis(g, -1, 1)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 24)
    np.testing.assert_allclose(runs[0][0], _cl(conv_reference(xf, w, None, *args)),
                               rtol=1e-4, atol=1e-4)
    for dw in (runs[0][1], runs[0][3]):
        np.testing.assert_allclose(dw, conv_weight_grad_reference(xf, w.shape, gf, *args),
                                   rtol=1e-4, atol=1e-3)
    # the input gradient: <conv(x), g> = <x, conv_input(g)> (the adjoint identity)
    y0 = conv_reference(xf.astype(np.float64), w.astype(np.float64), None, *args)
    np.testing.assert_allclose(np.vdot(x.astype(np.float64), runs[0][2]), np.vdot(y0, gf),
                               rtol=1e-4)
    x[1, 5, 7, 3] = np.nan
    hit = np.isnan(nc.conv2d(x, w, **cl))
    assert hit.sum() == 9 and hit[1, 4:7, 6:9, 3].all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_channel_strided_weight_gradient_reads_a_channels_first_gradient(dtype,
                                                                              monkeypatch):
    """A channels-first few-channel strided layer with many taps (the 7x7/2 stem) that the
    strided tiles leave (a 16-register target's large layer; patched off here) runs the
    channels-last few-channel weight gradient on its input copied channels-last and its
    gradient transposed row by row inside the kernel: against the float64 oracle, the same
    bits as the channels-last call of the same arrays, and at one and two threads."""
    import numba

    from numbaconv.cpu import strided

    monkeypatch.setattr(strided, "applies_weight_grad", lambda geo, itemsize: False)
    seen = []
    real = cpu_conv._cl_thin_weight_grad_run
    monkeypatch.setattr(cpu_conv, "_cl_thin_weight_grad_run",
                        lambda x, g, dw, geo: (seen.append(geo.channels_last),
                                               real(x, g, dw, geo)))
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 3, 41, 38)).astype(dtype)
    ws = (40, 3, 7, 7)  # (filters: more than a vector, not a multiple of one)
    kw = dict(stride=2, padding=3)
    g = rng.standard_normal((2, 40, 21, 19)).astype(dtype)
    default = numba.get_num_threads()
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            runs.append(grad.conv2d_weight(x, ws, g, **kw))
        finally:
            numba.set_num_threads(default)
    assert seen == [False, False]
    np.testing.assert_array_equal(runs[0], runs[1])
    want = conv_weight_grad_reference(x.astype(np.float64), ws, g.astype(np.float64), (2, 2),
                                      ((3, 3), (3, 3)), (1, 1), 1)
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(runs[0], want, **tol)
    cl = grad.conv2d_weight(_cl(x), ws, _cl(g), **kw, data_format="channels_last")
    np.testing.assert_array_equal(runs[0], cl)


@settings(max_examples=30)
@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from((8, 16, 24, 33, 40, 64)),
       st.sampled_from(((3, 3), (5, 5), (7, 7), (3, 5))), st.integers(1, 2), st.integers(0, 3),
       st.integers(7, 20), st.sampled_from((np.float32, np.float64)))
def test_channels_last_few_channel_weight_gradient_passes_of_six_or_nine_taps(
        n, c, k, ks, stride, pad, hw, dtype):
    """The channels-last few-channel weight gradient (cpu/conv.py _cl_thin_weight_grad) in
    passes of nine taps by one filter vector and of six taps by two (simd.taps_outer_pairs,
    the last pair overlapping where the filters are not a multiple of two vectors), each
    forced: against the float64 oracle, and the same bits (each sum one chain over the
    positions in order either way)."""
    import pytest as _pytest

    from numbaconv.cpu.simd import lanes

    kh, kw_ = ks
    lo = min(pad, (kh - 1) // 2, (kw_ - 1) // 2)
    rng = np.random.default_rng(n * 100 + c * 10 + k)
    x = rng.standard_normal((n, c, hw, hw + 3))
    ws = (k, c, kh, kw_)
    kw = dict(stride=stride, padding=lo)
    ho = (hw + 2 * lo - kh) // stride + 1
    wo = (hw + 3 + 2 * lo - kw_) // stride + 1
    g = rng.standard_normal((n, k, ho, wo))
    want = conv_weight_grad_reference(x, ws, g, (stride, stride), ((lo, lo), (lo, lo)))
    xl, gl = _cl(x.astype(dtype)), _cl(g.astype(dtype))
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-9)
    vectors = -(-k // lanes(np.dtype(dtype).itemsize))
    monkeypatch = _pytest.MonkeyPatch()
    try:
        pairs = []  # (the kernel's last argument, from either launch)
        kernel, team = cpu_conv._cl_thin_weight_grad, cpu_conv.team_runs
        monkeypatch.setattr(cpu_conv, "_cl_thin_weight_grad",
                            lambda *a: (pairs.append(bool(a[-1])), kernel(*a))[1])
        monkeypatch.setattr(cpu_conv, "team_runs",
                            lambda f, a, i, p, extra: (pairs.append(bool(extra[-1])),
                                                       team(kernel, a, i, p, extra))[1])
        runs = []
        for least in (1 << 30, 0):
            monkeypatch.setattr(cpu_conv, "PAIR_MIN_TAPS", least)
            runs.append(grad.conv2d_weight(xl, ws, gl, **kw, data_format="channels_last"))
        if vectors == 1:
            assert pairs in ([], [False, False])
        else:
            assert pairs == [False, vectors % 2 == 0 or vectors >= 5]
        for dw in runs:
            np.testing.assert_allclose(dw, want, **tol)
        np.testing.assert_array_equal(runs[0], runs[1])
    finally:
        monkeypatch.undo()


def test_thin_channels_last_gemm_weight_gradient_splits_positions(monkeypatch):
    """A channels-last GEMM weight gradient with one block of channels (a 3-channel stem)
    splits the output positions into blocks summed in order: against the oracle, and the
    same bits on one and two threads. (Forced onto the launcher's own paths: with no
    strategy forced, the few-channel kernel takes the layer.)"""
    import numba

    from numbaconv.cpu import conv_plan

    calls = []
    real = cpu_conv._gemm_weight_grad_cl
    monkeypatch.setattr(cpu_conv, "_gemm_weight_grad_cl",
                        lambda *a: (calls.append(a[-1]), real(*a)))
    rng = np.random.default_rng(19)
    x = rng.standard_normal((2, 3, 130, 131))
    ws = (8, 3, 7, 7)
    kw = dict(stride=2, padding=3)
    g = rng.standard_normal((2, 8, 65, 66))
    default = numba.get_num_threads()
    runs = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            with conv_plan.forced("legacy"):
                runs.append(grad.conv2d_weight(_cl(x), ws, _cl(g), **kw,
                                               data_format="channels_last"))
        finally:
            numba.set_num_threads(default)
    assert calls and int(np.prod(calls[0].out_size)) >= 2 * cpu_conv._WG_POSITIONS
    np.testing.assert_array_equal(runs[0], runs[1])
    want = conv_weight_grad_reference(x, ws, g, (2, 2), ((3, 3), (3, 3)), (1, 1), 1)
    np.testing.assert_allclose(runs[0], want, rtol=1e-10, atol=1e-9)


def test_data_format_is_checked():
    x, w = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    for call in (lambda: nc.conv2d(x, w, data_format="NHWC"),
                 lambda: nc.conv_transpose2d(x, np.ones((2, 3, 3, 3)), data_format="nhwc"),
                 lambda: grad.conv2d_input(x.shape, w, np.ones((1, 3, 3, 3)), data_format=1),
                 lambda: grad.conv2d_weight(x, w.shape, np.ones((1, 3, 3, 3)), data_format=""),
                 lambda: grad.conv_bias(np.ones((1, 3, 3, 3)), data_format="last")):
        with pytest.raises(ValueError, match="data_format must be one of 'channels_first', "
                                             "'channels_last'"):
            call()
    # channels-last shapes: the channel axis is the last one
    with pytest.raises(ValueError, match="input has 5 channels"):
        nc.conv2d(x, w, data_format="channels_last")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_channels_last_winograd_keeps_non_finite_semantics(bad):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((1, 32, 8, 9)).astype(np.float32)
    x[0, 3, 4, 5] = bad
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    y = nc.conv2d(x, w, padding=1)
    yl = nc.conv2d(_cl(x), w, padding=1, data_format="channels_last")
    want = _cl(y)
    np.testing.assert_array_equal(np.isnan(yl), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(yl), np.isinf(want))
    # the non-finite value reaches exactly the 3x3 neighbourhood of its position
    hit = ~np.isfinite(yl[0, :, :, 0])
    assert hit.sum() == 9 and hit[3:6, 4:7].all()
    finite = np.isfinite(want)
    np.testing.assert_allclose(yl[finite], want[finite], rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("d, pad, hw, c, k, channels_last", [
    (2, 2, (12, 16), 16, 16, False), (2, 2, (12, 16), 16, 24, True), (3, 3, (9, 12), 16, 16, False),
    (2, 4, (8, 8), 17, 16, True), (2, 0, (10, 14), 16, 20, False)])
def test_dilated_layers_run_as_their_phases_and_match_the_oracles(d, pad, hw, c, k,
                                                                  channels_last, monkeypatch):
    """A dilated 3x3 layer whose input and padding are multiples of the dilation runs as the
    undilated layers of its phases (cpu/conv.py, ``_phase_geometry``): forward with bias, input and
    weight gradients against the float64 references, both layouts; the same bits at one and
    two threads; a NaN reaches exactly the outputs that read it."""
    import numba

    from numbaconv.core.conv import make_geometry

    rng = np.random.default_rng(d * 10 + pad)
    n = 3
    x = rng.standard_normal((n, c, *hw)).astype(np.float32)
    w = rng.standard_normal((k, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    ho, wo = hw[0] + 2 * pad - 2 * d, hw[1] + 2 * pad - 2 * d
    g = rng.standard_normal((n, k, ho, wo)).astype(np.float32)
    geo = make_geometry(n, c, k, 1, (1, *hw), (1, ho, wo), (1, 3, 3), (1, 1, 1), (0, pad, pad),
                        (1, d, d), channels_last)
    assert cpu_conv._phase_geometry(geo) is not None  # the phases path runs
    if pad == 2:  # (the phases moved on Numba's threads, as large layers move them)
        monkeypatch.setattr(cpu_conv, "_PHASE_PARALLEL", 0)
    args = ((1, 1), ((pad, pad), (pad, pad)), (d, d), 1)
    kw = dict(padding=pad, dilation=d)
    fmt = dict(data_format="channels_last") if channels_last else {}

    def lay(a):
        return _cl(a) if channels_last else a

    runs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            runs.append((nc.conv2d(lay(x), w, b, **kw, **fmt),
                         grad.conv2d_input(lay(x).shape, w, lay(g), **kw, **fmt),
                         grad.conv2d_weight(lay(x), w.shape, lay(g), **kw, **fmt)))
    finally:
        numba.set_num_threads(before)
    for a, other in zip(runs[0], runs[1], strict=True):
        assert a.tobytes() == other.tobytes()
    y, dx, dw = runs[1]
    tol = dict(rtol=2e-4, atol=2e-3)
    np.testing.assert_allclose(y, lay(conv_reference(x, w, b, *args)), **tol)
    np.testing.assert_allclose(dx, lay(conv_input_grad_reference(x.shape, w, g, *args)), **tol)
    np.testing.assert_allclose(dw, conv_weight_grad_reference(x, w.shape, g, *args), **tol)
    x[1, 3, 4, 5] = np.nan
    hit = np.isnan(nc.conv2d(lay(x), w, b, **kw, **fmt))
    want = np.zeros((n, k, ho, wo), bool)  # the outputs whose window holds x[1, :, 4, 5]
    for th in range(3):
        for tw in range(3):
            oh, ow = 4 + pad - d * th, 5 + pad - d * tw
            if 0 <= oh < ho and 0 <= ow < wo:
                want[1, :, oh, ow] = True
    np.testing.assert_array_equal(hit, lay(want))


def test_phases_need_whole_multiples_of_the_dilation():
    from numbaconv.core.conv import make_geometry

    def geo(hw, pad, d, stride=1):
        ho = (hw + 2 * pad - 2 * d - 1) // stride + 1
        return make_geometry(2, 16, 16, 1, (1, hw, hw), (1, ho, ho), (1, 3, 3),
                             (1, stride, stride), (0, pad, pad), (1, d, d), False)

    assert geo(12, 2, 2).phases is not None
    assert geo(12, 2, 2).phases.in_size == (1, 6, 6) and geo(12, 2, 2).phases.lo == (0, 1, 1)
    assert geo(13, 2, 2).phases is None  # odd size
    assert geo(12, 1, 2).phases is None  # padding not a multiple of d
    assert geo(12, 2, 1).phases is None  # not dilated
    assert geo(12, 2, 2, stride=2).phases is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [True, False])
def test_one_position_dense_layer_matches_numpy_at_any_thread_count(dtype, with_bias,
                                                                     monkeypatch):
    """A batch-1 dense layer written as a one-position 1x1 convolution (the course notes'
    inference: conv1d of (1, C, 1) with (K, C, 1) filters) runs K dot products split by
    filters (cpu/conv_gemm.py, _dense_runner: the few-position kernels' dot products):
    against NumPy's float64 product, the same bits at one and two threads, channels-last the same
    memory and the same result, and a NaN reaches every output (every filter reads every
    input)."""
    import numba

    from numbaconv.cpu import conv_gemm
    from numbaconv.cpu.threads import gemm_parts

    ran = []
    real = conv_gemm._filter_dots_parallel
    monkeypatch.setattr(conv_gemm, "_filter_dots_parallel",
                        lambda *a: (ran.append(a[-1]), real(*a)))
    rng = np.random.default_rng(31)
    C, K = 1200, 500  # (two parts of filters: the threaded runs)
    assert gemm_parts(1, C + 1, K) == 2
    x = rng.standard_normal((1, C, 1)).astype(dtype)
    w = rng.standard_normal((K, C, 1)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype) if with_bias else None
    want = w[:, :, 0].astype(np.float64) @ x[0, :, 0].astype(np.float64)
    if with_bias:
        want = want + b
    runs = []
    default = numba.get_num_threads()
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            runs.append(nc.conv1d(x, w, b))
        finally:
            numba.set_num_threads(default)
    np.testing.assert_array_equal(runs[0], runs[1])
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(runs[0][0, :, 0], want, rtol=tol, atol=tol * 10)
    cl = nc.conv1d(x.reshape(1, 1, C), w, b, data_format="channels_last")
    np.testing.assert_array_equal(cl.reshape(-1), runs[0].reshape(-1))
    x[0, 3, 0] = np.nan
    assert np.isnan(nc.conv1d(x, w, b)).all()
    assert ran and set(ran) == {2}  # (every call above: the dense runner's parts)


def test_repeated_gradient_calls_run_their_prepared_passes_and_stay_right():
    # a repeated input or weight gradient with the same shapes, dtype and arguments goes to
    # the pass prepared by the first call (api.conv._SEEN, cpu.conv._RUNNERS): new values
    # each call give the oracle's results, in either layout, strided and dilated too; out=
    # on a seen call is written and returned, a wrong one refused; a shape argument that
    # only compares equal to ints never finds an int call's entry; passes set aside are
    # made afresh
    from numbaconv.api import conv as api_conv

    rng = np.random.default_rng(43)
    layers = [((1, 1, 28, 28), (32, 1, 3, 3), {}), ((1, 32, 13, 13), (64, 32, 3, 3), {}),
              ((2, 8, 11, 10), (6, 8, 3, 3), dict(padding=1, stride=2)),
              ((1, 4, 12, 12), (4, 1, 3, 3), dict(padding=2, dilation=2, groups=4)),
              ((2, 4, 9, 9), (4, 1, 3, 3), dict(padding=1, groups=4)),  # the depthwise kernels'
              ((3, 5, 9), (7, 5, 3), dict(padding=1))]
    for xs, ws, kw in layers:
        nd = len(xs) - 2
        conv_in = grad.conv2d_input if nd == 2 else grad.conv1d_input
        conv_w = grad.conv2d_weight if nd == 2 else grad.conv1d_weight
        ref_kw = dict(stride=(kw.get("stride", 1),) * nd, dilation=(kw.get("dilation", 1),) * nd,
                      pads=((kw.get("padding", 0),) * 2,) * nd, groups=kw.get("groups", 1))
        for layout in ("channels_first", "channels_last"):
            for _ in range(3):
                x = rng.standard_normal(xs).astype(np.float32)
                w = rng.standard_normal(ws).astype(np.float32)
                g = rng.standard_normal(nc.conv1d(x, w, **kw).shape if nd == 1 else
                                        nc.conv2d(x, w, **kw).shape).astype(np.float32)
                want_x = conv_input_grad_reference(xs, w, g, **ref_kw)
                want_w = conv_weight_grad_reference(x, ws, g, **ref_kw)
                if layout == "channels_last":
                    xl, gl = to_channels_last(x), to_channels_last(g)
                    dx = conv_in(xl.shape, w, gl, **kw, data_format=layout)
                    dw = conv_w(xl, ws, gl, **kw, data_format=layout)
                    dx = np.moveaxis(dx, -1, 1)
                else:
                    dx, dw = conv_in(xs, w, g, **kw), conv_w(x, ws, g, **kw)
                np.testing.assert_allclose(dx, want_x, rtol=1e-4, atol=1e-4)
                np.testing.assert_allclose(dw, want_w, rtol=1e-4, atol=2e-4 * np.sqrt(g.size))
            if layout == "channels_first":
                for op, args in (("input", (xs, w, g)), ("weight", (ws, x, g))):
                    key = api_conv._seen_grad_key(op, nd, *args, kw.get("stride", 1),
                                                  kw.get("padding", 0), kw.get("dilation", 1),
                                                  kw.get("groups", 1), layout, x.dtype)
                    assert key in api_conv._SEEN
    x = rng.standard_normal((1, 32, 13, 13)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    g = rng.standard_normal((1, 64, 11, 11)).astype(np.float32)
    want_x = conv_input_grad_reference(x.shape, w, g)
    want_w = conv_weight_grad_reference(x, w.shape, g)
    for _ in range(2):  # the second call: out= on a seen call
        dx = np.full(x.shape, np.nan, np.float32)
        dw = np.full(w.shape, np.nan, np.float32)
        assert grad.conv2d_input(x.shape, w, g, out=dx) is dx
        assert grad.conv2d_weight(x, w.shape, g, out=dw) is dw
        np.testing.assert_allclose(dx, want_x, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dw, want_w, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="out must have"):
        grad.conv2d_input(x.shape, w, g, out=np.empty((1, 32, 13, 12), np.float32))
    with pytest.raises(TypeError, match="out must have"):
        grad.conv2d_weight(x, w.shape, g, out=np.empty(w.shape))
    with pytest.raises(ValueError, match="shares memory with the input grad_output"):
        grad.conv2d_input(x.shape, w, g, out=g.reshape(-1)[:x.size].reshape(x.shape))
    odd = (1, True, 13, 13)  # (== x.shape, yet refused as before, never the cached entry)
    assert api_conv._seen_grad_key("input", 2, odd, g, w, 1, 0, 1, 1, "channels_first",
                                   x.dtype) is None
    with pytest.raises(TypeError, match="input_shape"):
        grad.conv2d_input(odd, w, g)
    ran = []
    real = cpu_conv._input_grad_pass
    cpu_conv._RUNNERS.clear()  # passes set aside: built afresh
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpu_conv, "_input_grad_pass", lambda *a: (ran.append(1), real(*a))[1])
        for _ in range(2):
            np.testing.assert_allclose(grad.conv2d_input(x.shape, w, g), want_x, rtol=1e-4,
                                       atol=1e-4)
    assert ran == [1]


def test_a_repeated_host_call_runs_its_prepared_pass_and_stays_right():
    # the second call of a host forward with the same shapes, dtype and arguments goes
    # straight to the pass prepared by the first (api.conv._SEEN): new values each call,
    # with and without a bias, the oracle's results; arguments that only compare equal to
    # ints (True, 1.0, np.int64) never find an int call's entry; a strategy forced later,
    # and passes set aside, are honoured
    from numbaconv.api import conv as api_conv

    rng = np.random.default_rng(41)
    layers = [((1, 32, 13, 13), (64, 32, 3, 3), 0), ((1, 1, 12, 12), (16, 1, 3, 3), 1),
              ((2, 3, 9), (5, 3, 3), 2)]
    for xs, ws, pad in layers:
        conv = nc.conv2d if len(xs) == 4 else nc.conv1d
        for call in range(3):
            x = rng.standard_normal(xs).astype(np.float32)
            w = rng.standard_normal(ws).astype(np.float32)
            b = rng.standard_normal(ws[0]).astype(np.float32) if call != 1 else None
            want = conv_reference(x.astype(np.float64), w.astype(np.float64),
                                  None if b is None else b.astype(np.float64),
                                  pads=((pad, pad),) * (len(xs) - 2))
            np.testing.assert_allclose(conv(x, w, b, padding=pad), want, rtol=1e-4, atol=1e-4)
            if call == 2:
                key = api_conv._seen_key(len(xs) - 2, x, w, b, 1, pad, 1, 1, "zeros",
                                         "channels_first", x.dtype)
                assert key in api_conv._SEEN
    x = rng.standard_normal((1, 1, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 1, 3, 3)).astype(np.float32)
    want = conv_reference(x.astype(np.float64), w.astype(np.float64), pads=((1, 1), (1, 1)))
    for _ in range(2):
        np.testing.assert_allclose(nc.conv2d(x, w, stride=1, padding=1), want,
                                   rtol=1e-4, atol=1e-4)
    # out= on a call seen before: written and returned; a wrong or overlapping one refused
    y = np.full(want.shape, np.nan, np.float32)
    assert nc.conv2d(x, w, stride=1, padding=1, out=y) is y
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="out must have"):
        nc.conv2d(x, w, stride=1, padding=1, out=np.empty((1, 16, 12, 13), np.float32))
    with pytest.raises(TypeError, match="out must have"):
        nc.conv2d(x, w, stride=1, padding=1, out=np.empty(want.shape))
    big = np.zeros((2 * y.size + 200,), np.float32)
    with pytest.raises(ValueError, match="shares memory with the input x"):
        nc.conv2d(big[:x.size].reshape(x.shape), w, stride=1, padding=1,
                  out=big[100:100 + y.size].reshape(y.shape))
    for odd in (True, 1.0, np.int64(1)):  # never the cached int call's entry
        assert api_conv._seen_key(2, x, w, None, odd, 1, 1, 1, "zeros", "channels_first",
                                  x.dtype) is None
    for bad in (True, 1.0):  # refused as before
        with pytest.raises(TypeError, match="stride must be an integer"):
            nc.conv2d(x, w, stride=bad, padding=1)
    np.testing.assert_allclose(nc.conv2d(x, w, stride=np.int64(1), padding=1), want,
                               rtol=1e-4, atol=1e-4)
    # a strategy forced after the pass was prepared runs (its own pass, the same values)
    x = rng.standard_normal((1, 32, 13, 13)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    want = conv_reference(x.astype(np.float64), w.astype(np.float64))
    nc.conv2d(x, w)
    ran = []
    real = cpu_conv._forward_runner
    with cpu_plan.forced("legacy"), pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpu_conv, "_forward_runner", lambda *a: (ran.append(1), real(*a))[1])
        np.testing.assert_allclose(nc.conv2d(x, w), want, rtol=1e-4, atol=1e-4)
        cpu_conv._RUNNERS.clear()  # passes set aside: built afresh, outside the forcing too
        assert len(ran) == 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cpu_conv, "_forward_runner", lambda *a: (ran.append(2), real(*a))[1])
        np.testing.assert_allclose(nc.conv2d(x, w), want, rtol=1e-4, atol=1e-4)
    assert ran == [1, 2]


#: (channels, filters, groups, kernel, stride) of layers each 2-D kernel family takes: the
#: small-map strategies, the few-channel channels-last weight gradient, the strided stem's
#: tiles, the depthwise kernels, the grid kernels, a grouped layer
_DEPTH_ONE_LAYERS = [(3, 4, 1, 3, 1), (3, 32, 1, 3, 2), (3, 32, 1, 7, 2), (8, 8, 8, 3, 1),
                     (8, 8, 8, 3, 2), (1, 32, 1, 5, 1), (16, 32, 1, 3, 1), (64, 64, 1, 3, 1),
                     (4, 8, 2, 3, 1)]


@pytest.mark.parametrize("layer", _DEPTH_ONE_LAYERS)
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depth_one_output_reading_only_padding(layer, data_format, dtype):
    # conv3d on a depth of 1, kernel depth 1, depth stride 2 and one zero plane before:
    # the one output depth reads only the padding, so the output is the bias and both
    # gradients are zero (the 2-D kernels, which take depth-1 layers, once computed it from
    # the input's plane: the small-map strategies, found by Hypothesis; then, on an AVX2
    # machine whose 4-lane float64 vectors let the few-channel kernels take (3 -> 4), every
    # 2-D family below, which now all ask ConvGeometry.planar)
    C, K, groups, k, s = layer
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, C, 1, 12, 12)).astype(dtype)
    w = rng.standard_normal((K, C // groups, 1, k, k)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    p = k // 2
    kw = dict(stride=(2, s, s), padding=((1, 0), (p, p), (p, p)), groups=groups,
              data_format=data_format)
    last = data_format == "channels_last"
    xs = np.ascontiguousarray(np.moveaxis(x, 1, -1)) if last else x
    y = nc.conv3d(xs, w, b, **kw)
    side = (12 - 1) // s + 1
    assert y.shape == ((2, 1, side, side, K) if last else (2, K, 1, side, side))
    np.testing.assert_array_equal(y, np.broadcast_to(b, y.shape) if last
                                  else np.broadcast_to(b[:, None, None, None], y.shape))
    g = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(grad.conv3d_input(xs.shape, w, g, **kw), 0)
    np.testing.assert_array_equal(grad.conv3d_weight(xs, w.shape, g, **kw), 0)


@pytest.mark.parametrize("xs, ws, pad, groups, layout", [
    ((1, 1, 16), (1, 1, 3), 0, 1, "channels_first"),          # the direct loops, 1-D
    ((2, 3, 9), (4, 3, 2), 1, 1, "channels_first"),
    ((1, 16, 1), (1, 1, 3), 0, 1, "channels_last"),           # the channels-last direct loops
    ((2, 9, 3), (4, 3, 2), 1, 1, "channels_last"),
    ((1, 4, 4, 1), (1, 1, 3, 3), 1, 1, "channels_last"),      # depthwise, channels-last
    ((2, 9, 7, 16), (16, 1, 3, 3), 1, 16, "channels_last"),
])
def test_tiny_direct_and_depthwise_calls_keep_prepared_passes(xs, ws, pad, groups, layout):
    # a repeated tiny call whose layer the direct loops or the channels-last depthwise
    # kernel compute runs the pass its first call prepared (cpu.conv._forward_runner: no
    # routing per call): new values each call, against the float64 oracle, and the same
    # bits as the general launcher (cpu.conv._conv_forward) gives the same arrays
    from numbaconv.api import conv as api_conv

    conv = nc.conv2d if len(xs) == 4 else nc.conv1d
    last = layout == "channels_last"
    rng = np.random.default_rng(len(xs) * 7 + ws[0])
    for call in range(3):
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        b = rng.standard_normal(ws[0]).astype(np.float32) if call != 1 else None
        got = conv(x, w, b, padding=pad, groups=groups, data_format=layout)
        xc = np.moveaxis(x, -1, 1) if last else x
        want = conv_reference(xc.astype(np.float64), w.astype(np.float64),
                              None if b is None else b.astype(np.float64),
                              pads=((pad, pad),) * (len(xs) - 2), groups=groups)
        np.testing.assert_allclose(np.moveaxis(got, -1, 1) if last else got, want,
                                   rtol=1e-4, atol=1e-4)
        key = api_conv._seen_key(len(xs) - 2, x, w, b, 1, pad, 1, groups, "zeros", layout,
                                 x.dtype)
        run = api_conv._SEEN[key][1]
        assert not isinstance(run, functools.partial)  # a prepared pass, not the router
        spec = conv_spec("forward", len(xs) - 2, x.shape, w.shape, padding=pad,
                         groups=groups, data_format=layout)
        routed = np.empty_like(got)
        cpu_conv._conv_forward(x, w, b, routed, spec.geometry)
        np.testing.assert_array_equal(got, routed)
