"""The UI's side of the Session contract: one object that owns the Session and is safe to call from the UI.

Blocking calls (`turn`, `undo`, `resume`, `switch_mode`) run on worker threads; `interrupt` and
`set_scale` return at once from any thread (the Session applies a new plan on its own thread, at the
next token). Every Session event goes to `listener` on the session's thread (the UI's event pump);
approvals are answered later by the approval modal (the approver returns None, the agent waits, the
UI does not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.commands import Commands, load_commands
from rudder.agent.events import Event
from rudder.agent.factory import open_session
from rudder.agent.records import RunSummary, read_trajectory
from rudder.agent.session import Session
from rudder.config import RudderConfig
from rudder.engine.factory import Engine
from rudder.interfaces import Phase, StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.mode import Mode
from rudder.modes.permodel import bind_mode
from rudder.modes.registry import ModeError, load_modes
from rudder.tools.checkpoints import CheckpointError, Checkpoints, NeedsConfirmation
from rudder.vectors.files.card import load_card
from rudder.vectors.files.library import LibraryEntry, VectorResolver, list_library
from rudder.vectors.steering.meter import ConceptMeter, Probe
from rudder.vectors.vector import VectorError

Listener = Callable[[Event], Any]


def gate_probes(active: ActiveMode) -> list[Probe]:
    """The meter also watches what each conditional vector's gate reads (its axis at its layer)."""
    gates = {g.key: g for kind in StepKind for phase in Phase for g in active.plan(kind, phase).gates}
    return [Probe(f"gate {g.axis}", g.node, g.direction) for g in gates.values()]


class Bridge:
    def __init__(
        self, engine: Engine, repo: Path, config: RudderConfig, listener: Listener, *, mode: str | None = None
    ) -> None:
        self.engine, self.repo, self.config, self.listener = engine, repo, config, listener
        self.observers: list[Listener] = []  # also called with every event, on the session's thread (tests)
        self.commands: Commands = load_commands(repo)  # custom slash commands; their problems are warnings
        self._resolvers: dict[Path | None, VectorResolver] = {}
        # bound to this model (modes/permodel.py): its vectors and calibrated scales, the sliders' bases; a
        # mode whose vectors the model lacks runs prompt-led and carries a `notice` (the mode bar shows it)
        modes = load_modes(repo)
        self.modes: dict[str, Mode] = {name: bind_mode(m, self._resolver(m).locate).mode for name, m in modes.items()}
        self._library: list[LibraryEntry] | None = None
        self._health: dict[str, str] = {}
        self._switch_lock = threading.Lock()
        self._switches = 0  # mode switches requested so far; a worker applies its own only if still the last
        self._switcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rudder-mode-switch")
        self._idle = threading.Event()
        self._idle.set()
        self.meter = ConceptMeter()
        name = mode or config.agent.mode
        if name not in self.modes:
            raise ModeError(f"no mode named {name!r}; available: {', '.join(sorted(self.modes))}")
        self.mode: Mode = self.modes[name]
        self.scales: dict[str, float] = {}
        self.session: Session = self._open(None)

    # -- sessions --------------------------------------------------------------------------------

    def _open(self, trajectory: Path | None) -> Session:
        session = open_session(
            self.engine,
            self.repo,
            self.config.agent,
            self.config.sampling,
            mode=self.mode.name,
            approver=self._approve,
            listener=self._listen,
            trajectory=trajectory,
            mcp_servers=self.config.mcp.enabled(),
        )
        session.policy = self._activate(self.mode)
        self._watch(session, session.policy)  # type: ignore[arg-type]
        return session

    def new_session(self) -> None:
        self.interrupt()
        old, self.session = self.session, self._open(None)
        old.close()  # its MCP servers

    def resume(self, path: Path) -> list[dict[str, Any]]:
        """Continue a saved session: its trajectory file grows, the model sees the old conversation."""
        records = read_trajectory(path)
        self.interrupt()
        session = self._open(path)
        session.restore(records)
        old, self.session = self.session, session
        old.close()
        return records

    @property
    def sandbox(self) -> str:
        return "on" if getattr(self.session.ws, "sandbox", None) is not None else "off"

    @property
    def trajectory(self) -> Path | None:
        return self.session.trajectory.path

    # -- turns (blocking: call from a worker thread) --------------------------------------------------

    def turn(self, text: str) -> RunSummary:
        self._idle.clear()
        try:
            self._switcher.submit(lambda: None).result()  # mode switches asked for before the turn land first
            if self.session.conversation is None:
                return self.session.run(text)
            return self.session.send(text)
        finally:
            self._idle.set()

    def interrupt(self) -> None:
        self.session.interrupt()

    def close(self, timeout: float = 30.0) -> bool:
        """Interrupt a running turn and wait until it has let go of the model (the engine may then be
        closed). False if it did not end within `timeout`."""
        self.interrupt()
        self._switcher.shutdown(wait=False, cancel_futures=True)
        idle = self._idle.wait(timeout)
        self.session.close()  # its MCP servers
        return idle

    def _listen(self, event: Event) -> None:
        for observe in self.observers:
            observe(event)
        self.listener(event)

    @staticmethod
    def _approve(request: ApprovalRequest) -> Decision | None:
        return None  # the ApprovalRequested event opens the modal, which answers the request

    # -- modes and steering (any thread; applied by the Session at the next step or token) ------------

    def _resolver(self, mode: Mode) -> VectorResolver:
        base = mode.source.parent if mode.source else None
        if base not in self._resolvers:
            self._resolvers[base] = VectorResolver(self.engine.info.identity, self.repo, base)
        return self._resolvers[base]

    def _activate(self, mode: Mode) -> ActiveMode:
        return ActiveMode(mode.with_scales(self.scales), self._resolver(mode))

    def switch_mode_soon(self, name: str, *, now: bool = False) -> Future[bool]:
        """Any thread, at once: switch on the bridge's own thread, in the order asked (see switch_mode)."""
        with self._switch_lock:
            self._switches += 1
            ticket = self._switches
        return self._switcher.submit(self.switch_mode, name, now=now, ticket=ticket)

    def switch_mode(self, name: str, *, now: bool = False, ticket: int | None = None) -> bool:
        """Blocking (loads vectors, builds every plan). Switches (True) unless `ticket` is older than the
        last switch asked for with switch_mode_soon (keys pressed fast: only the last one is built)."""
        if ticket is not None and ticket != self._switches:
            return False
        mode = self.modes[name]
        active = ActiveMode(mode, self._resolver(mode))  # builds (and checks) every plan before switching
        probes = self.probes(mode)
        with self._switch_lock:
            if ticket is not None and ticket != self._switches:
                return False
            self.mode, self.scales = mode, {}
            self.session.switch_policy(active, now=now)
            self._use_meter(self.session, probes)
        return True

    def base_scales(self) -> dict[str, float]:
        return {name: spec.scale for name, spec in self.mode.base_entries().items()}

    def set_scale(self, vector: str, scale: float) -> None:
        """A slider moved: the same mode with a new scale for `vector`, from the next token on."""
        self.scales = {**self.scales, vector: scale}
        self.session.switch_policy(self._activate(self.mode), now=True)

    def reset_scales(self) -> None:
        self.scales = {}
        self.session.switch_policy(self._activate(self.mode), now=True)

    def probes(self, mode: Mode) -> list[Probe]:
        """The mode's vectors at the deepest layer each steers; a mode without vectors watches the library."""
        resolve = self._resolver(mode)
        specs = mode.base_entries()
        if specs:
            return [Probe.for_vector(resolve(s.vector), s.layers, name=name) for name, s in specs.items()]
        middle = (self.engine.info.n_layer // 2,)
        probes = []
        if self._library is None:  # read once: listing loads every vector file
            self._library = list_library(self.repo, self.engine.info.identity)
        for entry in self._library:
            vector = resolve(entry.name)
            if middle[0] in vector.layers and entry.name not in {p.name for p in probes}:
                probes.append(Probe.for_vector(vector, middle, name=entry.name))
        return probes

    def _watch(self, session: Session, active: ActiveMode) -> None:
        self._use_meter(session, [*self.probes(active.mode), *gate_probes(active)])

    def _use_meter(self, session: Session, probes: list[Probe]) -> None:
        self.meter = ConceptMeter(probes)
        watch = getattr(session.steerer, "watch", None)
        if watch is not None:
            watch(self.meter)

    def health(self, vector: str) -> str:
        """What `rudder vectors check` found for one of the active mode's vectors (its card's verdict:
        strong, ok or weak), or "unchecked" when the vector has no health report."""
        resolve = self._resolver(self.mode)
        key = f"{resolve.base_dir}:{vector}"
        if key not in self._health:
            verdict = "unchecked"
            try:
                resolve(vector)
                path = resolve.sources.get(vector)
                card = load_card(path) if path is not None else None
                if card is not None and card.health is not None:
                    verdict = card.health.verdict
            except VectorError:
                pass
            self._health[key] = verdict
        return self._health[key]

    # -- undo --------------------------------------------------------------------------------------

    def undo(self) -> str:
        try:
            return Checkpoints(self.repo).undo().summary()
        except NeedsConfirmation as question:
            cid = question.checkpoint.id
            how = f"to undo them, run `rudder undo {cid}` in a terminal (it asks)"
            raise CheckpointError(f"{question}\n{how}") from None
