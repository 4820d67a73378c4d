"""Public API, one module per operation family: thin wrappers that validate and dispatch.

Each module lists its top-level names in ``__all__`` and, when it has
gradients, their :mod:`numbaconv.grad` names in ``__grad_all__``.
"""

#: the families, in the order they are re-exported at top level.
FAMILIES = ("padding", "signal", "conv", "pooling", "activations", "normalization")
