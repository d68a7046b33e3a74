"""The main screen's slash commands (`/mode`, `/undo`, `/diff`, `/tokens`, `/new`, `/sessions`, `/steer`,
`/instructions`, `/help`), custom commands (agent/commands.py) and `!cmd`; anything slow (git, undo, a shell
command, reading a trajectory) runs in a thread."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.screen import Screen

from rudder.agent.instructions import describe_files, load_instructions
from rudder.tools.base import ToolError
from rudder.tools.safegit import run_git
from rudder.ui.commands import help_text, parse_slash
from rudder.ui.dialogs.sessions import SessionPicker
from rudder.ui.sessions import list_sessions

if TYPE_CHECKING:
    from rudder.ui.bridge import Bridge
    from rudder.ui.widgets.status_line import StatusLine
    from rudder.ui.widgets.transcript import Transcript

SHELL_TIMEOUT = 60.0


class SlashCommands(Screen[None]):
    """Mixed into MainScreen (which provides the widgets, the bridge, switch_mode and replay)."""

    bridge: Bridge | None
    busy: bool
    transcript: Transcript
    status: StatusLine

    if TYPE_CHECKING:

        def switch_mode(self, name: str, now: bool = False) -> None: ...
        async def action_toggle_steering(self) -> None: ...
        async def replay(self, records: list[dict[str, Any]]) -> None: ...
        def start_turn(self, message: str) -> None: ...

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
        elif name == "instructions":
            await self.transcript.note(self.instructions_text(), "instructions")
        elif name == "help":
            await self.transcript.note(help_text(self.bridge.commands))
        elif (command := self.bridge.commands.get(name)) is not None:
            if self.busy:
                self.notify("the agent is working: wait, or press esc to interrupt", severity="warning")
                return
            await self.transcript.add_user(text)
            self.start_turn(command.expand(text.strip()[1 + len(name) :]))
        else:
            self.notify(f"unknown command /{name}; /help lists them", severity="warning")

    def instructions_text(self) -> str:
        """The files the model reads: this session's (after its first turn), else what a new turn would read."""
        assert self.bridge is not None
        session = self.bridge.session
        files = session.instructions.manifest()
        if session.conversation is None:
            count = lambda text: len(session.engine.tokenize(text, add_bos=False))  # noqa: E731
            budget = session.config.instructions_budget(session.engine.info)
            files = load_instructions(self.bridge.repo, "", budget, count).manifest()
        if not files:
            return "instructions: no AGENTS.md (or CLAUDE.md) here or in ~/.config/rudder/AGENTS.md"
        lines = [f"instructions: {describe_files(files)}"]
        lines += [f"  {f['path']}: applies to {f['scope']} ({f['source']})" for f in files]
        return "\n".join(lines)

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
        try:
            diff = run_git(self.bridge.repo, "diff", "--no-ext-diff", "--no-textconv", "HEAD")
        except ToolError as exc:
            diff = f"({exc})"
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
