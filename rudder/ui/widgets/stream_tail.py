"""The line being written: plain text under the streamed Markdown, redrawn without a layout pass.

Textual lays the whole screen out again whenever a widget's content may change size, and a layout costs
tens of milliseconds on a loaded machine: done for every streamed piece, it is what a keystroke waits
behind. The transcript therefore hands Markdown only completed lines (a layout per line, not per token)
and shows the line in progress here: `show` asks for a layout only when the text needs more or fewer
rows than before, which happens once a row is full.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StreamTail(Static):
    DEFAULT_CSS = "StreamTail { height: auto; display: none; }"

    def __init__(self, style: str = "", *, keep: int | None = None, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.tail_style, self.keep = style, keep  # keep: show only the last `keep` characters
        self.text = ""
        self._rows = 0

    def show(self, text: str) -> None:
        self.text = text
        shown = Text(text[-self.keep :] if self.keep else text, self.tail_style)
        width = self.content_region.width or self.app.size.width
        rows = len(shown.wrap(self.app.console, max(1, width))) if text else 0
        layout = rows != self._rows or self.display != bool(text)
        self._rows = rows
        self.display = bool(text)
        self.update(shown, layout=layout)
