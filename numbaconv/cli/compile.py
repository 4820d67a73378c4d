"""``python -m numbaconv compile``: fill Numba's on-disk cache ahead of time (container images,
CI runners, cluster workers)."""

from __future__ import annotations

import argparse

from ..precompile import CALLS, DTYPES, compile


def add_parser(sub) -> argparse.ArgumentParser:
    """``compile``'s arguments."""
    p = sub.add_parser("compile", help="compile kernels into the on-disk cache ahead of time",
                       description="Compile numbaconv's kernels into Numba's on-disk cache, on "
                       "all cores, so later processes start warm.")
    p.add_argument("families", nargs="*", metavar="family",
                   help=f"families to compile (default: all): {', '.join(CALLS)}")
    p.add_argument("--dtype", action="append", dest="dtypes", metavar="DTYPE",
                   help=f"a dtype to compile for, repeatable (default: float32 and float64); "
                   f"one of {', '.join(DTYPES)}")
    p.add_argument("--processes", type=int, default=None,
                   help="worker processes (default: every core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(args: argparse.Namespace) -> int:
    """Compile what ``args`` names and print the summary."""
    try:
        report = compile(args.families, args.dtypes, processes=args.processes,
                         progress=not args.quiet)
    except ValueError as exc:
        raise SystemExit(f"python -m numbaconv compile: {exc}") from None
    print(report)
    return 0
