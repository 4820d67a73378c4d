"""numbaconv.cpu.jit's on-disk cache: broken entries, foreign entries, concurrent writers.

Each test runs small kernels in fresh Python processes on a private NUMBA_CACHE_DIR and
asks Numba's dispatcher statistics whether a call was compiled or loaded from the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

KERNEL_MODULE = textwrap.dedent("""
    import numpy as np
    from numbaconv.cpu.jit import njit

    @njit
    def axpy(a, x, y):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = a * x[i] + y[i]
        return out
""")

#: calls axpy with the dtypes given on the command line; prints JSON: per dtype, the result's
#: first element and whether the call was compiled in this process (a cache miss)
RUNNER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import kmod
    start = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    while time.time() < start:  # concurrent runs start together
        time.sleep(0.001)
    report = {}
    for name in sys.argv[1].split(","):
        t = np.dtype(name).type
        x = np.arange(1, 4).astype(t)
        misses = sum(kmod.axpy.stats.cache_misses.values())
        r = kmod.axpy(t(2), x, x)
        report[name] = [float(r[0]), sum(kmod.axpy.stats.cache_misses.values()) - misses]
    print(json.dumps(report))
""")


def _run(tmp_path: Path, dtypes: str, start: float | None = None, wait: bool = True):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.getcwd()]))
    args = [sys.executable, str(tmp_path / "runner.py"), dtypes]
    if start is not None:
        args.append(repr(start))
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    return _result(proc) if wait else proc


def _result(proc) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "kmod.py").write_text(KERNEL_MODULE)
    (tmp_path / "runner.py").write_text(RUNNER)
    return tmp_path


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "cache").rglob("*") if p.suffix in (".nbi", ".nbc"))


def test_second_process_loads_from_cache(workdir):
    first = _run(workdir, "float64")
    assert first == {"float64": [3.0, 1]}  # 2*1 + 1, compiled once
    files = _cache_files(workdir)
    assert files
    assert _run(workdir, "float64") == {"float64": [3.0, 0]}  # loaded: no compilation
    assert _cache_files(workdir) == files


def test_broken_entries_are_recompiled_not_fatal(workdir):
    _run(workdir, "float64")
    for path in _cache_files(workdir):
        path.write_bytes(path.read_bytes()[:7])  # truncated index and data
    assert _run(workdir, "float64") == {"float64": [3.0, 1]}  # compiled again, right answer
    assert _run(workdir, "float64") == {"float64": [3.0, 0]}  # and cached again


def test_entry_for_another_signature_is_not_used(workdir):
    # what an interleaved concurrent write can leave: the index names the other signature's file
    _run(workdir, "float64,int64")
    data = [p for p in _cache_files(workdir) if p.suffix == ".nbc"]
    assert len(data) == 2
    a, b = data[0].read_bytes(), data[1].read_bytes()
    data[0].write_bytes(b)
    data[1].write_bytes(a)
    assert _run(workdir, "float64,int64") == {"float64": [3.0, 1], "int64": [3.0, 1]}


def test_concurrent_writers_keep_every_entry(workdir):
    import time

    dtypes = ["float64", "float32", "int64", "int32"]
    start = time.time() + 3.0  # all four compile different signatures at the same moment
    procs = [_run(workdir, d, start=start, wait=False) for d in dtypes]
    for proc, d in zip(procs, dtypes, strict=True):
        assert _result(proc) == {d: [3.0, 1]}
    # every signature survived in the index: a fifth process compiles nothing
    again = _run(workdir, ",".join(dtypes))
    assert again == {d: [3.0, 0] for d in dtypes}
    files = _cache_files(workdir)
    _run(workdir, ",".join(dtypes))
    assert _cache_files(workdir) == files


PAD_RUNNER = textwrap.dedent("""
    import numpy as np
    from numba.core import event
    compiled = []
    class Count(event.Listener):
        def on_start(self, ev):
            pass
        def on_end(self, ev):
            compiled.append(ev.data["dispatcher"].py_func.__module__)
    event.register("numba:compile", Count())
    import numbaconv as nc
    assert nc.__file__.startswith(%r), nc.__file__
    y = nc.pad(np.arange(4.0), 1, mode="reflect")
    assert y.tolist() == [1.0, 0.0, 1.0, 2.0, 3.0, 2.0]
    print(sum(m.startswith("numbaconv") for m in compiled))
""")


def test_entries_are_stale_when_a_helper_module_changes(tmp_path):
    # Numba stamps an entry with its own module only; a kernel compiled with a helper from
    # loops/ or scalar/ must not keep running the old helper after that file changes
    import shutil

    import numbaconv

    copy = tmp_path / "site"
    shutil.copytree(Path(numbaconv.__file__).parent, copy / "numbaconv",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "run.py").write_text(PAD_RUNNER % str(copy))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(copy))

    def compiled() -> int:
        res = subprocess.run([sys.executable, str(tmp_path / "run.py")], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        return int(res.stdout.strip().splitlines()[-1])

    assert compiled() >= 1
    assert compiled() == 0  # warm
    helper = copy / "numbaconv" / "loops" / "__init__.py"
    helper.write_text(helper.read_text() + "\n# an edit to a helper module\n")
    assert compiled() >= 1  # the pad kernel's entry is stale now
    assert compiled() == 0
