"""Tiny calls, one per public family, built for ONE library at a time (the ``overhead`` family).

This module deliberately imports nothing but the standard library and NumPy at
module level, and nothing from numbaconv: :mod:`numbaconv.bench.overhead` starts
a fresh interpreter per library, which loads this file by path (so not even
``numbaconv/__init__`` runs), builds only that library's calls (importing only
that library) and times them with :func:`time_calls`. No other library's thread
pools, environment changes or import side effects are present in that process.

``CALLS[name][library]`` is a builder: calling it imports the library, builds
the inputs and returns a zero-argument callable. Every library's callable of a
row computes the same result from the same float32 (float64 for ``convolve``)
inputs.
"""

from __future__ import annotations

import importlib
import sys
import time

import numpy as np

#: best of REPEAT rounds of NUMBER calls per row; a round of slow calls stops after about
#: ROUND_SECONDS (at least MIN_NUMBER calls), so a millisecond call does not take minutes
REPEAT = 7
NUMBER = 300
ROUND_SECONDS = 0.25
MIN_NUMBER = 10


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _conv2d(xs, ws, padding=0, scipy=False, out=False):
    """``conv2d`` of ``xs`` with ``ws``; ``out``: numbaconv writes a reused output (``out=``,
    a training loop's buffer), the peers allocate theirs as always."""
    def numbaconv():
        import numbaconv as nc

        x, w = _f32(*xs), _f32(*ws, seed=1)
        if out:
            y = nc.conv2d(x, w, padding=padding)
            return lambda: nc.conv2d(x, w, padding=padding, out=y)
        return lambda: nc.conv2d(x, w, padding=padding)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x, w = torch.from_numpy(_f32(*xs)), torch.from_numpy(_f32(*ws, seed=1))
        F = torch.nn.functional
        return lambda: F.conv2d(x, w, padding=padding)

    def scipy_():  # one image, one channel: conv2d is scipy's 'valid' correlation
        import scipy.signal as ss

        x, w = _f32(*xs), _f32(*ws, seed=1)
        return lambda: ss.correlate(x, w, "valid")

    return {"numbaconv": numbaconv, "torch": torch, **({"scipy": scipy_} if scipy else {})}


def _pool(op, shape, k):
    def numbaconv():
        import numbaconv as nc

        x, fn = _f32(*shape), getattr(nc, op)
        return lambda: fn(x, k)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x, fn = torch.from_numpy(_f32(*shape)), getattr(torch.nn.functional, op)
        return lambda: fn(x, k)

    return {"numbaconv": numbaconv, "torch": torch}


def _conv2d_weight(xs, ws):
    gs = (xs[0], ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1)

    def numbaconv():
        from numbaconv import grad

        x, g = _f32(*xs), _f32(*gs, seed=2)
        return lambda: grad.conv2d_weight(x, ws, g)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer
        import torch.nn.grad  # pyright: ignore[reportMissingImports] - optional peer

        x, g = torch.from_numpy(_f32(*xs)), torch.from_numpy(_f32(*gs, seed=2))
        return lambda: torch.nn.grad.conv2d_weight(x, ws, g)

    def scipy():  # dW = x correlated with g ('valid'), one image and channel
        import scipy.signal as ss

        x, g = _f32(*xs), _f32(*gs, seed=2)
        return lambda: ss.correlate(x, g, "valid")

    return {"numbaconv": numbaconv, "torch": torch, "scipy": scipy}


def _conv2d_input(xs, ws):
    gs = (xs[0], ws[0], xs[2] - ws[2] + 1, xs[3] - ws[3] + 1)

    def numbaconv():
        from numbaconv import grad

        w, g = _f32(*ws, seed=1), _f32(*gs, seed=2)
        return lambda: grad.conv2d_input(xs, w, g)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer
        import torch.nn.grad  # pyright: ignore[reportMissingImports] - optional peer

        w, g = torch.from_numpy(_f32(*ws, seed=1)), torch.from_numpy(_f32(*gs, seed=2))
        return lambda: torch.nn.grad.conv2d_input(xs, w, g)

    def scipy():  # dX = g convolved with w ('full'), one image and channel
        import scipy.signal as ss

        w, g = _f32(*ws, seed=1), _f32(*gs, seed=2)
        return lambda: ss.convolve(g, w, "full")

    return {"numbaconv": numbaconv, "torch": torch, "scipy": scipy}


def _max_pool2d_input(shape, k):
    gs = (*shape[:2], shape[2] // k, shape[3] // k)

    def numbaconv():
        from numbaconv import grad

        x, g = _f32(*shape), _f32(*gs, seed=2)
        return lambda: grad.max_pool2d_input(g, x, k)

    def torch():
        # the argmax is part of the work, as numbaconv recomputes it (as in bench.pooling)
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x, g = torch.from_numpy(_f32(*shape)), torch.from_numpy(_f32(*gs, seed=2))
        fwd = torch.nn.functional.max_pool2d_with_indices
        bwd = torch.ops.aten.max_pool2d_with_indices_backward

        def call():
            _, idx = fwd(x, k, k, (0, 0), return_indices=True)
            return bwd(g, x, [k, k], [k, k], [0, 0], [1, 1], False, idx)

        return call

    return {"numbaconv": numbaconv, "torch": torch}


def _avg_pool2d_input(shape, k):
    gs = (*shape[:2], shape[2] // k, shape[3] // k)

    def numbaconv():
        from numbaconv import grad

        g = _f32(*gs, seed=2)
        return lambda: grad.avg_pool2d_input(g, shape, k)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x, g = torch.from_numpy(_f32(*shape)), torch.from_numpy(_f32(*gs, seed=2))
        bwd = torch.ops.aten.avg_pool2d_backward
        return lambda: bwd(g, x, [k, k], [k, k], [0, 0], False, True, None)

    return {"numbaconv": numbaconv, "torch": torch}


def _conv_bias(shape):
    def numbaconv():
        from numbaconv import grad

        g = _f32(*shape)
        return lambda: grad.conv_bias(g)

    def torch():  # (what aten.convolution_backward does for the bias: a sum)
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        g = torch.from_numpy(_f32(*shape))
        return lambda: g.sum((0, 2, 3))

    return {"numbaconv": numbaconv, "torch": torch}


def _batch_norm(shape, backward=False):
    def numbaconv():
        import numbaconv as nc
        from numbaconv import grad

        x, g = _f32(*shape), _f32(*shape, seed=1)
        c = shape[1]
        rm, rv, w = np.zeros(c, np.float32), np.ones(c, np.float32), np.ones(c, np.float32)
        if backward:
            return lambda: grad.batch_norm_backward(g, x, None, None, w, training=True)
        return lambda: nc.batch_norm(x, rm, rv, w, w)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x, g = torch.from_numpy(_f32(*shape)), torch.from_numpy(_f32(*shape, seed=1))
        c = shape[1]
        rm, rv, w = torch.zeros(c), torch.ones(c), torch.ones(c)
        if backward:  # its backward kernel, handed the statistics its forward saved
            axes = [0, *range(2, len(shape))]
            mean = x.mean(axes)
            invstd = 1 / (x.var(axes, unbiased=False) + 1e-5).sqrt()
            bwd = torch.ops.aten.native_batch_norm_backward
            return lambda: bwd(g, x, w, rm, rv, mean, invstd, True, 1e-5, [True, True, True])
        return lambda: torch.nn.functional.batch_norm(x, rm, rv, w, w, training=False)

    return {"numbaconv": numbaconv, "torch": torch}


def _relu(n):
    def numbaconv():
        import numbaconv as nc

        x = _f32(n)
        return lambda: nc.relu(x)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x = torch.from_numpy(_f32(n))
        return lambda: torch.relu(x)

    def numpy():
        x = _f32(n)
        return lambda: np.maximum(x, np.float32(0))

    return {"numbaconv": numbaconv, "torch": torch, "numpy": numpy}


def _softmax(n):
    def numbaconv():
        import numbaconv as nc

        x = _f32(n)
        return lambda: nc.softmax(x)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x = torch.from_numpy(_f32(n))
        return lambda: torch.softmax(x, -1)

    def scipy():
        import scipy.special as sp

        x = _f32(n)
        return lambda: sp.softmax(x, axis=-1)

    return {"numbaconv": numbaconv, "torch": torch, "scipy": scipy}


def _convolve(n, k):
    def inputs():
        rng = np.random.default_rng(0)
        return rng.standard_normal(n), rng.standard_normal(k)

    def numbaconv():
        import numbaconv as nc

        x, w = inputs()
        return lambda: nc.convolve(x, w)

    def scipy():
        import scipy.signal as ss

        x, w = inputs()
        return lambda: ss.convolve(x, w)

    def numpy():
        x, w = inputs()
        return lambda: np.convolve(x, w)

    return {"numbaconv": numbaconv, "scipy": scipy, "numpy": numpy}


def _pad(shape, p):
    width = ((0, 0),) * (len(shape) - 2) + ((p, p),) * 2

    def numbaconv():
        import numbaconv as nc

        x = _f32(*shape)
        return lambda: nc.pad(x, width)

    def torch():
        import torch  # pyright: ignore[reportMissingImports] - optional peer

        x = torch.from_numpy(_f32(*shape))
        F = torch.nn.functional
        return lambda: F.pad(x, (p, p, p, p))

    def numpy():
        x = _f32(*shape)
        return lambda: np.pad(x, width)

    return {"numbaconv": numbaconv, "torch": torch, "numpy": numpy}


#: row name -> library -> builder; the rows of the overhead table, in order
CALLS = {
    "conv2d (1,1,4,4)x(1,1,3,3)": _conv2d((1, 1, 4, 4), (1, 1, 3, 3), scipy=True),
    "conv2d (1,1,4,4)x(1,1,3,3), numbaconv out=": _conv2d((1, 1, 4, 4), (1, 1, 3, 3),
                                                          out=True),
    "max_pool2d (1,1,4,4) k2": _pool("max_pool2d", (1, 1, 4, 4), 2),
    "avg_pool2d (1,1,4,4) k2": _pool("avg_pool2d", (1, 1, 4, 4), 2),
    "grad.conv2d_weight (1,1,4,4) 3x3": _conv2d_weight((1, 1, 4, 4), (1, 1, 3, 3)),
    "grad.conv2d_input (1,1,4,4) 3x3": _conv2d_input((1, 1, 4, 4), (1, 1, 3, 3)),
    "grad.max_pool2d_input (1,1,4,4) k2": _max_pool2d_input((1, 1, 4, 4), 2),
    "grad.avg_pool2d_input (1,1,4,4) k2": _avg_pool2d_input((1, 1, 4, 4), 2),
    "grad.conv_bias (1,1,2,2)": _conv_bias((1, 1, 2, 2)),
    "batch_norm (2,4,4,4)": _batch_norm((2, 4, 4, 4)),
    "grad.batch_norm_backward (2,4,4,4)": _batch_norm((2, 4, 4, 4), backward=True),
    "relu 16 f32": _relu(16),
    "softmax 16 f32": _softmax(16),
    "convolve 16*3 f64": _convolve(16, 3),
    "pad (1,1,4,4) 1 constant": _pad((1, 1, 4, 4), 1),
    "conv2d (1,32,13,13)x(64,32,3,3)": _conv2d((1, 32, 13, 13), (64, 32, 3, 3)),
    "conv2d (1,64,14,14)x(64,64,3,3) p1": _conv2d((1, 64, 14, 14), (64, 64, 3, 3), padding=1),
}

#: PyTorch's own speed with and without ``import numbaconv`` first (torch builders only)
ORDER_CALLS = {
    "conv2d (1,1,4,4)x(1,1,3,3)": CALLS["conv2d (1,1,4,4)x(1,1,3,3)"],
    "conv2d (8,64,28,28)x(64,64,3,3) p1": _conv2d((8, 64, 28, 28), (64, 64, 3, 3), padding=1),
}


def _threads() -> dict[str, object]:
    """Thread counts of the libraries loaded in this process (read, never set)."""
    out: dict[str, object] = {}
    if "numba" in sys.modules:
        out["numba"] = sys.modules["numba"].get_num_threads()
    if "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].get_num_threads()
    return out


def time_calls(library: str, names, repeat: int = REPEAT, number: int = NUMBER,
               first=(), order: bool = False) -> dict:
    """Best per-call seconds of ``library``'s builder for each row in ``names``.

    Best of ``repeat`` rounds of ``number`` calls (fewer when one call is slow: a round
    lasts about :data:`ROUND_SECONDS`, at least :data:`MIN_NUMBER` calls).

    ``first``: modules to import before anything else (the import-order check).
    Returns ``{"times": {row: seconds}, "threads": ..., "loaded": [...]}`` where
    ``loaded`` lists which of numbaconv, numba, torch, scipy, cv2 this process imported.
    Rows ``library`` has no builder for are left out; an ImportError is returned as
    ``{"error": ...}``.
    """
    for module in first:
        importlib.import_module(module)
    table = ORDER_CALLS if order else CALLS
    times = {}
    for name in names:
        builder = table[name].get(library)
        if builder is None:
            continue
        try:
            fn = builder()
        except ImportError as exc:
            return {"error": f"{library} is not installed ({exc})"}
        for _ in range(2):  # compile or load the kernels, warm the caches
            fn()
        t0 = time.perf_counter()
        fn()
        once = max(time.perf_counter() - t0, 1e-9)
        n = max(1, min(number, max(MIN_NUMBER, int(ROUND_SECONDS / once))))
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best = min(best, (time.perf_counter() - t0) / n)
        times[name] = best
    loaded = [m for m in ("numbaconv", "numba", "torch", "scipy", "cv2") if m in sys.modules]
    return {"times": times, "threads": _threads(), "loaded": loaded}

