"""Fit the constants of the method='auto' cost model (``numbaconv.core.signal``) on this machine.

Run ``python -m numbaconv.bench.fit_signal_cost`` (``--real``: only the real 1-D and 2-D models) on
an otherwise idle machine and copy the
printed constants into ``numbaconv/core/signal.py`` with the machine's name. It times
numbaconv's direct kernel and its FFT path (the overlap-save tiles that 'auto' uses) on
float64 'same' cases in 1-3 dimensions and solves two non-negative least squares problems on
the relative error (each timing weighted by 1/time)::

    direct ~ DIRECT_S + DIRECT_PER_MAC * macs + DIRECT_PER_ROW * row_blocks
    fft    ~ FFT_S + FFT_PER_NLOGN * L * log2(L)

Times are the calling thread's CPU time plus the wall time of the threaded parts, best of a
few runs, so a busy machine biases them less than wall-clock time alone.
"""

from __future__ import annotations

import math
import platform

import numpy as np
from scipy.optimize import nnls

DIRECT_CASES = [
    ((100_000,), (3,)), ((1_000_000,), (3,)), ((1_000_000,), (31,)), ((200_000,), (301,)),
    ((50_000,), (1001,)), ((256, 256), (3, 3)), ((512, 512), (7, 7)), ((1024, 1024), (3, 3)),
    ((256, 256), (15, 15)), ((128, 128), (31, 31)), ((64, 64, 64), (3, 3, 3)),
    ((32, 64, 64), (1, 5, 5)), ((2000, 30), (9, 9)), ((5000,), (9,)), ((1024, 1024), (11, 11)),
]
FFT_CASES = [
    ((100_000,), (3,)), ((1_000_000,), (31,)), ((1_000_000,), (1001,)), ((5000,), (100,)),
    ((256, 256), (3, 3)), ((1024, 1024), (31, 31)), ((512, 512), (7, 7)),
    ((64, 64, 64), (3, 3, 3)), ((128, 128), (31, 31)), ((2000, 30), (9, 9)),
    ((1024, 1024), (11, 11)),
]

#: real cases (float64 'same') by dimensionality, timed both ways for :data:`REAL_MODELS`
REAL_CASES = {
    1: [((n,), (k,)) for n in (10_000, 100_000, 1_000_000) for k in (3, 31, 101, 301, 1001)]
    + [((300_000,), (3001,)), ((2_000,), (151,))],
    2: [((n, n), (k, k)) for n in (64, 256, 1024) for k in (3, 7, 11, 15, 21, 31)]
    + [((512, 512), (5, 5)), ((512, 512), (25, 25)), ((2048, 2048), (17, 17)),
       ((128, 1024), (9, 9)), ((1024, 128), (19, 19))],
}


def features(xshape, kshape):
    """``(macs, row_blocks, L log2 L)`` of a float64 'same' convolution, as the model sees it."""
    from numbaconv.core import signal as sig

    spec = sig.direct_spec("convolve", tuple(xshape), tuple(kshape), "same", "constant", "d")
    macs = math.prod(sig._axis_macs(n, m, p[0], o) for n, m, p, o in
                     zip(spec.xshape, spec.wshape, spec.pads, spec.out_shape, strict=True))
    rows = (math.prod(spec.out_shape[:-1]) * math.prod(spec.wshape[:-1])
            * -(-spec.out_shape[-1] // sig.BLOCK))
    L = math.prod(sig._fast_len(n + m - 1) for n, m in zip(xshape, kshape, strict=True))
    return macs, rows, L * math.log2(L)


def _time(fn, repeat: int) -> float:
    import time

    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def fit(repeat: int = 5, real_only: bool = False) -> dict:
    """Time the cases and return the fitted constants (only :data:`REAL_MODELS` with
    ``real_only``)."""
    from numbaconv.api import signal as api
    from numbaconv.core import signal as sig

    rng = np.random.default_rng(0)
    rows_d, t_d, rows_f, t_f = [], [], [], []
    for cases, method, rows, times in ((DIRECT_CASES, "direct", rows_d, t_d),
                                       (FFT_CASES, "fft", rows_f, t_f)):
        if real_only:
            break
        for xshape, kshape in cases:
            x, k = rng.standard_normal(xshape), rng.standard_normal(kshape)
            spec = sig.direct_spec("convolve", xshape, kshape, "same", "constant", "d")
            if method == "direct":
                fn = lambda x=x, k=k: api.convolve(x, k, "same", "direct")  # noqa: E731
            else:
                fn = lambda x=x, k=k, s=spec: api._fft_window(  # noqa: E731
                    s, x, k, None, np.dtype("d"), None, None)
            t = _time(fn, repeat)
            macs, nrows, nlogn = features(xshape, kshape)
            rows.append([1.0, macs, nrows] if method == "direct" else [1.0, nlogn])
            times.append(t)
            print(f"{method:6s} {xshape!s:16s} {kshape!s:12s} {t * 1e3:9.3f} ms")
    out = {}
    for names, rows, times in ((("DIRECT_S", "DIRECT_PER_MAC", "DIRECT_PER_ROW"), rows_d, t_d),
                               (("FFT_S", "FFT_PER_NLOGN"), rows_f, t_f)):
        if not rows:
            continue
        a = np.array(rows) / np.array(times)[:, None]
        coef, _ = nnls(a, np.ones(len(times)))
        out.update(zip(names, coef, strict=True))
    for nd, cases in REAL_CASES.items():
        out[f"REAL_MODELS[{nd}]"] = _fit_real(cases, repeat)
    return out


def _fit_real(cases, repeat: int) -> tuple[float, ...]:
    """One entry of ``REAL_MODELS``: ``(S, PER_MAC, PER_EDGE, PER_OUT, FFT_S,
    PER_TILE_NLOGN)``."""
    from numbaconv.api import signal as api
    from numbaconv.core import signal as sig

    rng = np.random.default_rng(0)
    rows_d, t_d, rows_f, t_f = [], [], [], []
    for xshape, kshape in cases:
        x, k = rng.standard_normal(xshape), rng.standard_normal(kshape)
        spec = sig.direct_spec("convolve", xshape, kshape, "same", "constant", "d")
        direct = _time(lambda x=x, k=k: api.convolve(x, k, "same", "direct"), repeat)
        fft = _time(lambda x=x, k=k, s=spec: api._fft_window(s, x, k, None, np.dtype("d"),
                                                             None, None), repeat)
        outputs = math.prod(spec.out_shape)
        inner, edge = sig.real_macs(spec.xshape, spec.wshape, spec.out_shape, spec.pads)
        rows_d.append([1.0, inner, edge, outputs] if len(xshape) == 1 else
                      [1.0, inner, outputs])
        rows_f.append([1.0, sig.tile_work(spec.out_shape, kshape)])
        t_d.append(direct)
        t_f.append(fft)
        print(f"real   {xshape!s:16s} {kshape!s:12s} direct {direct * 1e3:9.3f} ms, "
              f"fft {fft * 1e3:9.3f} ms")
    coefs = []
    for rows, times in ((rows_d, t_d), (rows_f, t_f)):
        a = np.array(rows) / np.array(times)[:, None]
        coefs.extend(nnls(a, np.ones(len(times)))[0])
    if len(coefs) == 5:  # 2-D: no multiply-adds one by one
        coefs.insert(2, 0.0)
    return tuple(float(f"{c:.3g}") for c in coefs)


def main() -> None:
    from numba.core import config

    threads = vars(config)["NUMBA_NUM_THREADS"]  # (set at run time, unseen by type checkers)
    print(f"{platform.processor() or platform.machine()}, {threads} numba threads")
    import sys

    for name, value in fit(real_only="--real" in sys.argv[1:]).items():
        print(f"{name} = {value:.3g}" if isinstance(value, float) else f"{name} = {value}")


if __name__ == "__main__":
    main()
