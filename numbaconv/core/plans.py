"""Resolved plans, cached: the second call with the same shapes and arguments resolves nothing.

Every operation family resolves its arguments once into a frozen *spec* (output
shape, paddings, kernel choice) built by one function from hashable values
(shapes, dtypes, ints, tuples, strings). :func:`plan_cache` memoises that
function: a training loop or a stream of same-shaped signals pays the
resolution once. Calls with unhashable arguments (a list padding, an array of
strides) are resolved without the cache, with the same result. The cache is
``functools.lru_cache``, safe to use from several threads at once, and typed: an argument
``2.0`` or ``True`` is not the key of an earlier ``2`` or ``1``, so a value the builder refuses
never hits the cached spec of an equal one it accepted (elements inside a tuple argument are
still compared by equality only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

#: resolved plans kept per family
MAXSIZE = 512


def plan_cache(fn: F) -> F:
    """Memoise a pure spec builder on its (hashable) positional and keyword arguments."""
    cached = functools.lru_cache(maxsize=MAXSIZE, typed=True)(fn)

    @functools.wraps(fn)
    def plan(*args, **kwargs):
        try:
            return cached(*args, **kwargs)
        except TypeError:
            try:
                hash((args, tuple(kwargs.items())))
            except TypeError:  # an unhashable argument: resolve without the cache
                return fn(*args, **kwargs)
            raise

    plan.cache_info = cached.cache_info  # type: ignore[attr-defined]
    plan.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return plan  # type: ignore[return-value]
