"""Independent pieces of a call on a few Python threads, the calling thread among them.

CPU kernels are GIL-free (``nogil``) njit functions over a range of work; a call splits
into pieces whose results do not depend on which thread runs them, so the answer never
depends on the thread count. Pieces are handed out one at a time (dynamic scheduling):
on a busy machine a thread that loses its core simply takes fewer pieces, where a
statically split ``prange`` loop waits for its slowest thread; and a call waits only for
the pieces other threads have taken, never for a thread that has not started (measured: a
Keras b64 training step at two threads 23 -> 16 ms, where the workers were held back by
Numba's OpenMP team spinning on the other core after each ``prange`` kernel). Small calls run on the
calling thread alone (the kernels' modules decide, from a measured work threshold):
waking threads costs more than small work.

* :func:`run_chunks` runs ``kernel(*args, slot, i0, i1)`` over runs of a range (``slot``
  identifies the thread, for per-thread scratch);
* :func:`run_parallel` runs ``work(item)`` for each item;
* :func:`run_items` does the same for pieces that call BLAS (im2col + GEMM, Winograd), with
  BLAS pinned to one thread meanwhile (threadpoolctl, when installed): two single-threaded
  GEMMs on two cores match one two-threaded GEMM on an idle machine and stay fast on a busy
  one, where OpenBLAS's spinning team collapses (measured 80 vs 6 GFLOP/s with three other
  processes running);
* :func:`split` gives the fixed blocking of a range.

The thread count is Numba's (``numba.set_num_threads``), read without starting Numba's
own pool. Nothing here changes a setting for longer than a call.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

_EXECUTORS: dict = {}
_CONTROLLER: list = []
_PARALLEL: list = []  # numba.np.ufunc.parallel, once imported
#: guards _PIN: held for the few microseconds a block takes to enter or leave the pin, never
#: across the block, so blocks on several Python threads (a dask worker's tasks, a server's
#: requests) run at once, and a block may run code that pins again
_BLAS_LOCK = threading.Lock()
#: [blocks inside the pin, the (setter, thread count) pairs the first of them changed]
_PIN: list = [0, ()]


def _after_fork_in_child() -> None:  # worker threads do not survive a fork
    global _BLAS_LOCK
    _EXECUTORS.clear()
    _BLAS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def num_threads() -> int:
    """The threads Numba would use: ``numba.get_num_threads()`` once Numba's pool runs, else
    its configured ``NUMBA_NUM_THREADS`` (starting the pool only to ask would cost more than a
    small call, and leave idle threads behind).

    Read straight from Numba's thread-local setting once the pool runs (0.2 us, where
    ``numba.get_num_threads()`` takes 1.4: it takes the pool's start-up lock on every call).
    """
    if not _PARALLEL:
        from numba.np.ufunc import parallel

        _PARALLEL.append(parallel)
    parallel = _PARALLEL[0]
    if getattr(parallel, "_is_initialized", True):
        read = getattr(parallel, "_get_num_threads", None)  # (set when the pool starts)
        n = read() if read is not None else 0
        return n if n > 0 else parallel.get_num_threads()
    from numba.core import config

    # (numba.config's settings are set at run time, unseen by type checkers)
    return max(1, vars(config)["NUMBA_NUM_THREADS"])


class _Pieces:
    """The pieces ``0 <= i < n`` of one call, handed out one at a time. The calling thread
    waits only for pieces other threads have *taken*: a worker the OS has not scheduled yet
    (its core held by another process, or by another thread pool's spinning workers, such
    as an OpenMP team just after a ``prange`` kernel) finds no piece left when it runs and
    does nothing, instead of holding the call until it gets a core."""

    __slots__ = ("n", "next", "lock", "idle", "active", "error")

    def __init__(self, n: int) -> None:
        self.n = n
        self.next = 0
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.active = 0
        self.error: BaseException | None = None

    def run(self, piece, slot: int) -> None:
        """``piece(slot, i)`` for each piece this thread takes."""
        while True:
            with self.lock:
                i = self.next
                if i >= self.n or self.error is not None:
                    return
                self.next = i + 1
                self.active += 1
            try:
                piece(slot, i)
            except BaseException as e:
                with self.lock:
                    if self.error is None:
                        self.error = e
            finally:
                with self.lock:
                    self.active -= 1
                    if not self.active:
                        self.idle.notify_all()

    def finish(self) -> None:
        """Wait for the pieces in flight; raise the first exception a piece raised."""
        with self.lock:
            while self.active:
                self.idle.wait()
        if self.error is not None:
            raise self.error


def _team(piece, n: int, threads: int) -> None:
    """``piece(slot, i)`` for ``i`` in ``range(n)`` on ``threads`` threads: slot 0 the calling
    thread, the others a pool kept for the process; an exception in any piece is raised
    here."""
    threads = min(threads, n)
    if threads <= 1:
        for i in range(n):
            piece(0, i)
        return
    pool = _EXECUTORS.get(threads)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _EXECUTORS[threads] = ThreadPoolExecutor(threads - 1, "numbaconv")
    pieces = _Pieces(n)
    for slot in range(1, threads):
        pool.submit(pieces.run, piece, slot)
    pieces.run(piece, 0)
    pieces.finish()


def _dynamic(items: list, work, threads: int) -> None:
    """``work(item)`` for every item, each thread taking the next item when it is done."""
    _team(lambda slot, i: work(items[i]), len(items), threads)


#: most runs :func:`run_chunks` cuts a call into: each run is a Python-level hand-out and a
#: kernel call (several us, partly under the GIL, so a second thread's hand-outs wait for
#: the first's), and 32 runs still balance two to eight threads
RANGE_RUNS = 32


def run_chunks(kernel, args, items: int, chunk: int, threads: int) -> None:
    """``kernel(*args, slot, i0, i1)`` over ``range(items)`` in runs of at least ``chunk``
    (at most :data:`RANGE_RUNS` runs), on ``threads`` threads (the caller's among them), each
    taking the next run when done.

    ``slot`` (``0 <= slot < threads``) tells a call which thread runs it, for per-thread
    scratch. ``kernel`` writes disjoint outputs per run, and an item's result must not
    depend on which run holds it (runs only batch the items).
    """
    chunk = max(chunk, -(-items // RANGE_RUNS))
    runs = -(-items // chunk)
    if min(threads, runs) <= 1:
        kernel(*args, 0, 0, items)
        return
    _team(lambda slot, r: kernel(*args, slot, r * chunk, min(items, (r + 1) * chunk)), runs,
          threads)


def run_ranges(kernel, args, items: int, chunk: int, tail: tuple = ()) -> None:
    """``kernel(*args, i0, i1, *tail)`` over ``range(items)`` in runs of at least ``chunk``
    (at most :data:`RANGE_RUNS` runs) on Numba's thread count (the caller's thread among
    them), for kernels whose items are independent (each output element written by one
    item), so the split changes nothing."""
    run_chunks(lambda *a: kernel(*a[:-3], a[-2], a[-1], *tail), args, items, chunk,
               num_threads())


def run_parallel(work, items) -> None:
    """``work(item)`` for every item on Numba's thread count, the calling thread one of them."""
    _dynamic(list(items), work, num_threads())


def _load_scipy_blas() -> None:
    """Load scipy's BLAS, so that it is among the libraries pinned: Numba's ``np.dot`` calls
    it (Numba imports it on its first compile anyway), and it is the fallback CBLAS of
    :mod:`numbaconv.cpu.blas`.

    The OpenBLAS that scipy's wheels bundle (``scipy.libs/libscipy_openblas*``) is loaded by
    itself, without importing ``scipy.linalg``: that import (its array-API and f2py
    modules) took 0.25 s of a warm process's first convolution, where the library loads in
    0.01 s; ``scipy.linalg.cython_blas`` links the same loaded library when it is imported
    later. Other scipy builds (conda's, a system BLAS) are imported as before."""
    import sys

    if "scipy.linalg.cython_blas" in sys.modules:
        return
    try:
        import ctypes
        import glob
        from importlib.util import find_spec

        spec = find_spec("scipy")
        roots = list(spec.submodule_search_locations or ()) if spec is not None else []
        found = [path for root in roots for path in sorted(glob.glob(
            os.path.join(os.path.dirname(root), "scipy.libs", "libscipy_openblas*")))]
        for path in found:
            ctypes.CDLL(path)
        if found:
            return
    except (ImportError, OSError, ValueError):
        pass
    import scipy.linalg.cython_blas  # noqa: F401


def _blas_controller():
    """threadpoolctl's controller, or None when threadpoolctl is not installed."""
    missing = False
    if not _CONTROLLER:
        try:
            _load_scipy_blas()
            # threadpoolctl's import sets KMP_DUPLICATE_LIB_OK in the process environment
            # (for Intel OpenMP loaded later, e.g. by the user's PyTorch); numbaconv does not
            # change its user's environment: whatever the variable was, it is again
            saved = os.environ.get("KMP_DUPLICATE_LIB_OK")
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # not installed: said once (below), where it costs
                _CONTROLLER[:] = [None, [], []]
                missing = True
            finally:
                if saved is None:
                    os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
                else:
                    os.environ["KMP_DUPLICATE_LIB_OK"] = saved

            if not missing:
                ctl = ThreadpoolController()  # pyright: ignore[reportPossiblyUnboundVariable]
                # its BLAS libraries, selected once: the controller's list of libraries is
                # fixed when it is made, and select() builds a new controller each time (3 us
                # a call)
                libs = ctl.select(user_api="blas").lib_controllers
                pins = [_thread_count_pin(lib) for lib in libs]
                _CONTROLLER.extend((ctl, libs, pins))
        except Exception:  # no BLAS found
            _CONTROLLER[:] = [None, [], []]
        if missing:  # (outside the try: a warnings filter that raises reaches the caller)
            _warn_unpinned()
    return _CONTROLLER[0]


#: what :func:`_warn_unpinned` says, once a process
UNPINNED_WARNING = (
    "numbaconv cannot keep BLAS to one thread inside its calls: threadpoolctl is not "
    "installed. BLAS's own threads then compete with Numba's for the cores, and a "
    "convolution layer's GEMM paths run several times slower (the course notes' Keras "
    "training step, batch 64, on two cores: 56 ms instead of 16). Install it with "
    "pip install 'numbaconv[fast]' (or pip install threadpoolctl).")


def _warn_unpinned() -> None:
    """Warn (a RuntimeWarning) that BLAS cannot be pinned, where that costs: more than one
    core (checked when a call first needs BLAS, once a process)."""
    if (os.cpu_count() or 1) > 1:
        import sys
        import warnings

        # (attributed to the first caller outside numbaconv: the user's line)
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        level, frame = 1, sys._getframe(0)
        while frame is not None and frame.f_code.co_filename.startswith(package + os.sep):
            frame, level = frame.f_back, level + 1
        warnings.warn(UNPINNED_WARNING, RuntimeWarning, stacklevel=level)


def can_pin_blas() -> bool:
    """Whether :func:`one_blas_thread` really pins BLAS (threadpoolctl installed and a BLAS
    library found). Compiled kernels that call BLAS from Numba's threads (a GEMM in a
    ``prange`` loop, :mod:`numbaconv.cpu.blas`) need it: an unpinned OpenBLAS team inside
    each of them turns a 100 us call into 10 ms."""
    return _blas_controller() is not None and bool(_CONTROLLER[1])


def blas_libraries() -> list:
    """The file paths of the BLAS libraries :func:`one_blas_thread` pins (empty without
    threadpoolctl)."""
    _blas_controller()
    return [lib.filepath for lib in _CONTROLLER[1]]


def _thread_count_pin(lib):
    """``(read, set)`` callables for ``lib``'s thread count: the library's own C functions
    when threadpoolctl exposes them (0.2-0.35 us a call, where the controller looks the
    symbol up on every call, and on setting also checks its controlling thread: 1-1.7 us),
    else the controller's methods."""
    try:
        if lib.internal_api == "openblas" and getattr(lib, "threading_layer", "") != "openmp":
            read = lib._get_symbol("openblas_get_num_threads")  # (threadpoolctl's own lookup)
            set_ = lib._get_symbol("openblas_set_num_threads")
            if read is not None and set_ is not None and read() == lib.get_num_threads():
                return read, set_
    except Exception:  # another threadpoolctl: keep to its public API
        pass
    return lib.get_num_threads, lib.set_num_threads


class _OneBlasThread:
    """The context manager :func:`one_blas_thread` returns (a class: 3 us a use with two
    OpenBLAS libraries loaded, where a generator-based one costs 5 more)."""

    __slots__ = ()

    def __enter__(self):
        if _blas_controller() is None:
            return self
        with _BLAS_LOCK:
            if _PIN[0] == 0:  # the first block in sets every library to one thread
                changed = []
                try:
                    for read, set_ in _CONTROLLER[2]:
                        n = read()
                        if n != 1:  # (a library already at one thread is left alone)
                            set_(1)
                            changed.append((set_, n))
                except BaseException:
                    for set_, n in changed:
                        set_(n)
                    raise
                _PIN[1] = changed
            _PIN[0] += 1
        return self

    def __exit__(self, *exc) -> None:
        if _CONTROLLER[0] is None:
            return
        with _BLAS_LOCK:
            _PIN[0] -= 1
            if _PIN[0] == 0:  # the last block out restores what the first one changed
                changed, _PIN[1] = _PIN[1], ()
                for set_, n in changed:
                    set_(n)


def one_blas_thread() -> _OneBlasThread:
    """A context manager: BLAS limited to one thread for its block (threadpoolctl's
    per-library controllers, called directly: a microsecond where ``ctl.limit`` takes tens).
    Blocks on several threads, or nested, share one pin: the first block in sets the
    libraries to one thread, the last one out restores the counts it found. Without
    threadpoolctl it does nothing."""
    return _OneBlasThread()


def run_items(work, items, serial: bool = False) -> None:
    """``work(item)`` for every item, BLAS pinned to one thread, on Numba's thread count
    (``serial=True``: on the calling thread alone, for small work).

    Without threadpoolctl the items run in order on the calling thread with BLAS's own
    threads.
    """
    items = list(items)
    threads = 1 if serial or len(items) == 1 or _blas_controller() is None else num_threads()
    with one_blas_thread():
        if threads == 1:  # (a batch-1 layer's one GEMM: no thread team to set up)
            for item in items:
                work(item)
        else:
            _dynamic(items, work, threads)


#: shortest patch (``C * kh * kw``) whose channel-major weight gradient runs as one compiled
#: kernel (:func:`numbaconv.cpu.conv_gemm._weight_grad_units`): each unit's GEMM is then
#: ``(K x m) @ (m x R)``, and with a thin patch its output is too small for BLAS's rate
#: ((128, 3, 32, 32) -> 32, R = 27: 5.8 ms where the direct loops take 4.6; the 7x7/2 stem,
#: R = 147: 3.3 ms where the channels-last one-image kernel takes 3.9, two Zen 3 threads)
WG_UNITS_MIN_PATCH = 64


def weight_grad_units(R: int, compiled: bool) -> bool:
    """Whether a channel-major weight gradient of patch length ``R`` runs as one compiled
    kernel (``compiled``: numpy's CBLAS is callable from kernels)."""
    return compiled and R >= WG_UNITS_MIN_PATCH


#: multiply-adds from which a one-image GEMM is split into two parts
PARTS_FROM = 1 << 19


def gemm_parts(m: int, R: int, K: int) -> int:
    """How many parts a one-image GEMM of ``m x R x K`` (reduction ``R``) is split into along
    ``K`` (the convolutions' one-image kernels): a function of the shape only (the split
    decides the rounding, so it must not depend on the threads). Two parts cost ~5% on one
    thread and save 30-40% on two."""
    return 2 if K >= 16 and m * R * K >= PARTS_FROM else 1


#: output positions up to which a one-image pass on few positions runs dot products and
#: row updates instead of one GEMM: with so few columns BLAS still packs the filters, an
#: extra pass over all of them (a dense layer as a 1x1 convolution of one pixel,
#: (1, 2304, 1) * (600, 2304, 1): forward 232 us against 87 us at two threads, Zen 2).
#: Each group of four filters meets every position while it is cached, so the filters are
#: read once: on 9 positions ((1, 64, 5, 5) -> 128) forward 69 -> 54 us and input gradient
#: 75 -> 60 us at one thread; at 16 positions the GEMM is as fast or faster
DOT_POSITIONS = 12


def few_positions(P: int, K: int) -> bool:
    """Whether a one-image pass on ``P`` output positions and ``K`` filters builds its patch
    rows in the filters' own order (a gather of ``P*R`` elements) rather than packing or
    unpacking the filters (``K*R``): at ``4*P <= K`` (one Zen 2 core, batch 1: (64, 5, 5) ->
    128 forward 1.47x faster, (64, 7, 7) -> 128 1.08x; (32, 7, 7) -> 64 0.93x, so not there)."""
    return 4 * P <= K


def position_parts(P: int, K: int, R: int) -> int:
    """How many parts a one-image input gradient's GEMM ``(P x K) @ (K x R)`` is split into
    along its ``P`` output positions: :func:`gemm_parts`, but one part below 16 positions
    (parts of a few rows run BLAS at a fraction of its rate)."""
    return gemm_parts(P, K, R) if P >= 16 else 1


def split(n: int, parts: int):
    """``parts`` (at most ``n``) contiguous ranges covering ``range(n)``."""
    parts = max(1, min(n, parts))
    step = -(-n // parts)
    return [(i, min(n, i + step)) for i in range(0, n, step)]


#: per-thread scratch arrays, kept between calls (blocks follow the L2 size, so they stay
#: small) so that a stream of same-shaped calls does not fault fresh pages in each time
_SCRATCH = threading.local()


def scratch(name: str, shape, dtype):
    """This thread's scratch array ``name``, viewed as ``shape`` (grown, never shrunk)."""
    size = math.prod(shape)
    key = (name, np.dtype(dtype).char)
    bufs = getattr(_SCRATCH, "bufs", None)
    if bufs is None:
        bufs = _SCRATCH.bufs = {}
    buf = bufs.get(key)
    if buf is None or buf.size < size:
        buf = bufs[key] = np.empty(size, dtype)
    return buf[:size].reshape(shape)
