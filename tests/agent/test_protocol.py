"""The JSON tool-call protocol: schema, grammar, parsing, and parsing garbage safely."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from rudder.agent.protocols.calls import FINISH, ProtocolError
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.interfaces import Phase, StepKind
from rudder.tools.base import Access, Tool, ToolArgs


class WriteArgs(ToolArgs):
    path: str = Field(max_length=200)
    content: str


class ReadArgs(ToolArgs):
    path: str
    start_line: int = 1


def _tool(name: str, args: type[ToolArgs], access: Access) -> Tool:
    return Tool(name, f"{name} things", args, lambda ws, a: "ok", access, StepKind.EDIT)


TOOLS = {
    "write_file": _tool("write_file", WriteArgs, Access.WRITE),
    "read_file": _tool("read_file", ReadArgs, Access.READ),
}
PROTOCOL = JsonProtocol(TOOLS)


def test_valid_calls_parse_into_typed_arguments() -> None:
    call = PROTOCOL.parse('{"tool": "write_file", "path": "notes.txt", "content": "done"}')
    assert call.tool == "write_file" and call.args == WriteArgs(path="notes.txt", content="done")
    assert PROTOCOL.parse('{"tool": "read_file", "path": "a.py"}').args.start_line == 1
    finish = PROTOCOL.parse('{"tool": "finish", "answer": "all good"}')
    assert finish.is_finish and finish.arguments() == {"answer": "all good"}


def test_text_around_the_object_is_ignored() -> None:
    call = PROTOCOL.parse('Sure! {"tool": "read_file", "path": "x"} hope that helps')
    assert call.tool == "read_file"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a JSON object"),
        ("read the file", "expected a JSON object"),
        ('{"tool": "write_file", "path": "a"', "invalid JSON"),
        ('{"tool": "rm_rf", "path": "/"}', '"tool" must be one of: write_file, read_file, finish'),
        ('{"path": "a"}', '"tool" must be one of'),
        ('{"tool": "write_file", "path": "a"}', "bad arguments for write_file: content: Field required"),
        ('{"tool": "read_file", "path": "a", "start_line": "x"}', "start_line"),
        ('{"tool": "read_file", "path": "a", "mode": "r"}', "bad arguments for read_file: mode: unknown key"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_garbled_calls_become_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        PROTOCOL.parse(text)


def test_schema_is_one_object_per_tool_with_the_tool_name_first() -> None:
    schema = PROTOCOL.schema()
    names = [alt["properties"]["tool"]["const"] for alt in schema["oneOf"]]
    assert names == ["write_file", "read_file", FINISH]
    write = schema["oneOf"][0]
    assert list(write["properties"])[:2] == ["tool", "path"]
    assert write["properties"]["path"]["maxLength"] == 160  # paths are capped for the grammar
    assert write["required"] == ["tool", "path", "content"] and write["additionalProperties"] is False


def test_grammar_names_every_tool() -> None:
    grammar = PROTOCOL.grammar()
    assert "root ::=" in grammar
    for name in ("write_file", "read_file", "finish"):
        assert f'\\"{name}\\"' in grammar


def test_render_call_round_trips_through_parse() -> None:
    text = PROTOCOL.render_call("write_file", {"path": "a b.txt", "content": 'quote " and \\ slash'})
    assert PROTOCOL.parse(text).arguments() == {"path": "a b.txt", "content": 'quote " and \\ slash'}


def test_phase_tracks_the_thought_field() -> None:
    thinking = JsonProtocol(TOOLS, with_thought=True)
    assert thinking.phase("") == Phase.THOUGHT
    assert thinking.phase('{"thought": "I should \\"read') == Phase.THOUGHT
    assert thinking.phase('{"thought": "read it", "tool": "re') == Phase.TOOL_CALL
    assert PROTOCOL.phase('{"tool": "re') == Phase.TOOL_CALL
    call = thinking.parse('{"thought": "look first", "tool": "read_file", "path": "a"}')
    assert call.thought == "look first"


VALID = [
    '{"tool": "write_file", "path": "notes.txt", "content": "done"}',
    '{"tool": "read_file", "path": "src/app.py", "start_line": 3}',
    '{"tool": "finish", "answer": "ok"}',
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _mutate(text: str, data: st.DataObject) -> str:
    ops = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(text)), st.text(max_size=3)), max_size=4))
    for op, at, piece in ops:
        at = min(at, len(text))
        if op == 0:
            text = text[:at] + piece + text[at:]
        elif op == 1:
            text = text[:at] + text[at + len(piece) + 1 :]
        else:
            text = text[:at] + piece + text[at + 1 :]
    return text


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_random_text_only_ever_raises_protocol_error(text: str) -> None:
    with contextlib.suppress(ProtocolError):
        PROTOCOL.parse(text)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutated_calls_only_ever_raise_protocol_error(valid: str, data: st.DataObject) -> None:
    with contextlib.suppress(ProtocolError):
        PROTOCOL.parse(_mutate(valid, data))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["tool", "path", "content", "answer", "start_line", "x"]), json_values))
def test_arbitrary_json_objects_only_ever_raise_protocol_error(obj: dict) -> None:
    with contextlib.suppress(ProtocolError):
        PROTOCOL.parse(json.dumps(obj))
