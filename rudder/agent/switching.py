"""What reaches the session's mode from outside its loop: a switch, and a mode's notice.

A switch is asked for from any thread (a front end's key, the ACP client) and taken on the session's thread:
a plain switch lands at the next step; a switch "now" lands at the next token too (the model query polls
for it mid-step). Taking a switch is what announces it: a ModeSwitched event and a "mode" trajectory line.
A mode's notice ("fast-draft: no terse vector for this model yet — ...") is said at its first step, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rudder.agent.events import Event, ModeSwitched, Notice
from rudder.agent.interfaces import StepPolicy


class PolicySwitch:
    def __init__(self, emit: Callable[[Event], None], record: Callable[[str, dict[str, Any]], None]) -> None:
        self._emit, self._record = emit, record
        self._pending: tuple[StepPolicy, bool] | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> StepPolicy | None:
        """The policy asked for and not yet taken, if any."""
        with self._lock:
            return None if self._pending is None else self._pending[0]

    def ask(self, policy: StepPolicy, *, now: bool) -> None:
        with self._lock:
            self._pending = (policy, now)

    def take(self, current: StepPolicy, step: int, *, mid_step: bool) -> StepPolicy | None:
        """The new policy when a switch is due (a "now" switch mid-step, any switch between steps)."""
        with self._lock:
            pending = self._pending
            if pending is None or (mid_step and not pending[1]):
                return None
            self._pending = None
        new = pending[0]
        self._emit(ModeSwitched(step, current.name, new.name, now=mid_step))
        self._record("mode", {"step": step, "old": current.name, "new": new.name, "now": mid_step})
        return new


class ModeNotices:
    """Says each mode's notice (a mode's missing vectors) once per session, at the first step it runs."""

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit, self._said = emit, set[str]()

    def at_step(self, policy: StepPolicy, step: int) -> None:
        if (notice := getattr(policy, "notice", None)) and notice not in self._said:
            self._said.add(notice)
            self._emit(Notice(notice, step))
