"""Benchmark cases for padding: numbaconv.pad against numpy.pad."""

from __future__ import annotations

import numpy as np

from . import Case


def _pad_case(shape, width, mode):
    def make():
        import numbaconv as nc

        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        return (lambda: nc.pad(x, width, mode)), {"numpy": lambda: np.pad(x, width, mode)}

    return Case("padding", f"pad{shape} {mode} {width}", make,
                nbytes=2 * 4 * float(np.prod([n + 2 * width for n in shape])))


def _tiny_pad_case():
    def make():
        import numbaconv as nc

        x = np.random.default_rng(0).standard_normal(16)
        return (lambda: nc.pad(x, 2, "reflect")), {"numpy": lambda: np.pad(x, 2, "reflect")}

    return Case("padding", "pad 16 reflect 2 (one call)", make)


CASES = [
    _tiny_pad_case(),
    _pad_case((32, 64, 112, 112), 1, "constant"),
    _pad_case((32, 64, 112, 112), 3, "reflect"),
    _pad_case((2048, 2048), 16, "symmetric"),
]
