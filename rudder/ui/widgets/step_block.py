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
from rudder.ui.widgets.stream_tail import StreamTail
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


def describe_guard(guard: dict[str, Any]) -> Text:
    """One line for a collapse-guard action (GuardEvent.as_dict()): what it saw, what it did to the steering."""
    action = guard.get("action")
    before, after = float(guard.get("factor_before", 1.0)), float(guard.get("factor_after", 0.0))
    if action == "stopped":
        did = "the loop survived unsteered: generation stopped"
    elif action == "cleared":
        did = f"steering cleared (×{before:g} → off)"
    else:
        did = f"steering backed off ×{before:g} → ×{after:g}"
    rewound = int(guard.get("rewound", 0))
    tail = f"; {rewound} tokens rewound" if rewound else ""
    return Text.assemble(
        ("⚠ collapse guard ", "bold"),
        f"({guard.get('kind')}, token {guard.get('at_token')}): ",
        str(guard.get("detail", "")),
        f" → {did}{tail}",
    )


class StepBlock(VerticalGroup):
    def __init__(self, index: int, kind: str, mode: str) -> None:
        super().__init__(classes="step")
        self.index, self.kind, self.mode = index, kind, mode
        self.steering: dict[str, str] = {}
        self.text = ""  # everything the model wrote in this step, in order (a rewound loop taken back)
        self.thought = ""  # the thought phase's text (streamed as Markdown)
        self.call_text = ""  # the raw tool call while it is written
        self.tool: ToolBlock | None = None
        self._stream: MarkdownStream | None = None
        self._streamed = 0  # characters of the thought handed to the Markdown (whole lines)

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="step-header")
        yield Markdown("", classes="thought")
        yield StreamTail(classes="thought-tail")
        yield StreamTail("dim", keep=400, classes="call")

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

    async def add_token(self, text: str, phase: Phase, erase: int = 0) -> None:
        """Append the model's text (several tokens at once, as the UI takes them), first taking back
        `erase` characters the collapse guard rewound."""
        self.text = self.text[: max(0, len(self.text) - erase)] + text
        if phase == Phase.THOUGHT:
            markdown = self.query_one(".thought", Markdown)
            tail = self.query_one(".thought-tail", StreamTail)
            if erase:  # rare: draw what is left again, then stream on
                self.thought = self.thought[: max(0, len(self.thought) - erase)] + text
                await self.end_text()
                self._streamed = self.thought.rfind("\n") + 1
                markdown.display = self._streamed > 0
                await markdown.update(self.thought[: self._streamed])
                tail.show(self.thought[self._streamed :])
                return
            self.thought += text
            lines_end = self.thought.rfind("\n") + 1  # Markdown gets whole lines; the line in progress waits
            if lines_end > self._streamed:
                markdown.display = True
                if self._stream is None:
                    self._stream = Markdown.get_stream(markdown)
                await self._stream.write(self.thought[self._streamed : lines_end])
                self._streamed = lines_end
            tail.show(self.thought[self._streamed :])
        else:
            self.call_text = self.call_text[: max(0, len(self.call_text) - erase)] + text
            self.query_one(".call", StreamTail).show(self.call_text)

    async def add_guard(self, guard: dict[str, Any]) -> None:
        """The collapse guard acted in this step: what it saw and what it did, on its own line."""
        await self.mount(Static(describe_guard(guard), classes="guard"), before=self.tool)

    async def end_text(self) -> None:
        """The thought is complete: its last line joins the Markdown."""
        rest = self.thought[self._streamed :]
        if rest:
            markdown = self.query_one(".thought", Markdown)
            markdown.display = True
            if self._stream is None:
                self._stream = Markdown.get_stream(markdown)
            await self._stream.write(rest)
            self._streamed = len(self.thought)
            self.query_one(".thought-tail", StreamTail).show("")
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def retract(self, mode: str, reason: str) -> None:
        """The mode's reply was set aside (second_opinion.py): take back what it streamed, say why; the
        step's text streams again from here."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.text = self.thought = self.call_text = ""
        self._streamed = 0
        markdown = self.query_one(".thought", Markdown)
        await markdown.update("")
        markdown.display = False
        self.query_one(".thought-tail", StreamTail).show("")
        self.query_one(".call", StreamTail).show("")
        note = Text.assemble(("↻ ", "bold"), f"{mode}'s reply set aside ({reason}); asked again without the mode")
        await self.mount(Static(note, classes="guard retried"), before=markdown)

    def hide_call(self) -> None:
        self.query_one(".call", StreamTail).display = False

    async def tool_started(self, tool: str, arguments: dict[str, Any], access: str) -> ToolBlock:
        self.hide_call()
        self.tool = ToolBlock(tool, arguments, access)
        await self.mount(self.tool)
        return self.tool
