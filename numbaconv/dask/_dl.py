"""Deep-learning operations on dask arrays chunked along the batch (and channel) axes.

Convolution and pooling need every spatial axis whole in a block (and
convolution every input channel): those axes are rechunked to one chunk,
while batch chunks (and, for pooling and activations, channel chunks) are
kept, so each task runs the in-memory function on a slab of samples.
"""

from __future__ import annotations

import numpy as np

from ..core.layout import resolve_padding, window_args
from ..core.validate import normalize_axis
from ..shapes import conv_output_size
from ._common import as_dask, as_host, inmemory, task

_LETTERS = "uvw"


def _core(nd: int, prefix: str = "") -> str:
    return ",".join(prefix + c for c in _LETTERS[-nd:])


def _gufunc(func, x, in_core: str, out_cores, out_sizes, out_dtypes):
    """``dask.array.apply_gufunc`` of a numbaconv task over the loop (batch/channel) axes."""
    import dask.array as da

    multi = len(out_cores) > 1
    signature = f"({in_core})->" + ",".join(f"({c})" for c in out_cores)
    loop = x.ndim - len(in_core.split(","))
    # core axes whole, loop axes as the caller chunked them (apply_gufunc's own
    # rechunk would re-split the loop axes)
    x = x.rechunk({a: -1 for a in range(loop, x.ndim)})
    metas = tuple(np.empty((0,) * (loop + len(c.split(","))), d)
                  for c, d in zip(out_cores, out_dtypes, strict=True))
    return da.apply_gufunc(func, signature, x, output_sizes=out_sizes, allow_rechunk=True,
                           meta=metas if multi else metas[0])


def _conv(nd, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
          padding_mode="zeros"):
    func = inmemory(f"conv{nd}d")
    x = as_dask(x, "x")
    w = as_host(weight, "weight")
    b = as_host(bias, "bias")
    kw = dict(weight=w, bias=b, stride=stride, padding=padding, dilation=dilation, groups=groups,
              padding_mode=padding_mode)
    if x.ndim not in (nd + 1, nd + 2) or w.ndim != nd + 2:
        raise ValueError(f"conv{nd}d needs x of shape (N, C, *spatial) or (C, *spatial) with "
                         f"{nd} spatial axes and a weight (K, C/groups, *kernel); got shapes "
                         f"{tuple(x.shape)} and {tuple(w.shape)}")
    spatial = tuple(x.shape[-nd:])
    kernel, strides, dils = window_args(nd, w.shape[2:], stride, dilation)
    # A probe on one sample just wide enough for one window validates every
    # argument with the in-memory function's messages and gives the dtype.
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dils, strict=True))
    probe = func(np.zeros((x.shape[-nd - 1],) + span, x.dtype), **kw)
    pads = resolve_padding(padding, spatial, kernel, strides, dils)
    out = tuple(conv_output_size(n, k, s, p, d)
                for n, k, s, p, d in zip(spatial, kernel, strides, pads, dils, strict=True))
    sizes = {"k": w.shape[0], **{f"o{c}": o for c, o in zip(_LETTERS[-nd:], out, strict=True)}}
    return _gufunc(task(func, **kw), x, "c," + _core(nd), ["k," + _core(nd, "o")], sizes,
                   [probe.dtype])


def _pool(name, nd, x, *args, **kwargs):
    func = inmemory(name)
    x = as_dask(x, "x")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{name} needs x of shape (N, C, *spatial) or (C, *spatial) with {nd} "
                         f"spatial axes; got shape {tuple(x.shape)}")
    # One zero plane through the in-memory function: validation, output size, dtypes.
    probe = func(np.zeros((1,) + tuple(x.shape[-nd:]), x.dtype), *args, **kwargs)
    outs = probe if isinstance(probe, tuple) else (probe,)
    sizes = {f"o{c}": o for c, o in zip(_LETTERS[-nd:], outs[0].shape[1:], strict=True)}
    return _gufunc(task(func, *args, **kwargs) if not args else task(_positional(func, args), **kwargs),
                   x, _core(nd), [_core(nd, "o")] * len(outs), sizes, [o.dtype for o in outs])


class _positional:
    """``func(block, *args, **kw)`` as a picklable callable taking the block first."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __call__(self, block, **kwargs):
        return self.func(block, *self.args, **kwargs)


def _make_pool(kind: str, nd: int):
    name = f"{kind}_pool{nd}d"

    def pool(x, *args, **kwargs):
        return _pool(name, nd, x, *args, **kwargs)

    pool.__name__ = pool.__qualname__ = name
    pool.__doc__ = f"""``numbaconv.{name}`` on a dask array, batch and channel chunks kept.

    Takes the arguments of ``numbaconv.{name}`` (PyTorch's
    ``F.{name}``). The {nd} spatial axes are rechunked to one chunk each; every
    task pools one (batch, channel) block in memory, so indices returned with
    ``return_indices=True`` are the same in-plane positions as in memory.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or ``(C, *spatial)``.
    *args, **kwargs
        As for ``numbaconv.{name}``.

    Returns
    -------
    dask.array.Array or tuple of dask.array.Array
        The lazy result (a pair with ``return_indices=True``).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 2) + (6,) * {nd}, chunks=1)
    >>> bool(np.array_equal(ncd.{name}(x, 2).compute(), nc.{name}(x.compute(), 2)))
    True
    """
    return pool


def _make_conv(nd: int):
    def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
             padding_mode: str = "zeros"):
        return _conv(nd, x, weight, bias, stride, padding, dilation, groups, padding_mode)

    conv.__name__ = conv.__qualname__ = f"conv{nd}d"
    conv.__doc__ = f"""``numbaconv.conv{nd}d`` on a dask array chunked along the batch axis.

    The channel and spatial axes are rechunked to one chunk each (a
    convolution mixes all input channels, and the whole image keeps strides
    and padding aligned); each task convolves one batch chunk in memory.

    Parameters
    ----------
    x : dask.array.Array or array_like
        ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, {nd} spatial axes.
    weight, bias, stride, padding, dilation, groups, padding_mode
        As for ``numbaconv.conv{nd}d``; ``weight`` and ``bias`` are in memory.

    Returns
    -------
    dask.array.Array
        ``(N, K, *out)``, lazily, batch chunks as in ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.random.default_rng(0).standard_normal((4, 3) + (7,) * {nd}, chunks=(1, 2) + (4,) * {nd})
    >>> w = np.random.default_rng(1).standard_normal((2, 3) + (3,) * {nd})
    >>> y = ncd.conv{nd}d(x, w, padding=1)
    >>> y.shape, y.chunks[0]
    ({(4, 2) + (7,) * nd}, (1, 1, 1, 1))
    >>> bool(np.allclose(y.compute(), nc.conv{nd}d(x.compute(), w, padding=1)))
    True
    """
    return conv


# --------------------------------------------------------------------------- activations

#: elementwise activations: any chunking works, chunks are kept.
ELEMENTWISE = ("identity", "step", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu",
               "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh",
               "hardsigmoid", "hardswish", "log_sigmoid")


def _elementwise(name, x, **params):
    func = inmemory(name)
    x = as_dask(x, "x")
    probe = func(np.zeros((1,), x.dtype), **params)
    return x.map_blocks(task(func, **params), dtype=probe.dtype,
                        meta=np.empty((0,) * x.ndim, probe.dtype))


def _make_elementwise(name: str):
    def act(x, **params):
        return _elementwise(name, x, **params)

    act.__name__ = act.__qualname__ = name
    act.__doc__ = f"""``numbaconv.{name}`` on a dask array, chunk by chunk (any chunking, chunks kept).

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    **params
        The keyword parameters of ``numbaconv.{name}``.

    Returns
    -------
    dask.array.Array
        The lazy result, same shape and chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.{name}(x).compute(), nc.{name}(x.compute())))
    True
    """
    return act


def _along_axis(name: str, x, axis: int):
    func = inmemory(name)
    x = as_dask(x, "x")
    if x.ndim == 0:
        raise ValueError(f"x must have at least 1 dimension for {name} over an axis")
    ax = normalize_axis(axis, x.ndim)
    probe = func(np.zeros((1,), x.dtype))
    x = x.rechunk({ax: -1})
    return x.map_blocks(task(func, axis=ax), dtype=probe.dtype,
                        meta=np.empty((0,) * x.ndim, probe.dtype))


def softmax(x, axis: int = -1):
    """``numbaconv.softmax`` along ``axis`` of a dask array.

    The softmax axis is rechunked to one chunk (every output needs the whole
    row); the other axes keep their chunks.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, at least 1-D.
    axis : int, optional
        The axis to normalise over.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.log([[1.0, 3.0], [2.0, 2.0]]), chunks=1)
    >>> ncd.softmax(x, axis=1).compute()
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    return _along_axis("softmax", x, axis)


def log_softmax(x, axis: int = -1):
    """``numbaconv.log_softmax`` along ``axis`` of a dask array (the axis is rechunked to one chunk).

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, at least 1-D.
    axis : int, optional
        The axis to normalise over.

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.log([[1.0, 3.0], [2.0, 2.0]]), chunks=1)
    >>> np.exp(ncd.log_softmax(x, axis=1).compute())
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    return _along_axis("log_softmax", x, axis)


def prelu(x, weight):
    """``numbaconv.prelu`` on a dask array; the channel axis (1) is rechunked to one chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input, channels along axis 1.
    weight : array_like
        One slope, or one per channel (in memory).

    Returns
    -------
    dask.array.Array
        The lazy result.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv.dask as ncd
    >>> x = da.from_array(np.array([[-2.0, 2.0], [-4.0, 4.0]]), chunks=1)
    >>> ncd.prelu(x, np.array([0.5, 0.25])).compute()
    array([[-1.,  2.],
           [-2.,  4.]])
    """
    func = inmemory("prelu")
    x = as_dask(x, "x")
    w = as_host(weight, "weight")
    probe = func(np.zeros((1,), x.dtype), np.ones(1, w.dtype))
    if x.ndim >= 2:
        x = x.rechunk({1: -1})
    return x.map_blocks(task(func, weight=w), dtype=probe.dtype,
                        meta=np.empty((0,) * x.ndim, probe.dtype))
