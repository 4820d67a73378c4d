"""Pooling resolved once: the frozen spec used by every pooling function, gradient and dask task.

:func:`pool_spec`, :func:`adaptive_spec` and :func:`unpool_spec` turn a call's
hashable arguments (the input's shape and dtype, window sizes, paddings, the
layout word) into one :class:`PoolSpec`: output shape, per-axis *window
tables*, divisor factors. They are :func:`numbaconv.core.plans.plan_cache`
functions, so a repeated call resolves nothing. Kernels of both backends read
what they need from the spec; the inverse tables, which only the gathering
gradients use, are built on first use.

Window tables (1-D and 2-D pooling are 3-D pooling with singleton leading axes):

* ``win[a, 0, o]``: the input position of tap 0 of output ``o`` along axis ``a``
  (D, H, W; negative inside the left padding); ``win[a, 1, o]`` /
  ``win[a, 2, o]``: the first / one-past-last tap inside the input. Tap ``j``
  reads position ``win[a, 0, o] + j * geo[a]`` (``geo[0:3]``: the dilations).
* ``geo[3]``: the stride along W; ``[geo[4], geo[5])``: the outputs along W whose
  whole window lies inside the input with the same taps (the vectorised interior).
* ``fac[a, o]``: per-axis divisor factors of average pooling, in the array's
  dtype; the divisor of output ``(d, h, w)`` is ``(fac[0, d] * fac[1, h]) * fac[2, w]``.
* ``inv[a, m, i]``: the ``m``-th output (ascending) whose window along axis
  ``a`` holds input position ``i``; unused slots hold the axis' output length.

Nothing here touches array data or knows a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np

from ..shapes import pool_output_size, unpool_output_size
from . import layout
from .plans import plan_cache
from .validate import check_choice, check_int, int_tuple

#: the ``data_format`` words (Keras'): channels before or after the spatial axes
LAYOUTS = ("channels_first", "channels_last")
#: the padding words pooling accepts
PADDING_WORDS = ("valid", "same")


# ------------------------------------------------------------------------------------ per axis


@dataclass(frozen=True)
class _Axis:
    """One spatial axis' windows: tap 0 position, first / end tap inside the input, factors."""

    n: int
    base: np.ndarray
    j0: np.ndarray
    j1: np.ndarray
    dil: int
    stride: int  # 0 when the windows are irregular (adaptive)
    fac: np.ndarray  # float64 divisor factors

    @property
    def out(self) -> int:
        return len(self.base)


def _regular_axis(n, k, s, d, lo, hi, out, include_pad) -> _Axis:
    base = np.arange(out, dtype=np.int64) * s - lo
    j0 = np.maximum(0, -(base // d))                       # ceil(-base / d), at least 0
    j1 = np.maximum(j0, np.minimum(k, (n - 1 - base) // d + 1))
    if include_pad:  # PyTorch: the window clipped to input + padding
        fac = np.minimum(base + k, n + hi) - base
    else:
        fac = np.minimum(base + k, n) - np.maximum(base, 0)
    return _Axis(n, base, j0, j1, d, s, fac.astype(np.float64))


def _adaptive_axis(n, out) -> _Axis:
    if n % out == 0:  # uniform windows: the regular (vectorised) form of the same windows
        k = n // out
        return _regular_axis(n, k, k, 1, 0, 0, out, True)
    o = np.arange(out, dtype=np.int64)
    start = (o * n) // out
    end = ((o + 1) * n + out - 1) // out
    return _Axis(n, start, np.zeros(out, np.int64), end - start, 1, 0,
                 (end - start).astype(np.float64))


def _singleton_axis() -> _Axis:
    z = np.zeros(1, np.int64)
    return _Axis(1, z, z, z + 1, 1, 1, np.ones(1))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _tables(axes):
    """``(win, geo)`` of three axes (see the module docstring)."""
    m = max(a.out for a in axes)
    win = np.zeros((3, 3, m), np.int64)
    for i, a in enumerate(axes):
        win[i, 0, :a.out], win[i, 1, :a.out], win[i, 2, :a.out] = a.base, a.j0, a.j1
    w = axes[2]
    ia = ib = 0
    if w.stride:
        full = np.flatnonzero((w.j0 == 0) & (w.j1 == w.j1.max(initial=0)))
        if len(full):
            ia, ib = int(full[0]), int(full[-1]) + 1
    geo = np.array([a.dil for a in axes] + [max(w.stride, 1), ia, ib], np.int64)
    return _frozen(win), _frozen(geo)


def _factors(axes, dtype, override):
    m = max(a.out for a in axes)
    fac = np.ones((3, m), np.float64)
    if override is not None:
        fac[0, :] = override
    else:
        for i, a in enumerate(axes):
            fac[i, :a.out] = a.fac
    return _frozen(fac.astype(dtype))


def _inverse(axes):
    tables = []
    for a in axes:
        j = np.arange(int(a.j1.max(initial=0)), dtype=np.int64)
        keep = (j[None, :] >= a.j0[:, None]) & (j[None, :] < a.j1[:, None])
        pos = (a.base[:, None] + a.dil * j[None, :])[keep]
        outs = np.broadcast_to(np.arange(a.out, dtype=np.int64)[:, None], keep.shape)[keep]
        order = np.lexsort((outs, pos))
        pos, outs = pos[order], outs[order]
        counts = np.bincount(pos, minlength=a.n)
        slot = np.arange(len(pos)) - np.repeat(np.cumsum(counts) - counts, counts)
        table = np.full((max(1, int(counts.max(initial=0))), a.n), a.out, np.int64)
        table[slot, pos] = outs
        tables.append(table)
    cm = max(t.shape[0] for t in tables)
    nmax = max(t.shape[1] for t in tables)
    inv = np.zeros((3, cm, nmax), np.int64)
    for i, (t, a) in enumerate(zip(tables, axes, strict=True)):
        inv[i] = a.out
        inv[i, :t.shape[0], :t.shape[1]] = t
    return _frozen(inv)


# ----------------------------------------------------------------------------------- the spec


@dataclass(frozen=True, eq=False)
class PoolSpec:
    """One resolved pooling call: shapes, layout, window tables (see the module docstring).

    Shapes are as the caller gives them (unbatched or batched, in the
    ``data_format`` layout); ``batch`` is 1 for unbatched input. ``dims`` are
    the 3-D sizes ``(D, H, W, oD, oH, oW)`` the kernels index with (leading
    singletons for 1-D and 2-D).
    """

    kind: str                     # 'max', 'avg', 'adaptive_max', 'adaptive_avg' or 'unpool'
    nd: int
    channels_last: bool
    dtype: np.dtype
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    batch: int
    channels: int
    spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    dims: tuple[int, int, int, int, int, int]
    work: int                     # elements read and written, for the serial/parallel choice
    kernel: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None
    pads: tuple[tuple[int, int], ...] | None = None
    win: np.ndarray | None = None
    geo: np.ndarray | None = None
    fac: np.ndarray | None = None
    axes: tuple = field(default=(), repr=False)

    @property
    def data_format(self) -> str:
        return LAYOUTS[self.channels_last]

    @cached_property
    def inv(self) -> np.ndarray:
        """The inverse window tables (built on first use, by the kernels that gather)."""
        return _inverse(self.axes)

    def first_taps(self) -> tuple[np.ndarray, ...]:
        """Per spatial axis, each output's first tap inside the input (-1: none)."""
        return tuple(np.where(a.j0 < a.j1, a.base + a.dil * a.j0, -1)
                     for a in self.axes[3 - self.nd:])

    def divisor_factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three per-axis divisor factors (D, H, W) of average pooling, in the dtype."""
        assert self.fac is not None
        return tuple(self.fac[i, :n] for i, n in enumerate(self.dims[3:]))  # type: ignore[return-value]


def _layout(data_format) -> bool:
    return check_choice(data_format, "data_format", LAYOUTS) == "channels_last"


def split_shape(shape, nd: int, channels_last: bool, name: str = "x"):
    """``(batch, channels, spatial, unbatched)`` of an input shape in the given layout."""
    shape = tuple(shape)
    form = "(N, *spatial, C)" if channels_last else "(N, C, *spatial)"
    uform = "(*spatial, C)" if channels_last else "(C, *spatial)"
    if len(shape) == nd + 2:
        n, rest = shape[0], shape[1:]
        unb = False
    elif len(shape) == nd + 1:
        n, rest = 1, shape
        unb = True
    else:
        raise ValueError(f"{name} must be batched {form} with {nd + 2} dimensions or unbatched "
                         f"{uform} with {nd + 1} for a {nd}-D pooling "
                         f"(data_format={LAYOUTS[channels_last]!r}); got shape {shape}")
    c, sp = (rest[-1], rest[:-1]) if channels_last else (rest[0], rest[1:])
    return n, c, tuple(sp), unb


def join_shape(n, c, spatial, unbatched, channels_last) -> tuple[int, ...]:
    """The inverse of :func:`split_shape`."""
    rest = tuple(spatial) + (c,) if channels_last else (c,) + tuple(spatial)
    return rest if unbatched else (n,) + rest


def _check_spatial(spatial, name):
    if any(n < 1 for n in spatial):
        raise ValueError(f"{name} must have non-empty spatial dimensions, got spatial shape "
                         f"{tuple(spatial)}")


def check_bool(value, name: str) -> bool:
    """``value`` as a bool if it is one (Python or NumPy), else a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _spec(kind, nd, cl, dtype, shape, name, axes3, out_sp, taps, **extra) -> PoolSpec:
    n, c, sp, unb = split_shape(shape, nd, cl, name)
    dims = tuple(a.n for a in axes3) + tuple(a.out for a in axes3)
    work = n * c * (int(np.prod(sp)) + int(np.prod(out_sp)) * taps)
    return PoolSpec(kind, nd, cl, np.dtype(dtype), tuple(shape), join_shape(n, c, out_sp, unb, cl),
                    n, c, sp, tuple(out_sp), dims, work, axes=axes3, **extra)


@plan_cache
def pool_spec(kind: str, nd: int, shape: tuple[int, ...], dtype, kernel_size, stride=None,
              padding=0, dilation=1, ceil_mode=False, count_include_pad=True,
              divisor_override=None, data_format="channels_first", name: str = "x") -> PoolSpec:
    """The spec of a max (``kind='max'``) or average (``'avg'``) pooling of an input of ``shape``.

    ``name`` is the argument the shape came from, for error messages ('x' or
    'input_shape'). Raises ValueError/TypeError naming the bad argument.
    """
    cl = _layout(data_format)
    _, _, spatial, _ = split_shape(shape, nd, cl, name)
    _check_spatial(spatial, name)
    kernel, strides, dils = layout.window_args(nd, kernel_size, stride, dilation)
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    include = check_bool(count_include_pad, "count_include_pad")
    override = (None if divisor_override is None
                else check_int(divisor_override, "divisor_override", 1))
    pads = layout.resolve_padding(padding, spatial, kernel, strides, dils, words=PADDING_WORDS)
    word = padding if isinstance(padding, str) else None
    try:
        out = tuple(pool_output_size(n, k, s, word if word else pad, d, ceil_mode)
                    for n, k, s, d, pad in zip(spatial, kernel, strides, dils, pads, strict=True))
    except ValueError as exc:
        if "larger than the padded input" not in str(exc):
            raise
        raise ValueError(f"{name} of shape {tuple(shape)}: {exc}") from None
    if word == "same":
        include = False  # Keras/TensorFlow: the padding never counts
    axes = tuple(_regular_axis(n, k, s, d, lo, hi, o, include)
                 for n, k, s, d, (lo, hi), o in zip(spatial, kernel, strides, dils, pads, out,
                                                    strict=True))
    axes = (_singleton_axis(),) * (3 - nd) + axes
    win, geo = _tables(axes)
    fac = _factors(axes, dtype, override) if kind == "avg" else None
    return _spec(kind, nd, cl, dtype, shape, name, axes, out, int(np.prod(kernel)),
                 kernel=kernel, stride=strides, dilation=dils, pads=pads, win=win, geo=geo,
                 fac=fac)


@plan_cache
def adaptive_spec(kind: str, nd: int, shape: tuple[int, ...], dtype, output_size,
                  data_format="channels_first", name: str = "x") -> PoolSpec:
    """The spec of an adaptive pooling (``kind='adaptive_max'`` or ``'adaptive_avg'``).

    Output ``i`` pools ``[floor(i*n/out), ceil((i+1)*n/out))``; a None entry of
    ``output_size`` keeps that axis' size.
    """
    cl = _layout(data_format)
    _, _, spatial, _ = split_shape(shape, nd, cl, name)
    _check_spatial(spatial, name)
    if isinstance(output_size, (list, tuple)) and any(o is None for o in output_size):
        if len(output_size) != nd:
            raise ValueError(f"output_size must be an integer or a sequence of {nd} integers "
                             f"(None keeps an axis), got {output_size!r}")
        output_size = tuple(n if o is None else o for n, o in zip(spatial, output_size, strict=True))
    elif output_size is None:
        output_size = tuple(spatial)
    out = int_tuple(output_size, nd, "output_size", 1)
    axes = (_singleton_axis(),) * (3 - nd) + tuple(_adaptive_axis(n, o)
                                                   for n, o in zip(spatial, out, strict=True))
    win, geo = _tables(axes)
    fac = _factors(axes, dtype, None) if kind == "adaptive_avg" else None
    taps = int(np.prod([-(-n // o) + 1 for n, o in zip(spatial, out, strict=True)]))
    return _spec(kind, nd, cl, dtype, shape, name, axes, out, taps, win=win, geo=geo, fac=fac)


@plan_cache
def unpool_spec(nd: int, shape: tuple[int, ...], dtype, kernel_size, stride=None, padding=0,
                output_size=None, data_format="channels_first") -> PoolSpec:
    """The spec of a max unpooling of pooled values of ``shape`` (sizes from
    :func:`numbaconv.shapes.unpool_output_size`)."""
    cl = _layout(data_format)
    _, _, spatial, _ = split_shape(shape, nd, cl, "x")
    kernel, strides, _ = layout.window_args(nd, kernel_size, stride, 1)
    pads = int_tuple(padding, nd, "padding", 0)
    if output_size is None:
        sizes = (None,) * nd
    else:
        full = list(output_size) if isinstance(output_size, (list, tuple)) else None
        if full is None or len(full) not in (nd, nd + 1, nd + 2):
            raise ValueError(f"output_size must be a sequence of {nd} spatial sizes (or the full "
                             f"output shape); got {output_size!r}")
        if len(full) == nd:
            sizes = tuple(full)
        else:  # the full shape, in the layout
            sizes = tuple(full[-nd - 1:-1] if cl else full[-nd:])
        sizes = int_tuple(sizes, nd, "output_size", 1)
    out = []
    for i, (n, k, s, p, o) in enumerate(zip(spatial, kernel, strides, pads, sizes, strict=True)):
        try:
            out.append(unpool_output_size(n, k, s, p, o))
        except ValueError as exc:
            where = f"output_size[{i}]" if o is not None else "the unpooled size"
            raise ValueError(f"{where}: {exc}") from None
    # the unpooling reads no window tables; dims: the pooled sizes, then the unpooled ones
    n, c, _, unb = split_shape(shape, nd, cl, "x")
    pooled = (1,) * (3 - nd) + tuple(spatial)
    full_out = (1,) * (3 - nd) + tuple(out)
    dims = cast("tuple[int, int, int, int, int, int]", pooled + full_out)  # 3 + 3 sizes
    return PoolSpec("unpool", nd, cl, np.dtype(dtype), tuple(shape),
                    join_shape(n, c, out, unb, cl), n, c, tuple(spatial), tuple(out), dims,
                    n * c * (int(np.prod(spatial)) + int(np.prod(out))),
                    kernel=kernel, stride=strides, pads=tuple((p, p) for p in pads))
