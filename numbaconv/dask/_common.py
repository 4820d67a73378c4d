"""Graph-building helpers shared by the signal and deep-learning wrappers."""

from __future__ import annotations

from functools import partial

import numpy as np

from ..core.padding import axis_index_map
from ._threads import CONFIG_KEY, run_in_task


def inmemory(name: str):
    """numbaconv's in-memory function ``name`` (looked up at graph-build time)."""
    import numbaconv

    func = getattr(numbaconv, name, None)
    if func is None:
        raise NotImplementedError(f"numbaconv.{name} is not available in this numbaconv build, "
                                  f"so numbaconv.dask.{name} cannot run")
    return func


def as_dask(x, name: str):
    """``x`` as a dask array (NumPy arrays and lists are wrapped with dask's automatic chunks)."""
    import dask.array as da

    if isinstance(x, da.Array):
        return x
    try:
        return da.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a dask array or an array-like of numbers: {exc}") from None


def as_host(x, name: str):
    """A small in-memory operand (kernel, weight, bias) as a NumPy array; dask arrays are computed."""
    import dask.array as da

    if x is None:
        return None
    if isinstance(x, da.Array):
        x = x.compute()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None


def task(func, **kwargs):
    """A block function calling ``func(block, **kwargs)`` with the task's Numba thread count.

    The thread override from the dask config (``numbaconv.numba-threads``) is
    read now, at graph-build time, so it travels with the task to any worker.
    """
    import dask

    return partial(run_in_task, func, _numba_threads=dask.config.get(CONFIG_KEY, None), **kwargs)


def extend(x, widths, mode: str, fillvalue=0):
    """Pad dask array ``x`` by ``widths`` with numpy.pad ``mode`` (core.padding's index maps).

    Each pad is a small gather ``x[index_map]`` (or a constant block) joined to
    ``x``; pads wider than the axis repeat as ``numpy.pad`` does.
    """
    import dask.array as da

    for axis, (lo, hi) in enumerate(widths):
        if not lo and not hi:
            continue
        n = x.shape[axis]
        imap = axis_index_map(n, lo, hi, mode)
        pieces = []
        for part in (imap[:lo], imap[lo + n:]):
            if not len(part):
                continue
            if mode == "constant":
                shape = list(x.shape)
                shape[axis] = len(part)
                chunks = list(x.chunks)
                chunks[axis] = (len(part),)
                pieces.append(da.full(tuple(shape), fillvalue, dtype=x.dtype, chunks=tuple(chunks)))
            else:
                pieces.append(da.take(x, part, axis=axis))
        if lo:
            x = da.concatenate([pieces[0], x], axis=axis)
        if hi:
            x = da.concatenate([x, pieces[-1]], axis=axis)
        # fold the thin pad chunks into their neighbours instead of keeping slivers
        x = x.rechunk({axis: merge_thin(x.chunks[axis], max(lo, hi) + 1)})
    return x


def merge_thin(chunks, need: int, need_last: int | None = None) -> tuple[int, ...]:
    """Merge neighbouring chunks so every chunk has >= ``need`` elements (the last >= ``need_last``)."""
    need_last = max(need, need if need_last is None else need_last)
    out: list[int] = []
    for c in chunks:
        if not c:
            continue
        if out and out[-1] < need:
            out[-1] += c
        else:
            out.append(c)
    while len(out) > 1 and out[-1] < need_last:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def windowed(x, halos, block_func, out_dtype):
    """Apply ``block_func`` to blocks of ``x`` extended by ``halos[axis]`` elements on the right.

    ``block_func`` maps an extended block of extent ``c + h`` to an output of
    extent ``c`` along each axis ('valid' windows of length ``h + 1``), so the
    result has ``x.shape[a] - halos[a]`` elements per axis. Chunks are merged
    first so each holds at least its halo (the last one at least ``halo + 1``):
    the halo then always comes from the single next chunk.
    """
    import dask.array as da

    chunks = tuple(merge_thin(c, max(h, 1), h + 1) for c, h in zip(x.chunks, halos, strict=True))
    x = x.rechunk(chunks)
    depth = {a: (0, h) for a, h in enumerate(halos) if h}
    if depth:
        x = da.overlap.overlap(x, depth=depth, boundary="none")
    out_chunks = tuple(c[:-1] + (c[-1] - h,) for c, h in zip(chunks, halos, strict=True))
    return x.map_blocks(block_func, chunks=out_chunks, dtype=out_dtype,
                        meta=np.empty((0,) * x.ndim, dtype=out_dtype))
