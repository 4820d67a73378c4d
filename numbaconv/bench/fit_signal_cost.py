"""Fit the constants of ``numbaconv.api.signal``'s method='auto' cost model on this machine.

Run ``python -m numbaconv.bench.fit_signal_cost`` on an otherwise idle machine and copy the
printed constants into ``numbaconv/api/signal.py``. It times numbaconv's direct kernel and its
scipy.fft path on float64 'same' cases in 1-3 dimensions and solves two non-negative least
squares problems on the relative error (each timing weighted by 1/time):

    direct ~ DIRECT_S + DIRECT_PER_MAC * macs + DIRECT_PER_ROW * row_passes
    fft    ~ FFT_S + FFT_PER_NLOGN * L * log2(L)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import nnls

DIRECT_CASES = [
    ((100_000,), (3,)), ((1_000_000,), (3,)), ((1_000_000,), (31,)), ((200_000,), (301,)),
    ((50_000,), (1001,)), ((256, 256), (3, 3)), ((512, 512), (7, 7)), ((1024, 1024), (3, 3)),
    ((256, 256), (15, 15)), ((128, 128), (31, 31)), ((64, 64, 64), (3, 3, 3)),
    ((32, 64, 64), (1, 5, 5)), ((2000, 30), (9, 9)), ((5000,), (9,)),
]
FFT_CASES = [
    ((100_000,), (3,)), ((1_000_000,), (31,)), ((1_000_000,), (1001,)), ((5000,), (100,)),
    ((256, 256), (3, 3)), ((1024, 1024), (31, 31)), ((512, 512), (7, 7)),
    ((64, 64, 64), (3, 3, 3)), ((128, 128), (31, 31)), ((2000, 30), (9, 9)),
]


def _features(xshape, kshape):
    from numbaconv.api import signal as api

    pads = api._paddings(xshape, kshape, "same", api._conv_start)
    oshape = api._output_shape(xshape, kshape, pads)
    macs = math.prod(api._axis_macs(n, m, p[0], o)
                     for n, m, p, o in zip(xshape, kshape, pads, oshape, strict=True))
    rows = math.prod(oshape[:-1]) * math.prod(kshape[:-1]) * -(-oshape[-1] // 2048)
    import scipy.fft as sfft

    L = math.prod(sfft.next_fast_len(n + m - 1, real=True) for n, m in zip(xshape, kshape, strict=True))
    return macs, rows, L * math.log2(L)


def fit(repeat: int = 3) -> dict[str, float]:
    """Time the cases and return the fitted constants."""
    import numbaconv as nc

    from . import best_of

    rng = np.random.default_rng(0)
    rows_d, t_d, rows_f, t_f = [], [], [], []
    for cases, method, rows, times in ((DIRECT_CASES, "direct", rows_d, t_d),
                                       (FFT_CASES, "fft", rows_f, t_f)):
        for xshape, kshape in cases:
            x, k = rng.standard_normal(xshape), rng.standard_normal(kshape)
            t = best_of(lambda x=x, k=k, m=method: nc.convolve(x, k, "same", m), repeat=repeat)
            macs, nrows, nlogn = _features(xshape, kshape)
            rows.append([1.0, macs, nrows] if method == "direct" else [1.0, nlogn])
            times.append(t)
            print(f"{method:6s} {xshape!s:16s} {kshape!s:12s} {t * 1e3:9.3f} ms")
    out = {}
    for names, rows, times in ((("DIRECT_S", "DIRECT_PER_MAC", "DIRECT_PER_ROW"), rows_d, t_d),
                               (("FFT_S", "FFT_PER_NLOGN"), rows_f, t_f)):
        a = np.array(rows) / np.array(times)[:, None]
        coef, _ = nnls(a, np.ones(len(times)))
        out.update(zip(names, coef, strict=True))
    return out


def main() -> None:
    for name, value in fit().items():
        print(f"{name} = {value:.3g}")


if __name__ == "__main__":
    main()
