"""ctrl+o: pick a mode. Dismisses with (name, now) or None; Enter switches at the next step, shift+enter now."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ModePicker(ModalScreen[tuple[str, bool] | None]):
    CSS_PATH = "mode_picker.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss_none", "cancel"),
        Binding("ctrl+n,shift+enter", "pick(True)", "switch now"),
    ]

    def __init__(self, modes: dict[str, tuple[str | None, str]], active: str) -> None:
        super().__init__()
        self.modes, self.active = modes, active  # name -> (hotkey, description)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Switch mode  (enter: next step · ctrl+n: now)", id="picker-title")
            options = []
            for name, (key, description) in self.modes.items():
                marker = "●" if name == self.active else " "
                hotkey = f"[{key}]" if key else "   "
                options.append(Option(f"{marker} {hotkey} {name}  —  {description}", id=name))
            yield OptionList(*options, id="picker-list")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = list(self.modes)
        option_list.highlighted = names.index(self.active) if self.active in names else 0
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss((str(event.option.id), False))

    def action_pick(self, now: bool) -> None:
        option_list = self.query_one(OptionList)
        if option_list.highlighted is not None:
            option = option_list.get_option_at_index(option_list.highlighted)
            self.dismiss((str(option.id), now))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
