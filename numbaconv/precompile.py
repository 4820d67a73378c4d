"""Fill Numba's on-disk cache ahead of time: :func:`compile` and ``python -m numbaconv compile``.

A numbaconv kernel compiles the first time it is called with a new dtype or code
path, and is then loaded from Numba's on-disk cache in every later process. A
container image, a CI runner or a cluster worker can pay that compile once, at
build time, for everything it will use::

    python -m numbaconv compile                      # every family, float32 and float64
    python -m numbaconv compile conv pooling --dtype float32

The work is one representative call per kernel path (:data:`CALLS`), run in
worker processes on all cores, each taking the calls of one family and dtype at a
time. Each worker reports what it compiled and what it found in the cache; the
summary gives the kernel count, the time, and the cache's location and size. Where
the cache lives is Numba's choice: ``NUMBA_CACHE_DIR`` when set, else
``__pycache__`` beside numbaconv's modules, else a per-user directory when the
package is not writable.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

#: dtypes numbaconv computes in (integers and bools compute in float64 in the deep-learning
#: families; the signal family also computes in integer and complex types)
DTYPES = ("float32", "float64", "int64", "complex128")
#: what ``compile()`` does when no dtype is named
DEFAULT_DTYPES = ("float32", "float64")

Call = Callable[[np.dtype], object]


def _rng():
    return np.random.default_rng(0)


def _x(shape, dtype):
    return _rng().standard_normal(shape).astype(dtype)


def _padding_calls():
    import numbaconv as nc

    modes = ("constant", "edge", "reflect", "symmetric", "wrap")
    return {f"pad {m}": (lambda dt, m=m: nc.pad(_x((3, 5), dt), 2, mode=m)) for m in modes}


def _signal_calls():
    import numbaconv as nc

    calls = {
        "convolve direct": lambda dt: nc.convolve(_x(64, dt), _x(5, dt), method="direct"),
        "convolve direct 3-D": lambda dt: nc.convolve(_x((6, 6, 6), dt), _x((3, 3, 3), dt),
                                                      method="direct"),
        # a real signal and a complex kernel: single precision stays single (complex64)
        "convolve real by complex": lambda dt: nc.convolve(
            _x(50, dt), _x(5, dt).astype(np.result_type(dt, np.complex64)), method="direct"),
        "correlate direct 2-D": lambda dt: nc.correlate(_x((9, 9), dt), _x((3, 3), dt),
                                                        method="direct"),
        "convolve fft": lambda dt: nc.convolve(_x(64, dt), _x(5, dt), method="fft"),
        "fftconvolve": lambda dt: nc.fftconvolve(_x((12, 12), dt), _x((3, 3), dt), mode="same"),
        "oaconvolve": lambda dt: (nc.oaconvolve(_x(400, dt), _x(9, dt)),
                                  nc.oaconvolve(_x((40, 40), dt), _x((5, 5), dt))),
    }
    for b in ("fill", "wrap", "symm"):
        calls[f"convolve2d {b}"] = (lambda dt, b=b: nc.convolve2d(_x((9, 9), dt), _x((3, 3), dt),
                                                                  boundary=b))
    # a large kernel on an image: overlap-save tiles in pairs by FFT for floats, read from
    # the image through the boundary's index maps (the cost model's pick from about this
    # size; a 64 x 64 image took one transform and left the tiles' kernels uncompiled)
    calls["convolve2d large kernel"] = lambda dt: nc.convolve2d(
        _x((256, 256), dt), _x((31, 31), dt), "same", "symm")
    return calls


def _conv_calls():
    import numbaconv as nc
    from numbaconv import grad
    from numbaconv.cpu.conv_plan import STRATEGIES

    layers = {  # (x shape, w shape, keyword arguments): one per CPU code path
        "direct stride 1": ((2, 3, 8, 8), (4, 3, 3, 3), {}),
        "direct strided": ((2, 3, 9, 9), (4, 3, 3, 3), {"stride": 2}),
        "depthwise": ((2, 4, 8, 8), (4, 1, 3, 3), {"groups": 4, "padding": 1}),
        "gemm": ((2, 16, 8, 8), (16, 16, 3, 3), {"stride": 2}),
        "winograd": ((1, 32, 8, 8), (32, 32, 3, 3), {"padding": 1}),
        "reflect padding": ((1, 2, 6, 6), (2, 2, 3, 3), {"padding": 1,
                                                         "padding_mode": "reflect"}),
        # grouped, strided, a non-square kernel (the direct loops of either layout)
        "grouped strided": ((3, 8, 9, 10), (16, 4, 3, 2), {"stride": 2, "padding": (1, 2),
                                                           "groups": 2}),
        # dilated, not split into phases: the GEMM's gather by blocks and its scatter back
        "dilated odd padding": ((2, 4, 11, 12), (8, 4, 3, 3), {"padding": 2, "dilation": 2}),
        "dilated grid": ((2, 16, 20, 20), (16, 16, 3, 3), {"padding": 1, "dilation": 2}),
    }
    calls = {}
    for name, (xs, ws, kw) in layers.items():
        calls[f"conv2d {name}"] = partial(_conv_forward, xs, ws, kw)
        calls[f"conv2d {name} gradients"] = partial(_conv_gradients, xs, ws, kw)
    xs, ws, kw = layers["grouped strided"]
    calls["conv2d grouped strided channels-last"] = partial(
        _conv_gradients, xs, ws, {**kw, "data_format": "channels_last"})
    # every strategy of the CPU cost model (cpu/conv_plan.py) on a small-map layer, in both
    # layouts: what a training loop over small feature maps reaches
    for strategy in STRATEGIES:
        for fmt in ("channels_first", "channels_last"):
            kw = {"padding": 1, "data_format": fmt}
            calls[f"conv2d {strategy} {fmt}"] = partial(_conv_forced, strategy, kw)
    # the few-channel kernels (cpu/simd.py's filter and position blocks, the thin weight
    # gradients of either layout) serially and, from a few images on, through their drivers on Numba's
    # threads; the channels-last depthwise kernels' drivers likewise
    for n in (1, 8):
        calls[f"conv2d few channels batch {n}"] = partial(_few_channels, n)
    calls["conv2d depthwise channels-last"] = partial(
        _conv_gradients, (4, 64, 32, 32), (64, 1, 3, 3),
        {"groups": 64, "padding": 1, "data_format": "channels_last"})
    # the channels-first depthwise kernels' drivers, a dilated layer's phases moved on
    # Numba's threads, and a batch-1 dense layer as a one-position convolution (serial
    # and split by filters)
    calls["conv2d depthwise channels-first"] = partial(
        _conv_gradients, (4, 64, 32, 32), (64, 1, 3, 3), {"groups": 64, "padding": 1})
    for fmt in ("channels_first", "channels_last"):
        calls[f"conv2d dilated {fmt}"] = partial(
            _conv_gradients, (2, 16, 48, 48), (16, 16, 3, 3),
            {"padding": 2, "dilation": 2, "data_format": fmt})
    # the strided few-channel tiles (cpu/strided.py; the weight gradient's channels-first)
    # in both layouts: a small layer on the calling thread, a stem on Numba's threads
    for fmt in ("channels_first", "channels_last"):
        calls[f"conv2d strided few channels {fmt}"] = lambda dt, fmt=fmt: (
            _conv_gradients((1, 1, 32, 32), (64, 1, 3, 3),
                            {"stride": 2, "padding": 1, "data_format": fmt}, dt),
            _conv_gradients((2, 3, 64, 64), (32, 3, 5, 5),
                            {"stride": 2, "padding": 2, "data_format": fmt}, dt))
    # one image's weight gradients past the register tiles' reach (cpu/conv_gemm.py's
    # WEIGHT_TILES_UP_TO multiply-adds; and on few positions): OpenBLAS's GEMMs
    calls["conv2d one-image GEMM weight gradients"] = lambda dt: (
        _conv_gradients((1, 64, 28, 28), (64, 64, 3, 3), {"padding": 1}, dt),
        _conv_gradients((1, 128, 7, 7), (256, 128, 3, 3), {"padding": 1}, dt))
    calls["conv1d dense one position"] = lambda dt: (
        nc.conv1d(_x((1, 64, 1), dt), _x((10, 64, 1), dt), _x(10, dt)),
        nc.conv1d(_x((1, 1200, 1), dt), _x((500, 1200, 1), dt), _x(500, dt)))
    calls["conv bias gradient"] = lambda dt: (grad.conv_bias(_x((2, 4, 5, 5), dt)),
                                              grad.conv_bias(_x((32, 32, 26, 26), dt)))
    calls["conv_transpose2d"] = lambda dt: nc.conv_transpose2d(_x((1, 4, 5, 5), dt),
                                                               _x((4, 2, 3, 3), dt), stride=2)
    calls["conv1d causal"] = lambda dt: nc.conv1d(_x((2, 3, 16), dt), _x((4, 3, 3), dt),
                                                  padding="causal")
    calls["conv3d"] = lambda dt: nc.conv3d(_x((1, 2, 5, 5, 5), dt), _x((3, 2, 3, 3, 3), dt))
    return calls


def _few_channels(n, dt):
    """A first layer's passes (one input channel, 32 filters, 28x28) in both layouts, and a
    channels-last 1x1 layer on eight channels (more than the strided tiles take: the
    channels-last grid kernel's)."""
    layer = ((n, 1, 28, 28), (32, 1, 3, 3))
    return (_conv_gradients(*layer, {}, dt),
            _conv_forward(*layer, {"data_format": "channels_last"}, dt),
            _conv_gradients(*layer, {"data_format": "channels_last"}, dt),
            _conv_forward((n, 8, 28, 28), (16, 8, 1, 1), {"data_format": "channels_last"}, dt))


def _conv_forward(xs, ws, kw, dt):
    import numbaconv as nc

    x = _x(xs, dt)
    if kw.get("data_format") == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    return nc.conv2d(x, _x(ws, dt), _x(ws[0], dt), **kw)


def _conv_gradients(xs, ws, kw, dt):
    import numbaconv as nc
    from numbaconv import grad

    kw = {k: v for k, v in kw.items() if k != "padding_mode"}
    x, w = _x(xs, dt), _x(ws, dt)
    if kw.get("data_format") == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    g = np.ones_like(nc.conv2d(x, w, **kw))
    return (grad.conv2d_input(x.shape, w, g, **kw), grad.conv2d_weight(x, ws, g, **kw),
            grad.conv_bias(g, data_format=kw.get("data_format", "channels_first")))


#: the variants of a strategy's passes the planner chooses between by cost (cpu/conv_plan.py):
#: each is compiled, where forcing only the strategy compiled the one these layers pick (the
#: Winograd input gradients' adjoint kernels, which the course notes' training steps reach,
#: were left to a user's first step: 20 s on Zen 3)
_VARIANTS = {"gemm_nhwc": ("dots", "gemm"), "winograd_nhwc": ("adjoint", "flipped"),
             "winograd4": ("adjoint", "flipped")}


def _conv_forced(strategy, kw, dt):
    from numbaconv.cpu.conv_plan import forced

    out = []
    for variant in _VARIANTS.get(strategy, (None,)):
        with forced(strategy, variant):  # (one image: the compiled one-image kernels)
            out += [_conv_forward((2, 32, 9, 9), (32, 32, 3, 3), kw, dt),
                    # (a 12x12 output: Winograd's F(4x4) tiles; 9x9 and 3x3 take F(3x3)'s)
                    _conv_forward((2, 32, 12, 12), (32, 32, 3, 3), kw, dt),
                    _conv_gradients((2, 32, 12, 12), (32, 32, 3, 3), kw, dt),
                    _conv_forward((1, 32, 9, 9), (32, 32, 3, 3), kw, dt),
                    _conv_gradients((2, 32, 9, 9), (32, 32, 3, 3), kw, dt),
                    _conv_gradients((1, 32, 9, 9), (32, 32, 3, 3), kw, dt),
                    # few positions (4 * P <= K): channel-major patch rows
                    _conv_forward((1, 32, 3, 3), (64, 32, 3, 3), kw, dt),
                    _conv_gradients((1, 32, 3, 3), (64, 32, 3, 3), kw, dt)]
    return out


def _pooling_calls():
    import numbaconv as nc
    from numbaconv import grad

    def max_pool(dt):
        x, wide = _x((2, 3, 8, 8), dt), _x((1, 2, 4, 18), dt)  # (2x2 gradient: planes, rows)
        big = _x((8, 32, 32, 32), dt)  # (the 2x2 kernels' drivers on Numba's threads)
        small = _x((64, 64, 11, 11), dt)  # (the small-map 2x2 gradient's driver)
        y, yw, yb = nc.max_pool2d(x, 2), nc.max_pool2d(wide, 2), nc.max_pool2d(big, 2)
        nc.max_pool2d(big, 3, 2, 1)  # (the generic kernel's driver)
        return y, nc.max_pool2d(x, 3, 2, 1, return_indices=True), grad.max_pool2d_input(
            np.ones_like(y), x, 2), grad.max_pool2d_input(np.ones_like(yw), wide, 2), \
            grad.max_pool2d_input(np.ones_like(yb), big, 2), \
            grad.max_pool2d_input(np.ones_like(nc.max_pool2d(small, 2)), small, 2)

    def avg_pool(dt):
        x, big = _x((2, 3, 8, 8), dt), _x((8, 32, 32, 32), dt)
        y = nc.avg_pool2d(x, 3, 2, 1)
        # (the forward kernels' drivers on Numba's threads: generic, 2x2, global)
        nc.avg_pool2d(big, 3, 2, 1)
        nc.avg_pool2d(big, 2)
        nc.adaptive_avg_pool2d(big, 1)
        return y, nc.avg_pool2d(x, 2), grad.avg_pool2d_input(np.ones_like(y), x.shape, 3, 2, 1)

    def adaptive(dt):
        x = _x((2, 3, 7, 7), dt)
        a, m = nc.adaptive_avg_pool2d(x, 3), nc.adaptive_max_pool2d(x, 3)
        return (grad.adaptive_avg_pool2d_input(np.ones_like(a), x.shape),
                grad.adaptive_max_pool2d_input(np.ones_like(m), x))

    def windows(dt):
        # the channels-first kernels' other interiors (a 2x2 stride-2 window that does not
        # tile the map, 3x3 stride 2 as ResNet's stem pools, any other) with their indices
        # and gradients
        x = _x((2, 3, 9, 9), dt)
        out = []
        for k, s, p in ((2, 2, 1), (3, 2, 1), (3, 1, 0)):  # (kernel, stride, padding)
            y, _ = nc.max_pool2d(x, k, s, p, return_indices=True)
            out += [nc.max_pool2d(x, k, s, p), grad.max_pool2d_input(np.ones_like(y), x, k, s, p)]
        return out

    def unpool(dt):
        y, idx = nc.max_pool2d(_x((1, 2, 6, 6), dt), 2, return_indices=True)
        yl, il = nc.max_pool2d(_x((1, 6, 6, 2), dt), 2, return_indices=True,
                               data_format="channels_last")
        return nc.max_unpool2d(y, idx, 2), nc.max_unpool2d(yl, il, 2,
                                                           data_format="channels_last")

    def channels_last(dt):
        x, cl = _x((2, 8, 8, 3), dt), "channels_last"
        y, a = nc.max_pool2d(x, 2, data_format=cl), nc.avg_pool2d(x, 3, 2, 1, data_format=cl)
        y3 = nc.max_pool2d(x, 3, 2, 1, data_format=cl)  # (the 2x2 kernels are their own)
        big = _x((16, 32, 32, 32), dt)  # (and their drivers on Numba's threads)
        yb = nc.max_pool2d(big, 2, data_format=cl)
        nc.max_pool2d(big, 3, 2, 1, data_format=cl)
        nc.avg_pool2d(big, 3, 2, 1, data_format=cl)
        return (nc.max_pool2d(x, 3, 2, 1, return_indices=True, data_format=cl),
                grad.max_pool2d_input(np.ones_like(yb), big, 2, data_format=cl),
                grad.max_pool2d_input(np.ones_like(y3), x, 3, 2, 1, data_format=cl),
                grad.max_pool2d_input(np.ones_like(y), x, 2, data_format=cl),
                grad.avg_pool2d_input(np.ones_like(a), x.shape, 3, 2, 1, data_format=cl))

    return {"max_pool2d": max_pool, "max_pool2d windows": windows, "avg_pool2d": avg_pool,
            "adaptive pooling": adaptive,
            "max_unpool2d": unpool, "channels-last pooling": channels_last}


def _normalization_calls():
    import numbaconv as nc
    from numbaconv import grad

    def run(shape, fmt, dt):
        x = _x(shape, dt)
        c = shape[-1] if fmt == "channels_last" else shape[1]
        rm, rv, w = np.zeros(c, dt), np.ones(c, dt), np.ones(c, dt)
        y = nc.batch_norm(x, rm, rv, w, w, training=True, data_format=fmt)
        g = np.ones_like(y)
        return (y, nc.batch_norm(x, rm, rv, w, w, data_format=fmt),
                grad.batch_norm_backward(g, x, rm, rv, w, True, data_format=fmt),
                grad.batch_norm_backward(g, x, rm, rv, w, False, data_format=fmt),
                grad.batch_norm_bias(g, data_format=fmt))

    # (the threaded shapes: SERIAL_BELOW elements, fixed runs of items on Numba's threads)
    return {"batch_norm (N, C, H, W)": partial(run, (4, 3, 5, 5), "channels_first"),
            "batch_norm (N, C)": partial(run, (8, 6), "channels_first"),
            "batch_norm (N, C, H, W) threaded": partial(run, (8, 8, 32, 32), "channels_first"),
            "batch_norm (N, C) threaded": partial(run, (1024, 64), "channels_first")}


def _activation_calls():
    import numbaconv as nc
    from numbaconv import grad

    calls = {}
    names = [n for n in nc.__all__ if n + "_derivative" in nc.__all__ and n != "prelu"]
    for name in names:
        forms = [getattr(nc, name), getattr(nc, name + "_derivative")]
        for suffix in ("_and_derivative", "_backward"):
            if name + suffix in nc.__all__:
                forms.append(getattr(nc, name + suffix))

        def run(dt, forms=forms, suffix_backward=name + "_backward"):
            out = []
            # small, and large enough for the exponential activations' parallel drivers
            # (cpu.activations.PARALLEL; f, f' and the VJP)
            for x in (_x((4, 5), dt), _x((64, 1024), dt)):
                for f in forms:
                    if x.size > 20 and f.__name__.endswith("_and_derivative"):
                        continue
                    out.append(f(x, x) if f.__name__ == suffix_backward else f(x))
            return out

        calls[name] = run

    def softmaxes(dt):
        out = []
        # short rows (blocked passes), long rows (fused), and both large enough for the
        # parallel drivers; slices of an inner axis, small and large
        for shape in ((4, 5), (2, 600), (64, 200), (64, 600)):
            x = _x(shape, dt)
            y, ly = nc.softmax(x), nc.log_softmax(x)
            out += [y, ly, nc.softmax_backward(x, y), nc.log_softmax_backward(x, ly)]
        for shape in ((3, 4, 5), (3, 40, 300)):
            x = _x(shape, dt)
            y, ly = nc.softmax(x, axis=1), nc.log_softmax(x, axis=1)
            out += [nc.softmax_backward(x, y, axis=1), nc.log_softmax_backward(x, ly, axis=1)]
        return out

    def prelu(dt):
        x, w = _x((2, 3, 4), dt), np.full(3, 0.25, dt)
        return (nc.prelu(x, w), nc.prelu_derivative(x, w), nc.prelu_and_derivative(x, w),
                nc.prelu_backward(x, x, w), grad.prelu_weight(x, x, w))

    def gelu_tanh(dt):  # (the tanh form's kernels are their own)
        x = _x((4, 5), dt)
        return (nc.gelu(x, "tanh"), nc.gelu_derivative(x, "tanh"),
                nc.gelu_and_derivative(x, "tanh"), nc.gelu_backward(x, x, "tanh"))

    calls["softmax"] = softmaxes
    calls["prelu"] = prelu
    calls["gelu tanh"] = gelu_tanh
    return calls


#: family -> builder of {label: call(dtype)}; each call runs every kernel of one code path
CALLS: dict[str, Callable[[], Mapping[str, Call]]] = {
    "padding": _padding_calls,
    "signal": _signal_calls,
    "conv": _conv_calls,
    "pooling": _pooling_calls,
    "activations": _activation_calls,
    "normalization": _normalization_calls,
}

#: dtypes each family computes in (others convert to these)
FAMILY_DTYPES = {"padding": DTYPES, "signal": DTYPES}


def _check(families, dtypes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if isinstance(families, str):
        families = (families,)
    if isinstance(dtypes, str):
        dtypes = (dtypes,)
    families = tuple(CALLS) if not families else tuple(families)
    bad = [f for f in families if f not in CALLS]
    if bad:
        raise ValueError(f"unknown famil{'ies' if len(bad) > 1 else 'y'} {', '.join(map(repr, bad))}"
                         f"; accepted: {', '.join(CALLS)}")
    names = []
    for d in dtypes or DEFAULT_DTYPES:
        try:
            name = np.dtype(d).name
        except TypeError:
            name = str(d)
        if name not in DTYPES:
            raise ValueError(f"unknown dtype {d!r}; accepted: {', '.join(DTYPES)}")
        names.append(name)
    return families, tuple(dict.fromkeys(names))


def _tasks(families, dtypes) -> list[tuple[str, str, str]]:
    tasks = []
    for family in families:
        allowed = FAMILY_DTYPES.get(family, DEFAULT_DTYPES)
        for dtype in dtypes:
            if dtype in allowed:
                tasks += [(family, dtype, label) for label in CALLS[family]()]
    return tasks


#: families in the order their groups go to the workers: the costliest first (a cold
#: compile on Zen 3, one process: conv 220-230 s a dtype, activations 60 s, pooling 30 s,
#: normalization 20-26 s, signal 4 s, padding 1-2 s), so the last groups are short
_COST_ORDER = ("conv", "activations", "pooling", "normalization", "signal", "padding")


def _groups(tasks: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
    """``tasks`` grouped by (family, dtype), the costliest families first: the unit a worker
    process takes. Calls of one family and dtype share most of their kernels (a strategy's
    forward and gradients, a layout's drivers); two processes running them at once both
    compiled the shared ones (2 workers over single calls: 1016 s of CPU time against one
    process's 696 s for the whole API, Zen 3), while groups of different dtypes share almost
    nothing."""
    groups: dict[tuple[str, str], list] = {}
    for task in tasks:
        groups.setdefault(task[:2], []).append(task)
    return sorted(groups.values(), key=lambda g: _COST_ORDER.index(g[0][0]))


def _numbaconv_dispatchers():
    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if name.startswith("numbaconv.") and module is not None:
            for obj in vars(module).values():
                if isinstance(obj, Dispatcher):
                    yield obj


def _warm(group: list[tuple[str, str, str]]) -> tuple[int, int, list[str]]:
    """Run a group of calls in this (worker) process: ``(kernels compiled, kernels loaded,
    cache dirs)``."""
    from numba.core import event

    compiled = []

    class Listener(event.Listener):
        def on_start(self, event):
            pass

        def on_end(self, event):
            module = getattr(event.data["dispatcher"].py_func, "__module__", "") or ""
            if module.startswith("numbaconv"):
                compiled.append(module)

    listener = Listener()
    event.register("numba:compile", listener)
    try:
        hits_before = sum(sum(d.stats.cache_hits.values()) for d in _numbaconv_dispatchers())
        for family, dtype, label in group:
            CALLS[family]()[label](np.dtype(dtype))
        hits = sum(sum(d.stats.cache_hits.values()) for d in _numbaconv_dispatchers())
    finally:
        event.unregister("numba:compile", listener)
    # (numba's stub of Dispatcher leaves out the private _cache every instance has)
    dirs = {getattr(d._cache, "cache_path", None)  # pyright: ignore[reportAttributeAccessIssue]
            for d in _numbaconv_dispatchers()}
    return len(compiled), hits - hits_before, sorted(p for p in dirs if p)


@dataclass
class CompileReport:
    """What :func:`compile` did."""

    calls: int
    compiled: int
    loaded: int
    seconds: float
    cache_dirs: list[str] = field(default_factory=list)
    cache_bytes: int = 0

    def __str__(self) -> str:
        where = ", ".join(self.cache_dirs) or "(no on-disk cache)"
        return (f"{self.calls} calls: {self.compiled} kernels compiled, {self.loaded} already "
                f"cached, in {self.seconds:.1f} s; cache {self.cache_bytes / 2**20:.1f} MiB "
                f"in {where}")


def _cache_bytes(dirs: Iterable[str]) -> int:
    total = 0
    for d in dirs:
        for entry in os.scandir(d) if os.path.isdir(d) else ():
            if entry.name.endswith((".nbi", ".nbc")):
                total += entry.stat().st_size
    return total


def compile(families: str | Sequence[str] | None = None,  # noqa: A001 - numbaconv.compile
            dtypes: str | Sequence[str] | None = None, *, processes: int | None = None,
            progress: bool = True) -> CompileReport:
    """Compile numbaconv's kernels into Numba's on-disk cache ahead of time.

    Runs one representative call per kernel path of each family in ``dtypes``, in
    ``processes`` worker processes (default: every core). Later processes that use those
    kernels load them from the cache instead of compiling.

    Parameters
    ----------
    families : str or sequence of str, optional
        Some of 'padding', 'signal', 'conv', 'pooling', 'activations', 'normalization'
        (default: all).
    dtypes : str or sequence of str, optional
        Some of 'float32', 'float64' (default: both), and for the signal and padding
        families also 'int64' and 'complex128'.
    processes : int, optional
        Worker processes (default ``os.cpu_count()``); 1 compiles in this process.
    progress : bool, optional
        Show a progress bar (tqdm when installed) on standard error.

    Returns
    -------
    CompileReport
        Calls run, kernels compiled and already cached, seconds, cache location and size.

    Raises
    ------
    ValueError
        On an unknown family or dtype; the message lists the accepted names.

    Examples
    --------
    >>> import numbaconv
    >>> report = numbaconv.compile("padding", "float64", processes=1, progress=False)
    >>> report.calls
    5
    """
    families, dtypes = _check(families, dtypes)
    tasks = _tasks(families, dtypes)
    groups = _groups(tasks)
    workers = max(1, min(processes or os.cpu_count() or 1, len(groups)))
    start = time.perf_counter()
    bar = _progress(len(tasks), progress)
    compiled = loaded = 0
    dirs: set[str] = set()
    pool = None
    if workers == 1:
        groups = [[task] for task in tasks]  # (the bar moves call by call)
        results = map(_warm, groups)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        results = pool.map(_warm, groups)
    try:
        for group, (n_compiled, n_loaded, paths) in zip(groups, results, strict=True):
            compiled += n_compiled
            loaded += n_loaded
            dirs.update(paths)
            bar(len(group))
    finally:
        bar(None)
        if pool is not None:
            pool.shutdown()
    seconds = time.perf_counter() - start
    return CompileReport(len(tasks), compiled, loaded, seconds, sorted(dirs), _cache_bytes(dirs))


def _progress(total: int, enabled: bool):
    """``update(n)``/``update(None)`` (close) for a progress bar on stderr, or a no-op."""
    if not enabled:
        return lambda n: None
    try:
        from tqdm import tqdm
    except ImportError:
        done = [0]

        def plain(n):
            if n is None:
                print(file=sys.stderr)
                return
            done[0] += n
            print(f"\rcompiling numbaconv kernels: {done[0]}/{total}", end="", file=sys.stderr)

        return plain
    bar = tqdm(total=total, desc="compiling numbaconv kernels", unit="call", file=sys.stderr)
    return lambda n: bar.close() if n is None else bar.update(n)
