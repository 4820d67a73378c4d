"""numbaconv.testing.gradcheck: passes on right gradients, fails (with its report) on wrong ones.

The functions checked here are written out in NumPy, so the checker is tested on its own;
numbaconv's layers are checked with it in their own test files.
"""

from __future__ import annotations

import numpy as np
import pytest

from numbaconv.testing import GradcheckError, gradcheck, numerical_vjp

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
X = RNG.standard_normal(4)


def test_numerical_vjp_of_a_linear_map_is_its_transpose():
    v = RNG.standard_normal(3)
    (g,) = numerical_vjp(lambda x: A @ x, [X], v)
    np.testing.assert_allclose(g, A.T @ v, rtol=1e-8)


def test_passes_on_a_right_gradient_with_two_inputs_and_a_label():
    y = np.array([2, 0])

    def f(w, x, labels):  # a labels argument (integers) is passed through, not checked
        z = np.tanh(w @ x)
        return z[labels]

    def vjp(g, w, x, labels):
        z = np.tanh(w @ x)
        full = np.zeros(3)
        np.add.at(full, labels, g)
        gz = full * (1 - z * z)
        return np.outer(gz, x), w.T @ gz

    assert gradcheck(f, [A, X, y], vjp)


def test_fails_with_the_worst_element_in_the_report():
    def vjp(g, x):
        out = 2 * x * g
        out[1, 2] += 0.5  # one wrong entry
        return out

    x = RNG.standard_normal((2, 3))
    g = np.ones((2, 3))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: x ** 2, [x], vjp, grad_output=g)
    report = info.value.report
    assert report.index == (1, 2) and report.input == 0 and report.name == "x"
    assert report.failures == 1 and report.checked == 6
    assert report.analytic == pytest.approx(2 * x[1, 2] + 0.5)
    assert report.numerical == pytest.approx(2 * x[1, 2], abs=1e-7)
    assert report.abs_error == pytest.approx(0.5, abs=1e-7)
    text = str(info.value)
    for word in ("input 0 (x)", "(1, 2)", "analytic", "numerical", "abs error", "rel error",
                 "1 of 6"):
        assert word in text
    assert not gradcheck(lambda x: x ** 2, [x], vjp, grad_output=g, raise_exception=False)


def test_a_missing_factor_fails():
    # the classic bug: the derivative without the chain rule's inner factor
    x = np.linspace(-1, 1, 7)
    with pytest.raises(AssertionError, match="gradient check failed"):
        gradcheck(lambda x: np.sin(3 * x), [x], lambda g, x: g * np.cos(3 * x))
    assert gradcheck(lambda x: np.sin(3 * x), [x], lambda g, x: g * 3 * np.cos(3 * x))


def test_a_wrong_second_input_is_named():
    with pytest.raises(GradcheckError, match=r"input 1 \(b\)"):
        gradcheck(lambda a, b: a * b, [X, X + 1], lambda g, a, b: (g * b, g * b))


def test_elements_subset_and_wrt():
    big = RNG.standard_normal(500)
    calls = []

    def f(x, s):
        calls.append(1)
        return s * x ** 3

    assert gradcheck(f, [big, 2.0], lambda g, x, s: g * 6 * x ** 2, wrt=[0], elements=10)
    assert len(calls) <= 1 + 2 * 10  # one forward for the shape, two per checked element


def test_inputs_modified_by_the_function_are_reported():
    def f(x):
        x += 1
        return x

    with pytest.raises(GradcheckError, match="modified input 0"):
        gradcheck(f, [X.copy()], lambda g, x: g)


def test_bad_vjp_results_are_reported():
    with pytest.raises(GradcheckError, match="returned 1 gradients for 2"):
        gradcheck(lambda a, b: a + b, [X, X], lambda g, a, b: (g,))
    with pytest.raises(GradcheckError, match="has shape"):
        gradcheck(lambda a: a * 2, [X], lambda g, a: g[:2])
    with pytest.raises(ValueError, match="floating-point"):
        gradcheck(lambda a: a, [np.arange(3)], lambda g, a: g)


def test_forward_difference_with_a_tiny_step_is_wrong():
    # the course notes' lesson: (f(x + h) - f(x)) / h with h = 1e-15 is rounding noise;
    # gradcheck's central difference with eps = 1e-6 is right to ~1e-10
    x = 0.7
    h = 1e-15
    forward = (np.tanh(x + h) - np.tanh(x)) / h
    exact = 1 - np.tanh(x) ** 2
    assert abs(forward - exact) > 1e-2  # 5% off: the first digit of the slope is shaky
    (central,) = numerical_vjp(np.tanh, [np.array([x])], np.ones(1))
    assert abs(central[0] - exact) < 1e-9
