"""The main screen: coordinates the transcript, prompt, mode bar, steering panel and status line, and
turns agent events (AgentEvent messages) into widget updates. Blocking work runs in thread workers."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static

from rudder.agent.approval import Decision
from rudder.agent.events import (
    ApprovalRequested,
    ModeSwitched,
    RunFinished,
    RunStarted,
    SteeringChanged,
    StepFinished,
    StepStarted,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.ui.bridge import Bridge
from rudder.ui.commands import help_text, parse_slash
from rudder.ui.dialogs.approval import ApprovalDialog
from rudder.ui.dialogs.mode_picker import ModePicker
from rudder.ui.dialogs.sessions import SessionPicker
from rudder.ui.mentions import attach, repo_files
from rudder.ui.messages import AgentEvent, TurnFailed
from rudder.ui.sessions import list_sessions
from rudder.ui.widgets.mode_bar import ModeBar
from rudder.ui.widgets.prompt_input import PromptArea, PromptInput
from rudder.ui.widgets.status_line import StatusLine
from rudder.ui.widgets.steering_panel import SteeringPanel
from rudder.ui.widgets.transcript import Transcript

SHELL_TIMEOUT = 60.0


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "interrupt", "interrupt", priority=True),
        Binding("ctrl+o", "pick_mode", "modes"),
        Binding("ctrl+t", "toggle_steering", "steering"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.bridge: Bridge | None = None
        self.busy = False
        self.approvals: list[ApprovalDialog] = []
        self._gen_started: float | None = None
        self._gen_tokens = 0
        self._ctx_base = 0
        self._steering_lock = asyncio.Lock()
        self.interrupted_at: float | None = None  # when esc last interrupted a turn (perf_counter)
        self._steering: dict[str, tuple[list, str]] = {}  # phase -> (steering, reason), carried across steps

    # -- layout ----------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ModeBar(id="mode-bar")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                with Vertical(id="loading"):
                    yield LoadingIndicator()
                    yield Static("loading the model…", id="loading-label", markup=False)
                yield Transcript(id="transcript")
                yield PromptInput(id="prompt")
            yield SteeringPanel(id="steering")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def prompt(self) -> PromptArea:
        return self.query_one(PromptArea)

    def on_mount(self) -> None:
        self.query_one("#transcript").display = False
        self.prompt.disabled = True
        self.load()
        self.set_interval(0.1, self.poll_meters)

    def on_unmount(self) -> None:
        if self.bridge is not None:
            self.bridge.interrupt()  # a turn waiting on an approval or generating ends with the app

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """Load the model (unless the app was given one) and open a session: slow, so off the UI thread."""
        app = self.app
        try:
            engine = app.load_engine(  # type: ignore[attr-defined]
                lambda text: self.app.call_from_thread(self.query_one("#loading-label", Static).update, text)
            )
            bridge = Bridge(engine, app.repo, app.config, self.post_message, mode=app.mode)  # type: ignore[attr-defined]
            files = repo_files(app.repo)  # type: ignore[attr-defined]
        except Exception as exc:  # one clear notification; the app stays up
            self.app.call_from_thread(self.failed_to_load, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.ready, bridge, files)

    def failed_to_load(self, error: str) -> None:
        self.query_one("#loading-label", Static).update(f"could not start: {error}")
        self.query_one(LoadingIndicator).display = False
        self.notify(error, title="could not start", severity="error", timeout=30)

    async def ready(self, bridge: Bridge, files: list[str]) -> None:
        self.bridge = bridge
        info = bridge.engine.info
        self.query_one("#loading").display = False
        self.query_one("#transcript").display = True
        self.query_one(PromptInput).files = files
        self.status.set(model=info.name, n_ctx=info.n_ctx, state="ready", sandbox=bridge.sandbox)
        shown = {n: m.hotkey for n, m in bridge.modes.items() if "/" not in n}  # twins: in the picker only
        self.query_one(ModeBar).set_modes(shown, bridge.mode.name)
        await self.show_steering()
        self.prompt.disabled = False
        self.prompt.focus()

    async def show_steering(self) -> None:
        if self.bridge is None or not self.query_one(SteeringPanel).display:
            return  # rebuilt when shown: a hidden panel costs a hotkey nothing
        async with self._steering_lock:  # hotkeys pressed fast: one rebuild at a time, the last one wins
            scales = {**self.bridge.base_scales(), **self.bridge.scales}
            await self.query_one(SteeringPanel).show_mode(
                self.bridge.mode.name, scales, [p.name for p in self.bridge.meter.probes]
            )

    def poll_meters(self) -> None:
        if self.bridge is not None and self.query_one(SteeringPanel).display:
            self.query_one(SteeringPanel).update_meters(self.bridge.meter.latest())

    # -- input -----------------------------------------------------------------------------------------

    async def on_prompt_area_submitted(self, event: PromptArea.Submitted) -> None:
        text = event.text.strip()
        if self.bridge is None or not text:
            return
        if text.startswith("!"):
            await self.transcript.note(f"$ {text[1:].strip()}", "shell")
            self.run_shell(text[1:].strip())
        elif parse_slash(text) is not None:
            await self.run_slash(text)
        elif self.busy:
            self.notify("the agent is working: wait, or press esc to interrupt", severity="warning")
        else:
            message, attached = attach(text, self.bridge.repo)
            await self.transcript.add_user(text)
            if attached:
                await self.transcript.note("attached: " + ", ".join(attached))
            self.start_turn(message)

    def start_turn(self, message: str) -> None:
        self.busy = True
        self.status.set(state="working")
        self.transcript.focus()  # plain keys are mode hotkeys while the agent works
        self.turn(message)

    @work(thread=True, exit_on_error=False, group="turn")
    def turn(self, message: str) -> None:
        assert self.bridge is not None
        try:
            self.bridge.turn(message)
        except Exception as exc:
            self.post_message(TurnFailed(f"{type(exc).__name__}: {exc}"))

    async def on_turn_failed(self, event: TurnFailed) -> None:
        self.busy = False
        self.status.set(state="ready")
        self.notify(event.error, title="the turn failed", severity="error")
        self.prompt.focus()

    def on_key(self, event: Key) -> None:
        """A mode's hotkey outside the prompt: the key switches at the next step, shift+key now."""
        if self.bridge is None or isinstance(self.focused, PromptArea) or not event.character:
            return
        char = event.character
        for name, mode in self.bridge.modes.items():
            if mode.hotkey is not None and char.lower() == mode.hotkey:
                event.stop()
                self.switch_mode(name, now=char != mode.hotkey)
                return

    # -- actions ---------------------------------------------------------------------------------------

    def action_interrupt(self) -> None:
        if self.bridge is not None and self.busy:
            self.interrupted_at = time.perf_counter()
            self.bridge.interrupt()
            self.status.set(state="stopping")
        elif isinstance(self.focused, PromptArea):
            self.transcript.focus()
        elif isinstance(self.app.screen, Screen) and self.app.screen is not self:
            self.app.pop_screen()

    def action_pick_mode(self) -> None:
        if self.bridge is None:
            return
        modes = {n: (m.hotkey, m.description) for n, m in self.bridge.modes.items()}

        def picked(result: tuple[str, bool] | None) -> None:
            if result is not None:
                self.switch_mode(*result)

        self.app.push_screen(ModePicker(modes, self.bridge.mode.name), picked)

    def switch_mode(self, name: str, now: bool = False) -> None:
        if self.bridge is None:
            return
        try:
            self.bridge.switch_mode(name, now=now)
        except Exception as exc:
            self.notify(f"{name}: {exc}", title="cannot switch mode", severity="error")
            return
        bar = self.query_one(ModeBar)
        bar.pending = name
        if not self.busy:
            bar.active = name
        self.run_worker(self.show_steering, group="steering", exit_on_error=False)

    async def action_toggle_steering(self) -> None:
        panel = self.query_one(SteeringPanel)
        panel.display = not panel.display
        await self.show_steering()

    def on_steering_panel_scale_changed(self, event: SteeringPanel.ScaleChanged) -> None:
        if self.bridge is not None:
            self.bridge.set_scale(event.vector, event.scale)

    async def on_steering_panel_reset(self, event: SteeringPanel.Reset) -> None:
        if self.bridge is not None:
            self.bridge.reset_scales()
            await self.show_steering()

    async def run_slash(self, text: str) -> None:
        parsed = parse_slash(text)
        if parsed is None or self.bridge is None:
            return
        name, args = parsed
        if name == "mode":
            if not args or args[0] not in self.bridge.modes:
                self.notify(f"modes: {', '.join(self.bridge.modes)}", title="/mode NAME [now]", severity="warning")
            else:
                self.switch_mode(args[0], now=args[1:2] == ["now"])
        elif name == "undo":
            self.undo()
        elif name == "diff":
            self.show_diff()
        elif name == "tokens":
            s = self.bridge.session.summary
            self.notify(
                f"{s.tokens} tokens this turn, {s.steps} steps; context {self.status.status.ctx_used}"
                f"/{self.status.status.n_ctx}",
                title="tokens",
            )
        elif name == "new":
            if self.busy:
                self.bridge.interrupt()
            self.bridge.new_session()
            await self.transcript.clear()
            await self.transcript.note("new session")
        elif name == "sessions":
            self.app.push_screen(SessionPicker(list_sessions(self.bridge.repo)), self._resume)
        elif name == "steer":
            await self.action_toggle_steering()
        elif name == "help":
            await self.transcript.note(help_text())
        else:
            self.notify(f"unknown command /{name}; /help lists them", severity="warning")

    # -- slow work in threads ------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False)
    def undo(self) -> None:
        assert self.bridge is not None
        try:
            result = self.bridge.undo()
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="undo", severity="error")
            return
        self.app.call_from_thread(self.transcript.note, f"undo: {result}", "undo")

    @work(thread=True, exit_on_error=False)
    def show_diff(self) -> None:
        assert self.bridge is not None
        diff = _run(["git", "diff", "HEAD"], self.bridge.repo)
        if diff.strip():
            self.app.call_from_thread(self.transcript.diff, diff)
        else:
            self.app.call_from_thread(self.notify, "no changes against HEAD", title="/diff")

    @work(thread=True, exit_on_error=False)
    def run_shell(self, command: str) -> None:
        assert self.bridge is not None
        try:
            done = subprocess.run(
                command, shell=True, cwd=self.bridge.repo, capture_output=True, text=True, timeout=SHELL_TIMEOUT
            )
            output = (done.stdout + done.stderr).rstrip() or f"(exit {done.returncode}, no output)"
        except subprocess.TimeoutExpired:
            output = f"(killed after {SHELL_TIMEOUT:.0f} s)"
        self.app.call_from_thread(self.transcript.note, output[-4000:], "shell-output")

    def _resume(self, path: Path | None) -> None:
        if path is not None and self.bridge is not None:
            self.resume(path)

    @work(thread=True, exit_on_error=False)
    def resume(self, path: Path) -> None:
        assert self.bridge is not None
        try:
            records = self.bridge.resume(path)
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="cannot resume", severity="error")
            return
        self.app.call_from_thread(self.replay, records)

    async def replay(self, records: list[dict]) -> None:
        await self.transcript.clear()
        await self.transcript.note("resumed session")
        for record in records:
            if record.get("type") == "run":
                await self.transcript.add_user(str(record.get("task", "")))
            elif record.get("type") == "step":
                tool = record.get("tool") or record.get("kind")
                await self.transcript.note(f"step {int(record.get('index', 0)) + 1} · {record.get('kind')} · {tool}")
            elif record.get("type") == "end" and record.get("answer"):
                await self.transcript.answer(str(record["answer"]))

    # -- agent events -----------------------------------------------------------------------------------

    async def on_agent_event(self, message: AgentEvent) -> None:
        try:
            await self.show_event(message)
        except Exception as exc:  # a display bug must not take the session down: say it, keep going
            self.log.error(exc)
            self.notify(f"{type(exc).__name__}: {exc}", title="display error", severity="error")
            if self.app.strict:  # type: ignore[attr-defined]
                raise

    async def show_event(self, message: AgentEvent) -> None:
        event, t = message.event, self.transcript
        if isinstance(event, Token):
            if self._gen_started is None:
                self._gen_started = time.perf_counter()
            self._gen_tokens += 1
            await t.token(event.step, event.text, event.phase)
            elapsed = time.perf_counter() - self._gen_started
            self.status.set(
                tokens=self.bridge.session.summary.tokens + self._gen_tokens if self.bridge else 0,
                ctx_used=self._ctx_base + self._gen_tokens,
                tok_s=self._gen_tokens / elapsed if elapsed > 0.2 else None,
            )
        elif isinstance(event, StepStarted):
            self._gen_started, self._gen_tokens = None, 0
            block = await t.start_step(event.index, str(event.kind), event.mode)
            for phase, (steering, _) in self._steering.items():
                block.set_steering(phase, steering)
            self.status.set(step=event.index)
        elif isinstance(event, SteeringChanged):
            self._steering[str(event.phase)] = (event.steering, event.reason)
            block = t.step(event.step)
            if block is not None:
                block.set_steering(str(event.phase), event.steering, event.reason)
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
        elif isinstance(event, StepFinished):
            block = t.step(event.record.index)
            if block is not None:
                await block.end_text()
                if event.record.tool == "finish":
                    block.hide_call()  # the answer follows as its own block
            record = event.record
            self._ctx_base = record.prompt_tokens + record.generated_tokens
            self.status.set(ctx_used=self._ctx_base, tokens=self.bridge.session.summary.tokens if self.bridge else 0)
        elif isinstance(event, RunStarted):
            self.status.set(state="working")
        elif isinstance(event, RunFinished):
            await self.finished(event)

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

    async def finished(self, event: RunFinished) -> None:
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
        if summary.error:
            self.notify(summary.error, title="the agent stopped", severity="error")
        self.busy = False
        self.status.set(state="ready")
        self.prompt.focus()


def _run(command: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"({exc})"
