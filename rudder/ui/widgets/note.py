"""A one-line note in the transcript: a mode switch, an undo, a shell command's result, an error."""

from __future__ import annotations

from textual.widgets import Static


class Note(Static):
    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__(text, markup=False, classes=f"note {kind}")
