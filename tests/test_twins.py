"""Every CPU launcher has a CUDA twin with the same signature (or is on the CPU-only list).

A launcher is a public (no leading underscore) plain Python function defined in
``numbaconv/cpu/<family>.py``; its twin is the function of the same name in
``numbaconv/cuda/<family>.py``. Compiled kernels (``@njit``/``@cuda.jit`` dispatchers)
are not launchers.
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

FAMILIES = ("padding", "signal", "conv", "pooling", "activations", "normalization", "memory")

#: CPU-only launchers, and why they have no CUDA twin
CPU_ONLY = {
    "conv": {"gemm_forward": "im2col + BLAS GEMM: a CPU path",
             "prepared_forward": "a host call's pass fixed once from its shapes (a CUDA "
                                 "call's cost is its launch)",
             "prepared_input_grad": "prepared_forward for the input gradient",
             "prepared_weight_grad": "prepared_forward for the weight gradient",
             "prepared_holds": "whether prepared_forward's pass still serves"},
    "signal": {"fft_convolve": "scipy.fft: a CPU path", "fft_workers": "scipy.fft threads",
               "fft_window_2d": "scipy.fft in tile pairs: a CPU path",
               "packs_2d": "which inputs fft_window_2d takes",
               "prepared_correlate": "a host call's path fixed once from its shapes (a CUDA "
                                     "call's cost is its launch)"},
    "memory": {},
    "padding": {"prepared": "a host call's pad fixed once from its shapes (a CUDA call's "
                            "cost is its launch)"},
    "normalization": {"normalize_small": "the host fast path's one-call form of normalize "
                                         "(the GPU runs normalize itself)",
                      "backward_small": "the host fast path's one-call form of a training "
                                        "backward (the GPU runs its kernels one by one)"},
}


def _launchers(module):
    return {name: fn for name, fn in vars(module).items()
            if isinstance(fn, types.FunctionType) and not name.startswith("_")
            and fn.__module__ == module.__name__}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_cpu_launcher_has_a_cuda_twin(family):
    cpu = importlib.import_module(f"numbaconv.cpu.{family}")
    cuda = importlib.import_module(f"numbaconv.cuda.{family}")
    cpu_l, cuda_l = _launchers(cpu), _launchers(cuda)
    allowed = CPU_ONLY.get(family, {})
    missing = sorted(set(cpu_l) - set(cuda_l) - set(allowed))
    assert not missing, f"cpu/{family}.py launchers without a CUDA twin: {missing}"
    for name in sorted(set(cpu_l) & set(cuda_l)):
        a = list(inspect.signature(cpu_l[name]).parameters)
        b = list(inspect.signature(cuda_l[name]).parameters)
        assert a == b, f"{family}.{name}: cpu{tuple(a)} != cuda{tuple(b)}"
    stale = sorted(set(allowed) & set(cuda_l))
    assert not stale, f"{stale} have CUDA twins now: take them off CPU_ONLY"
