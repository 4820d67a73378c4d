"""The deep-learning convolution, resolved once: :class:`ConvSpec`, built by :func:`conv_spec`.

Every convolution entry point (``conv1d/2d/3d``, ``conv_transpose1d/2d/3d``, the
gradients in :mod:`numbaconv.grad`, :mod:`numbaconv.dask`'s ``conv*d``) describes its call
to :func:`conv_spec` with hashable values (shapes as tuples, ints, strings) and gets one
frozen :class:`ConvSpec`: per-axis kernel, stride, dilation and ``(before, after)``
paddings, groups, the canonical padding mode, every array's shape and the
:class:`ConvGeometry` the kernels run. :func:`conv_spec` is a
:func:`numbaconv.core.plans.plan_cache` function, so a repeated call resolves nothing.

Kernels see every convolution as a *forward* one on three spatial axes (1-D and 2-D
calls get singleton leading axes):

* input ``x``: ``(N, C, D, H, W)``, or ``(N, D, H, W, C)`` channels-last;
* weight: ``(K, C/groups, kd, kh, kw)`` in both layouts;
* output: ``(N, K, Do, Ho, Wo)``, or ``(N, Do, Ho, Wo, K)`` channels-last.

The input gradient and the transposed convolution run the adjoint of that forward
convolution: a transposed convolution of ``x`` with ``weight`` ``(C_in, C_out/groups,
*k)`` is the input gradient of the forward convolution from ``C = C_out`` to ``K =
C_in`` channels whose output ``x`` is. Shapes come from :mod:`numbaconv.shapes`,
paddings from :func:`numbaconv.core.layout.resolve_padding`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..shapes import conv_output_size, conv_transpose_output_size
from ..typing import Padding, Size
from . import padding as padspec
from .layout import resolve_padding, window_args
from .plans import plan_cache
from .validate import check_choice, check_int, int_tuple

#: the accepted ``data_format`` values
CHANNELS_FIRST = "channels_first"
CHANNELS_LAST = "channels_last"
DATA_FORMATS = (CHANNELS_FIRST, CHANNELS_LAST)

#: what a :class:`ConvSpec` describes
FORWARD, INPUT_GRAD, WEIGHT_GRAD, TRANSPOSE = "forward", "input_grad", "weight_grad", "transpose"

# Positions in ConvGeometry.array (the int64 vector the kernels of both backends read).
G_N, G_C, G_D, G_H, G_W = 0, 1, 2, 3, 4             # batch, input channels, input extent
G_K, G_DO, G_HO, G_WO = 5, 6, 7, 8                   # output channels, output extent
G_CG, G_KD, G_KH, G_KW = 9, 10, 11, 12               # channels per group, kernel extent
G_SD, G_SH, G_SW = 13, 14, 15                        # stride
G_LD, G_LH, G_LW = 16, 17, 18                        # padding before the data
G_DD, G_DH, G_DW = 19, 20, 21                        # dilation
G_GROUPS = 22
G_LEN = 23


@dataclass(frozen=True, eq=False)
class ConvGeometry:
    """A forward convolution on three spatial axes, as the kernels of both backends run it.

    Padding after the data is implicit (a tap outside the input reads zero). ``array``
    holds the same numbers as an int64 vector indexed by the ``G_*`` constants of this
    module, which is what the compiled kernels take (one argument, one specialisation).
    """

    batch: int
    channels: int
    filters: int
    groups: int
    in_size: tuple[int, int, int]
    out_size: tuple[int, int, int]
    kernel: tuple[int, int, int]
    stride: tuple[int, int, int]
    lo: tuple[int, int, int]
    dilation: tuple[int, int, int]
    channels_last: bool
    array: np.ndarray = field(repr=False)
    #: input channels per group, ``C / groups`` (the weight's second axis)
    group_channels: int = 0
    #: output channels per group, ``K / groups``
    group_filters: int = 0
    #: kernel taps per channel, ``kd * kh * kw``
    taps: int = 0
    #: multiply-adds of the convolution (ignoring padding): the work the kernels do
    macs: int = 0

    @functools.cached_property
    def planar(self) -> bool:
        """2-D in effect: one input depth, kernel depth and output depth, the output's plane
        reading the input's (no padding before it along the depth: with a depth stride a
        layer's one output depth can read only padding, and is then the bias alone). What
        every 2-D kernel asks before it takes a layer."""
        return self.in_size[0] == self.kernel[0] == self.out_size[0] == 1 and self.lo[0] == 0

    @functools.cached_property
    def adjoint_lo(self) -> tuple[int, ...]:
        """Padding before the data of the stride-1 input gradient read as a forward
        convolution (:func:`flipped_lo`)."""
        return flipped_lo(self.kernel, self.lo, self.dilation)

    @functools.cached_property
    def adjoint(self) -> ConvGeometry:
        """The stride-1 input gradient read as a forward convolution of ``g`` (``filters``
        input channels, ``channels`` filters, padded :attr:`adjoint_lo` before the data),
        whose weight is ``w.ravel()[flipped_weight_order]``; made once per geometry."""
        return make_geometry(self.batch, self.filters, self.channels, self.groups,
                             self.out_size, self.in_size, self.kernel, self.stride,
                             self.adjoint_lo, self.dilation, self.channels_last)

    @functools.cached_property
    def phases(self) -> ConvGeometry | None:
        """A stride-1 2-D layer dilated by ``d > 1`` on both axes, whose input, output and
        padding before the data are whole multiples of ``d``, splits into ``d*d``
        undilated layers: output ``(d*i + r, d*j + s)`` reads input ``(d*(i + th - lh/d) +
        r, d*(j + tw - lw/d) + s)``, so the phase ``(r, s)`` of the output is the undilated
        convolution of the same phase of the input, padded ``lo/d``. Their geometry with
        the phases stacked on the batch axis (``(r*d + s)*N + n``), else None."""
        _, dh, dw = self.dilation
        _, H, W = self.in_size
        _, Ho, Wo = self.out_size
        _, lh, lw = self.lo
        d = dh
        if (d < 2 or dw != d or self.stride != (1, 1, 1) or not self.planar or min(lh, lw) < 0
                or H % d or W % d or Ho % d or Wo % d or lh % d or lw % d):
            return None
        return make_geometry(self.batch * d * d, self.channels, self.filters, self.groups,
                             (1, H // d, W // d), (1, Ho // d, Wo // d), self.kernel,
                             (1, 1, 1), (0, lh // d, lw // d), (1, 1, 1), self.channels_last)

    @functools.cached_property
    def flipped_weight_order(self) -> np.ndarray:
        """``w.ravel()[order]`` is :attr:`adjoint`'s weight ``(C, K/groups, kd, kh, kw)``:
        the kernel flipped on every spatial axis, input and output channels swapped within
        each group."""
        kg, cg = self.group_filters, self.group_channels
        order = np.arange(self.filters * cg * self.taps, dtype=np.int64)
        return np.ascontiguousarray(
            order.reshape(self.w_shape)[:, :, ::-1, ::-1, ::-1]
            .reshape(self.groups, kg, cg, *self.kernel).transpose(0, 2, 1, 3, 4, 5)).ravel()

    @functools.cached_property
    def forward_weight_order(self) -> np.ndarray:
        """Channels-last kernels read the forward weights along runs of output channels:
        ``w.ravel()[order]`` is ``(C/groups, taps, K)``, ``[c, t, k] = w[k, c, t]``."""
        order = np.arange(self.filters * self.group_channels * self.taps, dtype=np.int64)
        return np.ascontiguousarray(
            order.reshape(self.filters, self.group_channels, self.taps).transpose(1, 2, 0)
        ).ravel()

    @functools.cached_property
    def input_weight_order(self) -> np.ndarray:
        """... and the input gradient along runs of input channels: ``w.ravel()[order]`` is
        ``(K/groups, taps, C)``, ``[j, t, ci] = w[(ci // cg)*kg + j, ci % cg, t]``."""
        kg, cg = self.group_filters, self.group_channels
        order = np.arange(self.filters * cg * self.taps, dtype=np.int64)
        return np.ascontiguousarray(
            order.reshape(self.groups, kg, cg, self.taps).transpose(1, 3, 0, 2)).ravel()

    @functools.cached_property
    def x_shape(self) -> tuple[int, ...]:
        """The 5-D shape of the forward input in this layout."""
        if self.channels_last:
            return (self.batch, *self.in_size, self.channels)
        return (self.batch, self.channels, *self.in_size)

    @functools.cached_property
    def y_shape(self) -> tuple[int, ...]:
        """The 5-D shape of the forward output in this layout."""
        if self.channels_last:
            return (self.batch, *self.out_size, self.filters)
        return (self.batch, self.filters, *self.out_size)

    @functools.cached_property
    def w_shape(self) -> tuple[int, ...]:
        """The 5-D weight shape, ``(K, C/groups, kd, kh, kw)`` in both layouts."""
        return (self.filters, self.group_channels, *self.kernel)


def make_geometry(batch, channels, filters, groups, in_size, out_size, kernel, stride, lo,
                  dilation, channels_last) -> ConvGeometry:
    """A :class:`ConvGeometry` from 3-tuples (its ``array`` filled in)."""
    arr = np.zeros(G_LEN, dtype=np.int64)
    arr[G_N], arr[G_C], arr[G_K], arr[G_GROUPS] = batch, channels, filters, groups
    arr[G_D:G_W + 1] = in_size
    arr[G_DO:G_WO + 1] = out_size
    arr[G_CG] = channels // groups
    arr[G_KD:G_KW + 1] = kernel
    arr[G_SD:G_SW + 1] = stride
    arr[G_LD:G_LW + 1] = lo
    arr[G_DD:G_DW + 1] = dilation
    arr.flags.writeable = False
    taps = kernel[0] * kernel[1] * kernel[2]
    cg = channels // groups
    macs = batch * filters * out_size[0] * out_size[1] * out_size[2] * cg * taps
    return ConvGeometry(batch, channels, filters, groups, tuple(in_size), tuple(out_size),
                        tuple(kernel), tuple(stride), tuple(lo), tuple(dilation),
                        bool(channels_last), arr, cg, filters // groups, taps, macs)


@dataclass(frozen=True, eq=False)
class ConvSpec:
    """One resolved convolution call (see :func:`conv_spec`).

    Shapes are as the caller sees them (unbatched calls without ``N``, in the call's
    ``data_format``): ``x_shape`` the forward input (or ``input_shape``), ``weight_shape``,
    ``y_shape`` the forward output (what ``grad_output`` must be), ``out_shape`` the
    result. For a transposed convolution ``x_shape`` is its input and ``out_shape`` its
    output. ``pad_widths`` is set when a non-zero ``padding_mode`` pads the input first
    (``numpy.pad`` widths of the batched input, into ``padded_shape``); the geometry
    then reads the padded input with no further padding.
    """

    kind: str
    nd: int
    batched: bool
    channels_last: bool
    x_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    output_padding: tuple[int, ...]
    groups: int
    mode: str
    pad_widths: tuple[tuple[int, int], ...] | None
    padded_shape: tuple[int, ...] | None
    geometry: ConvGeometry

    @property
    def out_channels(self) -> int:
        """Channels of the result (``bias`` has one value per channel)."""
        return self.geometry.channels if self.kind == TRANSPOSE else self.geometry.filters

    @property
    def channel_axis(self) -> int:
        """The channel axis of ``x_shape`` / ``y_shape`` / ``out_shape`` (activations)."""
        if self.channels_last:
            return self.nd + 1 if self.batched else self.nd
        return 1 if self.batched else 0


# ----------------------------------------------------------------------------------------------
# the pieces of the resolution


_NAMES = {  # (x argument, weight argument) named in errors, per kind
    FORWARD: ("x", "weight"),
    INPUT_GRAD: ("input_shape", "weight"),
    WEIGHT_GRAD: ("input", "weight_shape"),
    TRANSPOSE: ("x", "weight"),
}


def _layout(data_format) -> bool:
    """True for channels-last."""
    return check_choice(data_format, "data_format", DATA_FORMATS) == CHANNELS_LAST


def _split(shape, nd: int, name: str, channels_last: bool, is_shape_arg: bool):
    """``(batched, N, C, spatial)`` of an activation shape, or a ValueError naming ``name``."""
    layout = ("(N, *spatial, C)", "(*spatial, C)") if channels_last else (
        "(N, C, *spatial)", "(C, *spatial)")
    if len(shape) == nd + 2:
        batched, n, rest = True, shape[0], shape[1:]
    elif len(shape) == nd + 1:
        batched, n, rest = False, 1, shape
    else:
        what = "have" if is_shape_arg else "be batched"
        raise ValueError(
            f"{name} must {what} {layout[0]} with {nd + 2} "
            f"{'entries' if is_shape_arg else 'dimensions'} or unbatched {layout[1]} with "
            f"{nd + 1} for a {nd}-D convolution; got shape {tuple(shape)}")
    if channels_last:
        return batched, n, rest[-1], tuple(rest[:-1])
    return batched, n, rest[0], tuple(rest[1:])


def _shape_arg(shape, name: str, minimum: int) -> tuple[int, ...]:
    """A shape argument (``input_shape``, ``weight_shape``) as a tuple of ints."""
    if isinstance(shape, str) or not hasattr(shape, "__len__") or not hasattr(shape, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints (a shape), got {shape!r}")
    return tuple(check_int(s, f"{name}[{i}]", minimum) for i, s in enumerate(shape))


def _check_weight(w_shape, nd: int, name: str) -> None:
    if len(w_shape) != nd + 2:
        what = "entries" if name.endswith("_shape") else "dimensions"
        raise ValueError(f"{name} must have {nd + 2} {what} (K, C/groups, *kernel) for a "
                         f"{nd}-D convolution, got shape {tuple(w_shape)}")
    if 0 in w_shape[2:]:
        raise ValueError(f"{name} has an empty kernel axis: shape {tuple(w_shape)}")


def _check_groups(groups, c_in: int, w_shape, wname: str, transposed: bool) -> int:
    groups = check_int(groups, "groups", 1)
    k_out = w_shape[0]
    if transposed:
        if c_in != k_out:
            raise ValueError(f"x has {c_in} channels but {wname} of shape {tuple(w_shape)} "
                             f"expects {k_out} (weight is (C_in, C_out/groups, *kernel))")
        if c_in % groups:
            raise ValueError(f"groups={groups} must divide the {c_in} input channels")
        return groups
    if k_out % groups:
        raise ValueError(f"groups={groups} must divide the number of output channels "
                         f"{wname}[0]={k_out}" if wname.endswith("_shape") else
                         f"groups={groups} must divide the number of output channels "
                         f"{wname}.shape[0]={k_out}")
    if c_in % groups or c_in // groups != w_shape[1]:
        sub = f"{wname}[1]" if wname.endswith("_shape") else f"{wname}.shape[1]"
        raise ValueError(
            f"input has {c_in} channels, so {sub} must be {c_in}/groups="
            f"{c_in / groups:g} for groups={groups}; got {wname} of shape {tuple(w_shape)}")
    return groups


def _activation(batched: bool, n: int, channels: int, spatial, channels_last: bool):
    """An activation shape as the caller sees it."""
    inner = (*spatial, channels) if channels_last else (channels, *spatial)
    return ((n,) + inner) if batched else inner


def _to3(t, fill) -> tuple[int, int, int]:
    return (fill,) * (3 - len(t)) + tuple(t)  # type: ignore[return-value]


def flipped_lo(kernel, lo, dilation) -> tuple[int, ...]:
    """Padding before the data of the *adjoint* (input-gradient) convolution, per axis.

    The input gradient of a stride-1 convolution is the correlation of ``grad_output``
    with the flipped kernel, padded ``dilation*(k - 1) - before`` before the data.
    """
    return tuple(d * (k - 1) - p for k, p, d in zip(kernel, lo, dilation, strict=True))


# ----------------------------------------------------------------------------------------------
# the one resolution function


@plan_cache
def conv_spec(kind: str, nd: int, x_shape, weight_shape, stride: Size = 1, padding: Padding = 0,
              dilation: Size = 1, groups: int = 1, padding_mode: str = "zeros",
              output_padding: Size = 0, data_format: str = CHANNELS_FIRST) -> ConvSpec:
    """Resolve one convolution call into a :class:`ConvSpec`, or raise naming the argument.

    ``kind`` is ``'forward'``, ``'input_grad'``, ``'weight_grad'`` or ``'transpose'``;
    ``x_shape`` the forward input's shape (``input_shape`` for the input gradient, the
    transposed convolution's input for ``'transpose'``), ``weight_shape`` the weight's.
    The remaining arguments are the public functions' own. Arguments are hashable
    (tuples, ints, strings), so the result is cached.
    """
    xname, wname = _NAMES[kind]
    transposed = kind == TRANSPOSE
    channels_last = _layout(data_format)
    if kind == INPUT_GRAD:
        x_shape = _shape_arg(x_shape, xname, 0)
    if kind == WEIGHT_GRAD:
        weight_shape = _shape_arg(weight_shape, wname, 1)
    x_shape, weight_shape = tuple(x_shape), tuple(weight_shape)
    _check_weight(weight_shape, nd, wname)
    batched, n, c_in, spatial = _split(x_shape, nd, xname, channels_last, kind == INPUT_GRAD)
    groups = _check_groups(groups, c_in, weight_shape, wname, transposed)
    if 0 in spatial:
        raise ValueError(f"{xname} has an empty spatial axis: shape {x_shape}")
    mode = "constant"
    if kind == FORWARD:
        mode = padspec.resolve_mode(padding_mode, "padding_mode")
    kernel, strides, dils = window_args(nd, weight_shape[2:], stride, dilation)
    if transposed:
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int, one int per dimension or one (before, "
                             f"after) pair per dimension for a transposed convolution; got "
                             f"{padding!r}")
        pads = resolve_padding(padding, spatial, kernel, strides, dils, words=())
        ops = int_tuple(output_padding, nd, "output_padding", 0)
        big = []
        for i in range(nd):
            m = conv_transpose_output_size(spatial[i], kernel[i], strides[i], pads[i], dils[i],
                                           ops[i])
            if conv_output_size(m, kernel[i], strides[i], pads[i], dils[i]) != spatial[i]:
                raise ValueError(f"padding {pads[i]} is too large for axis {i}: the transposed "
                                 f"output would have length {m}")
            big.append(m)
        c_out = weight_shape[1] * groups
        out_shape = _activation(batched, n, c_out, big, channels_last)
        geometry = make_geometry(n, c_out, c_in, groups, _to3(big, 1), _to3(spatial, 1),
                                 _to3(kernel, 1), _to3(strides, 1),
                                 _to3(tuple(p[0] for p in pads), 0), _to3(dils, 1),
                                 channels_last)
        return ConvSpec(kind, nd, batched, channels_last, x_shape, weight_shape, x_shape,
                        out_shape, kernel, strides, dils, pads, ops, groups, mode, None, None,
                        geometry)
    pads = resolve_padding(padding, spatial, kernel, strides, dils)
    out_sp = tuple(conv_output_size(m, k, s, p, d)
                   for m, k, s, p, d in zip(spatial, kernel, strides, pads, dils, strict=True))
    y_shape = _activation(batched, n, weight_shape[0], out_sp, channels_last)
    out_shape = {FORWARD: y_shape, INPUT_GRAD: x_shape, WEIGHT_GRAD: weight_shape}[kind]
    pad_widths = padded_shape = None
    in_sp, lo = spatial, tuple(p[0] for p in pads)
    if mode != "constant" and any(p != (0, 0) for p in pads):
        # the input is padded first (numpy.pad's modes), then convolved with no padding
        outer = ((0, 0),) * (2 if not channels_last else 1)
        pad_widths = outer + pads + (((0, 0),) if channels_last else ())
        full = (n,) + x_shape[1 if batched else 0:]
        padded_shape = padspec.padded_shape(full, pad_widths)
        in_sp = padspec.padded_shape(spatial, pads)
        lo = (0,) * nd
    geometry = make_geometry(n, c_in, weight_shape[0], groups, _to3(in_sp, 1), _to3(out_sp, 1),
                             _to3(kernel, 1), _to3(strides, 1), _to3(lo, 0), _to3(dils, 1),
                             channels_last)
    return ConvSpec(kind, nd, batched, channels_last, x_shape, weight_shape, y_shape, out_shape,
                    kernel, strides, dils, pads, (0,) * nd, groups, mode, pad_widths,
                    padded_shape, geometry)


def check_bias(bias, channels: int, name: str = "bias") -> None:
    """Raise a ValueError unless ``bias`` has one value per output channel."""
    if bias.ndim != 1 or bias.shape[0] != channels:
        raise ValueError(f"{name} must have shape ({channels},) (one value per output channel), "
                         f"got {tuple(bias.shape)}")


def check_batch_axes(x_name: str, x_shape, g_shape, nd: int) -> None:
    """Raise a ValueError when the forward input (or ``input_shape``) and ``grad_output``
    disagree on having a batch axis (checked first: it explains the other mismatches)."""
    if not hasattr(x_shape, "__len__") or isinstance(x_shape, str):
        return  # not a shape: conv_spec names the argument
    lx, lg = len(x_shape), len(g_shape)
    if lx != lg and {lx, lg} == {nd + 1, nd + 2}:
        raise ValueError(f"{x_name} {'of shape ' if x_name == 'input' else ''}{tuple(x_shape)} "
                         f"and grad_output of shape {tuple(g_shape)} disagree on having a batch "
                         "axis")


def check_grad_output(spec: ConvSpec, shape, name: str = "grad_output") -> None:
    """Raise a ValueError unless ``shape`` is the forward output ``spec`` describes."""
    shape = tuple(shape)
    if shape == spec.y_shape:
        return
    if len(shape) != len(spec.y_shape) and len(shape) in (spec.nd + 1, spec.nd + 2):
        other = _NAMES[spec.kind][0]
        raise ValueError(f"{other} {spec.x_shape} and {name} of shape {shape} disagree on "
                         "having a batch axis")
    raise ValueError(f"{name} has shape {shape}, but the convolution described by the other "
                     f"arguments produces {spec.y_shape}")


def keyable(v) -> bool:
    """Whether ``v`` is an int, a string or a tuple of ints / of int pairs: a value that can
    key the spec cache (``True == 1`` and ``1.0 == 1`` must not find an int's entry)."""
    t = type(v)
    if t is int or t is str:
        return True
    if t is not tuple:
        return False
    for i in v:
        ti = type(i)
        if ti is tuple:
            for j in i:
                if type(j) is not int:
                    return False
        elif ti is not int:
            return False
    return True


def _tuple(v):
    return tuple(v) if type(v) is list else v


def resolve(kind: str, nd: int, x_shape, weight_shape, stride: Size = 1, padding: Padding = 0,
            dilation: Size = 1, groups: int = 1, padding_mode: str = "zeros",
            output_padding: Size = 0, data_format: str = CHANNELS_FIRST) -> ConvSpec:
    """:func:`conv_spec` of the public arguments, from its cache when they can key it.

    Lists key the cache as the same tuples; arguments that could collide with an int's
    entry (a bool, a float, a NumPy scalar, an array) are resolved uncached, so they get
    their own error (or result) every time. Array shapes are tuples of ints; the shape
    arguments of the gradients (``input_shape``, ``weight_shape``) are checked too.
    """
    if type(stride) is not int or type(dilation) is not int or type(padding) is not int:
        stride, padding, dilation = _tuple(stride), _tuple(padding), _tuple(dilation)
    args = (kind, nd, x_shape, weight_shape, stride, padding, dilation, groups, padding_mode,
            _tuple(output_padding), data_format)
    shape_arg = x_shape if kind == INPUT_GRAD else weight_shape if kind == WEIGHT_GRAD else ()
    if not (type(stride) is int and type(dilation) is int
            and (type(padding) is int or type(padding) is str) and type(groups) is int
            and type(padding_mode) is str and type(data_format) is str
            and type(args[9]) is int and keyable(shape_arg)):
        for a in args[2:]:
            if not keyable(a):
                return conv_spec.__wrapped__(*args)  # type: ignore[attr-defined]
    return conv_spec(*args)
