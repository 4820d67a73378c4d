"""Benchmark cases for whole networks: the course notes' two CNNs, numbaconv against PyTorch.

A *training step* is forward, mean softmax cross-entropy and backward to every parameter
gradient (no optimiser update): numbaconv's public functions (:mod:`numbaconv.cli.nets`)
against PyTorch autograd on the same weights and data. *Inference* is one image's logits in
evaluation mode (PyTorch under ``no_grad``). Cases:

* the Keras MNIST network: a step at batch 64 and 256, batch-1 inference; a step at batch
  64 in Keras' own layout (``data_format="channels_last"`` throughout, :func:`keras_step_cl`;
  PyTorch in its channels_last memory format), beside the channels-first step;
* the Fashion-MNIST network: a step at batch 100 with BatchNorm and Dropout aside (as the
  issue measured it) and one with its BatchNorm layers (training mode: the batch statistics,
  their gradients; Dropout aside, whose masks the two libraries draw differently), batch-1
  inference of the whole network (BatchNorm in evaluation mode).

``python -m numbaconv.bench.cnn`` prints where a step's time goes, call by call
(:func:`profile`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import Case, timed_on, torch_on, torch_peer

SIDE = 28


def make_net(model: str, full: bool = True, seed: int = 0, device: str = "cpu",
             batch_norm: bool | None = None):
    """The network ``model`` ('keras' or 'fashion'); ``full=False``: Fashion without BN/Dropout;
    ``batch_norm=True`` with ``full=False``: Fashion with its BatchNorm layers, no Dropout.
    ``device='cuda'``: its parameters on the GPU (:class:`numbaconv.cli.nets.Device`)."""
    from numbaconv.cli.nets import Device, FashionNet, KerasNet

    rng = np.random.default_rng(seed)
    dev = Device(device)
    if model == "keras":
        return KerasNet(rng, dev=dev)
    return FashionNet(rng, dev=dev) if full else \
        FashionNet(rng, batch_norm=bool(batch_norm), dropout=0.0, dev=dev)


def _on(torch, device: str, tensors: dict) -> dict:
    """``tensors`` (leaf tensors from :func:`numbaconv.cli.nets.torch_twin`) on ``device``."""
    if device == "cpu":
        return tensors
    return {k: v.detach().to(device).requires_grad_(v.requires_grad) for k, v in tensors.items()}


def batch(n: int, seed: int = 1):
    """``n`` random 28x28 images in [0, 1] (float32) and labels."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, SIDE, SIDE), dtype=np.float32), rng.integers(0, 10, n)


def numbaconv_step(net, x, y):
    """One training step's gradients with numbaconv: ``(loss, grads)``."""
    from numbaconv.cli.nets import cross_entropy

    logits, cache = net.forward(x, training=True)
    loss, _, g = cross_entropy(net.dev, logits, y)
    return loss, net.backward(cache, g)


def keras_step_cl(net, x, y):
    """:func:`numbaconv_step` of the Keras network (:class:`numbaconv.cli.nets.KerasNet`) in
    Keras' layout: ``x`` ``(N, 28, 28, 1)``, every convolution, pooling and gradient called
    with ``data_format="channels_last"``, the features flattened in ``(H, W, C)`` order as
    Keras flattens them (the dense weight read in that order; its gradient is returned in
    the network's own ``(C, H, W)`` order, so both steps' gradients compare directly). The
    first layer's output and gradient reuse the network's buffers, as its own step's do."""
    import numbaconv as nc
    from numbaconv import grad
    from numbaconv.cli.nets import cross_entropy

    cl = "channels_last"
    p, dev = net.params, net.dev
    wd = p["dense.weight"]
    k3 = p["conv3.weight"].shape[0]
    s1 = nc.conv_output_size(x.shape[1], 3)
    z1_shape = (x.shape[0], s1, s1, p["conv1.weight"].shape[0])
    z1: Any = nc.conv2d(x, p["conv1.weight"], p["conv1.bias"], data_format=cl,
                   out=net._reuse("cl.z1", z1_shape, x.dtype))
    h1 = nc.max_pool2d(z1, 2, data_format=cl)
    nc.relu(h1, out=h1)  # == max_pool(relu(z1))
    z2 = nc.conv2d(h1, p["conv2.weight"], p["conv2.bias"], data_format=cl)
    h2 = nc.max_pool2d(z2, 2, data_format=cl)
    nc.relu(h2, out=h2)
    z3 = nc.conv2d(h2, p["conv3.weight"], p["conv3.bias"], data_format=cl)
    a3: Any = nc.relu(z3)
    side = z3.shape[1]
    # the dense weight's columns in (H, W, C) order
    wd_cl = np.ascontiguousarray(
        wd.reshape(-1, k3, side, side).transpose(0, 2, 3, 1).reshape(wd.shape[0], -1))
    flat = a3.reshape(a3.shape[0], -1)
    loss, _, g_logits = cross_entropy(dev, dev.dense(flat, wd_cl, p["dense.bias"]), y)
    g = {}
    g_flat, gwd, g["dense.bias"] = dev.dense_backward(g_logits, flat, wd_cl)
    g["dense.weight"] = np.ascontiguousarray(
        gwd.reshape(-1, side, side, k3).transpose(0, 3, 1, 2).reshape(gwd.shape[0], -1))
    g_z3 = dev.relu_backward(g_flat.reshape(z3.shape), z3)
    g["conv3.weight"] = grad.conv2d_weight(h2, p["conv3.weight"].shape, g_z3, data_format=cl)
    g["conv3.bias"] = grad.conv_bias(g_z3, data_format=cl)
    g_h2 = grad.conv2d_input(h2.shape, p["conv3.weight"], g_z3, data_format=cl)
    g_z2 = grad.max_pool2d_input(dev.relu_backward(g_h2, h2), z2, 2, data_format=cl)
    g["conv2.weight"] = grad.conv2d_weight(h1, p["conv2.weight"].shape, g_z2, data_format=cl)
    g["conv2.bias"] = grad.conv_bias(g_z2, data_format=cl)
    g_h1 = grad.conv2d_input(h1.shape, p["conv2.weight"], g_z2, data_format=cl)
    g_z1 = grad.max_pool2d_input(dev.relu_backward(g_h1, h1), z1, 2, data_format=cl,
                                 out=net._reuse("cl.g_z1", z1.shape, z1.dtype))
    g["conv1.weight"] = grad.conv2d_weight(x, p["conv1.weight"].shape, g_z1, data_format=cl)
    g["conv1.bias"] = grad.conv_bias(g_z1, data_format=cl)
    return loss, g


def torch_step(net, tp, tb, x, y):
    """The same step with PyTorch autograd: ``(loss, grads)`` (tensors)."""
    import torch.nn.functional as F  # pyright: ignore[reportMissingImports] - optional peer

    for p in tp.values():
        p.grad = None
    extra = {"tb": tb} if tb else {}
    loss = F.cross_entropy(net.torch_forward(tp, x, training=True, **extra), y)
    loss.backward()
    return loss, {k: p.grad for k, p in tp.items()}


def _step_case(model: str, n: int, batch_norm: bool = False):
    def make(device="cpu"):
        from numbaconv.cli.nets import torch_twin

        net = make_net(model, full=False, device=device, batch_norm=batch_norm)
        x, y = batch(n)
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            tp, tb = (_on(torch, device, t) for t in torch_twin(net))
            tx, ty = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            peers["torch"] = lambda: torch_step(net, tp, tb, tx, ty)
        xd = net.dev.put(x)
        return timed_on(device, lambda: numbaconv_step(net, xd, y), peers)

    what = "keras" if model == "keras" else \
        "fashion (BN, no dropout)" if batch_norm else "fashion (no BN/dropout)"
    return Case("cnn", f"{what} step b{n}", make, tags=("step",),
                make_cuda=lambda: make("cuda"), peers=("torch",))


def _keras_cl_case(n: int):
    def make():
        from numbaconv.cli.nets import torch_twin

        net = make_net("keras", full=False)
        x, y = batch(n)
        xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        peers = {}
        torch = torch_peer()
        if torch is not None:
            tp, tb = torch_twin(net)
            for k, v in tp.items():  # the convolutions' weights in channels_last too
                if v.ndim == 4:
                    tp[k] = v.detach().contiguous(memory_format=torch.channels_last)
                    tp[k].requires_grad_()
            tx = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
            ty = torch.from_numpy(y)
            peers["torch"] = lambda: torch_step(net, tp, tb, tx, ty)
        return (lambda: keras_step_cl(net, xl, y)), peers

    return Case("cnn", f"keras step b{n} NHWC", make, tags=("step",))


def _inference_case(model: str):
    def make(device="cpu"):
        from numbaconv.cli.nets import torch_twin

        net = make_net(model, full=True, device=device)
        x, _ = batch(1)
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            tp, tb = (_on(torch, device, t) for t in torch_twin(net))
            tx = torch.from_numpy(x).to(device)
            extra = {"tb": tb} if tb else {}

            def peer():
                with torch.no_grad():
                    return net.torch_forward(tp, tx, training=False, **extra)

            peers["torch"] = peer
        xd = net.dev.put(x)
        return timed_on(device, lambda: net.forward(xd, training=False)[0], peers)

    return Case("cnn", f"{model} inference b1", make, tags=("inference",),
                make_cuda=lambda: make("cuda"), peers=("torch",))


CASES = [_step_case("keras", 64), _keras_cl_case(64), _step_case("keras", 256),
         _step_case("fashion", 100), _step_case("fashion", 100, batch_norm=True),
         _inference_case("keras"), _inference_case("fashion")]


# ------------------------------------------------------------------------------ profile

#: the public functions a step calls, wrapped by :func:`profile`
_NC = ("conv2d", "max_pool2d", "relu", "relu_derivative", "log_softmax", "log_softmax_backward",
       "batch_norm", "relu_backward")
_GRAD = ("conv2d_input", "conv2d_weight", "conv_bias", "max_pool2d_input", "batch_norm_backward")


def profile(model: str = "keras", n: int = 64, steps: int = 10, full: bool = False):
    """Time every call of a numbaconv training step: ``[(call, best ms, share of step)]``.

    Each numbaconv function (and the demo's own dense layers and elementwise product) is
    wrapped; a call is named by its function and its first argument's shape, and its time
    is the best over ``steps`` steps. The last row is the whole step (best of ``steps``).
    """
    import numbaconv as nc
    from numbaconv import grad

    net = make_net(model, full=full)
    x, y = batch(n)
    times: dict[str, float] = {}
    originals = []

    def wrap(owner, name):
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            dt = time.perf_counter() - t0
            first = args[0] if args else ()
            shape = tuple(first) if isinstance(first, tuple) else tuple(getattr(first, "shape", ()))
            label = f"{name}{shape}"
            k = 2
            while label in seen:  # the same call twice in one step
                label, k = f"{name}{shape} #{k}", k + 1
            seen.add(label)
            times[label] = min(times.get(label, np.inf), dt)
            return out

        originals.append((owner, name, fn))
        setattr(owner, name, timed)

    seen: set[str] = set()
    for name in _NC:
        wrap(nc, name)
    for name in _GRAD:
        wrap(grad, name)
    for name in ("dense", "dense_backward", "mul"):
        wrap(net.dev, name)
    best_step = np.inf
    try:
        for _ in range(steps + 1):
            seen.clear()
            t0 = time.perf_counter()
            numbaconv_step(net, x, y)
            best_step = min(best_step, time.perf_counter() - t0)
    finally:
        for owner, name, fn in reversed(originals):
            if owner is net.dev:
                delattr(owner, name)
            else:
                setattr(owner, name, fn)
    rows = [(k, v * 1e3, v / best_step) for k, v in times.items()]
    rows.append(("whole step", best_step * 1e3, 1.0))
    return rows


def main() -> int:
    """Print the per-call profile of both networks' steps."""
    import platform

    print(f"numbaconv training step, call by call (best of 10 steps); {platform.machine()}")
    for model, n in (("keras", 64), ("fashion", 100)):
        print(f"\n{model} b{n}{' (no BN/dropout)' if model == 'fashion' else ''}")
        rows = profile(model, n)
        for label, ms, share in sorted(rows[:-1], key=lambda r: -r[1]):
            print(f"  {label:<48} {ms:8.2f} ms {100 * share:5.1f}%")
        print(f"  {'sum of calls':<48} {sum(r[1] for r in rows[:-1]):8.2f} ms")
        print(f"  {rows[-1][0]:<48} {rows[-1][1]:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
