"""Numba threads inside dask tasks: never more numba threads x dask threads than cores.

Every numbaconv call that :mod:`numbaconv.dask` schedules runs through
:func:`run_in_task`, which sets Numba's thread count *for the calling thread
only* (``numba.set_num_threads`` is thread-local) to :func:`numba_threads_per_task`
for the duration of the call and restores it afterwards.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numba
from numba.core import config as numba_config

from ..core.validate import check_int

if TYPE_CHECKING:
    from distributed import LocalCluster

#: dask config key overriding the automatic choice (an int >= 1).
CONFIG_KEY = "numbaconv.numba-threads"


def _pool_size() -> int:
    """Numba's thread pool size, ``NUMBA_NUM_THREADS`` (numba.core.config sets its settings at
    run time, from the environment, so they are read from its namespace: type checkers do not
    see them)."""
    return vars(numba_config)["NUMBA_NUM_THREADS"]


def cores() -> int:
    """Cores this process may use (its CPU affinity), capped by Numba's thread pool size."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, _pool_size()))


def dask_threads() -> int:
    """Threads that may run dask tasks at once in this process.

    In a ``dask.distributed`` worker: the worker's ``nthreads``. Otherwise
    (the local threaded scheduler): dask's ``num_workers`` setting, or
    dask's default pool size (the machine's core count).
    """
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        pass
    import dask.config
    from dask.system import CPU_COUNT

    n = dask.config.get("num_workers", None)
    return max(1, int(n) if n else CPU_COUNT)


def numba_threads_per_task(threads: int | None = None) -> int:
    """Numba threads one dask task should use: ``max(1, cores() // dask_threads())``.

    Parameters
    ----------
    threads : int, optional
        An explicit choice (>= 1), capped by Numba's pool size. ``None`` takes
        the dask config value ``numbaconv.numba-threads`` if set, else the
        automatic rule.

    Returns
    -------
    int
        The thread count.

    Examples
    --------
    >>> import dask
    >>> from numbaconv.dask import numba_threads_per_task
    >>> with dask.config.set({"numbaconv.numba-threads": 1}):
    ...     numba_threads_per_task()
    1
    >>> numba_threads_per_task() >= 1
    True
    """
    if threads is None:
        import dask.config

        threads = dask.config.get(CONFIG_KEY, None)
    if threads is not None:
        return min(check_int(threads, "threads", 1), _pool_size())
    return max(1, cores() // dask_threads())


def run_in_task(func, *args, _numba_threads=None, **kwargs):
    """Call ``func(*args, **kwargs)`` with this thread's Numba thread count set for the task."""
    n = numba_threads_per_task(_numba_threads)
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return func(*args, **kwargs)
    finally:
        numba.set_num_threads(previous)


def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1,
                  **kwargs) -> LocalCluster:
    """A ``dask.distributed.LocalCluster`` whose workers split the cores with Numba.

    Each worker process gets ``NUMBA_NUM_THREADS = max(1, cores // (n_workers *
    threads_per_worker))`` in its environment, so the workers' Numba pools
    together never exceed the machine: tasks then use
    :func:`numba_threads_per_task` = that pool size / ``threads_per_worker``.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default ``min(4, cores())``.
    threads_per_worker : int, optional
        dask threads per worker (>= 1); 1 leaves all parallelism inside a
        task to Numba, which suits numbaconv's kernels best.
    **kwargs
        Passed to ``LocalCluster`` (``processes``, ``memory_limit``, ...); an
        ``env`` dict is merged with the Numba setting.

    Returns
    -------
    distributed.LocalCluster

    Examples
    --------
    >>> from numbaconv.dask import local_cluster
    >>> with local_cluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
    ...     len(cluster.workers)
    1
    """
    from distributed import LocalCluster

    n_workers = min(4, cores()) if n_workers is None else check_int(n_workers, "n_workers", 1)
    threads_per_worker = check_int(threads_per_worker, "threads_per_worker", 1)
    per_worker = max(1, cores() // (n_workers * threads_per_worker)) * threads_per_worker
    if kwargs.get("processes", True):
        kwargs["env"] = {"NUMBA_NUM_THREADS": str(per_worker), **kwargs.get("env", {})}
    # (threads-only clusters share this process' Numba pool: every task then
    # takes cores // threads_per_worker; use one worker or set numbaconv.numba-threads)
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **kwargs)
