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
through the last axis's index map, and :func:`fill_dot` the taps of a kernel row that meets
only the fill value. The CUDA kernel is these three calls per output element; the CPU kernel
uses them for the few outputs near the edges and runs the interior as fused contiguous passes.
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
def tap(w, i, flip):
    """Tap ``i`` of the flat kernel, or of the kernel reversed along every axis (``flip``):
    reversing every axis of a C-ordered array reverses its flat order."""
    if flip:
        return w[w.shape[0] - 1 - i]
    return w[i]


@register_jitable
def edge_dot(x, w, g, base, kr, c, j0, j1, flip, cval, zero_fill, acc):
    """``acc`` plus taps ``j0 <= j < j1`` of kernel row ``kr`` for output ``c`` of a row whose
    input row starts at ``base``, each input read through the last axis's index map."""
    nd = g[0]
    ml = g[2 * nd]
    mo = g[5 * nd]
    wb = kr * ml
    for j in range(j0, j1):
        xi = g[mo + c + j]
        if xi >= 0:
            acc += x[base + xi] * tap(w, wb + j, flip)
        elif not zero_fill:
            acc += cval * tap(w, wb + j, flip)
    return acc


@register_jitable
def fill_dot(w, g, kr, flip, cval, acc):
    """``acc`` plus every tap of kernel row ``kr`` times the fill value (a row outside ``x``)."""
    nd = g[0]
    ml = g[2 * nd]
    wb = kr * ml
    for j in range(ml):
        acc += cval * tap(w, wb + j, flip)
    return acc


@register_jitable
def last_axis(g):
    """``(out_len, taps_len, x_len, lo)`` of the last axis."""
    nd = g[0]
    return g[3 * nd], g[2 * nd], g[nd], g[6 * nd]
