"""The ``overhead`` family: what one tiny call costs, per public family and per library.

``python -m numbaconv bench overhead`` times one tiny call of every public
family (rows in :data:`numbaconv.bench.overhead_calls.CALLS`: conv2d, max/avg
pooling, the conv and pooling gradients, relu, softmax, convolve, pad, plus one
mid-size conv2d) for numbaconv, PyTorch, scipy and NumPy, each library ALONE in
its own fresh interpreter: the worker loads ``overhead_calls.py`` by path and
imports only the library it times, so one library's thread pools, environment or
import side effects cannot touch another's numbers. Each figure is the best of
7 rounds of 300 calls (per call; a round of millisecond calls stops after about
0.25 s, at least 10 calls); processes are interleaved library by library and
repeated ``rounds`` times, keeping the best.

A second table checks that importing numbaconv does not slow PyTorch down: the
same torch calls (a tiny conv2d and an (8,64,28,28) 3x3 conv2d) in a process
that imports numbaconv before torch and in one that does not.

asv (``benchmarks/bench_overhead.py``) times the same rows in-process, every
library's callable built in the one process asv starts per benchmark; its
``timeraw_`` benchmarks give the import-order check.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from . import PEERS, Case
from . import overhead_calls as calls

#: libraries in column order
LIBRARIES = ("numbaconv", "torch", "scipy", "numpy")

_BOOT = """\
import importlib.util, json, sys
sys.path.insert(0, {root!r})
spec = importlib.util.spec_from_file_location("numbaconv_overhead_calls", {path!r})
calls = importlib.util.module_from_spec(spec)
spec.loader.exec_module(calls)
"""


def _boot() -> str:
    """Code that loads overhead_calls.py by path, with this numbaconv importable."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return _BOOT.format(root=root, path=os.path.abspath(calls.__file__))


def raw_call_source(name: str, library: str, number: int, first: tuple[str, ...] = (),
                   order: bool = False) -> tuple[str, str]:
    """(code, setup) for an asv ``timeraw_`` benchmark: ``number`` calls of one row in a fresh process."""
    table = "ORDER_CALLS" if order else "CALLS"
    setup = _boot() + "".join(f"import {m}\n" for m in first)
    setup += f"fn = calls.{table}[{name!r}][{library!r}]()\nfn(); fn(); fn()\n"
    return f"for _ in range({number}):\n    fn()", setup


def _case(name: str) -> Case:
    builders = calls.CALLS[name]

    def make():
        peers = {}
        for lib, build in builders.items():
            if lib != "numbaconv":
                try:
                    peers[lib] = build()
                except ImportError:
                    pass
        return builders["numbaconv"](), peers

    return Case("overhead", name, make, tags=("overhead",),
                peers=tuple(p for p in PEERS if p in builders))


#: the rows as ordinary cases (asv, or ``compare`` in one process)
CASES = [_case(name) for name in calls.CALLS]


#: environment variables that size the thread pools of numba, OpenMP (torch), BLAS
THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_worker(library: str, names, repeat: int = calls.REPEAT, number: int = calls.NUMBER,
               first: tuple[str, ...] = (), order: bool = False, threads: int | None = None,
               timeout: float = 900) -> dict:
    """Time ``library``'s calls of ``names`` in a fresh interpreter; see ``overhead_calls.time_calls``.

    ``threads``: start the worker with every library's thread pool at that size (the
    :data:`THREAD_VARS` in the worker's environment only); None leaves the defaults.
    """
    args = dict(library=library, names=list(names), repeat=repeat, number=number,
                first=list(first), order=order)
    code = _boot() + f"print(json.dumps(calls.time_calls(**json.loads({json.dumps(args)!r}))))\n"
    env = dict(os.environ)
    if threads is not None:
        env.update({var: str(threads) for var in THREAD_VARS})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"error": f"{library} worker failed: {' | '.join(tail)}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(names=None, libraries=LIBRARIES, repeat: int = calls.REPEAT,
            number: int = calls.NUMBER, rounds: int = 2, order: bool = True,
            threads: int | None = None, progress=None) -> dict:
    """Run the overhead table (and the torch import-order check) in fresh processes.

    Returns ``{"times": {row: {library: s}}, "processes": {library: info},
    "errors": {library: message}, "order": {row: {"alone": s, "after import numbaconv": s}},
    "order_processes": {...}}``; per-call seconds, best over ``rounds`` processes.
    ``threads``: see :func:`run_worker`.
    """
    names = list(calls.CALLS) if names is None else list(names)
    say = progress or (lambda msg: None)
    out: dict = {"times": {n: {} for n in names}, "processes": {}, "errors": {}, "order": {},
                 "order_processes": {}, "repeat": repeat, "number": number, "rounds": rounds,
                 "threads": threads}

    def keep(table, res):
        for row, t in res["times"].items():
            table.setdefault(row, {})
            best = table[row].get(lib, math.inf)
            table[row][lib] = min(best, t)

    for r in range(rounds):
        for lib in libraries:
            if lib in out["errors"]:
                continue
            say(f"round {r + 1}/{rounds}: {lib}")
            res = run_worker(lib, names, repeat, number, threads=threads)
            if "error" in res:
                out["errors"][lib] = res["error"]
                continue
            keep(out["times"], res)
            out["processes"][lib] = {k: res[k] for k in ("threads", "loaded")}
    if order and "torch" in libraries and "torch" not in out["errors"]:
        variants = {"alone": (), "after import numbaconv": ("numbaconv",)}
        rows = list(calls.ORDER_CALLS)
        for r in range(rounds):
            for label, first in variants.items():
                say(f"round {r + 1}/{rounds}: torch {label}")
                res = run_worker("torch", rows, repeat, number, first=first, order=True,
                                 threads=threads)
                if "error" in res:
                    out["errors"][f"torch {label}"] = res["error"]
                    continue
                for row, t in res["times"].items():
                    slot = out["order"].setdefault(row, {})
                    slot[label] = min(slot.get(label, math.inf), t)
                out["order_processes"][label] = {k: res[k] for k in ("threads", "loaded")}
    return out


def _us(seconds) -> str:
    return "-" if seconds is None or not math.isfinite(seconds) else f"{seconds * 1e6:.1f}"


def table(result: dict, markdown: bool = False) -> str:
    """The overhead tables as text (aligned columns) or Markdown."""
    libs = [lib for lib in LIBRARIES if any(lib in t for t in result["times"].values())]
    peers = [lib for lib in libs if lib != "numbaconv"]
    head = ["call", *(f"{lib} us" for lib in libs), *(f"{p}/numbaconv" for p in peers)]
    rows = []
    for name, t in result["times"].items():
        ours = t.get("numbaconv")
        ratios = [f"{t[p] / ours:.2f}x" if ours and p in t else "-" for p in peers]
        rows.append([name, *(_us(t.get(lib)) for lib in libs), *ratios])
    lines = [f"per-call microseconds, best of {result['repeat']} rounds of {result['number']} "
             f"calls (fewer for calls over {calls.ROUND_SECONDS / result['number'] * 1e6:.0f} us), "
             f"each library alone in its own process, best of {result['rounds']} processes"
             + (f", every thread pool set to {result['threads']} (environment of the workers)"
                if result.get("threads") else ", default thread pools")
             + "; peer/numbaconv > 1: numbaconv is faster"]
    if not result.get("threads"):
        lines.append("(on a busy machine a process whose thread-pool hand-offs wait for the "
                     "scheduler stays slow, milliseconds per call; --threads 1 gives each "
                     "call's own cost)")
    lines += _render(head, rows, markdown)
    for lib, info in result["processes"].items():
        threads = ", ".join(f"{k} {v}" for k, v in info["threads"].items()) or "-"
        lines.append(f"{'- ' if markdown else '  '}{lib} process: threads {threads}; "
                     f"loaded {', '.join(info['loaded']) or 'none of numbaconv/numba/torch/scipy/cv2'}")
    for lib, msg in result["errors"].items():
        lines.append(f"{'- ' if markdown else '  '}{lib}: {msg}")
    if result["order"]:
        lines += ["", "PyTorch's own speed with and without `import numbaconv` first "
                      "(same calls, separate processes); ratio near 1: no effect"]
        head = ["torch call", "torch alone us", "after import numbaconv us", "after/alone"]
        rows = []
        for name, t in result["order"].items():
            a, b = t.get("alone"), t.get("after import numbaconv")
            rows.append([name, _us(a), _us(b), f"{b / a:.2f}x" if a and b else "-"])
        lines += _render(head, rows, markdown)
        for label, info in result["order_processes"].items():
            threads = ", ".join(f"{k} {v}" for k, v in info["threads"].items())
            lines.append(f"{'- ' if markdown else '  '}torch {label}: threads {threads}; "
                         f"loaded {', '.join(info['loaded'])}")
    return "\n".join(lines)


def _render(head, rows, markdown: bool) -> list[str]:
    if markdown:
        return ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                *("| " + " | ".join(r) + " |" for r in rows), ""]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]

    def fmt(row):
        cells = zip(row, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))

    return [fmt(head), *(fmt(r) for r in rows)]
