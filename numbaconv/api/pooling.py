"""Public pooling API: max, average and adaptive pooling in 1-3 D, unpooling, and their gradients.

PyTorch ``torch.nn.functional`` semantics and argument order. Every function
is generic over 1, 2 and 3 spatial dimensions: internally a 1-D or 2-D
problem is a 3-D one with singleton leading spatial axes, described by
per-axis *window tables* (see :mod:`numbaconv.cpu.pooling`), so one kernel
per operation serves all of them, on CPU and GPU alike.

Semantics (identical on CPU and GPU):

* max pooling pads with -inf. Taps are scanned in row-major (d, h, w) order;
  the first maximum wins (its index is returned and it takes the whole
  gradient). A window holding a NaN yields NaN and its index points at the
  first NaN (PyTorch points at the last one). A window lying entirely in the
  padding (possible only with dilation) yields -inf and index -1.
* indices are flat positions within each (n, c) input plane, int64.
* average pooling: ``count_include_pad`` counts zero padding in the divisor,
  the part of a ``ceil_mode`` window beyond input + padding never counts,
  ``divisor_override`` replaces the divisor. ``padding='same'`` leaves the
  padding out of the divisor (Keras/TensorFlow), whatever ``count_include_pad``.
* adaptive pooling: output ``i`` pools ``[floor(i*n/out), ceil((i+1)*n/out))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import layout
from ..core.dispatch import CPU, asarray, backend_of, empty, kernels
from ..core.operands import dtype_of, float_dtype
from ..core.validate import check_int, int_tuple
from ..shapes import pool_output_size

__all__: list[str] = []
__grad_all__: list[str] = []

_WORDS = ("valid", "same")

#: a NumPy array-like or a CUDA array (``__cuda_array_interface__``)
Array = Any
Size = int | Sequence[int]
Padding = int | str | Sequence[int] | Sequence[tuple[int, int]]


# --------------------------------------------------------------------------------------------
# window tables
# --------------------------------------------------------------------------------------------


@dataclass
class _Axis:
    """One spatial axis' windows: tap 0 position, first / end valid tap, divisor factor."""

    base: np.ndarray
    j0: np.ndarray
    j1: np.ndarray
    dil: int
    stride: int  # for the vectorised interior; 0 when windows are irregular (adaptive)
    fac: np.ndarray  # float64 divisor factors (average pooling)

    @property
    def out(self) -> int:
        return len(self.base)


def _regular_axis(n, k, s, d, lo, hi, out, include_pad) -> _Axis:
    base = np.arange(out, dtype=np.int64) * s - lo
    j0 = np.maximum(0, -(base // d))                      # ceil(-base / d), at least 0
    j1 = np.maximum(j0, np.minimum(k, (n - 1 - base) // d + 1))
    if include_pad:  # PyTorch: the window clipped to input + padding
        fac = np.minimum(base + k, n + hi) - base
    else:
        fac = np.minimum(base + k, n) - np.maximum(base, 0)
    return _Axis(base, j0, j1, d, s, fac.astype(np.float64))


def _adaptive_axis(n, out) -> _Axis:
    if n % out == 0:  # uniform windows: the regular (vectorised) form of the same windows
        k = n // out
        return _regular_axis(n, k, k, 1, 0, 0, out, True)
    o = np.arange(out, dtype=np.int64)
    start = (o * n) // out
    end = ((o + 1) * n + out - 1) // out
    return _Axis(start, np.zeros(out, np.int64), end - start, 1, 0, (end - start).astype(np.float64))


def _singleton_axis() -> _Axis:
    z = np.zeros(1, np.int64)
    return _Axis(z, z, z + 1, 1, 1, np.ones(1))


@dataclass
class _Plan:
    nd: int
    spatial: tuple  # input spatial sizes, as given (nd entries)
    out: tuple      # output spatial sizes (nd entries)
    axes: tuple     # three _Axis, (D, H, W), singletons first

    def win_geo(self):
        m = max(a.out for a in self.axes)
        win = np.zeros((3, 3, m), np.int64)
        for i, a in enumerate(self.axes):
            win[i, 0, :a.out], win[i, 1, :a.out], win[i, 2, :a.out] = a.base, a.j0, a.j1
        w = self.axes[2]
        full = np.flatnonzero((w.j0 == 0) & (w.j1 == w.j1.max(initial=0))) if w.stride else []
        ia, ib = (int(full[0]), int(full[-1]) + 1) if len(full) else (0, 0)
        if w.stride and ia < ib and np.any(w.base[ia:ib] != w.base[0] + w.stride * np.arange(ia, ib)):
            ia, ib = 0, 0  # (never happens for regular windows; kept as a guard)
        geo = np.array([a.dil for a in self.axes] + [max(w.stride, 1), ia, ib], np.int64)
        return win, geo

    def fac(self, dtype, override=None):
        m = max(a.out for a in self.axes)
        fac = np.ones((3, m), np.float64)
        for i, a in enumerate(self.axes):
            fac[i, :a.out] = a.fac
        if override is not None:
            fac[:] = 1.0
            fac[0, :] = override
        return fac.astype(dtype)

    def inverse(self):
        """Per axis, the outputs whose window holds each input position, as a dense table.

        ``inv[a, m, i]`` is the ``m``-th such output (ascending) of input
        position ``i`` along axis ``a``; unused slots hold the sentinel
        ``out_a`` (the axis' output length), which kernels skip or read as zero.
        """
        tables = []
        for a, n in zip(self.axes, self._in3, strict=True):
            j = np.arange(int(a.j1.max(initial=0)), dtype=np.int64)
            keep = (j[None, :] >= a.j0[:, None]) & (j[None, :] < a.j1[:, None])
            pos = (a.base[:, None] + a.dil * j[None, :])[keep]
            outs = np.broadcast_to(np.arange(a.out, dtype=np.int64)[:, None], keep.shape)[keep]
            order = np.lexsort((outs, pos))
            pos, outs = pos[order], outs[order]
            counts = np.bincount(pos, minlength=n)
            slot = np.arange(len(pos)) - np.repeat(np.cumsum(counts) - counts, counts)
            table = np.full((max(1, int(counts.max(initial=0))), n), a.out, np.int64)
            table[slot, pos] = outs
            tables.append(table)
        cm = max(t.shape[0] for t in tables)
        nmax = max(t.shape[1] for t in tables)
        inv = np.zeros((3, cm, nmax), np.int64)
        for i, (t, a) in enumerate(zip(tables, self.axes, strict=True)):
            inv[i] = a.out
            inv[i, :t.shape[0], :t.shape[1]] = t
        return inv

    @property
    def _in3(self):
        return (1,) * (3 - self.nd) + tuple(self.spatial)

    @property
    def _out3(self):
        return (1,) * (3 - self.nd) + tuple(self.out)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_spatial(spatial, name: str) -> None:
    if any(n < 1 for n in spatial):
        raise ValueError(f"{name} must have non-empty spatial dimensions, got spatial shape "
                         f"{tuple(spatial)}")


def _regular_plan(nd, spatial, kernel_size, stride, padding, dilation, ceil_mode,
                  include_pad=True) -> tuple[_Plan, bool]:
    """The plan of a max/average pooling; returns ``(plan, padding_was_same)``."""
    _check_spatial(spatial, "x")
    kernel, strides, dils = layout.window_args(nd, kernel_size, stride, dilation)
    ceil_mode = _check_bool(ceil_mode, "ceil_mode")
    pads = layout.resolve_padding(padding, spatial, kernel, strides, dils, words=_WORDS)
    word = padding if isinstance(padding, str) else None
    out = tuple(pool_output_size(n, k, s, word if word else pad, d, ceil_mode)
                for n, k, s, d, pad in zip(spatial, kernel, strides, dils, pads, strict=True))
    if word == "same":
        include_pad = False
    axes = tuple(_regular_axis(n, k, s, d, lo, hi, o, include_pad)
                 for n, k, s, d, (lo, hi), o in zip(spatial, kernel, strides, dils, pads, out, strict=True))
    axes = (_singleton_axis(),) * (3 - nd) + axes
    return _Plan(nd, tuple(spatial), out, axes), word == "same"


def _adaptive_plan(nd, spatial, output_size) -> _Plan:
    _check_spatial(spatial, "x")
    if isinstance(output_size, (list, tuple)) and any(o is None for o in output_size):
        if len(output_size) != nd:
            raise ValueError(f"output_size must be an integer or a sequence of {nd} integers "
                             f"(None keeps an axis), got {output_size!r}")
        output_size = tuple(n if o is None else o for n, o in zip(spatial, output_size, strict=True))
    elif output_size is None:
        output_size = tuple(spatial)
    out = int_tuple(output_size, nd, "output_size", 1)
    axes = (_singleton_axis(),) * (3 - nd) + tuple(_adaptive_axis(n, o) for n, o in zip(spatial, out, strict=True))
    return _Plan(nd, tuple(spatial), out, axes)


def _as4(arr, nd):
    """(N, C, *spatial) -> (N*C, D, H, W) view with singleton leading spatial axes."""
    n, c = arr.shape[0], arr.shape[1]
    return arr.reshape((n * c,) + (1,) * (3 - nd) + tuple(arr.shape[2:]))


def _prepare(x, nd, name="x"):
    backend = backend_of(**{name: x})
    dtype = float_dtype(dtype_of(x, name))
    arr = asarray(x, name, backend, dtype)
    batched, unb = layout.split_batch(arr, nd, name)
    return backend, batched, unb


def _grad_prepare(nd, grad_output, x=None):
    backend = backend_of(grad_output=grad_output, x=x)
    dts = [dtype_of(grad_output, "grad_output")] + ([dtype_of(x, "x")] if x is not None else [])
    dtype = float_dtype(*dts)
    g = asarray(grad_output, "grad_output", backend, dtype)
    gb, unb = layout.split_batch(g, nd, "grad_output")
    xb = None
    if x is not None:
        xa = asarray(x, "x", backend, dtype)
        xb, xunb = layout.split_batch(xa, nd, "x")
        if xunb != unb:
            raise ValueError(f"grad_output (shape {tuple(g.shape)}) and x (shape {tuple(xa.shape)}) "
                             "must both be batched or both unbatched")
    return backend, dtype, gb, xb, unb


def _check_grad_shape(gb, plan, batch_channels, unb):
    expected = tuple(batch_channels) + tuple(plan.out)
    if tuple(gb.shape) != expected:
        shown = expected[1:] if unb else expected
        got = tuple(gb.shape[1:]) if unb else tuple(gb.shape)
        raise ValueError(f"grad_output has shape {got}, but the pooling's output shape is {shown}")


def _input_shape(input_shape, nd, unb):
    shape = int_tuple(input_shape, len(input_shape) if isinstance(input_shape, (list, tuple, np.ndarray))
                      else -1, "input_shape", 0) if not isinstance(input_shape, int) else None
    if shape is None or len(shape) != nd + (1 if unb else 2):
        want = f"(C, *spatial) with {nd + 1}" if unb else f"(N, C, *spatial) with {nd + 2}"
        raise ValueError(f"input_shape must be the full input shape {want} entries, matching "
                         f"grad_output; got {input_shape!r}")
    return ((1,) + shape) if unb else shape


# --------------------------------------------------------------------------------------------
# implementations (generic over nd)
# --------------------------------------------------------------------------------------------


def _max_forward(nd, plan, backend, xb, unb, return_indices):
    win, geo = plan.win_geo()
    n, c = xb.shape[:2]
    out = empty(backend, (n, c) + plan.out, xb.dtype)
    k = kernels("pooling", backend)
    if return_indices:
        idx = empty(backend, (n, c) + plan.out, np.int64)
        k.max_pool_indices(_as4(xb, nd), _as4(out, nd), _as4(idx, nd), win, geo)
        return layout.unbatch(out, unb), layout.unbatch(idx, unb)
    k.max_pool(_as4(xb, nd), _as4(out, nd), win, geo)
    return layout.unbatch(out, unb)


def _max_pool(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    backend, xb, unb = _prepare(x, nd)
    return_indices = _check_bool(return_indices, "return_indices")
    plan, _ = _regular_plan(nd, xb.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    return _max_forward(nd, plan, backend, xb, unb, return_indices)


def _avg_forward(nd, plan, backend, xb, unb, override):
    win, geo = plan.win_geo()
    n, c = xb.shape[:2]
    out = empty(backend, (n, c) + plan.out, xb.dtype)
    kernels("pooling", backend).avg_pool(_as4(xb, nd), _as4(out, nd), win, geo,
                                         plan.fac(xb.dtype, override))
    return layout.unbatch(out, unb)


def _override(divisor_override):
    return None if divisor_override is None else check_int(divisor_override, "divisor_override", 1)


def _avg_pool(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    backend, xb, unb = _prepare(x, nd)
    include = _check_bool(count_include_pad, "count_include_pad")
    override = _override(divisor_override)
    plan, _ = _regular_plan(nd, xb.shape[2:], kernel_size, stride, padding, 1, ceil_mode, include)
    return _avg_forward(nd, plan, backend, xb, unb, override)


def _adaptive_max_pool(nd, x, output_size, return_indices):
    backend, xb, unb = _prepare(x, nd)
    return_indices = _check_bool(return_indices, "return_indices")
    plan = _adaptive_plan(nd, xb.shape[2:], output_size)
    return _max_forward(nd, plan, backend, xb, unb, return_indices)


def _adaptive_avg_pool(nd, x, output_size):
    backend, xb, unb = _prepare(x, nd)
    plan = _adaptive_plan(nd, xb.shape[2:], output_size)
    return _avg_forward(nd, plan, backend, xb, unb, None)


def _max_backward(nd, plan, backend, gb, xb, unb):
    _check_grad_shape(gb, plan, xb.shape[:2], unb)
    win, geo = plan.win_geo()
    gin = empty(backend, xb.shape, xb.dtype)
    kernels("pooling", backend).max_pool_backward(_as4(gb, nd), _as4(xb, nd), _as4(gin, nd), win, geo,
                                                  plan.inverse())
    return layout.unbatch(gin, unb)


def _max_pool_input(nd, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode):
    backend, dtype, gb, xb, unb = _grad_prepare(nd, grad_output, x)
    plan, _ = _regular_plan(nd, xb.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    return _max_backward(nd, plan, backend, gb, xb, unb)


def _adaptive_max_pool_input(nd, grad_output, x):
    backend, dtype, gb, xb, unb = _grad_prepare(nd, grad_output, x)
    plan = _adaptive_plan(nd, xb.shape[2:], tuple(gb.shape[2:]))
    return _max_backward(nd, plan, backend, gb, xb, unb)


def _avg_backward(nd, plan, backend, dtype, gb, shape, unb, override):
    _check_grad_shape(gb, plan, shape[:2], unb)
    gin = empty(backend, shape, dtype)
    kernels("pooling", backend).avg_pool_backward(_as4(gb, nd), _as4(gin, nd), *plan.win_geo(),
                                                  plan.fac(dtype, override), plan.inverse())
    return layout.unbatch(gin, unb)


def _avg_pool_input(nd, grad_output, input_shape, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override):
    backend, dtype, gb, _, unb = _grad_prepare(nd, grad_output)
    shape = _input_shape(input_shape, nd, unb)
    include = _check_bool(count_include_pad, "count_include_pad")
    override = _override(divisor_override)
    plan, _ = _regular_plan(nd, shape[2:], kernel_size, stride, padding, 1, ceil_mode, include)
    return _avg_backward(nd, plan, backend, dtype, gb, shape, unb, override)


def _adaptive_avg_pool_input(nd, grad_output, input_shape):
    backend, dtype, gb, _, unb = _grad_prepare(nd, grad_output)
    shape = _input_shape(input_shape, nd, unb)
    plan = _adaptive_plan(nd, shape[2:], tuple(gb.shape[2:]))
    return _avg_backward(nd, plan, backend, dtype, gb, shape, unb, None)


def _max_unpool(nd, x, indices, kernel_size, stride, padding, output_size):
    backend = backend_of(x=x, indices=indices)
    dtype = float_dtype(dtype_of(x, "x"))
    xa = asarray(x, "x", backend, dtype)
    dtype_of(indices, "indices", "iu")
    ia = asarray(indices, "indices", backend, np.int64, kinds="iu")
    if tuple(ia.shape) != tuple(xa.shape):
        raise ValueError(f"indices must have the shape of x {tuple(xa.shape)}, got {tuple(ia.shape)}")
    xb, unb = layout.split_batch(xa, nd)
    ib, _ = layout.split_batch(ia, nd, "indices")
    kernel, strides, _ = layout.window_args(nd, kernel_size, stride, 1)
    pads = int_tuple(padding, nd, "padding", 0)
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(xb.shape[2:], strides, pads, kernel, strict=True))
    if output_size is None:
        out = default
    else:
        sizes = list(output_size) if isinstance(output_size, (list, tuple)) else None
        if sizes is None or len(sizes) not in (nd, nd + 1, nd + 2):
            raise ValueError(f"output_size must be a sequence of {nd} spatial sizes (or the full "
                             f"output shape); got {output_size!r}")
        out = int_tuple(sizes[len(sizes) - nd:], nd, "output_size", 1)
        for i, (o, dft, s) in enumerate(zip(out, default, strides, strict=True)):
            if not dft - s < o < dft + s:
                raise ValueError(f"output_size[{i}]={o} is not a possible pooling input size: it "
                                 f"must lie strictly between {dft - s} and {dft + s}")
    if any(o < 1 for o in out):
        raise ValueError(f"the unpooled spatial shape {out} is empty; check kernel_size, stride "
                         "and padding")
    plane = int(np.prod(out))
    if backend == CPU and ib.size:
        lo, hi = int(ib.min()), int(ib.max())
        if lo < -1 or hi >= plane:
            raise ValueError(f"indices must be flat positions in [0, {plane}) within each output "
                             f"plane of spatial shape {out} (or -1 for none); found {lo if lo < -1 else hi}")
    n, c = xb.shape[:2]
    res = empty(backend, (n, c) + out, dtype)
    if res.size:
        kernels("pooling", backend).max_unpool(_as4(xb, nd), _as4(ib, nd), _as4(res, nd))
    return layout.unbatch(res, unb)


# --------------------------------------------------------------------------------------------
# public functions: one factory per operation, instantiated for 1, 2 and 3 spatial dimensions
# --------------------------------------------------------------------------------------------

_X = {
    1: ("x = np.array([[1., 3., 2., 5., 4.]])", "(C, L) = (1, 5)"),
    2: ("x = np.arange(16.).reshape(1, 4, 4)", "(C, H, W) = (1, 4, 4)"),
    3: ("x = np.arange(16.).reshape(1, 2, 2, 4)", "(C, D, H, W) = (1, 2, 2, 4)"),
}
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}

_EX = {
    ("max_pool", 1): """\
>>> nc.max_pool1d(x, 2)
array([[3., 5.]])
>>> nc.max_pool1d(x, 2, ceil_mode=True)
array([[3., 5., 4.]])
>>> nc.max_pool1d(x, 3, stride=1, return_indices=True)[1]
array([[1, 3, 3]])""",
    ("max_pool", 2): """\
>>> nc.max_pool2d(x, 2)
array([[[ 5.,  7.],
        [13., 15.]]])
>>> nc.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)[1]
array([[[ 5,  7],
        [13, 15]]])""",
    ("max_pool", 3): """\
>>> nc.max_pool3d(x, 2)
array([[[[13., 15.]]]])""",
    ("avg_pool", 1): """\
>>> nc.avg_pool1d(x, 2)
array([[2. , 3.5]])
>>> nc.avg_pool1d(x, 2, padding='same')    # the padding is not counted
array([[2. , 3.5, 4. ]])""",
    ("avg_pool", 2): """\
>>> nc.avg_pool2d(x, 2)
array([[[ 2.5,  4.5],
        [10.5, 12.5]]])
>>> nc.avg_pool2d(x, 2, divisor_override=1)
array([[[10., 18.],
        [42., 50.]]])""",
    ("avg_pool", 3): """\
>>> nc.avg_pool3d(x, 2)
array([[[[6.5, 8.5]]]])""",
    ("adaptive_max_pool", 1): """\
>>> nc.adaptive_max_pool1d(x, 2)
array([[3., 5.]])""",
    ("adaptive_max_pool", 2): """\
>>> nc.adaptive_max_pool2d(x, (1, None))     # None keeps the axis
array([[[12., 13., 14., 15.]]])""",
    ("adaptive_max_pool", 3): """\
>>> nc.adaptive_max_pool3d(x, 1, return_indices=True)
(array([[[[15.]]]]), array([[[[15]]]]))""",
    ("adaptive_avg_pool", 1): """\
>>> nc.adaptive_avg_pool1d(x, 1)               # global average pooling
array([[3.]])""",
    ("adaptive_avg_pool", 2): """\
>>> nc.adaptive_avg_pool2d(x, 1)
array([[[7.5]]])""",
    ("adaptive_avg_pool", 3): """\
>>> nc.adaptive_avg_pool3d(x, (1, 1, 2))
array([[[[6.5, 8.5]]]])""",
    ("max_unpool", 1): """\
>>> out, idx = nc.max_pool1d(x, 2, return_indices=True)
>>> nc.max_unpool1d(out, idx, 2)
array([[0., 3., 0., 5.]])
>>> nc.max_unpool1d(out, idx, 2, output_size=[5])
array([[0., 3., 0., 5., 0.]])""",
    ("max_unpool", 2): """\
>>> out, idx = nc.max_pool2d(x, 2, return_indices=True)
>>> nc.max_unpool2d(out, idx, 2)
array([[[ 0.,  0.,  0.,  0.],
        [ 0.,  5.,  0.,  7.],
        [ 0.,  0.,  0.,  0.],
        [ 0., 13.,  0., 15.]]])""",
    ("max_unpool", 3): """\
>>> out, idx = nc.max_pool3d(x, 2, return_indices=True)
>>> nc.max_unpool3d(out, idx, 2)[0, 1]
array([[ 0.,  0.,  0.,  0.],
       [ 0., 13.,  0., 15.]])""",
    ("max_pool_input", 1): """\
>>> nc.grad.max_pool1d_input(np.ones((1, 2)), x, 2)
array([[0., 1., 0., 1., 0.]])""",
    ("max_pool_input", 2): """\
>>> nc.grad.max_pool2d_input(np.ones((1, 2, 2)), x, 2)
array([[[0., 0., 0., 0.],
        [0., 1., 0., 1.],
        [0., 0., 0., 0.],
        [0., 1., 0., 1.]]])""",
    ("max_pool_input", 3): """\
>>> nc.grad.max_pool3d_input(np.ones((1, 1, 1, 2)), x, 2)[0, 1]
array([[0., 0., 0., 0.],
       [0., 1., 0., 1.]])""",
    ("avg_pool_input", 1): """\
>>> nc.grad.avg_pool1d_input(np.ones((1, 2)), (1, 5), 2)
array([[0.5, 0.5, 0.5, 0.5, 0. ]])""",
    ("avg_pool_input", 2): """\
>>> nc.grad.avg_pool2d_input(np.ones((1, 2, 2)), (1, 4, 4), 2)[0, 0]
array([0.25, 0.25, 0.25, 0.25])""",
    ("avg_pool_input", 3): """\
>>> nc.grad.avg_pool3d_input(np.ones((1, 1, 1, 2)), (1, 2, 2, 4), 2)[0, 0, 0]
array([0.125, 0.125, 0.125, 0.125])""",
    ("adaptive_max_pool_input", 1): """\
>>> nc.grad.adaptive_max_pool1d_input(np.ones((1, 1)), x)
array([[0., 0., 0., 1., 0.]])""",
    ("adaptive_max_pool_input", 2): """\
>>> nc.grad.adaptive_max_pool2d_input(np.ones((1, 1, 1)), x)[0, 3]
array([0., 0., 0., 1.])""",
    ("adaptive_max_pool_input", 3): """\
>>> float(nc.grad.adaptive_max_pool3d_input(np.ones((1, 1, 1, 1)), x).sum())
1.0""",
    ("adaptive_avg_pool_input", 1): """\
>>> nc.grad.adaptive_avg_pool1d_input(np.ones((1, 1)), (1, 5))
array([[0.2, 0.2, 0.2, 0.2, 0.2]])""",
    ("adaptive_avg_pool_input", 2): """\
>>> nc.grad.adaptive_avg_pool2d_input(np.ones((1, 1, 1)), (1, 4, 4))[0, 0]
array([0.0625, 0.0625, 0.0625, 0.0625])""",
    ("adaptive_avg_pool_input", 3): """\
>>> nc.grad.adaptive_avg_pool3d_input(np.ones((1, 1, 1, 1)), (1, 2, 2, 4))[0, 0, 0]
array([0.0625, 0.0625, 0.0625, 0.0625])""",
}

_X_PARAM = """\
x : array_like or CUDA array
    Input ``(N, C, {s})`` or unbatched ``(C, {s})``. Integer and bool input
    is computed in float64; float32 stays float32. A CUDA array is pooled on
    the GPU and a device array is returned."""

_WINDOW_PARAMS = """\
kernel_size : int or tuple of {nd} ints
    Window size.
stride : int or tuple of {nd} ints, optional
    Step between windows; defaults to ``kernel_size``.
padding : int, tuple or str, optional
    Implicit padding: an int (both sides, at most half the effective
    window), one int or ``(before, after)`` pair per dimension, ``'valid'``
    (none) or ``'same'`` (TensorFlow's rule: output ``ceil(n / stride)``)."""

_CEIL = """\
ceil_mode : bool, optional
    Round the output size up instead of down; a last window that would start
    inside the right padding is dropped (PyTorch's rule)."""

_AVG_PARAMS = """\
count_include_pad : bool, optional
    Count the zero padding in the divisor (ignored for ``padding='same'``,
    which never counts it, as Keras/TensorFlow).
divisor_override : int, optional
    Divide every window sum by this instead."""

_SEE = "See the module docstring of :mod:`numbaconv.api.pooling` for ties and NaN."


def _doc(kind, nd, summary, params, returns, extra=""):
    ex_setup, _ = _X[nd]
    body = _EX[(kind, nd)]
    return (f"{summary}\n\n{extra}{_SEE}\n\nParameters\n----------\n{params}\n\n"
            f"Returns\n-------\n{returns}\n\nRaises\n------\nValueError\n"
            "    On a bad shape or an out-of-range window argument.\nTypeError\n"
            "    On a non-numeric input or a non-integer size.\n\n"
            f"Examples\n--------\n>>> import numpy as np\n>>> import numbaconv as nc\n"
            f">>> {ex_setup}\n{body}\n")


def _export(fn, name, doc, grad=False):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = __name__
    globals()[name] = fn
    (__grad_all__ if grad else __all__).append(name)


def _make(nd: int) -> None:
    s = _SPATIAL[nd]
    xp = _X_PARAM.format(s=s)
    wp = _WINDOW_PARAMS.format(nd=nd)

    def max_pool(x: Array, kernel_size: Size, stride: Size | None = None, padding: Padding = 0,
                 dilation: Size = 1, ceil_mode: bool = False,
                 return_indices: bool = False) -> Array | tuple[Array, Array]:
        return _max_pool(nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    _export(max_pool, f"max_pool{nd}d", _doc(
        "max_pool", nd, f"{nd}-D max pooling, as ``torch.nn.functional.max_pool{nd}d``.",
        f"{xp}\n{wp}\ndilation : int or tuple of {nd} ints, optional\n    Spacing between window taps.\n"
        f"{_CEIL}\nreturn_indices : bool, optional\n    Also return the int64 flat position of "
        "each maximum within its (n, c) input plane.",
        "ndarray or CUDA array, or a tuple (output, indices)\n    Shape ``(N, C, *out)`` with "
        "``out`` from :func:`numbaconv.pool_output_size`."))

    def avg_pool(x: Array, kernel_size: Size, stride: Size | None = None, padding: Padding = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> Array:
        return _avg_pool(nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)

    _export(avg_pool, f"avg_pool{nd}d", _doc(
        "avg_pool", nd, f"{nd}-D average pooling, as ``torch.nn.functional.avg_pool{nd}d``.",
        f"{xp}\n{wp}\n{_CEIL}\n{_AVG_PARAMS}",
        "ndarray or CUDA array\n    Shape ``(N, C, *out)``; window sums are accumulated in the "
        "array's dtype."))

    def adaptive_max_pool(x: Array, output_size: Size | Sequence[int | None],
                          return_indices: bool = False) -> Array | tuple[Array, Array]:
        return _adaptive_max_pool(nd, x, output_size, return_indices)

    _adaptive_out = (f"output_size : int or tuple of {nd} ints (or None)\n    Output spatial "
                     "size; None keeps that axis. Output ``i`` pools input "
                     "``[floor(i*n/out), ceil((i+1)*n/out))``; 1 is global pooling.")
    _export(adaptive_max_pool, f"adaptive_max_pool{nd}d", _doc(
        "adaptive_max_pool", nd,
        f"{nd}-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool{nd}d``.",
        f"{xp}\n{_adaptive_out}\nreturn_indices : bool, optional\n    Also return the int64 "
        "flat in-plane position of each maximum.",
        "ndarray or CUDA array, or a tuple (output, indices)\n    Shape ``(N, C, *output_size)``."))

    def adaptive_avg_pool(x: Array, output_size: Size | Sequence[int | None]) -> Array:
        return _adaptive_avg_pool(nd, x, output_size)

    _export(adaptive_avg_pool, f"adaptive_avg_pool{nd}d", _doc(
        "adaptive_avg_pool", nd,
        f"{nd}-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool{nd}d``.",
        f"{xp}\n{_adaptive_out}", "ndarray or CUDA array\n    Shape ``(N, C, *output_size)``."))

    def max_unpool(x: Array, indices: Array, kernel_size: Size, stride: Size | None = None,
                   padding: Size = 0, output_size: Sequence[int] | None = None) -> Array:
        return _max_unpool(nd, x, indices, kernel_size, stride, padding, output_size)

    _export(max_unpool, f"max_unpool{nd}d", _doc(
        "max_unpool", nd,
        f"Partial inverse of :func:`max_pool{nd}d`, as ``torch.nn.functional.max_unpool{nd}d``.",
        f"x : array_like or CUDA array\n    Pooled values ``(N, C, {s})`` or ``(C, {s})``.\n"
        "indices : array_like or CUDA array of integers\n    Flat in-plane positions, as returned "
        "with ``return_indices=True``; -1 (an all-padding window) is skipped. On CPU an index "
        "outside the output plane is a ValueError; the GPU kernel skips it.\n"
        f"kernel_size, stride : int or tuple of {nd} ints\n    The pooling's window and step "
        f"(stride defaults to kernel_size).\npadding : int or tuple of {nd} ints, optional\n"
        "    The pooling's padding.\noutput_size : sequence of ints, optional\n    The spatial "
        "output size (or the full shape), to undo a pooling that dropped input; it must lie "
        "strictly within one stride of the default ``(n - 1)*stride - 2*padding + kernel_size``.",
        "ndarray or CUDA array\n    Zeros with each value of ``x`` at its index; when indices "
        "repeat, the last one in scan order wins.", ))

    def max_pool_input(grad_output: Array, x: Array, kernel_size: Size, stride: Size | None = None,
                       padding: Padding = 0, dilation: Size = 1, ceil_mode: bool = False) -> Array:
        return _max_pool_input(nd, grad_output, x, kernel_size, stride, padding, dilation, ceil_mode)

    _export(max_pool_input, f"max_pool{nd}d_input", _doc(
        "max_pool_input", nd, f"Gradient of :func:`max_pool{nd}d` with respect to its input.",
        f"grad_output : array_like or CUDA array\n    Gradient of the pooled output.\n{xp}\n{wp}\n"
        f"dilation : int or tuple of {nd} ints, optional\n    As in the forward call.\n{_CEIL}",
        "ndarray or CUDA array\n    Shape of ``x``: each ``grad_output`` entry added to its "
        "window's (first) maximum. Deterministic for overlapping windows."), grad=True)

    def avg_pool_input(grad_output: Array, input_shape: Sequence[int], kernel_size: Size,
                       stride: Size | None = None, padding: Padding = 0, ceil_mode: bool = False,
                       count_include_pad: bool = True, divisor_override: int | None = None) -> Array:
        return _avg_pool_input(nd, grad_output, input_shape, kernel_size, stride, padding,
                               ceil_mode, count_include_pad, divisor_override)

    _shape_param = (f"input_shape : tuple of ints\n    The forward input's full shape, ``(N, C, {s})``"
                    f" or unbatched ``(C, {s})`` like ``grad_output``.")
    _export(avg_pool_input, f"avg_pool{nd}d_input", _doc(
        "avg_pool_input", nd, f"Gradient of :func:`avg_pool{nd}d` with respect to its input.",
        f"grad_output : array_like or CUDA array\n    Gradient of the pooled output.\n"
        f"{_shape_param}\n{wp}\n{_CEIL}\n{_AVG_PARAMS}",
        "ndarray or CUDA array\n    Shape ``input_shape``."), grad=True)

    def adaptive_max_pool_input(grad_output: Array, x: Array) -> Array:
        return _adaptive_max_pool_input(nd, grad_output, x)

    _export(adaptive_max_pool_input, f"adaptive_max_pool{nd}d_input", _doc(
        "adaptive_max_pool_input", nd,
        f"Gradient of :func:`adaptive_max_pool{nd}d` with respect to its input.",
        "grad_output : array_like or CUDA array\n    Gradient of the pooled output; its spatial "
        f"shape is the ``output_size``.\n{xp}",
        "ndarray or CUDA array\n    Shape of ``x``; each entry of ``grad_output`` goes to its "
        "window's (first) maximum."), grad=True)

    def adaptive_avg_pool_input(grad_output: Array, input_shape: Sequence[int]) -> Array:
        return _adaptive_avg_pool_input(nd, grad_output, input_shape)

    _export(adaptive_avg_pool_input, f"adaptive_avg_pool{nd}d_input", _doc(
        "adaptive_avg_pool_input", nd,
        f"Gradient of :func:`adaptive_avg_pool{nd}d` with respect to its input.",
        "grad_output : array_like or CUDA array\n    Gradient of the pooled output; its spatial "
        f"shape is the ``output_size``.\n{_shape_param}",
        "ndarray or CUDA array\n    Shape ``input_shape``."), grad=True)


for _nd in (1, 2, 3):
    _make(_nd)
del _nd
