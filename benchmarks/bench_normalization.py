"""asv: numbaconv batch normalisation against PyTorch CPU (cases in numbaconv.bench.normalization)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.normalization import CASES

Normalization = asv_suite(CASES, "Normalization")
