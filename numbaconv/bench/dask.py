"""Benchmark cases for numbaconv.dask: the chunked path against the in-memory path.

Each case computes a dask graph with the local threaded scheduler (the
default for dask arrays; ``numba_threads_per_task`` keeps the cores from
being oversubscribed) and compares it with the same operation in memory:
``numbaconv-inmemory`` (the plain numbaconv call on the NumPy array) and
the usual peers. The dask time includes building the graph and assembling
the result into one NumPy array.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from . import Case, optional

#: extra implementation name, beside the peers in numbaconv.bench.PEERS
INMEMORY = "numbaconv-inmemory"


def _filter_case(n: int, k: int, chunk: int, boundary: str):
    def make():
        import dask.array as da

        import numbaconv as nc
        import numbaconv.dask as ncd

        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, n)).astype(np.float32)
        h = rng.standard_normal((k, k)).astype(np.float32)
        # (dask leaves chunks unannotated: pyright would type it by its default, "auto")
        dx = da.from_array(x, chunks=cast(Any, chunk))

        def ours():
            return ncd.convolve2d(dx, h, "same", boundary).compute(scheduler="threads")

        peers = {INMEMORY: lambda: nc.convolve2d(x, h, "same", boundary)}
        ndimage = optional("scipy.ndimage")
        if ndimage is not None:
            # scipy.ndimage's 'reflect' is scipy.signal's 'symm'; 'constant' is 'fill' with 0.
            # (scipy.signal.convolve2d itself takes about 7 s here: too slow to repeat.)
            mode = {"symm": "reflect", "wrap": "wrap", "fill": "constant"}[boundary]
            peers["scipy"] = lambda: ndimage.convolve(x, h, mode=mode)
        return ours, peers

    return Case("dask", f"convolve2d {n}^2 f32 {k}x{k} same {boundary} chunks {chunk}", make,
                flops=2.0 * k * k * n * n, nbytes=2 * 4.0 * n * n)


def _conv2d_case(shape, k_out: int, chunk: int):
    def make():
        import dask.array as da

        import numbaconv as nc
        import numbaconv.dask as ncd

        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(np.float32)
        w = rng.standard_normal((k_out, shape[1], 3, 3)).astype(np.float32)
        dx = da.from_array(x, chunks=cast(Any, (chunk, -1, -1, -1)))  # (as in _filter_case)

        threadpoolctl = optional("threadpoolctl")

        def ours():
            # BLAS pools are per process: two dask threads each running im2col GEMMs with
            # a full OpenBLAS pool are ~6x slower (docs/dask.md, "BLAS threads")
            if threadpoolctl is None:
                return ncd.conv2d(dx, w, padding=1).compute(scheduler="threads")
            with threadpoolctl.threadpool_limits(1, user_api="blas"):
                return ncd.conv2d(dx, w, padding=1).compute(scheduler="threads")

        peers = {INMEMORY: lambda: nc.conv2d(x, w, padding=1)}
        torch = optional("torch")
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            peers["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, padding=1)
        return ours, peers

    n, c, hh, ww = shape
    return Case("dask", f"conv2d {shape} x ({k_out},{c},3,3) batch chunks {chunk}", make,
                flops=2.0 * n * k_out * c * 9 * hh * ww)


CASES = [
    _filter_case(4096, 9, 1024, "symm"),
    _filter_case(4096, 9, 2048, "fill"),
    _filter_case(4096, 9, 512, "symm"),
    _conv2d_case((32, 32, 64, 64), 32, 8),
]
