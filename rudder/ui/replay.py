"""A saved trajectory as the events a live session would have sent, so a resumed session's earlier steps
are drawn by the same code as live ones: kind, mode and steering per phase, the thought as Markdown, the
tool call with its arguments, output and diff, collapse-guard actions, mode switches and answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rudder.agent.events import (
    Event,
    RunFinished,
    SteeringChanged,
    StepFinished,
    StepStarted,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.agent.records import RunSummary, StepRecord
from rudder.interfaces import Phase


@dataclass(frozen=True)
class UserTurn:
    task: str


@dataclass(frozen=True)
class Note:
    text: str
    kind: str = "info"


Item = Event | UserTurn | Note


def _phase(label: str) -> Phase:
    name = label.split(" ")[0]  # "thought (switched)" -> thought
    try:
        return Phase(name)
    except ValueError:
        return Phase.THOUGHT


def step_events(step: StepRecord, access: Callable[[str], str], active: list[Any]) -> Iterator[Event]:
    """`active`: the steering in force before the step (one-item list, updated): like the live session, a
    phase's steering is announced only when it differs from what was active."""
    yield StepStarted(step.index, step.kind, step.mode)
    for label, steering in step.steering.items():
        phase = _phase(label)
        if steering != active[0]:
            active[0] = steering
            yield SteeringChanged(step.index, phase, steering, "phase" if label == str(phase) else "switched")
    if step.thought:
        yield Token(step.index, step.thought, Phase.THOUGHT)
    for guard in step.guard:
        yield SteeringChanged(step.index, Phase.THOUGHT, guard.get("plan") or [], "guard", guard=guard)
    if step.tool and step.tool != "finish" and step.arguments is not None:
        yield ToolCallStarted(step.index, step.tool, step.arguments, access(step.tool))
        yield ToolCallFinished(
            step.index, step.tool, step.ok, step.observation, step.diff, step.checkpoint, step.tool_seconds
        )
    yield StepFinished(step)


def replay_items(records: list[dict[str, Any]], access: Callable[[str], str]) -> Iterator[Item]:
    """Trajectory records (read_trajectory) -> user turns, notes and events, in the order they happened."""
    active: list[Any] = [[]]  # steering starts cleared at every turn
    for record in records:
        kind = record.get("type")
        payload = {k: v for k, v in record.items() if k not in ("type", "time")}
        try:
            if kind == "run":
                active[0] = []
                yield UserTurn(str(record.get("task", "")))
            elif kind == "step":
                yield from step_events(StepRecord.model_validate(payload), access, active)
            elif kind == "mode":  # a note: the mode bar shows the mode the resumed session runs in now
                when = "(now)" if record.get("now") else "(this step)"
                yield Note(f"mode {record.get('old')} → {record.get('new')} {when}", "mode")
            elif kind == "approved":
                because = f" ({record['message']})" if record.get("message") else ""
                yield Note(f"approval: {record.get('decision')}{because}")
            elif kind == "end":
                summary = RunSummary.model_validate({k: v for k, v in payload.items() if k != "turn"})
                yield RunFinished(int(record.get("turn", 1)), summary)
        except (ValidationError, TypeError, ValueError) as exc:
            yield Note(f"a {kind} record could not be read: {exc}".splitlines()[0], "error")
