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

RunStatus = Literal["finished", "stuck", "max_steps", "token_budget", "stopped", "error"]


class StepRecord(BaseModel):
    index: int
    turn: int = 1
    kind: StepKind
    mode: str
    steering: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="phase -> the vectors active while the model wrote that phase"
    )
    guard: list[dict[str, Any]] = Field(
        default_factory=list, description="collapse-guard actions: loop/entropy seen, scale backed off, tokens rewound"
    )
    gate: list[dict[str, Any]] = Field(
        default_factory=list, description="conditional steering: each gate reading (axis, value, threshold, fired)"
    )
    output: str = ""  # the model's raw text
    thought: str = ""  # the free-text "thought" written before the call (the phase modes steer)
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    observation: str = ""
    ok: bool = True
    error_kind: Literal["protocol", "tool", "refused", "runaway"] | None = None
    repeated: int = 0  # this call or error had been seen this many times (loop detection)
    temperature: float | None = None  # set when the step sampled warmer to change course
    tests: Literal["passed", "failed"] | None = None  # tests the harness ran before finish (careful modes)
    second_opinion: str | None = None  # why the step was asked again with the mode set aside, and the mode's call
    checkpoint: str | None = None
    diff: str | None = None  # unified diff of the file a write or edit changed
    files: list[str] = Field(default_factory=list, description="paths the step changed (relative to the repo)")
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
    files_changed: list[str] = Field(default_factory=list, description="paths the turn's steps changed, sorted")

    def add(self, step: StepRecord) -> None:
        """Count one finished step into the turn's totals."""
        self.steps += 1
        self.tokens += step.prompt_tokens_evaluated + step.generated_tokens
        self.generate_seconds += step.generate_seconds
        self.tool_seconds += step.tool_seconds
        self.protocol_errors += step.error_kind in ("protocol", "runaway")
        self.tool_errors += step.error_kind in ("tool", "refused")
        if step.files:
            self.files_changed = sorted({*self.files_changed, *step.files})


class Trajectory:
    """Appends records to a JSONL file, one line per record, opened and flushed per write: a crash (or
    kill -9) loses nothing written so far, and a long-lived session holds no file handle."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()

    def write(self, kind: str, payload: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = {"type": kind, "time": round(time.time(), 3), **payload}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Nothing stays open; kept so callers can end a trajectory explicitly."""


def trajectory_path(root: Path, directory: Path | None) -> Path:
    """A new trajectory file; by default inside .git, so runs never show up in `git status`."""
    base = root / directory if directory is not None else root / ".git" / "rudder" / "trajectories"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base / f"{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl").resolve()


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
