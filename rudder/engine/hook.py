"""The graph hook: Rudder's compiled cb_eval callback, driven from Python through ctypes.

An engine installs one `GraphHook` when it creates its llama.cpp context and keeps it for life.
With an empty table the hook answers llama.cpp's "do you want this node?" in C and costs nothing
measurable; steering and capture fill the table (see `_hook.c` for the ops).

Threads: `set_entries` is safe from any thread at any time, also while another thread decodes. C
copies the table (directions included) and swaps it in; the decoding thread wraps every decode in
`with hook.decoding(generating):`, which pins one table for the whole graph and runs the actions
other threads deferred to the next decode boundary (`at_next_decode`, e.g. native control vectors).
A table is freed only when no decode uses it. Capture and observer callbacks change only between
decodes (they wait for a running one to finish).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import pathlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

import llama_cpp
import numpy as np

from rudder.engine import _hook, llama_internals

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


UNSTEERED_DIGEST = ""


def steering_digest(entries: Sequence[HookEntry], *, generating: bool) -> str:
    """What the table does to the activations of the rows a decode computes: equal digests, equal rows.

    Captures only read, and "generated"-scope ops skip prompt rows, so neither counts where it has no
    effect. "" = no effect at all (the KV ledger and the prompt cache key prefixes by this)."""
    digest = hashlib.blake2b(digest_size=12)
    acting = 0
    for entry in entries:
        if entry.op == HookOp.CAPTURE or (entry.scope == HookScope.GENERATED and not generating):
            continue
        acting += 1
        digest.update(f"{entry.node}\0{int(entry.op)}\0{int(entry.scope)}\0".encode())
        digest.update(np.float32(entry.scale).tobytes())
        if entry.direction is not None:
            digest.update(np.ascontiguousarray(entry.direction, dtype=np.float32).tobytes())
    return digest.hexdigest() if acting else UNSTEERED_DIGEST


HOOK_VERSION = 2  # rudder_hook_version() in _hook.c


def _load_library() -> ctypes.CDLL:
    lib = ctypes.CDLL(_hook.__file__)
    version = lib.rudder_hook_version() if hasattr(lib, "rudder_hook_version") else 1
    if version != HOOK_VERSION:
        raise RuntimeError(
            f"{_hook.__file__} was built from an older rudder/engine/_hook.c (version {version}, need "
            f"{HOOK_VERSION}): rebuild it with `python setup.py build_ext --inplace`"
        )
    lib.rudder_hook_callback.restype = ctypes.c_void_p
    lib.rudder_hook_new.restype = ctypes.c_void_p
    lib.rudder_hook_new.argtypes = [ctypes.c_void_p] * 3
    lib.rudder_hook_free.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_set_entries.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Entry), ctypes.c_int32, ctypes.c_int32]
    lib.rudder_hook_set_entries.restype = ctypes.c_int32
    lib.rudder_hook_set_capture.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.rudder_hook_set_observer.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.rudder_hook_begin.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.rudder_hook_end.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_layout.argtypes = [ctypes.POINTER(ctypes.c_int64)]
    lib.rudder_hook_error.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_error.restype = ctypes.c_int32
    lib.rudder_hook_error_node.argtypes = [ctypes.c_void_p]
    lib.rudder_hook_error_node.restype = ctypes.c_char_p
    lib.rudder_hook_reset_error.argtypes = [ctypes.c_void_p]
    counters = ("calls_ask", "calls_compute", "tables_freed", "tables_made")
    for counter in (f"rudder_hook_{name}" for name in counters):
        getattr(lib, counter).argtypes = [ctypes.c_void_p]
        getattr(lib, counter).restype = ctypes.c_int64
    if hasattr(lib, "rudder_hook_set_rows"):  # a build from before it copies every row (still correct)
        lib.rudder_hook_set_rows.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64), ctypes.c_int32]
        lib.rudder_hook_set_rows.argtypes += [ctypes.c_int64]
        lib.rudder_hook_set_rows.restype = ctypes.c_int32
    lib.rudder_hook_entry_size.restype = ctypes.c_int32
    if lib.rudder_hook_entry_size() != ctypes.sizeof(_Entry):
        raise RuntimeError("rudder/engine/_hook.c and rudder/engine/hook.py disagree on the entry layout")
    return lib


def _load_ggml_base() -> ctypes.CDLL:
    lib_dir = pathlib.Path(llama_cpp.__file__).parent / "lib"
    return llama_internals.load_shared_library("ggml-base", lib_dir)


class _InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


def compiled_layout() -> tuple[int, int, int]:
    """Byte offsets of ggml_tensor's type, ne[4] and nb[4] that _hook.c was compiled with."""
    offsets = (ctypes.c_int64 * 3)()
    _LIB.rudder_hook_layout(offsets)
    return (offsets[0], offsets[1], offsets[2])


def check_tensor_layout(layout: tuple[int, int, int] | None = None) -> None:
    """Read a real ggml tensor (made by this process's ggml-base) at the hook's offsets.

    Raises RuntimeError when the head of struct ggml_tensor moved: the hook would then misread every
    node's shape and write outside it, so Rudder refuses to start instead.
    """
    type_at, ne_at, nb_at = layout or compiled_layout()
    ggml = _GGML
    ggml.ggml_tensor_overhead.restype = ctypes.c_size_t
    ggml.ggml_init.argtypes = [_InitParams]
    ggml.ggml_init.restype = ctypes.c_void_p
    ggml.ggml_free.argtypes = [ctypes.c_void_p]
    ggml.ggml_new_tensor_4d.argtypes = [ctypes.c_void_p, ctypes.c_int, *[ctypes.c_int64] * 4]
    ggml.ggml_new_tensor_4d.restype = ctypes.c_void_p
    ctx = ggml.ggml_init(_InitParams(ggml.ggml_tensor_overhead() * 2 + 1024, None, True))
    if not ctx:
        raise RuntimeError("ggml_init failed while checking the tensor layout")
    try:
        ne = (5, 7, 3, 2)
        f16 = 1  # not 0, so a type read at the wrong place cannot pass by luck
        tensor = ggml.ggml_new_tensor_4d(ctx, f16, *ne)
        seen_type = ctypes.c_int32.from_address(tensor + type_at).value
        seen_ne = tuple((ctypes.c_int64 * 4).from_address(tensor + ne_at))
        seen_nb = tuple((ctypes.c_size_t * 4).from_address(tensor + nb_at))
    finally:
        ggml.ggml_free(ctx)
    expected_nb = (2, 2 * 5, 2 * 5 * 7, 2 * 5 * 7 * 3)
    if (seen_type, seen_ne, seen_nb) != (f16, ne, expected_nb):
        raise RuntimeError(
            f"ggml_tensor layout changed: at offsets type={type_at} ne={ne_at} nb={nb_at} the hook read "
            f"type={seen_type} ne={seen_ne} nb={seen_nb}, expected type={f16} ne={ne} nb={expected_nb}; "
            "update the offsets in rudder/engine/_hook.c for this llama.cpp version"
        )


_LIB = _load_library()
_GGML = _load_ggml_base()
check_tensor_layout()


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
        self._digests = (UNSTEERED_DIGEST, UNSTEERED_DIGEST)  # of the table's effect on (prompt, generated) rows
        self.pinned_digest = UNSTEERED_DIGEST  # the running decode's (see steering_digest)
        self._capture_fn: ctypes._CFuncPtr | None = None
        self._observe_fn: ctypes._CFuncPtr | None = None
        self._decode_lock = threading.RLock()  # held for a whole decode; callbacks change outside it
        self._swap_lock = threading.RLock()  # a table swap and its deferred actions land together
        self._deferred: dict[str, Callable[[], None]] = {}

    @property
    def entries(self) -> tuple[HookEntry, ...]:
        return self._entries

    def set_entries(self, entries: Sequence[HookEntry], *, abort_after: int | None = None) -> None:
        """Replace the table. Takes effect at the next decode call; never needs a new context.

        `abort_after` (an index into `entries`) stops the graph right after that node: the decode call
        then returns 2 and llama.cpp drops the batch from its cache. Only for capture runs.
        """
        table = (_Entry * max(1, len(entries)))()
        keepalive: list[np.ndarray] = []  # until C has copied the directions
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
        with self._swap_lock:
            status = _LIB.rudder_hook_set_entries(self._state, table, len(entries), abort)
            if status != 0:
                raise MemoryError("could not install the hook table")
            self._entries = tuple(entries)
            self._digests = (steering_digest(entries, generating=False), steering_digest(entries, generating=True))
        del keepalive

    @contextlib.contextmanager
    def atomic_swap(self) -> Iterator[None]:
        """Changes made inside (set_entries, at_next_decode) reach the same next decode together."""
        with self._swap_lock:
            yield

    def at_next_decode(self, key: str, action: Callable[[], None] | None) -> None:
        """Run `action` on the decoding thread right before the next decode (the latest per key wins).

        For state llama.cpp itself reads during a decode (its control vector): another thread may not
        change it mid-graph, so the change waits for the boundary. None withdraws a pending action.
        """
        with self._swap_lock:
            if action is None:
                self._deferred.pop(key, None)
            else:
                self._deferred[key] = action

    def run_deferred(self) -> None:
        """Run the actions waiting for a decode boundary now (call only while no decode runs)."""
        with self._decode_lock, self._swap_lock:
            self._run_deferred_locked()

    def _run_deferred_locked(self) -> None:
        actions, self._deferred = list(self._deferred.values()), {}
        for action in actions:
            action()

    @contextlib.contextmanager
    def decoding(self, generating: bool = False) -> Iterator[None]:
        """Wrap one llama_decode: deferred actions run, one table is pinned for the whole graph."""
        with self._decode_lock:
            with self._swap_lock:
                self._run_deferred_locked()
                _LIB.rudder_hook_begin(self._state, 1 if generating else 0)
                self.pinned_digest = self._digests[1 if generating else 0]
            try:
                yield
            finally:
                _LIB.rudder_hook_end(self._state)

    def clear(self) -> None:
        self.set_entries([])

    def set_capture(self, fn: Callable[[int, np.ndarray], None] | None, *, copy: bool = True) -> None:
        """`fn(entry_index, rows)` receives a copy of the node's rows (n_rows × n_embd float32).

        With `copy=False` it receives a read-only view that is valid only during the call: copy out
        the rows you need (e.g. each sequence's last token) instead of all of them.
        """
        with self._decode_lock:
            self._set_capture(fn, copy)

    def _set_capture(self, fn: Callable[[int, np.ndarray], None] | None, copy: bool = True) -> None:
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

    def set_rows(self, rows: Sequence[int] | np.ndarray | None, from_rows: int = 0) -> bool:
        """Captures of a node with `from_rows` rows get only `rows` (in that order), copied in C; None:
        every row. Steered nodes and other row counts still arrive whole. False when this build of the
        hook cannot pick rows (the capture then receives every row)."""
        if not hasattr(_LIB, "rudder_hook_set_rows"):
            return False
        picked = np.ascontiguousarray(rows if rows is not None else [], dtype=np.int64)
        with self._decode_lock:
            pointer = picked.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
            status = _LIB.rudder_hook_set_rows(self._state, pointer, len(picked), from_rows)
        if status == -2:
            raise ValueError(f"rows to capture must lie within the node's {from_rows} rows")
        return status == 0

    def set_observer(self, fn: Callable[[str, int, tuple[int, int, int, int]], None] | None) -> None:
        """`fn(name, ggml_type, ne)` sees every graph node llama.cpp evaluates (for site discovery)."""
        with self._decode_lock:
            self._set_observer(fn)

    def _set_observer(self, fn: Callable[[str, int, tuple[int, int, int, int]], None] | None) -> None:
        if fn is None:
            self._observe_fn = None
            _LIB.rudder_hook_set_observer(self._state, None)
            return

        def trampoline(name: bytes, type_: int, ne: ctypes._Pointer) -> None:
            fn(name.decode(errors="replace"), type_, (ne[0], ne[1], ne[2], ne[3]))

        self._observe_fn = ObserveFn(trampoline)
        _LIB.rudder_hook_set_observer(self._state, ctypes.cast(self._observe_fn, ctypes.c_void_p))

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

    @property
    def tables(self) -> tuple[int, int]:
        """(made, freed): non-empty tables built so far and released (each swap frees the previous
        table once no decode holds it; at most two are alive: the pending one and a pinned one)."""
        return (_LIB.rudder_hook_tables_made(self._state), _LIB.rudder_hook_tables_freed(self._state))

    def close(self) -> None:
        if self._state:
            _LIB.rudder_hook_free(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
