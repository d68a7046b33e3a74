"""What a run leaves behind: one record per step, written to a JSONL trajectory as it happens.

A trajectory file holds a `run` line (task, model, mode, config), one `step` line per step, and an
`end` line. Each step says what the model saw and wrote, the tool's observation, the step kind, the
steering that was active, token counts and timings. `rudder replay FILE` prints one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rudder.interfaces import StepKind

RunStatus = Literal["finished", "max_steps", "token_budget", "stopped", "error"]


class StepRecord(BaseModel):
    index: int
    kind: StepKind
    mode: str
    steering: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="phase -> the vectors active while the model wrote that phase"
    )
    output: str = ""  # the model's raw text
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    observation: str = ""
    ok: bool = True
    error_kind: Literal["protocol", "tool", "refused"] | None = None
    checkpoint: str | None = None
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    generated_tokens: int = 0
    generate_seconds: float = 0.0
    tool_seconds: float = 0.0
    wall_seconds: float = 0.0


class RunSummary(BaseModel):
    status: RunStatus
    answer: str = ""
    steps: int = 0
    protocol_errors: int = 0
    tool_errors: int = 0
    tokens: int = 0
    generate_seconds: float = 0.0
    tool_seconds: float = 0.0
    wall_seconds: float = 0.0
    error: str | None = None


class Trajectory:
    """Appends records to a JSONL file, flushed after every line so a crash loses nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")

    def write(self, kind: str, payload: dict[str, Any]) -> None:
        if self._handle is None:
            return
        line = {"type": kind, "time": round(time.time(), 3), **payload}
        self._handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg})") from None
    return records
