"""Reference implementations every test suite compares with (CPU, CUDA and dask alike).

Each oracle is independent of numbaconv: NumPy, SciPy or a formula written out
in float64, never a call into the code under test. One section per family.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------------- activations


# ------------------------------------------------------------------------------------- pooling


# ---------------------------------------------------------------------------------- convolution


# --------------------------------------------------------------------------------------- signal


def scipy_signal(name, a, b, *args, **kwargs):
    """scipy.signal's ``name`` (convolve, correlate, convolve2d, ..., fftconvolve, oaconvolve).

    Bool inputs, which scipy's N-D direct path refuses, are computed in int64 and compared
    with 0 (a bool convolution is an OR of ANDs); 'auto' is taken as 'direct', the method
    whose NaN semantics numbaconv's 'auto' keeps.
    """
    import numpy as np
    import scipy.signal as ss

    fn = getattr(ss, name)
    if kwargs.get("method") == "auto":
        kwargs = dict(kwargs, method="direct")
    if np.asarray(a).dtype == np.bool_ and name in ("convolve", "correlate"):
        kwargs = {k: v for k, v in kwargs.items() if k != "method"}
        return fn(np.asarray(a, np.int64), np.asarray(b, np.int64), *args, method="direct",
                  **kwargs) != 0
    return fn(a, b, *args, **kwargs)


def assert_signal_close(got, want, exact: bool | None = None, single: bool | None = None):
    """Same dtype and shape as scipy's result; equal for integers and bools, else close to
    the precision of the dtype (``single``: of float32, e.g. when an input was float32),
    relative to the result's largest magnitude."""
    import numpy as np

    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if exact if exact is not None else want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    if single is None:
        single = want.dtype in (np.float32, np.complex64)
    tol = 2e-4 if single else 1e-10
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)

