"""``python -m numbaconv <command>``: the main job, benchmarks and the rest, one module each.

Each subcommand lives in ``numbaconv.cli.<command>``, which defines ``add_parser(sub)``
(its arguments) and ``main(args)`` (what it does).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommands, each a module of numbaconv.cli with add_parser(sub) and main(args)
COMMANDS = ("demo", "bench", "compile")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a subcommand."""
    parser = argparse.ArgumentParser(prog="python -m numbaconv",
                                     description="numbaconv on the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {name: importlib.import_module(f"numbaconv.cli.{name}") for name in COMMANDS}
    for module in modules.values():
        module.add_parser(sub)
    args = parser.parse_args(argv)
    return modules[args.command].main(args)


if __name__ == "__main__":
    sys.exit(main())
