"""Every public name of numbaconv, called the way a user calls it.

pyright checks this file with the package (``make typecheck``): a wrong annotation in the
public API (a parameter that rejects a documented argument, a return type without ``.shape``,
a tuple result that cannot be unpacked) is an error here. It also runs, on small arrays, so the
calls are known to be valid: ``python tests/typing/public_api.py``.
``tests/test_architecture.py::test_typing_script_uses_every_public_name`` checks that it
names everything in ``numbaconv.__all__``, ``numbaconv.grad.__all__``,
``numbaconv.dask.__all__``, ``numbaconv.testing.__all__``, ``numbaconv.typing.__all__`` and
``numbaconv.compile``. Not a test module (no ``test_`` prefix): pytest does not collect it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import dask.array as da
import numpy as np
import numpy.typing as npt

import numbaconv as nc
import numbaconv.dask as ncd
import numbaconv.typing as nt
from numbaconv import grad, testing

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    def assert_type(value, _type):
        return value

rng = np.random.default_rng(0)


def randn(*shape: int, dtype: nt.DTypeLike = np.float64) -> npt.NDArray[Any]:
    return rng.standard_normal(shape).astype(dtype)


def host(y: nt.Array) -> npt.NDArray[Any]:
    """A result on the host: NumPy arrays as they are, numba CUDA arrays copied back."""
    if isinstance(y, np.ndarray):
        return y
    device: nt.CudaArray = y
    return np.asarray(device)


def chunked(a: npt.NDArray[Any], chunks: int | tuple[int, ...]) -> da.Array:
    """``a`` as a dask array (``dask.array.from_array``'s ``chunks="auto"`` has no annotation
    and reads as ``str`` to pyright)."""
    return da.from_array(a, chunks=cast(Any, chunks))


def check(y: nt.Array, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    assert tuple(y.shape) == shape, (y.shape, shape)
    return host(y)


def layer(x: nt.ArrayLike, w: nt.ArrayLike, stride: nt.Size = 1,
          padding: nt.Padding = "same") -> nt.Array:
    """A user's layer, annotated with numbaconv.typing's aliases."""
    return nc.relu(nc.conv2d(x, w, stride=stride, padding=padding))


def shapes_() -> None:
    n: int = nc.conv_output_size(28, 5, stride=1, padding=2)
    assert n == 28
    assert nc.conv_output_size(28, 5, padding=(2, 2), dilation=1) == 28
    assert nc.conv_transpose_output_size(14, 4, stride=2, padding=1, output_padding=0) == 28
    assert nc.pool_output_size(28, 2) == 14
    assert nc.pool_output_size(28, 3, stride=2, padding=1, ceil_mode=True) == 15
    before, after = nc.same_padding(28, 5, stride=2)
    assert before + after == 3
    assert nc.shapes.conv_output_size(10, 3) == 8


def padding() -> None:
    x = randn(3, 5)
    check(nc.pad(x, 2, mode="reflect"), (7, 9))
    check(nc.pad(x, ((1, 1), (2, 0)), constant_values=0.5), (5, 7))
    check(nc.pad([1, 2, 3], (1, 2), mode="edge"), (6,))
    buf = np.empty((5, 7))
    assert nc.pad(x, 1, mode="wrap", out=buf) is buf


def signal() -> None:
    a, v = randn(64), randn(5)
    check(nc.convolve(a, v), (68,))
    check(nc.convolve(a, v, "same", method="direct", dtype=np.float32), (64,))
    check(nc.correlate(a, v, mode="valid", method="fft"), (60,))
    img, k = randn(16, 16), randn(3, 3)
    check(nc.convolve2d(img, k, mode="same", boundary="wrap"), (16, 16))
    check(nc.correlate2d(img, k, "valid", "symm", fillvalue=0.0), (14, 14))
    check(nc.fftconvolve(img, k, mode="full", axes=(0, 1)), (18, 18))
    check(nc.oaconvolve(a, v, "same"), (64,))
    method: str = nc.choose_conv_method(a, v, mode="same")
    assert method in ("direct", "fft")
    best, times = nc.choose_conv_method(a, v, measure=True)
    assert best in times and times[best] >= 0.0


def conv() -> None:
    x1, w1, b = randn(2, 3, 16), randn(4, 3, 3), randn(4)
    y1 = nc.conv1d(x1, w1, b, stride=1, padding="causal", dilation=2)
    check(y1, (2, 4, 16))
    x2, w2 = randn(2, 3, 8, 8), randn(4, 3, 3, 3)
    y2 = nc.conv2d(x2, w2, b, (2, 2), 1, groups=1, padding_mode="reflect")
    check(y2, (2, 4, 4, 4))
    check(nc.conv2d(x2.transpose(0, 2, 3, 1), w2, padding="same",
                    data_format="channels_last"), (2, 8, 8, 4))
    check(layer(x2, w2, padding=((1, 1), (1, 1))), (2, 4, 8, 8))
    x3, w3 = randn(1, 2, 5, 5, 5), randn(3, 2, 3, 3, 3)
    check(nc.conv3d(x3, w3, padding=1, out=np.empty((1, 3, 5, 5, 5))), (1, 3, 5, 5, 5))
    check(nc.conv_transpose1d(x1, randn(3, 2, 3), stride=2, output_padding=1), (2, 2, 34))
    check(nc.conv_transpose2d(randn(1, 4, 5, 5), randn(4, 2, 3, 3), randn(2), 2, 1),
          (1, 2, 9, 9))
    check(nc.conv_transpose3d(x3, randn(2, 1, 2, 2, 2), stride=(2, 2, 2)), (1, 1, 10, 10, 10))

    # gradients, torch.nn.grad style
    g2 = np.ones_like(host(y2))
    check(grad.conv2d_input(x2.shape, w2, g2, stride=2, padding=1), x2.shape)
    check(grad.conv2d_weight(x2, w2.shape, g2, 2, 1), w2.shape)
    check(grad.conv_bias(g2), (4,))
    g1 = np.ones_like(host(y1))
    check(grad.conv1d_input((2, 3, 16), w1, g1, padding="causal", dilation=2), (2, 3, 16))
    check(grad.conv1d_weight(x1, (4, 3, 3), g1, padding="causal", dilation=2), (4, 3, 3))
    check(grad.conv_bias(g1[0], unbatched=True), (4,))
    g3 = np.ones((1, 3, 3, 3, 3))
    check(grad.conv3d_input(list(x3.shape), w3, g3), x3.shape)
    check(grad.conv3d_weight(x3, w3.shape, g3, data_format="channels_first"), w3.shape)


def pooling() -> None:
    x1, x2, x3 = randn(2, 3, 12), randn(2, 3, 8, 8), randn(1, 2, 4, 4, 4)

    y = nc.max_pool2d(x2, 2)
    assert_type(y, nt.Array)
    check(y, (2, 3, 4, 4))
    y, idx = nc.max_pool2d(x2, 3, 2, 1, return_indices=True)
    assert_type(idx, nt.Array)
    assert host(idx).dtype == np.int64
    check(nc.max_unpool2d(y, idx, 3, 2, 1, output_size=(8, 8)), x2.shape)
    check(grad.max_pool2d_input(np.ones((2, 3, 4, 4)), x2, 2), x2.shape)
    flag: bool = bool(x2.size)
    either = nc.max_pool2d(x2, 2, return_indices=flag)
    assert isinstance(either, tuple)

    y1, i1 = nc.max_pool1d(x1, 2, 2, 0, 1, False, True)
    check(nc.max_unpool1d(y1, i1, 2), x1.shape)
    check(nc.max_pool1d(x1, 3, stride=1, ceil_mode=True), (2, 3, 10))
    check(grad.max_pool1d_input(np.ones((2, 3, 6)), x1, 2), x1.shape)
    y3, i3 = nc.max_pool3d(x3, 2, return_indices=True)
    check(nc.max_unpool3d(y3, i3, 2, data_format="channels_first"), x3.shape)
    check(grad.max_pool3d_input(np.ones((1, 2, 2, 2, 2)), x3, (2, 2, 2)), x3.shape)

    a1 = nc.avg_pool1d(x1, 3, 1, 1, count_include_pad=False)
    check(grad.avg_pool1d_input(np.ones_like(host(a1)), x1.shape, 3, 1, 1,
                                count_include_pad=False), x1.shape)
    a2 = nc.avg_pool2d(x2, 2, divisor_override=3)
    check(grad.avg_pool2d_input(np.ones_like(host(a2)), x2.shape, 2, divisor_override=3),
          x2.shape)
    a3 = nc.avg_pool3d(x3, 2, ceil_mode=True)
    check(grad.avg_pool3d_input(np.ones((1, 2, 2, 2, 2)), (1, 2, 4, 4, 4), 2, ceil_mode=True),
          x3.shape)
    check(a3, (1, 2, 2, 2, 2))

    check(nc.adaptive_avg_pool1d(x1, 5), (2, 3, 5))
    check(nc.adaptive_avg_pool2d(x2, (3, None)), (2, 3, 3, 8))
    check(nc.adaptive_avg_pool3d(x3, 1), (1, 2, 1, 1, 1))
    m1 = nc.adaptive_max_pool1d(x1, 4)
    m2, j2 = nc.adaptive_max_pool2d(x2, (3, 3), return_indices=True)
    m3 = nc.adaptive_max_pool3d(x3, [2, 2, 1])
    assert host(j2).shape == tuple(m2.shape)
    check(grad.adaptive_max_pool1d_input(np.ones_like(host(m1)), x1), x1.shape)
    check(grad.adaptive_max_pool2d_input(np.ones((2, 3, 3, 3)), x2), x2.shape)
    check(grad.adaptive_max_pool3d_input(np.ones_like(host(m3)), x3), x3.shape)
    check(grad.adaptive_avg_pool1d_input(np.ones((2, 3, 5)), x1.shape), x1.shape)
    check(grad.adaptive_avg_pool2d_input(np.ones((2, 3, 3, 3)), x2.shape), x2.shape)
    check(grad.adaptive_avg_pool3d_input(np.ones((1, 2, 1, 1, 1)), x3.shape), x3.shape)


def activations() -> None:
    x = np.linspace(-3.0, 3.0, 12).reshape(3, 4)
    g = np.ones_like(x)
    shape = x.shape

    check(nc.identity(x), shape)
    check(nc.identity_derivative(x), shape)
    check(nc.identity_backward(g, x), shape)
    check(nc.step(x), shape)
    check(nc.step_derivative(x), shape)
    check(nc.step_backward(g, x), shape)
    check(nc.sigmoid(x), shape)
    check(nc.sigmoid_derivative(x), shape)
    check(nc.sigmoid_backward(g, x), shape)
    check(nc.tanh(x), shape)
    check(nc.tanh_derivative(x), shape)
    check(nc.tanh_backward(g, x), shape)
    check(nc.relu(x), shape)
    check(nc.relu_derivative(x), shape)
    check(nc.relu_backward(g, x), shape)
    check(nc.relu6(x), shape)
    check(nc.relu6_derivative(x), shape)
    check(nc.relu6_backward(g, x), shape)
    check(nc.leaky_relu(x, 0.2), shape)
    check(nc.leaky_relu_derivative(x, negative_slope=0.2), shape)
    check(nc.leaky_relu_backward(g, x, 0.2), shape)
    check(nc.elu(x, alpha=0.5), shape)
    check(nc.elu_derivative(x, 0.5), shape)
    check(nc.elu_backward(g, x, alpha=0.5), shape)
    check(nc.selu(x), shape)
    check(nc.selu_derivative(x), shape)
    check(nc.selu_backward(g, x), shape)
    check(nc.celu(x, 2.0), shape)
    check(nc.celu_derivative(x, alpha=2.0), shape)
    check(nc.celu_backward(g, x, 2.0), shape)
    check(nc.gelu(x, approximate="tanh"), shape)
    check(nc.gelu_derivative(x), shape)
    check(nc.gelu_backward(g, x, "tanh"), shape)
    check(nc.silu(x), shape)
    check(nc.silu_derivative(x), shape)
    check(nc.silu_backward(g, x), shape)
    check(nc.mish(x), shape)
    check(nc.mish_derivative(x), shape)
    check(nc.mish_backward(g, x), shape)
    check(nc.softplus(x, beta=2.0, threshold=10.0), shape)
    check(nc.softplus_derivative(x, 2.0), shape)
    check(nc.softplus_backward(g, x, beta=2.0), shape)
    check(nc.softsign(x), shape)
    check(nc.softsign_derivative(x), shape)
    check(nc.softsign_backward(g, x), shape)
    check(nc.hardtanh(x, -2.0, 2.0), shape)
    check(nc.hardtanh_derivative(x, min_val=-2.0, max_val=2.0), shape)
    check(nc.hardtanh_backward(g, x, max_val=0.5), shape)
    check(nc.hardsigmoid(x), shape)
    check(nc.hardsigmoid_derivative(x), shape)
    check(nc.hardsigmoid_backward(g, x), shape)
    check(nc.hardswish(x), shape)
    check(nc.hardswish_derivative(x), shape)
    check(nc.hardswish_backward(g, x), shape)
    check(nc.log_sigmoid(x), shape)
    check(nc.log_sigmoid_derivative(x), shape)
    check(nc.log_sigmoid_backward(g, x), shape)

    # value and derivative in one pass: a pair, optionally into given arrays
    pairs = [
        nc.identity_and_derivative(x), nc.step_and_derivative(x),
        nc.sigmoid_and_derivative(x), nc.tanh_and_derivative(x), nc.relu_and_derivative(x),
        nc.relu6_and_derivative(x), nc.leaky_relu_and_derivative(x, 0.1),
        nc.elu_and_derivative(x, alpha=1.5), nc.selu_and_derivative(x),
        nc.celu_and_derivative(x, 0.5), nc.gelu_and_derivative(x, "tanh"),
        nc.silu_and_derivative(x), nc.mish_and_derivative(x),
        nc.softplus_and_derivative(x, 1.0, 20.0), nc.softsign_and_derivative(x),
        nc.hardtanh_and_derivative(x, -1.0, 1.0), nc.hardsigmoid_and_derivative(x),
        nc.hardswish_and_derivative(x), nc.log_sigmoid_and_derivative(x),
    ]
    for value, derivative in pairs:
        check(value, shape)
        check(derivative, shape)
    y, dy = nc.tanh_and_derivative(x, out=(np.empty(shape), None))
    np.testing.assert_allclose(host(dy), 1.0 - host(y) ** 2)

    # channel-wise PReLU and its weight gradient
    xc, w = randn(2, 3, 4), np.full(3, 0.25)
    check(nc.prelu(xc, w), xc.shape)
    check(nc.prelu_derivative(xc, w), xc.shape)
    v, d = nc.prelu_and_derivative(xc, w)
    check(nc.prelu_backward(np.ones_like(host(v)), xc, w), xc.shape)
    check(grad.prelu_weight(np.ones_like(host(d)), xc, w), (3,))

    s = nc.softmax(x, axis=1)
    check(nc.softmax_backward(g, s, axis=1), shape)
    ls = nc.log_softmax(x)
    check(nc.log_softmax_backward(g, ls, -1), shape)
    relu_out = np.empty(shape)
    assert nc.relu(x, out=relu_out) is relu_out


def normalization() -> None:
    x = randn(4, 3, 5, 5)
    mean, var = np.zeros(3), np.ones(3)
    weight, bias = np.ones(3), np.zeros(3)
    check(nc.batch_norm(x, mean, var, weight, bias, training=True, momentum=0.1), x.shape)
    y = nc.batch_norm(x, mean, var, eps=1e-3)
    g = np.ones_like(host(y))
    check(grad.batch_norm_input(g, x, mean, var, weight), x.shape)
    check(grad.batch_norm_weight(g, x, None, None, training=True), (3,))
    check(grad.batch_norm_bias(g), (3,))
    gx, gw, gb = grad.batch_norm_backward(g, x, mean, var, weight, eps=1e-3)
    check(gx, x.shape)
    check(gw, (3,))
    check(gb, (3,))
    xl = x.transpose(0, 2, 3, 1)  # channels last (Keras' BatchNormalization(axis=-1))
    yl = nc.batch_norm(xl, mean, var, weight, bias, data_format="channels_last")
    outs = (np.empty(xl.shape), None, np.empty(3))
    gxl, _, gbl = grad.batch_norm_backward(np.ones_like(host(yl)), xl, mean, var, weight,
                                           data_format="channels_last", out=outs)
    assert gxl is outs[0] and gbl is outs[2]


def testing_() -> None:
    x = np.linspace(-2.0, 2.0, 5)
    ok: bool = testing.gradcheck(nc.tanh, [x], lambda g, x: g * host(nc.tanh_derivative(x)))
    assert ok
    assert not testing.gradcheck(nc.tanh, x, lambda g, x: g, raise_exception=False)
    try:
        testing.gradcheck(nc.sigmoid, [x], lambda g, x: g, wrt=[0], elements=3, seed=1)
    except testing.GradcheckError as err:
        report: testing.GradcheckReport | None = err.report
        assert report is not None and report.failures > 0 and report.name == "x"
        print(report)
    else:
        raise AssertionError("gradcheck accepted a wrong gradient")
    (numerical,) = testing.numerical_vjp(lambda x: x ** 2, [x], np.ones(5), eps=1e-6)
    np.testing.assert_allclose(numerical, 2 * x, atol=1e-6)


def compile_() -> None:
    report = nc.compile("padding", "float64", processes=1, progress=False)
    assert report.calls == 5 and report.seconds >= 0.0
    print(report)


def dask() -> None:
    img = chunked(randn(12, 12), 6)
    k = randn(3, 3)
    assert ncd.convolve2d(img, k, mode="same", boundary="fill").compute().shape == (12, 12)
    assert ncd.correlate2d(img, k, "valid", fillvalue=0.0).shape == (10, 10)
    sig = chunked(randn(40), 10)
    assert ncd.convolve(sig, randn(5), mode="same").compute().shape == (40,)
    assert ncd.correlate(sig, randn(5), "full", method="direct").shape == (44,)

    x1, x2 = chunked(randn(2, 3, 16), (1, 3, 8)), randn(2, 3, 8, 8)
    x3 = chunked(randn(1, 2, 4, 4, 4), (1, 2, 2, 4, 4))
    b = randn(4)
    assert ncd.conv1d(x1, randn(4, 3, 3), b, padding="same").shape == (2, 4, 16)
    assert ncd.conv2d(x2, randn(4, 3, 3, 3), stride=2, padding=1).compute().shape == (2, 4, 4, 4)
    assert ncd.conv3d(x3, randn(3, 2, 2, 2, 2), data_format="channels_first").shape == \
        (1, 3, 3, 3, 3)

    y = ncd.max_pool2d(x2, 2)
    assert y.compute().shape == (2, 3, 4, 4)
    y1, i1 = ncd.max_pool1d(x1, 2, return_indices=True)
    assert i1.dtype == np.int64 and y1.shape == (2, 3, 8)
    assert ncd.max_pool3d(x3, 2, 2, 0, 1, False, False).shape == (1, 2, 2, 2, 2)
    assert ncd.avg_pool1d(x1, 2).shape == (2, 3, 8)
    assert ncd.avg_pool2d(x2, 3, 1, 1, count_include_pad=False).shape == x2.shape
    assert ncd.avg_pool3d(x3, 2, divisor_override=4).shape == (1, 2, 2, 2, 2)
    assert ncd.softmax(x1, axis=1).shape == x1.shape
    assert ncd.log_softmax(x1).shape == x1.shape
    assert ncd.prelu(x1, np.full(3, 0.25)).shape == x1.shape

    x = chunked(np.linspace(-3.0, 3.0, 12), 4)
    g = da.ones_like(x)
    results = [
        ncd.identity(x), ncd.identity_derivative(x), ncd.identity_backward(g, x),
        ncd.step(x), ncd.step_derivative(x), ncd.step_backward(g, x),
        ncd.sigmoid(x), ncd.sigmoid_derivative(x), ncd.sigmoid_backward(g, x),
        ncd.tanh(x), ncd.tanh_derivative(x), ncd.tanh_backward(g, x),
        ncd.relu(x), ncd.relu_derivative(x), ncd.relu_backward(g, x),
        ncd.relu6(x), ncd.relu6_derivative(x), ncd.relu6_backward(g, x),
        ncd.leaky_relu(x, 0.2), ncd.leaky_relu_derivative(x, negative_slope=0.2),
        ncd.leaky_relu_backward(g, x, 0.2),
        ncd.elu(x, alpha=0.5), ncd.elu_derivative(x, 0.5), ncd.elu_backward(g, x, 0.5),
        ncd.selu(x), ncd.selu_derivative(x), ncd.selu_backward(g, x),
        ncd.celu(x, 2.0), ncd.celu_derivative(x, 2.0), ncd.celu_backward(g, x, alpha=2.0),
        ncd.gelu(x, "tanh"), ncd.gelu_derivative(x), ncd.gelu_backward(g, x, approximate="tanh"),
        ncd.silu(x), ncd.silu_derivative(x), ncd.silu_backward(g, x),
        ncd.mish(x), ncd.mish_derivative(x), ncd.mish_backward(g, x),
        ncd.softplus(x, 2.0, 10.0), ncd.softplus_derivative(x, beta=2.0),
        ncd.softplus_backward(g, x, threshold=10.0),
        ncd.softsign(x), ncd.softsign_derivative(x), ncd.softsign_backward(g, x),
        ncd.hardtanh(x, -2.0, 2.0), ncd.hardtanh_derivative(x, max_val=2.0),
        ncd.hardtanh_backward(g, x, min_val=-2.0),
        ncd.hardsigmoid(x), ncd.hardsigmoid_derivative(x), ncd.hardsigmoid_backward(g, x),
        ncd.hardswish(x), ncd.hardswish_derivative(x), ncd.hardswish_backward(g, x),
        ncd.log_sigmoid(x), ncd.log_sigmoid_derivative(x), ncd.log_sigmoid_backward(g, x),
    ]
    computed = da.compute(*results)
    assert all(r.shape == (12,) for r in computed)

    threads: int = ncd.numba_threads_per_task()
    assert 1 <= threads <= ncd.numba_threads_per_task(64)
    assert ncd.cores() >= 1 and ncd.dask_threads() >= 1
    cluster = ncd.local_cluster(n_workers=1, processes=False, dashboard_address=":0")
    with cluster:
        assert len(cluster.workers) == 1


def main() -> None:
    for part in (shapes_, padding, signal, conv, pooling, activations, normalization,
                 testing_, compile_, dask):
        part()
    print("numbaconv's public API: every call ran")


if __name__ == "__main__":
    main()
