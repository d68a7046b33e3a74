"""Slash commands and the command palette: both end in one of the main screen's actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from rudder.agent.commands import CustomCommand

if TYPE_CHECKING:
    from rudder.ui.screens.main import MainScreen


@dataclass(frozen=True)
class Command:
    name: str
    help: str


SLASH = [
    Command("mode", "/mode NAME [now]: switch mode at the next step (or now)"),
    Command("undo", "/undo: revert the agent's last step (only its own changes)"),
    Command("diff", "/diff: the working tree's changes against HEAD"),
    Command("tokens", "/tokens: tokens spent, context used"),
    Command("new", "/new: a new session (a new trajectory)"),
    Command("sessions", "/sessions: resume a saved session"),
    Command("steer", "/steer: show or hide the steering panel"),
    Command("instructions", "/instructions: the AGENTS.md files the model reads, and what the budget cut"),
    Command("help", "/help: commands and keys"),
]

KEYS = [
    ("enter", "send the message (ctrl+j: new line)"),
    ("esc", "interrupt generation or a running tool; in the prompt when idle: leave it (for hotkeys)"),
    ("KEY", "a mode's hotkey: switch at the next step (outside the prompt)"),
    ("shift+KEY", "switch now, at the next token"),
    ("ctrl+o", "mode picker"),
    ("ctrl+t", "steering panel: sliders and concept meters"),
    ("ctrl+p", "command palette"),
    ("tab", "focus prompt / transcript; completes an @file"),
    ("!cmd", "run a shell command yourself"),
    ("ctrl+q", "quit"),
]


def parse_slash(text: str) -> tuple[str, list[str]] | None:
    """('mode', ['fast-draft', 'now']) for '/mode fast-draft now'; None if it is not a slash command."""
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, *args = text[1:].split()
    return name.lower(), args


def custom_help(command: CustomCommand) -> str:
    hint = f" {command.argument_hint}" if command.argument_hint else ""
    return f"/{command.name}{hint}: {command.label}"


def help_text(custom: Iterable[CustomCommand] = ()) -> str:
    lines = [c.help for c in SLASH]
    extra = [custom_help(c) for c in custom]
    if extra:
        lines += ["", "custom commands (~/.config/rudder/commands, .rudder/commands):", *extra]
    lines += ["", *(f"{key:>10}  {what}" for key, what in KEYS)]
    return "\n".join(lines)


class RudderCommands(Provider):
    """Everything a slash command does, and each mode, in the palette (ctrl+p)."""

    def _entries(self) -> list[tuple[str, Callable[[], object], str]]:
        screen: MainScreen = self.screen  # type: ignore[assignment]
        entries: list[tuple[str, Callable[[], object], str]] = [
            ("Undo the last step", partial(screen.run_slash, "/undo"), "revert the agent's last write"),
            ("Show the diff", partial(screen.run_slash, "/diff"), "working tree vs HEAD"),
            ("Tokens", partial(screen.run_slash, "/tokens"), "tokens spent, context used"),
            ("New session", partial(screen.run_slash, "/new"), "start over with a new trajectory"),
            ("Resume a session", partial(screen.run_slash, "/sessions"), "saved trajectories"),
            ("Steering panel", screen.action_toggle_steering, "sliders and concept meters"),
            ("Pick a mode", screen.action_pick_mode, "ctrl+o"),
        ]
        bridge = getattr(screen, "bridge", None)
        for command in bridge.commands if bridge is not None else []:
            entries.append((f"/{command.name}", partial(screen.run_slash, f"/{command.name}"), command.label))
        for name in bridge.modes if bridge is not None else []:
            entries.append((f"Mode: {name} (next step)", partial(screen.switch_mode, name, False), "switch mode"))
            entries.append((f"Mode: {name} (now)", partial(screen.switch_mode, name, True), "switch at the next token"))
        return entries

    async def discover(self) -> Hits:
        for title, callback, help_ in self._entries():
            yield DiscoveryHit(title, callback, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_ in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_)
