"""Array operands: their dtype rules and dimension checks.

A public function calls :func:`numbaconv.core.dispatch.backend_of` once on
all its array arguments, picks the computation dtype with :func:`result_dtype`
or :func:`float_dtype`, then converts each argument with
:func:`numbaconv.core.dispatch.asarray` (the backend's ``memory`` module).
Kernels therefore see native-byte-order, C-contiguous, writeable arrays of one
dtype, which keeps the number of Numba specialisations small, and never see
the caller's own buffer when a conversion was needed (inputs are never
modified). Nothing here touches array data or knows a backend.
"""

from __future__ import annotations

import numpy as np

from .dispatch import is_cuda_array

#: dtype kinds numbaconv computes with: bool, signed, unsigned, float, complex.
NUMERIC_KINDS = "biufc"
FLOAT_KINDS = "f"


def check_kind(dtype: np.dtype, name: str, kinds: str) -> np.dtype:
    """``dtype`` if its kind is one of ``kinds``, else a TypeError naming ``name``."""
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
    return check_kind(dtype, name, kinds)


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


def check_ndim(arr, name: str, allowed, what: str = "") -> int:
    """Raise a ValueError unless ``arr.ndim`` is in ``allowed``."""
    allowed = tuple(allowed)
    if arr.ndim not in allowed:
        shapes = " or ".join(str(a) for a in allowed)
        extra = f" ({what})" if what else ""
        raise ValueError(f"{name} must have {shapes} dimensions{extra}, got shape {tuple(arr.shape)}")
    return arr.ndim
