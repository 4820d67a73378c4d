"""First-call cost: interpreter and import baselines, each family's first call, the whole API.

Every measurement runs in a fresh interpreter. A "cold" run points
``NUMBA_CACHE_DIR`` at a new, empty folder, so every kernel the call needs
compiles; the "warm" run is a second process on that same folder, so kernels load
from Numba's on-disk cache (``cache=True``), which is what users see from their
second run on. The warm run must compile nothing: :func:`measure` counts the files
each run adds to the cache folder, and a warm run that adds any is a cache miss.

Rows (``python -m numbaconv bench --startup``):

- ``python``, ``python + import numpy``: the floor every process pays;
- ``import numbaconv``: the import alone (it compiles nothing; numba's own import is part
  of it since the twenty-first session);
- ``import numba``: numba's own import (0.15-0.16 s on the 2-core development machines),
  inside ``import numbaconv``'s row;
- ``first <family>``: one representative call per public family (:data:`FIRST_CALLS`),
  each cold in its own empty cache;
- ``whole API``: every call of :data:`FIRST_CALLS` in one process (what a program that
  uses all of numbaconv pays on its first run);
- ``numbaconv.compile()``: only when numbaconv defines ``compile`` (a function that
  compiles or loads every kernel ahead of use); see :data:`COMPILE_HOOK`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

IMPORT = "import numbaconv"

_X4 = "x = np.ones((2, 3, 16, 16), np.float32)\n"
_W4 = "w = np.ones((4, 3, 3, 3), np.float32)\n"
_G4 = "g = np.ones((2, 4, 16, 16), np.float32)\n"
_GP = "g = np.ones((2, 3, 8, 8), np.float32)\n"

#: family -> code whose LAST line is the timed first call (the lines before it are setup;
#: ``np`` and ``nc`` are imported). One representative call per public family.
FIRST_CALLS = {
    "pad": _X4 + "nc.pad(x, 1)",
    "convolve": "nc.convolve(np.ones(1000), np.ones(5), method='direct')",
    "convolve2d": "nc.convolve2d(np.ones((32, 32)), np.ones((3, 3)), 'same', boundary='symm')",
    "conv2d": _X4 + _W4 + "nc.conv2d(x, w, padding=1)",
    "conv_transpose2d": _G4 + _W4 + "nc.conv_transpose2d(g, w, padding=1)",
    "grad.conv2d_input": _W4 + _G4 + "nc.grad.conv2d_input((2, 3, 16, 16), w, g, padding=1)",
    "grad.conv2d_weight": _X4 + _G4 + "nc.grad.conv2d_weight(x, (4, 3, 3, 3), g, padding=1)",
    "max_pool2d": _X4 + "nc.max_pool2d(x, 2)",
    "avg_pool2d": _X4 + "nc.avg_pool2d(x, 2)",
    "adaptive_avg_pool2d": _X4 + "nc.adaptive_avg_pool2d(x, 1)",
    "grad.max_pool2d_input": _X4 + _GP + "nc.grad.max_pool2d_input(g, x, 2)",
    "relu": "nc.relu(np.ones(1000, np.float32))",
    "softmax": "nc.softmax(np.ones((4, 10), np.float32))",
    "prelu": _X4 + "nc.prelu(x, np.full(3, 0.1, np.float32))",
}

#: the hook for an ahead-of-time ``numbaconv.compile()``: the row runs it, when present
COMPILE_HOOK = "nc.compile()"

_CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np
t1, c1 = time.perf_counter(), time.process_time()
import numbaconv as nc
t2, c2 = time.perf_counter(), time.process_time()
{setup}
t3, c3 = time.perf_counter(), time.process_time()
{call}
t4, c4 = time.perf_counter(), time.process_time()
print(json.dumps({{"numpy": t1 - t0, "numbaconv": t2 - t1, "call": t4 - t3, "cpu": c4 - c3,
                  "import_cpu": c2 - c1}}))
"""


def whole_api_code() -> str:
    """Every representative first call in one program (setup and call, in order)."""
    return "\n".join(FIRST_CALLS.values())


def _split(code: str) -> tuple[str, str]:
    setup, _, call = code.rpartition("\n")
    return setup, call


def _files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _env() -> dict:
    """The children's environment: this one, but writing and reading bytecode caches
    (``.pyc``) as an installed package has them: with ``PYTHONDONTWRITEBYTECODE`` set (as on
    the development machines) every child compiled numbaconv's sources again, 30-50 ms of
    ``import numbaconv`` and of a first call that a pip-installed numbaconv never pays."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _bytecode() -> None:
    """numbaconv's ``.pyc`` files written ahead (what ``pip install`` does); where the package
    folder is read-only, the children compile its sources as they import them."""
    import numbaconv

    folder = os.path.dirname(os.path.abspath(numbaconv.__file__))
    subprocess.run([sys.executable, "-m", "compileall", "-q", folder], env=_env(),
                   capture_output=True)


def _child(code: str, cache_dir: str | None, time_all: bool = False) -> dict:
    """Run ``code`` in a fresh interpreter: setup, then the timed last line (``time_all``:
    every line timed); its timings."""
    env = _env()
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    setup, call = ("", code) if time_all else _split(code) if code else ("", "pass")
    before = _files(cache_dir) if cache_dir else 0
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD.format(setup=setup, call=call)],
                         env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"startup child failed:\n{code}\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    res["files"] = (_files(cache_dir) - before) if cache_dir else 0
    return res


def _import_numba() -> float:
    """Seconds of ``import numba`` in a fresh interpreter that has imported numpy."""
    code = ("import time, numpy\nt = time.perf_counter()\nimport numba\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=_env())
    return float(out.stdout.strip().splitlines()[-1])


def _process_wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=_env())
    return time.perf_counter() - t0


def _has_compile() -> bool:
    import numbaconv

    return callable(getattr(numbaconv, "compile", None))


def measure(families=None, whole_api: bool = True, progress=None) -> dict[str, dict]:
    """Seconds per row, cold (empty Numba cache) and warm (a second process on that cache),
    every process with numbaconv's bytecode cached (:func:`_bytecode`), as installed.

    Returns ``{row: {"cold": s, "warm": s, "cpu_cold": s, "cpu_warm": s, "files_cold": n,
    "files_warm": n}}``; ``cpu_*`` is the process's CPU time for the call (compiling is
    single-threaded CPU work, so it reads the same on a busy machine, where wall time does
    not); ``files_*`` count the files that run added to the cache folder (``files_warm`` > 0:
    a cache miss). The ``python`` rows are whole-process wall times; ``import`` rows and
    first calls are timed inside the process.
    """
    say = progress or (lambda msg: None)
    rows: dict[str, dict] = {}
    _bytecode()
    say("python baselines")
    rows["python (process wall)"] = {"cold": _process_wall("pass"), "warm": _process_wall("pass")}
    rows["python + import numpy (process wall)"] = {
        "cold": _process_wall("import numpy"), "warm": _process_wall("import numpy")}
    todo = {f"first {name}": code for name, code in FIRST_CALLS.items()
            if families is None or name in families}
    if whole_api:
        todo["whole API, one call per family"] = whole_api_code()
        if _has_compile():
            todo["numbaconv.compile()"] = COMPILE_HOOK
    with tempfile.TemporaryDirectory(prefix="numbaconv-startup-") as root:
        say("import numbaconv")
        cache = tempfile.mkdtemp(dir=root)
        cold, warm = _child("", cache), _child("", cache)
        rows["import numpy (in process)"] = {"cold": cold["numpy"], "warm": warm["numpy"]}
        rows["import numbaconv (in process)"] = {"cold": cold["numbaconv"],
                                                 "warm": warm["numbaconv"],
                                                 "cpu_cold": cold["import_cpu"],
                                                 "cpu_warm": warm["import_cpu"],
                                                 "files_cold": cold["files"],
                                                 "files_warm": warm["files"]}
        rows["python + import numbaconv (process wall)"] = {"cold": cold["wall"],
                                                            "warm": warm["wall"]}
        # numba's own import, which ``import numbaconv`` includes (timed in a process that
        # imports only numpy first)
        numba = _import_numba()
        rows["import numba (in process, part of import numbaconv)"] = {
            "cold": numba, "warm": numba}
        for row, code in todo.items():
            say(row)
            cache = tempfile.mkdtemp(dir=root)  # a fresh, empty cache per cold run
            whole = not row.startswith("first ")  # time the whole program, setup included
            cold, warm = _child(code, cache, whole), _child(code, cache, whole)
            rows[row] = {"cold": cold["call"], "warm": warm["call"],
                         "cpu_cold": cold["cpu"], "cpu_warm": warm["cpu"],
                         "files_cold": cold["files"], "files_warm": warm["files"]}
    return rows


def table(rows: dict[str, dict], markdown: bool = False) -> str:
    """The rows as an aligned text table or Markdown."""
    head = ["what", "cold s", "cold CPU s", "warm s", "warm CPU s", "cache files cold",
            "warm (0 = no compile)"]
    body = []

    def opt(v, fmt):
        return "-" if v is None else format(v, fmt)

    for what, r in rows.items():
        body.append([what, f"{r['cold']:.3f}", opt(r.get("cpu_cold"), ".3f"), f"{r['warm']:.3f}",
                     opt(r.get("cpu_warm"), ".3f"), opt(r.get("files_cold"), "d"),
                     opt(r.get("files_warm"), "d")])
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                          *("| " + " | ".join(b) + " |" for b in body)])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in [head, *body])
