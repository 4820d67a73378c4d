"""Winograd F(2x2, 3x3) forward (numbaconv.cpu.winograd) against independent oracles.

Oracles: the sum over input channels of ``scipy.signal.correlate(x_padded, w, 'valid')``
in float64 (NaN / inf semantics included); PyTorch on a ResNet shape when installed.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from numbaconv.cpu import conv as cpu_conv
from numbaconv.cpu import winograd as wg


def ref_dilated(x, w, bias, lh, lw, dh, dw, Ho, Wo):
    """float64 reference for a dilated 3x3 layer: the zero-inserted kernel, scipy correlate."""
    x = np.asarray(x, np.float64)
    N, C, H, W = x.shape
    K = w.shape[0]
    wd = np.zeros((K, C, 2 * dh + 1, 2 * dw + 1))
    wd[:, :, ::dh, ::dw] = w
    xp = np.zeros((N, C, Ho + 2 * dh, Wo + 2 * dw))
    h = max(0, min(H, Ho + 2 * dh - lh))
    wdt = max(0, min(W, Wo + 2 * dw - lw))
    xp[:, :, lh:lh + h, lw:lw + wdt] = x[:, :, :h, :wdt]
    out = np.empty((N, K, Ho, Wo))
    for n in range(N):
        for k in range(K):
            acc = np.zeros((Ho, Wo))
            for c in range(C):
                acc += scipy.signal.correlate(xp[n, c], wd[k, c], mode="valid", method="direct")
            out[n, k] = acc + bias[k]
    return out


def ref_conv2d(x, w, bias, lh, lw, Ho, Wo):
    """float64 reference; padding after the data is whatever ``Ho``, ``Wo`` imply."""
    return ref_dilated(x, w, bias, lh, lw, 1, 1, Ho, Wo)


def run(x, w, bias, lh, lw, Ho, Wo, dh=1, dw=1):
    """The CPU launcher's Winograd step: Winograd, redone by GEMM where data is non-finite."""
    out = np.full((x.shape[0], w.shape[0], Ho, Wo), np.nan, dtype=x.dtype)
    cpu_conv._winograd_forward(x[:, :, None], w[:, :, None], bias, out[:, :, None],
                               (0, lh, lw), (1, dh, dw))
    return out


def check_close(got, want, dtype):
    scale = max(1.0, float(np.abs(want).max()))
    if dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * scale)
    else:
        assert np.abs(got - want).max() <= 1e-5 * scale


@st.composite
def problems(draw):
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 6))
    K = draw(st.integers(1, 5))
    H = draw(st.integers(1, 11))
    W = draw(st.integers(1, 11))
    lh = draw(st.integers(0, 2))
    lw = draw(st.integers(0, 2))
    # symmetric padding as deep learning layers use it, or an arbitrary amount after
    rh = draw(st.sampled_from([lh, draw(st.integers(0, 2))]))
    rw = draw(st.sampled_from([lw, draw(st.integers(0, 2))]))
    Ho, Wo = H + lh + rh - 2, W + lw + rw - 2
    if Ho < 1 or Wo < 1:
        Ho, Wo = max(Ho, 1), max(Wo, 1)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    with_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return N, C, K, H, W, lh, lw, Ho, Wo, dtype, with_bias, seed


@settings(deadline=None, max_examples=30)
@given(problems())
def test_matches_scipy(p):
    N, C, K, H, W, lh, lw, Ho, Wo, dtype, with_bias, seed = p
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((K, C, 3, 3)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype) if with_bias else np.zeros(K, dtype)
    got = run(x, w, b, lh, lw, Ho, Wo)
    assert got.dtype == dtype
    check_close(got, ref_conv2d(x, w, b, lh, lw, Ho, Wo), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_channels_many_blocks(dtype):
    # several work items, partial last tiles (odd H, W), C and K above the threshold
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 40, 23, 17)).astype(dtype)
    w = rng.standard_normal((36, 40, 3, 3)).astype(dtype)
    b = rng.standard_normal(36).astype(dtype)
    got = run(x, w, b, 1, 1, 23, 17)
    check_close(got, ref_conv2d(x, w, b, 1, 1, 23, 17), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resnet_shape_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 128, 28, 28)).astype(dtype)
    w = (rng.standard_normal((128, 128, 3, 3)) / 30).astype(dtype)
    b = rng.standard_normal(128).astype(dtype)
    got = run(x, w, b, 1, 1, 28, 28)
    want = torch.nn.functional.conv2d(*(torch.from_numpy(a.astype(np.float64)) for a in (x, w, b)),
                                      padding=1).numpy()
    check_close(got, want, dtype)


def test_deterministic_across_thread_counts():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 48, 30, 26)).astype(np.float32)
    w = rng.standard_normal((40, 48, 3, 3)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    before = numba.get_num_threads()
    try:
        outs = []
        for t in (1, 2, 1):
            numba.set_num_threads(min(t, numba.config.NUMBA_NUM_THREADS))
            outs.append(run(x, w, b, 1, 1, 30, 26))
    finally:
        numba.set_num_threads(before)
    assert outs[0].tobytes() == outs[1].tobytes() == outs[2].tobytes()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "w", "bias"])
def test_nonfinite_keeps_direct_semantics(bad, where):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 20, 12, 13))
    w = rng.standard_normal((18, 20, 3, 3))
    b = rng.standard_normal(18)
    a = {"x": x, "w": w, "bias": b}[where].reshape(-1)
    a[37 % a.size] = bad
    got = run(x, w, b, 1, 1, 12, 13)
    with np.errstate(invalid="ignore"):  # scipy's direct correlation, NaN/inf and all
        want = ref_conv2d(x, w, b, 1, 1, 12, 13)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    if where == "x":  # the damage stays local, as with direct convolution
        assert np.isfinite(got).mean() > 0.9


def test_nan_outside_every_window_is_ignored():
    # the last input row is read by no output (Ho = H - 2 with no padding)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 4, 8, 8))
    w = rng.standard_normal((3, 4, 3, 3))
    b = np.zeros(3)
    x[0, 1, 7, 7] = np.nan
    got = run(x, w, b, 0, 0, 5, 5)
    assert np.isfinite(got).all()
    check_close(got, ref_conv2d(x, w, b, 0, 0, 5, 5), np.float64)


def test_applies():
    assert wg.winograd_applies((8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1)
    assert wg.winograd_applies((8, 64, 56, 56), (64, 64, 3, 3), (1, 1), (1, 1), 1)
    assert not wg.winograd_applies((8, 64, 56, 56), (64, 64, 3, 3), 2, 1, 1)
    assert wg.winograd_applies((8, 64, 56, 56), (64, 64, 3, 3), 1, 2, 1)
    assert not wg.winograd_applies((8, 64, 56, 56), (64, 64, 3, 3), 1, 5, 1)
    assert not wg.winograd_applies((8, 64, 56, 56), (64, 32, 3, 3), 1, 1, 2)
    assert not wg.winograd_applies((8, 64, 56, 56), (64, 64, 5, 5), 1, 1, 1)
    assert not wg.winograd_applies((8, 3, 56, 56), (64, 3, 3, 3), 1, 1, 1)


@settings(max_examples=20)
@given(dh=st.integers(1, 4), dw=st.integers(1, 4), H=st.integers(1, 13), W=st.integers(1, 13),
       lh=st.integers(0, 5), lw=st.integers(0, 5), eh=st.integers(-2, 2), ew=st.integers(-2, 2),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_dilated_phases_match_scipy(dh, dw, H, W, lh, lw, eh, ew, dtype):
    # padding after = lh + eh (so Ho = H + lh + (lh + eh) - 2*dh), at least one output
    Ho = H + 2 * lh + eh - 2 * dh
    Wo = W + 2 * lw + ew - 2 * dw
    if Ho < 1 or Wo < 1:
        return
    rng = np.random.default_rng(H * 31 + W)
    x = rng.standard_normal((2, 5, H, W)).astype(dtype)
    w = rng.standard_normal((4, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out = run(x, w, b, lh, lw, Ho, Wo, dh, dw)
    check_close(out, ref_dilated(x, w, b, lh, lw, dh, dw, Ho, Wo), dtype)
