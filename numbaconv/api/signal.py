"""Public signal API: drop-in replacements for scipy.signal's convolution functions.

:func:`convolve`, :func:`correlate` (N-D, modes 'full'/'same'/'valid', methods
'direct'/'fft'/'auto'), :func:`choose_conv_method`, :func:`convolve2d` and
:func:`correlate2d` (boundaries 'fill'/'wrap'/'symm'), :func:`fftconvolve` and
:func:`oaconvolve` (with ``axes``) return the same arrays as their
scipy.signal namesakes, including scipy's traps: which side 'same' trims for
even kernels (and the one-sample offset between ``correlate`` and
``correlate2d`` there), the valid-mode dominance rule, conjugation of ``in2``
in correlations, the result dtypes and the error messages.

How a call is reduced: :func:`numbaconv.core.signal.direct_spec` resolves the
shapes, mode and boundary once into a frozen spec (cached: a repeated call
resolves nothing), and the direct kernels compute one primitive, a
correlation of the extended input with the flipped (convolution) or
conjugated (correlation) kernel; see :mod:`numbaconv.core.signal`. The FFT
paths run scipy.fft on the CPU with the threads Numba uses: ``fftconvolve``,
``oaconvolve`` and ``method='fft'`` as scipy computes them; when ``method='auto'``
(or ``convolve2d``/``correlate2d`` with a large kernel) picks the FFT for finite
input, overlap-save tiles of the extended input, which give the direct sum to
rounding.

Integer inputs are computed exactly in their integer type's arithmetic, which
wraps around on overflow exactly as NumPy's (and scipy.signal's) integer
arithmetic does (the CPU kernels run it in int64 and wrap the result, which is
the same modular arithmetic); pass ``dtype=np.int64`` (or ``np.float64``) to
compute and return a wider type instead.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from ..core import padding as padspec
from ..core import signal as sig
from ..core.dispatch import CPU, backend_of, kernels, memory
from ..core.operands import check_kind, dtype_of, result_dtype
from ..core.out import finish_out, prepare_out
from ..typing import Array, ArrayLike, DTypeLike

__all__ = ["convolve", "correlate", "choose_conv_method", "convolve2d", "correlate2d",
           "fftconvolve", "oaconvolve"]
__grad_all__: list[str] = []

_NAN_FFT = ("Use of fft convolution on input with NAN or inf results in NAN or inf output. "
            "Consider using method='direct' instead.")


@functools.cache
def _ops(backend: str):
    return kernels("signal", backend)


@functools.cache
def _mem(backend: str):
    return memory(backend)


def asarray(x, name: str, backend: str, dtype):
    """``x`` as the kernels take it (no copy when it already is): the backend's memory module."""
    if type(x) is np.ndarray and x.dtype is dtype and x.flags.c_contiguous \
            and x.flags.writeable:
        return x  # (builtin dtypes are singletons: ``is`` also means native byte order)
    return _mem(backend).asarray(x, name, dtype)


def empty(backend: str, shape, dtype):
    return _mem(backend).empty(shape, dtype)


def _dst(out, backend, shape, dtype, inputs):
    """The array the result goes to: fresh when ``out`` is None, else core.out's checks."""
    if out is None:
        return _mem(backend).empty(shape, dtype)
    return prepare_out(out, backend, shape, dtype, inputs)


def _backend(in1, in2) -> str:
    if type(in1) is np.ndarray and type(in2) is np.ndarray:
        return CPU
    return backend_of(in1=in1, in2=in2)


def _result_dtype(in1, in2, dtype) -> np.dtype:
    """NumPy's promotion of the inputs (float16 computed as float32), or ``dtype``."""
    if dtype is None:
        if type(in1) is np.ndarray and type(in2) is np.ndarray and in1.dtype == in2.dtype \
                and in1.dtype.kind in "fc" and in1.dtype.itemsize >= 4 and in1.dtype.isnative:
            return in1.dtype
        return result_dtype(dtype_of(in1, "in1"), dtype_of(in2, "in2"))
    dtype_of(in1, "in1")  # (the inputs' checks and messages, before the dtype's)
    dtype_of(in2, "in2")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy numeric dtype, got {dtype!r}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"dtype must be a bool, integer, floating or complex dtype, got {dt}")
    return result_dtype(dt)


def _compute_dtype(backend: str, rd: np.dtype) -> np.dtype:
    """CPU kernels run every integer and bool type in int64 (the same modular arithmetic, one
    compiled specialisation instead of nine); CUDA kernels run the result type itself. Long
    double, which Numba lacks, is computed in (complex) float64 and returned as long double."""
    if backend == CPU and rd.kind in "biu":
        return np.dtype(np.int64)
    if rd.kind == "f" and rd.itemsize > 8:  # long double: Numba has none
        return np.dtype(np.float64)
    if rd.kind == "c" and rd.itemsize > 16:
        return np.dtype(np.complex128)
    return rd


def _cast_into(dst, src) -> None:
    """``dst[...] = src``, integers wrapping like NumPy's casts, bool meaning nonzero."""
    if dst.dtype.kind == "b" and src.dtype.kind != "b":
        np.not_equal(src, 0, out=dst)
    else:
        np.copyto(dst, src, casting="unsafe")


def _run_direct(backend, spec, a, b, fill, rd, out, inputs):
    """The direct kernel on normalised operands ``a`` (in1) and ``b`` (in2) of one dtype."""
    ops = _ops(backend)
    x, w = (b, a) if spec.swap else (a, b)
    flip = spec.flip
    if spec.conj and w.dtype.kind == "c":  # conjugate by a reversed copy, then flip it back
        wr = empty(backend, w.shape, w.dtype)
        ops.reverse(w, wr, True)
        w, flip = wr, not flip
    if out is None and backend == CPU:
        dst = np.empty(spec.out_shape, rd)
    else:
        dst = _dst(out, backend, spec.out_shape, rd, inputs)
    if not spec.undo and x.dtype == rd:
        ops.correlate(x, w, dst, spec.geom, fill, flip)
        return finish_out(out, dst)
    tmp = empty(backend, spec.out_shape, x.dtype)
    ops.correlate(x, w, tmp, spec.geom, fill, flip)
    if spec.undo and x.dtype == rd:
        ops.reverse(tmp, dst, spec.undo == "revconj")
    else:  # CPU: undo the swap, then wrap the int64 (or round the float64) result into rd
        if spec.undo:
            tmp = tmp[(slice(None, None, -1),) * tmp.ndim]
            if spec.undo == "revconj" and tmp.dtype.kind == "c":
                tmp = np.conjugate(tmp)
        _cast_into(dst, tmp)
    return finish_out(out, dst)


def _zero_d(backend, in1, in2, rd, conj: bool, out, inputs):
    """Two 0-d inputs: their product (a NumPy scalar on the CPU, as scipy returns)."""
    a = asarray(in1, "in1", backend, rd)
    b = asarray(in2, "in2", backend, rd)
    if backend == CPU:
        if conj and b.dtype.kind == "c":
            b = np.conjugate(b)
        if out is None:
            return a * b
        dst = _dst(out, backend, (), rd, inputs)
        np.multiply(a, b, out=dst)
        return finish_out(out, dst)
    spec = sig.direct_spec("correlate" if conj else "convolve", (1,), (1,), "full", "constant",
                           rd.char)
    res = _run_direct(backend, spec, a.reshape(1), b.reshape(1), None, rd, None, inputs)
    res = res.reshape(())
    if out is None:
        return res
    dst = _dst(out, backend, (), rd, inputs)
    _ops(backend).reverse(res, dst, False)  # a copy of one element
    return finish_out(out, dst)


def _fft_is_exact(a, b) -> bool:
    """False when FFT rounding could change an exact integer result (scipy's 2**52 rule)."""
    if a.dtype.kind not in "iu":
        return True
    amax = max(abs(int(a.max())), abs(int(a.min())))
    bmax = max(abs(int(b.max())), abs(int(b.min())))
    return amax * bmax * min(a.size, b.size) <= 2 ** np.finfo(np.float64).nmant - 1


def _all_finite(*arrays) -> bool:
    """No NaN or inf in any of ``arrays``. A finite sum proves it in one pass without a
    temporary; a sum that is not finite (a NaN, an inf, or an overflow) is checked exactly."""
    for a in arrays:
        if a.dtype.kind not in "fc":
            continue
        if a.size > 4096:
            with np.errstate(all="ignore"):
                if np.isfinite(np.add.reduce(a, axis=None)):
                    continue
        if not np.isfinite(a).all():
            return False
    return True


def _auto(backend, spec, a, b, rd, check_finite: bool = True) -> str:
    """method='auto': 'fft' only on the CPU, when the cost model predicts it faster, never for
    bool, for integers whose exact result could exceed 2**52, or when an input holds NaN or
    inf (FFT would spread it over the whole output; the direct method keeps it local).
    ``check_finite=False`` leaves that last check to :func:`_fft_window`, which makes it
    while it reads the input."""
    if (backend != CPU or not spec.fft_faster or rd.kind == "b" or not _fft_is_exact(a, b)
            or (check_finite and not _all_finite(a, b))):
        return "direct"
    return "fft"


def _cpu_only(backend):
    if backend != CPU:
        raise ValueError("method='fft' is only available for host (NumPy) arrays; use "
                         "method='direct' or 'auto' for CUDA arrays")


def _fft_nd(op, a, b, mode, rd, out, inputs):
    """convolve/correlate with method='fft': scipy's fftconvolve of ``in1`` with ``in2`` (or
    with ``in2`` reversed and conjugated), rounded for integer results; by
    :func:`fftconvolve`'s overlap-save tiles where they apply (finite float or complex
    input, several tiles: 1024x1024 * 31x31 float64 'same' 29 -> 8 ms, Zen 3), else by
    scipy's plan (which spreads a NaN over the whole output, as scipy does)."""
    if op == "correlate":
        b = b[(slice(None, None, -1),) * b.ndim]
        if b.dtype.kind == "c":
            b = np.conjugate(b)
    complex_ = a.dtype.kind == "c" or b.dtype.kind == "c"
    plan = sig.freq_spec(a.shape, b.shape, mode, None, complex_)
    x, k = (b, a) if plan.swap else (a, b)
    dst = _dst(out, CPU, plan.out_shape, rd, inputs)
    if not _freq_tiles(plan, x, k, rd, dst):
        _ops(CPU).fft_convolve(x, k, dst, plan)
    if dst.size and rd.kind in "fc" and not np.isfinite(dst.flat[0]):
        warnings.warn(_NAN_FFT, RuntimeWarning, stacklevel=3)
    return finish_out(out, dst)


#: repeated calls on plain arrays: (function, arguments, shapes, dtypes) -> (spec, result dtype)
_SEEN: dict = {}


def _plain(a, b) -> bool:
    """Both C-contiguous, writeable NumPy arrays (what the kernels take as they are)."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.flags.c_contiguous
            and b.flags.c_contiguous and a.flags.writeable and b.flags.writeable)


def _remember(key, spec, rd) -> None:
    """Keep a resolved call of ``key`` (plain arrays of the compute dtype, no ``out``): its
    spec, result dtype and, where the kernel's path follows from the shapes alone, the
    prepared kernel call (:func:`numbaconv.cpu.signal.prepared_correlate`)."""
    if len(_SEEN) > 512:
        _SEEN.clear()
    run = None
    if not spec.swap and not spec.undo and rd.kind != "c" and key[-2] == rd:
        run = _ops(CPU).prepared_correlate(spec.out_shape, key[-3], spec.geom, spec.flip, rd)
    _SEEN[key] = (spec, rd, run)


def _seen_call(seen, in1, in2):
    """A call remembered by :func:`_remember`, on ``in1`` and ``in2`` as they are."""
    spec, rd, run = seen
    if run is None:
        return _run_direct(CPU, spec, in1, in2, None, rd, None, None)
    dst = np.empty(spec.out_shape, rd)
    run(in1, in2, dst)
    return dst


def _nd(op, in1, in2, mode, method, dtype, out):
    """convolve / correlate: validate, resolve (cached), pick the method, run."""
    if out is None and dtype is None and _plain(in1, in2):
        key = (op, mode, method, in1.shape, in2.shape, in1.dtype, in2.dtype)
        seen = _SEEN.get(key)
        if seen is not None:  # the same call before: validated, resolved, direct
            return _seen_call(seen, in1, in2)
    else:
        key = None
    mode = sig.check_mode(mode)
    method = sig.check_method(method)
    backend = _backend(in1, in2)
    rd = _result_dtype(in1, in2, dtype)
    inputs = {"in1": in1, "in2": in2} if out is not None else None
    cd = _compute_dtype(backend, rd)
    a = asarray(in1, "in1", backend, cd)
    b = asarray(in2, "in2", backend, cd)
    if a.ndim == b.ndim == 0:
        return _zero_d(backend, in1, in2, rd, op == "correlate", out, inputs)
    if a.ndim != b.ndim:
        what = "volume and kernel" if op == "convolve" else "in1 and in2"
        raise ValueError(f"{what} should have the same dimensionality; got in1 with shape "
                         f"{tuple(a.shape)} and in2 with shape {tuple(b.shape)}")
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    spec = sig.direct_spec(op, a.shape, b.shape, mode, "constant", rd.char)
    if method == "auto" and _auto(backend, spec, a, b, rd, check_finite=False) == "fft":
        if _one_tile(spec, a, b, rd) and _all_finite(a, b):  # (NaN or inf: direct below)
            return _fft_nd(op, a, b, mode, rd, out, inputs)
        res = _fft_window(spec, a, b, None, rd, out, inputs)
        if res is not None:  # finite input: tiles are exact
            return res
    if method == "fft":
        _cpu_only(backend)
        return _fft_nd(op, a, b, mode, rd, out, inputs)
    if key is not None and a is in1 and b is in2 and not spec.fft_faster:
        _remember(key, spec, rd)
    return _run_direct(backend, spec, a, b, None, rd, out, inputs)


# ------------------------------------------------------------------ public functions


def convolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
             dtype: DTypeLike | None = None, out: Array | None = None) -> Array:
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
        ``'direct'``: numbaconv's kernels (exact for integers; a NaN stays
        local to the windows that touch it). ``'fft'``: :func:`fftconvolve`
        (CPU only; a NaN or inf spreads over the whole output, with scipy's
        RuntimeWarning; integer results are rounded). ``'auto'``: whichever a
        cost model fitted to numbaconv's kernels predicts faster, but never
        FFT for bool input, for integers whose exact result could exceed
        2**52, or when an input holds NaN or inf; its FFT path convolves
        overlap-save tiles on every core. See :func:`choose_conv_method`.
    dtype : dtype, optional
        Computation and result dtype. Default: NumPy's promotion of the two
        input dtypes (bool stays bool, integers stay integers and wrap
        around on overflow exactly like scipy.signal's; float32 stays
        float32; float16 is computed in float32). Pass a wider type, e.g.
        ``dtype=np.int64``, to get a result that does not overflow.
    out : ndarray or CUDA array, optional
        Where to write the result: an array of exactly the result's shape
        and dtype, on the inputs' device, not overlapping them. Returned.

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
        ``method='fft'`` on CUDA arrays, or an ``out`` of the wrong shape or
        overlapping an input.
    TypeError
        Non-numeric input or ``dtype``; an ``out`` of the wrong dtype or kind.

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
    >>> res = np.empty(3)
    >>> nc.convolve([1.0, 2.0], [1.0, 1.0], out=res) is res
    True
    """
    return _nd("convolve", in1, in2, mode, method, dtype, out)


def correlate(in1: ArrayLike, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
              dtype: DTypeLike | None = None, out: Array | None = None) -> Array:
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
    out : ndarray or CUDA array, optional
        Where to write the result, as in :func:`convolve`.

    Returns
    -------
    ndarray or CUDA array
        The cross-correlation.

    Raises
    ------
    ValueError
        As :func:`convolve`.
    TypeError
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
    return _nd("correlate", in1, in2, mode, method, dtype, out)


@overload
def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str = ...,
                       measure: Literal[False] = ...) -> str: ...
@overload
def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str,
                       measure: Literal[True]) -> tuple[str, dict[str, float]]: ...
@overload
def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str = ..., *,
                       measure: Literal[True]) -> tuple[str, dict[str, float]]: ...
@overload
def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str = ...,
                       measure: bool = ...) -> str | tuple[str, dict[str, float]]: ...
def choose_conv_method(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
                       measure: bool = False) -> str | tuple[str, dict[str, float]]:
    """Pick the faster method for :func:`convolve` / :func:`correlate`, like scipy's.

    Without ``measure``, a cost model fitted to numbaconv's own direct
    kernel and its scipy.fft path (constants in :mod:`numbaconv.core.signal`)
    predicts both times. 'direct' is always chosen for bool inputs, for
    integer inputs whose exact result could exceed 2**52 (FFT rounding would
    change it), when an input holds NaN or inf (FFT would spread it over the
    whole output), and for CUDA arrays (numbaconv has no GPU FFT).

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

    Raises
    ------
    ValueError
        As :func:`convolve`, or ``measure=True`` with CUDA arrays.
    TypeError
        Non-numeric input, or ``measure`` not a bool.

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
    mode = sig.check_mode(mode)
    if not isinstance(measure, (bool, np.bool_)):
        raise TypeError(f"measure must be True or False, got {measure!r}")
    backend = _backend(in1, in2)
    rd = _result_dtype(in1, in2, None)
    cd = _compute_dtype(backend, rd)
    a = asarray(in1, "in1", backend, cd)
    b = asarray(in2, "in2", backend, cd)
    if a.ndim == b.ndim == 0:
        method = "direct"
    else:
        if a.ndim != b.ndim:
            raise ValueError("in1 and in2 should have the same dimensionality; got shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}")
        if a.size == 0 or b.size == 0:
            raise ValueError(f"in1 and in2 must not be empty; got shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
        spec = sig.direct_spec("convolve", a.shape, b.shape, mode, "constant", rd.char)
        method = _auto(backend, spec, a, b, rd)
    if not measure:
        return method
    if backend != CPU:
        raise ValueError("measure=True needs host arrays: numbaconv has no GPU FFT to time")
    times = {m: _best_time(lambda m=m: convolve(a, b, mode, m)) for m in ("fft", "direct")}
    return ("fft" if times["fft"] < times["direct"] else "direct"), times


def _best_time(fn, repeat: int = 3) -> float:
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ------------------------------------------------------------------ 2-D with boundaries


def _fillvalue(fillvalue, rd: np.dtype):
    """scipy's rules for ``fillvalue`` (and its messages); the value in the result dtype, or
    None for zero."""
    if type(fillvalue) in (int, float) and fillvalue == 0:
        return None  # the default, without NumPy
    try:
        fv = np.asarray(fillvalue)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`fillvalue` must be a number: {exc}") from None
    if fv.size == 0:
        raise ValueError(f"`fillvalue` cannot be an empty array; got {fillvalue!r}")
    if fv.size != 1:
        raise ValueError("`fillvalue` must be scalar or an array with one element; got "
                         f"{fillvalue!r}")
    if fv.dtype.kind not in "biufc":
        raise ValueError(f"`fillvalue` must be a number; got {fillvalue!r}")
    fv = fv.reshape(())
    if fv.dtype.kind == "c" and rd.kind != "c":
        if np.imag(fv) != 0:
            raise ValueError("could not cast `fillvalue` directly to the output type: "
                             f"{fillvalue!r} is complex and the result is {rd}")
        fv = np.real(fv)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = fv.astype(rd)[()]
    return None if value == 0 else value


def _fft_keeps_direct_semantics(backend, spec, rd, fill) -> bool:
    """The FFT path can keep convolve2d's direct semantics: floats only (integer results must
    stay exact), and a finite fill value; :func:`_fft_window` checks the input."""
    return (backend == CPU and spec.fft_faster and rd.kind in "fc"
            and (fill is None or bool(np.isfinite(fill))))


def _tiled_window(x, k, lo, boundary, cval, plan, target) -> bool:
    """``target`` = the 'valid' convolution with ``k`` of ``x`` extended by ``lo`` samples
    before each axis (and after, as far as ``plan``'s overlap-save tiles reach) through
    ``boundary`` (``cval`` for 'constant'), by the tiles of ``plan``
    (:func:`numbaconv.core.signal.tile_spec`); False when ``x`` holds a NaN or inf
    (``target`` perhaps partly written: the caller writes all of it another way). Real 2-D
    float32/float64 input reads the tiles straight from ``x``
    (:func:`numbaconv.cpu.signal.fft_window_2d`); any other builds the extended copy."""
    ops = _ops(CPU)
    ext = tuple((n0, e - n - n0) for n0, e, n in zip(lo, plan.s1, x.shape, strict=True))
    pp = padspec.pad_plan(x.shape, ext, boundary)
    if ops.packs_2d(x, k, target):
        return bool(ops.fft_window_2d(x, k, target, plan, pp, cval))
    if not _all_finite(x):
        return False
    cvals = padspec.resolve_constant_values(cval, x.ndim, x.dtype)
    xe = ops.workspace(pp.out_shape, x.dtype, "fft-extension")
    kernels("padding", CPU).pad(x, xe, pp.maps, pp.offsets, cvals, pp.lo_last)
    ops.fft_convolve(xe, k, target, plan)
    return True


def _window_plan(spec, xshape, kshape, rd):
    """The overlap-save tiles of :func:`_fft_window` for inputs of these shapes (a long 1-D
    convolution cut in :data:`numbaconv.core.signal.SPLIT_TILES` where the model keeps it
    whole, from ``FFT_TILES_FROM_1D`` samples)."""
    split = len(kshape) == 1 and xshape[0] + kshape[0] - 1 >= _ops(CPU).FFT_TILES_FROM_1D
    return sig.tile_spec(spec.out_shape, tuple(kshape), rd.kind == "c", split=split)


def _one_tile(spec, a, b, rd) -> bool:
    """Whether :func:`_fft_window`'s plan for ``a`` and ``b`` is one tile over every axis,
    which the whole-extent transforms of ``method='fft'`` compute for less (10,000 * 1,000
    float64 'same': 0.29 against 0.23 ms; Zen 4)."""
    x, w = (b, a) if spec.swap else (a, b)
    return all(count == 1 for _, _, count in _window_plan(spec, x.shape, w.shape, rd).tiles
               or ())


def _fft_window(spec, a, b, fill, rd, out, inputs):
    """The direct functions' result by FFT, or None when an input holds a NaN or inf (``out``
    perhaps partly written): a transform would spread it over its tile, so the caller runs
    the direct method, which keeps it local and writes all of ``out``. ``x`` is extended by
    the boundary and the mode's padding (zeros, the fill value, or mirrored/wrapped samples,
    through the padding index maps) to whole overlap-save tiles, then convolved ('valid')
    with the kernel (reversed and conjugated for a correlation). Real 2-D float32/float64 input reads the tiles straight
    from ``x`` and checks it on the way; any other builds the extended copy."""
    x, w = (b, a) if spec.swap else (a, b)
    if not _all_finite(w):
        return None
    k = w if spec.flip else w[(slice(None, None, -1),) * w.ndim]
    if spec.conj and k.dtype.kind == "c":
        k = np.conjugate(k)
    plan = _window_plan(spec, x.shape, k.shape, rd)
    cval = 0 if fill is None else fill
    dst = _dst(out, CPU, spec.out_shape, rd, inputs)
    target = np.empty(spec.out_shape, rd) if spec.undo else dst
    if not _tiled_window(x, k, tuple(lo for lo, _ in spec.pads), spec.boundary, cval, plan,
                         target):
        return None
    if spec.undo:
        tmp = target[(slice(None, None, -1),) * target.ndim]
        np.copyto(dst, np.conjugate(tmp) if spec.undo == "revconj" else tmp)
    return finish_out(out, dst)


def _two_d(op, in1, in2, mode, boundary, fillvalue, dtype, out):
    if out is None and dtype is None and type(fillvalue) is int and fillvalue == 0 \
            and _plain(in1, in2):
        key = (op, mode, boundary, in1.shape, in2.shape, in1.dtype, in2.dtype)
        seen = _SEEN.get(key)
        if seen is not None:  # the same call before: validated, resolved, direct
            return _seen_call(seen, in1, in2)
    else:
        key = None
    mode = sig.check_mode(mode)
    bmode = padspec.resolve_boundary(boundary)
    backend = _backend(in1, in2)
    rd = _result_dtype(in1, in2, dtype)
    inputs = {"in1": in1, "in2": in2} if out is not None else None
    cd = _compute_dtype(backend, rd)
    a = asarray(in1, "in1", backend, cd)
    b = asarray(in2, "in2", backend, cd)
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{op} inputs must both be 2-D arrays; got in1 with shape "
                         f"{tuple(a.shape)} and in2 with shape {tuple(b.shape)}")
    if a.size == 0 or b.size == 0:
        raise ValueError(f"in1 and in2 must not be empty; got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    fill = _fillvalue(fillvalue, rd) if bmode == "constant" else None
    if mode == "valid":
        bmode, fill = "constant", None  # the window never leaves the input
    spec = sig.direct_spec(op, a.shape, b.shape, mode, bmode, rd.char)
    if _fft_keeps_direct_semantics(backend, spec, rd, fill):
        res = _fft_window(spec, a, b, fill, rd, out, inputs)
        if res is not None:
            return res
    if key is not None and a is in1 and b is in2 and fill is None and not spec.fft_faster:
        _remember(key, spec, rd)
    return _run_direct(backend, spec, a, b, fill, rd, out, inputs)


def convolve2d(in1: ArrayLike, in2: ArrayLike, mode: str = "full", boundary: str = "fill",
               fillvalue: npt.ArrayLike = 0, *, dtype: DTypeLike | None = None,
               out: Array | None = None) -> Array:
    """Convolve two 2-D arrays with a boundary rule; the same as :func:`scipy.signal.convolve2d`.

    Small kernels run numbaconv's direct kernels, with the boundary applied
    inside the kernel (no padded copy). Large kernels on finite float input
    run an overlap-add FFT when the cost model predicts it faster; the
    result agrees with the direct sum to rounding.

    Parameters
    ----------
    in1, in2 : array_like or CUDA array
        2-D inputs. CUDA arrays are convolved on the GPU.
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`convolve` ('same' starts at ``(M - 1) // 2`` of 'full').
    boundary : {'fill', 'wrap', 'symm'}, optional
        How ``in1`` is extended: ``'fill'`` (alias ``'pad'``) with
        ``fillvalue``; ``'wrap'`` (alias ``'circular'``) periodically;
        ``'symm'`` (alias ``'symmetric'``) by mirroring with the edge repeated
        (numpy.pad's 'symmetric'). Extensions wider than the input keep
        wrapping or mirroring, as in scipy. Ignored in 'valid' mode.
    fillvalue : scalar, optional
        Value outside ``in1`` for ``boundary='fill'``, cast to the result
        dtype.
    dtype : dtype, optional
        Computation and result dtype, as in :func:`convolve` (default:
        NumPy's promotion of the inputs; bool inputs give bool).
    out : ndarray or CUDA array, optional
        Where to write the result, as in :func:`convolve`.

    Returns
    -------
    ndarray or CUDA array
        The 2-D convolution.

    Raises
    ------
    ValueError
        Inputs not 2-D or empty, unknown ``mode`` or ``boundary``, a
        ``fillvalue`` that is not one number (or complex for real inputs:
        scipy's "could not cast `fillvalue` directly to the output type"),
        'valid' mode without one input dominating the other, an ``out`` of
        the wrong shape or overlapping an input.
    TypeError
        Non-numeric input or ``dtype``; an ``out`` of the wrong dtype or kind.

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
    return _two_d("convolve2d", in1, in2, mode, boundary, fillvalue, dtype, out)


def correlate2d(in1: ArrayLike, in2: ArrayLike, mode: str = "full", boundary: str = "fill",
                fillvalue: npt.ArrayLike = 0, *, dtype: DTypeLike | None = None,
                out: Array | None = None) -> Array:
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
    out : ndarray or CUDA array, optional
        Where to write the result, as in :func:`convolve`.

    Returns
    -------
    ndarray or CUDA array
        The 2-D cross-correlation.

    Raises
    ------
    ValueError
        As :func:`convolve2d`.
    TypeError
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
    return _two_d("correlate2d", in1, in2, mode, boundary, fillvalue, dtype, out)


# ------------------------------------------------------------------ frequency domain


def _freq_result_dtype(d1: np.dtype, d2: np.dtype) -> np.dtype:
    """scipy.signal's FFT result dtype: integers and bools are transformed as float64,
    float16 as float32 (scipy.fft's rule), then NumPy's promotion."""
    def as_float(d):
        if d.kind in "biu":
            return np.dtype(np.float64)
        return np.dtype(np.float32) if d == np.float16 else d

    return np.result_type(as_float(d1), as_float(d2))


def _axes_key(axes, ndim: int):
    """``axes`` as a hashable tuple of ints (None stays None), with scipy.fft's messages."""
    if axes is None:
        return None
    return tuple(sig.axes_list(axes, ndim))


def _freq(name, in1, in2, mode, axes, out, overlap_add):
    backend = _backend(in1, in2)
    if backend != CPU:
        raise TypeError(f"{name} runs on the CPU (scipy.fft) and in1, in2 are CUDA arrays; "
                        "use numbaconv.convolve(in1, in2, mode, method='direct') on the GPU, or "
                        "copy them to the host first")
    try:
        a, b = np.asarray(in1), np.asarray(in2)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"in1 and in2 must be array-likes of numbers: {exc}") from None
    check_kind(a.dtype, "in1", "biufc")
    check_kind(b.dtype, "in2", "biufc")
    inputs = {"in1": in1, "in2": in2} if out is not None else None
    mode = sig.check_mode(mode, name)
    if a.ndim == b.ndim == 0:
        res = a * b
        if out is None:
            return res
        dst = _dst(out, CPU, (), res.dtype, inputs)
        dst[()] = res
        return finish_out(out, dst)
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality; got shapes "
                         f"{a.shape} and {b.shape}")
    if a.size == 0 or b.size == 0:  # scipy returns an empty float64 vector
        dst = _dst(out, CPU, (0,), np.float64, inputs)
        return finish_out(out, dst)
    if overlap_add and a.shape == b.shape:
        overlap_add = False  # equal shapes: one FFT, as scipy's oaconvolve does
    complex_ = a.dtype.kind == "c" or b.dtype.kind == "c"
    plan = sig.freq_spec(a.shape, b.shape, mode, _axes_key(axes, a.ndim), complex_, overlap_add)
    rd = np.result_type(a, b) if not plan.axes else _freq_result_dtype(a.dtype, b.dtype)
    dst = _dst(out, CPU, plan.out_shape, rd, inputs)
    x, k = (b, a) if plan.swap else (a, b)
    if not _freq_tiles(plan, x, k, rd, dst):
        _ops(CPU).fft_convolve(x, k, dst, plan)
    return finish_out(out, dst)


def _freq_tiles(plan, x, k, rd, dst) -> bool:
    """``fftconvolve``'s (or ``oaconvolve``'s) window by overlap-save tiles where they beat
    scipy's plan: every axis transformed, one dtype for all (float or complex), finite
    input, and :func:`numbaconv.core.signal.tile_spec` choosing more than one tile. scipy's
    one transform over the whole extent runs on one core and, past the caches, slowly; the
    tiles go through their transforms in groups, each on one core while in its caches
    (1e6 * 1001 float64 'same': 37 -> 8.5 ms; 1024x1024 * 31x31: 24 -> 7 ms; two Zen 4
    cores). The values agree with scipy's to rounding; an input holding a NaN or inf takes
    scipy's plan, which spreads it over the whole output as scipy does (the tiles would
    keep it to its own). False: not done."""
    ops = _ops(CPU)
    least = ops.FFT_TILES_FROM_1D if x.ndim == 1 else ops.FFT_TILES_FROM
    if (len(plan.axes) != x.ndim or x.dtype != rd or k.dtype != rd or rd.kind not in "fc"
            or x.size == 0 or k.size == 0 or math.prod(plan.full) < least):
        return False
    tiles = sig.tile_spec(plan.out_shape, k.shape, rd.kind == "c", split=True)
    if all(count == 1 for _, _, count in tiles.tiles or ()) or not _all_finite(k):
        return False
    lo = tuple(m - 1 - st for m, st in zip(k.shape, plan.start, strict=True))
    return _tiled_window(x, k, lo, "constant", 0, tiles, dst)


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
                axes: int | Sequence[int] | None = None, *,
                out: Array | None = None) -> Array:
    """Convolve two N-D arrays by FFT; the same result as :func:`scipy.signal.fftconvolve`.

    scipy.fft transforms both inputs over ``axes`` (zero-padded to a fast
    length), multiplies and transforms back, with ``workers`` set to the
    threads Numba uses (``numba.get_num_threads()``), so large transforms run
    on every core. A large convolution over every axis of finite float input
    (2**17 samples or more, a kernel short against the signal) is computed in
    overlap-save tiles instead, in groups on every core: the same
    values to rounding, several times faster than one transform of the whole
    extent. CPU only.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions. Along axes not in
        ``axes`` their lengths must be equal or 1 (broadcast).
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`convolve`, over ``axes``; in 'valid' mode one input must
        be at least as large as the other in every axis of ``axes``.
    axes : int or sequence of ints, optional
        Axes to convolve over (default: all). Axes where either input has
        length 1 need no transform: broadcasting multiplies them.
    out : ndarray, optional
        Where to write the result: exactly the result's shape and dtype, not
        overlapping the inputs. Returned.

    Returns
    -------
    ndarray
        The convolution, of scipy's dtype: float64 for integer and bool
        inputs, float32 for float32 (and float16), complex when either input
        is complex, long double for long double. Empty inputs give an empty
        float64 vector, as in scipy.

    Raises
    ------
    ValueError
        Inputs of different dimensionality, unknown ``mode``, bad ``axes``
        (scipy's messages: "axes exceeds dimensionality of input", "all axes
        must be unique", "when provided, axes cannot be empty", "axes must be
        a scalar or iterable of integers"), incompatible shapes off ``axes``,
        'valid' mode without one input dominating.
    TypeError
        CUDA arrays (there is no GPU FFT: use :func:`convolve` with
        ``method='direct'``), non-numeric input, or a bad ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> np.round(nc.fftconvolve([1, 2, 3], [1, 0.5]), 12)
    array([1. , 2.5, 4. , 1.5])
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> np.round(nc.fftconvolve(x, np.array([[1.0, -1.0]]), mode='valid', axes=1), 12)
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]])
    """
    return _freq("fftconvolve", in1, in2, mode, axes, out, False)


def oaconvolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full",
               axes: int | Sequence[int] | None = None, *,
               out: Array | None = None) -> Array:
    """Convolve two N-D arrays by overlap-add; the same result as :func:`scipy.signal.oaconvolve`.

    Along each axis where one input is much longer than the other, the
    longer one is cut into blocks of scipy's optimal length; every block is
    convolved by FFT (one batched scipy.fft call on the threads Numba uses)
    and the blocks' tails are added into their successors. Inputs of equal
    shape, or with no useful block length, take :func:`fftconvolve`'s single
    transform; a large convolution of finite float input takes
    :func:`fftconvolve`'s overlap-save tiles. CPU only.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions, as in :func:`fftconvolve`.
    mode : {'full', 'same', 'valid'}, optional
        As in :func:`fftconvolve`.
    axes : int or sequence of ints, optional
        Axes to convolve over (default: all).
    out : ndarray, optional
        Where to write the result, as in :func:`fftconvolve`.

    Returns
    -------
    ndarray
        The convolution, with :func:`fftconvolve`'s dtype rules.

    Raises
    ------
    ValueError
        As :func:`fftconvolve`.
    TypeError
        As :func:`fftconvolve`.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> sig = np.zeros(1000); sig[10] = 1.0
    >>> res = nc.oaconvolve(sig, np.arange(1.0, 6.0))
    >>> res.shape, np.round(res[10:15], 12)
    ((1004,), array([1., 2., 3., 4., 5.]))
    """
    return _freq("oaconvolve", in1, in2, mode, axes, out, True)
