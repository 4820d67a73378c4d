"""numbaconv on dask arrays: lazy, chunk-by-chunk versions of the public operations.

Needs the optional extra ``dask`` (``pip install numbaconv[dask]``);
``import numbaconv`` itself never imports dask.

Every function takes a dask array (NumPy input is wrapped), builds a graph
whose tasks call the in-memory numbaconv function on one chunk at a time,
and returns a dask array equal to the in-memory result for every chunking.
Inside each task Numba runs ``numba_threads_per_task()`` threads, so Numba
threads x dask threads stay within the cores. See ``docs/dask.md``.

Examples
--------
>>> import numpy as np, dask.array as da
>>> import numbaconv.dask as ncd
>>> img = da.ones((6, 6), chunks=3)
>>> ncd.convolve2d(img, np.ones((3, 3)), mode="same").compute()[0]
array([4., 6., 6., 6., 6., 4.])
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("numbaconv.dask needs dask: pip install 'numbaconv[dask]'") from exc

from ._dl import ELEMENTWISE, _make_conv, _make_elementwise, _make_pool, log_softmax, prelu, softmax
from ._signal import convolve, convolve2d, correlate, correlate2d
from ._threads import cores, dask_threads, local_cluster, numba_threads_per_task

__all__ = ["convolve", "correlate", "convolve2d", "correlate2d", "softmax", "log_softmax",
           "prelu", "numba_threads_per_task", "local_cluster", "cores", "dask_threads"]

for _nd in (1, 2, 3):
    for _f in (_make_conv(_nd), _make_pool("max", _nd), _make_pool("avg", _nd)):
        _f.__module__ = __name__
        globals()[_f.__name__] = _f
        __all__.append(_f.__name__)
for _name in ELEMENTWISE:
    for _f in (_make_elementwise(_name), _make_elementwise(f"{_name}_derivative")):
        _f.__module__ = __name__
        globals()[_f.__name__] = _f
        __all__.append(_f.__name__)
del _nd, _f, _name
