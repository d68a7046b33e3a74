"""One agent step: its kind, mode and steering in the header, the model's text streaming as Markdown,
the raw tool call while it is being written, then the tool block."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalGroup
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from rudder.interfaces import Phase
from rudder.ui.widgets.tool_block import ToolBlock


def describe_steering(steering: list[dict[str, Any]]) -> str:
    if not steering:
        return "unsteered"
    parts = []
    for use in steering:
        layers = use.get("layers") or []
        span = f" @{layers[0]}-{layers[-1]}" if len(layers) > 1 else (f" @{layers[0]}" if layers else "")
        parts.append(f"{use.get('vector')} ×{float(use.get('scale', 0)):.3g}{span}")
    return ", ".join(parts)


class StepBlock(VerticalGroup):
    def __init__(self, index: int, kind: str, mode: str) -> None:
        super().__init__(classes="step")
        self.index, self.kind, self.mode = index, kind, mode
        self.steering: dict[str, str] = {}
        self.text = ""  # everything the model wrote in this step
        self.call_text = ""
        self.tool: ToolBlock | None = None
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="step-header")
        yield Markdown("", classes="thought")
        yield Static("", markup=False, classes="call")

    def _header(self) -> Text:
        header = Text.assemble(
            (f"step {self.index + 1}", "bold"), " · ", (self.kind, "cyan"), " · ", (self.mode, "magenta")
        )
        for phase, steering in self.steering.items():
            header.append(f"  {phase}: {steering}", "dim")
        if not self.steering:
            header.append("  unsteered", "dim")
        return header

    def set_steering(self, phase: str, steering: list[dict[str, Any]], reason: str = "phase") -> None:
        label = phase if reason == "phase" else f"{phase} ({reason})"
        self.steering[label] = describe_steering(steering)
        self.query_one(".step-header", Static).update(self._header())

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.query_one(".step-header", Static).update(self._header())

    async def add_token(self, text: str, phase: Phase) -> None:
        self.text += text
        if phase == Phase.THOUGHT:
            markdown = self.query_one(".thought", Markdown)
            markdown.display = True
            if self._stream is None:
                self._stream = Markdown.get_stream(markdown)
            await self._stream.write(text)
        else:
            self.call_text += text
            call = self.query_one(".call", Static)
            call.display = True
            call.update(Text(self.call_text[-400:], "dim"))

    async def end_text(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    def hide_call(self) -> None:
        self.query_one(".call", Static).display = False

    async def tool_started(self, tool: str, arguments: dict[str, Any], access: str) -> ToolBlock:
        self.hide_call()
        self.tool = ToolBlock(tool, arguments, access)
        await self.mount(self.tool)
        return self.tool
