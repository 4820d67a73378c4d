"""CPU-only Winograd F(4x4, 3x3) for 3x3 stride-1 layers on small maps: the forward pass,
the input gradient either as the forward pass's adjoint on its own output tiles
(:func:`input_grad`) or as the forward pass of the output gradient with the flipped,
channel-transposed kernel (:func:`numbaconv.cpu.conv_plan.run_input_grad` picks), and the
weight gradient as the forward pass's adjoint (:func:`weight_grad`: ``dW = G^T (sum over tiles
of V^T Gt) G``, ``Gt = A g A^T``, summed in fixed runs of blocks).

Lavin and Gray's F(4x4, 3x3) (interpolation points 0, +-1, +-2 and infinity) computes a
4x4 output tile from a 6x6 input tile with 36 products where direct convolution takes
144: per tile and filter, 36 multiply-adds per input channel against F(2x2, 3x3)'s 64 for
the same 16 outputs (:mod:`numbaconv.cpu.winograd_nhwc`), so its 36 GEMMs do 0.56x the
arithmetic of the 16 GEMMs there. Per block of images, on one thread each (blocks on
Numba's threads, BLAS pinned to one thread):

* the block is copied into a zero-padded channels-last buffer ``(images, 4 nty + 2,
  4 ntx + 2, C)`` (from either layout), so every tile reads whole runs of ``C``;
* input transform ``V[e, t, c] = (B^T d B)[e]``: per tile, the six rows transformed into
  a ``(6, 6, C)`` scratch (a called loop, :func:`_bt_run`: written into the nest it stayed
  scalar), then its six columns into ``V``, each step a loop along the channels;
* 36 GEMMs ``M[e] = V[e] @ U[e]``, ``(T x C) @ (C x K)``, ``U = G g G^T`` laid out
  ``(36, C, K)`` (the weight transform: a chunk of channels' taps gathered into nine rows,
  then transformed along them a vector of kernels at a time,
  :func:`numbaconv.cpu.simd.sandwich_rows`);
* output transform ``A^T M A`` per tile along the filters into a channels-last image
  buffer, bias added, a check for non-finite values, the valid outputs copied out in
  either layout.

The weight transform and each block are kernels of their own, called by address from the
parallel driver (:mod:`numbaconv.cpu.native`): inlined into its parallel loop, the
driver took 13.8 s to compile, 4.0 s so.

One image (``parts > 1``, the planner's pick for batch-1 layers on larger maps) is split
by filters instead: each range transforms its own filters' weights and runs the block for
them, on its own core, reading nothing another core wrote (two threads, Zen 4: (1, 64, 14,
14) -> 64 padded 78 us against the per-tap GEMMs' 112-134, (1, 128, 14, 14) -> 128 200
against 371). :func:`prepare` resolves a call's buffers, entry points and sizes once, for
the planner's prepared passes.

Same process, two Zen 4 threads, float32 (2026-12-04), against the F(2x2, 3x3) path
forced: (64, 32, 13, 13) -> 64 1.40 against 3.78 ms in a noisy hour, 1.29-1.35 against
1.88 in a quiet one; (100, 32, 14, 14) -> 64 1.85 against 2.85; (128, 32, 16, 16) -> 64
padded 4.09 against 6.44; (256, 64, 5, 5) -> 128 1.47 against 2.55. It loses where its
blocks are thin (one-tile images in small batches) or the filters are many (36 planes of
``C x K`` read again by every block: (8, 256, 14, 14) -> 256 7.1 against 5.6 ms); the
cost model (:func:`numbaconv.cpu.conv_plan._cost_winograd4`) counts both.

Float32 rounding: the transforms' constants (up to 8 in ``A``, 5 in ``B``, 1/24 in
``G``) make the error grow about 10x over F(2x2, 3x3)'s; on a 64-channel layer of unit
normal data the largest error is about 1.5e-6 of the largest output (float64: 1e-15).

NaN / inf: a transform mixes a tile's inputs, so :func:`forward` returns False when an
output came out non-finite and the caller recomputes the call with a method that keeps a
NaN local. 2-D, 3x3, stride 1, dilation 1, ``groups == 1`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import (
    get_thread_id,  # pyright: ignore[reportPrivateImportUsage] (public, documented)
    prange,
)

from .blas import NO_TRANS, ROW_MAJOR, TRANS, gemm_at, kernel_gemm
from .jit import I0 as _I0
from .jit import njit, transpose_into
from .native import call, fingerprint, native, team_runs
from .simd import lanes, matrix_rows, sandwich_rows, touch_span
from .threads import one_blas_thread
from .threads import scratch as _buffer

_U = np.uint64

@njit(inline="always")
def _plane(n: int, item: int) -> int:
    """The row stride of 36 planes of ``n`` elements: an odd number of 64-byte lines, so that
    the transforms' 36 streams one plane apart fall into distinct L1 sets (planes a
    multiple of 4 KiB apart all compete for one set: the weight transform's stores ran at
    3 ns each)."""
    lines = -(-n * item // 64)
    lines += 1 - lines % 2
    return lines * 64 // item


#: most kernels (filters x channels) whose weight transform every thread makes for itself
#: (:func:`_forward_blocks`' ``own``)
_OWN_U_MAX = 8192

#: elements a scratch piece is rounded up to (64 bytes of float32: each piece starts a line)
_ALIGN = 16


@njit(inline="always")
def _take(ws, off, n):
    """``ws[off:off + n]`` and the offset of the next piece (:data:`_ALIGN`-rounded)."""
    end = off + n
    return ws[off:end], end + (-end) % _ALIGN


def _scratch(kind: str, C: int, K: int, nb: int, nty: int, ntx: int) -> int:
    """Elements of one thread's scratch for a block of ``nb`` images of ``kind`` ('forward',
    'input_grad', 'weight_grad'): what :func:`_block`, :func:`_igrad_block` and
    :func:`_weight_grad_run` carve with :func:`_take`, in that order."""
    T = nb * nty * ntx
    padded = nb * (4 * nty + 2) * (4 * ntx + 2) * C
    z = 16 * nty * ntx * K
    pieces = {"forward": (36 * C, padded, 36 * T * C, 36 * T * K, 24 * K, z),
              "input_grad": (36 * T * K, 24 * K, z, 36 * T * C, padded, 36 * C),
              "weight_grad": (36 * C, 24 * K, z, padded, 36 * T * C, 36 * T * K)}[kind]
    return sum(-(-n // _ALIGN) * _ALIGN for n in pieces)


def _workspace(kind: str, C: int, K: int, nb: int, nty: int, ntx: int, dtype,
               scratch=_scratch, name: str = "winograd4") -> np.ndarray:
    """One scratch row a Numba thread (``numba.get_thread_id()`` picks it), this Python
    thread's and kept between calls: allocated in the blocks, each block's few MB were
    fresh pages (mmap'd and faulted in, 1500 faults a (256, 128, 3, 3) -> 128 call, twice
    its time) whenever glibc's allocator had not yet been led to keep such sizes.
    (``scratch``, ``name``: another tile family's sizes and buffer, F(3x3)'s.)"""
    slots = numba.get_num_threads()
    return _buffer(name, (slots, scratch(kind, C, K, nb, nty, ntx)), dtype)


@njit(inline="always")
def _bt6(d0, d1, d2, d3, d4, d5):
    """``B^T d`` for one column ``d`` of six values (multiples by additions: an integer
    constant would promote float32 to float64, and the loops would not vectorise)."""
    s = d1 + d2
    s += s
    u = d1 - d2
    u += u
    w = d3 - d1
    w += w
    e0 = d0 + d0
    e2 = d2 + d2
    e2 += e2
    e1 = d1 + d1
    e3 = d3 + d3
    e1 += e1
    e3 += e3
    return (e0 + e0 - e2 - d2 + d4, d3 + d4 - s - s, u + u + d4 - d3, w + d4 - d2,
            d4 - d2 - w, e1 - e3 - d3 + d5)


@njit(inline="always")
def _at6(m0, m1, m2, m3, m4, m5):
    """``A^T m`` for one column ``m`` of six values (multiples by additions, as
    :func:`_bt6`)."""
    a, b = m1 + m2, m1 - m2
    c, d = m3 + m4, m3 - m4
    c2 = c + c
    d2 = d + d
    d4 = d2 + d2
    return m0 + a + c, b + d2, a + c2 + c2, b + d4 + d4 + m5


def _matrix(f, n: int) -> tuple:
    """The matrix of the linear map ``f`` of ``n`` values (rows of floats), from its values
    at the unit vectors (``f`` a jitted function: its Python one)."""
    py = getattr(f, "py_func", f)
    cols = [py(*(1.0 if q == j else 0.0 for q in range(n))) for j in range(n)]
    return tuple(tuple(float(col[i]) for col in cols) for i in range(len(cols[0])))


#: lanes of a vector of float32 and of float64
_LANES4, _LANES8 = lanes(4), lanes(8)


@njit(inline="always")
def _vectors(a, n):
    """Whether runs of ``n`` elements of ``a``'s dtype hold a vector: the transforms then run
    as :func:`numbaconv.cpu.simd.matrix_rows` intrinsics, explicit vectors along the runs
    (as loops they stayed scalar: F(4x4)'s input-gradient adjoint 1.37 ms of a (64, 32, 13,
    13) -> 64 call's 4.8 at one thread, Zen 3), else as the scalar loops below."""
    return n >= (_LANES4 if a.itemsize == 4 else _LANES8)


#: the tile transforms ``B^T`` and ``A^T`` as intrinsics over runs of channels or filters
_bt_rows = matrix_rows(_matrix(_bt6, 6))
_at_rows = matrix_rows(_matrix(_at6, 6))
_at_bias_rows = matrix_rows(_matrix(_at6, 6), bias=True)

_SIXTH, _TWELFTH, _TWENTYFOURTH = 1.0 / 6.0, 1.0 / 12.0, 1.0 / 24.0


#: F(4x4, 3x3)'s kernel transform ``G`` (rows of the 6 x 3 matrix), and the transform of a
#: run of kernels by it (:func:`numbaconv.cpu.simd.sandwich_rows`)
_G = ((0.25, 0.0, 0.0), (-_SIXTH, -_SIXTH, -_SIXTH), (-_SIXTH, _SIXTH, -_SIXTH),
      (_TWENTYFOURTH, _TWELFTH, _SIXTH), (_TWENTYFOURTH, -_TWELFTH, _SIXTH), (0.0, 0.0, 1.0))
_weight_rows = sandwich_rows(_G)

#: bytes of the nine rows of taps a chunk of channels is gathered into (within the L1)
_TAPS_BYTES = 16384
#: fewest kernels the transform takes in one run (a vector of float32 with AVX-512: the
#: widest); a thinner layer's run is padded to it in scratch
_MIN_RUN = 16


@njit(inline="always")
def weight_chunks(K, C, itemsize):
    """Channels a chunk of the weight transform of ``K`` filters takes (its nine rows of
    taps within :data:`_TAPS_BYTES`) and those rows' stride (at least :data:`_MIN_RUN`)."""
    cb = max(1, min(C, _TAPS_BYTES // (9 * K * itemsize)))
    return cb, max(cb * K, _MIN_RUN)


@njit(inline="always")
def gather_taps(w, taps, c0, c1, s):
    """``taps[t s + (c - c0) K + k] = w[k, c, t // 3, t % 3]`` for the channels ``c0 <= c <
    c1`` and every filter ``k`` (nine rows of stride ``s``, zero past the chunk's
    kernels); their number."""
    K = w.shape[0]
    L = (c1 - c0) * K
    if L < s:
        taps[:] = 0
    for c in range(c0, c1):  # (along a tap's column of filters: 0.3 ns an element, Zen 4,
        # where reading a kernel's nine taps together and writing them to the nine rows
        # took 0.5)
        for t in range(9):
            o = t * s + (c - c0) * K
            row = taps[o:o + K]
            col = w[:, c, t // 3, t % 3]
            for k in range(K):
                row[k] = col[k]
    return L


@njit(inline="always")
def place_rows(small, U, d0, L, s):
    """``U[e, d0:d0 + L] = small[e s:e s + L]`` for every row ``e`` of ``U`` (a run thinner
    than :data:`_MIN_RUN`, transformed in scratch)."""
    for e in range(U.shape[0]):
        U[e, d0:d0 + L] = small[e * s:e * s + L]


@njit(cache=True, nogil=True)
def _weights(w, U, c0, c1):
    """``U[e, c K + k] = (G w[k, c] G^T)[e]`` for the channels ``c0 <= c < c1`` (every filter),
    in ``U``'s dtype: a chunk of channels at a time, its taps gathered into nine rows
    (:func:`gather_taps`), then transformed along them in vectors (:data:`_weight_rows`).
    A kernel of its own, called by address from the driver. (Zen 4, one thread, (64, 32)
    filters: 10.9 us in float32, where a kernel at a time in float64 took 30.7.)"""
    K, P = w.shape[0], U.shape[1]
    cb, s = weight_chunks(K, c1 - c0, U.itemsize)
    taps = np.empty(9 * s, U.dtype)
    Uf = U.reshape(-1)
    for a in range(c0, c1, cb):
        L = gather_taps(w, taps, a, min(c1, a + cb), s)
        if L >= _MIN_RUN:
            _weight_rows(Uf, a * K, P, taps, 0, s, L)
        else:
            small = np.empty(U.shape[0] * s, U.dtype)
            _weight_rows(small, 0, s, taps, 0, s, s)
            place_rows(small, U, a * K, L, s)


@njit(inline="always")
def _pad_block(x, xp, n0, n1, lh, lw, cl):
    """Images ``n0 <= n < n1`` of ``x`` (5-D, ``D == 1``; ``cl``: channels-last) into the
    zeroed channels-last buffer ``xp``, ``lh`` rows and ``lw`` columns from its corner."""
    xp[:] = 0
    if cl:
        H, W, C = x.shape[2], x.shape[3], x.shape[4]
    else:
        C, H, W = x.shape[1], x.shape[3], x.shape[4]
    H = min(H, xp.shape[1] - lh)  # (rows and columns past the last tile: never read)
    W = min(W, xp.shape[2] - lw)
    for i in range(n1 - n0):
        for y in range(H):
            if cl:
                for j in range(W):
                    src = x[n0 + i, 0, y, j]
                    dst = xp[i, y + lh, j + lw]
                    for c in range(C):
                        dst[c] = src[c]
            else:  # along xp's runs of C, reading the C planes (as :func:`_image_copy`)
                xf = x[n0 + i].reshape(-1)
                if y == 0:
                    touch_span(xf, 0, xf.size)
                P = _U(x.shape[3] * x.shape[4])
                for j in range(W):
                    dst = xp[i, y + lh, j + lw]
                    src = _U(y * x.shape[4] + j)
                    for c in range(C):
                        dst[c] = xf[src + _U(c) * P]


@njit(cache=True, nogil=True)
def _bt_run(xf, a, rf, o, C):
    """``rf[o + m C + c] = (B^T (xf[a + c], xf[a + C + c], ..., xf[a + 5 C + c]))[m]``
    along the channels: a function of its own, called, where the same loop written into
    :func:`_input_tiles`' nest stayed scalar (25 ns a tile and channel; so, ~4)."""
    if _vectors(xf, C):
        _bt_rows(rf, o, C, xf, a, C, C)
        return
    a, o = _U(a), _U(o)
    c1, c2, c3, c4, c5 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C), _U(5 * C)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _bt6(xf[q], xf[q + c1], xf[q + c2], xf[q + c3], xf[q + c4], xf[q + c5])
        rf[u], rf[u + c1], rf[u + c2] = v[0], v[1], v[2]
        rf[u + c3], rf[u + c4], rf[u + c5] = v[3], v[4], v[5]


@njit(inline="always")
def _input_tiles(xp, V, R, nty, ntx):
    """``V[e, t, c] = (B^T d B)[e]`` for every tile ``t`` of the padded block ``xp``: per
    tile, its six rows into ``R`` = ``d B``, then ``R``'s columns into ``V``, each a loop
    along the channels."""
    C, Hp, Wp = xp.shape[3], xp.shape[1], xp.shape[2]
    T = V.shape[1]
    xf, rf, vf = xp.reshape(-1), R.reshape(-1), V.reshape(-1)
    t = 0
    for i in range(xp.shape[0]):
        for ty in range(nty):
            for tx in range(ntx):
                for r in range(6):  # rows: R[r, j] = (d B)[r, j]
                    _bt_run(xf, ((i * Hp + 4 * ty + r) * Wp + 4 * tx) * C, rf, 6 * r * C, C)
                for j in range(6):  # columns: V[6 i + j] = (B^T R)[i, j]
                    if _vectors(vf, C):
                        _bt_rows(vf, (j * T + t) * C, 6 * T * C, rf, j * C, 6 * C, C)
                        continue
                    for c in range(C):
                        v = _bt6(R[0, j, c], R[1, j, c], R[2, j, c], R[3, j, c], R[4, j, c],
                                 R[5, j, c])
                        V[j, t, c], V[6 + j, t, c], V[12 + j, t, c] = v[0], v[1], v[2]
                        V[18 + j, t, c], V[24 + j, t, c], V[30 + j, t, c] = v[3], v[4], v[5]
                t += 1


@njit(inline="always")
def _transformed_input(x, n0, n1, lh, lw, nty, ntx, R, cl, ws, off):
    """``V`` ``(36, T, C)`` of images ``n0 <= n < n1`` and the next scratch offset: their
    padded copy (:func:`_pad_block`) and input transform (:func:`_input_tiles`, ``R`` its
    scratch), both carved from ``ws`` at ``off``."""
    C = R.shape[2]
    nimg = n1 - n0
    a, off = _take(ws, off, nimg * (4 * nty + 2) * (4 * ntx + 2) * C)
    xp = a.reshape((nimg, 4 * nty + 2, 4 * ntx + 2, C))
    _pad_block(x, xp, n0, n1, lh, lw, cl)
    a, off = _take(ws, off, 36 * nimg * nty * ntx * C)
    V = a.reshape((36, nimg * nty * ntx, C))
    _input_tiles(xp, V, R, nty, ntx)
    return V, off


@njit(cache=True, nogil=True)
def _at_run(s, bias, z0, z1, z2, z3):
    """``z_b[k] = (A^T s[:, k])[b] + bias[k]`` along the filters (called, as
    :func:`_bt_run`)."""
    for k in range(z0.size):
        v = _at6(s[0, k], s[1, k], s[2, k], s[3, k], s[4, k], s[5, k])
        bk = bias[k]
        z0[k], z1[k], z2[k], z3[k] = v[0] + bk, v[1] + bk, v[2] + bk, v[3] + bk


@njit(inline="always")
def _output_tiles(M, S, Z, out, bias, n0, nimg, nty, ntx, k0, cl):
    """``A^T M A`` + bias for every tile into ``out``'s filters from ``k0`` (``bias``: theirs);
    the number of non-finite outputs.

    Each image's tiles go into ``Z``, ``(4 nty, 4 ntx, K)`` (runs of filters), then its
    valid part into ``out`` (:func:`_image_copy`)."""
    K = bias.shape[0]
    if cl:
        Ho, Wo = out.shape[2], out.shape[3]
    else:
        Ho, Wo = out.shape[3], out.shape[4]
    bad = 0
    t = 0
    T = M.shape[1]
    mf, sf, zf = M.reshape(-1), S.reshape(-1), Z.reshape(-1)
    wide = _vectors(mf, K)
    for i in range(nimg):
        for ty in range(nty):
            for tx in range(ntx):
                for j in range(6):  # columns: S[a, j] = (A^T M)[a, j]
                    if wide:
                        _at_rows(sf, j * K, 6 * K, mf, (j * T + t) * K, 6 * T * K, K)
                        continue
                    for k in range(K):
                        v = _at6(M[j, t, k], M[6 + j, t, k], M[12 + j, t, k], M[18 + j, t, k],
                                 M[24 + j, t, k], M[30 + j, t, k])
                        S[0, j, k], S[1, j, k], S[2, j, k], S[3, j, k] = v[0], v[1], v[2], v[3]
                for a in range(4):  # rows: Z[4 ty + a, 4 tx + b] = (S A)[a, b] + bias
                    if wide:
                        _at_bias_rows(zf, ((4 * ty + a) * Z.shape[1] + 4 * tx) * K, K, sf,
                                      6 * a * K, K, K, bias)
                        continue
                    z = Z[4 * ty + a]
                    _at_run(S[a], bias, z[4 * tx], z[4 * tx + 1], z[4 * tx + 2], z[4 * tx + 3])
                t += 1
        bad += image_out(Z, out, n0 + i, Ho, Wo, K, k0, cl)
    return bad


@njit(inline="always")
def image_out(Z, out, n, Ho, Wo, K, k0, cl):
    """The valid ``Ho x Wo`` part of the channels-last image buffer ``Z`` (``K`` filters)
    into image ``n`` of ``out``, its filters from ``k0`` (:func:`_image_copy`); the number
    of non-finite values in it (either tile family's output transform ends so)."""
    bad = 0
    for oy in range(Ho):
        zr = Z[oy].reshape(-1)
        for q in range(Wo * K):
            bad += not np.isfinite(zr[q])
    _image_copy(Z, out, n, Ho, Wo, K, cl, False, k0)
    return bad


@njit(inline="always")
def _image_copy(Z, a, n, Ho, Wo, K, cl, into_z, k0):
    """Copy the ``K`` channels from ``k0`` of image ``n`` of the 5-D array ``a`` (``cl``:
    channels-last) into the channels-last buffer ``Z`` (``into_z``), or ``Z`` into them:
    rows of ``Wo K`` channels-last; channels-first, plane by plane along ``Z``'s rows (one
    value a filter to the planes, 4 KiB apart, ran at ~4 ns each)."""
    if cl and K != a.shape[4]:  # (a range of the filters: runs of K within a's rows)
        for oy in range(Ho):
            for ox in range(Wo):
                zr = Z[oy, ox]
                ar = a[n, 0, oy, ox, k0:k0 + K]
                for k in range(K):
                    if into_z:
                        zr[k] = ar[k]
                    else:
                        ar[k] = zr[k]
        return
    if cl:
        for oy in range(Ho):
            zr = Z[oy].reshape(-1)
            ar = a[n, 0, oy].reshape(-1)
            for q in range(Wo * K):
                if into_z:
                    zr[q] = ar[q]
                else:
                    ar[q] = zr[q]
        return
    if into_z:  # along Z's runs of K, reading the K planes (0.43 ns an element, 0.6-0.95
        # plane by plane: (4, 64, 11, 11) one thread)
        af = a[n, k0:k0 + K].reshape(-1)
        touch_span(af, 0, af.size)
        P = _U(Ho * Wo)
        for oy in range(Ho):
            zr = Z[oy].reshape(-1)
            for ox in range(Wo):
                src, dst = _U(oy * Wo + ox), _U(ox * K)
                for k in range(K):
                    zr[dst + _U(k)] = af[src + _U(k) * P]
        return
    af, zf = a[n, k0:k0 + K].reshape(-1), Z.reshape(-1)
    for oy in range(Ho):  # (a row of Wo x K transposed in 8 x 8 tiles)
        transpose_into(zf, oy * Z.shape[1] * K, K, af, oy * Wo, Ho * Wo, Wo, K)


@njit(cache=True, nogil=True)
def _block(gemm, x, U, out, bias, lh, lw, nty, ntx, n0, n1, k0, k1, cl, ws):
    """Images ``n0 <= n < n1``, their filters ``k0 <= k < k1`` (``U``: those filters'
    transform, :func:`_weights` of ``w[k0:k1]``), on the calling thread: the padded copy,
    the input transform, the 36 GEMMs (``gemm``: numpy's CBLAS, pinned to one thread) and
    the output transform, every buffer carved from the thread's scratch ``ws``; the number
    of non-finite outputs."""
    C = x.shape[4] if cl else x.shape[1]
    K = k1 - k0
    T = (n1 - n0) * nty * ntx
    a, off = _take(ws, 0, 36 * C)
    V, off = _transformed_input(x, n0, n1, lh, lw, nty, ntx, a.reshape((6, 6, C)), cl, ws,
                                off)
    a, off = _take(ws, off, 36 * T * K)
    M = a.reshape((36, T, K))
    for e in range(36):
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, NO_TRANS, T, K, C, 1.0, V[e], C, U[e], K,
                0.0, M[e], K)
    a, off = _take(ws, off, 24 * K)
    S = a.reshape((4, 6, K))
    a, off = _take(ws, off, 16 * nty * ntx * K)
    Z = a.reshape((4 * nty, 4 * ntx, K))
    return _output_tiles(M, S, Z, out, bias[k0:k1], n0, n1 - n0, nty, ntx, k0, cl)


@njit(cache=True, nogil=True, parallel=True)
def _forward_blocks(fw, fb, gemm, x, w, U, out, bias, lh, lw, nty, ntx, nb, parts, own, cl,
                    ws):
    """The weight transform ``fw`` (:func:`_weights`) in two channel ranges, then every block
    of ``nb`` images (:func:`_block`, ``fb``) on Numba's threads, each whole on one; or,
    with ``parts > 1`` (the forward pass of one block), the block's filters in ``parts``
    ranges, each with its own weight transform (``U[i]``) on one thread: no thread reads
    what the other wrote (transformed in two channel ranges instead, each thread's GEMMs
    read half their filters from the other core's cache: (1, 32, 14, 14) -> 64 took 55 us
    where the two steps apart took 12 and 20). With ``own`` (at most :data:`_OWN_U_MAX`
    kernels) every thread transforms all the weights into its own ``U[t]`` before its
    first block, for the same reason: data one core has just written reached the other at
    ~2 GB/s on the Zen 4 development machine ((64, 64, 5, 5) -> 128: 0.31 -> 0.28 ms;
    with 65,536 kernels, (8, 256, 14, 14) -> 256, the doubled transform cost more than it
    saved: 5.8 -> 6.6). Both are
    :class:`numbaconv.cpu.native.Native` entry points, compiled once each (not again into
    each parallel loop). The blocks and ranges follow the shapes only, so the bits are the
    same at any thread count (``ws``: a scratch row a thread). True when every output is
    finite."""
    N, K, C = x.shape[0], w.shape[0], w.shape[1]
    bad = 0
    if parts > 1:
        for i in prange(parts):
            k0, k1 = i * K // parts, (i + 1) * K // parts
            call(fw, w[k0:k1], U[i], 0, C)
            bad += call(fb, gemm, x, U[i], out, bias, lh, lw, nty, ntx, 0, N, k0, k1, cl,
                        ws[get_thread_id()])
        return bad == 0
    blocks = -(-N // nb)
    if own:
        done = np.zeros(ws.shape[0], np.bool_)
        for j in prange(blocks):
            t = get_thread_id()
            if not done[t]:  # (the thread's first block: its own copy of the transform)
                call(fw, w[0:K], U[t], 0, C)
                done[t] = True
            bad += call(fb, gemm, x, U[t], out, bias, lh, lw, nty, ntx, j * nb,
                        min(N, j * nb + nb), 0, K, cl, ws[t])
        return bad == 0
    for i in prange(2):
        call(fw, w[0:K], U[0], i * C // 2, (i + 1) * C // 2)
    for j in prange(blocks):
        bad += call(fb, gemm, x, U[0], out, bias, lh, lw, nty, ntx, j * nb,
                    min(N, j * nb + nb), 0, K, cl, ws[get_thread_id()])
    return bad == 0


_NATIVES: dict = {}


def forward(x, w, bias, out, lh: int, lw: int, nb: int, cl: bool = False,
            parts: int = 1) -> bool:
    """``out = conv2d(x, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before, after implied
    by ``out``; 5-D views with ``D == 1``; ``cl``: ``x`` and ``out`` channels-last, ``(N, 1,
    H, W, C)``) in blocks of ``nb`` images (``parts > 1``: one block, its filters in that
    many ranges on the threads). False when an output came out non-finite (the caller then
    recomputes the call) or where no compiled BLAS is callable."""
    return _run_blocks("forward", x, w, bias, out, out, lh, lw, nb, cl, None, parts)


def prepare_forward(x, w, bias, out, nb: int, cl: bool = False, parts: int = 1, tiles=None):
    """:func:`forward` for arrays like these, resolved once: ``run(x, w, bias, out, lh, lw)
    -> bool`` (:func:`prepare`), or None where no compiled BLAS is callable."""
    return prepare("forward", x, w, bias, out, out, nb, cl, tiles, parts)


def _run_blocks(kind, src, w, bias, dst, tiled, lh, lw, nb, cl, tiles=None, parts=1) -> bool:
    """:func:`forward` (``kind`` 'forward': ``src`` the input, ``dst`` the output) or
    :func:`input_grad` ('input_grad': ``src`` the output gradient, ``dst`` the input
    gradient) by :func:`prepare`'s runner."""
    run = prepare(kind, src, w, bias, dst, tiled, nb, cl, tiles, parts)
    return run is not None and run(src, w, bias, dst, lh, lw)


def prepare(kind, src, w, bias, dst, tiled, nb, cl, tiles=None, parts=1):
    """A runner ``run(src, w, bias, dst, lh, lw) -> bool`` of :func:`forward` (``kind``
    'forward') or :func:`input_grad` ('input_grad') for arrays like these: the weight
    transform and the blocks (:func:`_block`, :func:`_igrad_block`) on the tiles of
    ``tiled``'s map, by :func:`_forward_blocks`, with the buffers, compiled entry points and
    sizes found once (a repeated call then costs the driver's call alone; arrays of other
    Numba types than these take :func:`_run_blocks`). ``tiles``:
    another tile family's :class:`Tiles` (F(3x3)'s, :mod:`numbaconv.cpu.winograd3`), else
    F(4x4); ``parts``: the forward pass's filter ranges (one block). None where no compiled
    BLAS is callable."""
    t = _F4 if tiles is None else tiles
    gemm = kernel_gemm(dst.dtype)
    if gemm is None:
        return None
    Ho, Wo = (tiled.shape[2], tiled.shape[3]) if cl else (tiled.shape[3], tiled.shape[4])
    nty, ntx = -(-Ho // t.m), -(-Wo // t.m)
    K, C = w.shape[:2]
    nb = max(1, min(nb, src.shape[0]))
    parts = parts if kind == "forward" and nb >= src.shape[0] else 1
    u_rows = (t.planes, _plane(C * -(-K // parts), dst.dtype.itemsize))
    u_shape = (max(parts, numba.get_num_threads()), *u_rows)
    size = t.scratch(kind, C, K, nb, nty, ntx)
    U = _buffer(t.name + "-U", u_shape, dst.dtype)
    ws = _workspace(kind, C, K, nb, nty, ntx, dst.dtype, t.scratch, t.name)
    zeros = np.zeros(dst.shape[4] if cl else dst.shape[1], dst.dtype)
    b = zeros if bias is None else bias
    w4, flag = w.reshape(K, C, 3, 3), np.bool_(cl)
    key = (t.name, kind, fingerprint(src), fingerprint(w4), fingerprint(dst), fingerprint(b),
           cl)
    if (found := _NATIVES.get(key)) is None:
        block = t.block if kind == "forward" else t.igrad_block
        found = _NATIVES[key] = (native(t.weights, w4, U[0], _I0, _I0),
                                 native(block, gemm, src, U[0], dst, b, *(_I0,) * 8, flag,
                                        ws[0]))
    fw, fb = found
    kinds = key[2:6]
    own = np.bool_(parts == 1 and C * K <= _OWN_U_MAX)

    def run(src, w, bias, dst, lh, lw) -> bool:  # (this thread's buffers, found each call)
        if (fingerprint(src), fingerprint(w.reshape(K, C, 3, 3)), fingerprint(dst),
                fingerprint(zeros if bias is None else bias)) != kinds:
            return _run_blocks(kind, src, w, bias, dst, dst if kind == "forward" else src,
                               lh, lw, nb, cl, tiles, parts)
        slots = numba.get_num_threads()
        U = _buffer(t.name + "-U", (max(parts, slots), *u_rows), dst.dtype)
        ws = _buffer(t.name, (slots, size), dst.dtype)
        b = zeros if bias is None else bias
        with one_blas_thread():
            return bool(_forward_blocks(fw, fb, gemm, src, w.reshape(K, C, 3, 3), U, dst, b,
                                        lh, lw, nty, ntx, nb, parts, own, flag, ws))

    return run


@dataclasses.dataclass(frozen=True)
class Tiles:
    """A Winograd tile family as :func:`_run_blocks` runs it: ``m x m`` output tiles from
    ``planes`` transformed components, its scratch sizes (``scratch(kind, C, K, nb, nty,
    ntx)``), its weight transform and forward / input-gradient blocks (kernels with
    :func:`_weights`', :func:`_block`'s and :func:`_igrad_block`'s signatures, called by
    address) and its buffers' name."""

    m: int
    planes: int
    scratch: Callable[..., int]
    weights: Any
    block: Any
    igrad_block: Any
    name: str


# ------------------------------------------------------------------------- weight gradient


@njit(inline="always")
def _a6(v0, v1, v2, v3):
    """``A v`` for one column ``v`` of four values (multiples by additions)."""
    s, t = v0 + v2, v1 + v3
    two = v1 + v1
    four = v2 + v2
    four += four
    eight = v3 + v3
    eight += eight
    eight += eight
    return v0, s + t, s - t, v0 + two + four + eight, v0 - two + four - eight, v3


#: ``A`` over runs of filters (the weight and input gradients' output-gradient transform)
_a_rows = matrix_rows(_matrix(_a6, 4))


@njit(cache=True, nogil=True)
def _a_run(z0, z1, z2, z3, o):
    """``o[m, k] = (A (z0[k], ..., z3[k]))[m]`` along the filters (called, as
    :func:`_bt_run`)."""
    for k in range(z0.size):
        v = _a6(z0[k], z1[k], z2[k], z3[k])
        o[0, k], o[1, k], o[2, k] = v[0], v[1], v[2]
        o[3, k], o[4, k], o[5, k] = v[3], v[4], v[5]


@njit(inline="always")
def _grad_tiles(g, Gt, Z, Q, n0, nimg, nty, ntx, cl):
    """``Gt[e, t, k] = (A g A^T)[e]`` for every 4x4 tile ``t`` of the output gradient of
    images ``n0 <= n < n0 + nimg`` (zero past the map): each image into the zeroed
    channels-last buffer ``Z`` ``(4 nty, 4 ntx, K)``, then per tile its four rows into ``Q``
    = ``g A^T`` and ``Q``'s six columns into ``Gt``, loops along the filters."""
    if cl:
        Ho, Wo, K = g.shape[2], g.shape[3], g.shape[4]
    else:
        K, Ho, Wo = g.shape[1], g.shape[3], g.shape[4]
    t = 0
    T = Gt.shape[1]
    zf, qf, gf = Z.reshape(-1), Q.reshape(-1), Gt.reshape(-1)
    wide = _vectors(gf, K)
    for i in range(nimg):
        Z[:] = 0
        _image_copy(Z, g, n0 + i, Ho, Wo, K, cl, True, 0)
        for ty in range(nty):
            for tx in range(ntx):
                for a in range(4):  # rows: Q[a, j] = (g A^T)[a, j]
                    z = Z[4 * ty + a]
                    if wide:
                        _a_rows(qf, 6 * a * K, K, zf, ((4 * ty + a) * Z.shape[1] + 4 * tx) * K,
                                K, K)
                    else:
                        _a_run(z[4 * tx], z[4 * tx + 1], z[4 * tx + 2], z[4 * tx + 3], Q[a])
                for j in range(6):  # columns: Gt[6 i + j] = (A Q)[i, j]
                    if wide:
                        _a_rows(gf, (j * T + t) * K, 6 * T * K, qf, j * K, 6 * K, K)
                        continue
                    for k in range(K):
                        v = _a6(Q[0, j, k], Q[1, j, k], Q[2, j, k], Q[3, j, k])
                        Gt[j, t, k], Gt[6 + j, t, k], Gt[12 + j, t, k] = v[0], v[1], v[2]
                        Gt[18 + j, t, k], Gt[24 + j, t, k], Gt[30 + j, t, k] = v[3], v[4], v[5]
                t += 1


@njit(cache=True, nogil=True)
def _weight_grad_run(gemm, x, g, dU, lh, lw, nty, ntx, nb, b0, b1, cl, ws):
    """Blocks ``b0 <= b < b1`` of ``nb`` images summed into ``dU`` (``(36, C K)`` planes):
    per block the padded copy and input transform of ``x`` (as the forward's), the output
    gradient's transform, and 36 GEMMs ``dU[e] += V[e]^T @ Gt[e]``, in block order (every
    buffer carved from the thread's scratch ``ws``)."""
    N = x.shape[0]
    C, K = (x.shape[4], g.shape[4]) if cl else (x.shape[1], g.shape[1])
    a, off = _take(ws, 0, 36 * C)
    R = a.reshape((6, 6, C))
    a, off = _take(ws, off, 24 * K)
    Q = a.reshape((4, 6, K))
    a, off = _take(ws, off, 16 * nty * ntx * K)
    Z = a.reshape((4 * nty, 4 * ntx, K))
    for b in range(b0, b1):
        n0 = b * nb
        n1 = min(N, n0 + nb)
        T = (n1 - n0) * nty * ntx
        V, end = _transformed_input(x, n0, n1, lh, lw, nty, ntx, R, cl, ws, off)
        a, end = _take(ws, end, 36 * T * K)
        Gt = a.reshape((36, T, K))
        _grad_tiles(g, Gt, Z, Q, n0, n1 - n0, nty, ntx, cl)
        beta = 0.0 if b == b0 else 1.0
        for e in range(36):
            gemm_at(gemm, ROW_MAJOR, TRANS, NO_TRANS, C, K, T, 1.0, V[e], C, Gt[e], K, beta,
                    dU[e], K)


@njit(inline="always")
def _gt3(u0, u1, u2, u3, u4, u5):
    """``G^T u`` for one column ``u`` of six values (float64)."""
    s, d = u1 + u2, u1 - u2
    p, q = u3 + u4, u3 - u4
    return u0 * 0.25 - s * _SIXTH + p * _TWENTYFOURTH, q * _TWELFTH - d * _SIXTH, \
        (p - s) * _SIXTH + u5


@njit(cache=True, nogil=True, parallel=True)
def _weight_grad_parts(fr, gemm, x, g, dUs, lh, lw, nty, ntx, nb, parts, cl, ws):
    """``parts`` fixed runs of blocks (:func:`_weight_grad_run`, ``fr``, by address) on
    Numba's threads, each into its own planes ``dUs[p]``. The runs follow the shapes only:
    the same bits at any thread count."""
    N = x.shape[0]
    blocks = -(-N // nb)
    for p in prange(parts):
        call(fr, gemm, x, g, dUs[p], lh, lw, nty, ntx, nb, p * blocks // parts,
             (p + 1) * blocks // parts, cl, ws[get_thread_id()])


@njit(cache=True, nogil=True)
def _planes_to_filters(dUs, dw, bad, k0, k1):
    """Filters ``k0 <= k < k1`` of :func:`weight_grad`: per input channel the runs' planes
    added in run order, then ``dw[k, c] = G^T dU G`` (in float64); ``bad[k]``: how many of
    filter ``k``'s values came out non-finite. (A kernel of its own, run by
    :func:`~numbaconv.cpu.native.team_runs`: inside :func:`_weight_grad_parts`' second
    ``prange`` loop its transforms took ~5 s to compile, Zen 3.)"""
    K, C = dw.shape[0], dw.shape[1]
    parts = dUs.shape[0]
    u = np.empty(36)
    for k in range(k0, k1):
        nbad = 0
        for c in range(C):
            q = c * K + k
            for e in range(36):
                s = 0.0
                for p in range(parts):
                    s += dUs[p, e, q]
                u[e] = s
            c0 = _gt3(u[0], u[6], u[12], u[18], u[24], u[30])  # (G^T u)[:, j]
            c1 = _gt3(u[1], u[7], u[13], u[19], u[25], u[31])
            c2 = _gt3(u[2], u[8], u[14], u[20], u[26], u[32])
            c3 = _gt3(u[3], u[9], u[15], u[21], u[27], u[33])
            c4 = _gt3(u[4], u[10], u[16], u[22], u[28], u[34])
            c5 = _gt3(u[5], u[11], u[17], u[23], u[29], u[35])
            for i in range(3):
                r = _gt3(c0[i], c1[i], c2[i], c3[i], c4[i], c5[i])
                dw[k, c, 0, i, 0], dw[k, c, 0, i, 1], dw[k, c, 0, i, 2] = r[0], r[1], r[2]
                nbad += (not np.isfinite(r[0])) + (not np.isfinite(r[1])) \
                    + (not np.isfinite(r[2]))
        bad[k] = nbad


def weight_grad(x, g, dw, lh: int, lw: int, nb: int, parts: int, cl: bool = False) -> bool:
    """``dw = conv2d_weight(x, g)`` (3x3, stride 1, padding ``lh``/``lw`` before; 5-D views
    with ``D == 1``; ``cl``: ``x`` and ``g`` channels-last) as one reduction over the tiles
    of every image, in blocks of ``nb`` images summed in ``parts`` fixed runs. False when a
    value came out non-finite (the caller then recomputes the call) or where no compiled
    BLAS is callable."""
    gemm = kernel_gemm(dw.dtype)
    if gemm is None:
        return False
    Ho, Wo = (g.shape[2], g.shape[3]) if cl else (g.shape[3], g.shape[4])
    nty, ntx = -(-Ho // 4), -(-Wo // 4)
    K, C = dw.shape[0], dw.shape[1]
    nb = max(1, min(nb, x.shape[0]))
    blocks = -(-x.shape[0] // nb)
    parts = max(1, min(parts, blocks))
    dUs = _buffer("winograd4-dU", (parts, 36, _plane(C * K, dw.dtype.itemsize)), dw.dtype)
    ws = _workspace("weight_grad", C, K, nb, nty, ntx, dw.dtype)
    flag = np.bool_(cl)
    key = ("weight_grad", fingerprint(x), fingerprint(g), fingerprint(dUs[0]), cl)
    if (fr := _NATIVES.get(key)) is None:
        fr = _NATIVES[key] = native(_weight_grad_run, gemm, x, g, dUs[0], *(_I0,) * 7, flag,
                                    ws[0])
    with one_blas_thread():
        _weight_grad_parts(fr, gemm, x, g, dUs, lh, lw, nty, ntx, nb, parts, flag, ws)
    bad = np.zeros(K, np.int64)
    team_runs(_planes_to_filters, (dUs, dw, bad), K, K)  # (prange(K), as the runs were)
    return not bad.any()


# ----------------------------------------------------------------- input gradient, adjoint


@njit(inline="always")
def _b6(v0, v1, v2, v3, v4, v5):
    """``B v`` for one column ``v`` of six values (the transpose of :func:`_bt6`'s
    matrix; multiples by additions, as there)."""
    a, b = v1 - v2, v3 - v4
    c, d = v1 + v2, v3 + v4
    t = v5 - a
    t += t
    t += t
    b2 = b + b
    q = v0 + c
    q += q
    q += q
    f = v5 + v5
    f += f
    o0 = v0 + v0
    o0 += o0
    return o0, t - b2, -(q + v0 + d), a + b2 - f - v5, v0 + c + d, v5


#: ``B`` over runs of channels, written or added (the input transform's adjoint)
_b_rows = matrix_rows(_matrix(_b6, 6))
_b_add_rows = matrix_rows(_matrix(_b6, 6), accumulate=True)


@njit(cache=True, nogil=True)
def _b_run(vf, a, es, rf, o, C):
    """``rf[o + m C + c] = (B (vf[a + c], vf[a + es + c], ..., vf[a + 5 es + c]))[m]`` along
    the channels: the adjoint's row pass as a function of its own, called (written into
    :func:`_adjoint_tiles`' nest it stayed scalar, as :func:`_bt_run` says)."""
    if _vectors(vf, C):
        _b_rows(rf, o, C, vf, a, es, C)
        return
    a, o = _U(a), _U(o)
    e1, e2, e3, e4, e5 = _U(es), _U(2 * es), _U(3 * es), _U(4 * es), _U(5 * es)
    c1, c2, c3, c4, c5 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C), _U(5 * C)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _b6(vf[q], vf[q + e1], vf[q + e2], vf[q + e3], vf[q + e4], vf[q + e5])
        rf[u], rf[u + c1], rf[u + c2] = v[0], v[1], v[2]
        rf[u + c3], rf[u + c4], rf[u + c5] = v[3], v[4], v[5]


@njit(cache=True, nogil=True)
def _b_add(rf, a, df, o, ds, C):
    """``df[o + i ds + c] += (B (rf[a + c], rf[a + 6 C + c], ..., rf[a + 30 C + c]))[i]``
    along the channels: the adjoint's column pass, overlap-adding one column of a tile
    into the padded block (called, as :func:`_b_run`)."""
    if _vectors(rf, C):
        _b_add_rows(df, o, ds, rf, a, 6 * C, C)
        return
    a, o = _U(a), _U(o)
    r1, r2, r3, r4, r5 = _U(6 * C), _U(12 * C), _U(18 * C), _U(24 * C), _U(30 * C)
    d1, d2, d3, d4, d5 = _U(ds), _U(2 * ds), _U(3 * ds), _U(4 * ds), _U(5 * ds)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _b6(rf[q], rf[q + r1], rf[q + r2], rf[q + r3], rf[q + r4], rf[q + r5])
        df[u] += v[0]
        df[u + d1] += v[1]
        df[u + d2] += v[2]
        df[u + d3] += v[3]
        df[u + d4] += v[4]
        df[u + d5] += v[5]


@njit(inline="always")
def _adjoint_tiles(dV, R, dxp, nty, ntx):
    """``dxp[i, 4 ty + r, 4 tx + s] += (B dV B^T)[r, s]`` for every tile (the input
    transform's adjoint, overlap-added into the zeroed padded block ``dxp``): per tile its
    six rows into ``R`` = ``dV B^T`` (:func:`_b_run`), then ``R``'s columns added into
    ``dxp`` (:func:`_b_add`), each a called loop along the channels."""
    Hp, Wp, C = dxp.shape[1], dxp.shape[2], dxp.shape[3]
    T = dV.shape[1]
    vf, rf, df = dV.reshape(-1), R.reshape(-1), dxp.reshape(-1)
    t = 0
    for i in range(dxp.shape[0]):
        for ty in range(nty):
            for tx in range(ntx):
                for r in range(6):  # rows: R[r, s] = (dV B^T)[r, s]
                    _b_run(vf, (6 * r * T + t) * C, T * C, rf, 6 * r * C, C)
                for j in range(6):  # columns: dxp[.., 4 ty + r, 4 tx + j] += (B R)[r, j]
                    _b_add(rf, j * C, df, ((i * Hp + 4 * ty) * Wp + 4 * tx + j) * C, Wp * C, C)
                t += 1


@njit(inline="always")
def _padded_out(dxp, dx, bias, n0, lh, lw, cl):
    """The image part of every padded block image of ``dxp`` plus ``bias`` (a value a
    channel) into ``dx`` (5-D, ``cl``: channels-last), from ``lh`` rows and ``lw`` columns
    in; the number of non-finite values written."""
    if cl:
        H, W, C = dx.shape[2], dx.shape[3], dx.shape[4]
    else:
        C, H, W = dx.shape[1], dx.shape[3], dx.shape[4]
    bad = 0
    for i in range(dxp.shape[0]):
        for y in range(H):
            row = dxp[i, y + lh]
            if cl:
                dst = dx[n0 + i, 0, y].reshape(-1)
                src = row.reshape(-1)
                for j in range(W):
                    b0 = (j + lw) * C
                    for c in range(C):
                        v = src[b0 + c] + bias[c]
                        dst[j * C + c] = v
                        bad += not np.isfinite(v)
            else:
                for c in range(C):
                    dst = dx[n0 + i, c, 0, y]
                    bc = bias[c]
                    for j in range(W):
                        v = row[j + lw, c] + bc
                        dst[j] = v
                        bad += not np.isfinite(v)
    return bad


@njit(cache=True, nogil=True)
def _igrad_block(gemm, g, U, dx, bias, lh, lw, nty, ntx, n0, n1, k0, k1, cl, ws):
    """Images ``n0 <= n < n1`` of the input gradient, whole, on the calling thread (``k0 =
    0``, ``k1 = K``: the driver's signature; the input gradient's blocks are not split): the
    output gradient's tiles transformed (``Gt = A g A^T``, :func:`_grad_tiles`), 36 GEMMs
    ``dV[e] = Gt[e] @ U[e]^T`` and the input transform's adjoint overlap-added into a
    padded block (:func:`_adjoint_tiles`), its image part copied out; the number of
    non-finite values."""
    if cl:
        K, C = g.shape[4], dx.shape[4]
    else:
        K, C = g.shape[1], dx.shape[1]
    nimg = n1 - n0
    T = nimg * nty * ntx
    a, off = _take(ws, 0, 36 * T * K)
    Gt = a.reshape((36, T, K))
    a, off = _take(ws, off, 24 * K)
    Q = a.reshape((4, 6, K))
    a, off = _take(ws, off, 16 * nty * ntx * K)
    Z = a.reshape((4 * nty, 4 * ntx, K))
    _grad_tiles(g, Gt, Z, Q, n0, nimg, nty, ntx, cl)
    a, off = _take(ws, off, 36 * T * C)
    dV = a.reshape((36, T, C))
    for e in range(36):
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, T, C, K, 1.0, Gt[e], K, U[e], K, 0.0,
                dV[e], C)
    a, off = _take(ws, off, nimg * (4 * nty + 2) * (4 * ntx + 2) * C)
    a[:] = 0
    dxp = a.reshape((nimg, 4 * nty + 2, 4 * ntx + 2, C))
    a, off = _take(ws, off, 36 * C)
    _adjoint_tiles(dV, a.reshape((6, 6, C)), dxp, nty, ntx)
    return _padded_out(dxp, dx, bias, n0, lh, lw, cl)


#: F(4x4, 3x3), this module's tile family
_F4 = Tiles(4, 36, _scratch, _weights, _block, _igrad_block, "winograd4")


def input_grad(g, w, bias, dx, lh: int, lw: int, nb: int, cl: bool = False) -> bool:
    """``dx = conv2d_input(g, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before; 5-D views
    with ``D == 1``; ``cl``: ``g`` and ``dx`` channels-last) as the forward pass's adjoint on
    the forward's own 4x4 output tiles, in blocks of ``nb`` images: per tile ``B (sum over
    filters of U^T (A g A^T)) B^T`` overlap-added into the padded input. Where the flipped
    forward pass (:func:`forward` of ``g`` padded ``2 - lo``) tiles the whole ``H x W``
    input, this tiles the ``Ho x Wo`` output: (64, 32, 13, 13) -> 64 valid, 9 tiles an
    image against 16, (64, 64, 5, 5) -> 128 one against four. False when a value came out
    non-finite (the caller then recomputes the call) or where no compiled BLAS is
    callable."""
    return _run_blocks("input_grad", g, w, bias, dx, g, lh, lw, nb, cl)
