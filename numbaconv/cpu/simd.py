r"""Kernel steps written in explicit LLVM vectors of one register, where LLVM's own loops
fall short: Numba ``@intrinsic``\s that kernels call like functions (inlined into them).

* :func:`taps_block`: for ``FILTERS`` filters at once and ``lanes(dtype)`` consecutive
  positions ``q`` of a padded-width grid (see :mod:`numbaconv.cpu.conv`'s grid kernels),
  ``acc_f[q] = b_f + sum_t w[t, f] * xp[offs[t] + q]`` with the taps ``t`` in order, each
  step one fused multiply-add (a single rounding; the order is fixed by the taps alone, so
  a result never depends on the thread count or the blocking). Each tap's input vector is
  loaded once and used by every filter of the block, with the filters' weights broadcast
  from memory: eight multiply-adds a load where LLVM's own loop over one filter's taps
  loaded a vector for each multiply-add (misaligned, so split across two cache lines on
  most taps) and ran at a third of the multiply-add rate.
* :func:`max2_row`: one output row of 2x2 / stride-2 max pooling, each window's four
  values deinterleaved from two vectors of each input row, with
  :func:`numbaconv.loops.pooling.pick`'s selects (first maximum, first NaN). LLVM's loop
  over a row of 13 windows ran one vector iteration after a run-time overlap check and a
  loop set-up: about 30 cycles a row.

The vector width is the register's (64 bytes with AVX-512F, 32 with AVX, 16 otherwise),
read once from Numba's target features: eight accumulators and the tap's vector fit the
16 registers of an AVX2 machine as well as the 32 of an AVX-512 one. A kernel compiled with
it is cached for that target only (Numba's cache index carries the CPU and its features).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: filters a block computes together (eight accumulators)
FILTERS = 8


@functools.cache
def target_features() -> tuple[frozenset, bool]:
    """(the features Numba compiles for, whether loops may take 512-bit registers):
    ``NUMBA_CPU_FEATURES`` when set (``-prefer-256-bit`` among them for the second), else
    the host's (and False)."""
    from numba.core import config

    feats = vars(config)["CPU_FEATURES"]  # (set at run time, unseen by type checkers)
    if feats:
        items = feats.split(",")
        return frozenset(f[1:] for f in items if f.startswith("+")), "-prefer-256-bit" in items
    try:
        import llvmlite.binding as llvm

        return frozenset(k for k, v in llvm.get_host_cpu_features().items() if v), False
    except Exception:  # no feature query: assume SSE
        return frozenset(), False


@functools.cache
def register_bytes() -> int:
    """Bytes of one vector register of Numba's target: 64 with AVX-512F, 32 with AVX, 16
    otherwise."""
    have = target_features()[0]
    return 64 if "avx512f" in have else 32 if "avx" in have else 16


def lanes(itemsize: int) -> int:
    """Positions :func:`taps_block` computes at once for elements of ``itemsize`` bytes."""
    return register_bytes() // itemsize


def _vector(t) -> bool:
    return (isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C"
            and t.dtype in (types.float32, types.float64))


@intrinsic
def _taps_block(typingctx, acc, a0, stride, xp, x0, offs, wts, bias, nt):
    """``acc[a0 + f*stride + q] = bias[f] + sum_t wts[t*FILTERS + f] * xp[offs[t] + x0 + q]``
    for ``f < FILTERS``, ``q < lanes``, ``t < nt`` in order (fused multiply-adds). ``acc``,
    ``xp``, ``wts`` and ``bias`` 1-D C-contiguous of one float dtype; ``offs`` int64; the
    caller keeps every index in bounds."""
    if not (all(_vector(v) for v in (acc, xp, wts, bias))
            and acc.dtype == xp.dtype == wts.dtype == bias.dtype
            and isinstance(offs, types.Array) and offs.dtype == types.int64
            and all(isinstance(v, types.Integer) for v in (a0, stride, x0, nt))):
        return None
    sig = types.void(acc, a0, stride, xp, x0, offs, wts, bias, nt)

    def codegen(context, builder, sig, args):
        b = builder
        arrays = {i: context.make_array(sig.args[i])(context, b, args[i]) for i in (0, 3, 5, 6, 7)}
        ints = {i: context.cast(b, args[i], sig.args[i], types.intp) for i in (1, 2, 4, 8)}
        ft = context.get_value_type(sig.args[0].dtype)
        size = context.get_abi_sizeof(ft)
        vt = ir.VectorType(ft, lanes(size))
        it = ints[1].type
        i32 = ir.IntType(32)
        fma = cgutils.get_or_insert_function(b.module, ir.FunctionType(vt, [vt, vt, vt]),
                                             f"llvm.fma.v{vt.count}{ft.intrinsic_name}")

        def splat(value):
            one = b.insert_element(ir.Constant(vt, ir.Undefined), value, ir.Constant(i32, 0))
            return b.shuffle_vector(one, ir.Constant(vt, ir.Undefined),
                                    ir.Constant(ir.VectorType(i32, vt.count), [0] * vt.count))

        def element(i, k):
            return b.load(b.gep(arrays[i].data, [k]))

        def pointer(i, k):
            return b.bitcast(b.gep(arrays[i].data, [k]), vt.as_pointer())

        first = [splat(element(7, ir.Constant(it, f))) for f in range(FILTERS)]
        entry = b.block
        head, body, tail = (b.append_basic_block(f"taps.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        t = b.phi(it)
        accs = [b.phi(vt) for _ in range(FILTERS)]
        t.add_incoming(ir.Constant(it, 0), entry)
        for phi, v in zip(accs, first, strict=True):
            phi.add_incoming(v, entry)
        b.cbranch(b.icmp_signed("<", t, ints[8]), body, tail)
        b.position_at_end(body)
        xv = b.load(pointer(3, b.add(element(5, t), ints[4])), align=size)
        w0 = b.mul(t, ir.Constant(it, FILTERS))
        new = [b.call(fma, [splat(element(6, b.add(w0, ir.Constant(it, f)))), xv, acc_f])
               for f, acc_f in enumerate(accs)]
        for phi, v in zip(accs, new, strict=True):
            phi.add_incoming(v, b.block)
        t.add_incoming(b.add(t, ir.Constant(it, 1)), b.block)
        b.branch(head)
        b.position_at_end(tail)
        for f, acc_f in enumerate(accs):
            at = b.add(ints[1], b.mul(ints[2], ir.Constant(it, f)))
            b.store(acc_f, pointer(0, at), align=size)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_taps_block` as kernels call it, ``taps_block(acc, a0, stride, xp, x0, offs, wts,
#: bias, nt)`` (Numba supplies the typing context; the cast tells type checkers so)
taps_block = cast("Callable[..., None]", _taps_block)


def _pick(b, v, best):
    """IR of :func:`numbaconv.loops.pooling.pick` on vectors: ``v`` where it is greater or
    NaN, ``best`` where ``best`` is NaN."""
    t = b.select(b.fcmp_ordered(">", v, best), v, best)
    t = b.select(b.fcmp_unordered("uno", v, v), v, t)
    return b.select(b.fcmp_unordered("uno", best, best), best, t)


@intrinsic
def _max2_row(typingctx, out, o0, x, a0, W, k):
    """``out[o0 + j] = max`` of ``x[a0 + 2j + 1], x[a0 + 2j], x[a0 + W + 2j],
    x[a0 + W + 2j + 1]`` (that order, :func:`_pick`'s rule) for ``j < k``, ``k >=
    lanes``: in vectors, the last one overlapping the one before. ``out`` and ``x`` 1-D
    C-contiguous of one float dtype; the caller keeps ``x[a0 + W + 2k - 1]`` in bounds."""
    if not (_vector(out) and _vector(x) and out.dtype == x.dtype
            and all(isinstance(v, types.Integer) for v in (o0, a0, W, k))):
        return None
    sig = types.void(out, o0, x, a0, W, k)

    def codegen(context, builder, sig, args):
        b = builder
        oa = context.make_array(sig.args[0])(context, b, args[0])
        xa = context.make_array(sig.args[2])(context, b, args[2])
        o0_, a0_, W_, k_ = (context.cast(b, args[i], sig.args[i], types.intp)
                            for i in (1, 3, 4, 5))
        ft = context.get_value_type(sig.args[0].dtype)
        size = context.get_abi_sizeof(ft)
        n = lanes(size)
        vt = ir.VectorType(ft, n)
        it = o0_.type
        i32 = ir.IntType(32)
        even = ir.Constant(ir.VectorType(i32, n), list(range(0, 2 * n, 2)))
        odd = ir.Constant(ir.VectorType(i32, n), list(range(1, 2 * n, 2)))

        def load(arr, at):
            return b.load(b.bitcast(b.gep(arr.data, [at]), vt.as_pointer()), align=size)

        def window_max(j):  # the vector of outputs j .. j + n - 1
            vals = []
            for row in (a0_, b.add(a0_, W_)):
                at = b.add(row, b.add(j, j))
                lo, hi = load(xa, at), load(xa, b.add(at, ir.Constant(it, n)))
                vals.append((b.shuffle_vector(lo, hi, even), b.shuffle_vector(lo, hi, odd)))
            (ae, ao), (be, bo) = vals
            return _pick(b, bo, _pick(b, be, _pick(b, ao, ae)))

        def store(j, v):
            b.store(v, b.bitcast(b.gep(oa.data, [b.add(o0_, j)]), vt.as_pointer()), align=size)

        # the last vector first (loaded before anything is stored: out may follow x), then
        # the whole vectors from the start
        last = b.sub(k_, ir.Constant(it, n))
        end = window_max(last)
        entry = b.block
        head, body, tail = (b.append_basic_block(f"max2.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        j = b.phi(it)
        j.add_incoming(ir.Constant(it, 0), entry)
        b.cbranch(b.icmp_signed("<", j, last), body, tail)
        b.position_at_end(body)
        store(j, window_max(j))
        j.add_incoming(b.add(j, ir.Constant(it, n)), b.block)
        b.branch(head)
        b.position_at_end(tail)
        store(last, end)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_max2_row` as kernels call it, ``max2_row(out, o0, x, a0, W, k)``
max2_row = cast("Callable[..., None]", _max2_row)


@intrinsic
def _depthwise4(typingctx, out, o, x, xb, rs, w, bias, C):
    """Four neighbouring outputs of a depthwise 3x3 channels-last layer (stride 1, dilation
    1, every tap inside ``x``), every channel: ``out[o + j*C + c] = bias[c] + sum over (th,
    tw) of w[(3 th + tw) C + c] * x[xb + th*rs + (j + tw) C + c]`` for ``j < 4``, the taps
    in order, fused multiply-adds (``bias`` zeros for none). In vectors of ``lanes`` channels
    (the last one overlapping the one before), ``C >= lanes``: each vector of the three
    input rows is loaded once for the four outputs (18 loads, 36 multiply-adds, the nine
    weights loaded once). ``out``, ``x``, ``w``, ``bias`` 1-D C-contiguous of one float
    dtype; the caller keeps every index in bounds."""
    if not (all(_vector(v) for v in (out, x, w, bias))
            and out.dtype == x.dtype == w.dtype == bias.dtype
            and all(isinstance(v, types.Integer) for v in (o, xb, rs, C))):
        return None
    sig = types.void(out, o, x, xb, rs, w, bias, C)

    def codegen(context, builder, sig, args):
        b = builder
        arrays = {i: context.make_array(sig.args[i])(context, b, args[i]) for i in (0, 2, 5, 6)}
        o_, xb_, rs_, C_ = (context.cast(b, args[i], sig.args[i], types.intp)
                            for i in (1, 3, 4, 7))
        ft = context.get_value_type(sig.args[0].dtype)
        size = context.get_abi_sizeof(ft)
        n = lanes(size)
        vt = ir.VectorType(ft, n)
        it = o_.type
        fma = cgutils.get_or_insert_function(b.module, ir.FunctionType(vt, [vt, vt, vt]),
                                             f"llvm.fma.v{n}{ft.intrinsic_name}")

        def const(k):
            return ir.Constant(it, k)

        def pointer(i, at):
            return b.bitcast(b.gep(arrays[i].data, [at]), vt.as_pointer())

        def load(i, at):
            return b.load(pointer(i, at), align=size)

        def block(c):  # the four outputs' vectors of channels c .. c + n - 1
            acc = [load(6, c)] * 4
            for th in range(3):
                row = b.add(b.add(xb_, b.mul(rs_, const(th))), c)
                xs = [load(2, b.add(row, b.mul(C_, const(k)))) for k in range(6)]
                for tw in range(3):
                    wv = load(5, b.add(b.mul(C_, const(3 * th + tw)), c))
                    acc = [b.call(fma, [wv, xs[j + tw], acc[j]]) for j in range(4)]
            return acc

        def store(c, acc):
            for j in range(4):
                b.store(acc[j], pointer(0, b.add(b.add(o_, b.mul(C_, const(j))), c)),
                        align=size)

        last = b.sub(C_, const(n))
        entry = b.block
        head, body, tail = (b.append_basic_block(f"dw4.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        c = b.phi(it)
        c.add_incoming(const(0), entry)
        b.cbranch(b.icmp_signed("<", c, last), body, tail)
        b.position_at_end(body)
        store(c, block(c))
        c.add_incoming(b.add(c, const(n)), b.block)
        b.branch(head)
        b.position_at_end(tail)
        store(last, block(last))
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_depthwise4` as kernels call it, ``depthwise4(out, o, x, xb, rs, w, bias, C)``
depthwise4 = cast("Callable[..., None]", _depthwise4)
