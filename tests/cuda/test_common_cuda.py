"""The CUDA backend's shared helpers: the parameter-array cache and numba's arrays kept as
they are."""

from __future__ import annotations

import numpy as np
from devutil import to_device, to_host
from oracles import conv_reference, conv_transpose_reference

import numbaconv as nc
from numbaconv.cuda import common
from numbaconv.cuda.memory import asarray


def test_parameter_copies_are_reused_by_content():
    geo = np.arange(12, dtype=np.int64)
    first = common.to_device(geo)
    assert common.to_device(geo.copy()) is first  # same bytes: the same device copy
    other = common.to_device(geo[::-1])
    assert other is not first
    np.testing.assert_array_equal(to_host(other), geo[::-1])
    as_int32 = common.to_device(geo.astype(np.int32))  # same values, another dtype
    assert as_int32 is not first and as_int32.dtype == np.int32


def test_a_new_context_empties_the_parameter_cache(monkeypatch):
    geo = np.arange(5, dtype=np.int64)
    first = common.to_device(geo)

    class Context:  # stands for the context numba makes after cuda.close()
        pass

    new = Context()
    monkeypatch.setattr(common, "_owner", lambda: new)
    again = common.to_device(geo)
    assert again is not first and common.to_device(geo) is again
    np.testing.assert_array_equal(to_host(again), geo)


def test_the_parameter_cache_is_bounded_and_skips_large_arrays(monkeypatch):
    monkeypatch.setattr(common, "PARAMS_CACHED", 4)
    for i in range(10):
        common.to_device(np.full(3, i, np.int64))
    assert len(common._PARAMS) <= 4
    big = np.zeros(common.PARAMS_MAX_BYTES // 8 + 1, np.int64)
    assert common.to_device(big) is not common.to_device(big)


def test_a_repeated_unbiased_conv_stays_right():
    # the zero bias comes from the parameter cache: the kernels must leave it zero
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((1, 3, 3, 3))
    want, want_dx = conv_reference(x, w), conv_transpose_reference(g, w, out_size=(5, 5))
    for _ in range(3):  # the forward and the input gradient share the cached zero bias
        np.testing.assert_allclose(to_host(nc.conv2d(to_device(x), to_device(w))), want,
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            to_host(nc.grad.conv2d_input(x.shape, to_device(w), to_device(g))), want_dx,
            rtol=1e-12, atol=1e-12)


def test_numba_device_arrays_are_taken_as_they_are():
    d = to_device(np.arange(6.0))
    assert asarray(d, "x") is d
