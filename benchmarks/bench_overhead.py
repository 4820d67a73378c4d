"""asv: one tiny call per public family, numbaconv beside PyTorch, scipy and NumPy.

Cases are numbaconv.bench.overhead's rows. Unlike ``python -m numbaconv bench
overhead``, which times each library alone in its own fresh interpreter, asv
times every row in-process: ``setup`` builds the row for all installed libraries
in the one process asv starts for the benchmark (so torch and numbaconv share it),
and asv's own timer picks the number of calls.

The ``timeraw_`` benchmarks check that importing numbaconv leaves PyTorch's speed
alone: the same 300 torch calls in a fresh process, with and without
``import numbaconv`` first.
"""

from numbaconv.bench import asv_suite
from numbaconv.bench.overhead import CASES, raw_call_source

Overhead = asv_suite(CASES, "Overhead")

_TINY = "conv2d (1,1,4,4)x(1,1,3,3)"
_LARGE = "conv2d (8,64,28,28)x(64,64,3,3) p1"


def timeraw_torch_tiny_conv2d_x300():
    return raw_call_source(_TINY, "torch", 300, order=True)


def timeraw_torch_tiny_conv2d_x300_after_import_numbaconv():
    return raw_call_source(_TINY, "torch", 300, first=("numbaconv",), order=True)


def timeraw_torch_conv2d_8x64x28x28_x10():
    return raw_call_source(_LARGE, "torch", 10, order=True)


def timeraw_torch_conv2d_8x64x28x28_x10_after_import_numbaconv():
    return raw_call_source(_LARGE, "torch", 10, first=("numbaconv",), order=True)


for _f in (timeraw_torch_tiny_conv2d_x300, timeraw_torch_tiny_conv2d_x300_after_import_numbaconv,
           timeraw_torch_conv2d_8x64x28x28_x10,
           timeraw_torch_conv2d_8x64x28x28_x10_after_import_numbaconv):
    _f.timeout = 300
