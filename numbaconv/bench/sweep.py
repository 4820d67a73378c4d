"""Benchmark cases: 3x3 convolutions on small maps and small batches against PyTorch CPU.

The layers of the course notes' small CNNs (Keras MNIST net, Fashion-MNIST
net) at the batch sizes they are run with, plus a few small-map layers
(channels 3 to 128, maps 3x3 to 32x32, batch 1 to 256; a batch of 16 for three layers,
where a batch is one or a few blocks of work): forward, input
gradient, weight gradient and bias gradient, float32. The peer is PyTorch CPU
with 2 threads: ``torch.nn.functional.conv2d`` for the forward pass and
``torch.ops.aten.convolution_backward`` (PyTorch's own backward kernels) with one
output selected for each gradient. Times are interleaved in one process by
:func:`numbaconv.bench.compare`.
"""

from __future__ import annotations

import numpy as np

from . import Case, torch_peer

#: (name, x shape (N, C, H, W), output channels K, padding); every kernel is 3x3, stride 1
LAYERS = [
    ("keras1", (1, 1, 28, 28), 32, 0),
    ("keras1", (64, 1, 28, 28), 32, 0),
    ("keras1", (256, 1, 28, 28), 32, 0),
    ("keras2", (1, 32, 13, 13), 64, 0),
    ("keras2", (16, 32, 13, 13), 64, 0),
    ("keras2", (64, 32, 13, 13), 64, 0),
    ("keras2", (256, 32, 13, 13), 64, 0),
    ("keras3", (1, 64, 5, 5), 128, 0),
    ("keras3", (16, 64, 5, 5), 128, 0),
    ("keras3", (64, 64, 5, 5), 128, 0),
    ("keras3", (256, 64, 5, 5), 128, 0),
    ("fashion1", (1, 1, 28, 28), 32, 1),
    ("fashion1", (100, 1, 28, 28), 32, 1),
    ("fashion2", (1, 32, 14, 14), 64, 0),
    ("fashion2", (100, 32, 14, 14), 64, 0),
    ("cifar1", (128, 3, 32, 32), 32, 1),
    ("small", (128, 32, 16, 16), 64, 1),
    ("small", (1, 64, 14, 14), 64, 1),
    ("tiny", (16, 128, 3, 3), 128, 1),
    ("tiny", (256, 128, 3, 3), 128, 1),
]

#: bias gradients only read ``g``: a few of its shapes, batch 1 to 256
BIAS_LAYERS = [LAYERS[i] for i in (0, 1, 6, 9, 12, 14, 16, 19)]

#: the Keras net's layers at batch 1 and 64 again in Keras' own layout, ``(N, H, W, C)``
#: (rows named ``... NHWC``; PyTorch in its channels_last memory format), beside the
#: channels-first rows (issue 17: at least as fast)
CL_LAYERS = [LAYERS[i] for i in (0, 1, 3, 5, 7, 9)]

OPS = ("forward", "input_grad", "weight_grad")


def _out_hw(hw: int, pad: int) -> int:
    return hw + 2 * pad - 2


def _label(name, xs, k, pad) -> str:
    return f"{name} {xs}->{k} p{pad}"


def _case(op, name, xs, k, pad, last=False):
    ws = (k, xs[1], 3, 3)

    def make():
        import numbaconv as nc
        from numbaconv import grad

        rng = np.random.default_rng(0)
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        ho = _out_hw(xs[2], pad)
        g = rng.standard_normal((xs[0], k, ho, ho)).astype(np.float32)
        fmt = "channels_last" if last else "channels_first"
        ox = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if last else x
        og = np.ascontiguousarray(g.transpose(0, 2, 3, 1)) if last else g
        if op == "forward":
            ours = lambda: nc.conv2d(ox, w, padding=pad, data_format=fmt)  # noqa: E731
        elif op == "input_grad":
            ours = lambda: grad.conv2d_input(ox.shape, w, og, padding=pad,  # noqa: E731
                                             data_format=fmt)
        elif op == "weight_grad":
            ours = lambda: grad.conv2d_weight(ox, ws, og, padding=pad,  # noqa: E731
                                              data_format=fmt)
        else:
            ours = lambda: grad.conv_bias(g)  # noqa: E731
        peers = {}
        torch = torch_peer()
        if torch is not None:
            mf = torch.channels_last if last else torch.contiguous_format
            tx, tw, tg = (torch.from_numpy(a).contiguous(memory_format=mf) for a in (x, w, g))
            back = torch.ops.aten.convolution_backward
            mask = {"input_grad": [True, False, False], "weight_grad": [False, True, False],
                    "bias_grad": [False, False, True]}.get(op)
            bias_sizes = [k] if op == "bias_grad" else None

            def peer_backward():
                with torch.no_grad():
                    return back(tg, tx, tw, bias_sizes, [1, 1], [pad, pad], [1, 1], False,
                                [0, 0], 1, mask)

            def peer_forward():
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, padding=pad)

            peers["torch"] = peer_forward if op == "forward" else peer_backward
        return ours, peers

    ho = _out_hw(xs[2], pad)
    flops = 2.0 * xs[0] * k * xs[1] * 9 * ho * ho if op != "bias_grad" else None
    nbytes = 4.0 * xs[0] * k * ho * ho if op == "bias_grad" else None
    suffix = " NHWC" if last else ""
    return Case("sweep", f"{op} {_label(name, xs, k, pad)}{suffix}", make, flops=flops,
                nbytes=nbytes, tags=(op,))


CASES = ([_case(op, *layer) for op in OPS for layer in LAYERS]
         + [_case(op, *layer, last=True) for op in OPS for layer in CL_LAYERS]
         + [_case("bias_grad", *layer) for layer in BIAS_LAYERS])
