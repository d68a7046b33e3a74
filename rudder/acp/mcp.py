"""The MCP servers an ACP client passes in session/new and session/load, as Rudder's server config.

Rudder advertises stdio (which every agent must take) and streamable HTTP; an SSE or ACP-transport server
is left out with a warning in the log. The client's servers join the user's own `[mcp.servers]`; a client
server with the same name replaces the user's (the editor is the user's choice for this session).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from acp.schema import HttpMcpServer, McpServerStdio
from pydantic import ValidationError

from rudder.tools.mcp.config import McpServer

log = logging.getLogger("rudder.acp")
EDITOR_STARTUP = 60.0  # seconds: an editor's server often starts through npx/uvx, and ACP carries no timeout


def server_name(name: str, taken: Mapping[str, Any]) -> str:
    """An editor's label ("My Docs") as a name that can prefix tool names ("My_Docs"), unique in `taken`."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:36] or "server"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _server(entry: Any) -> McpServer:
    if isinstance(entry, McpServerStdio):
        env = {variable.name: variable.value for variable in entry.env}
        return McpServer(command=entry.command, args=list(entry.args), env=env, startup_timeout=EDITOR_STARTUP)
    if isinstance(entry, HttpMcpServer):
        headers = {header.name: header.value for header in entry.headers}
        return McpServer(url=entry.url, headers=headers, startup_timeout=EDITOR_STARTUP)
    kind = getattr(entry, "type", None) or type(entry).__name__
    raise ValueError(f"its transport ({kind}) is not supported: Rudder takes stdio and http servers")


def servers_for_session(user: Mapping[str, McpServer], given: list[Any] | None) -> dict[str, McpServer]:
    """The user's enabled servers with the client's added (a client's server replaces a user's of that name)."""
    servers = dict(user)
    added: dict[str, McpServer] = {}
    for entry in given or []:
        label = str(getattr(entry, "name", "") or "server")
        try:
            server = _server(entry)
        except (ValueError, ValidationError) as exc:
            log.warning("MCP server %r from the editor left out: %s", label, exc)
            continue
        name = server_name(label, added)
        servers[name] = added[name] = server
    return servers
