"""Output-size formulas against the textbook formulas and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import numbaconv as nc

n_ = st.integers(1, 300)
k_ = st.integers(1, 12)
s_ = st.integers(1, 6)
d_ = st.integers(1, 4)


def windows_that_fit(n_padded, k, s, d):
    """Brute force: count window starts whose last tap stays inside the padded input."""
    return sum(1 for start in range(0, n_padded, s) if start + d * (k - 1) < n_padded)


@given(n_, k_, s_)
def test_valid_is_textbook_floor(n, k, s):
    assume(k <= n)
    assert nc.conv_output_size(n, k, s) == math.floor((n - k) / s) + 1
    assert nc.conv_output_size(n, k, s, "valid") == (n - k) // s + 1


@given(n_, k_, s_, st.integers(0, 5))
def test_padded_layer_formula(n, k, s, p):
    # course notes: W2 = (W1 - F + 2P)/S + 1, rounded down
    assume(n + 2 * p >= k)
    assert nc.conv_output_size(n, k, s, p) == (n - k + 2 * p) // s + 1


@given(n_, k_, s_, d_, st.integers(0, 6), st.integers(0, 6))
def test_conv_size_matches_brute_force(n, k, s, d, lo, hi):
    assume(n + lo + hi >= d * (k - 1) + 1)
    assert nc.conv_output_size(n, k, s, (lo, hi), d) == windows_that_fit(n + lo + hi, k, s, d)


@given(n_, k_, s_, d_)
def test_same_is_ceil_n_over_s(n, k, s, d):
    lo, hi = nc.same_padding(n, k, s, d)
    assert nc.conv_output_size(n, k, s, "same", d) == math.ceil(n / s)
    assert hi - lo in (0, 1)  # TensorFlow: the odd extra goes after
    # the padding is the least that makes the last window fit
    assert windows_that_fit(n + lo + hi, k, s, d) == math.ceil(n / s)
    if lo + hi > 0:
        assert windows_that_fit(n + lo + hi - 1, k, s, d) < math.ceil(n / s)


def test_same_padding_documented_cases():
    assert nc.same_padding(224, 7, 2) == (2, 3)
    assert nc.same_padding(225, 7, 2) == (3, 3)
    assert nc.same_padding(5, 3, 1) == (1, 1)  # p = (k-1)/2 keeps the size at stride 1
    assert nc.same_padding(4, 4, 1) == (1, 2)


@given(n_, k_, d_)
def test_full_and_causal(n, k, d):
    assert nc.conv_output_size(n, k, 1, "full", d) == n + d * (k - 1)
    assert nc.conv_output_size(n, k, 1, "causal", d) == n


def torch_pool_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape written out independently."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


@given(n_, k_, s_, d_, st.integers(0, 6), st.booleans())
def test_pool_size_matches_pytorch_rule(n, k, s, d, p, ceil_mode):
    assume(2 * p <= d * (k - 1) + 1 and n + 2 * p >= d * (k - 1) + 1)
    assert nc.pool_output_size(n, k, s, p, d, ceil_mode) == torch_pool_size(n, k, s, p, d, ceil_mode)


@given(n_, k_)
def test_pool_stride_defaults_to_kernel(n, k):
    assume(k <= n)
    # course notes: W2 = (W1 - F)/S + 1 with S = F
    assert nc.pool_output_size(n, k) == (n - k) // k + 1


@given(n_, k_, s_)
def test_pool_same_and_valid_follow_tensorflow(n, k, s):
    assert nc.pool_output_size(n, k, s, "same") == math.ceil(n / s)
    if k <= n:
        assert nc.pool_output_size(n, k, s, "valid") == math.ceil((n - k + 1) / s)


def test_pool_ceil_mode_drops_window_starting_in_padding():
    # n=4, k=2, s=2, p=1: ceil gives 4 windows, but the 4th starts at 6 >= n + p = 5
    assert nc.pool_output_size(4, 2, 2, 1, ceil_mode=True) == 3
    assert nc.pool_output_size(5, 2, ceil_mode=True) == 3
    assert nc.pool_output_size(5, 2, ceil_mode=False) == 2


@given(st.integers(1, 60), k_, s_, st.integers(0, 6))
def test_unpool_size_inverts_floor_pooling(m, k, s, p):
    """Every input length a floor pooling maps to n is accepted back, the default is the
    shortest of them, and the stride bounds are strict (PyTorch's max_unpool rule)."""
    from numbaconv.shapes import unpool_output_size

    assume(2 * p <= k and m + 2 * p >= k)
    n = (m + 2 * p - k) // s + 1  # the textbook floor formula, written out
    default = (n - 1) * s - 2 * p + k
    if default >= 1:
        assert unpool_output_size(n, k, s, p) == default
        assert default <= m < default + s
    assert unpool_output_size(n, k, s, p, output_size=m) == m
    for bad in (default - s, default + s):
        if bad >= 1:
            with pytest.raises(ValueError, match="output_size"):
                unpool_output_size(n, k, s, p, output_size=bad)


def test_unpool_size_defaults_and_empty():
    from numbaconv.shapes import unpool_output_size

    assert unpool_output_size(2, 2) == 4  # stride defaults to kernel_size
    with pytest.raises(ValueError, match="empty"):
        unpool_output_size(1, 1, 1, 1)  # 0*1 - 2 + 1 < 1


@pytest.mark.parametrize("call, match", [
    (lambda: nc.conv_output_size(0, 3), "n must be >= 1"),
    (lambda: nc.conv_output_size(5, 0), "kernel_size must be >= 1"),
    (lambda: nc.conv_output_size(5, 3, stride=0), "stride must be >= 1"),
    (lambda: nc.conv_output_size(5, 3, dilation=-1), "dilation must be >= 1"),
    (lambda: nc.conv_output_size(5, 3, padding=-1), "padding must be >= 0"),
    (lambda: nc.conv_output_size(2, 3), "output would be empty"),
    (lambda: nc.conv_output_size(5, 2, dilation=5), "output would be empty"),
    (lambda: nc.conv_output_size(5, 3, padding="half"), "padding must be one of"),
    (lambda: nc.conv_output_size(5, 3, padding=(1, 2, 3)), "padding must be an int"),
    (lambda: nc.pool_output_size(5, 2, padding=2), "at most half"),
    (lambda: nc.pool_output_size(5, 2, padding="causal"), "padding must be one of"),
    (lambda: nc.pool_output_size(2, 5), "output would be empty"),
    (lambda: nc.same_padding(5, 3, stride=0), "stride must be >= 1"),
])
def test_bad_values_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("bad", [2.5, 2.0, "3", True, None, np.float64(3)])
def test_non_integers_raise_type_error(bad):
    with pytest.raises(TypeError, match="kernel_size must be an integer"):
        nc.conv_output_size(10, bad)


def test_numpy_integers_are_accepted():
    assert nc.conv_output_size(np.int64(10), np.int32(3), np.uint8(1)) == 8


@given(n_, k_, s_, d_, st.integers(0, 4), st.data())
def test_transposed_size_inverts_the_forward_size(n, k, s, d, p, data):
    # every input length m that the forward conv maps to n is reached by some output_padding
    assume(n + 2 * p >= d * (k - 1) + 1)
    out = nc.conv_output_size(n, k, s, p, d)
    op = data.draw(st.integers(0, max(s, d) - 1))
    want = (out - 1) * s - 2 * p + d * (k - 1) + op + 1  # PyTorch's documented formula
    if want < 1:  # (an output_padding too small for this padding: an empty output, refused)
        with pytest.raises(ValueError, match="empty transposed-convolution output"):
            nc.conv_transpose_output_size(out, k, s, p, d, op)
        return
    m = nc.conv_transpose_output_size(out, k, s, p, d, op)
    assert m == want
    if op == (n + 2 * p - d * (k - 1) - 1) % s:
        assert m == n


def test_transposed_size_rejects_large_output_padding():
    with pytest.raises(ValueError, match="output_padding"):
        nc.conv_transpose_output_size(5, 3, stride=2, output_padding=2)
