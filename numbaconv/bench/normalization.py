"""Benchmark cases for batch normalisation: numbaconv against PyTorch's CPU kernels.

Each shape runs evaluation (the running statistics), training (the batch's statistics and
the running update) and the backward of training, all three gradients. PyTorch's backward
row is its own kernel (``aten.native_batch_norm_backward``) handed the mean and inverse
standard deviation its forward saved; numbaconv's ``grad.batch_norm_backward`` takes only
``x`` and recomputes them, in the same call. ``nbytes`` counts one read of ``x`` (and of
the gradient, for the backward) and one write of the output, so GB/s compares with a copy.

The shapes are the course notes' Fashion-MNIST network's BatchNorm layers (after the first
convolution, 28x28, batch 1 and 100; after the second, 12x12), the Keras network's first
feature maps at batch 64, a dense layer's ``(N, C)`` input, and a ``channels_last`` row.
"""

from __future__ import annotations

import numpy as np

from . import Case, device_put, timed_on, torch_on

CL = "channels_last"
SHAPES = [((1, 32, 28, 28), "channels_first"), ((100, 32, 28, 28), "channels_first"),
          ((100, 64, 12, 12), "channels_first"), ((64, 32, 26, 26), "channels_first"),
          ((64, 32, 26, 26), CL), ((256, 600), "channels_first")]


def _data(shape):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    stats = (rng.standard_normal(c).astype(np.float32),
             rng.uniform(0.5, 2, c).astype(np.float32))
    affine = (rng.uniform(0.5, 2, c).astype(np.float32), rng.standard_normal(c).astype(np.float32))
    return x, g, stats, affine


def _ours(a, layout):
    """A logical (N, C, *sp) array in the layout numbaconv is called with."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if layout == CL else a


def _theirs(torch, a, layout, device):
    t = torch.from_numpy(a)
    if layout == CL:
        t = t.contiguous(memory_format=torch.channels_last)
    return t.to(device)


def _case(shape, layout, mode):
    def make(device="cpu"):
        import numbaconv as nc
        from numbaconv import grad

        x, g, (rm, rv), (w, b) = _data(shape)
        xo, go = (device_put(device, _ours(a, layout)) for a in (x, g))
        rmo, rvo, wo, bo = (device_put(device, a.copy()) for a in (rm, rv, w, b))
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            F = torch.nn.functional
            tx, tg = (_theirs(torch, a, layout, device) for a in (x, g))
            trm, trv, tw, tb = (torch.from_numpy(a.copy()).to(device) for a in (rm, rv, w, b))
            if mode == "eval":
                peers["torch"] = lambda: F.batch_norm(tx, trm, trv, tw, tb, training=False)
            elif mode == "train":
                peers["torch"] = lambda: F.batch_norm(tx, trm, trv, tw, tb, training=True)
            else:
                axes = [0, *range(2, len(shape))]
                mean = tx.mean(axes)
                invstd = 1 / (tx.var(axes, unbiased=False) + 1e-5).sqrt()
                bwd = torch.ops.aten.native_batch_norm_backward
                peers["torch"] = lambda: bwd(tg, tx, tw, trm, trv, mean, invstd, True, 1e-5,
                                             [True, True, True])
        if mode == "eval":
            ours = lambda: nc.batch_norm(xo, rmo, rvo, wo, bo, data_format=layout)  # noqa: E731
        elif mode == "train":
            ours = lambda: nc.batch_norm(xo, rmo, rvo, wo, bo, training=True,  # noqa: E731
                                         data_format=layout)
        else:
            ours = lambda: grad.batch_norm_backward(go, xo, None, None, wo,  # noqa: E731
                                                    training=True, data_format=layout)
        return timed_on(device, ours, peers)

    name = {"eval": "batch_norm", "train": "batch_norm training",
            "backward": "grad.batch_norm_backward"}[mode]
    label = f" {CL}" if layout == CL else ""
    size = float(np.prod(shape))
    nbytes = 4.0 * size * (3 if mode == "backward" else 2)
    return Case("normalization", f"{name}{shape}{label}", make, nbytes=nbytes,
                make_cuda=lambda: make("cuda"), peers=("torch",))


CASES = [_case(shape, layout, mode) for shape, layout in SHAPES
         for mode in ("eval", "train", "backward")]
