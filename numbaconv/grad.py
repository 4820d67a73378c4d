"""Gradients of every differentiable operation, with PyTorch's ``torch.nn.grad`` signatures.

The functions are defined next to their forward operation in
``numbaconv.api.<family>`` (listed there in ``__grad_all__``) and gathered here.
"""

from __future__ import annotations

import importlib

from .api import FAMILIES

__all__: list[str] = []

for _family in FAMILIES:
    _module = importlib.import_module(f"numbaconv.api.{_family}")
    for _name in getattr(_module, "__grad_all__", ()):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _family, _module
