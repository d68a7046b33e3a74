"""A real MCP server for the tests, written with the official SDK (MCPServer, formerly FastMCP).

    python tests/tools/mcp_server.py stdio          # on stdin/stdout
    python tests/tools/mcp_server.py http PORT      # streamable HTTP on 127.0.0.1:PORT/mcp

Every call that reaches a tool is appended to the file named by $MCP_CALLS (when set), so a test can
tell whether a call got through; $MCP_PID names a file it writes its pid to. $MCP_MODE=hang_on_start
makes it sleep before serving (a server that never answers); crash_on_start makes it exit at once with a
message on stderr.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("rudder-test")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def _record(tool: str, arguments: dict) -> None:
    path = os.environ.get("MCP_CALLS")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers and return the sum."""
    _record("add", {"a": a, "b": b})
    return f"the sum is {a + b}"


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason given."""
    _record("fail", {"reason": reason})
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def slow(seconds: float) -> str:
    """Sleep for the given number of seconds, then answer."""
    _record("slow", {"seconds": seconds})
    time.sleep(seconds)
    return "woke up"


@server.tool()
def picture() -> Image:
    """Return a one-pixel PNG image."""
    _record("picture", {})
    return Image(data=PNG, format="png")


class Point(BaseModel):
    x: int
    y: int


@server.tool()
def distance(start: Point, end: Point) -> str:
    """Manhattan distance between two points (nested arguments: a $ref in the schema)."""
    _record("distance", {"start": start.model_dump(), "end": end.model_dump()})
    return str(abs(start.x - end.x) + abs(start.y - end.y))


if __name__ == "__main__":
    if os.environ.get("MCP_PID"):
        with open(os.environ["MCP_PID"], "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
    mode = os.environ.get("MCP_MODE", "")
    if mode == "crash_on_start":
        print("cannot start: the test asked me to crash", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang_on_start":
        time.sleep(3600)
    if sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
