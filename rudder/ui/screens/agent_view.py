"""The main screen's agent side: Session events, taken from the event pump at a bounded rate, become
transcript, mode-bar and status-line updates; approvals open the modal; a resumed session is drawn
through the same path as a live one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from rudder.agent.approval import Decision
from rudder.agent.events import (
    ApprovalRequested,
    Event,
    ModeSwitched,
    Notice,
    RunFinished,
    RunStarted,
    SteeringChanged,
    StepFinished,
    StepRetried,
    StepStarted,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.ui.dialogs.approval import ApprovalDialog
from rudder.ui.messages import AgentEvent, EventsDue, EventsWaiting
from rudder.ui.pump import INTERVAL, KEY_QUIET, MAX_DEFER, EventPump
from rudder.ui.replay import Note, UserTurn, replay_items
from rudder.ui.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from rudder.ui.bridge import Bridge
    from rudder.ui.widgets.prompt_input import PromptArea
    from rudder.ui.widgets.status_line import StatusLine
    from rudder.ui.widgets.transcript import Transcript


class AgentView(Screen[None]):
    """Mixed into MainScreen (which provides the widgets and the bridge)."""

    bridge: Bridge | None
    busy: bool
    transcript: Transcript
    status: StatusLine
    prompt: PromptArea

    def init_agent_view(self) -> None:
        self.pump = EventPump(lambda: self.post_message(EventsWaiting()))
        self.approvals: list[ApprovalDialog] = []
        self._gen_started: float | None = None
        self._gen_tokens = 0
        self._ctx_base = 0
        self._last_take = 0.0
        self._steering: dict[str, list] = {}  # phase -> steering, carried across steps

    # -- the pump: at most RATE updates a second ----------------------------------------------------

    def on_events_waiting(self, message: EventsWaiting) -> None:
        self._take_soon()

    def _take_soon(self) -> None:
        """Take the pump's events when due: at most RATE times a second, and not in the moments after a key
        (its echo is drawn first; a transcript update then would delay it), but never later than MAX_DEFER
        after the last update (a held key does not freeze the transcript)."""
        now = time.perf_counter()
        wait = self._last_take + INTERVAL - now
        if now - self._last_take < MAX_DEFER:
            wait = max(wait, self.app.last_key + KEY_QUIET - now)  # type: ignore[attr-defined]
        if wait > 0:
            self.set_timer(wait, lambda: self.post_message(EventsDue()))
        else:
            self.post_message(EventsDue())

    async def on_events_due(self, message: EventsDue) -> None:
        now = time.perf_counter()
        key_just_now = now - self.app.last_key < KEY_QUIET  # type: ignore[attr-defined]
        if key_just_now and now - self._last_take < MAX_DEFER:
            self._take_soon()
            return
        self._last_take = now
        await self.show_events(self.pump.take())

    async def on_agent_event(self, message: AgentEvent) -> None:
        await self.show_events([message.event])

    async def show_events(self, events: list[Event]) -> None:
        try:
            for event in events:
                await self.show_event(event)
            if self.busy and any(isinstance(e, Token) for e in events):
                self._show_rate()  # once per update, not per token (the turn's end sets the final count)
        except Exception as exc:  # a display bug must not take the session down: say it, keep going
            self.log.error(exc)
            self.notify(f"{type(exc).__name__}: {exc}", title="display error", severity="error")
            if self.app.strict:  # type: ignore[attr-defined]
                raise

    def _show_rate(self) -> None:
        elapsed = time.perf_counter() - self._gen_started if self._gen_started is not None else 0.0
        self.status.set(
            tokens=self.bridge.session.summary.tokens + self._gen_tokens if self.bridge else 0,
            ctx_used=self._ctx_base + self._gen_tokens,
            tok_s=self._gen_tokens / elapsed if elapsed > 0.2 else None,
        )

    # -- one event --------------------------------------------------------------------------------

    async def show_event(self, event: Event) -> None:
        t = self.transcript
        if isinstance(event, Token):
            if self._gen_started is None:
                self._gen_started = time.perf_counter()
            self._gen_tokens += getattr(event, "count", 1)  # a TokenRun is several tokens
            await t.token(event.step, event.text, event.phase, event.erase)
        elif isinstance(event, StepStarted):
            self._gen_started, self._gen_tokens = None, 0
            block = await t.start_step(event.index, str(event.kind), event.mode)
            for phase, steering in self._steering.items():
                block.set_steering(phase, steering)
            self.status.set(step=event.index)
        elif isinstance(event, SteeringChanged):
            await self._steering_changed(event)
        elif isinstance(event, ToolCallStarted):
            block = t.step(event.step)
            if block is not None:
                await block.end_text()
                await block.tool_started(event.tool, event.arguments, event.access)
        elif isinstance(event, ApprovalRequested):
            block = t.step(event.request.step)
            if block is not None and block.tool is not None:
                block.tool.waiting()
            self.ask(event)
        elif isinstance(event, ToolCallFinished):
            block = t.step(event.step)
            if block is not None and block.tool is not None:
                block.tool.finish(event.ok, event.observation, event.diff, event.seconds)
        elif isinstance(event, ModeSwitched):
            bar = self.query_one(ModeBar)
            bar.active, bar.pending = event.new, ""
            await t.note(f"mode {event.old} → {event.new} " + ("(now)" if event.now else "(this step)"), "mode")
            block = t.step(event.step)
            if block is not None:
                block.set_mode(event.new)
        elif isinstance(event, StepRetried):
            block = t.step(event.step)
            if block is not None:
                await block.retract(event.mode, event.reason)
        elif isinstance(event, Notice):
            await t.note(f"warning: {event.text}", "warning")
            self.notify(event.text, title="warning", severity="warning", timeout=8)
        elif isinstance(event, StepFinished):
            await self._step_finished(event)
        elif isinstance(event, RunStarted):
            self.status.set(state="working")
        elif isinstance(event, RunFinished):
            await self.finished(event)

    async def _steering_changed(self, event: SteeringChanged) -> None:
        reason = event.reason
        if event.guard is not None:
            reason = f"guard ×{float(event.guard.get('factor_after', 0.0)):g}"
        if event.gate is not None:  # conditional steering: the header shows the reading and the verdict
            side = ">" if event.gate.get("above", True) else "<"
            verdict = "fired" if event.gate.get("fired") else "quiet"
            value, threshold = float(event.gate.get("value", 0.0)), float(event.gate.get("threshold", 0.0))
            reason = f"gate {event.gate.get('axis')} {verdict}: {value:+.3f} {side} {threshold:+.3f}"
        self._steering[str(event.phase)] = event.steering
        block = self.transcript.step(event.step)
        if block is not None:
            block.set_steering(str(event.phase), event.steering, reason)
            if event.guard is not None:
                await block.add_guard(event.guard)

    async def _step_finished(self, event: StepFinished) -> None:
        block = self.transcript.step(event.record.index)
        if block is not None:
            await block.end_text()
            if event.record.tool == "finish":
                block.hide_call()  # the answer follows as its own block
        record = event.record
        self._ctx_base = record.prompt_tokens + record.generated_tokens
        self.status.set(ctx_used=self._ctx_base, tokens=self.bridge.session.summary.tokens if self.bridge else 0)

    def ask(self, event: ApprovalRequested) -> None:
        request = event.request
        dialog = ApprovalDialog(request)
        self.approvals.append(dialog)

        def answered(result: tuple[Decision, str] | None) -> None:
            if dialog in self.approvals:
                self.approvals.remove(dialog)
            if result is not None:
                request.answer(*result)

        self.app.push_screen(dialog, answered)

    async def finished(self, event: RunFinished, *, live: bool = True) -> None:
        for dialog in list(self.approvals):  # an interrupt rejected them already
            if dialog.is_attached:
                dialog.dismiss(None)
        self._steering = {}  # the session clears steering when a turn ends
        summary = event.summary
        self.status.set(tokens=summary.tokens)
        if summary.answer:
            await self.transcript.answer(summary.answer)
        if summary.status != "finished":
            detail = f": {summary.error}" if summary.error else ""
            await self.transcript.note(f"turn ended: {summary.status}{detail}", "error" if summary.error else "info")
        if summary.error and live:
            self.notify(summary.error, title="the agent stopped", severity="error")
        self.busy = False
        self.status.set(state="ready")
        self.prompt.focus()

    # -- a resumed session: its steps drawn like live ones -------------------------------------------

    async def replay(self, records: list[dict[str, Any]]) -> None:
        def access(tool: str) -> str:
            found = self.bridge.session.tools.get(tool) if self.bridge is not None else None
            return str(found.access) if found is not None else "read"

        await self.transcript.clear()
        await self.transcript.note("resumed session")
        self._steering = {}
        for item in replay_items(records, access):
            if isinstance(item, UserTurn):
                await self.transcript.add_user(item.task)
            elif isinstance(item, Note):
                await self.transcript.note(item.text, item.kind)
            elif isinstance(item, RunFinished):
                await self.finished(item, live=False)
            elif isinstance(item, ApprovalRequested):
                continue  # answered long ago
            else:
                await self.show_event(item)
        self._gen_started, self._gen_tokens = None, 0
