"""The conversation: user messages, one block per agent step, notes and answers. Anchored: it follows the
newest line as content grows (no scroll request per update, which would cost a layout pass each time)
until the user scrolls up, and again once they scroll back to the end."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Markdown

from rudder.interfaces import Phase
from rudder.ui.widgets.diff_block import DiffBlock
from rudder.ui.widgets.note import Note
from rudder.ui.widgets.step_block import StepBlock
from rudder.ui.widgets.user_message import UserMessage


class Transcript(VerticalScroll, can_focus=True):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps: dict[int, StepBlock] = {}
        self.answers: list[str] = []

    def on_mount(self) -> None:
        self.anchor()

    async def _add(self, widget: Widget) -> Widget:
        await self.mount(widget)
        return widget

    async def add_user(self, text: str) -> None:
        await self._add(UserMessage(text))

    async def note(self, text: str, kind: str = "info") -> None:
        await self._add(Note(text, kind))

    async def answer(self, text: str) -> None:
        self.answers.append(text)
        await self._add(Markdown(text, classes="answer"))

    async def diff(self, diff: str) -> None:
        await self._add(DiffBlock(diff))

    async def start_step(self, index: int, kind: str, mode: str) -> StepBlock:
        block = StepBlock(index, kind, mode)
        self.steps[index] = block
        await self._add(block)
        return block

    def step(self, index: int) -> StepBlock | None:
        return self.steps.get(index)

    async def token(self, index: int, text: str, phase: Phase, erase: int = 0) -> None:
        block = self.steps.get(index)
        if block is not None:
            await block.add_token(text, phase, erase)

    async def clear(self) -> None:
        self.steps = {}
        await self.remove_children()
