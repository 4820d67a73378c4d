"""Output-size formulas: the one source of truth for every operation's shape.

Every kernel in numbaconv allocates its output from these functions, and the
test suite checks each kernel's output against them and them against the
textbook formulas (``floor((n - k) / s) + 1`` for 'valid', ``ceil(n / s)``
for 'same', ``(W - F + 2P) / S + 1`` for a padded layer).

All sizes are per axis. Conventions (see ``docs/semantics.md``):

* convolution: ``out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1``;
* ``'same'`` follows TensorFlow for every stride: ``out = ceil(n / s)``, the
  odd extra padding goes *after*;
* ``'causal'`` pads ``d*(k-1)`` before and nothing after (Keras ``Conv1D``);
* ``'full'`` pads ``d*(k-1)`` on both sides;
* pooling follows PyTorch, including ``ceil_mode``'s rule that a last window
  starting inside the right padding is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from .core.validate import check_choice, check_int

__all__ = ["conv_output_size", "conv_transpose_output_size", "same_padding", "pool_output_size",
           "unpool_output_size", "resolve_axis_padding"]

PADDING_WORDS = ("valid", "same", "full", "causal")

#: one axis' padding: an int (both sides), a ``(before, after)`` pair or a word ('same', ...)
AxisPadding: TypeAlias = int | str | Sequence[int]


def same_padding(n: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` that makes the output ``ceil(n / stride)`` long.

    TensorFlow's ``SAME`` rule, valid for any stride (PyTorch accepts
    ``padding='same'`` only for stride 1): the total padding is
    ``max(0, (out - 1)*stride + dilation*(kernel_size - 1) + 1 - n)`` and an
    odd total puts the extra element after.

    Parameters
    ----------
    n : int
        Input length along the axis (>= 1).
    kernel_size : int
        Kernel length (>= 1).
    stride : int, optional
        Step between windows (>= 1).
    dilation : int, optional
        Spacing between kernel taps (>= 1).

    Returns
    -------
    tuple of int
        ``(before, after)``.

    Examples
    --------
    >>> from numbaconv import same_padding
    >>> same_padding(224, 7, stride=2)
    (2, 3)
    >>> same_padding(225, 7, stride=2)
    (3, 3)
    >>> same_padding(5, 3)
    (1, 1)
    """
    n = check_int(n, "n", 1)
    k = check_int(kernel_size, "kernel_size", 1)
    s = check_int(stride, "stride", 1)
    d = check_int(dilation, "dilation", 1)
    out = -(-n // s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
    return total // 2, total - total // 2


def resolve_axis_padding(
    padding: AxisPadding, n: int, kernel_size: int, stride: int = 1, dilation: int = 1,
    name: str = "padding", words: Sequence[str] = PADDING_WORDS,
) -> tuple[int, int]:
    """Resolve one axis' padding spec to ``(before, after)``.

    ``padding`` is an int (both sides), a ``(before, after)`` pair, or one of
    ``words`` ('valid', 'same', 'full', 'causal').

    Examples
    --------
    >>> from numbaconv.shapes import resolve_axis_padding
    >>> resolve_axis_padding('causal', 10, 3, dilation=2)
    (4, 0)
    >>> resolve_axis_padding((1, 2), 10, 3)
    (1, 2)
    """
    if isinstance(padding, str):
        word = check_choice(padding, name, words)
        span = dilation * (kernel_size - 1)
        if word == "valid":
            return 0, 0
        if word == "same":
            return same_padding(n, kernel_size, stride, dilation)
        if word == "full":
            return span, span
        return span, 0  # causal
    if isinstance(padding, Sequence):
        if len(padding) != 2:
            raise ValueError(f"{name} must be an int, a (before, after) pair or one of "
                             f"{', '.join(map(repr, words))}; got {padding!r}")
        return check_int(padding[0], name, 0), check_int(padding[1], name, 0)
    p = check_int(padding, name, 0)
    return p, p


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: AxisPadding = 0,
                     dilation: int = 1) -> int:
    """Length of a convolution's output along one axis.

    ``floor((n + before + after - dilation*(kernel_size - 1) - 1) / stride) + 1``.

    Parameters
    ----------
    n : int
        Input length (>= 1).
    kernel_size, stride, dilation : int
        Window size, step and tap spacing (each >= 1).
    padding : int, (int, int) or str
        Zeros on both sides, a ``(before, after)`` pair, or ``'valid'``,
        ``'same'`` (TensorFlow's rule, any stride), ``'full'``, ``'causal'``.

    Returns
    -------
    int
        The output length.

    Raises
    ------
    ValueError
        If a parameter is out of range or the output would be empty.

    Examples
    --------
    >>> from numbaconv import conv_output_size
    >>> conv_output_size(28, 5)                 # valid: (28 - 5)/1 + 1
    24
    >>> conv_output_size(224, 7, stride=2, padding=3)
    112
    >>> conv_output_size(10, 3, stride=3, padding='same')   # ceil(10 / 3)
    4
    """
    n = check_int(n, "n", 1)
    k = check_int(kernel_size, "kernel_size", 1)
    s = check_int(stride, "stride", 1)
    d = check_int(dilation, "dilation", 1)
    lo, hi = resolve_axis_padding(padding, n, k, s, d)
    span = n + lo + hi - d * (k - 1)
    if span < 1:
        raise ValueError(
            f"kernel_size={k} with dilation={d} spans {d * (k - 1) + 1} elements, more than the "
            f"padded input length {n + lo + hi}: the output would be empty"
        )
    return (span - 1) // s + 1


def conv_transpose_output_size(n: int, kernel_size: int, stride: int = 1, padding: AxisPadding = 0,
                               dilation: int = 1, output_padding: int = 0) -> int:
    """Length of a transposed convolution's output along one axis (PyTorch's rule).

    ``(n - 1)*stride - before - after + dilation*(kernel_size - 1) + output_padding + 1``:
    the input length of the forward convolution whose gradient this is.
    ``output_padding`` (< stride or < dilation) picks among the input lengths
    a strided forward convolution maps to the same output length.

    Examples
    --------
    >>> from numbaconv.shapes import conv_transpose_output_size
    >>> conv_transpose_output_size(56, 3, stride=2, padding=1, output_padding=1)
    112
    >>> conv_transpose_output_size(4, 3)
    6
    """
    n = check_int(n, "n", 1)
    k = check_int(kernel_size, "kernel_size", 1)
    s = check_int(stride, "stride", 1)
    d = check_int(dilation, "dilation", 1)
    op = check_int(output_padding, "output_padding", 0)
    lo, hi = resolve_axis_padding(padding, n, k, s, d, words=())
    if op >= max(s, d):
        raise ValueError(f"output_padding={op} must be smaller than stride ({s}) or dilation ({d})")
    out = (n - 1) * s - lo - hi + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"padding ({lo}, {hi}) leaves an empty transposed-convolution output")
    return out


def pool_output_size(n: int, kernel_size: int, stride: int | None = None, padding: AxisPadding = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Length of a pooling output along one axis (PyTorch's rule).

    ``out = floor_or_ceil((n + 2p - dilation*(k-1) - 1) / stride) + 1``; with
    ``ceil_mode`` the last window is dropped when it would start inside the
    right padding. ``stride`` defaults to ``kernel_size``. An int padding must
    be at most half the effective kernel, as PyTorch requires. ``'valid'`` and
    ``'same'`` (TensorFlow's pooling rules) and ``(before, after)`` pairs are
    accepted too.

    Examples
    --------
    >>> from numbaconv import pool_output_size
    >>> pool_output_size(112, 2)                       # (112 - 2)/2 + 1
    56
    >>> pool_output_size(112, 3, stride=2, padding=1)
    56
    >>> pool_output_size(5, 2, ceil_mode=True)         # keeps the partial window
    3
    >>> pool_output_size(5, 2, padding='same')         # ceil(5 / 2)
    3
    """
    n = check_int(n, "n", 1)
    k = check_int(kernel_size, "kernel_size", 1)
    s = k if stride is None else check_int(stride, "stride", 1)
    d = check_int(dilation, "dilation", 1)
    effective = d * (k - 1) + 1
    lo, hi = resolve_axis_padding(padding, n, k, s, d, words=("valid", "same"))
    if not isinstance(padding, str) and max(lo, hi) * 2 > effective:
        raise ValueError(
            f"padding={padding!r} must be at most half the effective kernel size "
            f"{effective} (kernel_size={k}, dilation={d})"
        )
    span = n + lo + hi - effective
    if span < 0:
        raise ValueError(
            f"pooling window of {effective} elements is larger than the padded input length "
            f"{n + lo + hi}: the output would be empty"
        )
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
    else:
        out = span // s + 1
    return out


def unpool_output_size(n: int, kernel_size: int, stride: int | None = None, padding: int = 0,
                       output_size: int | None = None) -> int:
    """Length of a max-unpooling output along one axis (PyTorch's ``max_unpool`` rule).

    The default is the input length of the pooling that made ``n`` outputs,
    ``(n - 1)*stride - 2*padding + kernel_size``. A pooling that dropped input
    (floor rounding) came from a longer input: ``output_size`` asks for it, and
    must lie strictly within one stride of the default.

    Parameters
    ----------
    n : int
        Pooled length (>= 1).
    kernel_size : int
        The pooling's window (>= 1).
    stride : int, optional
        The pooling's step (>= 1); defaults to ``kernel_size``.
    padding : int, optional
        The pooling's padding on each side (>= 0).
    output_size : int, optional
        The requested length, checked against the default.

    Returns
    -------
    int
        The unpooled length.

    Raises
    ------
    ValueError
        If the length would be empty or ``output_size`` is not a possible
        pooling input length.

    Examples
    --------
    >>> from numbaconv.shapes import unpool_output_size
    >>> unpool_output_size(2, 2)                 # (2 - 1)*2 + 2
    4
    >>> unpool_output_size(2, 2, output_size=5)  # the pooling dropped the last element
    5
    >>> unpool_output_size(3, 3, stride=2, padding=1)
    5
    """
    n = check_int(n, "n", 1)
    k = check_int(kernel_size, "kernel_size", 1)
    s = k if stride is None else check_int(stride, "stride", 1)
    p = check_int(padding, "padding", 0)
    default = (n - 1) * s - 2 * p + k
    if output_size is None:
        if default < 1:
            raise ValueError(f"the unpooled length (n - 1)*stride - 2*padding + kernel_size = "
                             f"{default} is empty; check kernel_size, stride and padding")
        return default
    o = check_int(output_size, "output_size", 1)
    if not default - s < o < default + s:
        raise ValueError(f"output_size={o} is not a possible pooling input size: it must lie "
                         f"strictly between {default - s} and {default + s}")
    return o
