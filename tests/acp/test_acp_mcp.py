"""MCP servers an ACP client passes in session/new: converted and merged with the user's, a permission
request that names server, tool and arguments, and the real `rudder acp` starting them on the first
prompt (a stdio and an HTTP server) and stopping them when the connection ends."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import acp
import pytest
from acp.schema import (
    AgentMessageChunk,
    ClientCapabilities,
    EnvVariable,
    HttpHeader,
    HttpMcpServer,
    McpServerStdio,
    SseMcpServer,
)
from acp.stdio import spawn_agent_process

from rudder.acp import updates
from rudder.acp.mcp import servers_for_session
from rudder.agent.approval import ApprovalRequest
from rudder.agent.records import read_trajectory
from rudder.tools.mcp.config import McpServer
from tests.acp.test_acp_server import TIMEOUT, EditorClient, _env
from tests.helpers import make_repo
from tests.tools.mcp_fixtures import SERVER, alive, http_server, recorded


def _stdio(name: str, calls: Path, pid: Path | None = None) -> McpServerStdio:
    env = [EnvVariable(name="MCP_CALLS", value=str(calls))]
    if pid is not None:
        env.append(EnvVariable(name="MCP_PID", value=str(pid)))
    return McpServerStdio(name=name, command=sys.executable, args=[str(SERVER), "stdio"], env=env)


def test_the_clients_servers_join_the_users_and_unsupported_ones_are_left_out(tmp_path: Path) -> None:
    user = {"docs": McpServer(command="docs-server"), "calc": McpServer(command="old-calc")}
    given = [
        _stdio("calc", tmp_path / "c"),
        HttpMcpServer(
            type="http", name="My Tracker", url="http://127.0.0.1:9/mcp", headers=[HttpHeader(name="A", value="b")]
        ),
        SseMcpServer(type="sse", name="legacy", url="http://127.0.0.1:9/sse", headers=[]),
    ]
    servers = servers_for_session(user, given)
    assert list(servers) == ["docs", "calc", "My_Tracker"]  # sse is not offered (nor advertised)
    assert servers["calc"].command == sys.executable  # the editor's replaces the user's of the same name
    assert servers["calc"].env == {"MCP_CALLS": str(tmp_path / "c")}
    assert (servers["My_Tracker"].url, servers["My_Tracker"].headers) == ("http://127.0.0.1:9/mcp", {"A": "b"})


def test_the_permission_request_names_server_tool_and_arguments() -> None:
    arguments = {"a": 1, "b": 2}
    request = ApprovalRequest(2, "calc.add", arguments, "execute", "outside the sandbox", server="calc")
    update = updates.permission_tool_call(request, "/repo")
    texts = [block.content.text for block in update.content]
    assert any(t.startswith("MCP server calc, tool add:") and '"a": 1' in t for t in texts)
    assert update.raw_input == {"a": 1, "b": 2} and update.title == "calc.add"


@pytest.mark.slow
def test_rudder_acp_starts_the_clients_servers_on_the_first_prompt_and_stops_them_at_the_end(tmp_path: Path) -> None:
    """The real `rudder acp` on the real model, told which tool to use: the editor's servers start on the first
    prompt, the call asks the editor (naming server, tool and arguments) and reaches the stdio server, a
    broken server is a warning in the chat, and the servers stop when the connection ends."""
    make_repo(tmp_path / "project", {"README.md": "# Project\n"})
    repo = tmp_path / "project"
    calls, pid_file = tmp_path / "calls.jsonl", tmp_path / "pid"

    async def main(url: str) -> None:
        client = EditorClient("allow_once")
        env = _env(tmp_path, '[agent]\nmax_steps = 1\napproval = "ask"\n')
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            capabilities = ClientCapabilities()
            init = await conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=capabilities)
            assert init.agent_capabilities.mcp_capabilities.http
            servers = [
                _stdio("calc", calls, pid_file),
                HttpMcpServer(type="http", name="web", url=url, headers=[]),
                McpServerStdio(name="gone", command="/no/such/mcp-server", args=[], env=[]),
            ]
            new = await conn.new_session(cwd=str(repo), mcp_servers=servers)
            assert not pid_file.exists()  # lazily: nothing starts before the first prompt
            task = "Use the calc.add tool to add 2 and 3, then finish with the sum."
            await conn.prompt(session_id=new.session_id, prompt=[acp.text_block(task)])
            assert alive(int(pid_file.read_text()))
        messages = "".join(u.content.text for u in client.updates if isinstance(u, AgentMessageChunk))
        assert "Warning: MCP server 'gone' (/no/such/mcp-server) did not start" in messages
        trajectory = next((repo / ".git" / "rudder" / "trajectories").glob("*.jsonl"))
        offered = next(r for r in read_trajectory(trajectory) if r["type"] == "mcp")
        assert {"calc.add", "web.add"} <= set(offered["tools"])
        asked = [c.content.text for p in client.permissions if p.title == "calc.add" for c in p.content]
        assert any(t.startswith("MCP server calc, tool add:") and '"a": 2' in t for t in asked), asked
        assert recorded(calls) == [{"tool": "add", "arguments": {"a": 2, "b": 3}}]

    with http_server(tmp_path / "http-calls.jsonl") as url:
        asyncio.run(asyncio.wait_for(main(url), TIMEOUT * 3))
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "the stdio MCP server outlived the ACP connection"
