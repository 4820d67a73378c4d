"""Benchmark cases: one definition feeds asv (``benchmarks/``) and ``python -m numbaconv bench``.

Each family module here (``numbaconv.bench.signal``, ``.conv``, ...) defines
``CASES``, a list of :class:`Case`. A case builds its inputs once and returns
numbaconv's callable and one callable per *installed* peer (scipy, NumPy,
PyTorch CPU, OpenCV), all computing the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

Thunk = Callable[[], object]

#: peer name -> import name, in report order
PEERS = ("scipy", "numpy", "torch", "opencv")


def _string_constants(code) -> set[str]:
    """Every string constant in a code object and the functions nested in it.

    Tuples count too: ``{"scipy": f, "numpy": g}`` compiles to one constant tuple of keys.
    """
    out: set[str] = set()
    stack = list(code.co_consts)
    while stack:
        const = stack.pop()
        if isinstance(const, str):
            out.add(const)
        elif isinstance(const, (tuple, frozenset)):
            stack.extend(const)
        elif hasattr(const, "co_consts"):
            stack.extend(const.co_consts)
    return out


@dataclass
class Case:
    """One benchmark case of an operation family.

    ``make()`` returns ``(ours, peers)``: a zero-argument callable running
    numbaconv, and a dict peer name -> zero-argument callable (only peers
    that are installed). ``flops`` or ``nbytes`` (per call) turn times into
    GFLOP/s or GB/s in reports.

    ``peers`` names the peers ``make()`` can return (it sizes asv's parameter
    grid, see :func:`asv_suite`); left as None, :meth:`peer_names` reads them
    from ``make``'s code: the names in :data:`PEERS` that appear there as string
    constants (``peers["torch"] = ...`` or ``{"numpy": ...}``). Declare them when
    ``make`` builds its dict another way.
    """

    family: str
    name: str
    make: Callable[[], tuple[Thunk, Mapping[str, Thunk]]]
    flops: float | None = None
    nbytes: float | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    #: optional GPU variant: like ``make`` but on CUDA arrays, peers such as
    #: torch CUDA; every callable must synchronise before returning.
    make_cuda: Callable[[], tuple[Thunk, Mapping[str, Thunk]]] | None = None
    peers: tuple[str, ...] | None = None

    def peer_names(self) -> tuple[str, ...]:
        """The peers this case can compare against, in :data:`PEERS` order, without running it."""
        if self.peers is not None:
            return tuple(self.peers)
        code = getattr(self.make, "__code__", None)
        found = _string_constants(code) if code is not None else set(PEERS)
        return tuple(p for p in PEERS if p in found)


#: pause before each library's block of calls in :func:`compare`: an OpenMP team (PyTorch's,
#: or Numba's after a ``prange`` kernel) spins on its cores for milliseconds after its last
#: call, and the next library's threads lose those cores meanwhile (measured: numbaconv's
#: (64, 1, 28, 28) conv2d at two threads, 0.76 ms alone, 1.29 ms right after PyTorch's block).
#: A user runs one library at a time, so each block starts on a quiet machine.
SETTLE_S = 0.02


def best_of(fn: Thunk, repeat: int = 5, min_time: float = 0.05) -> float:
    """Best per-call time in seconds over ``repeat`` rounds of enough calls to last ``min_time``."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_time / once))
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return float(best)


def compare(case: Case, repeat: int = 5, device: str = "cpu") -> dict:
    """Time numbaconv and each installed peer on ``case``, interleaved round by round.

    Returns ``{"ours": seconds, "peers": {name: seconds}}`` (best of ``repeat``).
    """
    make = case.make_cuda if device == "cuda" else case.make
    if make is None:
        raise NotImplementedError(f"{case.name} has no {device} variant")
    ours, peers = make()
    fns = {"numbaconv": ours, **peers}
    best = {k: np.inf for k in fns}
    for _ in range(repeat):  # interleave so machine noise hits everyone alike
        for k, fn in fns.items():
            time.sleep(SETTLE_S)  # the previous library's threads stop spinning first
            best[k] = min(best[k], best_of(fn, repeat=1))
    return {"ours": best.pop("numbaconv"), "peers": best}


def suite_impls(cases: list[Case]) -> list[str]:
    """``"numbaconv"`` and every peer at least one of ``cases`` defines (see :meth:`Case.peer_names`)."""
    found = {p for c in cases for p in c.peer_names()}
    extra = sorted(found - set(PEERS))
    return ["numbaconv", *(p for p in PEERS if p in found), *extra]


def asv_suite(cases: list[Case], name: str, impls: list[str] | None = None):
    """An asv benchmark class timing every case for numbaconv and each peer.

    Parameters are ``(case, impl)``. ``impl`` runs over numbaconv and only the
    peers the cases define (:func:`suite_impls`, or ``impls`` when given), so a
    family with no scipy case has no scipy column. A peer that is not installed,
    or that one case of the suite lacks, raises ``NotImplementedError`` in
    ``setup``, which asv reports as skipped.
    """
    by_name = {c.name: c for c in cases}
    impls = list(impls) if impls is not None else suite_impls(cases)

    class Suite:
        params = [list(by_name), impls]
        param_names = ["case", "impl"]
        timeout = 300

        def setup(self, case, impl):
            ours, peers = by_name[case].make()
            fn = ours if impl == "numbaconv" else peers.get(impl)
            if fn is None:
                raise NotImplementedError(f"{impl} is not installed or has no {case}")
            fn()  # JIT warm-up outside the timed region
            self.fn = fn

        def time_op(self, case, impl):
            self.fn()

        def peakmem_op(self, case, impl):
            self.fn()

    Suite.__name__ = Suite.__qualname__ = name
    return Suite


def optional(module: str):
    """Import an optional peer, or return None."""
    import importlib

    try:
        return importlib.import_module(module)
    except Exception:  # ImportError, or a broken optional install
        return None


def torch_peer():
    """PyTorch CPU as a peer, on as many threads as numbaconv uses (Numba's thread count,
    ``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``), or None when it is not installed."""
    torch = optional("torch")
    if torch is not None:
        from ..cpu.threads import num_threads

        torch.set_num_threads(num_threads())
    return torch


# ------------------------------------------------------------------------------ CUDA variants


def torch_cuda_peer():
    """PyTorch on the GPU (cuDNN for convolutions) as a peer, or None when PyTorch is not
    installed or sees no GPU. cuDNN runs with PyTorch's defaults (no ``benchmark`` autotuning),
    as a user's script does."""
    torch = optional("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch


def torch_on(device: str):
    """PyTorch as the peer on ``device``: :func:`torch_peer` for ``'cpu'``,
    :func:`torch_cuda_peer` for ``'cuda'``."""
    return torch_peer() if device == "cpu" else torch_cuda_peer()


def cuda_timed(fn: Thunk) -> Thunk:
    """``fn`` followed by a wait for the GPU: kernel launches return before the work is done,
    so every CUDA variant's callable (numbaconv's and the peers') is timed through this."""
    from ..cuda._target import cuda

    torch = optional("torch")
    torch_sync = torch.cuda.synchronize if torch is not None and torch.cuda.is_available() \
        else (lambda: None)

    def run():
        out = fn()
        cuda.synchronize()
        torch_sync()
        return out

    return run


def device_put(device: str, a):
    """``a`` on ``device``: itself for ``'cpu'``, a numba device array for ``'cuda'``."""
    if device == "cpu":
        return a
    from ..cuda._target import cuda

    return cuda.to_device(np.ascontiguousarray(a))


def timed_on(device: str, ours: Thunk, peers: Mapping[str, Thunk]):
    """``(ours, peers)`` as :func:`compare` times them on ``device``: on the GPU each
    callable waits for its kernels (:func:`cuda_timed`)."""
    if device == "cpu":
        return ours, dict(peers)
    return cuda_timed(ours), {k: cuda_timed(f) for k, f in peers.items()}


def gpu_info() -> str:
    """One line naming the GPU, its compute capability and the CUDA stack (for tables)."""
    from ..cuda._target import cuda
    from .machine import versions

    try:
        dev = cuda.get_current_device() if hasattr(cuda, "get_current_device") \
            else cuda.current_context().device  # (the simulator has only the latter)
    except Exception as exc:  # no GPU, no driver: say so in the table's header
        return f"# GPU: none available ({type(exc).__name__})"
    name = getattr(dev, "name", "the CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else str(name)
    cc = ".".join(map(str, getattr(dev, "compute_capability", ("?",))))
    v = versions()
    sms = getattr(dev, "MULTIPROCESSOR_COUNT", "?")  # (the simulator's device has no count)
    parts = [f"GPU: {name} (compute capability {cc}, {sms} SMs)",
             f"numba {v.get('numba')}"]
    try:
        import importlib.metadata as md

        parts.append(f"numba-cuda {md.version('numba-cuda')}")
    except Exception:  # the built-in numba.cuda target
        parts.append("numba's built-in CUDA target")
    torch = torch_cuda_peer()
    if torch is not None:
        parts.append(f"torch {torch.__version__} (CUDA {torch.version.cuda}, "
                     f"cuDNN {torch.backends.cudnn.version()})")
    return "# " + "; ".join(parts)
