"""The Steerer: applies a SteeringPlan to an engine, between two decode calls, without a new context.

Two paths with one API:
  native    llama_set_adapter_cvec — additive, every token, at the layer output (l_out-N, N >= 1).
            Free: llama.cpp adds one tensor per layer in its own graph.
  callback  Rudder's compiled graph hook — any discovered site (layer 0 included), ops add /
            project-out / ablate, scope "all" or "generated". Costs a few percent of throughput.
`backend="auto"` sends each op down the native path when it can go there, else the callback.
Both paths give the same logits for the same additive op (tested); clearing restores them bit-for-bit.

Reading the residual (behind the steering, on generated tokens only): the concept meter's probes, the
nodes an activation recorder asked for (`record`) and the nodes of the active plan's gates. Gated ops
(conditional steering, vectors/gate.py) run only while their gate is open (`open_gates`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

import numpy as np

from rudder.engine.hook import HookEntry, HookOp, HookScope
from rudder.engine.sites import Site, steerable_sites
from rudder.vectors.steering.meter import ConceptMeter
from rudder.vectors.steering.plan import UNSTEERED, PlannedOp, Scope, SteeringPlan
from rudder.vectors.vector import SteeringOp, VectorError

if TYPE_CHECKING:
    from rudder.engine.engine import Engine

Backend = Literal["auto", "native", "callback"]

_HOOK_OPS = {SteeringOp.ADD: HookOp.ADD, SteeringOp.PROJECT_OUT: HookOp.PROJECT_OUT, SteeringOp.ABLATE: HookOp.ABLATE}


class Steerer:
    def __init__(self, engine: Engine, backend: Backend = "auto") -> None:
        self.engine = engine
        self.backend: Backend = backend
        self.plan: SteeringPlan = UNSTEERED
        self._native_active = False
        n_layer, n_embd = engine.info.n_layer, engine.info.n_embd
        # Row i of llama.cpp's cvec buffer is layer i+1 (layer 0 is never steered natively).
        self._cvec = np.zeros((n_layer - 1, n_embd), dtype=np.float32)
        self._lock = threading.Lock()  # apply() may be called from any thread
        self.meter: ConceptMeter | None = None
        self._pending_meter: tuple[ConceptMeter | None] | None = None
        self._meter_lock = threading.Lock()
        self._meter_offset = 0  # the meter's first capture entry in the hook table
        self._open: frozenset[str] = frozenset()  # keys of the gates open now (gated ops run)
        self._record_nodes: tuple[str, ...] = ()
        self._tap_nodes: tuple[str, ...] = ()
        self._tap_offset = 0  # the taps' first capture entry in the hook table
        self._capture_on = False
        self.residual: dict[str, np.ndarray] = {}  # node -> its row at the latest generated token

    @property
    def sites(self) -> dict[str, Site]:
        # discovered once when the engine loaded: discovery evaluates a probe, which must never
        # happen mid-generation (it would replace the KV cache under a running generation)
        return self.engine.sites

    def _goes_native(self, op: PlannedOp) -> bool:
        if self.backend == "callback":
            return False
        native_site = self.engine.profile.sites.native_site  # where llama.cpp's build_cvec adds
        fits = op.op == SteeringOp.ADD and op.site == native_site and op.scope == Scope.ALL and op.layer >= 1
        if self.backend == "native" and not fits:
            raise VectorError(
                f"{op.source} at {op.node} ({op.op}, scope {op.scope}) cannot run natively: "
                f"llama.cpp's control vectors only add at {native_site}-N (N >= 1) on every token"
            )
        return fits

    def validate(self, plan: SteeringPlan) -> None:
        """Refuse ops for sites/layers this model does not have, before anything is applied."""
        n_embd = self.engine.info.n_embd
        for op in plan.ops:
            require_site(self.sites, op.site, [op.layer], n_embd)
            if op.direction.shape != (n_embd,):
                raise VectorError(f"{op.source}: direction has shape {op.direction.shape}, expected ({n_embd},)")
        for gate in plan.gates:
            site, _, layer = gate.node.rpartition("-")
            require_site(self.sites, site, [int(layer)], n_embd)
            if gate.direction.shape != (n_embd,):
                raise VectorError(f"gate on {gate.axis}: direction has shape {gate.direction.shape}")

    def open_gates(self, keys: set[str] | frozenset[str]) -> None:
        """The gates open from the next decode on (a new step closes them all: `open_gates(set())`)."""
        keys = frozenset(keys)
        with self._lock, self.engine.hook.atomic_swap():
            if keys != self._open:
                self._open = keys
                self._apply_locked(self.plan, force=True)

    @property
    def open(self) -> frozenset[str]:
        return self._open

    def record(self, nodes: tuple[str, ...]) -> None:
        """Read these nodes on every generated token into `residual` (an activation recorder's layers)."""
        self._ensure_capture()
        with self._lock, self.engine.hook.atomic_swap():
            self._record_nodes = tuple(nodes)
            self._apply_locked(self.plan, force=True)

    def watch(self, meter: ConceptMeter | None) -> None:
        """Read `meter`'s probes on every generated token (None stops). Safe from any thread: it takes
        effect at the next `apply`, together with that plan."""
        with self._meter_lock:
            self._pending_meter = (meter,)

    def _take_meter(self) -> bool:
        with self._meter_lock:
            pending, self._pending_meter = self._pending_meter, None
        if pending is None:
            return False
        self.meter = pending[0]
        self._ensure_capture()
        return True

    def _ensure_capture(self) -> None:
        """One capture callback for the meter and the taps, installed once (it waits for a decode to end)."""
        if not self._capture_on:
            self.engine.hook.set_capture(self._on_capture, copy=False)
            self._capture_on = True

    def _on_capture(self, index: int, rows: np.ndarray) -> None:
        """Runs inside llama.cpp's decode: `rows` is a view valid only during the call."""
        if index >= self._tap_offset:
            tap = index - self._tap_offset
            if tap < len(self._tap_nodes) and rows.shape[0] == 1:
                self.residual[self._tap_nodes[tap]] = rows[0].copy()
            return
        meter = self.meter
        if meter is not None:
            meter.record(index - self._meter_offset, rows)

    def apply(self, plan: SteeringPlan) -> None:
        """Make `plan` the active steering from the next decode call on (safe from any thread, also
        while another thread generates: a running decode finishes with the plan it started with)."""
        if not plan.empty:
            self.validate(plan)
        meter_changed = self._take_meter()  # set_capture waits for the decode lock: outside the swap lock
        if plan.gates:
            self._ensure_capture()
        with self._lock, self.engine.hook.atomic_swap():
            self._apply_locked(plan, force=meter_changed)

    def _apply_locked(self, plan: SteeringPlan, force: bool = False) -> None:
        if plan is self.plan and not force:
            return
        ops = [op for op in plan.ops if op.gate is None or op.gate.key in self._open]
        native = [op for op in ops if self._goes_native(op)]
        hooked = [op for op in ops if not self._goes_native(op)]
        self._apply_native(native)
        entries = [
            HookEntry(
                op.node,
                _HOOK_OPS[op.op],
                op.direction,
                op.scale,
                HookScope.GENERATED if op.scope == Scope.GENERATED else HookScope.ALL,
            )
            for op in hooked
        ]
        self._meter_offset = len(entries)  # captures go last: they see the steered rows
        if self.meter is not None:
            entries += [HookEntry(probe.node, HookOp.CAPTURE) for probe in self.meter.probes]
        self._tap_offset = len(entries)
        taps = tuple(dict.fromkeys([*self._record_nodes, *(gate.node for gate in plan.gates)]))
        entries += [HookEntry(node, HookOp.CAPTURE, scope=HookScope.GENERATED) for node in taps]
        self._tap_nodes = taps
        self.engine.hook.set_entries(entries)
        self.plan = plan

    def _apply_native(self, ops: list[PlannedOp]) -> None:
        """llama.cpp reads its control vector while it decodes, so the change waits for the boundary
        (apply may run on another thread mid-decode); the hook runs it on the decoding thread."""
        engine = self.engine  # its contexts all get the vector (the capture one too)
        if not ops:
            if self._native_active:
                self.engine.hook.at_next_decode("native-cvec", lambda: engine.set_control_vector(None))
                self._native_active = False
            return
        cvec = np.zeros_like(self._cvec)  # a fresh buffer: the pending action owns it
        for op in ops:  # several vectors on one layer add up
            cvec[op.layer - 1] += op.direction
        layers = [op.layer for op in ops]

        def install() -> None:
            status = engine.set_control_vector(cvec, min(layers), max(layers))
            if status != 0:
                raise VectorError(f"llama.cpp refused the control vector (status {status})")

        self.engine.hook.at_next_decode("native-cvec", install)
        self._native_active = True

    def clear(self) -> None:
        self.apply(UNSTEERED)

    @contextmanager
    def steering(self, plan: SteeringPlan) -> Iterator[None]:
        """Steer inside the block; always restore the previous plan afterwards."""
        previous = self.plan
        self.apply(plan)
        try:
            yield
        finally:
            self.apply(previous)


def require_site(sites: dict[str, Site], name: str, layers: list[int], n_embd: int) -> Site:
    """The site, or one clear error naming what is available."""
    usable = steerable_sites(sites, n_embd)
    if name not in usable:
        raise VectorError(f"unknown steering site {name!r}; this model offers: {', '.join(usable) or 'none'}")
    site = usable[name]
    missing = sorted(set(layers) - set(site.layers))
    if missing:
        raise VectorError(f"site {name!r} has no layers {missing} (it has {site.layers[0]}..{site.layers[-1]})")
    return site
