"""The ``out=`` argument, NumPy's convention, for every function that returns one array.

A wrapper asks :func:`prepare_out` for the array its kernel writes into and
returns :func:`finish_out` of it::

    dst = prepare_out(out, backend, shape, dtype, inputs={"x": x})
    kernels(...).launcher(arr, dst, ...)
    return finish_out(out, dst)

``out`` must be an array of the backend (a NumPy array for host input, a CUDA
array for CUDA input) of exactly the result's shape and dtype, writeable, and
must not overlap an input, except that an elementwise function may be given one
of its inputs itself (``out=x``: in place). When ``out`` is not C-contiguous the
kernel writes into scratch that is then copied into ``out``. The answer is
always ``out`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dispatch import memory


def _describe(shape, dtype) -> str:
    return f"shape {tuple(shape)} and dtype {np.dtype(dtype)}"


def check_out(out, backend: str, shape, dtype, inputs=None, elementwise: bool = False,
              name: str = "out") -> None:
    """Raise a TypeError/ValueError naming ``name`` unless ``out`` can receive the result."""
    mem = memory(backend)
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    if not mem.is_out_array(out):
        kind = "a NumPy array" if backend == "cpu" else "a CUDA array (the inputs are on the GPU)"
        raise TypeError(f"{name} must be {kind} of {_describe(shape, dtype)}, or None; got "
                        f"{type(out).__name__}")
    if tuple(out.shape) != shape:
        raise ValueError(f"{name} must have the result's {_describe(shape, dtype)}; got shape "
                         f"{tuple(out.shape)}")
    if np.dtype(out.dtype) != dtype:
        raise TypeError(f"{name} must have the result's {_describe(shape, dtype)}; got dtype "
                        f"{np.dtype(out.dtype)}")
    if not mem.is_writeable(out):
        raise ValueError(f"{name} is read-only")
    for arg, value in (inputs or {}).items():
        if value is None or not mem.overlaps(out, value):
            continue
        if elementwise and mem.same_view(out, value):
            continue  # in place: every element is read before it is written
        if elementwise:
            raise ValueError(f"{name} overlaps {arg} without being the same array (same shape, "
                             f"strides and start); pass {arg} itself for an in-place result, "
                             "or an array that does not share its memory")
        raise ValueError(f"{name} shares memory with the input {arg}; pass an array that does "
                         "not overlap any input")


def host_ready(out, backend: str, shape, dtype, inputs, elementwise: bool) -> bool:
    """Whether ``out`` passes every check of :func:`check_out` and a kernel writes it as it
    is, told in a few attribute reads (a training loop's reused buffer: 3 of a small
    call's 10 us went to the general checks): a C-contiguous, writeable, native NumPy
    array of exactly ``shape`` and ``dtype`` whose memory no NumPy input may share, or
    (``elementwise``) that is an input itself. False sends ``out`` to :func:`check_out`,
    which accepts it or explains why not."""
    values = (inputs or {}).values()
    return backend == "cpu" and _writes_as_is(
        out, shape, dtype, [v for v in values if v is not out] if elementwise else values)


def _writes_as_is(out, shape, dtype, values) -> bool:
    """:func:`host_ready` and :func:`ready_out`: ``out`` a C-contiguous, writeable, native
    NumPy array of ``shape`` and ``dtype`` sharing no memory with any NumPy array of
    ``values`` (None skipped)."""
    if type(out) is not np.ndarray or out.shape != shape or out.dtype != dtype:
        return False
    flags = out.flags
    if not (flags.c_contiguous and flags.writeable and out.dtype.isnative):
        return False
    owns = flags.owndata
    for value in values:
        if isinstance(value, np.ndarray) and not _apart(out, owns, value):
            return False
    return True


def _apart(out: np.ndarray, owns: bool, value: np.ndarray) -> bool:
    """Whether ``out`` (``owns``: its ``flags.owndata``) and the NumPy array ``value`` share
    no memory: certainly so when each owns its own allocation (a flag read, where
    ``np.may_share_memory`` costs a dispatch: 0.25 us an input), else by its bounds test."""
    return (owns and value is not out and value.flags.owndata) \
        or not np.may_share_memory(out, value)


def prepare_out(out, backend: str, shape, dtype, inputs=None, elementwise: bool = False,
                name: str = "out") -> Any:
    """The array the kernel writes the result into: ``out`` itself when it can, else scratch:
    a NumPy array, or a device array of the CUDA backend (numba's, which is untyped).

    ``out=None`` allocates the result. ``inputs`` maps argument names to the
    caller's own input objects (before any conversion) for the overlap check.
    """
    if out is None:
        return memory(backend).empty(shape, dtype)
    if host_ready(out, backend, shape, dtype, inputs, elementwise):
        return out
    check_out(out, backend, shape, dtype, inputs, elementwise, name)
    mem = memory(backend)
    if mem.is_writable_c(out):
        return out
    return mem.empty(shape, dtype)


def ready_out(out, x, others=()) -> bool:
    """Whether a fast path may write ``out`` as it is: a C-contiguous, writeable NumPy array
    of ``x``'s shape and dtype that is ``x`` itself or shares no memory with it, nor with any
    array of ``others`` (None entries skipped). Anything else takes :func:`prepare_out`,
    which accepts it or explains why not."""
    return _writes_as_is(out, x.shape, x.dtype, others if out is x else (x, *others))


def finish_out(out, dst):
    """The function's answer: ``dst`` when ``out`` is None, else ``out`` holding ``dst``."""
    if out is None or dst is out:
        return dst if out is None else out
    memory("cuda" if not isinstance(out, np.ndarray) else "cpu").copy_into(out, dst)
    return out
