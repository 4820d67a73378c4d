"""Refit the ``erfcx`` series behind gelu and its derivative.

``python -m numbaconv.scalar.fit_erfcx`` prints the constants ``_ERFCX_MID`` and
``_ERFCX_S`` of :mod:`numbaconv.scalar.activations` and the polynomial's worst relative
error as evaluated in float32, against ``scipy.special.erfcx`` in float64; then the float64
form's ``_ERFCX64_T_MIN`` and ``_ERFCX64_P`` (:func:`fit64`, needs mpmath).

The tail of the normal distribution is written as
``Phi(-u) = 0.5 t S(t) exp(-u^2 / 2)`` with ``t = 1 / (1 + z / 2)`` and ``z = u / sqrt 2``:
``t S(t)`` is ``erfcx(z) = exp(z^2) erfc(z)``, a smooth function of ``t`` on the range
float32 needs (``u <= 16``, beyond which ``Phi(-u)`` underflows). ``S`` is fitted for
relative error on Chebyshev points by iteratively reweighted least squares (Lawson's
algorithm, which converges towards the minimax fit). The coefficients are rounded to
float32 one at a time from the constant term up, refitting the rest after each rounding,
so the rounding errors are compensated instead of accumulating.
"""

from __future__ import annotations

import numpy as np
from scipy import special

DEGREE = 8
U_MAX = 16.0


def _nodes(n=40001):
    t_min = 1.0 / (1.0 + 0.5 * U_MAX / np.sqrt(2.0))
    t = t_min + (1.0 - t_min) * (1.0 - np.cos(np.linspace(0.0, np.pi, n))) / 2.0
    return t, special.erfcx(2.0 / t - 2.0) / t, t_min


def _lawson(a, rhs, scale, iterations=100):
    w = 1.0 / np.abs(scale)
    lawson = np.ones_like(rhs)
    c = None
    for _ in range(iterations):
        c, *_ = np.linalg.lstsq(a * (w * lawson)[:, None], rhs * w * lawson, rcond=None)
        err = (a @ c - rhs) * w
        lawson = lawson * np.sqrt(np.abs(err)) + 1e-300
        lawson /= lawson.max()
    assert c is not None, "iterations must be >= 1"
    return c


def fit(degree: int = DEGREE):
    """``(mid, coefficients from the highest power down, max float32 relative error)``."""
    t, f, t_min = _nodes()
    mid = float(np.float32((1.0 + t_min) / 2.0))
    powers = np.vander(t - mid, degree + 1, increasing=True)
    fixed: list[float] = []
    for k in range(degree + 1):
        rest = _lawson(powers[:, k:], f - powers[:, :k] @ np.array(fixed), f)
        fixed.append(float(np.float32(rest[0])))
    coef = fixed[::-1]
    v = t.astype(np.float32) - np.float32(mid)
    p = np.zeros_like(v)
    for c in np.array(coef, dtype=np.float32):
        p = p * v + c
    return mid, coef, float(np.max(np.abs(p.astype(np.float64) - f) / f))


#: float64: Chebyshev degree and the range of u (Phi(-u) underflows beyond 38.6)
DEGREE_64 = 26
U_MAX_64 = 38.6


def fit64(degree: int = DEGREE_64) -> tuple[float, tuple[float, ...], float]:
    """``(t_min, coefficients of S from the highest power down, max relative error in
    float64)`` of ``S(t) = erfcx(z) / t`` on ``[t_min, 1]``, a polynomial in ``x = (2 t -
    t_min - 1) / (1 - t_min)``: the Chebyshev interpolant at the points of the first kind,
    computed in 40-digit arithmetic with mpmath (float64 least squares cannot reach
    float64's accuracy), turned into powers of ``x`` in the same arithmetic and rounded
    once. On ``[-1, 1]`` the powers are well conditioned (their absolute values sum to
    1.02, for a series of about 0.6), so Horner's rule in float64 keeps the Chebyshev
    series' accuracy with half its operations (Clenshaw's recurrence: a multiply-add and a
    subtraction a degree; gelu in float64 1.6x faster). The error is measured with Horner's
    rule in float64, as the kernels evaluate it."""
    import mpmath as mp  # pyright: ignore[reportMissingImports] - refitting only, not a dependency

    mp.mp.dps = 40
    t_min = float(1.0 / (1.0 + 0.5 * U_MAX_64 / np.sqrt(2.0)))
    a, b = mp.mpf(t_min), mp.mpf(1)

    def s(t):
        z = 2 / t - 2
        return mp.erfc(z) * mp.exp(z * z) / t

    n = degree + 1
    xs = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    fs = [s((b - a) / 2 * x + (b + a) / 2) for x in xs]
    coef = [2 * mp.fsum(fs[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n) for k in range(n))
            / n for j in range(n)]
    coef[0] /= 2
    powers = [mp.mpf(0)] * n  # sum_j coef[j] T_j(x) in powers of x (T_j by its recurrence)
    t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
    for j in range(n):
        tj = t_prev if j == 0 else t_cur
        for i, v in enumerate(tj):
            powers[i] += coef[j] * v
        if j >= 1:
            t_next = [mp.mpf(0)] + [2 * v for v in t_cur]
            for i, v in enumerate(t_prev):
                t_next[i] -= v
            t_prev, t_cur = t_cur, t_next
    p = tuple(float(v) for v in reversed(powers))
    t = np.linspace(t_min, 1.0, 4001)
    ref = np.array([float(s(mp.mpf(float(v)))) for v in t])
    return t_min, p, float(np.max(np.abs(horner(p, t, t_min) - ref) / ref))


def horner(p, t, t_min):
    """The polynomial ``p`` (highest power first) of ``x(t)`` at ``t`` in ``[t_min, 1]``
    (float64, as the kernels)."""
    x = t * (2.0 / (1.0 - t_min)) - (1.0 + t_min) / (1.0 - t_min)
    s = np.full_like(t, p[0])
    for c in p[1:]:
        s = s * x + c
    return s


def main() -> None:
    mid, coef, err = fit()
    print(f"_ERFCX_MID = {mid!r}")
    print(f"_ERFCX_S = {tuple(coef)!r}")
    print(f"# max relative error of S as evaluated in float32: {err:.3g}")
    t_min, p64, err64 = fit64()
    print(f"_ERFCX64_T_MIN = {t_min!r}")
    print(f"_ERFCX64_P = {p64!r}")
    print(f"# max relative error of S as evaluated in float64: {err64:.3g}")


if __name__ == "__main__":
    main()
