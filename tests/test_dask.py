"""numbaconv.dask on the threaded scheduler: every chunking gives the in-memory result.

Oracles: scipy.signal for the filters, torch (when installed) and textbook
formulas for the deep-learning operations; and, as the issue requires, the
in-memory numbaconv function on the same data (bitwise where the sums are
exact, within float tolerance otherwise).
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
scipy_signal = pytest.importorskip("scipy.signal")

import numba  # noqa: E402
import oracles  # noqa: E402

import numbaconv as nc  # noqa: E402
import numbaconv.dask as ncd  # noqa: E402

THREADED = {"scheduler": "threads", "num_workers": 2}


def compute(x):
    with dask.config.set(THREADED):
        return x.compute()


@st.composite
def chunking(draw, n):
    """A random partition of ``n`` (irregular chunks, single elements included)."""
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=n - 1)) if n > 1 else set()
    edges = [0, *sorted(cuts), n]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True))


@st.composite
def image_and_kernel(draw, ndim, max_side=9, max_k=5, dtypes=(np.float64, np.int64)):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=max_side))
    kshape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=max_k))
    ints = st.integers(-5, 5)
    x = draw(hnp.arrays(np.int64, shape, elements=ints)).astype(dtype)
    h = draw(hnp.arrays(np.int64, kshape, elements=ints)).astype(dtype)
    chunks = tuple(draw(chunking(n)) for n in shape)
    return x, h, chunks


# ------------------------------------------------------------------ signal filters


@given(image_and_kernel(2), st.sampled_from(["convolve2d", "correlate2d"]),
       st.sampled_from(["full", "same", "valid"]), st.sampled_from(["fill", "wrap", "symm"]),
       st.integers(-3, 3))
def test_2d_filters_every_chunking(xhc, name, mode, boundary, fill):
    x, h, chunks = xhc
    try:
        expected = getattr(scipy_signal, name)(x, h, mode=mode, boundary=boundary, fillvalue=fill)
    except ValueError:
        assume(False)
    got = compute(getattr(ncd, name)(da.from_array(x, chunks=chunks), h, mode=mode,
                                      boundary=boundary, fillvalue=fill))
    inmem = getattr(nc, name)(x, h, mode=mode, boundary=boundary, fillvalue=fill)
    np.testing.assert_array_equal(got, expected)  # integer-valued data: every sum is exact
    np.testing.assert_array_equal(got, inmem)
    assert got.dtype == inmem.dtype


@pytest.mark.parametrize("ndim", [1, 3])
@given(data=st.data())
def test_nd_filters_every_chunking(ndim, data):
    x, h, chunks = data.draw(image_and_kernel(ndim, max_side=7 if ndim == 1 else 4,
                                              max_k=4 if ndim == 1 else 3))
    name = data.draw(st.sampled_from(["convolve", "correlate"]))
    mode = data.draw(st.sampled_from(["full", "same", "valid"]))
    method = data.draw(st.sampled_from(["direct", "auto"]))
    try:
        expected = getattr(scipy_signal, name)(x, h, mode=mode, method="direct")
    except ValueError:
        assume(False)
    got = compute(getattr(ncd, name)(da.from_array(x, chunks=chunks), h, mode=mode, method=method))
    inmem = getattr(nc, name)(x, h, mode=mode, method=method)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    np.testing.assert_allclose(got, inmem, atol=1e-9)
    assert got.shape == expected.shape and got.dtype == inmem.dtype


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_real_valued_9x9_float32(boundary, mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 41)).astype(np.float32)
    h = rng.standard_normal((9, 9)).astype(np.float32)
    got = compute(ncd.convolve2d(da.from_array(x, chunks=(10, 7)), h, mode, boundary))
    expected = scipy_signal.convolve2d(x.astype(np.float64), h.astype(np.float64), mode, boundary)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, nc.convolve2d(x, h, mode, boundary), rtol=1e-6, atol=1e-5)


def test_even_kernel_same_offsets_follow_scipy():
    # correlate and correlate2d centre an even kernel one sample apart (scipy documents it)
    x = np.arange(30.0).reshape(5, 6)
    h = np.array([[1.0, 2.0], [3.0, 5.0]])
    dx = da.from_array(x, chunks=2)
    np.testing.assert_array_equal(compute(ncd.correlate(dx, h, "same")),
                                  scipy_signal.correlate(x, h, "same"))
    np.testing.assert_array_equal(compute(ncd.correlate2d(dx, h, "same")),
                                  scipy_signal.correlate2d(x, h, "same"))


def test_chunks_thinner_than_the_halo():
    x = np.arange(60.0).reshape(6, 10)
    h = np.ones((5, 7))
    y = ncd.convolve2d(da.from_array(x, chunks=1), h, "same", "symm")
    assert y.chunks == ((1,) * 6, (1,) * 10)  # each task reads several thin neighbours
    np.testing.assert_array_equal(compute(y), scipy_signal.convolve2d(x, h, "same", "symm"))


def test_kernel_larger_than_image_wraps_like_scipy():
    x = np.arange(6.0).reshape(2, 3)
    h = np.arange(20.0).reshape(4, 5)
    for mode in ("full", "same"):
        for boundary in ("wrap", "symm"):
            np.testing.assert_array_equal(
                compute(ncd.correlate2d(da.from_array(x, chunks=1), h, mode, boundary)),
                scipy_signal.correlate2d(x, h, mode, boundary))


def test_valid_with_larger_kernel_swaps_like_scipy_and_mixed_sizes_raise():
    x = np.arange(6.0).reshape(2, 3)
    h = np.arange(20.0).reshape(4, 5)
    for name in ("convolve2d", "correlate2d"):
        np.testing.assert_array_equal(
            compute(getattr(ncd, name)(da.from_array(x, chunks=1), h, "valid")),
            getattr(scipy_signal, name)(x, h, "valid"))
    with pytest.raises(ValueError, match="at least as large"):
        ncd.convolve2d(da.ones((2, 8), chunks=1), np.ones((3, 3)), "valid")


def test_lists_numpy_and_noncontiguous_input_accepted_and_not_modified():
    x = np.asfortranarray(np.arange(24.0).reshape(4, 6))[:, ::2]
    before = x.copy()
    expected = scipy_signal.convolve2d(x, [[1.0, 2.0]], "same")
    np.testing.assert_array_equal(compute(ncd.convolve2d(x, [[1.0, 2.0]], "same")), expected)
    np.testing.assert_array_equal(compute(ncd.convolve2d(x.tolist(), [[1.0, 2.0]], "same")), expected)
    np.testing.assert_array_equal(x, before)


def test_bad_arguments_name_the_argument():
    x = da.ones((5, 5), chunks=2)
    with pytest.raises(ValueError, match="mode"):
        ncd.convolve2d(x, np.ones((2, 2)), mode="middle")
    with pytest.raises(ValueError, match="boundary"):
        ncd.convolve2d(x, np.ones((2, 2)), boundary="mirror")
    with pytest.raises(ValueError, match="2-D"):
        ncd.convolve2d(x, np.ones(3))
    with pytest.raises(ValueError, match="dimensions"):
        ncd.convolve(x, np.ones(3))
    with pytest.raises(TypeError, match="in2"):
        ncd.convolve(x, np.array([["a"]]))


def test_each_task_reads_exactly_its_chunk_plus_the_kernel_halo(monkeypatch):
    seen = []

    def recorder(in1, in2, mode="full", method="auto"):
        seen.append(in1.shape)
        return scipy_signal.correlate(in1, in2, mode=mode)

    monkeypatch.setattr(nc, "correlate", recorder)
    x = np.arange(20.0)
    for mode, out_chunks, blocks in [("valid", (10, 6), [(14,), (10,)]),
                                     ("same", (10, 10), [(14,), (14,)]),
                                     ("full", (10, 14), [(14,), (18,)])]:
        seen.clear()
        y = ncd.correlate(da.from_array(x, chunks=10), np.ones(5), mode)
        assert y.chunks == (out_chunks,)
        got = y.compute(scheduler="sync")
        assert sorted(seen[1:]) == sorted(blocks)  # seen[0]: the argument probe
        np.testing.assert_array_equal(got, scipy_signal.correlate(x, np.ones(5), mode))


def test_same_mode_keeps_the_input_chunks():
    x = da.ones((30, 17), chunks=((7, 3, 20), (1, 16)))
    assert ncd.correlate2d(x, np.ones((4, 6)), "same", "wrap").chunks == x.chunks


# ------------------------------------------------------------------ deep learning


def _torch():
    return pytest.importorskip("torch")


@st.composite
def batch(draw, nd, channels=(1, 3)):
    n = draw(st.integers(1, 4))
    c = draw(st.integers(*channels))
    spatial = tuple(draw(st.integers(3, 7 if nd < 3 else 5)) for _ in range(nd))
    x = draw(hnp.arrays(np.float64, (n, c) + spatial, elements=st.integers(-4, 4).map(float)))
    chunks = tuple(draw(chunking(s)) for s in x.shape)
    return x, chunks


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_conv_batch_chunks_match_torch_and_inmemory(nd, data):
    torch = _torch()
    x, chunks = data.draw(batch(nd))
    k = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 2))
    padding = data.draw(st.sampled_from([0, 1, "same", "valid"]))
    assume(not (padding == "same" and stride > 1))  # torch refuses; numbaconv does not
    c = x.shape[1]
    w = data.draw(hnp.arrays(np.float64, (2, c) + (k,) * nd, elements=st.integers(-3, 3).map(float)))
    b = np.array([0.5, -1.0])
    fn = getattr(ncd, f"conv{nd}d")
    got = compute(fn(da.from_array(x, chunks=chunks), w, b, stride=stride, padding=padding))
    tf = getattr(torch.nn.functional, f"conv{nd}d")
    with warnings.catch_warnings():  # torch's note on 'same' with even kernels
        warnings.simplefilter("ignore", UserWarning)
        expected = tf(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                      stride=stride, padding=padding).numpy()
    np.testing.assert_array_equal(got, expected)  # integer-valued: exact
    np.testing.assert_array_equal(got, getattr(nc, f"conv{nd}d")(x, w, b, stride=stride,
                                                                 padding=padding))


def test_conv2d_keeps_batch_chunks_and_handles_unbatched_and_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    y = ncd.conv2d(da.from_array(x, chunks=(2, 1, 4, 3)), w, stride=2, padding="same",
                   padding_mode="reflect")
    assert y.chunks[0] == (2, 2, 1) and y.dtype == np.float32
    expected = nc.conv2d(x, w, stride=2, padding="same", padding_mode="reflect")
    np.testing.assert_allclose(compute(y), expected, rtol=1e-5, atol=1e-5)
    yu = compute(ncd.conv2d(da.from_array(x[0], chunks=2), w, padding=1))
    np.testing.assert_allclose(yu, nc.conv2d(x[0], w, padding=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_pooling_every_chunking_matches_torch(nd, data):
    torch = _torch()
    x, chunks = data.draw(batch(nd))
    k = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 3))
    pad = data.draw(st.integers(0, k // 2))
    ceil = data.draw(st.booleans())
    dx = da.from_array(x, chunks=chunks)
    tx = torch.from_numpy(x)
    got, idx = ncd.__dict__[f"max_pool{nd}d"](dx, k, stride, pad, ceil_mode=ceil,
                                              return_indices=True)
    got, idx = compute(got), compute(idx)
    ev, ei = getattr(torch.nn.functional, f"max_pool{nd}d")(tx, k, stride, pad, ceil_mode=ceil,
                                                            return_indices=True)
    np.testing.assert_array_equal(got, ev.numpy())
    np.testing.assert_array_equal(idx, ei.numpy())
    include = data.draw(st.booleans())
    avg = compute(getattr(ncd, f"avg_pool{nd}d")(dx, k, stride, pad, ceil_mode=ceil,
                                                  count_include_pad=include))
    eavg = getattr(torch.nn.functional, f"avg_pool{nd}d")(tx, k, stride, pad, ceil_mode=ceil,
                                                          count_include_pad=include).numpy()
    np.testing.assert_allclose(avg, eavg, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(avg, getattr(nc, f"avg_pool{nd}d")(
        x, k, stride, pad, ceil_mode=ceil, count_include_pad=include))


def test_pooling_keeps_batch_and_channel_chunks():
    x = da.ones((4, 6, 8, 8), chunks=(1, 2, 3, 8))
    y = ncd.max_pool2d(x, 2)
    assert y.chunks[:2] == ((1, 1, 1, 1), (2, 2, 2)) and y.shape == (4, 6, 4, 4)


# ------------------------------------------------------------------ activations


#: (kernel name of tests/oracles.py, form): elementwise functions across their families
ELEMENTWISE_CASES = [("relu", ""), ("sigmoid", ""), ("tanh", ""), ("silu", ""), ("softplus", ""),
                     ("elu", ""), ("relu", "_derivative"), ("sigmoid", "_derivative"),
                     ("gelu", "_derivative")]


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=6),
                  elements=st.floats(-6, 6)), st.sampled_from(ELEMENTWISE_CASES), st.data())
def test_elementwise_activations_any_chunking(x, case, data):
    name, form = case
    func = oracles.ACTIVATIONS[name].func + form
    params = oracles.ACTIVATIONS[name].params
    chunks = tuple(data.draw(chunking(n)) for n in x.shape)
    y = getattr(ncd, func)(da.from_array(x, chunks=chunks), **params)
    assert y.chunks == chunks
    got = compute(y)
    want = oracles.activation(name, x, derivative=form == "_derivative")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got, getattr(nc, func)(x, **params))


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=6),
                  elements=st.floats(-6, 6)), st.sampled_from(["relu", "gelu", "elu", "tanh"]),
       st.data())
def test_backward_with_differently_chunked_gradient(x, name, data):
    """``*_backward(g, x)`` = g * f'(x) (the oracle's derivative), whatever the two chunkings."""
    g = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    func = oracles.ACTIVATIONS[name].func
    params = oracles.ACTIVATIONS[name].params
    xc = tuple(data.draw(chunking(n)) for n in x.shape)
    gc = tuple(data.draw(chunking(n)) for n in x.shape)
    y = getattr(ncd, func + "_backward")(da.from_array(g, chunks=gc), da.from_array(x, chunks=xc),
                                         **params)
    assert y.chunks == xc
    got = compute(y)
    np.testing.assert_allclose(got, oracles.activation_backward(name, g, x),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got, getattr(nc, func + "_backward")(g, x, **params))


def test_backward_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="grad_output"):
        ncd.relu_backward(da.ones(3), da.ones(4))


def test_activation_parameters_pass_through():
    x = np.linspace(-3, 3, 13)
    got = compute(ncd.leaky_relu(da.from_array(x, chunks=4), negative_slope=0.25))
    np.testing.assert_allclose(got, np.where(x > 0, x, 0.25 * x))
    with pytest.raises((TypeError, ValueError)):
        ncd.relu(da.from_array(x, chunks=4), bogus=1)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.floats(-30, 30)), st.data())
def test_softmax_along_a_chunked_axis(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    chunks = tuple(data.draw(chunking(n)) for n in x.shape)
    dx = da.from_array(x, chunks=chunks)
    got = compute(ncd.softmax(dx, axis=axis))
    np.testing.assert_allclose(got, oracles.softmax(x, axis), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got, nc.softmax(x, axis=axis))
    np.testing.assert_allclose(compute(ncd.log_softmax(dx, axis=axis)),
                               oracles.log_softmax(x, axis), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="axis"):
        ncd.softmax(dx, axis=x.ndim)


def test_prelu_per_channel():
    x = np.linspace(-2, 2, 2 * 3 * 4).reshape(2, 3, 4)
    w = np.array([0.1, 0.2, 0.3])
    got = compute(ncd.prelu(da.from_array(x, chunks=1), w))
    np.testing.assert_allclose(got, oracles.prelu(x, w)[0])


# ------------------------------------------------------------------ threads


def test_numba_threads_per_task_rule():
    with dask.config.set(num_workers=1):
        assert ncd.numba_threads_per_task() == ncd.cores()
    with dask.config.set(num_workers=2 * ncd.cores()):
        assert ncd.numba_threads_per_task() == 1
    with dask.config.set({"numbaconv.numba-threads": 1}):
        assert ncd.numba_threads_per_task() == 1
    with pytest.raises(ValueError, match="threads"):
        ncd.numba_threads_per_task(0)


def test_tasks_set_and_restore_numba_threads():
    from numbaconv.dask._threads import run_in_task

    seen = []
    before = numba.get_num_threads()
    with dask.config.set(num_workers=ncd.cores()):
        run_in_task(lambda: seen.append(numba.get_num_threads()))
    assert seen == [1] and numba.get_num_threads() == before


def test_override_chosen_on_the_client_travels_with_the_graph(monkeypatch):
    seen = []

    def recorder(x):
        seen.append(numba.get_num_threads())
        return np.asarray(x, dtype=np.float64)

    monkeypatch.setattr(nc, "relu", recorder)
    x = da.ones((8, 8), chunks=4)
    with dask.config.set({"numbaconv.numba-threads": 1}):
        pinned = ncd.relu(x)
    free = ncd.relu(x)
    with dask.config.set(scheduler="threads", num_workers=1):
        seen.clear()
        pinned.compute()
        assert seen == [1] * 4
        seen.clear()
        free.compute()
        assert seen == [ncd.cores()] * 4


def test_import_numbaconv_does_not_import_dask():
    code = "import sys, numbaconv; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bitwise_identical_for_one_or_two_numba_threads_per_task():
    rng = np.random.default_rng(5)
    x = da.from_array(rng.standard_normal((40, 50)).astype(np.float32), chunks=(15, 20))
    h = rng.standard_normal((5, 4)).astype(np.float32)
    results = []
    for n in (1, 2):
        with dask.config.set({"numbaconv.numba-threads": n}):
            y = ncd.correlate2d(x, h, "full", "symm")
        results.append(compute(y))
    np.testing.assert_array_equal(results[0], results[1])



# ------------------------------------------------------------------ spatial chunks kept

SPATIAL = settings(max_examples=20, deadline=None)
PAD_MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]


@st.composite
def spatial_case(draw, nd, max_side):
    """A small (N, C, *spatial) batch with a random chunking of every axis (1-wide chunks too)."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    spatial = tuple(draw(st.integers(1, max_side)) for _ in range(nd))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dils = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    chunks = tuple(draw(chunking(s)) for s in (n, c) + spatial)
    return (n, c) + spatial, chunks, strides, dils


@pytest.mark.parametrize("nd", [1, 2, 3])
@SPATIAL
@given(data=st.data())
def test_conv_spatial_chunks_equal_inmemory(nd, data):
    shape, chunks, strides, dils = data.draw(spatial_case(nd, 9 if nd == 1 else 6 if nd == 2 else 4))
    ks = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = data.draw(st.sampled_from(
        [0, 1, 2, "same", "valid", "full"] + (["causal"] if nd == 1 else []) + ["pairs"]))
    if padding == "pairs":  # asymmetric (before, after) per axis
        padding = [(data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(nd)]
    mode = data.draw(st.sampled_from(PAD_MODES))
    groups = data.draw(st.sampled_from([1, shape[1]]))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-4, 4).map(float)))
    w = data.draw(hnp.arrays(np.float64, (2 * groups, shape[1] // groups) + ks,
                             elements=st.integers(-3, 3).map(float)))
    b = np.arange(2.0 * groups)
    kw = dict(stride=strides, padding=padding, dilation=dils, groups=groups, padding_mode=mode)
    try:
        expected = getattr(nc, f"conv{nd}d")(x, w, b, **kw)
    except ValueError:  # window wider than the padded input
        assume(False)
    y = getattr(ncd, f"conv{nd}d")(da.from_array(x, chunks=chunks), w, b, **kw)
    assert y.chunks[0] == chunks[0]  # batch chunks kept, spatial chunks follow the input
    assert all(len(o) <= len(i) for o, i in zip(y.chunks[2:], chunks[2:], strict=True))
    got = compute(y)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)



@pytest.mark.parametrize("nd", [1, 2])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_conv_channels_last_chunks_equal_inmemory(nd, data):
    shape, chunks, strides, dils = data.draw(spatial_case(nd, 9 if nd == 1 else 6))
    ks = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = data.draw(st.sampled_from([0, 1, "same", "valid"]))
    mode = data.draw(st.sampled_from(PAD_MODES))
    unbatched = data.draw(st.booleans())
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-4, 4).map(float)))
    w = data.draw(hnp.arrays(np.float64, (2, shape[1]) + ks, elements=st.integers(-3, 3).map(float)))
    # channels-last: (N, *spatial, C), chunks moved along with the axes
    xl = np.moveaxis(x, 1, -1)
    cl_chunks = (chunks[0],) + chunks[2:] + (chunks[1],)
    if unbatched:
        xl, cl_chunks = xl[0], cl_chunks[1:]
    kw = dict(stride=strides, padding=padding, dilation=dils, padding_mode=mode,
              data_format="channels_last")
    try:
        expected = getattr(nc, f"conv{nd}d")(xl, w, np.array([1.0, -1.0]), **kw)
    except ValueError:  # window wider than the padded input
        assume(False)
    y = getattr(ncd, f"conv{nd}d")(da.from_array(xl, chunks=cl_chunks), w, np.array([1.0, -1.0]),
                                   **kw)
    assert y.chunks[-1] == (2,)  # the output channels: one chunk, last
    np.testing.assert_array_equal(compute(y), expected)  # integer-valued: exact


MAX_VALUES = st.one_of(st.integers(-4, 4).map(float), st.sampled_from([-np.inf, np.nan]))


@st.composite
def pool_padding(draw, nd, ks, dils):
    kind = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
    effs = [d * (k - 1) + 1 for k, d in zip(ks, dils, strict=True)]
    if kind == "int":
        return draw(st.integers(0, min(effs) // 2))
    if kind == "pairs":
        return [(draw(st.integers(0, e // 2)), draw(st.integers(0, e // 2))) for e in effs]
    return kind


@pytest.mark.parametrize("nd", [1, 2, 3])
@SPATIAL
@given(data=st.data())
def test_max_pool_spatial_chunks_equal_inmemory_with_indices(nd, data):
    shape, chunks, strides, dils = data.draw(spatial_case(nd, 9 if nd == 1 else 6 if nd == 2 else 4))
    ks = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = data.draw(pool_padding(nd, ks, dils))
    ceil = data.draw(st.booleans())
    x = data.draw(hnp.arrays(np.float64, shape, elements=MAX_VALUES))  # -inf and NaN included
    f = getattr(nc, f"max_pool{nd}d")
    try:
        ev, ei = f(x, ks, strides, padding, dils, ceil, return_indices=True)
    except ValueError:
        assume(False)
    dx = da.from_array(x, chunks=chunks)
    v, i = getattr(ncd, f"max_pool{nd}d")(dx, ks, strides, padding, dils, ceil, return_indices=True)
    assert v.chunks == i.chunks and v.chunks[:2] == chunks[:2]
    v, i = compute(v), compute(i)
    np.testing.assert_array_equal(v, ev)
    np.testing.assert_array_equal(i, ei)
    assert i.dtype == ei.dtype
    only = compute(getattr(ncd, f"max_pool{nd}d")(dx, ks, strides, padding, dils, ceil))
    np.testing.assert_array_equal(only, ev)


@pytest.mark.parametrize("nd", [1, 2, 3])
@SPATIAL
@given(data=st.data())
def test_avg_pool_spatial_chunks_bitwise_inmemory(nd, data):
    shape, chunks, strides, _ = data.draw(spatial_case(nd, 9 if nd == 1 else 6 if nd == 2 else 4))
    ks = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = data.draw(pool_padding(nd, ks, (1,) * nd))
    ceil, include = data.draw(st.booleans()), data.draw(st.booleans())
    override = data.draw(st.sampled_from([None, None, 3]))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-10, 10, width=32)))
    kw = dict(ceil_mode=ceil, count_include_pad=include, divisor_override=override)
    try:
        expected = getattr(nc, f"avg_pool{nd}d")(x, ks, strides, padding, **kw)
    except ValueError:
        assume(False)
    y = getattr(ncd, f"avg_pool{nd}d")(da.from_array(x, chunks=chunks), ks, strides, padding, **kw)
    assert y.chunks[:2] == chunks[:2]
    got = compute(y)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # same sums in the same order, same divisors


def test_spatial_output_chunks_follow_the_input_chunks():
    x = da.ones((2, 3, 12, 10), chunks=(1, 3, 4, (3, 3, 4)))
    w = np.ones((5, 3, 3, 3))
    # stride 1, centred padding: the input's spatial chunks exactly
    assert ncd.conv2d(x, w, padding=1).chunks == ((1, 1), (5,), (4, 4, 4), (3, 3, 4))
    assert ncd.conv2d(x, w, padding="same", padding_mode="reflect").chunks[2:] == x.chunks[2:]
    assert ncd.conv2d(x, w).chunks[2:] == ((4, 4, 2), (3, 3, 2))  # 'valid': last chunks shrink
    assert ncd.conv2d(x, w, padding="full").chunks[2:] == ((4, 4, 6), (3, 3, 6))
    # stride 2: output o belongs to the chunk holding input 2*o
    assert ncd.max_pool2d(x, 2).chunks == ((1, 1), (3,), (2, 2, 2), (2, 1, 2))


def test_input_chunks_owning_no_window_give_no_output_chunk():
    x = np.arange(20.0).reshape(1, 1, 20)
    dx = da.from_array(x, chunks=(1, 1, (1, 1, 5, 1, 1, 1, 10)))
    y = ncd.max_pool1d(dx, 3, stride=5)
    assert y.chunks[2] == (1, 1, 2)  # windows start at 0, 5, 10, 15
    np.testing.assert_array_equal(compute(y), nc.max_pool1d(x, 3, stride=5))
    z = ncd.conv1d(dx, np.ones((1, 1, 4)), stride=3, padding=(2, 1), padding_mode="circular")
    np.testing.assert_array_equal(compute(z), nc.conv1d(x, np.ones((1, 1, 4)), stride=3,
                                                        padding=(2, 1), padding_mode="circular"))


def test_each_conv_task_reads_its_chunk_plus_the_halo(monkeypatch):
    seen = []
    real = nc.conv1d

    def recorder(x, weight, bias=None, **kw):
        seen.append((x.shape, kw["padding"]))
        return real(x, weight, bias, **kw)

    monkeypatch.setattr(nc, "conv1d", recorder)
    x = np.arange(40.0).reshape(1, 2, 20)
    w = np.ones((3, 2, 5))
    y = ncd.conv1d(da.from_array(x, chunks=(1, 1, 10)), w, padding="same", padding_mode="reflect")
    seen.clear()
    got = y.compute(scheduler="sync")
    # two tasks, each: both channels, its 10 columns and the 2 + 2 halo, padding done already
    assert sorted(seen) == [((1, 2, 14), 0)] * 2
    np.testing.assert_array_equal(got, real(x, w, padding="same", padding_mode="reflect"))


def test_max_pool_indices_are_whole_plane_positions():
    x = np.full((1, 1, 5, 6), -np.inf)
    x[0, 0, 4, 5] = 1.0
    dx = da.from_array(x, chunks=(1, 1, 2, 2))
    for args in [(3, 2, 1, 1, True), (2, 1, 1, 2, False), (3, 3, 1, 1, True)]:
        v, i = ncd.max_pool2d(dx, *args, return_indices=True)
        ev, ei = nc.max_pool2d(x, *args, return_indices=True)
        np.testing.assert_array_equal(compute(v), ev)
        np.testing.assert_array_equal(compute(i), ei)


def test_pooling_unbatched_integer_input_and_argument_errors():
    x = np.arange(2 * 7 * 9).reshape(2, 7, 9) % 11
    dx = da.from_array(x, chunks=(1, 3, 2))
    for f in ("max_pool2d", "avg_pool2d"):
        got = getattr(ncd, f)(dx, 3, 2, 1, ceil_mode=True)
        expected = getattr(nc, f)(x, 3, 2, 1, ceil_mode=True)
        assert got.dtype == expected.dtype == np.float64
        np.testing.assert_array_equal(compute(got), expected)
        for bad in [dict(kernel_size=0), dict(kernel_size=2, padding=3), dict(kernel_size=20)]:
            with pytest.raises(ValueError) as inmem:
                getattr(nc, f)(x, **bad)
            with pytest.raises(ValueError, match=re.escape(str(inmem.value))):
                getattr(ncd, f)(dx, **bad)
