"""Work items on a few Python threads, each calling single-threaded BLAS (CPU paths that GEMM).

The GEMM-based convolution paths (im2col + GEMM, Winograd) split a call into a
fixed list of independent work items. :func:`run_items` runs them on
``numba.get_num_threads()`` Python threads; every item's GIL-free njit code and
its BLAS call run in parallel with the others, BLAS pinned to one thread per
item with threadpoolctl (when installed), so two single-threaded GEMMs on two
cores stay fast on a busy machine where a spinning BLAS team collapses. The
items and their blocking are constants of the call's shapes (:func:`split`), so
results never depend on the thread count.
"""

from __future__ import annotations

import contextlib
import os
import threading

_EXECUTORS: dict = {}
_CONTROLLER: list = []
_BLAS_LOCK = threading.Lock()


def _after_fork_in_child() -> None:  # worker threads do not survive a fork
    global _BLAS_LOCK
    _EXECUTORS.clear()
    _BLAS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _blas_controller():
    """threadpoolctl's controller, or None when threadpoolctl is not installed."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except Exception:  # not installed, or no BLAS found
            _CONTROLLER.append(None)
    return _CONTROLLER[0]


@contextlib.contextmanager
def _one_blas_thread(ctl):
    """BLAS limited to one thread for the block (threadpoolctl's per-library controllers,
    called directly: a few microseconds where ``ctl.limit`` takes tens)."""
    libs = ctl.select(user_api="blas").lib_controllers
    with _BLAS_LOCK:
        saved = [lib.get_num_threads() for lib in libs]
        for lib in libs:
            lib.set_num_threads(1)
        try:
            yield
        finally:
            for lib, n in zip(libs, saved, strict=True):
                lib.set_num_threads(n)


def run_items(work, items) -> None:
    """Run ``work(item)`` for every item on ``numba.get_num_threads()`` threads.

    Each worker calls BLAS with one thread (threadpoolctl), also when the items run on
    the calling thread alone. Two single-threaded GEMMs on two cores match one
    two-threaded GEMM on an idle machine and stay fast on a busy one, where OpenBLAS's
    spinning thread team collapses (measured 80 vs 6 GFLOP/s with three other
    processes running). The calling thread works too. Without threadpoolctl the items
    run in order with BLAS's own threads.
    """
    import numba

    threads = min(numba.get_num_threads(), len(items))
    ctl = _blas_controller()
    if ctl is None:
        for item in items:
            work(item)
        return
    if threads <= 1:
        with _one_blas_thread(ctl):
            for item in items:
                work(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = _EXECUTORS.get(threads)
    if pool is None:
        pool = _EXECUTORS[threads] = ThreadPoolExecutor(threads - 1, "numbaconv-conv")

    # dynamic scheduling: a worker slowed down by other processes simply takes fewer items
    # (each item's result does not depend on which thread runs it)
    queue = iter(items)
    qlock = threading.Lock()

    def worker(t):
        while True:
            with qlock:
                item = next(queue, None)
            if item is None:
                return
            work(item)

    # one call at a time holds the BLAS limit, so concurrent callers cannot restore it wrongly
    with _one_blas_thread(ctl):
        futures = [pool.submit(worker, t) for t in range(1, threads)]
        try:
            worker(0)
        finally:
            for f in futures:
                f.result()


def split(n: int, parts: int):
    """``parts`` (at most ``n``) contiguous ranges covering ``range(n)``."""
    parts = max(1, min(n, parts))
    step = -(-n // parts)
    return [(i, min(n, i + step)) for i in range(0, n, step)]
