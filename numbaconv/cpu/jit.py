"""``njit`` for numbaconv's CPU kernels: Numba's, with an on-disk cache that cannot break a call.

Every CPU kernel module imports ``njit`` from here instead of from numba. It is
:func:`numba.njit` with ``cache=True`` by default and one difference: the
dispatcher's on-disk cache is a :class:`KernelCache`, which

* treats an entry it cannot load (a truncated or corrupt file, a file written
  by another Numba or Python) as missing: the kernel is compiled again and the
  entry rewritten, where Numba's own cache raises from inside the call;
* checks that a loaded entry was compiled for the signature asked for. Two
  processes filling one cache at once (pytest-xdist workers, dask workers,
  ``numbaconv.compile``'s workers) can otherwise interleave Numba's
  read-index / pick-a-file-number / write-index steps, leaving an index entry
  that names another signature's data file;
* serialises those steps between processes with a lock file next to the
  index, so concurrent writers neither lose each other's entries (which would
  recompile them forever) nor overwrite each other's files;
* loads without Numba's full context refresh, which a warm first call paid
  0.25 s for (see :meth:`KernelCache.load_overload`);
* skips saving, keeping the compiled code, when the cache directory turns out
  not to be writable;
* is stale when any kernel source changes, not only the kernel's own module:
  Numba stamps an entry with its module file alone, so a kernel calling a
  ``register_jitable`` helper from ``loops/`` or ``scalar/`` (or a kernel of
  another ``cpu/`` module, whose machine code is linked in) kept running the old
  helper after an edit. The stamp here adds a digest of the contents of every
  module those kernels can reach (:data:`KERNEL_SOURCES`).

A kernel that calls another kernel passes its constant arguments as run-time values
(:data:`I0`, :data:`I1`, ``np.bool_(...)``), never as literals: Numba compiles a callee
called with a literal ``0`` or ``False`` into a specialisation of its own, besides the one
the same callee gets when called from Python or with a variable, and a process that uses
both pays both compilations (about 1 s each for the one-image convolution helpers).

Where the cache lives is Numba's choice, unchanged: ``NUMBA_CACHE_DIR`` when
set, else ``__pycache__`` beside the module when the package directory is
writable, else a per-user directory (``~/.cache/numba``, or under
``XDG_CACHE_HOME``), so a read-only install still starts warm from the second
process on. Nothing here changes a process-wide setting: only numbaconv's own
dispatchers get this cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numba
import numpy as np
from numba.core import cgutils, sigutils, types
from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher
from numba.core.runtime.nrt import rtsys
from numba.extending import intrinsic, register_jitable

from ..core.conv import G_C, G_DH, G_DW, G_HO, G_KH, G_KW, G_SH, G_SW, G_WO

#: 0 and 1 as one kernel passes them to another: ``int64`` values, not literals (see above)
I0, I1 = np.int64(0), np.int64(1)


@register_jitable
def same_memory(a, b) -> bool:
    """Whether two arrays of one size start at the same address: the same memory, since the
    API accepts an output that overlaps an input only as that input itself. A kernel whose
    output may be its input then runs a loop over the output alone: LLVM vectorises a loop
    over two arrays only after checking at run time that they do not overlap, and runs its
    scalar copy when they do."""
    return a.ctypes.data == b.ctypes.data
#: False and True as one kernel passes them to another (``bool``s, not literals)
B0, B1 = np.bool_(False), np.bool_(True)

#: the packages whose code CPU kernels compile in (their own module's stamp is Numba's)
KERNEL_SOURCES = ("cpu", "loops", "scalar")


@functools.cache
def sources_digest() -> str:
    """A digest of the contents of every module a CPU kernel can compile in."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in KERNEL_SOURCES:
        for path in sorted((root / package).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


class KernelCache(FunctionCache):
    """Numba's per-function cache, made safe against broken entries and concurrent writers."""

    def __init__(self, py_func):
        super().__init__(py_func)
        stamp = self._cache_file._source_stamp
        self._cache_file._source_stamp = (stamp, sources_digest())

    def load_overload(self, sig, target_context):
        # Numba's own load first refreshes the target context: it imports and installs
        # every typing and lowering registry (numba.np.arraymath imports scipy.linalg),
        # 0.25 s of a warm first call that loading machine code does not need. Code
        # loaded from the cache needs only the symbols the context's creation added and
        # the runtime's (NRT) allocation functions; a compilation refreshes the context
        # itself. (A kernel that hashed, with a dict or set, would also need
        # numba.cpython.hashing's symbols: no kernel does, and the cache tests would
        # fail if one did.)
        try:
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                cres = self._load_overload(sig, target_context)
        except Exception:  # unreadable entry: compile again (the save then replaces it)
            return None
        if cres is not None:
            args, _ = sigutils.normalize_signature(sig)
            if tuple(cres.signature.args) != tuple(args):
                return None  # another signature's data under this key: compile again
        return cres

    def save_overload(self, sig, data):
        try:
            self._impl.locator.ensure_cache_path()
            with _exclusive(self._cache_file._index_path + ".lock"):
                try:
                    super().save_overload(sig, data)
                except OSError:
                    raise
                except Exception:  # an unreadable index: start it afresh
                    with contextlib.suppress(OSError):
                        os.unlink(self._cache_file._index_path)
                    super().save_overload(sig, data)
        except OSError:
            pass  # not writable after all: the compiled code is used, just not kept


@contextlib.contextmanager
def _exclusive(path: str):
    """An exclusive advisory lock on ``path`` (created if missing) for the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


#: held through each launch of a ``parallel=True`` kernel where Numba's threading layer is
#: 'workqueue' (:class:`_OneLaunchAtATime`)
_LAUNCH_LOCK = threading.RLock()


def _new_launch_lock() -> None:  # (a fork while another thread held it: the child's is free)
    global _LAUNCH_LOCK
    _LAUNCH_LOCK = threading.RLock()


os.register_at_fork(after_in_child=_new_launch_lock)


def _threading_layer() -> str | None:
    """Numba's threading layer, or None before its first parallel launch chose it."""
    try:
        return numba.threading_layer()  # pyright: ignore[reportPrivateImportUsage] (public)
    except ValueError:  # ("Threading layer is not initialized.")
        return None


class _OneLaunchAtATime(CPUDispatcher):
    """A ``parallel=True`` kernel until Numba's threading layer is known. Numba's 'workqueue'
    layer is the one left where neither TBB nor an OpenMP runtime loads (a pip install on
    macOS without libomp, say). It is not thread-safe: two parallel launches at once, from
    two Python threads or from numbaconv's own Python pieces, abort the process ("Concurrent
    access has been detected"). With that layer every launch of these kernels holds one
    lock: calls from several threads then take turns. Once the layer is known to be another
    one (TBB and OpenMP are thread-safe), the kernel turns back into Numba's plain
    dispatcher, and later calls cost what Numba's own call costs (this one's Python call is
    ~1 us more)."""

    def __call__(self, *args, **kwargs):
        layer = _threading_layer()
        if layer is not None and layer != "workqueue":
            self.__class__ = CPUDispatcher  # pyright: ignore[reportAttributeAccessIssue]
            return CPUDispatcher.__call__(self, *args, **kwargs)
        with _LAUNCH_LOCK:  # (not yet known: this launch chooses it, one at a time too)
            return CPUDispatcher.__call__(self, *args, **kwargs)


def njit(fn=None, **options):
    """:func:`numba.njit` with ``cache=True`` by default and a :class:`KernelCache`.

    Used exactly like ``numba.njit``: ``@njit``, ``@njit(parallel=True)``,
    ``@njit(cache=False)``. A ``parallel=True`` kernel's launches take turns where Numba's
    threading layer is 'workqueue' (:class:`_OneLaunchAtATime`).
    """
    cache = options.pop("cache", True)

    def wrap(func):
        dispatcher = numba.njit(cache=False, **options)(func)
        if cache:
            # (numba's stub of Dispatcher leaves out the private _cache every instance has)
            dispatcher._cache = KernelCache(  # pyright: ignore[reportAttributeAccessIssue]
                dispatcher.py_func)
        if options.get("parallel") and type(dispatcher) is CPUDispatcher:
            dispatcher.__class__ = _OneLaunchAtATime
        return dispatcher

    return wrap if fn is None else wrap(fn)


@intrinsic
def _copy_elems(typingctx, dst, d0, src, s0, n):
    """``dst[d0:d0 + n] = src[s0:s0 + n]`` for 1-D C-contiguous arrays of one dtype that do
    not overlap: LLVM's ``memcpy`` (a short run is a few vector moves; a loop vectorised with
    a 32-element step left rows of 26 to its scalar remainder, and an unrolled copy cost
    a second of compile time per caller). Offsets and count are element indices."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and dst.dtype == src.dtype and dst.layout == src.layout == "C"):
        return None
    sig = types.void(dst, d0, src, s0, n)

    def codegen(context, builder, signature, args):
        da = context.make_array(signature.args[0])(context, builder, args[0])
        sa = context.make_array(signature.args[2])(context, builder, args[2])
        to_intp = [context.cast(builder, args[k], signature.args[k], types.intp)
                   for k in (1, 3, 4)]
        d = builder.gep(da.data, [to_intp[0]])
        s = builder.gep(sa.data, [to_intp[1]])
        itemsize = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        cgutils.raw_memcpy(builder, d, s, to_intp[2], itemsize)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_copy_elems` as kernels call it, ``copy_elems(dst, d0, src, s0, n)`` (Numba supplies
#: the typing context; the cast tells type checkers so)
copy_elems = cast("Callable[[Any, Any, Any, Any, Any], None]", _copy_elems)


#: unsigned offsets: Numba then skips the negative-index wrap in hot loops
_U = np.uint64


@njit(inline="always")
def transpose_into(src, s0, lds, dst, d0, ldd, R, C):
    """``dst[d0 + c*ldd + r] = src[s0 + r*lds + c]`` for ``r < R``, ``c < C`` (flat arrays):
    tiles of eight rows by eight columns, whose fixed loops LLVM turns into vector shuffles
    ((13, 13, 32) channels-last to channels-first 1.8 us; a row at a time, runs of eight
    stores, 3.8; numpy's copy 2.4; Zen 4), the edges one element at a time."""
    re, ce = R // 8 * 8, C // 8 * 8
    for r0 in range(0, re, 8):
        for c0 in range(0, ce, 8):
            for c in range(8):
                d = _U(d0 + (c0 + c) * ldd + r0)
                s = _U(s0 + r0 * lds + c0 + c)
                for r in range(8):
                    dst[d + _U(r)] = src[s + _U(r * lds)]
    for c in range(ce, C):  # (the last columns: each a run of stores, reads gathered)
        d = _U(d0 + c * ldd)
        s = _U(s0 + c)
        for r in range(R):
            dst[d + _U(r)] = src[s + _U(r * lds)]
    for r in range(re, R):
        for c in range(ce):
            dst[_U(d0 + c * ldd + r)] = src[_U(s0 + r * lds + c)]


@njit(cache=True, nogil=True)
def pad_into(xf, src0, H, W, buf, dst0, lh, lw, Hp, Wp):
    """The ``(H, W)`` plane at ``xf[src0:]`` onto the zero ``(Hp + 1, Wp)`` grid at
    ``buf[dst0:]``, starting at ``(-lh, -lw)``."""
    pad_rows_into(xf, src0, H, W, buf, dst0, lh, lw, Hp, Wp, I0, Hp + 1)


@njit(cache=True, nogil=True)
def pad_rows_into(xf, src0, H, W, buf, dst0, lh, lw, Hp, Wp, r0, r1):
    """Rows ``[r0, r1)`` of :func:`pad_into`'s grid (a kernel's part writing only the rows
    it reads keeps them in its own core's cache)."""
    c0 = min(max(0, lw), Wp)
    c1 = max(c0, min(Wp, W + lw))
    for r in range(r0, r1):
        ih = r - lh
        dst = _U(dst0 + r * Wp)
        if ih < 0 or ih >= H or r == Hp:
            for j in range(Wp):
                buf[dst + _U(j)] = 0
            continue
        src = src0 + ih * W - lw
        for j in range(c0):
            buf[dst + _U(j)] = 0
        copy_elems(buf, dst + _U(c0), xf, _U(src + c0), c1 - c0)
        for j in range(c1, Wp):
            buf[dst + _U(j)] = 0


@njit(inline="always")
def cl_grid(geo):
    """``(Hp, Wp)``: the input rows and columns the outputs of a 2-D layer read, from the
    first window's first tap to the last window's last (the zero-bordered grid the
    channels-last few-channel kernels pad an image into)."""
    Ho, Wo, kh, kw = geo[G_HO], geo[G_WO], geo[G_KH], geo[G_KW]
    return ((Ho - 1) * geo[G_SH] + (kh - 1) * geo[G_DH] + 1,
            (Wo - 1) * geo[G_SW] + (kw - 1) * geo[G_DW] + 1)


@njit(inline="always")
def cl_grid_offsets(offs, geo, Wp):
    """``offs[(c*kh + th)*kw + tw]``: tap ``(c, th, tw)``'s offset from a window's first
    element in a channels-last grid of ``Wp`` columns."""
    C, kh, kw, dh, dw = geo[G_C], geo[G_KH], geo[G_KW], geo[G_DH], geo[G_DW]
    for c in range(C):
        for th in range(kh):
            for tw in range(kw):
                offs[(c * kh + th) * kw + tw] = (th * dh * Wp + tw * dw) * C + c
