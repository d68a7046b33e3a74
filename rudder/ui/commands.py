"""The slash commands and keys a user can type, and how a line is read as one (no screen here: the main
screen runs them, palette.py offers them in ctrl+p)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rudder.agent.commands import CustomCommand


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
