"""Saved sessions are the trajectories (.git/rudder/trajectories/*.jsonl): list them, and rebuild the
conversation of one so a new Session continues it (its trajectory file keeps growing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudder.agent import prompts
from rudder.agent.context import Conversation
from rudder.agent.session import Session
from rudder.interfaces import StepKind


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


def restore_conversation(session: Session, records: list[dict[str, Any]]) -> None:
    """Give `session` the conversation a trajectory recorded: first task, steps, follow-ups."""
    runs = [r for r in records if r.get("type") == "run"]
    if not runs:
        raise ValueError("this trajectory has no run record: nothing to resume")
    addendum = session.policy.addendum(StepKind.PLAN)
    conversation = Conversation(
        system=prompts.system_prompt(session.protocol, session.ws.root.name, session.repo_map, addendum),
        task=prompts.task_message(str(runs[0].get("task", ""))),
        example=prompts.worked_example(session.protocol),
    )
    for record in records:
        kind = record.get("type")
        if kind == "run" and record is not runs[0]:
            conversation.add_user(prompts.follow_up_message(str(record.get("task", ""))))
        elif kind == "step" and record.get("tool"):
            tool = str(record["tool"])
            observation = None if tool == "finish" else prompts.observation(tool, str(record.get("observation", "")))
            conversation.add(
                str(record.get("output", "")), observation, f"{tool} -> {'ok' if record.get('ok') else 'error'}"
            )
    session.conversation = conversation
    session.turn = len(runs)
