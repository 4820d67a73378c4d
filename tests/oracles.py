"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------------- activations


# ------------------------------------------------------------------------------------- pooling


# ---------------------------------------------------------------------------------- convolution


# --------------------------------------------------------------------------------------- signal
