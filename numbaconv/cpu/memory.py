"""Host arrays: normalisation, allocation and the ``out=`` checks of the CPU backend.

The twin of :mod:`numbaconv.cuda.memory`, reached through
:func:`numbaconv.core.dispatch.memory`: the same functions with the same
signatures, so a public wrapper never branches on the backend to get an
array ready for its kernel.
"""

from __future__ import annotations

import numpy as np

from ..core.operands import NUMERIC_KINDS, check_kind


def is_device_array(x) -> bool:
    """Host arrays are never device arrays (the CUDA twin recognises its own)."""
    return False


def asarray(x, name: str, dtype=None, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """Normalise ``x`` for a CPU kernel.

    Returns a native-endian, C-contiguous, writeable ndarray of ``dtype`` (or
    of ``x``'s own dtype), copying only when one of those properties is
    missing. Object, string and other non-numeric input raises TypeError.
    """
    if (type(x) is np.ndarray and x.flags.c_contiguous and x.flags.writeable
            and (dtype is None or x.dtype == dtype) and x.dtype.isnative
            and x.dtype.kind in kinds and x.dtype != np.float16):
        return x  # the fast path: already what the kernel takes
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None
    check_kind(arr.dtype, name, kinds)
    target = np.dtype(dtype) if dtype is not None else arr.dtype
    if target == np.float16:
        target = np.dtype(np.float32)  # Numba has no float16
    target = target.newbyteorder("=")
    if arr.dtype != target:
        arr = arr.astype(target)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    if not arr.flags.writeable:
        arr = arr.copy()  # a read-only buffer would make Numba compile a second specialisation
    return arr


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised output array."""
    return np.empty(shape, dtype=dtype)


def zeros(shape, dtype) -> np.ndarray:
    """A zero-filled output array (for scatter-add kernels)."""
    return np.zeros(shape, dtype=dtype)


def is_out_array(out) -> bool:
    """Whether ``out`` is an array this backend can write its results into."""
    return isinstance(out, np.ndarray)


def is_writable_c(out) -> bool:
    """Whether a kernel can write straight into ``out`` (C-contiguous, writeable, native)."""
    return out.flags.c_contiguous and out.flags.writeable and out.dtype.isnative


def is_writeable(out) -> bool:
    return bool(out.flags.writeable)


def same_view(a, b) -> bool:
    """``a`` and ``b`` are the same elements in the same layout (in-place elementwise is safe)."""
    return (isinstance(b, np.ndarray) and a.shape == b.shape and a.strides == b.strides
            and a.dtype.itemsize == b.dtype.itemsize
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def overlaps(a, b) -> bool:
    """Whether the memory of ``a`` and of the host array ``b`` may overlap."""
    return isinstance(b, np.ndarray) and bool(np.may_share_memory(a, b))


def copy_into(dst, src) -> None:
    """``dst[...] = src`` (a result computed in a scratch buffer lands in the caller's ``out``)."""
    np.copyto(dst, src, casting="no")
