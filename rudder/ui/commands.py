"""The slash commands and keys a user can type, and how a line is read as one (no screen here: the main
screen runs them, palette.py offers them in ctrl+p)."""

from __future__ import annotations

from dataclasses import dataclass


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


def help_text() -> str:
    lines = [c.help for c in SLASH] + ["", *(f"{key:>10}  {what}" for key, what in KEYS)]
    return "\n".join(lines)
