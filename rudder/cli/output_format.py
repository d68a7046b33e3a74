"""`rudder run --output-format json|stream-json`: what a script or CI job reads on stdout.

json         one object when the run ends (`RunResult`), nothing else on stdout.
stream-json  one JSON object per line as things happen: each of the Session's typed events (agent/events.py,
             the same the TUI and the ACP server consume) as `{"version": 1, "type": "step_started", ...}`,
             then a last line `{"version": 1, "type": "result", ...}` holding the `json` mode's object.

Both carry `version` (STREAM_VERSION): it goes up when a field changes meaning or goes away; new fields may
appear without a new version. The JSON schemas (`stream_schema()`, `result_schema()`) are generated from
the same types and kept in docs/schemas/ (tests check the files are current). Human-readable progress
stays on stderr in every format.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from enum import StrEnum
from functools import cache
from typing import IO, Any, get_args

from pydantic import BaseModel, Field, TypeAdapter

from rudder.agent import events
from rudder.agent.records import RunStatus, RunSummary

STREAM_VERSION = 1


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    STREAM_JSON = "stream-json"


JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"

EVENT_TYPES: tuple[type, ...] = get_args(events.Event)  # every event the Session emits, new ones too


class ApprovalQuestion(BaseModel):
    """An approval request as data (the live request also carries the means to answer it)."""

    step: int
    tool: str
    arguments: dict[str, Any]
    access: str
    reason: str
    diff: str | None = None
    command: str | None = None
    sensitive: bool = False


class Tokens(BaseModel):
    total: int = Field(description="prompt tokens evaluated + tokens generated (the token budget counts these)")
    prompt_evaluated: int = Field(description="prompt tokens the model read (a cached prefix is not read again)")
    generated: int


class Timings(BaseModel):
    wall_seconds: float
    generate_seconds: float
    tool_seconds: float


class RunResult(BaseModel):
    """`--output-format json`: the run at its end."""

    version: int = STREAM_VERSION
    type: str = "result"
    status: RunStatus
    exit_code: int = Field(description="the process's exit status: 0 finished, 1 otherwise, 130 interrupted")
    answer: str
    error: str | None = None
    steps: int
    protocol_errors: int
    tool_errors: int
    tokens: Tokens
    timings: Timings
    files_changed: list[str] = Field(description="paths the run's steps changed, relative to the repository")
    trajectory: str | None
    model: str
    mode: str
    instructions: list[dict[str, Any]] = Field(description="the AGENTS.md files read (see the run manifest)")


def result(session: Any, summary: RunSummary, exit_code: int) -> RunResult:
    steps = [r for r in session.history if r.turn == session.turn]
    path = session.trajectory.path
    return RunResult(
        status=summary.status,
        exit_code=exit_code,
        answer=summary.answer,
        error=summary.error,
        steps=summary.steps,
        protocol_errors=summary.protocol_errors,
        tool_errors=summary.tool_errors,
        tokens=Tokens(
            total=summary.tokens,
            prompt_evaluated=sum(r.prompt_tokens_evaluated for r in steps),
            generated=sum(r.generated_tokens for r in steps),
        ),
        timings=Timings(
            wall_seconds=summary.wall_seconds,
            generate_seconds=summary.generate_seconds,
            tool_seconds=summary.tool_seconds,
        ),
        files_changed=summary.files_changed,
        trajectory=str(path) if path is not None else None,
        model=session.engine.info.name,
        mode=session.policy.name,
        instructions=session.instructions.manifest(),
    )


def type_name(cls: type) -> str:
    """RunStarted -> run_started."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


@cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(ApprovalQuestion if cls is events.ApprovalRequested else cls)


def event_json(event: events.Event) -> dict[str, Any]:
    """One stream-json line's object for a Session event."""
    if isinstance(event, events.ApprovalRequested):
        request = event.request
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(request) if not f.name.startswith("_")}
        body = {"request": ApprovalQuestion.model_validate(fields).model_dump(mode="json")}
    else:
        body = _adapter(type(event)).dump_python(event, mode="json")
    return {"version": STREAM_VERSION, "type": type_name(type(event)), **body}


class JsonLines:
    """Writes one JSON object per line and flushes it (events come from the session's thread)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False, default=str)
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()


def _envelope(name: str, body: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    defs.update(body.pop("$defs", {}))
    properties = {"version": {"const": STREAM_VERSION}, "type": {"const": name}, **body.get("properties", {})}
    required = ["version", "type", *body.get("required", [])]
    return {**body, "title": name, "properties": properties, "required": required}


def _schema_of(model: Any) -> dict[str, Any]:
    return model.json_schema(ref_template="#/$defs/{model}")


def result_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    body = _envelope("result", _schema_of(TypeAdapter(RunResult)), defs)
    return {"$schema": JSON_SCHEMA, **body, "$defs": defs}


def stream_schema() -> dict[str, Any]:
    """The schema of one stream-json line: one of the event objects, or the final result."""
    defs: dict[str, Any] = {}
    lines = []
    for cls in EVENT_TYPES:
        if cls is events.ApprovalRequested:
            body = {
                "type": "object",
                "properties": {"request": {"$ref": "#/$defs/ApprovalQuestion"}},
                "required": ["request"],
            }
            defs["ApprovalQuestion"] = _schema_of(TypeAdapter(ApprovalQuestion))
        else:
            body = _schema_of(_adapter(cls))
        lines.append(_envelope(type_name(cls), body, defs))
    lines.append(_envelope("result", _schema_of(TypeAdapter(RunResult)), defs))
    return {
        "$schema": JSON_SCHEMA,
        "title": "rudder run --output-format stream-json: one line",
        "oneOf": lines,
        "$defs": defs,
    }
