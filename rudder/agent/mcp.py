"""MCP servers' tools joining a session's toolset (on its first turn: the servers start lazily).

The session's `tools` dict is shared with its protocol and its tool execution, so the tools added here
are in the system prompt, in the call grammar and callable from the first step on. A server that does
not start, or a tool the grammar cannot take, is left out with a Notice (a warning for the user) and a
line in the trajectory; the session goes on with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rudder.agent.events import Notice
from rudder.agent.protocols.calls import ToolCallProtocol
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.tools.base import Tool
from rudder.tools.mcp.hub import McpHub, describe_error
from rudder.tools.mcp.tools import mcp_tools


def _grammar_problem(protocol: ToolCallProtocol, name: str, tool: Tool) -> str | None:
    """Why the JSON protocol's grammar cannot take this tool's schema, or None (DSML takes any schema)."""
    if not isinstance(protocol, JsonProtocol):
        return None
    try:
        JsonProtocol({name: tool}, with_thought=protocol.with_thought).grammar()
    except Exception as exc:  # llama.cpp's converter on a schema it does not support
        return f"MCP tool {name!r} is not offered: its schema cannot become a grammar ({describe_error(exc)})"
    return None


def join_mcp_tools(
    hub: McpHub | None,
    tools: dict[str, Tool],
    protocol: ToolCallProtocol,
    emit: Callable[[Notice], None],
    record: Callable[[str, dict[str, Any]], None],
) -> None:
    """Start the hub's servers and add their tools to `tools` (in place); a hub already started is left as is."""
    if hub is None or hub.started:
        return
    specs, problems = hub.start()
    offered, left_out = mcp_tools(hub, specs, set(tools))
    problems += left_out
    for name, tool in list(offered.items()):
        problem = _grammar_problem(protocol, name, tool)
        if problem is not None:
            problems.append(problem)
            del offered[name]
    tools.update(offered)
    record("mcp", {"servers": sorted(hub.servers), "tools": sorted(offered), "problems": problems})
    for problem in problems:
        emit(Notice(problem))
