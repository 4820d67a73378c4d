"""Benchmark cases for pooling: numbaconv against PyTorch's CPU kernels (2 threads).

Pooling is memory-bound: ``nbytes`` counts one read of every input and one write of every
output, so GB/s compares directly with :func:`copy_floor`. Shapes are logical ``(N, C, *sp)``;
a ``channels_last`` row runs the same pooling on ``(N, *sp, C)`` data (numbaconv's
``data_format='channels_last'``, PyTorch's ``torch.channels_last`` memory format), beside its
channels-first row. The small maps are the course notes' convolutional stacks
(28x28 -> 26x26 -> pool -> 11x11 -> pool) at batch 64 and 1.
"""

from __future__ import annotations

import numpy as np

from . import Case, device_put, timed_on, torch_on, torch_peer

IMAGE = (32, 64, 112, 112)
VOLUME = (4, 32, 32, 64, 64)
SMALL = [(64, 32, 26, 26), (64, 64, 11, 11), (1, 32, 26, 26)]
CL = "channels_last"


def _input(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _ours(a, layout):
    """A logical (N, C, *sp) array in the layout numbaconv is called with."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if layout == CL else a


def _theirs(torch, a, layout):
    t = torch.from_numpy(a)
    if layout == CL:
        fmt = torch.channels_last if a.ndim == 4 else torch.channels_last_3d
        t = t.contiguous(memory_format=fmt)
    return t


def _label(layout):
    return " channels_last" if layout == CL else ""


def _pool_case(op, shape, k, s, p, layout="channels_first"):
    nd = len(shape) - 2

    def make(device="cpu"):
        import numbaconv as nc

        x = _input(shape)
        xo = device_put(device, _ours(x, layout))
        fn = getattr(nc, f"{op}{nd}d")
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            tf = getattr(torch.nn.functional, f"{op}{nd}d")
            t = _theirs(torch, x, layout).to(device)
            peers["torch"] = lambda: tf(t, k, s, p)
        return timed_on(device, lambda: fn(xo, k, s, p, data_format=layout), peers)

    out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]
    nbytes = 4.0 * (np.prod(shape) + np.prod(shape[:2]) * np.prod(out))
    return Case("pooling", f"{op}{nd}d{shape} k{k} s{s} p{p}{_label(layout)}", make,
                nbytes=nbytes, make_cuda=lambda: make("cuda"), peers=("torch",))


def _pool_grad_case(op, shape, k, s, p, layout="channels_first"):
    nd = len(shape) - 2

    def make():
        import numbaconv as nc
        from numbaconv import grad

        x = _input(shape)
        gshape = getattr(nc, f"{op}{nd}d")(x, k, s, p).shape
        g = np.ones(gshape, np.float32)
        xo, go = _ours(x, layout), _ours(g, layout)
        peers = {}
        torch = torch_peer()
        aten = torch.ops.aten if torch is not None else None
        if op == "max_pool":
            fn = getattr(grad, f"max_pool{nd}d_input")
            ours = lambda: fn(go, xo, k, s, p, data_format=layout)  # noqa: E731
            if torch is not None:
                t, tg = _theirs(torch, x, layout), _theirs(torch, g, layout)
                fwd = getattr(torch.nn.functional, f"max_pool{nd}d_with_indices")
                bwd = getattr(aten, f"max_pool{nd}d_with_indices_backward")

                def peer():  # the indices are part of the work, as numbaconv recomputes them
                    _, idx = fwd(t, k, s, p, return_indices=True)
                    return bwd(tg, t, [k] * nd, [s] * nd, [p] * nd, [1] * nd, False, idx)

                peers["torch"] = peer
        else:
            fn = getattr(grad, f"avg_pool{nd}d_input")
            ours = lambda: fn(go, xo.shape, k, s, p, data_format=layout)  # noqa: E731
            if torch is not None:
                t, tg = _theirs(torch, x, layout), _theirs(torch, g, layout)
                bwd = getattr(aten, f"avg_pool{nd}d_backward")
                peers["torch"] = lambda: bwd(tg, t, [k] * nd, [s] * nd, [p] * nd, False, True, None)
        return ours, peers

    out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]
    n_out = np.prod(shape[:2]) * np.prod(out)
    reads_x = np.prod(shape) if op == "max_pool" else 0
    nbytes = 4.0 * (np.prod(shape) + reads_x + n_out)
    return Case("pooling", f"grad.{op}{nd}d_input{shape} k{k} s{s} p{p}{_label(layout)}", make,
                nbytes=nbytes)


def _global_avg_cases(shape, layout="channels_first"):
    def make_fwd():
        import numbaconv as nc

        x = _input(shape)
        xo = _ours(x, layout)
        peers = {}
        torch = torch_peer()
        if torch is not None:
            t = _theirs(torch, x, layout)
            peers["torch"] = lambda: torch.nn.functional.adaptive_avg_pool2d(t, 1)
        return (lambda: nc.adaptive_avg_pool2d(xo, 1, data_format=layout)), peers

    def make_bwd():
        from numbaconv import grad

        g = np.ones(shape[:2] + (1, 1), np.float32)
        go = _ours(g, layout)
        ishape = _ours(np.empty(shape, np.float32), layout).shape
        peers = {}
        torch = torch_peer()
        if torch is not None:
            t, tg = _theirs(torch, _input(shape), layout), _theirs(torch, g, layout)
            peers["torch"] = lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tg, t)
        return (lambda: grad.adaptive_avg_pool2d_input(go, ishape, data_format=layout)), peers

    n = 4.0 * (np.prod(shape) + np.prod(shape[:2]))
    return [Case("pooling", f"adaptive_avg_pool2d{shape} -> 1x1{_label(layout)}", make_fwd,
                 nbytes=n),
            Case("pooling", f"grad.adaptive_avg_pool2d_input{shape} 1x1{_label(layout)}",
                 make_bwd, nbytes=n)]


CASES = [
    _pool_case("max_pool", IMAGE, 2, 2, 0),
    _pool_case("max_pool", IMAGE, 2, 2, 0, CL),
    _pool_case("max_pool", IMAGE, 3, 2, 1),
    _pool_case("max_pool", IMAGE, 3, 2, 1, CL),
    _pool_case("avg_pool", IMAGE, 3, 2, 1),
    _pool_case("avg_pool", IMAGE, 3, 2, 1, CL),
    _pool_case("max_pool", VOLUME, 2, 2, 0),
    _pool_case("max_pool", VOLUME, 2, 2, 0, CL),
    _pool_grad_case("max_pool", IMAGE, 2, 2, 0),
    _pool_grad_case("max_pool", IMAGE, 2, 2, 0, CL),
    _pool_grad_case("max_pool", IMAGE, 3, 2, 1),
    _pool_grad_case("max_pool", IMAGE, 3, 2, 1, CL),
    _pool_grad_case("avg_pool", IMAGE, 3, 2, 1),
    _pool_grad_case("avg_pool", IMAGE, 3, 2, 1, CL),
    _pool_grad_case("max_pool", VOLUME, 2, 2, 0),
    *_global_avg_cases(IMAGE),
    *_global_avg_cases(IMAGE, CL),
    *[c for shape in SMALL for c in (_pool_case("max_pool", shape, 2, 2, 0),
                                     _pool_case("max_pool", shape, 2, 2, 0, CL),
                                     _pool_grad_case("max_pool", shape, 2, 2, 0),
                                     _pool_grad_case("max_pool", shape, 2, 2, 0, CL))],
]


def copy_floor(shape=IMAGE) -> Case:
    """The memory floor: one ``ndarray.copy`` of the benchmark image (read + write)."""

    def make():
        x = _input(shape)
        return (lambda: x.copy()), {}

    return Case("pooling", f"copy{shape} (memory floor)", make, nbytes=2 * 4.0 * np.prod(shape))
