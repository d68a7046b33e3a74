"""Diffs of what a tool call changes: previewed before approval, measured after the call."""

from __future__ import annotations

import difflib
from pathlib import Path

from rudder.tools.base import ToolArgs, ToolError, Workspace
from rudder.tools.editing import apply_edit

MAX_DIFF_BYTES = 1 << 20  # files bigger than this are not diffed (the observation still says what changed)


def target_path(ws: Workspace, args: ToolArgs) -> Path | None:
    """The file a write-like call touches, when it names one inside the repo."""
    raw = getattr(args, "path", None)
    if not isinstance(raw, str):
        return None
    try:
        return ws.resolve(raw)
    except ToolError:
        return None


def read_text(ws: Workspace, path: Path | None) -> str | None:
    """The file's text (the editor's buffer if an editor is attached), '' for a missing file, None when it
    cannot be diffed (binary, huge, a directory)."""
    if path is None:
        return None
    buffer = ws.editor.read(path) if ws.editor is not None else None
    if buffer is not None:
        return buffer
    if not path.exists():
        return ""
    try:
        if not path.is_file() or path.stat().st_size > MAX_DIFF_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def unified(before: str | None, after: str | None, name: str) -> str | None:
    if before is None or after is None or before == after:
        return None
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}" if before else "/dev/null",
        tofile=f"b/{name}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def preview(ws: Workspace, tool: str, args: ToolArgs) -> str | None:
    """What a write_file / edit_file call would change, computed without touching the file."""
    path = target_path(ws, args)
    before = read_text(ws, path)
    if path is None or before is None:
        return None
    name = ws.relative(path)
    if tool == "write_file":
        return unified(before, getattr(args, "content", None), name)
    if tool == "edit_file":
        try:
            edited = apply_edit(before, args.search, args.replace, where=name)  # type: ignore[attr-defined]
        except ToolError:
            return None  # the call will fail and say why; nothing to preview
        return unified(before, edited.text, name)
    return None
