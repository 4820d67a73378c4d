"""Benchmark cases for signal convolution: numbaconv against scipy.signal, NumPy and OpenCV.

Every case computes 'same'-mode float64 output. Peers: ``scipy`` is
``scipy.signal.convolve(method='auto')`` for the N-D cases,
``scipy.signal.convolve2d`` for the ``convolve2d`` cases and the function of
the same name for ``fftconvolve``/``oaconvolve``; ``numpy`` is
``np.convolve`` (1-D only); ``opencv`` is ``cv2.filter2D`` with the matching
border (``BORDER_CONSTANT`` for zero fill, ``BORDER_REFLECT`` for 'symm'; 2-D
and the image batch; skipped when OpenCV is not installed). The tiny cases
measure the cost of one call.
"""

from __future__ import annotations

import numpy as np

from . import Case, optional


def _flops(out_size: int, k_size: int) -> float:
    return 2.0 * out_size * k_size


def _conv1d_case(n: int, k: int) -> Case:
    def make():
        import scipy.signal as ss

        import numbaconv as nc

        rng = np.random.default_rng(0)
        x, w = rng.standard_normal(n), rng.standard_normal(k)
        peers = {"scipy": lambda: ss.convolve(x, w, "same"),
                 "numpy": lambda: np.convolve(x, w, "same")}
        return (lambda: nc.convolve(x, w, "same")), peers

    return Case("signal", f"convolve 1-D n={n:.0e} k={k} same", make, flops=_flops(n, k))


def _filter2d(cv2, img, w, border):
    # filter2D correlates: flip the kernel for a convolution; anchor so 'same' matches scipy's
    kf = np.ascontiguousarray(w[::-1, ::-1])
    anchor = (kf.shape[1] - 1 - (w.shape[1] - 1) // 2, kf.shape[0] - 1 - (w.shape[0] - 1) // 2)
    return cv2.filter2D(img, -1, kf, anchor=anchor, borderType=border)


def _conv2d_case(n: int, k: int, boundary: str | None) -> Case:
    def make():
        import scipy.signal as ss

        import numbaconv as nc

        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((n, n)), rng.standard_normal((k, k))
        cv2 = optional("cv2")
        if boundary is None:
            ours = lambda: nc.convolve(x, w, "same")  # noqa: E731
            peers = {"scipy": lambda: ss.convolve(x, w, "same")}
        else:
            b = boundary  # (a str here, for the lambdas too)
            ours = lambda: nc.convolve2d(x, w, "same", boundary=b)  # noqa: E731
            peers = {"scipy": lambda: ss.convolve2d(x, w, "same", boundary=b)}
        if cv2 is not None:
            # 'symm' repeats the edge: OpenCV's BORDER_REFLECT; zero fill: BORDER_CONSTANT
            border = cv2.BORDER_REFLECT if boundary == "symm" else cv2.BORDER_CONSTANT
            peers["opencv"] = lambda: _filter2d(cv2, x, w, border)
        return ours, peers

    what = "convolve" if boundary is None else f"convolve2d {boundary}"
    return Case("signal", f"{what} 2-D {n}x{n} k={k}x{k} same", make, flops=_flops(n * n, k * k))


def _freq_case(name: str, s1, s2) -> Case:
    def make():
        import scipy.signal as ss

        import numbaconv as nc

        rng = np.random.default_rng(0)
        x, w = rng.standard_normal(s1), rng.standard_normal(s2)
        return (lambda: getattr(nc, name)(x, w, "same")), {
            "scipy": lambda: getattr(ss, name)(x, w, "same")}

    shape = "x".join(map(str, s1))
    kshape = "x".join(map(str, s2))
    return Case("signal", f"{name} {shape} k={kshape} same", make,
                flops=_flops(int(np.prod(s1)), int(np.prod(s2))))


def _tiny_case(what: str) -> Case:
    def make():
        import scipy.signal as ss

        import numbaconv as nc

        rng = np.random.default_rng(0)
        if what == "convolve":
            x, w = rng.standard_normal(16), rng.standard_normal(3)
            return (lambda: nc.convolve(x, w)), {"scipy": lambda: ss.convolve(x, w),
                                                 "numpy": lambda: np.convolve(x, w)}
        x, w = rng.standard_normal((8, 8)), rng.standard_normal((3, 3))
        return (lambda: nc.convolve2d(x, w, "same", "symm")), {
            "scipy": lambda: ss.convolve2d(x, w, "same", "symm")}

    name = "convolve 16*3 (one call)" if what == "convolve" else "convolve2d 8x8*3x3 symm (one call)"
    return Case("signal", name, make)


def _batch_case(batch: int, n: int, k: int) -> Case:
    def make():
        import scipy.signal as ss

        import numbaconv as nc

        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((batch, n, n)), rng.standard_normal((1, k, k))
        peers = {"scipy": lambda: ss.convolve(x, w, "same")}
        cv2 = optional("cv2")
        if cv2 is not None:
            peers["opencv"] = lambda: [_filter2d(cv2, img, w[0], cv2.BORDER_CONSTANT) for img in x]
        return (lambda: nc.convolve(x, w, "same")), peers

    return Case("signal", f"convolve batch {batch}x{n}x{n} k={k}x{k} same", make,
                flops=_flops(batch * n * n, k * k))


CASES = [
    _tiny_case("convolve"),
    _tiny_case("convolve2d"),
    _conv1d_case(1_000_000, 3),
    _conv1d_case(1_000_000, 31),
    _conv1d_case(1_000_000, 1001),
    _conv2d_case(1024, 3, None),
    _conv2d_case(1024, 7, None),
    _conv2d_case(1024, 31, None),
    _conv2d_case(1024, 3, "fill"),
    _conv2d_case(1024, 7, "fill"),
    _conv2d_case(1024, 31, "fill"),
    _conv2d_case(1024, 3, "symm"),
    _conv2d_case(1024, 7, "symm"),
    _conv2d_case(1024, 31, "symm"),
    _batch_case(256, 64, 5),
    _freq_case("fftconvolve", (1024, 1024), (31, 31)),
    _freq_case("oaconvolve", (1_000_000,), (1001,)),
    _freq_case("fftconvolve", (1_000_000,), (1001,)),
    _freq_case("fftconvolve", (100_000,), (10_000,)),
]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            info = fh.read()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("model name"))
        flags = next(line for line in info.splitlines() if line.startswith("flags")).split()
        isa = [f for f in ("avx512f", "avx2", "fma") if f in flags]
        return f"{model}, {', '.join(isa)}"
    except (OSError, StopIteration):
        import platform

        return platform.processor() or "unknown"


def main(repeat: int = 3) -> None:
    """Print one side-by-side table: ``python -m numbaconv.bench.signal``."""
    import platform

    from . import compare

    ratios = []
    print(f"CPU: {_cpu_model()} ({platform.machine()})")
    print(f"{'case':46s} {'numbaconv':>10s} {'scipy':>10s} {'x scipy':>8s} {'GFLOP/s':>8s}  others")
    for case in CASES:
        r = compare(case, repeat=repeat)
        ours, sc = r["ours"], r["peers"].get("scipy", np.nan)
        ratios.append(sc / ours)
        others = "  ".join(f"{k} {v * 1e3:.3f} ms (x{v / ours:.2f})" for k, v in r["peers"].items()
                           if k != "scipy")
        rate = f"{case.flops / ours / 1e9:8.1f}" if case.flops else f"{'':8s}"
        print(f"{case.name:46s} {ours * 1e3:8.3f}ms {sc * 1e3:8.3f}ms {sc / ours:8.2f} "
              f"{rate}  {others}")
    print(f"geometric-mean speedup over scipy.signal: {np.exp(np.mean(np.log(ratios))):.2f}x")


if __name__ == "__main__":
    main()
