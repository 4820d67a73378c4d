"""Benchmark cases for activations: every function, derivative and vector-Jacobian product
(``<name>_backward``) on 1e7 float32 values, and softmax, log_softmax and their VJPs on short
and long rows, against NumPy/SciPy expressions and PyTorch CPU (2 threads); plus a copy
reference.

PyTorch's side of a VJP is the aten op its autograd runs in a backward pass
(``threshold_backward``, ``gelu_backward``, ...), given what autograd saved (the input, or
the output for sigmoid and tanh); NumPy's is ``g * f'(x)`` written out.

Elementwise activations are memory-bound: ``nbytes`` counts one read and one write per
element (two writes for the fused ``*_and_derivative`` cases, two reads for the VJPs), so
the report's GB/s compares directly with the ``copy`` case.
"""

from __future__ import annotations

import numpy as np

from . import Case, device_put, optional, timed_on, torch_on, torch_peer

N = 10_000_000
#: softmax rows: short (10 to 1000 long) and long
SOFTMAX_SHAPES = ((64, 10), (64, 1000), (1024, 100), (32, 32000))
_SELU_A = 1.6732632423543772
_SELU_S = 1.0507009873554805


def _x(shape: int | tuple[int, ...] = N):
    return (np.random.default_rng(0).standard_normal(shape) * 4).astype(np.float32)


def _erf():
    sp = optional("scipy.special")
    return None if sp is None else sp.erf


def _numpy_forward(name, x):
    """NumPy expressions (float32 in, float32 out), or None."""
    one = np.float32(1)
    e = {
        "identity": lambda: x.copy(),
        "step": lambda: (x > 0).astype(np.float32),
        "sigmoid": lambda: one / (one + np.exp(-x)),
        "tanh": lambda: np.tanh(x),
        "relu": lambda: np.maximum(x, 0),
        "relu6": lambda: np.clip(x, 0, 6),
        "leaky_relu": lambda: np.where(x > 0, x, np.float32(0.01) * x),
        "elu": lambda: np.where(x > 0, x, np.expm1(x)),
        "selu": lambda: np.float32(_SELU_S) * np.where(x > 0, x, np.float32(_SELU_A) * np.expm1(x)),
        "celu": lambda: np.where(x > 0, x, np.expm1(x)),
        "silu": lambda: x / (one + np.exp(-x)),
        "mish": lambda: x * np.tanh(np.logaddexp(np.float32(0), x)),
        "softplus": lambda: np.logaddexp(np.float32(0), x),
        "softsign": lambda: x / (one + np.abs(x)),
        "hardtanh": lambda: np.clip(x, -1, 1),
        "hardsigmoid": lambda: np.clip(x / np.float32(6) + np.float32(0.5), 0, 1),
        "hardswish": lambda: x * np.clip(x + np.float32(3), 0, 6) / np.float32(6),
        "log_sigmoid": lambda: -np.logaddexp(np.float32(0), -x),
    }
    erf = _erf()
    if erf is not None:
        e["gelu"] = lambda: np.float32(0.5) * x * (one + erf(x * np.float32(0.7071067811865476)))
    return e.get(name)


def _numpy_derivative(name, x):
    one = np.float32(1)
    e = {
        "sigmoid": lambda: (lambda s: s * (one - s))(one / (one + np.exp(-x))),
        "tanh": lambda: one - np.tanh(x) ** 2,
        "relu": lambda: (x > 0).astype(np.float32),
        "leaky_relu": lambda: np.where(x > 0, one, np.float32(0.01)),
        "elu": lambda: np.where(x > 0, one, np.exp(x)),
        "silu": lambda: (lambda s: s * (one + x * (one - s)))(one / (one + np.exp(-x))),
        "softplus": lambda: one / (one + np.exp(-x)),
        "softsign": lambda: one / (one + np.abs(x)) ** 2,
        "hardtanh": lambda: ((x > -1) & (x < 1)).astype(np.float32),
    }
    return e.get(name)


def _torch_forward(torch, name, t):
    F = torch.nn.functional
    fns = {"identity": lambda: t.clone(), "step": lambda: (t > 0).to(torch.float32),
           "sigmoid": lambda: torch.sigmoid(t), "tanh": lambda: torch.tanh(t),
           "relu": lambda: F.relu(t), "relu6": lambda: F.relu6(t),
           "leaky_relu": lambda: F.leaky_relu(t), "elu": lambda: F.elu(t),
           "selu": lambda: F.selu(t), "celu": lambda: F.celu(t), "gelu": lambda: F.gelu(t),
           "silu": lambda: F.silu(t), "mish": lambda: F.mish(t), "softplus": lambda: F.softplus(t),
           "softsign": lambda: F.softsign(t), "hardtanh": lambda: F.hardtanh(t),
           "hardsigmoid": lambda: F.hardsigmoid(t), "hardswish": lambda: F.hardswish(t),
           "log_sigmoid": lambda: F.logsigmoid(t)}
    return fns.get(name)


def _torch_derivative(torch, name, t):
    """What autograd runs for f' (the aten backward op, with a ones gradient)."""
    a = torch.ops.aten
    g = torch.ones_like(t)
    y_sig, y_tanh = torch.sigmoid(t), torch.tanh(t)
    buffer = a.log_sigmoid_forward(t)[1]
    fns = {
        "sigmoid": lambda: a.sigmoid_backward(g, y_sig),
        "tanh": lambda: a.tanh_backward(g, y_tanh),
        "relu": lambda: a.threshold_backward(g, t, 0),
        "relu6": lambda: a.hardtanh_backward(g, t, 0.0, 6.0),
        "hardtanh": lambda: a.hardtanh_backward(g, t, -1.0, 1.0),
        "leaky_relu": lambda: a.leaky_relu_backward(g, t, 0.01, False),
        "elu": lambda: a.elu_backward(g, 1.0, 1, 1, False, t),
        "selu": lambda: a.elu_backward(g, _SELU_A, _SELU_S, 1, False, t),
        "celu": lambda: a.elu_backward(g, 1.0, 1, 1.0, False, t),
        "gelu": lambda: a.gelu_backward(g, t),
        "silu": lambda: a.silu_backward(g, t),
        "mish": lambda: a.mish_backward(g, t),
        "softplus": lambda: a.softplus_backward(g, t, 1.0, 20.0),
        "hardsigmoid": lambda: a.hardsigmoid_backward(g, t),
        "hardswish": lambda: a.hardswish_backward(g, t),
        "log_sigmoid": lambda: a.log_sigmoid_backward(g, t, buffer),
    }
    return fns.get(name)


def _torch_backward(torch, name, g, t):
    """The aten op PyTorch's autograd runs for the VJP of ``name``, or None."""
    a = torch.ops.aten
    y_sig, y_tanh = torch.sigmoid(t), torch.tanh(t)
    buffer = a.log_sigmoid_forward(t)[1]
    fns = {
        "sigmoid": lambda: a.sigmoid_backward(g, y_sig),
        "tanh": lambda: a.tanh_backward(g, y_tanh),
        "relu": lambda: a.threshold_backward(g, t, 0),
        "relu6": lambda: a.hardtanh_backward(g, t, 0.0, 6.0),
        "hardtanh": lambda: a.hardtanh_backward(g, t, -1.0, 1.0),
        "leaky_relu": lambda: a.leaky_relu_backward(g, t, 0.01, False),
        "elu": lambda: a.elu_backward(g, 1.0, 1, 1, False, t),
        "selu": lambda: a.elu_backward(g, _SELU_A, _SELU_S, 1, False, t),
        "celu": lambda: a.elu_backward(g, 1.0, 1, 1.0, False, t),
        "gelu": lambda: a.gelu_backward(g, t),
        "silu": lambda: a.silu_backward(g, t),
        "mish": lambda: a.mish_backward(g, t),
        "softplus": lambda: a.softplus_backward(g, t, 1.0, 20.0),
        "hardsigmoid": lambda: a.hardsigmoid_backward(g, t),
        "hardswish": lambda: a.hardswish_backward(g, t),
        "log_sigmoid": lambda: a.log_sigmoid_backward(g, t, buffer),
    }
    return fns.get(name)


def _backward_case(name: str) -> Case:
    def make(device="cpu"):
        import numbaconv as nc

        x = _x()
        g = np.random.default_rng(1).standard_normal(N).astype(np.float32)
        ours = getattr(nc, name + "_backward")
        peers = {}
        npd = _numpy_derivative(name, x) if device == "cpu" else None
        if npd is not None:
            peers["numpy"] = lambda: g * npd()
        torch = torch_on(device)
        if torch is not None:
            tf = _torch_backward(torch, name, torch.from_numpy(g).to(device),
                                 torch.from_numpy(x).to(device))
            if tf is not None:
                peers["torch"] = tf
        xd, gd = device_put(device, x), device_put(device, g)
        return timed_on(device, lambda: ours(gd, xd), peers)

    return Case("activations", f"{name}_backward 1e7 f32", make, nbytes=3 * 4 * N,
                tags=("backward",), make_cuda=lambda: make("cuda"), peers=("numpy", "torch"))


def _elementwise_case(name: str, kind: str) -> Case:
    def make(device="cpu"):
        import numbaconv as nc

        x = _x()
        suffix = {"forward": "", "derivative": "_derivative", "both": "_and_derivative"}[kind]
        ours = getattr(nc, name + suffix)
        peers = {}
        if kind != "both":
            npf = (_numpy_forward if kind == "forward" else _numpy_derivative)(name, x) \
                if device == "cpu" else None
            if npf is not None:
                peers["numpy"] = npf
            torch = torch_on(device)
            if torch is not None:
                t = torch.from_numpy(x).to(device)
                tf = (_torch_forward if kind == "forward" else _torch_derivative)(torch, name, t)
                if tf is not None:
                    peers["torch"] = tf
        xd = device_put(device, x)
        return timed_on(device, lambda: ours(xd), peers)

    label = {"forward": name, "derivative": f"{name}'", "both": f"{name}+{name}'"}[kind]
    return Case("activations", f"{label} 1e7 f32", make,
                nbytes=(3 if kind == "both" else 2) * 4 * N, tags=(kind,),
                make_cuda=lambda: make("cuda"), peers=("numpy", "torch"))


def _prelu_case(derivative: bool) -> Case:
    shape = (100, 10, N // 1000)

    def make():
        import numbaconv as nc

        x = _x(shape)
        w = np.linspace(0.01, 0.3, shape[1]).astype(np.float32)
        wb = w[None, :, None]
        fn = nc.prelu_derivative if derivative else nc.prelu
        if derivative:
            peers = {"numpy": lambda: np.where(x > 0, np.float32(1), wb)}
        else:
            peers = {"numpy": lambda: np.where(x > 0, x, wb * x)}
        torch = torch_peer()
        if torch is not None:
            t, tw = torch.from_numpy(x), torch.from_numpy(w)
            if derivative:
                g = torch.ones_like(t)
                tw3 = tw.reshape(1, -1, 1)
                peers["torch"] = lambda: torch.ops.aten._prelu_kernel_backward(g, t, tw3)[0]
            else:
                peers["torch"] = lambda: torch.nn.functional.prelu(t, tw)
        return (lambda: fn(x, w)), peers

    label = "prelu'" if derivative else "prelu"
    return Case("activations", f"{label} {shape} f32", make,
                nbytes=2 * 4 * N, tags=("derivative" if derivative else "forward",))


def _prelu_backward_case() -> Case:
    shape = (100, 10, N // 1000)

    def make():
        import numbaconv as nc

        x = _x(shape)
        g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        w = np.linspace(0.01, 0.3, shape[1]).astype(np.float32)
        wb = w[None, :, None]
        peers = {"numpy": lambda: g * np.where(x > 0, np.float32(1), wb)}
        torch = torch_peer()
        if torch is not None:
            t, tg = torch.from_numpy(x), torch.from_numpy(g)
            tw3 = torch.from_numpy(w).reshape(1, -1, 1)
            peers["torch"] = lambda: torch.ops.aten._prelu_kernel_backward(tg, t, tw3)[0]
        return (lambda: nc.prelu_backward(g, x, w)), peers

    return Case("activations", f"prelu_backward {shape} f32", make, nbytes=3 * 4 * N,
                tags=("backward",))


#: float64 rows: 1e6 values
N64 = 1_000_000


def _float64_case(name: str, unit: bool = False) -> Case:
    """``name`` on 1e6 float64 values, PyTorch the peer: the exponentials' float64 forms.
    The values are N(0, 16) as everywhere here, or (``unit``) N(0, 1), a network's usual
    pre-activations (PyTorch's float64 erf takes half the time on those)."""
    def make(device="cpu"):
        import numbaconv as nc

        x = _x(N64).astype(np.float64) / (4.0 if unit else 1.0)
        peers = {}
        torch = torch_on(device)
        if torch is not None:
            tf = _torch_forward(torch, name, torch.from_numpy(x).to(device))
            if tf is not None:
                peers["torch"] = tf
        xd = device_put(device, x)
        ours = getattr(nc, name)
        return timed_on(device, lambda: ours(xd), peers)

    return Case("activations", f"{name} 1e6 f64{' N(0,1)' if unit else ''}", make,
                nbytes=2 * 8 * N64,
                tags=("forward", "float64"), make_cuda=lambda: make("cuda"), peers=("torch",))


def _in_place_case() -> Case:
    """``relu(x, out=x)`` on 1e7 float32 values against PyTorch's ``relu_`` and NumPy's
    ``maximum(x, 0, out=x)``: an in-place call costs no more than a fresh one."""
    def make():
        import numbaconv as nc

        x = _x()
        peers = {"numpy": lambda: np.maximum(x, np.float32(0), out=x)}
        torch = torch_peer()
        if torch is not None:
            t = torch.from_numpy(x.copy())
            peers["torch"] = lambda: torch.relu_(t)
        return (lambda: nc.relu(x, out=x)), peers

    return Case("activations", "relu in place 1e7 f32", make, nbytes=2 * 4 * N,
                tags=("forward", "in place"))


def _copy_case() -> Case:
    def make():
        x = _x()
        torch = torch_peer()
        peers = {"numpy": lambda: x.copy()}
        if torch is not None:
            t = torch.from_numpy(x)
            peers["torch"] = lambda: t.clone()
        return (lambda: x.copy()), peers

    return Case("activations", "copy 1e7 f32 (reference)", make, nbytes=2 * 4 * N,
                tags=("reference",))


def _softmax_case(log: bool, backward: bool, shape, dtype: type = np.float32) -> Case:
    name = ("log_softmax" if log else "softmax") + ("_backward" if backward else "")
    dt = np.dtype(dtype)
    label = "f32" if dt == np.float32 else "f64"

    def make(device="cpu"):
        import numbaconv as nc

        x = _x(shape).astype(dt)
        sp = optional("scipy.special") if device == "cpu" else None
        torch = torch_on(device)
        peers = {}
        if not backward:
            fn = nc.log_softmax if log else nc.softmax
            if sp is not None:
                spf = sp.log_softmax if log else sp.softmax
                peers["scipy"] = lambda: spf(x, axis=-1)
            if torch is not None:
                t = torch.from_numpy(x).to(device)
                tf = torch.log_softmax if log else torch.softmax
                peers["torch"] = lambda: tf(t, -1)
            xd = device_put(device, x)
            return timed_on(device, lambda: fn(xd), peers)
        y = np.asarray(nc.log_softmax(x) if log else nc.softmax(x))  # (host: the same array)
        g = np.random.default_rng(1).standard_normal(x.shape).astype(dt)
        fn = nc.log_softmax_backward if log else nc.softmax_backward
        if log:
            peers["numpy"] = lambda: g - np.exp(y) * g.sum(axis=-1, keepdims=True)
        else:
            peers["numpy"] = lambda: y * (g - (g * y).sum(axis=-1, keepdims=True))
        if torch is not None:
            tg, ty = torch.from_numpy(g), torch.from_numpy(y)
            op = (torch.ops.aten._log_softmax_backward_data if log
                  else torch.ops.aten._softmax_backward_data)
            peers["torch"] = lambda: op(tg, ty, -1, torch.from_numpy(g).dtype)
        return (lambda: fn(g, y)), peers

    return Case("activations", f"{name} {shape} {label}", make,
                nbytes=(3 if backward else 2) * dt.itemsize * float(np.prod(shape)),
                tags=("softmax",), make_cuda=None if backward else (lambda: make("cuda")),
                peers=("scipy", "torch") if not backward else ("numpy", "torch"))


_NAMES = ["identity", "step", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "selu",
          "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh", "hardsigmoid",
          "hardswish", "log_sigmoid"]

CASES = [_copy_case()]
CASES += [_elementwise_case(n, "forward") for n in _NAMES]
CASES += [_elementwise_case(n, "derivative") for n in _NAMES]
CASES += [_backward_case(n) for n in _NAMES]
CASES += [_in_place_case()]
CASES += [_float64_case(n) for n in ("sigmoid", "tanh", "elu", "silu", "softplus", "mish",
                                      "log_sigmoid", "gelu")]
CASES += [_float64_case("gelu", unit=True)]
CASES += [_prelu_case(False), _prelu_case(True), _prelu_backward_case()]
CASES += [_elementwise_case(n, "both") for n in ("sigmoid", "gelu", "mish")]
CASES += [_softmax_case(log, bw, shape) for shape in SOFTMAX_SHAPES for log in (False, True)
          for bw in (False, True)]
# float64: the family's exponentials in the CPU kernels' own float64 exp
CASES += [_softmax_case(log, False, shape, np.float64) for shape in ((64, 1000), (32, 32000))
          for log in (False, True)]
