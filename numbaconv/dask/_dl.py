"""Deep-learning operations on dask arrays: spatial chunks kept, each task one window block.

Convolution and max/average pooling keep the batch chunks (pooling: the
channel chunks too; convolution reads every input channel, so that axis is
one chunk) *and the spatial chunks*: every output block is one task that
gathers exactly the input window its outputs read (its chunk plus the halo,
with the padding applied from :func:`numbaconv.core.padding.axis_index_map`)
and calls the in-memory function with ``padding=0`` on it. See
:func:`_window_axis` for how output chunks follow the input chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from ..core.padding import axis_index_map
from ..core.validate import check_same_shape, normalize_axis
from ._common import as_dask, as_host, gather_blocks, inmemory, task

if TYPE_CHECKING:
    import dask.array as da

    from ..typing import ArrayLike, Padding, Size


def _window_axis(chunks, n, span, stride, lo, out, mode="constant", hi=0):
    """One windowed axis: the output chunks and the index-map slice each output block reads.

    Output ``o`` reads padded positions ``o*stride .. o*stride + span - 1``
    (input positions ``o*stride - lo ..``). It belongs to the output chunk of
    the input chunk holding input position ``o*stride`` (outputs at or past
    the end go to the last chunk), so with stride 1 and centred ('same')
    padding the output chunks are the input chunks, 'valid' shortens and
    'full' lengthens the last one, like the signal filters. Input chunks
    that own no output (stride larger than a chunk) get no output chunk.

    Returns ``(out_chunks, segments, origins, ranges)``: ``segments[j]`` the
    input positions block ``j`` gathers (``-1``/``-2``: the padding
    constant; other modes map to the reflected/clamped/wrapped position),
    ``origins[j]`` the input position of the block's first element
    (negative inside the left padding), ``ranges[j]`` its outputs
    ``(o0, o1)``.
    """
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)
    first = np.arange(out, dtype=np.int64) * stride
    owner = np.searchsorted(starts[1:-1], first, side="right")
    counts = np.bincount(owner, minlength=len(chunks))
    out_chunks = tuple(int(c) for c in counts if c)
    # positions past n + lo + hi (a ceil_mode pooling window) read the constant
    hi_ext = max(hi, (out - 1) * stride + span - n - lo)
    imap = axis_index_map(n, lo, hi_ext, mode)
    bounds = np.concatenate([[0], np.cumsum(out_chunks)])
    segments, origins, ranges = [], [], []
    for o0, o1 in zip(bounds[:-1], bounds[1:], strict=True):
        segments.append(imap[o0 * stride:(o1 - 1) * stride + span])
        origins.append(int(o0 * stride - lo))
        ranges.append((int(o0), int(o1)))
    return out_chunks, segments, origins, ranges


def _loop_axes(x, loop):
    """Batch/channel axes kept as chunked: each output block reads exactly its own chunk."""
    chunks, segments = [], []
    for a in range(loop):
        starts = np.concatenate([[0], np.cumsum(x.chunks[a])]).astype(np.int64)
        chunks.append(tuple(x.chunks[a]))
        segments.append([np.arange(s, e, dtype=np.int64)
                         for s, e in zip(starts[:-1], starts[1:], strict=True)])
    return chunks, segments


def _conv(nd: int, x, weight, bias=None, stride: Size = 1, padding: Padding = 0,
          dilation: Size = 1, groups: int = 1, padding_mode: str = "zeros",
          data_format: str = "channels_first") -> da.Array:
    from ..core.conv import FORWARD, check_bias, resolve
    from ..core.operands import NUMERIC_KINDS, check_kind, float_dtype

    func = inmemory(f"conv{nd}d")
    x = as_dask(x, "x")
    w = as_host(weight, "weight")
    b = as_host(bias, "bias")
    # the in-memory resolution: every argument checked with its messages, paddings and
    # output sizes computed once
    spec = resolve(FORWARD, nd, tuple(x.shape), tuple(w.shape), stride, padding, dilation,
                   groups, padding_mode, 0, data_format)
    dtype = float_dtype(check_kind(np.dtype(x.dtype), "x", NUMERIC_KINDS),
                        check_kind(w.dtype, "weight", NUMERIC_KINDS),
                        *(() if b is None else (check_kind(b.dtype, "bias", NUMERIC_KINDS),)))
    if b is not None:
        check_bias(b, spec.out_channels)
    batched = spec.batched
    spatial_axes = [a + (1 if batched else 0) + (0 if spec.channels_last else 1)
                    for a in range(nd)]
    chunks, segments = _loop_axes(x, 1 if batched else 0)
    geo = spec.geometry
    spans = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilation, strict=True))
    out_sp = geo.out_size[3 - nd:]
    channels = x.shape[spec.channel_axis]
    spatial_chunks, spatial_segments = [], []
    for a, ax in enumerate(spatial_axes):
        lo, hi = spec.pads[a]
        oc, segs, _, _ = _window_axis(x.chunks[ax], x.shape[ax], spans[a], spec.stride[a], lo,
                                      out_sp[a], spec.mode, hi)
        spatial_chunks.append(oc)
        spatial_segments.append(segs)
    # every input channel in each block (the weights mix them), one output-channel chunk
    channel_chunks, channel_segments = (w.shape[0],), [np.arange(channels, dtype=np.int64)]
    if spec.channels_last:
        chunks += spatial_chunks + [channel_chunks]
        segments += spatial_segments + [channel_segments]
    else:
        chunks += [channel_chunks] + spatial_chunks
        segments += [channel_segments] + spatial_segments
    fill = np.zeros((), x.dtype)[()] if spec.mode == "constant" else None
    block = task(func, weight=w, bias=b, stride=spec.stride, padding=0,
                 dilation=spec.dilation, groups=spec.groups, padding_mode="zeros",
                 data_format=data_format)
    return gather_blocks(x, segments, fill, block,
                         [(tuple(chunks), np.empty((0,) * x.ndim, dtype))], label="conv")[0]


@overload
def _pool(kind: str, nd: int, x, kernel_size, stride, padding, dilation, ceil_mode,
          return_indices: Literal[False], count_include_pad, divisor_override) -> da.Array: ...
@overload
def _pool(kind: str, nd: int, x, kernel_size, stride, padding, dilation, ceil_mode,
          return_indices: bool, count_include_pad, divisor_override
          ) -> da.Array | tuple[da.Array, da.Array]: ...
def _pool(kind: str, nd: int, x, kernel_size, stride, padding, dilation, ceil_mode,
          return_indices: bool, count_include_pad, divisor_override
          ) -> da.Array | tuple[da.Array, da.Array]:
    """Max (``kind='max'``) or average pooling of a dask array, from the in-memory pooling spec.

    :func:`numbaconv.core.pooling.pool_spec` resolves the call exactly as the in-memory
    function does (the same errors, output sizes, paddings, first taps and divisors);
    each output block is then the in-memory pooling, without padding, of the input window
    its outputs read.
    """
    from ..core.operands import float_dtype
    from ..core.pooling import check_bool, pool_spec

    name = f"{kind}_pool{nd}d"
    func = inmemory(name)
    x = as_dask(x, "x")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{name} needs x of shape (N, C, *spatial) or (C, *spatial) with {nd} "
                         f"spatial axes; got shape {tuple(x.shape)}")
    dtype = float_dtype(x.dtype)
    spec = pool_spec(kind, nd, tuple(int(n) for n in x.shape), dtype, kernel_size, stride,
                     padding, dilation, ceil_mode, count_include_pad, divisor_override)
    return_indices = check_bool(return_indices, "return_indices")
    kernel, strides, dils, pads = spec.kernel, spec.stride, spec.dilation, spec.pads
    # (set for every max and average pooling; None only in other kinds' specs)
    assert kernel is not None and strides is not None and dils is not None and pads is not None
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dils, strict=True))
    if x.dtype != dtype:
        x = x.astype(dtype)
    loop = x.ndim - nd
    chunks, segments = _loop_axes(x, loop)
    origins, ranges = [], []
    for a, (n, e, s, (lo, hi), o) in enumerate(zip(spec.spatial, span, strides, pads,
                                                   spec.out_spatial, strict=True)):
        oc, segs, org, rng = _window_axis(x.chunks[loop + a], n, e, s, lo, o, "constant", hi)
        chunks.append(oc)
        segments.append(segs)
        origins.append(org)
        ranges.append(rng)
    chunks = tuple(chunks)
    meta = np.empty((0,) * x.ndim, dtype)
    if kind == "max":
        # max pooling pads with -inf: a padding tap never beats a tap inside the input
        fill = dtype.type(-np.inf)
        block = task(func, kernel_size=kernel, stride=strides, padding=0, dilation=dils,
                     ceil_mode=False, return_indices=return_indices)
        if not return_indices:
            return gather_blocks(x, segments, fill, block, [(chunks, meta)], label=name)[0]
        # the first tap inside the input of each window (-1: none), from the in-memory spec
        firsts = spec.first_taps()

        def block_args(index):
            sp = index[loop:]
            return (tuple(origins[a][j] for a, j in enumerate(sp)),
                    tuple(firsts[a][slice(*ranges[a][j])] for a, j in enumerate(sp)))

        metas = [(chunks, meta), (chunks, np.empty((0,) * x.ndim, np.int64))]
        values, indices = gather_blocks(x, segments, fill, _PlaneIndices(block, spec.spatial),
                                        metas, block_args, (origins, ranges, firsts), label=name)
        return values, indices
    # average pooling: zero padding, the window sums of the block (divisor 1), then the
    # in-memory divisors of the whole extent, in the in-memory kernel's order
    facs = spec.divisor_factors()
    block = task(func, kernel_size=kernel, stride=strides, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=1)

    def avg_args(index):
        rng = [(0, 1)] * (3 - nd) + [ranges[a][j] for a, j in enumerate(index[loop:])]
        return tuple(facs[i][slice(*rng[i])] for i in range(3))

    return gather_blocks(x, segments, dtype.type(0), _Divide(block, nd), [(chunks, meta)],
                         avg_args, (ranges, facs), label=name)[0]


class _PlaneIndices:
    """Max pooling of a block with its indices moved from block to whole-plane positions.

    A block's argmax lying in the gathered -inf padding means every tap of
    that window inside the input is -inf (or there is none): the in-memory
    kernel then points at the window's first tap inside the input, or -1.
    """

    def __init__(self, block, spatial):
        self.block, self.spatial = block, tuple(spatial)

    def __dask_tokenize__(self):
        from dask.base import tokenize

        return ("numbaconv-plane-indices", tokenize(self.block), self.spatial)

    def __call__(self, ext, origins, firsts):
        out, idx = self.block(ext)
        nd = len(self.spatial)
        coords = np.unravel_index(idx, ext.shape[-nd:])
        flat = np.zeros(idx.shape, np.int64)
        inside = np.ones(idx.shape, bool)
        for c, o, n in zip(coords, origins, self.spatial, strict=True):
            g = c + o
            inside &= (g >= 0) & (g < n)
            flat = flat * n + g
        if not inside.all():
            fix = np.zeros(idx.shape[-nd:], np.int64)
            valid = np.ones(idx.shape[-nd:], bool)
            for a, (f, n) in enumerate(zip(firsts, self.spatial, strict=True)):
                f = f.reshape((-1,) + (1,) * (nd - 1 - a))
                valid &= f >= 0
                fix = fix * n + f
            flat = np.where(inside, flat, np.where(valid, fix, -1))
        return out, flat


class _Divide:
    """Window sums of a block divided by the in-memory divisors ``(fac_d * fac_h) * fac_w``."""

    def __init__(self, block, nd):
        self.block, self.nd = block, nd

    def __dask_tokenize__(self):
        from dask.base import tokenize

        return ("numbaconv-divide", tokenize(self.block), self.nd)

    def __call__(self, ext, f0, f1, f2):
        sums = self.block(ext)
        div = (f0[:, None, None] * f1[None, :, None]) * f2[None, None, :]
        return sums / div.reshape(div.shape[3 - self.nd:])


@overload
def max_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ...) -> da.Array: ...
@overload
def max_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> da.Array | tuple[da.Array, da.Array]: ...
def max_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> da.Array | tuple[da.Array, da.Array]:
    """``numbaconv.max_pool1d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.max_pool1d` (PyTorch's ``F.max_pool1d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo) and pools it in memory with ``padding=0``: padded with -inf
    (a padding tap never wins), and returned indices are translated to flat positions in
    the whole input plane, as in memory. Output ``o`` belongs to the output chunk of the
    input chunk holding input position ``o * stride``; an input chunk owning no output gets
    no output chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 1 spatial axes.
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As for :func:`numbaconv.max_pool1d`.

    Returns
    -------
    dask.array.Array or tuple of dask.array.Array
        The lazy result (a pair with ``return_indices=True``).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 1, chunks=1)
    >>> bool(np.array_equal(ncd.max_pool1d(x, 2).compute(), nc.max_pool1d(x.compute(), 2)))
    True
    """
    return _pool("max", 1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 True, None)


@overload
def max_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ...) -> da.Array: ...
@overload
def max_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> da.Array | tuple[da.Array, da.Array]: ...
def max_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> da.Array | tuple[da.Array, da.Array]:
    """``numbaconv.max_pool2d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.max_pool2d` (PyTorch's ``F.max_pool2d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo) and pools it in memory with ``padding=0``: padded with -inf
    (a padding tap never wins), and returned indices are translated to flat positions in
    the whole input plane, as in memory. Output ``o`` belongs to the output chunk of the
    input chunk holding input position ``o * stride``; an input chunk owning no output gets
    no output chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 2 spatial axes.
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As for :func:`numbaconv.max_pool2d`.

    Returns
    -------
    dask.array.Array or tuple of dask.array.Array
        The lazy result (a pair with ``return_indices=True``).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 2, chunks=1)
    >>> bool(np.array_equal(ncd.max_pool2d(x, 2).compute(), nc.max_pool2d(x.compute(), 2)))
    True
    """
    return _pool("max", 2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 True, None)


@overload
def max_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: Literal[False] = ...) -> da.Array: ...
@overload
def max_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None,
               padding: Padding, dilation: Size, ceil_mode: bool,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ..., *,
               return_indices: Literal[True]) -> tuple[da.Array, da.Array]: ...
@overload
def max_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = ...,
               padding: Padding = ..., dilation: Size = ..., ceil_mode: bool = ...,
               return_indices: bool = ...) -> da.Array | tuple[da.Array, da.Array]: ...
def max_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> da.Array | tuple[da.Array, da.Array]:
    """``numbaconv.max_pool3d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.max_pool3d` (PyTorch's ``F.max_pool3d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo) and pools it in memory with ``padding=0``: padded with -inf
    (a padding tap never wins), and returned indices are translated to flat positions in
    the whole input plane, as in memory. Output ``o`` belongs to the output chunk of the
    input chunk holding input position ``o * stride``; an input chunk owning no output gets
    no output chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 3 spatial axes.
    kernel_size, stride, padding, dilation, ceil_mode, return_indices
        As for :func:`numbaconv.max_pool3d`.

    Returns
    -------
    dask.array.Array or tuple of dask.array.Array
        The lazy result (a pair with ``return_indices=True``).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 3, chunks=1)
    >>> bool(np.array_equal(ncd.max_pool3d(x, 2).compute(), nc.max_pool3d(x.compute(), 2)))
    True
    """
    return _pool("max", 3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                 True, None)


def avg_pool1d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> da.Array:
    """``numbaconv.avg_pool1d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.avg_pool1d` (PyTorch's ``F.avg_pool1d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo, zero padded) and sums its windows in memory; the sums are then
    divided by the in-memory divisors of the whole extent (``ceil_mode``,
    ``count_include_pad``, ``divisor_override``), so the result is bitwise the in-memory one.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 1 spatial axes.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`numbaconv.avg_pool1d`.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 1, chunks=1)
    >>> bool(np.array_equal(ncd.avg_pool1d(x, 2).compute(), nc.avg_pool1d(x.compute(), 2)))
    True
    """
    return _pool("avg", 1, x, kernel_size, stride, padding, 1, ceil_mode, False,
                 count_include_pad, divisor_override)


def avg_pool2d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> da.Array:
    """``numbaconv.avg_pool2d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.avg_pool2d` (PyTorch's ``F.avg_pool2d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo, zero padded) and sums its windows in memory; the sums are then
    divided by the in-memory divisors of the whole extent (``ceil_mode``,
    ``count_include_pad``, ``divisor_override``), so the result is bitwise the in-memory one.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 2 spatial axes.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`numbaconv.avg_pool2d`.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 2, chunks=1)
    >>> bool(np.array_equal(ncd.avg_pool2d(x, 2).compute(), nc.avg_pool2d(x.compute(), 2)))
    True
    """
    return _pool("avg", 2, x, kernel_size, stride, padding, 1, ceil_mode, False,
                 count_include_pad, divisor_override)


def avg_pool3d(x: da.Array | ArrayLike, kernel_size: Size, stride: Size | None = None,
               padding: Padding = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> da.Array:
    """``numbaconv.avg_pool3d`` on a dask array: batch, channel and spatial chunks kept.

    Takes the arguments of :func:`numbaconv.avg_pool3d` (PyTorch's ``F.avg_pool3d``; channels
    first). Each output block is one task that gathers the input window its outputs read
    (its chunk plus the halo, zero padded) and sums its windows in memory; the sums are then
    divided by the in-memory divisors of the whole extent (``ceil_mode``,
    ``count_include_pad``, ``divisor_override``), so the result is bitwise the in-memory one.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``, 3 spatial axes.
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As for :func:`numbaconv.avg_pool3d`.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * 3, chunks=1)
    >>> bool(np.array_equal(ncd.avg_pool3d(x, 2).compute(), nc.avg_pool3d(x.compute(), 2)))
    True
    """
    return _pool("avg", 3, x, kernel_size, stride, padding, 1, ceil_mode, False,
                 count_include_pad, divisor_override)


def conv1d(x: da.Array | ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
           stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = "channels_first") -> da.Array:
    """``numbaconv.conv1d`` on a dask array: batch and spatial chunks kept.

    The input channel axis (second, or last with ``data_format='channels_last'``) is
    gathered whole in every block (a convolution mixes all input channels) and the output
    channels are one chunk. The call is resolved once by the in-memory resolution
    (:func:`numbaconv.core.conv.resolve`). Each output block is one task that gathers the
    input window its outputs read (its spatial chunk plus the halo, ``padding_mode``
    applied from the index maps) and convolves it in memory with ``padding=0``. Output
    ``o`` belongs to the output chunk of the input chunk holding input position
    ``o * stride``: with stride 1 and centred padding the spatial chunks are the input's.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, 1 spatial axes
        (channels-last: ``(N, *spatial, C)`` or ``(*spatial, C)``).
    weight, bias, stride, padding, dilation, groups, padding_mode, data_format
        As for :func:`numbaconv.conv1d`; ``weight`` and ``bias`` are in memory.

    Returns
    -------
    dask.array.Array
        ``(N, K, *out)`` (channels-last ``(N, *out, K)``), lazily, batch chunks as in ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 3, 7), chunks=(1, 2, 4))
    >>> w = np.random.default_rng(1).standard_normal((2, 3, 3))
    >>> y = ncd.conv1d(x, w, padding=1)
    >>> y.shape, y.chunks[0], y.chunks[-1]
    ((4, 2, 7), (1, 1, 1, 1), (4, 3))
    >>> bool(np.allclose(y.compute(), nc.conv1d(x.compute(), w, padding=1)))
    True
    """
    return _conv(1, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)


def conv2d(x: da.Array | ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
           stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = "channels_first") -> da.Array:
    """``numbaconv.conv2d`` on a dask array: batch and spatial chunks kept.

    The input channel axis (second, or last with ``data_format='channels_last'``) is
    gathered whole in every block (a convolution mixes all input channels) and the output
    channels are one chunk. The call is resolved once by the in-memory resolution
    (:func:`numbaconv.core.conv.resolve`). Each output block is one task that gathers the
    input window its outputs read (its spatial chunk plus the halo, ``padding_mode``
    applied from the index maps) and convolves it in memory with ``padding=0``. Output
    ``o`` belongs to the output chunk of the input chunk holding input position
    ``o * stride``: with stride 1 and centred padding the spatial chunks are the input's.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, 2 spatial axes
        (channels-last: ``(N, *spatial, C)`` or ``(*spatial, C)``).
    weight, bias, stride, padding, dilation, groups, padding_mode, data_format
        As for :func:`numbaconv.conv2d`; ``weight`` and ``bias`` are in memory.

    Returns
    -------
    dask.array.Array
        ``(N, K, *out)`` (channels-last ``(N, *out, K)``), lazily, batch chunks as in ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 3, 7, 7), chunks=(1, 2, 4, 4))
    >>> w = np.random.default_rng(1).standard_normal((2, 3, 3, 3))
    >>> y = ncd.conv2d(x, w, padding=1)
    >>> y.shape, y.chunks[0], y.chunks[-1]
    ((4, 2, 7, 7), (1, 1, 1, 1), (4, 3))
    >>> bool(np.allclose(y.compute(), nc.conv2d(x.compute(), w, padding=1)))
    True
    """
    return _conv(2, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)


def conv3d(x: da.Array | ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
           stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
           padding_mode: str = "zeros", *, data_format: str = "channels_first") -> da.Array:
    """``numbaconv.conv3d`` on a dask array: batch and spatial chunks kept.

    The input channel axis (second, or last with ``data_format='channels_last'``) is
    gathered whole in every block (a convolution mixes all input channels) and the output
    channels are one chunk. The call is resolved once by the in-memory resolution
    (:func:`numbaconv.core.conv.resolve`). Each output block is one task that gathers the
    input window its outputs read (its spatial chunk plus the halo, ``padding_mode``
    applied from the index maps) and convolves it in memory with ``padding=0``. Output
    ``o`` belongs to the output chunk of the input chunk holding input position
    ``o * stride``: with stride 1 and centred padding the spatial chunks are the input's.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, 3 spatial axes
        (channels-last: ``(N, *spatial, C)`` or ``(*spatial, C)``).
    weight, bias, stride, padding, dilation, groups, padding_mode, data_format
        As for :func:`numbaconv.conv3d`; ``weight`` and ``bias`` are in memory.

    Returns
    -------
    dask.array.Array
        ``(N, K, *out)`` (channels-last ``(N, *out, K)``), lazily, batch chunks as in ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 3, 7, 7, 7), chunks=(1, 2, 4, 4, 4))
    >>> w = np.random.default_rng(1).standard_normal((2, 3, 3, 3, 3))
    >>> y = ncd.conv3d(x, w, padding=1)
    >>> y.shape, y.chunks[0], y.chunks[-1]
    ((4, 2, 7, 7, 7), (1, 1, 1, 1), (4, 3))
    >>> bool(np.allclose(y.compute(), nc.conv3d(x.compute(), w, padding=1)))
    True
    """
    return _conv(3, x, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)


# --------------------------------------------------------------------------- activations

#: elementwise activations: any chunking works, chunks are kept.
ELEMENTWISE = ("identity", "step", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu",
               "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh",
               "hardsigmoid", "hardswish", "log_sigmoid")


def elementwise(name: str, x, **params):
    """The in-memory elementwise function ``name`` mapped over the chunks of ``x``."""
    func = inmemory(name)
    x = as_dask(x, "x")
    probe = func(np.zeros((1,), x.dtype), **params)
    return x.map_blocks(task(func, **params), dtype=probe.dtype,
                        meta=np.empty((0,) * x.ndim, probe.dtype))


def elementwise_backward(name: str, grad_output, x, **params):
    """The in-memory VJP ``name(grad_output, x)`` over matching chunks (``grad_output`` follows ``x``).

    The shapes are checked here, before any task runs, with the in-memory message.
    """
    func = inmemory(name)
    x = as_dask(x, "x")
    g = as_dask(grad_output, "grad_output")
    check_same_shape(g.shape, x.shape)
    probe = func(np.zeros((1,), g.dtype), np.zeros((1,), x.dtype), **params)
    from dask.array import map_blocks

    g = g.rechunk(x.chunks)
    return map_blocks(task(func, **params), g, x, dtype=probe.dtype,
                      meta=np.empty((0,) * x.ndim, probe.dtype))


def _along_axis(name: str, x, axis: int):
    func = inmemory(name)
    x = as_dask(x, "x")
    if x.ndim == 0:
        raise ValueError(f"x must have at least 1 dimension for {name} over an axis")
    ax = normalize_axis(axis, x.ndim)
    probe = func(np.zeros((1,), x.dtype))
    x = x.rechunk({ax: -1})
    return x.map_blocks(task(func, axis=ax), dtype=probe.dtype,
                        meta=np.empty((0,) * x.ndim, probe.dtype))


def softmax(x: da.Array | ArrayLike, axis: int = -1) -> da.Array:
    """``numbaconv.softmax`` along ``axis`` of a dask array.

    The softmax axis is rechunked to one chunk (every output needs the whole
    row); the other axes keep their chunks.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, at least 1-D.
    axis : int, optional
        The axis to normalise over.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.log([[1.0, 3.0], [2.0, 2.0]]), chunks=1)
    >>> ncd.softmax(x, axis=1).compute()
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    return _along_axis("softmax", x, axis)


def log_softmax(x: da.Array | ArrayLike, axis: int = -1) -> da.Array:
    """``numbaconv.log_softmax`` along ``axis`` of a dask array (the axis is rechunked to one chunk).

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, at least 1-D.
    axis : int, optional
        The axis to normalise over.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.log([[1.0, 3.0], [2.0, 2.0]]), chunks=1)
    >>> np.exp(ncd.log_softmax(x, axis=1).compute())
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    return _along_axis("log_softmax", x, axis)


def prelu(x: da.Array | ArrayLike, weight: ArrayLike) -> da.Array:
    """``numbaconv.prelu`` on a dask array; the channel axis (1) is rechunked to one chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, channels along axis 1.
    weight : array_like
        One slope, or one per channel (in memory).

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.array([[-2.0, 2.0], [-4.0, 4.0]]), chunks=1)
    >>> ncd.prelu(x, np.array([0.5, 0.25])).compute()
    array([[-1.,  2.],
           [-2.,  4.]])
    """
    func = inmemory("prelu")
    xd = as_dask(x, "x")
    w = as_host(weight, "weight")
    probe = func(np.zeros((1,), xd.dtype), np.ones(1, w.dtype))
    if xd.ndim >= 2:
        xd = xd.rechunk({1: -1})
    return xd.map_blocks(task(func, weight=w), dtype=probe.dtype,
                         meta=np.empty((0,) * xd.ndim, probe.dtype))
