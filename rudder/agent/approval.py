"""Approval as a request object: the session's thread waits on it, anyone answers it from any thread.

The CLI answers synchronously (its approver returns a Decision); a TUI or an ACP server returns None from
the approver, shows the request (with its diff or command), and calls `request.answer(...)` later from its
own thread or asyncio task. An interrupt answers a pending request with a rejection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    ALLOW_ONCE = "allow_once"
    ALLOW_ALWAYS = "allow_always"  # this tool, for the rest of the session
    REJECT = "reject"


@dataclass
class ApprovalRequest:
    step: int
    tool: str
    arguments: dict[str, Any]
    access: str  # "write" or "execute"
    reason: str  # why approval is needed ("approval policy is ask", "writes Rudder's own config", ...)
    diff: str | None = None  # what a write would change, when it can be computed before running it
    command: str | None = None  # what a shell call would run
    sensitive: bool = False  # about Rudder's or git's own files: no approval setting allows it unasked
    server: str | None = None  # the MCP server whose tool this is (the dialogs name it); None: a built-in tool
    _answered: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    decision: Decision | None = None
    message: str = ""  # the user's reason for a rejection, shown to the model

    def answer(self, decision: Decision | str, message: str = "") -> bool:
        """Answer once (thread-safe); later answers are ignored. Returns whether this answer counted."""
        with self._lock:
            if self._answered.is_set():
                return False
            self.decision, self.message = Decision(decision), message
            self._answered.set()
            return True

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    def wait(self, cancel: threading.Event, poll: float = 0.05) -> Decision:
        """Block until answered; a set `cancel` answers REJECT ("interrupted")."""
        while not self._answered.wait(poll):
            if cancel.is_set():
                self.answer(Decision.REJECT, "interrupted")
        assert self.decision is not None
        return self.decision


Approver = Callable[[ApprovalRequest], Decision | None]
"""Returns a Decision to answer at once, or None when the request will be answered later via `answer`."""
