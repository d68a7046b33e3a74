"""The DSML tool-call protocol (DeepSeek-V3.2/V4): recorded examples, grammar, parsing garbage safely."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llama_cpp.llama_grammar import LlamaGrammar

from rudder.agent.protocols.calls import FINISH, ProtocolError
from rudder.agent.protocols.dsml import CLOSE, OPEN, DsmlProtocol
from rudder.interfaces import Phase
from rudder.tools.toolbox import all_tools

PROTOCOL = DsmlProtocol(all_tools())

# Assistant turns exactly as DeepSeek-V4-Flash's chat template (llama.cpp 0.3.36,
# models/templates/deepseek-ai-DeepSeek-V4-Flash-0731.jinja) renders these tool calls: (text, tool, arguments).
RECORDED = [
    (
        'Let me look at the file first.\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="read_file">\n'
        '<｜DSML｜parameter name="path" string="true">src/app.py</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="start_line" string="false">40</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="end_line" string="false">60</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜tool_calls>",
        "read_file",
        {"path": "src/app.py", "start_line": 40, "end_line": 60},
    ),
    (
        '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="edit_file">\n'
        '<｜DSML｜parameter name="path" string="true">src/app.py</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="search" string="true">def f(): pass</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="replace" string="true">def f():\n    return "<ok>"</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜tool_calls>",
        "edit_file",
        {"path": "src/app.py", "search": "def f(): pass", "replace": 'def f():\n    return "<ok>"'},
    ),
    (
        '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="git_commit">\n'
        '<｜DSML｜parameter name="message" string="true">Fix f</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="paths" string="false">["src/app.py"]</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜tool_calls>",
        "git_commit",
        {"message": "Fix f", "paths": ["src/app.py"]},
    ),
    (
        '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="grep">\n'
        '<｜DSML｜parameter name="pattern" string="true">TODO</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="ignore_case" string="false">true</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜tool_calls>",
        "grep",
        {"pattern": "TODO", "ignore_case": True},
    ),
]


@pytest.mark.parametrize(("text", "tool", "arguments"), RECORDED)
def test_recorded_calls_parse_and_render_back_byte_for_byte(text: str, tool: str, arguments: dict) -> None:
    call = PROTOCOL.parse(text)
    assert call.tool == tool
    assert {k: v for k, v in call.arguments().items() if k in arguments} == arguments
    assert text.endswith(PROTOCOL.render_call(tool, arguments))  # the template's own bytes
    assert call.thought == text[: text.index(OPEN)].strip()


def test_v32_function_calls_blocks_are_read_too() -> None:
    text = RECORDED[3][0].replace("tool_calls>", "function_calls>")
    assert PROTOCOL.parse(text).tool == "grep"


def test_a_closing_tag_inside_a_value_is_escaped_like_ds4_does() -> None:
    content = "x = '</｜DSML｜parameter>'\n"
    text = PROTOCOL.render_call("write_file", {"path": "a.py", "content": content})
    assert "&lt;/｜DSML｜parameter>" in text
    assert PROTOCOL.parse(text).arguments()["content"] == content


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a <｜DSML｜tool_calls> block"),
        ('{"tool": "finish", "answer": "x"}', "expected a <｜DSML｜tool_calls> block"),
        (f"{OPEN}\n{CLOSE}", "needs one complete"),
        (f'{OPEN}<｜DSML｜invoke name="rm_rf">\n</｜DSML｜invoke>{CLOSE}', "unknown tool 'rm_rf'"),
        (f'{OPEN}<｜DSML｜invoke name="write_file">\n</｜DSML｜invoke>{CLOSE}', "content: Field required"),
        (
            f'{OPEN}<｜DSML｜invoke name="read_file">\n'
            f'<｜DSML｜parameter name="path" string="true">a</｜DSML｜parameter>\n'
            f'<｜DSML｜parameter name="start_line" string="false">three</｜DSML｜parameter>\n</｜DSML｜invoke>{CLOSE}',
            "not JSON",
        ),
        (
            f'{OPEN}<｜DSML｜invoke name="finish">\nhello</｜DSML｜invoke>{CLOSE}',
            "unexpected text",
        ),
        (
            RECORDED[3][0].replace("</｜DSML｜invoke>\n", "</｜DSML｜invoke>\n" * 1 + RECORDED[3][0][2:]),
            "one tool call",
        ),
    ],
)
def test_garbled_calls_become_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        PROTOCOL.parse(text)


def test_grammar_compiles_in_llama_cpp_and_names_every_tool() -> None:
    grammar = PROTOCOL.grammar()
    LlamaGrammar.from_string(grammar, verbose=False)
    for name in [*all_tools(), FINISH]:
        assert f'invoke name=\\"{name}\\"' in grammar


def test_phase_is_thought_before_the_block_and_tool_call_inside() -> None:
    assert PROTOCOL.phase("") == Phase.TOOL_CALL  # the grammar starts with the block
    assert PROTOCOL.phase("<｜DSML｜tool") == Phase.TOOL_CALL
    assert PROTOCOL.phase("I will read it") == Phase.THOUGHT
    assert PROTOCOL.phase("I will read it\n\n<｜DSML｜tool_calls>\n<｜DSML｜inv") == Phase.TOOL_CALL


def test_describe_tools_lists_one_json_schema_per_tool() -> None:
    lines = PROTOCOL.describe_tools().splitlines()
    schemas = [json.loads(line) for line in lines if line.startswith("{")]
    assert [s["name"] for s in schemas] == [*all_tools(), FINISH]
    assert schemas[0]["parameters"]["required"] == ["path"]


VALID = [text for text, _, _ in RECORDED] + [PROTOCOL.render_call(FINISH, {"answer": "done"})]
PARAM_NAMES = ["path", "content", "answer", "start_line", "pattern", "paths", "x"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _mutate(text: str, data: st.DataObject) -> str:
    pieces = st.text(max_size=3) | st.sampled_from(["<", ">", '"', "｜", "DSML", "</", "\n"])
    ops = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(text)), pieces), max_size=4))
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
        PROTOCOL.parse(OPEN + text)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutated_calls_only_ever_raise_protocol_error(valid: str, data: st.DataObject) -> None:
    with contextlib.suppress(ProtocolError):
        PROTOCOL.parse(_mutate(valid, data))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*all_tools(), FINISH, "nope"]),
    st.dictionaries(st.sampled_from(PARAM_NAMES), json_values),
)
def test_arbitrary_parameters_only_ever_raise_protocol_error(tool: str, params: dict) -> None:
    with contextlib.suppress(ProtocolError):
        PROTOCOL.parse(PROTOCOL.render_call(tool, params))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_any_strings_round_trip(path: str, content: str) -> None:
    text = PROTOCOL.render_call("edit_file", {"path": path, "search": content, "replace": content + path})
    try:
        call = PROTOCOL.parse(text)
    except ProtocolError:
        return  # e.g. an empty or unsafe path the tool's own model refuses
    assert call.arguments()["search"] == content and call.arguments()["replace"] == content + path


def test_the_system_prompt_asks_for_dsml_not_json() -> None:
    from rudder.agent.prompts import system_prompt

    text = system_prompt(PROTOCOL, "repo", "", "")
    assert "exactly one DSML tool call" in text and OPEN in text


def test_results_go_back_as_tool_result_blocks_and_prompts_name_dsml() -> None:
    from rudder.agent import prompts

    assert prompts.observation("read_file", "x = 1", PROTOCOL) == "<tool_result>x = 1</tool_result>"
    assert prompts.observation("read_file", "x = 1") == "Result of read_file:\nx = 1"  # JSON keeps its header
    assert prompts.error_observation("bad", PROTOCOL).endswith("one valid DSML tool call.")
    assert prompts.act_now(PROTOCOL) == "Now act: reply with one DSML tool call."
    example = prompts.worked_examples(PROTOCOL, "create notes.txt containing: hi", ["write_file"], 1)
    assert example[2]["content"].startswith("<tool_result>") and "JSON" not in example[2]["content"]
