"""CPU activation kernels: elementwise functions, PReLU and softmax.

Elementwise
-----------
Every activation has four small module-level ``@njit(cache=True)`` kernels over
flat arrays: ``_<name>_f`` (f), ``_<name>_d`` (f'), ``_<name>_fd`` (both in one
pass) and ``_<name>_b`` (the VJP ``g * f'``), each a plain loop around the
formulas of :mod:`numbaconv.scalar.activations`. They are written out one by
one, not made by a factory: a kernel closing over another dispatcher pickles
with a per-process id, so its on-disk cache entry would never be found again.
A call compiles (once, then loads from the cache) only the kernel it runs, for
the one dtype it runs in; parameters arrive as Python floats and are cast to
the array's dtype inside the kernel (float32 stays float32). ``error_model=
'numpy'``: Python's zero-division checks would stop the vectoriser.

Small arrays run on the calling thread. From :data:`SERIAL_BELOW` elements on
(:data:`SERIAL_BELOW_EXP` for the activations built on exponentials; float32
elements: half as many float64 ones), the array is cut into fixed runs on Numba's
threads (see Threads below). Elementwise results do not depend on the cut, so the
serial and parallel paths agree bit for bit. An output that
*is* an input (``out=x``, ``out=grad_output``) runs a loop over the output
alone: LLVM vectorises a loop over two arrays only after checking at run time
that they do not overlap, and falls back to scalar code (7-10x slower) when
they do. The one-pass ``_fd`` kernels and PReLU's write such an output through
a scratch piece at a time instead.

PReLU
-----
``(outer, C, inner)`` views: the slope of row ``(o, c)`` is ``w[c]``; pieces
are rows, or parts of a long row, so one shared slope splits like any array.
The weight gradient sums each row serially in float64 into ``(outer, C)``
partials (:func:`numbaconv.loops.activations.prelu_weight_row`, shared with
the CUDA twin), added up over ``outer`` in order.

Softmax
-------
``(outer, n, inner)`` views reduced along ``n``. With ``inner > 1`` each
kernel step takes a block of up to :data:`SLICE_BLOCK` neighbouring slices
through the shared loops of :mod:`numbaconv.loops.activations` (the CUDA twin
calls them one slice per thread): each slice's float64 sum runs in order.
With ``inner == 1`` (the last axis, by far the most common) a CPU-only rows
path runs every pass along a row in vectors: the exponentials as flat loops
LLVM vectorises (float32 exponentials of ``x - max <= 0`` that give 0 below
float32's normal range, ``exp < 2**-126``: probabilities under 1.2e-38), the
rest as row intrinsics written out in vectors of :data:`LANES` (the maximum
with ``maxnum``, exact in any order; the float64 sums and dot products in two
vector accumulators, in element order up to :data:`SEQUENTIAL_UP_TO`; the
subtractions and scalings). A row's summation order is fixed by its length
alone: results never depend on the thread count, nor on the CPU's vector
width.

Threads. Every elementwise kernel's call runs on one thread below a threshold
(:data:`SERIAL_BELOW` elements for the cheap, memory-bound ones,
:data:`SERIAL_BELOW_EXP` for those built on exponentials) and above it in fixed
runs of :data:`RUN` elements on Numba's team (a ``prange`` driver, :func:`_runs`;
Numba's pool hands a run over in ~2 us), the pooling kernels' design. PReLU and
the one-pass f-and-f' kernels split arrays into pieces of :data:`PIECE` on
Python threads (:mod:`numbaconv.cpu.threads`), handed out one at a time with
the calling thread taking them too. The team's cost: it waits for its slowest
member, so on an oversubscribed machine a call can wait for a worker that lost
its core (README, Threads: ``OMP_WAIT_POLICY=PASSIVE`` or
``numba.set_num_threads(1)``).
"""

# Numba: an @intrinsic is called without its first parameter (the typing context Numba
# passes); numba's stub types the call with it, so every intrinsic call is a false positive:
# pyright: reportCallIssue=false

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic, register_jitable

from ..loops.activations import (
    log_softmax_backward_slices,
    log_softmax_slices,
    prelu_weight_row,
    softmax_backward_slices,
    softmax_slices,
)
from ..scalar import activations as S
from ..scalar.activations import K, K_like, fexp_nonpos, flog_ge1
from .jit import njit
from .jit import same_memory as _same
from .native import call, native
from .threads import num_threads, run_parallel

_JIT = dict(cache=True, nogil=True, error_model="numpy")

#: elements per piece of the parallel path. Each piece is a Python-level hand-off (slices, a
#: kernel call) of several microseconds, partly under the GIL: with pieces of 2**15 a
#: 1e7-element relu spent more time handing pieces out than computing (out=x 3.3 ms, 0.55
#: with pieces of 2**19, which still deal a large call out to the threads in many pieces)
PIECE = 1 << 19
#: elements per scratch piece of a call whose output is an input it reads after writing
#: (the one-pass f-and-f' kernels, PReLU's): the scratch stays in the L2 cache
CHUNK = 1 << 15
#: float32 elements from which a cheap (piecewise-linear, memory-bound: ~0.12 ns an element
#: here) activation runs on Numba's team. On the Python pieces, as until the thirty-first
#: session, a call of 2**20 float32 took longer than on one thread (relu out=x 194 us against
#: 121, the team 70; PyTorch 67-75 against our 81-91 in other runs); from 2**18 the team
#: gains (346,112 elements 34 against 39 us), below it the hand-over costs more than it
#: saves (131,072: 28 against 18; Zen 3)
SERIAL_BELOW = 1 << 18
#: float32 elements from which PReLU and a cheap one-pass f-and-f' split the array into
#: Python pieces of :data:`PIECE` (they have no ``prange`` driver)
PIECES_FROM = 1 << 20
#: the same for the activations built on exponentials (~0.4-0.8 ns an element in float32;
#: the one-pass f-and-f' on the Python pieces from SERIAL_BELOW_EXP_PIECES)
SERIAL_BELOW_EXP = 1 << 15
#: float32 elements from which the one-pass f-and-f' of an exponential activation, which has
#: no parallel driver, runs on the Python pieces
SERIAL_BELOW_EXP_PIECES = 1 << 18
#: elements per run of the parallel drivers
RUN = 1 << 12
#: activations whose formulas are a few comparisons and multiplications
_CHEAP = frozenset(("identity", "step", "relu", "relu6", "leaky_relu", "hardtanh",
                    "hardsigmoid", "hardswish", "softsign"))


# --------------------------------------------------------------------------- elementwise kernels
# Each kernel is a loop around its formula in :mod:`numbaconv.scalar.activations`, the
# parameters cast to the array's dtype. An output that is an input (``out=x``,
# ``out=grad_output``) gets a loop over the output alone: LLVM vectorises a loop over two
# arrays only after checking at run time that they do not overlap, and runs its scalar copy
# when they do (relu of 65,536 float32 in place 20.8 us that way, 2.8 in vectors). The
# branch costs ~0.06 s of a kernel's first compile, where one shared loop taking the formula
# as a literal name cost 0.2-0.3. ``_fd`` kernels have one loop: :func:`_run_aliased` gives
# them an aliased output as scratch.
# In that loop a lane that keeps the value loaded there (a NaN, relu's positive values) made
# LLVM store only the other lanes, as masked stores (``vmaskmovps``), which Zen 3 runs at a
# fraction of a plain store's rate: relu of 6,272 float32 in place 3.7 us against 1.3 out of
# place, sigmoid 7.9 against 5.8. The NaN lanes store ``xi + xi`` instead (the same NaN,
# computed), and every lane is stored.



# identity


@njit(**_JIT)
def _identity_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.identity(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.identity(xi) if xi == xi else xi


@njit(**_JIT)
def _identity_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.identity_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.identity_d(xi) if xi == xi else xi


@njit(**_JIT)
def _identity_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.identity(xi)
        d = S.identity_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _identity_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.identity_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.identity_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.identity_d(xi) if xi == xi else xi


# step


@njit(**_JIT)
def _step_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.step(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.step(xi) if xi == xi else xi


@njit(**_JIT)
def _step_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.step_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.step_d(xi) if xi == xi else xi


@njit(**_JIT)
def _step_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.step(xi)
        d = S.step_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _step_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.step_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.step_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.step_d(xi) if xi == xi else xi


# sigmoid


@njit(**_JIT)
def _sigmoid_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.sigmoid(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.sigmoid(xi) if xi == xi else xi


@njit(**_JIT)
def _sigmoid_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.sigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.sigmoid_d(xi) if xi == xi else xi


@njit(**_JIT)
def _sigmoid_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.sigmoid(xi)
        d = S.sigmoid_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _sigmoid_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.sigmoid_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.sigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.sigmoid_d(xi) if xi == xi else xi


# tanh


@njit(**_JIT)
def _tanh_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.tanh(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.tanh(xi) if xi == xi else xi


@njit(**_JIT)
def _tanh_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.tanh_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.tanh_d(xi) if xi == xi else xi


@njit(**_JIT)
def _tanh_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.tanh(xi)
        d = S.tanh_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _tanh_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.tanh_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.tanh_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.tanh_d(xi) if xi == xi else xi


# relu


@njit(**_JIT)
def _relu_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.relu(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.relu(xi) if xi == xi else xi


@njit(**_JIT)
def _relu_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.relu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.relu_d(xi) if xi == xi else xi


@njit(**_JIT)
def _relu_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.relu(xi)
        d = S.relu_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _relu_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.relu_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.relu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.relu_d(xi) if xi == xi else xi


# relu6


@njit(**_JIT)
def _relu6_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.relu6(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.relu6(xi) if xi == xi else xi


@njit(**_JIT)
def _relu6_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.relu6_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.relu6_d(xi) if xi == xi else xi


@njit(**_JIT)
def _relu6_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.relu6(xi)
        d = S.relu6_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _relu6_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.relu6_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.relu6_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.relu6_d(xi) if xi == xi else xi


# leaky_relu


@njit(**_JIT)
def _leaky_relu_f(x, out, negative_slope):
    a = K_like(x, negative_slope)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.leaky_relu(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.leaky_relu(xi, a) if xi == xi else xi


@njit(**_JIT)
def _leaky_relu_d(x, out, negative_slope):
    a = K_like(x, negative_slope)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.leaky_relu_d(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.leaky_relu_d(xi, a) if xi == xi else xi


@njit(**_JIT)
def _leaky_relu_fd(x, out, dout, negative_slope):
    a = K_like(x, negative_slope)
    for i in range(x.size):
        xi = x[i]
        f = S.leaky_relu(xi, a)
        d = S.leaky_relu_d(xi, a)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _leaky_relu_b(g, x, out, negative_slope):
    a = K_like(x, negative_slope)
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.leaky_relu_d(xi, a) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.leaky_relu_d(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.leaky_relu_d(xi, a) if xi == xi else xi


# elu


@njit(**_JIT)
def _elu_f(x, out, alpha):
    a = K_like(x, alpha)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.elu(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.elu(xi, a) if xi == xi else xi


@njit(**_JIT)
def _elu_d(x, out, alpha):
    a = K_like(x, alpha)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.elu_d(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.elu_d(xi, a) if xi == xi else xi


@njit(**_JIT)
def _elu_fd(x, out, dout, alpha):
    a = K_like(x, alpha)
    for i in range(x.size):
        xi = x[i]
        f = S.elu(xi, a)
        d = S.elu_d(xi, a)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _elu_b(g, x, out, alpha):
    a = K_like(x, alpha)
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.elu_d(xi, a) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.elu_d(xi, a) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.elu_d(xi, a) if xi == xi else xi


# selu


@njit(**_JIT)
def _selu_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.selu(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.selu(xi) if xi == xi else xi


@njit(**_JIT)
def _selu_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.selu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.selu_d(xi) if xi == xi else xi


@njit(**_JIT)
def _selu_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.selu(xi)
        d = S.selu_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _selu_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.selu_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.selu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.selu_d(xi) if xi == xi else xi


# celu


@njit(**_JIT)
def _celu_f(x, out, alpha, inv_alpha):
    a = K_like(x, alpha)
    b = K_like(x, inv_alpha)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.celu(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.celu(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _celu_d(x, out, alpha, inv_alpha):
    a = K_like(x, alpha)
    b = K_like(x, inv_alpha)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.celu_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.celu_d(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _celu_fd(x, out, dout, alpha, inv_alpha):
    a = K_like(x, alpha)
    b = K_like(x, inv_alpha)
    for i in range(x.size):
        xi = x[i]
        f = S.celu(xi, a, b)
        d = S.celu_d(xi, a, b)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _celu_b(g, x, out, alpha, inv_alpha):
    a = K_like(x, alpha)
    b = K_like(x, inv_alpha)
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.celu_d(xi, a, b) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.celu_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.celu_d(xi, a, b) if xi == xi else xi


# gelu


@njit(**_JIT)
def _gelu_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.gelu(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.gelu(xi) if xi == xi else xi


@njit(**_JIT)
def _gelu_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.gelu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.gelu_d(xi) if xi == xi else xi


@njit(**_JIT)
def _gelu_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.gelu(xi)
        d = S.gelu_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _gelu_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.gelu_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.gelu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.gelu_d(xi) if xi == xi else xi


# gelu_tanh


@njit(**_JIT)
def _gelu_tanh_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.gelu_tanh(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.gelu_tanh(xi) if xi == xi else xi


@njit(**_JIT)
def _gelu_tanh_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.gelu_tanh_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.gelu_tanh_d(xi) if xi == xi else xi


@njit(**_JIT)
def _gelu_tanh_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.gelu_tanh(xi)
        d = S.gelu_tanh_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _gelu_tanh_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.gelu_tanh_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.gelu_tanh_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.gelu_tanh_d(xi) if xi == xi else xi


# silu


@njit(**_JIT)
def _silu_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.silu(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.silu(xi) if xi == xi else xi


@njit(**_JIT)
def _silu_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.silu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.silu_d(xi) if xi == xi else xi


@njit(**_JIT)
def _silu_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.silu(xi)
        d = S.silu_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _silu_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.silu_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.silu_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.silu_d(xi) if xi == xi else xi


# mish


@njit(**_JIT)
def _mish_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.mish(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.mish(xi) if xi == xi else xi


@njit(**_JIT)
def _mish_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.mish_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.mish_d(xi) if xi == xi else xi


@njit(**_JIT)
def _mish_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.mish(xi)
        d = S.mish_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _mish_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.mish_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.mish_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.mish_d(xi) if xi == xi else xi


# softplus


@njit(**_JIT)
def _softplus_f(x, out, beta, threshold):
    a = K_like(x, beta)
    b = K_like(x, threshold)
    one = K_like(x, 1.0)
    if a == one:  # beta 1, the default: loops where S.softplus's "/ a" is "/ 1.0", which
        # LLVM drops (x / 1 is x, NaN and -0 included): the same bits without the division
        # (float64, 1e6 elements: 3.74 -> 3.43 ms on one Zen 4 core)
        if _same(x, out):
            for i in range(out.size):
                xi = out[i]
                out[i] = S.softplus(xi, one, b) if xi == xi else xi + xi
        else:
            for i in range(x.size):
                xi = x[i]
                out[i] = S.softplus(xi, one, b) if xi == xi else xi
    elif _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.softplus(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.softplus(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _softplus_d(x, out, beta, threshold):
    a = K_like(x, beta)
    b = K_like(x, threshold)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.softplus_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.softplus_d(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _softplus_fd(x, out, dout, beta, threshold):
    a = K_like(x, beta)
    b = K_like(x, threshold)
    for i in range(x.size):
        xi = x[i]
        f = S.softplus(xi, a, b)
        d = S.softplus_d(xi, a, b)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _softplus_b(g, x, out, beta, threshold):
    a = K_like(x, beta)
    b = K_like(x, threshold)
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.softplus_d(xi, a, b) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.softplus_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.softplus_d(xi, a, b) if xi == xi else xi


# softsign


@njit(**_JIT)
def _softsign_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.softsign(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.softsign(xi) if xi == xi else xi


@njit(**_JIT)
def _softsign_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.softsign_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.softsign_d(xi) if xi == xi else xi


@njit(**_JIT)
def _softsign_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.softsign(xi)
        d = S.softsign_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _softsign_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.softsign_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.softsign_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.softsign_d(xi) if xi == xi else xi


# hardtanh


@njit(**_JIT)
def _hardtanh_f(x, out, min_val, max_val):
    a = K_like(x, min_val)
    b = K_like(x, max_val)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardtanh(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardtanh(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _hardtanh_d(x, out, min_val, max_val):
    a = K_like(x, min_val)
    b = K_like(x, max_val)
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardtanh_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardtanh_d(xi, a, b) if xi == xi else xi


@njit(**_JIT)
def _hardtanh_fd(x, out, dout, min_val, max_val):
    a = K_like(x, min_val)
    b = K_like(x, max_val)
    for i in range(x.size):
        xi = x[i]
        f = S.hardtanh(xi, a, b)
        d = S.hardtanh_d(xi, a, b)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _hardtanh_b(g, x, out, min_val, max_val):
    a = K_like(x, min_val)
    b = K_like(x, max_val)
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.hardtanh_d(xi, a, b) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.hardtanh_d(xi, a, b) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.hardtanh_d(xi, a, b) if xi == xi else xi


# hardsigmoid


@njit(**_JIT)
def _hardsigmoid_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardsigmoid(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardsigmoid(xi) if xi == xi else xi


@njit(**_JIT)
def _hardsigmoid_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardsigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardsigmoid_d(xi) if xi == xi else xi


@njit(**_JIT)
def _hardsigmoid_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.hardsigmoid(xi)
        d = S.hardsigmoid_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _hardsigmoid_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.hardsigmoid_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.hardsigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.hardsigmoid_d(xi) if xi == xi else xi


# hardswish


@njit(**_JIT)
def _hardswish_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardswish(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardswish(xi) if xi == xi else xi


@njit(**_JIT)
def _hardswish_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.hardswish_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.hardswish_d(xi) if xi == xi else xi


@njit(**_JIT)
def _hardswish_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.hardswish(xi)
        d = S.hardswish_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _hardswish_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.hardswish_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.hardswish_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.hardswish_d(xi) if xi == xi else xi


# log_sigmoid


@njit(**_JIT)
def _log_sigmoid_f(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.log_sigmoid(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.log_sigmoid(xi) if xi == xi else xi


@njit(**_JIT)
def _log_sigmoid_d(x, out):
    if _same(x, out):
        for i in range(out.size):
            xi = out[i]
            out[i] = S.log_sigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = S.log_sigmoid_d(xi) if xi == xi else xi


@njit(**_JIT)
def _log_sigmoid_fd(x, out, dout):
    for i in range(x.size):
        xi = x[i]
        f = S.log_sigmoid(xi)
        d = S.log_sigmoid_d(xi)
        out[i] = f if xi == xi else xi
        dout[i] = d if xi == xi else xi


@njit(**_JIT)
def _log_sigmoid_b(g, x, out):
    if _same(g, out):
        for i in range(x.size):
            xi = x[i]
            out[i] = out[i] * S.log_sigmoid_d(xi) if xi == xi else xi
    elif _same(x, out):
        for i in range(x.size):
            xi = out[i]
            out[i] = g[i] * S.log_sigmoid_d(xi) if xi == xi else xi + xi
    else:
        for i in range(x.size):
            xi = x[i]
            out[i] = g[i] * S.log_sigmoid_d(xi) if xi == xi else xi


# The activations' parallel driver: fixed runs of RUN elements
# on Numba's OpenMP team (``prange``), each run the serial kernel on its slices (an output
# that is its input stays the same memory run by run). A Python worker took 20-40 us to
# wake and take the GIL, which kept calls of 2**15 to 2**18 elements on one thread; the
# team hands a run over in ~2 us (a float32 sigmoid of 131,072 elements 55 -> 30 us). The
# cheap, memory-bound activations run there too from SERIAL_BELOW (thirty-first session:
# their Python pieces had become slower than one thread). The serial kernel comes by address (:mod:`.native`): one driver serves every activation whose
# kernels have one signature, where a driver written out per activation and pass (33 of
# them) compiled each kernel again into its own parallel loop.


@njit(parallel=True, **_JIT)
def _runs(fn, x, out, params, per):
    """``fn(x[lo:hi], out[lo:hi], *params)`` (an ``_f`` or ``_d`` kernel, a
    :class:`.native.Native`) over fixed runs of ``per`` elements on Numba's threads."""
    for c in prange((x.size + per - 1) // per):
        lo = c * per
        hi = min(x.size, lo + per)
        call(fn, x[lo:hi], out[lo:hi], *params)


@njit(parallel=True, **_JIT)
def _runs_b(fn, g, x, out, params, per):
    """:func:`_runs` for a VJP kernel ``fn(g, x, out, *params)``."""
    for c in prange((x.size + per - 1) // per):
        lo = c * per
        hi = min(x.size, lo + per)
        call(fn, g[lo:hi], x[lo:hi], out[lo:hi], *params)


def _parallel(kernel, arrays: tuple, params: tuple) -> None:
    """``kernel(*arrays, *params)`` in runs of :data:`RUN` on Numba's threads (``arrays``:
    ``(x, out)`` or, for a VJP, ``(g, x, out)``); the runs follow the size alone, so the
    bits are the serial kernel's at any thread count."""
    fn = native(kernel, *arrays, *params)
    (_runs if len(arrays) == 2 else _runs_b)(fn, *arrays, tuple(params), RUN)


KERNELS = {
    "identity": (_identity_f, _identity_d, _identity_fd, _identity_b),
    "step": (_step_f, _step_d, _step_fd, _step_b),
    "sigmoid": (_sigmoid_f, _sigmoid_d, _sigmoid_fd, _sigmoid_b),
    "tanh": (_tanh_f, _tanh_d, _tanh_fd, _tanh_b),
    "relu": (_relu_f, _relu_d, _relu_fd, _relu_b),
    "relu6": (_relu6_f, _relu6_d, _relu6_fd, _relu6_b),
    "leaky_relu": (_leaky_relu_f, _leaky_relu_d, _leaky_relu_fd, _leaky_relu_b),
    "elu": (_elu_f, _elu_d, _elu_fd, _elu_b),
    "selu": (_selu_f, _selu_d, _selu_fd, _selu_b),
    "celu": (_celu_f, _celu_d, _celu_fd, _celu_b),
    "gelu": (_gelu_f, _gelu_d, _gelu_fd, _gelu_b),
    "gelu_tanh": (_gelu_tanh_f, _gelu_tanh_d, _gelu_tanh_fd, _gelu_tanh_b),
    "silu": (_silu_f, _silu_d, _silu_fd, _silu_b),
    "mish": (_mish_f, _mish_d, _mish_fd, _mish_b),
    "softplus": (_softplus_f, _softplus_d, _softplus_fd, _softplus_b),
    "softsign": (_softsign_f, _softsign_d, _softsign_fd, _softsign_b),
    "hardtanh": (_hardtanh_f, _hardtanh_d, _hardtanh_fd, _hardtanh_b),
    "hardsigmoid": (_hardsigmoid_f, _hardsigmoid_d, _hardsigmoid_fd, _hardsigmoid_b),
    "hardswish": (_hardswish_f, _hardswish_d, _hardswish_fd, _hardswish_b),
    "log_sigmoid": (_log_sigmoid_f, _log_sigmoid_d, _log_sigmoid_fd, _log_sigmoid_b),
}


def _run(kernel, ins: tuple, outs: tuple, params: tuple, serial_below: int,
         offset: bool = False) -> None:
    """``kernel(*ins, *outs, *params)`` over flat arrays, whole or in pieces on threads.

    ``offset``: the kernel takes the flat index of its piece's first element last. An
    output may be an input for the kernels with loops of their own for that (``_f``,
    ``_d``, ``_b``: a piece of the output is then the same memory as the piece of the
    input); the others go through :func:`_run_aliased`.
    """
    n = ins[0].size
    if n < serial_below or num_threads() == 1:
        kernel(*ins, *outs, *params, *((0,) if offset else ()))
        return

    def work(lo):
        hi = min(lo + PIECE, n)
        kernel(*(a[lo:hi] for a in ins), *(o[lo:hi] for o in outs), *params,
               *((lo,) if offset else ()))

    run_parallel(work, range(0, n, PIECE))


def _run_aliased(kernel, ins: tuple, outs: tuple, params: tuple, serial_below: int,
                 offset: bool = False) -> None:
    """:func:`_run` for a kernel with two-array loops only (``_fd``, PReLU's), which
    on an output that is an input would run scalar code: such an output is written through
    scratch a piece of :data:`CHUNK` elements at a time, then copied back."""
    aliased = [any(o is a for a in ins) for o in outs]
    if not any(aliased):
        _run(kernel, ins, outs, params, serial_below, offset)
        return
    n = ins[0].size

    def work(lo):
        hi = min(lo + CHUNK, n)
        dst = [np.empty(hi - lo, o.dtype) if al else o[lo:hi]
               for o, al in zip(outs, aliased, strict=True)]
        kernel(*(a[lo:hi] for a in ins), *dst, *params, *((lo,) if offset else ()))
        for o, d, al in zip(outs, dst, aliased, strict=True):
            if al:
                o[lo:hi] = d

    pieces = range(0, n, CHUNK)
    if n < serial_below or num_threads() == 1:
        for lo in pieces:
            work(lo)
    else:
        run_parallel(work, pieces)


def _serial_below(name: str, itemsize: int) -> int:
    """Elements from which a call of activation ``name`` runs on several threads: the
    thresholds are float32 elements, halved for float64 (twice the bytes and, with the
    exponentials' float64 forms, about twice the time an element)."""
    return (SERIAL_BELOW if name in _CHEAP else SERIAL_BELOW_EXP) * 4 // itemsize


def forward(name: str, x: np.ndarray, out: np.ndarray, params: tuple) -> None:
    """``out = f(x)`` for the activation kernel ``name``: flat arrays of one float dtype,
    ``params`` its parameters as floats; ``out`` may be ``x`` itself. On the calling thread
    below the activation's threshold (:func:`_serial_below`) or with one thread, else on
    Numba's team."""
    if x.size < _serial_below(name, x.itemsize) or num_threads() < 2:
        KERNELS[name][0](x, out, *params)
    else:
        _parallel(KERNELS[name][0], (x, out), params)


def derivative(name: str, x: np.ndarray, out: np.ndarray, params: tuple) -> None:
    """``out = f'(x)``; ``out`` may be ``x`` itself (threads as :func:`forward`)."""
    if x.size < _serial_below(name, x.itemsize) or num_threads() < 2:
        KERNELS[name][1](x, out, *params)
    else:
        _parallel(KERNELS[name][1], (x, out), params)


def forward_and_derivative(name: str, x: np.ndarray, out: np.ndarray, dout: np.ndarray,
                           params: tuple) -> None:
    """``out = f(x)`` and ``dout = f'(x)`` in one pass over ``x``."""
    below = (PIECES_FROM if name in _CHEAP else SERIAL_BELOW_EXP_PIECES) * 4 // x.itemsize
    _run_aliased(KERNELS[name][2], (x,), (out, dout), params, below)


def backward(name: str, g: np.ndarray, x: np.ndarray, out: np.ndarray, params: tuple) -> None:
    """``out = g * f'(x)`` in one pass; ``out`` may be ``g`` or ``x`` itself (threads as
    :func:`forward`)."""
    if x.size < _serial_below(name, x.itemsize) or num_threads() < 2:
        KERNELS[name][3](g, x, out, *params)
    else:
        _parallel(KERNELS[name][3], (g, x, out), params)


# --------------------------------------------------------------------------- PReLU
# Flat pieces of the (outer * C, inner) array: the piece starting at flat index `start`
# walks its rows, row r taking the slope w[r % C]; the loop along a row vectorises.


@register_jitable
def _row_end(start, i, n, inner):
    """The row of piece element ``i`` and the piece index where that row ends."""
    r = (start + i) // inner
    return r, min(n, (r + 1) * inner - start)


@njit(**_JIT)
def _prelu_f(x, out, w, inner, start):
    i = 0
    while i < x.size:
        r, end = _row_end(start, i, x.size, inner)
        a = w[r % w.size]
        for k in range(i, end):
            xk = x[k]
            out[k] = S.leaky_relu(xk, a) if xk == xk else xk
        i = end


@njit(**_JIT)
def _prelu_d(x, out, w, inner, start):
    i = 0
    while i < x.size:
        r, end = _row_end(start, i, x.size, inner)
        a = w[r % w.size]
        for k in range(i, end):
            xk = x[k]
            out[k] = S.leaky_relu_d(xk, a) if xk == xk else xk
        i = end


@njit(**_JIT)
def _prelu_fd(x, out, dout, w, inner, start):
    i = 0
    while i < x.size:
        r, end = _row_end(start, i, x.size, inner)
        a = w[r % w.size]
        for k in range(i, end):
            xk = x[k]
            f = S.leaky_relu(xk, a)
            d = S.leaky_relu_d(xk, a)
            out[k] = f if xk == xk else xk
            dout[k] = d if xk == xk else xk
        i = end


@njit(**_JIT)
def _prelu_b(g, x, out, w, inner, start):
    i = 0
    while i < x.size:
        r, end = _row_end(start, i, x.size, inner)
        a = w[r % w.size]
        for k in range(i, end):
            xk = x[k]
            out[k] = g[k] * S.leaky_relu_d(xk, a) if xk == xk else xk
        i = end


def _prelu_run(kernel, ins: tuple, outs: tuple, w: np.ndarray, inner: int) -> None:
    _run_aliased(kernel, ins, outs, (w, max(inner, 1)), PIECES_FROM, offset=True)


def prelu(x: np.ndarray, w: np.ndarray, out: np.ndarray, inner: int) -> None:
    """PReLU of flat arrays seen as ``(outer, C, inner)`` rows, row ``r`` with the slope
    ``w[r % C]``: ``out = x if x > 0 else w x`` (``out`` may be ``x``)."""
    _prelu_run(_prelu_f, (x,), (out,), w, inner)


def prelu_derivative(x: np.ndarray, w: np.ndarray, out: np.ndarray, inner: int) -> None:
    """``out = 1 if x > 0 else w``, as :func:`prelu`."""
    _prelu_run(_prelu_d, (x,), (out,), w, inner)


def prelu_and_derivative(x: np.ndarray, w: np.ndarray, out: np.ndarray, dout: np.ndarray,
                         inner: int) -> None:
    """:func:`prelu` and :func:`prelu_derivative` in one pass."""
    _prelu_run(_prelu_fd, (x,), (out, dout), w, inner)


def prelu_backward(g: np.ndarray, x: np.ndarray, w: np.ndarray, out: np.ndarray,
                   inner: int) -> None:
    """``out = g * prelu_derivative`` (the VJP for ``x``; ``out`` may be ``g`` or ``x``)."""
    _prelu_run(_prelu_b, (g, x), (out,), w, inner)


@njit(**_JIT)
def _prelu_weight_rows(g, x, partial, r0, r1):
    nc = x.shape[1]
    for r in range(r0, r1):
        o = r // nc
        ch = r - o * nc
        partial[o, ch] = prelu_weight_row(g, x, o, ch)


def prelu_weight(g3: np.ndarray, x3: np.ndarray, out: np.ndarray) -> None:
    """``out[c] = sum over (o, j) of g3 * x3 where x3 <= 0`` (float64 sums in a fixed order;
    ``out`` of C elements, or 1 for a shared slope)."""
    outer, nc, inner = x3.shape
    partial = np.zeros((max(outer, 1), nc), dtype=np.float64)
    rows = outer * nc
    if rows * inner < PIECES_FROM:
        _prelu_weight_rows(g3, x3, partial, 0, rows)
    else:
        per = max(1, PIECE // max(inner, 1))

        def work(r0):
            _prelu_weight_rows(g3, x3, partial, r0, min(r0 + per, rows))

        run_parallel(work, range(0, rows, per))
    total = partial[0].copy()
    for o in range(1, partial.shape[0]):  # in order of o, as the CUDA twin
        total += partial[o]
    out[:] = total.astype(out.dtype)


# --------------------------------------------------------------------------- softmax, slices
# Flat arrays seen as (outer, n, inner) with inner > 1: work item i is the block of slices
# j in [b * SLICE_BLOCK, (b + 1) * SLICE_BLOCK) of o, with i = o * blocks + b.

#: neighbouring slices one kernel step reduces together (its passes run along them)
SLICE_BLOCK = 256


@register_jitable
def _block(i, inner):
    """``(o, j0, j1)`` of work item ``i``."""
    blocks = (inner + SLICE_BLOCK - 1) // SLICE_BLOCK
    o = i // blocks
    j0 = (i - o * blocks) * SLICE_BLOCK
    return o, j0, min(j0 + SLICE_BLOCK, inner)


@njit(**_JIT)
def _softmax_slices(x, out, outer, n, inner, i0, i1):
    x3, out3 = x.reshape((outer, n, inner)), out.reshape((outer, n, inner))
    m = np.empty(SLICE_BLOCK, dtype=np.float64)
    s = np.empty(SLICE_BLOCK, dtype=np.float64)
    for i in range(i0, i1):
        o, j0, j1 = _block(i, inner)
        softmax_slices(x3, out3, o, j0, j1, m, s)


@njit(**_JIT)
def _log_softmax_slices(x, out, outer, n, inner, i0, i1):
    x3, out3 = x.reshape((outer, n, inner)), out.reshape((outer, n, inner))
    m = np.empty(SLICE_BLOCK, dtype=np.float64)
    s = np.empty(SLICE_BLOCK, dtype=np.float64)
    for i in range(i0, i1):
        o, j0, j1 = _block(i, inner)
        log_softmax_slices(x3, out3, o, j0, j1, m, s)


@njit(**_JIT)
def _softmax_backward_slices(g, y, out, outer, n, inner, i0, i1):
    shape = (outer, n, inner)
    g3, y3, out3 = g.reshape(shape), y.reshape(shape), out.reshape(shape)
    s = np.empty(SLICE_BLOCK, dtype=np.float64)
    for i in range(i0, i1):
        o, j0, j1 = _block(i, inner)
        softmax_backward_slices(g3, y3, out3, o, j0, j1, s)


@njit(**_JIT)
def _log_softmax_backward_slices(g, y, out, outer, n, inner, i0, i1):
    shape = (outer, n, inner)
    g3, y3, out3 = g.reshape(shape), y.reshape(shape), out.reshape(shape)
    s = np.empty(SLICE_BLOCK, dtype=np.float64)
    for i in range(i0, i1):
        o, j0, j1 = _block(i, inner)
        log_softmax_backward_slices(g3, y3, out3, o, j0, j1, s)


# --------------------------------------------------------------------------- softmax, rows
# Flat arrays of whole rows of n (inner == 1; a piece of the parallel path is a slice of
# whole rows). Every elementwise pass is a loop along the row that LLVM vectorises; the
# reductions of rows longer than SEQUENTIAL_UP_TO (the maximum, the float64 sums and dot
# products) are written out in vectors of LANES (_max_by_vectors, _sum_by_vectors,
# _dot_by_vectors), with no scalar tail. A sum's order is fixed by the row's length alone,
# so a result never depends on the thread count, the call or the CPU; it may differ in the
# last bits from the same slice reduced along another axis (in order).

#: lanes of the vectors the row intrinsics below work in (one AVX-512 register of float32;
#: LLVM splits a wider vector into the registers a CPU has)
LANES = 16
#: rows up to this long are summed in element order, as a slice of another axis (and the
#: CUDA twin) is: the same bits whatever the layout (a chunked dask array, say)
SEQUENTIAL_UP_TO = LANES


def _is_row(v) -> bool:
    """Whether ``v`` is a type the row intrinsics read: a 1-D C-contiguous float array."""
    return (isinstance(v, types.Array) and v.ndim == 1 and v.layout == "C"
            and v.dtype in (types.float32, types.float64))


class _Rows:
    """IR helpers of the row intrinsics: vectors of LANES elements of the rows of one call
    (Numba arrays of one dtype and length ``n >= 1``, the intrinsic's first arguments)."""

    def __init__(self, context, builder, sig, args, count):
        self.builder = builder
        self.rows = [context.make_array(t)(context, builder, a)
                     for t, a in zip(sig.args[:count], args[:count], strict=True)]
        self.n = self.rows[0].nitems
        self.ft = context.get_value_type(sig.args[0].dtype)
        self.vt = ir.VectorType(self.ft, LANES)
        self.align = context.get_abi_sizeof(self.ft)
        self.index = ir.VectorType(self.n.type, LANES)

    def const(self, k):
        return ir.Constant(self.n.type, k)

    def splat(self, value):
        """A vector of LANES copies of the scalar ``value``."""
        b, i32 = self.builder, ir.IntType(32)
        one = b.insert_element(ir.Constant(ir.VectorType(value.type, LANES), ir.Undefined),
                               value, ir.Constant(i32, 0))
        return b.shuffle_vector(one, ir.Constant(one.type, ir.Undefined),
                                ir.Constant(ir.VectorType(i32, LANES), [0] * LANES))

    def call(self, name, ret, args):
        """A call of the LLVM intrinsic ``name`` returning ``ret``."""
        fn = cgutils.get_or_insert_function(self.builder.module,
                                            ir.FunctionType(ret, [a.type for a in args]), name)
        return self.builder.call(fn, args)

    def pointer(self, row, k):
        return self.builder.bitcast(self.builder.gep(row.data, [k]), self.vt.as_pointer())

    def load(self, row, k):
        """The vector ``row[k:k + LANES]``."""
        return self.builder.load(self.pointer(row, k), align=self.align)

    def element(self, row, k):
        """``row[k]``."""
        return self.builder.load(self.builder.gep(row.data, [k]))

    def branch(self, short, long, below=LANES):
        """``short()`` for rows shorter than ``below``, else ``long()``: the value of the
        one that ran (both return one type, or None)."""
        b = self.builder
        blocks = [b.append_basic_block(f"rows.{s}") for s in ("short", "long", "done")]
        b.cbranch(b.icmp_signed("<", self.n, self.const(below)), blocks[0], blocks[1])
        ends = []
        for block, part in zip(blocks[:2], (short, long), strict=True):
            b.position_at_end(block)
            ends.append((part(), b.block))
            b.branch(blocks[2])
        b.position_at_end(blocks[2])
        if ends[0][0] is None:
            return None
        value = b.phi(ends[0][0].type)
        for v, block in ends:
            value.add_incoming(v, block)
        return value

    def loop(self, name, step, init):
        """Open a loop over ``k = 0, step, 2 step...`` while ``k + step <= n`` carrying the
        values ``init``; returns ``(k, carried, close)``: ``close(values)`` ends the body
        with the carried values' next state and leaves the builder after the loop, where
        ``k`` is the first element not yet seen and ``carried`` their last state."""
        b = self.builder
        entry = b.block
        head, body, tail = (b.append_basic_block(f"{name}.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        k = b.phi(self.n.type)
        carried = [b.phi(v.type) for v in init]
        k.add_incoming(self.const(0), entry)
        for phi, v in zip(carried, init, strict=True):
            phi.add_incoming(v, entry)
        b.cbranch(b.icmp_signed("<=", b.add(k, self.const(step)), self.n), body, tail)
        b.position_at_end(body)

        def close(values):
            for phi, v in zip(carried, values, strict=True):
                phi.add_incoming(v, b.block)
            k.add_incoming(b.add(k, self.const(step)), b.block)
            b.branch(head)
            b.position_at_end(tail)

        return k, carried, close

    def across_lanes(self, m, op):
        """``m``'s lanes combined pairwise with ``op`` (halves, then quarters...): a scalar."""
        b, width = self.builder, m.type.count
        while width > 1:
            width //= 2
            halves = [ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(h, h + width)))
                      for h in (0, width)]
            m = op(*(b.shuffle_vector(m, m, half) for half in halves))
        return b.extract_element(m, ir.Constant(ir.IntType(32), 0))


# The row intrinsics: every pass of the rows kernels along one row (the maximum, the
# float64 sums and dot products, the elementwise passes but the exponential), written out
# in vectors of LANES from LANES elements on, a last vector overlapping the one before where
# the row's length is not a multiple of LANES: no scalar tail, no run-time overlap check.
# LLVM's own loops over a 100-element row checked that the output overlaps no input, ran 64
# elements in vectors and left 36 to a scalar loop (a float32 row max took 0.5 ns an
# element, a softmax VJP 34 ns a row; 0.07 and 21 this way). Giving such a rest a loop of
# its own made LLVM's loop vectoriser abort the process (an assertion: its two cost models
# disagreed), so no loop is left to the vectoriser. Masked loads and stores for the rest
# cost more than they save: a load that overlaps a masked store still in flight (the next
# row's first elements) waits for it (a (256, 30) softmax 7.6 -> 11 us). Shorter rows run a
# scalar loop.


def _llvm_name(base, t):
    """The name of the LLVM intrinsic ``base`` for the scalar or vector type ``t``."""
    if isinstance(t, ir.VectorType):
        return f"{base}.v{t.count}{t.element.intrinsic_name}"
    return f"{base}.{t.intrinsic_name}"


@intrinsic
def _row_max(typingctx, v):
    """The largest element of a row (``n >= 1``; NaNs are skipped: a NaN reaches its row
    through the row's sum), with ``maxnum``: from LANES elements on into two vector
    accumulators, then the last whole vector and the row's last LANES elements (they may
    overlap elements already seen: the maximum does not mind), then the lanes pairwise.
    Exact, so the order does not matter. (LLVM's ``vector.reduce.fmax`` of the lanes took
    twice as long.)"""
    if not _is_row(v):
        return None

    def codegen(context, builder, sig, args):
        r = _Rows(context, builder, sig, args, 1)
        (row,) = r.rows

        def vmax(a, b):
            return r.call(_llvm_name("llvm.maxnum", a.type), a.type, [a, b])

        def short():
            k, (m,), close = r.loop("rowmax", 1, [r.element(row, r.const(0))])
            close([vmax(m, r.element(row, k))])
            return m

        def long():
            first = r.load(row, r.const(0))
            k, (a0, a1), close = r.loop("rowmax", 2 * LANES, [first, first])
            close([vmax(a0, r.load(row, k)),
                   vmax(a1, r.load(row, builder.add(k, r.const(LANES))))])
            last = builder.sub(r.n, r.const(LANES))  # fewer than 2 LANES left from k on
            whole = builder.select(builder.icmp_signed("<=", k, last), k, last)
            return r.across_lanes(vmax(vmax(a0, r.load(row, whole)),
                                       vmax(a1, r.load(row, last))), vmax)

        return r.branch(short, long)

    return v.dtype(v), codegen


def _sum_codegen(context, builder, sig, args):
    """IR of :func:`_row_sum` and :func:`_row_dot`: the float64 sum of a row's elements (one
    argument) or of the products of two rows' elements (two, each product in their dtype)."""
    r = _Rows(context, builder, sig, args, len(args))
    f64 = ir.DoubleType()
    vd = ir.VectorType(f64, LANES)
    zero = ir.Constant(vd, [0.0] * LANES)

    def terms(v):  # the float64 element (or vector) of the row or of the products
        v = v[0] if len(v) == 1 else builder.fmul(*v)
        if r.ft == f64:
            return v
        return builder.fpext(v, vd if isinstance(v.type, ir.VectorType) else f64)

    def short():  # in element order
        k, (total,), close = r.loop("rowsum", 1, [ir.Constant(f64, 0.0)])
        close([builder.fadd(total, terms([r.element(row, k) for row in r.rows]))])
        return total

    def long():  # two accumulators along the row, then the rest, then the lanes pairwise
        def at(k):
            return terms([r.load(row, k) for row in r.rows])

        k, (a0, a1), close = r.loop("rowsum", 2 * LANES, [zero, zero])
        close([builder.fadd(a0, at(k)), builder.fadd(a1, at(builder.add(k, r.const(LANES))))])
        # fewer than 2 LANES left from k on: maybe one whole vector, then of the row's last
        # LANES elements the lanes not yet added (a select, not a branch)
        whole = builder.icmp_signed("<=", builder.add(k, r.const(LANES)), r.n)
        last = builder.sub(r.n, r.const(LANES))
        a0 = builder.fadd(a0, builder.select(whole, at(builder.select(whole, k, last)), zero))
        seen = builder.sub(builder.select(whole, builder.add(k, r.const(LANES)), k), last)
        new = builder.icmp_signed(">=", ir.Constant(r.index, list(range(LANES))), r.splat(seen))
        a1 = builder.fadd(a1, builder.select(new, at(last), zero))
        return r.across_lanes(builder.fadd(a0, a1), builder.fadd)

    return r.branch(short, long, below=SEQUENTIAL_UP_TO + 1)


@intrinsic
def _row_sum(typingctx, v):
    """The sum of a row in float64: in element order up to SEQUENTIAL_UP_TO elements,
    beyond in two accumulators of LANES along the row, then the lanes pairwise. The order
    is fixed by ``n`` alone, the same on every CPU (the vector width is the IR's, not the
    target's)."""
    if not _is_row(v):
        return None
    return types.float64(v), _sum_codegen


@intrinsic
def _row_dot(typingctx, u, v):
    """The sum of ``u * v`` (each product in the rows' dtype) in float64, in the order of
    :func:`_row_sum`; ``u`` and ``v`` of one dtype and length."""
    if not (_is_row(u) and _is_row(v) and u.dtype == v.dtype):
        return None
    return types.float64(u, v), _sum_codegen


def _map_codegen(form):
    """IR of an elementwise row intrinsic ``out = form(rows..., scalar)`` (``form`` builds
    the IR of one element or one vector), or ``out = form(out, scalar)`` given no rows:
    ``out`` and the rows of one dtype and length, the scalar of their dtype. The last LANES elements are loaded before anything is stored and
    written last, over elements already written with the same values, so ``out`` may be one
    of the rows (the same memory, not a shifted view)."""

    def codegen(context, builder, sig, args):
        r = _Rows(context, builder, sig, args, len(args) - 1)
        out, rows = r.rows[0], r.rows[1:] or r.rows[:1]  # (no rows: in place)

        def short():
            k, _, close = r.loop("rowmap", 1, [])
            v = form(builder, [r.element(row, k) for row in rows], args[-1])
            builder.store(v, builder.gep(out.data, [k]))
            close([])

        def long():
            scalar, last = r.splat(args[-1]), builder.sub(r.n, r.const(LANES))
            end = form(builder, [r.load(row, last) for row in rows], scalar)
            k, _, close = r.loop("rowmap", LANES, [])
            v = form(builder, [r.load(row, k) for row in rows], scalar)
            builder.store(v, r.pointer(out, k), align=r.align)
            close([])
            builder.store(end, r.pointer(out, last), align=r.align)

        r.branch(short, long)
        return context.get_dummy_value()

    return codegen


def _map_signature(out, rows, s):
    """The signature of an elementwise row intrinsic, or None (no match) for other types."""
    if all(_is_row(v) and v.dtype == out.dtype for v in (out, *rows)) and s == out.dtype:
        return types.none(out, *rows, s)
    return None


@intrinsic
def _row_sub(typingctx, out, a, s):
    """``out = a - s`` (see :func:`_map_codegen`)."""
    return _map_signature(out, (a,), s), _map_codegen(lambda b, v, s: b.fsub(v[0], s))


@intrinsic
def _row_scale(typingctx, v, s):
    """``v *= s`` (see :func:`_map_codegen`). One array, not ``_row_mul(v, v, s)``: LLVM
    vectorises the loop of a row shorter than LANES only after checking at run time that
    two arrays do not overlap (rows of 10: 19 ns a row that way, 32 with the check)."""
    return _map_signature(v, (), s), _map_codegen(lambda b, v, s: b.fmul(v[0], s))


@intrinsic
def _softmax_vjp_row(typingctx, out, g, y, t):
    """``out = y * (g - t)`` (see :func:`_map_codegen`)."""
    return (_map_signature(out, (g, y), t),
            _map_codegen(lambda b, v, t: b.fmul(v[1], b.fsub(v[0], t))))


@intrinsic
def _log_softmax_vjp_row(typingctx, out, g, e, t):
    """``out = g - e * t`` (see :func:`_map_codegen`)."""
    return (_map_signature(out, (g, e), t),
            _map_codegen(lambda b, v, t: b.fsub(v[0], b.fmul(v[1], t))))


#: elements per block of whole rows (at least one row) that the rows kernels take through
#: their passes together: the exponentials of a block run as one flat loop, with no scalar
#: tail per row (a 100-element row has 4 of its 100 exponentials in the scalar tail; a
#: (1024, 100) softmax is 20% faster blocked, a (256, 10) one 27%)
ROW_BLOCK = 1 << 12
#: rows this long or longer go through the passes one at a time, each pass fused over the
#: row (their tails are a small part; the blocks' extra pass would cost 10%). Separate
#: kernels: a call compiles one form, not both (their exponential loops are most of a
#: kernel's compile time)
BLOCK_BELOW = 512


@register_jitable
def _shift_rows(x, out, n, b0, b1):
    """``out = x - max(x)`` on the rows ``b0 <= r < b1``, each row by its own maximum."""
    for r in range(b0, b1):
        xr, outr = x[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
        _row_sub(outr, xr, _row_max(xr))


@register_jitable
def _exp_into(src, dst):
    """``dst = exp(src)`` for ``src <= 0`` (or NaN), one flat loop; ``dst`` shares no memory
    with ``src`` (LLVM's run-time overlap check would send it to the scalar loop)."""
    for k in range(src.size):
        dst[k] = fexp_nonpos(src[k])


@register_jitable
def _exp_in_place(v):
    """``v = exp(v)`` for ``v <= 0`` (or NaN), one flat loop."""
    for k in range(v.size):
        v[k] = fexp_nonpos(v[k])


@register_jitable
def _softmax_rows_body(x, out, n):
    for r in range(x.size // n):
        xr, outr = x[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
        m = _row_max(xr)
        for k in range(n):
            outr[k] = fexp_nonpos(xr[k] - m)
        _row_scale(outr, K(m, 1.0 / _row_sum(outr)))  # a row holding a NaN: all NaN


@register_jitable
def _softmax_blocks_body(x, out, n):
    rows = x.size // n
    per = max(1, ROW_BLOCK // n)
    inv = np.empty(min(rows, per), dtype=x.dtype)  # a block's 1 / sum(exp(x - max))
    for b0 in range(0, rows, per):
        b1 = min(rows, b0 + per)
        _shift_rows(x, out, n, b0, b1)
        _exp_in_place(out[b0 * n:b1 * n])
        # the sums, then the scaling: a row's sum right after the row before it was scaled
        # waited for those stores (rows of 10: 32 ns a row, 20 in two passes)
        for r in range(b0, b1):
            inv[r - b0] = K(inv[0], 1.0 / _row_sum(out[r * n:(r + 1) * n]))  # (NaN: all NaN)
        for r in range(b0, b1):
            _row_scale(out[r * n:(r + 1) * n], inv[r - b0])


@register_jitable
def _log_softmax_rows_body(x, out, n):
    in_place = x.ctypes.data == out.ctypes.data  # (x and out are the same or disjoint)
    scratch = np.empty(n if in_place else 0, dtype=x.dtype)
    for r in range(x.size // n):
        xr, outr = x[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
        e = scratch if in_place else outr  # exp(x - max) of the row, then x - lse over it
        m = _row_max(xr)
        for k in range(n):
            e[k] = fexp_nonpos(xr[k] - m)
        _row_sub(outr, xr, m + K(m, math.log(_row_sum(e))))


@register_jitable
def _log_softmax_blocks_body(x, out, n):
    rows = x.size // n
    per = max(1, ROW_BLOCK // n)
    e = np.empty(min(rows, per) * n, dtype=x.dtype)  # a block's exp(x - max)
    mx = np.empty(min(rows, per), dtype=x.dtype)  # a block's row maxima
    lse = np.empty(min(rows, per), dtype=np.float64)  # and log(sum(exp(x - max)))
    for b0 in range(0, rows, per):
        b1 = min(rows, b0 + per)
        for i in range(b1 - b0):  # (e, not out, holds x - max: out may be x)
            xr, er = x[(b0 + i) * n:(b0 + i + 1) * n], e[i * n:(i + 1) * n]
            m = mx[i] = _row_max(xr)
            _row_sub(er, xr, m)
        _exp_in_place(e[:(b1 - b0) * n])
        for i in range(b1 - b0):
            lse[i] = _row_sum(e[i * n:(i + 1) * n])
        for i in range(b1 - b0):  # (one vector loop for float32 data; the slices' log)
            lse[i] = flog_ge1(lse[i], x)
        for i in range(b1 - b0):
            xr, outr = x[(b0 + i) * n:(b0 + i + 1) * n], out[(b0 + i) * n:(b0 + i + 1) * n]
            m = mx[i]
            _row_sub(outr, xr, m + K(m, lse[i]))


@register_jitable
def _softmax_backward_rows_body(g, y, out, n):
    for r in range(y.size // n):
        gr, yr, outr = g[r * n:(r + 1) * n], y[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
        _softmax_vjp_row(outr, gr, yr, K(yr[0], _row_dot(gr, yr)))


@register_jitable
def _log_softmax_backward_rows_body(g, y, out, n):
    rows = y.size // n
    if n > ROW_BLOCK and out.ctypes.data != g.ctypes.data and out.ctypes.data != y.ctypes.data:
        for r in range(rows):  # long rows, not in place: one pass (a fifth faster)
            gr, yr, outr = g[r * n:(r + 1) * n], y[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
            t = K(y[0], _row_sum(gr))
            for k in range(n):  # (LLVM vectorises it after checking out overlaps neither)
                outr[k] = gr[k] - fexp_nonpos(yr[k]) * t
        return
    per = max(1, ROW_BLOCK // n)
    e = np.empty(min(rows, per) * n, dtype=y.dtype)  # a block's exp(y) (out may be g or y)
    for b0 in range(0, rows, per):
        b1 = min(rows, b0 + per)
        _exp_into(y[b0 * n:b1 * n], e)  # (y = log_softmax(x) <= 0)
        for r in range(b0, b1):
            gr, outr = g[r * n:(r + 1) * n], out[r * n:(r + 1) * n]
            er = e[(r - b0) * n:(r - b0 + 1) * n]
            _log_softmax_vjp_row(outr, gr, er, K(y[0], _row_sum(gr)))


@njit(**_JIT)
def _softmax_rows(x, out, n):
    _softmax_rows_body(x, out, n)


@njit(**_JIT)
def _log_softmax_rows(x, out, n):
    _log_softmax_rows_body(x, out, n)


@njit(**_JIT)
def _softmax_blocks(x, out, n):
    _softmax_blocks_body(x, out, n)


@njit(**_JIT)
def _log_softmax_blocks(x, out, n):
    _log_softmax_blocks_body(x, out, n)


@njit(**_JIT)
def _softmax_backward_rows(g, y, out, n):
    _softmax_backward_rows_body(g, y, out, n)


@njit(**_JIT)
def _log_softmax_backward_rows(g, y, out, n):
    _log_softmax_backward_rows_body(g, y, out, n)


# Parallel drivers: fixed runs of ``per`` rows (or work items of slices), set by the shapes
# alone, each run through the serial code above, so a result never depends on the path or
# the thread count. Numba's thread pool (``prange``) hands a run to a worker in ~2 us where
# waking a Python worker costs ~30 us: a (64, 1000) softmax (60 us serial) gains from it.


@njit(parallel=True, **_JIT)
def _softmax_rows_par(x, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _softmax_rows_body(x[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _log_softmax_rows_par(x, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _log_softmax_rows_body(x[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _softmax_blocks_par(x, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _softmax_blocks_body(x[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _log_softmax_blocks_par(x, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _log_softmax_blocks_body(x[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _softmax_backward_rows_par(g, y, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _softmax_backward_rows_body(g[r0:r1], y[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _log_softmax_backward_rows_par(g, y, out, n, rows, per):
    for c in prange((rows + per - 1) // per):
        r0, r1 = c * per * n, min(rows, (c + 1) * per) * n
        _log_softmax_backward_rows_body(g[r0:r1], y[r0:r1], out[r0:r1], n)


@njit(parallel=True, **_JIT)
def _softmax_slices_par(x, out, outer, n, inner, items, per):
    for c in prange((items + per - 1) // per):
        _softmax_slices(x, out, outer, n, inner, c * per, min(items, (c + 1) * per))


@njit(parallel=True, **_JIT)
def _log_softmax_slices_par(x, out, outer, n, inner, items, per):
    for c in prange((items + per - 1) // per):
        _log_softmax_slices(x, out, outer, n, inner, c * per, min(items, (c + 1) * per))


@njit(parallel=True, **_JIT)
def _softmax_backward_slices_par(g, y, out, outer, n, inner, items, per):
    for c in prange((items + per - 1) // per):
        _softmax_backward_slices(g, y, out, outer, n, inner, c * per,
                                 min(items, (c + 1) * per))


@njit(parallel=True, **_JIT)
def _log_softmax_backward_slices_par(g, y, out, outer, n, inner, items, per):
    for c in prange((items + per - 1) // per):
        _log_softmax_backward_slices(g, y, out, outer, n, inner, c * per,
                                     min(items, (c + 1) * per))


#: below this many elements a softmax, log-softmax or log-softmax VJP (an exponential an
#: element, ~1 ns in float32 here) runs on the calling thread
SOFTMAX_SERIAL_BELOW = 1 << 13
#: the same for the softmax VJP (a dot product and a scaling, ~0.25 ns an element)
SOFTMAX_BACKWARD_SERIAL_BELOW = 1 << 15
#: elements per run of the parallel path (whole rows, or blocks of slices)
SOFTMAX_RUN = 1 << 12

#: family -> (rows kernel, its parallel driver, slices kernel, its parallel driver)
_SOFTMAX_KERNELS: dict[str, tuple[Callable[..., None], ...]] = {
    "softmax": (_softmax_rows, _softmax_rows_par, _softmax_slices, _softmax_slices_par),
    "log_softmax": (_log_softmax_rows, _log_softmax_rows_par, _log_softmax_slices,
                    _log_softmax_slices_par),
    "softmax_backward": (_softmax_backward_rows, _softmax_backward_rows_par,
                         _softmax_backward_slices, _softmax_backward_slices_par),
    "log_softmax_backward": (_log_softmax_backward_rows, _log_softmax_backward_rows_par,
                             _log_softmax_backward_slices, _log_softmax_backward_slices_par),
}

#: family -> (rows kernel, its parallel driver) for rows shorter than BLOCK_BELOW
_SOFTMAX_BLOCKS: dict[str, tuple[Callable[..., None], ...]] = {"softmax": (_softmax_blocks, _softmax_blocks_par),
                   "log_softmax": (_log_softmax_blocks, _log_softmax_blocks_par)}


def _serial_softmax(family: str, size: int) -> bool:
    below = SOFTMAX_BACKWARD_SERIAL_BELOW if family == "softmax_backward" else SOFTMAX_SERIAL_BELOW
    return size < below or num_threads() == 1


def _reduce(family: str, arrays: tuple, outer: int, n: int, inner: int) -> None:
    """A softmax-family reduction over flat ``(outer, n, inner)`` arrays, on the calling
    thread or in fixed runs on Numba's threads (the same serial code either way)."""
    rows, rows_par, slices, slices_par = _SOFTMAX_KERNELS[family]
    serial = _serial_softmax(family, outer * n * inner)
    if inner == 1:
        if n < BLOCK_BELOW and family in _SOFTMAX_BLOCKS:
            rows, rows_par = _SOFTMAX_BLOCKS[family]
        per = max(1, SOFTMAX_RUN // n)  # rows per run
        if serial or outer <= per:
            rows(*arrays, n)
        else:
            rows_par(*arrays, n, outer, per)
        return
    items = outer * ((inner + SLICE_BLOCK - 1) // SLICE_BLOCK)
    per = max(1, SOFTMAX_RUN // (n * SLICE_BLOCK))  # work items per run
    if serial or items <= per:
        slices(*arrays, outer, n, inner, 0, items)
    else:
        slices_par(*arrays, outer, n, inner, items, per)


def softmax(x: np.ndarray, out: np.ndarray, outer: int, n: int, inner: int) -> None:
    """Softmax over axis 1 of flat arrays seen as ``(outer, n, inner)``, ``n >= 1``
    (``out`` may be ``x``)."""
    if inner == 1 and outer * n < SOFTMAX_SERIAL_BELOW:  # the common small call, kept short
        (_softmax_blocks if n < BLOCK_BELOW else _softmax_rows)(x, out, n)
    else:
        _reduce("softmax", (x, out), outer, n, inner)


def log_softmax(x: np.ndarray, out: np.ndarray, outer: int, n: int, inner: int) -> None:
    """Log-softmax over axis 1 (``out`` may be ``x``)."""
    if inner == 1 and outer * n < SOFTMAX_SERIAL_BELOW:  # the common small call, kept short
        (_log_softmax_blocks if n < BLOCK_BELOW else _log_softmax_rows)(x, out, n)
    else:
        _reduce("log_softmax", (x, out), outer, n, inner)


def softmax_backward(g: np.ndarray, y: np.ndarray, out: np.ndarray, outer: int, n: int,
                     inner: int) -> None:
    """VJP of softmax over axis 1, from its output ``y`` and ``grad_output`` ``g``."""
    if inner == 1 and outer * n < SOFTMAX_BACKWARD_SERIAL_BELOW:
        _softmax_backward_rows(g, y, out, n)
    else:
        _reduce("softmax_backward", (g, y, out), outer, n, inner)


def log_softmax_backward(g: np.ndarray, y: np.ndarray, out: np.ndarray, outer: int, n: int,
                         inner: int) -> None:
    """VJP of log-softmax over axis 1, from its output ``y`` and ``grad_output`` ``g``."""
    if inner == 1 and outer * n < SOFTMAX_SERIAL_BELOW:
        _log_softmax_backward_rows(g, y, out, n)
    else:
        _reduce("log_softmax_backward", (g, y, out), outer, n, inner)
