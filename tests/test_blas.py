"""numpy's CBLAS from compiled kernels: two GEMMs side by side (the demo networks' dense
layers), against numpy's own matmul on every layout BLAS reads where it is; GEMMs split
into row blocks under a cap (:func:`numbaconv.cpu.blas.gemm_rows_at`)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numbaconv.cpu.blas import (
    NO_TRANS,
    TRANS,
    gemm_rows_at,
    kernel_gemm,
    small_gemm_cap,
    two_matmuls,
)
from numbaconv.cpu.threads import num_threads


def _view(rng, shape, dtype, layout):
    """A (rows, cols) operand: 'c' row-major, 'f' the transpose of a row-major array,
    'block' a column block of a wider row-major array."""
    r, c = shape
    if layout == "f":
        return np.ascontiguousarray(rng.standard_normal((c, r)).astype(dtype)).T
    if layout == "block":
        return rng.standard_normal((r, c + 3)).astype(dtype)[:, 2:2 + c]
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=25)
@given(dims=st.lists(st.integers(1, 40), min_size=6, max_size=6),
       layouts=st.lists(st.sampled_from(["c", "f", "block"]), min_size=4, max_size=4),
       out_block=st.booleans(), seed=st.integers(0, 2**16))
def test_two_matmuls_match_numpy(dtype, dims, layouts, out_block, seed):
    if kernel_gemm(np.dtype(dtype)) is None:
        pytest.skip("numpy's CBLAS is not callable from compiled kernels here")
    rng = np.random.default_rng(seed)
    m1, k1, n1, m2, k2, n2 = dims
    if out_block:  # two column blocks of one output from one left operand, as the dense
        m2, k2 = m1, k1  # layers split theirs
    a1, b1 = _view(rng, (m1, k1), dtype, layouts[0]), _view(rng, (k1, n1), dtype, layouts[1])
    a2 = a1 if out_block else _view(rng, (m2, k2), dtype, layouts[2])
    b2 = _view(rng, (k2, n2), dtype, layouts[3])
    if out_block:
        c = np.full((m1, n1 + n2 + 1), np.nan, dtype)
        c1, c2 = c[:, :n1], c[:, n1:n1 + n2]
    else:
        c1, c2 = np.full((m1, n1), np.nan, dtype), np.full((m2, n2), np.nan, dtype)
    inputs = [x.copy() for x in (a1, b1, a2, b2)]
    assert two_matmuls(a1, b1, c1, a2, b2, c2)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for got, a, b in ((c1, a1, b1), (c2, a2, b2)):
        want = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))
    if out_block:
        assert np.isnan(c[:, -1]).all()  # nothing written past the blocks
    for x, x0 in zip((a1, b1, a2, b2), inputs, strict=True):
        np.testing.assert_array_equal(x, x0)


def test_two_matmuls_declines_what_blas_cannot_read():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 6)).astype(np.float32)
    b = rng.standard_normal((6, 5)).astype(np.float32)
    c = np.empty((8, 5), np.float32)
    # a column-strided operand, a transposed output, mixed dtypes, an empty product: not
    # done (every row a step apart is fine: its leading dimension)
    assert not two_matmuls(a[:, ::2], b[::2], c, a, b, c)
    assert not two_matmuls(a, b, np.empty((5, 8), np.float32).T, a, b, c)
    assert not two_matmuls(a, b, c, a.astype(np.float64), b.astype(np.float64),
                           np.empty((8, 5)))
    assert not two_matmuls(a[:, :0], b[:0], c, a, b, c)
    if kernel_gemm(np.float32) is not None:
        with pytest.raises(ValueError, match="do not match"):
            two_matmuls(a, b, np.empty((8, 4), np.float32), a, b, c)


def test_dense_layers_same_bits_at_one_and_two_threads():
    # the demo's dense layers split their large products at fixed columns: the same bits
    # whatever the thread count, and numpy's product to float32 rounding
    import numba

    from numbaconv.cli import nets

    rng = np.random.default_rng(1)
    g = rng.standard_normal((100, 600)).astype(np.float32)
    w = rng.standard_normal((600, 2304)).astype(np.float32)
    x = rng.standard_normal((100, 2304)).astype(np.float32)
    default = num_threads()
    results = []
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            results.append((nets._matmul(x, w.T), *nets._matmul_pair(g, w, g.T, x)))
    finally:
        numba.set_num_threads(default)
    for r1, r2 in zip(*results, strict=True):
        np.testing.assert_array_equal(r1, r2)
    for got, want in zip(results[0], (x @ w.T, g @ w, g.T @ x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=30)
@given(m=st.integers(1, 70), n=st.integers(1, 30), k=st.integers(1, 30), cap=st.integers(0, 20000),
       trans=st.booleans(), beta=st.sampled_from([0.0, 1.0]), seed=st.integers(0, 2**16))
def test_gemm_in_row_blocks_under_a_cap(dtype, m, n, k, cap, trans, beta, seed):
    # row blocks of at most `cap` multiply-adds (multiples of 8 rows, at least 8), each its
    # own GEMM into its rows of c: the product of the whole (a read as it is or transposed;
    # c kept and added to with beta = 1), against numpy in float64
    gemm = kernel_gemm(np.dtype(dtype))
    if gemm is None:
        pytest.skip("numpy's CBLAS is not callable from compiled kernels here")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if trans else (m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    op_a = (a.T if trans else a).astype(np.float64)
    want = op_a @ b + beta * c
    scale = (np.abs(op_a) @ np.abs(b) + np.abs(beta * c)).max()  # (float32 cancels)
    flat = seed % 2 == 0  # (2-D a and c: offsets are still in elements)
    gemm_rows_at(gemm, TRANS if trans else NO_TRANS, m, n, k, a.reshape(-1) if flat else a,
                 m if trans else k, b.reshape(-1), n, beta, c.reshape(-1) if flat else c, n,
                 cap)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol * scale)


def test_small_gemm_cap_is_openblas_avx512_only():
    # the cap is 100**3 exactly where numpy's BLAS is an OpenBLAS with AVX-512 kernels
    # (threadpoolctl's report of the library kernel_gemm calls), else 0
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for dtype in (np.float32, np.float64):
        cap = small_gemm_cap(np.dtype(dtype))
        if kernel_gemm(np.dtype(dtype)) is None:
            assert cap == 0
            continue
        archs = {i.get("architecture") for i in threadpoolctl.threadpool_info()
                 if i.get("internal_api") == "openblas"}
        assert cap in (0, 1_000_000)
        if cap:
            assert archs & {"SkylakeX", "Cooperlake", "SapphireRapids"}
