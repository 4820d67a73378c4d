"""Batch normalisation against the float64 formula (tests/oracles.py), finite differences and,
when installed, PyTorch; its in-place running-statistics update; its errors and edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles import batch_norm_grads_ref, batch_norm_ref

import numbaconv as nc
from numbaconv import grad
from numbaconv.cpu import normalization as cpu_bn
from numbaconv.testing import gradcheck

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@st.composite
def cases(draw):
    nd = draw(st.integers(0, 3))
    n = draw(st.integers(1, 4))
    c = draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=nd, max_size=nd)))
    training = draw(st.booleans())
    if training and n * int(np.prod(spatial)) < 2:
        n = 2
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    affine = draw(st.booleans())
    momentum = draw(st.sampled_from([0.1, 0.0, 1.0, 0.37]))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    return (n, c) + spatial, training, dtype, seed, affine, momentum, eps


def _data(shape, dtype, seed, affine):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, c) + (1,) * (len(shape) - 2))
         + rng.uniform(-5, 5, (1, c) + (1,) * (len(shape) - 2))).astype(dtype)
    rm = rng.standard_normal(c).astype(dtype)
    rv = rng.uniform(0.5, 2.0, c).astype(dtype)
    w = rng.uniform(0.5, 2, c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    return x, rm, rv, w, b


@given(cases())
def test_batch_norm_matches_the_formula_and_updates_running_stats(case):
    shape, training, dtype, seed, affine, momentum, eps = case
    x, rm, rv, w, b = _data(shape, dtype, seed, affine)
    x0 = x.copy()
    ref, ref_rm, ref_rv = batch_norm_ref(x, rm, rv, w, b, training, momentum, eps)
    rm_in, rv_in = rm.copy(), rv.copy()
    y = nc.batch_norm(x, rm_in, rv_in, w, b, training=training, momentum=momentum, eps=eps)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, ref, **TOL[dtype])
    np.testing.assert_array_equal(x, x0)
    if training:  # updated in place, exactly as PyTorch updates them
        np.testing.assert_allclose(rm_in, ref_rm, **TOL[dtype])
        np.testing.assert_allclose(rv_in, ref_rv, **TOL[dtype])
    else:
        np.testing.assert_array_equal(rm_in, rm)
        np.testing.assert_array_equal(rv_in, rv)


@given(cases())
def test_gradients_match_the_formula(case):
    shape, training, dtype, seed, affine, _, eps = case
    x, rm, rv, w, _ = _data(shape, dtype, seed, affine)
    g = np.random.default_rng(seed + 1).standard_normal(shape).astype(dtype)
    ref = batch_norm_grads_ref(g, x, rm, rv, w, training, eps)
    got = grad.batch_norm_backward(g, x, rm, rv, w, training=training, eps=eps)
    # float32 training gradients cancel (g - mean(g) - xhat * mean(g xhat)): absolute scale
    scale = float(np.abs(g).max()) * (1.0 if w is None else float(np.abs(w).max()))
    tol = dict(rtol=1e-4, atol=1e-4 * scale * np.sqrt(x.size)) if dtype == np.float32 \
        else dict(rtol=1e-9, atol=1e-10 * np.sqrt(x.size))
    for a, r in zip(got, ref, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, r, **tol)
    singles = (grad.batch_norm_input(g, x, rm, rv, w, training=training, eps=eps),
               grad.batch_norm_weight(g, x, rm, rv, training=training, eps=eps),
               grad.batch_norm_bias(g))
    for a, r in zip(singles, ref, strict=True):
        np.testing.assert_allclose(a, r, **tol)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 2, 3, 4), (2, 1, 2, 2, 3)])
def test_gradients_match_finite_differences(shape, training):
    x, rm, rv, w, b = _data(shape, np.float64, 7, True)

    def f(x, w, b):
        return nc.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    def vjp(g, x, w, b):
        return grad.batch_norm_backward(g, x, rm, rv, w, training=training)

    assert gradcheck(f, [x, w, b], vjp, atol=1e-6, rtol=1e-5)


def test_a_wrong_gradient_fails_the_check():
    x, rm, rv, w, b = _data((4, 2, 3), np.float64, 3, True)
    with pytest.raises(AssertionError, match="input 0"):  # eval's gradient for training's
        gradcheck(lambda x: nc.batch_norm(x, None, None, w, b, training=True), [x],
                  lambda g, x: grad.batch_norm_input(g, x, rm, rv, w, training=False))


def _last(a):
    """The channel axis (1) moved last, contiguous."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


@given(cases())
def test_channels_last_matches_the_formula_in_that_layout(case):
    """``data_format='channels_last'``: the formula's result (channels first) with the channel
    axis moved last, forward, running update and all three gradients."""
    shape, training, dtype, seed, affine, momentum, eps = case
    x, rm, rv, w, b = _data(shape, dtype, seed, affine)
    g = np.random.default_rng(seed + 1).standard_normal(shape).astype(dtype)
    ref, ref_rm, ref_rv = batch_norm_ref(x, rm, rv, w, b, training, momentum, eps)
    refs = batch_norm_grads_ref(g, x, rm, rv, w, training, eps)
    xl, gl = _last(x), _last(g)
    rm_in, rv_in = rm.copy(), rv.copy()
    y = nc.batch_norm(xl, rm_in, rv_in, w, b, training=training, momentum=momentum, eps=eps,
                      data_format="channels_last")
    np.testing.assert_allclose(y, _last(ref), **TOL[dtype])
    if training:
        np.testing.assert_allclose(rm_in, ref_rm, **TOL[dtype])
        np.testing.assert_allclose(rv_in, ref_rv, **TOL[dtype])
    gx, gw, gb = grad.batch_norm_backward(gl, xl, rm, rv, w, training, eps,
                                          data_format="channels_last")
    scale = float(np.abs(g).max()) * (1.0 if w is None else float(np.abs(w).max()))
    tol = dict(rtol=1e-4, atol=1e-4 * scale * np.sqrt(x.size)) if dtype == np.float32 \
        else dict(rtol=1e-9, atol=1e-10 * np.sqrt(x.size))
    np.testing.assert_allclose(gx, _last(refs[0]), **tol)
    np.testing.assert_allclose(gw, refs[1], **tol)
    np.testing.assert_allclose(gb, refs[2], **tol)
    np.testing.assert_allclose(grad.batch_norm_bias(gl, data_format="channels_last"), refs[2],
                               **tol)
    np.testing.assert_allclose(grad.batch_norm_input(gl, xl, rm, rv, w, training, eps,
                                                     data_format="channels_last"),
                               _last(refs[0]), **tol)
    np.testing.assert_allclose(grad.batch_norm_weight(gl, xl, rm, rv, training, eps,
                                                      data_format="channels_last"),
                               refs[1], **tol)


def test_channels_last_errors_name_the_layout():
    with pytest.raises(ValueError, match="data_format"):
        nc.batch_norm(np.ones((2, 3)), np.zeros(3), np.ones(3), data_format="NHWC")
    with pytest.raises(ValueError, match=r"axis 3 of shape \(2, 4, 4, 3\)"):
        nc.batch_norm(np.ones((2, 4, 4, 3)), np.zeros(4), np.ones(4), data_format="channels_last")
    with pytest.raises(ValueError, match=r"\(N, \*spatial, C\)"):
        nc.batch_norm(np.ones(3), np.zeros(3), np.ones(3), data_format="channels_last")


@pytest.mark.parametrize("shape", [(40, 2, 32, 32), (1024, 80)])
def test_parallel_path_with_several_items_per_channel(shape):
    # above the serial threshold, several blocks of rows: channel runs (40, 2, 32, 32) and
    # whole rows of channels ((N, C) input)
    inner = int(np.prod(shape[2:]))
    assert np.prod(shape) >= cpu_bn.SERIAL_BELOW
    assert cpu_bn._blocks(shape[0], shape[1], inner)[1] >= 3
    x, rm, rv, w, b = _data(shape, np.float32, 11, True)
    ref, ref_rm, ref_rv = batch_norm_ref(x, rm, rv, w, b, True)
    y = nc.batch_norm(x, rm, rv, w, b, training=True)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rm, ref_rm, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rv, ref_rv, rtol=1e-6, atol=1e-6)
    g = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    gx, gw, gb = grad.batch_norm_backward(g, x, None, None, w, training=True)
    rx, rw, rb = batch_norm_grads_ref(g, x, None, None, w, True)
    np.testing.assert_allclose(gw, rw, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(gb, rb, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(gx, rx, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c", [3, 7, 8, 9, 16, 31, 32, 33, 40, 65])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_last_sums_are_the_row_order_sums(c, dtype):
    """Rows of channels (``(N, C)`` or channels-last) are summed down the rows a block of
    channel vectors at a time in registers (the last block overlapping the one before), or
    lane by lane below a vector, about the block's first row ``k``: each channel's sum of
    ``x - k`` is the float64 sum in row order, the same bits as ``np.cumsum``'s last row
    (one block of rows here), and the mean ``k + sum / n``; so is the backward's sum of
    ``g``; the squared deviations and products are fused multiply-adds."""
    rng = np.random.default_rng(c)
    x = (rng.standard_normal((50, c)) * 3 + 1).astype(dtype)
    g = rng.standard_normal((50, c)).astype(dtype)
    assert cpu_bn._blocks(50, c, 1)[1] == 1
    mean, var = np.empty(c), np.empty(c)
    cpu_bn.batch_stats(x.reshape(50, c, 1), mean, var)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    k = x64[0]
    want_mean = k + np.cumsum(x64 - k, axis=0)[-1] / 50
    np.testing.assert_array_equal(mean, want_mean)
    d = x64 - want_mean  # (the squares are fused multiply-adds: within an ulp a step)
    np.testing.assert_allclose(var, np.cumsum(d * d, axis=0)[-1] / 50, rtol=1e-13)
    m2, v2, sg, sgx = (np.empty(c) for _ in range(4))
    cpu_bn.backward_stats(g.reshape(50, c, 1), x.reshape(50, c, 1), m2, v2, sg, sgx)
    np.testing.assert_array_equal(m2, want_mean)
    np.testing.assert_array_equal(v2, var)
    np.testing.assert_array_equal(sg, np.cumsum(g64, axis=0)[-1])
    np.testing.assert_allclose(sgx, np.sum(g64 * d, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 2, 64, 64), (1, 2, 64, 64), (4096, 2), (40, 2, 32, 32),
                                   (30000, 3)])
def test_statistics_recover_from_a_far_first_element(shape):
    """The statistics and the training backward's sums take each block in one pass about
    the block's first element, and sum a block again about its mean where that element is
    so far out that the difference of sums would cancel more than 8 bits. Channel 0's
    blocks start 300 standard deviations out (that second path), channel 1's do not (the
    first); both, over a large offset, give the float64 formula's normalised values,
    running statistics and gradients to 1e-10."""
    rng = np.random.default_rng(3)
    x = 1e3 + rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    inner = int(np.prod(shape[2:]))
    rows, nblk = cpu_bn._blocks(shape[0], shape[1], inner)
    starts = [(b * rows, 0) for b in range(nblk)]  # (row of outer, element of the run)
    flat = x.reshape(shape[0], shape[1], inner)
    for o, i in starts:
        flat[o, 0, i] = 1e3 + 300.0
    for o, _ in starts:  # the data takes the two-pass path in channel 0 alone
        for c, two_pass in ((0, True), (1, False)):
            block = flat[o:o + rows, c].ravel()
            q = np.sum((block - block[0]) ** 2)
            m2 = np.sum((block - block.mean()) ** 2)
            assert (m2 * cpu_bn.SHIFT_LOSS < q) == two_pass
    w = np.array([0.5, 2.0, 1.5][:shape[1]])
    rm, rv = np.zeros(shape[1]), np.ones(shape[1])
    y = nc.batch_norm(x, rm, rv, w, training=True, momentum=1.0)
    want_y, want_rm, want_rv = batch_norm_ref(x, np.zeros(shape[1]), np.ones(shape[1]), w,
                                              None, True, momentum=1.0)
    for a, b in ((y, want_y), (rm, want_rm), (rv, want_rv)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    got = grad.batch_norm_backward(g, x, None, None, w, training=True)
    want = batch_norm_grads_ref(g, x, None, None, w, True)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_statistics_do_not_depend_on_the_thread_count():
    import numba

    # one thread: the calling thread runs every item; more: fixed runs of items on Numba's
    # threads; the statistics, the normalised values and all three gradients the same bits
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 3, 30, 30)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.uniform(0.5, 2, 3).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, before):
            numba.set_num_threads(threads)
            runs.append((nc.batch_norm(x, None, None, training=True),
                         nc.batch_norm(x, rm, rv, w, training=False),
                         *grad.batch_norm_backward(g, x, None, None, w, training=True),
                         grad.batch_norm_input(g, x, rm, rv, w, training=False)))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_concurrent_calls_from_many_threads_give_the_serial_answers():
    """Calls on Python threads at once, of several shapes and layouts (threaded runs of
    items on Numba's threads, the small one-call backward), give each call's own answer,
    the bits of the same call made alone."""
    import threading

    rng = np.random.default_rng(8)
    shapes = [(40, 3, 30, 30), (2, 6, 6, 5), (1500, 48), (6, 4, 16, 16)]
    data = [(rng.standard_normal(s).astype(np.float32), rng.standard_normal(s).astype(np.float32))
            for s in shapes]

    def run(x, g):
        return (nc.batch_norm(x, None, None, training=True),
                *grad.batch_norm_backward(g, x, None, None, None, training=True))

    want = [run(x, g) for x, g in data]
    bad = []

    def work(i):
        for _ in range(5):
            got = run(*data[i % len(data)])
            if not all(np.array_equal(a, b) for a, b in zip(got, want[i % len(data)],
                                                           strict=True)):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_statistics_are_accurate_for_a_large_offset():
    # float64 two-pass statistics: a float32 channel at 1e4 +- 1 normalises to 4 digits
    rng = np.random.default_rng(2)
    x = (1e4 + rng.standard_normal((64, 2, 16, 16))).astype(np.float32)
    ref = batch_norm_ref(x, None, None, training=True)[0]
    np.testing.assert_allclose(nc.batch_norm(x, None, None, training=True), ref, atol=2e-3)


def test_out_and_in_place():
    x, rm, rv, w, b = _data((3, 2, 4), np.float32, 1, True)
    ref = batch_norm_ref(x, rm, rv, w, b)[0]
    out = np.empty_like(x)
    assert nc.batch_norm(x, rm, rv, w, b, out=out) is out
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    xi = x.copy()
    assert nc.batch_norm(xi, None, None, w, b, training=True, out=xi) is xi
    np.testing.assert_allclose(xi, batch_norm_ref(x, None, None, w, b, True)[0], rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match="out"):
        nc.batch_norm(x, rm, rv, out=np.empty((3, 2, 5), np.float32))
    gx, gw, gb = np.empty_like(x), np.empty(2, np.float32), np.empty(2, np.float32)
    res = grad.batch_norm_backward(x, x, rm, rv, w, out=(gx, gw, gb))
    assert res[0] is gx and res[1] is gw and res[2] is gb


@pytest.mark.parametrize("shape, data_format", [
    ((1, 32, 28, 28), "channels_first"), ((2, 3, 5), "channels_first"), ((64, 7), "channels_first"),
    ((2, 6, 6, 5), "channels_last"),
    # above the serial size: the fast path runs the general path's kernels itself
    ((4, 16, 40, 40), "channels_first"), ((3, 40, 40, 16), "channels_last"),
    ((9000, 8), "channels_first")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_small_training_backward_in_one_call_matches_the_general_path(shape, data_format, dtype,
                                                                      affine, monkeypatch):
    """A small training backward runs as one kernel call (statistics, sums, parameter and
    input gradients; the same items in the same order as the general path), a larger one
    the general path's kernels straight from the fast path: the same bits as the general
    path (a parameter-gradient ``out`` takes that), into a fresh array or over
    ``grad_output``, and the float64 formula's values."""
    calls = []
    real = cpu_bn.backward_small
    monkeypatch.setattr(cpu_bn, "backward_small", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    c = shape[-1] if data_format == "channels_last" else shape[1]
    w = rng.uniform(0.5, 2, c).astype(dtype) if affine else None
    rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
    kw = dict(training=True, data_format=data_format)
    if x.size > 50_000:  # (the large cases: above the kernels' serial size)
        assert x.size >= cpu_bn.SERIAL_BELOW
    fast = grad.batch_norm_backward(g, x, rm, rv, w, **kw)
    assert calls == [1]
    general = grad.batch_norm_backward(g, x, rm, rv, w, **kw,
                                       out=(None, np.empty(c, dtype), None))
    assert calls == [1]
    g2 = g.copy()
    over = grad.batch_norm_backward(g2, x, rm, rv, w, **kw, out=(g2, None, None))
    assert over[0] is g2 and calls == [1, 1]
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fast, over, strict=True):
        np.testing.assert_array_equal(a, b)
    if data_format == "channels_last":
        x, g = np.moveaxis(x, -1, 1), np.moveaxis(g, -1, 1)
    want = batch_norm_grads_ref(g, x, None, None, w, True)
    want = (np.moveaxis(want[0], 1, -1) if data_format == "channels_last" else want[0],
            *want[1:])
    for a, b in zip(fast, want, strict=True):
        if b is not None:
            np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("shape, training, data_format", [
    ((1, 3, 7, 9), False, "channels_first"),     # one serial kernel call
    ((3, 4, 60, 50), False, "channels_first"),   # the threaded runs
    ((3, 4, 60, 50), True, "channels_first"),
    ((40, 5), False, "channels_first"),          # (N, C): rows along the channels
    ((2, 30, 30, 4), True, "channels_last"),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_runs_the_formula(shape, training, data_format, dtype):
    # out=x (and out=grad_output for the input gradient) runs loops of their own over the
    # one array; the results are those of a separate output, bit for bit
    cf = data_format == "channels_first"
    x, rm, rv, w, b = _data(shape if cf else (shape[0], shape[-1], *shape[1:-1]), dtype, 3,
                            True)
    if not cf:
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    kw = dict(training=training, data_format=data_format)
    ref = nc.batch_norm(x, rm.copy(), rv.copy(), w, b, **kw)
    xi = x.copy()
    assert nc.batch_norm(xi, rm.copy(), rv.copy(), w, b, out=xi, **kw) is xi
    np.testing.assert_array_equal(xi, ref)
    axis = 1 if cf else -1
    want = batch_norm_ref(np.moveaxis(x, axis, 1), rm, rv, w, b, training)[0]
    np.testing.assert_allclose(np.moveaxis(xi, axis, 1), want, **TOL[dtype])
    g = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    gx = grad.batch_norm_backward(g, x, rm, rv, w, training=training,
                                  data_format=data_format)[0]
    gi = g.copy()
    res = grad.batch_norm_backward(gi, x, rm, rv, w, training=training,
                                   data_format=data_format, out=(gi, None, None))
    assert res[0] is gi
    np.testing.assert_array_equal(gi, gx)
    want_g = batch_norm_grads_ref(np.moveaxis(g, axis, 1), np.moveaxis(x, axis, 1), rm, rv, w,
                                  training)[0]
    scale = float(np.abs(g).max() * np.abs(w).max())
    np.testing.assert_allclose(np.moveaxis(gi, axis, 1), want_g, rtol=1e-4,
                               atol=(1e-4 if dtype == np.float32 else 1e-10) * scale)


def test_strided_running_statistics_are_updated_in_place():
    x, _, _, _, _ = _data((5, 3, 4), np.float64, 4, False)
    buf = np.zeros((2, 6))
    rm, rv = buf[0, ::2], buf[1, ::2]
    rv[:] = 1.0
    _, ref_rm, ref_rv = batch_norm_ref(x, rm.copy(), rv.copy(), training=True)
    nc.batch_norm(x, rm, rv, training=True)
    np.testing.assert_allclose(buf[0, ::2], ref_rm, rtol=1e-12)
    np.testing.assert_allclose(buf[1, ::2], ref_rv, rtol=1e-12)
    assert np.all(buf[:, 1::2] == 0)


def test_float32_running_statistics_with_float64_input():
    x, _, _, _, _ = _data((5, 3, 4), np.float64, 4, False)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    _, ref_rm, ref_rv = batch_norm_ref(x, rm, rv, training=True)
    y = nc.batch_norm(x, rm, rv, training=True)
    assert y.dtype == np.float64 and rm.dtype == np.float32
    np.testing.assert_allclose(rm, ref_rm, rtol=1e-6)
    np.testing.assert_allclose(rv, ref_rv, rtol=1e-6)


def test_nan_poisons_its_channel_only_when_training():
    x = np.ones((4, 2, 3))
    x[:, 1] = np.arange(12.0).reshape(4, 3)
    x[0, 0, 0] = np.nan
    y = nc.batch_norm(x, None, None, training=True)
    assert np.isnan(y[:, 0]).all() and np.isfinite(y[:, 1]).all()
    y = nc.batch_norm(x, np.zeros(2), np.ones(2))
    assert np.isnan(y).sum() == 1


def test_empty_batch_in_evaluation():
    y = nc.batch_norm(np.empty((0, 3, 4)), np.zeros(3), np.ones(3))
    assert y.shape == (0, 3, 4)


def test_integer_input_computes_in_float64():
    y = nc.batch_norm(np.arange(8).reshape(4, 2), None, None, training=True)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, batch_norm_ref(np.arange(8.0).reshape(4, 2), None, None,
                                                 training=True)[0])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(x=np.ones(3)), ValueError, "2 to 5 dimensions"),
    (dict(x=np.ones((2, 3, 1, 1, 1, 1))), ValueError, "2 to 5 dimensions"),
    (dict(running_mean=np.zeros(2)), ValueError, r"running_mean must have shape \(3,\)"),
    (dict(running_var=None), ValueError, "both be None"),
    (dict(running_mean=None, running_var=None), ValueError, "training=False"),
    (dict(weight=np.ones(4)), ValueError, r"weight must have shape \(3,\)"),
    (dict(bias=np.ones((3, 1))), ValueError, "bias must have shape"),
    (dict(x=np.ones((1, 3)), training=True), ValueError, "more than one value per channel"),
    (dict(training=1), TypeError, "training must be True or False"),
    (dict(eps=-1.0), ValueError, "eps must be >= 0"),
    (dict(momentum=float("nan")), ValueError, "momentum must be a finite"),
    (dict(momentum="0.1"), TypeError, "momentum must be a real number"),
    (dict(training=True, running_mean=[0.0, 0.0, 0.0]), TypeError, "updates it in place"),
    (dict(training=True, running_var=np.ones(3, np.int64)), TypeError, "running_var"),
    (dict(x=np.array([["a"]])), TypeError, "x"),
])
def test_errors_name_the_argument(kwargs, exc, match):
    args = dict(x=np.ones((2, 3, 4)), running_mean=np.zeros(3), running_var=np.ones(3))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        nc.batch_norm(**args)


def test_read_only_running_stats_are_refused_before_anything_changes():
    rm, rv = np.zeros(3), np.ones(3)
    rv.flags.writeable = False
    with pytest.raises(ValueError, match="running_var is read-only"):
        nc.batch_norm(np.random.default_rng(0).random((4, 3)), rm, rv, training=True)
    assert np.all(rm == 0)


def test_gradient_errors():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="grad_output must have the shape of x"):
        grad.batch_norm_input(np.ones((2, 3, 5)), x, np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="training=False"):
        grad.batch_norm_weight(x, x, None, None)
    with pytest.raises(ValueError, match="out must be a tuple"):
        grad.batch_norm_backward(x, x, np.zeros(3), np.ones(3), out=np.empty_like(x))


def test_pytorch_cross_check():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4, 5, 3)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    for training in (True, False):
        rm, rv = rng.standard_normal(4).astype(np.float32), rng.uniform(1, 2, 4).astype(np.float32)
        trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
        tx = torch.from_numpy(x).requires_grad_()
        tw = torch.from_numpy(w).requires_grad_()
        tb = torch.from_numpy(b).requires_grad_()
        ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training, 0.3, 1e-4)
        g = rng.standard_normal(x.shape).astype(np.float32)
        ty.backward(torch.from_numpy(g))
        rm0, rv0 = rm.copy(), rv.copy()
        y = nc.batch_norm(x, rm, rv, w, b, training, 0.3, 1e-4)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-6, atol=1e-7)
        gx, gw, gb = grad.batch_norm_backward(g, x, rm0, rv0, w, training, 1e-4)
        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-5, atol=1e-4)
