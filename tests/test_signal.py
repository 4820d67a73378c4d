"""numbaconv's scipy.signal-style convolution against scipy.signal, the oracle."""

from __future__ import annotations

import contextlib
import itertools
import warnings
from unittest import mock

import numba
import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracles import assert_signal_close, scipy_signal

import numbaconv as nc
from numbaconv.shapes import conv_output_size

MODES = ["full", "same", "valid"]
DTYPES = [np.float64, np.float32, np.int32, np.int8, np.uint8, np.complex128, np.bool_]


def _elements(dtype):
    if dtype is np.bool_:
        return st.booleans()
    if dtype is np.uint8:
        return st.integers(0, 9)
    if np.dtype(dtype).kind in "iu":
        return st.integers(-9, 9)
    if np.dtype(dtype).kind == "c":
        return st.complex_numbers(max_magnitude=4, allow_nan=False, allow_infinity=False)
    return st.floats(-4, 4, width=np.dtype(dtype).itemsize * 8)


@st.composite
def pairs(draw, min_dims=1, max_dims=3, max_side=6, dtypes=DTYPES):
    nd = draw(st.integers(min_dims, max_dims))
    dtype = draw(st.sampled_from(dtypes))
    s1 = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=max_side))
    s2 = draw(hnp.array_shapes(min_dims=nd, max_dims=nd, min_side=1, max_side=max_side))
    a = draw(hnp.arrays(dtype, s1, elements=_elements(dtype)))
    b = draw(hnp.arrays(dtype, s2, elements=_elements(dtype)))
    return a, b


def _expected_shape(s1, s2, mode):
    """Output shape from numbaconv.shapes, as the issue requires."""
    if mode == "full":
        return tuple(conv_output_size(n, m, padding="full") for n, m in zip(s1, s2, strict=True))
    if mode == "valid":
        return tuple(conv_output_size(max(n, m), min(n, m), padding="valid")
                     for n, m in zip(s1, s2, strict=True))
    return tuple(s1)


def _dominates(s1, s2):
    return all(a >= b for a, b in zip(s1, s2, strict=True)) or all(
        b >= a for a, b in zip(s1, s2, strict=True))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@given(ab=pairs(), mode=st.sampled_from(MODES), method=st.sampled_from(["direct", "fft", "auto"]))
def test_nd_matches_scipy(name, ab, mode, method):
    a, b = ab
    ours = getattr(nc, name)
    if mode == "valid" and not _dominates(a.shape, b.shape):
        with pytest.raises(ValueError, match="at least as large"):
            ours(a, b, mode, method)
        return
    if a.dtype == np.bool_ and method == "fft":
        method = "direct"  # scipy's FFT path turns float noise into True: not an oracle
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = scipy_signal(name, a, b, mode, method=method)
    got = ours(a, b, mode, method)
    assert got.shape == _expected_shape(a.shape, b.shape, mode)
    assert_signal_close(got, want)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d"])
@given(ab=pairs(2, 2, dtypes=[np.float64, np.float32, np.int32, np.complex128]),
       mode=st.sampled_from(MODES), boundary=st.sampled_from(["fill", "wrap", "symm"]),
       fillvalue=st.sampled_from([0, 1, -2.5]))
def test_2d_matches_scipy(name, ab, mode, boundary, fillvalue):
    a, b = ab
    ours = getattr(nc, name)
    if mode == "valid" and not _dominates(a.shape, b.shape):
        with pytest.raises(ValueError, match="at least as large"):
            ours(a, b, mode, boundary, fillvalue)
        return
    want = scipy_signal(name, a, b, mode, boundary, fillvalue)
    for path in TWO_D_PATHS:  # each 2-D direct kernel, forced
        with two_d_path(path):
            got = ours(a, b, mode, boundary, fillvalue)
        assert got.shape == _expected_shape(a.shape, b.shape, mode)
        assert_signal_close(got, want)


#: the 2-D direct kernels: over extended slices (``_slices2d``) whole, in bands of 3 rows
#: (each row alone) and of ``ROWS + 1`` rows (blocks of ``ROWS`` rows in vectors, the last
#: overlapping, a short band alone) on the threads, and the row kernel (``_rows``)
TWO_D_PATHS = ("extended", "bands", "vector bands", "rows")


@contextlib.contextmanager
def two_d_path(path: str):
    """Force one of :data:`TWO_D_PATHS` for the 2-D calls inside the block (with no call
    remembered from outside it: a remembered call keeps the path it was prepared with)."""
    from numbaconv.api import signal as api_signal
    from numbaconv.cpu import signal as cpu_signal

    with mock.patch.dict(api_signal._SEEN, clear=True):
        yield from _forced_two_d_path(cpu_signal, path)


def _forced_two_d_path(cpu_signal, path: str):
    """The patches of :func:`two_d_path` (a generator: one ``yield`` inside them)."""
    if path == "extended":
        with mock.patch.object(cpu_signal, "SMALL_WORK", 1 << 62):
            yield
    elif path in ("bands", "vector bands"):
        bh = 3 if path == "bands" else cpu_signal.ROWS + 1

        def bands(oshape, wshape):  # every call the extended kernel takes (2-D kernels)
            return (2, bh) if len(wshape) >= 2 and np.prod(wshape[:-2]) == 1 else (0, 0)

        with mock.patch.object(cpu_signal, "_extended", bands), \
                mock.patch.object(cpu_signal, "EXTENDED_RUN", 1):  # an item a hand-out
            yield
    else:
        with mock.patch.object(cpu_signal, "_extended", lambda *args: (0, 0)):
            yield


@pytest.mark.parametrize("path", TWO_D_PATHS)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_2d_kernels_on_larger_maps_and_kernels(path, boundary):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((37, 29))
    for k in (rng.standard_normal((9, 7)), rng.standard_normal((3, 3)), rng.standard_normal((1, 5)),
              rng.standard_normal((6, 1))):
        for name, mode in (("convolve2d", "same"), ("correlate2d", "full"),
                           ("convolve2d", "valid")):
            with two_d_path(path):
                got = getattr(nc, name)(x, k, mode, boundary, 1.5)
            assert_signal_close(got, getattr(ss, name)(x, k, mode, boundary, 1.5))


@pytest.mark.parametrize("path", TWO_D_PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_2d_kernels_in_each_dtype_against_scipy(path, dtype):
    """Maps of every width around one vector of each dtype (the rows narrower than a
    vector run one at a time) and heights around a block of ``ROWS`` rows, kernels of one to
    seven rows (groups of three, two and one kernel rows), against scipy in float64."""
    rng = np.random.default_rng(11)
    for shape in ((9, 7), (8, 8), (19, 16), (17, 33), (30, 15), (12, 40)):
        x = rng.standard_normal(shape).astype(dtype)
        for kshape in ((3, 3), (7, 2), (2, 5), (4, 1), (1, 3)):
            k = rng.standard_normal(kshape).astype(dtype)
            for boundary in ("fill", "symm"):
                with two_d_path(path):
                    got = nc.convolve2d(x, k, "same", boundary)
                want = ss.convolve2d(x.astype(np.float64), k.astype(np.float64), "same",
                                     boundary)
                assert got.dtype == dtype
                tol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_a_nan_stays_local_in_the_vector_blocks():
    """A NaN in the input spoils only the outputs whose window holds it, in the blocks of
    ``ROWS`` rows as in the row kernel (no tap of another row or column reads it)."""
    x = np.ones((20, 40))
    x[9, 17] = np.nan
    k = np.ones((3, 3))
    for path in TWO_D_PATHS:
        with two_d_path(path):
            got = nc.convolve2d(x, k, "same", "symm")
        bad = np.zeros_like(x, dtype=bool)
        bad[8:11, 16:19] = True
        assert np.isnan(got[bad]).all() and np.isfinite(got[~bad]).all()


def test_a_skipped_fill_is_not_a_zero_times_an_infinite_weight():
    """With the zero fill, a tap outside ``x`` is skipped (docs/semantics.md), so an infinite
    weight gives no NaN there: the extended-input kernel, which would multiply a stored zero,
    hands such calls to the row kernel."""
    x = np.arange(1.0, 10.0).reshape(3, 3)
    w = np.array([[1.0, np.inf], [0.5, 1.0]])
    want = np.zeros((4, 4))  # the full convolution over the taps inside x only
    for i in range(4):
        for j in range(4):
            for p in range(2):
                for q in range(2):
                    if 0 <= i - p < 3 and 0 <= j - q < 3:
                        want[i, j] += w[p, q] * x[i - p, j - q]
    for path in TWO_D_PATHS:
        with two_d_path(path):
            got = nc.convolve2d(x, w)
        np.testing.assert_array_equal(got, want)


def test_even_kernel_same_offsets_follow_each_scipy_function():
    x = np.arange(1.0, 8.0)
    k = np.array([1.0, 2.0, 3.0, 4.0])
    full_corr = np.correlate(x, k, "full")
    # textbook: 'same' is the centred slice of 'full'; scipy centres correlate at (M-1)//2 and
    # correlate2d at M//2 (its documented one-sample offset)
    np.testing.assert_allclose(nc.correlate(x, k, "same"), full_corr[1:8])
    np.testing.assert_allclose(nc.correlate2d(x[None], k[None], "same")[0], full_corr[2:9])
    np.testing.assert_allclose(nc.convolve(x, k, "same"), np.convolve(x, k, "full")[1:8])
    np.testing.assert_allclose(nc.convolve2d(x[None], k[None], "same")[0],
                               np.convolve(x, k, "full")[1:8])


def test_same_mode_keeps_in1_shape_when_kernel_is_larger():
    x, k = np.arange(3.0), np.arange(1.0, 9.0)
    for fn in (nc.convolve, nc.correlate):
        got = fn(x, k, "same")
        assert got.shape == (3,)
        np.testing.assert_allclose(got, getattr(ss, fn.__name__)(x, k, "same"))
    for b in ("fill", "wrap", "symm"):  # extensions wider than the input keep wrapping/mirroring
        np.testing.assert_allclose(nc.convolve2d(x[None], k[None], "same", b),
                                   ss.convolve2d(x[None], k[None], "same", b))


def test_valid_mode_swaps_like_scipy():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b = rng.standard_normal((4, 5)) + 1j * rng.standard_normal((4, 5))
    for name in ("convolve", "correlate"):
        for method in ("direct", "fft"):
            np.testing.assert_allclose(getattr(nc, name)(a, b, "valid", method),
                                       getattr(ss, name)(a, b, "valid", method), atol=1e-12)
    for name in ("convolve2d", "correlate2d"):  # correlate2d's swap does not conjugate back
        np.testing.assert_allclose(getattr(nc, name)(a, b, "valid"),
                                   getattr(ss, name)(a, b, "valid"), atol=1e-12)


def test_correlate_conjugates_in2_and_convolve_flips():
    x = np.array([1j, 2.0, 3.0])
    # textbook definitions
    assert np.allclose(nc.correlate(x, np.array([1j]), method="direct"), x * -1j)
    np.testing.assert_allclose(nc.convolve([1.0, 2.0], [1.0, 10.0]), [1.0, 12.0, 20.0])
    np.testing.assert_allclose(nc.correlate([1.0, 2.0], [1.0, 10.0]), [10.0, 21.0, 2.0])


def test_zero_d_and_single_element_inputs():
    assert nc.convolve(np.array(2.0), np.array(3.0)) == ss.convolve(np.array(2.0), np.array(3.0))
    assert nc.correlate(np.array(2.0), np.array(3j)) == -6j
    for fn in ("convolve", "correlate"):
        for mode in MODES:
            got = getattr(nc, fn)(np.array([[5.0]]), np.array([[2.0]]), mode)
            np.testing.assert_array_equal(got, getattr(ss, fn)(np.array([[5.0]]), np.array([[2.0]]), mode))


def test_result_dtypes_follow_scipy():
    cases = [(np.int8, np.int8), (np.int16, np.float32), (np.float32, np.float32),
             (np.float32, np.float64), (np.int64, np.float32), (np.uint8, np.uint8),
             (np.bool_, np.int8), (np.complex64, np.float32), (np.int32, np.complex64)]
    for d1, d2 in cases:
        x, k = np.ones((3, 4), d1), np.ones((2, 2), d2)
        assert nc.convolve(x, k).dtype == ss.convolve(x, k).dtype
        assert nc.correlate2d(x, k).dtype == ss.correlate2d(x, k).dtype
    b = np.array([True, False, True])
    got = nc.convolve(b, np.array([True, True]))
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, ss.convolve(b, np.array([True, True])))


def test_integer_overflow_wraps_like_scipy_and_dtype_gives_a_wide_result():
    x = np.full(50, 100, np.int8)
    k = np.full(5, 3, np.int8)
    np.testing.assert_array_equal(nc.convolve(x, k, method="direct"), ss.convolve(x, k, method="direct"))
    wide = nc.convolve(x, k, dtype=np.int64)
    assert wide.dtype == np.int64
    np.testing.assert_array_equal(wide, np.convolve(x.astype(np.int64), k.astype(np.int64)))
    assert wide.max() == 1500


def test_auto_never_uses_fft_for_large_integers_or_non_finite_input():
    big = np.full(4000, 2**40, np.int64)
    k = np.arange(1, 2000, dtype=np.int64)
    assert nc.choose_conv_method(big, k) == "direct"
    got = nc.convolve(big, k)  # exact: FFT in float64 would round these
    want = np.array([int(v) for v in big[:1]], dtype=object)  # noqa: F841 (documenting intent)
    assert got[0] == 2**40 and got[1] == 3 * 2**40
    x = np.ones((300, 300))
    w = np.ones((40, 40))
    assert nc.choose_conv_method(x, w) == "fft"
    x[5, 5] = np.nan
    assert nc.choose_conv_method(x, w) == "direct"
    out = nc.convolve(x, w, "same")
    assert np.isnan(out[5, 5]) and not np.isnan(out[-1, -1])  # the NaN stays local
    assert nc.choose_conv_method(np.ones(10, bool), np.ones(3, bool)) == "direct"


def test_auto_picks_fft_for_big_kernels_and_direct_for_small():
    assert nc.choose_conv_method(np.ones(100_000), np.ones(1001)) == "fft"
    assert nc.choose_conv_method(np.ones((1024, 1024)), np.ones((31, 31)), "same") == "fft"
    assert nc.choose_conv_method(np.ones((1024, 1024)), np.ones((3, 3)), "same") == "direct"
    assert nc.choose_conv_method(np.ones(100_000), np.ones(3)) == "direct"


def test_choose_conv_method_measure_times_both():
    method, times = nc.choose_conv_method(np.ones(200), np.ones(5), measure=True)
    assert set(times) == {"fft", "direct"} and all(t > 0 for t in times.values())
    assert method == min(times, key=times.get)


def test_long_signal_spans_many_parallel_blocks():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(20_011)
    for k in (3, 17, 600):
        w = rng.standard_normal(k)
        for mode in MODES:
            np.testing.assert_allclose(nc.convolve(x, w, mode, "direct"), np.convolve(x, w, mode)
                                       if mode != "same" else ss.convolve(x, w, mode, "direct"),
                                       rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(nc.convolve(x, w, "same", "fft"),
                                   ss.convolve(x, w, "same", "direct"), atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_1d_vector_blocks_against_numpy(dtype):
    """Signals whose interior holds no, one and several blocks of eight vectors of outputs
    and a remainder (the rest runs in fused passes), kernels of 1 to 40 taps, every mode,
    against NumPy's float64 convolution."""
    rng = np.random.default_rng(21)
    for n in (50, 127, 128, 129, 300, 1000, 2049, 5000):
        x = rng.standard_normal(n).astype(dtype)
        for m in (1, 2, 3, 8, 13, 40):
            w = rng.standard_normal(m).astype(dtype)
            for mode in MODES:
                got = nc.convolve(x, w, mode, "direct")
                want = np.convolve(x.astype(np.float64), w.astype(np.float64), mode)
                if mode == "same":  # scipy's centring (np.convolve's differs for even m)
                    want = ss.convolve(x.astype(np.float64), w.astype(np.float64), mode,
                                       "direct")
                assert got.dtype == dtype
                tol = 2e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.sqrt(m))


def test_results_do_not_depend_on_thread_count():
    from numbaconv.cpu import signal as cpu_signal

    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(40_000), rng.standard_normal(37)
    img, k = rng.standard_normal((40, 3000)), rng.standard_normal((5, 6))
    assert x.size * w.size > cpu_signal.SERIAL_WORK and img.size * k.size > cpu_signal.SERIAL_WORK
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = (nc.convolve(x, w, method="direct"), nc.convolve2d(img, k, "same", "symm"))
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = (nc.convolve(x, w, method="direct"), nc.convolve2d(img, k, "same", "symm"))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        assert a.tobytes() == b.tobytes()


def test_awkward_inputs_work_and_are_not_modified():
    base = np.arange(24.0).reshape(4, 6)
    k = np.array([[1.0, -2.0], [0.5, 3.0]])
    readonly = base.copy()
    readonly.flags.writeable = False
    for x in (np.asfortranarray(base), base[::2, ::-1], base.astype(">f8"), readonly,
              base.tolist(), base.astype(np.int16)):
        before = np.array(x, copy=True)
        for fn in ("convolve", "correlate", "convolve2d", "correlate2d"):
            got = getattr(nc, fn)(x, k, "same")
            np.testing.assert_allclose(got, getattr(ss, fn)(np.asarray(x), k, "same"))
        np.testing.assert_array_equal(np.asarray(x), before)


@pytest.mark.parametrize("call, match", [  # scipy.signal's wording, plus the value received
    (lambda: nc.convolve([1, 2], [1], mode="middle"), "Acceptable mode flags.*'middle'"),
    (lambda: nc.correlate([1, 2], [1], method="fast"), "Acceptable method flags.*'fast'"),
    (lambda: nc.convolve2d([[1]], [[1]], boundary="reflect"),
     "Acceptable boundary flags.*'reflect'"),
    (lambda: nc.convolve(np.ones((2, 2)), np.ones(2)), "same dimensionality"),
    (lambda: nc.correlate(np.ones((2, 3)), np.ones((3, 2)), "valid"), "at least as large"),
    (lambda: nc.convolve2d(np.ones(3), np.ones(3)), "must both be 2-D arrays"),
    (lambda: nc.correlate2d(np.ones((2, 2)), np.ones((2, 2)), fillvalue=[1, 2]),
     "`fillvalue` must be scalar or an array with one element"),
    (lambda: nc.correlate2d(np.ones((2, 2)), np.ones((2, 2)), fillvalue=[]),
     "`fillvalue` cannot be an empty array"),
    (lambda: nc.convolve2d(np.ones((2, 2)), np.ones((2, 2)), fillvalue=1j),
     "could not cast `fillvalue` directly to the output"),
    (lambda: nc.convolve(np.ones(0), np.ones(3)), "empty"),
    (lambda: nc.choose_conv_method([1, 2], [1], mode="nope"), "Acceptable mode flags"),
    (lambda: nc.fftconvolve([1, 2], [1], mode="nope"), "acceptable mode flags"),
    (lambda: nc.oaconvolve(np.ones((2, 3)), np.ones((2, 4)), axes=[0]),
     "incompatible shapes for in1 and in2"),
    (lambda: nc.fftconvolve([1, 2], [1], axes=[]), "axes cannot be empty"),
    (lambda: nc.fftconvolve([1, 2], [1], axes=[1]), "axes exceeds dimensionality"),
])
def test_bad_input_gets_a_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_get_a_type_error():
    with pytest.raises(TypeError, match="in1"):
        nc.convolve(np.array(["a", "b"]), [1.0])
    with pytest.raises(TypeError, match="dtype"):
        nc.convolve([1.0], [1.0], dtype="U3")


def test_fillvalue_is_cast_to_the_integer_result_like_scipy():
    x = np.ones((2, 2), int)
    np.testing.assert_array_equal(nc.convolve2d(x, x, fillvalue=2.7),
                                  ss.convolve2d(x, x, fillvalue=2.7))


def test_matches_torch_conv1d_cross_check():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 1, 50)), rng.standard_normal((1, 1, 7))
    t = torch.nn.functional.conv1d(torch.from_numpy(x), torch.from_numpy(w)).numpy()[0, 0]
    np.testing.assert_allclose(nc.correlate(x[0, 0], w[0, 0], "valid"), t, atol=1e-12)


def test_concurrent_calls_from_python_threads_do_not_share_temporaries():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    jobs = [(rng.standard_normal((30 + i, 40)), rng.standard_normal((3 + i % 3, 4)),
             ["fill", "wrap", "symm"][i % 3]) for i in range(6)]
    jobs += [(rng.standard_normal((8, 20 + i, 9)), rng.standard_normal((2, 3, 3)), None)
             for i in range(3)]

    def run(job):
        x, k, b = job
        return nc.convolve2d(x, k, "same", b, 1.5) if b else nc.convolve(x, k, "same", "direct")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, jobs * 2))
    for (x, k, b), got in zip(jobs * 2, results, strict=True):
        want = ss.convolve2d(x, k, "same", b, 1.5) if b else ss.convolve(x, k, "same", "direct")
        np.testing.assert_allclose(got, want, atol=1e-10)


# ------------------------------------------------------------------ fftconvolve / oaconvolve

FREQ_DTYPES = [np.float64, np.float32, np.int16, np.int64, np.complex128, np.complex64, np.bool_]


@st.composite
def freq_inputs(draw):
    """Two arrays of one rank, broadcast-compatible off ``axes`` (scipy's rule), and ``axes``."""
    nd = draw(st.integers(1, 3))
    axes = draw(st.none() | st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                                     unique_by=lambda a: a % nd))
    on = set(range(nd)) if axes is None else {a % nd for a in axes}
    s1, s2 = [], []
    for a in range(nd):
        if a in on:
            s1.append(draw(st.integers(1, 9)))
            s2.append(draw(st.integers(1, 9)))
        else:  # equal, or one of them 1
            n = draw(st.integers(1, 4))
            s1.append(draw(st.sampled_from([n, 1])))
            s2.append(n if s1[-1] == 1 else draw(st.sampled_from([n, 1])))
    d1, d2 = draw(st.sampled_from(FREQ_DTYPES)), draw(st.sampled_from(FREQ_DTYPES))
    a = draw(hnp.arrays(d1, s1, elements=_elements(d1)))
    b = draw(hnp.arrays(d2, s2, elements=_elements(d2)))
    return a, b, axes


@pytest.mark.parametrize("name", ["fftconvolve", "oaconvolve"])
@given(inp=freq_inputs(), mode=st.sampled_from(MODES))
def test_freq_functions_match_scipy(name, inp, mode):
    a, b, axes = inp
    try:
        want = scipy_signal(name, a, b, mode, axes=axes)
    except ValueError as exc:  # the same error, with scipy's message
        with pytest.raises(ValueError, match=str(exc).split(":")[0].split(";")[0]):
            getattr(nc, name)(a, b, mode, axes=axes)
        return
    got = getattr(nc, name)(a, b, mode, axes=axes)
    single = any(d in (np.float32, np.complex64) for d in (a.dtype, b.dtype))
    assert_signal_close(got, want, exact=False, single=single)


@pytest.mark.parametrize("name", ["fftconvolve", "oaconvolve"])
def test_freq_functions_long_inputs_and_blocks_match_scipy(name):
    rng = np.random.default_rng(11)
    cases = [((5000,), (37,), None), ((37,), (5000,), None), ((300, 40), (9, 40), None),
             ((64, 300), (64, 7), [1]), ((3, 4000), (1, 301), -1), ((200, 3, 150), (9, 3, 40), (0, 2))]
    for s1, s2, axes in cases:
        a = rng.standard_normal(s1) + 1j * rng.standard_normal(s1)
        b = rng.standard_normal(s2)
        for mode in MODES:
            try:
                want = getattr(ss, name)(a, b, mode, axes=axes)
            except ValueError:
                continue
            assert_signal_close(getattr(nc, name)(a, b, mode, axes=axes), want)


@pytest.mark.parametrize("name", ["fftconvolve", "oaconvolve"])
def test_freq_functions_by_overlap_save_tiles_match_scipy(name):
    # inputs whose full convolution reaches cpu.signal.FFT_TILES_FROM samples run the
    # overlap-save tiles (api.signal._tiled_window; a long 1-D kernel split in
    # core.signal.SPLIT_TILES tiles): every mode, 1-D to 3-D, real and
    # complex, float32 and float64, the kernel the larger or the smaller input, against
    # scipy; the same bits at one and two threads; an input holding a NaN takes scipy's
    # plan and gives scipy's all-NaN output (the tiles would keep the NaN to its own)
    from numbaconv.api import signal as api_signal

    rng = np.random.default_rng(12)
    ran = []
    real = api_signal._tiled_window
    cases = [((140_000,), (1001,), np.float64), ((1001,), (140_000,), np.float64),
             ((300_000,), (20_000,), np.float64),  # (one tile by the model: split in four)
             ((400, 350), (11, 9), np.float32), ((400, 350), (11, 9), np.float64),
             ((60_000,), (301,), np.complex128), ((60, 64, 40), (3, 5, 3), np.float64)]
    with mock.patch.object(api_signal, "_tiled_window",
                           lambda *a: ran.append(a[0].shape) or real(*a)):
        for s1, s2, dtype in cases:
            a = rng.standard_normal(s1).astype(dtype)
            b = rng.standard_normal(s2).astype(dtype)
            if np.dtype(dtype).kind == "c":
                a = a + 1j * rng.standard_normal(s1)
            for mode in MODES:
                want = getattr(ss, name)(a, b, mode)
                got = getattr(nc, name)(a, b, mode)
                assert got.dtype == want.dtype and got.shape == want.shape
                assert_signal_close(got, want, single=dtype == np.float32)
            default = numba.get_num_threads()
            try:
                numba.set_num_threads(1)
                one = getattr(nc, name)(a, b, "same")
            finally:
                numba.set_num_threads(default)
            np.testing.assert_array_equal(one, getattr(nc, name)(a, b, "same"))
    assert len(ran) >= len(cases) * len(MODES)
    assert ran.count((300_000,)) == len(MODES) + 2  # (every call of the split case)
    a = rng.standard_normal(140_000)
    a[70_000] = np.nan
    b = rng.standard_normal(1001)
    want = getattr(ss, name)(a, b, "same")
    np.testing.assert_array_equal(np.isnan(getattr(nc, name)(a, b, "same")), np.isnan(want))


@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_auto_fft_of_one_tile_runs_whole_transforms_and_keeps_nan_local(op):
    # method='auto' on inputs the FFT wins for: where the overlap-save model wants one tile,
    # the whole-extent transforms of method='fft' run (api.signal._one_tile), the same
    # values as scipy; a NaN input goes to the direct method and stays in its window
    from numbaconv.api import signal as api_signal

    rng = np.random.default_rng(14)
    x, k = rng.standard_normal(10_000), rng.standard_normal(1000)
    ran = []
    real = api_signal._fft_nd
    with mock.patch.object(api_signal, "_fft_nd", lambda *a: ran.append(1) or real(*a)):
        for mode in MODES:
            got = getattr(nc, op)(x, k, mode)
            assert_signal_close(got, getattr(ss, op)(x, k, mode))
        assert len(ran) == len(MODES)
        x[5000] = np.nan
        got = getattr(nc, op)(x, k, "same")
        assert len(ran) == len(MODES)
    hit = np.flatnonzero(np.isnan(got))  # one window's outputs: a run of len(k) about 5000
    assert hit.size == k.size and hit[-1] - hit[0] == k.size - 1 and hit[0] <= 5000 <= hit[-1]


def test_freq_functions_empty_zero_d_and_dtypes_like_scipy():
    for name in ("fftconvolve", "oaconvolve"):
        for a, b in [(np.ones(0), np.ones(3)), (np.ones((0, 2), np.float32), np.ones((1, 3)))]:
            got, want = getattr(nc, name)(a, b), getattr(ss, name)(a, b)
            assert got.dtype == want.dtype and got.shape == want.shape == (0,)
        got = getattr(nc, name)(np.array(3), np.array(4))
        assert got == 12 and got.dtype == ss.fftconvolve(np.array(3), np.array(4)).dtype
        for d in (np.int8, np.float16, np.float32, np.longdouble, np.clongdouble):
            x = np.arange(1, 20).astype(d)
            got, want = getattr(nc, name)(x, x[:5]), getattr(ss, name)(x, x[:5])
            assert got.dtype == want.dtype, (name, d)
            np.testing.assert_allclose(got, want, rtol=1e-3)


def test_freq_functions_refuse_cuda_like_input_with_a_type_error():
    class FakeCuda:
        __cuda_array_interface__ = {"shape": (3,), "typestr": "<f8", "data": (0, False),
                                    "version": 3}
        shape = (3,)

    with pytest.raises(TypeError, match="runs on the CPU"):
        nc.fftconvolve(FakeCuda(), FakeCuda())


def test_fft_workers_are_the_threads_numba_uses():
    from numbaconv.cpu import signal as cpu_signal

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert cpu_signal.fft_workers() == 1
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert cpu_signal.fft_workers() == numba.config.NUMBA_NUM_THREADS
    finally:
        numba.set_num_threads(before)


# ------------------------------------------------------------------ the FFT path of 'auto'

def test_large_kernels_take_the_fft_path_and_match_the_direct_sum():
    from numbaconv.core import signal as sig

    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((200, 220)), rng.standard_normal((41, 39))
    for fn, boundary in [("convolve2d", "fill"), ("correlate2d", "symm"), ("convolve2d", "wrap")]:
        for mode in MODES:
            canonical = {"fill": "constant", "symm": "symmetric", "wrap": "wrap"}[boundary]
            assert sig.direct_spec(fn, x.shape, w.shape, mode, canonical, "d").fft_faster
            want = getattr(ss, fn)(x, w, mode, boundary, 0.5)  # scipy's direct sum
            assert_signal_close(getattr(nc, fn)(x, w, mode, boundary, 0.5), want)
    for fn in ("convolve", "correlate"):
        a, b = rng.standard_normal((2, 20_000)), rng.standard_normal((2, 301))
        assert nc.choose_conv_method(a, b) == "fft"
        for mode in MODES:
            assert_signal_close(getattr(nc, fn)(a, b, mode), getattr(ss, fn)(a, b, mode, "direct"))
    ints = rng.integers(-1000, 1000, 30_000)
    np.testing.assert_array_equal(nc.convolve(ints, ints[:900], "same"),
                                  np.convolve(ints, ints[:900], "full")[449:30_449])


def test_nan_keeps_the_direct_path_in_2d():
    x, w = np.ones((120, 120)), np.ones((31, 31))
    x[60, 60] = np.nan
    got = nc.convolve2d(x, w, "same", "symm")
    assert np.isnan(got[60, 60]) and not np.isnan(got[0, 0])  # local, as scipy's direct sum
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ss.convolve2d(x, w, "same", "symm")))


@contextlib.contextmanager
def fft_window_path():
    """Force the overlap-save FFT path of convolve2d/correlate2d and of 'auto' in
    convolve/correlate for float input, whatever the cost model predicts."""
    from numbaconv.api import signal as api_signal

    def keep(backend, spec, rd, fill):
        return rd.kind in "fc" and (fill is None or bool(np.isfinite(fill)))

    def auto(backend, spec, a, b, rd, check_finite=True):
        return "fft" if rd.kind in "fc" and not check_finite else "direct"

    with mock.patch.object(api_signal, "_fft_keeps_direct_semantics", keep), \
            mock.patch.object(api_signal, "_auto", auto):
        yield


@st.composite
def images_and_kernels(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    elements = st.floats(-4, 4, width=np.dtype(dtype).itemsize * 8)
    x = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=2, max_dims=2, max_side=70),
                        elements=elements))
    k = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=2, max_dims=2, max_side=13),
                        elements=elements))
    return x, k


@given(xk=images_and_kernels(), name=st.sampled_from(["convolve2d", "correlate2d"]),
       mode=st.sampled_from(MODES), boundary=st.sampled_from(["fill", "symm", "wrap"]),
       fill=st.sampled_from([0, 1.5]))
def test_overlap_save_tiles_match_scipys_direct_sum(xk, name, mode, boundary, fill):
    """The FFT path in tiles of every count (an odd one leaves the last tile without a
    partner), float32 and float64, every boundary, kernels larger than the image too."""
    x, k = xk
    assume(mode != "valid" or _dominates(x.shape, k.shape))
    with fft_window_path():
        got = getattr(nc, name)(x, k, mode, boundary, fill)
    assert_signal_close(got, getattr(ss, name)(x, k, mode, boundary, fill))


NON_FINITE_CALLS = [
    (lambda m, a, b: m.convolve2d(a, b, "same", "symm")),
    # 'auto' in numbaconv keeps a NaN local as the direct method does (scipy's 'auto' may not)
    (lambda m, a, b: m.convolve(a, b, "same", "direct" if m is ss else "auto")),
    (lambda m, a, b: m.correlate2d(a, b, "full", "fill", 2.0)),
]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fft_path_hands_non_finite_input_to_the_direct_sum(bad, dtype):
    """The FFT path finds a NaN or inf while it reads the tiles (in the first tile, in the
    last and unpaired one, in the kernel) and the direct sum runs instead: scipy's pattern of
    non-finite outputs, each local to the windows that touch it."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((150, 170)).astype(dtype)
    w = rng.standard_normal((31, 29)).astype(dtype)
    for where in ("first", "last", "kernel"):
        xi, wi = x.copy(), w.copy()
        if where == "kernel":
            wi[3, 4] = bad
        else:
            xi[(0, 0) if where == "first" else (-1, -1)] = bad
        for i, call in enumerate(NON_FINITE_CALLS):
            if where == "kernel" and i == 1:
                continue  # convolve skips the zero fill: see test_a_skipped_fill_is_not_...
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in scipy's sums
                want = call(ss, xi, wi)
                with fft_window_path():
                    got = call(nc, xi, wi)
            assert not np.isfinite(want).all()
            if where != "kernel":  # a bad weight meets every output; a bad sample a window
                assert np.isfinite(want).any()
            np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
            ok = np.isfinite(want)
            np.testing.assert_allclose(got[ok], want[ok], rtol=2e-4, atol=2e-4 * 30)


def test_a_non_finite_sample_in_a_late_tile_still_fills_out_by_the_direct_sum():
    """The tiles run in pieces, and pieces before the one holding a NaN may have written
    their part of ``out`` when it is found: the direct sum then writes every element of
    ``out`` again (nothing of the tiles' values or of ``out``'s old contents is left)."""
    from numbaconv.cpu import signal as cpu_signal

    rng = np.random.default_rng(14)
    x = rng.standard_normal((600, 600))
    w = rng.standard_normal((31, 31))
    x[-1, -1] = np.nan
    want = ss.convolve2d(x, w, "same")
    out = np.full(x.shape, 7.0)
    with fft_window_path(), mock.patch.object(cpu_signal, "TILE_GROUP_BYTES", 1):
        got = nc.convolve2d(x, w, "same", out=out)  # (a pair of tiles a piece)
    assert got is out
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    ok = np.isfinite(want)
    assert ok.sum() > x.size // 2
    assert_signal_close(got[ok], want[ok])


def test_the_fft_path_reads_views_in_any_layout_and_leaves_them_alone():
    """Transposed, Fortran-ordered and strided images go through the tile packing as they
    are (no copy is promised, none is needed), into a Fortran-ordered ``out`` too."""
    rng = np.random.default_rng(9)
    base = rng.standard_normal((200, 150))
    k = rng.standard_normal((21, 17))
    for x in (base.T, np.asfortranarray(base), base[::2, ::3], base[:, 5:130]):
        before = x.copy()
        for boundary in ("fill", "symm", "wrap"):
            with fft_window_path():
                got = nc.convolve2d(x, k, "same", boundary)
            assert_signal_close(got, ss.convolve2d(x, k, "same", boundary))
        np.testing.assert_array_equal(x, before)
    out = np.empty((150, 200), order="F")
    with fft_window_path():
        got = nc.correlate2d(base.T, k, "same", out=out)
    assert got is out
    assert_signal_close(out, ss.correlate2d(base.T, k, "same"))


def test_a_kernel_changed_in_place_is_transformed_again():
    """The kernel spectra kept for repeated filtering are found by the kernel's contents:
    the same array changed in place is a new kernel."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((300, 300)), rng.standard_normal((25, 25))
    w_before = w.copy()
    with fft_window_path():
        first = nc.convolve2d(x, w, "same")
        w[12, 12] += 10.0
        second = nc.convolve2d(x, w, "same")
        third = nc.convolve2d(x, w.astype(np.float32), "same")
    assert_signal_close(first, ss.convolve2d(x, w_before, "same"))
    assert_signal_close(second, ss.convolve2d(x, w, "same"))
    assert_signal_close(third, ss.convolve2d(x, w.astype(np.float32), "same"))


@pytest.mark.parametrize("s1, s2, dtype", [
    ((70_000,), (1001,), np.float64), ((60, 64, 40), (3, 5, 3), np.float32),
    ((400, 380), (17, 15), np.complex128)])
def test_overlap_save_slabs_one_row_of_tiles_each(s1, s2, dtype):
    """The overlap-save tiles go through their transforms in slabs (rows of tiles along the
    first axis) on the threads: one row of tiles a slab puts every tile row's output in
    place (scipy's values), with the same bits at one and two threads."""
    from numbaconv.cpu import signal as cpu_signal

    rng = np.random.default_rng(15)
    a = rng.standard_normal(s1).astype(dtype)
    b = rng.standard_normal(s2).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(s1)
    before = numba.get_num_threads()
    with mock.patch.object(cpu_signal, "TILE_GROUP_BYTES", 1):
        for mode in MODES:
            assert_signal_close(nc.fftconvolve(a, b, mode), ss.fftconvolve(a, b, mode),
                                single=dtype == np.float32)
        try:
            numba.set_num_threads(1)
            one = nc.fftconvolve(a, b, "same")
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
            two = nc.fftconvolve(a, b, "same")
        finally:
            numba.set_num_threads(before)
    assert one.tobytes() == two.tobytes()


def test_the_fft_path_gives_the_same_bits_on_one_and_two_threads():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((700, 650)), rng.standard_normal((31, 31))
    before = numba.get_num_threads()
    try:
        with fft_window_path():
            numba.set_num_threads(1)
            one = nc.convolve2d(x, w, "same", "symm")
            numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
            two = nc.convolve2d(x, w, "same", "symm")
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == two.tobytes()
    assert_signal_close(two, ss.convolve2d(x, w, "same", "symm"))


@pytest.mark.parametrize("op", ["convolve", "correlate"])
@pytest.mark.parametrize("s1, s2, dtype", [
    ((400, 380), (31, 29), np.float64), ((70_000,), (1001,), np.float32),
    ((80, 60, 50), (5, 3, 7), np.complex128)])
def test_method_fft_on_tiles_is_scipys_method_fft(op, s1, s2, dtype):
    """method='fft' runs fftconvolve's overlap-save tiles where they apply (finite input,
    several tiles): scipy's method='fft' values in every mode, dtypes and shapes; with a
    NaN, scipy's plan: the whole output NaN, and scipy's warning."""
    from numbaconv.api import signal as api_signal

    rng = np.random.default_rng(16)
    a = rng.standard_normal(s1).astype(dtype)
    b = rng.standard_normal(s2).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a, b = a + 1j * rng.standard_normal(s1), b + 1j * rng.standard_normal(s2)
    tiled = []
    real = api_signal._tiled_window
    with mock.patch.object(api_signal, "_tiled_window", lambda *p: tiled.append(1) or real(*p)):
        for mode in MODES:
            want = getattr(ss, op)(a, b, mode, method="fft")
            got = getattr(nc, op)(a, b, mode, method="fft")
            assert got.dtype == want.dtype and got.shape == want.shape
            assert_signal_close(got, want, single=dtype == np.float32)
    assert tiled
    a[(0,) * a.ndim] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = getattr(ss, op)(a, b, "same", method="fft")
    with pytest.warns(RuntimeWarning, match="Use of fft convolution on input with NAN"):
        got = getattr(nc, op)(a, b, "same", method="fft")
    assert np.isnan(want).all() and np.isnan(got).all()


def test_method_fft_warns_about_nan_like_scipy():
    x = np.ones(50)
    x[3] = np.nan
    with pytest.warns(RuntimeWarning, match="Use of fft convolution on input with NAN"):
        nc.convolve(x, np.ones(5), "same", "fft")


# ------------------------------------------------------------------ out=

OUT_CALLS = [
    ("convolve", lambda a, b, **kw: nc.convolve(a, b, "same", **kw)),
    ("correlate", lambda a, b, **kw: nc.correlate(a, b, "full", **kw)),
    ("convolve2d", lambda a, b, **kw: nc.convolve2d(a, b, "same", "symm", **kw)),
    ("correlate2d", lambda a, b, **kw: nc.correlate2d(a, b, "valid", **kw)),
    ("fftconvolve", lambda a, b, **kw: nc.fftconvolve(a, b, "full", **kw)),
    ("oaconvolve", lambda a, b, **kw: nc.oaconvolve(a, b, "same", **kw)),
]


@pytest.mark.parametrize("name, call", OUT_CALLS, ids=[n for n, _ in OUT_CALLS])
def test_out_receives_the_result(name, call):
    rng = np.random.default_rng(13)
    a, b = rng.standard_normal((9, 30)), rng.standard_normal((3, 4))
    want = call(a, b)
    out = np.full_like(want, np.nan)
    assert call(a, b, out=out) is out
    np.testing.assert_array_equal(out, want)
    # a non-contiguous out (a view into a bigger array) gets the same values
    big = np.zeros((want.shape[0], 2 * want.shape[1]))
    view = big[:, ::2]
    assert call(a, b, out=view) is view
    np.testing.assert_array_equal(view, want)
    assert not big[:, 1::2].any()
    with pytest.raises(ValueError, match="shape"):
        call(a, b, out=np.empty((want.shape[0] + 1, want.shape[1])))
    with pytest.raises(TypeError, match="dtype"):
        call(a, b, out=np.empty(want.shape, np.float32))
    with pytest.raises(TypeError, match="NumPy array"):
        call(a, b, out=[0.0] * want.size)
    shared = np.zeros((max(a.shape[0], want.shape[0]) * 2, max(a.shape[1], want.shape[1]) * 2))
    shared[:9, :30] = a
    with pytest.raises(ValueError, match="shares memory"):
        call(shared[:9, :30], b, out=shared[:want.shape[0], :want.shape[1]])


def test_out_with_integer_results_and_swaps():
    a = np.arange(12, dtype=np.int8).reshape(3, 4)
    b = np.arange(30, dtype=np.int8).reshape(5, 6)
    for fn in ("convolve", "correlate", "convolve2d", "correlate2d"):
        want = getattr(ss, fn)(a, b, "valid")
        out = np.empty(want.shape, want.dtype)
        assert getattr(nc, fn)(a, b, "valid", out=out) is out
        np.testing.assert_array_equal(out, want)
    out = np.empty((), np.float64)
    assert nc.convolve(np.array(2.0), np.array(3.0), out=out) is out and out == 6.0


# ------------------------------------------------------------------ the per-call fast path

def test_a_repeated_call_resolves_nothing_and_stays_correct():
    from numbaconv.core import signal as sig

    rng = np.random.default_rng(14)
    for call in (lambda a, b: nc.convolve(a, b), lambda a, b: nc.convolve2d(a, b, "same", "symm"),
                 lambda a, b: nc.correlate(a, b, "valid", "direct")):
        a, b = rng.standard_normal((7, 11)), rng.standard_normal((3, 2))
        call(a, b)
        before = sig.direct_spec.cache_info()
        for _ in range(3):  # new values, same shapes: the remembered resolution, right results
            a, b = rng.standard_normal((7, 11)), rng.standard_normal((3, 2))
            got = call(a, b)
        assert sig.direct_spec.cache_info().misses == before.misses
        ref = {0: ss.convolve(a, b), 1: ss.convolve2d(a, b, "same", "symm"),
               2: ss.correlate(a, b, "valid", "direct")}
        assert any(got.shape == r.shape and np.allclose(got, r) for r in ref.values())
    # the same shapes in other layouts or dtypes take the full path and are still right
    a = np.asfortranarray(rng.standard_normal((7, 11)))
    np.testing.assert_allclose(nc.convolve(a, b), ss.convolve(a, b), atol=1e-12)
    np.testing.assert_array_equal(nc.convolve(a.astype(np.int32), b.astype(np.int32)),
                                  ss.convolve(a.astype(np.int32), b.astype(np.int32)))
    with pytest.raises(ValueError, match="Acceptable mode"):
        nc.convolve(a, b, "nope")


def _skipped_fill_full(x, w):
    """The full 2-D convolution summed over the taps inside ``x`` only (the zero fill
    skipped, docs/semantics.md), written out."""
    n0, n1 = x.shape
    m0, m1 = w.shape
    want = np.zeros((n0 + m0 - 1, n1 + m1 - 1))
    for i in range(want.shape[0]):
        for j in range(want.shape[1]):
            for p in range(m0):
                for q in range(m1):
                    if 0 <= i - p < n0 and 0 <= j - q < n1:
                        want[i, j] += w[p, q] * x[i - p, j - q]
    return want


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_repeated_tiny_2d_call_runs_prepared_and_stays_right(dtype):
    """Tiny repeated 2-D calls run a kernel call prepared from the shapes: new values each
    time, every mode and boundary, and an infinite weight on a repeat (handed to the row
    kernel, which skips the zero fill) give the oracle's answers."""
    from numbaconv.api import signal as api_signal

    rng = np.random.default_rng(15)
    calls = [lambda m, a, b: m.convolve2d(a, b, "same", "symm"),
             lambda m, a, b: m.correlate2d(a, b, "full"),
             lambda m, a, b: m.convolve(a, b, "same", "direct"),
             lambda m, a, b: m.correlate(a, b, "valid", "direct")]
    for call in calls:
        for _ in range(3):
            a = rng.standard_normal((9, 8)).astype(dtype)
            b = rng.standard_normal((3, 2)).astype(dtype)
            assert_signal_close(call(nc, a, b), call(ss, a, b))
    assert sum(seen[2] is not None for seen in api_signal._SEEN.values()) >= len(calls)
    x = np.arange(1.0, 73.0).reshape(9, 8).astype(dtype)
    w = np.array([[1.0, np.inf], [0.5, 1.0], [2.0, -1.0]], dtype)
    for _ in range(2):  # the second call is the prepared one
        np.testing.assert_array_equal(nc.correlate2d(x, w[::-1, ::-1].copy(), "full"),
                                      _skipped_fill_full(x, w).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_repeated_tiny_1d_call_runs_prepared_and_stays_right(dtype):
    """Tiny repeated vector calls (convolve/correlate, every mode, odd and even lengths, a
    kernel longer than the signal: scipy's swap) run the row kernel prepared from the
    shapes where no swap is undone: new values
    each time give scipy's answers, and a NaN stays where scipy puts it."""
    from numbaconv.api import signal as api_signal

    rng = np.random.default_rng(16)
    shapes = [(16, 3), (7, 4), (3, 9), (1, 1), (33, 32)]
    with mock.patch.dict(api_signal._SEEN, clear=True):
        for (n, m), mode, op in itertools.product(shapes, ("full", "same", "valid"),
                                                  ("convolve", "correlate")):
            for _ in range(3):
                a = rng.standard_normal(n).astype(dtype)
                b = rng.standard_normal(m).astype(dtype)
                assert_signal_close(getattr(nc, op)(a, b, mode, "direct"),
                                    getattr(ss, op)(a, b, mode, "direct"))
        assert sum(seen[2] is not None for seen in api_signal._SEEN.values()) >= len(shapes)
        a = np.arange(1.0, 17.0).astype(dtype)
        a[5] = np.nan
        for _ in range(2):  # the second call is the prepared one
            np.testing.assert_array_equal(np.isnan(nc.convolve(a, np.ones(3, dtype))),
                                          np.isnan(ss.convolve(a, np.ones(3, dtype), "full",
                                                               "direct")))


# ------------------------------------------------------------------ long double

def test_long_double_is_accepted_and_returned_like_scipy():
    x = np.random.default_rng(15).random((9, 9)).astype(np.longdouble)
    y = x[:4, :4]
    got = nc.convolve(x, y, method="direct")
    assert got.dtype == np.longdouble
    np.testing.assert_allclose(got.astype(np.float64), ss.fftconvolve(x, y).astype(np.float64),
                               rtol=1e-12)
    z = (x + 0.1j).astype(np.clongdouble)
    assert nc.correlate2d(z, z[:3, :3]).dtype == np.clongdouble


@pytest.mark.parametrize("path", TWO_D_PATHS)
def test_stacks_of_images_match_scipy_on_one_and_two_threads(path):
    """A batch of images filtered by one 2-D kernel (leading kernel axes of length 1) runs
    slice by slice over extended inputs, on the threads when it is large."""
    from numbaconv.cpu import signal as cpu_signal

    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 33, 31))
    cases = [(x, rng.standard_normal((1, 5, 5))), (x[:3], rng.standard_normal((1, 3, 4))),
             (x[:6].reshape(2, 3, 33, 31), rng.standard_normal((1, 1, 2, 7)))]
    assert x.size * 25 > cpu_signal.SERIAL_WORK  # the first case goes to the threads
    before = numba.get_num_threads()
    try:
        for a, k in cases:
            for name in ("convolve", "correlate"):
                for mode in MODES:
                    want = getattr(ss, name)(a, k, mode, method="direct")
                    runs = []
                    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
                        numba.set_num_threads(threads)
                        with two_d_path(path):
                            runs.append(getattr(nc, name)(a, k, mode, method="direct"))
                    assert_signal_close(runs[0], want)
                    assert runs[0].tobytes() == runs[1].tobytes()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("real", [True, False])
def test_fast_lengths_are_scipys_next_fast_len(real):
    # the FFT lengths the cost model and the tile plans use, computed without importing
    # scipy.fft: scipy.fft.next_fast_len is the oracle, on every length up to 5000 and on
    # random lengths up to 10**12
    import scipy.fft

    from numbaconv.core import signal as core_signal

    rng = np.random.default_rng(11)
    lengths = list(range(1, 5001)) + [int(n) for n in rng.integers(5001, 10**12, 500)]
    got = [core_signal._fast_len(n, real) for n in lengths]
    want = [scipy.fft.next_fast_len(n, real) for n in lengths]
    assert got == want
    assert core_signal._next_fast_len(7, real) == (8 if real else 7)


def test_a_direct_call_does_not_import_scipy_fft():
    # the direct paths' cost model needs FFT lengths only: a first direct convolve or
    # convolve2d must not pay scipy.fft's 0.1 s import (a fresh interpreter checks)
    import subprocess
    import sys

    code = ("import sys, numpy as np, numbaconv as nc\n"
            "nc.convolve(np.ones(1000), np.ones(5), method='direct')\n"
            "nc.convolve2d(np.ones((32, 32)), np.ones((3, 3)), 'same', boundary='symm')\n"
            "print('scipy.fft' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
