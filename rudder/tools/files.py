"""File tools: read with line numbers, write, search/replace edit, list. All paths go through Workspace.resolve."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from pydantic import Field

from rudder.interfaces import StepKind
from rudder.tools.base import Access, ToolArgs, ToolError, Workspace, tool, truncate
from rudder.tools.editing import apply_edit
from rudder.tools.walk import visible_files
from rudder.util.files import atomic_write

_SNIFF = 8192  # bytes looked at to call a file binary
_LONG_LINE = 400  # characters of one line shown by read_file
_LIST_CAP = 200  # paths shown by list_files
_CONTEXT = 2  # lines shown around an edit


def is_binary(head: bytes) -> bool:
    return b"\0" in head


def _text_file(ws: Workspace, path: str) -> Path:
    """An existing regular file inside the root."""
    full = ws.resolve(path, must_exist=True)
    if full.is_dir():
        raise ToolError(f"{path} is a directory, not a file (use list_files to see what is in it)")
    if not full.is_file():
        raise ToolError(f"{path} is not a regular file")
    return full


def _writable(ws: Workspace, path: str) -> Path:
    full = ws.resolve(path)
    if ".git" in full.relative_to(ws.root).parts:
        raise ToolError(f"{path}: files inside .git are off limits")
    if full.is_dir():
        raise ToolError(f"{path} is a directory; give a file path")
    return full


def _decode_utf8(data: bytes, path: str) -> str:
    if is_binary(data[:_SNIFF]):
        raise ToolError(f"{path} is a binary file ({len(data)} bytes); it cannot be edited as text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"{path} is not valid UTF-8 (byte {exc.start}); it cannot be edited as text") from exc


def _current_text(ws: Workspace, full: Path) -> str | None:
    """The file's text as the user sees it: the editor's buffer when there is one, else the disk."""
    buffer = ws.editor.read(full) if ws.editor is not None else None
    if buffer is not None:
        return buffer
    try:
        return full.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _save(ws: Workspace, full: Path, text: str) -> None:
    """Through the editor when it takes the write (it updates its buffer), else atomically on disk."""
    if ws.editor is None or not ws.editor.write(full, text):
        atomic_write(full, text)


class ReadFileArgs(ToolArgs):
    path: str = Field(description="file path relative to the repo root")
    start_line: int = Field(1, ge=1, description="first line to show (1-based)")
    end_line: int | None = Field(None, ge=1, description="last line to show (inclusive); default: end of file")


@tool(access=Access.READ, step_kind=StepKind.EXPLORE)
def read_file(ws: Workspace, args: ReadFileArgs) -> str:
    """Show a file with line numbers. Use start_line/end_line to read part of a long file."""
    full = _text_file(ws, args.path)
    if args.end_line is not None and args.end_line < args.start_line:
        raise ToolError(f"end_line ({args.end_line}) is before start_line ({args.start_line})")
    buffer = ws.editor.read(full) if ws.editor is not None else None
    with io.BytesIO(buffer.encode("utf-8")) if buffer is not None else full.open("rb") as handle:
        if is_binary(handle.read(_SNIFF)):
            return f"{args.path} is a binary file ({full.stat().st_size} bytes); not shown"
        handle.seek(0)
        total, shown, cut = _collect_lines(handle, args.start_line, args.end_line, ws.output_limit)
    if total == 0:
        return f"{args.path} is empty (0 lines)"
    if not shown:
        raise ToolError(f"start_line {args.start_line} is past the end of {args.path} ({total} lines)")
    end = shown[-1][0]
    width = len(str(end))
    body = "\n".join(f"{n:>{width}}| {line}" for n, line in shown)
    note = f"\n[truncated at the output limit; read_file with start_line={end + 1} to continue]" if cut else ""
    return f"{args.path} (lines {args.start_line}-{end} of {total})\n{body}{note}"


def _collect_lines(
    handle: BinaryIO, start: int, end: int | None, budget: int
) -> tuple[int, list[tuple[int, str]], bool]:
    """Stream the file: count all lines, keep the wanted ones until `budget` characters; (total, kept, cut)."""
    total, shown, cut = 0, [], False
    for total, raw in enumerate(handle, 1):  # total is the line count once the loop is done
        if total < start or (end is not None and total > end) or cut:
            continue
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if len(line) > _LONG_LINE:
            line = f"{line[:_LONG_LINE]}...[+{len(line) - _LONG_LINE} chars]"
        budget -= len(line) + 8
        if budget < 0 and shown:
            cut = True
            continue
        shown.append((total, line))
    return total, shown, cut


class WriteFileArgs(ToolArgs):
    path: str = Field(description="file path relative to the repo root; parent directories are created")
    content: str = Field(description="the complete new content of the file")


@tool(access=Access.WRITE, step_kind=StepKind.EDIT)
def write_file(ws: Workspace, args: WriteFileArgs) -> str:
    """Create a file or replace its whole content. For small changes to an existing file use edit_file."""
    full = _writable(ws, args.path)
    existed = full.exists()
    if existed and full.is_file() and _current_text(ws, full) == args.content:
        return f"{args.path} unchanged (same content)"
    _save(ws, full, args.content)
    lines = args.content.count("\n") + (0 if args.content.endswith("\n") or not args.content else 1)
    size = len(args.content.encode("utf-8"))
    return f"{'overwrote' if existed else 'created'} {args.path} ({size} bytes, {lines} lines)"


class EditFileArgs(ToolArgs):
    path: str = Field(description="file path relative to the repo root")
    search: str = Field(description="exact text to find; must occur exactly once in the file")
    replace: str = Field(description="text to put in its place")


@tool(access=Access.WRITE, step_kind=StepKind.EDIT)
def edit_file(ws: Workspace, args: EditFileArgs) -> str:
    """Replace one exact occurrence of search with replace in a file. Copy search from read_file output."""
    full = _writable(ws, args.path)
    if not full.exists():
        raise ToolError(f"{args.path} does not exist (use write_file to create it)")
    buffer = ws.editor.read(full) if ws.editor is not None else None
    text = buffer if buffer is not None else _decode_utf8(_text_file(ws, args.path).read_bytes(), args.path)
    edit = apply_edit(text, args.search, args.replace, where=args.path)
    _save(ws, full, edit.text)
    new_lines = edit.text.splitlines()
    lo = max(edit.first_line - _CONTEXT, 1)
    hi = min(edit.last_line + _CONTEXT, len(new_lines))
    width = len(str(hi))
    snippet = "\n".join(f"{n:>{width}}| {new_lines[n - 1]}" for n in range(lo, hi + 1))
    note = f" ({edit.note})" if edit.note else ""
    first, last = edit.first_line, edit.last_line
    span = f"line {first}" if first == last else f"lines {first}-{last}"
    head = f"edited {args.path}{note}; {span} now read:"
    return truncate(f"{head}\n{snippet}", ws.output_limit, what="snippet")


class ListFilesArgs(ToolArgs):
    pattern: str = Field("**/*", description="glob, e.g. '**/*.py' or '*.md' (no '/' = any depth)")
    path: str = Field(".", description="directory to list, relative to the repo root")


@tool(access=Access.READ, step_kind=StepKind.EXPLORE)
def list_files(ws: Workspace, args: ListFilesArgs) -> str:
    """List files (not ignored by git) under a directory that match a glob pattern."""
    start = ws.resolve(args.path, must_exist=True)
    if not start.is_dir():
        raise ToolError(f"{args.path} is a file, not a directory (use read_file to read it)")
    found = visible_files(ws, start, args.pattern)
    if not found:
        return f"no files match {args.pattern!r} under {args.path}"
    shown = found[:_LIST_CAP]
    note = ""
    if len(found) > len(shown):
        note = f"\n[{len(found) - len(shown)} more not shown; narrow the pattern or path]"
    body = truncate("\n".join(shown), ws.output_limit, what="listing")
    return f"{len(found)} files:\n{body}{note}"
