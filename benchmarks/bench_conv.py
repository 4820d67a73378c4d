"""asv: conv2d forward and gradients against PyTorch CPU (cases in numbaconv.bench.conv)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.conv import CASES

Conv = asv_suite(CASES, "Conv")
