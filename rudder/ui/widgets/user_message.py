"""What the user asked, as it went to the agent."""

from __future__ import annotations

from textual.widgets import Static


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False, classes="user")
