"""Refit the float32 ``erfcx`` polynomial behind gelu and its derivative.

``python -m numbaconv.scalar.fit_erfcx`` prints the constants ``_ERFCX_MID`` and
``_ERFCX_S`` of :mod:`numbaconv.scalar.activations` and the polynomial's worst relative
error as evaluated in float32, against ``scipy.special.erfcx`` in float64.

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


def main() -> None:
    mid, coef, err = fit()
    print(f"_ERFCX_MID = {mid!r}")
    print(f"_ERFCX_S = {tuple(coef)!r}")
    print(f"# max relative error of S as evaluated in float32: {err:.3g}")


if __name__ == "__main__":
    main()
