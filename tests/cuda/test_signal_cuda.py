"""CUDA signal convolution against scipy.signal (tiny shapes: the simulator is slow)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from devutil import to_device, to_host
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaconv as nc

MODES = ["full", "same", "valid"]


def _dominates(s1, s2):
    return all(a >= b for a, b in zip(s1, s2, strict=True)) or all(
        b >= a for a, b in zip(s1, s2, strict=True))


@st.composite
def pairs(draw, min_dims=1, max_dims=2, dtype=np.float64):
    nd = draw(st.integers(min_dims, max_dims))
    s1 = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=4))
    s2 = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=4))
    el = st.integers(-5, 5).map(float)
    return (draw(hnp.arrays(dtype, s1, elements=el)), draw(hnp.arrays(dtype, s2, elements=el)))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@given(ab=pairs(max_dims=3), mode=st.sampled_from(MODES))
def test_nd_on_device_matches_scipy(name, ab, mode):
    a, b = ab
    if mode == "valid" and not _dominates(a.shape, b.shape):
        return
    got = to_host(getattr(nc, name)(to_device(a), to_device(b), mode))
    np.testing.assert_allclose(got, getattr(ss, name)(a, b, mode, method="direct"), atol=1e-12)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@given(ab=pairs(2, 2), mode=st.sampled_from(MODES),
       boundary=st.sampled_from(["fill", "wrap", "symm"]), fillvalue=st.sampled_from([0, 2.0]))
def test_2d_on_device_matches_scipy(name, ab, mode, boundary, fillvalue):
    a, b = ab
    if mode == "valid" and not _dominates(a.shape, b.shape):
        return
    got = to_host(getattr(nc, name)(to_device(a), to_device(b), mode, boundary, fillvalue))
    np.testing.assert_allclose(got, getattr(ss, name)(a, b, mode, boundary, fillvalue), atol=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # simulator: int8 wraps
def test_complex_integer_and_swapped_inputs_on_device():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    for name in ("convolve", "correlate"):
        for mode in MODES:
            got = to_host(getattr(nc, name)(to_device(a), to_device(b), mode))
            np.testing.assert_allclose(got, getattr(ss, name)(a, b, mode, method="direct"), atol=1e-12)
    got = to_host(nc.correlate2d(to_device(a), to_device(b), "valid"))
    np.testing.assert_allclose(got, ss.correlate2d(a, b, "valid"), atol=1e-12)
    x = np.full(6, 100, np.int8)
    k = np.array([3, 2, 1], np.int8)
    got = to_host(nc.convolve(to_device(x), to_device(k)))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, ss.convolve(x, k, method="direct"))  # wraps like scipy


def test_even_kernel_offsets_and_errors_on_device():
    x = np.arange(1.0, 8.0)
    k = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(to_host(nc.correlate(to_device(x), to_device(k), "same")),
                               ss.correlate(x, k, "same"))
    np.testing.assert_allclose(
        to_host(nc.correlate2d(to_device(x[None]), to_device(k[None]), "same")),
        ss.correlate2d(x[None], k[None], "same"))
    with pytest.raises(ValueError, match="only available for host"):
        nc.convolve(to_device(x), to_device(k), method="fft")
    assert nc.choose_conv_method(to_device(x), to_device(k)) == "direct"
    with pytest.raises(TypeError, match="same device"):
        nc.convolve(to_device(x), k)


def test_out_on_device_and_fft_functions_refuse_device_arrays():
    from numba import cuda

    a = np.arange(12.0).reshape(3, 4)
    k = np.array([[1.0, -2.0], [0.5, 3.0]])
    for name, args in [("convolve", ("same",)), ("correlate", ("full",)),
                       ("convolve2d", ("same", "symm")), ("correlate2d", ("valid",))]:
        want = getattr(ss, name)(a, k, *args)
        out = cuda.device_array(want.shape, dtype=want.dtype)
        got = getattr(nc, name)(to_device(a), to_device(k), *args, out=out)
        assert got is out
        np.testing.assert_allclose(to_host(out), want, atol=1e-12)
    with pytest.raises(TypeError, match="dtype"):
        nc.convolve(to_device(a), to_device(k), out=cuda.device_array((4, 5), np.float32))
    with pytest.raises(TypeError, match="CUDA array"):
        nc.convolve(to_device(a), to_device(k), out=np.empty((4, 5)))
    for fn in (nc.fftconvolve, nc.oaconvolve):
        with pytest.raises(TypeError, match="runs on the CPU"):
            fn(to_device(a), to_device(k))
