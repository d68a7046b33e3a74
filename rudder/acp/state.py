"""What the ACP server keeps: its options, and per ACP session the Rudder Session and what the client chose.

A Session's listener runs on its worker thread; `AcpSession.push` hands each event to the asyncio loop
(in order) while a prompt is running, and logs a Notice that comes outside one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rudder.agent.commands import Commands
from rudder.agent.events import Event, Notice
from rudder.agent.session import Session

log = logging.getLogger("rudder.acp")


@dataclass
class ServerOptions:
    overrides: dict[str, Any] = field(default_factory=dict)  # command-line flags, nested like config files
    engine: Any = None  # an already loaded engine (tests); else loaded on the first session


@dataclass
class AcpSession:
    id: str
    cwd: str
    root: Path
    session: Session
    mode: str
    strengths: dict[str, str] = field(default_factory=dict)
    queue: asyncio.Queue[Event] | None = None
    asking: set[asyncio.Task[None]] = field(default_factory=set)  # permission requests the client has open
    loop: asyncio.AbstractEventLoop | None = None
    commands: Commands = field(default_factory=Commands)  # custom slash commands (user's and repo's)

    def push(self, event: Event) -> None:
        """The Session's listener (its worker thread): hand the event to the loop, in order."""
        if self.queue is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
        elif isinstance(event, Notice):  # outside a prompt (MCP servers started by session/load): the log
            log.warning("session %s: %s", self.id, event.text)
