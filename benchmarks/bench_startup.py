"""asv: import and first calls in a fresh interpreter (what Numba's cache buys).

asv runs each ``timeraw_`` benchmark's code in a new process; from the second
sample on, kernels load from Numba's on-disk cache, so these track the warm
first-call cost. ``python -m numbaconv bench --startup`` measures cold (empty
cache) and warm separately, with the python and numpy baselines.
"""

from numbaconv.bench.startup import FIRST_CALLS, IMPORT, whole_api_code

_SETUP = "import numpy as np\nimport numbaconv as nc\n"


def timeraw_import_numbaconv():
    return IMPORT


def timeraw_import_numpy():
    return "import numpy"


def _first_call(code):
    setup, _, call = code.rpartition("\n")

    def bench():
        return call, _SETUP + setup

    bench.timeout = 600
    return bench


# one timeraw_first_<family> per representative call (timeraw_first_conv2d, ...)
for _name, _code in FIRST_CALLS.items():
    globals()["timeraw_first_" + _name.replace(".", "_")] = _first_call(_code)


def timeraw_whole_api():
    return whole_api_code(), _SETUP


timeraw_whole_api.timeout = 600
