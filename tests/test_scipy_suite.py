"""scipy.signal's own convolution tests, run with numbaconv's functions swapped into scipy.

The drop-in contract, checked by the tests scipy wrote for its own functions
(results, dtypes and the error messages they check): ``TestConvolve``,
``TestCorrelate`` (with ``TestCorrelateReal`` and ``TestCorrelateComplex``),
``TestConvolve2d``, ``TestCorrelate2d``, ``TestFFTConvolve``, ``TestOAConvolve``
and ``TestAllFreqConvolves`` from scipy's installed
``scipy/signal/tests/test_signaltools.py``.

They run in a child pytest process rooted in scipy's package, so scipy's
``conftest.py`` supplies its ``xp`` fixture and markers; a small plugin
replaces ``scipy.signal``'s functions, and the names the test module imported
from it, by numbaconv's for the whole run. Tests scipy marks ``slow`` (9,730
parametrisations of one overlap-add length sweep) are left out here; run them
with ``NUMBACONV_SCIPY_SLOW=1``. Skipped, with the reason, when scipy does not
ship its tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: scipy.signal's names that numbaconv replaces
SWAPPED = ("convolve", "correlate", "convolve2d", "correlate2d", "choose_conv_method",
           "fftconvolve", "oaconvolve")
#: scipy's test classes of those functions
CLASSES = ("TestConvolve", "TestCorrelate", "TestCorrelateReal", "TestCorrelateComplex",
           "TestConvolve2d", "TestCorrelate2d", "TestFFTConvolve", "TestOAConvolve",
           "TestAllFreqConvolves")

# The child's entry point: swap the functions in once scipy's test module is imported.
_CHILD = r"""
import sys
import pytest
import numbaconv
import scipy.signal

assert numbaconv.__file__.startswith(sys.argv[1]), numbaconv.__file__
NAMES = sys.argv[2].split(",")

class Swap:
    def pytest_collection_finish(self, session):
        tests = sys.modules["scipy.signal.tests.test_signaltools"]
        for name in NAMES:
            ours = getattr(numbaconv, name)
            setattr(scipy.signal, name, ours)
            setattr(tests, name, ours)
        print("numbaconv swapped in:", ", ".join(NAMES))

sys.exit(pytest.main(sys.argv[3:], plugins=[Swap()]))
"""


def _scipy_tests() -> Path | None:
    import scipy

    path = Path(scipy.__file__).parent / "signal" / "tests" / "test_signaltools.py"
    return path if path.exists() else None


def test_scipy_signal_convolution_suite_passes_with_numbaconv(tmp_path):
    tests = _scipy_tests()
    if tests is None:
        pytest.skip("scipy was installed without its tests (scipy/signal/tests/"
                    "test_signaltools.py is missing): install a scipy wheel that ships them")
    scipy_root = tests.parents[2]
    args = [f"{tests}::{c}" for c in CLASSES]
    args += ["-q", "-p", "no:cacheprovider", "-o", "addopts=", f"--rootdir={scipy_root}",
             "-W", "ignore::DeprecationWarning", "--tb=short"]
    if not os.environ.get("NUMBACONV_SCIPY_SLOW"):
        args += ["-m", "not slow"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop("PYTEST_XDIST_WORKER", None)
    # run from an empty folder: the child must not import ``signal`` from scipy's tree
    res = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), ",".join(SWAPPED), *args],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    tail = (res.stdout + res.stderr)[-6000:]
    assert "numbaconv swapped in" in res.stdout, tail
    summary = re.findall(r"(\d+) (passed|failed|error)", res.stdout.splitlines()[-1])
    counts = {kind: int(n) for n, kind in summary}
    assert res.returncode == 0 and counts.get("passed", 0) >= 1300, tail
    assert not counts.get("failed") and not counts.get("error"), tail
