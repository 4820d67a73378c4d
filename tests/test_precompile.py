"""numbaconv.compile and ``python -m numbaconv compile``: arguments, report, command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import numbaconv
from numbaconv import precompile


def test_unknown_family_lists_the_accepted_names():
    with pytest.raises(ValueError, match="unknown family 'convolution'; accepted: padding, "
                                         "signal, conv, pooling, activations, "
                                         "normalization"):
        numbaconv.compile("convolution")


def test_unknown_dtype_lists_the_accepted_names():
    with pytest.raises(ValueError, match="unknown dtype 'float16'; accepted: float32, float64"):
        numbaconv.compile("padding", "float16")
    with pytest.raises(ValueError, match="unknown dtype 'half-precision'"):
        numbaconv.compile("padding", ["float32", "half-precision"])


def test_tasks_cover_every_family_and_skip_dtypes_a_family_does_not_compute_in():
    families, dtypes = precompile._check(None, ("float32", "int64"))
    tasks = precompile._tasks(families, dtypes)
    assert {f for f, _, _ in tasks} == set(precompile.CALLS)
    assert {(f, d) for f, d, _ in tasks if d == "int64"} == {("padding", "int64"),
                                                               ("signal", "int64")}


def test_workers_take_each_family_and_dtype_whole_the_costliest_first():
    tasks = precompile._tasks(*precompile._check(None, ("float32", "float64", "int64")))
    groups = precompile._groups(tasks)
    assert sorted(t for g in groups for t in g) == sorted(tasks)  # each call once
    assert all(len({t[:2] for t in g}) == 1 for g in groups)  # one family and dtype each
    assert len(groups) == len({t[:2] for t in tasks})
    assert [g[0][0] for g in groups[:2]] == ["conv", "conv"]
    assert groups[-1][0][0] == "padding"


def test_compile_in_process_reports_calls_and_cache():
    # a fresh process: the padding kernel is then compiled or loaded by this call, not before
    code = ("import json, numbaconv\n"
            "r = numbaconv.compile('padding', 'float64', processes=1, progress=False)\n"
            "print(json.dumps([r.calls, r.compiled, r.loaded, r.cache_dirs, r.cache_bytes,"
            " str(r)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    calls, compiled, loaded, dirs, size, text = json.loads(out.strip().splitlines()[-1])
    assert calls == len(precompile.CALLS["padding"]())
    assert compiled + loaded >= 1  # the padding kernel, compiled or loaded
    assert dirs and size > 0
    assert "calls" in text and "MiB" in text


def test_command_line_help_and_bad_input():
    run = [sys.executable, "-m", "numbaconv", "compile"]
    help_text = subprocess.run(run + ["--help"], capture_output=True, text=True, check=True).stdout
    for flag in ("--dtype", "--processes", "--quiet", "family"):
        assert flag in help_text
    bad = subprocess.run(run + ["nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown family 'nope'" in bad.stderr
