"""Real MCP servers for the tests (tests/tools/mcp_server.py, on the official SDK): one on stdio, one on
streamable HTTP at 127.0.0.1 on a free port, each recording the calls that reach it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rudder.tools.mcp.config import McpServer

SERVER = Path(__file__).with_name("mcp_server.py")
HTTP_START = 120.0  # seconds for the HTTP server to listen (the SDK's imports are slow on a busy machine)
STARTUP = 120.0  # a healthy test server's startup_timeout: on a loaded 2-core machine its imports took 20 s


def stdio_server(calls: Path, **options: Any) -> McpServer:
    """A stdio server config; `env` in options is added to the one that names the calls file."""
    env = {"MCP_CALLS": str(calls), **options.pop("env", {})}
    options.setdefault("startup_timeout", STARTUP)
    return McpServer(command=sys.executable, args=[str(SERVER), "stdio"], env=env, **options)


def recorded(calls: Path) -> list[dict[str, Any]]:
    """The calls that reached the server's tools."""
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def http_server(calls: Path) -> Iterator[str]:
    """A streamable-HTTP server on 127.0.0.1 (a free port); yields its URL and stops it afterwards."""
    port = _free_port()
    env = {**os.environ, "MCP_CALLS": str(calls)}
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + HTTP_START
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the HTTP MCP server exited: {process.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the HTTP MCP server did not listen in time") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as stopped
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True
