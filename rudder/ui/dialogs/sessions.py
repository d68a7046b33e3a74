"""/sessions: the saved sessions (trajectories) of this repo, newest first; dismisses with a path or None."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from rudder.ui.sessions import SavedSession


class SessionPicker(ModalScreen[Path | None]):
    CSS_PATH = "mode_picker.tcss"
    BINDINGS: ClassVar = [Binding("escape", "dismiss_none", "cancel")]

    def __init__(self, sessions: list[SavedSession]) -> None:
        super().__init__()
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Resume a session (enter)", id="picker-title")
            if not self.sessions:
                yield Static("no saved sessions in this repo yet", markup=False)
            options = [
                Option(f"{s.path.stem}  {s.turns} turn(s), {s.steps} step(s), {s.mode}: {s.task[:60]}", id=str(i))
                for i, s in enumerate(self.sessions)
            ]
            yield OptionList(*options, id="picker-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.sessions[int(str(event.option.id))].path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
