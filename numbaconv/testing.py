"""Testing helpers: check a gradient against central finite differences, as numbaconv's tests do.

:func:`gradcheck` is numbaconv's ``torch.autograd.gradcheck``: give it a function, its inputs
and the function computing its vector-Jacobian product (a gradient, a ``*_backward`` VJP, or
``grad_output * derivative`` for an elementwise activation), and it compares the VJP with
central differences in float64, element by element, and says which element is wrong and by
how much. Use it to check your own layers built from numbaconv calls.

How the check works: with a fixed random ``grad_output`` ``v`` (the cotangent), the scalar
``L(x) = sum(v * f(x))`` has gradient ``vjp(v, x)``; each element of it is compared with
``(L(x + eps e_i) - L(x - eps e_i)) / (2 eps)``. A wrong Jacobian entry changes that sum for
almost every ``v``, so one random ``v`` finds it; the cost is two calls of ``f`` per checked
element. Central differences have error ``O(eps**2)`` from the curvature plus ``O(u / eps)``
from rounding (``u`` = 1.1e-16 in float64): ``eps = 1e-6`` balances the two at about 1e-10
relative. A one-sided difference with a tiny step (``(f(x + 1e-15) - f(x)) / 1e-15``) is
dominated by rounding and can be wrong in the first digit.

Keep the checked points away from kinks (``relu`` at 0, ties in a max-pool window): there
the function has no derivative and finite differences straddle two slopes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .typing import ArrayLike

__all__ = ["gradcheck", "numerical_vjp", "GradcheckError", "GradcheckReport"]


@dataclass(frozen=True)
class GradcheckReport:
    """The worst element of one checked input."""

    input: int               #: position of the input in ``inputs``
    name: str                #: its parameter name in ``f``'s signature, when known
    index: tuple[int, ...]   #: the element
    analytic: float          #: the VJP's value there
    numerical: float         #: the central difference there
    abs_error: float         #: ``|analytic - numerical|``
    rel_error: float         #: ``abs_error / max(|numerical|, tiny)``
    failures: int            #: elements of this input outside the tolerance
    checked: int             #: elements of this input checked
    eps: float
    atol: float
    rtol: float

    def __str__(self) -> str:
        return (f"input {self.input} ({self.name}), element {self.index}:\n"
                f"  analytic  {self.analytic:+.10e}\n"
                f"  numerical {self.numerical:+.10e}\n"
                f"  abs error {self.abs_error:.3e}, rel error {self.rel_error:.3e} "
                f"(allowed: atol {self.atol:g} + rtol {self.rtol:g} * |numerical|)\n"
                f"  {self.failures} of {self.checked} checked elements of this input are outside "
                f"the tolerance (central differences in float64, eps={self.eps:g})")


class GradcheckError(AssertionError):
    """A gradient disagrees with finite differences; ``report`` is the worst element."""

    def __init__(self, message: str, report: GradcheckReport | None = None):
        super().__init__(message)
        self.report = report


def _host(a) -> np.ndarray:
    """A result as a float64 host array (CUDA arrays are copied back)."""
    if hasattr(a, "copy_to_host"):
        a = a.copy_to_host()
    return np.asarray(a, dtype=np.float64)


def _as_inputs(inputs) -> list:
    if isinstance(inputs, np.ndarray) or np.isscalar(inputs):
        inputs = (inputs,)
    out = []
    for a in inputs:
        if isinstance(a, np.ndarray | list | tuple | float | np.floating) and \
                np.asarray(a).dtype.kind == "f":
            out.append(np.array(a, dtype=np.float64))  # a float64 copy we may perturb
        else:
            out.append(a)
    return out


def _names(f, count: int) -> list[str]:
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"input {i}" for i in range(count)]


def _loss(f, args, v) -> float:
    return float(np.vdot(v, _host(f(*args))))


def numerical_vjp(f: Callable, inputs: Sequence[Any] | npt.ArrayLike, grad_output: ArrayLike,
                  wrt: Sequence[int] | None = None, eps: float = 1e-6,
                  elements: dict | None = None) -> list[np.ndarray]:
    """The VJP of ``f`` by central differences in float64: one array per input in ``wrt``.

    Parameters
    ----------
    f : callable
        ``f(*inputs)`` returning an array.
    inputs : sequence
        The arguments of ``f``; floating arrays are perturbed in float64 copies.
    grad_output : array_like
        The cotangent ``v``, of ``f``'s output shape.
    wrt : sequence of int, optional
        The inputs to differentiate (default: every floating input).
    eps : float, optional
        The step.
    elements : dict, optional
        ``{input position: flat indices}`` to evaluate only those elements (the others are
        NaN).

    Returns
    -------
    list of ndarray
        ``d sum(v * f) / d input`` for each input in ``wrt``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbaconv.testing import numerical_vjp
    >>> numerical_vjp(lambda x: x ** 2, [np.array([1.0, 3.0])], np.ones(2))[0].round(6)
    array([2., 6.])
    """
    args = _as_inputs(inputs)
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    v = np.asarray(grad_output, dtype=np.float64)
    grads = []
    for k in wrt:
        a = args[k]
        flat = a.reshape(-1)
        g = np.full(a.shape, np.nan) if elements and k in elements else np.zeros(a.shape)
        gflat = g.reshape(-1)
        idx = elements[k] if elements and k in elements else range(flat.size)
        for i in idx:
            orig = flat[i]
            flat[i] = orig + eps
            up = _loss(f, args, v)
            flat[i] = orig - eps
            down = _loss(f, args, v)
            flat[i] = orig
            gflat[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(f: Callable, inputs: Sequence[Any] | npt.ArrayLike, vjp: Callable, *,
              wrt: Sequence[int] | None = None, grad_output: ArrayLike | None = None,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              elements: int | None = None, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check an analytic vector-Jacobian product against central differences in float64.

    Parameters
    ----------
    f : callable
        ``f(*inputs)``, returning one array (NumPy or CUDA).
    inputs : array or sequence
        ``f``'s positional arguments. Floating arrays are copied to float64 (so numbaconv
        computes in float64); other arguments (integer labels, shapes) pass through
        unchanged and are not differentiated.
    vjp : callable
        ``vjp(grad_output, *inputs)`` returning the gradient of ``sum(grad_output * f(*inputs))``
        with respect to each input in ``wrt``: a sequence in ``wrt`` order, or one array when
        one input is checked. For an elementwise activation with derivative ``df`` that is
        ``lambda g, x: g * df(x)``.
    wrt : sequence of int, optional
        Positions of the inputs to check (default: every floating array input).
    grad_output : array_like, optional
        The cotangent (default: standard normal of ``f``'s output shape, from ``seed``).
    eps : float, optional
        Finite-difference step (default 1e-6; see the module notes).
    atol, rtol : float, optional
        An element passes when ``|analytic - numerical| <= atol + rtol * |numerical|``.
    elements : int, optional
        Check at most this many elements per input, chosen at random (default: all; each
        costs two calls of ``f``).
    seed : int, optional
        Seeds ``grad_output`` and the choice of ``elements``.
    raise_exception : bool, optional
        Raise :class:`GradcheckError` on failure (default) or return False.

    Returns
    -------
    bool
        True when every checked element passes (False on failure with
        ``raise_exception=False``).

    Raises
    ------
    GradcheckError
        (an ``AssertionError``) naming the input and element with the largest excess error,
        its analytic and numerical values, absolute and relative error, and how many elements
        failed; also when ``vjp`` returns the wrong number or shapes of gradients, or when
        ``f`` or ``vjp`` modify an input.

    Examples
    --------
    >>> import numpy as np
    >>> import numbaconv as nc
    >>> from numbaconv import grad
    >>> from numbaconv.testing import gradcheck
    >>> x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    >>> w = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
    >>> gradcheck(lambda x, w: nc.conv2d(x, w), [x, w],
    ...           lambda g, x, w: (grad.conv2d_input(x.shape, w, g),
    ...                            grad.conv2d_weight(x, w.shape, g)))
    True
    >>> gradcheck(nc.tanh, [np.linspace(-2, 2, 5)], lambda g, x: g * nc.tanh_derivative(x))
    True
    >>> gradcheck(nc.tanh, [np.linspace(-2, 2, 5)], lambda g, x: g * nc.sigmoid_derivative(x))
    Traceback (most recent call last):
    numbaconv.testing.GradcheckError: gradient check failed: input 0 (x), element (2,):
      analytic  +1.6010566261e-01
      numerical +6.4042265044e-01
      abs error 4.803e-01, rel error 7.500e-01 (allowed: atol 1e-05 + rtol 0.001 * |numerical|)
      5 of 5 checked elements of this input are outside the tolerance (central differences in float64, eps=1e-06)
    """
    args = _as_inputs(inputs)
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    wrt = [int(k) for k in wrt]
    if not wrt:
        raise ValueError("gradcheck needs at least one floating-point input to differentiate")
    for k in wrt:
        if not (0 <= k < len(args)) or not isinstance(args[k], np.ndarray) \
                or args[k].dtype.kind != "f":
            raise ValueError(f"wrt[{k}] must name a floating-point array input; inputs has "
                             f"{len(args)} arguments")
    names = _names(f, len(args))
    saved = [a.copy() if isinstance(a, np.ndarray) else None for a in args]

    def unchanged(what):
        for i, (a, s) in enumerate(zip(args, saved, strict=True)):
            if s is not None and not np.array_equal(a, s, equal_nan=True):
                raise GradcheckError(f"{what} modified input {i} ({names[i]}): numbaconv "
                                     "functions must not write to their inputs")

    y = _host(f(*args))
    unchanged("f")
    rng = np.random.default_rng(seed)
    v = (rng.standard_normal(y.shape) if grad_output is None
         else np.asarray(_host(grad_output), dtype=np.float64))
    if v.shape != y.shape:
        raise ValueError(f"grad_output must have f's output shape {y.shape}, got {v.shape}")
    analytic = vjp(v.copy(), *args)
    unchanged("vjp")
    if len(wrt) == 1 and not isinstance(analytic, tuple | list):
        analytic = [analytic]
    analytic = [None if a is None else _host(a) for a in analytic]
    if len(analytic) != len(wrt):
        raise GradcheckError(f"vjp returned {len(analytic)} gradients for {len(wrt)} checked "
                             f"inputs {wrt}")
    chosen = {}
    for k in wrt:
        if elements is not None and args[k].size > elements:
            chosen[k] = np.sort(rng.choice(args[k].size, size=elements, replace=False))
    numerical = numerical_vjp(f, args, v, wrt, eps, chosen)
    worst = None
    for pos, (k, a, n) in enumerate(zip(wrt, analytic, numerical, strict=True)):
        if a is None or a.shape != args[k].shape:
            got = None if a is None else a.shape
            raise GradcheckError(f"vjp's gradient {pos} (input {k}, {names[k]}) has shape {got}; "
                                 f"the input has shape {args[k].shape}")
        idx = chosen.get(k, np.arange(a.size))
        af, nf = a.reshape(-1)[idx], n.reshape(-1)[idx]
        err = np.abs(af - nf)
        excess = err - (atol + rtol * np.abs(nf))
        excess = np.where(np.isnan(excess), np.inf, excess)  # NaN on one side only: a failure
        both_nan = np.isnan(af) & np.isnan(nf)
        excess[both_nan] = -np.inf
        j = int(np.argmax(excess))
        report = GradcheckReport(
            k, names[k], tuple(int(i) for i in np.unravel_index(int(idx[j]), a.shape)),
            float(af[j]), float(nf[j]), float(err[j]),
            float(err[j] / max(abs(float(nf[j])), np.finfo(np.float64).tiny)),
            int(np.count_nonzero(excess > 0)), int(idx.size), eps, atol, rtol)
        if report.failures and (worst is None or excess[j] > worst[0]):
            worst = (excess[j], report)
    if worst is None:
        return True
    if raise_exception:
        raise GradcheckError(f"gradient check failed: {worst[1]}", worst[1])
    return False
