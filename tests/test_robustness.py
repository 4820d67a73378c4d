"""Every public function survives bad input, awkward layouts, threads and thread counts.

Driven by the table in ``robust_table.py``: each good call is mutated (bad
dtypes, wrong dimensions, non-contiguous / Fortran / big-endian / read-only /
list inputs) and must either give the same answer as the plain call or raise
a ValueError/TypeError naming the argument: never a Numba TypingError, a
crash, or a silently wrong result. Inputs are never modified.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib

import numba
import numpy as np
import pytest
from robust_table import BY_NAME, CALLS

import numbaconv as nc
from numbaconv import grad

IDS = [c.name for c in CALLS]


def _as_tuple(res):
    return res if isinstance(res, tuple) else (res,)


def assert_same(a, b):
    for x, y in zip(_as_tuple(a), _as_tuple(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _awkward_arrays(t) -> list[str]:
    """The arrays of a Numba argument type (inside tuples and
    :class:`numbaconv.cpu.native.Native` signatures too) that are read-only or unaligned
    float or complex ones: data a public wrapper should have copied before its kernel saw
    it. (The read-only arrays kernels take by design, the planners' integer tables and
    pooling's float table of reciprocals, compile in the plain call before the block; a
    kernel first compiled inside it with such a table would be reported too.)"""
    from numba.core import types

    from numbaconv.cpu.native import NativeType

    if isinstance(t, types.Array):
        data = isinstance(t.dtype, (types.Float, types.Complex))
        return [str(t)] if data and (not t.mutable or not t.aligned) else []
    if isinstance(t, NativeType):
        return [a for arg in t.signature.args for a in _awkward_arrays(arg)]
    if isinstance(t, types.BaseTuple):
        return [a for arg in t.types for a in _awkward_arrays(arg)]
    return []


@contextlib.contextmanager
def _kernels_see_plain_arrays(what: str):
    """Fails if a numbaconv kernel compiles inside the block for a read-only or unaligned
    float array: the public wrappers hand their kernels native, C-contiguous, aligned,
    writeable arrays (core/operands.py), so an awkward input costs a conversion, never
    another copy of the kernels for its Numba type (a read-only batch_norm input compiled
    51 of them, about 20 s)."""
    from numba.core import event

    seen = []

    class Watch(event.Listener):
        def on_start(self, ev):
            f = ev.data["dispatcher"].py_func
            if (getattr(f, "__module__", "") or "").startswith("numbaconv"):
                bad = [a for t in ev.data["args"] for a in _awkward_arrays(t)]
                if bad:
                    seen.append(f"{f.__module__}.{f.__qualname__}: {bad[0]}")

        def on_end(self, ev):
            pass

    listener = Watch()
    event.register("numba:compile", listener)
    try:
        yield
    finally:
        event.unregister("numba:compile", listener)
    assert not seen, f"{what}: kernels compiled for awkward arrays: {sorted(set(seen))}"


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_inputs_are_never_modified_and_read_only_inputs_work(call):
    arrays = call.build()
    copies = {k: v.copy() for k, v in arrays.items()}
    expected = call(arrays)
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], copies[k], err_msg=f"{call.name} modified {k}")
    read_only = {}
    for k, v in copies.items():
        v = v.copy()
        v.flags.writeable = False
        read_only[k] = v
    with _kernels_see_plain_arrays(f"{call.name} with read-only inputs"):
        got = call(read_only)
    assert_same(got, expected)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
@pytest.mark.parametrize("layout", ["fortran", "strided", "big-endian", "list"])
def test_awkward_layouts_give_the_same_answer(call, layout):
    arrays = call.build()
    expected = call(arrays)
    changed = {}
    for k, v in arrays.items():
        if layout == "fortran":
            changed[k] = np.asfortranarray(v)
        elif layout == "strided":
            big = np.zeros(tuple(2 * n for n in v.shape), dtype=v.dtype)
            view = big[tuple(slice(None, None, 2) for _ in v.shape)]
            view[...] = v
            changed[k] = view
        elif layout == "big-endian":
            changed[k] = v.astype(v.dtype.newbyteorder(">"))
        else:
            changed[k] = v.tolist()
    with _kernels_see_plain_arrays(f"{call.name} with {layout} inputs"):
        got = call(changed)
    assert_same(got, expected)


@pytest.mark.parametrize("call", [c for c in CALLS if c.name not in
                                  ("convolve", "correlate", "convolve2d", "correlate2d", "pad")],
                         ids=lambda c: c.name)
def test_integer_arrays_promote_like_numpy(call):
    arrays = call.build()
    ints = {k: np.round(v * 3).astype(np.int32) for k, v in arrays.items()}
    floats = {k: v.astype(np.float64) for k, v in ints.items()}
    got = call(ints)
    for g in _as_tuple(got):
        if np.asarray(g).dtype.kind == "f":
            assert np.asarray(g).dtype == np.float64
    assert_same(got, call(floats))


@pytest.mark.parametrize("call", CALLS, ids=IDS)
@pytest.mark.parametrize("bad", ["object", "str", "datetime"])
def test_non_numeric_dtypes_are_type_errors_naming_the_argument(call, bad):
    arrays = call.build()
    for k, v in arrays.items():
        broken = dict(arrays)
        if bad == "object":
            broken[k] = v.astype(object)
        elif bad == "str":
            broken[k] = v.astype(str)
        else:
            broken[k] = np.zeros(v.shape, dtype="datetime64[s]")
        with pytest.raises(TypeError, match=k):
            call(broken)


@pytest.mark.parametrize("call", [c for c in CALLS if not c.any_ndim and c.name != "pad"],
                         ids=lambda c: c.name)
def test_wrong_number_of_dimensions_is_a_value_error_naming_the_argument(call):
    arrays = call.build()
    for k, v in arrays.items():
        if k == "bias" or k == "weight" and call.name == "grad.prelu_weight":
            continue
        broken = dict(arrays)
        broken[k] = v[..., None, None]
        with pytest.raises(ValueError, match=k):
            call(broken)


@pytest.mark.parametrize("call", CALLS, ids=IDS)
def test_results_do_not_depend_on_the_thread_count(call):
    arrays = call.build(seed=5)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = call(arrays)
        numba.set_num_threads(before)
        many = call(arrays)
    finally:
        numba.set_num_threads(before)
    assert_same(one, many)


@pytest.mark.parametrize("fn, args", [
    ("conv2d_weight", lambda r: (r.standard_normal((16, 8, 20, 20)), (8, 8, 3, 3),
                                 r.standard_normal((16, 8, 18, 18)))),
    ("avg_pool2d", lambda r: (r.standard_normal((4, 8, 33, 33)), 3, 2, 1)),
    ("convolve", lambda r: (r.standard_normal(200_000), r.standard_normal(51), "same", "direct")),
    ("conv1d", lambda r: (r.standard_normal((2, 4, 50_000)), r.standard_normal((4, 4, 9)))),
])
def test_large_reductions_are_bitwise_identical_for_1_and_2_threads(fn, args):
    f = getattr(grad, fn, None) or getattr(nc, fn)
    a = args(np.random.default_rng(0))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = f(*a)
        numba.set_num_threads(max(2, before))
        two = f(*a)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_eight_python_threads_at_once_match_serial_calls():
    rng = np.random.default_rng(1)
    jobs = []
    for i in range(16):
        x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
        w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        s = rng.standard_normal(3000)
        k = rng.standard_normal(17)
        jobs += [
            (nc.conv2d, (x, w), {"padding": 1}),
            (nc.max_pool2d, (x, 2), {}),
            (nc.convolve, (s, k), {"mode": "same", "method": "direct"}),
            (nc.sigmoid, (x,), {}),
            (nc.softmax, (x,), {"axis": 1}),
        ]
        del i
    serial = [f(*a, **kw) for f, a, kw in jobs]
    for _ in range(3):
        with cf.ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(f, *a, **kw) for f, a, kw in jobs]
            for fut, expected in zip(futures, serial, strict=True):
                np.testing.assert_array_equal(fut.result(), expected)


def test_zero_size_batch_gives_an_empty_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    assert nc.conv2d(x, w, padding=1).shape == (0, 4, 8, 8)
    assert nc.max_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert nc.avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert nc.relu(x).shape == x.shape
    assert nc.softmax(x, axis=1).shape == x.shape


@pytest.mark.parametrize("fn", ["convolve", "correlate"])
def test_empty_signals_are_refused_like_scipy(fn):
    import scipy.signal

    with pytest.raises(ValueError):  # scipy (numpy.convolve) refuses them too
        getattr(scipy.signal, fn)(np.zeros(0), np.ones(3))
    with pytest.raises(ValueError, match="in1"):
        getattr(nc, fn)(np.zeros(0), np.ones(3))


X4 = np.ones((2, 4, 8, 8))
W4 = np.ones((6, 2, 3, 3))

BAD = [
    # (call, exception, words the message must contain)
    (lambda: nc.conv2d(X4, W4, groups=3), ValueError, "groups"),
    (lambda: nc.conv2d(X4, np.ones((6, 3, 3, 3))), ValueError, "channels"),
    (lambda: nc.conv2d(X4, W4, groups=2, stride=0), ValueError, "stride"),
    (lambda: nc.conv2d(X4, W4, groups=2, stride=1.5), TypeError, "stride"),
    (lambda: nc.conv2d(X4, W4, groups=2, dilation=0), ValueError, "dilation"),
    (lambda: nc.conv2d(X4, W4, groups=2, padding=-1), ValueError, "padding"),
    (lambda: nc.conv2d(X4, W4, groups=2, padding="half"), ValueError, "padding"),
    (lambda: nc.conv2d(X4, W4, groups=2, padding="causal"), ValueError, "causal"),
    (lambda: nc.conv2d(X4, W4, groups=2, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nc.conv2d(X4, np.ones((6, 2, 9, 9)), groups=2), ValueError, "kernel"),
    (lambda: nc.conv2d(X4, W4, bias=np.ones(5), groups=2), ValueError, "bias"),
    (lambda: grad.conv2d_input((2, 4, 8, 8), np.ones((6, 4, 3, 3)), np.ones((2, 6, 5, 5))),
     ValueError, "grad_output"),
    (lambda: grad.conv2d_weight(X4, (6, 4, 3, 3), np.ones((2, 5, 6, 6))), ValueError, "grad_output"),
    (lambda: nc.max_pool2d(X4, 0), ValueError, "kernel_size"),
    (lambda: nc.max_pool2d(X4, -2), ValueError, "kernel_size"),
    (lambda: nc.max_pool2d(X4, 2.5), TypeError, "kernel_size"),
    (lambda: nc.max_pool2d(X4, 2, padding=2), ValueError, "padding"),
    (lambda: nc.max_pool2d(X4, 9), ValueError, "pool"),
    (lambda: nc.avg_pool2d(X4, 2, padding="bogus"), ValueError, "padding"),
    (lambda: nc.avg_pool2d(X4, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: nc.adaptive_avg_pool2d(X4, 0), ValueError, "output_size"),
    (lambda: grad.max_pool2d_input(np.ones((2, 4, 3, 3)), X4, 2), ValueError, "grad_output"),
    (lambda: nc.softmax(X4, axis=4), ValueError, "axis"),
    (lambda: nc.log_softmax(X4, axis=1.0), TypeError, "axis"),
    (lambda: nc.prelu(X4, np.ones(3)), ValueError, "weight"),
    (lambda: nc.gelu(X4, approximate="fast"), ValueError, "approximate"),
    (lambda: nc.softmax_backward(np.ones((2, 3)), np.ones((3, 2))), ValueError, "shape"),
    (lambda: nc.convolve(np.ones(5), np.ones(3), mode="middle"), ValueError, "mode"),
    (lambda: nc.convolve(np.ones(5), np.ones(3), method="winograd"), ValueError, "method"),
    (lambda: nc.convolve(np.ones((5, 5)), np.ones(3)), ValueError, "dimension"),
    (lambda: nc.convolve(np.ones((5, 2)), np.ones((2, 5)), mode="valid"), ValueError, "valid"),
    (lambda: nc.convolve2d(np.ones((5, 5)), np.ones((3, 3)), boundary="mirror"), ValueError, "boundary"),
    (lambda: nc.convolve2d(np.ones(5), np.ones(3)), ValueError, "2"),
    (lambda: nc.pad(np.ones(3), 1, mode="mirror"), ValueError, "mode"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_arguments_get_errors_for_people(i):
    call, exc, words = BAD[i]
    with pytest.raises(exc) as info:
        call()
    assert words.lower() in str(info.value).lower(), str(info.value)


def test_table_covers_every_public_function():
    public = {n for n in nc.__all__ if callable(getattr(nc, n)) and n not in
              ("conv_output_size", "conv_transpose_output_size", "pool_output_size",
               "same_padding", "choose_conv_method")}
    public |= {f"grad.{n}" for n in grad.__all__}
    covered = set(BY_NAME) | {"max_unpool1d", "max_unpool2d", "max_unpool3d"}  # BAD covers unpool
    missing = public - covered
    assert not missing, f"add these to tests/robust_table.py: {sorted(missing)}"
