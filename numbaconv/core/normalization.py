"""Batch normalisation's arguments resolved once into a frozen :class:`BatchNormSpec`.

Every entry point (``batch_norm`` and its gradients in :mod:`numbaconv.api.normalization`)
resolves its shape and scalar arguments through :func:`batch_norm_spec`, which is cached
(:func:`numbaconv.core.plans.plan_cache`): a training loop pays the checks once.

Kernels see the input as a 3-D ``(outer, C, inner)`` array: the channel axis in the middle,
everything before it folded into ``outer`` and everything after it into ``inner``. For
``data_format='channels_first'`` (PyTorch's ``(N, C, *spatial)``) that is ``outer = N``,
``inner = prod(spatial)``; for ``'channels_last'`` (Keras' ``(N, *spatial, C)``) it is
``outer = N * prod(spatial)``, ``inner = 1``: the same kernels, computed in that layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .plans import plan_cache
from .validate import check_choice

#: the layouts: channels on axis 1 (PyTorch) or on the last axis (Keras)
DATA_FORMATS = ("channels_first", "channels_last")


@dataclass(frozen=True)
class BatchNormSpec:
    """One batch normalisation's resolved geometry and scalars."""

    shape: tuple[int, ...]   #: the input's shape
    data_format: str         #: where the channels are: axis 1, or the last axis
    outer: int               #: product of the axes before the channels
    channels: int            #: C
    inner: int               #: product of the axes after the channels
    training: bool           #: batch statistics (True) or running statistics (False)
    momentum: float          #: weight of the new batch statistic in the running update
    eps: float               #: added to the variance before the square root

    @property
    def shape3(self) -> tuple[int, int, int]:
        """The ``(outer, C, inner)`` view the kernels take."""
        return (self.outer, self.channels, self.inner)

    @property
    def channel_axis(self) -> int:
        """The channel axis of the input: 1, or the last one for 'channels_last'."""
        return len(self.shape) - 1 if self.data_format == "channels_last" else 1

    @property
    def count(self) -> int:
        """Values per channel: the ``n`` of the mean and variance."""
        return self.outer * self.inner


def check_real(value, name: str, minimum: float | None = None) -> float:
    """A finite real scalar as a Python float, or an error naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type "
                        f"{type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return v


def check_bool(value, name: str) -> bool:
    """``value`` as a Python bool, or a TypeError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


@plan_cache
def batch_norm_spec(shape: tuple[int, ...], training, momentum, eps,
                    data_format: str = "channels_first", name: str = "x") -> BatchNormSpec:
    """Check a batch normalisation's shape and scalars; return its spec.

    ``shape`` is the input's shape: ``(N, C)`` or ``(N, C, *spatial)`` with 1 to 3
    spatial axes (``'channels_last'``: ``(N, C)`` or ``(N, *spatial, C)``); ``name`` is the
    argument it came from, for the error messages.
    """
    data_format = check_choice(data_format, "data_format", DATA_FORMATS)
    training = check_bool(training, "training")
    momentum = check_real(momentum, "momentum")
    eps = check_real(eps, "eps", minimum=0.0)
    shape = tuple(int(s) for s in shape)
    last = data_format == "channels_last"
    if not 2 <= len(shape) <= 5:
        layout = "(N, *spatial, C)" if last else "(N, C, *spatial)"
        raise ValueError(f"{name} must be (N, C) or {layout} with 1 to 3 spatial "
                         f"dimensions (2 to 5 dimensions); got shape {shape}")
    if last:
        outer, channels, inner = math.prod(shape[:-1]), shape[-1], 1
    else:
        outer, channels, inner = shape[0], shape[1], math.prod(shape[2:])
    if training and outer * inner <= 1 and channels > 0:
        raise ValueError("batch statistics need more than one value per channel when training; "
                         f"{name} has shape {shape} ({outer * inner} per channel)")
    return BatchNormSpec(shape, data_format, outer, channels, inner, training, momentum, eps)
