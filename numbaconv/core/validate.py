"""Scalar argument checks shared by every operation.

Every public function funnels its integer-like knobs (kernel sizes, strides,
dilations, paddings, axes) through these helpers, so an error message always
names the argument and says what is accepted.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np


def check_int(value, name: str, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    Booleans and non-integral numbers (``2.5`` but also ``2.0``) are refused,
    as PyTorch refuses them: a fractional stride is always a bug upstream.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got the boolean {value!r}")
    try:
        ivalue = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}"
        ) from None
    if minimum is not None and ivalue < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {ivalue}")
    return ivalue


def int_tuple(value, ndim: int, name: str, minimum: int | None = None) -> tuple[int, ...]:
    """Broadcast an int, or check a length-``ndim`` sequence of ints."""
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) == 1 and ndim != 1:
            items = items * ndim
        if len(items) != ndim:
            raise ValueError(
                f"{name} must be an integer or a sequence of {ndim} integers, got {value!r}"
            )
        return tuple(check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(items))
    return (check_int(value, name, minimum),) * ndim


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {accepted}; got {value!r}")
    return value


def normalize_axis(axis, ndim: int, name: str = "axis") -> int:
    """Resolve a possibly negative axis against ``ndim`` like NumPy does."""
    axis = check_int(axis, name)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def check_same_shape(shape, want, name: str = "grad_output", of: str = "x") -> None:
    """A ValueError naming ``name`` unless its ``shape`` is ``want``, the shape of ``of`` (a
    vector-Jacobian product's ``grad_output`` has the shape of the forward input)."""
    if tuple(shape) != tuple(want):
        raise ValueError(f"{name} must have the shape of {of} {tuple(want)}, got {tuple(shape)}")
