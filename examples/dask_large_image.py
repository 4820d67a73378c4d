"""Filter an image larger than comfortably fits in memory, chunk by chunk, on a LocalCluster.

A ``size x size`` float32 image (default 40000 x 40000 = 6.4 GB) is generated
lazily by dask (a seeded random field, chunk by chunk), filtered with a 9x9
Gaussian by ``numbaconv.dask.convolve2d(..., 'same', 'symm')`` and written to a
zarr store. No process ever holds the whole image: the script prints each
worker's peak resident memory, to compare with the chunk size.

Run small (a few seconds)::

    python examples/dask_large_image.py --size 4000 --chunk 1000

and at full size (minutes; needs 6.4 GB of disk for the output)::

    python examples/dask_large_image.py --out /scratch/filtered.zarr

``--check`` recomputes a few interior and edge patches with scipy.signal from
the regenerated input and compares them with the stored output.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def gaussian_kernel(size: int = 9, sigma: float = 2.0) -> np.ndarray:
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def peak_rss_mib() -> float:
    """This process' peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_up(kernel) -> None:
    import numbaconv as nc

    nc.convolve2d(np.zeros((16, 16), np.float32), kernel, mode="valid")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=40000, help="image side (default 40000)")
    p.add_argument("--chunk", type=int, default=2000, help="chunk side (default 2000 = 16 MB)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--memory-limit", default="3GiB", help="per worker (default 3GiB)")
    p.add_argument("--out", default=None, help="zarr store path (default: a temporary directory, "
                   "deleted at the end)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check", action="store_true", help="compare patches with scipy.signal")
    args = p.parse_args(argv)

    import dask.array as da
    from distributed import Client

    import numbaconv.dask as ncd

    n, c = args.size, args.chunk
    kernel = gaussian_kernel()
    tmp = None
    if args.out is None:
        tmp = tempfile.mkdtemp(prefix="numbaconv-dask-")
        out = str(Path(tmp) / "filtered.zarr")
    else:
        out = args.out
    chunk_mib = c * c * 4 / 2**20
    print(f"image {n} x {n} float32 = {n * n * 4 / 1e9:.2f} GB in {-(-n // c)}^2 chunks of "
          f"{c} x {c} ({chunk_mib:.0f} MiB); 9x9 Gaussian, mode 'same', boundary 'symm'")
    try:
        with ncd.local_cluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                               memory_limit=args.memory_limit, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            # compile / load the kernels in every worker first, so the peaks
            # below are the job's, not Numba's start-up
            client.run(warm_up, kernel)
            baseline = client.run(peak_rss_mib)
            x = da.random.default_rng(args.seed).standard_normal((n, n), chunks=c,
                                                                 dtype=np.float32)
            y = ncd.convolve2d(x, kernel, mode="same", boundary="symm")
            t0 = time.perf_counter()
            y.to_zarr(out, overwrite=True)
            elapsed = time.perf_counter() - t0
            peaks = client.run(peak_rss_mib)
            threads = client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
            flops = 2 * kernel.size * n * n
            print(f"filtered and stored in {elapsed:.1f} s ({n * n / elapsed / 1e6:.0f} Mpixel/s, "
                  f"{flops / elapsed / 1e9:.1f} GFLOP/s including generation and the zarr write)")
            print(f"{'worker':<24} {'numba threads':>13} {'RSS after warm-up':>17} "
                  f"{'peak RSS':>10} {'job growth / chunk':>18}")
            for w in sorted(peaks):
                print(f"{w:<24} {threads[w]:>13} {baseline[w]:>13.0f} MiB {peaks[w]:>6.0f} MiB "
                      f"{(peaks[w] - baseline[w]) / chunk_mib:>17.1f}x")
            ok = None
            if args.check:
                ok = check(x, out, kernel, n, c)
                print("scipy.signal check of interior and edge patches:", "OK" if ok else "FAILED")
        size_gb = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()) / 1e9
        print(f"output store {out}: {size_gb:.2f} GB on disk")
        return {"seconds": elapsed, "peak_rss_mib": peaks, "baseline_rss_mib": baseline,
                "chunk_mib": chunk_mib, "ok": ok}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def check(x, out, kernel, n, c) -> bool:
    """Patches of the stored result against scipy.signal.convolve2d on the regenerated input."""
    import zarr
    from scipy.signal import convolve2d

    stored = zarr.open_array(out, mode="r")
    h = kernel.shape[0] // 2
    w = min(64, n)
    ok = True
    # the top-left corner (symmetric boundary), a patch straddling an interior chunk corner
    for r0, c0 in [(0, 0), (max(0, min(c, n - w) - w // 2),) * 2, (n - w, n - w)]:
        lo_r, lo_c = max(0, r0 - h), max(0, c0 - h)
        hi_r, hi_c = min(n, r0 + w + h), min(n, c0 + w + h)
        patch = np.asarray(x[lo_r:hi_r, lo_c:hi_c]).astype(np.float64)
        padded = np.pad(patch, ((h - (r0 - lo_r), h - (hi_r - r0 - w)),
                                (h - (c0 - lo_c), h - (hi_c - c0 - w))), mode="symmetric")
        expected = convolve2d(padded, kernel.astype(np.float64), mode="valid")
        got = stored[r0:r0 + w, c0:c0 + w]
        ok &= bool(np.allclose(got, expected, rtol=1e-5, atol=1e-5))
    return ok


if __name__ == "__main__":
    main()
