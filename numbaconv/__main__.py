"""``python -m numbaconv demo | bench``: the main job and the side-by-side benchmark."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a subcommand."""
    parser = argparse.ArgumentParser(prog="python -m numbaconv", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a small CNN with numbaconv alone, or run the edge demo")
    demo.add_argument("which", nargs="?", choices=("cnn", "edges"), default="cnn",
                      help="cnn: train on scikit-learn's digits (default); edges: Sobel filtering")
    demo.add_argument("--seed", type=int, default=0, help="random seed (training is deterministic)")
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (cnn)")
    demo.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    demo.add_argument("--plot", metavar="FILE.png", help="save filters and learning curves (cnn)")
    demo.add_argument("--size", type=int, default=1024, help="image side (edges)")

    bench = sub.add_parser("bench", help="numbaconv against installed peers, side by side")
    bench.add_argument("families", nargs="*", help="families to run (default: all)")
    bench.add_argument("--repeat", type=int, default=5, help="best of N interleaved rounds")
    bench.add_argument("--filter", default="", help="only cases whose name contains this")
    bench.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    bench.add_argument("--plot", metavar="FILE.png", help="bar chart of the speedups")
    bench.add_argument("--markdown", action="store_true", help="print Markdown tables")
    bench.add_argument("--startup", action="store_true",
                       help="instead: cold import and first-call times, cold and warm cache")

    args = parser.parse_args(argv)
    if args.command == "demo":
        from .cli import demo as demo_mod

        if args.which == "edges":
            return demo_mod.edges(size=args.size, device=args.device)
        return demo_mod.cnn(seed=args.seed, epochs=args.epochs, device=args.device, plot=args.plot)
    from .cli import bench as bench_mod

    if args.startup:
        return bench_mod.startup()
    return bench_mod.run(families=args.families, repeat=args.repeat, name_filter=args.filter,
                         device=args.device, plot=args.plot, markdown=args.markdown)


if __name__ == "__main__":
    sys.exit(main())
