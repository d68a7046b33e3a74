"""The graph hook: Rudder's compiled cb_eval callback, driven from Python through ctypes.

An engine installs one `GraphHook` when it creates its llama.cpp context and keeps it for life.
With an empty table the hook answers llama.cpp's "do you want this node?" in C and costs nothing
measurable; steering and capture fill the table between decode calls (see `_hook.c` for the ops).
"""

from __future__ import annotations

import ctypes
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

import llama_cpp
import numpy as np
from llama_cpp import _ctypes_extensions as ctypes_ext

from rudder.engine import _hook

NAME_MAX = 64


class HookOp(IntEnum):
    ADD = 0
    PROJECT_OUT = 1
    ABLATE = 2
    CAPTURE = 3


class HookScope(IntEnum):
    ALL = 0
    GENERATED = 1


class HookError(RuntimeError):
    """The hook met a graph node it could not handle (reported after the decode call)."""


_ERRORS = {
    1: "the node is not f32 (quantised activations cannot be steered here)",
    2: "the vector's n_embd does not match the node's rows",
    3: "the node's rows are not contiguous",
    4: "out of memory for the scratch buffer",
}


class _Entry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * NAME_MAX),
        ("op", ctypes.c_int32),
        ("scope", ctypes.c_int32),
        ("n_embd", ctypes.c_int64),
        ("direction", ctypes.POINTER(ctypes.c_float)),
        ("scale", ctypes.c_float),
    ]


CaptureFn = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.POINTER(ctypes.c_float), ctypes.c_int64, ctypes.c_int64)
ObserveFn = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int64))


@dataclass(frozen=True)
class HookEntry:
    """One op on one graph node. `direction` is float32 of the node's row length (unused for capture)."""

    node: str
    op: HookOp
    direction: np.ndarray | None = None
    scale: float = 1.0
    scope: HookScope = HookScope.ALL


def _load_library() -> ctypes.CDLL:
    lib = ctypes.CDLL(_hook.__file__)
    lib.rudder_hook_callback.restype = ctypes.c_void_p
    lib.rudder_hook_new.restype = ctypes.c_void_p
    lib.rudder_hook_new.argtypes = [ctypes.c_void_p] * 3
    lib.rudder_hook_free.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_set_entries.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Entry), ctypes.c_int32, ctypes.c_int32]
    lib.rudder_hook_set_entries.restype = ctypes.c_int32
    lib.rudder_hook_set_capture.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.rudder_hook_set_observer.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.rudder_hook_set_generating.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rudder_hook_error.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_error.restype = ctypes.c_int32
    lib.rudder_hook_error_node.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_error_node.restype = ctypes.c_char_p
    lib.rudder_hook_reset_error.argtypes = [ctypes.c_void_p]
    for counter in ("rudder_hook_calls_ask", "rudder_hook_calls_compute"):
        getattr(lib, counter).argtypes = [ctypes.c_void_p]
        getattr(lib, counter).restype = ctypes.c_int64
    lib.rudder_hook_entry_size.restype = ctypes.c_int32
    if lib.rudder_hook_entry_size() != ctypes.sizeof(_Entry):
        raise RuntimeError("rudder/engine/_hook.c and rudder/engine/hook.py disagree on the entry layout")
    return lib


def _load_ggml_base() -> ctypes.CDLL:
    lib_dir = pathlib.Path(llama_cpp.__file__).parent / "lib"
    return ctypes_ext.load_shared_library("ggml-base", lib_dir)


_LIB = _load_library()
_GGML = _load_ggml_base()


class GraphHook:
    """Owns one C hook state; hand `callback` and `user_data` to llama.cpp's context params."""

    def __init__(self) -> None:
        fn = ctypes.cast
        self._state = _LIB.rudder_hook_new(
            fn(_GGML.ggml_get_name, ctypes.c_void_p),
            fn(_GGML.ggml_backend_tensor_get, ctypes.c_void_p),
            fn(_GGML.ggml_backend_tensor_set, ctypes.c_void_p),
        )
        if not self._state:
            raise MemoryError("could not allocate the graph hook")
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(_LIB.rudder_hook_callback())
        self.user_data = ctypes.c_void_p(self._state)
        self._entries: tuple[HookEntry, ...] = ()
        self._keepalive: list[np.ndarray] = []
        self._capture_fn: ctypes._CFuncPtr | None = None
        self._observe_fn: ctypes._CFuncPtr | None = None

    @property
    def entries(self) -> tuple[HookEntry, ...]:
        return self._entries

    def set_entries(self, entries: Sequence[HookEntry], *, abort_after: int | None = None) -> None:
        """Replace the table. Takes effect at the next decode call; never needs a new context.

        `abort_after` (an index into `entries`) stops the graph right after that node: the decode call
        then returns 2 and llama.cpp drops the batch from its cache. Only for capture runs.
        """
        table = (_Entry * max(1, len(entries)))()
        keepalive: list[np.ndarray] = []
        for slot, entry in zip(table, entries, strict=False):
            name = entry.node.encode()
            if len(name) >= NAME_MAX:
                raise ValueError(f"graph node name too long: {entry.node!r}")
            slot.name = name
            slot.op = int(entry.op)
            slot.scope = int(entry.scope)
            slot.scale = float(entry.scale)
            if entry.direction is not None:
                direction = np.ascontiguousarray(entry.direction, dtype=np.float32)
                keepalive.append(direction)
                slot.n_embd = direction.shape[0]
                slot.direction = direction.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            elif entry.op != HookOp.CAPTURE:
                raise ValueError(f"{entry.op.name.lower()} on {entry.node} needs a direction")
            else:
                slot.n_embd = -1
        abort = -1 if abort_after is None else abort_after
        if not -1 <= abort < len(entries):
            raise ValueError(f"abort_after={abort_after} is not an entry index")
        if _LIB.rudder_hook_set_entries(self._state, table, len(entries), abort) != 0:
            raise MemoryError("could not install the hook table")
        self._entries = tuple(entries)
        self._keepalive = keepalive  # the old arrays may go only after C dropped its copy

    def clear(self) -> None:
        self.set_entries([])

    def set_capture(self, fn: Callable[[int, np.ndarray], None] | None, *, copy: bool = True) -> None:
        """`fn(entry_index, rows)` receives a copy of the node's rows (n_rows × n_embd float32).

        With `copy=False` it receives a read-only view that is valid only during the call: copy out
        the rows you need (e.g. each sequence's last token) instead of all of them.
        """
        if fn is None:
            self._capture_fn = None
            _LIB.rudder_hook_set_capture(self._state, None)
            return

        def trampoline(index: int, data: ctypes._Pointer, n_embd: int, n_rows: int) -> None:
            rows = np.ctypeslib.as_array(data, shape=(n_rows, n_embd))
            if copy:
                rows = rows.copy()
            else:
                rows.flags.writeable = False
            fn(index, rows)

        self._capture_fn = CaptureFn(trampoline)
        _LIB.rudder_hook_set_capture(self._state, ctypes.cast(self._capture_fn, ctypes.c_void_p))

    def set_observer(self, fn: Callable[[str, int, tuple[int, int, int, int]], None] | None) -> None:
        """`fn(name, ggml_type, ne)` sees every graph node llama.cpp evaluates (for site discovery)."""
        if fn is None:
            self._observe_fn = None
            _LIB.rudder_hook_set_observer(self._state, None)
            return

        def trampoline(name: bytes, type_: int, ne: ctypes._Pointer) -> None:
            fn(name.decode(errors="replace"), type_, (ne[0], ne[1], ne[2], ne[3]))

        self._observe_fn = ObserveFn(trampoline)
        _LIB.rudder_hook_set_observer(self._state, ctypes.cast(self._observe_fn, ctypes.c_void_p))

    def set_generating(self, generating: bool) -> None:
        """Tell the hook whether the next decode processes generated tokens (for scope=generated)."""
        _LIB.rudder_hook_set_generating(self._state, 1 if generating else 0)

    def raise_if_failed(self) -> None:
        code = _LIB.rudder_hook_error(self._state)
        if code:
            node = _LIB.rudder_hook_error_node(self._state).decode()
            _LIB.rudder_hook_reset_error(self._state)
            raise HookError(f"steering hook at graph node {node!r}: {_ERRORS.get(code, code)}")

    @property
    def calls(self) -> tuple[int, int]:
        """(ask calls, compute calls) since creation; asks happen only while the table is non-empty."""
        return (
            _LIB.rudder_hook_calls_ask(self._state),
            _LIB.rudder_hook_calls_compute(self._state),
        )

    def close(self) -> None:
        if self._state:
            _LIB.rudder_hook_free(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
