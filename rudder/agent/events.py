"""What a Session tells the world while it works: typed events, in the order they happen.

A listener receives each event on the session's own thread and must return quickly (a TUI posts it
to its event loop, an ACP server turns it into a `session/update`, the CLI prints it). Events carry
plain data; the only live object is `ApprovalRequested.request`, which the listener (or anyone it
hands it to, on any thread) answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rudder.agent.approval import ApprovalRequest
from rudder.agent.records import RunSummary, StepRecord
from rudder.interfaces import Phase, StepKind


@dataclass(frozen=True)
class RunStarted:
    """A turn begins: the first task of the session, or a follow-up sent with `Session.send`."""

    turn: int
    task: str
    mode: str
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepStarted:
    index: int
    kind: StepKind
    mode: str


@dataclass(frozen=True)
class SteeringChanged:
    """The steering active from the next token on (a phase boundary, a mode switch, a guard backing off)."""

    step: int
    phase: Phase
    steering: list[dict[str, Any]]
    reason: str = "phase"
    guard: dict[str, Any] | None = None  # the collapse guard's action (GuardEvent.as_dict()) when it is the reason
    gate: dict[str, Any] | None = None  # a gate reading (GateReading.as_dict()) when it is the reason


@dataclass(frozen=True)
class Token:
    step: int
    text: str
    phase: Phase
    erase: int = 0  # characters of earlier tokens' text to take back first (the collapse guard rewound a loop)


@dataclass(frozen=True)
class ToolCallStarted:
    step: int
    tool: str
    arguments: dict[str, Any]
    access: str


@dataclass(frozen=True)
class ToolCallFinished:
    step: int
    tool: str
    ok: bool
    observation: str
    diff: str | None = None  # unified diff of the files the call changed (writes and edits)
    checkpoint: str | None = None
    seconds: float = 0.0
    error_kind: str | None = None
    path: str | None = None  # the file a write or edit touched (relative), with its text before and after
    old_text: str | None = None
    new_text: str | None = None


@dataclass(frozen=True)
class ApprovalRequested:
    request: ApprovalRequest


@dataclass(frozen=True)
class Notice:
    """A warning for the user that is not a step's result: an MCP server that did not start, or failed a call, or
    a mode running prompt-led because the model has none of its vector (said once, at the mode's first step)."""

    text: str
    step: int | None = None


@dataclass(frozen=True)
class ModeSwitched:
    step: int
    old: str
    new: str
    now: bool  # True: took effect at the next token; False: at the start of this step


@dataclass(frozen=True)
class StepRetried:
    """The mode's reply to this step visibly went wrong (aids/second_opinion.py): what it streamed is set
    aside, and the step is asked again with the mode set aside; its new tokens follow."""

    step: int
    mode: str
    reason: str


@dataclass(frozen=True)
class StepFinished:
    record: StepRecord


@dataclass(frozen=True)
class RunFinished:
    turn: int
    summary: RunSummary


Event = (
    RunStarted
    | StepStarted
    | SteeringChanged
    | Token
    | ToolCallStarted
    | ToolCallFinished
    | ApprovalRequested
    | Notice
    | ModeSwitched
    | StepRetried
    | StepFinished
    | RunFinished
)
Listener = Callable[[Event], None]
