"""numbaconv.cpu.threads: the BLAS pin leaves every library as it found it; the thread count
numbaconv reads is Numba's."""

from __future__ import annotations

import os
import threading

import numba
import numpy as np
import pytest
from oracles import conv_reference

from numbaconv.cpu import threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_counts():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    threads.can_pin_blas()  # loads every BLAS the pin covers (scipy's among them) first
    if not _blas_counts():
        pytest.skip("no BLAS library found by threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        yield


def test_one_blas_thread_pins_and_restores(two_blas_threads):
    before = _blas_counts()
    with threads.one_blas_thread():
        assert all(n == 1 for n in _blas_counts())
        np.ones((64, 64)) @ np.ones((64, 64))
    assert _blas_counts() == before
    with pytest.raises(RuntimeError, match="inside"), threads.one_blas_thread():
        raise RuntimeError("inside")
    assert _blas_counts() == before
    with threads.one_blas_thread():  # the lock was released by the failed block
        pass


def test_one_blas_thread_nests_and_a_public_call_runs_inside_it(two_blas_threads):
    # (a pin held for a whole block deadlocked the second block of one thread on its lock)
    before = _blas_counts()
    import numbaconv as nc

    x = np.random.default_rng(0).standard_normal((1, 32, 13, 13)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((64, 32, 3, 3)).astype(np.float32)
    seen = {}

    def nested():
        with threads.one_blas_thread():
            with threads.one_blas_thread():
                seen["inner"] = _blas_counts()
            seen["outer"] = _blas_counts()
            seen["conv"] = nc.conv2d(x, w)

    t = threading.Thread(target=nested, daemon=True)  # (a deadlock fails, never hangs, the test)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "a nested BLAS pin deadlocked"
    assert all(n == 1 for n in seen["inner"] + seen["outer"])
    assert _blas_counts() == before
    # (to float32 rounding of the largest value: whichever strategy the machine's cost
    # model picks, Winograd's transforms included)
    want = conv_reference(x, w)
    tol = 3e-5 * np.abs(want).max()
    np.testing.assert_allclose(seen["conv"], want, rtol=tol, atol=tol)


def test_one_blas_thread_blocks_on_two_threads_overlap(two_blas_threads):
    # (the pin's lock is held only while a block enters or leaves: a second thread's block
    # runs while the first is still inside, and the last one out restores the counts)
    before = _blas_counts()
    a_in, b_done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with threads.one_blas_thread():
            a_in.set()
            seen["b finished while a was inside"] = b_done.wait(timeout=10)
            seen["a after b left"] = _blas_counts()

    def b():
        a_in.wait(timeout=10)
        with threads.one_blas_thread():
            seen["b"] = _blas_counts()
        b_done.set()

    team = [threading.Thread(target=f, daemon=True) for f in (a, b)]
    for t in team:
        t.start()
    for t in team:
        t.join(timeout=30)
    assert seen["b finished while a was inside"]
    assert all(n == 1 for n in seen["b"] + seen["a after b left"])
    assert _blas_counts() == before


def test_one_blas_thread_from_many_threads_restores(two_blas_threads):
    # (threadpoolctl lets one Python thread at a time control OpenBLAS: another thread's
    # limit may be a no-op, but every block must still leave the count as it found it)
    before = _blas_counts()
    errors = []

    def work():
        try:
            for _ in range(50):
                with threads.one_blas_thread():
                    np.ones((32, 32)) @ np.ones((32, 32))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    team = [threading.Thread(target=work) for _ in range(4)]
    for t in team:
        t.start()
    for t in team:
        t.join()
    assert not errors and _blas_counts() == before


def test_num_threads_follows_numba():
    n = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert threads.num_threads() == 1
    finally:
        numba.set_num_threads(n)
    assert threads.num_threads() == n


def test_run_items_single_and_many_items_run_each_once():
    for items in ([7], list(range(13))):
        seen = []
        lock = threading.Lock()

        def work(item, seen=seen, lock=lock):
            with lock:
                seen.append(item)

        threads.run_items(work, items)
        assert sorted(seen) == items


def test_the_pin_covers_scipys_blas_without_importing_scipy_linalg():
    # the controller loads scipy's bundled OpenBLAS by itself (importing scipy.linalg cost a
    # warm process 0.25 s); scipy's BLAS module, imported later, must link that same library,
    # so the pin covers what Numba's np.dot calls
    import subprocess
    import sys

    code = """
import glob, json, os, sys
from importlib.util import find_spec
from numbaconv.cpu import threads
threads.can_pin_blas()
root = os.path.dirname(list(find_spec("scipy").submodule_search_locations)[0])
wheel = bool(glob.glob(os.path.join(root, "scipy.libs", "libscipy_openblas*")))
before = sorted(threads.blas_libraries())
imported_linalg = "scipy.linalg" in sys.modules
import scipy.linalg.cython_blas
import threadpoolctl
after = sorted(i["filepath"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
print(json.dumps([wheel, imported_linalg, before, after]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    wheel, imported_linalg, before, after = __import__("json").loads(out.splitlines()[-1])
    assert before == after  # no second copy of a BLAS appeared, none was missed
    if wheel:
        assert not imported_linalg
        assert any("scipy.libs" in path for path in before)


def test_without_threadpoolctl_one_warning_where_blas_is_first_needed():
    # without threadpoolctl numbaconv cannot pin BLAS, and a GEMM path's unpinned BLAS team
    # stalls on Numba's spinning workers: the user hears it once, at their own line, with the
    # fix; the calls still run (unpinned) and give the same results
    import subprocess
    import sys

    code = """
import sys, warnings
sys.modules["threadpoolctl"] = None
import numpy as np
import numbaconv as nc
from numbaconv import grad
from numbaconv.cpu import threads
x = np.random.default_rng(0).standard_normal((64, 32, 13, 13)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((64, 32, 3, 3)).astype(np.float32)
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    nc.relu(x)  # (no BLAS: no warning)
    before = len(seen)
    y = nc.conv2d(x, w)  # this line
    grad.conv2d_weight(x, w.shape, y)
np.save(sys.argv[1], y)
import json
print(json.dumps([before, [(s.category.__name__, s.filename, s.lineno, str(s.message))
                           for s in seen], threads.can_pin_blas()]))
"""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/y.npy"
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True,
                             text=True, check=True).stdout.splitlines()[-1]
        before, seen, pinned = __import__("json").loads(out)
        y = np.load(path)
    assert before == 0 and not pinned
    if (os.cpu_count() or 1) > 1:
        assert len(seen) == 1
        category, filename, lineno, message = seen[0]
        assert category == "RuntimeWarning" and "threadpoolctl is not installed" in message
        assert "pip install 'numbaconv[fast]'" in message
        assert filename == "<string>" and lineno == code.splitlines().index(
            "    y = nc.conv2d(x, w)  # this line") + 1
    else:
        assert seen == []
    x = np.random.default_rng(0).standard_normal((64, 32, 13, 13)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((64, 32, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(y, conv_reference(x, w), rtol=1e-4, atol=1e-3)


_TAKING_TURNS = """
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import numbaconv as nc
from numbaconv import grad

rng = np.random.default_rng(0)
x = rng.standard_normal((16, 32, 13, 13)).astype(np.float32)
w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
g = rng.standard_normal((16, 64, 11, 11)).astype(np.float32)
y = rng.standard_normal(1 << 20).astype(np.float32)
calls = [lambda: nc.conv2d(x, w), lambda: nc.conv2d(x[:1], w),
         lambda: grad.conv2d_weight(x, w.shape, g), lambda: nc.relu(y),
         lambda: nc.max_pool2d(x, 2), lambda: nc.softmax(y.reshape(1024, 1024))]
expected = [c() for c in calls]
assert numba.threading_layer() == "workqueue"
bad = []

def work(shift):
    for _ in range(3):
        for i in range(len(calls)):
            j = (i + shift) % len(calls)
            if not np.array_equal(calls[j](), expected[j]):
                bad.append(j)

with ThreadPoolExecutor(4) as pool:
    list(pool.map(work, range(4)))
print("ok" if not bad else f"differ: {sorted(set(bad))}")
"""


def test_parallel_kernels_take_turns_on_numbas_workqueue_layer():
    # Numba's workqueue layer (what is left without TBB or an OpenMP runtime) aborts the
    # process when two parallel launches overlap; numbaconv's launches then take turns, so
    # calls from several Python threads finish, each with the bits of a lone call
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    done = subprocess.run([sys.executable, "-c", _TAKING_TURNS], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "ok"


def test_a_parallel_kernel_is_numbas_own_dispatcher_once_the_layer_is_thread_safe():
    # (no Python-level call in the way once the layer is known to be TBB or OpenMP)
    from numba.core.registry import CPUDispatcher

    from numbaconv.cpu import activations, jit

    kernel = activations._runs
    x = np.linspace(-1, 1, 1 << 19, dtype=np.float32)
    for _ in range(2):  # (the first launch of a process chooses the layer)
        activations._parallel(activations.KERNELS["relu"][0], (x, np.empty_like(x)), ())
    if numba.threading_layer() == "workqueue":
        assert type(kernel) is jit._OneLaunchAtATime
    else:
        assert type(kernel) is CPUDispatcher
