"""The demo's networks on CUDA arrays end to end (tiny widths for the simulator): every
intermediate is a device array, and the gradients and Adam step equal the CPU path's."""

from __future__ import annotations

import numpy as np
import pytest

from numbaconv.cli import nets, train


def _pair(model):
    # narrow, on small images (18x18 still passes the Keras net's three valid convolutions)
    kw = dict(widths=(2, 3, 4), side=18) if model == "keras" else dict(widths=(2, 3),
                                                                        hidden=(6, 5), side=10)
    cpu = nets.MODELS[model](np.random.default_rng(0), **kw)
    gpu = nets.MODELS[model](np.random.default_rng(0), dev=nets.Device("cuda"), **kw)
    return cpu, gpu


@pytest.mark.parametrize("model", ["keras", "fashion"])
def test_one_step_on_the_device_matches_the_host(model):
    cpu, gpu = _pair(model)
    rng = np.random.default_rng(1)
    x = rng.random((2, 1, cpu.side, cpu.side), dtype=np.float32)
    y = np.array([3, 5])
    mask = cpu.dropout_mask(rng, 2) if model == "fashion" else None
    results = []
    for net in (cpu, gpu):
        logits, cache = net.forward(net.dev.put(x), training=True, masks=mask)
        loss, _, g = nets.cross_entropy(net.dev, logits, y)
        grads = net.backward(cache, g)
        if net is gpu:  # no hidden host copies: every array of the step lives on the device
            arrays = [a for a in list(cache) + list(grads.values()) if hasattr(a, "shape")]
            assert len(arrays) > len(grads)
            assert not any(isinstance(a, np.ndarray) for a in arrays)
        opt = train.Adam(net)
        opt.step(grads, 1e-2)
        results.append((loss, {k: net.dev.get(v) for k, v in grads.items()},
                        {k: net.dev.get(v) for k, v in net.params.items()}))
    (l0, g0, p0), (l1, g1, p1) = results
    assert l1 == pytest.approx(l0, rel=1e-5)
    scale = max(np.abs(g).max() for g in g0.values())
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-4, atol=1e-5 * scale)
        if model == "fashion" and k in ("conv1.bias", "conv2.bias"):
            continue  # before a training-mode batch norm: a zero gradient, rounding noise that
            # Adam (which divides by its magnitude) turns into steps of either sign
        np.testing.assert_allclose(p1[k], p0[k], rtol=1e-5, atol=1e-6)
