"""Messages from the agent's world into the UI's: posted from the session's thread (thread-safe)."""

from __future__ import annotations

from textual.message import Message

from rudder.agent.events import Event


class AgentEvent(Message):
    """One Session event (agent/events.py) for the UI to show at once (tests, scripted displays)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class TurnFailed(Message):
    """A turn could not start or crashed outside the Session's own error handling."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class EventsWaiting(Message):
    """The event pump went from empty to not empty (posted from the session's thread)."""


class EventsDue(Message):
    """Time to take the pump's events and show them."""


class ModeSwitchDone(Message):
    """The bridge built (or failed to build) a mode asked for with a hotkey; `future` holds the outcome."""

    def __init__(self, mode: str, future: object) -> None:
        super().__init__()
        self.mode, self.future = mode, future
