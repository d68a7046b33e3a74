"""Session events into the UI at a bounded rate.

The session's thread puts every event here (a lock and an append, no message per token) and wakes the
UI only when the queue was empty. The UI takes the queue at most `RATE` times a second, with the
consecutive tokens of one step and phase merged into one piece of text: however fast the model writes,
the event loop does at most RATE (12) transcript updates a second, and a keystroke never waits behind a
backlog of per-token messages. Order is kept: a tool call, a mode switch or the turn's end arrives
after the text written before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rudder.agent.events import Event, Token

RATE = 12.0  # UI updates per second at most while the model writes (measured: 20 costs keys more)
INTERVAL = 1.0 / RATE
KEY_QUIET = 0.05  # after a key, the transcript waits this long (the key's echo is drawn first)...
MAX_DEFER = 0.25  # ...but it is never updated less often than this


@dataclass(frozen=True)
class TokenRun(Token):
    """Consecutive tokens of one step and phase, merged: `count` tokens of text."""

    count: int = 1


def coalesce(events: Iterable[Event]) -> list[Event]:
    """Consecutive tokens of one step and phase become one Token (its `erase` taken back first)."""
    out: list[Event] = []
    for event in events:
        last = out[-1] if out else None
        if (
            isinstance(event, Token)
            and isinstance(last, Token)
            and (last.step, last.phase) == (event.step, event.phase)
        ):
            text, erase = last.text, last.erase
            if event.erase:
                if event.erase <= len(text):
                    text = text[: len(text) - event.erase]
                else:
                    erase, text = erase + event.erase - len(text), ""
            out[-1] = TokenRun(event.step, text + event.text, event.phase, erase, getattr(last, "count", 1) + 1)
        else:
            out.append(event)
    return out


class EventPump:
    def __init__(self, wake: Callable[[], object]) -> None:
        self._wake = wake  # called on the session's thread when the queue stops being empty
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._waiting = False

    def put(self, event: Event) -> None:
        """Any thread: queue one event; wake the UI if it is not already due to look."""
        with self._lock:
            self._events.append(event)
            if self._waiting:
                return
            self._waiting = True
        self._wake()

    def take(self) -> list[Event]:
        """The UI's thread: everything queued so far, tokens merged; the next put wakes the UI again."""
        with self._lock:
            events, self._events, self._waiting = self._events, [], False
        return coalesce(events)
