"""What every tool shares: the workspace (repo root + path confinement), the tool spec and registry,
atomic writes and output truncation.

A tool is an ordinary function `fn(ws: Workspace, args: SomeArgs) -> str` registered with `@tool(...)`:
its name comes from the function, its description from the docstring, its JSON schema from the
pydantic argument model. The returned string is the observation the model sees. A `ToolError` is
the tool saying "no" in words the model can act on; it becomes an error observation, never a crash.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from rudder.interfaces import StepKind

DEFAULT_OUTPUT_LIMIT = 12_000  # characters of one observation; the rest is cut with a note


class ToolError(Exception):
    """A tool refused or failed; the message is shown to the model (and the user) as the observation."""


class PathEscapeError(ToolError):
    """A path pointed outside the repository root."""


class Access(StrEnum):
    """What a tool may do; the approval policy decides per access level."""

    READ = "read"
    WRITE = "write"
    EXECUTE = "execute"


class ToolArgs(BaseModel):
    """Base for tool argument models: unknown fields are an error the model can correct."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Workspace:
    """The repository the agent works in. Every path a tool touches goes through `resolve`."""

    root: Path
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    shell_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve(strict=True)
        if not self.root.is_dir():
            raise ToolError(f"workspace root is not a directory: {self.root}")

    def resolve(self, path: str | os.PathLike[str], *, must_exist: bool = False) -> Path:
        """Absolute path inside the root, symlinks resolved; refuses `..`, absolute and symlink escapes."""
        raw = str(path).strip()
        if not raw:
            raise ToolError("empty path")
        if "\x00" in raw:
            raise ToolError("path contains a NUL byte")
        candidate = Path(raw)
        if candidate.is_absolute():
            raise PathEscapeError(f"absolute paths are not allowed: {raw!r} (use a path relative to the repo)")
        if ".." in candidate.parts:
            raise PathEscapeError(f"'..' is not allowed in paths: {raw!r}")
        resolved = (self.root / candidate).resolve(strict=False)
        if resolved != self.root and self.root not in resolved.parents:
            raise PathEscapeError(f"{raw!r} resolves outside the repository (through a symlink)")
        if must_exist and not resolved.exists():
            raise ToolError(f"no such file or directory: {raw}")
        return resolved

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."


def truncate(text: str, limit: int, *, what: str = "output") -> str:
    """Keep the head and the tail of `text`, with a note saying how much was cut from the middle."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {what} truncated: {cut} characters omitted ...]\n{text[-tail:]}"


def atomic_write(path: Path, content: str) -> None:
    """Write via a temp file in the same directory and rename, keeping the old file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".rudder-tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[ToolArgs]
    fn: Callable[[Workspace, Any], str]
    access: Access
    step_kind: StepKind

    def run(self, ws: Workspace, args: ToolArgs) -> str:
        return self.fn(ws, args)


REGISTRY: dict[str, Tool] = {}


def tool(*, access: Access, step_kind: StepKind) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register `fn(ws, args)` as a tool. The second parameter's annotation is its argument model."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        if len(params) != 2 or not (
            isinstance(params[1].annotation, type) and issubclass(params[1].annotation, ToolArgs)
        ):
            raise TypeError(f"tool {fn.__name__} must be fn(ws: Workspace, args: <ToolArgs subclass>)")
        description = inspect.getdoc(fn) or ""
        if not description:
            raise TypeError(f"tool {fn.__name__} needs a docstring: it is the model's description")
        REGISTRY[fn.__name__] = Tool(
            name=fn.__name__,
            description=description.split("\n\n")[0].replace("\n", " "),
            args=params[1].annotation,
            fn=fn,
            access=access,
            step_kind=step_kind,
        )
        return fn

    return register


def all_tools() -> dict[str, Tool]:
    """Every built-in tool, keyed by name (importing the modules registers them)."""
    from rudder.tools import files, gitops, outline, search, shell  # noqa: F401

    return dict(REGISTRY)
