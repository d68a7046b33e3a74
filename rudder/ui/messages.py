"""Messages from the agent's world into the UI's: posted from the session's thread (thread-safe)."""

from __future__ import annotations

from textual.message import Message

from rudder.agent.events import Event


class AgentEvent(Message):
    """One Session event (agent/events.py), delivered on the UI's event loop."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class TurnFailed(Message):
    """A turn could not start or crashed outside the Session's own error handling."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
