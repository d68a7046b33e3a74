"""`rudder replay` and `rudder undo`: look back at a run, take back a step."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.text import Text

from rudder.agent.records import RunSummary, StepRecord
from rudder.cli import display, say
from rudder.cli.options import RepoOpt, fail
from rudder.tools.base import ToolError
from rudder.tools.gitops import CheckpointError, Checkpoints, NeedsConfirmation, find_repo_root
from rudder.tools.runlock import RepoBusy
from rudder.util.validation import describe_validation_error

console = Console(stderr=True)


class RunRecord(BaseModel):
    """The first line of a trajectory; only what replay shows is required (newer files may say more)."""

    model_config = ConfigDict(extra="allow")

    task: str
    mode: str = "?"
    model: str = "?"


class ToolStarted(BaseModel):
    """Written just before a tool runs; with no `step` record after it, the run stopped during that tool."""

    model_config = ConfigDict(extra="allow")

    step: int
    tool: str
    checkpoint: str | None = None


_RECORDS: dict[str, type[BaseModel]] = {"run": RunRecord, "tool": ToolStarted, "step": StepRecord, "end": RunSummary}


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
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not text.endswith("\n"):
                continue  # the last line, cut short when the run was killed while writing it
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
    started: dict[int, dict[str, Any]] = {}  # tools begun whose step record has not come yet
    for kind, record in records:
        if kind == "tool":
            started[record["step"]] = record
            continue
        if kind == "step":
            started.pop(record["index"], None)
        else:
            _print_unfinished(started)
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
    _print_unfinished(started)
    if skipped:
        plural = "" if len(skipped) == 1 else "s"
        console.print(
            display.plain(f"skipped {len(skipped)} record{plural} of unknown type: {', '.join(sorted(set(skipped)))}")
        )


def _print_unfinished(started: dict[int, dict[str, Any]]) -> None:
    for index, record in sorted(started.items()):
        undo = (
            f"; `rudder undo {record['checkpoint']}` restores the files as they were before it"
            if record.get("checkpoint")
            else ""
        )
        console.print(
            Text.assemble(
                (f"step {index}: {record['tool']}", "bold"),
                (f" unfinished: the run stopped while this tool ran{undo}", "yellow"),
            )
        )
    started.clear()


def undo(
    checkpoint: Annotated[str | None, typer.Argument(help="checkpoint id [default: the latest step]")] = None,
    repo: RepoOpt = Path("."),
    list_: Annotated[bool, typer.Option("--list", help="list checkpoints instead")] = False,
    force: Annotated[
        bool, typer.Option(help="do not ask, and undo even files that changed again since the step")
    ] = False,
    path: Annotated[
        list[str] | None,
        typer.Option("--path", help="undo only this file of the step, as --list shows it (repeatable)"),
    ] = None,
) -> None:
    """Undo an agent step: restore exactly the files it changed, leaving your commits and other files alone.

    A shell command's step may include files someone else changed while it ran: undo lists them and asks
    (without a terminal it refuses unless --force; --path picks the files to undo)."""
    try:
        checkpoints = Checkpoints(find_repo_root(repo), notice=say.warning)
        if list_:
            entries = checkpoints.list()
            if not entries:
                console.print("no agent checkpoints in this repo (`rudder run` records one before each write or shell)")
            for entry in entries:
                console.print(display.plain(entry.describe()))
            return
        try:
            result = checkpoints.undo(checkpoint, force=force, paths=path)
        except NeedsConfirmation as question:
            result = checkpoints.undo(question.checkpoint.id, confirmed=_confirm(question), paths=path)
    except (ToolError, CheckpointError, RepoBusy) as exc:
        raise fail(str(exc)) from None
    console.print(display.plain(result.summary()))


def _confirm(question: NeedsConfirmation) -> bool:
    """Show a shell step's changes and ask whether to undo all of them; refuse without a terminal."""
    cid = question.checkpoint.id
    how = f"`rudder undo {cid} --force` to undo all of them, or add `--path FILE` for each one to undo"
    if not sys.stdin.isatty():
        raise fail(f"{question}\nno terminal to ask on: nothing undone; run {how}")
    console.print(display.plain(str(question)))
    if not typer.confirm("undo all of these?", default=False, err=True):
        console.print(display.plain(f"nothing undone; to undo only some of them, run {how}"))
        raise typer.Exit(1)
    return True
