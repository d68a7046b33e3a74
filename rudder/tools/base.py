"""What every tool shares: the workspace (repo root + path confinement), the tool spec and output truncation.

A tool is an ordinary function `fn(ws: Workspace, args: SomeArgs) -> str` turned into a `Tool` by `@tool(...)`:
its name comes from the function, its description from the docstring, its JSON schema from the
pydantic argument model. The list of tools the agent gets is written out in toolbox.py.
The returned string is the observation the model sees. A `ToolError` is
the tool saying "no" in words the model can act on; it becomes an error observation, never a crash.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from rudder.interfaces import StepKind

if TYPE_CHECKING:
    from rudder.tools.sandbox import Sandbox

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


class EditorFiles(Protocol):
    """Files as an editor sees them. Either method may return None/False to fall back to the disk."""

    def read(self, path: Path) -> str | None: ...

    def write(self, path: Path, text: str) -> bool: ...


@dataclass
class Workspace:
    """The repository the agent works in. Every path a tool touches goes through `resolve`."""

    root: Path
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    shell_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    # set by whoever drives the agent (the session on interrupt): a running command is killed at once
    cancel: threading.Event = field(default_factory=threading.Event)
    # an editor's view of the files (ACP's fs methods: unsaved buffers); None = the disk only
    editor: EditorFiles | None = None
    sandbox: Sandbox | None = None  # run_shell / run_tests run inside it when set (tools/sandbox.py)

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
        try:
            resolved = (self.root / candidate).resolve(strict=False)
            exists = resolved.exists() if must_exist else True
        except RuntimeError as exc:  # Python 3.11 reports symlink loops as RuntimeError
            raise ToolError(f"cannot resolve {raw!r}: symlink loop") from exc
        except (OSError, ValueError) as exc:  # ENAMETOOLONG, unencodable characters, ...
            raise ToolError(f"invalid path {raw!r}: {exc}") from exc
        if resolved != self.root and self.root not in resolved.parents:
            raise PathEscapeError(f"{raw!r} resolves outside the repository (through a symlink)")
        if not exists:
            raise ToolError(f"no such file or directory: {raw}")
        return resolved

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."


def truncate(text: str, limit: int, *, what: str = "output") -> str:
    """Keep the head and the tail of `text`, with a note saying how much was cut from the middle."""
    if len(text) <= limit:
        return text
    head, tail = head_and_tail(text, limit)
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[... {what} truncated: {cut} characters omitted ...]\n{tail}"


def head_and_tail(text: str, limit: int) -> tuple[str, str]:
    """About 2/3 of `limit` from the start of `text` and 1/3 from its end, cut at line breaks when one is near."""
    head, tail = text[: limit * 2 // 3], text[len(text) - (limit - limit * 2 // 3) :]
    newline = head.rfind("\n")
    if newline >= len(head) * 4 // 5:  # a partial first or last line is noise for the model
        head = head[:newline]
    newline = tail.find("\n")
    if 0 <= newline <= len(tail) // 5:
        tail = tail[newline + 1 :]
    return head, tail


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[ToolArgs]
    fn: Callable[[Workspace, Any], str]
    access: Access
    step_kind: StepKind  # the kind of step using this tool is; agent/steps.py picks the next kind from it
    server: str | None = None  # the MCP server that runs it (tools/mcp/); None: built into Rudder

    def run(self, ws: Workspace, args: ToolArgs) -> str:
        return self.fn(ws, args)

    def __call__(self, ws: Workspace, args: Any) -> str:
        return self.fn(ws, args)


def tool(*, access: Access, step_kind: StepKind) -> Callable[[Callable[..., str]], Tool]:
    """Make `fn(ws, args)` a Tool. The second parameter's annotation is its argument model."""

    def make(fn: Callable[..., str]) -> Tool:
        params = list(inspect.signature(fn, eval_str=True).parameters.values())
        if len(params) != 2 or not (
            isinstance(params[1].annotation, type) and issubclass(params[1].annotation, ToolArgs)
        ):
            raise TypeError(f"tool {fn.__name__} must be fn(ws: Workspace, args: <ToolArgs subclass>)")
        description = inspect.getdoc(fn) or ""
        if not description:
            raise TypeError(f"tool {fn.__name__} needs a docstring: it is the model's description")
        return Tool(
            name=fn.__name__,
            description=description.split("\n\n")[0].replace("\n", " "),
            args=params[1].annotation,
            fn=fn,
            access=access,
            step_kind=step_kind,
        )

    return make
