"""DSML: the tool-call markup DeepSeek-V3.2/V4 were trained on, as a ToolCallProtocol.

    <｜DSML｜tool_calls>
    <｜DSML｜invoke name="read_file">
    <｜DSML｜parameter name="path" string="true">src/app.py</｜DSML｜parameter>
    <｜DSML｜parameter name="start_line" string="false">40</｜DSML｜parameter>
    </｜DSML｜invoke>
    </｜DSML｜tool_calls>

Tags as in llama.cpp's DeepSeek-V4 chat template and its chat parser (common/parsers/deepseek.cpp):
fullwidth bars, `string="true"` for parameters whose schema may be a string (the value is taken as
is), `string="false"` for everything else (the value is JSON). V3.2 names the block
`function_calls`; both are read, V4's is written. Required parameters come first in schema order.
A literal closing parameter tag inside a value is written `&lt;/｜DSML｜parameter>` (ds4's escape).
Rudder runs one tool per step, so exactly one `invoke` is accepted. Tool results go back in a user
turn (V4 has no tool role; the deepseek4 chat template wraps them in <tool_result>).

The grammar keeps a small model inside the format: the block, one invoke of a known tool, its
parameters with typed values (strings capped like the JSON protocol's), the closing tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rudder.agent.protocols.calls import (
    FINISH,
    GRAMMAR_MAX_LENGTH,
    PATH_MAX_LENGTH,
    FinishArgs,
    ProtocolError,
    ToolCall,
)
from rudder.interfaces import Phase
from rudder.tools.base import Tool, ToolArgs

BAR = "｜DSML｜"
BLOCK = "tool_calls"
OPEN = f"<{BAR}{BLOCK}>"
CLOSE = f"</{BAR}{BLOCK}>"
PARAM_END = f"</{BAR}parameter>"
ESCAPED_PARAM_END = f"&lt;/{BAR}parameter>"

_BLOCK = re.compile(rf"<{BAR}(?P<block>tool_calls|function_calls)>(?P<body>.*?)(?:</{BAR}(?P=block)>|$)", re.S)
_INVOKE = re.compile(rf'<{BAR}invoke name="(?P<name>[^"]*)">(?P<body>.*?)</{BAR}invoke>', re.S)
_PARAM = re.compile(
    rf'<{BAR}parameter name="(?P<name>[^"]*)" string="(?P<string>true|false)">(?P<value>.*?){PARAM_END}', re.S
)


def _types(schema: dict[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return {t for alt in schema["anyOf"] for t in _types(alt)}
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set()


def _string_array(schema: dict[str, Any]) -> bool:
    """An array of strings (or that or null): the one array shape the built-in tools take."""
    alternatives = schema.get("anyOf", [schema])
    arrays = [alt for alt in alternatives if alt.get("type") == "array"]
    return bool(arrays) and all(_types(alt.get("items", {})) == {"string"} for alt in arrays)


def is_string_param(schema: dict[str, Any]) -> bool:
    """llama.cpp's rule: string="true" when the schema may be a string."""
    return "string" in _types(schema)


@dataclass
class DsmlProtocol:
    tools: Mapping[str, Tool]
    format_name = "DSML"  # named in the system prompt
    _grammar: str | None = field(default=None, init=False, repr=False)

    def _arg_models(self) -> dict[str, type[ToolArgs]]:
        return {**{name: t.args for name, t in self.tools.items()}, FINISH: FinishArgs}

    # -- prompt side ------------------------------------------------------------------------------

    def describe_tools(self) -> str:
        """DeepSeek's own layout: the format, then one JSON function schema per line."""
        lines = [
            f'Call a tool by writing a "{OPEN}" block with one invoke:',
            self.render_call("$TOOL_NAME", {"$PARAMETER_NAME": "$PARAMETER_VALUE"}).strip(),
            'String parameters are written as is with string="true"; numbers, booleans and arrays as JSON '
            'with string="false".',
            "",
        ]
        for name, model in self._arg_models().items():
            schema = model.model_json_schema()
            description = self.tools[name].description if name in self.tools else "end the task with your answer"
            params = {
                "type": "object",
                "properties": schema.get("properties", {}),
                "required": schema.get("required", []),
            }
            function = {"name": name, "description": description, "parameters": params}
            lines.append(json.dumps(function, ensure_ascii=False))
        return "\n".join(lines)

    def render_result(self, tool: str, text: str) -> str:
        """DeepSeek-V4 has no tool role: results go back in the user turn as <tool_result> blocks."""
        return f"<tool_result>{text}</tool_result>"

    def render_call(self, tool: str, arguments: Mapping[str, Any]) -> str:
        lines = [OPEN, f'<{BAR}invoke name="{tool}">']
        for key, value in arguments.items():
            if value is None:
                continue
            if isinstance(value, str):
                text = value.replace(PARAM_END, ESCAPED_PARAM_END)
                lines.append(f'<{BAR}parameter name="{key}" string="true">{text}{PARAM_END}')
            else:
                lines.append(f'<{BAR}parameter name="{key}" string="false">{json.dumps(value)}{PARAM_END}')
        lines += [f"</{BAR}invoke>", CLOSE]
        return "\n".join(lines)

    # -- parsing ------------------------------------------------------------------------------------

    def parse(self, text: str) -> ToolCall:
        if not isinstance(text, str):
            raise ProtocolError("the tool call must be text")
        block = _BLOCK.search(text)
        if block is None:
            preview = text.strip()[:80] or "(empty)"
            raise ProtocolError(f"expected a {OPEN} block with one invoke, got: {preview}")
        thought = text[: block.start()].strip()
        body = block["body"]
        invokes = list(_INVOKE.finditer(body))
        if not invokes:
            raise ProtocolError(f'the {OPEN} block needs one complete <{BAR}invoke name="..."> ... </{BAR}invoke>')
        if len(invokes) > 1:
            raise ProtocolError("one tool call per step: write a single invoke")
        invoke = invokes[0]
        tool = invoke["name"]
        models = self._arg_models()
        if tool not in models:
            raise ProtocolError(f"unknown tool {tool!r}; the tools are: {', '.join(models)}")
        arguments = self._arguments(tool, invoke["body"])
        try:
            args = models[tool].model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ProtocolError(f"bad arguments for {tool}: {problems}") from None
        return ToolCall(tool, args, raw=text, thought=thought)

    def _arguments(self, tool: str, body: str) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        end = 0
        for match in _PARAM.finditer(body):
            if body[end : match.start()].strip():
                raise ProtocolError(
                    f"{tool}: unexpected text between parameters: {body[end : match.start()].strip()[:60]!r}"
                )
            end = match.end()
            name, value = match["name"], match["value"]
            if name in arguments:
                raise ProtocolError(f"{tool}: parameter {name!r} given twice")
            if match["string"] == "true":
                arguments[name] = value.replace(ESCAPED_PARAM_END, PARAM_END)
                continue
            try:
                arguments[name] = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                raise ProtocolError(
                    f'{tool}: parameter {name!r} has string="false" but its value is not JSON: {value[:60]!r}'
                ) from None
        if body[end:].strip():
            raise ProtocolError(f"{tool}: unexpected text after the parameters: {body[end:].strip()[:60]!r}")
        return arguments

    def phase(self, partial: str) -> Phase:
        """THOUGHT while the model writes free text before the block, TOOL_CALL from the block on."""
        head = partial.lstrip()
        if not head or OPEN.startswith(head[: len(OPEN)]) or _BLOCK.search(partial):
            return Phase.TOOL_CALL
        return Phase.THOUGHT

    # -- grammar ------------------------------------------------------------------------------------

    def grammar(self) -> str:
        if self._grammar is None:
            self._grammar = _grammar(self._arg_models())
        return self._grammar


def _lit(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value_rule(key: str, schema: dict[str, Any]) -> str:
    if is_string_param(schema):
        cap = (
            PATH_MAX_LENGTH
            if key in ("path", "glob")
            else min(schema.get("maxLength", GRAMMAR_MAX_LENGTH), GRAMMAR_MAX_LENGTH)
        )
        return f"pathchar{{1,{cap}}}" if key in ("path", "glob") else f"strchar{{0,{cap}}}"
    kinds = _types(schema)
    if "integer" in kinds:
        return "integer"
    if "number" in kinds:
        return "number"
    if "boolean" in kinds:
        return "boolean"
    return "strarray" if _string_array(schema) else "jsonvalue"  # objects, other arrays: an MCP tool's


def _grammar(models: Mapping[str, type[ToolArgs]]) -> str:
    rules = [f"root ::= {_lit(OPEN + chr(10))} ( {' | '.join(f'call-{i}' for i in range(len(models)))} ) {_lit(CLOSE)}"]
    for i, (name, model) in enumerate(models.items()):
        schema = model.model_json_schema()
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        parts = []
        for key in [*required, *(k for k in properties if k not in required)]:
            string = "true" if is_string_param(properties[key]) else "false"
            tag = f'<{BAR}parameter name="{key}" string="{string}">'
            param = f"{_lit(tag)} {_value_rule(key, properties[key])} {_lit(PARAM_END + chr(10))}"
            parts.append(param if key in required else f"( {param} )?")
        head = _lit(f'<{BAR}invoke name="{name}">\n')
        rules.append(f"call-{i} ::= {head} {' '.join(parts)} {_lit(f'</{BAR}invoke>' + chr(10))}")
    rules += [
        r'strchar ::= [^<] | "<" [^/｜] | "</" [^｜]',  # no tag, no chat marker inside a value
        r"pathchar ::= [^<\n\x00]",
        r'integer ::= "-"? [0-9]{1,9}',
        r'number ::= "-"? [0-9]{1,9} ( "." [0-9]{1,6} )?',
        r'boolean ::= "true" | "false"',
        r'strarray ::= "[" ( jsonstr ( ", " jsonstr ){0,15} )? "]"',
        r'jsonstr ::= "\"" [^"\\\n<]{1,160} "\""',
        r'jsonvalue ::= jsonobject | jsonarray | jsonany | number | boolean | "null"',
        r'jsonobject ::= "{" ( jsonany ": " jsonvalue ( ", " jsonany ": " jsonvalue ){0,15} )? "}"',
        r'jsonarray ::= "[" ( jsonvalue ( ", " jsonvalue ){0,15} )? "]"',
        r'jsonany ::= "\"" [^"\\\n<]{0,160} "\""',
    ]
    return "\n".join(rules) + "\n"
