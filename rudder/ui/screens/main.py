"""The main screen: lays out the transcript, prompt, mode bar, steering panel and status line; takes the
user's input (messages, hotkeys, actions). Agent events become widget updates in agent_view.py, slash
commands live in slash.py. Blocking work runs in thread workers, never on the event loop."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static

from rudder.ui.bridge import Bridge
from rudder.ui.commands import parse_slash
from rudder.ui.dialogs.mode_picker import ModePicker
from rudder.ui.mentions import attach, repo_files
from rudder.ui.messages import ModeSwitchDone, TurnFailed
from rudder.ui.screens.agent_view import AgentView
from rudder.ui.screens.slash import SlashCommands
from rudder.ui.widgets.mode_bar import ModeBar
from rudder.ui.widgets.prompt_input import PromptArea, PromptInput
from rudder.ui.widgets.status_line import StatusLine
from rudder.ui.widgets.steering_panel import SteeringPanel
from rudder.ui.widgets.transcript import Transcript


class MainScreen(AgentView, SlashCommands):
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
        self._steering_lock = asyncio.Lock()
        self.interrupted_at: float | None = None  # when esc last interrupted a turn (perf_counter)
        self.init_agent_view()

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
            bridge = Bridge(engine, app.repo, app.config, self.pump.put, mode=app.mode)  # type: ignore[attr-defined]
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
        self.app.bridge = bridge  # type: ignore[attr-defined]  # stopped before the engine closes
        info = bridge.engine.info
        self.query_one("#loading").display = False
        self.query_one("#transcript").display = True
        self.query_one(PromptInput).files = files
        self.status.set(model=info.name, n_ctx=info.n_ctx, state="ready", sandbox=bridge.sandbox)
        shown = {n: m.hotkey for n, m in bridge.modes.items() if "/" not in n}  # twins: in the picker only
        notices = {name: mode.notice for name, mode in bridge.modes.items() if mode.notice}
        self.query_one(ModeBar).set_modes(shown, bridge.mode.name, notices)
        await self.show_steering()
        for warning in bridge.commands.warnings:  # a bad command file: said once, the others work
            self.notify(warning, title="custom command skipped", severity="warning", timeout=20)
        self.prompt.disabled = False
        self.prompt.focus()

    async def show_steering(self) -> None:
        if self.bridge is None or not self.query_one(SteeringPanel).display:
            return  # rebuilt when shown: a hidden panel costs a hotkey nothing
        async with self._steering_lock:  # hotkeys pressed fast: one rebuild at a time, the last one wins
            scales = {**self.bridge.base_scales(), **self.bridge.scales}
            health = {name: self.bridge.health(name) for name in scales}
            await self.query_one(SteeringPanel).show_mode(
                self.bridge.mode.name, scales, [p.name for p in self.bridge.meter.probes], health
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
        """Outside the prompt a mode's hotkey switches at the next step (shift+key: now); any other printable
        key is someone typing: it goes into the prompt, which takes the focus (keys typed while the agent
        worked once switched modes and toggled blocks)."""
        if self.bridge is None or isinstance(self.focused, PromptArea) or not event.is_printable:
            return
        char = event.character or ""
        for name, mode in self.bridge.modes.items():
            if mode.hotkey is not None and char.lower() == mode.hotkey:
                event.stop()
                self.switch_mode(name, now=char != mode.hotkey)
                return
        if not char or self.prompt.disabled or not isinstance(self.app.screen, MainScreen):
            return
        event.stop()
        event.prevent_default()
        self.prompt.focus()
        self.prompt.insert(char)

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
        """The bar shows the switch at once; the mode is built (vectors loaded, plans checked) on the
        bridge's thread, so a hotkey costs the event loop only the bar's redraw."""
        if self.bridge is None:
            return
        bar = self.query_one(ModeBar)
        bar.pending = name
        if not self.busy:
            bar.active = name
        future = self.bridge.switch_mode_soon(name, now=now)
        future.add_done_callback(lambda done: self.post_message(ModeSwitchDone(name, done)))

    async def on_mode_switch_done(self, message: ModeSwitchDone) -> None:
        assert isinstance(message.future, Future) and self.bridge is not None
        error = message.future.exception() if not message.future.cancelled() else None
        if error is not None:
            self.notify(f"{message.mode}: {error}", title="cannot switch mode", severity="error")
            bar = self.query_one(ModeBar)
            bar.pending = "" if bar.pending == message.mode else bar.pending
            if not self.busy:
                bar.active = self.bridge.mode.name
        elif not message.future.cancelled() and message.future.result():
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
