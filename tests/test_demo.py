"""The main job: the digits CNN trains, and the gradients it uses are right.

The gradient check is the course notes' numerical-vs-analytic exercise on a tiny
float64 network: central finite differences of the loss against the gradients
backpropagated through numbaconv's conv, pool and activation kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from numbaconv.cli import train  # noqa: E402


def test_loss_falls_in_a_few_batches():
    rng = np.random.default_rng(0)
    xtr, _, ytr, _ = train.load_digits(0)
    x, y = xtr[:64], ytr[:64]
    p = train.Params.init(rng)
    be = train.Backend("cpu")
    opt = train.Adam(p, lr=3e-3)
    first, _, _ = train.loss_and_grads(p, x, y, be)
    for _ in range(15):
        loss, _, g = train.loss_and_grads(p, x, y, be)
        opt.step(p, g)
    last, _, _ = train.loss_and_grads(p, x, y, be)
    assert last < 0.5 * first


def test_training_is_deterministic_for_a_seed():
    a = train.train(seed=3, epochs=1, max_batches=4, progress=False)
    b = train.train(seed=3, epochs=1, max_batches=4, progress=False)
    for k in a[0].names():
        np.testing.assert_array_equal(getattr(a[0], k), getattr(b[0], k))
    assert a[1] == b[1]


def test_backprop_matches_central_finite_differences():
    rng = np.random.default_rng(1)
    p = train.Params.init(rng, c1=2, c2=3, classes=4, side=8, dtype=np.float64)
    for k in ("b1", "b2"):  # non-zero biases so no unit sits exactly at a ReLU kink
        setattr(p, k, rng.uniform(0.05, 0.2, getattr(p, k).shape))
    x = rng.standard_normal((3, 1, 8, 8))
    y = np.array([0, 3, 1])
    be = train.Backend("cpu")
    _, _, g = train.loss_and_grads(p, x, y, be)
    h = 1e-6
    for name in p.names():
        arr = getattr(p, name)
        for idx in list(np.ndindex(arr.shape))[:: max(1, arr.size // 6)]:
            orig = arr[idx]
            arr[idx] = orig + h
            up = train.loss_and_grads(p, x, y, be)[0]
            arr[idx] = orig - h
            down = train.loss_and_grads(p, x, y, be)[0]
            arr[idx] = orig
            numeric = (up - down) / (2 * h)
            assert g[name][idx] == pytest.approx(numeric, rel=1e-4, abs=1e-7), (name, idx)
