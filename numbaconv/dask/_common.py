"""Graph-building helpers shared by the signal and deep-learning wrappers."""

from __future__ import annotations

from functools import partial
from itertools import product
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np

from ..core.padding import axis_index_map
from ._threads import CONFIG_KEY, run_in_task

if TYPE_CHECKING:
    import dask.array as da
    from dask.typing import Key

    from ..typing import ArrayLike


def inmemory(name: str):
    """numbaconv's in-memory function ``name`` (looked up at graph-build time)."""
    import numbaconv

    func = getattr(numbaconv, name, None)
    if func is None:
        raise NotImplementedError(f"numbaconv.{name} is not available in this numbaconv build, "
                                  f"so numbaconv.dask.{name} cannot run")
    return func


def as_dask(x, name: str) -> Any:
    """``x`` as a dask array (NumPy arrays and lists are wrapped with dask's automatic chunks).

    Typed ``Any``: dask.array's methods leave their defaults unannotated, so a type checker
    takes ``chunks="auto"`` for ``chunks: str`` and would refuse the chunks passed here.
    """
    import dask.array as da

    if isinstance(x, da.Array):
        return x
    try:
        return da.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a dask array or an array-like of numbers: {exc}") from None


@overload
def as_host(x: None, name: str) -> None: ...
@overload
def as_host(x: da.Array | ArrayLike, name: str) -> np.ndarray: ...
def as_host(x, name: str) -> np.ndarray | None:
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
    import dask.config

    return partial(run_in_task, func, _numba_threads=dask.config.get(CONFIG_KEY, None), **kwargs)


def _runs(pos: np.ndarray, local: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Split matching (destination, source) index lists into runs ``(dst, count, src, step)``."""
    runs = []
    i, n = 0, len(pos)
    while i < n:
        j = i + 1
        step = int(local[j] - local[i]) if j < n and pos[j] == pos[i] + 1 else 0
        if step in (1, -1):
            while j < n and pos[j] == pos[j - 1] + 1 and local[j] - local[j - 1] == step:
                j += 1
        else:
            step = 1
        runs.append((int(pos[i]), j - i, int(local[i]), step))
        i = j
    return runs


def _axis_plan(seg: np.ndarray, bounds: np.ndarray):
    """For one output block along one axis: the source chunks it reads and how.

    ``seg`` is the slice of the padded axis' index map this block reads
    (``-1``/``-2``: the constant). Returns ``(pieces, has_constant)``; each
    piece is ``(chunk, start, stop, runs)``: the block reads
    ``chunk[start:stop]`` and copies it with ``runs`` (sources relative to
    ``start``).
    """
    inside = seg >= 0
    pos = np.nonzero(inside)[0]
    src = seg[inside]
    block = np.searchsorted(bounds, src, side="right") - 1
    pieces = []
    for b in sorted(set(block.tolist())):
        local = src[block == b] - bounds[b]
        lo, hi = int(local.min()), int(local.max()) + 1
        pieces.append((b, lo, hi, _runs(pos[block == b], local - lo)))
    return pieces, bool(len(pos) < len(seg))


def _src_slice(start: int, count: int, step: int) -> slice:
    if step == 1:
        return slice(start, start + count)
    stop = start - count
    return slice(start, None if stop < 0 else stop, -1)


def _cut(block, index):
    """A halo piece of a neighbouring chunk, copied so the chunk itself can be released."""
    return np.array(block[index])


def _gather(pieces, shape, dtype, fill, plans, func, *args):
    """Assemble one extended block from its source pieces, then run ``func(block, *args)``."""
    ext = np.empty(shape, dtype=dtype)
    if fill is not None:
        ext.fill(fill)
    for piece, runs in zip(pieces, plans, strict=True):
        for combo in product(*runs):
            ext[tuple(slice(d, d + c) for d, c, _, _ in combo)] = \
                piece[tuple(_src_slice(s, c, st) for _, c, s, st in combo)]
    return func(ext, *args)


def gather_blocks(x, segments, fill, block_func, metas, block_args=None, args_token=None,
                  label="windows") -> tuple[da.Array, ...]:
    """One task per output block: gather the input positions it reads, run ``block_func``.

    ``segments[a]`` lists, for each output chunk along axis ``a`` in order,
    the index-map slice the block reads along that axis: input positions of
    ``x`` (any order, repeats allowed), or ``-1``/``-2`` for ``fill``. Each
    task copies exactly those positions into one buffer (from a chunk it
    reads only partly, a small task first cuts out just that piece, so only
    halos move between workers) and returns ``block_func(buffer,
    *block_args(index))``; ``args_token`` is what ``block_args`` derives
    its values from (it goes into the graph's name). ``metas`` holds one
    ``(chunks, meta)`` pair per result of ``block_func``; with several,
    ``block_func`` returns a tuple. One dask array per pair is returned.
    """
    import operator

    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    per_axis = []
    for axis, segs in enumerate(segments):
        bounds = np.concatenate([[0], np.cumsum(x.chunks[axis])]).astype(np.int64)
        per_axis.append([(len(seg), _axis_plan(np.asarray(seg, np.int64), bounds))
                         for seg in segs])
    token = tokenize(x, [[np.asarray(s) for s in segs] for segs in segments], fill, block_func,
                     [(c, m.dtype, m.ndim) for c, m in metas], args_token)
    name, cut = f"numbaconv-{label}-" + token, "numbaconv-halo-" + token
    dtype = x.dtype
    layer: dict[Key, Any] = {}
    for index in product(*(range(len(s)) for s in segments)):
        plans = [per_axis[a][i] for a, i in enumerate(index)]
        shape = tuple(p[0] for p in plans)
        constant = any(p[1][1] for p in plans)
        keys, runs = [], []
        for combo in product(*(p[1][0] for p in plans)):
            src = tuple(b for b, _, _, _ in combo)
            key = (x.name, *src)
            if any(hi - lo < x.chunks[a][b] for a, (b, lo, hi, _) in enumerate(combo)):
                # only the halo crosses to this task (and, on a cluster, between workers)
                key_cut = (cut, *index, *src)
                layer[key_cut] = (_cut, key, tuple(slice(lo, hi) for _, lo, hi, _ in combo))
                key = key_cut
            keys.append(key)
            runs.append([r for _, _, _, r in combo])
        extra = () if block_args is None else tuple(block_args(index))
        layer[(name, *index)] = (_gather, keys, shape, dtype, fill if constant else None,
                                 runs, block_func, *extra)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[x])
    # da.Array is dask.array.core.Array at run time; type checkers see the array-expression
    # class dask also exports under that name, whose constructor takes an expression
    new_array = cast(Any, da.Array)
    chunks, meta = metas[0]
    main = new_array(graph, name, chunks, meta=meta)
    if len(metas) == 1:
        return (main,)
    outs = []
    for i, (chunks, meta) in enumerate(metas):
        out = f"{name}-{i}"
        sub: dict[Key, Any] = {(out, *index): (operator.getitem, (name, *index), i)
                               for index in product(*(range(len(s)) for s in segments))}
        outs.append(new_array(HighLevelGraph.from_collections(out, sub, dependencies=[main]),
                              out, chunks, meta=meta))
    return tuple(outs)


def output_chunks(chunks, length: int) -> tuple[int, ...]:
    """``chunks`` of an input axis adjusted to an output of ``length``: the last chunks absorb the change."""
    out = list(chunks)
    delta = length - sum(out)
    if delta >= 0:
        out[-1] += delta
        return tuple(out)
    while delta < 0:
        take = min(out[-1], -delta)
        out[-1] -= take
        delta += take
        if not out[-1]:
            out.pop()
    return tuple(out)


def sliding_windows(x, widths, mode: str, fillvalue, halos, block_func, out_dtype) -> da.Array:
    """Apply ``block_func`` ('valid' windows) over ``x`` padded by ``widths`` in ``mode``.

    Each output chunk is one task: it copies exactly the input it needs
    (its own chunk, ``halos[a]`` more elements along each axis from the
    following chunk(s), and the boundary from the index maps of
    ``core.padding``) into one buffer and calls ``block_func`` on it. From a
    chunk it reads only partly, a small task first cuts out just that piece,
    so only halos move between workers and a chunk is released as soon as
    its own output and its pieces are done. The
    output keeps ``x``'s chunks; 'full' and 'valid' add or remove elements
    in the last chunk of each axis. Chunks thinner than the halo simply make
    a task read more than one neighbour: no rechunking.
    """
    lengths = [n + lo + hi - h for n, (lo, hi), h in zip(x.shape, widths, halos, strict=True)]
    out_chunks = tuple(output_chunks(c, n) for c, n in zip(x.chunks, lengths, strict=True))
    segments = []
    for n, (lo, hi), h, oc in zip(x.shape, widths, halos, out_chunks, strict=True):
        imap = axis_index_map(n, lo, hi, mode)
        starts = np.concatenate([[0], np.cumsum(oc)])
        segments.append([imap[s:e + h] for s, e in zip(starts[:-1], starts[1:], strict=True)])
    return gather_blocks(x, segments, fillvalue, block_func,
                         [(out_chunks, np.empty((0,) * x.ndim, dtype=out_dtype))])[0]
