"""asv: cold import and first calls in a fresh interpreter (what Numba's cache buys).

asv runs each ``timeraw_`` benchmark's code in a new process; from the second
sample on, kernels load from Numba's on-disk cache.
"""

from numbaconv.bench.startup import FIRST_CALLS, IMPORT


def timeraw_import_numbaconv():
    return IMPORT


def timeraw_first_conv2d():
    setup, _, call = FIRST_CALLS["conv2d"].rpartition("\n")
    return call, setup


def timeraw_first_max_pool2d():
    setup, _, call = FIRST_CALLS["max_pool2d"].rpartition("\n")
    return call, setup
