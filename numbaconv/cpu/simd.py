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
* :func:`rows_taps`: eight neighbouring output rows of a 2-D correlation (scipy.signal's
  direct ``convolve2d``) over an extended input, each input vector loaded once for the
  kernel rows (up to three) that read it.
* :func:`taps_tile` and :func:`positions_tile`: a GEMM kernel's register tile (filters by
  vectors of positions, or positions by vectors of filters) read straight from an input
  grid through per-tap offsets: :mod:`numbaconv.cpu.strided`'s stem kernels. Their tile
  shapes depend on the register count (:func:`tile_width`, :func:`positions_tile_shapes`).
* :func:`column_moments`: per-channel float64 sums down the rows of a channels-last block
  (a batch norm's statistics and backward sums), a block of channel vectors in registers.
* :func:`sandwich_rows`: the Winograd weight transform ``G g G^T`` of a run of 3x3 kernels
  side by side, a vector of kernels at a time, ``G``'s constants folded into the code.
* :func:`matrix_rows`: a constant matrix applied along runs of columns (the Winograd tile
  transforms along runs of channels or filters), written, added or with a bias.

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


def _typed(arrays, ints, offsets=()) -> bool:
    """Whether the intrinsic's arguments are 1-D C-contiguous float arrays of one dtype,
    integers, and int64 arrays of offsets."""
    return (all(_vector(v) for v in arrays) and len({v.dtype for v in arrays}) == 1
            and all(isinstance(v, types.Integer) for v in ints)
            and all(isinstance(v, types.Array) and v.dtype == types.int64 for v in offsets))


def _no_unroll(module):
    """A distinct loop ID carrying ``llvm.loop.unroll.disable`` (its first operand itself, as
    LLVM requires of a loop ID; llvmlite builds no self-reference, so it is set after)."""
    option = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    loop_id = ir.values.MDValue(module, [option], name=str(len(module.metadata)))
    loop_id.operands = (loop_id, option)
    return loop_id


class _IR:
    """IR helpers of one intrinsic call: its arrays' data, its integers as ``intp``, vectors
    of :func:`lanes` elements of the arrays' dtype (``sig.args[first]``'s)."""

    def __init__(self, context, builder, sig, args, first=0):
        self.b = b = builder
        self.arrays = {i: context.make_array(t)(context, b, a)
                       for i, (t, a) in enumerate(zip(sig.args, args, strict=True))
                       if isinstance(t, types.Array)}
        self.ints = {i: context.cast(b, a, t, types.intp)
                     for i, (t, a) in enumerate(zip(sig.args, args, strict=True))
                     if isinstance(t, types.Integer)}
        self.ft = context.get_value_type(sig.args[first].dtype)
        self.size = context.get_abi_sizeof(self.ft)
        self.n = lanes(self.size)
        self.vt = ir.VectorType(self.ft, self.n)
        self.it = context.get_value_type(types.intp)
        self._fma = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(self.vt, [self.vt] * 3),
            f"llvm.fma.v{self.n}{self.ft.intrinsic_name}")

    def const(self, k):
        return ir.Constant(self.it, k)

    def add(self, *terms):
        total = terms[0]
        for t in terms[1:]:
            total = self.b.add(total, t)
        return total

    def mul(self, a, k):
        return self.b.mul(a, self.const(k) if isinstance(k, int) else k)

    def element(self, i, at):
        """``array_i[at]``."""
        return self.b.load(self.b.gep(self.arrays[i].data, [at]))

    def _pointer(self, i, at):
        return self.b.bitcast(self.b.gep(self.arrays[i].data, [at]), self.vt.as_pointer())

    def load(self, i, at):
        """The vector ``array_i[at:at + n]``."""
        return self.b.load(self._pointer(i, at), align=self.size)

    def store(self, i, at, v):
        self.b.store(v, self._pointer(i, at), align=self.size)

    def splat(self, value):
        """A vector of ``n`` copies of the scalar ``value``."""
        b, i32 = self.b, ir.IntType(32)
        one = b.insert_element(ir.Constant(self.vt, ir.Undefined), value, ir.Constant(i32, 0))
        return b.shuffle_vector(one, ir.Constant(self.vt, ir.Undefined),
                                ir.Constant(ir.VectorType(i32, self.n), [0] * self.n))

    def splat_int(self, value):
        """A vector of ``n`` copies of the ``intp`` ``value``."""
        b, i32 = self.b, ir.IntType(32)
        vt = ir.VectorType(self.it, self.n)
        one = b.insert_element(ir.Constant(vt, ir.Undefined), value, ir.Constant(i32, 0))
        return b.shuffle_vector(one, ir.Constant(vt, ir.Undefined),
                                ir.Constant(ir.VectorType(i32, self.n), [0] * self.n))

    def after(self, seen):
        """The lanes mask ``lane >= seen`` (the lanes of an overlapping last vector that the
        vectors before did not cover)."""
        lanes_ = ir.Constant(ir.VectorType(self.it, self.n), list(range(self.n)))
        return self.b.icmp_signed(">=", lanes_, self.splat_int(seen))

    def accumulate(self, i, at, v, keep=None):
        """``array_i[at:at + n] += v``, only in the lanes of the mask ``keep`` when given
        (:meth:`after`: the lanes an overlapping last vector adds for the first time)."""
        old = self.load(i, at)
        new = self.b.fadd(old, v)
        self.store(i, at, new if keep is None else self.b.select(keep, new, old))

    def add_rows(self, name, i, base, stride, count, sums, width=1):
        """``array_i[base + t*stride + k + q*n:...] += sums(k)[t*width + q]`` (vectors, ``q <
        width``) for runs of ``width`` vectors ``k = 0, w, 2w, ...`` over ``count >= w``
        lanes (``w = width*n``), the last run overlapping the one before and adding only
        the lanes the others did not (:meth:`over_vectors`, :meth:`after`)."""
        b, n = self.b, self.n

        def add(k, seen=None):
            for j, v in enumerate(sums(k)):
                t, q = divmod(j, width)
                keep = None if seen is None else self.after(
                    b.sub(seen, self.const(q * n)) if q else seen)
                at = self.add(base, b.mul(self.const(t), stride), k)
                self.accumulate(i, b.add(at, self.const(q * n)) if q else at, v, keep)

        self.over_vectors(name, count, add, add, width)

    def fma(self, a, x, acc):
        """``a * x + acc``, one rounding."""
        return self.b.call(self._fma, [a, x, acc])

    def loop(self, name, trips, init, step, unroll=True):
        """``init`` carried through ``step(t, values) -> values`` for ``t < trips``; the
        last values. ``unroll=False`` tells LLVM not to unroll the loop (a register tile
        that fits once spilled when two iterations' loads were scheduled together)."""
        b = self.b
        entry = b.block
        head, body, tail = (b.append_basic_block(f"{name}.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        t = b.phi(self.it)
        carried = [b.phi(v.type) for v in init]
        t.add_incoming(self.const(0), entry)
        for phi, v in zip(carried, init, strict=True):
            phi.add_incoming(v, entry)
        b.cbranch(b.icmp_signed("<", t, trips), body, tail)
        b.position_at_end(body)
        new = step(t, carried)
        for phi, v in zip(carried, new, strict=True):
            phi.add_incoming(v, b.block)
        t.add_incoming(b.add(t, self.const(1)), b.block)
        back = b.branch(head)
        if not unroll:
            back.set_metadata("llvm.loop", _no_unroll(b.module))
        b.position_at_end(tail)
        return carried

    def over_vectors(self, name, count, body, tail=None, width=1):
        """``body(k)`` for ``k = 0, w, 2w, ...`` below ``count - w``, then ``count - w`` (the
        last run, overlapping the one before; ``count >= w``), by ``tail(k, seen)`` when
        given (``seen``: how many of its first lanes the runs before covered); ``w`` is
        ``width`` vectors of ``n`` lanes."""
        b = self.b
        step = self.n * width
        last = b.sub(count, self.const(step))
        entry = b.block
        head, loop, tail_block = (b.append_basic_block(f"{name}.{s}")
                                  for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        k = b.phi(self.it)
        k.add_incoming(self.const(0), entry)
        b.cbranch(b.icmp_signed("<", k, last), loop, tail_block)
        b.position_at_end(loop)
        body(k)
        k.add_incoming(b.add(k, self.const(step)), b.block)
        b.branch(head)
        b.position_at_end(tail_block)
        if tail is None:
            body(last)
        else:
            tail(last, b.sub(k, last))


@intrinsic
def _taps_block(typingctx, acc, a0, stride, xp, x0, offs, wts, bias, nt):
    """``acc[a0 + f*stride + q] = bias[f] + sum_t wts[t*FILTERS + f] * xp[offs[t] + x0 + q]``
    for ``f < FILTERS``, ``q < lanes``, ``t < nt`` in order (fused multiply-adds). ``acc``,
    ``xp``, ``wts`` and ``bias`` 1-D C-contiguous of one float dtype; ``offs`` int64; the
    caller keeps every index in bounds."""
    if not _typed((acc, xp, wts, bias), (a0, stride, x0, nt), (offs,)):
        return None
    sig = types.void(acc, a0, stride, xp, x0, offs, wts, bias, nt)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        first = [r.splat(r.element(7, r.const(f))) for f in range(FILTERS)]

        def step(t, accs):
            xv = r.load(3, r.add(r.element(5, t), r.ints[4]))
            w0 = r.mul(t, FILTERS)
            return [r.fma(r.splat(r.element(6, r.add(w0, r.const(f)))), xv, a)
                    for f, a in enumerate(accs)]

        accs = r.loop("taps", r.ints[8], first, step)
        for f, a in enumerate(accs):
            r.store(0, r.add(r.ints[1], r.mul(r.ints[2], f)), a)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_taps_block` as kernels call it, ``taps_block(acc, a0, stride, xp, x0, offs, wts,
#: bias, nt)`` (Numba supplies the typing context; the cast tells type checkers so)
taps_block = cast("Callable[..., None]", _taps_block)


@intrinsic
def _touch_span(typingctx, a, start, stop):
    """Read one byte of each 64-byte line of the 1-D contiguous ``a[start:stop]`` (every
    ``64 // itemsize``-th element from ``start``, and the last), in order, into an empty
    ``asm`` statement (so the compiler keeps the loads, and nothing is stored)."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
            and isinstance(start, types.Integer) and isinstance(stop, types.Integer)):
        return None
    sig = types.void(a, start, stop)

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        lo, hi = (context.cast(builder, v, t, types.intp)
                  for v, t in zip(args[1:], sig.args[1:], strict=True))
        step = max(1, 64 // context.get_abi_sizeof(context.get_value_type(sig.args[0].dtype)))
        i8 = ir.IntType(8)
        acc = cgutils.alloca_once_value(builder, ir.Constant(i8, 0))
        with cgutils.for_range_slice(builder, lo, hi, ir.Constant(lo.type, step),
                                     intp=lo.type) as (i, _):
            byte = builder.load(builder.bitcast(builder.gep(arr.data, [i]), i8.as_pointer()))
            builder.store(builder.xor(builder.load(acc), byte), acc)
        with builder.if_then(builder.icmp_signed("<", lo, hi)):  # (the last line too)
            last = builder.sub(hi, ir.Constant(hi.type, 1))
            byte = builder.load(builder.bitcast(builder.gep(arr.data, [last]), i8.as_pointer()))
            builder.store(builder.xor(builder.load(acc), byte), acc)
        builder.asm(ir.FunctionType(ir.VoidType(), [i8]), "", "r", [builder.load(acc)],
                    side_effect=True)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_touch_span` as kernels call it, ``touch_span(a, start, stop)``: before a gather
#: that reads a span in scattered order (channels-first planes into channels-last runs).
#: The gather keeps only a few cache misses in flight (a few of its many loads start a new
#: line), so from memory it was latency-bound; the lines read in order train the hardware
#: prefetcher, which streams them in (software prefetches did not: on Zen 4 they left the
#: call 12.5 ms where these reads made it 9.6). (256, 32, 13, 13) -> 64 Winograd input
#: gradient on one Zen 4 thread: the output gradient's gather cost 4 of the call's 14 ms.
touch_span = cast("Callable[..., None]", _touch_span)


#: output positions :func:`positions_block` computes together (eight accumulators)
POSITIONS = 8


@intrinsic
def _positions_block(typingctx, out, o0, xp, x0, xstep, offs, wt, bias, nt, K):
    """``out[o0 + j*K + k] = bias[k] + sum_t wt[t*K + k] * xp[offs[t] + x0 + j*xstep]`` for
    ``j < POSITIONS`` (neighbouring output positions of a channels-last output), every
    filter ``k < K`` in vectors of ``lanes`` (the last one overlapping the one before;
    ``K >= lanes``), the taps ``t < nt`` in order (fused multiply-adds). Each tap's weight
    vector is loaded once for the eight positions, whose inputs are broadcast from memory.
    ``out``, ``xp``, ``wt``, ``bias`` 1-D C-contiguous of one float dtype; ``offs`` int64;
    the caller keeps every index in bounds."""
    if not _typed((out, xp, wt, bias), (o0, x0, xstep, nt, K), (offs,)):
        return None
    sig = types.void(out, o0, xp, x0, xstep, offs, wt, bias, nt, K)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        K_ = r.ints[9]
        bases = [r.add(r.ints[3], r.mul(r.ints[4], j)) for j in range(POSITIONS)]

        def block(k):
            def step(t, accs):
                wv = r.load(6, r.add(r.b.mul(t, K_), k))
                off = r.element(5, t)
                return [r.fma(r.splat(r.element(2, r.add(off, bases[j]))), wv, a)
                        for j, a in enumerate(accs)]

            accs = r.loop("positions", r.ints[8], [r.load(7, k)] * POSITIONS, step)
            for j, a in enumerate(accs):
                r.store(0, r.add(r.ints[1], r.mul(K_, j), k), a)

        r.over_vectors("filters", K_, block)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_positions_block` as kernels call it, ``positions_block(out, o0, xp, x0, xstep,
#: offs, wt, bias, nt, K)``
positions_block = cast("Callable[..., None]", _positions_block)


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
    if not _typed((out, x), (o0, a0, W, k)):
        return None
    sig = types.void(out, o0, x, a0, W, k)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b, n, i32 = builder, r.n, ir.IntType(32)
        even = ir.Constant(ir.VectorType(i32, n), list(range(0, 2 * n, 2)))
        odd = ir.Constant(ir.VectorType(i32, n), list(range(1, 2 * n, 2)))

        def window_max(j):  # the vector of outputs j .. j + n - 1
            vals = []
            for row in (r.ints[3], b.add(r.ints[3], r.ints[4])):
                at = r.add(row, j, j)
                lo, hi = r.load(2, at), r.load(2, r.add(at, r.const(n)))
                vals.append((b.shuffle_vector(lo, hi, even), b.shuffle_vector(lo, hi, odd)))
            (ae, ao), (be, bo) = vals
            return _pick(b, bo, _pick(b, be, _pick(b, ao, ae)))

        r.over_vectors("max2", r.ints[5], lambda j: r.store(0, b.add(r.ints[1], j),
                                                            window_max(j)))
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
    if not _typed((out, x, w, bias), (o, xb, rs, C)):
        return None
    sig = types.void(out, o, x, xb, rs, w, bias, C)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        C_ = r.ints[7]

        def block(c):  # the four outputs' vectors of channels c .. c + n - 1
            acc = [r.load(6, c)] * 4
            for th in range(3):
                row = r.add(r.ints[3], r.mul(r.ints[4], th), c)
                xs = [r.load(2, r.add(row, r.mul(C_, k))) for k in range(6)]
                for tw in range(3):
                    wv = r.load(5, r.add(r.mul(C_, 3 * th + tw), c))
                    acc = [r.fma(wv, xs[j + tw], acc[j]) for j in range(4)]
            for j in range(4):
                r.store(0, r.add(r.ints[1], r.mul(C_, j), c), acc[j])

        r.over_vectors("dw4", C_, block)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_depthwise4` as kernels call it, ``depthwise4(out, o, x, xb, rs, w, bias, C)``
depthwise4 = cast("Callable[..., None]", _depthwise4)


@intrinsic
def _depthwise_grad_run(typingctx, part, p0, x, xb, g, gb, C, m):
    """One kernel row's taps of a depthwise 3x3 channels-last weight gradient over ``m``
    (even) neighbouring outputs of stride 1, dilation 1, every tap inside ``x``:
    ``part[p0 + tw*C + c] += sum_j g[gb + j*C + c] * x[xb + (j + tw)*C + c]`` for ``tw <
    3`` and every channel, the outputs summed in two interleaved chains (even and odd
    ``j``, fused multiply-adds) kept in registers, then added to ``part`` (float arrays
    of one dtype). In vectors of ``lanes`` channels, ``C >= lanes``, the last vector
    adding only the lanes the others did not. The loop it replaces loaded and stored the
    three partial sums for every four outputs."""
    if not _typed((part, x, g), (p0, xb, gb, C, m)):
        return None
    sig = types.void(part, p0, x, xb, g, gb, C, m)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b, C_ = builder, r.ints[6]
        zero = ir.Constant(r.vt, [0.0] * r.n)

        def sums(c):
            def step(i, accs):
                new = list(accs)
                for q in range(2):
                    j = r.add(r.mul(i, 2), r.const(q))
                    gv = r.load(4, r.add(r.ints[5], b.mul(j, C_), c))
                    for tw in range(3):
                        xv = r.load(2, r.add(r.ints[3], b.mul(r.add(j, r.const(tw)), C_), c))
                        new[3 * q + tw] = r.fma(gv, xv, new[3 * q + tw])
                return new

            half = b.sdiv(r.ints[7], r.const(2))
            # (not unrolled: LLVM's unrolled copy spilled; (16, 28, 28, 64) depthwise
            # weight gradients 1.05-1.22x with this and the next kernel's loop so, MobileNet's
            # (8, 56, 56, 128) 1.04x, the same bits; Zen 3, same process)
            accs = r.loop("dwgrad", half, [zero] * 6, step, unroll=False)
            return [b.fadd(accs[tw], accs[3 + tw]) for tw in range(3)]

        r.add_rows("dwgrad.c", 0, r.ints[1], C_, C_, sums)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_depthwise_grad_run` as kernels call it, ``depthwise_grad_run(part, p0, x, xb, g,
#: gb, C, m)``
depthwise_grad_run = cast("Callable[..., None]", _depthwise_grad_run)


@intrinsic
def _plane_rows4(typingctx, out, o, ldo, x, q, ldx, dx, coef, n):
    """Four neighbouring output rows of a 3x3 correlation of one plane (a depthwise layer's,
    channels-first), stride 1: ``out[o + j*ldo + k] = coef[9] + sum over (th, tw) of
    coef[3 th + tw] * x[q + (j + th)*ldx + tw*dx + k]`` for ``j < 4``, ``k < n`` (``n >=
    lanes``), the taps in order, fused multiply-adds (the bias first). In vectors of
    ``lanes`` outputs along the rows, the last one overlapping the one before; each
    vector of the six input rows is loaded once for the rows that read it (18 loads, 36
    multiply-adds). LLVM's own loop over four rows checked every store against every load
    for overlap and gave up vectorising."""
    if not _typed((out, x, coef), (o, ldo, q, ldx, dx, n)):
        return None
    sig = types.void(out, o, ldo, x, q, ldx, dx, coef, n)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        w = [r.splat(r.element(7, r.const(t))) for t in range(10)]

        def block(k):
            acc = [w[9]] * 4
            for i in range(6):  # input row i feeds output rows i - 2 .. i
                row = r.add(r.ints[4], r.mul(r.ints[5], i), k)
                xs = [r.load(3, r.add(row, r.mul(r.ints[6], tw))) for tw in range(3)]
                for j in range(max(0, i - 2), min(4, i + 1)):
                    th = i - j
                    for tw in range(3):
                        acc[j] = r.fma(w[3 * th + tw], xs[tw], acc[j])
            for j in range(4):
                r.store(0, r.add(r.ints[1], r.mul(r.ints[2], j), k), acc[j])

        r.over_vectors("rows4", r.ints[8], block)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_plane_rows4` as kernels call it, ``plane_rows4(out, o, ldo, x, q, ldx, dx, coef,
#: n)``
plane_rows4 = cast("Callable[..., None]", _plane_rows4)


def _grad_rows_codegen(pair: bool):
    """The IR of :func:`_depthwise_grad_rows` (one output row) or, with ``pair``,
    :func:`_depthwise_grad_rows2` (two): per vector of channels, nine sums carried through
    the outputs with each input row's window of three, every sum a chain of fused
    multiply-adds (the first row's term, then the second's)."""
    nrow = 4 if pair else 3

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b = builder
        C_, m_ = (r.ints[7], r.ints[8]) if pair else (r.ints[6], r.ints[7])
        zero = ir.Constant(r.vt, [0.0] * r.n)

        def sums(c):
            rows = [r.add(r.ints[2], b.mul(r.const(i), r.ints[3]), c) for i in range(nrow)]
            window = [r.load(1, r.add(rows[i], k)) for i in range(nrow) for k in (r.const(0), C_)]

            def step(j, carried):
                accs, win = list(carried[:9]), carried[9:]
                at = b.mul(j, C_)
                gs = [r.load(4, r.add(r.ints[5], at, c))]
                if pair:
                    gs.append(r.load(4, r.add(r.ints[5], r.ints[6], at, c)))
                ahead = b.mul(r.add(j, r.const(2)), C_)
                xs = [(win[2 * i], win[2 * i + 1], r.load(1, r.add(rows[i], ahead)))
                      for i in range(nrow)]
                for th in range(3):
                    for tw in range(3):
                        for q, gv in enumerate(gs):
                            accs[3 * th + tw] = r.fma(gv, xs[th + q][tw], accs[3 * th + tw])
                return accs + [v for i in range(nrow) for v in xs[i][1:]]

            # (not unrolled, as :func:`_depthwise_grad_run`'s loop: 1.10-1.17x)
            return r.loop("dwrows", m_, [zero] * 9 + window, step, unroll=False)[:9]

        r.add_rows("dwrows.c", 0, r.const(0), C_, C_, sums)
        return context.get_dummy_value()

    return codegen


@intrinsic
def _depthwise_grad_rows(typingctx, part, x, xb, rs, g, gb, C, m):
    """All nine taps of a depthwise 3x3 channels-last weight gradient over ``m >= 1``
    neighbouring outputs of one output row (stride 1 and dilation 1 along the row, the
    three input rows ``rs`` apart and every tap inside ``x``): ``part[(3*th + tw)*C + c] +=
    sum_j g[gb + j*C + c] * x[xb + th*rs + (j + tw)*C + c]`` for every channel, each tap's
    sum one chain of fused multiply-adds in ``j`` order kept in a register, then added to
    ``part`` (float arrays of one dtype). In vectors of ``lanes`` channels, ``C >= lanes``,
    the last vector adding only the lanes the others did not. Each output loads one vector
    of ``g`` and one new vector of each input row for its nine multiply-adds (the row's
    window of three slides in registers): :func:`_depthwise_grad_run`, a kernel row at a
    time, loaded three of ``g`` and six of ``x`` for them."""
    if not _typed((part, x, g), (xb, rs, gb, C, m)):
        return None
    sig = types.void(part, x, xb, rs, g, gb, C, m)

    return sig, _grad_rows_codegen(False)


#: :func:`_depthwise_grad_rows` as kernels call it, ``depthwise_grad_rows(part, x, xb, rs,
#: g, gb, C, m)``
depthwise_grad_rows = cast("Callable[..., None]", _depthwise_grad_rows)


@intrinsic
def _depthwise_grad_rows2(typingctx, part, x, xb, rs, g, gb, gs, C, m):
    """:func:`_depthwise_grad_rows` for two neighbouring output rows at once (their
    gradient rows at ``gb`` and ``gb + gs``, the four input rows they read ``rs`` apart:
    the second output row's three are the first's moved down one): ``part[(3*th + tw)*C +
    c] += sum_j g[gb + j*C + c] * x[xb + th*rs + (j + tw)*C + c] + g[gb + gs + j*C + c] *
    x[xb + (th + 1)*rs + (j + tw)*C + c]``, each tap's sum one chain of fused
    multiply-adds, output ``j`` of the first row then of the second. Each pair of outputs
    loads two vectors of ``g`` and one new vector of each of the four input rows for its 18
    multiply-adds (the single row: one and three for nine). Nine sums, eight window
    vectors and six loads in flight: for 32 registers (AVX-512), not AVX2's 16."""
    if not _typed((part, x, g), (xb, rs, gb, gs, C, m)):
        return None
    sig = types.void(part, x, xb, rs, g, gb, gs, C, m)

    return sig, _grad_rows_codegen(True)


#: :func:`_depthwise_grad_rows2` as kernels call it, ``depthwise_grad_rows2(part, x, xb, rs,
#: g, gb, gs, C, m)``
depthwise_grad_rows2 = cast("Callable[..., None]", _depthwise_grad_rows2)


#: taps :func:`taps_outer` sums together (nine accumulators a vector of filters)
OUTER_TAPS = 9


@intrinsic
def _taps_outer(typingctx, part, p0, x, xb, xstep, offs, o0, g, gb, K, m):
    """``part[p0 + t*K + k] += sum_j x[xb + j*xstep + offs[o0 + t]] * g[gb + j*K + k]`` for
    ``t < OUTER_TAPS`` and every filter ``k < K``, over ``j < m`` neighbouring positions of
    a channels-last output gradient row: for each vector of ``lanes`` filters (the last one
    overlapping the one before, adding only the lanes the others did not; ``K >= lanes``)
    the nine taps' sums are kept in registers, each one fused multiply-add chain over the
    positions in order, the gradient vector loaded once for the nine taps and the inputs
    broadcast from memory; then added to ``part``. ``part``, ``x``, ``g`` 1-D C-contiguous
    of one float dtype; ``offs`` int64; the caller keeps every index in bounds."""
    if not _typed((part, x, g), (p0, xb, xstep, o0, gb, K, m), (offs,)):
        return None
    sig = types.void(part, p0, x, xb, xstep, offs, o0, g, gb, K, m)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b, K_ = builder, r.ints[9]
        zero = ir.Constant(r.vt, [0.0] * r.n)
        offv = [r.element(5, r.add(r.ints[6], r.const(t))) for t in range(OUTER_TAPS)]

        def sums(k):
            def step(j, accs):
                gv = r.load(7, r.add(r.ints[8], b.mul(j, K_), k))
                at = r.add(r.ints[3], b.mul(j, r.ints[4]))
                return [r.fma(r.splat(r.element(2, r.add(at, offv[t]))), gv, a)
                        for t, a in enumerate(accs)]

            # (not unrolled: two iterations' nine broadcasts and tap offsets together ran
            # out of registers, and LLVM spilled an accumulator and reloaded the offsets from
            # the stack every iteration: one thread, (64, 32, 32, 3) -> 32 padded 3.8 -> 2.2
            # ms, two threads 1.33-1.39x, the same bits; Zen 3)
            return r.loop("outer", r.ints[10], [zero] * OUTER_TAPS, step, unroll=False)

        r.add_rows("outer.k", 0, r.ints[1], K_, K_, sums)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_taps_outer` as kernels call it, ``taps_outer(part, p0, x, xb, xstep, offs, o0, g,
#: gb, K, m)``
taps_outer = cast("Callable[..., None]", _taps_outer)


#: taps :func:`taps_outer_pairs` sums together for each pair of filter vectors (twelve
#: accumulators)
PAIR_TAPS = 6


@intrinsic
def _taps_outer_pairs(typingctx, part, p0, x, xb, xstep, offs, o0, g, gb, K, m):
    """:func:`taps_outer` for ``t < PAIR_TAPS`` taps, two vectors of filters at a time
    (``K >= 2*lanes``; the last pair overlapping the one before, adding only the lanes the
    pairs before did not): per position two gradient loads and six broadcasts for twelve
    multiply-adds, where :func:`taps_outer` loads ten for nine. Each sum is the same chain
    over the positions in order, then added to ``part``: the same bits as
    :func:`taps_outer`."""
    if not _typed((part, x, g), (p0, xb, xstep, o0, gb, K, m), (offs,)):
        return None
    sig = types.void(part, p0, x, xb, xstep, offs, o0, g, gb, K, m)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b, K_, n = builder, r.ints[9], r.n
        zero = ir.Constant(r.vt, [0.0] * n)
        offv = [r.element(5, r.add(r.ints[6], r.const(t))) for t in range(PAIR_TAPS)]

        def sums(k):
            def step(j, accs):
                row = r.add(r.ints[8], b.mul(j, K_), k)
                gv = (r.load(7, row), r.load(7, r.add(row, r.const(n))))
                at = r.add(r.ints[3], b.mul(j, r.ints[4]))
                new = []
                for t in range(PAIR_TAPS):
                    xv = r.splat(r.element(2, r.add(at, offv[t])))
                    new += [r.fma(xv, gv[0], accs[2 * t]), r.fma(xv, gv[1], accs[2 * t + 1])]
                return new

            # (not unrolled, as :func:`taps_outer`'s loop)
            return r.loop("pairs", r.ints[10], [zero] * (2 * PAIR_TAPS), step, unroll=False)

        r.add_rows("pairs.k", 0, r.ints[1], K_, K_, sums, width=2)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_taps_outer_pairs` as kernels call it (:func:`taps_outer`'s arguments)
taps_outer_pairs = cast("Callable[..., None]", _taps_outer_pairs)


#: output rows :func:`rows_taps` computes together (eight accumulators)
ROWS = 8


@intrinsic
def _rows_taps(typingctx, out, o0, ostride, xp, x0, xstride, w, krows, ml, count):
    """``out[o0 + r*ostride + q] = sum over (kr, j) of w[kr*ml + j] * xp[x0 + (r + kr)*xstride
    + j + q]`` for ``r < ROWS`` neighbouring rows of a 2-D correlation's output and ``q <
    count`` (in vectors of ``lanes``, the last one overlapping the one before; ``count >=
    lanes``): a ``krows`` x ``ml`` kernel over rows of ``xp`` ``xstride`` apart. The sums
    stay in registers from zero to the store, one fused multiply-add a tap, the kernel rows
    in groups of three (then two, then one) and in a group column by column: each input
    vector is loaded once for the up to three kernel rows that read it (ten loads for 24
    multiply-adds), where a loop over one row's taps loaded a vector for every multiply-add
    and ran at the L2 cache's rate. The order is fixed by the kernel's shape alone. ``out``,
    ``xp``, ``w`` 1-D C-contiguous of one float dtype; the caller keeps every index in
    bounds."""
    if not _typed((out, xp, w), (o0, ostride, x0, xstride, krows, ml, count)):
        return None
    sig = types.void(out, o0, ostride, xp, x0, xstride, w, krows, ml, count)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b = builder
        xs, krows_, ml_ = r.ints[5], r.ints[7], r.ints[8]
        zero = ir.Constant(r.vt, [0.0] * r.n)
        n3 = b.sdiv(krows_, r.const(3))
        rest = b.sub(krows_, r.mul(n3, 3))
        n2 = b.sdiv(rest, r.const(2))
        n1 = b.sub(rest, r.mul(n2, 2))

        def block(k):
            base = r.add(r.ints[4], k)

            def groups(g, kr0, trips, accs):  # kernel rows kr0, kr0 + g, ... in groups of g
                def group(i, accs):
                    kr = b.add(kr0, r.mul(i, g))

                    def column(j, accs):
                        at = r.add(base, b.mul(kr, xs), j)
                        vs = [r.load(3, b.add(at, r.mul(xs, h))) for h in range(ROWS + g - 1)]
                        ws = [r.splat(r.element(6, r.add(b.mul(b.add(kr, r.const(h)), ml_), j)))
                              for h in range(g)]
                        new = []
                        for row, a in enumerate(accs):
                            for h in range(g):
                                a = r.fma(ws[h], vs[row + h], a)
                            new.append(a)
                        return new

                    return r.loop("cols", ml_, accs, column)

                return r.loop(f"rows{g}", trips, accs, group)

            accs = groups(3, r.const(0), n3, [zero] * ROWS)
            accs = groups(2, r.mul(n3, 3), n2, accs)
            accs = groups(1, r.add(r.mul(n3, 3), r.mul(n2, 2)), n1, accs)
            for j, a in enumerate(accs):
                r.store(0, r.add(r.ints[1], r.mul(r.ints[2], j), k), a)

        # one copy of the body (half the compile time of a loop and a separate tail): vector
        # i starts at min(i*lanes, count - lanes), the last one overlapping the one before
        count = r.ints[9]
        last = b.sub(count, r.const(r.n))
        nvec = b.sdiv(b.add(count, r.const(r.n - 1)), r.const(r.n))

        def vector(i, _):
            k = r.mul(i, r.n)
            block(b.select(b.icmp_signed("<", k, last), k, last))
            return []

        r.loop("rows", nvec, [], vector)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_rows_taps` as kernels call it, ``rows_taps(out, o0, ostride, xp, x0, xstride, w,
#: krows, ml, count)``
rows_taps = cast("Callable[..., None]", _rows_taps)


#: filters :func:`taps_tile` computes together
TILE_FILTERS = 4


def tile_width() -> int:
    """Vectors of positions :func:`taps_tile` takes per filter: six with 32 registers
    (AVX-512: 24 accumulators, four broadcasts, a load), three with 16 (12 accumulators;
    the position vectors are the multiply-adds' memory operands)."""
    return 6 if register_bytes() == 64 else 3


def positions_tile_shapes() -> tuple[tuple[int, int], ...]:
    """(positions, vectors of filters) of :func:`positions_tile`,
    :func:`positions_tile_narrow` and :func:`positions_tile_thin`: with 32 registers 6 x 4
    (24 accumulators, the four filter vectors, a broadcast), 8 x 2 (for 2-3 vectors of
    filters; the stem's 64 filters ran 1.09 -> 1.32 ms at 8 x 2: twice the broadcasts) and
    12 x 1 (for one vector); with 16 registers 6 x 2 (12 accumulators, the two filter
    vectors, a broadcast) for two or more vectors and 4 x 2 for maps of four or five
    positions (at 3 x 4 LLVM kept the four filter vectors in registers and spilled an
    accumulator to the stack every tap, the stem's channels-last forward at half speed;
    against 4 x 2, 6 x 2 ran the channels-last stem 1.15x (batch 4 1.23x), the few-channel
    stride-1 layers 1.08-1.22x and the one-image gradient tiles 1.0-1.3x, the same bits;
    Zen 3, same process)."""
    return ((6, 4), (8, 2), (12, 1)) if register_bytes() == 64 else ((6, 2), (6, 2), (4, 2))


def _tile_sums(r, nt, first, a_of, b_of):
    """The ``A x B`` accumulators of a register tile after the taps ``t < nt`` in order:
    ``acc[a*B + b] = first[a*B + b] + sum_t a_of(t)[a] * b_of(t)[b]`` (fused multiply-adds;
    ``a_of``: broadcast vectors, ``b_of``: loaded vectors)."""
    def step(t, accs):
        bs = b_of(t)
        return [r.fma(av, bs[j], accs[i * len(bs) + j])
                for i, av in enumerate(a_of(t)) for j in range(len(bs))]

    return r.loop("tile", nt, first, step)


@intrinsic
def _taps_tile(typingctx, out, o0, ostride, os, xp, qs, v0, offs, wts, bias, nt):
    """``out[o0 + f*ostride + os[v0 + v] + i] = bias[f] + sum_t wts[t*TILE_FILTERS + f] *
    xp[offs[t] + qs[v0 + v] + i]`` for ``f < TILE_FILTERS`` filters, ``v < tile_width()``
    vectors and lanes ``i``, the taps ``t < nt`` in order (fused multiply-adds). The vectors
    are any ``lanes`` positions each (``qs`` their start in ``xp``'s grid, ``os`` in the
    output planes), so a tile spans output rows and a row's last vector may overlap the one
    before (both store the same sums). Per tap: a vector load for each of the tile's
    vectors, a broadcast for each filter, 24 multiply-adds (AVX-512) all in registers from
    the bias to the store: the register tile of a GEMM's inner kernel, read straight from
    the input grid. ``out``, ``xp``, ``wts``, ``bias`` 1-D C-contiguous of one float dtype;
    ``os``, ``qs``, ``offs`` int64; the caller keeps every index in bounds."""
    if not _typed((out, xp, wts, bias), (o0, ostride, v0, nt), (os, qs, offs)):
        return None
    sig = types.void(out, o0, ostride, os, xp, qs, v0, offs, wts, bias, nt)

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        F, V = TILE_FILTERS, tile_width()
        vs = [r.add(r.ints[6], r.const(v)) for v in range(V)]
        qv = [r.element(5, v) for v in vs]

        def a_of(t):
            w0 = r.mul(t, F)
            return [r.splat(r.element(8, r.add(w0, r.const(f)))) for f in range(F)]

        def b_of(t):
            base = r.element(7, t)
            return [r.load(4, r.add(base, q)) for q in qv]

        first = [r.splat(r.element(9, r.const(f))) for f in range(F) for _ in range(V)]
        accs = _tile_sums(r, r.ints[10], first, a_of, b_of)
        for f in range(F):
            row = r.add(r.ints[1], r.mul(r.ints[2], f))
            for v in range(V):
                r.store(0, r.add(row, r.element(3, vs[v])), accs[f * V + v])
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_taps_tile` as kernels call it, ``taps_tile(out, o0, ostride, os, xp, qs, v0, offs,
#: wts, bias, nt)``
taps_tile = cast("Callable[..., None]", _taps_tile)


def _positions_tile_codegen(shape: int):
    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        P, KV = positions_tile_shapes()[shape]
        K_, k0_ = r.ints[2], r.ints[8]
        xb = [r.element(4, r.add(r.ints[5], r.const(p))) for p in range(P)]
        ks = [r.add(k0_, r.const(j * r.n)) for j in range(KV)]

        def a_of(t):
            base = r.element(6, t)
            return [r.splat(r.element(3, r.add(base, x))) for x in xb]

        def b_of(t):
            row = builder.mul(t, K_)
            return [r.load(7, r.add(row, k)) for k in ks]

        first = [r.load(9, k) for _ in range(P) for k in ks]
        accs = _tile_sums(r, r.ints[10], first, a_of, b_of)
        for p in range(P):
            row = r.add(r.ints[1], builder.mul(r.add(r.ints[5], r.const(p)), K_))
            for j, k in enumerate(ks):
                r.store(0, r.add(row, k), accs[p * KV + j])
        return context.get_dummy_value()

    return codegen


@intrinsic
def _positions_tile(typingctx, out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt):
    """The channels-last twin of :func:`taps_tile`: ``out[o0 + (p0 + p)*K + k0 + j*lanes + i]
    = bias[k] + sum_t xp[offs[t] + xs[p0 + p]] * wt[t*K + k]`` (``k = k0 + j*lanes + i``)
    for ``p < P`` consecutive output positions (``xs``: where each one's window starts in
    ``xp``), ``j < J`` vectors of filters (``(P, J)``: :func:`positions_tile_shapes`), the
    taps ``t < nt`` in order (fused multiply-adds: each element the same sum as
    :func:`taps_tile`'s). Per tap: a vector load for each filter vector, a broadcast for
    each position, 24 multiply-adds (AVX-512). ``out``, ``xp``, ``wt``, ``bias`` 1-D
    C-contiguous of one float dtype; ``xs``, ``offs`` int64; the caller keeps every index
    in bounds."""
    if not _typed((out, xp, wt, bias), (o0, K, p0, k0, nt), (xs, offs)):
        return None
    return types.void(out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt), \
        _positions_tile_codegen(0)


@intrinsic
def _positions_tile_narrow(typingctx, out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt):
    """:func:`positions_tile` in the second shape of :func:`positions_tile_shapes` (fewer
    vectors of filters, more positions)."""
    if not _typed((out, xp, wt, bias), (o0, K, p0, k0, nt), (xs, offs)):
        return None
    return types.void(out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt), \
        _positions_tile_codegen(1)


#: :func:`_positions_tile_narrow` as kernels call it (:func:`positions_tile`'s arguments)
positions_tile_narrow = cast("Callable[..., None]", _positions_tile_narrow)


@intrinsic
def _positions_tile_thin(typingctx, out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt):
    """:func:`positions_tile` in the third shape of :func:`positions_tile_shapes` (one
    vector of filters)."""
    if not _typed((out, xp, wt, bias), (o0, K, p0, k0, nt), (xs, offs)):
        return None
    return types.void(out, o0, K, xp, xs, p0, offs, wt, k0, bias, nt), \
        _positions_tile_codegen(2)


#: :func:`_positions_tile_thin` as kernels call it (:func:`positions_tile`'s arguments)
positions_tile_thin = cast("Callable[..., None]", _positions_tile_thin)

positions_tile = cast("Callable[..., None]", _positions_tile)


def dots_tile_shapes() -> tuple[tuple[int, int], ...]:
    """(positions, channels) of :func:`channel_dots`', :func:`channel_dots3`' and
    :func:`channel_dot`'s tiles: with 16 registers 8 x 1 (eight accumulators, the weight
    vector, a gradient vector; 6, 10 and 12 positions ran as fast) and 4 x 3 (twelve
    accumulators, three weight vectors, a gradient vector; 3 x 3 ran 1.1-1.4x slower, 5 x
    3 spilled, Zen 3); with 32 registers 8 x 1 and 8 x 3 (inspected for AVX-512, not run:
    at 16 x 1 LLVM ran out of general registers for the 16 positions' addresses and
    reloaded eight from the stack every step); one position by one channel."""
    tiles = ((8, 1), (8, 3)) if register_bytes() == 64 else ((8, 1), (4, 3))
    return (*tiles, (1, 1))


def _hsum(r, v):
    """The sum of the lanes of ``v``: halves added, a fixed tree."""
    b, i32, m = r.b, ir.IntType(32), r.n
    while m > 1:
        h = m // 2
        lo = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h))))
        hi = b.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h, m))))
        v, m = b.fadd(lo, hi), h
    return b.extract_element(v, ir.Constant(i32, 0))


#: the arguments of :func:`channel_dots`, in order (the codegen reads them by name)
_DOTS_ARGS = ("out", "o0", "ostep", "orow", "g", "g0", "gstep", "grow", "nrows", "span",
              "hstep", "rows", "S", "sg", "L", "wt", "w0", "wrow", "sw", "cstep", "bias",
              "b0")


def _channel_dots_codegen(shape: int):
    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b, n = builder, r.n
        P, Cg = dots_tile_shapes()[shape]
        at = {name: i for i, name in enumerate(_DOTS_ARGS)}
        v = {name: r.ints[i] for name, i in at.items() if i in r.ints}
        OUT, G, WT, BIAS = at["out"], at["g"], at["wt"], at["bias"]
        K_n, L = r.const(n), v["L"]
        zero = ir.Constant(r.vt, [0.0] * n)
        full = b.sdiv(b.sub(L, r.const(1)), K_n)  # vectors before the last
        last = b.sub(L, K_n)  # (the last vector overlaps the one before)
        seen = b.sub(b.mul(full, K_n), last)
        keep = r.after(seen)
        plain = b.icmp_signed("==", seen, r.const(0))
        gp = [b.mul(v["gstep"], r.const(p)) for p in range(P)]
        wc = [b.mul(v["cstep"], r.const(c)) for c in range(Cg)]
        span_last = b.sub(v["span"], r.const(P))
        tiles = b.sdiv(b.add(v["span"], r.const(P - 1)), r.const(P))

        def vector(gb, wb, k, accs, mask=None):
            ws = [r.load(WT, r.add(wb, wc[c], k)) for c in range(Cg)]
            new = list(accs)
            for p in range(P):
                gv = r.load(G, r.add(gb, gp[p], k))
                for c in range(Cg):
                    i = p * Cg + c
                    f = r.fma(gv, ws[c], accs[i])
                    new[i] = f if mask is None else b.select(mask, f, accs[i])
            return new

        def run(gb, wb, accs):
            # (not unrolled: runs of a few vectors, 12 for a 3x3 kernel's row of 32
            # filters, spent more on the unrolled loop's set-up and remainder than they
            # gained: 1.13-1.19x, the same bits; Zen 3)
            accs = r.loop("dots.k", full, accs,
                          lambda j, a: vector(gb, wb, b.mul(j, K_n), a), unroll=False)
            with b.if_else(plain) as (then, other):
                with then:
                    whole, at_whole = vector(gb, wb, last, accs), b.block
                with other:
                    masked, at_masked = vector(gb, wb, last, accs, keep), b.block
            out = []
            for x, y in zip(whole, masked, strict=True):
                phi = b.phi(r.vt)
                phi.add_incoming(x, at_whole)
                phi.add_incoming(y, at_masked)
                out.append(phi)
            return out

        def tile(o0, g0):
            def row(i, accs):
                gr = b.sub(g0, b.mul(i, v["hstep"]))
                wr = b.add(v["w0"], b.mul(i, v["wrow"]))
                return r.loop("dots.s", v["S"], accs, lambda j, a: run(
                    b.add(gr, b.mul(j, v["sg"])), b.add(wr, b.mul(j, v["sw"])), a))

            accs = r.loop("dots.rows", v["rows"], [zero] * (P * Cg), row)
            for p in range(P):
                o = b.add(o0, b.mul(v["ostep"], r.const(p)))
                for c in range(Cg):
                    bias = r.element(BIAS, r.add(v["b0"], r.const(c)))
                    value = b.fadd(bias, _hsum(r, accs[p * Cg + c]))
                    b.store(value, b.gep(r.arrays[OUT].data, [r.add(o, r.const(c))]))

        def line(R, _):
            o_line = b.add(v["o0"], b.mul(R, v["orow"]))
            g_line = b.add(v["g0"], b.mul(R, v["grow"]))

            def step(t, _):
                q = b.mul(t, r.const(P))
                q = b.select(b.icmp_signed("<", q, span_last), q, span_last)
                tile(b.add(o_line, b.mul(q, v["ostep"])), b.add(g_line, b.mul(q, v["gstep"])))
                return []

            r.loop("dots.tiles", tiles, [], step)
            return []

        r.loop("dots.lines", v["nrows"], [], line)
        return context.get_dummy_value()

    return codegen


def _channel_dots_typer(shape: int):
    def typer(typingctx, out, o0, ostep, orow, g, g0, gstep, grow, nrows, span, hstep, rows,
              S, sg, L, wt, w0, wrow, sw, cstep, bias, b0):
        args = (out, o0, ostep, orow, g, g0, gstep, grow, nrows, span, hstep, rows, S, sg, L,
                wt, w0, wrow, sw, cstep, bias, b0)
        arrays = (out, g, wt, bias)
        if not _typed(arrays, [a for a in args if all(a is not x for x in arrays)]):
            return None
        return types.void(*args), _channel_dots_codegen(shape)

    return typer


def _channel_dots(shape: int, name: str):
    typer = _channel_dots_typer(shape)
    typer.__name__ = typer.__qualname__ = name
    return cast("Callable[..., None]", intrinsic(typer))


#: ``channel_dots(out, o0, ostep, orow, g, g0, gstep, grow, nrows, span, hstep, rows, S, sg,
#: L, wt, w0, wrow, sw, cstep, bias, b0)``: for ``nrows`` lines of ``span >= P``
#: positions (position ``q`` of line ``R`` at ``o = o0 + R*orow + q*ostep`` in ``out``,
#: ``h = g0 + R*grow + q*gstep`` in ``g``), in tiles of ``P`` positions (the last one
#: overlapping the one before; ``P``: :func:`dots_tile_shapes`), and channels ``c < 1``,
#: ``out[o + c] = bias[b0 + c] + sum of the lanes of acc``, where ``acc`` (a vector) is the
#: sum over ``i < rows``, ``j < S`` and the vectors of ``m < L`` (in that order) of ``g[h -
#: i*hstep + j*sg + m] * wt[w0 + i*wrow + j*sw + c*cstep + m]``, fused multiply-adds, the
#: lanes summed by a fixed tree. Each run of ``L >= lanes`` elements is read in vectors,
#: the last overlapping the one before and adding only the lanes the others did not: the
#: dot products of a channels-last input gradient with few input channels
#: (:mod:`numbaconv.cpu.strided`), each run a kernel row's taps times the filters,
#: contiguous in the output gradient. ``out``, ``g``, ``wt``, ``bias`` 1-D C-contiguous of
#: one float dtype; the caller keeps every index in bounds. :func:`channel_dots3`: the
#: same for three channels, each gradient vector loaded once for the three;
#: :func:`channel_dot`: one position at a time.
channel_dots, channel_dots3, channel_dot = (
    _channel_dots(s, name) for s, name in enumerate(
        ("_channel_dots", "_channel_dots3", "_channel_dot")))


def grad_tile_shape(whole: bool = False) -> tuple[int, int]:
    """(filters, taps) of :func:`taps_grad_tile`: 4 x 5 with 32 registers (20 accumulators,
    four gradient vectors, the five input vectors, which LLVM loads ahead of their
    multiply-adds: at 4 x 6 it spilled the tile, 2.6 ms against 1.4 for the stem's), 2 x 4
    with 16. ``whole``: of :func:`taps_grad_tile_whole` (rows of whole vectors, no lane
    mask): 2 x 6 with 16 registers (twelve accumulators, two gradient vectors and an input
    vector; the mask and its zero no longer held: Zen 3, two threads, the stem's 7x7/2
    3.26 -> 2.33 ms, (8, 3, 64, 64) -> 32 5x5/2 0.55 -> 0.43, (32, 3, 32, 32) -> 16 3x3
    0.42 -> 0.34; 3 x 4 gained a little less, 2 x 7 spilled and lost 10%), 4 x 5 with 32
    (not measured on an AVX-512 machine: the shape that did not spill with the mask)."""
    if register_bytes() == 64:
        return (4, 5)
    return (2, 6) if whole else (2, 4)


def _grad_tile_codegen(masked: bool):
    """The IR of :func:`taps_grad_tile` (``masked``) or :func:`taps_grad_tile_whole` (the
    same arguments but ``skip``; every lane of every vector counted)."""
    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        b = builder
        F, T = grad_tile_shape(whole=not masked)
        xp_, qs_, v0_i, v1_i, offs_, t0_ = (8, 9, 10, 11, 12, 13) if masked else \
            (7, 8, 9, 10, 11, 12)
        zero = ir.Constant(r.vt, [0.0] * r.n)
        offt = [r.element(offs_, r.add(r.ints[t0_], r.const(j))) for j in range(T)]
        v0_ = r.ints[v0_i]

        i32 = ir.IntType(32)
        lane = ir.Constant(ir.VectorType(i32, r.n), list(range(r.n)))

        def gradients(v, o):
            loads = [r.load(3, r.add(r.ints[4], r.mul(r.ints[5], f), o)) for f in range(F)]
            if not masked:
                return loads
            # (32-bit lanes: one compare into a mask register; 64-bit ones took four vector
            # registers and spilled the tile)
            first = b.insert_element(ir.Constant(ir.VectorType(i32, r.n), ir.Undefined),
                                     b.trunc(r.element(7, v), i32), ir.Constant(i32, 0))
            skipv = b.shuffle_vector(first, ir.Constant(ir.VectorType(i32, r.n), ir.Undefined),
                                     ir.Constant(ir.VectorType(i32, r.n), [0] * r.n))
            keep = b.icmp_signed(">=", lane, skipv)
            return [b.select(keep, gv, zero) for gv in loads]

        def step(i, accs):
            v = b.add(v0_, i)
            o, q = r.element(6, v), r.element(qs_, v)
            gv = gradients(v, o)
            out = list(accs)
            for j in range(T):
                xv = r.load(xp_, r.add(offt[j], q))
                for f in range(F):
                    out[f * T + j] = r.fma(gv[f], xv, accs[f * T + j])
            return out

        accs = r.loop("grad", b.sub(r.ints[v1_i], v0_), [zero] * (F * T), step, unroll=False)
        reduce_ = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(r.ft, [r.ft, r.vt]),
            f"llvm.vector.reduce.fadd.v{r.n}{r.ft.intrinsic_name}")
        for f in range(F):
            for j in range(T):
                s = b.call(reduce_, [ir.Constant(r.ft, 0.0), accs[f * T + j]],
                           fastmath=("reassoc",))
                at = r.add(r.ints[1], r.mul(r.ints[2], f), r.const(j))
                b.store(s, b.gep(r.arrays[0].data, [at]))
        return context.get_dummy_value()

    return codegen


@intrinsic
def _taps_grad_tile(typingctx, part, p0, ldp, g, g0, gs, os, skip, xp, qs, v0, v1, offs, t0):
    """The weight-gradient twin of :func:`taps_tile`: ``part[p0 + f*ldp + j] = sum over the
    vectors v0 <= v < v1 and their lanes i >= skip[v] of g[g0 + f*gs + os[v] + i] *
    xp[offs[t0 + j] + qs[v] + i]`` for ``(f, j) < grad_tile_shape()`` (filters, taps): one
    multiply-add chain a lane over the vectors in order, then the lanes summed by LLVM's
    reduction tree (the bits fixed by the vectors and the compiled code, not by the
    threads). ``skip[v]`` leaves out the first lanes of a row's last vector where it
    overlaps the one before. Per vector: a load for each filter's gradient and each tap's
    input, 20 multiply-adds (AVX-512), the sums in registers throughout (the loop is not
    unrolled: two iterations' loads spilled the tile). ``part``, ``g``, ``xp`` 1-D C-contiguous of one float
    dtype; ``os``, ``skip``, ``qs``, ``offs`` int64; the caller keeps every index in
    bounds."""
    if not _typed((part, g, xp), (p0, ldp, g0, gs, v0, v1, t0), (os, skip, qs, offs)):
        return None
    sig = types.void(part, p0, ldp, g, g0, gs, os, skip, xp, qs, v0, v1, offs, t0)
    return sig, _grad_tile_codegen(masked=True)


@intrinsic
def _taps_grad_tile_whole(typingctx, part, p0, ldp, g, g0, gs, os, xp, qs, v0, v1, offs, t0):
    """:func:`taps_grad_tile` for rows of whole vectors (no ``skip``: the output rows a
    multiple of the lanes), in tiles of ``grad_tile_shape(whole=True)``: without the lane
    mask, two more accumulators fit 16 registers. Each sum is the same chain over the
    vectors as the masked tile's, so the same bits."""
    if not _typed((part, g, xp), (p0, ldp, g0, gs, v0, v1, t0), (os, qs, offs)):
        return None
    sig = types.void(part, p0, ldp, g, g0, gs, os, xp, qs, v0, v1, offs, t0)
    return sig, _grad_tile_codegen(masked=False)


#: :func:`_taps_grad_tile` as kernels call it, ``taps_grad_tile(part, p0, ldp, g, g0, gs,
#: os, skip, xp, qs, v0, v1, offs, t0)``
taps_grad_tile = cast("Callable[..., None]", _taps_grad_tile)
#: :func:`_taps_grad_tile_whole` as kernels call it, ``taps_grad_tile_whole(part, p0, ldp, g,
#: g0, gs, os, xp, qs, v0, v1, offs, t0)``
taps_grad_tile_whole = cast("Callable[..., None]", _taps_grad_tile_whole)


def column_vectors() -> int:
    """Vectors of float64 channels :func:`column_moments` sums at once: four with 32
    registers (a backward's twelve accumulators, the four mean vectors and temporaries), two
    with 16."""
    return 4 if register_bytes() == 64 else 2


@intrinsic(prefer_literal=True)
def _column_moments(typingctx, out0, out1, out2, out3, x, g, m, x0, ld, rows, c0, mode, J):
    """Per-channel sums down the rows of a channels-last block, for ``J`` vectors of float64
    channels ``c0 + i`` (``i < J * register_bytes() // 8``), each lane's sum over the rows
    ``r < rows`` in row order from 0.0, ``v = float64(x[x0 + r*ld + c0 + i])``:

    * ``mode`` 0: ``out0[c0 + i] = sum v``;
    * ``mode`` 1: ``out0[c0 + i] = sum (v - m[c0 + i])**2``;
    * ``mode`` 2: that, and ``out1 = sum w``, ``out2 = sum w * (v - m)`` with ``w`` the same
      element of ``g`` (a batch norm's backward sums);
    * ``mode`` 3: those three, and ``out3 = sum (v - m)`` (a backward's one pass, ``m`` a
      shift rather than the mean);
    * ``mode`` 4: ``out0 = sum (v - m)**2`` and ``out3 = sum (v - m)`` (the statistics' one
      pass).

    The squares and products are fused multiply-adds. The sums stay in registers over the
    rows (a loop of ``acc[c] += x[r, c]`` over the channels stored and reloaded every
    channel vector every row, and spent a row's worth of loop set-up on 32 channels): the
    same bits as that loop with ``contract``. ``x``, ``g`` 1-D C-contiguous float32 or
    float64 (converted lane by lane), ``out*``, ``m`` float64; ``mode`` and ``J`` literal
    integers; the caller keeps every index in bounds (``out1``, ``out2``, ``out3``, ``g``,
    ``m`` are read or written only where the mode needs them)."""
    if not (isinstance(mode, types.IntegerLiteral) and isinstance(J, types.IntegerLiteral)):
        return None
    if not (all(_vector(v) and v.dtype == types.float64 for v in (out0, out1, out2, out3, m))
            and _vector(x) and _vector(g) and x.dtype == g.dtype
            and all(isinstance(v, types.Integer) for v in (x0, ld, rows, c0))):
        return None
    md, nj = mode.literal_value, J.literal_value
    sig = types.void(out0, out1, out2, out3, x, g, m, x0, ld, rows, c0, mode, J)

    def codegen(context, builder, sig, args):
        b = builder
        arrays = [context.make_array(t)(context, b, a) for t, a in zip(sig.args[:7], args[:7],
                                                                          strict=True)]
        it = context.get_value_type(types.intp)
        x0_, ld_, rows_, c0_ = (context.cast(b, a, t, types.intp)
                                for a, t in zip(args[7:11], sig.args[7:11], strict=True))
        n = register_bytes() // 8
        f64 = ir.DoubleType()
        vd = ir.VectorType(f64, n)
        xt = context.get_value_type(sig.args[4].dtype)
        vx = ir.VectorType(xt, n)
        fma = cgutils.get_or_insert_function(b.module, ir.FunctionType(vd, [vd] * 3),
                                             f"llvm.fma.v{n}f64")

        def vec(k, at, t):
            p = b.bitcast(b.gep(arrays[k].data, [at]), t.as_pointer())
            v = b.load(p, align=context.get_abi_sizeof(t.element))
            return v if t.element == f64 else b.fpext(v, vd)

        cs = [b.add(c0_, ir.Constant(it, j * n)) for j in range(nj)]
        means = [vec(6, c, vd) for c in cs] if md else []
        zero = ir.Constant(vd, [0.0] * n)
        per = (1, 1, 3, 4, 2)[md]
        entry = b.block
        head, body, tail = (b.append_basic_block(f"cols.{s}") for s in ("head", "body", "tail"))
        b.branch(head)
        b.position_at_end(head)
        r = b.phi(it)
        accs = [b.phi(vd) for _ in range(per * nj)]
        r.add_incoming(ir.Constant(it, 0), entry)
        for a in accs:
            a.add_incoming(zero, entry)
        b.cbranch(b.icmp_signed("<", r, rows_), body, tail)
        b.position_at_end(body)
        row = b.add(x0_, b.mul(r, ld_))
        new = []
        for j, c in enumerate(cs):
            at = b.add(row, c)
            v = vec(4, at, vx)
            if md == 0:
                new.append(b.fadd(accs[j], v))
                continue
            d = b.fsub(v, means[j])
            new.append(b.call(fma, [d, d, accs[per * j]]))
            if md == 4:
                new.append(b.fadd(accs[per * j + 1], d))
            if md in (2, 3):
                w = vec(5, at, vx)
                new.append(b.fadd(accs[per * j + 1], w))
                new.append(b.call(fma, [w, d, accs[per * j + 2]]))
            if md == 3:
                new.append(b.fadd(accs[per * j + 3], d))
        for a, v in zip(accs, new, strict=True):
            a.add_incoming(v, b.block)
        r.add_incoming(b.add(r, ir.Constant(it, 1)), b.block)
        b.branch(head)
        b.position_at_end(tail)
        slots = ((0,), (0,), (0, 1, 2), (0, 1, 2, 3), (0, 3))[md]  # the outputs written
        for j, c in enumerate(cs):
            for k, o in enumerate(slots):
                p = b.bitcast(b.gep(arrays[o].data, [c]), vd.as_pointer())
                b.store(accs[per * j + k], p, align=8)
        return context.get_dummy_value()

    return sig, codegen


#: :func:`_column_moments` as kernels call it, ``column_moments(out0, out1, out2, out3, x, g, m,
#: x0, ld, rows, c0, mode, J)``
column_moments = cast("Callable[..., None]", _column_moments)


def _combination(r: _IR, coefs, values):
    """``sum_q coefs[q] * values[q]`` over vectors, in order, skipping zero coefficients and
    multiplying by none of 1 (a compile-time linear combination: fused multiply-adds)."""
    total = None
    for c, v in zip(coefs, values, strict=True):
        if c == 0:
            continue
        k = r.splat(ir.Constant(r.ft, float(c)))
        if total is None:
            total = v if c == 1 else r.b.fmul(k, v)
        else:
            total = r.b.fadd(total, v) if c == 1 else r.fma(k, v, total)
    return total if total is not None else ir.Constant(r.vt, None)


def sandwich_rows(G) -> Callable[..., None]:
    """An intrinsic ``rows(dst, d0, dstride, src, s0, sstride, count)``: the Winograd weight
    transform ``G g G^T`` of ``count >= lanes`` 3x3 kernels side by side, for the constant
    ``R x 3`` matrix ``G`` (a tuple of rows). Kernel ``j``'s tap ``(a, b)`` is
    ``src[s0 + (3 a + b) sstride + j]`` (nine rows of taps); component ``(i, m)`` of its
    transform goes to ``dst[d0 + (R i + m) dstride + j]``. A vector of kernels at a time
    (the last overlapping the one before): its nine tap vectors loaded once, ``G g`` in
    registers, every component a combination of three of them with ``G``'s constants
    folded in (zeros skipped, ones not multiplied), stored along its row. ``dst`` and
    ``src`` 1-D C-contiguous arrays of one float dtype, computed in it.

    The weight transform written as Numba loops stayed scalar (each kernel's 36 components
    go to 36 rows: too many store streams for LLVM's run-time overlap checks) and ran at
    ~55 cycles a kernel in float64, bound by its scalar conversions and stores."""
    rows_g = tuple(tuple(float(v) for v in row) for row in G)
    R = len(rows_g)

    @intrinsic
    def _rows(typingctx, dst, d0, dstride, src, s0, sstride, count):
        if not _typed((dst, src), (d0, dstride, s0, sstride, count)):
            return None
        sig = types.void(dst, d0, dstride, src, s0, sstride, count)

        def codegen(context, builder, sig, args):
            r = _IR(context, builder, sig, args)
            d0_, ds, s0_, ss, n = (r.ints[i] for i in (1, 2, 4, 5, 6))

            def body(k):
                taps = [r.load(3, r.add(s0_, r.mul(ss, q), k)) for q in range(9)]
                gg = [[_combination(r, rows_g[i], [taps[s], taps[3 + s], taps[6 + s]])
                       for s in range(3)] for i in range(R)]
                for i in range(R):
                    for m in range(R):
                        r.store(0, r.add(d0_, r.mul(ds, R * i + m), k),
                                _combination(r, rows_g[m], gg[i]))

            r.over_vectors("sandwich", n, body)
            return context.get_dummy_value()

        return sig, codegen

    return cast("Callable[..., None]", _rows)


def matrix_rows(M, accumulate: bool = False, bias: bool = False) -> Callable[..., None]:
    """An intrinsic ``rows(dst, d0, dstride, src, s0, sstride, count)``: the constant ``R x
    Q`` matrix ``M`` (a tuple of rows) applied to ``count >= lanes`` columns side by side,
    ``dst[d0 + i dstride + j] = sum_q M[i][q] src[s0 + q sstride + j]`` for ``j < count``
    (``accumulate``: ``+=``, the last vector adding only the lanes the others did not;
    ``bias``: a last argument ``b``, ``b[j]`` added to every output of column ``j``). A
    vector of columns at a time (the last overlapping the one before): its ``Q`` source
    vectors loaded once, every output a combination of them with ``M``'s constants folded in
    (:func:`_combination`), stored along its row. ``dst`` and ``src`` 1-D C-contiguous
    arrays of one float dtype (the same array where the two ranges do not overlap).

    The Winograd tile transforms, written as Numba loops (six loads and six stores or
    read-modify-writes a column), stayed scalar: too many streams for LLVM's run-time
    overlap checks (F(4x4)'s input-gradient adjoint, one tile row of 32 channels, 125-220 ns
    a call, ~4 ns a channel)."""
    rows_m = tuple(tuple(float(v) for v in row) for row in M)
    Q = len(rows_m[0])

    def codegen(context, builder, sig, args):
        r = _IR(context, builder, sig, args)
        d0_, ds, s0_, ss, n = (r.ints[i] for i in (1, 2, 4, 5, 6))

        def sums(k):
            v = [r.load(3, r.add(s0_, r.mul(ss, q), k)) for q in range(Q)]
            out = [_combination(r, row, v) for row in rows_m]
            if bias:
                bk = r.load(7, k)
                out = [r.b.fadd(o, bk) for o in out]
            return out

        if accumulate:
            r.add_rows("matrix", 0, d0_, ds, n, sums)
        else:
            def body(k):
                for i, s in enumerate(sums(k)):
                    r.store(0, r.add(d0_, r.mul(ds, i), k), s)

            r.over_vectors("matrix", n, body)
        return context.get_dummy_value()

    @intrinsic
    def _rows_bias(typingctx, dst, d0, dstride, src, s0, sstride, count, b):
        if not _typed((dst, src, b), (d0, dstride, s0, sstride, count)):
            return None
        return types.void(dst, d0, dstride, src, s0, sstride, count, b), codegen

    @intrinsic
    def _rows(typingctx, dst, d0, dstride, src, s0, sstride, count):
        if not _typed((dst, src), (d0, dstride, s0, sstride, count)):
            return None
        return types.void(dst, d0, dstride, src, s0, sstride, count), codegen

    return cast("Callable[..., None]", _rows_bias if bias else _rows)
