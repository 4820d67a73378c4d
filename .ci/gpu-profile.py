"""Where a small CUDA call's time goes (run by .ci/gpu-check on a GPU machine).

Prints the per-call cost of the pieces a numbaconv CUDA call is made of (allocation, a
parameter copy, an empty launch, a synchronisation), the public calls with and without
``out=``, PyTorch's for the same, and a cProfile of the public calls.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time

import numpy as np
from numba import cuda

import numbaconv as nc

#: a smaller run for a check under the simulator: GPU_PROFILE_N=2048 GPU_PROFILE_CALLS=2
N = int(os.environ.get("GPU_PROFILE_N", 10**7))
CALLS = int(os.environ.get("GPU_PROFILE_CALLS", 200))


def per_call(fn, n=CALLS) -> float:
    fn()
    cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e6


@cuda.jit
def _empty(a):
    pass


def main() -> None:
    big = cuda.to_device(np.random.default_rng(0).standard_normal(N).astype(np.float32))
    out_big = cuda.device_array_like(big)
    tiny = cuda.to_device(np.random.default_rng(0).standard_normal((1, 32, 26, 26)).astype(np.float32))
    out_tiny = cuda.device_array((1, 32, 13, 13), np.float32)
    params = np.arange(8, dtype=np.int64)
    rows = {
        "cuda.device_array 40 MB (alloc + free)": lambda: cuda.device_array(N, np.float32),
        "cuda.device_array 22 KB": lambda: cuda.device_array(5408, np.float32),
        "cuda.to_device 8 int64": lambda: cuda.to_device(params),
        "empty kernel launch": lambda: _empty[1, 32](big),
        "cuda.synchronize": cuda.synchronize,
        "relu 1e7 f32": lambda: nc.relu(big),
        "relu 1e7 f32, out=": lambda: nc.relu(big, out=out_big),
        "max_pool2d (1,32,26,26)": lambda: nc.max_pool2d(tiny, 2),
        "max_pool2d (1,32,26,26), out=": lambda: nc.max_pool2d(tiny, 2, out=out_tiny),
    }
    try:
        import torch

        tb, tt = torch.as_tensor(big, device="cuda"), torch.as_tensor(tiny, device="cuda")
        F = torch.nn.functional
        rows["torch relu 1e7 f32"] = lambda: F.relu(tb)
        rows["torch max_pool2d (1,32,26,26)"] = lambda: F.max_pool2d(tt, 2)
        sync = torch.cuda.synchronize
    except Exception as exc:  # no torch: numbaconv's rows alone
        print("torch:", exc)
        sync = cuda.synchronize
    for name, fn in rows.items():
        us = per_call(fn)
        sync()
        print(f"{name:<44} {us:9.1f} us per call")
    for name in ("relu 1e7 f32", "max_pool2d (1,32,26,26)"):
        prof = cProfile.Profile()
        fn = rows[name]
        prof.enable()
        for _ in range(CALLS):
            fn()
        cuda.synchronize()
        prof.disable()
        print(f"\n== cProfile, {CALLS} calls of {name}")
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()
