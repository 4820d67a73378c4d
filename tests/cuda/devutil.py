"""Host/device transfers for the CUDA tests (the tests' own, not the library's)."""

from __future__ import annotations

import numpy as np
from numba import config, cuda


def to_device(a):
    """Host -> device."""
    return cuda.to_device(np.ascontiguousarray(a))


def to_host(d):
    """Device -> host; fails loudly if the library returned a host array."""
    assert not isinstance(d, np.ndarray), "a CUDA input must give a CUDA array back"
    return d.copy_to_host()


#: a result that sums products, on a real GPU against the CPU: NVVM fuses ``a * b + c``
#: into one FMA (one rounding where the CPU rounds twice), so the two differ by a few
#: roundings of the largest terms, which cancellation can make many ulps of a small result
#: (docs/semantics.md); the simulator runs the kernels as Python and gives the CPU's bits.
FMA_ROUNDINGS = 64


def assert_twin(gpu, cpu, exp_ulps: int = 0) -> None:
    """The CUDA kernel's result against the CPU kernel's: bitwise under the simulator; on a
    GPU within :data:`FMA_ROUNDINGS` roundings of the largest magnitude in the result.

    ``exp_ulps``: a result built on float64 exponentials, whose CPU form is numbaconv's own
    vectorised exp (within 1 ulp of the correctly rounded value: tests/test_activations.py)
    where the twin calls libdevice's or, under the simulator, Python's: within that many ulp
    of each other, element by element, under the simulator too."""
    gpu, cpu = np.asarray(gpu), np.asarray(cpu)
    if vars(config)["ENABLE_CUDASIM"]:
        if exp_ulps:
            np.testing.assert_allclose(gpu, cpu, rtol=exp_ulps * np.finfo(cpu.dtype).eps,
                                       atol=0.0)
        else:
            np.testing.assert_array_equal(gpu, cpu)
    else:
        eps = np.finfo(cpu.dtype).eps
        scale = float(np.max(np.abs(cpu[np.isfinite(cpu)]), initial=0.0))
        np.testing.assert_allclose(gpu, cpu, rtol=FMA_ROUNDINGS * eps,
                                   atol=FMA_ROUNDINGS * eps * scale)
