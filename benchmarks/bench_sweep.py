"""asv: 3x3 convolutions on small maps and batches against PyTorch CPU (numbaconv.bench.sweep)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.sweep import CASES

Sweep = asv_suite(CASES, "Sweep")
