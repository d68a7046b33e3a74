"""How an MCP server is configured: `[mcp.servers.NAME]` in the user's config, or an ACP client's mcpServers.

    [mcp.servers.docs]                 # a program Rudder starts, spoken to on its stdin/stdout
    command = "uvx"
    args = ["my-docs-server", "--read-only"]
    env = { DOCS_TOKEN = "..." }

    [mcp.servers.tracker]              # a server already running, spoken to over streamable HTTP
    url = "http://127.0.0.1:8931/mcp"
    headers = { Authorization = "Bearer ..." }

The names follow Codex's `[mcp_servers.NAME]` keys where they can (command, args, env, cwd, url, enabled,
startup and tool timeouts). A repository's `.rudder.toml` may not define servers (rudder/config.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SERVER_NAME = r"^[A-Za-z0-9_-]{1,40}$"  # it prefixes the tool names the model writes: `server.tool`


class McpServer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(None, min_length=1, description="the program to start (stdio transport)")
    args: list[str] = Field(default_factory=list, description="its arguments")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment variables for it, over a minimal environment (PATH, HOME, USER, ...)",
    )
    cwd: Path | None = Field(None, description="its working directory; default the repository's root")
    url: str | None = Field(
        None, pattern=r"^https?://", description="a streamable-HTTP server's endpoint (instead of command)"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers sent to a url server")
    enabled: bool = Field(True, description="false: keep the entry but do not start it")
    tools: list[str] | None = Field(
        None, description="offer only these of its tools to the model (each one grows the prompt and grammar)"
    )
    startup_timeout: float = Field(30.0, gt=0, le=600, description="seconds to start and list its tools")
    tool_timeout: float = Field(60.0, gt=0, le=3600, description="seconds one tool call may take")

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a program to start) or url (a streamable-HTTP server), not both")
        if self.url is not None and (self.args or self.env or self.cwd is not None):
            raise ValueError("args, env and cwd are for a command; a url server takes headers")
        if self.command is not None and self.headers:
            raise ValueError("headers are for a url server")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def describe(self) -> str:
        """How the server is reached, for messages: the command line or the URL (never env or headers)."""
        if self.url is not None:
            return self.url
        return " ".join([str(self.command), *self.args])


class McpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: dict[str, McpServer] = Field(default_factory=dict, description="MCP servers by name")

    @field_validator("servers")
    @classmethod
    def _names(cls, servers: dict[str, McpServer]) -> dict[str, McpServer]:
        for name in servers:
            if not re.match(SERVER_NAME, name):
                raise ValueError(f"server name {name!r}: use letters, digits, '-' or '_' (it prefixes tool names)")
        return servers

    def enabled(self) -> dict[str, McpServer]:
        return {name: server for name, server in self.servers.items() if server.enabled}
