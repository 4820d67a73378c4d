"""asv: numbaconv.pad against numpy.pad (cases in numbaconv.bench.padding)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.padding import CASES

Padding = asv_suite(CASES, "Padding")
