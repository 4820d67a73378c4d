"""Train a small CNN on scikit-learn's handwritten digits with numbaconv alone.

conv(1->16, 3x3, 'same') -> relu -> max-pool 2 -> conv(16->32, 3x3, 'same') -> relu
-> max-pool 2 -> dense(128->10) -> softmax, the course notes' Keras MNIST model
scaled to 8x8 images. Every convolution, pooling and activation, forward and
backward, is a numbaconv call; NumPy does only the dense layer, the loss and
Adam. The digits (1,797 images) ship inside scikit-learn: no download.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

import numbaconv as nc
from numbaconv import grad


@dataclass
class Params:
    """The network's parameters (float32)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    w3: np.ndarray
    b3: np.ndarray

    @classmethod
    def init(cls, rng: np.random.Generator, c1: int = 16, c2: int = 32, classes: int = 10,
             side: int = 8, dtype=np.float32) -> Params:
        """He-initialised parameters for ``side x side`` single-channel images."""
        def he(shape, fan_in):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)

        feat = c2 * (side // 4) ** 2
        return cls(he((c1, 1, 3, 3), 9), np.zeros(c1, dtype),
                   he((c2, c1, 3, 3), 9 * c1), np.zeros(c2, dtype),
                   he((feat, classes), feat), np.zeros(classes, dtype))

    def names(self) -> list[str]:
        return ["w1", "b1", "w2", "b2", "w3", "b3"]


@dataclass
class Backend:
    """Where the numbaconv layers run; the dense layer always runs in NumPy on the host."""

    device: str = "cpu"
    _cuda: object = field(default=None, repr=False)

    def __post_init__(self):
        if self.device == "cuda":
            from numba import cuda

            if not cuda.is_available():
                raise SystemExit("--device cuda: no CUDA GPU is available")
            self._cuda = cuda

    def put(self, a):
        return self._cuda.to_device(np.ascontiguousarray(a)) if self._cuda else a

    def get(self, a):
        return a.copy_to_host() if self._cuda else np.asarray(a)

    def mul(self, a, b):
        """Elementwise product (host NumPy; an explicit round trip on the GPU)."""
        return self.put(self.get(a) * self.get(b)) if self._cuda else a * b


def forward(p: Params, x, be: Backend):
    """Forward pass; returns the logits and what the backward pass needs."""
    w1, b1, w2, b2 = (be.put(a) for a in (p.w1, p.b1, p.w2, p.b2))
    z1 = nc.conv2d(x, w1, b1, padding="same")
    a1 = nc.relu(z1)
    h1 = nc.max_pool2d(a1, 2)
    z2 = nc.conv2d(h1, w2, b2, padding="same")
    a2 = nc.relu(z2)
    h2 = nc.max_pool2d(a2, 2)
    h2_host = be.get(h2)
    feats = h2_host.reshape(len(h2_host), -1)
    logits = feats @ p.w3 + p.b3
    return logits, (x, z1, a1, h1, z2, a2, h2, feats, w1, w2)


def loss_and_grads(p: Params, x, y: np.ndarray, be: Backend):
    """Mean cross-entropy, accuracy and the gradient of every parameter."""
    logits, (x, z1, a1, h1, z2, a2, h2, feats, w1, w2) = forward(p, x, be)
    logp = nc.log_softmax(logits, axis=1)
    n = len(y)
    loss = float(-logp[np.arange(n), y].mean())
    acc = float((logits.argmax(1) == y).mean())
    g_logp = np.zeros_like(logp)
    g_logp[np.arange(n), y] = -1.0 / n
    g_logits = nc.log_softmax_backward(g_logp, logp, axis=1)
    g = {"w3": feats.T @ g_logits, "b3": g_logits.sum(0)}
    g_h2 = be.put((g_logits @ p.w3.T).reshape(h2.shape).astype(p.w3.dtype))
    g_a2 = grad.max_pool2d_input(g_h2, a2, 2)
    g_z2 = be.mul(g_a2, nc.relu_derivative(z2))
    g["w2"] = be.get(grad.conv2d_weight(h1, p.w2.shape, g_z2, padding="same"))
    g["b2"] = be.get(grad.conv_bias(g_z2))
    g_h1 = grad.conv2d_input(h1.shape, w2, g_z2, padding="same")
    g_a1 = grad.max_pool2d_input(g_h1, a1, 2)
    g_z1 = be.mul(g_a1, nc.relu_derivative(z1))
    g["w1"] = be.get(grad.conv2d_weight(x, p.w1.shape, g_z1, padding="same"))
    g["b1"] = be.get(grad.conv_bias(g_z1))
    return loss, acc, g


class Adam:
    """The Adam optimiser (Kingma & Ba), in NumPy."""

    def __init__(self, params: Params, lr: float = 3e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = {k: np.zeros_like(getattr(params, k)) for k in params.names()}
        self.v = {k: np.zeros_like(getattr(params, k)) for k in params.names()}

    def step(self, params: Params, grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mhat = self.m[k] / (1 - self.b1**self.t)
            vhat = self.v[k] / (1 - self.b2**self.t)
            update = self.lr * mhat / (np.sqrt(vhat) + self.eps)
            old = getattr(params, k)
            setattr(params, k, (old - update).astype(old.dtype))


def load_digits(seed: int):
    """The digits as (N, 1, 8, 8) float32 in [0, 1], split 80/20, stratified."""
    from sklearn.datasets import load_digits as sk_load
    from sklearn.model_selection import train_test_split

    data = sk_load()
    x = (data.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, data.target, test_size=0.2, random_state=seed, stratify=data.target)


def evaluate(p: Params, x: np.ndarray, y: np.ndarray, be: Backend, batch: int = 256) -> float:
    """Accuracy over ``x`` in batches."""
    correct = 0
    for i in range(0, len(x), batch):
        logits, _ = forward(p, be.put(x[i:i + batch]), be)
        correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    return correct / len(x)


def train(seed: int = 0, epochs: int = 12, batch: int = 32, device: str = "cpu",
          max_batches: int | None = None, progress: bool = True):
    """Train and return ``(params, history, test_accuracy)``.

    ``history`` holds per-epoch mean loss and training accuracy. The run is
    deterministic for a given seed: NumPy's generator orders the batches and
    numbaconv's kernels reduce in a fixed order.
    """
    rng = np.random.default_rng(seed)
    xtr, xte, ytr, yte = load_digits(seed)
    be = Backend(device)
    p = Params.init(rng)
    opt = Adam(p)
    history = {"loss": [], "acc": []}
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are optional
        tqdm = None
    for epoch in range(epochs):
        order = rng.permutation(len(xtr))
        steps = range(0, len(xtr), batch)
        if max_batches is not None:
            steps = list(steps)[:max_batches]
        bar = tqdm(steps, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=True,
                   disable=not progress) if tqdm else steps
        losses, accs = [], []
        for i in bar:
            idx = order[i:i + batch]
            loss, acc, g = loss_and_grads(p, be.put(xtr[idx]), ytr[idx], be)
            opt.step(p, g)
            losses.append(loss)
            accs.append(acc)
            if tqdm and progress:
                bar.set_postfix(loss=f"{np.mean(losses):.4f}", acc=f"{np.mean(accs):.3f}")
        history["loss"].append(float(np.mean(losses)))
        history["acc"].append(float(np.mean(accs)))
        if not tqdm and progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f} "
                  f"acc {history['acc'][-1]:.3f}")
    return p, history, evaluate(p, xte, yte, be)


def save_plot(path: str, p: Params, history: dict) -> None:
    """Learned first-layer filters and the loss/accuracy curves, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 4))
    grid = fig.add_gridspec(2, 12)
    for i in range(min(16, p.w1.shape[0])):
        ax = fig.add_subplot(grid[i // 8, i % 8])
        ax.imshow(p.w1[i, 0], cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[:, 8:])
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training loss")
    ax.plot(epochs, history["acc"], label="training accuracy")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.suptitle("numbaconv CNN on scikit-learn digits: first-layer filters and learning curves")
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main(seed: int = 0, epochs: int | None = None, device: str = "cpu", plot: str | None = None) -> int:
    """Entry point of ``python -m numbaconv demo``."""
    t0 = time.perf_counter()
    p, history, acc = train(seed=seed, epochs=epochs or 12, device=device)
    print(f"trained in {time.perf_counter() - t0:.1f} s on {device}")
    print(f"test accuracy: {acc:.4f}")
    if plot:
        save_plot(plot, p, history)
        print(f"saved {plot}")
    return 0
