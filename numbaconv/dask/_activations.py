"""Elementwise activations on dask arrays: one task per chunk, chunks kept.

Each function takes the arguments of the in-memory function of the same name
(without ``out=``) and maps it over the chunks; ``*_backward`` maps over the chunks
of ``grad_output`` and ``x`` together (``grad_output`` is rechunked like ``x``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._dl import elementwise, elementwise_backward

if TYPE_CHECKING:
    import dask.array as da

    from ..typing import ArrayLike


def identity(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.identity`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.identity(x).compute(),
    ...                     nc.identity(x.compute())))
    True
    """
    return elementwise("identity", x)


def identity_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.identity_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.identity_derivative(x).compute(),
    ...                     nc.identity_derivative(x.compute())))
    True
    """
    return elementwise("identity_derivative", x)


def identity_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.identity_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.identity_backward(g, x).compute(),
    ...                     nc.identity_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("identity_backward", grad_output, x)


def step(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.step`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.step(x).compute(),
    ...                     nc.step(x.compute())))
    True
    """
    return elementwise("step", x)


def step_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.step_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.step_derivative(x).compute(),
    ...                     nc.step_derivative(x.compute())))
    True
    """
    return elementwise("step_derivative", x)


def step_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.step_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.step_backward(g, x).compute(),
    ...                     nc.step_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("step_backward", grad_output, x)


def sigmoid(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.sigmoid`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.sigmoid(x).compute(),
    ...                     nc.sigmoid(x.compute())))
    True
    """
    return elementwise("sigmoid", x)


def sigmoid_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.sigmoid_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.sigmoid_derivative(x).compute(),
    ...                     nc.sigmoid_derivative(x.compute())))
    True
    """
    return elementwise("sigmoid_derivative", x)


def sigmoid_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.sigmoid_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.sigmoid_backward(g, x).compute(),
    ...                     nc.sigmoid_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("sigmoid_backward", grad_output, x)


def tanh(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.tanh`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.tanh(x).compute(),
    ...                     nc.tanh(x.compute())))
    True
    """
    return elementwise("tanh", x)


def tanh_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.tanh_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.tanh_derivative(x).compute(),
    ...                     nc.tanh_derivative(x.compute())))
    True
    """
    return elementwise("tanh_derivative", x)


def tanh_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.tanh_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.tanh_backward(g, x).compute(),
    ...                     nc.tanh_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("tanh_backward", grad_output, x)


def relu(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu(x).compute(),
    ...                     nc.relu(x.compute())))
    True
    """
    return elementwise("relu", x)


def relu_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu_derivative(x).compute(),
    ...                     nc.relu_derivative(x.compute())))
    True
    """
    return elementwise("relu_derivative", x)


def relu_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu_backward(g, x).compute(),
    ...                     nc.relu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("relu_backward", grad_output, x)


def relu6(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu6`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu6(x).compute(),
    ...                     nc.relu6(x.compute())))
    True
    """
    return elementwise("relu6", x)


def relu6_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu6_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu6_derivative(x).compute(),
    ...                     nc.relu6_derivative(x.compute())))
    True
    """
    return elementwise("relu6_derivative", x)


def relu6_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.relu6_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.relu6_backward(g, x).compute(),
    ...                     nc.relu6_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("relu6_backward", grad_output, x)


def leaky_relu(x: da.Array | ArrayLike, negative_slope: float = 0.01) -> da.Array:
    """``numbaconv.leaky_relu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    negative_slope
        As for :func:`numbaconv.leaky_relu`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.leaky_relu(x).compute(),
    ...                     nc.leaky_relu(x.compute())))
    True
    """
    return elementwise("leaky_relu", x, negative_slope=negative_slope)


def leaky_relu_derivative(x: da.Array | ArrayLike, negative_slope: float = 0.01) -> da.Array:
    """``numbaconv.leaky_relu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    negative_slope
        As for :func:`numbaconv.leaky_relu_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.leaky_relu_derivative(x).compute(),
    ...                     nc.leaky_relu_derivative(x.compute())))
    True
    """
    return elementwise("leaky_relu_derivative", x, negative_slope=negative_slope)


def leaky_relu_backward(
    grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike, negative_slope: float = 0.01
) -> da.Array:
    """``numbaconv.leaky_relu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    negative_slope
        As for :func:`numbaconv.leaky_relu_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.leaky_relu_backward(g, x).compute(),
    ...                     nc.leaky_relu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward(
        "leaky_relu_backward", grad_output, x, negative_slope=negative_slope
    )


def elu(x: da.Array | ArrayLike, alpha: float = 1.0) -> da.Array:
    """``numbaconv.elu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    alpha
        As for :func:`numbaconv.elu`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.elu(x).compute(),
    ...                     nc.elu(x.compute())))
    True
    """
    return elementwise("elu", x, alpha=alpha)


def elu_derivative(x: da.Array | ArrayLike, alpha: float = 1.0) -> da.Array:
    """``numbaconv.elu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    alpha
        As for :func:`numbaconv.elu_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.elu_derivative(x).compute(),
    ...                     nc.elu_derivative(x.compute())))
    True
    """
    return elementwise("elu_derivative", x, alpha=alpha)


def elu_backward(
    grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike, alpha: float = 1.0
) -> da.Array:
    """``numbaconv.elu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    alpha
        As for :func:`numbaconv.elu_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.elu_backward(g, x).compute(),
    ...                     nc.elu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("elu_backward", grad_output, x, alpha=alpha)


def selu(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.selu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.selu(x).compute(),
    ...                     nc.selu(x.compute())))
    True
    """
    return elementwise("selu", x)


def selu_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.selu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.selu_derivative(x).compute(),
    ...                     nc.selu_derivative(x.compute())))
    True
    """
    return elementwise("selu_derivative", x)


def selu_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.selu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.selu_backward(g, x).compute(),
    ...                     nc.selu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("selu_backward", grad_output, x)


def celu(x: da.Array | ArrayLike, alpha: float = 1.0) -> da.Array:
    """``numbaconv.celu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    alpha
        As for :func:`numbaconv.celu`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.celu(x).compute(),
    ...                     nc.celu(x.compute())))
    True
    """
    return elementwise("celu", x, alpha=alpha)


def celu_derivative(x: da.Array | ArrayLike, alpha: float = 1.0) -> da.Array:
    """``numbaconv.celu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    alpha
        As for :func:`numbaconv.celu_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.celu_derivative(x).compute(),
    ...                     nc.celu_derivative(x.compute())))
    True
    """
    return elementwise("celu_derivative", x, alpha=alpha)


def celu_backward(
    grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike, alpha: float = 1.0
) -> da.Array:
    """``numbaconv.celu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    alpha
        As for :func:`numbaconv.celu_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.celu_backward(g, x).compute(),
    ...                     nc.celu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("celu_backward", grad_output, x, alpha=alpha)


def gelu(x: da.Array | ArrayLike, approximate: str = "none") -> da.Array:
    """``numbaconv.gelu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    approximate
        As for :func:`numbaconv.gelu`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.gelu(x).compute(),
    ...                     nc.gelu(x.compute())))
    True
    """
    return elementwise("gelu", x, approximate=approximate)


def gelu_derivative(x: da.Array | ArrayLike, approximate: str = "none") -> da.Array:
    """``numbaconv.gelu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    approximate
        As for :func:`numbaconv.gelu_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.gelu_derivative(x).compute(),
    ...                     nc.gelu_derivative(x.compute())))
    True
    """
    return elementwise("gelu_derivative", x, approximate=approximate)


def gelu_backward(
    grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike, approximate: str = "none"
) -> da.Array:
    """``numbaconv.gelu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    approximate
        As for :func:`numbaconv.gelu_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.gelu_backward(g, x).compute(),
    ...                     nc.gelu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("gelu_backward", grad_output, x, approximate=approximate)


def silu(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.silu`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.silu(x).compute(),
    ...                     nc.silu(x.compute())))
    True
    """
    return elementwise("silu", x)


def silu_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.silu_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.silu_derivative(x).compute(),
    ...                     nc.silu_derivative(x.compute())))
    True
    """
    return elementwise("silu_derivative", x)


def silu_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.silu_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.silu_backward(g, x).compute(),
    ...                     nc.silu_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("silu_backward", grad_output, x)


def mish(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.mish`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.mish(x).compute(),
    ...                     nc.mish(x.compute())))
    True
    """
    return elementwise("mish", x)


def mish_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.mish_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.mish_derivative(x).compute(),
    ...                     nc.mish_derivative(x.compute())))
    True
    """
    return elementwise("mish_derivative", x)


def mish_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.mish_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.mish_backward(g, x).compute(),
    ...                     nc.mish_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("mish_backward", grad_output, x)


def softplus(x: da.Array | ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> da.Array:
    """``numbaconv.softplus`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    beta, threshold
        As for :func:`numbaconv.softplus`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softplus(x).compute(),
    ...                     nc.softplus(x.compute())))
    True
    """
    return elementwise("softplus", x, beta=beta, threshold=threshold)


def softplus_derivative(
    x: da.Array | ArrayLike, beta: float = 1.0, threshold: float = 20.0
) -> da.Array:
    """``numbaconv.softplus_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    beta, threshold
        As for :func:`numbaconv.softplus_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softplus_derivative(x).compute(),
    ...                     nc.softplus_derivative(x.compute())))
    True
    """
    return elementwise("softplus_derivative", x, beta=beta, threshold=threshold)


def softplus_backward(
    grad_output: da.Array | ArrayLike,
    x: da.Array | ArrayLike,
    beta: float = 1.0,
    threshold: float = 20.0,
) -> da.Array:
    """``numbaconv.softplus_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    beta, threshold
        As for :func:`numbaconv.softplus_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softplus_backward(g, x).compute(),
    ...                     nc.softplus_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("softplus_backward", grad_output, x, beta=beta, threshold=threshold)


def softsign(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.softsign`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softsign(x).compute(),
    ...                     nc.softsign(x.compute())))
    True
    """
    return elementwise("softsign", x)


def softsign_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.softsign_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softsign_derivative(x).compute(),
    ...                     nc.softsign_derivative(x.compute())))
    True
    """
    return elementwise("softsign_derivative", x)


def softsign_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.softsign_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.softsign_backward(g, x).compute(),
    ...                     nc.softsign_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("softsign_backward", grad_output, x)


def hardtanh(x: da.Array | ArrayLike, min_val: float = -1.0, max_val: float = 1.0) -> da.Array:
    """``numbaconv.hardtanh`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    min_val, max_val
        As for :func:`numbaconv.hardtanh`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardtanh(x).compute(),
    ...                     nc.hardtanh(x.compute())))
    True
    """
    return elementwise("hardtanh", x, min_val=min_val, max_val=max_val)


def hardtanh_derivative(
    x: da.Array | ArrayLike, min_val: float = -1.0, max_val: float = 1.0
) -> da.Array:
    """``numbaconv.hardtanh_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.
    min_val, max_val
        As for :func:`numbaconv.hardtanh_derivative`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardtanh_derivative(x).compute(),
    ...                     nc.hardtanh_derivative(x.compute())))
    True
    """
    return elementwise("hardtanh_derivative", x, min_val=min_val, max_val=max_val)


def hardtanh_backward(
    grad_output: da.Array | ArrayLike,
    x: da.Array | ArrayLike,
    min_val: float = -1.0,
    max_val: float = 1.0,
) -> da.Array:
    """``numbaconv.hardtanh_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.
    min_val, max_val
        As for :func:`numbaconv.hardtanh_backward`.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardtanh_backward(g, x).compute(),
    ...                     nc.hardtanh_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward(
        "hardtanh_backward", grad_output, x, min_val=min_val, max_val=max_val
    )


def hardsigmoid(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardsigmoid`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardsigmoid(x).compute(),
    ...                     nc.hardsigmoid(x.compute())))
    True
    """
    return elementwise("hardsigmoid", x)


def hardsigmoid_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardsigmoid_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardsigmoid_derivative(x).compute(),
    ...                     nc.hardsigmoid_derivative(x.compute())))
    True
    """
    return elementwise("hardsigmoid_derivative", x)


def hardsigmoid_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardsigmoid_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardsigmoid_backward(g, x).compute(),
    ...                     nc.hardsigmoid_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("hardsigmoid_backward", grad_output, x)


def hardswish(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardswish`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardswish(x).compute(),
    ...                     nc.hardswish(x.compute())))
    True
    """
    return elementwise("hardswish", x)


def hardswish_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardswish_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardswish_derivative(x).compute(),
    ...                     nc.hardswish_derivative(x.compute())))
    True
    """
    return elementwise("hardswish_derivative", x)


def hardswish_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.hardswish_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.hardswish_backward(g, x).compute(),
    ...                     nc.hardswish_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("hardswish_backward", grad_output, x)


def log_sigmoid(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.log_sigmoid`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.log_sigmoid(x).compute(),
    ...                     nc.log_sigmoid(x.compute())))
    True
    """
    return elementwise("log_sigmoid", x)


def log_sigmoid_derivative(x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.log_sigmoid_derivative`` on a dask array, chunk by chunk.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input of any shape.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> x = da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.log_sigmoid_derivative(x).compute(),
    ...                     nc.log_sigmoid_derivative(x.compute())))
    True
    """
    return elementwise("log_sigmoid_derivative", x)


def log_sigmoid_backward(grad_output: da.Array | ArrayLike, x: da.Array | ArrayLike) -> da.Array:
    """``numbaconv.log_sigmoid_backward`` on dask arrays, chunk by chunk.

    Parameters
    ----------
    grad_output : dask.array.Array or array_like
        The gradient of the loss with respect to the output, shape of ``x``;
        rechunked to ``x``'s chunks.
    x : dask.array.Array or array_like
        The forward input.

    Returns
    -------
    dask.array.Array
        The lazy result, shape and chunks of ``x``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import numbaconv as nc, numbaconv.dask as ncd
    >>> g, x = da.ones(11, chunks=4), da.linspace(-3, 3, 11, chunks=4)
    >>> bool(np.array_equal(ncd.log_sigmoid_backward(g, x).compute(),
    ...                     nc.log_sigmoid_backward(g.compute(), x.compute())))
    True
    """
    return elementwise_backward("log_sigmoid_backward", grad_output, x)
