"""The protocol's transport: one JSON-RPC message per line on stdin and on a private copy of stdout.

Plain threads rather than asyncio pipe transports, so stdin and stdout may be pipes, files or sockets.
Lines that are not JSON-RPC get a JSON-RPC error here (the SDK alone would only log them), so a confused
client learns what went wrong and the server carries on.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any, BinaryIO, Protocol

import acp
from acp.core import AgentSideConnection

PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class Wire(Protocol):
    """What the agent may do on the wire itself, beside the SDK (which cannot withdraw its own requests)."""

    def open_requests(self, method: str, session_id: str) -> list[Any]: ...

    def notify(self, method: str, params: dict[str, Any]) -> None: ...


class LineTransport:
    """The SDK's Transport (already-decoded messages in and out) over a byte source and a file descriptor.
    It also keeps the ids of the requests it sent that have no answer yet (a Wire)."""

    def __init__(self, source: BinaryIO, out_fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self.out_fd = out_fd
        self.loop = loop
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._lock = threading.Lock()
        self._open: dict[Any, tuple[str, Any]] = {}  # request id -> (method, sessionId)
        threading.Thread(target=self._read, args=(source,), daemon=True, name="acp-stdin").start()

    def write(self, message: dict[str, Any]) -> None:
        data = memoryview(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        with self._lock:  # one whole line at a time, whichever thread sends
            if "method" in message and "id" in message:
                params = message.get("params")
                self._open[message["id"]] = (
                    message["method"],
                    params.get("sessionId") if isinstance(params, dict) else None,
                )
            while data:
                data = data[os.write(self.out_fd, data) :]

    def open_requests(self, method: str, session_id: str) -> list[Any]:
        """Ids of `method` requests for the session still unanswered; they count as withdrawn from now on."""
        with self._lock:
            ids = [i for i, (m, s) in self._open.items() if m == method and s == session_id]
            for request_id in ids:
                del self._open[request_id]
        return ids

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.write({"jsonrpc": "2.0", "method": method, "params": params})

    async def send(self, message: dict[str, Any]) -> None:
        self.write(message)

    async def receive(self) -> dict[str, Any] | None:
        return await self.inbox.get()

    async def close(self) -> None:
        return None

    def _read(self, source: BinaryIO) -> None:
        for line in iter(source.readline, b""):
            if not line.strip():
                continue
            message, error = parse_line(line)
            if error is not None:
                self.write(error)
            else:
                if "method" not in message:  # an answer to one of ours
                    with self._lock:
                        self._open.pop(message.get("id"), None)
                self.loop.call_soon_threadsafe(self.inbox.put_nowait, message)
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, None)


def parse_line(line: bytes) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(message, None) for a JSON-RPC message, else (None, the JSON-RPC error to answer with)."""
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, _error(None, PARSE_ERROR, f"Parse error: {exc}")
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        request_id = message.get("id") if isinstance(message, dict) else None
        return None, _error(request_id, INVALID_REQUEST, 'Invalid Request: expected an object with "jsonrpc": "2.0"')
    if "method" in message and not isinstance(message["method"], str):
        return None, _error(message.get("id"), INVALID_REQUEST, "Invalid Request: method must be a string")
    if "method" not in message and "id" not in message:
        return None, _error(None, INVALID_REQUEST, "Invalid Request: neither a request nor a response")
    return message, None


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


async def serve(agent: acp.Agent, protocol_fd: int, source: BinaryIO | None = None) -> None:
    transport = LineTransport(source or sys.stdin.buffer, protocol_fd, asyncio.get_running_loop())
    conn = AgentSideConnection(agent, transport, listening=False)
    attach = getattr(agent, "attach_wire", None)
    if attach is not None:
        attach(transport)
    try:
        await conn.listen()
    finally:
        await asyncio.shield(conn.close())
        close_sessions = getattr(agent, "close_sessions", None)
        if close_sessions is not None:  # stops the sessions' MCP servers
            await asyncio.to_thread(close_sessions)
