"""`rudder replay` and `rudder undo`: look back at a run, take back a step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.text import Text

from rudder.agent.records import RunSummary, StepRecord
from rudder.cli import display
from rudder.cli.options import RepoOpt, fail
from rudder.tools.base import ToolError
from rudder.tools.gitops import Checkpoints, find_repo_root
from rudder.util.validation import describe_validation_error

console = Console(stderr=True)


class RunRecord(BaseModel):
    """The first line of a trajectory; only what replay shows is required (newer files may say more)."""

    model_config = ConfigDict(extra="allow")

    task: str
    mode: str = "?"
    model: str = "?"


_RECORDS: dict[str, type[BaseModel]] = {"run": RunRecord, "step": StepRecord, "end": RunSummary}


def read_records(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The trajectory's records, each validated, as (type, fields); and the unknown types skipped.

    Raises ValueError naming the file (and line) for anything that is not a trajectory."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; expected a trajectory (JSON lines)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    records: list[tuple[str, dict[str, Any]]] = []
    skipped: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not a JSON line ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object with a 'type', got {type(data).__name__}")
        kind = data.get("type")
        if not isinstance(kind, str):
            raise ValueError(f"{where}: type: expected one of {', '.join(_RECORDS)}, got {kind!r}")
        if kind not in _RECORDS:
            skipped.append(kind)
            continue
        try:
            record = _RECORDS[kind].model_validate(data)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(where, exc)) from None
        records.append((kind, record.model_dump(mode="json")))
    if not records:
        raise ValueError(f"{path}: no records; expected a trajectory written by `rudder run` (JSON lines)")
    return records, skipped


def replay(path: Annotated[Path, typer.Argument(help="a trajectory JSONL file", exists=True, dir_okay=False)]) -> None:
    """Print a recorded run: the task, every step with its steering, call and observation, the outcome."""
    try:
        records, skipped = read_records(path)
    except ValueError as exc:
        raise fail(str(exc)) from None
    for kind, record in records:
        if kind == "run":
            console.print(Text.assemble(("task:", "bold"), f" {record['task']}"))
            console.print(display.plain(f"mode {record['mode']}, model {record['model']}", "dim"))
        elif kind == "step":
            display.print_step(console, record)
        else:
            outcome = record.get("answer") or record.get("error") or ""
            console.print(
                Text.assemble(
                    (str(record["status"]), "bold"),
                    f": {outcome} ({record['steps']} steps, {record['tokens']} tokens, {record['wall_seconds']:.1f} s)",
                )
            )
    if skipped:
        plural = "" if len(skipped) == 1 else "s"
        console.print(
            display.plain(f"skipped {len(skipped)} record{plural} of unknown type: {', '.join(sorted(set(skipped)))}")
        )


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
                console.print("no agent checkpoints in this repo (`rudder run` records one before each write or shell)")
            for entry in entries:
                console.print(display.plain(entry.describe()))
            return
        result = checkpoints.undo(checkpoint, force=force)
    except ToolError as exc:
        raise fail(str(exc)) from None
    console.print(display.plain(result.summary()))
