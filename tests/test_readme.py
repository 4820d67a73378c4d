"""The README's examples run as written, and every command it shows exists with its flags."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README


def _commands() -> list[list[str]]:
    """``python -m numbaconv ...`` lines of the README's shell blocks, comments dropped."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.search(r"python -m numbaconv(\s.*|$)", line)
            if m and not line.startswith("#"):
                found.append(shlex.split(m.group(1)))
    return found


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a) or "(none)")
def test_every_command_and_flag_exists(args):
    """Each command's ``--help`` lists every flag the README passes it (running them all
    would train networks and time benchmarks)."""
    words = [a for a in args if not a.startswith("-")]
    flags = [a.split("=")[0] for a in args if a.startswith("--")]
    sub = []
    for w in words:  # the subcommand path: 'demo', 'demo activations', 'bench conv', ...
        if w.endswith(".png") or w[0].isdigit():
            continue
        sub.append(w)
    proc = subprocess.run([sys.executable, "-m", "numbaconv", *sub[:2], "--help"],
                          capture_output=True, text=True)
    if proc.returncode != 0:  # a positional argument such as a family name: the parent's help
        proc = subprocess.run([sys.executable, "-m", "numbaconv", *sub[:1], "--help"],
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for flag in flags:
        assert flag in proc.stdout, f"README passes {flag} to {' '.join(sub)}"


def test_make_targets_named_in_the_readme_exist():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    named = set(re.findall(r"`make ([a-z][\w-]*)", README)) | set(
        re.findall(r"^make ([a-z][\w-]*)", README, re.M))
    assert named and named <= targets, named - targets
