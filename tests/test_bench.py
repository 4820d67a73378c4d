"""The benchmark infrastructure: machine header, the overhead runner, asv parameter grids.

No timing assertions here: performance is measured by ``python -m numbaconv bench``
and asv, never by timed tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import subprocess
import sys

import pytest

from numbaconv.bench import Case, asv_suite, suite_impls
from numbaconv.bench import overhead as oh
from numbaconv.bench.machine import header, isa, machine_info

ISA_WORDS = ("AMX", "AVX-512", "AVX10", "AVX2", "AVX", "SSE4.2", "SSE2", "NEON", "SVE")


def _proc_model_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def test_header_names_the_cpu_model_and_an_isa():
    text = header(machine_info(torch=False))
    model = _proc_model_name()
    if model:
        assert " ".join(model.split()) in text
    isa_line = next(line for line in text.splitlines() if "vector ISA" in line)
    assert any(word in isa_line for word in ISA_WORDS), isa_line
    assert "numba" in text and "numpy" in text


@pytest.mark.parametrize("features, words, absent", [
    ({"avx", "avx2", "fma", "sse4.2"}, ["AVX2", "FMA"], ["AVX-512", "AMX"]),
    ({"avx2", "fma", "avx512f", "avx512bw", "avx512vl"}, ["AVX-512", "BW", "VL", "FMA"], ["AVX2"]),
    ({"avx2", "avx512f", "amx-tile", "amx-bf16"}, ["AVX-512", "AMX"], []),
    ({"neon"}, ["NEON"], ["AVX"]),
])
def test_isa_names_the_widest_vector_extension(features, words, absent):
    got = isa(features)
    assert all(w in got for w in words), got
    assert not any(w in got.split() for w in absent), got


def test_header_reports_numba_cpu_name_override():
    # NUMBA_CPU_NAME=generic compiles for the baseline ISA whatever the host has
    env = dict(os.environ, NUMBA_CPU_NAME="generic")
    out = subprocess.run([sys.executable, "-c", "from numbaconv.bench.machine import header, "
                          "machine_info; print(header(machine_info(torch=False)))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    isa_line = next(line for line in out.splitlines() if "vector ISA" in line)
    assert "generic" in isa_line and "AVX" not in isa_line.split("(")[0]


def test_overhead_worker_times_numbaconv_in_its_own_process():
    res = oh.run_worker("numbaconv", ["relu 16 f32"], repeat=2, number=5)
    assert "error" not in res, res
    t = res["times"]["relu 16 f32"]
    assert math.isfinite(t) and t > 0
    assert "numbaconv" in res["loaded"] and "torch" not in res["loaded"]


def test_overhead_worker_for_a_peer_never_imports_numbaconv():
    res = oh.run_worker("numpy", ["relu 16 f32", "conv2d (1,1,4,4)x(1,1,3,3)"], repeat=1,
                        number=2)
    assert set(res["times"]) == {"relu 16 f32"}  # numpy has no conv2d row
    assert not {"numbaconv", "numba", "torch"} & set(res["loaded"])


def _make_dict_literal():
    return (lambda: 0), {"scipy": lambda: 1, "numpy": lambda: 2}


def _make_assigned():
    peers = {}
    peers["torch"] = lambda: 1
    return (lambda: 0), peers


def _make_none():
    return (lambda: 0), {}


@pytest.mark.parametrize("make", [_make_dict_literal, _make_assigned, _make_none])
def test_peer_names_match_what_make_returns(make):
    case = Case("t", "t", make)
    assert set(case.peer_names()) == set(make()[1])


def test_asv_grid_holds_only_peers_the_cases_define():
    suite = asv_suite([Case("t", "a", _make_assigned), Case("t", "b", _make_none)], "T")
    assert suite.params[1] == ["numbaconv", "torch"]
    assert suite_impls([Case("t", "c", _make_none)]) == ["numbaconv"]


def test_overhead_cases_declare_the_peers_make_builds():
    for case in oh.CASES:
        _, peers = case.make()
        declared = set(case.peer_names())
        assert set(peers) <= declared, case.name
        for missing in declared - set(peers):  # only a peer that is not installed may be absent
            assert importlib.util.find_spec(missing) is None, (case.name, missing)


@pytest.mark.parametrize("module", ["bench_padding", "bench_signal", "bench_conv",
                                    "bench_pooling", "bench_activations", "bench_overhead"])
def test_asv_suites_grid_is_numbaconv_and_the_cases_peers(module):
    mod = importlib.import_module(f"benchmarks.{module}")
    suites = [v for v in vars(mod).values() if isinstance(v, type) and hasattr(v, "params")]
    assert suites
    for suite in suites:
        impls = suite.params[1]
        assert impls[0] == "numbaconv" and len(set(impls)) == len(impls)
        defined = {p for c in mod.CASES for p in c.peer_names()}
        assert set(impls[1:]) <= defined, (suite.__name__, impls)
    if module == "bench_pooling":  # pooling is compared with PyTorch only
        assert suites[0].params[1] == ["numbaconv", "torch"]


def _case(name, make_cuda=None, interrupt=False):
    def make():
        if interrupt:
            raise KeyboardInterrupt
        return (lambda: sum(range(10))), {"numpy": lambda: sum(range(20))}

    return Case("t", name, make, make_cuda=make_cuda)


def test_an_interrupted_run_prints_the_cases_that_ran(monkeypatch, capsys):
    from numbaconv.cli import bench as cli

    cases = [_case("first"), _case("second", interrupt=True), _case("third")]
    monkeypatch.setattr(cli, "load_cases", lambda fams, name_filter="": cases)
    assert cli.run(repeat=1) == 0
    out = capsys.readouterr().out
    assert "interrupted: the tables hold the 1 of 3 cases that ran" in out
    assert "first" in out and "third" not in out


def test_a_cuda_run_times_only_the_cases_with_a_gpu_variant(monkeypatch, capsys):
    from numbaconv.cli import bench as cli

    gpu = _case("with a gpu variant", make_cuda=lambda: ((lambda: 1), {}))
    cases = [_case("cpu only"), gpu]
    monkeypatch.setattr(cli, "load_cases", lambda fams, name_filter="": cases)
    assert cli.run(repeat=1, device="cuda") == 0
    out = capsys.readouterr().out
    assert "with a gpu variant" in out and "cpu only" not in out
    assert "# GPU: " in out  # the GPU line, or why there is none
