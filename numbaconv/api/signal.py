"""Public signal API: drop-in replacements for scipy.signal's convolution functions.

:func:`convolve`, :func:`correlate` (N-D, modes 'full'/'same'/'valid', methods
'direct'/'fft'/'auto'), :func:`choose_conv_method`, :func:`convolve2d` and
:func:`correlate2d` (boundaries 'fill'/'wrap'/'symm') return the same arrays
as their scipy.signal namesakes, including scipy's traps: which side 'same'
trims for even kernels (and the one-sample offset between ``correlate`` and
``correlate2d`` there), the valid-mode dominance rule, conjugation of ``in2``
in correlations and the result dtypes.

How a call is reduced: every direct computation is the one kernel primitive
``out[o] = sum_j w[j] * x[o + j - lo]`` (see :mod:`numbaconv.cpu.signal`),
with ``w`` the flipped (convolution) or conjugated (correlation) kernel and
``(lo, hi)`` per axis the padding that selects the mode's window of the full
result: ``(M-1, M-1)`` for 'full', ``(0, 0)`` for 'valid' and
``(M-1-s, s)`` for 'same', ``s`` being where 'same' starts in the full
result. Output sizes are :func:`numbaconv.shapes.conv_output_size` of those
paddings; boundaries other than zero fill go through
:mod:`numbaconv.core.padding`'s index maps and the padding kernels.

Integer inputs are computed exactly in their integer type, which wraps
around on overflow exactly as NumPy's (and scipy.signal's) integer
arithmetic does; pass ``dtype=np.int64`` (or ``np.float64``) to compute and
return a wider type instead.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..core import padding as padspec
from ..core.dispatch import CPU, asarray, backend_of, empty, kernels
from ..core.operands import dtype_of, result_dtype
from ..core.validate import check_choice
from ..shapes import conv_output_size, resolve_axis_padding

__all__ = ["convolve", "correlate", "choose_conv_method", "convolve2d", "correlate2d"]
__grad_all__: list[str] = []

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
#: scipy.signal's boundary names (and aliases) -> numpy.pad / core.padding modes
BOUNDARIES = {"fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap",
              "symm": "symmetric", "symmetric": "symmetric"}

# ---------------------------------------------------------------------------------------------
# Cost model for method='auto', fitted on the 2-core development machine (AMD EPYC Zen 4,
# 2026-11-22, 21:31 UTC, load average ~3 from other engineers' jobs) with
# ``python -m numbaconv.bench.fit_signal_cost`` (non-negative least squares on relative error over
# timings of numbaconv's direct kernel and of its scipy.fft path, float64 'same', 1-3 dims):
#   direct: DIRECT_S + DIRECT_PER_MAC * macs * weight + DIRECT_PER_ROW * row_passes
#   fft:    FFT_S + FFT_PER_NLOGN * L * log2(L) * weight      (L = padded FFT size)
# ``weight`` scales by element type (float32 0.5, float64 1, complex 4x its real part).
DIRECT_S = 6.13e-05
DIRECT_PER_MAC = 7.29e-11
DIRECT_PER_ROW = 6.45e-08
FFT_S = 3.47e-04
FFT_PER_NLOGN = 1.35e-09
# ---------------------------------------------------------------------------------------------


def _mode(mode) -> str:
    return check_choice(mode, "mode", MODES)


def _method(method) -> str:
    return check_choice(method, "method", METHODS)


def _compute_dtype(in1, in2, dtype) -> np.dtype:
    d1, d2 = dtype_of(in1, "in1"), dtype_of(in2, "in2")
    if dtype is None:
        return result_dtype(d1, d2)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy numeric dtype, got {dtype!r}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"dtype must be a bool, integer, floating or complex dtype, got {dt}")
    return result_dtype(dt)


def _operands(in1, in2, dtype):
    backend = backend_of(in1=in1, in2=in2)
    dt = _compute_dtype(in1, in2, dtype)
    a = asarray(in1, "in1", backend, dt)
    b = asarray(in2, "in2", backend, dt)
    return backend, a, b


def _check_same_ndim(a, b, what="in1 and in2 should have the same dimensionality"):
    if a.ndim != b.ndim:
        raise ValueError(f"{what}; got in1 with shape {tuple(a.shape)} and in2 with shape "
                         f"{tuple(b.shape)}")
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")


def _swap_needed(mode: str, s1, s2) -> bool:
    """scipy's rule: in 'valid' mode one input must dominate the other in every axis."""
    if mode != "valid" or not s1:
        return False
    ok1 = all(a >= b for a, b in zip(s1, s2, strict=True))
    ok2 = all(b >= a for a, b in zip(s1, s2, strict=True))
    if not (ok1 or ok2):
        raise ValueError("For 'valid' mode, one must be at least as large as the other in every "
                         f"dimension; got shapes {tuple(s1)} and {tuple(s2)}")
    return not ok1


def _paddings(xshape, kshape, mode: str, same_start) -> tuple[tuple[int, int], ...]:
    """Per-axis ``(lo, hi)`` selecting ``mode``'s window of the full result.

    ``same_start(m)`` is where 'same' starts in the full result for a kernel of length ``m``.
    """
    if mode == "same":
        return tuple((m - 1 - same_start(m), same_start(m)) for m in kshape)
    return tuple(resolve_axis_padding(mode, n, m) for n, m in zip(xshape, kshape, strict=True))


def _output_shape(xshape, kshape, pads) -> tuple[int, ...]:
    return tuple(conv_output_size(n, m, padding=p) for n, m, p in zip(xshape, kshape, pads, strict=True))


def _conv_start(m: int) -> int:   # scipy: 'same' is the centred slice of 'full'
    return (m - 1) // 2


def _corr2d_start(m: int) -> int:  # scipy's correlate2d: one sample later for even kernels
    return m // 2


def _direct(backend, x, k, pads, flip: bool, conj: bool, boundary: str = "constant",
            fillvalue=None):
    """Direct method: pad (non-zero boundaries only), then the shifted-correlation kernel."""
    ops = kernels("signal", backend)
    w = empty(backend, k.shape, k.dtype)
    ops.taps(k, w, flip, conj)
    oshape = _output_shape(x.shape, k.shape, pads)
    lo = tuple(p[0] for p in pads)
    needs_pad = any(p != (0, 0) for p in pads) and (boundary != "constant" or fillvalue is not None)
    if needs_pad:
        maps, offsets = padspec.index_maps(x.shape, pads, boundary)
        cvals = padspec.resolve_constant_values(0 if fillvalue is None else fillvalue,
                                                x.ndim, x.dtype)
        xp = ops.workspace(padspec.padded_shape(x.shape, pads), x.dtype)  # a temporary
        kernels("padding", backend).pad(x, xp, maps, offsets, cvals, pads[-1][0])
        x, lo = xp, (0,) * x.ndim
    out = empty(backend, oshape, x.dtype)
    ops.correlate_shifted(x, w, out, lo)
    return out


def _reverse(backend, z, conj: bool):
    out = empty(backend, z.shape, z.dtype)
    kernels("signal", backend).taps(z, out, True, conj)
    return out


def _fft(x, k, pads, flip_conj_k: bool):
    """FFT method (CPU): the window of the full linear convolution selected by ``pads``."""
    if flip_conj_k:
        k = _conj(k[(slice(None, None, -1),) * k.ndim])
    oshape = _output_shape(x.shape, k.shape, pads)
    start = tuple(m - 1 - lo for m, (lo, _) in zip(k.shape, pads, strict=True))
    out = np.empty(oshape, x.dtype)
    kernels("signal", CPU).fft_convolve(x, k, out, start)
    return out


def _conj(a):
    return np.conjugate(a) if a.dtype.kind == "c" else a


def _zero_d(backend, a, b, conj: bool):
    if backend == CPU:
        return a * (_conj(b) if conj else b)
    return _direct(backend, a.reshape(1), b.reshape(1), ((0, 0),), False, conj).reshape(())


# ------------------------------------------------------------------ method selection


def _weight(dtype: np.dtype) -> float:
    if dtype.kind == "c":
        return 4.0 * (0.5 if dtype == np.complex64 else 1.0)
    return 0.5 if dtype.itemsize <= 4 else 1.0


def _axis_macs(n: int, m: int, lo: int, out: int) -> int:
    """Multiply-adds along one axis: (output, tap) pairs whose input index is inside ``x``."""
    j = np.arange(m)
    first = np.maximum(0, lo - j)
    last = np.minimum(out, n + lo - j)
    return int(np.maximum(0, last - first).sum())


def _predicted_times(xshape, kshape, mode: str, dtype: np.dtype) -> tuple[float, float]:
    """``(direct_seconds, fft_seconds)`` predicted by the fitted cost model."""
    import scipy.fft as sfft

    pads = _paddings(xshape, kshape, mode, _conv_start)
    oshape = _output_shape(xshape, kshape, pads)
    macs = math.prod(_axis_macs(n, m, p[0], o) for n, m, p, o in zip(xshape, kshape, pads, oshape, strict=True))
    rows = math.prod(oshape[:-1]) * math.prod(kshape[:-1])
    rows *= -(-oshape[-1] // 2048)
    w = _weight(dtype)
    direct = DIRECT_S + DIRECT_PER_MAC * macs * w + DIRECT_PER_ROW * rows
    real = dtype.kind != "c"
    L = math.prod(sfft.next_fast_len(n + m - 1, real=real) for n, m in zip(xshape, kshape, strict=True))
    fft = FFT_S + FFT_PER_NLOGN * L * max(1.0, math.log2(L)) * (w if real else w / 2)
    return direct, fft


def _fft_is_exact(a, b) -> bool:
    """False when FFT rounding could change an exact integer result (scipy's 2**52 rule)."""
    if a.dtype.kind not in "iu":
        return True
    amax = max(abs(int(a.max())), abs(int(a.min())))
    bmax = max(abs(int(b.max())), abs(int(b.min())))
    return amax * bmax * min(a.size, b.size) <= 2 ** np.finfo(np.float64).nmant - 1


def _all_finite(*arrays) -> bool:
    return all(a.dtype.kind not in "fc" or bool(np.isfinite(a).all()) for a in arrays)


def _auto(a, b, mode: str) -> str:
    if a.dtype.kind == "b" or not _fft_is_exact(a, b):
        return "direct"
    direct, fft = _predicted_times(a.shape, b.shape, mode, a.dtype)
    if fft < direct and _all_finite(a, b):  # FFT would smear a NaN/inf over the whole output
        return "fft"
    return "direct"


def _best_time(fn, repeat: int = 3) -> float:
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ------------------------------------------------------------------ public functions


def convolve(in1, in2, mode: str = "full", method: str = "auto", *, dtype=None):
    """Convolve two N-D arrays; the same result as :func:`scipy.signal.convolve`.

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        Inputs with the same number of dimensions (both may be 0-d). CUDA
        arrays are convolved on the GPU (direct method) and a device array
        is returned.
    mode : {'full', 'same', 'valid'}, optional
        ``'full'``: the whole linear convolution, ``N + M - 1`` per axis.
        ``'same'``: the shape of ``in1``, centred on the full result (it
        starts at ``(M - 1) // 2``, so for even kernels one more sample is
        trimmed at the end). ``'valid'``: only positions where one input
        covers the other completely, ``|N - M| + 1`` per axis; one input must
        be at least as large as the other in every axis, as in scipy.
    method : {'auto', 'direct', 'fft'}, optional
        ``'direct'``: numbaconv's parallel kernels (exact for integers; a NaN
        stays local to the windows that touch it). ``'fft'``: scipy.fft
        (CPU only; a NaN or inf spreads over the whole output). ``'auto'``:
        whichever a cost model fitted to numbaconv's kernels on the
        development machine predicts faster, but never FFT for bool input,
        for integers whose exact result could exceed 2**52, or when an input
        holds NaN or inf. See :func:`choose_conv_method`.
    dtype : dtype, optional
        Computation and result dtype. Default: NumPy's promotion of the two
        input dtypes (bool stays bool, integers stay integers and wrap
        around on overflow exactly like scipy.signal's; float32 stays
        float32; float16 is computed in float32). Pass a wider type, e.g.
        ``dtype=np.int64``, to get a result that does not overflow.

    Returns
    -------
    ndarray or CUDA array
        The convolution. Two 0-d inputs give their product (a NumPy scalar),
        as in scipy.

    Raises
    ------
    ValueError
        Unknown ``mode`` or ``method``, inputs of different dimensionality,
        empty inputs, 'valid' mode without one input dominating the other,
        or ``method='fft'`` on CUDA arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> nc.convolve([1, 2, 3], [0, 1, 0.5], mode='same')
    array([1. , 2.5, 4. ])
    >>> nc.convolve(np.array([100, 100], np.int8), np.array([2, 1], np.int8))  # wraps
    array([-56,  44, 100], dtype=int8)
    >>> nc.convolve(np.array([100, 100], np.int8), np.array([2, 1], np.int8), dtype=np.int64)
    array([200, 300, 100])
    """
    mode, method = _mode(mode), _method(method)
    backend, a, b = _operands(in1, in2, dtype)
    if a.ndim == b.ndim == 0:
        return _zero_d(backend, a, b, conj=False)
    _check_same_ndim(a, b, "volume and kernel should have the same dimensionality")
    if _swap_needed(mode, a.shape, b.shape) or (mode == "full" and b.size > a.size):
        a, b = b, a  # convolution is commutative; the larger operand streams through the kernel
    if method == "auto":
        method = _resolve_auto(backend, a, b, mode)
    pads = _paddings(a.shape, b.shape, mode, _conv_start)
    if method == "fft":
        _cpu_only(backend)
        return _fft(a, b, pads, flip_conj_k=False)
    return _direct(backend, a, b, pads, flip=True, conj=False)


def correlate(in1, in2, mode: str = "full", method: str = "auto", *, dtype=None):
    """Cross-correlate two N-D arrays; the same result as :func:`scipy.signal.correlate`.

    ``z[k] = sum_l in1[l] * conj(in2[l - k + (M - 1)])`` in 'full' mode: the
    kernel is not flipped and, when complex, is conjugated.

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        Inputs with the same number of dimensions (both may be 0-d).
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`convolve`: 'same' is the slice of the full correlation
        starting at ``(M - 1) // 2`` (:func:`correlate2d` starts at ``M // 2``,
        as scipy's does, so the two differ by one sample for even kernels).
    method : {'auto', 'direct', 'fft'}, optional
        As in :func:`convolve`.
    dtype : dtype, optional
        Computation and result dtype, as in :func:`convolve`.

    Returns
    -------
    ndarray or CUDA array
        The cross-correlation.

    Raises
    ------
    ValueError
        As :func:`convolve`.

    Examples
    --------
    >>> import numbaconv as nc
    >>> nc.correlate([1, 2, 3, 4], [1, 1])
    array([1, 3, 5, 7, 4])
    >>> nc.correlate([1, 2, 3, 4], [1, 1], mode='same')
    array([1, 3, 5, 7])
    >>> nc.correlate([1j, 2], [1j])   # in2 is conjugated
    array([1.+0.j, 0.-2.j])
    """
    mode, method = _mode(mode), _method(method)
    backend, a, b = _operands(in1, in2, dtype)
    if a.ndim == b.ndim == 0:
        return _zero_d(backend, a, b, conj=True)
    _check_same_ndim(a, b)
    valid_swap = _swap_needed(mode, a.shape, b.shape)
    if method == "auto":
        method = _resolve_auto(backend, *((b, a) if valid_swap else (a, b)), mode)
    if method == "fft":
        _cpu_only(backend)
        if valid_swap:  # correlate(in1, in2) = convolve(revconj(in2), in1) in 'valid' mode
            x = _conj(b[(slice(None, None, -1),) * b.ndim])
            return _fft(x, a, _paddings(x.shape, a.shape, mode, _conv_start), False)
        return _fft(a, b, _paddings(a.shape, b.shape, mode, _conv_start), flip_conj_k=True)
    # scipy's direct path: swap when in2 dominates ('valid') or is larger ('full'), then undo
    # the swap by reversing and conjugating the result.
    swapped = valid_swap or (mode == "full" and b.size > a.size)
    if swapped:
        a, b = b, a
    z = _direct(backend, a, b, _paddings(a.shape, b.shape, mode, _conv_start),
                flip=False, conj=True)
    return _reverse(backend, z, conj=True) if swapped else z


def choose_conv_method(in1, in2, mode: str = "full", measure: bool = False):
    """Pick the faster method for :func:`convolve` / :func:`correlate`, like scipy's.

    Without ``measure``, a cost model fitted to numbaconv's own direct
    kernel and its scipy.fft path on the development machine (constants in
    this module) predicts both times. 'direct' is always chosen for bool
    inputs, for integer inputs whose exact result could exceed 2**52 (FFT
    rounding would change it), when an input holds NaN or inf (FFT would
    spread it over the whole output), and for CUDA arrays (numbaconv has no
    GPU FFT).

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        The inputs you will pass to :func:`convolve` or :func:`correlate`.
    mode : {'full', 'same', 'valid'}, optional
        The mode you will use.
    measure : bool, optional
        Time both methods on these inputs (best of a few runs of
        :func:`convolve`) and return the times too.

    Returns
    -------
    method : str
        ``'direct'`` or ``'fft'``.
    times : dict, only with ``measure=True``
        Seconds per call of each method: ``{'fft': ..., 'direct': ...}``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.choose_conv_method(np.ones(1000), np.ones(3))
    'direct'
    >>> nc.choose_conv_method(np.ones((512, 512)), np.ones((64, 64)))
    'fft'
    >>> nc.choose_conv_method(np.ones(5, dtype=np.int64), np.full(5, 2**40))
    'direct'
    >>> method, times = nc.choose_conv_method(np.ones(100), np.ones(5), measure=True)
    >>> sorted(times)
    ['direct', 'fft']
    """
    mode = _mode(mode)
    if not isinstance(measure, (bool, np.bool_)):
        raise TypeError(f"measure must be True or False, got {measure!r}")
    backend, a, b = _operands(in1, in2, None)
    if a.ndim == b.ndim == 0:
        method = "direct"
    else:
        _check_same_ndim(a, b)
        if _swap_needed(mode, a.shape, b.shape):
            a, b = b, a
        method = _resolve_auto(backend, a, b, mode)
    if not measure:
        return method
    if backend != CPU:
        raise ValueError("measure=True needs host arrays: numbaconv has no GPU FFT to time")
    times = {m: _best_time(lambda m=m: convolve(a, b, mode, m)) for m in ("fft", "direct")}
    return ("fft" if times["fft"] < times["direct"] else "direct"), times


def _resolve_auto(backend, a, b, mode):
    return "direct" if backend != CPU or a.ndim == 0 else _auto(a, b, mode)


def _cpu_only(backend):
    if backend != CPU:
        raise ValueError("method='fft' is only available for host (NumPy) arrays; use "
                         "method='direct' or 'auto' for CUDA arrays")


def _two_d(name, in1, in2, mode, boundary, fillvalue, dtype):
    mode = _mode(mode)
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise ValueError("boundary must be one of 'fill', 'wrap' (or 'circular'), 'symm' (or "
                         f"'symmetric'); got {boundary!r}")
    backend, a, b = _operands(in1, in2, dtype)
    for arg, arr in (("in1", a), ("in2", b)):
        if arr.ndim != 2:
            raise ValueError(f"{name}: {arg} must be a 2-D array; got shape {tuple(arr.shape)} "
                             f"(in1 {tuple(a.shape)}, in2 {tuple(b.shape)})")
    _check_same_ndim(a, b)
    fv = np.asarray(fillvalue)
    if fv.size != 1 or fv.dtype.kind not in "biufc":
        raise ValueError(f"fillvalue must be a number or an array with one element, got "
                         f"{fillvalue!r}")
    fv = fv.reshape(())
    if fv.dtype.kind == "c" and a.dtype.kind != "c":
        if fv.imag != 0:
            raise ValueError(f"fillvalue {fillvalue!r} is complex but the inputs are real "
                             f"({a.dtype}): it cannot be cast to the output type")
        fv = fv.real
    mode_b = BOUNDARIES[boundary]
    use_fill = mode_b != "constant" or bool(fv != 0)
    return backend, a, b, mode, mode_b, (fv if use_fill else None)


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0, *,
               dtype=None):
    """Convolve two 2-D arrays with a boundary rule; the same as :func:`scipy.signal.convolve2d`.

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        2-D inputs. CUDA arrays are convolved on the GPU.
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`convolve` ('same' starts at ``(M - 1) // 2`` of 'full').
    boundary : {'fill', 'wrap', 'symm'}, optional
        How ``in1`` is extended: ``'fill'`` with ``fillvalue``; ``'wrap'``
        (alias ``'circular'``) periodically; ``'symm'`` (alias
        ``'symmetric'``) by mirroring with the edge repeated (numpy.pad's
        'symmetric'). Extensions wider than the input keep wrapping or
        mirroring, as in scipy. Ignored in 'valid' mode.
    fillvalue : scalar, optional
        Value outside ``in1`` for ``boundary='fill'``, cast to the result
        dtype.
    dtype : dtype, optional
        Computation and result dtype, as in :func:`convolve` (default:
        NumPy's promotion of the inputs; bool inputs give bool).

    Returns
    -------
    ndarray or CUDA array
        The 2-D convolution.

    Raises
    ------
    ValueError
        Inputs not 2-D or empty, unknown ``mode`` or ``boundary``, a
        ``fillvalue`` that is not one number (or complex for real inputs),
        'valid' mode without one input dominating the other.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> nc.convolve2d(x, np.ones((2, 2)), mode='same')
    array([[ 0.,  1.,  3.],
           [ 3.,  8., 12.],
           [ 9., 20., 24.]])
    >>> nc.convolve2d(x, np.ones((3, 3)), mode='same', boundary='wrap')
    array([[36., 36., 36.],
           [36., 36., 36.],
           [36., 36., 36.]])
    """
    backend, a, b, mode, mode_b, fv = _two_d("convolve2d", in1, in2, mode, boundary,
                                             fillvalue, dtype)
    if _swap_needed(mode, a.shape, b.shape):
        a, b = b, a
    pads = _paddings(a.shape, b.shape, mode, _conv_start)
    return _direct(backend, a, b, pads, flip=True, conj=False, boundary=mode_b, fillvalue=fv)


def correlate2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0, *,
                dtype=None):
    """Cross-correlate two 2-D arrays; the same as :func:`scipy.signal.correlate2d`.

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        2-D inputs; ``in2`` is conjugated when complex.
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`correlate`, except that 'same' starts at ``M // 2`` of
        the full correlation (scipy's correlate2d convention: one sample
        later than :func:`correlate` for even kernels). When ``in2``
        dominates ``in1`` in 'valid' mode the inputs are swapped and the
        result reversed, exactly as scipy does (for complex inputs the
        result is then not conjugated back, also as scipy).
    boundary : {'fill', 'wrap', 'symm'}, optional
        As in :func:`convolve2d`.
    fillvalue : scalar, optional
        As in :func:`convolve2d`.
    dtype : dtype, optional
        As in :func:`convolve`.

    Returns
    -------
    ndarray or CUDA array
        The 2-D cross-correlation.

    Raises
    ------
    ValueError
        As :func:`convolve2d`.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> nc.correlate2d(np.arange(4.0).reshape(2, 2), np.array([[1.0, 2.0]]))
    array([[0., 2., 1.],
           [4., 8., 3.]])
    >>> nc.correlate2d([[1, 2, 3, 4]], [[1, 1]], mode='same')
    array([[3, 5, 7, 4]])
    """
    backend, a, b, mode, mode_b, fv = _two_d("correlate2d", in1, in2, mode, boundary,
                                             fillvalue, dtype)
    swapped = _swap_needed(mode, a.shape, b.shape)
    if swapped:
        a, b = b, a
    pads = _paddings(a.shape, b.shape, mode, _corr2d_start)
    z = _direct(backend, a, b, pads, flip=False, conj=True, boundary=mode_b, fillvalue=fv)
    return _reverse(backend, z, conj=False) if swapped else z
