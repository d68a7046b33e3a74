"""The modes and their hotkeys; the active one highlighted, a pending switch shown until it lands."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class ModeBar(Static):
    active: reactive[str] = reactive("")
    pending: reactive[str] = reactive("")

    def __init__(self, modes: dict[str, str | None] | None = None, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.modes: dict[str, str | None] = modes or {}  # name -> hotkey
        self.notices: dict[str, str] = {}

    def set_modes(self, modes: dict[str, str | None], active: str, notices: dict[str, str] | None = None) -> None:
        """`notices`: per mode, what runs prompt-led on this model (shown while that mode is active)."""
        self.modes = modes
        self.notices = notices or {}
        self.active = active
        self.refresh_bar()

    def watch_active(self) -> None:
        self.refresh_bar()

    def watch_pending(self) -> None:
        self.refresh_bar()

    def refresh_bar(self) -> None:
        text = Text("mode ", "dim")
        for name, key in self.modes.items():
            style = "bold reverse" if name == self.active else ("bold underline" if name == self.pending else "")
            label = f" {name}" + (f" [{key}]" if key else "") + " "
            text.append(label, style)
        if self.pending and self.pending != self.active:
            text.append(f"  → {self.pending} next step", "yellow")
        elif notice := self.notices.get(self.active):
            text.append(f"  {notice.removeprefix(f'{self.active}: ')}", "yellow")
        self.update(text, layout=False)  # one row, always: a hotkey costs a redraw, not a layout pass
