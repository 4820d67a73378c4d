"""Deep-learning layout and window arguments, shared by convolution and pooling.

Channels-first ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` tensors;
per-dimension kernel sizes, strides, dilations; per-dimension paddings in
every form the public API accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..shapes import PADDING_WORDS, resolve_axis_padding
from .validate import check_choice, int_tuple


def split_batch(x, nd: int, name: str = "x"):
    """View ``x`` as batched ``(N, C, *spatial)``.

    Returns ``(x_batched, was_unbatched)``; an unbatched ``(C, *spatial)``
    input gets a leading axis of 1 (a view, no copy).
    """
    if x.ndim == nd + 1:
        return x.reshape((1,) + tuple(x.shape)), True
    if x.ndim == nd + 2:
        return x, False
    raise ValueError(
        f"{name} must be batched (N, C, *spatial) with {nd + 2} dimensions or unbatched "
        f"(C, *spatial) with {nd + 1} for a {nd}-D operation; got shape {tuple(x.shape)}"
    )


def unbatch(out, was_unbatched: bool):
    """Undo :func:`split_batch` on an output."""
    return out.reshape(tuple(out.shape[1:])) if was_unbatched else out


def window_args(nd: int, kernel_size, stride, dilation, stride_default=None):
    """Per-dimension ``(kernel, stride, dilation)`` tuples, each entry >= 1.

    ``stride=None`` takes ``stride_default`` (pooling: the kernel size).
    """
    kernel = int_tuple(kernel_size, nd, "kernel_size", 1)
    if stride is None:
        stride = kernel if stride_default is None else stride_default
    return kernel, int_tuple(stride, nd, "stride", 1), int_tuple(dilation, nd, "dilation", 1)


def resolve_padding(padding, spatial, kernel, stride, dilation,
                    words: Sequence[str] = PADDING_WORDS, name: str = "padding"):
    """Per-dimension ``(before, after)`` pairs from any accepted padding form.

    Accepted: an int (all sides); a word from ``words`` ('valid', 'same' with
    TensorFlow's rule for any stride, 'causal' (1-D), 'full'); a sequence of
    one int per spatial dimension; a sequence of one ``(before, after)`` pair
    per dimension; and for 1-D also a bare ``(before, after)`` pair.
    """
    nd = len(spatial)
    if isinstance(padding, str):
        word = check_choice(padding, name, words)
        if word == "causal" and nd != 1:
            raise ValueError(f"{name}='causal' is only defined for 1-D convolution")
        return tuple(resolve_axis_padding(word, n, k, s, d, name, words)
                     for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True))
    if isinstance(padding, Sequence | np.ndarray):
        items = list(padding)
        if nd == 1 and len(items) == 2 and not any(isinstance(i, Sequence) for i in items):
            items = [tuple(items)]
        if len(items) == 1 and nd > 1:
            items = items * nd
        if len(items) != nd:
            raise ValueError(
                f"{name} must be an int, one of {', '.join(map(repr, words))}, a sequence of {nd} "
                f"ints or of {nd} (before, after) pairs; got {padding!r}"
            )
        return tuple(resolve_axis_padding(p, n, k, s, d, f"{name}[{i}]", ())
                     for i, (p, n, k, s, d) in enumerate(zip(items, spatial, kernel, stride, dilation, strict=True)))
    return tuple(resolve_axis_padding(padding, n, k, s, d, name, ())
                 for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True))
