"""One kernel calling another by its address: each kernel's code compiled once, not once per caller.

When a Numba kernel calls another kernel, Numba links the callee's code into the caller's
and LLVM optimises and generates machine code for it again there, and a ``prange`` loop is
a kernel of its own (a gufunc), so a driver with four parallel loops around two large
transforms compiled those transforms eight to ten times: the channels-last Winograd
forward driver took 25 s to compile, 2-3 s of it the transforms' own compilation (2-core
Zen 4). Called through :func:`call` with a :class:`Native` instead, the callee is compiled
(or loaded from the cache) once by its own dispatcher and the caller holds just an
indirect call: the same driver compiles in about a second.

* :func:`native` (Python) compiles a dispatcher for the types of example arguments and
  returns a :class:`Native`: the entry point's address and its signature;
* a kernel takes the :class:`Native` as an argument (typed :class:`NativeType`, which
  carries the signature, so a cached caller is specialised on it) and calls it with
  ``call(fn, *args)``. The argument types must be exactly the signature's, checked when
  the caller is compiled (a mismatch is a typing error, never a call with the wrong
  layout), and the call follows Numba's own calling convention, an exception raised in
  the callee (a failed allocation) propagating as from a linked call.

The address is a run-time value, never compiled into the caller, so callers cache as
any other kernel does, and the callee stays alive with its dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba
from llvmlite import ir
from numba import prange
from numba._dispatcher import compute_fingerprint  # pyright: ignore[reportAttributeAccessIssue]
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.core.typing.templates import signature
from numba.extending import NativeValue, intrinsic, models, register_model, typeof_impl, unbox

from .jit import I0, njit


class NativeType(types.Type):
    """Numba's type of a :class:`Native`: an ``int64`` address of a function of ``signature``."""

    def __init__(self, sig):
        self.signature = signature(sig.return_type, *sig.args)
        # return and argument types only: a signature loaded from the cache has no Python
        # signature attached, a compiled one has
        self._key = (self.signature.return_type, tuple(self.signature.args))
        super().__init__(name=f"native{self.signature}")

    @property
    def key(self):
        return self._key

    def __hash__(self):
        # (a dispatcher hashes its arguments' types on every call: computed once a process;
        # never pickled, as strings hash differently in every process and a cache index
        # holding another process's hash would miss every time)
        h = self.__dict__.get("_hash")
        if h is None:
            h = self._hash = hash(self._key)
        return h

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state


class Native:
    """A compiled kernel's entry point: ``address``, Numba ``signature`` and the
    :class:`NativeType` a kernel sees it as (made once: typing it on every call of the
    kernel cost 10 us). ``_numba_type_`` is the same type under the name Numba's dispatcher
    reads in C before it calls back into Python's ``typeof``: 0.1 us an argument where the
    Python call took 1.5 (a batch-1 layer's units, every Winograd call)."""

    __slots__ = ("address", "signature", "numba_type", "_numba_type_")

    def __init__(self, address: int, sig) -> None:
        self.address = address
        self.signature = sig
        self.numba_type = self._numba_type_ = NativeType(sig)


@typeof_impl.register(Native)
def _typeof_native(val, c):
    return val.numba_type


@register_model(NativeType)
class _NativeModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.IntType(64))


@unbox(NativeType)
def _unbox_native(typ, obj, c):
    address = c.pyapi.object_getattr_string(obj, "address")
    value = c.pyapi.long_as_longlong(address)
    c.pyapi.decref(address)
    return NativeValue(value, is_error=cgutils.is_not_null(c.builder, c.pyapi.err_occurred()))


@intrinsic
def _call(typingctx, fn, *args):
    """``fn(*args)`` for a :class:`NativeType` ``fn``, through its address."""
    if not isinstance(fn, NativeType):
        return None
    if tuple(args) != tuple(fn.signature.args):
        raise TypingError(f"call: arguments {tuple(args)} where {fn} takes "
                          f"{tuple(fn.signature.args)}")
    sig = fn.signature.return_type(fn, types.StarArgTuple(args))

    def codegen(context, builder, sig_, llargs):
        target = sig_.args[0].signature
        values = cgutils.unpack_tuple(builder, llargs[1])
        fnty = context.call_conv.get_function_type(target.return_type, target.args)
        callee = builder.inttoptr(llargs[0], fnty.as_pointer())
        status, result = context.call_conv.call_function(builder, callee, target.return_type,
                                                         target.args, values)
        with cgutils.if_unlikely(builder, status.is_error):
            context.call_conv.return_status_propagate(builder, status)
        return result

    return sig, codegen


#: :func:`_call` as kernels call it, ``call(fn, *args)`` (Numba supplies the typing
#: context; the cast tells type checkers so)
call = cast("Callable[..., Any]", _call)

_NATIVE: dict = {}

#: Numba's type fingerprint of a value (bytes; equal fingerprints, equal Numba types): the
#: cheap key of a caller's own cache of :func:`native` results, where most arguments are
#: the caller's constants
fingerprint = compute_fingerprint


def native(dispatcher, *args) -> Native:
    """``dispatcher`` compiled (or loaded from its cache) for the Numba types of ``args``, as
    a :class:`Native` that kernels call with :func:`call`. Looked up once per process and
    signature, keyed by Numba's type fingerprints (about 1 us for ten arguments, where
    typing them in Python takes 25)."""
    key = (dispatcher, *(a.numba_type if isinstance(a, Native) else fingerprint(a)
                         for a in args))
    found = _NATIVE.get(key)
    if found is None:
        types_ = tuple(numba.typeof(a) for a in args)
        dispatcher.compile(types_)
        cres = dispatcher.overloads[types_]
        address = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
        found = _NATIVE[key] = Native(address, cres.signature)
    return found


# --------------------------------------------------------------------------- runs on the team


@njit(cache=True, nogil=True, parallel=True)
def _runs(fn, head, tail, items, parts):
    """``fn(*head, lo, hi, *tail)`` for ``lo, hi = p * items // parts, (p + 1) * items //
    parts``, ``p < parts``, on Numba's threads."""
    for p in prange(parts):
        call(fn, *(head + (p * items // parts, (p + 1) * items // parts) + tail))


def team_runs(kernel, args: tuple, items: int, parts: int, tail: tuple = ()) -> None:
    """``kernel(*args, lo, hi, *tail)`` over ``range(items)`` in ``parts`` fixed runs on
    Numba's threads (its OpenMP team: no GIL to hand over), ``kernel`` called through its
    address (:func:`native`). The cut is the shapes' alone, so a kernel whose output
    elements each belong to one run gives the same bits at any thread count.

    One driver for every such kernel: a ``prange`` loop of its own around a linked call
    compiled the kernel's code again inside the loop's body, 1-7 s a driver on a cold
    cache (the grid forward's 7.1 s of a cold Keras training step's first call, Zen 3),
    where this one compiles in about a second per argument signature.

    ``args`` and ``tail`` hold arrays and scalars, never a :class:`Native`: a tuple with one
    inside leaves Numba's C dispatcher to type ``_runs``' arguments in Python on every call
    (75 us with one Native among three arguments; 4 ms with one among the GEMM units' 24,
    Zen 3); a kernel that calls another by address takes it as its own argument and is
    launched some other way."""
    _runs(native(kernel, *args, I0, I0, *tail), args, tail, int(items), int(parts))
