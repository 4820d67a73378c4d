"""asv: numbaconv activations against NumPy and PyTorch CPU (cases in numbaconv.bench.activations)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.activations import CASES

Activations = asv_suite(CASES, "Activations")
