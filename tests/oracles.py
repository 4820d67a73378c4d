"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------------- activations


# ------------------------------------------------------------------------------------- pooling
#
# A NumPy sliding-window reference: pad explicitly (-inf for max, zeros for average), cut every
# window with ``sliding_window_view`` and reduce it with NumPy, in float64; channels first
# ``(N, C, *spatial)``. Gradients: index routing (max) and the pooling matrix (average).


def pool_out_len(n, k, s, lo, hi, d, ceil_mode):
    """PyTorch's pooling output length, written out (floor/ceil, drop a window starting in the pad)."""
    span = n + lo + hi - (d * (k - 1) + 1)
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + lo:
            o -= 1
        return o
    return span // s + 1


def pool_windows(a, k, s, d, pads, outs, fill):
    """(N, C, *outs, *k) windows of ``a`` (N, C, *spatial) padded with ``fill``."""
    from numpy.lib.stride_tricks import sliding_window_view

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


def ref_max_pool(x, k, s, d, pads, outs):
    """(values, flat in-plane indices) in float64: first maximum / first NaN of each window,
    -inf and -1 for a window with no tap inside the input."""
    nd = len(k)
    w = pool_windows(x.astype(np.float64), k, s, d, pads, outs, -np.inf)
    sp = x.shape[2:]
    pos = np.arange(int(np.prod(sp))).reshape((1, 1) + sp)
    wi = pool_windows(pos, k, s, d, pads, outs, -1)
    flat = w.reshape(w.shape[:2 + nd] + (-1,))
    wi = np.broadcast_to(wi, w.shape).reshape(flat.shape)
    inside = wi >= 0
    key = np.where(inside, flat, -np.inf)  # a padding tap never wins
    am = np.argmax(key, axis=-1)  # numpy: the first maximum, or the first NaN
    all_neg_inf = np.all(key == -np.inf, axis=-1)
    am = np.where(all_neg_inf, np.argmax(inside, axis=-1), am)  # then: the first tap inside
    vals = np.take_along_axis(flat, am[..., None], -1)[..., 0]
    idx = np.take_along_axis(wi, am[..., None], -1)[..., 0]
    none = ~np.any(inside, axis=-1)
    return np.where(none, -np.inf, vals), np.where(none, -1, idx)


def ref_avg_pool(x, k, s, pads, outs, include_pad, override=None):
    """Average pooling in float64 (PyTorch's divisors, TensorFlow's for ``include_pad=False``)."""
    nd = len(k)
    ones = (1,) * nd
    w = pool_windows(x.astype(np.float64), k, s, ones, pads, outs, 0.0)
    axes = tuple(range(2 + nd, 2 + 2 * nd))
    total = w.sum(axis=axes)
    if override is not None:
        return total / override
    mask = np.ones((1, 1) + x.shape[2:])
    if include_pad:  # padding counts; the part of a window beyond the padding never does
        widths = [(0, 0), (0, 0)] + [(lo, hi) for lo, hi in pads]
        mask = np.pad(mask, widths, constant_values=1.0)
        count = pool_windows(mask, k, s, ones, [(0, 0)] * nd, outs, 0.0).sum(axis=axes)
    else:
        count = pool_windows(mask, k, s, ones, pads, outs, 0.0).sum(axis=axes)
    return total / count


def adaptive_bounds(n, o):
    """PyTorch's adaptive windows: output ``i`` pools ``[floor(i*n/o), ceil((i+1)*n/o))``."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def ref_adaptive_pool(x, outs, op):
    """Adaptive max (``op='max'``: values, first-maximum indices) or average pooling."""
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


def route_max_grad(g, idx, in_shape):
    """Max-pool gradient reference: every g entry added to the input at its index (-1: none)."""
    n, c = in_shape[:2]
    out = np.zeros((n, c, int(np.prod(in_shape[2:]))))
    for i in range(n):
        for j in range(c):
            ii = idx[i, j].ravel()
            keep = ii >= 0
            np.add.at(out[i, j], ii[keep], np.asarray(g[i, j], np.float64).ravel()[keep])
    return out.reshape(in_shape)


def ref_unpool(x, idx, out_spatial):
    """Zeros with ``x`` written at its flat in-plane indices in scan order (the last wins)."""
    n, c = x.shape[:2]
    out = np.zeros((n, c, int(np.prod(out_spatial))), x.dtype)
    for i in range(n):
        for j in range(c):
            for v, k in zip(x[i, j].ravel(), idx[i, j].ravel(), strict=True):
                if k >= 0:
                    out[i, j, k] = v
    return out.reshape((n, c) + tuple(out_spatial))


def linear_map_matrix(fn, in_shape):
    """The matrix of a linear map, from the map applied to every basis vector."""
    size = int(np.prod(in_shape))
    cols = [np.asarray(fn(np.eye(size)[i].reshape(in_shape))).ravel() for i in range(size)]
    return np.stack(cols, axis=1)


def to_channels_last(a, batched=True):
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)`` (``(C, *sp)`` -> ``(*sp, C)`` unbatched)."""
    a = np.asarray(a)
    first = 1 if batched else 0
    return np.ascontiguousarray(np.moveaxis(a, first, -1))


def to_channels_first(a, batched=True):
    """The inverse of :func:`to_channels_last`."""
    a = np.asarray(a)
    first = 1 if batched else 0
    return np.ascontiguousarray(np.moveaxis(a, -1, first))



# ---------------------------------------------------------------------------------- convolution


# --------------------------------------------------------------------------------------- signal
