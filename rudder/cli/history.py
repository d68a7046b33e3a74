"""`rudder replay` and `rudder undo`: look back at a run, take back a step."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
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

out = Console()  # what the command shows goes to stdout (`rudder replay T | less`); diagnostics to stderr
err = Console(stderr=True)


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


class McpRecord(BaseModel):
    """The MCP servers' tools a session offered (written when they started), and the ones that failed."""

    model_config = ConfigDict(extra="allow")

    tools: list[str] = []
    problems: list[str] = []


_RECORDS: dict[str, type[BaseModel]] = {
    "run": RunRecord,
    "mcp": McpRecord,
    "tool": ToolStarted,
    "step": StepRecord,
    "end": RunSummary,
}


@dataclass
class Replay:
    """A trajectory as read back: its records (type, fields), the unknown types skipped, and the line a crash
    cut off (the last line, unterminated and not whole JSON; 0 if none)."""

    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cut_line: int = 0

    @property
    def finished(self) -> bool:
        return any(kind == "end" for kind, _ in self.records)


def read_records(path: Path) -> Replay:
    """The trajectory's records, each validated. A last line cut short (the process died while writing it) is
    left out and reported, not an error; every other bad line is.

    Raises ValueError naming the file (and line) for anything that is not a trajectory."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a UTF-8 text file; expected a trajectory (JSON lines)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    found = Replay()
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not text.endswith("\n"):
                found.cut_line = number  # the last line, cut short when the run was killed while writing it
                continue
            raise ValueError(f"{where}: not a JSON line ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object with a 'type', got {type(data).__name__}")
        kind = data.get("type")
        if not isinstance(kind, str):
            raise ValueError(f"{where}: type: expected one of {', '.join(_RECORDS)}, got {kind!r}")
        if kind not in _RECORDS:
            found.skipped.append(kind)
            continue
        try:
            record = _RECORDS[kind].model_validate(data)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(where, exc)) from None
        found.records.append((kind, record.model_dump(mode="json")))
    if not found.records:
        raise ValueError(f"{path}: no records; expected a trajectory written by `rudder run` (JSON lines)")
    return found


def replay(path: Annotated[Path, typer.Argument(help="a trajectory JSONL file", exists=True, dir_okay=False)]) -> None:
    """Print a recorded run: the task, every step with its steering, call and observation, the outcome."""
    try:
        found = read_records(path)
    except ValueError as exc:
        raise fail(str(exc)) from None
    started: dict[int, dict[str, Any]] = {}  # tools begun whose step record has not come yet
    for kind, record in found.records:
        if kind == "tool":
            started[record["step"]] = record
            continue
        if kind == "step":
            started.pop(record["index"], None)
        else:
            _print_unfinished(started)
        if kind == "run":
            out.print(Text.assemble(("task:", "bold"), f" {record['task']}"))
            out.print(display.plain(f"mode {record['mode']}, model {record['model']}", "dim"))
        elif kind == "step":
            display.print_step(out, record)
        elif kind == "mcp":
            out.print(display.plain(f"MCP tools: {', '.join(record['tools']) or 'none'}", "dim"))
            for problem in record["problems"]:
                out.print(display.plain(f"warning: {problem}", "yellow"))
        else:
            outcome = record.get("answer") or record.get("error") or ""
            out.print(
                Text.assemble(
                    (str(record["status"]), "bold"),
                    f": {outcome} ({record['steps']} steps, {record['tokens']} tokens, {record['wall_seconds']:.1f} s)",
                )
            )
    _print_unfinished(started)
    if found.skipped:
        plural = "" if len(found.skipped) == 1 else "s"
        kinds = ", ".join(sorted(set(found.skipped)))
        say.warning(f"skipped {len(found.skipped)} record{plural} of unknown type: {kinds}")
    if found.cut_line:
        say.warning(f"{path}:{found.cut_line}: the last line is cut off (the process died while writing it); left out")
    if not found.finished:
        say.warning(f"{path}: the run did not finish (no end record): it was killed or crashed, or is still running")


def _print_unfinished(started: dict[int, dict[str, Any]]) -> None:
    for index, record in sorted(started.items()):
        undo = "; `rudder undo` restores the files as they were before it (see `rudder undo --list`)"
        out.print(
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
                err.print("no agent checkpoints in this repo (`rudder run` records one before each write or shell)")
            for entry in entries:
                out.print(display.plain(entry.describe()))
            return
        try:
            result = checkpoints.undo(checkpoint, force=force, paths=path)
        except NeedsConfirmation as question:
            result = checkpoints.undo(question.checkpoint.id, confirmed=_confirm(question), paths=path)
    except (ToolError, CheckpointError, RepoBusy) as exc:
        raise fail(str(exc)) from None
    out.print(display.plain(result.summary()))


def _confirm(question: NeedsConfirmation) -> bool:
    """Show a shell step's changes and ask whether to undo all of them; refuse without a terminal."""
    cid = question.checkpoint.id
    how = f"`rudder undo {cid} --force` to undo all of them, or add `--path FILE` for each one to undo"
    if not sys.stdin.isatty():
        raise fail(f"{question}\nno terminal to ask on: nothing undone; run {how}")
    err.print(display.plain(str(question)))
    if not typer.confirm("undo all of these?", default=False, err=True):
        err.print(display.plain(f"nothing undone; to undo only some of them, run {how}"))
        raise typer.Exit(1)
    return True
