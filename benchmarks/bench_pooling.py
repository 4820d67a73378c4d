"""asv: numbaconv pooling against PyTorch CPU (cases in numbaconv.bench.pooling)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.pooling import CASES

Pooling = asv_suite(CASES, "Pooling")
