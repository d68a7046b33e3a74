"""The pure parts of the ACP server: line parsing, event translation, slider rescaling."""

from __future__ import annotations

from pathlib import Path

from rudder.acp import updates
from rudder.acp.stdio import INVALID_REQUEST, PARSE_ERROR, parse_line
from rudder.agent.events import ToolCallFinished
from rudder.modes.registry import parse_mode


def test_lines_that_are_not_json_rpc_get_an_error_naming_the_problem() -> None:
    assert parse_line(b"not json")[1]["error"]["code"] == PARSE_ERROR
    assert parse_line(b"[1, 2]")[1]["error"]["code"] == INVALID_REQUEST
    assert parse_line(b'{"id": 3, "method": "initialize"}')[1] == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": INVALID_REQUEST, "message": 'Invalid Request: expected an object with "jsonrpc": "2.0"'},
    }
    message, error = parse_line(b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}')
    assert error is None and message["method"] == "initialize"


def test_an_edit_becomes_a_completed_tool_call_with_a_diff() -> None:
    event = ToolCallFinished(3, "edit_file", True, "edited a.py", path="a.py", old_text="x = 1\n", new_text="x = 2\n")
    update = updates.tool_finished(event, "/repo")
    assert update.tool_call_id == "step-3" and update.status == "completed"
    diff = update.content[0]
    assert (diff.path, diff.old_text, diff.new_text) == ("/repo/a.py", "x = 1\n", "x = 2\n")
    assert updates.tool_kind("run_shell") == "execute" and updates.stop_reason("stopped") == "cancelled"


def test_sliders_rescale_a_vector_everywhere_the_mode_uses_it() -> None:
    mode = parse_mode(
        'name = "m"\n[[vectors]]\nvector = "terse"\nscale = 0.05\n'
        '[steps.review]\nvectors = [{vector = "terse", scale = 0.02}, {vector = "careful", scale = 0.04}]\n',
        Path("m.toml"),
    )
    doubled = mode.with_scales({"terse": 2 * 0.05})  # ACP's strength ×2 on the base 0.05
    assert doubled.vectors[0].scale == 0.1
    assert [(s.vector, s.scale) for s in doubled.steps["review"].vectors] == [("terse", 0.04), ("careful", 0.04)]
    assert mode.vectors[0].scale == 0.05  # the original is untouched
    assert mode.vector_names() == ["terse", "careful"]
