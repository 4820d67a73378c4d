"""Benchmark cases for pooling: numbaconv against PyTorch's CPU kernels (2 threads).

Pooling is memory-bound: ``nbytes`` counts one read of every input and one
write of every output, so GB/s compares directly with :func:`copy_floor`.
"""

from __future__ import annotations

import numpy as np

from . import Case, optional

IMAGE = (32, 64, 112, 112)
VOLUME = (4, 32, 32, 64, 64)


def _torch():
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    return torch


def _input(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _pool_case(op, shape, k, s, p):
    nd = len(shape) - 2

    def make():
        import numbaconv as nc

        x = _input(shape)
        fn = getattr(nc, f"{op}{nd}d")
        peers = {}
        torch = _torch()
        if torch is not None:
            tf = getattr(torch.nn.functional, f"{op}{nd}d")
            t = torch.from_numpy(x)
            peers["torch"] = lambda: tf(t, k, s, p)
        return (lambda: fn(x, k, s, p)), peers

    out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]
    nbytes = 4.0 * (np.prod(shape) + np.prod(shape[:2]) * np.prod(out))
    return Case("pooling", f"{op}{nd}d{shape} k{k} s{s} p{p}", make, nbytes=nbytes)


def _pool_grad_case(op, shape, k, s, p):
    nd = len(shape) - 2

    def make():
        import numbaconv as nc
        from numbaconv import grad

        x = _input(shape)
        g = np.ones(getattr(nc, f"{op}{nd}d")(x, k, s, p).shape, np.float32)
        peers = {}
        torch = _torch()
        aten = torch.ops.aten if torch is not None else None
        if op == "max_pool":
            fn = getattr(grad, f"max_pool{nd}d_input")
            ours = lambda: fn(g, x, k, s, p)  # noqa: E731
            if torch is not None:
                t, tg = torch.from_numpy(x), torch.from_numpy(g)
                fwd = getattr(torch.nn.functional, f"max_pool{nd}d_with_indices")
                bwd = getattr(aten, f"max_pool{nd}d_with_indices_backward")

                def peer():  # the indices are part of the work, as numbaconv recomputes them
                    _, idx = fwd(t, k, s, p, return_indices=True)
                    return bwd(tg, t, [k] * nd, [s] * nd, [p] * nd, [1] * nd, False, idx)

                peers["torch"] = peer
        else:
            fn = getattr(grad, f"avg_pool{nd}d_input")
            ours = lambda: fn(g, x.shape, k, s, p)  # noqa: E731
            if torch is not None:
                t, tg = torch.from_numpy(x), torch.from_numpy(g)
                bwd = getattr(aten, f"avg_pool{nd}d_backward")
                peers["torch"] = lambda: bwd(tg, t, [k] * nd, [s] * nd, [p] * nd, False, True, None)
        return ours, peers

    out = [(n + 2 * p - k) // s + 1 for n in shape[2:]]
    n_out = np.prod(shape[:2]) * np.prod(out)
    reads_x = np.prod(shape) if op == "max_pool" else 0
    nbytes = 4.0 * (np.prod(shape) + reads_x + n_out)
    return Case("pooling", f"grad.{op}{nd}d_input{shape} k{k} s{s} p{p}", make, nbytes=nbytes)


def _global_avg_cases(shape):
    def make_fwd():
        import numbaconv as nc

        x = _input(shape)
        peers = {}
        torch = _torch()
        if torch is not None:
            t = torch.from_numpy(x)
            peers["torch"] = lambda: torch.nn.functional.adaptive_avg_pool2d(t, 1)
        return (lambda: nc.adaptive_avg_pool2d(x, 1)), peers

    def make_bwd():
        from numbaconv import grad

        g = np.ones(shape[:2] + (1, 1), np.float32)
        peers = {}
        torch = _torch()
        if torch is not None:
            t, tg = torch.from_numpy(_input(shape)), torch.from_numpy(g)
            peers["torch"] = lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tg, t)
        return (lambda: grad.adaptive_avg_pool2d_input(g, shape)), peers

    n = 4.0 * (np.prod(shape) + np.prod(shape[:2]))
    return [Case("pooling", f"adaptive_avg_pool2d{shape} -> 1x1", make_fwd, nbytes=n),
            Case("pooling", f"grad.adaptive_avg_pool2d_input{shape} 1x1", make_bwd, nbytes=n)]


CASES = [
    _pool_case("max_pool", IMAGE, 2, 2, 0),
    _pool_case("max_pool", IMAGE, 3, 2, 1),
    _pool_case("avg_pool", IMAGE, 3, 2, 1),
    _pool_case("max_pool", VOLUME, 2, 2, 0),
    _pool_grad_case("max_pool", IMAGE, 2, 2, 0),
    _pool_grad_case("max_pool", IMAGE, 3, 2, 1),
    _pool_grad_case("avg_pool", IMAGE, 3, 2, 1),
    _pool_grad_case("max_pool", VOLUME, 2, 2, 0),
    *_global_avg_cases(IMAGE),
]


def copy_floor(shape=IMAGE) -> Case:
    """The memory floor: one ``ndarray.copy`` of the benchmark image (read + write)."""

    def make():
        x = _input(shape)
        return (lambda: x.copy()), {}

    return Case("pooling", f"copy{shape} (memory floor)", make, nbytes=2 * 4.0 * np.prod(shape))
