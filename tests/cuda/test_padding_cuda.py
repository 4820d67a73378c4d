"""CUDA pad kernel against numpy.pad (tiny shapes: the simulator is slow)."""

from __future__ import annotations

import numpy as np
import pytest
from devutil import to_device, to_host
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaconv as nc


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-5, 5, width=32)),
       st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]),
       st.data())
def test_pad_on_device_matches_numpy(x, mode, data):
    widths = tuple((data.draw(st.integers(0, 2 * n)), data.draw(st.integers(0, 2 * n))) for n in x.shape)
    got = to_host(nc.pad(to_device(x), widths, mode=mode))
    np.testing.assert_array_equal(got, np.pad(x, widths, mode=mode))


def test_constant_values_and_non_contiguous_device_input():
    x = np.arange(30.0).reshape(5, 6)
    d = to_device(x)[::2, 1::2]  # a strided device view
    got = to_host(nc.pad(d, ((1, 2), (2, 1)), constant_values=((1, 2), (3, 4))))
    np.testing.assert_array_equal(got, np.pad(x[::2, 1::2], ((1, 2), (2, 1)), constant_values=((1, 2), (3, 4))))


def test_mixed_host_and_device_is_refused():
    from numbaconv.core.dispatch import backend_of
    with pytest.raises(TypeError, match="same device"):
        backend_of(x=to_device(np.ones(3)), weight=np.ones(3))


def test_out_on_device():
    from numba import cuda

    x = np.arange(6.0).reshape(2, 3)
    out = cuda.device_array((4, 7))
    assert nc.pad(to_device(x), ((1, 1), (2, 2)), "reflect", out=out) is out
    np.testing.assert_array_equal(to_host(out), np.pad(x, ((1, 1), (2, 2)), "reflect"))
    with pytest.raises(ValueError, match="shape"):
        nc.pad(to_device(x), 1, out=cuda.device_array((4, 4)))
