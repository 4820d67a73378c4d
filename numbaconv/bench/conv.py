"""Benchmark cases for convolution: forward and both gradients against PyTorch CPU (oneDNN).

Every shape runs in both data formats, side by side: channels-first (NCHW) and
channels-last (NHWC, rows named ``... NHWC``), PyTorch in the matching memory format.
"""

from __future__ import annotations

import numpy as np

from . import Case, device_put, timed_on, torch_on

#: (name, x shape (N, C, H, W), weight shape, stride, padding, dilation, groups)
SHAPES = [
    ("resnet 64x56x56 3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1),
    ("resnet 128x28x28 3x3", (8, 128, 28, 28), (128, 128, 3, 3), 1, 1, 1, 1),
    ("resnet 256x14x14 3x3", (8, 256, 14, 14), (256, 256, 3, 3), 1, 1, 1, 1),
    ("stem 3x224x224 7x7/2", (1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1),
    ("mnist 1x28x28 3x3", (32, 1, 28, 28), (32, 1, 3, 3), 1, 0, 1, 1),
    ("cifar 3x32x32 3x3", (64, 3, 32, 32), (32, 3, 3, 3), 1, 1, 1, 1),
    ("depthwise 64x56x56 3x3", (8, 64, 56, 56), (64, 1, 3, 3), 1, 1, 1, 64),
    ("dilated 64x56x56 3x3 d2", (8, 64, 56, 56), (64, 64, 3, 3), 1, 2, 2, 1),
]

OPS = ("forward", "input_grad", "weight_grad")
LAYOUTS = ("channels_first", "channels_last")


def _flops(xs, ws, stride, padding, dilation) -> float:
    from numbaconv import conv_output_size

    out = [conv_output_size(n, k, stride, padding, dilation) for n, k in zip(xs[2:], ws[2:],
                                                                              strict=True)]
    return 2.0 * xs[0] * ws[0] * ws[1] * float(np.prod(ws[2:])) * float(np.prod(out))


def _case(op, layout, name, xs, ws, stride, padding, dilation, groups):
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    last = layout == "channels_last"

    def make(device="cpu"):
        import numbaconv as nc
        from numbaconv import grad

        rng = np.random.default_rng(0)
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        y = nc.conv2d(x, w, **kw)
        g = rng.standard_normal(y.shape).astype(np.float32)
        # the arrays numbaconv takes in this layout
        ox = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if last else x
        og = np.ascontiguousarray(g.transpose(0, 2, 3, 1)) if last else g
        oxs = ox.shape
        okw = dict(kw, data_format=layout)
        ox, og, dw = (device_put(device, a) for a in (ox, og, w))
        if op == "forward":
            ours = lambda: nc.conv2d(ox, dw, **okw)  # noqa: E731
        elif op == "input_grad":
            ours = lambda: grad.conv2d_input(oxs, dw, og, **okw)  # noqa: E731
        else:
            ours = lambda: grad.conv2d_weight(ox, ws, og, **okw)  # noqa: E731
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            fmt = torch.channels_last if last else torch.contiguous_format
            tx = torch.from_numpy(x).to(device).contiguous(memory_format=fmt)
            tw = torch.from_numpy(w).to(device).contiguous(memory_format=fmt)
            tg = torch.from_numpy(g).to(device).contiguous(memory_format=fmt)
            F = torch.nn.functional
            with torch.no_grad():
                if op == "forward":
                    peers["torch"] = lambda: F.conv2d(tx, tw, **kw)
                elif op == "input_grad":
                    peers["torch"] = lambda: torch.nn.grad.conv2d_input(xs, tw, tg, **kw)
                else:
                    peers["torch"] = lambda: torch.nn.grad.conv2d_weight(tx, ws, tg, **kw)
        return timed_on(device, ours, peers)

    suffix = " NHWC" if last else ""
    return Case("conv", f"{op} {name}{suffix}", make,
                flops=_flops(xs, ws, stride, padding, dilation), tags=(op, layout),
                make_cuda=lambda: make("cuda"), peers=("torch",))


CASES = [_case(op, layout, *shape) for op in OPS for shape in SHAPES for layout in LAYOUTS]
