"""The architecture, checked: literal public names, a backend-free core, no import circles,
and no process-wide side effects of ``import numbaconv``.

The import graph is read from the source (every ``import`` statement, including those
inside functions), so a circle hidden by a function-level import is still a circle.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numbaconv
import numbaconv.grad

PKG = Path(numbaconv.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """numbaconv modules imported anywhere in ``path`` (top level or inside functions)."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("numbaconv")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("numbaconv"):
                continue
            found.add(target)
            for a in node.names:  # ``from . import grad`` imports the module numbaconv.grad
                if (PKG.parent / Path(*(target + "." + a.name).split("."))).with_suffix(".py").exists():
                    found.add(target + "." + a.name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    return {m: {t for t in _imports(p) if t in modules and t != m} for m, p in modules.items()}


def _cycle(graph):
    """One import circle as a list of modules, or None (packages importing their own
    submodules, ``numbaconv`` -> ``numbaconv.api.x``, are not circles of code)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if m.startswith(t + "."):  # a module importing its parent package: not a circle
                continue
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_circles():
    assert _cycle(_graph()) is None


def test_core_knows_no_backend():
    graph = _graph()
    # numbaconv.typing: the public type aliases, importing nothing of numbaconv
    allowed = ("numbaconv.core", "numbaconv.shapes", "numbaconv.typing")
    for mod, targets in graph.items():
        if mod.startswith("numbaconv.core"):
            bad = {t for t in targets if not t.startswith(allowed)}
            assert not bad, f"{mod} imports {bad}: core/ must not know the backends or the API"


def test_graph_sees_function_level_imports(tmp_path):
    # the checker itself can fail: a function-level import is an edge of the graph
    imports = _imports(PKG / "core" / "dispatch.py")
    assert imports <= {"numbaconv.core"} | {m for m in imports if m.startswith("numbaconv.core")}
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_top_level_all_is_the_families_union():
    import importlib

    from numbaconv.api import FAMILIES

    names = {"grad", "shapes", "typing", "conv_output_size", "conv_transpose_output_size",
             "pool_output_size", "same_padding"}
    grads = set()
    for family in FAMILIES:
        module = importlib.import_module(f"numbaconv.api.{family}")
        names |= set(module.__all__)
        grads |= set(getattr(module, "__grad_all__", ()))
    assert set(numbaconv.__all__) == names
    assert len(numbaconv.__all__) == len(set(numbaconv.__all__))
    assert set(numbaconv.grad.__all__) == grads
    for name in numbaconv.__all__:
        assert getattr(numbaconv, name) is not None
    for name in numbaconv.grad.__all__:
        assert callable(getattr(numbaconv.grad, name))


def test_public_names_are_literal():
    # grep, editors and type checkers find every name: __all__ is a literal list, and every
    # name in it is bound by an import statement or a def in the module itself
    for path in (PKG / "__init__.py", PKG / "grad.py"):
        tree = ast.parse(path.read_text())
        bound = set()
        literal = None
        for node in tree.body:
            if isinstance(node, ast.ImportFrom | ast.Import):
                bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.FunctionDef):
                bound.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                if isinstance(target, ast.Name) and target.id == "__all__":
                    literal = ast.literal_eval(node.value)
        assert literal is not None, f"{path.name}: __all__ must be a literal list"
        assert set(literal) <= bound, f"{path.name}: {set(literal) - bound} not bound literally"


def test_import_and_calls_leave_process_settings_alone():
    # run in a fresh process: the environment and Numba's configuration as they were, after
    # the import and after calls that load BLAS pinning (threadpoolctl's import sets
    # KMP_DUPLICATE_LIB_OK), the thread pools and the kernels
    code = (
        "import json, os, numba, numpy as np\n"
        "before = (dict(os.environ), numba.config.THREADING_LAYER)\n"
        "import numbaconv as nc\n"
        "from numbaconv.cpu import threads\n"
        "threads.can_pin_blas()\n"
        "x = np.ones((2, 3, 8, 8), np.float32)\n"
        "y = nc.conv2d(x, np.ones((4, 3, 3, 3), np.float32))\n"
        "nc.max_pool2d(nc.relu(y), 2)\n"
        "after = (dict(os.environ), numba.config.THREADING_LAYER)\n"
        "changed = sorted(k for k in set(after[0]) | set(before[0])\n"
        "                 if after[0].get(k) != before[0].get(k))\n"
        "print(json.dumps([before == after, changed]))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    same, changed = json.loads(res.stdout.strip().splitlines()[-1])
    assert same, f"numbaconv changed the environment or Numba's config: {changed}"


def _names_used(path: Path) -> set[str]:
    """Dotted names a script refers to (``nc.conv2d`` with ``import numbaconv as nc`` is
    ``numbaconv.conv2d``), through its top-level imports' aliases."""
    tree = ast.parse(path.read_text())
    aliases = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                local = a.asname or a.name.split(".")[0]
                aliases[local] = a.name if a.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    used = set()
    for node in ast.walk(tree):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in aliases:
            used.add(".".join([aliases[node.id], *reversed(parts)]))
    return {p for name in used for p in _prefixes(name)}


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def test_typing_script_uses_every_public_name():
    # tests/typing/public_api.py, which pyright checks with the package (make typecheck),
    # calls every public name: a new name without a typed call there fails here
    import importlib
    import importlib.util

    used = _names_used(Path(__file__).parent / "typing" / "public_api.py")
    modules = ["numbaconv", "numbaconv.grad", "numbaconv.testing", "numbaconv.typing"]
    if importlib.util.find_spec("dask") is not None:
        modules.append("numbaconv.dask")
    expected = {"numbaconv.compile"}
    for name in modules:
        expected |= {f"{name}.{n}" for n in importlib.import_module(name).__all__}
    assert not expected - used, f"tests/typing/public_api.py does not use {sorted(expected - used)}"


def _parallel_kernels_without_prange(root: Path) -> list[str]:
    """``njit(parallel=True)`` kernels whose body has no ``prange`` loop: Numba compiles
    them through its parallel pipeline for nothing and warns (NumbaPerformanceWarning) on
    the user's first call."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            parallel = any(
                isinstance(d, ast.Call) and any(
                    k.arg == "parallel" and isinstance(k.value, ast.Constant) and k.value.value
                    for k in d.keywords)
                for d in node.decorator_list)
            loops = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                        and n.func.id == "prange" for n in ast.walk(node))
            if parallel and not loops:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
    return found


def test_parallel_kernels_have_a_prange_loop(tmp_path):
    assert _parallel_kernels_without_prange(Path(numbaconv.__file__).parent) == []
    # the check itself sees a parallel kernel without one
    (tmp_path / "k.py").write_text("@njit(cache=True, parallel=True)\ndef k(x):\n"
                                   "    for i in range(3):\n        x[i] = 0\n")
    assert _parallel_kernels_without_prange(tmp_path) == [f"{tmp_path.name}/k.py:2 k"]
