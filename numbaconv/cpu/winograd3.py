"""CPU-only Winograd F(3x3, 3x3): the forward pass (and the input gradient as its adjoint,
:func:`input_grad`) of 3x3 stride-1 layers whose output maps
F(4x4, 3x3) (:mod:`numbaconv.cpu.winograd4`) would cover with as many tiles, so with
7 of every 16 outputs wasted on a 3x3 map: 3x3 outputs (a (N, 128, 3, 3) layer padded 1,
the course notes' Keras (N, 64, 5, 5) -> 128 layer), 5x5, 6x6, 9x9
(:func:`numbaconv.cpu.conv_plan.wino3_better` decides; the same strategy, ``winograd4``,
for the planner).

Interpolation points 0, +-1, 2 and infinity: a 3x3 output tile from a 5x5 input tile with
25 products, against F(4x4, 3x3)'s 36 for its 16 outputs, so 25 GEMMs of the same sizes
(0.69x the arithmetic) where both cover the map with the same number of tiles::

    A^T = [[1, 1,  1, 1, 0],      G = [[ 1/2,    0,    0],     B^T = [[2, -1, -2,  1, 0],
           [0, 1, -1, 2, 0],           [-1/2, -1/2, -1/2],            [0, -2, -1,  1, 0],
           [0, 1,  1, 4, 1]]           [-1/6,  1/6, -1/6],            [0,  2, -3,  1, 0],
                                       [ 1/6,  1/3,  2/3],            [0, -1,  0,  1, 0],
                                       [   0,    0,    1]]            [0,  2, -1, -2, 1]]

``y = A^T [(G g G^T) * (B^T d B)] A`` for the correlation of a 5x5 input tile ``d`` with the
3x3 kernel ``g``. Everything else is :mod:`numbaconv.cpu.winograd4`'s: the blocks of images
on Numba's threads (its driver, each block and the weight transform called by address),
the padded channels-last copy of a block, the thread's scratch, the GEMMs on one BLAS
thread, the check for non-finite outputs (the caller then recomputes the call with a
method that keeps a NaN local) and either layout. Its rounding lies between F(2x2, 3x3)'s
and F(4x4, 3x3)'s (constants up to 4 in ``A``, 3 in ``B``, 1/6 in ``G``).
"""

from __future__ import annotations

import numpy as np

from .blas import NO_TRANS, ROW_MAJOR, TRANS, gemm_at
from .jit import njit
from .simd import matrix_rows, sandwich_rows
from .winograd4 import (
    _ALIGN,
    _MIN_RUN,
    Tiles,
    _image_copy,
    _matrix,
    _pad_block,
    _padded_out,
    _run_blocks,
    _take,
    _vectors,
    gather_taps,
    image_out,
    place_rows,
    prepare,
    weight_chunks,
)

_U = np.uint64
_HALF, _SIXTH, _THIRD = 0.5, 1.0 / 6.0, 1.0 / 3.0

#: number of transformed components (5x5)
_E = 25


@njit(inline="always")
def _bt5(d0, d1, d2, d3, d4):
    """``B^T d`` for one column ``d`` of five values (multiples by additions: an integer
    constant would promote float32 to float64, and the loops would not vectorise)."""
    t1 = d1 + d1
    t2 = d2 + d2
    return (d0 + d0 - d1 - t2 + d3, d3 - t1 - d2, t1 - d2 - t2 + d3, d3 - d1,
            t1 - d2 - d3 - d3 + d4)


@njit(inline="always")
def _at5(m0, m1, m2, m3, m4):
    """``A^T m`` for one column ``m`` of five values (multiples by additions)."""
    s, t = m1 + m2, m3 + m3
    return m0 + s + m3, m1 - m2 + t, s + t + t + m4


#: F(3x3, 3x3)'s kernel transform ``G`` (rows of the 5 x 3 matrix above), and the transform
#: of a run of kernels by it (:func:`numbaconv.cpu.simd.sandwich_rows`)
_G = ((_HALF, 0.0, 0.0), (-_HALF, -_HALF, -_HALF), (-_SIXTH, _SIXTH, -_SIXTH),
      (_SIXTH, _THIRD, 2 * _THIRD), (0.0, 0.0, 1.0))
_weight_rows = sandwich_rows(_G)


@njit(cache=True, nogil=True)
def _weights(w, U, c0, c1):
    """``U[e, c K + k] = (G w[k, c] G^T)[e]`` for the channels ``c0 <= c < c1`` (called by
    address from the driver: :func:`numbaconv.cpu.winograd4._weights`' steps with this
    family's ``G``)."""
    K, P = w.shape[0], U.shape[1]
    cb, s = weight_chunks(K, c1 - c0, U.itemsize)
    taps = np.empty(9 * s, U.dtype)
    Uf = U.reshape(-1)
    for a in range(c0, c1, cb):
        L = gather_taps(w, taps, a, min(c1, a + cb), s)
        if L >= _MIN_RUN:
            _weight_rows(Uf, a * K, P, taps, 0, s, L)
        else:
            small = np.empty(_E * s, U.dtype)
            _weight_rows(small, 0, s, taps, 0, s, s)
            place_rows(small, U, a * K, L, s)


#: ``B^T`` and ``A^T`` over runs of channels or filters (as :mod:`numbaconv.cpu.winograd4`'s)
_bt_rows = matrix_rows(_matrix(_bt5, 5))
_at_rows = matrix_rows(_matrix(_at5, 5))
_at_bias_rows = matrix_rows(_matrix(_at5, 5), bias=True)


@njit(cache=True, nogil=True)
def _bt_run(xf, a, rf, o, C):
    """``rf[o + m C + c] = (B^T (xf[a + c], xf[a + C + c], ..., xf[a + 4 C + c]))[m]``
    along the channels (a function of its own, called: written into the tile loops it
    stayed scalar, as :func:`numbaconv.cpu.winograd4._bt_run` says)."""
    if _vectors(xf, C):
        _bt_rows(rf, o, C, xf, a, C, C)
        return
    a, o = _U(a), _U(o)
    c1, c2, c3, c4 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _bt5(xf[q], xf[q + c1], xf[q + c2], xf[q + c3], xf[q + c4])
        rf[u], rf[u + c1], rf[u + c2] = v[0], v[1], v[2]
        rf[u + c3], rf[u + c4] = v[3], v[4]


@njit(cache=True, nogil=True)
def _at_run(s, bias, z0, z1, z2):
    """``z_b[k] = (A^T s[:, k])[b] + bias[k]`` along the filters (called, as
    :func:`_bt_run`)."""
    for k in range(z0.size):
        v = _at5(s[0, k], s[1, k], s[2, k], s[3, k], s[4, k])
        bk = bias[k]
        z0[k], z1[k], z2[k] = v[0] + bk, v[1] + bk, v[2] + bk


@njit(inline="always")
def _input_tiles(xp, V, R, nty, ntx):
    """``V[e, t, c] = (B^T d B)[e]`` for every 5x5 tile ``t`` (three apart) of the padded
    block ``xp``: per tile its five rows into ``R`` = ``d B``, then ``R``'s columns into
    ``V``, each a loop along the channels."""
    C, Hp, Wp = xp.shape[3], xp.shape[1], xp.shape[2]
    T = V.shape[1]
    xf, rf, vf = xp.reshape(-1), R.reshape(-1), V.reshape(-1)
    t = 0
    for i in range(xp.shape[0]):
        for ty in range(nty):
            for tx in range(ntx):
                for r in range(5):  # rows: R[r, j] = (d B)[r, j]
                    _bt_run(xf, ((i * Hp + 3 * ty + r) * Wp + 3 * tx) * C, rf, 5 * r * C, C)
                for j in range(5):  # columns: V[5 i + j] = (B^T R)[i, j]
                    if _vectors(vf, C):
                        _bt_rows(vf, (j * T + t) * C, 5 * T * C, rf, j * C, 5 * C, C)
                        continue
                    for c in range(C):
                        v = _bt5(R[0, j, c], R[1, j, c], R[2, j, c], R[3, j, c], R[4, j, c])
                        V[j, t, c], V[5 + j, t, c], V[10 + j, t, c] = v[0], v[1], v[2]
                        V[15 + j, t, c], V[20 + j, t, c] = v[3], v[4]
                t += 1


@njit(inline="always")
def _output_tiles(M, S, Z, out, bias, n0, nimg, nty, ntx, k0, cl):
    """``A^T M A`` + bias for every tile into ``out``'s filters from ``k0`` (``bias``: theirs),
    through the channels-last image buffer ``Z`` ``(3 nty, 3 ntx, K)``; the number of
    non-finite outputs."""
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
                for j in range(5):  # columns: S[a, j] = (A^T M)[a, j]
                    if wide:
                        _at_rows(sf, j * K, 5 * K, mf, (j * T + t) * K, 5 * T * K, K)
                        continue
                    for k in range(K):
                        v = _at5(M[j, t, k], M[5 + j, t, k], M[10 + j, t, k], M[15 + j, t, k],
                                 M[20 + j, t, k])
                        S[0, j, k], S[1, j, k], S[2, j, k] = v[0], v[1], v[2]
                for a in range(3):  # rows: Z[3 ty + a, 3 tx + b] = (S A)[a, b] + bias
                    if wide:
                        _at_bias_rows(zf, ((3 * ty + a) * Z.shape[1] + 3 * tx) * K, K, sf,
                                      5 * a * K, K, K, bias)
                        continue
                    z = Z[3 * ty + a]
                    _at_run(S[a], bias, z[3 * tx], z[3 * tx + 1], z[3 * tx + 2])
                t += 1
        bad += image_out(Z, out, n0 + i, Ho, Wo, K, k0, cl)
    return bad


def _scratch(kind: str, C: int, K: int, nb: int, nty: int, ntx: int) -> int:
    """Elements of one thread's scratch for a block of ``nb`` images of ``kind`` ('forward',
    'input_grad'): what :func:`_block` and :func:`_igrad_block` carve with
    :func:`~numbaconv.cpu.winograd4._take`, in that order."""
    T = nb * nty * ntx
    padded = nb * (3 * nty + 2) * (3 * ntx + 2) * C
    z = 9 * nty * ntx * K
    pieces = {"forward": (25 * C, padded, _E * T * C, _E * T * K, 15 * K, z),
              "input_grad": (_E * T * K, 15 * K, z, _E * T * C, padded, 25 * C)}[kind]
    return sum(-(-n // _ALIGN) * _ALIGN for n in pieces)


@njit(cache=True, nogil=True)
def _block(gemm, x, U, out, bias, lh, lw, nty, ntx, n0, n1, k0, k1, cl, ws):
    """Images ``n0 <= n < n1``, their filters ``k0 <= k < k1``, on the calling thread: the
    padded copy, the input
    transform, the 25 GEMMs (numpy's CBLAS, pinned to one thread) and the output transform,
    every buffer carved from the thread's scratch ``ws``; the number of non-finite
    outputs. (The signature of :func:`numbaconv.cpu.winograd4._block`: the same driver
    calls either.)"""
    C = x.shape[4] if cl else x.shape[1]
    K = k1 - k0
    nimg = n1 - n0
    T = nimg * nty * ntx
    a, off = _take(ws, 0, 25 * C)
    R = a.reshape((5, 5, C))
    a, off = _take(ws, off, nimg * (3 * nty + 2) * (3 * ntx + 2) * C)
    xp = a.reshape((nimg, 3 * nty + 2, 3 * ntx + 2, C))
    _pad_block(x, xp, n0, n1, lh, lw, cl)
    a, off = _take(ws, off, _E * T * C)
    V = a.reshape((_E, T, C))
    _input_tiles(xp, V, R, nty, ntx)
    a, off = _take(ws, off, _E * T * K)
    M = a.reshape((_E, T, K))
    for e in range(_E):
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, NO_TRANS, T, K, C, 1.0, V[e], C, U[e], K,
                0.0, M[e], K)
    a, off = _take(ws, off, 15 * K)
    S = a.reshape((3, 5, K))
    a, off = _take(ws, off, 9 * nty * ntx * K)
    Z = a.reshape((3 * nty, 3 * ntx, K))
    return _output_tiles(M, S, Z, out, bias[k0:k1], n0, nimg, nty, ntx, k0, cl)


# ------------------------------------------------------------------ input gradient (adjoint)


@njit(inline="always")
def _a5(v0, v1, v2):
    """``A v`` for one column ``v`` of three values (the transpose of :func:`_at5`'s
    matrix; multiples by additions)."""
    s = v0 + v2
    t = v1 + v1
    four = v2 + v2
    four += four
    return v0, s + v1, s - v1, v0 + t + four, v2


@njit(inline="always")
def _b5(v0, v1, v2, v3, v4):
    """``B v`` for one column ``v`` of five values (the transpose of :func:`_bt5`'s
    matrix; multiples by additions)."""
    t1, t2, t4 = v1 + v1, v2 + v2, v4 + v4
    return (v0 + v0, t2 - v0 - t1 - v3 + t4, -(v0 + v0 + v1 + t2 + v2 + v4),
            v0 + v1 + v2 + v3 - t4, v4)


#: ``A`` and ``B`` over runs of filters or channels (the input gradient's transforms)
_a_rows = matrix_rows(_matrix(_a5, 3))
_b_rows = matrix_rows(_matrix(_b5, 5))
_b_add_rows = matrix_rows(_matrix(_b5, 5), accumulate=True)


@njit(cache=True, nogil=True)
def _a_run(z0, z1, z2, o):
    """``o[m, k] = (A (z0[k], z1[k], z2[k]))[m]`` along the filters (called, as
    :func:`_bt_run`)."""
    for k in range(z0.size):
        v = _a5(z0[k], z1[k], z2[k])
        o[0, k], o[1, k], o[2, k] = v[0], v[1], v[2]
        o[3, k], o[4, k] = v[3], v[4]


@njit(cache=True, nogil=True)
def _b_run(vf, a, es, rf, o, C):
    """``rf[o + m C + c] = (B (vf[a + c], vf[a + es + c], ..., vf[a + 4 es + c]))[m]`` along
    the channels (the adjoint's row pass, called)."""
    if _vectors(vf, C):
        _b_rows(rf, o, C, vf, a, es, C)
        return
    a, o = _U(a), _U(o)
    e1, e2, e3, e4 = _U(es), _U(2 * es), _U(3 * es), _U(4 * es)
    c1, c2, c3, c4 = _U(C), _U(2 * C), _U(3 * C), _U(4 * C)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _b5(vf[q], vf[q + e1], vf[q + e2], vf[q + e3], vf[q + e4])
        rf[u], rf[u + c1], rf[u + c2] = v[0], v[1], v[2]
        rf[u + c3], rf[u + c4] = v[3], v[4]


@njit(cache=True, nogil=True)
def _b_add(rf, a, df, o, ds, C):
    """``df[o + i ds + c] += (B (rf[a + c], rf[a + 5 C + c], ..., rf[a + 20 C + c]))[i]``
    along the channels (the adjoint's column pass, overlap-adding one column of a tile into
    the padded block; called)."""
    if _vectors(rf, C):
        _b_add_rows(df, o, ds, rf, a, 5 * C, C)
        return
    a, o = _U(a), _U(o)
    r1, r2, r3, r4 = _U(5 * C), _U(10 * C), _U(15 * C), _U(20 * C)
    d1, d2, d3, d4 = _U(ds), _U(2 * ds), _U(3 * ds), _U(4 * ds)
    for c in range(C):
        q, u = a + _U(c), o + _U(c)
        v = _b5(rf[q], rf[q + r1], rf[q + r2], rf[q + r3], rf[q + r4])
        df[u] += v[0]
        df[u + d1] += v[1]
        df[u + d2] += v[2]
        df[u + d3] += v[3]
        df[u + d4] += v[4]


@njit(inline="always")
def _grad_tiles(g, Gt, Z, Q, n0, nimg, nty, ntx, cl):
    """``Gt[e, t, k] = (A g A^T)[e]`` for every 3x3 tile ``t`` of the output gradient of
    images ``n0 <= n < n0 + nimg`` (zero past the map): each image into the zeroed
    channels-last buffer ``Z`` ``(3 nty, 3 ntx, K)``, then per tile its three rows into
    ``Q`` = ``g A^T`` and ``Q``'s five columns into ``Gt``, loops along the filters."""
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
                for a in range(3):  # rows: Q[a, j] = (g A^T)[a, j]
                    z = Z[3 * ty + a]
                    if wide:
                        _a_rows(qf, 5 * a * K, K, zf, ((3 * ty + a) * Z.shape[1] + 3 * tx) * K,
                                K, K)
                    else:
                        _a_run(z[3 * tx], z[3 * tx + 1], z[3 * tx + 2], Q[a])
                for j in range(5):  # columns: Gt[5 i + j] = (A Q)[i, j]
                    if wide:
                        _a_rows(gf, (j * T + t) * K, 5 * T * K, qf, j * K, 5 * K, K)
                        continue
                    for k in range(K):
                        v = _a5(Q[0, j, k], Q[1, j, k], Q[2, j, k])
                        Gt[j, t, k], Gt[5 + j, t, k], Gt[10 + j, t, k] = v[0], v[1], v[2]
                        Gt[15 + j, t, k], Gt[20 + j, t, k] = v[3], v[4]
                t += 1


@njit(inline="always")
def _adjoint_tiles(dV, R, dxp, nty, ntx):
    """``dxp[i, 3 ty + r, 3 tx + s] += (B dV B^T)[r, s]`` for every tile (the input
    transform's adjoint, overlap-added into the zeroed padded block ``dxp``): per tile its
    five rows into ``R`` = ``dV B^T`` (:func:`_b_run`), then ``R``'s columns added into
    ``dxp`` (:func:`_b_add`)."""
    Hp, Wp, C = dxp.shape[1], dxp.shape[2], dxp.shape[3]
    T = dV.shape[1]
    vf, rf, df = dV.reshape(-1), R.reshape(-1), dxp.reshape(-1)
    t = 0
    for i in range(dxp.shape[0]):
        for ty in range(nty):
            for tx in range(ntx):
                for r in range(5):  # rows: R[r, s] = (dV B^T)[r, s]
                    _b_run(vf, (5 * r * T + t) * C, T * C, rf, 5 * r * C, C)
                for j in range(5):  # columns: dxp[.., 3 ty + r, 3 tx + j] += (B R)[r, j]
                    _b_add(rf, j * C, df, ((i * Hp + 3 * ty) * Wp + 3 * tx + j) * C, Wp * C, C)
                t += 1


@njit(cache=True, nogil=True)
def _igrad_block(gemm, g, U, dx, bias, lh, lw, nty, ntx, n0, n1, k0, k1, cl, ws):
    """Images ``n0 <= n < n1`` of the input gradient, whole, on the calling thread, as
    :func:`numbaconv.cpu.winograd4._igrad_block` on F(3x3, 3x3)'s tiles: the output
    gradient's tiles transformed (``Gt = A g A^T``), 25 GEMMs ``dV[e] = Gt[e] @ U[e]^T`` and
    the input transform's adjoint overlap-added into a padded block, its image part copied
    out; the number of non-finite values."""
    if cl:
        K, C = g.shape[4], dx.shape[4]
    else:
        K, C = g.shape[1], dx.shape[1]
    nimg = n1 - n0
    T = nimg * nty * ntx
    a, off = _take(ws, 0, _E * T * K)
    Gt = a.reshape((_E, T, K))
    a, off = _take(ws, off, 15 * K)
    Q = a.reshape((3, 5, K))
    a, off = _take(ws, off, 9 * nty * ntx * K)
    Z = a.reshape((3 * nty, 3 * ntx, K))
    _grad_tiles(g, Gt, Z, Q, n0, nimg, nty, ntx, cl)
    a, off = _take(ws, off, _E * T * C)
    dV = a.reshape((_E, T, C))
    for e in range(_E):
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, TRANS, T, C, K, 1.0, Gt[e], K, U[e], K, 0.0,
                dV[e], C)
    a, off = _take(ws, off, nimg * (3 * nty + 2) * (3 * ntx + 2) * C)
    a[:] = 0
    dxp = a.reshape((nimg, 3 * nty + 2, 3 * ntx + 2, C))
    a, off = _take(ws, off, 25 * C)
    _adjoint_tiles(dV, a.reshape((5, 5, C)), dxp, nty, ntx)
    return _padded_out(dxp, dx, bias, n0, lh, lw, cl)


#: F(3x3, 3x3), as winograd4's runner takes a tile family
_F3 = Tiles(3, _E, _scratch, _weights, _block, _igrad_block, "winograd3")


def forward(x, w, bias, out, lh: int, lw: int, nb: int, cl: bool = False,
            parts: int = 1) -> bool:
    """``out = conv2d(x, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before, after implied
    by ``out``; 5-D views with ``D == 1``; ``cl``: ``x`` and ``out`` channels-last) in blocks
    of ``nb`` images (``parts``: one block's filter ranges), as
    :func:`numbaconv.cpu.winograd4.forward`. False when an output came out non-finite (the
    caller then recomputes the call) or where no compiled BLAS is callable."""
    return _run_blocks("forward", x, w, bias, out, out, lh, lw, nb, cl, _F3, parts)


def prepare_forward(x, w, bias, out, nb: int, cl: bool = False, parts: int = 1):
    """:func:`forward` resolved once for arrays like these
    (:func:`numbaconv.cpu.winograd4.prepare_forward`)."""
    return prepare("forward", x, w, bias, out, out, nb, cl, _F3, parts)


def input_grad(g, w, bias, dx, lh: int, lw: int, nb: int, cl: bool = False) -> bool:
    """``dx = conv2d_input(g, w) + bias`` as the forward pass's adjoint on its own 3x3 output
    tiles, as :func:`numbaconv.cpu.winograd4.input_grad` (a 3x3 output: one tile of 25
    products a channel pair, where F(4x4)'s adjoint computes 36)."""
    return _run_blocks("input_grad", g, w, bias, dx, g, lh, lw, nb, cl, _F3)
