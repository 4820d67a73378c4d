"""Kernels calling kernels by address (numbaconv.cpu.native): results, typing, exceptions."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba import prange
from numba.core.errors import TypingError

from numbaconv.cpu.native import Native, call, native


@numba.njit(cache=False)
def _scale_rows(x, y, a, r0, r1):
    """``y[r] = a * x[r] + r`` for the rows ``[r0, r1)``; the number of rows written."""
    if a < 0:
        raise ValueError("negative scale")
    for r in range(r0, r1):
        for j in range(x.shape[1]):
            y[r, j] = a * x[r, j] + r
    return r1 - r0


@numba.njit(cache=False, parallel=True)
def _driver(fn, x, y, a, parts):
    n = x.shape[0]
    done = 0
    for p in prange(parts):
        done += call(fn, x, y, a, p * n // parts, (p + 1) * n // parts)
    return done


@numba.njit(cache=False)
def _serial_driver(fn, x, y, a):
    return call(fn, x, y, a, 0, x.shape[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("parts", [1, 2, 3])
def test_call_runs_the_callee_on_every_part(dtype, parts):
    x = np.arange(35, dtype=dtype).reshape(7, 5)
    y = np.full_like(x, np.nan)
    fn = native(_scale_rows, x, y, 2.0, 0, 0)
    assert isinstance(fn, Native) and fn.address != 0
    assert _driver(fn, x, y, 2.0, parts) == 7
    np.testing.assert_array_equal(y, 2 * x + np.arange(7, dtype=dtype)[:, None])


def test_native_is_looked_up_once_per_signature():
    x = np.zeros((2, 3))
    y = np.zeros((2, 3))
    first = native(_scale_rows, x, y, 1.0, 0, 0)
    assert native(_scale_rows, np.ones((4, 4)), np.ones((4, 4)), 3.0, 1, 2) is first
    other = native(_scale_rows, x.astype(np.float32), y.astype(np.float32), 1.0, 0, 0)
    assert other is not first and other.signature != first.signature


def test_a_caller_types_a_native_by_its_numba_type_attribute():
    # Numba's dispatcher types an argument with a ``_numba_type_`` attribute in C (no call
    # back into Python's typeof): it must be the Native's own type, so a caller called with
    # either of two Natives of one signature runs one compiled specialisation
    x, y = np.ones((3, 2)), np.zeros((3, 2))
    fn = native(_scale_rows, x, y, 1.0, 0, 0)
    assert fn._numba_type_ is fn.numba_type and numba.typeof(fn) == fn.numba_type
    twin = Native(fn.address, fn.signature)
    assert _serial_driver(fn, x, y, 2.0) == 3
    compiled = len(_serial_driver.overloads)
    y[:] = 0
    assert _serial_driver(twin, x, y, 2.0) == 3
    np.testing.assert_array_equal(y, 2.0 * x + np.arange(3)[:, None])
    assert len(_serial_driver.overloads) == compiled


def test_arguments_of_other_types_are_a_typing_error_not_a_call():
    x64 = np.zeros((3, 3))
    fn = native(_scale_rows, x64, x64, 1.0, 0, 0)
    x32 = np.zeros((3, 3), np.float32)
    with pytest.raises(TypingError, match="call: arguments"):
        _serial_driver(fn, x32, x32, 1.0)


def test_an_exception_in_the_callee_reaches_the_caller():
    x = np.zeros((3, 3))
    y = np.zeros((3, 3))
    fn = native(_scale_rows, x, y, 1.0, 0, 0)
    with pytest.raises(ValueError, match="negative scale"):
        _serial_driver(fn, x, y, -1.0)


_PICKLE_NATIVE_TYPE = """
import pickle, sys
import numpy as np
from numba import typeof
from numba.core import types
from numba.core.typing.templates import signature
from numbaconv.cpu.native import NativeType
t = NativeType(signature(types.none, typeof(np.zeros((2, 2))), types.int64))
if sys.argv[1] == "dump":
    sys.stdout.buffer.write(pickle.dumps(t))
else:
    loaded = pickle.loads(sys.stdin.buffer.read())
    print({loaded: 1}.get(t, 0), loaded == t)
"""


def test_a_native_type_from_another_process_finds_its_cache_entry():
    # a cached caller is found by its argument types' hashes in the index Numba unpickles:
    # a hash carried over from the process that wrote it (strings hash differently in
    # each) made every caller with a Native argument compile again in every process
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONHASHSEED="1")
    dumped = subprocess.run([sys.executable, "-c", _PICKLE_NATIVE_TYPE, "dump"], env=env,
                            capture_output=True, check=True).stdout
    env["PYTHONHASHSEED"] = "2"
    found = subprocess.run([sys.executable, "-c", _PICKLE_NATIVE_TYPE, "load"], env=env,
                           input=dumped, capture_output=True, check=True).stdout
    assert found.decode().split() == ["1", "True"]


@numba.njit(cache=False)
def _apply(fn, x, y, a):
    return call(fn, x, y, a, 0, x.shape[0])


@numba.njit(cache=False)
def _apply_twice(inner, outer, x, y, a):
    return call(outer, inner, x, y, a) + call(outer, inner, x, y, a)


def test_a_native_may_take_a_native():
    x = np.arange(6.0).reshape(3, 2)
    y = np.zeros_like(x)
    inner = native(_scale_rows, x, y, 1.0, 0, 0)
    outer = native(_apply, inner, x, y, 1.0)
    assert _apply_twice(inner, outer, x, y, 3.0) == 6
    np.testing.assert_array_equal(y, 3 * x + np.arange(3.0)[:, None])


@numba.njit(cache=False)
def _shift_rows(x, y, r0, r1, b):
    """``y[r] = x[r] + r + b`` for the rows ``[r0, r1)`` (``b`` after the range: a tail)."""
    for r in range(r0, r1):
        for j in range(x.shape[1]):
            y[r, j] = x[r, j] + r + b


@pytest.mark.parametrize("items, parts", [(7, 3), (7, 7), (2, 1), (5, 8)])
def test_team_runs_covers_each_item_once(items, parts):
    # the fixed runs p * items // parts .. (p + 1) * items // parts cover range(items) once
    # (an item run twice or skipped leaves the -1 fill or a wrong row), with and without a
    # tail after the range
    from numbaconv.cpu.native import team_runs

    x = np.arange(3.0 * items).reshape(items, 3)
    y = np.full_like(x, -1.0)
    team_runs(_shift_rows, (x, y), items, parts, (0.5,))
    np.testing.assert_array_equal(y, x + np.arange(items)[:, None] + 0.5)
    z = np.full_like(x, -1.0)
    team_runs(_scale_rows, (x, z, 2.0), items, parts)
    np.testing.assert_array_equal(z, 2 * x + np.arange(items)[:, None])
