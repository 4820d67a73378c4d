"""Loop bodies of the direct convolution, written once for the CPU and CUDA kernels.

The kernels compute ``out[o] = sum_j w[j] * xext[o + j]`` (see :mod:`numbaconv.core.signal`)
over flat C-ordered arrays. They read every shape from the int64 vector ``g`` built by
:func:`numbaconv.core.signal.geometry`::

    g[0] = nd;  then nd entries each: xshape, wshape, oshape, xstrides, map offsets, lo
    then the index map of every axis over its padded extent (negative: the fill value)

An output *row* is a position of every axis but the last; a *kernel row* likewise. For an
output row ``r`` and a kernel row ``kr`` :func:`row_base` unravels both (the N-D index unravel
both twins share) and returns where the input row they meet starts in ``x``, or -1 when it
lies in the fill region; :func:`edge_dot` then sums one kernel row's taps for one output
through the last axis's index map (or the fill value, for a row in the fill region). The
CUDA kernel is these two calls per output element; the CPU kernel uses them for the few
outputs near the edges and runs the interior as fused contiguous passes. (Few, plain
helpers: each is a compilation of its own, and first-call compile time counts.)
"""

from __future__ import annotations

from numba.extending import register_jitable


@register_jitable
def row_base(g, r, kr):
    """Flat index in ``x`` where output row ``r`` meets kernel row ``kr``; -1: the fill region."""
    nd = g[0]
    ro = r
    rk = kr
    base = 0
    for a in range(nd - 2, -1, -1):
        on = g[1 + 2 * nd + a]
        kn = g[1 + nd + a]
        oa = ro
        ka = rk
        if a > 0:  # (the first axis takes the rest: no division, none at all in 2-D)
            oa = ro % on
            ro //= on
            ka = rk % kn
            rk //= kn
        xa = g[g[1 + 4 * nd + a] + oa + ka]
        if xa < 0:
            return -1
        base += xa * g[1 + 3 * nd + a]
    return base


@register_jitable
def edge_dot(x, w, g, base, kr, c, flip, cval, zero_fill, acc):
    """``acc`` plus the taps of kernel row ``kr`` for output ``c`` (along the last axis) of a
    row whose input row starts at ``base``, each input read through the last axis's index
    map; ``base < 0`` (a row in the fill region) reads the fill value for every tap.

    A flipped kernel (reversed along every axis, i.e. in flat C order) is read backwards.
    """
    nd = g[0]
    ml = g[2 * nd]
    mo = g[5 * nd]
    wb = w.shape[0] - 1 - kr * ml if flip else kr * ml
    ws = -1 if flip else 1
    for j in range(ml):
        xi = g[mo + c + j] if base >= 0 else -1
        if xi >= 0:
            acc += x[base + xi] * w[wb + j * ws]
        elif not zero_fill:
            acc += cval * w[wb + j * ws]
    return acc
