"""A table of every public function with one good call each, for the robustness suite.

Each :class:`Call` names a function, the array arguments (built fresh for every
use) and the other arguments. The robustness tests mutate these good calls:
bad dtypes, wrong dimensions, awkward layouts, read-only buffers, threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import numbaconv as nc
from numbaconv import grad


@dataclass
class Call:
    """One good call: ``fn(**arrays, **kwargs)`` with positional order ``order``."""

    name: str
    fn: Callable
    arrays: dict[str, tuple]  # argument -> shape (float64 unless in dtypes)
    kwargs: dict = field(default_factory=dict)
    order: tuple[str, ...] = ()  # positional arguments, in order (arrays and kwargs)
    dtypes: dict[str, type] = field(default_factory=dict)
    any_ndim: bool = False  # elementwise: every ndim is valid
    float_only: bool = True  # integer arrays are promoted (checked against float input)

    def build(self, seed: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        out = {}
        for k, shape in self.arrays.items():
            dt = self.dtypes.get(k, np.float64)
            if np.issubdtype(dt, np.integer):
                out[k] = rng.integers(0, 3, shape).astype(dt)
            else:
                out[k] = rng.standard_normal(shape).astype(dt)
        return out

    def __call__(self, arrays: dict | None = None, **override):
        arrays = self.build() if arrays is None else arrays
        merged = {**arrays, **self.kwargs, **override}
        args = [merged.pop(k) for k in self.order]
        return self.fn(*args, **merged)


def _x(shape):
    return {"x": shape}


def _calls() -> list[Call]:
    calls = [
        Call("pad", nc.pad, _x((3, 4)), {"pad_width": 2, "mode": "reflect"}, ("x", "pad_width")),
        Call("convolve", nc.convolve, {"in1": (20,), "in2": (4,)}, {"mode": "same"}, ("in1", "in2")),
        Call("correlate", nc.correlate, {"in1": (6, 7), "in2": (3, 2)}, {}, ("in1", "in2")),
        Call("convolve2d", nc.convolve2d, {"in1": (9, 8), "in2": (3, 4)}, {"boundary": "symm"},
             ("in1", "in2")),
        Call("correlate2d", nc.correlate2d, {"in1": (9, 8), "in2": (3, 3)}, {"boundary": "wrap",
             "mode": "same"}, ("in1", "in2")),
        Call("fftconvolve", nc.fftconvolve, {"in1": (9, 8), "in2": (3, 4)}, {"mode": "same"},
             ("in1", "in2")),
        Call("oaconvolve", nc.oaconvolve, {"in1": (40,), "in2": (5,)}, {}, ("in1", "in2")),
    ]
    for d in (1, 2, 3):
        sp = (7, 6, 5)[:d]
        k = (3, 2, 3)[:d]
        conv = getattr(nc, f"conv{d}d")
        calls += [
            Call(f"conv{d}d", conv, {"x": (2, 4) + sp, "weight": (6, 2) + k, "bias": (6,)},
                 {"stride": 2, "padding": 1, "groups": 2}, ("x", "weight")),
            Call(f"conv_transpose{d}d", getattr(nc, f"conv_transpose{d}d"),
                 {"x": (2, 4) + sp, "weight": (4, 3) + k}, {"stride": 2, "padding": 1},
                 ("x", "weight")),
            Call(f"grad.conv{d}d_input", getattr(grad, f"conv{d}d_input"),
                 {"weight": (6, 4) + k, "grad_output": (2, 6) + tuple(n - kk + 1 for n, kk in zip(sp, k, strict=True))},
                 {"input_shape": (2, 4) + sp}, ("input_shape", "weight", "grad_output")),
            Call(f"grad.conv{d}d_weight", getattr(grad, f"conv{d}d_weight"),
                 {"input": (2, 4) + sp, "grad_output": (2, 6) + tuple(n - kk + 1 for n, kk in zip(sp, k, strict=True))},
                 {"weight_shape": (6, 4) + k}, ("input", "weight_shape", "grad_output")),
            Call(f"max_pool{d}d", getattr(nc, f"max_pool{d}d"), _x((2, 3) + sp),
                 {"kernel_size": 2, "padding": 1}, ("x", "kernel_size")),
            Call(f"avg_pool{d}d", getattr(nc, f"avg_pool{d}d"), _x((2, 3) + sp),
                 {"kernel_size": 3, "stride": 2, "padding": 1}, ("x", "kernel_size")),
            Call(f"adaptive_max_pool{d}d", getattr(nc, f"adaptive_max_pool{d}d"), _x((2, 3) + sp),
                 {"output_size": 2}, ("x", "output_size")),
            Call(f"adaptive_avg_pool{d}d", getattr(nc, f"adaptive_avg_pool{d}d"), _x((2, 3) + sp),
                 {"output_size": 3}, ("x", "output_size")),
            Call(f"grad.max_pool{d}d_input", getattr(grad, f"max_pool{d}d_input"),
                 {"grad_output": (2, 3) + tuple(n // 2 for n in sp), "x": (2, 3) + sp},
                 {"kernel_size": 2}, ("grad_output", "x", "kernel_size")),
            Call(f"grad.adaptive_avg_pool{d}d_input", getattr(grad, f"adaptive_avg_pool{d}d_input"),
                 {"grad_output": (2, 3) + (2,) * d}, {"input_shape": (2, 3) + sp},
                 ("grad_output", "input_shape")),
            Call(f"grad.adaptive_max_pool{d}d_input", getattr(grad, f"adaptive_max_pool{d}d_input"),
                 {"grad_output": (2, 3) + (2,) * d, "x": (2, 3) + sp}, {}, ("grad_output", "x")),
            Call(f"grad.avg_pool{d}d_input", getattr(grad, f"avg_pool{d}d_input"),
                 {"grad_output": (2, 3) + tuple(n // 2 for n in sp)},
                 {"input_shape": (2, 3) + sp, "kernel_size": 2},
                 ("grad_output", "input_shape", "kernel_size")),
        ]
    elementwise = ["identity", "step", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu",
                   "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh",
                   "hardsigmoid", "hardswish", "log_sigmoid"]
    for name in elementwise:
        for suffix in ("", "_derivative", "_and_derivative"):
            calls.append(Call(name + suffix, getattr(nc, name + suffix), _x((3, 4, 5)), {}, ("x",),
                              any_ndim=True))
        calls.append(Call(name + "_backward", getattr(nc, name + "_backward"),
                          {"grad_output": (3, 4, 5), "x": (3, 4, 5)}, {}, ("grad_output", "x"),
                          any_ndim=True))
    for suffix in ("", "_derivative", "_and_derivative"):
        calls.append(Call("prelu" + suffix, getattr(nc, "prelu" + suffix),
                          {"x": (2, 3, 4), "weight": (3,)}, {}, ("x", "weight"), any_ndim=True))
    calls.append(Call("prelu_backward", nc.prelu_backward,
                      {"grad_output": (2, 3, 4), "x": (2, 3, 4), "weight": (3,)}, {},
                      ("grad_output", "x", "weight"), any_ndim=True))
    calls += [
        Call("grad.conv_bias", grad.conv_bias, {"grad_output": (2, 3, 4, 5)}, {}, ("grad_output",),
             any_ndim=True),
        Call("softmax", nc.softmax, _x((4, 6)), {"axis": -1}, ("x",), any_ndim=True),
        Call("log_softmax", nc.log_softmax, _x((4, 6)), {"axis": 0}, ("x",), any_ndim=True),
        Call("softmax_backward", nc.softmax_backward, {"grad_output": (4, 6), "output": (4, 6)},
             {"axis": -1}, ("grad_output", "output"), any_ndim=True),
        Call("log_softmax_backward", nc.log_softmax_backward,
             {"grad_output": (4, 6), "output": (4, 6)}, {"axis": -1},
             ("grad_output", "output"), any_ndim=True),
        Call("grad.prelu_weight", grad.prelu_weight,
             {"grad_output": (2, 3, 4), "x": (2, 3, 4), "weight": (3,)}, {},
             ("grad_output", "x", "weight")),
    ]
    # batch normalisation: evaluation mode (training=True updates the running statistics
    # in place, by design; that call runs without them)
    bn = {"x": (2, 3, 4, 5), "running_mean": (3,), "running_var": (3,), "weight": (3,)}
    bn_order = ("x", "running_mean", "running_var", "weight")
    g = {"grad_output": (2, 3, 4, 5)}
    calls += [
        Call("batch_norm", nc.batch_norm, {**bn, "bias": (3,)}, {}, (*bn_order, "bias")),
        Call("batch_norm training", nc.batch_norm, {"x": (2, 3, 4, 5), "weight": (3,)},
             {"running_mean": None, "running_var": None, "training": True},
             ("x", "running_mean", "running_var", "weight")),
        Call("grad.batch_norm_input", grad.batch_norm_input, {**g, **bn}, {},
             ("grad_output", *bn_order)),
        Call("grad.batch_norm_weight", grad.batch_norm_weight,
             {**g, "x": (2, 3, 4, 5), "running_mean": (3,), "running_var": (3,)}, {},
             ("grad_output", "x", "running_mean", "running_var")),
        Call("grad.batch_norm_bias", grad.batch_norm_bias, g, {}, ("grad_output",)),
        Call("grad.batch_norm_backward", grad.batch_norm_backward, {**g, **bn},
             {"training": True}, ("grad_output", *bn_order)),
    ]
    return calls


CALLS = _calls()
BY_NAME = {c.name: c for c in CALLS}
