"""A tool call and what every tool-call protocol shares: the `finish` call, the error the model reads, the
length caps, and the four methods a protocol implements (JSON in json_calls.py, DeepSeek-V4's DSML in dsml.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import Field

from rudder.interfaces import Phase
from rudder.tools.base import ToolArgs

FINISH = "finish"


class ProtocolError(ValueError):
    """The model's output is not a valid tool call; the message tells the model what to fix."""


class FinishArgs(ToolArgs):
    answer: str = Field(max_length=2000, description="what you did or the answer to the question")


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: ToolArgs
    raw: str = ""
    thought: str = ""

    @property
    def is_finish(self) -> bool:
        return self.tool == FINISH

    def arguments(self) -> dict[str, Any]:
        return self.args.model_dump(mode="json")


class ToolCallProtocol(Protocol):
    def grammar(self) -> str | None: ...

    def describe_tools(self) -> str: ...

    def render_call(self, tool: str, arguments: Mapping[str, Any]) -> str: ...

    def parse(self, text: str) -> ToolCall: ...

    def phase(self, partial: str) -> Phase: ...


GRAMMAR_MAX_LENGTH = 256  # longer caps explode llama.cpp's grammar; max_tokens bounds long text instead
THOUGHT_MAX_LENGTH = 160  # one sentence: the free-text phase a mode steers, kept cheap
PATH_MAX_LENGTH = 160  # a small model rambling inside a path is cut short here
