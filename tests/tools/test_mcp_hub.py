"""The MCP hub against real servers (the SDK's own, on stdio and on streamable HTTP): tools listed and
called, results as text, and every failure (missing command, crash, hang, slow tool, tool error,
interrupt) one clear ToolError or start problem, never a crash or a hang."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rudder.tools.base import ToolError, Workspace
from rudder.tools.mcp.config import McpServer
from rudder.tools.mcp.hub import McpHub
from rudder.tools.mcp.tools import mcp_tools
from tests.helpers import make_repo
from tests.tools.mcp_fixtures import STARTUP, alive, http_server, recorded, stdio_server


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    return tmp_path / "repo"


def _tools(hub: McpHub) -> dict:
    specs, problems = hub.start()
    assert problems == []
    tools, left_out = mcp_tools(hub, specs, set())
    assert left_out == []
    return tools


def _call(tools: dict, ws: Workspace, name: str, **arguments: object) -> str:
    tool = tools[name]
    return tool.run(ws, tool.args.model_validate(arguments))


def test_a_stdio_server_lists_runs_and_summarises_then_stops_with_the_hub(root: Path, tmp_path: Path) -> None:
    calls, pid_file = tmp_path / "calls.jsonl", tmp_path / "pid"
    hub = McpHub({"calc": stdio_server(calls, env={"MCP_PID": str(pid_file)})}, root)
    try:
        tools = _tools(hub)
        assert set(tools) == {"calc.add", "calc.fail", "calc.slow", "calc.picture", "calc.distance"}
        assert all(t.server == "calc" and t.access == "execute" for t in tools.values())
        assert "Add two integers" in tools["calc.add"].description
        ws = Workspace(root)
        assert _call(tools, ws, "calc.add", a=2, b=3) == "the sum is 5"
        assert _call(tools, ws, "calc.picture") == "[image: image/png, 68 bytes; not shown to the model]"
        # a nested pydantic argument is a $ref in the server's schema: inlined for the grammar, checked as given
        schema = tools["calc.distance"].args.model_json_schema()
        assert schema["properties"]["start"]["properties"]["x"]["type"] == "integer" and "$defs" not in schema
        assert _call(tools, ws, "calc.distance", start={"x": 0, "y": 0}, end={"x": 2, "y": 3}) == "5"
        with pytest.raises(ToolError, match="failed on purpose: because"):
            _call(tools, ws, "calc.fail", reason="because")
        with pytest.raises(ValueError, match="'b' is a required property"):
            tools["calc.add"].args.model_validate({"a": 1})  # never reaches the server
        assert [c["tool"] for c in recorded(calls)] == ["add", "picture", "distance", "fail"]
        pid = int(pid_file.read_text())
        assert alive(pid)
    finally:
        hub.close()
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "the stdio server outlived the hub"
    hub.close()  # twice is fine


def test_a_streamable_http_server_on_localhost(root: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    with http_server(calls) as url:
        hub = McpHub({"remote": McpServer(url=url, startup_timeout=STARTUP)}, root)
        try:
            tools = _tools(hub)
            assert _call(tools, Workspace(root), "remote.add", a=20, b=22) == "the sum is 42"
        finally:
            hub.close()
    assert recorded(calls) == [{"tool": "add", "arguments": {"a": 20, "b": 22}}]


def test_servers_that_cannot_start_are_one_sentence_each_and_the_others_go_on(root: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    hub = McpHub(
        {
            "missing": McpServer(command="no-such-mcp-server-anywhere"),
            "crashing": stdio_server(calls, env={"MCP_MODE": "crash_on_start"}),
            "hanging": stdio_server(calls, env={"MCP_MODE": "hang_on_start"}, startup_timeout=2),
            "calc": stdio_server(calls),
        },
        root,
    )
    try:
        started = time.monotonic()
        specs, problems = hub.start()
        assert time.monotonic() - started < 60  # the hanging one is given up on after its 2 s, not waited for
        assert {s.server for s in specs} == {"calc"}
        by_server = {p.split("'")[1]: p for p in problems}
        assert set(by_server) == {"missing", "crashing", "hanging"}
        assert "did not start" in by_server["missing"] and "No such file or directory" in by_server["missing"]
        assert "the test asked me to crash" in by_server["crashing"]  # the tail of its stderr
        assert "no answer within 2 s (startup_timeout)" in by_server["hanging"]
        assert all(p.endswith("Its tools are not offered.") for p in problems)
    finally:
        hub.close()


def test_a_slow_tool_times_out_and_an_interrupt_abandons_a_call_at_once(root: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    hub = McpHub({"calc": stdio_server(calls, tool_timeout=1)}, root)
    try:
        tools = _tools(hub)
        ws = Workspace(root)
        started = time.monotonic()
        with pytest.raises(ToolError, match=r"did not answer slow within 1 s \(tool_timeout of \[mcp.servers.calc\]\)"):
            _call(tools, ws, "calc.slow", seconds=30)
        assert time.monotonic() - started < 10
        threading.Timer(0.5, ws.cancel.set).start()
        started = time.monotonic()
        with pytest.raises(ToolError, match="interrupted"):
            hub.call("calc", "slow", {"seconds": 30}, ws.cancel)
        assert time.monotonic() - started < 5
    finally:
        hub.close()
    with pytest.raises(ToolError, match="not running|no longer connected"):
        hub.call("calc", "add", {"a": 1, "b": 2}, threading.Event())


def test_tools_the_grammar_cannot_carry_are_left_out_with_the_reason(root: Path) -> None:
    from rudder.tools.mcp.hub import McpToolSpec

    hub = McpHub({"s": McpServer(command="x", tools=["ok", "tool-param", "bad name"])}, root)
    specs = [
        McpToolSpec("s", "ok", "", {"type": "object", "properties": {"q": {"type": "string"}}}),
        McpToolSpec("s", "tool-param", "", {"type": "object", "properties": {"tool": {"type": "string"}}}),
        McpToolSpec("s", "bad name", "", {}),
        McpToolSpec("s", "not-allowed", "", {}),
    ]
    tools, problems = mcp_tools(hub, specs, set())
    assert list(tools) == ["s.ok"]  # "not-allowed" is outside the server's `tools` list: silently not offered
    assert any("'tool' is a tool-call keyword" in p for p in problems)
    assert any("'s.bad name'" in p and "characters" in p for p in problems)
