"""CPU-only Winograd F(3x3, 3x3): the forward pass of 3x3 stride-1 layers whose output maps
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

import numba
import numpy as np

from .blas import NO_TRANS, ROW_MAJOR, gemm_at, kernel_gemm
from .jit import I0 as _I0
from .jit import njit
from .native import fingerprint, native
from .threads import one_blas_thread
from .threads import scratch as _buffer
from .winograd4 import _ALIGN, _forward_blocks, _image_copy, _pad_block, _plane, _take

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


@njit(inline="always")
def _g5(a, b, c):
    """``G v`` for one column ``v = (a, b, c)`` (in float64)."""
    return (a * _HALF, -(a + b + c) * _HALF, (b - a - c) * _SIXTH,
            a * _SIXTH + b * _THIRD + (c + c) * _THIRD, c)


@njit(inline="always")
def _row5(U, e, i, r):
    """``U[e + m, i] = r[m]`` for the five values of ``r``."""
    U[e, i], U[e + 1, i], U[e + 2, i] = r[0], r[1], r[2]
    U[e + 3, i], U[e + 4, i] = r[3], r[4]


@njit(cache=True, nogil=True)
def _weights(w, U, k0, k1):
    """``U[e, c K + k] = (G w[k, c] G^T)[e]`` for the filters ``k0 <= k < k1``, in float64
    (called by address from the driver, as :func:`numbaconv.cpu.winograd4._weights`)."""
    K, C = w.shape[0], w.shape[1]
    for c in range(C):  # (filters innermost: U's planes written along their rows)
        for k in range(k0, k1):
            g = w[k, c]
            a = _g5(np.float64(g[0, 0]), np.float64(g[1, 0]), np.float64(g[2, 0]))  # G g
            b = _g5(np.float64(g[0, 1]), np.float64(g[1, 1]), np.float64(g[2, 1]))
            d = _g5(np.float64(g[0, 2]), np.float64(g[1, 2]), np.float64(g[2, 2]))
            i = c * K + k
            for r in range(5):  # row r of (G g) G^T
                _row5(U, 5 * r, i, _g5(a[r], b[r], d[r]))


@njit(cache=True, nogil=True)
def _bt_run(xf, a, rf, o, C):
    """``rf[o + m C + c] = (B^T (xf[a + c], xf[a + C + c], ..., xf[a + 4 C + c]))[m]``
    along the channels (a function of its own, called: written into the tile loops it
    stayed scalar, as :func:`numbaconv.cpu.winograd4._bt_run` says)."""
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
    xf, rf = xp.reshape(-1), R.reshape(-1)
    t = 0
    for i in range(xp.shape[0]):
        for ty in range(nty):
            for tx in range(ntx):
                for r in range(5):  # rows: R[r, j] = (d B)[r, j]
                    _bt_run(xf, ((i * Hp + 3 * ty + r) * Wp + 3 * tx) * C, rf, 5 * r * C, C)
                for j in range(5):  # columns: V[5 i + j] = (B^T R)[i, j]
                    for c in range(C):
                        v = _bt5(R[0, j, c], R[1, j, c], R[2, j, c], R[3, j, c], R[4, j, c])
                        V[j, t, c], V[5 + j, t, c], V[10 + j, t, c] = v[0], v[1], v[2]
                        V[15 + j, t, c], V[20 + j, t, c] = v[3], v[4]
                t += 1


@njit(inline="always")
def _output_tiles(M, S, Z, out, bias, n0, nimg, nty, ntx, cl):
    """``A^T M A`` + bias for every tile into ``out``, through the channels-last image
    buffer ``Z`` ``(3 nty, 3 ntx, K)``; the number of non-finite outputs."""
    K = bias.shape[0]
    if cl:
        Ho, Wo = out.shape[2], out.shape[3]
    else:
        Ho, Wo = out.shape[3], out.shape[4]
    bad = 0
    t = 0
    for i in range(nimg):
        for ty in range(nty):
            for tx in range(ntx):
                for j in range(5):  # columns: S[a, j] = (A^T M)[a, j]
                    for k in range(K):
                        v = _at5(M[j, t, k], M[5 + j, t, k], M[10 + j, t, k], M[15 + j, t, k],
                                 M[20 + j, t, k])
                        S[0, j, k], S[1, j, k], S[2, j, k] = v[0], v[1], v[2]
                for a in range(3):  # rows: Z[3 ty + a, 3 tx + b] = (S A)[a, b] + bias
                    z = Z[3 * ty + a]
                    _at_run(S[a], bias, z[3 * tx], z[3 * tx + 1], z[3 * tx + 2])
                t += 1
        for oy in range(Ho):
            zr = Z[oy].reshape(-1)
            for q in range(Wo * K):
                bad += not np.isfinite(zr[q])
        _image_copy(Z, out, n0 + i, Ho, Wo, K, cl, False)
    return bad


def _scratch(C: int, K: int, nb: int, nty: int, ntx: int) -> int:
    """Elements of one thread's scratch for a block of ``nb`` images: what :func:`_block`
    carves with :func:`~numbaconv.cpu.winograd4._take`, in that order."""
    T = nb * nty * ntx
    pieces = (25 * C, nb * (3 * nty + 2) * (3 * ntx + 2) * C, _E * T * C, _E * T * K, 15 * K,
              9 * nty * ntx * K)
    return sum(-(-n // _ALIGN) * _ALIGN for n in pieces)


@njit(cache=True, nogil=True)
def _block(gemm, x, U, out, bias, lh, lw, nty, ntx, n0, n1, cl, ws):
    """Images ``n0 <= n < n1`` whole, on the calling thread: the padded copy, the input
    transform, the 25 GEMMs (numpy's CBLAS, pinned to one thread) and the output transform,
    every buffer carved from the thread's scratch ``ws``; the number of non-finite
    outputs. (The signature of :func:`numbaconv.cpu.winograd4._block`: the same driver
    calls either.)"""
    C, K = (x.shape[4], out.shape[4]) if cl else (x.shape[1], out.shape[1])
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
        gemm_at(gemm, ROW_MAJOR, NO_TRANS, NO_TRANS, T, K, C, 1.0, V[e], C, U[e], K, 0.0,
                M[e], K)
    a, off = _take(ws, off, 15 * K)
    S = a.reshape((3, 5, K))
    a, off = _take(ws, off, 9 * nty * ntx * K)
    Z = a.reshape((3 * nty, 3 * ntx, K))
    return _output_tiles(M, S, Z, out, bias, n0, nimg, nty, ntx, cl)


_NATIVES: dict = {}


def forward(x, w, bias, out, lh: int, lw: int, nb: int, cl: bool = False) -> bool:
    """``out = conv2d(x, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before, after implied
    by ``out``; 5-D views with ``D == 1``; ``cl``: ``x`` and ``out`` channels-last) in blocks
    of ``nb`` images, as :func:`numbaconv.cpu.winograd4.forward`. False when an output came
    out non-finite (the caller then recomputes the call) or where no compiled BLAS is
    callable."""
    gemm = kernel_gemm(out.dtype)
    if gemm is None:
        return False
    Ho, Wo = (out.shape[2], out.shape[3]) if cl else (out.shape[3], out.shape[4])
    nty, ntx = -(-Ho // 3), -(-Wo // 3)
    K, C = w.shape[:2]
    nb = max(1, min(nb, x.shape[0]))
    U = _buffer("winograd3-U", (_E, _plane(C * K, out.dtype.itemsize)), out.dtype)
    ws = _buffer("winograd3", (numba.get_num_threads(), _scratch(C, K, nb, nty, ntx)),
                 out.dtype)
    b = np.zeros(out.shape[4] if cl else out.shape[1], out.dtype) if bias is None else bias
    w4, flag = w.reshape(K, C, 3, 3), np.bool_(cl)
    key = (fingerprint(x), fingerprint(w4), fingerprint(out), fingerprint(b), cl)
    if (found := _NATIVES.get(key)) is None:
        found = _NATIVES[key] = (native(_weights, w4, U, _I0, _I0),
                                 native(_block, gemm, x, U, out, b, *(_I0,) * 6, flag, ws[0]))
    fw, fb = found
    with one_blas_thread():
        return bool(_forward_blocks(fw, fb, gemm, x, w4, U, out, b, lh, lw, nty, ntx, nb,
                                    flag, ws))

