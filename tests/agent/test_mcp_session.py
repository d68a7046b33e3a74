"""MCP tools in the agent loop, on a scripted model (the model's choice is not the point here) and a real
stdio MCP server: the tools join the prompt, the grammar and the toolset on the first turn; a call runs
under the approval policy (the request names server, tool and arguments); failures are one observation
and one warning; closing the session stops the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.config import AgentConfig
from rudder.agent.events import Event, Notice
from rudder.agent.protocols.calls import ProtocolError
from rudder.agent.protocols.dsml import DsmlProtocol
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.engine.grammar import json_schema_grammar
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Workspace
from rudder.tools.mcp.config import McpServer
from rudder.tools.mcp.hub import McpHub
from rudder.tools.toolbox import all_tools
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector, call
from tests.helpers import make_repo
from tests.tools.mcp_fixtures import recorded, stdio_server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    return tmp_path / "repo"


def mcp_session(
    repo: Path, replies: list[str], servers: dict[str, McpServer], protocol: str = "json", **config: object
) -> tuple[Session, ScriptedEngine, list[Event]]:
    engine = ScriptedEngine(replies)
    tools = all_tools()
    events: list[Event] = []
    s = Session(
        engine,
        Workspace(repo),
        ActiveMode(get_mode("neutral"), any_vector),
        config=AgentConfig(**config),
        steerer=RecordingSteerer(),
        tools=tools,
        protocol=JsonProtocol(tools, with_thought=False) if protocol == "json" else DsmlProtocol(tools),
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
        listener=events.append,
        mcp=McpHub(servers, repo),
    )
    return s, engine, events


def test_an_mcp_tool_joins_prompt_and_grammar_and_its_result_is_the_observation(repo: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    s, engine, _ = mcp_session(
        repo,
        [call("calc.add", a=2, b=3), call("finish", answer="5")],
        {"calc": stdio_server(calls, tools=["add", "distance"])},
        approval="auto",
    )
    assert "calc.add" not in s.tools  # lazily: nothing starts before the first turn
    try:
        summary = s.run("add 2 and 3 with the calculator")
    finally:
        s.close()
    assert summary.status == "finished"
    assert s.history[0].tool == "calc.add" and s.history[0].ok
    assert s.history[0].observation == "the sum is 5"
    assert "- calc.add(a, b): Add two integers and return the sum. (MCP server calc)" in engine.prompts[0]
    grammar = engine.grammars[0] or ""
    assert '"\\"calc.add\\""' in grammar and '"\\"calc.distance\\""' in grammar  # the tool-name literals
    assert "calc.slow" not in engine.prompts[0]  # not in the server's `tools` list
    assert recorded(calls) == [{"tool": "add", "arguments": {"a": 2, "b": 3}}]
    mcp = next(r for r in read_trajectory(repo / ".git" / "run.jsonl") if r["type"] == "mcp")
    assert mcp["tools"] == ["calc.add", "calc.distance"] and mcp["problems"] == []


@pytest.mark.parametrize("approval", ["ask", None])
def test_every_mcp_call_asks_unless_auto_and_the_request_names_server_tool_arguments(
    repo: Path, tmp_path: Path, approval: str | None
) -> None:
    calls = tmp_path / "calls.jsonl"
    asked: list[ApprovalRequest] = []

    def reject(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.REJECT

    replies = [call("calc.add", a=1, b=2), call("finish", answer="no")]
    s, _, _ = mcp_session(repo, replies, {"calc": stdio_server(calls)}, approval=approval)
    s.approver = reject
    try:
        s.run("add")
    finally:
        s.close()
    assert len(asked) == 1
    request = asked[0]
    assert (request.server, request.tool, request.arguments) == ("calc", "calc.add", {"a": 1, "b": 2})
    assert "MCP server 'calc'" in request.reason and "outside the sandbox" in request.reason
    assert request.command is None and request.diff is None
    assert "the user declined calc.add" in s.history[0].observation
    assert recorded(calls) == []  # nothing reached the server


def test_read_only_refuses_mcp_calls(repo: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    replies = [call("calc.add", a=1, b=2), call("finish", answer="x")]
    s, _, _ = mcp_session(repo, replies, {"calc": stdio_server(calls)}, approval="read-only")
    try:
        s.run("add")
    finally:
        s.close()
    assert "not allowed" in s.history[0].observation and recorded(calls) == []


def test_failures_are_one_observation_and_one_warning_never_a_crash(repo: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    servers = {
        "calc": stdio_server(calls, tool_timeout=1),
        "gone": McpServer(command="no-such-mcp-server-anywhere"),
    }
    replies = [call("calc.fail", reason="disk full"), call("calc.slow", seconds=20), call("finish", answer="x")]
    s, engine, events = mcp_session(repo, replies, servers, approval="auto")
    try:
        summary = s.run("try the tools")
    finally:
        s.close()
    assert summary.status == "finished"
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert len(notices) == 3
    assert "MCP server 'gone'" in notices[0] and "did not start" in notices[0]
    assert "gone." not in engine.prompts[0]  # its tools are not offered
    fail, slow = s.history[0], s.history[1]
    assert not fail.ok and fail.observation.startswith("Error: calc.fail returned an error: ")
    assert "failed on purpose: disk full" in fail.observation and "disk full" in notices[1]
    assert not slow.ok and "did not answer slow within 1 s" in slow.observation and "within 1 s" in notices[2]


def test_dsml_takes_mcp_tools_with_object_parameters(repo: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    tools = all_tools()
    hub = McpHub({"calc": stdio_server(calls, tools=["distance"])}, repo)
    from rudder.agent.mcp import join_mcp_tools

    protocol = DsmlProtocol(tools)
    try:
        join_mcp_tools(hub, tools, protocol, lambda notice: None, lambda kind, data: None)
        rule = next(line for line in protocol.grammar().splitlines() if "calc.distance" in line)
        assert rule.count("jsonvalue") == 2  # start and end are objects: JSON values, not string arrays
        text = protocol.render_call("calc.distance", {"start": {"x": 1, "y": 1}, "end": {"x": 4, "y": 5}})
        parsed = protocol.parse(text)
        assert parsed.tool == "calc.distance"
        assert parsed.arguments() == {"start": {"x": 1, "y": 1}, "end": {"x": 4, "y": 5}}
        assert tools["calc.distance"].run(Workspace(repo), parsed.args) == "7"
        with pytest.raises(ProtocolError, match="bad arguments for calc.distance"):
            protocol.parse(protocol.render_call("calc.distance", {"start": {"x": 1}, "end": {"x": 4, "y": 5}}))
    finally:
        hub.close()


def test_the_json_grammar_with_mcp_tools_is_valid_gbnf(repo: Path) -> None:
    """The JSON protocol's schema for an MCP tool (nested objects, enums, arrays) converts as one oneOf."""
    from rudder.tools.mcp.hub import McpToolSpec
    from rudder.tools.mcp.tools import mcp_tools

    hub = McpHub({"s": McpServer(command="x")}, repo)
    schema = {
        "type": "object",
        "$defs": {"Tag": {"type": "string", "enum": ["bug", "feature"]}},
        "properties": {
            "title": {"type": "string", "description": "a title"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
            "meta": {"type": "object", "properties": {"priority": {"type": "integer"}}},
        },
        "required": ["title"],
    }
    tools, _ = mcp_tools(hub, [McpToolSpec("s", "file_issue", "File an issue.", schema)], set())
    protocol = JsonProtocol({**all_tools(), **tools}, with_thought=True)
    grammar = json_schema_grammar(json.dumps(protocol.schema()))
    assert '"\\"s.file_issue\\""' in grammar and "bug" in grammar
    call_text = protocol.render_call("s.file_issue", {"title": "x", "tags": ["bug"]}, thought="file it")
    assert protocol.parse(call_text).arguments() == {"title": "x", "tags": ["bug"]}
    with pytest.raises(ProtocolError, match="'wontfix' is not one of"):
        protocol.parse(protocol.render_call("s.file_issue", {"title": "x", "tags": ["wontfix"]}, thought="t"))
