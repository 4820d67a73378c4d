"""The course notes' two CNNs, forward and backward, written with numbaconv's public functions.

* :class:`KerasNet`, the notes' Keras MNIST model: Conv2D(32, 3x3) ReLU, MaxPooling2D(2),
  Conv2D(64, 3x3) ReLU, MaxPooling2D(2), Conv2D(128, 3x3) ReLU, Flatten, Dense(10) softmax:
  104,202 parameters on 28x28 images.
* :class:`FashionNet`, the notes' PyTorch Fashion-MNIST model: Conv2d(1, 32, 3, padding=1)
  BatchNorm2d ReLU MaxPool(2), Conv2d(32, 64, 3) BatchNorm2d ReLU MaxPool(2),
  Linear(2304, 600), Dropout(0.25), Linear(600, 120), Linear(120, 10): 1,475,338 parameters.

Every convolution, pooling, activation, batch normalisation and softmax, forward and
backward, is a numbaconv call, on NumPy arrays or (``Device('cuda')``) CUDA arrays end to end.
numbaconv has no matrix product: the dense layers are NumPy's BLAS ``matmul`` on the host and
1x1 ``conv1d`` calls on the GPU; the optimiser and the dropout mask are the demo's own.

Two exact rewrites make the step cheaper without changing a single value: ReLU after the
max-pooling (``max_pool(relu(z)) == relu(max_pool(z))``, a quarter of the ReLU work; the
gradients are equal too, since a window whose maximum is <= 0 passes no gradient either way),
and the softmax cross-entropy's gradient from its log-softmax output. :func:`torch_twin` builds
the same network in PyTorch with the same weights, for ``demo --compare`` and the ``cnn`` bench.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from numba import njit

import numbaconv as nc
from numbaconv import grad
from numbaconv.cpu.blas import two_matmuls
from numbaconv.cpu.threads import one_blas_thread, run_items

#: an array on a :class:`Device`: NumPy's, or a numba device array (untyped). numbaconv's
#: results are typed ``numbaconv.typing.Array``, whose CUDA side declares only the interface
DevArray: TypeAlias = Any

# ------------------------------------------------------------------------------ device


@njit(cache=True, error_model="numpy")
def _adam_host(p, g, m, v, lr, b1, b2, eps, c1, c2):
    pf, gf, mf, vf = p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1)
    for i in range(pf.size):
        gi = gf[i]
        mi = b1 * mf[i] + (1 - b1) * gi
        vi = b2 * vf[i] + (1 - b2) * gi * gi
        mf[i] = mi
        vf[i] = vi
        pf[i] -= lr * (mi / c1) / (math.sqrt(vi / c2) + eps)


#: multiply-adds from which a dense layer's product pins BLAS to one thread (a batch-1
#: network's 600 x 120 layer is 72k: OpenBLAS runs it on one thread anyway)
_PIN_FROM = 1 << 18
#: multiply-adds from which a product is split into row blocks on numbaconv's threads
_SPLIT_FROM = 1 << 22


#: bytes from which the networks' big intermediate arrays are kept between steps (fresh
#: pages of a 5 MB array cost page faults every step; malloc recycles small ones itself)
_REUSE_FROM = 1 << 18


def _relu_in_place(p):
    """``relu(p)`` written over ``p``, a pooling output nothing else holds (saves a fresh
    output's page faults: 0.8 ms of a Fashion b100 step)."""
    return nc.relu(p, out=p)


def _matmul(a, b):
    """``a @ b`` on the host. Large products run as two column blocks of the result (a fixed
    split, so the same bits at any thread count) on numbaconv's threads, each block with
    BLAS on one thread: the training step's 100 x 600 x 2304 products use both cores without
    OpenBLAS's own team, whose workers spin for milliseconds after each call and hold a
    core the next convolution's threads need (measured: a Keras b256 step at two threads
    86 ms with two-threaded BLAS, 54 ms pinned to one). Column blocks keep every block's
    rows whole: the Fashion net's 100 x 2304 @ 2304 x 600 forward 1.93 ms where row
    blocks of 50 took 2.27 (OpenBLAS is less efficient on half as many rows)."""
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    if m * k * n < _PIN_FROM:
        return a @ b
    if m * k * n < _SPLIT_FROM or n < 32:
        with one_blas_thread():
            return a @ b
    out = np.empty((m, n), np.result_type(a, b))
    half = n // 2
    if not two_matmuls(a, b[:, :half], out[:, :half], a, b[:, half:], out[:, half:]):
        run_items(lambda c: np.matmul(a, b[:, c[0]:c[1]], out=out[:, c[0]:c[1]]),
                  [(0, half), (half, n)])
    return out


def _matmul_pair(a1, b1, a2, b2):
    """``(a1 @ b1, a2 @ b2)``: two large products side by side, one on each of two threads
    with BLAS on one thread (a dense layer's backward: the Fashion net's two 100 x 600 x
    2304 products 3.97 ms together where one after the other, each split in two, took
    4.77); smaller ones as :func:`_matmul`. At one thread the two run one after the other,
    each whole as at two: BLAS's kernels for a whole product and for its column halves
    may sum in different orders (OpenBLAS's AVX2 kernels on Zen 3 did), and the bits must
    not depend on the thread count."""
    big = min(a1.shape[0] * a1.shape[1] * b1.shape[1], a2.shape[0] * a2.shape[1] * b2.shape[1])
    if big < _SPLIT_FROM:
        return _matmul(a1, b1), _matmul(a2, b2)
    dtype = np.result_type(a1, b1)
    out1 = np.empty((a1.shape[0], b1.shape[1]), dtype)
    out2 = np.empty((a2.shape[0], b2.shape[1]), dtype)
    if two_matmuls(a1, b1, out1, a2, b2, out2):  # (on Numba's own workers)
        return out1, out2
    res: list = [None, None]

    def work(i):
        res[i] = a1 @ b1 if i == 0 else a2 @ b2

    run_items(work, [0, 1])
    return res[0], res[1]


class Device:
    """Where a network's arrays live: ``'cpu'`` (NumPy) or ``'cuda'`` (numba device arrays).

    The few operations numbaconv does not provide (matrix products, an elementwise
    product, the Adam update) are here, one per backend; nothing copies between host and
    device except :meth:`put` and :meth:`get`, which the training loop calls explicitly
    for each batch and for the (N, 10) log-probabilities.
    """

    def __init__(self, name: str = "cpu"):
        if name not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {name!r}")
        self.name = name
        self.cuda = None
        if name == "cuda":
            from numba import cuda

            if not cuda.is_available():
                raise SystemExit("--device cuda: no CUDA GPU is available (numba.cuda.is_available() "
                                 "is False); run on the CPU or on a machine with an NVIDIA GPU")
            self.cuda = cuda
            from . import _cuda_ops

            self._ops = _cuda_ops

    def put(self, a):
        """Host -> this device (float32 arrays stay float32)."""
        a = np.ascontiguousarray(a)
        return self.cuda.to_device(a) if self.cuda else a

    def get(self, a) -> np.ndarray:
        """This device -> host."""
        return a.copy_to_host() if self.cuda else np.asarray(a)

    def zeros_like(self, a):
        """Zeros of ``a``'s shape and dtype on this device."""
        return self._ops.zeros_like(a) if self.cuda else np.zeros_like(a)

    def dense(self, x, w, b):
        """``x @ w.T + b`` for ``x`` (N, I), ``w`` (O, I).

        On the host the product is :func:`_matmul`: BLAS on one thread per block, large
        products in row blocks on numbaconv's threads. One row (batch-1 inference) of a
        layer of at least :data:`_PIN_FROM` multiply-adds is a 1x1 convolution of one
        position instead, whose dot products split the filters between the threads (the
        Fashion net's 2304 -> 600 layer: 85 against 102 us with BLAS on one thread).
        """
        if self.cuda or (x.shape[0] == 1 and x.shape[1] * w.shape[0] >= _PIN_FROM):
            n, i = x.shape
            o = w.shape[0]
            y: DevArray = nc.conv1d(x.reshape(n, i, 1), w.reshape(o, i, 1), b)
            return y.reshape(n, o)
        y = _matmul(x, w.T)
        y += b
        return y

    def dense_backward(self, g, x, w, need_input: bool = True) -> tuple[Any, Any, Any]:
        """``(grad_x, grad_w, grad_b)`` of :meth:`dense`."""
        if self.cuda:
            n, i = x.shape
            o = w.shape[0]
            g3 = g.reshape(n, o, 1)
            gw: DevArray = grad.conv1d_weight(x.reshape(n, i, 1), (o, i, 1), g3)
            gx: DevArray = grad.conv1d_input((n, i, 1), w.reshape(o, i, 1), g3) \
                if need_input else None
            return (None if gx is None else gx.reshape(n, i)), gw.reshape(o, i), \
                grad.conv_bias(g3)
        if not need_input:
            return None, _matmul(g.T, x), g.sum(axis=0)
        gx, gw = _matmul_pair(g, w, g.T, x)
        return gx, gw, g.sum(axis=0)

    def mul(self, a, b):
        """Elementwise ``a * b`` (dropout's mask)."""
        return self._ops.mul(a, b) if self.cuda else a * b

    def relu_backward(self, g, z):
        """``g * relu'(z)``, written over ``g`` (the networks' gradients are fresh arrays
        used once: no new output's pages to fault in, 1 ms of a Fashion b100 step):
        numbaconv's one-pass ``relu_backward`` when the installed numbaconv has it, else
        ``g * relu_derivative(z)``."""
        one_pass = getattr(nc, "relu_backward", None)
        if one_pass is not None:
            return one_pass(g, z, out=g)
        return self.mul(g, nc.relu_derivative(z))

    def adam(self, p, g, m, v, lr, b1, b2, eps, t):
        """One Adam step on ``p`` in place (PyTorch's formula, bias-corrected)."""
        c1, c2 = 1 - b1**t, 1 - b2**t
        if self.cuda:
            self._ops.adam(p, g, m, v, lr, b1, b2, eps, c1, c2)
        else:
            _adam_host(p, g, m, v, np.float32(lr), np.float32(b1), np.float32(b2),
                       np.float32(eps), np.float32(c1), np.float32(c2))


# ------------------------------------------------------------------------------ layers table


@dataclass(frozen=True)
class LayerInfo:
    """One row of a Keras-style summary."""

    name: str
    kind: str
    shape: tuple[int, ...]  #: output shape without the batch axis, channels first
    params: int


def summary(net, side: int = 28) -> str:
    """A Keras-style table of ``net``: layers, output shapes (H, W, C as Keras prints them,
    from :mod:`numbaconv.shapes`' formulas) and parameter counts."""
    rows = net.layers(side)
    lines = [f'Model: "{net.name}"', "-" * 66,
             f"{'Layer (type)':<32}{'Output Shape':<24}{'Param #':>10}", "=" * 66]
    for r in rows:
        hwc = r.shape[1:] + r.shape[:1] if len(r.shape) == 3 else r.shape
        shape = "(None, " + ", ".join(str(s) for s in hwc) + ")"
        lines.append(f"{r.name + ' (' + r.kind + ')':<32}{shape:<24}{r.params:>10,}")
    total = sum(r.params for r in rows)
    lines += ["=" * 66, f"Total params: {total:,}", f"Trainable params: {net.trainable:,}",
              "-" * 66]
    return "\n".join(lines)


def _glorot(rng, shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def _torch_default(rng, shape, fan_in):
    """PyTorch's default Conv/Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def cross_entropy(dev: Device, logits, labels: np.ndarray):
    """Mean softmax cross-entropy: ``(loss, correct, grad_logits)``.

    The loss and accuracy read the (N, 10) log-probabilities on the host; the gradient
    ``(softmax - onehot) / N`` is numbaconv's log-softmax VJP, on the logits' device.
    """
    logp = nc.log_softmax(logits, axis=1)
    host = dev.get(logp)
    n = len(labels)
    rows = np.arange(n)
    loss = float(-host[rows, labels].mean())
    correct = int((host.argmax(axis=1) == labels).sum())
    g = np.zeros(host.shape, dtype=host.dtype)
    g[rows, labels] = -1.0 / n
    return loss, correct, nc.log_softmax_backward(dev.put(g), logp, axis=1)


# ------------------------------------------------------------------------------ networks


class _Net:
    """What both networks share: parameters, running statistics, reusable output buffers."""

    dev: Device
    params: dict
    buffers: dict

    @property
    def trainable(self) -> int:
        """The number of trainable parameters."""
        return sum(int(np.prod(p.shape)) for p in self.params.values())

    @property
    def _shapes(self) -> dict:
        """Output shapes of :meth:`_conv` and :meth:`_pool` by input shape (computed once)."""
        return self.__dict__.setdefault("_shape_cache", {})

    def _reuse(self, name: str, shape, dtype):
        """A persistent array of ``shape`` and ``dtype`` to pass as ``out=``: a step's output
        lands in the previous step's memory instead of fresh pages (the previous step's
        values are dead by then: its backward pass has run; a fresh 5 MB output costs its
        page faults on every step). Used wherever numbaconv takes ``out=``; a layer gains it
        by passing ``out=self._reuse(name, shape, dtype)``."""
        scratch = self.__dict__.setdefault("_scratch", {})
        key = (name, tuple(shape), np.dtype(dtype))
        buf = scratch.get(key)
        if buf is None:
            buf = scratch[key] = self.dev.put(np.zeros(shape, dtype))
        return buf

    def _conv(self, name: str, x, w, b, padding: int = 0):
        """``conv2d`` (stride 1); a big output (about :data:`_REUSE_FROM` bytes or more)
        lands in this layer's persistent array (:meth:`_reuse`). Small ones stay fresh:
        malloc recycles them without page faults, and a batch-1 layer would only pay for
        the bookkeeping."""
        key = ("conv", x.shape, w.shape, padding)
        shape = self._shapes.get(key)
        if shape is None:  # (the size formulas validate every argument: once per shape)
            shape = self._shapes[key] = (
                x.shape[0], w.shape[0], nc.conv_output_size(x.shape[2], w.shape[2], 1, padding),
                nc.conv_output_size(x.shape[3], w.shape[3], 1, padding))
        if math.prod(shape) * x.dtype.itemsize < _REUSE_FROM:
            return nc.conv2d(x, w, b, padding=padding)
        out = self._reuse(name, shape, np.result_type(x.dtype, w.dtype))
        return nc.conv2d(x, w, b, padding=padding, out=out)

    def _pool(self, name: str, z):
        """2x2 ``max_pool2d``, a big output into this layer's persistent array."""
        key = ("pool", z.shape)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = (*z.shape[:2], nc.pool_output_size(z.shape[2], 2),
                                         nc.pool_output_size(z.shape[3], 2))
        if math.prod(shape) * z.dtype.itemsize < _REUSE_FROM:
            return nc.max_pool2d(z, 2)
        return nc.max_pool2d(z, 2, out=self._reuse(name, shape, z.dtype))

    def _pool_input(self, name: str, g, z):
        """The 2x2 max-pooling gradient, a big one into a persistent array."""
        if z.size * z.dtype.itemsize < _REUSE_FROM:
            return grad.max_pool2d_input(g, z, 2)
        return grad.max_pool2d_input(g, z, 2, out=self._reuse(name, z.shape, z.dtype))

    def _conv_input(self, name: str, x, w, g):
        """The convolution's input gradient, a big one into a persistent array."""
        if x.size * x.dtype.itemsize < _REUSE_FROM:
            return grad.conv2d_input(x.shape, w, g)
        out = self._reuse(name, x.shape, np.result_type(w.dtype, g.dtype))
        return grad.conv2d_input(x.shape, w, g, out=out)


class KerasNet(_Net):
    """The course notes' Keras MNIST network (Glorot-uniform weights, zero biases, as Keras)."""

    name = "keras_mnist"

    def __init__(self, rng: np.random.Generator, widths=(32, 64, 128), classes: int = 10,
                 side: int = 28, dev: Device | None = None):
        self.dev = dev or Device()
        c1, c2, c3 = widths
        self.widths, self.classes, self.side = tuple(widths), classes, side
        feat = self._features(side)
        host = {
            "conv1.weight": _glorot(rng, (c1, 1, 3, 3), 9, 9 * c1),
            "conv1.bias": np.zeros(c1, np.float32),
            "conv2.weight": _glorot(rng, (c2, c1, 3, 3), 9 * c1, 9 * c2),
            "conv2.bias": np.zeros(c2, np.float32),
            "conv3.weight": _glorot(rng, (c3, c2, 3, 3), 9 * c2, 9 * c3),
            "conv3.bias": np.zeros(c3, np.float32),
            "dense.weight": _glorot(rng, (classes, feat), feat, classes),
            "dense.bias": np.zeros(classes, np.float32),
        }
        self.params = {k: self.dev.put(v) for k, v in host.items()}
        self.buffers: dict = {}

    def _features(self, side):
        s = nc.conv_output_size(side, 3)
        s = nc.pool_output_size(s, 2)
        s = nc.conv_output_size(s, 3)
        s = nc.pool_output_size(s, 2)
        s = nc.conv_output_size(s, 3)
        return self.widths[2] * s * s

    def layers(self, side: int = 28) -> list[LayerInfo]:
        """The layers and their output shapes from numbaconv.shapes' formulas."""
        c1, c2, c3 = self.widths
        s1 = nc.conv_output_size(side, 3)
        p1 = nc.pool_output_size(s1, 2)
        s2 = nc.conv_output_size(p1, 3)
        p2 = nc.pool_output_size(s2, 2)
        s3 = nc.conv_output_size(p2, 3)
        feat = c3 * s3 * s3
        return [LayerInfo("conv2d", "Conv2D", (c1, s1, s1), c1 * 9 + c1),
                LayerInfo("max_pooling2d", "MaxPooling2D", (c1, p1, p1), 0),
                LayerInfo("conv2d_1", "Conv2D", (c2, s2, s2), c2 * c1 * 9 + c2),
                LayerInfo("max_pooling2d_1", "MaxPooling2D", (c2, p2, p2), 0),
                LayerInfo("conv2d_2", "Conv2D", (c3, s3, s3), c3 * c2 * 9 + c3),
                LayerInfo("flatten", "Flatten", (feat,), 0),
                LayerInfo("dense", "Dense", (self.classes,), feat * self.classes + self.classes)]

    def forward(self, x, training: bool = False, masks=None):
        """Logits of a batch ``x`` (N, 1, 28, 28) and what :meth:`backward` needs."""
        p, dev = self.params, self.dev
        z1 = self._conv("z1", x, p["conv1.weight"], p["conv1.bias"])
        h1 = _relu_in_place(self._pool("h1", z1))   # == max_pool(relu(z1))
        z2 = self._conv("z2", h1, p["conv2.weight"], p["conv2.bias"])
        h2 = _relu_in_place(self._pool("h2", z2))
        z3 = self._conv("z3", h2, p["conv3.weight"], p["conv3.bias"])
        a3: DevArray = nc.relu(z3)
        flat = a3.reshape(a3.shape[0], -1)
        logits = dev.dense(flat, p["dense.weight"], p["dense.bias"])
        return logits, (x, z1, h1, z2, h2, z3, flat)

    def shapes(self, cache) -> list[tuple[int, ...]]:
        """The output shape of each layer of :meth:`layers` in a forward pass' cache."""
        x, z1, h1, z2, h2, z3, flat = cache
        return [tuple(a.shape[1:]) for a in (z1, h1, z2, h2, z3, flat)] + [(self.classes,)]

    def backward(self, cache, g_logits) -> dict:
        """The gradient of every parameter, from the gradient of the logits."""
        p, dev = self.params, self.dev
        x, z1, h1, z2, h2, z3, flat = cache
        g = {}
        g_flat, g["dense.weight"], g["dense.bias"] = dev.dense_backward(g_logits, flat,
                                                                        p["dense.weight"])
        g_z3 = dev.relu_backward(g_flat.reshape(z3.shape), z3)
        g["conv3.weight"] = grad.conv2d_weight(h2, p["conv3.weight"].shape, g_z3)
        g["conv3.bias"] = grad.conv_bias(g_z3)
        g_h2 = self._conv_input("g_h2", h2, p["conv3.weight"], g_z3)
        g_z2 = self._pool_input("g_z2", dev.relu_backward(g_h2, h2), z2)
        g["conv2.weight"] = grad.conv2d_weight(h1, p["conv2.weight"].shape, g_z2)
        g["conv2.bias"] = grad.conv_bias(g_z2)
        g_h1 = self._conv_input("g_h1", h1, p["conv2.weight"], g_z2)
        g_z1 = self._pool_input("g_z1", dev.relu_backward(g_h1, h1), z1)
        g["conv1.weight"] = grad.conv2d_weight(x, p["conv1.weight"].shape, g_z1)
        g["conv1.bias"] = grad.conv_bias(g_z1)
        return g

    def torch_forward(self, tp: dict, x, training: bool = False, masks=None):
        """The same network in PyTorch (``tp``: torch tensors of :attr:`params`)."""
        import torch.nn.functional as F  # pyright: ignore[reportMissingImports] - optional peer

        h = F.max_pool2d(F.relu(F.conv2d(x, tp["conv1.weight"], tp["conv1.bias"])), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, tp["conv2.weight"], tp["conv2.bias"])), 2)
        h = F.relu(F.conv2d(h, tp["conv3.weight"], tp["conv3.bias"]))
        return F.linear(h.flatten(1), tp["dense.weight"], tp["dense.bias"])


class FashionNet(_Net):
    """The course notes' PyTorch Fashion-MNIST network (PyTorch's default init).

    ``batch_norm=False`` and ``dropout=0`` give the variant the ``cnn`` bench times against
    PyTorch ("BatchNorm and Dropout aside").
    """

    name = "fashion_mnist"

    def __init__(self, rng: np.random.Generator, widths=(32, 64), hidden=(600, 120),
                 classes: int = 10, side: int = 28, batch_norm: bool = True,
                 dropout: float = 0.25, dev: Device | None = None):
        self.dev = dev or Device()
        c1, c2 = widths
        f1, f2 = hidden
        self.widths, self.hidden, self.classes, self.side = tuple(widths), tuple(hidden), classes, side
        self.batch_norm, self.dropout = batch_norm, float(dropout)
        feat = self._features(side)
        host = {
            "conv1.weight": _torch_default(rng, (c1, 1, 3, 3), 9),
            "conv1.bias": _torch_default(rng, (c1,), 9),
            "conv2.weight": _torch_default(rng, (c2, c1, 3, 3), 9 * c1),
            "conv2.bias": _torch_default(rng, (c2,), 9 * c1),
            "fc1.weight": _torch_default(rng, (f1, feat), feat),
            "fc1.bias": _torch_default(rng, (f1,), feat),
            "fc2.weight": _torch_default(rng, (f2, f1), f1),
            "fc2.bias": _torch_default(rng, (f2,), f1),
            "fc3.weight": _torch_default(rng, (classes, f2), f2),
            "fc3.bias": _torch_default(rng, (classes,), f2),
        }
        buffers = {}
        if batch_norm:
            for name, c in (("bn1", c1), ("bn2", c2)):
                host[f"{name}.weight"] = np.ones(c, np.float32)
                host[f"{name}.bias"] = np.zeros(c, np.float32)
                buffers[f"{name}.running_mean"] = np.zeros(c, np.float32)
                buffers[f"{name}.running_var"] = np.ones(c, np.float32)
        self.params = {k: self.dev.put(v) for k, v in host.items()}
        self.buffers = {k: self.dev.put(v) for k, v in buffers.items()}

    def _features(self, side):
        s = nc.pool_output_size(nc.conv_output_size(side, 3, padding=1), 2)
        s = nc.pool_output_size(nc.conv_output_size(s, 3), 2)
        return self.widths[1] * s * s

    def layers(self, side: int = 28) -> list[LayerInfo]:
        c1, c2 = self.widths
        f1, f2 = self.hidden
        s1 = nc.conv_output_size(side, 3, padding=1)
        p1 = nc.pool_output_size(s1, 2)
        s2 = nc.conv_output_size(p1, 3)
        p2 = nc.pool_output_size(s2, 2)
        feat = c2 * p2 * p2
        rows = [LayerInfo("conv1", "Conv2d", (c1, s1, s1), c1 * 9 + c1)]
        if self.batch_norm:
            rows.append(LayerInfo("bn1", "BatchNorm2d", (c1, s1, s1), 2 * c1))
        rows += [LayerInfo("relu1", "ReLU", (c1, s1, s1), 0),
                 LayerInfo("pool1", "MaxPool2d", (c1, p1, p1), 0),
                 LayerInfo("conv2", "Conv2d", (c2, s2, s2), c2 * c1 * 9 + c2)]
        if self.batch_norm:
            rows.append(LayerInfo("bn2", "BatchNorm2d", (c2, s2, s2), 2 * c2))
        rows += [LayerInfo("relu2", "ReLU", (c2, s2, s2), 0),
                 LayerInfo("pool2", "MaxPool2d", (c2, p2, p2), 0),
                 LayerInfo("flatten", "Flatten", (feat,), 0),
                 LayerInfo("fc1", "Linear", (f1,), feat * f1 + f1)]
        if self.dropout:
            rows.append(LayerInfo("drop", "Dropout", (f1,), 0))
        rows += [LayerInfo("fc2", "Linear", (f2,), f1 * f2 + f2),
                 LayerInfo("fc3", "Linear", (self.classes,), f2 * self.classes + self.classes)]
        return rows

    def dropout_mask(self, rng: np.random.Generator, n: int):
        """Inverted dropout's mask for a batch: 0 or 1 / (1 - p), float32, on the host."""
        keep = rng.random((n, self.hidden[0])) >= self.dropout
        return keep.astype(np.float32) / np.float32(1.0 - self.dropout)

    def _bn(self, name, z, training):
        if not self.batch_norm:
            return z
        p, b = self.params, self.buffers
        return nc.batch_norm(z, b[f"{name}.running_mean"], b[f"{name}.running_var"],
                             p[f"{name}.weight"], p[f"{name}.bias"], training=training,
                             out=self._reuse(name, z.shape, z.dtype))

    def forward(self, x, training: bool = False, masks=None):
        """Logits of a batch; ``masks``: the dropout mask (host array) when training."""
        p, dev = self.params, self.dev
        z1 = self._conv("z1", x, p["conv1.weight"], p["conv1.bias"], padding=1)
        n1 = self._bn("bn1", z1, training)
        h1 = _relu_in_place(self._pool("h1", n1))
        z2 = self._conv("z2", h1, p["conv2.weight"], p["conv2.bias"])
        n2 = self._bn("bn2", z2, training)
        h2: DevArray = _relu_in_place(self._pool("h2", n2))
        flat = h2.reshape(h2.shape[0], -1)
        f1 = dev.dense(flat, p["fc1.weight"], p["fc1.bias"])
        mask = None
        if training and self.dropout and masks is not None:
            mask = dev.put(masks)
            f1 = dev.mul(f1, mask)
        f2 = dev.dense(f1, p["fc2.weight"], p["fc2.bias"])
        logits = dev.dense(f2, p["fc3.weight"], p["fc3.bias"])
        return logits, (x, z1, n1, h1, z2, n2, h2, flat, f1, f2, mask, training)

    def shapes(self, cache) -> list[tuple[int, ...]]:
        x, z1, n1, h1, z2, n2, h2, flat, f1, f2, mask, _ = cache
        out = [z1.shape[1:]] + ([n1.shape[1:]] if self.batch_norm else []) + [n1.shape[1:],
                                                                              h1.shape[1:]]
        out += [z2.shape[1:]] + ([n2.shape[1:]] if self.batch_norm else []) + [n2.shape[1:],
                                                                               h2.shape[1:]]
        out += [flat.shape[1:], f1.shape[1:]] + ([f1.shape[1:]] if self.dropout else [])
        return [tuple(s) for s in out] + [tuple(f2.shape[1:]), (self.classes,)]

    def _bn_backward(self, name, g, z, training, grads):
        if not self.batch_norm:
            return g
        p, b = self.params, self.buffers
        gx, grads[f"{name}.weight"], grads[f"{name}.bias"] = grad.batch_norm_backward(
            g, z, b[f"{name}.running_mean"], b[f"{name}.running_var"], p[f"{name}.weight"],
            training=training, out=(g, None, None))  # the input gradient overwrites g
        return gx

    def backward(self, cache, g_logits) -> dict:
        p, dev = self.params, self.dev
        x, z1, n1, h1, z2, n2, h2, flat, f1, f2, mask, training = cache
        g = {}
        g_f2, g["fc3.weight"], g["fc3.bias"] = dev.dense_backward(g_logits, f2, p["fc3.weight"])
        g_f1, g["fc2.weight"], g["fc2.bias"] = dev.dense_backward(g_f2, f1, p["fc2.weight"])
        if mask is not None:
            g_f1 = dev.mul(g_f1, mask)
        g_flat, g["fc1.weight"], g["fc1.bias"] = dev.dense_backward(g_f1, flat, p["fc1.weight"])
        g_n2 = self._pool_input("g_n2", dev.relu_backward(g_flat.reshape(h2.shape), h2), n2)
        g_z2 = self._bn_backward("bn2", g_n2, z2, training, g)
        g["conv2.weight"] = grad.conv2d_weight(h1, p["conv2.weight"].shape, g_z2)
        g["conv2.bias"] = grad.conv_bias(g_z2)
        g_h1 = self._conv_input("g_h1", h1, p["conv2.weight"], g_z2)
        g_n1 = self._pool_input("g_n1", dev.relu_backward(g_h1, h1), n1)
        g_z1 = self._bn_backward("bn1", g_n1, z1, training, g)
        g["conv1.weight"] = grad.conv2d_weight(x, p["conv1.weight"].shape, g_z1, padding=1)
        g["conv1.bias"] = grad.conv_bias(g_z1)
        return g

    def torch_forward(self, tp: dict, x, training: bool = False, masks=None, tb=None):
        """The same network in PyTorch; ``tb``: torch tensors of :attr:`buffers`."""
        import torch  # pyright: ignore[reportMissingImports] - optional peer
        import torch.nn.functional as F  # pyright: ignore[reportMissingImports] - optional peer

        def bn(name, z):
            if not self.batch_norm:
                return z
            assert tb is not None, "pass tb, the running statistics, with batch norm"
            return F.batch_norm(z, tb[f"{name}.running_mean"], tb[f"{name}.running_var"],
                                tp[f"{name}.weight"], tp[f"{name}.bias"], training=training)

        h = F.max_pool2d(F.relu(bn("bn1", F.conv2d(x, tp["conv1.weight"], tp["conv1.bias"],
                                                   padding=1))), 2)
        h = F.max_pool2d(F.relu(bn("bn2", F.conv2d(h, tp["conv2.weight"], tp["conv2.bias"]))), 2)
        f = F.linear(h.flatten(1), tp["fc1.weight"], tp["fc1.bias"])
        if training and self.dropout and masks is not None:
            f = f * torch.from_numpy(masks)
        f = F.linear(f, tp["fc2.weight"], tp["fc2.bias"])
        return F.linear(f, tp["fc3.weight"], tp["fc3.bias"])


MODELS = {"keras": KerasNet, "fashion": FashionNet}


def torch_twin(net):
    """PyTorch leaf tensors holding copies of ``net``'s parameters and buffers (host)."""
    import torch  # pyright: ignore[reportMissingImports] - optional peer

    tp = {k: torch.tensor(net.dev.get(v)).requires_grad_() for k, v in net.params.items()}
    tb = {k: torch.tensor(net.dev.get(v)) for k, v in net.buffers.items()}
    return tp, tb
