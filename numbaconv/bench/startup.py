"""First-call cost: cold ``import numbaconv`` and the first call of common kernels.

Each measurement runs in a fresh interpreter. "cold cache" points
``NUMBA_CACHE_DIR`` at an empty folder, so every kernel compiles; "warm cache"
runs the same code again against that folder, so kernels load from Numba's
on-disk cache (``cache=True``), which is what users see from their second run on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

IMPORT = "import numbaconv"

FIRST_CALLS = {
    "conv2d": "import numpy as np, numbaconv as nc\n"
              "x = np.ones((2, 3, 16, 16), np.float32); w = np.ones((4, 3, 3, 3), np.float32)\n"
              "nc.conv2d(x, w, padding=1)",
    "max_pool2d": "import numpy as np, numbaconv as nc\n"
                  "nc.max_pool2d(np.ones((2, 3, 16, 16), np.float32), 2)",
    "relu": "import numpy as np, numbaconv as nc\nnc.relu(np.ones(1000, np.float32))",
    "convolve": "import numpy as np, numbaconv as nc\n"
                "nc.convolve(np.ones(1000), np.ones(5), method='direct')",
}

_TIMER = """
import time
t0 = time.perf_counter()
{setup}
t1 = time.perf_counter()
{code}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _run(code: str, setup: str, cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", _TIMER.format(setup=setup, code=code)],
                         env=env, capture_output=True, text=True, check=True)
    a, b = out.stdout.split()[-2:]
    return float(a), float(b)


def measure() -> dict[str, dict[str, float]]:
    """Seconds for the import and each first call, with a cold and then a warm cache."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as cache:
        results["import numbaconv"] = {"cold": _run("", IMPORT, cache)[0]}
        for name, code in FIRST_CALLS.items():
            setup, _, call = code.rpartition("\n")
            cold = _run(call, setup, cache)[1]
            warm = _run(call, setup, cache)[1]
            results[f"first {name}"] = {"cold": cold, "warm": warm}
        results["import numbaconv"]["warm"] = _run("", IMPORT, cache)[0]
    return results
