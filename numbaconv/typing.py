"""Types of numbaconv's public API, for annotations in your own code.

``ArrayLike``
    What every public function accepts as an array: anything NumPy converts
    (arrays, lists, scalars) or a CUDA array (an object with
    ``__cuda_array_interface__``: numba device arrays, CuPy arrays, torch CUDA
    tensors).
``Array``
    What they return: a NumPy array for host input, a numba CUDA device array
    for CUDA input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

import numpy.typing as npt

__all__ = ["ArrayLike", "Array", "CudaArray", "Size", "Padding", "DTypeLike"]


class CudaArray(Protocol):
    """A CUDA array: numba device arrays, CuPy arrays, torch CUDA tensors."""

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


ArrayLike: TypeAlias = npt.ArrayLike | CudaArray
Array: TypeAlias = npt.NDArray[Any] | CudaArray
#: a size per spatial dimension: one int for all, or one each
Size: TypeAlias = int | Sequence[int]
#: an int, one int or ``(before, after)`` pair per dimension, or a word ('valid', 'same', ...)
Padding: TypeAlias = int | str | Sequence[int] | Sequence[tuple[int, int]]
DTypeLike: TypeAlias = npt.DTypeLike
