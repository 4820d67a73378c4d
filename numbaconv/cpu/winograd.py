"""Winograd F(2x2, 3x3) forward convolution for 3x3, stride-1, ungrouped 2-D layers.

``out[n, k] = bias[k] + sum_c correlate(pad(x[n, c]), w[k, c], 'valid')`` computed
per 2x2 output tile ``Y = A^T [ (G w G^T) * (B^T d B) ] A`` on 4x4 input tiles ``d``:
16 element-wise products per tile and channel pair instead of 36.

Data flow (each piece stays in cache):

* the weights are transformed once per call: ``U[e, k, c]`` (16, K, C), in a
  fixed number of blocks of filters run as work items;
* the 2x2 tiles of all images are numbered row-major as *global tile rows*
  ``g = n * nty + ty`` (each ``ntx`` tiles wide); a call is split into a fixed
  number of blocks of consecutive tile rows (about ``_TILES`` tiles each, a
  function of the shape only);
* a work item takes one block: a GIL-free njit input transform writes
  ``V[e, c, t]`` (16, C, T) into a per-thread buffer, one batched
  single-threaded BLAS ``np.matmul(U, V)`` gives ``M[e, k, t]`` (16 GEMMs
  (K x C) @ (C x T)), and a GIL-free njit output transform adds the bias and
  writes the 2x2 outputs straight into ``out``;
* the items run on :func:`numbaconv.cpu.threads.run_items`'s threads (BLAS pinned to
  one thread each).

Determinism: every output element is produced by exactly one item whose
shapes depend only on the call's shapes, so results are bitwise identical
whatever ``numba.get_num_threads()``.

NaN / inf: Winograd mixes the 16 inputs of a tile (and the 9 taps of a
filter), so one NaN input would spread to a whole tile's outputs, and an inf
can become NaN (``inf - inf``) where direct convolution gives inf. A non-finite
input (weight, bias) that any output's window reads always leaves a NaN or
inf in that output (B^T and A^T have matching supports, and no IEEE sum
turns a NaN or inf back into a finite number), and an input no window reads
never reaches an output. So the output transform counts the output rows
holding a NaN or an inf, and when there is any, :func:`winograd_forward` returns
False and the caller (:mod:`numbaconv.cpu.conv`) recomputes the call with im2col +
GEMM: the documented semantics (a NaN stays local, inf stays inf) do not change, and
finite data pays nothing but a vectorised check of each output row while it
is in L1. (The same fallback covers a transform overflowing near the dtype's
largest value.)
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from .jit import njit
from .threads import run_items as _run
from .threads import split as _split

#: target tiles per work item (the GEMMs' N dimension); measured on the ResNet shapes
_TILES = 196
#: smallest C and K worth the transforms (measured; below, im2col + GEMM wins)
_MIN_CHANNELS = 32
#: work items a call is split into when each still gets ``_MIN_TILES`` tiles (GEMMs
#: narrower than ~100 columns lose up to half their speed when K x C is large)
_MIN_ITEMS = 8
_MIN_TILES = 96

#: dilations handled (as interleaved undilated phases); beyond, the phases get small
_MAX_DILATION = 4

_U = np.uint64


@njit(cache=True, nogil=True)
def _weight_transform(w, U, k0, k1):
    """``U[:, k, c] = G w[k, c] G^T`` flattened row-major (4x4 -> 16),
    ``G = [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]``.

    Filters ``[k0, k1)``. Each goes through a small (16, C) buffer: writing the 16 planes
    of ``U`` directly would be 16 streams ``K*C`` apart, which alias in L1.
    """
    C = w.shape[1]
    h = w.dtype.type(0.5)
    tmp = np.empty((16, C), dtype=U.dtype)
    for k in range(k0, k1):
        for c in range(C):
            # rows of t = G w (4x3)
            a0, a1, a2 = w[k, c, 0, 0], w[k, c, 0, 1], w[k, c, 0, 2]
            b0, b1, b2 = w[k, c, 1, 0], w[k, c, 1, 1], w[k, c, 1, 2]
            d0, d1, d2 = w[k, c, 2, 0], w[k, c, 2, 1], w[k, c, 2, 2]
            t = ((a0, a1, a2),
                 ((a0 + b0 + d0) * h, (a1 + b1 + d1) * h, (a2 + b2 + d2) * h),
                 ((a0 - b0 + d0) * h, (a1 - b1 + d1) * h, (a2 - b2 + d2) * h),
                 (d0, d1, d2))
            for i in range(4):
                p, q, r = t[i]
                tmp[4 * i + 0, c] = p
                tmp[4 * i + 1, c] = (p + q + r) * h
                tmp[4 * i + 2, c] = (p - q + r) * h
                tmp[4 * i + 3, c] = r
        for e in range(16):
            for c in range(C):
                U[e, k, c] = tmp[e, c]


@njit(cache=True, nogil=True)
def _input_transform(x, V, lh, lw, dh, dw, g0, g1, trow, cph):
    """``V[e, c, t] = (B^T d B)[e]`` for the tiles of global tile rows ``[g0, g1)``.

    Tile row ``ty`` of an image has its first output row at ``trow[ty]`` and reads input
    rows ``trow[ty] - lh + dh*i``, ``i < 4``; column phase ``p`` of ``cph`` (first output
    column, tiles, first tile) reads input columns ``rw - lw + dw*m`` (see :func:`_tiling`).
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = V.shape[2]
    nty = trow.size
    ntx = cph[-1, 1] + cph[-1, 2]
    Wp = 2 * cph[0, 1] + 2  # phase 0 has the most tiles
    xf = x.reshape(-1)
    vf = V.reshape(-1)
    es = _U(C * T)  # stride between the 16 transformed planes
    d = np.empty((4, Wp), dtype=x.dtype)
    r = np.empty((4, Wp), dtype=x.dtype)
    zero = x.dtype.type(0)
    for c in range(C):
        for g in range(g0, g1):
            n = g // nty
            oh0 = trow[g % nty]
            for ph in range(cph.shape[0]):
                a = cph[ph, 0] - lw  # padded column m reads input column a + dw*m
                nt = cph[ph, 1]
                wp = 2 * nt + 2
                # padded columns [m0, m1) land in the data
                m0 = min(max((-a + dw - 1) // dw, 0), wp)
                m1 = max(min((W - 1 - a) // dw + 1, wp), m0) if W - 1 - a >= 0 else m0
                for i in range(4):
                    ih = oh0 - lh + dh * i
                    if ih < 0 or ih >= H:
                        for j in range(wp):
                            d[i, j] = zero
                        continue
                    xb = ((n * C + c) * H + ih) * W + a + dw * m0  # >= 0
                    for j in range(m0):
                        d[i, j] = zero
                    if dw == 1:
                        for j in range(m1 - m0):
                            d[i, m0 + j] = xf[_U(xb) + _U(j)]
                    else:
                        for j in range(m1 - m0):
                            d[i, m0 + j] = xf[_U(xb) + _U(dw * j)]
                    for j in range(m1, wp):
                        d[i, j] = zero
                # B^T d (rows), B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]
                for j in range(wp):
                    d0 = d[0, j]
                    d1 = d[1, j]
                    d2 = d[2, j]
                    d3 = d[3, j]
                    r[0, j] = d0 - d2
                    r[1, j] = d1 + d2
                    r[2, j] = d2 - d1
                    r[3, j] = d1 - d3
                # (B^T d) B (columns), straight into V[:, c, t]
                tb = _U(c * T + (g - g0) * ntx + cph[ph, 2])
                for i in range(4):
                    b0 = _U(4 * i) * es + tb
                    b1 = b0 + es
                    b2 = b1 + es
                    b3 = b2 + es
                    for tx in range(nt):
                        a0 = r[i, 2 * tx]
                        a1 = r[i, 2 * tx + 1]
                        a2 = r[i, 2 * tx + 2]
                        a3 = r[i, 2 * tx + 3]
                        vf[b0 + _U(tx)] = a0 - a2
                        vf[b1 + _U(tx)] = a1 + a2
                        vf[b2 + _U(tx)] = a2 - a1
                        vf[b3 + _U(tx)] = a1 - a3


@njit(cache=True, nogil=True)
def _output_transform(M, out, bias, dh, dw, g0, g1, trow, cph):
    """``out = bias + A^T m A`` for the tiles of ``[g0, g1)``: tile row ``ty``'s output rows
    ``trow[ty]`` and ``trow[ty] + dh``, phase columns ``rw + dw*m`` (see :func:`_tiling`).

    Returns the number of output row pieces written that hold a NaN or an inf (0 normally).
    """
    K, Ho, Wo = out.shape[1], out.shape[2], out.shape[3]
    T = M.shape[2]
    nty = trow.size
    ntx = cph[-1, 1] + cph[-1, 2]
    mf = M.reshape(-1)
    of = out.reshape(-1)
    es = _U(K * T)
    nt0 = cph[0, 1]
    s = np.empty((4, nt0), dtype=out.dtype)
    q = np.empty((4, nt0), dtype=out.dtype)
    o = np.empty((2, 2 * nt0), dtype=out.dtype)
    bad = 0
    for k in range(K):
        bk = bias[k]
        for g in range(g0, g1):
            n = g // nty
            oh0 = trow[g % nty]
            for ph in range(cph.shape[0]):
                rw = cph[ph, 0]
                nt = cph[ph, 1]
                nq = (Wo - 1 - rw) // dw + 1  # output columns of this phase
                tb = _U(k * T + (g - g0) * ntx + cph[ph, 2])
                # A^T m (rows), A^T = [[1,1,1,0],[0,1,-1,-1]]
                for j in range(4):
                    b0 = _U(j) * es + tb
                    b1 = b0 + _U(4) * es
                    b2 = b1 + _U(4) * es
                    b3 = b2 + _U(4) * es
                    for tx in range(nt):
                        m1 = mf[b1 + _U(tx)]
                        m2 = mf[b2 + _U(tx)]
                        s[j, tx] = mf[b0 + _U(tx)] + m1 + m2
                        q[j, tx] = m1 - m2 - mf[b3 + _U(tx)]
                # (A^T m) A (columns), interleaved into two output rows
                for tx in range(nt):
                    s1 = s[1, tx]
                    s2 = s[2, tx]
                    q1 = q[1, tx]
                    q2 = q[2, tx]
                    o[0, 2 * tx] = s[0, tx] + s1 + s2
                    o[0, 2 * tx + 1] = s1 - s2 - s[3, tx]
                    o[1, 2 * tx] = q[0, tx] + q1 + q2
                    o[1, 2 * tx + 1] = q1 - q2 - q[3, tx]
                for i in range(2):
                    oh = oh0 + dh * i
                    if oh >= Ho:
                        break
                    ob = _U(((n * K + k) * Ho + oh) * Wo + rw)
                    for j in range(nq):
                        o[i, j] += bk
                    # v - v is 0 for finite v, NaN for NaN and inf (an integer reduction
                    # vectorises)
                    nf = 0
                    for j in range(nq):
                        nf |= 0 if o[i, j] - o[i, j] == 0 else 1
                    bad += nf
                    if dw == 1:
                        for j in range(nq):
                            of[ob + _U(j)] = o[i, j]
                    else:
                        for j in range(nq):
                            of[ob + _U(dw * j)] = o[i, j]
    return bad


def _tiling(n_out: int, d: int) -> list[tuple[int, int]]:
    """The 2-output tiles of an axis with dilation ``d``: ``(first output, tiles)`` per phase.

    Outputs ``r, r + d, r + 2d, ...`` (phase ``r``) form an undilated layer on the inputs
    ``r - lo + d*m``; its tile ``t`` holds outputs ``r + 2t*d`` and ``r + (2t + 1)*d``.
    With ``d = 1`` this is the plain tiling: one phase of ``ceil(n_out / 2)`` tiles.
    """
    return [(r, -(-len(range(r, n_out, d)) // 2)) for r in range(min(d, n_out))]


def _blocks(N, nty, ntx):
    """Fixed split of the ``N * nty`` global tile rows into blocks of consecutive rows.

    About ``_TILES`` tiles a block; more blocks (up to ``_MIN_ITEMS``) while each keeps
    ``_MIN_TILES`` tiles, so a core slowed by other processes cannot hold the call up,
    and always two when there are two rows. A function of the shape only.
    """
    rows = N * nty
    tiles = rows * ntx
    nb = max(-(-tiles // _TILES), min(_MIN_ITEMS, tiles // _MIN_TILES), 2)
    nb = min(nb, rows)
    per = -(-rows // nb)
    return [(g, min(rows, g + per)) for g in range(0, rows, per)], per


@functools.lru_cache(maxsize=256)
def _tables(N, Ho, Wo, dh, dw):
    """The tiling of an output shape (a function of the shape only, built once):
    ``(trow, cph, ntx, blocks, per)``, see :func:`_tiling` and :func:`_blocks`."""
    trow = np.array([r + 2 * t * dh for r, nt in _tiling(Ho, dh) for t in range(nt)], np.int64)
    cols = _tiling(Wo, dw)
    starts = np.cumsum([0] + [nt for _, nt in cols])
    cph = np.array([(r, nt, t0) for (r, nt), t0 in zip(cols, starts, strict=False)], np.int64)
    ntx = int(starts[-1])
    blocks, per = _blocks(N, trow.size, ntx)
    trow.flags.writeable = cph.flags.writeable = False
    return trow, cph, ntx, blocks, per


def winograd_applies(x_shape, w_shape, stride, dilation, groups) -> bool:
    """Whether :func:`winograd_forward` is the faster way to run this 2-D convolution.

    ``x_shape`` (N, C, H, W), ``w_shape`` (K, C, kh, kw); ``stride`` and ``dilation``
    ints or 2-tuples. The finiteness of the data is checked by the launcher itself.
    """
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    if len(x_shape) != 4 or len(w_shape) != 4:
        return False
    K, C, kh, kw = w_shape
    return (groups == 1 and (kh, kw) == (3, 3) and pair(stride) == (1, 1)
            and max(pair(dilation)) <= _MAX_DILATION and C == x_shape[1]
            and C >= _MIN_CHANNELS and K >= _MIN_CHANNELS)


def winograd_forward(x, w, bias, out, lh, lw, dh=1, dw=1, serial=False) -> bool:
    """``out = conv2d(x, w) + bias`` (cross-correlation, stride 1, 3x3, dilation ``dh``,
    ``dw``, zero padding ``lh``, ``lw`` before the data, after implied by ``out``'s shape);
    ``bias`` a (K,) array.

    Returns False when an output came out non-finite: the caller then recomputes the call
    with a direct method (see the module notes on NaN / inf). ``serial`` runs the work
    items on the calling thread (see :func:`numbaconv.cpu.threads.run_items`)."""
    N, C, H, W = x.shape
    K = w.shape[0]
    Ho, Wo = out.shape[2], out.shape[3]
    if out.size == 0:
        return True
    if C == 0:
        out[...] = bias.reshape(1, K, 1, 1)
        return True
    dtype = out.dtype
    U = np.empty((16, K, C), dtype=dtype)
    kblocks = _split(K, _MIN_ITEMS)
    _run(lambda kb: _weight_transform(w, U, kb[0], kb[1]), kblocks, serial)
    trow, cph, ntx, blocks, per = _tables(N, Ho, Wo, dh, dw)
    T = per * ntx
    local = threading.local()
    checks: list[int | None] = [None] * len(blocks)

    def work(i):
        g0, g1 = blocks[i]
        t = (g1 - g0) * ntx
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = (np.empty(16 * C * T, dtype), np.empty(16 * K * T, dtype))
        V = bufs[0][: 16 * C * t].reshape(16, C, t)
        M = bufs[1][: 16 * K * t].reshape(16, K, t)
        _input_transform(x, V, lh, lw, dh, dw, g0, g1, trow, cph)
        with np.errstate(all="ignore"):  # non-finite data is redone by the fallback
            np.matmul(U, V, out=M)
        checks[i] = _output_transform(M, out, bias, dh, dw, g0, g1, trow, cph)

    _run(work, range(len(blocks)), serial)
    return all(c == 0 for c in checks)


# ----------------------------------------------------------------------------------------------
# channels-last: x (N, H, W, C), out (N, Ho, Wo, K). The same tiles and blocks; the
# transforms run on channel vectors (contiguous) and the GEMMs are transposed:
# M[e] (T, K) = V[e] (T, C) @ U[e] (C, K), so V and M are also channels-last.


@njit(cache=True, nogil=True)
def _input_transform_cl(x, V, lh, lw, dh, dw, g0, g1, trow, cph):
    """``V[e, t, c] = (B^T d B)[e]`` for the tiles of global tile rows ``[g0, g1)`` of the
    channels-last ``x`` (the tiles of :func:`_input_transform`, channel vectors at a time)."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    T = V.shape[1]
    nty = trow.size
    ntx = cph[-1, 1] + cph[-1, 2]
    Wp = 2 * cph[0, 1] + 2
    xf = x.reshape(-1)
    vf = V.reshape(-1)
    es = _U(T * C)  # stride between the 16 transformed planes
    d = np.empty((4, Wp, C), dtype=x.dtype)
    r = np.empty((4, Wp, C), dtype=x.dtype)
    df = d.reshape(-1)
    rf = r.reshape(-1)
    zero = x.dtype.type(0)
    uc = _U(C)
    for g in range(g0, g1):
        n = g // nty
        oh0 = trow[g % nty]
        for ph in range(cph.shape[0]):
            a = cph[ph, 0] - lw  # padded column m reads input column a + dw*m
            nt = cph[ph, 1]
            wp = 2 * nt + 2
            for i in range(4):
                ih = oh0 - lh + dh * i
                for m in range(wp):
                    iw = a + dw * m
                    db = _U((i * Wp + m) * C)
                    if ih < 0 or ih >= H or iw < 0 or iw >= W:
                        for c in range(C):
                            df[db + _U(c)] = zero
                    else:
                        xb = _U(((n * H + ih) * W + iw) * C)
                        for c in range(C):
                            df[db + _U(c)] = xf[xb + _U(c)]
            # B^T d (rows), B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]
            for m in range(wp):
                b0 = _U(m * C)
                b1 = b0 + _U(Wp * C)
                b2 = b1 + _U(Wp * C)
                b3 = b2 + _U(Wp * C)
                for c in range(C):
                    u = _U(c)
                    d0 = df[b0 + u]
                    d1 = df[b1 + u]
                    d2 = df[b2 + u]
                    d3 = df[b3 + u]
                    rf[b0 + u] = d0 - d2
                    rf[b1 + u] = d1 + d2
                    rf[b2 + u] = d2 - d1
                    rf[b3 + u] = d1 - d3
            # (B^T d) B (columns), straight into V[:, t, :]
            tb = (g - g0) * ntx + cph[ph, 2]
            for i in range(4):
                for tx in range(nt):
                    r0 = _U((i * Wp + 2 * tx) * C)
                    r1, r2, r3 = r0 + uc, r0 + _U(2) * uc, r0 + _U(3) * uc
                    v0 = _U(4 * i) * es + _U(tb + tx) * uc
                    v1 = v0 + es
                    v2 = v1 + es
                    v3 = v2 + es
                    for c in range(C):
                        u = _U(c)
                        a0 = rf[r0 + u]
                        a1 = rf[r1 + u]
                        a2 = rf[r2 + u]
                        a3 = rf[r3 + u]
                        vf[v0 + u] = a0 - a2
                        vf[v1 + u] = a1 + a2
                        vf[v2 + u] = a2 - a1
                        vf[v3 + u] = a1 - a3


@njit(cache=True, nogil=True)
def _output_transform_cl(M, out, bias, dh, dw, g0, g1, trow, cph):
    """``out = bias + A^T m A`` for the tiles of ``[g0, g1)`` into the channels-last ``out``
    (:func:`_output_transform`'s arithmetic, filter vectors at a time).

    Returns the number of output positions written that hold a NaN or an inf (0 normally).
    """
    Ho, Wo, K = out.shape[1], out.shape[2], out.shape[3]
    T = M.shape[1]
    nty = trow.size
    ntx = cph[-1, 1] + cph[-1, 2]
    mf = M.reshape(-1)
    of = out.reshape(-1)
    es = _U(T * K)
    uk = _U(K)
    s = np.empty((4, K), dtype=out.dtype)
    q = np.empty((4, K), dtype=out.dtype)
    sf = s.reshape(-1)
    qf = q.reshape(-1)
    bad = 0
    for g in range(g0, g1):
        n = g // nty
        oh0 = trow[g % nty]
        for ph in range(cph.shape[0]):
            rw = cph[ph, 0]
            nt = cph[ph, 1]
            nq = (Wo - 1 - rw) // dw + 1  # output columns of this phase
            tb = (g - g0) * ntx + cph[ph, 2]
            for tx in range(nt):
                # A^T m (rows), A^T = [[1,1,1,0],[0,1,-1,-1]]
                for j in range(4):
                    b0 = _U(j) * es + _U(tb + tx) * uk
                    b1 = b0 + _U(4) * es
                    b2 = b1 + _U(4) * es
                    b3 = b2 + _U(4) * es
                    sb = _U(j) * uk
                    for k in range(K):
                        u = _U(k)
                        m1 = mf[b1 + u]
                        m2 = mf[b2 + u]
                        sf[sb + u] = mf[b0 + u] + m1 + m2
                        qf[sb + u] = m1 - m2 - mf[b3 + u]
                # (A^T m) A (columns): the 2x2 outputs of the tile
                for i in range(2):
                    oh = oh0 + dh * i
                    if oh >= Ho:
                        break
                    src = sf if i == 0 else qf
                    for jj in range(2):
                        col = 2 * tx + jj
                        if col >= nq:
                            break
                        ob = _U(((n * Ho + oh) * Wo + rw + dw * col) * K)
                        nf = 0
                        for k in range(K):
                            u = _U(k)
                            p1 = src[uk + u]
                            p2 = src[_U(2) * uk + u]
                            if jj == 0:
                                v = src[u] + p1 + p2
                            else:
                                v = p1 - p2 - src[_U(3) * uk + u]
                            v += bias[k]
                            nf |= 0 if v - v == 0 else 1
                            of[ob + u] = v
                        bad += nf
    return bad


def winograd_forward_cl(x, w, bias, out, lh, lw, dh=1, dw=1, serial=False) -> bool:
    """:func:`winograd_forward` for channels-last ``x`` ``(N, H, W, C)`` and ``out`` ``(N, Ho,
    Wo, K)`` (``w`` stays ``(K, C, 3, 3)``): the same tiles, blocks and fallback rule."""
    N, H, W, C = x.shape
    K = w.shape[0]
    Ho, Wo = out.shape[1], out.shape[2]
    if out.size == 0:
        return True
    if C == 0:
        out[...] = bias
        return True
    dtype = out.dtype
    U = np.empty((16, K, C), dtype=dtype)
    kblocks = _split(K, _MIN_ITEMS)
    _run(lambda kb: _weight_transform(w, U, kb[0], kb[1]), kblocks, serial)
    Ut = np.ascontiguousarray(U.transpose(0, 2, 1))  # (16, C, K)
    trow, cph, ntx, blocks, per = _tables(N, Ho, Wo, dh, dw)
    T = per * ntx
    local = threading.local()
    checks: list[int | None] = [None] * len(blocks)

    def work(i):
        g0, g1 = blocks[i]
        t = (g1 - g0) * ntx
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = (np.empty(16 * C * T, dtype), np.empty(16 * K * T, dtype))
        V = bufs[0][: 16 * t * C].reshape(16, t, C)
        M = bufs[1][: 16 * t * K].reshape(16, t, K)
        _input_transform_cl(x, V, lh, lw, dh, dw, g0, g1, trow, cph)
        with np.errstate(all="ignore"):  # non-finite data is redone by the fallback
            np.matmul(V, Ut, out=M)
        checks[i] = _output_transform_cl(M, out, bias, dh, dw, g0, g1, trow, cph)

    _run(work, range(len(blocks)), serial)
    return all(c == 0 for c in checks)
