"""Labels for the steps of an agent run, from its trajectory and its checker's verdict (no human in the loop).

    fail-run          a step of a sample whose checker failed (contrasted with pass-run steps of the same task)
    pass-run          a step of a sample whose checker passed
    loop              the same call (tool and arguments) as an earlier step of the run
    premature-finish  finish while the checker fails
    off-target        a call on a path the task does not name and the run has not discovered (not in the
                      fixture, not in an earlier observation, not written earlier by the run)

`drifted(labels)` says whether a step carries any label of the bad kinds; "calibrated" steps are the steps
of passing runs that carry none (TACT's calibrated region).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

PASS, FAIL = "pass-run", "fail-run"
LOOP, PREMATURE, OFF_TARGET = "loop", "premature-finish", "off-target"
BEHAVIOURS = (LOOP, PREMATURE, OFF_TARGET)
LABELS = (FAIL, *BEHAVIOURS)  # what a direction can be built from (`--labels`)
PATH_KEYS = ("path", "source", "target")


def _call_key(step: dict[str, Any]) -> str | None:
    if not step.get("tool"):
        return None
    return json.dumps([step["tool"], step.get("arguments") or {}], sort_keys=True, default=str)


def _paths(step: dict[str, Any]) -> list[str]:
    args = step.get("arguments") or {}
    return [str(args[k]) for k in PATH_KEYS if isinstance(args.get(k), str) and args[k].strip()]


def _norm(path: str) -> str:
    return PurePosixPath(path.strip().lstrip("./")).as_posix() if path.strip() else ""


def named_in(path: str, texts: Iterable[str]) -> bool:
    """Whether `path` (or its file name) appears in any of `texts`."""
    full, name = _norm(path), PurePosixPath(_norm(path)).name
    return any(full and (full in text or (name and name in text)) for text in texts)


def step_labels(
    steps: Sequence[dict[str, Any]], *, instruction: str, files: Iterable[str], passed: bool | None
) -> list[list[str]]:
    """One label list per step. `passed` None (no checker, e.g. `rudder run`): no run or finish labels."""
    known = {_norm(f) for f in files}
    seen_calls: set[str] = set()
    observed: list[str] = [instruction]
    written: set[str] = set()
    out: list[list[str]] = []
    for step in steps:
        labels: list[str] = []
        if passed is not None:
            labels.append(PASS if passed else FAIL)
        key = _call_key(step)
        if key is not None and step.get("tool") != "finish":
            if key in seen_calls:
                labels.append(LOOP)
            seen_calls.add(key)
        if step.get("tool") == "finish" and passed is False:
            labels.append(PREMATURE)
        for path in _paths(step):
            norm = _norm(path)
            if norm in known or norm in written or named_in(path, observed):
                continue
            labels.append(OFF_TARGET)
            break
        out.append(labels)
        observed.append(str(step.get("observation") or ""))
        if step.get("ok", True):
            written.update(_norm(p) for p in _paths(step))
    return out


def drifted(labels: Iterable[str]) -> bool:
    return any(label in BEHAVIOURS for label in labels)
