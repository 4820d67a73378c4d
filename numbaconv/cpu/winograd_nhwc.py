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
* 16 GEMMs ``M[e] = V[e] @ U[e]`` ``(T x C) @ (C x K)`` (``np.matmul``, single-threaded
  BLAS), ``T`` the tiles of a block of images;
* output transform ``A^T M A`` in two passes of 3-run sums per row of tiles, bias
  added, a check for non-finite values, then one transposing copy into ``out``.

The weight gradient uses the same data flow with the reduction over tiles:
``dU[e] = sum over blocks of V[e]^T @ Gt[e]``, ``Gt = A g A^T`` the transformed
output gradient, and ``dW = G^T dU G``; the input gradient is the forward pass of
the output gradient with the flipped, channel-transposed kernel (the launchers in
:mod:`numbaconv.cpu.conv` / :mod:`numbaconv.cpu.conv_plan`).

NaN / inf: as in :mod:`numbaconv.cpu.winograd`, a transform mixes a tile's
inputs, so every function here returns False when an output came out non-finite
and the caller recomputes the call with a method that keeps a NaN local (the
channels-last GEMM).

Determinism: blocks of images and the work items are functions of the shapes
only (:mod:`numbaconv.cpu.conv_plan`), partial sums are added in a fixed order.
2-D, 3x3, stride 1, dilation 1, ``groups == 1`` only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .conv_gemm import _add_into, _buffer
from .threads import run_items as _run
from .winograd import _weight_transform

_U = np.uint64

# B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: row i is
# e_{_BA[i]} + _BS[i] * e_{_BB[i]}
_BA = (0, 1, 2, 1)
_BB = (2, 2, 1, 3)
_BS = (-1.0, 1.0, -1.0, -1.0)


@njit(inline="always")
def _phase_planes(xf, src0, C, H, W, ph, Hp, Wh, r0, lh, lw):
    """``ph[b, r, m, c] = x[c, r0 + r - lh, 2m + b - lw]`` (zero outside the image) for one
    ``(C, H, W)`` image at ``xf[src0:]``: even (b = 0) and odd (b = 1) padded columns,
    channels last, ``Hp`` rows of ``Wh`` columns each."""
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
def _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx):
    """``V[e, t, c] = (B^T d_t B)[e]`` for the tile rows ``[ty0, ty1)`` of images ``[n0, n1)``:
    tile ``t = ((n - n0)*nr + ty - ty0)*ntx + tx`` reads padded rows ``2ty + i`` and columns
    ``2tx + j`` (``i, j < 4``) of image ``n``, padded ``lh`` / ``lw`` before."""
    C, H, W = x.shape[1], x.shape[3], x.shape[4]
    nr = ty1 - ty0
    Hp = 2 * nr + 2
    Wh = ntx + 1
    xf = x.reshape(-1)
    vf = V.reshape(-1)
    ph = np.empty(2 * Hp * Wh * C, dtype=x.dtype)
    L = ntx * C
    es = _U(V.shape[1])  # plane stride (padded against L1 set conflicts)
    for n in range(n0, n1):
        _phase_planes(xf, n * C * H * W, C, H, W, ph, Hp, Wh, 2 * ty0, lh, lw)
        for ty in range(nr):
            tb = _U(((n - n0) * nr + ty) * ntx * C)
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


@njit(cache=True, nogil=True)
def _grad_transform(g, Gt, n0, n1, ty0, ty1, ntx):
    """``Gt[e, k, t] = (A g_t A^T)[e]`` for the 2x2 output-gradient tiles of the tile rows
    ``[ty0, ty1)`` of images ``[n0, n1)`` (zero beyond the map), ``A = [[1, 0], [1, 1], [1, -1], [0, -1]]``.

    Per channel, the four corners of every tile are copied into ``q[a, b, t]``, then each
    of the 16 elements of ``A q A^T`` is a signed sum of runs of ``T``."""
    K, Ho, Wo = g.shape[1], g.shape[3], g.shape[4]
    nr = ty1 - ty0
    T = (n1 - n0) * nr * ntx
    gf = g.reshape(-1)
    tf = Gt.reshape(-1)
    q = np.empty(4 * T, dtype=g.dtype)
    es = _U(Gt.shape[1])
    for k in range(K):
        for n in range(n0, n1):
            for ty in range(nr):
                tb = ((n - n0) * nr + ty) * ntx
                for a in range(2):
                    oh = 2 * (ty0 + ty) + a
                    for b in range(2):
                        qb = _U((2 * a + b) * T + tb)
                        nx = (Wo - b + 1) // 2 if oh < Ho else 0  # tiles with column 2tx + b
                        sb = _U(((n * K + k) * Ho + min(oh, Ho - 1)) * Wo + b)
                        for tx in range(nx):
                            q[qb + _U(tx)] = gf[sb + _U(2 * tx)]
                        for tx in range(nx, ntx):
                            q[qb + _U(tx)] = 0
        kb = _U(k * T)
        # A q A^T with q = [[g00, g01], [g10, g11]]: rows of A q are g0., g0. + g1.,
        # g0. - g1., -g1.; then the same combination of the two columns. One loop per row
        # of the result: four store streams (more would thrash L1 and defeat vectorising)
        for i in range(4):
            e0 = _U(4 * i) * es + kb
            e1 = e0 + es
            e2 = e1 + es
            e3 = e2 + es
            for t in range(T):
                u = _U(t)
                a0 = q[u]
                a1 = q[_U(T) + u]
                b0 = q[_U(2 * T) + u]
                b1 = q[_U(3 * T) + u]
                if i == 0:
                    p0 = a0
                    p1 = a1
                elif i == 1:
                    p0 = a0 + b0
                    p1 = a1 + b1
                elif i == 2:
                    p0 = a0 - b0
                    p1 = a1 - b1
                else:
                    p0 = -b0
                    p1 = -b1
                tf[e0 + u] = p0
                tf[e1 + u] = p0 + p1
                tf[e2 + u] = p0 - p1
                tf[e3 + u] = -p1


@njit(cache=True, nogil=True)
def _output_transform(M, out, bias, n0, n1, ty0, ty1, ntx):
    """``out[n, k, 2ty + a, 2tx + b] = bias[k] + (A^T M_t A)[a, b]`` for the tile rows
    ``[ty0, ty1)`` of images ``[n0, n1)`` (outputs beyond the map dropped); ``M`` holds 16 planes ``(K, T)``, one
    plane stride apart. Returns the number of output channels holding a NaN or an inf
    (0 normally).

    Per channel, vectorised along the block's tiles: ``S = M A`` (columns), then each
    output row pair ``A^T S`` written interleaved (``2t + b``) into a row-major buffer of
    ``2*ntx``-wide rows, then copied row by row into ``out``."""
    K, Ho, Wo = out.shape[1], out.shape[3], out.shape[4]
    nr = ty1 - ty0
    T = (n1 - n0) * nr * ntx
    mf = M.reshape(-1)
    of = out.reshape(-1)
    es = _U(M.shape[1])
    S = np.empty(8 * T, dtype=out.dtype)   # S[i, b] = sum_j A^T[b, j] M[i, j]
    Y = np.empty(4 * T, dtype=out.dtype)   # Y[a, 2t + b] = bias + sum_i A^T[a, i] S[i, b]
    bad = 0
    for k in range(K):
        kb = _U(k * T)
        for i in range(4):
            m0 = _U(4 * i) * es + kb
            m1 = m0 + es
            m2 = m1 + es
            m3 = m2 + es
            s0 = _U(2 * i * T)
            s1 = s0 + _U(T)
            for t in range(T):
                u = _U(t)
                v1 = mf[m1 + u]
                v2 = mf[m2 + u]
                S[s0 + u] = mf[m0 + u] + v1 + v2
                S[s1 + u] = v1 - v2 - mf[m3 + u]
        bk = bias[k]
        nf = 0
        for a in range(2):
            yb = _U(2 * a * T)
            if a == 0:
                for t in range(T):
                    u = _U(t)
                    o0 = (S[u] + S[_U(2 * T) + u] + S[_U(4 * T) + u]) + bk
                    o1 = (S[_U(T) + u] + S[_U(3 * T) + u] + S[_U(5 * T) + u]) + bk
                    Y[yb + _U(2) * u] = o0
                    Y[yb + _U(2) * u + _U(1)] = o1
                    nf |= 0 if (o0 - o0 == 0 and o1 - o1 == 0) else 1
            else:
                for t in range(T):
                    u = _U(t)
                    o0 = (S[_U(2 * T) + u] - S[_U(4 * T) + u] - S[_U(6 * T) + u]) + bk
                    o1 = (S[_U(3 * T) + u] - S[_U(5 * T) + u] - S[_U(7 * T) + u]) + bk
                    Y[yb + _U(2) * u] = o0
                    Y[yb + _U(2) * u + _U(1)] = o1
                    nf |= 0 if (o0 - o0 == 0 and o1 - o1 == 0) else 1
        bad += nf
        for n in range(n0, n1):
            for ty in range(nr):
                yt = _U(((n - n0) * nr + ty) * 2 * ntx)
                for a in range(2):
                    oh = 2 * (ty0 + ty) + a
                    if oh >= Ho:
                        break
                    ob = _U(((n * K + k) * Ho + oh) * Wo)
                    ya = _U(2 * a * T) + yt
                    for ow in range(Wo):
                        of[ob + _U(ow)] = Y[ya + _U(ow)]
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


def forward(x, w, bias, out, lh: int, lw: int, nb: int, rb: int) -> bool:
    """``out = conv2d(x, w) + bias`` (3x3, stride 1, padding ``lh``/``lw`` before, after implied
    by ``out``; 5-D views with ``D == 1``) in blocks of ``nb`` images or ``rb`` tile rows.
    Returns False when an output came out non-finite (the caller then recomputes the
    call)."""
    N, C = x.shape[0], x.shape[1]
    K = w.shape[0]
    Ho, Wo = out.shape[3], out.shape[4]
    nty, ntx = tiles(Ho, Wo)
    dtype = out.dtype
    U = np.empty((16, K, C), dtype)
    _weight_transform(w.reshape(K, C, 3, 3), U, 0, K)
    b = np.zeros(K, dtype) if bias is None else bias
    items = blocks(N, nty, nb, rb)
    bad = [0] * len(items)

    def work(i):
        n0, n1, ty0, ty1 = items[i]
        T = (n1 - n0) * (ty1 - ty0) * ntx
        V = _planes("wV", T * C, dtype)
        Mb = _planes("wM", K * T, dtype)
        _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx)
        with np.errstate(all="ignore"):  # non-finite data is redone by the caller
            np.matmul(U, V[:, :T * C].reshape(16, T, C).transpose(0, 2, 1),
                      out=Mb[:, :K * T].reshape(16, K, T))
        bad[i] = _output_transform(Mb, out, b, n0, n1, ty0, ty1, ntx)

    _run(work, range(len(items)))
    return not any(bad)


def weight_grad(x, g, dw, lh: int, lw: int, nb: int, rb: int, items: int) -> bool:
    """``dw = conv2d_weight(x, g)`` (3x3, stride 1, padding ``lh``/``lw`` before) as one
    reduction over all tiles of all images: blocks of ``nb`` images or ``rb`` tile rows,
    ``items`` work items summing fixed runs of blocks, partial sums added in item order.
    Returns False when a value came out non-finite."""
    N, C = x.shape[0], x.shape[1]
    K = g.shape[1]
    Ho, Wo = g.shape[3], g.shape[4]
    nty, ntx = tiles(Ho, Wo)
    dtype = dw.dtype
    blks = blocks(N, nty, nb, rb)
    items = max(1, min(items, len(blks)))
    runs = [blks[i * len(blks) // items:(i + 1) * len(blks) // items] for i in range(items)]
    parts = [np.empty((16, K * C), dtype) for _ in range(items)]

    def work(i):
        acc = parts[i].reshape(16, K, C)
        for j, (n0, n1, ty0, ty1) in enumerate(runs[i]):
            T = (n1 - n0) * (ty1 - ty0) * ntx
            V = _planes("wV", T * C, dtype)
            Gt = _planes("wM", K * T, dtype)
            _input_transform(x, V, n0, n1, ty0, ty1, lh, lw, ntx)
            _grad_transform(g, Gt, n0, n1, ty0, ty1, ntx)
            a = Gt[:, :K * T].reshape(16, K, T)
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
