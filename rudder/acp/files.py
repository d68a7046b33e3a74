"""The editor's file system behind the agent's file tools (ACP fs/read_text_file and fs/write_text_file).

Reading through the editor shows the agent unsaved buffers; writing through it updates the open buffer
instead of changing the file under the user's cursor. The tools call these from the session's worker
thread; the requests run on the protocol's event loop. Any failure falls back to the disk.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("rudder.acp")
TIMEOUT = 30.0


class ClientFiles:
    def __init__(
        self, conn: Any, session_id: str, loop: asyncio.AbstractEventLoop, *, can_read: bool, can_write: bool
    ) -> None:
        self.conn, self.session_id, self.loop = conn, session_id, loop
        self.can_read, self.can_write = can_read, can_write

    def read(self, path: Path) -> str | None:
        if not self.can_read:
            return None
        try:
            call = self.conn.read_text_file(session_id=self.session_id, path=str(path))
            return asyncio.run_coroutine_threadsafe(call, self.loop).result(TIMEOUT).content
        except Exception as exc:  # a file the editor does not know, a client error: read the disk
            log.debug("fs/read_text_file %s failed (%s); reading the disk", path, exc)
            return None

    def write(self, path: Path, text: str) -> bool:
        if not self.can_write:
            return False
        try:
            call = self.conn.write_text_file(session_id=self.session_id, path=str(path), content=text)
            asyncio.run_coroutine_threadsafe(call, self.loop).result(TIMEOUT)
            return True
        except Exception as exc:
            log.warning("fs/write_text_file %s failed (%s); writing the disk", path, exc)
            return False
