"""The control panel: one slider per vector of the active mode (scale applied at the next token), a
reset, and a live concept meter per vector. Posts ScaleChanged / Reset upward; never calls the agent."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalGroup, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static
from textual_slider import Slider

from rudder.ui.widgets.concept_meter import ConceptMeter

STEPS = 1000  # slider units per 1.0 of scale: 0.001 resolution
HEALTH_STYLE = {"strong": "green", "ok": "yellow", "weak": "bold red", "unchecked": "dim"}
LIMIT = 0.15  # the slider spans ±LIMIT (useful relative scales are 0.02-0.08)


class VectorSlider(VerticalGroup):
    DEFAULT_CSS = "VectorSlider { height: auto; }"

    def __init__(self, vector: str, scale: float, health: str = "unchecked") -> None:
        super().__init__(classes=f"vector {health}")
        self.vector, self.scale, self.health = vector, scale, health

    def compose(self) -> ComposeResult:
        yield Static(self._label(), classes="slider-label")
        value = max(-LIMIT, min(LIMIT, self.scale))
        yield Slider(int(-LIMIT * STEPS), int(LIMIT * STEPS), step=5, value=round(value * STEPS))
        yield Static(position_text(self.scale), classes="slider-position", markup=False)

    def _label(self) -> Text:
        """Name, scale, and what `rudder vectors check` said of the vector (weak: no better than chance)."""
        health = "⚠ weak" if self.health == "weak" else self.health
        return Text.assemble(
            (self.vector, "bold"), f"  ×{self.scale:+.3f}  ", (health, HEALTH_STYLE.get(self.health, ""))
        )

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.query_one(".slider-label", Static).update(self._label())
        self.query_one(".slider-position", Static).update(position_text(scale))


def position_text(scale: float, width: int = 21) -> str:
    """The slider's value and where it sits, in plain characters: some terminals (tmux) draw the Slider
    widget itself as an empty box.  e.g. `-0.15 ├─────┼──●──┤ +0.15`"""
    value = max(-LIMIT, min(LIMIT, scale))
    cells = ["─"] * width
    cells[width // 2] = "┼"  # zero
    cells[round((value + LIMIT) / (2 * LIMIT) * (width - 1))] = "●"
    return f"-{LIMIT:g} ├{''.join(cells)}┤ +{LIMIT:g}"


class SteeringPanel(VerticalScroll):
    class ScaleChanged(Message):
        def __init__(self, vector: str, scale: float) -> None:
            super().__init__()
            self.vector, self.scale = vector, scale

    class Reset(Message):
        pass

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.scales: dict[str, float] = {}
        self.meters: list[str] = []
        self._quiet = False

    def compose(self) -> ComposeResult:
        yield Static("Steering", classes="panel-title")
        yield VerticalGroup(id="sliders")
        yield Button("reset", id="reset-scales", compact=True)
        yield Static("Concept meters (cosine, per token)", classes="panel-title")
        yield VerticalGroup(id="meters")

    async def show_mode(
        self, mode: str, scales: dict[str, float], meters: list[str], health: dict[str, str] | None = None
    ) -> None:
        """Rebuild for a mode: its vectors' sliders (each with its health verdict), one meter per watched
        vector."""
        self.scales, self.meters = dict(scales), list(meters)
        health = health or {}
        sliders = self.query_one("#sliders", VerticalGroup)
        await sliders.remove_children()
        if scales:
            rows = [VectorSlider(name, scale, health.get(name, "unchecked")) for name, scale in scales.items()]
            await sliders.mount_all(rows)
        else:
            await sliders.mount(Static(Text(f"{mode} steers nothing", "dim"), classes="empty"))
        self.query_one("#reset-scales", Button).display = bool(scales)
        box = self.query_one("#meters", VerticalGroup)
        await box.remove_children()
        await box.mount_all([ConceptMeter(name) for name in meters])

    def update_meters(self, readings: dict[str, list[float]]) -> None:
        for meter in self.query(ConceptMeter):
            meter.show(readings.get(meter.vector, []))

    def on_slider_changed(self, event: Slider.Changed) -> None:
        event.stop()
        row = next((r for r in self.query(VectorSlider) if r.query_one(Slider) is event.slider), None)
        if row is None:
            return
        scale = event.value / STEPS
        if abs(scale - row.scale) < 1e-9:
            return
        row.set_scale(scale)
        self.post_message(self.ScaleChanged(row.vector, scale))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reset-scales":
            event.stop()
            self.post_message(self.Reset())
