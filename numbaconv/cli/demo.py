"""The demos behind ``python -m numbaconv demo``: CNN training (default) and Sobel edges."""

from __future__ import annotations

import argparse
import time

import numpy as np

import numbaconv as nc
from numbaconv.bench import best_of


def synthetic_image(size: int = 1024) -> np.ndarray:
    """A built-in test picture: a disk and a square on a smooth gradient, in [0, 1]."""
    y, x = np.mgrid[0:size, 0:size] / size
    img = 0.25 * x + 0.15 * y
    img[(x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.2**2] = 0.9
    img[(np.abs(x - 0.72) < 0.12) & (np.abs(y - 0.7) < 0.12)] = 0.6
    return img


SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


def edges(size: int = 1024, device: str = "cpu") -> int:
    """Sobel edge detection on the synthetic image, beside scipy.signal.

    Prints, for each mode, the output shape the formulas predict
    (:func:`numbaconv.conv_output_size`) next to the shape numbaconv
    produced, then the timing of numbaconv and scipy.signal.correlate2d and
    the largest difference between them.
    """
    import scipy.signal

    img = synthetic_image(size)
    gx, gy = SOBEL_X, SOBEL_X.T
    print(f"Sobel edge detection on a {size}x{size} float64 image ({device})")
    print(f"{'mode':<6} {'formula':>12} {'numbaconv':>12}")
    for mode, padding in (("valid", "valid"), ("same", "same"), ("full", "full")):
        predicted = tuple(nc.conv_output_size(n, 3, 1, padding) for n in img.shape)
        got = nc.correlate2d(img, gx, mode=mode).shape
        print(f"{mode:<6} {str(predicted):>12} {str(got):>12}")
        assert got == predicted

    def ours():
        ex = nc.correlate2d(img, gx, mode="same", boundary="symm")
        ey = nc.correlate2d(img, gy, mode="same", boundary="symm")
        return np.hypot(ex, ey)

    def scipys():
        ex = scipy.signal.correlate2d(img, gx, mode="same", boundary="symm")
        ey = scipy.signal.correlate2d(img, gy, mode="same", boundary="symm")
        return np.hypot(ex, ey)

    if device == "cuda":
        from numba import cuda

        d_img = cuda.to_device(img)

        def ours():  # noqa: F811 - the device variant of the same computation
            ex = nc.correlate2d(d_img, gx, mode="same", boundary="symm")
            ey = nc.correlate2d(d_img, gy, mode="same", boundary="symm")
            cuda.synchronize()
            return np.hypot(ex.copy_to_host(), ey.copy_to_host())

    t0 = time.perf_counter()
    magnitude = ours()
    first = time.perf_counter() - t0
    diff = float(np.max(np.abs(magnitude - scipys())))
    t_ours, t_scipy = best_of(ours, repeat=5), best_of(scipys, repeat=5)
    pooled = nc.max_pool2d(magnitude[None], 4)[0]
    print(f"edge pixels (|grad| > 0.5): {int((magnitude > 0.5).sum())}")
    predicted = tuple(nc.pool_output_size(n, 4) for n in img.shape)
    print(f"max_pool2d(4) of the edge map: formula {predicted}, numbaconv {pooled.shape}")
    print(f"numbaconv  {t_ours * 1e3:8.2f} ms   (first call with compilation/cache load "
          f"{first * 1e3:.0f} ms)")
    print(f"scipy      {t_scipy * 1e3:8.2f} ms   (scipy.signal.correlate2d, same boundary)")
    print(f"speedup of numbaconv over scipy.signal: {t_scipy / t_ours:.2f}x")
    print(f"max |numbaconv - scipy| = {diff:.2e}")
    return 0 if diff < 1e-9 else 1


def cnn(seed: int = 0, epochs: int | None = None, device: str = "cpu", plot: str | None = None) -> int:
    """Train the digits CNN (see :mod:`numbaconv.cli.train`)."""
    from .train import main as train_main

    return train_main(seed=seed, epochs=epochs, device=device, plot=plot)


def add_parser(sub) -> argparse.ArgumentParser:
    """``demo``'s arguments."""
    demo = sub.add_parser("demo", help="train a small CNN with numbaconv alone, or run the edge demo")
    demo.add_argument("which", nargs="?", choices=("cnn", "edges"), default="cnn",
                      help="cnn: train on scikit-learn's digits (default); edges: Sobel filtering")
    demo.add_argument("--seed", type=int, default=0, help="random seed (training is deterministic)")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (cnn)")
    demo.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    demo.add_argument("--plot", metavar="FILE.png", help="save filters and learning curves (cnn)")
    demo.add_argument("--size", type=int, default=1024, help="image side (edges)")
    return demo


def main(args: argparse.Namespace) -> int:
    """Run the demo ``args`` asks for."""
    if args.which == "edges":
        return edges(size=args.size, device=args.device)
    return cnn(seed=args.seed, epochs=args.epochs, device=args.device, plot=args.plot)
