"""The machine a benchmark ran on: one header for every report.

Every benchmark report (``python -m numbaconv bench`` text and Markdown, the
``overhead`` and ``--startup`` tables, asv's machine record, docs/benchmarks.md)
prints :func:`header`, so a number is never quoted without the CPU, the vector
instructions Numba actually compiles for, the thread counts and the versions.

The vector ISA is read twice: from the CPU's own flags (what the hardware has)
and from what LLVM targets for Numba (``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES``
when set, else the host CPU name and features llvmlite reports; ``NUMBA_ENABLE_AVX=0``
masks AVX), which is what numbaconv's kernels use. Nothing here changes a setting:
thread counts are read, never set.

``python -m numbaconv.bench.machine`` prints the header (``--markdown`` for a
Markdown block, ``--asv-cpu`` for the one-line CPU string ``make asv`` gives to
``asv machine --cpu``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from functools import lru_cache

#: distribution names per reported package (the first one installed wins)
_DISTRIBUTIONS = {
    "numbaconv": ("numbaconv",),
    "numba": ("numba",),
    "llvmlite": ("llvmlite",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "torch": ("torch",),
    "opencv": ("opencv-python-headless", "opencv-python", "opencv-contrib-python",
               "opencv-contrib-python-headless"),
}


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo, else ``lscpu``'s (Linux); {} elsewhere."""
    fields: dict[str, str] = {}
    for line in _read("/proc/cpuinfo").splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    if "model name" not in fields:
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "model name":
                fields["model name"] = value.strip()
            elif key == "flags":
                fields["flags"] = value.strip()
    return fields


def cpu_model() -> str:
    """The CPU's marketing name, e.g. ``'AMD EPYC 7B12'`` (platform's name as a fallback)."""
    info = _cpuinfo()
    name = info.get("model name") or info.get("cpu model") or ""
    if not name and sys.platform == "darwin":
        try:
            name = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            name = ""
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    detail = [f"family {info['cpu family']} model {info['model']}"] if "cpu family" in info else []
    return re.sub(r"\s+", " ", name) + (f" ({', '.join(detail)})" if detail else "")


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as the OS reports them (lower case; empty where unknown)."""
    info = _cpuinfo()
    return frozenset((info.get("flags") or info.get("features") or "").lower().split())


def llvm_target() -> tuple[str, frozenset[str]]:
    """(CPU name, enabled features) that LLVM compiles Numba kernels for in this process.

    Mirrors numba.core.codegen: ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when set,
    otherwise the host CPU as llvmlite detects it (with AVX masked when
    ``NUMBA_ENABLE_AVX=0``).
    """
    import llvmlite.binding as ll
    from numba.core import config
    from numba.core.codegen import get_host_cpu_features

    settings = vars(config)  # (numba.config sets these at run time, unseen by type checkers)
    name = settings["CPU_NAME"] or ll.get_host_cpu_name()
    features = settings["CPU_FEATURES"]
    if features is None:
        features = get_host_cpu_features()
    enabled = frozenset(f[1:].lower() for f in (features or "").split(",") if f.startswith("+"))
    return name, enabled


def isa(features) -> str:
    """The widest vector instruction sets in ``features`` (LLVM feature names or CPU flags).

    E.g. ``'AVX2 FMA'``, ``'AVX-512 (F BW VL VNNI) AMX'``, ``'NEON'``, ``'SSE2'``.
    """
    f = {x.lower() for x in features}
    words = []
    if f & {"avx512f"}:
        sub = [s.upper() for s in ("bw", "dq", "vl", "vnni", "bf16", "fp16")
               if f"avx512{s}" in f or f"avx512_{s}" in f]
        words.append("AVX-512" + (f" ({' '.join(['F', *sub])})" if sub else ""))
    if f & {"avx10.1", "avx10.1-512", "avx10.2"}:
        words.append("AVX10")
    if not words and "avx2" in f:
        words.append("AVX2")
    if "fma" in f:
        words.append("FMA")
    if f & {"amx-tile", "amx_tile"}:
        words.append("AMX")
    if not words:
        if "avx" in f:
            words.append("AVX")
        elif f & {"sse4.2", "sse4_2"}:
            words.append("SSE4.2")
        elif "sve" in f or "sve2" in f:
            words.append("SVE")
        elif f & {"neon", "asimd"}:
            words.append("NEON")
        elif f & {"sse2"}:
            words.append("SSE2")
    if (f & {"sve", "sve2"}) and "SVE" not in words:
        words.append("SVE")
    if not words and platform.machine().lower() in ("x86_64", "amd64") and not f - {"64bit"}:
        return "SSE2 (x86-64 baseline)"
    return " ".join(words) or "unknown ISA"


def versions() -> dict[str, str | None]:
    """Installed versions of numbaconv, its compiler stack and the peers (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name, dists in _DISTRIBUTIONS.items():
        out[name] = None
        for dist in dists:
            try:
                out[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    if out["opencv"] is None and "cv2" in sys.modules:  # e.g. a system OpenCV
        out["opencv"] = getattr(sys.modules["cv2"], "__version__", None)
    return out


def _git_commit() -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _numba_layer(numba, numba_config) -> str:
    """Numba's threading layer as tables name it: the configured choice and, once
    ``numba.get_num_threads()`` has started the pool, the layer it loaded ('default: omp')."""
    configured = vars(numba_config)["THREADING_LAYER"]  # (set at run time)
    try:
        loaded = numba.threading_layer()
    except ValueError:  # (the pool not started yet)
        return configured
    return loaded if loaded == configured else f"{configured}: {loaded}"


def threads(torch: bool | None = None) -> dict[str, object]:
    """Thread counts in this process, read without changing them.

    ``torch``: ask PyTorch for its intra-op thread count (True: import it if installed;
    None: only if already imported; False: never).
    """
    import numba
    from numba.core import config as numba_config

    out: dict[str, object] = {
        "cores": os.cpu_count(),
        "usable cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numba": numba.get_num_threads(),
        "numba layer": _numba_layer(numba, numba_config),
    }
    tp = sys.modules.get("threadpoolctl")
    if tp is None:
        try:
            tp = importlib.import_module("threadpoolctl")
        except ImportError:
            tp = None
    if tp is not None:
        blas = [f"{i.get('internal_api')} {i.get('num_threads')}"
                for i in tp.threadpool_info() if i.get("user_api") == "blas"]
        out["blas"] = ", ".join(dict.fromkeys(blas)) or None
    mod = sys.modules.get("torch")
    if mod is None and torch:
        try:
            mod = importlib.import_module("torch")
        except Exception:  # not installed, or a broken optional install
            mod = None
    if mod is not None and torch is not False:
        out["torch"] = mod.get_num_threads()
    return out


def machine_info(torch: bool | None = True) -> dict[str, object]:
    """Everything :func:`header` prints, as a dict (see :func:`threads` for ``torch``)."""
    name, features = llvm_target()
    hw = cpu_flags()
    return {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "ram_gib": _ram_gib(),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpu_isa": isa(hw) if hw else None,
        "llvm_cpu": name,
        "llvm_isa": isa(features),
        "numba_cpu_name_env": os.environ.get("NUMBA_CPU_NAME"),
        "threads": threads(torch),
        "versions": versions(),
        "commit": _git_commit(),
    }


def _ram_gib() -> float | None:
    m = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    return round(int(m.group(1)) / 2**20, 1) if m else None


def header(info: dict | None = None, markdown: bool = False, threads_note: str = "") -> str:
    """The machine header: CPU model, vector ISA (hardware and Numba's target), threads, versions.

    ``markdown=True`` gives a bullet list for docs; otherwise a few plain ``#``-prefixed lines.
    ``threads_note`` is appended to the threads line (e.g. where worker processes differ).
    """
    info = machine_info() if info is None else info
    t, v = info["threads"], info["versions"]
    ram = f", {info['ram_gib']} GiB" if info.get("ram_gib") else ""
    cpu = f"{info['cpu']}, {info['arch']}, {t['usable cores']} of {t['cores']} cores{ram}"
    if info.get("load") is not None:  # a busy machine makes thread hand-offs slow: say so
        cpu += f"; load average {info['load']:.1f} when read"
    target = f"{info['llvm_isa']} (LLVM targets {info['llvm_cpu']}"
    if info.get("numba_cpu_name_env"):
        target += f", NUMBA_CPU_NAME={info['numba_cpu_name_env']}"
    target += ")"
    if info.get("cpu_isa") and info["cpu_isa"] != info["llvm_isa"]:
        target += f"; the CPU reports {info['cpu_isa']}"
    thr = [f"numba {t['numba']} ({t['numba layer']} layer)"]
    if t.get("torch") is not None:
        thr.append(f"torch {t['torch']}")
    if t.get("blas"):
        thr.append(f"BLAS {t['blas']}")
    vers = ", ".join(f"{k} {val}" for k, val in v.items() if val is not None)
    missing = [k for k, val in v.items() if val is None]
    if missing:
        vers += f" (not installed: {', '.join(missing)})"
    if info.get("commit"):
        vers += f"; numbaconv commit {info['commit']}"
    lines = [("CPU", cpu), ("vector ISA", target),
             ("threads", ", ".join(thr) + (f"; {threads_note}" if threads_note else "")),
             ("versions", vers)]
    if markdown:
        return "\n".join(f"- **{k}**: {val}" for k, val in lines)
    return "\n".join(f"# {k + ':':<11} {val}" for k, val in lines)


def asv_cpu() -> str:
    """One line for asv's machine record (``asv machine --cpu``): model, ISA, Numba's target."""
    name, features = llvm_target()
    return f"{cpu_model()}; {isa(features)} (LLVM {name})"


def main(argv: list[str] | None = None) -> int:
    """``python -m numbaconv.bench.machine [--markdown | --asv-cpu]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m numbaconv.bench.machine",
                                     description="print the benchmark machine header")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--markdown", action="store_true", help="a Markdown bullet list")
    group.add_argument("--asv-cpu", action="store_true",
                       help="the one-line CPU string for `asv machine --cpu`")
    args = parser.parse_args(argv)
    print(asv_cpu() if args.asv_cpu else header(markdown=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
