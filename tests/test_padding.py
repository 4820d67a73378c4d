"""numbaconv.pad against numpy.pad, the oracle, on every mode and pad_width form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numbaconv as nc

MODES = ["constant", "edge", "reflect", "symmetric", "wrap"]
ALIASES = {"zeros": "constant", "replicate": "edge", "circular": "wrap"}
DTYPES = [np.float64, np.float32, np.int32, np.int64, np.uint8, np.bool_, np.complex128]


@st.composite
def arrays_and_widths(draw, max_dims=4):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=6))
    x = draw(hnp.arrays(dtype, shape, elements=st.integers(0, 100).map(lambda v: v % 2 if dtype is np.bool_ else v)))
    # pads up to 3x wider than the axis exercise numpy's repeated mirroring
    widths = tuple((draw(st.integers(0, 3 * n + 1)), draw(st.integers(0, 3 * n + 1))) for n in shape)
    return x, widths


@given(arrays_and_widths(), st.sampled_from(MODES))
def test_matches_numpy_pad(xw, mode):
    x, widths = xw
    expected = np.pad(x, widths, mode=mode)
    got = nc.pad(x, widths, mode=mode)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@given(arrays_and_widths(max_dims=3), st.data())
def test_constant_values_per_axis_like_numpy(xw, data):
    x, widths = xw
    cv = tuple((data.draw(st.integers(0, 9)), data.draw(st.integers(0, 9))) for _ in x.shape)
    np.testing.assert_array_equal(nc.pad(x, widths, constant_values=cv),
                                  np.pad(x, widths, constant_values=cv))


@pytest.mark.parametrize("alias, mode", ALIASES.items())
def test_deep_learning_aliases(alias, mode):
    x = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(nc.pad(x, 2, mode=alias), np.pad(x, 2, mode=mode))


@pytest.mark.parametrize("pad_width", [3, (3,), (1, 2), ((1, 2),), ((1, 2), (0, 4)), [[2, 0], [1, 1]], np.array([1, 2])])
def test_pad_width_forms(pad_width):
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(nc.pad(x, pad_width, "reflect"), np.pad(x, pad_width, "reflect"))


def test_single_element_axis_reflect_repeats_like_numpy():
    x = np.array([[5.0]])
    for mode in MODES:
        np.testing.assert_array_equal(nc.pad(x, 3, mode), np.pad(x, 3, mode))


def test_zero_size_and_zero_d():
    empty = np.zeros((0, 3))
    np.testing.assert_array_equal(nc.pad(empty, 1), np.pad(empty, 1))
    with pytest.raises(ValueError, match="empty axis"):
        nc.pad(empty, 1, mode="reflect")
    s = np.array(4.0)
    assert nc.pad(s, 2).shape == np.pad(s, 2).shape == ()


def test_awkward_inputs_work_and_are_not_modified():
    base = np.arange(24.0).reshape(4, 6)
    fortran = np.asfortranarray(base)
    strided = base[::2, ::-1]
    big_endian = base.astype(">f8")
    readonly = base.copy()
    readonly.flags.writeable = False
    for x in (fortran, strided, big_endian, readonly, base.tolist()):
        before = np.array(x, copy=True)
        np.testing.assert_array_equal(nc.pad(x, 2, "symmetric"), np.pad(np.asarray(x), 2, "symmetric"))
        np.testing.assert_array_equal(np.asarray(x), before)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)),
       st.integers(0, 4))
def test_pad_then_crop_is_identity(x, p):
    assume(x.size > 0)
    out = nc.pad(x, p, mode="wrap")
    crop = tuple(slice(p, p + n) for n in x.shape)
    np.testing.assert_array_equal(out[crop], x)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(mode="mirror"), ValueError, "mode must be one of"),
    (dict(pad_width=-1), ValueError, "pad_width must be non-negative"),
    (dict(pad_width=((1, 2), (1, 2), (1, 2))), ValueError, "cannot be broadcast"),
    (dict(pad_width="2"), TypeError, "pad_width must be"),
    (dict(pad_width=1.5), TypeError, "pad_width must be"),
    (dict(constant_values="a"), TypeError, "constant_values"),
])
def test_bad_arguments(kwargs, exc, match):
    args = dict(x=np.ones((2, 3)), pad_width=1) | kwargs
    with pytest.raises(exc, match=match):
        nc.pad(**args)


@pytest.mark.parametrize("x", [np.array(["a", "b"]), np.array([object(), 1], dtype=object)])
def test_non_numeric_dtype_is_a_type_error(x):
    with pytest.raises(TypeError, match="x has unsupported dtype"):
        nc.pad(x, 1)


def test_out_receives_the_padded_array():
    x = np.arange(12.0).reshape(3, 4)
    want = np.pad(x, ((1, 2), (0, 3)), "symmetric")
    out = np.full_like(want, np.nan)
    assert nc.pad(x, ((1, 2), (0, 3)), "symm", out=out) is out
    np.testing.assert_array_equal(out, want)
    big = np.zeros((want.shape[0], 2 * want.shape[1]))
    assert nc.pad(x, ((1, 2), (0, 3)), "symmetric", out=big[:, 1::2]) is not None
    np.testing.assert_array_equal(big[:, 1::2], want)
    assert not big[:, ::2].any()
    with pytest.raises(ValueError, match="shape"):
        nc.pad(x, 1, out=np.empty((5, 5)))
    with pytest.raises(TypeError, match="dtype"):
        nc.pad(x, 1, out=np.empty((5, 6), np.float32))
    buf = np.zeros(40)
    with pytest.raises(ValueError, match="shares memory"):
        nc.pad(buf[:12].reshape(3, 4), 1, out=buf[10:40].reshape(5, 6))
    zero_d = np.empty(())
    assert nc.pad(np.array(3.0), 2, out=zero_d) is zero_d and zero_d == 3.0


@pytest.mark.parametrize("mode", MODES)
def test_large_pads_on_threads_match_numpy_and_the_serial_path(mode):
    # above SERIAL_BYTES the rows go to the threads Numba uses; the answer must not change
    from numbaconv.cpu import padding as cpu_padding

    x = np.random.default_rng(3).standard_normal((3, 300, 257))
    want = np.pad(x, ((0, 1), (5, 7), (9, 4)), mode)
    assert want.nbytes > cpu_padding.SERIAL_BYTES
    np.testing.assert_array_equal(nc.pad(x, ((0, 1), (5, 7), (9, 4)), mode), want)


def test_signal_boundary_names_are_the_padding_table():
    from numbaconv.core import padding as padspec

    for name in padspec.BOUNDARY_NAMES:
        assert padspec.resolve_boundary(name) == padspec.MODE_NAMES[name]
    with pytest.raises(ValueError, match="Acceptable boundary flags.*'reflect'"):
        padspec.resolve_boundary("reflect")  # a numpy.pad mode, not a scipy boundary
    x = np.arange(5.0)
    np.testing.assert_array_equal(nc.pad(x, 2, "symm"), np.pad(x, 2, "symmetric"))
    np.testing.assert_array_equal(nc.pad(x, 2, "fill"), np.pad(x, 2))


@given(arrays_and_widths(max_dims=3), st.sampled_from(MODES), st.integers(0, 9))
def test_repeated_calls_take_the_seen_pass_and_match_numpy(xw, mode, cv):
    # the second and third calls with the same shapes and arguments run the pass the first
    # one kept (api.padding._SEEN); each against numpy.pad, on fresh data each time
    from numbaconv.api import padding as api_padding

    x, widths = xw
    kw = {"constant_values": cv} if mode == "constant" else {}
    for seed in range(3):
        y = (x + seed).astype(x.dtype) if x.dtype != np.bool_ else x ^ bool(seed % 2)
        np.testing.assert_array_equal(nc.pad(y, widths, mode, **kw), np.pad(y, widths, mode, **kw))
    assert (x.shape, x.dtype, widths, mode, cv if mode == "constant" else 0) in api_padding._SEEN


def test_seen_calls_do_not_share_entries_across_equal_arguments():
    # values equal under == must not find each other's pass: True == 1, -0.0 == 0.0, and a
    # non-contiguous view of a seen shape; a large pad's kept pass runs on the threads
    from numbaconv.cpu import padding as cpu_padding

    x = np.arange(12.0).reshape(3, 4)
    for _ in range(2):
        np.testing.assert_array_equal(nc.pad(x, 1), np.pad(x, 1))
        np.testing.assert_array_equal(nc.pad(x, 1, constant_values=-0.0),
                                      np.pad(x, 1, constant_values=-0.0))
        assert np.signbit(nc.pad(x, 1, constant_values=-0.0)[0, 0])
        assert not np.signbit(nc.pad(x, 1, constant_values=0)[0, 0])
        np.testing.assert_array_equal(nc.pad(x.T, 1, "reflect"), np.pad(x.T, 1, "reflect"))
        np.testing.assert_array_equal(nc.pad(x[:, ::2], (1, 2), "wrap"),
                                      np.pad(x[:, ::2], (1, 2), "wrap"))
    with pytest.raises((TypeError, ValueError)):
        nc.pad(x, True)
    big = np.random.default_rng(4).standard_normal((2, 300, 257))
    want = np.pad(big, ((0, 1), (5, 7), (9, 4)), "symmetric")
    assert want.nbytes > cpu_padding.SERIAL_BYTES
    for _ in range(2):
        np.testing.assert_array_equal(nc.pad(big, ((0, 1), (5, 7), (9, 4)), "symmetric"), want)
    buf = np.empty_like(want)
    assert nc.pad(big, ((0, 1), (5, 7), (9, 4)), "symmetric", out=buf) is buf
    np.testing.assert_array_equal(buf, want)
