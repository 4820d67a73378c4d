"""Activation loop bodies shared by the CPU kernels and their CUDA twins.

Softmax and its VJPs reduce along axis 1 of ``(outer, n, inner)`` views. The
functions here handle the slices ``x[o, :, j]`` for ``j`` in a block
``[j0, j1)``: a CPU kernel passes wide blocks, so every pass runs along the
contiguous ``j`` axis and vectorises; a CUDA thread passes one slice
(``j1 = j0 + 1``). Each slice is reduced serially in ``k``, in float64, in the
same order either way, so a slice's result does not depend on the block it
came in, the thread count or the backend's layout choice. ``m`` and ``s`` are
float64 scratch of at least ``j1 - j0`` elements (the slices' maxima and
sums); a slice holding a NaN comes out all NaN. Exponentials are of
non-positive arguments (``fexp_nonpos``: float32 CPU kernels give 0 below
float32's normal range, as the CPU's rows path does).

(The CPU's rows path, for a reduction over the contiguous last axis, has its
own vectorised loops, :mod:`numbaconv.cpu.activations`; it sums rows of up to
16 elements in order, as here, and longer rows in vector-wide partial sums.)
"""

from __future__ import annotations

from numba.extending import register_jitable

from ..scalar.activations import K, fexp_nonpos, flog_ge1


@register_jitable
def slice_max(x, o, j0, j1, m):
    """``m[t] = max over k of x[o, k, j0 + t]`` (NaN if the slice holds one)."""
    n = x.shape[1]
    for t in range(j1 - j0):
        m[t] = x[o, 0, j0 + t]
    for k in range(1, n):
        for t in range(j1 - j0):
            v = x[o, k, j0 + t]
            if v > m[t] or v != v:
                m[t] = v


@register_jitable
def softmax_slices(x, out, o, j0, j1, m, s):
    """``out[o, :, j] = exp(x - max) / sum(exp(x - max))`` over each slice of the block."""
    n = x.shape[1]
    slice_max(x, o, j0, j1, m)
    for t in range(j1 - j0):
        s[t] = 0.0
    for k in range(n):
        for t in range(j1 - j0):
            v = x[o, k, j0 + t]
            e = fexp_nonpos(v - K(v, m[t]))
            out[o, k, j0 + t] = e
            s[t] += e
    for t in range(j1 - j0):
        s[t] = 1.0 / s[t]
    for k in range(n):
        for t in range(j1 - j0):
            e = out[o, k, j0 + t]
            out[o, k, j0 + t] = e * K(e, s[t])


@register_jitable
def log_softmax_slices(x, out, o, j0, j1, m, s):
    """``out[o, :, j] = x - max - log(sum(exp(x - max)))`` over each slice of the block."""
    n = x.shape[1]
    slice_max(x, o, j0, j1, m)
    for t in range(j1 - j0):
        s[t] = 0.0
    for k in range(n):
        for t in range(j1 - j0):
            v = x[o, k, j0 + t]
            s[t] += fexp_nonpos(v - K(v, m[t]))
    for t in range(j1 - j0):
        s[t] = flog_ge1(s[t], x)  # (a sum >= 1; a vectorised log on float32 CPU data)
    for k in range(n):
        for t in range(j1 - j0):
            v = x[o, k, j0 + t]
            out[o, k, j0 + t] = v - (K(v, m[t]) + K(v, s[t]))  # x - lse, lse in x's dtype


@register_jitable
def softmax_backward_slices(g, y, out, o, j0, j1, s):
    """``out = y (g - sum(g y))`` over each slice of the block (the softmax VJP)."""
    n = y.shape[1]
    for t in range(j1 - j0):
        s[t] = 0.0
    for k in range(n):
        for t in range(j1 - j0):
            s[t] += g[o, k, j0 + t] * y[o, k, j0 + t]
    for k in range(n):
        for t in range(j1 - j0):
            v = y[o, k, j0 + t]
            out[o, k, j0 + t] = v * (g[o, k, j0 + t] - K(v, s[t]))


@register_jitable
def log_softmax_backward_slices(g, y, out, o, j0, j1, s):
    """``out = g - exp(y) sum(g)`` over each slice of the block (the log-softmax VJP)."""
    n = y.shape[1]
    for t in range(j1 - j0):
        s[t] = 0.0
    for k in range(n):
        for t in range(j1 - j0):
            s[t] += g[o, k, j0 + t]
    for k in range(n):
        for t in range(j1 - j0):
            v = y[o, k, j0 + t]
            out[o, k, j0 + t] = g[o, k, j0 + t] - fexp_nonpos(v) * K(v, s[t])  # (y <= 0)


@register_jitable
def prelu_weight_row(g, x, o, ch):
    """``sum over j of g[o, ch, j] * x[o, ch, j]`` where ``x <= 0`` (NaN ``x`` counts), in
    float64, serially in ``j``: one term of the PReLU weight gradient."""
    acc = 0.0
    for j in range(x.shape[2]):
        xi = x[o, ch, j]
        if not xi > 0:  # d/dw (w x) = x where x <= 0
            acc += g[o, ch, j] * xi
    return acc
