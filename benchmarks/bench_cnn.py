"""asv: the course notes' CNNs, a training step and batch-1 inference, numbaconv against
PyTorch CPU (cases in numbaconv.bench.cnn)."""

from numbaconv.bench import asv_suite
from numbaconv.bench.cnn import CASES

CNN = asv_suite(CASES, "CNN")
