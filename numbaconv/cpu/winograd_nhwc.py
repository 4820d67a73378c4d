"""CPU-only Winograd F(2x2, 3x3) for small maps: channels-last transforms, batched over images.

:mod:`numbaconv.cpu.winograd` vectorises its transforms along a row of tiles,
which is long on a 56x56 map and 3 to 7 tiles on the 5x5 to 14x14 maps of small
CNNs, where its transforms then cost more than its GEMMs. Here every transform is
vectorised along ``(tile column, channel)``:

* each image of a block is copied once into two channels-last planes holding its
  even and odd padded columns (``ph[phase, row, col // 2, c]``), so the 16 inputs
  of tile ``tx`` at row ``r`` lie at ``ph[b % 2, r, tx + b // 2, :]`` and, for a
  whole row of tiles, at one contiguous run of ``ntx * C`` elements;
* input transform ``V[e, t, c] = (B^T d B)[e]``: per row of tiles, 16 loops, each
  a signed sum of 4 runs (:func:`_input_transform`);
* 16 GEMMs ``M[e] = V[e] @ U[e]`` ``(T x C) @ (C x K)``, ``T`` the tiles of a block of
  images;
* output transform ``A^T M A`` in two passes of 3-run sums per row of tiles, bias
  added, a check for non-finite values, then one transposing copy into ``out``.

The arrays may be channels-first or channels-last (``cl``, the Keras layout): the column
planes are gathered from either (from ``(H, W, C)`` rows, runs of ``C``), and a
channels-last output comes from GEMMs giving ``(T, K)`` planes and an output transform
vectorised along the filters (:func:`_output_transform_cl`), so neither layout is copied
into the other.

The weight gradient uses the same data flow with the reduction over tiles:
``dU[e] = sum over blocks of V[e]^T @ Gt[e]``, ``Gt = A g A^T`` the transformed
output gradient, and ``dW = G^T dU G``; the input gradient is the forward pass of
the output gradient with the flipped, channel-transposed kernel (the launchers in
:mod:`numbaconv.cpu.conv` / :mod:`numbaconv.cpu.conv_plan`).

NaN / inf: as in :mod:`numbaconv.cpu.winograd`, a transform mixes a tile's
inputs, so every function here returns False when an output came out non-finite
and the caller recomputes the call with a method that keeps a NaN local (the
channels-last GEMM).

Each pass runs its blocks one after another from one compiled kernel
(:func:`_forward_blocks`, :func:`_input_grad_blocks`, :func:`_weight_grad_blocks`): each
block's 16 GEMMs (numpy's CBLAS called from compiled code, :mod:`numbaconv.cpu.blas`) and
its transforms split over Numba's threads. That uses every core on one block, where
blocks on Python threads left one core idle whenever a batch was one or two blocks (a
16-image batch of 5x5 maps is one block of 64 tiles), and small GEMMs called through
``np.matmul`` from two Python threads at once ran at ~1.2x one thread. (16, 64, 5, 5) ->
128, two threads: forward 424 -> 256 us (PyTorch 290), input gradient 390 -> 230-275 us
(PyTorch 310-390). Without such a BLAS the blocks run on Python threads (``np.matmul``,
single-threaded BLAS); either way every block is computed alike, bit for bit.

Determinism: blocks of images and the work items are functions of the shapes
only (:mod:`numbaconv.cpu.conv_plan`), partial sums are added in a fixed order.
2-D, 3x3, stride 1, dilation 1, ``groups == 1`` only.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .blas import NO_TRANS, ROW_MAJOR, TRANS, gemm_at, kernel_gemm
from .conv_gemm import _add_into
from .conv_gemm import chw as _chw
from .jit import I0 as _I0
from .jit import njit
from .native import call, fingerprint, native
from .simd import touch_span
from .threads import one_blas_thread
from .threads import run_items as _run
from .threads import scratch as _buffer
from .winograd import _weight_transform

_U = np.uint64

# B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: row i is
# e_{_BA[i]} + _BS[i] * e_{_BB[i]}
_BA = (0, 1, 2, 1)
_BB = (2, 2, 1, 3)
_BS = (-1.0, 1.0, -1.0, -1.0)


@njit(inline="always")
def _phase_planes(xf, src0, C, H, W, ph, Hp, Wh, r0, lh, lw, cl):
    """``ph[b, r, m, c] = x[c, r0 + r - lh, 2m + b - lw]`` (zero outside the image) for one
    ``(C, H, W)`` image (``cl``: ``(H, W, C)``) at ``xf[src0:]``: even (b = 0) and odd
    (b = 1) padded columns, channels last, ``Hp`` rows of ``Wh`` columns each."""
    if not cl:  # (the rows read, plane by plane, streamed in first)
        y0, y1 = max(0, r0 - lh), min(H, r0 + Hp - lh)
        for c in range(C if y0 < y1 else 0):
            touch_span(xf, src0 + (c * H + y0) * W, src0 + (c * H + y1) * W)
    for b in range(2):
        # columns m with 0 <= 2m + b - lw < W
        m0 = min(Wh, max(0, (lw - b + 1) // 2))
        m1 = max(m0, min(Wh, (W - 1 + lw - b) // 2 + 1))
        for r in range(Hp):
            db = _U((b * Hp + r) * Wh * C)
            ih = r0 + r - lh
            if ih < 0 or ih >= H:
                for i in range(Wh * C):
                    ph[db + _U(i)] = 0
                continue
            for i in range(m0 * C):
                ph[db + _U(i)] = 0
            for i in range(m1 * C, Wh * C):
                ph[db + _U(i)] = 0
            if cl:  # every other column's run of C channels
                for m in range(m0, m1):
                    d = db + _U(m * C)
                    sc = _U(src0 + (ih * W + 2 * m + b - lw) * C)
                    for c in range(C):
                        ph[d + _U(c)] = xf[sc + _U(c)]
                continue
            sb = src0 + ih * W + b - lw
            # four channels per pass: four load streams, adjacent stores
            c = 0
            while c + 4 <= C:
                s0 = _U(sb + c * H * W)
                s1 = s0 + _U(H * W)
                s2 = s1 + _U(H * W)
                s3 = s2 + _U(H * W)
                for m in range(m0, m1):
                    d = db + _U(m * C + c)
                    u = _U(2 * m)
                    ph[d] = xf[s0 + u]
                    ph[d + _U(1)] = xf[s1 + u]
                    ph[d + _U(2)] = xf[s2 + u]
                    ph[d + _U(3)] = xf[s3 + u]
                c += 4
            while c < C:
                s0 = _U(sb + c * H * W)
                for m in range(m0, m1):
                    ph[db + _U(m * C + c)] = xf[s0 + _U(2 * m)]
                c += 1


@njit(cache=True, nogil=True, fastmath={"contract"})
def _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx, t0, cl):
    """``V[e, t, c] = (B^T d_t B)[e]`` for the tile rows ``[ty0, ty1)`` of images ``[n0, n1)``:
    tile ``t = t0 + ((n - n0)*nr + ty - ty0)*ntx + tx`` reads padded rows ``2ty + i`` and
    columns ``2tx + j`` (``i, j < 4``) of image ``n``, padded ``lh`` / ``lw`` before (``cl``:
    ``x`` channels-last, ``(N, 1, H, W, C)``)."""
    C, H, W = _chw(x, cl)
    nr = ty1 - ty0
    Hp = 2 * nr + 2
    Wh = ntx + 1
    xf = x.reshape(-1)
    vf = V.reshape(-1)
    ph = np.empty(2 * Hp * Wh * C, dtype=x.dtype)
    L = ntx * C
    es = _U(V.shape[1])  # plane stride (padded against L1 set conflicts)
    for n in range(n0, n1):
        _phase_planes(xf, n * C * H * W, C, H, W, ph, Hp, Wh, 2 * ty0, lh, lw, cl)
        for ty in range(nr):
            tb = _U((t0 + ((n - n0) * nr + ty) * ntx) * C)
            for i in range(4):
                ra = 2 * ty + _BA[i]
                rb = 2 * ty + _BB[i]
                si = x.dtype.type(_BS[i])
                for j in range(4):
                    ca = _BA[j]
                    cb = _BB[j]
                    sj = x.dtype.type(_BS[j])
                    # padded column 2tx + c lives in phase c % 2 at m = tx + c // 2
                    p0 = _U((((ca % 2) * Hp + ra) * Wh + ca // 2) * C)
                    p1 = _U((((cb % 2) * Hp + ra) * Wh + cb // 2) * C)
                    p2 = _U((((ca % 2) * Hp + rb) * Wh + ca // 2) * C)
                    p3 = _U((((cb % 2) * Hp + rb) * Wh + cb // 2) * C)
                    ob = _U(4 * i + j) * es + tb
                    for q in range(L):
                        u = _U(q)
                        r1 = ph[p0 + u] + si * ph[p2 + u]
                        r2 = ph[p1 + u] + si * ph[p3 + u]
                        vf[ob + u] = r1 + sj * r2


@njit(inline="always")
def _signed(i):
    """Row ``i`` of ``A = [[1, 0], [1, 1], [1, -1], [0, -1]]`` (Winograd's output matrix
    transposed): the weights of a tile's first and second row / column."""
    if i == 0:
        return 1.0, 0.0
    if i == 1:
        return 1.0, 1.0
    if i == 2:
        return 1.0, -1.0
    return 0.0, -1.0


@njit(cache=True, nogil=True, fastmath={"contract"})
def _grad_transform(g, Gt, n0, n1, ty0, ty1, ntx, t0, cl):
    """``Gt[e, t, k] = (A g_t A^T)[e]`` for the 2x2 output-gradient tiles of the tile rows
    ``[ty0, ty1)`` of images ``[n0, n1)`` (zero beyond the map), tile ``t`` numbered from
    ``t0`` as in :func:`_input_transform`; ``Gt`` holds 16 planes ``(T, K)``. Each image goes
    through channels-last even/odd column planes (as the input does), then every element is
    a signed sum of four runs of ``ntx*K`` (``cl``: ``g`` channels-last)."""
    K, Ho, Wo = _chw(g, cl)
    nr = ty1 - ty0
    Hp = 2 * nr
    Wh = ntx
    gf = g.reshape(-1)
    tf = Gt.reshape(-1)
    ph = np.empty(2 * Hp * Wh * K, dtype=g.dtype)
    L = ntx * K
    es = _U(Gt.shape[1])
    for n in range(n0, n1):
        _phase_planes(gf, n * K * Ho * Wo, K, Ho, Wo, ph, Hp, Wh, 2 * ty0, 0, 0, cl)
        for ty in range(nr):
            tb = _U((t0 + ((n - n0) * nr + ty) * ntx) * K)
            p00 = _U((2 * ty) * Wh * K)                 # row 0, even column
            p01 = _U((Hp + 2 * ty) * Wh * K)            # row 0, odd column
            p10 = _U((2 * ty + 1) * Wh * K)
            p11 = _U((Hp + 2 * ty + 1) * Wh * K)
            for i in range(4):
                a0, a1 = _signed(i)
                ra0 = g.dtype.type(a0)
                ra1 = g.dtype.type(a1)
                for j in range(4):
                    b0, b1 = _signed(j)
                    cb0 = g.dtype.type(b0)
                    cb1 = g.dtype.type(b1)
                    ob = _U(4 * i + j) * es + tb
                    for q in range(L):
                        u = _U(q)
                        r0 = cb0 * ph[p00 + u] + cb1 * ph[p01 + u]
                        r1 = cb0 * ph[p10 + u] + cb1 * ph[p11 + u]
                        tf[ob + u] = ra0 * r0 + ra1 * r1


@njit(inline="always")
def _times_a(mf, base, es, S, L):
    """``S[2i + b] = (M A)[i, b]`` for runs of ``L`` values from ``mf[base:]``, the 16 planes
    ``es`` apart (``A`` Winograd's output matrix, :func:`_signed`): eight runs, one store
    stream a loop."""
    for i in range(4):
        m0 = _U(4 * i) * es + base
        m1 = m0 + es
        m2 = m1 + es
        m3 = m2 + es
        s0 = _U(2 * i * L)
        s1 = s0 + _U(L)
        for q in range(L):
            u = _U(q)
            S[s0 + u] = mf[m0 + u] + mf[m1 + u] + mf[m2 + u]
        for q in range(L):
            u = _U(q)
            S[s1 + u] = mf[m1 + u] - mf[m2 + u] - mf[m3 + u]


@njit(cache=True, nogil=True)
def _output_transform(M, out, bias, n0, n1, ty0, ty1, ntx, k0, k1):
    """``out[n, k, 2ty + a, 2tx + b] = bias[k] + (A^T M_t A)[a, b]`` for the tile rows
    ``[ty0, ty1)`` of images ``[n0, n1)`` (outputs beyond the map dropped) and the output
    channels ``[k0, k1)``; ``M`` holds 16 planes ``(K, T)``. Returns the number of those
    channels holding a NaN or an inf (0 normally).

    Per channel, vectorised along the block's tiles, one store stream a loop (more
    make LLVM give up vectorising for want of alias checks): ``S = M A`` (8 runs), the
    four ``A^T S`` runs with the bias, then the rows interleaved into ``out``."""
    K, Ho, Wo = out.shape[1], out.shape[3], out.shape[4]
    nr = ty1 - ty0
    T = (n1 - n0) * nr * ntx
    mf = M.reshape(-1)
    of = out.reshape(-1)
    es = _U(M.shape[1])
    S = np.empty(8 * T, dtype=out.dtype)   # S[i, b] = sum_j A^T[b, j] M[i, j]
    Y = np.empty(4 * T, dtype=out.dtype)   # Y[a, b] = bias + sum_i A^T[a, i] S[i, b]
    bad = 0
    for k in range(k0, k1):
        _times_a(mf, _U(k * T), es, S, T)
        bk = bias[k]
        nf = 0
        for b in range(2):
            t0 = _U(b * T)
            t1 = t0 + _U(2 * T)
            t2 = t1 + _U(2 * T)
            t3 = t2 + _U(2 * T)
            y0 = _U(b * T)
            y1 = _U((2 + b) * T)
            for t in range(T):
                u = _U(t)
                o = (S[t0 + u] + S[t1 + u] + S[t2 + u]) + bk
                Y[y0 + u] = o
                nf |= 0 if o - o == 0 else 1
            for t in range(T):
                u = _U(t)
                o = (S[t1 + u] - S[t2 + u] - S[t3 + u]) + bk
                Y[y1 + u] = o
                nf |= 0 if o - o == 0 else 1
        bad += nf
        half = Wo // 2
        for n in range(n0, n1):
            for ty in range(nr):
                tb = _U(((n - n0) * nr + ty) * ntx)
                for a in range(2):
                    oh = 2 * (ty0 + ty) + a
                    if oh >= Ho:
                        break
                    ob = _U(((n * K + k) * Ho + oh) * Wo)
                    ya = _U(2 * a * T) + tb
                    yb = ya + _U(T)
                    for tx in range(half):
                        of[ob + _U(2 * tx)] = Y[ya + _U(tx)]
                        of[ob + _U(2 * tx + 1)] = Y[yb + _U(tx)]
                    if Wo % 2:
                        of[ob + _U(Wo - 1)] = Y[ya + _U(half)]
    return bad


@njit(cache=True, nogil=True)
def _output_transform_cl(M, out, bias, n0, n1, ty0, ty1, ntx, k0, k1):
    """:func:`_output_transform` into a channels-last ``out`` (``(N, 1, Ho, Wo, K)``) from
    ``M`` of 16 planes ``(T, K)``: per tile, vectorised along the filters ``[k0, k1)``, one
    store stream a loop: ``S = M A`` (8 runs of filters) into scratch, then each output of
    the tile, ``A^T S`` plus the bias, written as a run of ``out``'s row."""
    Ho, Wo, K = out.shape[2], out.shape[3], out.shape[4]
    nr = ty1 - ty0
    mf = M.reshape(-1)
    of = out.reshape(-1)
    es = _U(M.shape[1])
    L = k1 - k0
    S = np.empty(8 * L, dtype=out.dtype)   # S[i, b] = sum_j A^T[b, j] M[i, j]
    bb = bias[k0:k1]
    nf = 0
    for n in range(n0, n1):
        for ty in range(nr):
            for tx in range(ntx):
                _times_a(mf, _U((((n - n0) * nr + ty) * ntx + tx) * K + k0), es, S, L)
                for a in range(2):
                    oh = 2 * (ty0 + ty) + a
                    if oh >= Ho:
                        break
                    for b in range(2):
                        ow = 2 * tx + b
                        if ow >= Wo:
                            break
                        t0 = _U(b * L)
                        t1 = t0 + _U(2 * L)
                        t2 = t1 + _U(2 * L)
                        t3 = t2 + _U(2 * L)
                        ob = _U(((n * Ho + oh) * Wo + ow) * K + k0)
                        if a == 0:
                            for q in range(L):
                                u = _U(q)
                                o = (S[t0 + u] + S[t1 + u] + S[t2 + u]) + bb[q]
                                of[ob + u] = o
                                nf |= 0 if o - o == 0 else 1
                        else:
                            for q in range(L):
                                u = _U(q)
                                o = (S[t1 + u] - S[t2 + u] - S[t3 + u]) + bb[q]
                                of[ob + u] = o
                                nf |= 0 if o - o == 0 else 1
    return nf


@njit(cache=True, nogil=True, fastmath={"contract"})
def _input_adjoint(dV, dx, bias, n0, n1, lh, lw, nty, ntx, t0, cl):
    """``dx[n, c] = bias[c] +`` the sum over the tiles of image ``n`` of ``B dV_t B^T`` added
    back where the forward tile read its input (the adjoint of :func:`_input_transform`)
    for whole images ``[n0, n1)``, tiles numbered from ``t0``; ``dV`` holds 16 planes
    ``(T, C)``.

    Per tile row, vectorised along ``(tile column, channel)``, one store stream a loop:
    ``Z = dV B^T`` (16 runs), then each of the 16 elements of ``B Z`` added into the
    channels-last even/odd column planes of the padded image; the planes are finally
    transposed into ``dx`` (tiles in order, so every element is summed in a fixed
    order; ``cl``: ``dx`` channels-last, each position's channels one run). Returns the
    number of images holding a NaN or an inf (0 normally)."""
    C, H, W = _chw(dx, cl)
    Hp = 2 * nty + 2
    Wh = ntx + 1
    vf = dV.reshape(-1)
    df = dx.reshape(-1)
    es = _U(dV.shape[1])
    L = ntx * C
    acc = np.empty(2 * Hp * Wh * C, dtype=dx.dtype)
    Z = np.empty(16 * L, dtype=dx.dtype)
    bad = 0
    for n in range(n0, n1):
        for i in range(2 * Hp * Wh * C):
            acc[_U(i)] = 0
        for ty in range(nty):
            tb = _U((t0 + ((n - n0) * nty + ty) * ntx) * C)
            # Z[a, j] = sum_b dV[a, b] B^T[b, j]: columns of B^T are e0, e1 - e2 + e3,
            # -e0 + e1 + e2, -e3 (here B^T's rows' supports give the same shape)
            for a in range(4):
                v0 = _U(4 * a) * es + tb
                v1 = v0 + es
                v2 = v1 + es
                v3 = v2 + es
                z = _U(4 * a * L)
                for q in range(L):
                    Z[z + _U(q)] = vf[v0 + _U(q)]
                for q in range(L):
                    u = _U(q)
                    Z[z + _U(L) + u] = vf[v1 + u] - vf[v2 + u] + vf[v3 + u]
                for q in range(L):
                    u = _U(q)
                    Z[z + _U(2 * L) + u] = vf[v1 + u] + vf[v2 + u] - vf[v0 + u]
                for q in range(L):
                    Z[z + _U(3 * L) + _U(q)] = -vf[v3 + _U(q)]
            # element (i, j) of B Z, added at padded row 2ty + i, column 2tx + j
            # (phase j % 2, m = tx + j // 2)
            for j in range(4):
                z0 = _U(j * L)
                z1 = z0 + _U(4 * L)
                z2 = z1 + _U(4 * L)
                z3 = z2 + _U(4 * L)
                col = _U(((j % 2) * Hp * Wh + j // 2) * C)
                r0 = col + _U(2 * ty * Wh * C)
                r1 = r0 + _U(Wh * C)
                r2 = r1 + _U(Wh * C)
                r3 = r2 + _U(Wh * C)
                for q in range(L):
                    acc[r0 + _U(q)] += Z[z0 + _U(q)]
                for q in range(L):
                    u = _U(q)
                    acc[r1 + u] += Z[z1 + u] - Z[z2 + u] + Z[z3 + u]
                for q in range(L):
                    u = _U(q)
                    acc[r2 + u] += Z[z1 + u] + Z[z2 + u] - Z[z0 + u]
                for q in range(L):
                    acc[r3 + _U(q)] -= Z[z3 + _U(q)]
        # transpose the planes into dx (plus the bias): four channels a pass, one load
        # stream each, adjacent loads (as _phase_planes, reversed)
        nf = 0
        HW = H * W
        cs = 1 if cl else HW  # a channel's stride in dx
        for ih in range(H):
            r = ih + lh
            for iw in range(W):
                col = iw + lw
                ob = _U(n * C * HW + (ih * W + iw) * C) if cl else _U(n * C * HW + ih * W + iw)
                if r >= Hp or col >= 2 * Wh:  # never read by the forward pass: bias only
                    for c in range(C):
                        df[ob + _U(c * cs)] = bias[c]
                    continue
                ab = _U((((col % 2) * Hp + r) * Wh + col // 2) * C)
                for c in range(C):
                    v = bias[c] + acc[ab + _U(c)]
                    nf |= 0 if v - v == 0 else 1
                    df[ob + _U(c * cs)] = v
        bad += nf
    return bad


@njit(cache=True, nogil=True)
def _weight_grad_out(dU, dw):
    """``dw[k, c] = G^T dU[e, k*C + c] G`` (4x4 -> 3x3). Returns 1 if any value is
    non-finite."""
    K, C = dw.shape[0], dw.shape[1]
    h = dw.dtype.type(0.5)
    bad = 0
    m = np.empty((4, 4), dtype=dw.dtype)
    for k in range(K):
        for c in range(C):
            for e in range(16):
                m[e // 4, e % 4] = dU[e, k * C + c]
            # G^T = [[1, .5, .5, 0], [0, .5, -.5, 0], [0, .5, .5, 1]]: rows then columns
            for j in range(4):
                s = m[1, j] + m[2, j]
                d = m[1, j] - m[2, j]
                m[0, j] = m[0, j] + s * h
                m[1, j] = d * h
                m[2, j] = s * h + m[3, j]
            for i in range(3):
                s = m[i, 1] + m[i, 2]
                d = m[i, 1] - m[i, 2]
                v0 = m[i, 0] + s * h
                v1 = d * h
                v2 = s * h + m[i, 3]
                dw[k, c, 0, i, 0] = v0
                dw[k, c, 0, i, 1] = v1
                dw[k, c, 0, i, 2] = v2
                bad |= 0 if (v0 - v0 == 0 and v1 - v1 == 0 and v2 - v2 == 0) else 1
    return bad


#: the transforms' :class:`~numbaconv.cpu.native.Native` entry points per pass, keyed by the
#: types of the caller's arrays (the scratch arrays' types follow from the dtype): three
#: fingerprints and a lookup a call, where fingerprinting every argument took ~4 us
_NATIVES: dict = {}


def _planes(name: str, n: int, dtype):
    """Scratch for 16 planes of ``n`` elements: a ``(16, stride)`` array whose plane stride is
    an odd number of 64-byte lines, so that 16 streams one plane apart fall into distinct
    L1 sets (planes a multiple of 4 KiB apart would all compete for one set)."""
    item = np.dtype(dtype).itemsize
    lines = -(-n * item // 64)
    lines += 1 - lines % 2
    return _buffer(name, (16, lines * 64 // item), dtype)


def tiles(Ho: int, Wo: int):
    """Rows and columns of 2x2 tiles covering an ``Ho x Wo`` map."""
    return -(-Ho // 2), -(-Wo // 2)


def blocks(N: int, nty: int, nb: int, rb: int):
    """Blocks ``(n0, n1, ty0, ty1)``: ``nb`` whole images, or with ``nb == 1`` runs of ``rb``
    tile rows of one image."""
    if nb > 1 or rb >= nty:
        return [(n0, min(N, n0 + nb), 0, nty) for n0 in range(0, N, nb)]
    return [(n, n + 1, t0, min(nty, t0 + rb)) for n in range(N) for t0 in range(0, nty, rb)]


@njit(inline="always")
def _block(blks, j, ntx):
    """Block ``j`` of ``blks`` (rows ``n0, n1, ty0, ty1``): ``(n0, n1, ty0, ty1, T, halves)``,
    ``T`` its tiles, ``halves`` the parts its transforms split into (see :func:`_half`)."""
    n0, n1, ty0, ty1 = blks[j, 0], blks[j, 1], blks[j, 2], blks[j, 3]
    nr = ty1 - ty0
    return n0, n1, ty0, ty1, (n1 - n0) * nr * ntx, 2 if n1 - n0 >= 2 or nr >= 2 else 1


@njit(inline="always")
def _half(h, halves, n0, n1, ty0, ty1, ntx):
    """Part ``h`` of ``halves`` of a block for its transforms: a share of its images, or of a
    one-image block, of its tile rows; ``(n0, n1, ty0, ty1, t0)``, ``t0`` its first tile in
    the block's numbering."""
    nr = ty1 - ty0
    if n1 - n0 >= 2:
        a = n0 + h * (n1 - n0) // halves
        b = n0 + (h + 1) * (n1 - n0) // halves
        return a, b, ty0, ty1, (a - n0) * nr * ntx
    r0 = ty0 + h * nr // halves
    r1 = ty0 + (h + 1) * nr // halves
    return n0, n1, r0, r1, (r0 - ty0) * ntx


@njit(cache=True, nogil=True, parallel=True)
def _forward_blocks(gemm, fw, fx, fy, x, w, U, V, M, out, bias, lh, lw, nty, ntx, blks, parts,
                    cl):
    """Every block on Numba's threads, one block after another: the weight transform ``fw``
    (:func:`numbaconv.cpu.winograd._weight_transform`) in ``parts`` filter ranges, then per
    block (``blks[j] = n0, n1, ty0, ty1``) the input transform ``fx``
    (:func:`_input_transform`) in two halves of its images (of a one-image block, of its
    tile rows), the 16 GEMMs ``M_e = U_e @ V_e^T`` (each a call of ``gemm``,
    :func:`numbaconv.cpu.blas.kernel_gemm`) and the output transform ``fy``
    (:func:`_output_transform`, with ``cl`` :func:`_output_transform_cl`) in ``parts``
    filter ranges; False when an output came out non-finite (``cl``: ``x`` and ``out``
    channels-last, the GEMMs ``M_e = V_e @ U_e^T``, tiles by filters). The transforms are
    :class:`numbaconv.cpu.native.Native` entry points, compiled once each. Every value is
    computed as a block of the Python-thread path computes it (the splits are over
    independent values), so the two paths agree bit for bit."""
    K, C = U.shape[1], U.shape[2]
    for i in prange(parts):
        call(fw, w, U, i * K // parts, (i + 1) * K // parts)
    bad = 0
    for j in range(blks.shape[0]):
        n0, n1, ty0, ty1, T, halves = _block(blks, j, ntx)
        for h in prange(halves):
            a, b, r0, r1, t0 = _half(h, halves, n0, n1, ty0, ty1, ntx)
            call(fx, x, V, a, b, r0, r1, lh, lw, ntx, t0, cl)
        for e in prange(16):
            if cl:
                gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, T, K, C, 1.0, V[e], C, U[e], C, 0.0,
                        M[e], K)
            else:
                gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, K, T, C, 1.0, U[e], C, V[e], C, 0.0,
                        M[e], T)
        for i in prange(parts):
            bad += call(fy, M, out, bias, n0, n1, ty0, ty1, ntx, i * K // parts,
                        (i + 1) * K // parts)
    return bad == 0


def forward(x, w, bias, out, lh: int, lw: int, nb: int, rb: int, cl: bool = False) -> bool:
    """``out = conv2d(x, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before, after implied
    by ``out``; 5-D views with ``D == 1``; ``cl``: ``x`` and ``out`` channels-last, ``(N, 1,
    H, W, C)``) in blocks of ``nb`` images or ``rb`` tile rows. Returns False when an output
    came out non-finite (the caller then recomputes the call)."""
    N, C = x.shape[0], w.shape[1]
    K = w.shape[0]
    _, Ho, Wo = _chw(out, cl)
    nty, ntx = tiles(Ho, Wo)
    dtype = out.dtype
    U = np.empty((16, K, C), dtype)
    b = np.zeros(K, dtype) if bias is None else bias
    items = blocks(N, nty, nb, rb)
    if (gemm := kernel_gemm(dtype)) is not None:
        T = max((n1 - n0) * (ty1 - ty0) for n0, n1, ty0, ty1 in items) * ntx
        V, Mb = _planes("wV", T * C, dtype), _planes("wM", K * T, dtype)
        w4, flag = w.reshape(K, C, 3, 3), np.bool_(cl)
        key = ("forward", fingerprint(x), fingerprint(w4), fingerprint(out), fingerprint(b), cl)
        if (found := _NATIVES.get(key)) is None:
            found = _NATIVES[key] = (
                native(_weight_transform, w4, U, _I0, _I0),
                native(_input_transform, x, V, *(_I0,) * 8, flag),
                native(_output_transform_cl if cl else _output_transform, Mb, out, b,
                       *(_I0,) * 7))
        fw, fx, fy = found
        with one_blas_thread():
            return _forward_blocks(gemm, fw, fx, fy, x, w4, U, V, Mb, out, b, lh, lw, nty, ntx,
                                   np.array(items, np.int64).reshape(-1, 4),
                                   2 if K >= 32 else 1, flag)
    _weight_transform(w.reshape(K, C, 3, 3), U, 0, K)
    bad = [0] * len(items)

    def work(i):
        n0, n1, ty0, ty1 = items[i]
        T = (n1 - n0) * (ty1 - ty0) * ntx
        V = _planes("wV", T * C, dtype)
        Mb = _planes("wM", K * T, dtype)
        _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx, 0, cl)
        v = V[:, :T * C].reshape(16, T, C)
        with np.errstate(all="ignore"):  # non-finite data is redone by the caller
            if cl:
                np.matmul(v, U.transpose(0, 2, 1), out=Mb[:, :K * T].reshape(16, T, K))
                bad[i] = _output_transform_cl(Mb, out, b, n0, n1, ty0, ty1, ntx, 0, K)
                return
            np.matmul(U, v.transpose(0, 2, 1), out=Mb[:, :K * T].reshape(16, K, T))
        bad[i] = _output_transform(Mb, out, b, n0, n1, ty0, ty1, ntx, 0, K)

    _run(work, range(len(items)))
    return not any(bad)


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_blocks(gemm, fx, fg, x, g, V, Gt, sums, part, lh, lw, ntx, blks, starts, cl):
    """:func:`weight_grad`'s work items one after another, each block on Numba's threads: item
    ``i`` sums the blocks ``blks[starts[i]:starts[i + 1]]`` in order into ``sums[i]``
    (``(16, K, C)``): per block the input and output-gradient transforms ``fx`` and ``fg``
    (:func:`_input_transform`, :func:`_grad_transform`, as
    :class:`numbaconv.cpu.native.Native` entry points) in two halves of its images (or tile
    rows), then the 16 GEMMs ``Gt_e^T @ V_e`` (the first block's written into the sum, the
    others' into ``part`` and added). The same values, added in the same order, as the
    Python-thread path (``cl``: ``x`` and ``g`` channels-last)."""
    K, C = sums.shape[2], sums.shape[3]
    for i in range(starts.shape[0] - 1):
        for j in range(starts[i], starts[i + 1]):
            n0, n1, ty0, ty1, T, halves = _block(blks, j, ntx)
            for h in prange(halves):
                a, b, r0, r1, t0 = _half(h, halves, n0, n1, ty0, ty1, ntx)
                call(fx, x, V, a, b, r0, r1, lh, lw, ntx, t0, cl)
                call(fg, g, Gt, a, b, r0, r1, ntx, t0, cl)
            first = j == starts[i]
            for e in prange(16):
                dst = sums[i, e] if first else part[e]
                gemm_at(gemm, ROW_MAJOR, TRANS, NO_TRANS, K, C, T, 1.0, Gt[e], K, V[e], C,
                     0.0, dst, C)
                if not first:
                    _add_into(sums[i, e], part[e])


@njit(cache=True, nogil=True, parallel=True)
def _input_grad_blocks(gemm, fw, fg, fa, g, w, U, Gt, dV, dx, bias, lh, lw, nty, ntx, nb, parts,
                       cl):
    """:func:`input_grad` with its blocks one after another, each on Numba's threads: the
    weight transform ``fw`` in ``parts`` filter ranges, then per block of ``nb`` images the
    output-gradient transform ``fg`` and the adjoint ``fa`` (:func:`_grad_transform`,
    :func:`_input_adjoint`; :class:`numbaconv.cpu.native.Native` entry points) in two halves
    of its images and the 16 GEMMs ``Gt_e @ U_e``; False when a value came out non-finite.
    The same values as the Python-thread path (``cl``: ``g`` and ``dx`` channels-last)."""
    K = U.shape[1]
    C = U.shape[2]
    N = dx.shape[0]
    for i in prange(parts):
        call(fw, w, U, i * K // parts, (i + 1) * K // parts)
    bad = 0
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        T = (n1 - n0) * nty * ntx
        halves = 2 if n1 - n0 >= 2 else 1
        for h in prange(halves):
            a, b, _, _, t0 = _half(h, halves, n0, n1, _I0, nty, ntx)
            call(fg, g, Gt, a, b, _I0, nty, ntx, t0, cl)
        for e in prange(16):
            gemm_at(gemm, ROW_MAJOR, NO_TRANS, NO_TRANS, T, C, K, 1.0, Gt[e], K, U[e], C,
                 0.0, dV[e], C)
        for h in prange(halves):
            a, b, _, _, t0 = _half(h, halves, n0, n1, _I0, nty, ntx)
            bad += call(fa, dV, dx, bias, a, b, lh, lw, nty, ntx, t0, cl)
    return bad == 0


def weight_grad(x, g, dw, lh: int, lw: int, nb: int, rb: int, items: int,
                cl: bool = False) -> bool:
    """``dw = conv2d_weight(x, g)`` (3x3, stride 1, padding ``lh``/``lw`` before) as one
    reduction over all tiles of all images: blocks of ``nb`` images or ``rb`` tile rows,
    ``items`` work items summing fixed runs of blocks, partial sums added in item order
    (``cl``: ``x`` and ``g`` channels-last). Returns False when a value came out
    non-finite."""
    N, C = x.shape[0], dw.shape[1]
    K = dw.shape[0]
    _, Ho, Wo = _chw(g, cl)
    nty, ntx = tiles(Ho, Wo)
    dtype = dw.dtype
    blks = blocks(N, nty, nb, rb)
    items = max(1, min(items, len(blks)))
    runs = [blks[i * len(blks) // items:(i + 1) * len(blks) // items] for i in range(items)]
    if (gemm := kernel_gemm(dtype)) is not None:
        T = max((n1 - n0) * (ty1 - ty0) for n0, n1, ty0, ty1 in blks) * ntx
        sums = np.empty((items, 16, K, C), dtype)
        starts = np.array([i * len(blks) // items for i in range(items + 1)], np.int64)
        V, Gt, flag = _planes("wV", T * C, dtype), _planes("wM", K * T, dtype), np.bool_(cl)
        key = ("weight_grad", fingerprint(x), fingerprint(g), dtype.char, cl)
        if (found := _NATIVES.get(key)) is None:
            found = _NATIVES[key] = (native(_input_transform, x, V, *(_I0,) * 8, flag),
                                     native(_grad_transform, g, Gt, *(_I0,) * 6, flag))
        fx, fg = found
        with one_blas_thread(), np.errstate(all="ignore"):
            _weight_grad_blocks(gemm, fx, fg, x, g, V, Gt, sums, _buffer("wP", (16, K, C), dtype),
                                lh, lw, ntx, np.array(blks, np.int64).reshape(-1, 4), starts,
                                flag)
            for p in sums[1:]:
                _add_into(sums[0], p)
        return _weight_grad_out(sums[0].reshape(16, K * C), dw) == 0
    parts = [np.empty((16, K * C), dtype) for _ in range(items)]

    def work(i):
        acc = parts[i].reshape(16, K, C)
        for j, (n0, n1, ty0, ty1) in enumerate(runs[i]):
            T = (n1 - n0) * (ty1 - ty0) * ntx
            V = _planes("wV", T * C, dtype)
            Gt = _planes("wM", K * T, dtype)
            _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx, 0, cl)
            _grad_transform(g, Gt, n0, n1, ty0, ty1, ntx, 0, cl)
            a = Gt[:, :K * T].reshape(16, T, K).transpose(0, 2, 1)
            b = V[:, :T * C].reshape(16, T, C)
            with np.errstate(all="ignore"):
                if j == 0:
                    np.matmul(a, b, out=acc)
                else:
                    part = _buffer("wP", (16, K, C), dtype)
                    np.matmul(a, b, out=part)
                    _add_into(acc, part)

    _run(work, list(range(items)))
    total = parts[0]
    with np.errstate(all="ignore"):
        for p in parts[1:]:
            _add_into(total, p)
    return _weight_grad_out(total, dw) == 0


def input_grad(g, w, bias, dx, lh: int, lw: int, nb: int, cl: bool = False) -> bool:
    """``dx = conv2d_input(g, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before) as the
    adjoint of :func:`forward` on the forward pass's own tiling (the tiles of ``g``: fewer
    than the full correlation's when the layer is unpadded): ``Gt = A g A^T``,
    ``dV[e] = Gt[e]^T @ U[e]``, ``dx = sum B dV B^T``. Blocks of ``nb`` whole images.
    Returns False when a value came out non-finite (``cl``: ``g`` and ``dx``
    channels-last)."""
    N, C = dx.shape[0], w.shape[1]
    K = w.shape[0]
    _, Ho, Wo = _chw(g, cl)
    nty, ntx = tiles(Ho, Wo)
    dtype = dx.dtype
    U = np.empty((16, K, C), dtype)
    b = np.zeros(C, dtype) if bias is None else bias
    if (gemm := kernel_gemm(dtype)) is not None:
        T = min(nb, N) * nty * ntx
        Gt, dV, w4, flag = (_planes("wM", K * T, dtype), _planes("wV", T * C, dtype),
                            w.reshape(K, C, 3, 3), np.bool_(cl))
        key = ("input_grad", fingerprint(g), fingerprint(w4), fingerprint(dx), fingerprint(b),
               cl)
        if (found := _NATIVES.get(key)) is None:
            found = _NATIVES[key] = (native(_weight_transform, w4, U, _I0, _I0),
                                     native(_grad_transform, g, Gt, *(_I0,) * 6, flag),
                                     native(_input_adjoint, dV, dx, b, *(_I0,) * 7, flag))
        fw, fg, fa = found
        with one_blas_thread():
            return _input_grad_blocks(gemm, fw, fg, fa, g, w4, U, Gt, dV, dx, b, lh, lw, nty,
                                      ntx, nb, 2 if K >= 32 else 1, flag)
    _weight_transform(w.reshape(K, C, 3, 3), U, 0, K)
    items = [(n0, min(N, n0 + nb)) for n0 in range(0, N, nb)]
    bad = [0] * len(items)

    def work(i):
        n0, n1 = items[i]
        T = (n1 - n0) * nty * ntx
        Gt = _planes("wM", K * T, dtype)
        dV = _planes("wV", T * C, dtype)
        _grad_transform(g, Gt, n0, n1, 0, nty, ntx, 0, cl)
        with np.errstate(all="ignore"):
            np.matmul(Gt[:, :K * T].reshape(16, T, K), U, out=dV[:, :T * C].reshape(16, T, C))
        bad[i] = _input_adjoint(dV, dx, b, n0, n1, lh, lw, nty, ntx, 0, cl)

    _run(work, range(len(items)))
    return not any(bad)
