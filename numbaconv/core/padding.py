"""Padding resolution: mode names, ``numpy.pad``-style widths, per-axis index maps.

Padding is expressed once, as an *index map* per axis: for every output
position along the axis, the input position it copies, or ``-1``/``-2`` for
the constant before/after the data. The same maps drive ``numbaconv.pad``,
the deep-learning ``padding_mode``s and ``convolve2d``'s ``boundary``, on
CPU and GPU, so every mode has exactly one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plans import plan_cache
from .validate import check_choice

#: The one table of padding mode names: every name numbaconv accepts -> numpy.pad's canonical
#: mode. numpy.pad's own names map to themselves; the aliases come from PyTorch's
#: ``padding_mode`` and scipy.signal's ``boundary``.
MODE_NAMES = {
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",      # mirror without repeating the edge
    "symmetric": "symmetric",  # mirror repeating the edge (scipy.signal 'symmetric' too)
    "wrap": "wrap",
    "zeros": "constant",       # PyTorch padding_mode
    "replicate": "edge",       # PyTorch
    "circular": "wrap",        # PyTorch, scipy.signal boundary
    "fill": "constant",        # scipy.signal boundary (with ``fillvalue``)
    "pad": "constant",         # scipy.signal boundary
    "symm": "symmetric",       # scipy.signal boundary
}
#: canonical (numpy.pad) names
PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
#: the aliases of MODE_NAMES
PAD_ALIASES = {name: mode for name, mode in MODE_NAMES.items() if name != mode}
#: the names scipy.signal's convolve2d/correlate2d accept as ``boundary`` (a subset of MODE_NAMES)
BOUNDARY_NAMES = ("fill", "pad", "wrap", "circular", "symm", "symmetric")

BEFORE, AFTER = -1, -2


def resolve_mode(mode, name: str = "mode") -> str:
    """Canonical numpy.pad name for ``mode`` (any name of :data:`MODE_NAMES`)."""
    canonical = MODE_NAMES.get(mode) if isinstance(mode, str) else None
    if canonical is None:  # not a name: check_choice raises, listing them
        return MODE_NAMES[check_choice(mode, name, tuple(MODE_NAMES))]
    return canonical


def resolve_boundary(boundary, name: str = "boundary") -> str:
    """Canonical numpy.pad name for a scipy.signal ``boundary`` ('fill', 'wrap', 'symm', aliases).

    The message keeps scipy.signal's wording, which its users (and tests) search for.
    """
    if isinstance(boundary, str) and boundary in BOUNDARY_NAMES:
        return MODE_NAMES[boundary]
    raise ValueError("Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                     f"'symmetric' (or 'symm'); got {name}={boundary!r}")


def resolve_pad_width(pad_width, ndim: int, name: str = "pad_width") -> tuple[tuple[int, int], ...]:
    """``numpy.pad``'s ``pad_width`` forms -> one non-negative ``(before, after)`` pair per axis.

    Accepted: ``n``, ``(n,)``, ``(before, after)``, ``((before, after),)`` and
    ``((b0, a0), (b1, a1), ...)``, exactly as numpy broadcasts them.
    """
    if type(pad_width) is int and pad_width >= 0:  # the common form, without NumPy
        return ((pad_width, pad_width),) * ndim
    return _pad_width_pairs(pad_width, ndim, name)


@plan_cache
def _pad_width_pairs(pad_width, ndim: int, name: str) -> tuple[tuple[int, int], ...]:
    """:func:`resolve_pad_width`'s general forms, through NumPy's broadcasting (cached for a
    hashable ``pad_width``: a training loop's tuple of pairs is resolved once)."""
    try:
        arr = np.asarray(pad_width)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iu" or arr.ndim > 2:
        if arr is not None and arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(
                f"{name} must be an int, a (before, after) pair or a sequence of {ndim} such "
                f"pairs of integers (numpy.pad's forms); got {pad_width!r}"
            )
    try:
        pairs = np.broadcast_to(arr, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"{name}={pad_width!r} cannot be broadcast to one (before, after) pair for each of "
            f"the {ndim} axes"
        ) from None
    if np.any(pairs < 0):
        raise ValueError(f"{name} must be non-negative, got {pad_width!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def resolve_constant_values(constant_values, ndim: int, dtype, name: str = "constant_values") -> np.ndarray:
    """``numpy.pad``'s ``constant_values`` forms -> a ``(ndim, 2)`` array of ``dtype``.

    A plain Python number is resolved once per (value, ndim, dtype) and the array reused:
    kernels only read it.
    """
    if type(constant_values) in (int, float):
        return _scalar_constant_values(constant_values, type(constant_values), ndim,
                                       dtype if isinstance(dtype, np.dtype) else np.dtype(dtype))
    return _constant_values(constant_values, ndim, dtype, name)


@plan_cache
def _scalar_constant_values(value, kind, ndim: int, dtype: np.dtype) -> np.ndarray:
    # (keyed by the dtype object: its .str, a new string each call, took half the lookup)
    return _constant_values(value, ndim, dtype, "constant_values")


def _constant_values(constant_values, ndim: int, dtype, name: str) -> np.ndarray:
    try:
        arr = np.asarray(constant_values)
        if arr.dtype.kind not in "biufc":
            raise TypeError
        pairs = np.broadcast_to(arr, (ndim, 2))
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number, a (before, after) pair or one pair per axis; "
            f"got {constant_values!r}"
        ) from None
    with np.errstate(all="ignore"):
        return np.ascontiguousarray(pairs.astype(dtype, casting="unsafe"))


def axis_index_map(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Input index for each of the ``before + n + after`` output positions along one axis.

    ``-1``/``-2`` stand for the constant before/after the data ('constant'
    mode only). 'reflect' mirrors without repeating the edge (period
    ``2(n-1)``), 'symmetric' repeats it (period ``2n``), 'wrap' is periodic
    with period ``n``, 'edge' clamps; pads wider than the axis keep
    mirroring or wrapping, as ``numpy.pad`` does.
    """
    i = np.arange(-before, n + after, dtype=np.int64)
    if mode == "constant":
        return np.where(i < 0, BEFORE, np.where(i >= n, AFTER, i))
    if n == 0:
        if before or after:
            raise ValueError(f"cannot pad an empty axis with mode {mode!r}; only 'constant' "
                             "extends an empty axis")
        return i
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "symmetric":
        m = i % (2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    # reflect
    if n == 1:
        return np.zeros_like(i)
    m = i % (2 * n - 2)
    return np.where(m >= n, 2 * n - 2 - m, m)


def index_maps(shape, widths, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated per-axis index maps and their offsets, ready for a kernel.

    Returns ``(maps, offsets)`` with ``maps[offsets[a]:offsets[a+1]]`` the map of
    axis ``a``.
    """
    parts = [axis_index_map(n, b, a, mode) for n, (b, a) in zip(shape, widths, strict=True)]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in parts])
    maps = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return np.ascontiguousarray(maps, dtype=np.int64), offsets


def padded_shape(shape, widths) -> tuple[int, ...]:
    """Shape after padding ``shape`` by ``widths``."""
    return tuple(n + b + a for n, (b, a) in zip(shape, widths, strict=True))


@dataclass(frozen=True)
class PadPlan:
    """One padding, resolved: output shape and the per-axis index maps the kernels read."""

    out_shape: tuple[int, ...]
    maps: np.ndarray        # concatenated per-axis index maps (int64, read-only by kernels)
    offsets: np.ndarray     # maps[offsets[a]:offsets[a+1]] is axis a's map
    lo_last: int            # the pad before the last axis


@plan_cache
def pad_plan(shape: tuple[int, ...], widths: tuple[tuple[int, int], ...], mode: str) -> PadPlan:
    """The :class:`PadPlan` of padding ``shape`` by ``widths`` (canonical ``mode``), cached."""
    maps, offsets = index_maps(shape, widths, mode)
    return PadPlan(padded_shape(shape, widths), maps, offsets, widths[-1][0] if widths else 0)
