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


def run_items(work, items, serial: bool = False) -> None:
    """Run ``work(item)`` for every item on ``numba.get_num_threads()`` threads.

    ``serial=True`` (small work, where waking the workers costs more than it saves) runs
    the items in order on the calling thread, BLAS still limited to one thread.

    Each worker calls BLAS with one thread (threadpoolctl). Two single-threaded
    GEMMs on two cores match one two-threaded GEMM on an idle machine and stay
    fast on a busy one, where OpenBLAS's spinning thread team collapses
    (measured 80 vs 6 GFLOP/s with three other processes running). Without
    threadpoolctl the items run in order with BLAS's own threads.
    """
    import numba

    threads = 1 if serial else min(numba.get_num_threads(), len(items))
    ctl = _blas_controller()
    if serial and ctl is not None:
        with _BLAS_LOCK, ctl.limit(limits=1, user_api="blas"):
            for item in items:
                work(item)
        return
    if threads <= 1 or ctl is None:
        for item in items:
            work(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = _EXECUTORS.get(threads)
    if pool is None:
        pool = _EXECUTORS[threads] = ThreadPoolExecutor(threads, "numbaconv-conv")

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
    with _BLAS_LOCK, ctl.limit(limits=1, user_api="blas"):
        for f in [pool.submit(worker, t) for t in range(threads)]:
            f.result()


def split(n: int, parts: int):
    """``parts`` (at most ``n``) contiguous ranges covering ``range(n)``."""
    parts = max(1, min(n, parts))
    step = -(-n // parts)
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def run_parallel(work, items) -> None:
    """Run ``work(item)`` for every item on ``numba.get_num_threads()`` threads, the calling
    thread one of them (for GIL-free njit kernels on independent pieces of an array).

    No BLAS limit and no lock across calls: each item's result must not depend on which
    thread runs it. Items are handed out one at a time, so a worker slowed down by other
    processes simply takes fewer. An exception in any item is raised here.
    """
    import numba

    items = list(items)
    threads = min(numba.get_num_threads(), len(items))
    if threads <= 1:
        for item in items:
            work(item)
        return
    key = ("pieces", threads - 1)
    pool = _EXECUTORS.get(key)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _EXECUTORS[key] = ThreadPoolExecutor(threads - 1, "numbaconv-pieces")
    queue = iter(items)
    qlock = threading.Lock()

    def worker():
        while True:
            with qlock:
                item = next(queue, _DONE)
            if item is _DONE:
                return
            work(item)

    futures = [pool.submit(worker) for _ in range(threads - 1)]
    try:
        worker()
    finally:
        for f in futures:
            f.result()


_DONE = object()


def num_threads() -> int:
    """The threads Numba would use: ``numba.get_num_threads()`` once Numba's pool runs, else
    its configured ``NUMBA_NUM_THREADS`` (starting the pool only to ask would cost more than a
    small call, and leave idle threads behind)."""
    import numba
    from numba.np.ufunc import parallel

    if getattr(parallel, "_is_initialized", True):
        return numba.get_num_threads()
    return max(1, numba.config.NUMBA_NUM_THREADS)


def run_chunks(kernel, args, items: int, chunk: int, threads: int) -> None:
    """``kernel(*args, slot, i0, i1)`` over ``range(items)`` in runs of ``chunk``, on
    ``threads`` threads (the caller's among them), each taking the next run when done.

    ``slot`` (``0 <= slot < threads``) tells a call which thread runs it, for per-thread
    scratch. ``kernel`` is a ``nogil`` njit function writing disjoint outputs per run, so the
    result does not depend on which thread ran what. Dynamic scheduling keeps a call fast on
    a busy machine, where a statically split parallel loop waits for its slowest thread.
    """
    import itertools

    runs = -(-items // chunk)
    threads = min(threads, runs)
    if threads <= 1:
        kernel(*args, 0, 0, items)
        return
    pool = _EXECUTORS.get(("chunks", threads))
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _EXECUTORS[("chunks", threads)] = ThreadPoolExecutor(threads - 1,
                                                                   "numbaconv-chunks")
    counter = itertools.count()  # next() is atomic under the GIL

    def worker(slot):
        for r in counter:
            if r >= runs:
                return
            kernel(*args, slot, r * chunk, min(items, (r + 1) * chunk))

    futures = [pool.submit(worker, slot) for slot in range(1, threads)]
    worker(0)
    for f in futures:
        f.result()
