"""numbaconv.dask on a dask.distributed LocalCluster of two worker processes.

The cluster is started once for the module; if this machine cannot spawn
worker processes the module is skipped with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
scipy_signal = pytest.importorskip("scipy.signal")

import numbaconv as nc  # noqa: E402
import numbaconv.dask as ncd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    try:
        cluster = ncd.local_cluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=":0", memory_limit="2GiB")
    except Exception as exc:  # noqa: BLE001 - any start-up failure means "cannot test here"
        pytest.skip(f"dask.distributed cannot start worker processes here: {exc!r}")
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_two_worker_processes_split_the_cores_with_numba(client):
    info = client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
    assert len(info) == 2
    expected = max(1, ncd.cores() // 2)
    assert set(info.values()) == {expected}
    per_task = client.submit(ncd.numba_threads_per_task, pure=False).result()
    assert per_task == expected  # one dask thread per worker: the worker's whole Numba pool


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_convolve2d_on_worker_processes(client, boundary):
    rng = np.random.default_rng(7)
    x = rng.integers(-9, 9, (23, 31)).astype(np.float64)
    h = rng.integers(-3, 3, (4, 5)).astype(np.float64)
    y = ncd.convolve2d(da.from_array(x, chunks=(5, (3, 9, 1, 12, 6))), h, "same", boundary, 2.0)
    got = client.compute(y).result()
    np.testing.assert_array_equal(got, scipy_signal.convolve2d(x, h, "same", boundary, 2.0))
    np.testing.assert_array_equal(got, nc.convolve2d(x, h, "same", boundary, 2.0))


def test_conv_pool_softmax_pipeline_on_worker_processes(client):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    dx = da.from_array(x, chunks=(2, 3, 5, 10))
    y = ncd.softmax(ncd.max_pool2d(ncd.relu(ncd.conv2d(dx, w, padding=1)), 2), axis=1)
    got = client.compute(y).result()
    expected = nc.softmax(nc.max_pool2d(nc.relu(nc.conv2d(x, w, padding=1)), 2), axis=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # independent check of the last step: softmax over channels sums to one
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)
