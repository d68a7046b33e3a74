"""The prompt: multi-line (ctrl+j or shift+enter for a new line), Enter sends, `@file` shows fuzzy matches
under it and Tab completes the best one. Posts Submitted; the screen decides what a message means."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalGroup
from textual.message import Message
from textual.widgets import Static, TextArea

from rudder.ui.mentions import current_mention, fuzzy


class PromptArea(TextArea):
    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Completion(Message):
        """Tab pressed while an @mention is open."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, compact=True, **kwargs)  # type: ignore[arg-type]
        self.completing = False

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.clear()
                self.post_message(self.Submitted(text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "tab" and self.completing:
            event.stop()
            event.prevent_default()
            self.post_message(self.Completion())
            return
        await super()._on_key(event)


class PromptInput(VerticalGroup):
    def __init__(self, files: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.files: list[str] = files or []
        self.matches: list[str] = []

    def compose(self) -> ComposeResult:
        yield PromptArea(id="prompt-area", placeholder="Ask Rudder… (Enter sends, @file attaches, /help)")
        yield Static("", id="mentions", markup=False)

    @property
    def area(self) -> PromptArea:
        return self.query_one(PromptArea)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        area = self.area
        row, column = area.cursor_location
        lines = area.text.split("\n")
        offset = sum(len(line) + 1 for line in lines[:row]) + column
        mention = current_mention(area.text, offset)
        self.matches = fuzzy(mention[1], self.files) if mention else []
        area.completing = bool(self.matches)
        hint = self.query_one("#mentions", Static)
        hint.display = bool(self.matches)
        if self.matches:
            hint.update(Text.assemble(("@ ", "bold"), "  ".join(self.matches), ("   tab completes", "dim")))

    def on_prompt_area_completion(self, event: PromptArea.Completion) -> None:
        event.stop()
        if not self.matches:
            return
        area = self.area
        row, column = area.cursor_location
        line = area.document.get_line(row)
        mention = current_mention(line, column)
        if mention is None:
            return
        start, _ = mention
        area.replace(f"@{self.matches[0]} ", (row, start), (row, column))
