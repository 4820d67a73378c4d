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
import platform

import numpy as np

from numbaconv.bench import compare

FAMILIES = ("padding", "signal", "conv", "pooling", "activations")


def load_cases(families, name_filter: str = ""):
    """All cases of the requested families (default: all), filtered by name."""
    cases = []
    for fam in families or FAMILIES:
        if fam not in FAMILIES:
            raise SystemExit(f"unknown family {fam!r}; choose from {', '.join(FAMILIES)}")
        try:
            module = importlib.import_module(f"numbaconv.bench.{fam}")
        except ImportError:
            continue
        cases += [c for c in module.CASES if name_filter in c.name]
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
    import numba

    cases = load_cases(families, name_filter)
    stamp = datetime.date.today().isoformat()
    print(f"numbaconv bench, {stamp}, {platform.machine()} {platform.processor() or ''}, "
          f"{numba.config.NUMBA_NUM_THREADS} numba threads, device={device}, best of {repeat}")
    rows = []
    iterator = tqdm(cases, unit="case", leave=False) if tqdm else cases
    for case in iterator:
        if tqdm:
            iterator.set_description(case.name[:40])
        try:
            res = compare(case, repeat=repeat, device=device)
        except NotImplementedError as exc:
            print(f"skipped {case.name}: {exc}")
            continue
        for peer, t in res["peers"].items():
            rows.append((case, peer, res["ours"], t))
        if not res["peers"]:
            rows.append((case, "-", res["ours"], float("nan")))
    sep = "|" if markdown else " "
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


def startup() -> int:
    """Print the cold import and first-call times, cold and warm Numba cache."""
    from numbaconv.bench.startup import measure

    print("first-call cost, each in a fresh interpreter (cold: empty Numba cache; warm: "
          "kernels loaded from the on-disk cache)")
    print(f"{'what':<22} {'cold s':>8} {'warm s':>8}")
    for what, t in measure().items():
        print(f"{what:<22} {t['cold']:>8.3f} {t['warm']:>8.3f}")
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
    bench.add_argument("families", nargs="*", help="families to run (default: all)")
    bench.add_argument("--repeat", type=int, default=5, help="best of N interleaved rounds")
    bench.add_argument("--filter", default="", help="only cases whose name contains this")
    bench.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bench.add_argument("--plot", metavar="FILE.png", help="bar chart of the speedups")
    bench.add_argument("--markdown", action="store_true", help="print Markdown tables")
    bench.add_argument("--startup", action="store_true",
                       help="instead: cold import and first-call times, cold and warm cache")
    return bench


def main(args: argparse.Namespace) -> int:
    """Run the benchmarks ``args`` asks for."""
    if args.startup:
        return startup()
    return run(families=args.families, repeat=args.repeat, name_filter=args.filter,
               device=args.device, plot=args.plot, markdown=args.markdown)
