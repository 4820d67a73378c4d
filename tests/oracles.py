"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

# ----------------------------------------------------------------------------------- activations


# ------------------------------------------------------------------------------------- pooling


# ---------------------------------------------------------------------------------- convolution
# Deep-learning convolution (channels-first, float64) from scipy.signal.correlate/convolve on
# numpy.pad-padded planes: dilation by a zero-inserted kernel, stride by slicing (forward)
# or by zero-inserting the data (transposed convolution, weight gradient).

#: PyTorch's padding_mode names -> numpy.pad's
CONV_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                  "circular": "wrap", "symmetric": "symmetric"}


def dilate(a, steps):
    """``a`` with ``step - 1`` zeros inserted between its elements along every axis."""
    a = np.asarray(a, np.float64)
    out = np.zeros(tuple(s * (n - 1) + 1 for n, s in zip(a.shape, steps, strict=True)))
    out[tuple(slice(None, None, s) for s in steps)] = a
    return out


def conv_reference(x, w, bias=None, stride=None, pads=None, dilation=None, groups=1,
                   mode="zeros"):
    """``conv{nd}d`` of a batched ``(N, C, *spatial)`` ``x`` with ``(K, C/groups, *k)`` ``w``.

    Sum over the group's input channels of ``scipy.signal.correlate(padded plane,
    dilated kernel, 'valid')``, every ``stride``-th output kept, plus the bias.
    """
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nd = x.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads),
                mode=CONV_PAD_MODES.get(mode, mode))
    K, cg = w.shape[:2]
    kg = K // groups
    out = []
    for n in range(x.shape[0]):
        chans = []
        for k in range(K):
            acc = 0
            for c in range(cg):
                acc = acc + scipy.signal.correlate(xp[n, (k // kg) * cg + c],
                                                   dilate(w[k, c], dilation), "valid",
                                                   method="direct")
            acc = acc[tuple(slice(None, None, s) for s in stride)]
            chans.append(acc + (0 if bias is None else bias[k]))
        out.append(np.stack(chans))
    return np.stack(out)


def conv_transpose_reference(y, w, bias=None, stride=None, pads=None, dilation=None, groups=1,
                             out_size=None):
    """``conv_transpose{nd}d`` of ``(N, C_in, *spatial)`` ``y`` with ``(C_in, C_out/groups, *k)``
    ``w``: the input gradient of :func:`conv_reference`.

    Each input channel's plane, zero-inserted by ``stride``, is ``scipy.signal.convolve``d
    ('full') with the dilated kernel; the result loses ``before`` elements at the start of
    every axis and is cut (or zero-extended) to ``out_size`` (default: PyTorch's length with
    ``output_padding = 0``), plus the bias.
    """
    y = np.asarray(y, np.float64)
    w = np.asarray(w, np.float64)
    nd = y.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    if out_size is None:
        out_size = tuple((n - 1) * s - lo - hi + d * (k - 1) + 1 for n, s, (lo, hi), d, k in
                         zip(y.shape[2:], stride, pads, dilation, w.shape[2:], strict=True))
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    out = np.zeros((y.shape[0], cog * groups) + tuple(out_size))
    for n in range(y.shape[0]):
        for ci in range(c_in):
            up = dilate(y[n, ci], stride)
            for o in range(cog):
                full = scipy.signal.convolve(up, dilate(w[ci, o], dilation), "full",
                                             method="direct")
                part = full[tuple(slice(lo, lo + m) for (lo, _), m in zip(pads, out_size,
                                                                           strict=True))]
                target = out[n, (ci // cig) * cog + o]
                target[tuple(slice(0, m) for m in part.shape)] += part
    if bias is not None:
        out += np.asarray(bias, np.float64).reshape((-1,) + (1,) * nd)
    return out


def conv_input_grad_reference(x_shape, w, g, stride=None, pads=None, dilation=None, groups=1):
    """``grad.conv{nd}d_input``: the transposed convolution of ``g`` cut to ``x_shape``."""
    return conv_transpose_reference(g, w, None, stride, pads, dilation, groups,
                                    tuple(x_shape[2:]))


def conv_weight_grad_reference(x, w_shape, g, stride=None, pads=None, dilation=None, groups=1):
    """``grad.conv{nd}d_weight``: ``dw[k, c]`` is the sum over the batch of
    ``scipy.signal.correlate(padded x plane, g plane zero-inserted by stride, 'valid')``
    read every ``dilation``-th element."""
    x = np.asarray(x, np.float64)
    g = np.asarray(g, np.float64)
    nd = x.ndim - 2
    stride = stride or (1,) * nd
    dilation = dilation or (1,) * nd
    pads = pads or ((0, 0),) * nd
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(tuple(p) for p in pads))
    K, cg = w_shape[:2]
    kg = K // groups
    dw = np.zeros(tuple(w_shape))
    for k in range(K):
        for c in range(cg):
            for n in range(x.shape[0]):
                corr = scipy.signal.correlate(xp[n, (k // kg) * cg + c], dilate(g[n, k], stride),
                                              "valid", method="direct")
                dw[k, c] += corr[tuple(slice(0, d * (m - 1) + 1, d) for d, m in
                                       zip(dilation, w_shape[2:], strict=True))]
    return dw


def to_channels_last(a, batched=True):
    """``(N, C, *spatial)`` (or unbatched ``(C, *spatial)``) -> channels on the last axis."""
    return np.ascontiguousarray(np.moveaxis(a, 1 if batched else 0, -1))


def to_channels_first(a, batched=True):
    """The inverse of :func:`to_channels_last`."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 1 if batched else 0))


# --------------------------------------------------------------------------------------- signal
