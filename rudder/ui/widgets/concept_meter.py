"""A live concept meter: how strongly each generated token's residual points along one vector (cosine)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalGroup
from textual.widgets import Sparkline, Static


class ConceptMeter(VerticalGroup):
    DEFAULT_CSS = """
    ConceptMeter { height: auto; }
    ConceptMeter > Sparkline { height: 2; display: none; }
    """

    def __init__(self, name: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.vector = name
        self.values: list[float] = []

    def compose(self) -> ComposeResult:
        yield Static(self._label(), classes="meter-label")
        yield Sparkline([0.0], summary_function=max)  # hidden until the first reading

    def _label(self) -> Text:
        value = f"{self.values[-1]:+.3f}" if self.values else "  —"
        return Text.assemble(("meter ", "dim"), (self.vector, "bold"), f"  {value}")

    def show(self, values: list[float]) -> None:
        if values == self.values:
            return
        self.values = values
        sparkline = self.query_one(Sparkline)
        sparkline.display = bool(values)
        sparkline.data = values[-60:] or [0.0]
        self.query_one(".meter-label", Static).update(self._label(), layout=False)  # one row: no layout pass
