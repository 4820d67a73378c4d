"""CUDA pooling kernels against the NumPy oracles of ``tests/oracles.py`` and the CPU twin
(tiny shapes for the simulator).

CPU and GPU kernels share their loops (:mod:`numbaconv.loops.pooling`): window scans, tie and
NaN rules and summation orders, so float results must agree bit for bit, in both layouts.
"""

from __future__ import annotations

import numpy as np
import pytest
from devutil import to_device, to_host
from hypothesis import assume, given
from hypothesis import strategies as st
from numba import cuda
from oracles import (
    pool_out_len,
    ref_adaptive_pool,
    ref_avg_pool,
    ref_max_pool,
    ref_unpool,
    route_max_grad,
    to_channels_first,
    to_channels_last,
)

import numbaconv as nc
from numbaconv import grad

CL = {"data_format": "channels_last"}


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
    return tuple(pool_out_len(n, k[i], s[i], p[i], p[i], d[i], ceil_mode)
                 for i, n in enumerate(x.shape[2:]))


@given(configs())
def test_max_pool_and_gradient_on_device(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    outs = outs_of(x, nd, k, s, d, p, ceil_mode)
    vals, idx = ref_max_pool(x, k, s, d, [(q, q) for q in p], outs)
    fn = getattr(nc, f"max_pool{nd}d")
    out, got_idx = fn(to_device(x), k, s, p, d, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(to_host(out), vals.astype(x.dtype))
    np.testing.assert_array_equal(to_host(got_idx), idx)
    np.testing.assert_array_equal(to_host(fn(to_device(x), k, s, p, d, ceil_mode)), vals)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    gfn = getattr(grad, f"max_pool{nd}d_input")
    gd = to_host(gfn(to_device(g), to_device(x), k, s, p, d, ceil_mode))
    np.testing.assert_allclose(gd, route_max_grad(g, idx, x.shape), rtol=1e-6, atol=1e-6)
    # the twin's summation order is the CPU's: bitwise equal
    assert gd.tobytes() == gfn(g, x, k, s, p, d, ceil_mode).tobytes()


@given(configs(), st.booleans())
def test_avg_pool_and_gradient_on_device(cfg, include):
    nd, x, k, s, _, p, ceil_mode = cfg
    d = (1,) * nd
    assume(all(2 * p[i] <= k[i] and x.shape[2 + i] + 2 * p[i] >= k[i] for i in range(nd)))
    x = x + np.float32(0.1)  # not exactly representable: a real rounding-order check
    outs = outs_of(x, nd, k, s, d, p, ceil_mode)
    expected = ref_avg_pool(x, k, s, [(q, q) for q in p], outs, include)
    fn = getattr(nc, f"avg_pool{nd}d")
    got = to_host(fn(to_device(x), k, s, p, ceil_mode, include))
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    assert got.tobytes() == fn(x, k, s, p, ceil_mode, include).tobytes()
    g = np.random.default_rng(1).standard_normal(got.shape).astype(x.dtype)
    gfn = getattr(grad, f"avg_pool{nd}d_input")
    gd = to_host(gfn(to_device(g), x.shape, k, s, p, ceil_mode, include))
    # adjoint identity against the oracle's forward
    assert np.isclose(np.vdot(expected, g), np.vdot(x, gd), rtol=1e-4, atol=1e-4)
    assert gd.tobytes() == gfn(g, x.shape, k, s, p, ceil_mode, include).tobytes()


@given(configs())
def test_channels_last_on_device_is_the_cpu_result(cfg):
    nd, x, k, s, d, p, ceil_mode = cfg
    xl = to_channels_last(x)
    fn = getattr(nc, f"max_pool{nd}d")
    v, i = fn(to_device(xl), k, s, p, d, ceil_mode, return_indices=True, **CL)
    ev, ei = fn(xl, k, s, p, d, ceil_mode, return_indices=True, **CL)
    assert to_host(v).tobytes() == ev.tobytes() and to_host(i).tobytes() == ei.tobytes()
    outs = outs_of(x, nd, k, s, d, p, ceil_mode)
    np.testing.assert_array_equal(to_channels_first(ei), ref_max_pool(x, k, s, d,
                                                                      [(q, q) for q in p], outs)[1])
    g = to_channels_last(np.random.default_rng(2).standard_normal(to_channels_first(ev).shape)
                         .astype(x.dtype))
    gfn = getattr(grad, f"max_pool{nd}d_input")
    assert (to_host(gfn(to_device(g), to_device(xl), k, s, p, d, ceil_mode, **CL)).tobytes()
            == gfn(g, xl, k, s, p, d, ceil_mode, **CL).tobytes())
    if all(2 * p[j] <= k[j] and x.shape[2 + j] + 2 * p[j] >= k[j] for j in range(nd)):
        xf = xl + np.float32(0.1)
        afn = getattr(nc, f"avg_pool{nd}d")
        a = afn(xf, k, s, p, ceil_mode, **CL)
        assert to_host(afn(to_device(xf), k, s, p, ceil_mode, **CL)).tobytes() == a.tobytes()
        ga = np.random.default_rng(3).standard_normal(a.shape).astype(x.dtype)
        agfn = getattr(grad, f"avg_pool{nd}d_input")
        assert (to_host(agfn(to_device(ga), xf.shape, k, s, p, ceil_mode, **CL)).tobytes()
                == agfn(ga, xf.shape, k, s, p, ceil_mode, **CL).tobytes())
    un = getattr(nc, f"max_unpool{nd}d")
    try:
        expected = un(ev, ei, k, s, p, **CL)
    except ValueError:
        return
    assert to_host(un(to_device(ev), to_device(ei), k, s, p, **CL)).tobytes() == expected.tobytes()


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_adaptive_on_device(nd, layout):
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((1, 2) + (7, 5, 3)[:nd])
    outs = (3, 2, 2)[:nd]
    mx, idx = ref_adaptive_pool(x, outs, "max")
    mean, _ = ref_adaptive_pool(x, outs, "avg")
    cl = layout == "channels_last"
    host = to_channels_last(x) if cl else x
    back = to_channels_first if cl else (lambda a: a)
    kw = {"data_format": layout}
    out, got_idx = getattr(nc, f"adaptive_max_pool{nd}d")(to_device(host), outs,
                                                          return_indices=True, **kw)
    np.testing.assert_array_equal(back(to_host(out)), mx)
    np.testing.assert_array_equal(back(to_host(got_idx)), idx)
    np.testing.assert_allclose(back(to_host(getattr(nc, f"adaptive_avg_pool{nd}d")(
        to_device(host), outs, **kw))), mean, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    for name, arg in ((f"adaptive_max_pool{nd}d_input", host), (f"adaptive_avg_pool{nd}d_input",
                                                                 host.shape)):
        dev_arg = to_device(arg) if isinstance(arg, np.ndarray) else arg
        got = to_host(getattr(grad, name)(to_device(g), dev_arg, **kw))
        assert got.tobytes() == getattr(grad, name)(g, arg, **kw).tobytes()


def test_unpool_on_device():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    idx = np.array([[[0, 3], [9, 15]]])
    u = to_host(nc.max_unpool2d(to_device(x), to_device(idx), 2))
    np.testing.assert_array_equal(u[None], ref_unpool(x[None], idx[None], (4, 4)))
    # repeated indices: the last in scan order wins, as on CPU
    dup = np.array([[[5, 5], [5, 0]]])
    np.testing.assert_array_equal(to_host(nc.max_unpool2d(to_device(x), to_device(dup), 2)),
                                  nc.max_unpool2d(x, dup, 2))


def test_out_on_device():
    x = np.arange(32.0).reshape(2, 4, 4)
    out = cuda.device_array((2, 2, 2))
    assert nc.max_pool2d(to_device(x), 2, out=out) is out
    np.testing.assert_array_equal(out.copy_to_host(), nc.max_pool2d(x, 2))
    with pytest.raises(TypeError, match="out must be a CUDA array"):
        nc.max_pool2d(to_device(x), 2, out=np.empty((2, 2, 2)))
    with pytest.raises(ValueError, match="out must have the result's shape"):
        nc.avg_pool2d(to_device(x), 2, out=cuda.device_array((2, 2, 3)))


def test_nan_and_unbatched_on_device():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 0.0, 2.0]], np.float32)
    out, idx = nc.max_pool1d(to_device(x), 4, stride=2, return_indices=True)
    assert np.isnan(to_host(out)).all()
    np.testing.assert_array_equal(to_host(idx), [[1, 3]])
