"""CUDA pooling kernels against the NumPy oracle and the CPU twin (tiny shapes for the simulator).

The oracle is the ``sliding_window_view`` reference of ``tests/test_pooling.py``
(re-implemented here: this directory is its own pytest process). CPU and GPU
kernels share their summation order, so float results must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from devutil import to_device, to_host
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import numbaconv as nc
from numbaconv import grad


def windows(a, k, s, d, p, outs, fill):
    nd = len(k)
    widths = [(0, 0), (0, 0)]
    for i in range(nd):
        need = (outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1
        widths.append((p[i], max(0, need - a.shape[2 + i] - p[i])))
    ap = np.pad(a, widths, constant_values=fill)
    eff = tuple(d[i] * (k[i] - 1) + 1 for i in range(nd))
    v = sliding_window_view(ap, eff, axis=tuple(range(2, 2 + nd)))
    sl = ((slice(None), slice(None))
          + tuple(slice(0, (outs[i] - 1) * s[i] + 1, s[i]) for i in range(nd))
          + tuple(slice(None, None, d[i]) for i in range(nd)))
    return v[sl]


@st.composite
def configs(draw):
    nd = draw(st.integers(1, 3))
    sp = tuple(draw(st.integers(1, {1: 7, 2: 5, 3: 3}[nd])) for _ in range(nd))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, (d[i] * (k[i] - 1) + 1) // 2)) for i in range(nd))
    ceil_mode = draw(st.booleans())
    assume(all(sp[i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1 for i in range(nd)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    # small integers: many ties exercise the first-maximum rule
    x = np.random.default_rng(seed).integers(-3, 4, (2, 2) + sp).astype(dtype)
    return nd, x, k, s, d, p, ceil_mode


def outs_of(x, nd, k, s, d, p, ceil_mode):
    return tuple(nc.pool_output_size(n, k[i], s[i], p[i], d[i], ceil_mode)
                 for i, n in enumerate(x.shape[2:]))


@given(configs())
def test_max_pool_and_gradient_on_device(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    outs = outs_of(x, nd, k, s, d, p, ceil_mode)
    w = windows(x, k, s, d, p, outs, -np.inf)
    flat = w.reshape(w.shape[:2 + nd] + (-1,))
    pos = np.arange(int(np.prod(x.shape[2:]))).reshape((1, 1) + x.shape[2:])
    wi = np.broadcast_to(windows(pos, k, s, d, p, outs, -1), w.shape).reshape(flat.shape)
    am = np.argmax(flat, -1)
    expected_idx = np.take_along_axis(wi, am[..., None], -1)[..., 0]
    fn = getattr(nc, f"max_pool{nd}d")
    out, idx = fn(to_device(x), k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(to_host(out), flat.max(-1))
    np.testing.assert_array_equal(to_host(idx), expected_idx)
    np.testing.assert_array_equal(to_host(fn(to_device(x), k, s, p, d, ceil_mode)), flat.max(-1))
    g = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    gd = to_host(getattr(grad, f"max_pool{nd}d_input")(to_device(g), to_device(x), k, s, p, d, ceil_mode))
    expected = np.zeros((2, 2, pos.size))
    for a in range(2):
        for b in range(2):
            keep = expected_idx[a, b].ravel() >= 0
            np.add.at(expected[a, b], expected_idx[a, b].ravel()[keep], g[a, b].ravel()[keep])
    np.testing.assert_allclose(gd, expected.reshape(x.shape), rtol=1e-6, atol=1e-6)
    # the twin's summation order is the CPU's: bitwise equal
    cpu = getattr(grad, f"max_pool{nd}d_input")(g, x, k, s, p, d, ceil_mode)
    assert gd.tobytes() == cpu.tobytes()


@given(configs(), st.booleans())
def test_avg_pool_and_gradient_on_device(cfg, include):
    nd, x, k, s, _, p, ceil_mode = cfg
    d = (1,) * nd
    assume(all(2 * p[i] <= k[i] and x.shape[2 + i] + 2 * p[i] >= k[i] for i in range(nd)))
    x = x + np.float32(0.1)  # not exactly representable: a real rounding-order check
    outs = outs_of(x, nd, k, s, d, p, ceil_mode)
    fn = getattr(nc, f"avg_pool{nd}d")
    got = to_host(fn(to_device(x), k, s, p, ceil_mode, include))
    total = windows(x.astype(np.float64), k, s, d, p, outs, 0.0).sum(tuple(range(2 + nd, 2 + 2 * nd)))
    mask = np.ones((1, 1) + x.shape[2:])
    if include:
        mask = np.pad(mask, [(0, 0), (0, 0)] + [(q, q) for q in p], constant_values=1.0)
        count = windows(mask, k, s, d, (0,) * nd, outs, 0.0)
    else:
        count = windows(mask, k, s, d, p, outs, 0.0)
    count = count.sum(tuple(range(2 + nd, 2 + 2 * nd)))
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, total / count, rtol=tol, atol=tol)
    assert got.tobytes() == fn(x, k, s, p, ceil_mode, include).tobytes()
    g = np.random.default_rng(1).standard_normal(got.shape).astype(x.dtype)
    gfn = getattr(grad, f"avg_pool{nd}d_input")
    gd = to_host(gfn(to_device(g), x.shape, k, s, p, ceil_mode, include))
    # adjoint identity against the oracle's forward
    assert np.isclose(np.vdot(total / count, g), np.vdot(x, gd), rtol=1e-4, atol=1e-4)
    assert gd.tobytes() == gfn(g, x.shape, k, s, p, ceil_mode, include).tobytes()


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_on_device(nd):
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((1, 2) + (7, 5, 3)[:nd])
    outs = (3, 2, 2)[:nd]
    bounds = [[(i * n // o, -(-(i + 1) * n // o)) for i in range(o)] for n, o in zip(x.shape[2:], outs, strict=True)]
    mx = np.empty(x.shape[:2] + outs)
    mean = np.empty(x.shape[:2] + outs)
    for o in np.ndindex(*outs):
        sl = (Ellipsis,) + tuple(slice(*bounds[a][o[a]]) for a in range(nd))
        mx[(Ellipsis,) + o] = x[sl].reshape(1, 2, -1).max(-1)
        mean[(Ellipsis,) + o] = x[sl].reshape(1, 2, -1).mean(-1)
    out, idx = getattr(nc, f"adaptive_max_pool{nd}d")(to_device(x), outs, return_indices=True)
    np.testing.assert_array_equal(to_host(out), mx)
    np.testing.assert_array_equal(x.reshape(1, 2, -1)[0][np.arange(2)[:, None], to_host(idx).reshape(2, -1)],
                                  mx.reshape(2, -1))
    np.testing.assert_allclose(to_host(getattr(nc, f"adaptive_avg_pool{nd}d")(to_device(x), outs)), mean,
                               rtol=1e-12)
    g = rng.standard_normal(out.shape)
    for name, args in ((f"adaptive_max_pool{nd}d_input", (x,)), (f"adaptive_avg_pool{nd}d_input", (x.shape,))):
        dev_args = tuple(to_device(a) if isinstance(a, np.ndarray) else a for a in args)
        got = to_host(getattr(grad, name)(to_device(g), *dev_args))
        assert got.tobytes() == getattr(grad, name)(g, *args).tobytes()
    # adjoint identity for the average gradient, against the oracle's forward
    ga = to_host(getattr(grad, f"adaptive_avg_pool{nd}d_input")(to_device(g), x.shape))
    assert np.isclose(np.vdot(mean, g), np.vdot(x, ga), rtol=1e-12)


def test_unpool_on_device():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    idx = np.array([[[0, 3], [9, 15]]])
    u = to_host(nc.max_unpool2d(to_device(x), to_device(idx), 2))
    expected = np.zeros(16)
    expected[[0, 3, 9, 15]] = [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_array_equal(u.ravel(), expected)
    # repeated indices: the last in scan order wins, as on CPU
    dup = np.array([[[5, 5], [5, 0]]])
    np.testing.assert_array_equal(to_host(nc.max_unpool2d(to_device(x), to_device(dup), 2)),
                                  nc.max_unpool2d(x, dup, 2))


def test_nan_and_unbatched_on_device():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]], np.float32)
    out, idx = nc.max_pool1d(to_device(x), 4, stride=2, return_indices=True)
    assert np.isnan(to_host(out)).all()
    np.testing.assert_array_equal(to_host(idx), [[1, 3]])
