"""`rudder replay` and `rudder undo`: look back at a run, take back a step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.text import Text

from rudder.agent.records import RunSummary, StepRecord
from rudder.cli import display
from rudder.cli.options import RepoOpt, fail, warn
from rudder.tools.base import ToolError
from rudder.tools.gitops import Checkpoints, find_repo_root
from rudder.util.validation import describe_validation_error

out = Console()  # what the command shows goes to stdout (`rudder replay T | less`); diagnostics to stderr
err = Console(stderr=True)


class RunRecord(BaseModel):
    """The first line of a trajectory; only what replay shows is required (newer files may say more)."""

    model_config = ConfigDict(extra="allow")

    task: str
    mode: str = "?"
    model: str = "?"


_RECORDS: dict[str, type[BaseModel]] = {"run": RunRecord, "step": StepRecord, "end": RunSummary}


@dataclass
class Replay:
    """A trajectory as read back: its records (type, fields), the unknown types skipped, and the line a crash
    cut off (the last line, when it is not whole JSON; 0 if none)."""

    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cut_line: int = 0

    @property
    def finished(self) -> bool:
        return any(kind == "end" for kind, _ in self.records)


def read_records(path: Path) -> Replay:
    """The trajectory's records, each validated. A last line that is not whole JSON (the process died while
    writing it) is left out and reported, not an error; every other bad line is.

    Raises ValueError naming the file (and line) for anything that is not a trajectory."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; expected a trajectory (JSON lines)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    replay = Replay()
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    for number, line in lines:
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == lines[-1][0] and replay.records:
                replay.cut_line = number
                break
            raise ValueError(f"{where}: not a JSON line ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object with a 'type', got {type(data).__name__}")
        kind = data.get("type")
        if not isinstance(kind, str):
            raise ValueError(f"{where}: type: expected one of {', '.join(_RECORDS)}, got {kind!r}")
        if kind not in _RECORDS:
            replay.skipped.append(kind)
            continue
        try:
            record = _RECORDS[kind].model_validate(data)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(where, exc)) from None
        replay.records.append((kind, record.model_dump(mode="json")))
    if not replay.records:
        raise ValueError(f"{path}: no records; expected a trajectory written by `rudder run` (JSON lines)")
    return replay


def replay(path: Annotated[Path, typer.Argument(help="a trajectory JSONL file", exists=True, dir_okay=False)]) -> None:
    """Print a recorded run: the task, every step with its steering, call and observation, the outcome."""
    try:
        found = read_records(path)
    except ValueError as exc:
        raise fail(str(exc)) from None
    for kind, record in found.records:
        if kind == "run":
            out.print(Text.assemble(("task:", "bold"), f" {record['task']}"))
            out.print(display.plain(f"mode {record['mode']}, model {record['model']}", "dim"))
        elif kind == "step":
            display.print_step(out, record)
        else:
            outcome = record.get("answer") or record.get("error") or ""
            out.print(
                Text.assemble(
                    (str(record["status"]), "bold"),
                    f": {outcome} ({record['steps']} steps, {record['tokens']} tokens, {record['wall_seconds']:.1f} s)",
                )
            )
    if found.skipped:
        plural = "" if len(found.skipped) == 1 else "s"
        warn(f"skipped {len(found.skipped)} record{plural} of unknown type: {', '.join(sorted(set(found.skipped)))}")
    if found.cut_line:
        warn(f"{path}:{found.cut_line}: the last line is cut off (the process died while writing it); left out")
    if not found.finished:
        warn(f"{path}: the run did not finish (no end record): it was killed or crashed, or is still running")


def undo(
    checkpoint: Annotated[str | None, typer.Argument(help="checkpoint id [default: the latest step]")] = None,
    repo: RepoOpt = Path("."),
    list_: Annotated[bool, typer.Option("--list", help="list checkpoints instead")] = False,
    force: Annotated[bool, typer.Option(help="undo even if the files changed again since")] = False,
) -> None:
    """Undo an agent step: restore exactly the files it changed, leaving your commits and other files alone."""
    try:
        checkpoints = Checkpoints(find_repo_root(repo))
        if list_:
            entries = checkpoints.list()
            if not entries:
                err.print("no agent checkpoints in this repo (`rudder run` records one before each write or shell)")
            for entry in entries:
                out.print(display.plain(entry.describe()))
            return
        result = checkpoints.undo(checkpoint, force=force)
    except ToolError as exc:
        raise fail(str(exc)) from None
    out.print(display.plain(result.summary()))
