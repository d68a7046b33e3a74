"""The MCP servers of one session, reached through the official SDK from Rudder's synchronous agent loop.

The SDK is async (anyio); the agent loop is not. So each hub runs one event loop on its own daemon thread,
and each server one task on it that owns the server's `Client` from start to stop: anyio's cancel scopes
and task groups must be left by the task that entered them, so the connection is opened, kept and closed
in that one task, and tool calls are sent from other tasks on the same loop. The agent's thread waits on
them with timeouts and its cancel event; nothing here blocks forever or raises anything but a ToolError
into the agent.

Servers start when `start()` is first called (the session's first turn), all at once, each within its
`startup_timeout`; `close()` stops them (the SDK closes a stdio server's stdin, then terminates it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import tempfile
import threading
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rudder.tools.base import ToolError
from rudder.tools.mcp.config import McpServer

if TYPE_CHECKING:  # the SDK is imported when a server starts: it costs ~1.5 s of CPU, most runs need none
    from mcp import Client
    from mcp_types import CallToolResult

MAX_TOOL_PAGES = 20  # tools/list pages read from one server (a server that pages forever is cut there)
STDERR_TAIL = 600  # characters of a failed stdio server's stderr quoted in the warning
CLOSE_TIMEOUT = 8.0  # seconds for all servers to stop (the SDK waits 2 s for a stdio server, then kills it)


@dataclass(frozen=True)
class McpToolSpec:
    """One tool a server offers, as it described itself."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe_error(exc: BaseException) -> str:
    exc = _leaf(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Connection:
    """One server: its client, owned by the task running `serve` on the hub's loop."""

    def __init__(self, name: str, server: McpServer, root: Path) -> None:
        self.name, self.server, self.root = name, server, root
        self.client: Client | None = None
        self.stop = asyncio.Event()
        self.errlog: IO[str] | None = None
        self.failure: str | None = None  # why the connection ended, once it has

    def _transport(self) -> tuple[Any, Any]:
        from mcp import StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        if self.server.url is not None:
            http = create_mcp_http_client(headers=self.server.headers or None)
            return streamable_http_client(self.server.url, http_client=http), http
        self.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by the hub)
        params = StdioServerParameters(
            command=str(self.server.command),
            args=self.server.args,
            env=self.server.env or None,
            cwd=self.root / self.server.cwd if self.server.cwd is not None else self.root,  # an absolute cwd wins
        )
        return stdio_client(params, errlog=self.errlog), None

    async def serve(self, ready: concurrent.futures.Future[list[McpToolSpec]]) -> None:
        """Connect, list the tools, then hold the connection until `stop` is set (or it breaks)."""
        import anyio
        from mcp import Client

        try:
            with anyio.CancelScope() as scope:
                scope.deadline = anyio.current_time() + self.server.startup_timeout
                async with AsyncExitStack() as stack:
                    transport, http = self._transport()
                    if http is not None:
                        await stack.enter_async_context(http)
                    client = await stack.enter_async_context(Client(transport))
                    tools = await self._list_tools(client)
                    scope.deadline = math.inf  # started: from now on only `stop` ends it
                    self.client = client
                    ready.set_result(tools)
                    await self.stop.wait()
            if scope.cancelled_caught and not ready.done():
                ready.set_exception(TimeoutError(f"no answer within {self.server.startup_timeout:g} s"))
        except Exception as exc:  # the boundary: whatever the SDK or the server does becomes one sentence
            self.failure = describe_error(exc)
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self.client = None
            if not ready.done():
                ready.set_exception(RuntimeError("stopped before it started"))

    async def _list_tools(self, client: Client) -> list[McpToolSpec]:
        specs: list[McpToolSpec] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                specs.append(McpToolSpec(self.name, tool.name, tool.description or "", dict(tool.input_schema or {})))
            cursor = page.next_cursor
            if cursor is None:
                break
        return specs

    def stderr_tail(self) -> str:
        if self.errlog is None:
            return ""
        try:
            self.errlog.flush()
            self.errlog.seek(0)
            text = self.errlog.read().strip()
        except (OSError, ValueError):
            return ""
        return text[-STDERR_TAIL:]


@dataclass
class McpHub:
    """The session's MCP servers: `start()` lists their tools, `call()` runs one, `close()` stops them all."""

    servers: Mapping[str, McpServer]
    root: Path
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _connections: dict[str, _Connection] = field(default_factory=dict, init=False, repr=False)
    _tasks: list[concurrent.futures.Future[None]] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    started: bool = field(default=False, init=False)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="rudder-mcp", daemon=True)
            self._thread.start()
            self._loop = loop
        return self._loop

    def start(self) -> tuple[list[McpToolSpec], list[str]]:
        """Start every server (at once) and list its tools: (the tools, one sentence per server that failed)."""
        with self._lock:
            if self.started:
                raise RuntimeError("the MCP servers are already started")
            self.started = True
            if not self.servers:
                return [], []
            loop = self._ensure_loop()
            waiting: dict[str, tuple[_Connection, concurrent.futures.Future[list[McpToolSpec]]]] = {}
            for name, server in self.servers.items():
                connection = self._connections[name] = _Connection(name, server, self.root)
                ready: concurrent.futures.Future[list[McpToolSpec]] = concurrent.futures.Future()
                self._tasks.append(asyncio.run_coroutine_threadsafe(connection.serve(ready), loop))
                waiting[name] = (connection, ready)
        tools: list[McpToolSpec] = []
        problems: list[str] = []
        for connection, ready in waiting.values():
            try:  # the task's own deadline fires first; the grace only guards against a stuck loop
                tools += ready.result(connection.server.startup_timeout + 5.0)
            except Exception as exc:  # the boundary: one sentence per server, the others go on
                problems.append(self._start_problem(connection, exc))
        return tools, problems

    def _start_problem(self, connection: _Connection, exc: BaseException) -> str:
        what = connection.server.describe()
        if isinstance(_leaf(exc), TimeoutError):
            why = f"no answer within {connection.server.startup_timeout:g} s (startup_timeout)"
        else:
            why = describe_error(exc)
        tail = connection.stderr_tail()
        stderr = f"; its stderr ends: {tail}" if tail else ""
        return f"MCP server {connection.name!r} ({what}) did not start: {why}{stderr}. Its tools are not offered."

    def call(self, server: str, tool: str, arguments: dict[str, Any], cancel: threading.Event) -> CallToolResult:
        """One tool call, within the server's tool_timeout; an interrupt (`cancel`) abandons it at once."""
        connection = self._connections.get(server)
        if connection is None or self._loop is None:
            raise ToolError(f"MCP server {server!r} is not running")
        if connection.client is None:
            why = f": {connection.failure}" if connection.failure else ""
            raise ToolError(f"MCP server {server!r} is no longer connected{why}")
        timeout = connection.server.tool_timeout
        future = asyncio.run_coroutine_threadsafe(self._call(connection, tool, arguments, timeout), self._loop)
        deadline = time.monotonic() + timeout + 5.0
        while True:
            try:
                return future.result(0.1)
            except TimeoutError:
                if cancel.is_set():
                    future.cancel()
                    raise ToolError(f"{server}.{tool}: interrupted") from None
                if time.monotonic() > deadline:
                    future.cancel()
                    raise ToolError(self._timeout_message(server, tool, timeout)) from None
            except ToolError:
                raise
            except Exception as exc:  # the SDK's, the transport's or the server's: an observation, never a crash
                raise ToolError(f"MCP server {server!r} failed on {tool}: {describe_error(exc)}") from None

    async def _call(self, connection: _Connection, tool: str, arguments: dict[str, Any], timeout: float) -> Any:
        import anyio

        client = connection.client
        if client is None:
            raise ToolError(f"MCP server {connection.name!r} is no longer connected")
        try:
            with anyio.fail_after(timeout):
                return await client.call_tool(tool, arguments)
        except TimeoutError:
            raise ToolError(self._timeout_message(connection.name, tool, timeout)) from None

    @staticmethod
    def _timeout_message(server: str, tool: str, timeout: float) -> str:
        return (
            f"MCP server {server!r} did not answer {tool} within {timeout:g} s "
            f"(tool_timeout of [mcp.servers.{server}]); it may be stuck"
        )

    def close(self) -> None:
        """Stop every server and the loop. Safe to call twice, or when nothing was started."""
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is None:
                return
            connections, tasks = list(self._connections.values()), list(self._tasks)

        for connection in connections:
            loop.call_soon_threadsafe(connection.stop.set)
        concurrent.futures.wait(tasks, timeout=CLOSE_TIMEOUT)  # a server that will not stop is left to the OS
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)
        if not loop.is_running():
            loop.close()
        for connection in connections:
            if connection.errlog is not None:
                connection.errlog.close()

    def __repr__(self) -> str:  # the servers' env and headers may hold secrets
        return f"McpHub({json.dumps(sorted(self.servers))})"
