"""``python -m numbaconv bench``: numbaconv beside each installed peer, in one process.

Cases come from :mod:`numbaconv.bench` (the same definitions asv runs). Each
case is timed interleaved, best of N, so machine noise hits every contender
alike; the report gives ratios, which survive noise better than absolute times.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import math
import pkgutil

import numpy as np

import numbaconv.bench
from numbaconv.bench import compare
from numbaconv.bench.machine import header, machine_info

#: families in report order; any other module of numbaconv.bench that defines CASES
#: (a new family) is found by :func:`families` and runs after these
FAMILIES = ("padding", "signal", "conv", "sweep", "pooling", "activations")
#: families that run only when named (long, or need optional extras)
OPT_IN = ("dask",)
#: modules of numbaconv.bench that hold no cases, or whose cases need a runner of their own
_NOT_CASES = {"machine", "startup", "fit_signal_cost", "overhead", "overhead_calls"}


def families() -> tuple[str, ...]:
    """Every case family: :data:`FAMILIES`, then the other case modules of numbaconv.bench."""
    found = sorted(m.name for m in pkgutil.iter_modules(numbaconv.bench.__path__)
                   if not m.name.startswith("_") and m.name not in _NOT_CASES)
    return (*FAMILIES, *(f for f in found if f not in FAMILIES))


def load_cases(fams, name_filter: str = ""):
    """All cases of the requested families (default: all), filtered by name."""
    cases = []
    known = families()
    for fam in fams or [f for f in known if f not in OPT_IN]:
        if fam not in known:
            raise SystemExit(f"unknown family {fam!r}; choose from {', '.join(known)}, overhead")
        try:
            module = importlib.import_module(f"numbaconv.bench.{fam}")
        except ImportError:
            continue
        cases += [c for c in getattr(module, "CASES", ()) if name_filter in c.name]
    return cases


def _rate(case, seconds: float) -> str:
    if case.flops:
        return f"{case.flops / seconds / 1e9:7.1f} GFLOP/s"
    if case.nbytes:
        return f"{case.nbytes / seconds / 1e9:7.1f} GB/s"
    return ""


def geomean(values) -> float:
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def run(families=(), repeat: int = 5, name_filter: str = "", device: str = "cpu",
        plot: str | None = None, markdown: bool = False) -> int:
    """Run the side-by-side benchmark and print one table per family."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    cases = load_cases(families, name_filter)
    if device == "cuda":  # only the cases that have a GPU variant
        cases = [c for c in cases if c.make_cuda is not None]
    stamp = datetime.date.today().isoformat()
    print(f"numbaconv bench, {stamp}, device={device}, best of {repeat} interleaved rounds")
    rows = []
    bar = tqdm(cases, unit="case", leave=False) if tqdm else None
    try:
        for case in cases if bar is None else bar:
            if bar is not None:
                bar.set_description(case.name[:40])
            try:
                res = compare(case, repeat=repeat, device=device)
            except NotImplementedError as exc:
                print(f"skipped {case.name}: {exc}")
                continue
            for peer, t in res["peers"].items():
                rows.append((case, peer, res["ours"], t))
            if not res["peers"]:
                rows.append((case, "-", res["ours"], float("nan")))
    except KeyboardInterrupt:  # Ctrl-C (or `timeout -s INT`): the tables of what has run
        if bar is not None:
            bar.close()
        done = len(dict.fromkeys(r[0].name for r in rows))
        print(f"interrupted: the tables hold the {done} of {len(cases)} cases that ran")
    sep = "|" if markdown else " "
    # read after the runs, so the thread counts are the ones the cases ran with
    print(header(machine_info(), markdown=markdown))
    if device == "cuda":
        from numbaconv.bench import gpu_info

        print(gpu_info())
    for fam in dict.fromkeys(c.family for c, *_ in rows):
        fam_rows = [r for r in rows if r[0].family == fam]
        print()
        head = ["case", "peer", "numbaconv ms", "peer ms", "speedup", "numbaconv rate"]
        if markdown:
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * len(head))
        else:
            print(f"== {fam} ==")
            print(f"{head[0]:<52} {head[1]:<8} {head[2]:>13} {head[3]:>10} {head[4]:>8}  {head[5]}")
        for case, peer, ours, theirs in fam_rows:
            cells = [case.name, peer, f"{ours * 1e3:.3f}", f"{theirs * 1e3:.3f}",
                     f"{theirs / ours:.2f}x", _rate(case, ours).strip()]
            if markdown:
                print("| " + " | ".join(cells) + " |")
            else:
                print(f"{cells[0]:<52} {cells[1]:<8} {cells[2]:>13} {cells[3]:>10} {cells[4]:>8}  {cells[5]}")
        for peer in dict.fromkeys(p for _, p, *_ in fam_rows if p != "-"):
            g = geomean([t / o for _, p, o, t in fam_rows if p == peer])
            line = f"geometric-mean speedup over {peer}: {g:.2f}x"
            print(f"{sep} {line}" if markdown else line)
    if plot and rows:
        _plot(rows, plot, device)
        print(f"saved {plot}")
    return 0


def overhead(repeat: int | None = None, name_filter: str = "", markdown: bool = False,
             rounds: int = 2, threads: int | None = None) -> int:
    """Print the overhead tables: tiny calls, each library alone in its own process."""
    import sys

    from numbaconv.bench import overhead as oh

    names = [n for n in oh.calls.CALLS if name_filter in n]
    stamp = datetime.date.today().isoformat()
    print(f"numbaconv bench overhead, {stamp}", flush=True)
    result = oh.measure(names, repeat=repeat or oh.calls.REPEAT, rounds=rounds, threads=threads,
                        progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    note = ("this process; each worker's own counts are listed under the table"
            + (f" (every pool started at {threads})" if threads else ""))
    print(header(machine_info(), markdown=markdown, threads_note=note))
    print()
    print(oh.table(result, markdown=markdown))
    return 0


def startup(markdown: bool = False) -> int:
    """Print the first-call table: baselines, each family cold and warm, the whole API."""
    import sys

    from numbaconv.bench.startup import measure, table

    stamp = datetime.date.today().isoformat()
    print(f"numbaconv bench --startup, {stamp}: each row a fresh interpreter; cold: a new, "
          "empty NUMBA_CACHE_DIR, warm: a second process on that cache; cache files: files "
          "each run added (a warm run that adds any compiled something)", flush=True)
    rows = measure(progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    print(header(machine_info(), markdown=markdown))
    print()
    print(table(rows, markdown=markdown))
    return 0


def _plot(rows, path: str, device: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{c.name} vs {p}" for c, p, _, _ in rows]
    speedups = [t / o for _, _, o, t in rows]
    fig, ax = plt.subplots(figsize=(9, max(3, 0.28 * len(rows))))
    ax.barh(range(len(rows)), speedups, color=["tab:green" if s >= 1 else "tab:red" for s in speedups])
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speedup of numbaconv over the peer (log scale; > 1 is faster)")
    ax.set_title(f"numbaconv bench ({device})")
    fig.savefig(path, dpi=120, bbox_inches="tight")


def add_parser(sub) -> argparse.ArgumentParser:
    """``bench``'s arguments."""
    bench = sub.add_parser("bench", help="numbaconv against installed peers, side by side")
    bench.add_argument("families", nargs="*",
                       help="families to run: padding, signal, conv, pooling, activations, "
                            "overhead, ... (default: all but dask)")
    bench.add_argument("--repeat", type=int, default=None,
                       help="best of N interleaved rounds (default 5; overhead: 7 rounds "
                            "of 300 calls)")
    bench.add_argument("--filter", default="", help="only cases whose name contains this")
    bench.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bench.add_argument("--plot", metavar="FILE.png", help="bar chart of the speedups")
    bench.add_argument("--markdown", action="store_true", help="print Markdown tables")
    bench.add_argument("--rounds", type=int, default=2,
                       help="overhead: fresh processes per library, best kept (default 2)")
    bench.add_argument("--threads", type=int, default=None,
                       help="overhead: start each worker with every thread pool at this size "
                            "(NUMBA_NUM_THREADS, OMP_NUM_THREADS, ...; default: as they are)")
    bench.add_argument("--startup", action="store_true",
                       help="instead: import and first-call times per family and for the "
                            "whole API, cold and warm Numba cache")
    return bench


def main(args: argparse.Namespace) -> int:
    """Run the benchmarks ``args`` asks for."""
    if args.startup:
        return startup(markdown=args.markdown)
    # "overhead" has its own runner (one process per library); a plain ``bench`` runs it last
    fams = [f for f in args.families if f != "overhead"]
    want_overhead = "overhead" in args.families or (not args.families and args.device == "cpu")
    rc = 0
    if fams or not args.families:
        rc = run(families=fams, repeat=args.repeat or 5, name_filter=args.filter,
                 device=args.device, plot=args.plot, markdown=args.markdown)
    if want_overhead:
        print()
        rc = rc or overhead(repeat=args.repeat, name_filter=args.filter, markdown=args.markdown,
                            rounds=args.rounds, threads=args.threads)
    return rc
