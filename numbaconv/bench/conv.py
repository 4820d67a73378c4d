"""Benchmark cases for convolution: forward and both gradients against PyTorch CPU (oneDNN)."""

from __future__ import annotations

import numpy as np

from . import Case, optional

#: (name, x shape, weight shape, stride, padding, dilation, groups)
SHAPES = [
    ("resnet 64x56x56 3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1),
    ("resnet 128x28x28 3x3", (8, 128, 28, 28), (128, 128, 3, 3), 1, 1, 1, 1),
    ("resnet 256x14x14 3x3", (8, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1, 1),
    ("stem 3x224x224 7x7/2", (1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1),
    ("mnist 1x28x28 3x3", (32, 1, 28, 28), (32, 1, 3, 3), 1, 0, 1, 1),
    ("depthwise 64x56x56 3x3", (8, 64, 56, 56), (64, 1, 3, 3), 1, 1, 1, 64),
    ("dilated 64x56x56 3x3 d2", (8, 64, 56, 56), (64, 64, 3, 3), 1, 2, 2, 1),
]

OPS = ("forward", "input_grad", "weight_grad")


def _flops(xs, ws, stride, padding, dilation) -> float:
    from numbaconv import conv_output_size

    out = [conv_output_size(n, k, stride, padding, dilation) for n, k in zip(xs[2:], ws[2:],
                                                                              strict=True)]
    return 2.0 * xs[0] * ws[0] * ws[1] * float(np.prod(ws[2:])) * float(np.prod(out))


def _torch():
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    return torch


def _case(op, name, xs, ws, stride, padding, dilation, groups):
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)

    def make():
        import numbaconv as nc
        from numbaconv import grad

        rng = np.random.default_rng(0)
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        y = nc.conv2d(x, w, **kw)
        g = rng.standard_normal(y.shape).astype(np.float32)
        if op == "forward":
            ours = lambda: nc.conv2d(x, w, **kw)  # noqa: E731
        elif op == "input_grad":
            ours = lambda: grad.conv2d_input(xs, w, g, **kw)  # noqa: E731
        else:
            ours = lambda: grad.conv2d_weight(x, ws, g, **kw)  # noqa: E731
        peers = {}
        torch = _torch()
        if torch is not None:
            tx, tw, tg = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(g)
            F = torch.nn.functional
            with torch.no_grad():
                if op == "forward":
                    peers["torch"] = lambda: F.conv2d(tx, tw, **kw)
                elif op == "input_grad":
                    peers["torch"] = lambda: torch.nn.grad.conv2d_input(xs, tw, tg, **kw)
                else:
                    peers["torch"] = lambda: torch.nn.grad.conv2d_weight(tx, ws, tg, **kw)
        return ours, peers

    return Case("conv", f"{op} {name}", make, flops=_flops(xs, ws, stride, padding, dilation),
                tags=(op,))


CASES = [_case(op, *shape) for op in OPS for shape in SHAPES]
