"""How the model writes tool calls. The JSON protocol makes a small model's calls valid by construction:

    {"tool": "write_file", "path": "notes.txt", "content": "done"}

The schema is a `oneOf` with one object per tool (`"tool": {"const": ...}` first, then that tool's
arguments from its pydantic model), turned into a llama.cpp grammar, so sampling can only produce a
well-formed call. Parsing still validates everything: models without the grammar (or a truncated
generation) produce garbage, and garbage must become a `ProtocolError` the model can read and correct.
Other protocols (DeepSeek-V4's DSML) implement the same four methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rudder.agent.protocols.calls import (
    FINISH,
    GRAMMAR_MAX_LENGTH,
    PATH_MAX_LENGTH,
    THOUGHT_MAX_LENGTH,
    FinishArgs,
    ProtocolError,
    ToolCall,
)
from rudder.engine.grammar import json_schema_grammar
from rudder.interfaces import Phase
from rudder.tools.base import Tool, ToolArgs
from rudder.util.validation import describe_validation_error


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop what does not constrain output (titles, descriptions, defaults) and over-long length caps."""
    if isinstance(schema, dict):
        return {
            k: _clean_schema(v)
            for k, v in schema.items()
            if k not in ("title", "description", "default")
            and not (k == "maxLength" and isinstance(v, int) and v > GRAMMAR_MAX_LENGTH)
        }
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema


def call_schema(
    name: str, args: type[ToolArgs], with_thought: bool, thought_max: int = THOUGHT_MAX_LENGTH
) -> dict[str, Any]:
    schema = args.model_json_schema()
    if "$defs" in schema:
        raise TypeError(f"tool {name}: nested argument models are not supported by the JSON protocol")
    properties: dict[str, Any] = {}
    required = ["tool"]
    if with_thought:
        properties["thought"] = {"type": "string", "maxLength": thought_max}
        required.insert(0, "thought")
    properties["tool"] = {"const": name}
    properties.update(_clean_schema(schema.get("properties", {})))
    for key in ("path", "glob"):
        if properties.get(key, {}).get("type") == "string":
            properties[key] = {**properties[key], "maxLength": PATH_MAX_LENGTH}
    required += [r for r in schema.get("required", [])]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


@dataclass
class JsonProtocol:
    """Grammar-constrained JSON tool calls. `with_thought` adds a short "thought" field first."""

    tools: Mapping[str, Tool]
    with_thought: bool = False
    thought_max: int = THOUGHT_MAX_LENGTH
    _grammar: str | None = field(default=None, init=False, repr=False)

    def _arg_models(self) -> dict[str, type[ToolArgs]]:
        return {**{name: t.args for name, t in self.tools.items()}, FINISH: FinishArgs}

    def schema(self) -> dict[str, Any]:
        models = self._arg_models().items()
        return {"oneOf": [call_schema(n, a, self.with_thought, self.thought_max) for n, a in models]}

    def grammar(self) -> str:
        if self._grammar is None:
            self._grammar = json_schema_grammar(json.dumps(self.schema()))
        return self._grammar

    def describe_tools(self) -> str:
        lines = []
        for name, model in self._arg_models().items():
            params = ", ".join(model.model_json_schema().get("properties", {}))  # an MCP tool's model has no fields
            description = self.tools[name].description if name in self.tools else "end the task with your answer"
            lines.append(f"- {name}({params}): {description}")
        return "\n".join(lines)

    def render_call(self, tool: str, arguments: Mapping[str, Any], thought: str = "") -> str:
        head = {"thought": thought} if self.with_thought else {}
        return json.dumps({**head, "tool": tool, **arguments}, ensure_ascii=False)

    def parse(self, text: str) -> ToolCall:
        data = _first_json_object(text)
        thought = data.pop("thought", "") if self.with_thought else ""
        if not isinstance(thought, str):
            raise ProtocolError('"thought" must be a string')
        tool = data.pop("tool", None)
        models = self._arg_models()
        if not isinstance(tool, str) or tool not in models:
            raise ProtocolError(f'"tool" must be one of: {", ".join(models)} (got {tool!r})')
        try:
            args = models[tool].model_validate(data)
        except ValidationError as exc:
            problems = describe_validation_error(None, exc, root="arguments", separator="; ")
            raise ProtocolError(f"bad arguments for {tool}: {problems}") from None
        return ToolCall(tool, args, raw=text, thought=thought)

    def phase(self, partial: str) -> Phase:
        """THOUGHT while the model is inside the "thought" value, TOOL_CALL otherwise."""
        if not self.with_thought:
            return Phase.TOOL_CALL
        key = partial.find('"thought"')
        if key == -1:
            return Phase.THOUGHT if partial.strip() in ("", "{") else Phase.TOOL_CALL
        value = partial.find('"', partial.find(":", key) + 1)
        if value == -1:
            return Phase.THOUGHT
        return Phase.TOOL_CALL if _string_closed(partial, value) else Phase.THOUGHT

    def thought_bounds(self, partial: str) -> tuple[int | None, int | None]:
        """Where the thought's text starts and where the call after it starts (character offsets into
        `partial`; None: not written yet). Without a thought field the call starts at once."""
        if not self.with_thought:
            return None, 0
        key = partial.find('"thought"')
        colon = partial.find(":", key) if key != -1 else -1
        value = partial.find('"', colon + 1) if colon != -1 else -1
        if value == -1:
            return None, None
        end = _string_end(partial, value)
        return value + 1, (end + 1 if end is not None else None)


def _string_closed(text: str, start: int) -> bool:
    """Whether the JSON string opening at text[start] is closed (escapes respected)."""
    return _string_end(text, start) is not None


def _string_end(text: str, start: int) -> int | None:
    """The index of the quote closing the JSON string that opens at text[start], or None."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


def _first_json_object(text: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise ProtocolError("the tool call must be text")
    start = text.find("{")
    if start == -1:
        preview = text.strip()[:80] or "(empty)"
        raise ProtocolError(f'expected a JSON object like {{"tool": ...}}, got: {preview}')
    try:
        data, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"invalid JSON at character {exc.pos}: {exc.msg}") from None
    except RecursionError:
        raise ProtocolError("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError("the tool call must be a JSON object")
    return data
