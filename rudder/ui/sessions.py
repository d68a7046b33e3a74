"""Saved sessions are the trajectories (.git/rudder/trajectories/*.jsonl): listed here, continued with
`Session.restore` (the trajectory file keeps growing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SavedSession:
    path: Path
    task: str
    turns: int
    steps: int
    mode: str


def trajectory_dir(repo: Path) -> Path:
    return repo / ".git" / "rudder" / "trajectories"


def list_sessions(repo: Path, directory: Path | None = None) -> list[SavedSession]:
    """Newest first; files that cannot be read are skipped (replay names their problem)."""
    base = directory or trajectory_dir(repo)
    found = []
    for path in sorted(base.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True):
        runs, steps = [], 0
        try:
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line) if line.strip() else {}
                if record.get("type") == "run":
                    runs.append(record)
                steps += record.get("type") == "step"
        except (OSError, ValueError):
            continue
        if runs:
            found.append(SavedSession(path, str(runs[0].get("task", "")), len(runs), steps, str(runs[-1].get("mode"))))
    return found
