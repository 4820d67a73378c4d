"""Pooling against NumPy references built in this file from ``sliding_window_view``.

The references pad the input explicitly (-inf for max, zeros for average),
cut every window with ``numpy.lib.stride_tricks.sliding_window_view`` and
reduce it with NumPy; gradients are checked against index routing (max), the
transposed pooling matrix built from the reference (average), the adjoint
identity and finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import numbaconv as nc
from numbaconv import grad

# ------------------------------------------------------------------------------------------
# the oracle
# ------------------------------------------------------------------------------------------


def out_len(n, k, s, lo, hi, d, ceil_mode):
    """PyTorch's pooling output length, written out (floor/ceil, drop a window starting in the pad)."""
    span = n + lo + hi - (d * (k - 1) + 1)
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + lo:
            o -= 1
        return o
    return span // s + 1


def windows(a, k, s, d, pads, outs, fill):
    """(N, C, *outs, *k) windows of ``a`` (N, C, *spatial) padded with ``fill``."""
    nd = len(k)
    widths = [(0, 0), (0, 0)]
    for i in range(nd):
        need = (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1
        widths.append((pads[i][0], max(0, need - a.shape[2 + i] - pads[i][0])))
    ap = np.pad(a, widths, constant_values=fill)
    eff = tuple(d[i] * (k[i] - 1) + 1 for i in range(nd))
    v = sliding_window_view(ap, eff, axis=tuple(range(2, 2 + nd)))
    sl = ((slice(None), slice(None))
          + tuple(slice(0, (outs[i] - 1) * s[i] + 1, s[i]) for i in range(nd))
          + tuple(slice(None, None, d[i]) for i in range(nd)))
    return v[sl]


def ref_max(x, k, s, d, pads, outs):
    """(values, flat in-plane indices): first maximum / first NaN of each window."""
    nd = len(k)
    w = windows(x.astype(np.float64), k, s, d, pads, outs, -np.inf)
    sp = x.shape[2:]
    pos = np.arange(int(np.prod(sp))).reshape((1, 1) + sp)
    wi = windows(pos, k, s, d, pads, outs, -1)
    flat = w.reshape(w.shape[:2 + nd] + (-1,))
    am = np.argmax(flat, axis=-1)  # the first maximum; the first NaN when there is one
    vals = np.take_along_axis(flat, am[..., None], -1)[..., 0]
    wi = np.broadcast_to(wi, w.shape).reshape(flat.shape)
    return vals, np.take_along_axis(wi, am[..., None], -1)[..., 0]


def ref_avg(x, k, s, pads, outs, include_pad, override=None):
    nd = len(k)
    ones = (1,) * nd
    w = windows(x.astype(np.float64), k, s, ones, pads, outs, 0.0)
    axes = tuple(range(2 + nd, 2 + 2 * nd))
    total = w.sum(axis=axes)
    if override is not None:
        return total / override
    mask = np.ones((1, 1) + x.shape[2:])
    if include_pad:  # padding counts; the part of a window beyond the padding never does
        widths = [(0, 0), (0, 0)] + [(lo, hi) for lo, hi in pads]
        mask = np.pad(mask, widths, constant_values=1.0)
        shifted = [(0, 0)] * nd
        count = windows(mask, k, s, ones, shifted, outs, 0.0).sum(axis=axes)
    else:
        count = windows(mask, k, s, ones, pads, outs, 0.0).sum(axis=axes)
    return total / count


def adaptive_bounds(n, o):
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def ref_adaptive(x, outs, op):
    nd = len(outs)
    sp = x.shape[2:]
    bounds = [adaptive_bounds(n, o) for n, o in zip(sp, outs, strict=True)]
    vals = np.empty(x.shape[:2] + tuple(outs))
    idx = np.empty(x.shape[:2] + tuple(outs), np.int64)
    pos = np.arange(int(np.prod(sp))).reshape(sp)
    for o in np.ndindex(*outs):
        sl = tuple(slice(*bounds[a][o[a]]) for a in range(nd))
        win = x[(Ellipsis,) + sl].astype(np.float64).reshape(x.shape[:2] + (-1,))
        if op == "max":
            am = np.argmax(win, axis=-1)
            vals[(Ellipsis,) + o] = np.take_along_axis(win, am[..., None], -1)[..., 0]
            idx[(Ellipsis,) + o] = pos[sl].ravel()[am]
        else:
            vals[(Ellipsis,) + o] = win.mean(axis=-1)
    return vals, idx


def route(g, idx, in_shape):
    """Max-pool gradient reference: every g entry added to the input at its index."""
    n, c = in_shape[:2]
    out = np.zeros((n, c, int(np.prod(in_shape[2:]))))
    for i in range(n):
        for j in range(c):
            ii = idx[i, j].ravel()
            keep = ii >= 0
            np.add.at(out[i, j], ii[keep], g[i, j].ravel()[keep])
    return out.reshape(in_shape)


FN = {(op, nd): getattr(nc, f"{op}{nd}d") for op in ("max_pool", "avg_pool") for nd in (1, 2, 3)}

# ------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------


@st.composite
def configs(draw, dilation=True):
    nd = draw(st.integers(1, 3))
    maxside = {1: 9, 2: 7, 3: 5}[nd]
    sp = tuple(draw(st.integers(1, maxside)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if dilation else (1,) * nd
    p = tuple(draw(st.integers(0, (d[i] * (k[i] - 1) + 1) // 2)) for i in range(nd))
    ceil_mode = draw(st.booleans())
    assume(all(sp[i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1 for i in range(nd)))
    batch = draw(st.sampled_from([None, 1, 2]))
    c = draw(st.integers(1, 2))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = ((c,) if batch is None else (batch, c)) + sp
    x = draw(st.integers(0, 2**32 - 1).map(
        lambda seed: np.random.default_rng(seed).standard_normal(shape).astype(dtype)))
    return nd, x, k, s, d, p, ceil_mode


def batched(x, nd):
    return x if x.ndim == nd + 2 else x[None]


# ------------------------------------------------------------------------------------------
# forward
# ------------------------------------------------------------------------------------------


@given(configs())
def test_max_pool_matches_reference(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = tuple(out_len(n, k[i], s[i], p[i], p[i], d[i], ceil_mode) for i, n in enumerate(xb.shape[2:]))
    assert outs == tuple(nc.pool_output_size(n, k[i], s[i], p[i], d[i], ceil_mode)
                         for i, n in enumerate(xb.shape[2:]))
    vals, idx = ref_max(xb, k, s, d, [(q, q) for q in p], outs)
    got, got_idx = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    plain = FN["max_pool", nd](x, k, s, p, d, ceil_mode)
    assert got.dtype == x.dtype and got_idx.dtype == np.int64
    assert got.shape == x.shape[:-nd] + outs
    np.testing.assert_array_equal(batched(got, nd), vals.astype(x.dtype))
    np.testing.assert_array_equal(batched(got_idx, nd), idx)
    np.testing.assert_array_equal(plain, got)


@given(configs(dilation=False), st.booleans(), st.sampled_from([None, 1, 3]))
def test_avg_pool_matches_reference(cfg, include_pad, override):
    nd, x, k, s, _, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = tuple(out_len(n, k[i], s[i], p[i], p[i], 1, ceil_mode) for i, n in enumerate(xb.shape[2:]))
    expected = ref_avg(xb, k, s, [(q, q) for q in p], outs, include_pad, override)
    got = FN["avg_pool", nd](x, k, s, p, ceil_mode, include_pad, override)
    assert got.dtype == x.dtype and got.shape == x.shape[:-nd] + outs
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(batched(got, nd), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("k, s", [(2, 2), (3, 2), (3, 1), (4, 3)])
def test_same_padding_is_tensorflow(nd, k, s):
    """'same': output ceil(n/s), extra pad after; average excludes the padding (Keras)."""
    rng = np.random.default_rng(nd * 10 + k)
    x = rng.standard_normal((2, 3) + (7, 6, 5)[:nd])
    pads = [nc.same_padding(n, k, s) for n in x.shape[2:]]
    outs = tuple(-(-n // s) for n in x.shape[2:])
    got = getattr(nc, f"max_pool{nd}d")(x, k, s, "same")
    np.testing.assert_array_equal(got, ref_max(x, (k,) * nd, (s,) * nd, (1,) * nd, pads, outs)[0])
    got = getattr(nc, f"avg_pool{nd}d")(x, k, s, "same")
    np.testing.assert_allclose(got, ref_avg(x, (k,) * nd, (s,) * nd, pads, outs, False), rtol=1e-12)
    got = getattr(nc, f"avg_pool{nd}d")(x, k, s, "valid")
    assert got.shape[2:] == tuple((n - k) // s + 1 for n in x.shape[2:])


def test_same_average_pooling_matches_keras_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    # k=2, s=2: windows [1,2], [3,4], [5, pad] -> the last divides by 1, not 2
    np.testing.assert_array_equal(nc.avg_pool1d(x, 2, padding="same"), [[1.5, 3.5, 5.0]])


@st.composite
def adaptive_configs(draw):
    nd = draw(st.integers(1, 3))
    sp = tuple(draw(st.integers(1, {1: 12, 2: 7, 3: 5}[nd])) for _ in range(nd))
    outs = tuple(draw(st.integers(1, n + 2)) for n in sp)  # also larger than the input
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    batch = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal(((2, 3) if batch else (3,)) + sp).astype(dtype)
    return nd, x, outs


@given(adaptive_configs())
def test_adaptive_pooling_matches_reference(cfg):
    nd, x, outs = cfg
    xb = batched(x, nd)
    vals, idx = ref_adaptive(xb, outs, "max")
    got, got_idx = getattr(nc, f"adaptive_max_pool{nd}d")(x, outs, return_indices=True)
    np.testing.assert_array_equal(batched(got, nd), vals.astype(x.dtype))
    np.testing.assert_array_equal(batched(got_idx, nd), idx)
    mean, _ = ref_adaptive(xb, outs, "avg")
    got = getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs)
    assert got.shape == x.shape[:-nd] + outs
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(batched(got, nd), mean, rtol=tol, atol=tol)


def test_adaptive_none_keeps_axis_and_global_pooling():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 6))
    got = nc.adaptive_avg_pool2d(x, (None, 2))
    assert got.shape == (2, 3, 5, 2)
    np.testing.assert_allclose(got[..., 0], x[..., :3].mean(-1))
    np.testing.assert_allclose(nc.adaptive_avg_pool2d(x, 1)[..., 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_array_equal(nc.adaptive_max_pool2d(x, 1)[..., 0, 0], x.max(axis=(2, 3)))


# ------------------------------------------------------------------------------------------
# documented edges: ties, NaN, -inf, dilation windows in the padding
# ------------------------------------------------------------------------------------------


def test_ties_first_maximum_wins_and_takes_the_gradient():
    x = np.array([[[1.0, 7.0, 7.0], [7.0, 7.0, 0.0], [7.0, 2.0, 7.0]]])
    out, idx = nc.max_pool2d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(out, [[[7.0, 7.0], [7.0, 7.0]]])
    np.testing.assert_array_equal(idx, [[[1, 1], [3, 4]]])  # row-major scan order
    g = nc.grad.max_pool2d_input(np.ones((1, 2, 2)), x, 2, stride=1)
    np.testing.assert_array_equal(g, [[[0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])


def test_nan_propagates_and_index_points_at_the_first_nan():
    nan = np.nan
    x = np.array([[1.0, nan, 3.0, nan, 0.0, 2.0]])
    out, idx = nc.max_pool1d(x, 4, stride=2, return_indices=True)
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1])
    np.testing.assert_array_equal(idx, [[1, 3]])
    assert np.isnan(nc.avg_pool1d(x, 2)[0, 0])
    g = nc.grad.max_pool1d_input(np.array([[1.0, 10.0]]), x, 4, stride=2)
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0, 10.0, 0.0, 0.0]])
    np.testing.assert_array_equal(nc.max_pool1d(x, 4, stride=2), out)


def test_minus_infinity_and_dilated_windows_inside_the_padding():
    x = np.full((1, 4), -np.inf)
    out, idx = nc.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(out, np.full((1, 4), -np.inf))
    np.testing.assert_array_equal(idx, [[0, 0, 1, 2]])  # the first tap inside the input
    # k=2, dilation=3, padding=2 on a length-1 input: taps at -2 and 1, both outside
    out, idx = nc.max_pool1d(np.array([[5.0]]), 2, stride=2, padding=2, dilation=3,
                             return_indices=True)
    np.testing.assert_array_equal(out, [[-np.inf]])
    np.testing.assert_array_equal(idx, [[-1]])
    g = nc.grad.max_pool1d_input(np.array([[1.0]]), np.array([[5.0]]), 2, 2, 2, 3)
    np.testing.assert_array_equal(g, [[0.0]])


def test_ceil_mode_last_window_rules():
    x = np.arange(1.0, 6.0)[None]  # length 5, k=2, s=2
    np.testing.assert_array_equal(nc.max_pool1d(x, 2, ceil_mode=True), [[2.0, 4.0, 5.0]])
    # the partial window never counts the part beyond input + padding
    np.testing.assert_array_equal(nc.avg_pool1d(x, 2, ceil_mode=True), [[1.5, 3.5, 5.0]])
    # padding=1, k=2, s=2, n=4, ceil: a 4th window would start in the right padding: dropped
    x4 = np.arange(1.0, 5.0)[None]
    assert nc.max_pool1d(x4, 2, padding=1, ceil_mode=True).shape == (1, 3)
    np.testing.assert_allclose(nc.avg_pool1d(x4, 2, padding=1, ceil_mode=True), [[0.5, 2.5, 2.0]])


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------


def pool_matrix(fn, in_shape):
    """The matrix of a linear map, from the map applied to every basis vector."""
    size = int(np.prod(in_shape))
    cols = [fn(np.eye(size)[i].reshape(in_shape)).ravel() for i in range(size)]
    return np.stack(cols, axis=1)


@given(configs())
def test_max_pool_gradient_routes_to_the_reference_index(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    xb = batched(x, nd)
    outs = tuple(out_len(n, k[i], s[i], p[i], p[i], d[i], ceil_mode) for i, n in enumerate(xb.shape[2:]))
    _, idx = ref_max(xb, k, s, d, [(q, q) for q in p], outs)
    g = np.random.default_rng(0).standard_normal(x.shape[:-nd] + outs).astype(x.dtype)
    got = getattr(grad, f"max_pool{nd}d_input")(g, x, k, s, p, d, ceil_mode)
    assert got.shape == x.shape and got.dtype == x.dtype
    expected = route(batched(g, nd).astype(np.float64), idx, xb.shape)
    tol = 1e-6 if x.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(batched(got, nd), expected, rtol=tol, atol=tol)


@given(configs(dilation=False), st.booleans(), st.sampled_from([None, 2]))
def test_avg_pool_gradient_is_the_transposed_reference_matrix(cfg, include_pad, override):
    nd, x, k, s, _, p, ceil_mode = cfg
    x = x.astype(np.float64)
    xb = batched(x, nd)
    assume(xb.size <= 150)
    outs = tuple(out_len(n, k[i], s[i], p[i], p[i], 1, ceil_mode) for i, n in enumerate(xb.shape[2:]))
    pads = [(q, q) for q in p]
    A = pool_matrix(lambda e: ref_avg(e, k, s, pads, outs, include_pad, override), xb.shape)
    g = np.random.default_rng(1).standard_normal(x.shape[:-nd] + outs)
    got = getattr(grad, f"avg_pool{nd}d_input")(g, x.shape, k, s, p, ceil_mode, include_pad, override)
    np.testing.assert_allclose(batched(got, nd).ravel(), A.T @ batched(g, nd).ravel(), atol=1e-12)
    # the adjoint identity <pool(x), g> == <x, pool_input(g)>
    fwd = FN["avg_pool", nd](x, k, s, p, ceil_mode, include_pad, override)
    assert np.isclose(np.vdot(fwd, g), np.vdot(x, got), rtol=1e-10, atol=1e-12)


def test_gradients_by_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.permutation(60).reshape(1, 3, 4, 5) / 7.0  # distinct values: no ties near x
    g = rng.standard_normal((1, 3, 2, 3))
    eps = 1e-6

    def num_grad(f):
        out = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = eps
            out[i] = (np.vdot(f(x + e), g) - np.vdot(f(x - e), g)) / (2 * eps)
        return out

    np.testing.assert_allclose(grad.max_pool2d_input(g, x, 2, ceil_mode=True),
                               num_grad(lambda v: nc.max_pool2d(v, 2, ceil_mode=True)), atol=1e-6)
    np.testing.assert_allclose(grad.avg_pool2d_input(g, x.shape, 3, 2, 1),
                               num_grad(lambda v: nc.avg_pool2d(v, 3, 2, 1)), atol=1e-6)
    np.testing.assert_allclose(grad.adaptive_avg_pool2d_input(g, x.shape),
                               num_grad(lambda v: nc.adaptive_avg_pool2d(v, (2, 3))), atol=1e-6)
    np.testing.assert_allclose(grad.adaptive_max_pool2d_input(g, x),
                               num_grad(lambda v: nc.adaptive_max_pool2d(v, (2, 3))), atol=1e-6)


@given(adaptive_configs())
def test_adaptive_gradients(cfg):
    nd, x, outs = cfg
    x = x.astype(np.float64)
    xb = batched(x, nd)
    g = np.random.default_rng(2).standard_normal(x.shape[:-nd] + outs)
    _, idx = ref_adaptive(xb, outs, "max")
    got = getattr(grad, f"adaptive_max_pool{nd}d_input")(g, x)
    np.testing.assert_allclose(batched(got, nd), route(batched(g, nd), idx, xb.shape), atol=1e-14)
    got = getattr(grad, f"adaptive_avg_pool{nd}d_input")(g, x.shape)
    fwd = getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs)
    assert np.isclose(np.vdot(fwd, g), np.vdot(x, got), rtol=1e-10, atol=1e-12)
    if xb.size <= 120:
        A = pool_matrix(lambda e: ref_adaptive(e, outs, "avg")[0], xb.shape)
        np.testing.assert_allclose(batched(got, nd).ravel(), A.T @ batched(g, nd).ravel(), atol=1e-12)


def test_max_pool_backward_is_deterministic_across_thread_counts():
    import numba

    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (4, 8, 33, 31)).astype(np.float32)  # many ties, overlapping windows
    g = rng.standard_normal((4, 8, 17, 16)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for t in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(t)
            results.append((grad.max_pool2d_input(g, x, 3, 2, 1),
                            grad.avg_pool2d_input(g, x.shape, 3, 2, 1),
                            nc.avg_pool2d(x, 3, 2, 1)))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(results[0], results[-1], strict=True):
        assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------------------------------
# unpooling
# ------------------------------------------------------------------------------------------


@given(configs(dilation=False))
def test_unpool_inverts_pool_on_kept_positions(cfg):
    nd, x, k, s, _, p, ceil_mode = cfg
    assume(not ceil_mode)
    xb = batched(x, nd)
    out, idx = FN["max_pool", nd](x, k, s, p, 1, False, True)
    default = tuple((o - 1) * s[i] - 2 * p[i] + k[i] for i, o in enumerate(batched(out, nd).shape[2:]))
    sizes = xb.shape[2:]
    assume(all(default[i] - s[i] < sizes[i] < default[i] + s[i] for i in range(nd)))
    u = getattr(nc, f"max_unpool{nd}d")(out, idx, k, s, p, output_size=sizes)
    assert u.shape == x.shape
    ub, ib, ob = batched(u, nd), batched(idx, nd), batched(out, nd)
    expected = np.zeros(xb.shape[:2] + (int(np.prod(sizes)),), x.dtype)
    for n in range(xb.shape[0]):
        for c in range(xb.shape[1]):
            expected[n, c, ib[n, c].ravel()] = xb[n, c].ravel()[ib[n, c].ravel()]
            # the kept positions hold the pooled values
            np.testing.assert_array_equal(ub[n, c].ravel()[ib[n, c].ravel()], ob[n, c].ravel())
    np.testing.assert_array_equal(ub, expected.reshape(xb.shape))


def test_unpool_default_size_and_errors():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    idx = np.array([[[0, 3], [9, 15]]])
    u = nc.max_unpool2d(x, idx, 2)
    assert u.shape == (1, 4, 4)
    np.testing.assert_array_equal(u.ravel()[[0, 3, 9, 15]], [1.0, 2.0, 3.0, 4.0])
    assert u.sum() == 10.0
    with pytest.raises(ValueError, match="indices"):
        nc.max_unpool2d(x, idx + 1, 2)
    with pytest.raises(ValueError, match="output_size"):
        nc.max_unpool2d(x, idx, 2, output_size=(7, 4))
    with pytest.raises(ValueError, match="shape"):
        nc.max_unpool2d(x, idx[..., :1], 2)
    with pytest.raises(TypeError, match="indices"):
        nc.max_unpool2d(x, idx.astype(float), 2)


# ------------------------------------------------------------------------------------------
# inputs and errors
# ------------------------------------------------------------------------------------------


def test_awkward_inputs_work_and_are_not_modified():
    base = np.arange(2 * 3 * 6 * 8, dtype=np.float64).reshape(2, 3, 6, 8) % 11
    readonly = base.copy()
    readonly.flags.writeable = False
    expected = nc.max_pool2d(np.ascontiguousarray(base), 2)
    for x in (np.asfortranarray(base), base.astype(">f8"), readonly, base.tolist()):
        before = np.array(x, copy=True)
        np.testing.assert_array_equal(nc.max_pool2d(x, 2), expected)
        np.testing.assert_array_equal(np.asarray(x), before)
    strided = np.repeat(base, 2, axis=3)[..., ::2]
    np.testing.assert_array_equal(nc.max_pool2d(strided, 2), expected)
    ints = base.astype(np.int32)
    got = nc.avg_pool2d(ints, 2)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, nc.avg_pool2d(base, 2))


def test_empty_batch():
    x = np.zeros((0, 3, 4, 4), np.float32)
    assert nc.max_pool2d(x, 2).shape == (0, 3, 2, 2)
    assert grad.avg_pool2d_input(np.zeros((0, 3, 2, 2)), (0, 3, 4, 4), 2).shape == (0, 3, 4, 4)


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: nc.max_pool2d(x, 0), ValueError, "kernel_size"),
    (lambda x: nc.max_pool2d(x, 2.5), TypeError, "kernel_size"),
    (lambda x: nc.max_pool2d(x, 2, stride=(1, 2, 3)), ValueError, "stride"),
    (lambda x: nc.max_pool2d(x, 2, padding=2), ValueError, "half"),
    (lambda x: nc.max_pool2d(x, 2, padding="full"), ValueError, "padding"),
    (lambda x: nc.max_pool2d(x, 9), ValueError, "larger"),
    (lambda x: nc.max_pool2d(x[0, 0], 2), ValueError, "dimensions"),
    (lambda x: nc.max_pool2d(x.astype(complex), 2), TypeError, "complex"),
    (lambda x: nc.max_pool2d(x, 2, ceil_mode="yes"), TypeError, "ceil_mode"),
    (lambda x: nc.avg_pool2d(x, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda x: nc.adaptive_avg_pool2d(x, 0), ValueError, "output_size"),
    (lambda x: nc.adaptive_avg_pool2d(x, (1, 2, 3)), ValueError, "output_size"),
    (lambda x: grad.max_pool2d_input(np.ones((1, 1, 3, 3)), x, 2), ValueError, "grad_output"),
    (lambda x: grad.avg_pool2d_input(np.ones((1, 1, 2, 2)), (1, 4, 4), 2), ValueError, "input_shape"),
    (lambda x: nc.max_pool2d(np.zeros((1, 1, 0, 4)), 1), ValueError, "spatial"),
])
def test_errors_name_the_argument(call, exc, match):
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(exc, match=match):
        call(x)


# ------------------------------------------------------------------------------------------
# PyTorch cross-check (an extra oracle where installed)
# ------------------------------------------------------------------------------------------


@given(configs())
def test_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd, x, k, s, d, p, ceil_mode = cfg
    assume(all(2 * p[i] <= k[i] for i in range(nd)))  # PyTorch's stricter padding bound
    x = x.astype(np.float64)
    got, got_idx = FN["max_pool", nd](x, k, s, p, d, ceil_mode, return_indices=True)
    # a dilated window entirely in the padding: PyTorch returns an index outside the plane
    assume(np.all(got_idx >= 0))
    t = torch.tensor(x, requires_grad=True)
    out, idx = getattr(F, f"max_pool{nd}d")(t, k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(got, out.detach().numpy())
    np.testing.assert_array_equal(got_idx, idx.numpy())
    g = np.random.default_rng(0).standard_normal(got.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(getattr(grad, f"max_pool{nd}d_input")(g, x, k, s, p, d, ceil_mode),
                               t.grad.numpy(), atol=1e-12)
    default = [(o - 1) * s[i] - 2 * p[i] + k[i] for i, o in enumerate(got.shape[-nd:])]
    if all(default[i] - s[i] < x.shape[-nd + i] < default[i] + s[i] for i in range(nd)):
        np.testing.assert_array_equal(
            getattr(nc, f"max_unpool{nd}d")(got, got_idx, k, s, p, output_size=x.shape[-nd:]),
            getattr(F, f"max_unpool{nd}d")(out.detach(), idx, k, s, p,
                                           output_size=x.shape[-nd:]).numpy())
    if any(n < kk for n, kk in zip(x.shape[-nd:], k, strict=True)):
        return  # PyTorch's average pooling refuses windows larger than the input
    for include in (True, False):
        ta = torch.tensor(x, requires_grad=True)
        avg = getattr(F, f"avg_pool{nd}d")(ta, k, s, p, ceil_mode, include)
        np.testing.assert_allclose(FN["avg_pool", nd](x, k, s, p, ceil_mode, include),
                                   avg.detach().numpy(), rtol=1e-12)
        ga = np.random.default_rng(1).standard_normal(tuple(avg.shape))
        avg.backward(torch.tensor(ga))
        np.testing.assert_allclose(
            getattr(grad, f"avg_pool{nd}d_input")(ga, x.shape, k, s, p, ceil_mode, include),
            ta.grad.numpy(), atol=1e-12)


@given(adaptive_configs())
def test_adaptive_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nd, x, outs = cfg
    t = torch.tensor(x)
    out, idx = getattr(F, f"adaptive_max_pool{nd}d")(t, outs, return_indices=True)
    got, got_idx = getattr(nc, f"adaptive_max_pool{nd}d")(x, outs, return_indices=True)
    np.testing.assert_array_equal(got, out.numpy())
    np.testing.assert_array_equal(got_idx, idx.numpy())
    tol = 1e-6 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(getattr(nc, f"adaptive_avg_pool{nd}d")(x, outs),
                               getattr(F, f"adaptive_avg_pool{nd}d")(t, outs).numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (3, 2, 0), (2, 1, 1), (3, 3, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vectorised_interiors_with_ties_and_nan(k, s, p, dtype):
    """Rows wide enough for the fused/vectorised interior loops, with ties, -0.0 and NaN."""
    rng = np.random.default_rng(k * 10 + s)
    x = rng.integers(-2, 3, (2, 3, 9, 41)).astype(dtype)
    x[x == 0] = -0.0
    x[0, 1, 4, 7] = np.nan
    x[1, 2, 0, 30] = np.nan
    outs = tuple(out_len(n, k, s, p, p, 1, False) for n in x.shape[2:])
    vals, idx = ref_max(x, (k, k), (s, s), (1, 1), [(p, p)] * 2, outs)
    got, got_idx = nc.max_pool2d(x, k, s, p, return_indices=True)
    np.testing.assert_array_equal(got, vals.astype(dtype))
    np.testing.assert_array_equal(got_idx, idx)
    # the value kernel returns exactly the element at the index (sign of zero included)
    plain = nc.max_pool2d(x, k, s, p)
    picked = np.take_along_axis(x.reshape(2, 3, -1), got_idx.reshape(2, 3, -1), -1).reshape(got.shape)
    assert plain.tobytes() == picked.tobytes()
    g = rng.standard_normal(got.shape).astype(dtype)
    expected = route(g.astype(np.float64), idx, x.shape)
    np.testing.assert_allclose(grad.max_pool2d_input(g, x, k, s, p), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(nc.avg_pool2d(np.nan_to_num(x), k, s, p),
                               ref_avg(np.nan_to_num(x), (k, k), (s, s), [(p, p)] * 2, outs, True),
                               rtol=1e-6, atol=1e-6)
