"""Every kernel of the public API hits Numba's on-disk cache from the second process on.

These tests compile the whole API from an empty cache directory, so they run in their own
``make test-cache`` step, one process at a time (the timing of the suite's xdist workers
would otherwise decide which process compiles what). The calls are
:data:`numbaconv.precompile.CALLS`: one representative call per kernel path of every public
family (every activation with its derivative, fused form and VJP; every conv strategy in
both layouts; pooling, padding, signal, batch_norm) in every dtype the API computes in.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import numbaconv

ROOT = Path(numbaconv.__file__).resolve().parent

#: runs numbaconv.compile in this process (one worker process per core) and prints its report
REPORT = ("import json, sys, numbaconv\n"
          "fam = sys.argv[1].split(',') if sys.argv[1] else None\n"
          "dt = sys.argv[2].split(',')\n"
          "r = numbaconv.compile(fam, dt, processes=int(sys.argv[3]), progress=False)\n"
          "print(json.dumps(dict(calls=r.calls, compiled=r.compiled, loaded=r.loaded,"
          " dirs=r.cache_dirs, file=numbaconv.__file__)))\n")


#: runs the course notes' training steps and batch-1 inference (numbaconv.bench.cnn's cases)
#: and calls of other shapes and arguments than compile()'s own on the paths a numba:compile
#: listener over the CPU suite once found uncompiled after it (pooling windows with indices
#: and gradients, GELU's tanh form, PReLU's VJP, grouped, strided and dilated layers in both
#: layouts, 1-D and 3-D layers, 3-D and complex64 signals), and prints the numbaconv kernels
#: they compiled, less the demo's own dense-layer helper (numbaconv.cli.nets' two GEMMs on
#: Numba's threads: not a public function's)
STEPS = ("import json, numpy as np\n"
         "from numba.core import event\n"
         "from numbaconv.bench import cnn\n"
         "seen = []\n"
         "class L(event.Listener):\n"
         "    def on_start(self, ev): pass\n"
         "    def on_end(self, ev):\n"
         "        f = ev.data['dispatcher'].py_func\n"
         "        seen.append(f'{f.__module__}.{f.__qualname__}')\n"
         "event.register('numba:compile', L())\n"
         "for model, n, bn in (('keras', 64, False), ('keras', 256, False),\n"
         "                     ('fashion', 100, False), ('fashion', 100, True)):\n"
         "    net = cnn.make_net(model, full=False, batch_norm=bn)\n"
         "    x, y = cnn.batch(n)\n"
         "    cnn.numbaconv_step(net, x, y)\n"
         "    if model == 'keras' and n == 64:\n"
         "        cnn.keras_step_cl(net, np.ascontiguousarray(x.transpose(0, 2, 3, 1)), y)\n"
         "for model in ('keras', 'fashion'):\n"
         "    cnn.make_net(model).forward(cnn.batch(1)[0], training=False)\n"
         "import numbaconv as nc\n"
         "from numbaconv import grad\n"
         "r = np.random.default_rng(0)\n"
         "for dt in (np.float32, np.float64):\n"
         "    def X(*s): return r.standard_normal(s).astype(dt)\n"
         "    x = X(3, 4, 13, 13)\n"
         "    for kw in ({'kernel_size': 2, 'padding': 1}, {'kernel_size': 2, 'ceil_mode': True},\n"
         "               {'kernel_size': 3, 'stride': 2, 'padding': 1}, {'kernel_size': 3}):\n"
         "        y, i = nc.max_pool2d(x, return_indices=True, **kw)\n"
         "        nc.max_pool2d(x, **kw), grad.max_pool2d_input(np.ones_like(y), x, **kw)\n"
         "    xl = np.ascontiguousarray(x[..., :12, :12].transpose(0, 2, 3, 1))\n"
         "    y, i = nc.max_pool2d(xl, 2, return_indices=True, data_format='channels_last')\n"
         "    nc.max_unpool2d(y, i, 2, data_format='channels_last')\n"
         "    nc.gelu(x, 'tanh'), nc.gelu_derivative(x, 'tanh'), nc.gelu_backward(x, x, 'tanh')\n"
         "    a = X(4)\n"
         "    nc.prelu_backward(x, x, a), nc.prelu_and_derivative(x, a)\n"
         "    for xs, ws, kw in (((2, 6, 12, 11), (8, 3, 2, 3), dict(stride=2, padding=1, groups=2)),\n"
         "                      ((1, 8, 14, 13), (4, 8, 3, 3), dict(padding=2, dilation=2)),\n"
         "                      ((2, 5, 20), (6, 5, 3), dict(stride=2, padding=1)),\n"
         "                      ((1, 3, 5, 6, 6), (4, 3, 3, 3, 3), dict(padding=1))):\n"
         "        nd = len(xs) - 2\n"
         "        f, fi, fw = (getattr(nc, f'conv{nd}d'), getattr(grad, f'conv{nd}d_input'),\n"
         "                     getattr(grad, f'conv{nd}d_weight'))\n"
         "        for fmt in ('channels_first', 'channels_last'):\n"
         "            xx = X(*xs) if fmt == 'channels_first' else np.moveaxis(X(*xs), 1, -1).copy()\n"
         "            g = np.ones_like(f(xx, X(*ws), **kw, data_format=fmt))\n"
         "            fi(xx.shape, X(*ws), g, **kw, data_format=fmt)\n"
         "            fw(xx, ws, g, **kw, data_format=fmt)\n"
         "    nc.convolve(X(7, 5, 6), X(2, 3, 3)), nc.correlate(X(40), X(4).astype(np.complex64))\n"
         "print(json.dumps(sorted({s for s in seen if s.startswith('numbaconv')}\n"
         "                        - {'numbaconv.cpu.blas._two_gemms'})))\n")
#: that helper's cache entries (``blas._two_gemms-<line>.py311...``), which those steps add
DEMO_HELPER = "blas._two_gemms-"


def _compile(env: dict, families: str = "", dtypes: str = "float32,float64,int64,complex128",
             processes: int = 2, prefix: tuple = (), cwd: Path | None = None) -> dict:
    proc = subprocess.run([*prefix, sys.executable, "-c", REPORT, families, dtypes,
                           str(processes)], env=env, capture_output=True, text=True,
                          timeout=1200, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _entries(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_size for p in cache.rglob("*")
            if p.suffix in (".nbi", ".nbc")}


def _literal_overloads(cache: Path) -> list[str]:
    """The cached kernels compiled for a literal argument (``Literal[int](0)``): a kernel that
    passes a constant to another kernel as a literal compiles a second copy of it besides
    the one for run-time values (numbaconv.cpu.jit's I0/I1 and ``np.bool_`` avoid that)."""
    found = []
    for index in sorted(cache.rglob("*.nbi")):
        with open(index, "rb") as f:
            pickle.load(f)  # (Numba's version)
            _, overloads = pickle.loads(f.read())
        found += [f"{index.name}: {key[0]}" for key in overloads if "Literal[" in str(key[0])]
    return found


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(extra)
    return env


def _empty_cache(tmp_path: Path) -> Path:
    """The empty directory the whole API compiles into: ``NUMBACONV_API_CACHE`` where set
    (``make test`` names one there, which its later suites share), else a temporary one."""
    named = os.environ.get("NUMBACONV_API_CACHE")
    cache = Path(named) if named else tmp_path / "cache"
    if cache.exists() and any(cache.iterdir()):
        pytest.fail(f"{cache} is not empty: the whole API must compile into an empty cache")
    return cache


def test_second_process_compiles_nothing_and_later_runs_add_no_file(tmp_path):
    cache = _empty_cache(tmp_path)
    env = _env(NUMBA_CACHE_DIR=str(cache))
    first = _compile(env)
    assert first["compiled"] > 0 and first["calls"] > 100
    entries = _entries(cache)
    assert entries, "the first run wrote no cache entry"
    assert _literal_overloads(cache) == []
    second = _compile(env)
    assert second["compiled"] == 0, f"the second process compiled {second['compiled']} kernels"
    assert second["loaded"] > 0
    assert _entries(cache) == entries
    # (a third run in one process, 11 s of CI, checked nothing this one does not: the calls
    # and kernels are the same, only grouped otherwise)
    # what a user runs after compile(): the course notes' networks, every benchmarked step
    # and batch-1 inference, compile nothing of numbaconv's
    proc = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert {k: v for k, v in _entries(cache).items() if DEMO_HELPER not in k} == entries


def _without_write_capabilities() -> tuple:
    """A command prefix that runs a process without root's power to write anywhere."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv: cannot make a read-only install")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner")


def test_read_only_install_caches_per_user_and_starts_warm(tmp_path):
    """The package copied where nobody may write (as root installs it for other users): the
    kernels go to the per-user cache directory, and the second process loads them."""
    site = tmp_path / "site"
    shutil.copytree(ROOT, site / "numbaconv", ignore=shutil.ignore_patterns("__pycache__"))
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    xdg = tmp_path / "xdg"
    env = _env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(xdg))
    prefix = _without_write_capabilities()
    try:
        run = dict(processes=1, prefix=prefix, cwd=tmp_path)  # not the checkout's directory
        first = _compile(env, "padding", "float32", **run)  # (one family: CI's time)
        second = _compile(env, "padding", "float32", **run)
    finally:
        for p in [site, *site.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
    assert Path(first["file"]).is_relative_to(site)  # the read-only copy ran
    assert first["compiled"] > 0
    assert first["dirs"] and all(Path(d).is_relative_to(xdg) for d in first["dirs"])
    assert second["compiled"] == 0 and second["loaded"] > 0
    assert not list(site.rglob("__pycache__"))
