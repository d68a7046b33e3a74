"""Task suites: a folder per suite, a folder per task (instruction, checker, fixture repo).

    suites/NAME/suite.toml            name, description
    suites/NAME/TASK_ID/task.toml     instruction, check (shell command, exit 0 = pass), timeout, max_steps,
                                      tags, optional budget (tokens), optional split (train, dev or test)
    suites/NAME/TASK_ID/repo/...      fixture files, copied to a fresh git repo before each run
    suites/NAME/TASK_ID/check/...     optional hidden files (tests), added to the repo only for the checker

A suite is plain data (`Suite`, `TaskDef` with the fixture's files inline), so the same object can come
from a folder, from an adapter (HumanEval) or travel to a remote worker. Errors name the folder and field.
"""

from __future__ import annotations

import hashlib
import random
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rudder.util.validation import describe_validation_error

MAX_FIXTURE_BYTES = 2 << 20
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)?$")


class SuiteError(ValueError):
    """A suite or task folder is malformed; the message names the folder and the field."""


class TaskFile(BaseModel):
    """task.toml: what the agent is asked, and how the result is checked."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1, description="what the agent is asked to do")
    check: str = Field(
        min_length=1,
        description="shell command run in the task's repo after the agent; exit 0 = pass; $RUDDER_ANSWER holds "
        "the agent's final answer",
    )
    timeout: float = Field(120, gt=0, le=3600, description="checker seconds")
    max_steps: int = Field(12, ge=1, le=200, description="agent tool calls")
    tags: list[str] = Field(default_factory=list)
    budget: int | None = Field(None, ge=1000, description="prompt + generated tokens for the run")
    split: Literal["train", "dev", "test"] | None = Field(
        None, description="the fixed split the task belongs to (`rudder ab run --split`); none for unsplit suites"
    )


class SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""


class TaskDef(TaskFile):
    """A task ready to run: the task.toml fields plus its id and fixture files (path -> text)."""

    id: str
    files: dict[str, str] = Field(default_factory=dict)
    executable: list[str] = Field(default_factory=list, description="fixture files with the executable bit")
    check_files: dict[str, str] = Field(
        default_factory=dict, description="hidden files (e.g. tests) written into the repo only for the checker"
    )


class Suite(BaseModel):
    name: str
    description: str = ""
    source: str = ""  # folder or adapter spec, for the log
    tasks: list[TaskDef]


def _read_toml(path: Path, where: str) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SuiteError(f"{where}: missing {path.name}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None


def _read_fixture(repo: Path, where: str) -> tuple[dict[str, str], list[str]]:
    files, executable, total = {}, [], 0
    for path in sorted(repo.rglob("*")):
        if path.is_dir() or ".git" in path.relative_to(repo).parts:
            continue
        rel = path.relative_to(repo).as_posix()
        try:
            files[rel] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SuiteError(f"{where}: repo/{rel}: fixture files must be UTF-8 text") from None
        total += len(files[rel])
        if path.stat().st_mode & 0o100:
            executable.append(rel)
    if total > MAX_FIXTURE_BYTES:
        raise SuiteError(f"{where}: repo/ holds {total} bytes; fixtures are limited to {MAX_FIXTURE_BYTES}")
    return files, executable


def load_task(folder: Path) -> TaskDef:
    where = f"task folder {folder}"
    data = _read_toml(folder / "task.toml", where)
    try:
        spec = TaskFile.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(describe_validation_error(f"{folder / 'task.toml'}", exc)) from None
    repo = folder / "repo"
    files, executable = _read_fixture(repo, where) if repo.is_dir() else ({}, [])
    if repo.exists() and not repo.is_dir():
        raise SuiteError(f"{where}: repo must be a folder of fixture files")
    hidden = folder / "check"
    check_files = _read_fixture(hidden, where)[0] if hidden.is_dir() else {}
    return TaskDef(id=folder.name, files=files, executable=executable, check_files=check_files, **spec.model_dump())


def load_suite(path: Path) -> Suite:
    """Read a suite folder; every problem names the folder or file and field."""
    if not path.is_dir():
        raise SuiteError(f"{path}: not a suite folder (expected suite.toml and one folder per task)")
    header = _read_toml(path / "suite.toml", f"suite folder {path}")
    try:
        meta = SuiteFile.model_validate(header)
    except ValidationError as exc:
        raise SuiteError(describe_validation_error(str(path / "suite.toml"), exc)) from None
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    tasks = [load_task(folder) for folder in folders]
    for task in tasks:
        if not _TASK_ID.match(task.id):
            raise SuiteError(f"task folder {path / task.id}: the folder name must be a plain id (letters, digits, _.-)")
    if not tasks:
        raise SuiteError(f"suite folder {path}: no task folders")
    return Suite(name=meta.name, description=meta.description, source=str(path), tasks=tasks)


def suite_digest(suite: Suite) -> str:
    """A fingerprint of the tasks as they will run (instructions, fixtures, checkers): a log dir started on
    one version of a suite is never resumed on another (`rudder ab run` compares them)."""
    digest = hashlib.sha256()
    for task in suite.tasks:
        digest.update(task.model_dump_json().encode())
    return digest.hexdigest()[:16]


SPLITS = ("train", "dev", "test")


def select_split(suite: Suite, split: str | None) -> Suite:
    """`--split`: the tasks whose task.toml records that split (train, dev or test)."""
    if not split:
        return suite
    if split not in SPLITS:
        raise SuiteError(f"--split {split!r}: expected one of {', '.join(SPLITS)}")
    chosen = [t for t in suite.tasks if t.split == split]
    if not chosen:
        raise SuiteError(f"--split {split}: suite {suite.name!r} records no {split} tasks (task.toml: split = ...)")
    return suite.model_copy(update={"tasks": chosen})


def select_tasks(suite: Suite, spec: str | None, split: str | None = None) -> Suite:
    """`--split` first, then `--tasks` within it: ids (`a,b`), index ranges (`0-19`, `5`) or a seeded
    sample (`sample:20:SEED`)."""
    suite = select_split(suite, split)
    if not spec:
        return suite
    tasks = suite.tasks
    by_id = {t.id: t for t in tasks}
    chosen: list[TaskDef] = []
    if spec.startswith(("sample:", "random:")):
        parts = spec.split(":")
        try:
            count, seed = int(parts[1]), int(parts[2]) if len(parts) > 2 else 0
        except (ValueError, IndexError):
            raise SuiteError(f"--tasks {spec!r}: expected sample:COUNT[:SEED]") from None
        if not 0 < count <= len(tasks):
            raise SuiteError(f"--tasks {spec!r}: the suite has {len(tasks)} tasks")
        picked = sorted(random.Random(seed).sample(range(len(tasks)), count))
        chosen = [tasks[i] for i in picked]
    else:
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            if part in by_id:
                chosen.append(by_id[part])
            elif re.fullmatch(r"\d+(-\d+)?", part):
                lo, _, hi = part.partition("-")
                start, end = int(lo), int(hi or lo)
                if end >= len(tasks) or start > end:
                    raise SuiteError(f"--tasks {part!r}: indexes run 0-{len(tasks) - 1}")
                chosen.extend(tasks[start : end + 1])
            else:
                raise SuiteError(f"--tasks {part!r}: no task with that id in suite {suite.name!r}")
    seen: set[str] = set()
    unique = [t for t in chosen if not (t.id in seen or seen.add(t.id))]
    return suite.model_copy(update={"tasks": unique})
