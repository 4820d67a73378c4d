"""Array operands: where they live, their dtype, and their normalised form.

A public function calls :func:`backend_of` once on all its array arguments,
picks the computation dtype with :func:`result_dtype` or :func:`float_dtype`,
then converts each argument with :func:`asarray`. Kernels therefore see
native-byte-order, C-contiguous, writeable arrays of one dtype, which keeps
the number of Numba specialisations small, and never see the caller's own
buffer when a conversion was needed (inputs are never modified).
"""

from __future__ import annotations

import numpy as np

CPU = "cpu"
CUDA = "cuda"

#: dtype kinds numbaconv computes with: bool, signed, unsigned, float, complex.
NUMERIC_KINDS = "biufc"
FLOAT_KINDS = "f"


def is_cuda_array(x) -> bool:
    """True for anything exposing ``__cuda_array_interface__`` (numba, CuPy, torch CUDA)."""
    return hasattr(x, "__cuda_array_interface__") or type(x).__name__ == "FakeCUDAArray"


def backend_of(**arrays) -> str:
    """Return ``'cuda'`` if every non-None argument is a CUDA array, ``'cpu'`` if none is.

    Mixing host and device arrays raises a TypeError naming both arguments:
    numbaconv never moves data between host and device behind your back.
    """
    on_device = {name: is_cuda_array(a) for name, a in arrays.items() if a is not None}
    if not on_device or not any(on_device.values()):
        return CPU
    if all(on_device.values()):
        return CUDA
    dev = next(n for n, v in on_device.items() if v)
    host = next(n for n, v in on_device.items() if not v)
    raise TypeError(
        f"{dev} is a CUDA array but {host} is a host array; pass all arrays on the same "
        "device (copy with numba.cuda.to_device or .copy_to_host())"
    )


def _check_kind(dtype: np.dtype, name: str, kinds: str) -> np.dtype:
    if dtype.kind not in kinds:
        names = {"b": "bool", "i": "signed integer", "u": "unsigned integer",
                 "f": "floating", "c": "complex"}
        accepted = ", ".join(names[k] for k in kinds)
        raise TypeError(f"{name} has unsupported dtype {dtype}; accepted dtypes: {accepted}")
    return dtype


def dtype_of(x, name: str, kinds: str = NUMERIC_KINDS) -> np.dtype:
    """The NumPy dtype of a host or device array-like, checked against ``kinds``."""
    if is_cuda_array(x):
        cai = getattr(x, "__cuda_array_interface__", None)
        dtype = np.dtype(cai["typestr"]) if cai is not None else np.dtype(x.dtype)
    elif isinstance(x, np.ndarray | np.generic):
        dtype = x.dtype
    else:
        try:
            dtype = np.asarray(x).dtype
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None
    return _check_kind(dtype, name, kinds)


def result_dtype(*dtypes: np.dtype) -> np.dtype:
    """NumPy's promotion of ``dtypes``, with float16 widened to float32 (Numba has no float16)."""
    dt = np.result_type(*dtypes)
    return np.dtype(np.float32) if dt == np.float16 else dt


def float_dtype(*dtypes: np.dtype) -> np.dtype:
    """Floating computation dtype: float32 stays float32, integers and bools become float64.

    This is NumPy's rule for ``np.true_divide``: a layer fed ``int`` images
    computes in float64, exactly as ``x / 1`` would.
    """
    dt = result_dtype(*dtypes)
    if dt.kind in "biu":
        dt = np.dtype(np.float64)
    if dt.kind == "c":
        raise TypeError(f"complex dtype {dt} is not supported by this operation; "
                        "accepted dtypes: bool, integer, float32, float64")
    return np.dtype(dt)


def host_array(x, name: str, dtype=None, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """Normalise ``x`` for a CPU kernel.

    Returns a native-endian, C-contiguous, writeable ndarray of ``dtype`` (or
    of ``x``'s own dtype), copying only when one of those properties is
    missing. Object, string and other non-numeric input raises TypeError.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be an array-like of numbers: {exc}") from None
    _check_kind(arr.dtype, name, kinds)
    target = np.dtype(dtype) if dtype is not None else arr.dtype
    if target == np.float16:
        target = np.dtype(np.float32)
    target = target.newbyteorder("=")
    if arr.dtype != target:
        arr = arr.astype(target)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    if not arr.flags.writeable:
        # A read-only buffer would make Numba compile a second specialisation.
        arr = arr.copy()
    return arr


def asarray(x, name: str, backend: str, dtype=None, kinds: str = NUMERIC_KINDS):
    """Normalise ``x`` for ``backend``: :func:`host_array` or the CUDA equivalent."""
    if backend == CPU:
        return host_array(x, name, dtype, kinds)
    from ..cuda.common import device_array_of

    return device_array_of(x, name, dtype, kinds)


def check_ndim(arr, name: str, allowed, what: str = "") -> int:
    """Raise a ValueError unless ``arr.ndim`` is in ``allowed``."""
    allowed = tuple(allowed)
    if arr.ndim not in allowed:
        shapes = " or ".join(str(a) for a in allowed)
        extra = f" ({what})" if what else ""
        raise ValueError(f"{name} must have {shapes} dimensions{extra}, got shape {tuple(arr.shape)}")
    return arr.ndim
