"""grep: a Python regex over the text files git would not ignore.

The pattern comes from the model, so it runs under the `regex` package's timeout: a catastrophic
pattern like `(a|aa)+$` stops after GREP_SECONDS in total with an error the model can act on.
"""

from __future__ import annotations

import time

import regex
from pydantic import Field

from rudder.interfaces import StepKind
from rudder.tools.base import Access, ToolArgs, ToolError, Workspace, tool, truncate
from rudder.tools.files import is_binary
from rudder.tools.walk import visible_files

_MAX_MATCHES = 100  # lines shown
_MAX_COUNT = 10_000  # matches counted before the scan stops
_MAX_FILE_BYTES = 2_000_000  # larger files are skipped (generated code, data, logs)
_SHOW_LINE = 200
GREP_SECONDS = 5.0  # total regex time for one grep call


class GrepArgs(ToolArgs):
    pattern: str = Field(description="Python regular expression, e.g. 'def \\w+_file' or 'TODO'")
    path: str = Field(".", description="file or directory to search, relative to the repo root")
    glob: str | None = Field(None, description="only files matching this glob, e.g. '*.py'")
    ignore_case: bool = Field(False, description="match regardless of case")


@tool(access=Access.READ, step_kind=StepKind.EXPLORE)
def grep(ws: Workspace, args: GrepArgs) -> str:
    """Search file contents with a regex. Prints matching lines as file:line: text."""
    pattern = _compile(args.pattern, args.ignore_case)
    deadline = time.monotonic() + GREP_SECONDS
    start = ws.resolve(args.path, must_exist=True)
    files = visible_files(ws, start, args.glob) if start.is_dir() else [ws.relative(start)]
    shown: list[str] = []
    count = skipped = 0
    for rel in files:
        lines = _text_lines(ws, rel)
        if lines is None:
            skipped += 1
            continue
        for number, line in enumerate(lines, 1):
            if _search(pattern, line, deadline, args.pattern):
                count += 1
                if len(shown) < _MAX_MATCHES:
                    shown.append(f"{rel}:{number}: {_cut(line.strip())}")
        if count >= _MAX_COUNT:
            break
    return _report(ws, args, shown, count, len(files), skipped)


def _compile(text: str, ignore_case: bool) -> regex.Pattern[str]:
    try:
        return regex.compile(text, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        raise ToolError(f"invalid regex {text!r}: {exc}") from exc
    except RecursionError as exc:  # absurdly nested groups
        raise ToolError(f"invalid regex {text!r}: nested too deeply") from exc


def _search(pattern: regex.Pattern[str], line: str, deadline: float, text: str) -> bool:
    try:
        return pattern.search(line, timeout=max(deadline - time.monotonic(), 0.001)) is not None
    except TimeoutError:
        raise ToolError(
            f"regex {text!r} took longer than {GREP_SECONDS:g} s (catastrophic backtracking?); "
            "simplify it, e.g. avoid nested repeats like (a+)+, or narrow the path or glob"
        ) from None


def _text_lines(ws: Workspace, rel: str) -> list[str] | None:
    """The file's lines, or None for files to skip: outside the root, not regular, binary or too large."""
    try:
        full = ws.resolve(rel)
    except ToolError:  # a symlink leading out of the repository
        return None
    if not full.is_file():
        return None
    try:
        if full.stat().st_size > _MAX_FILE_BYTES:
            return None
        data = full.read_bytes()
    except OSError:
        return None
    if is_binary(data[:8192]):
        return None
    return data.decode("utf-8", errors="replace").splitlines()


def _report(ws: Workspace, args: GrepArgs, shown: list[str], count: int, files: int, skipped: int) -> str:
    where = args.path + (f" ({args.glob})" if args.glob else "")
    if not shown:
        return f"no matches for {args.pattern!r} in {files} files under {where}"
    notes = []
    if count > len(shown):
        more = f"{count - len(shown)}+" if count >= _MAX_COUNT else str(count - len(shown))
        notes.append(f"[{more} more matches not shown; narrow the pattern, path or glob]")
    if skipped:
        notes.append(f"[{skipped} binary, large or unreadable files skipped]")
    body = truncate("\n".join(shown), ws.output_limit, what="matches")
    return "\n".join([body, *notes])


def _cut(line: str) -> str:
    return line if len(line) <= _SHOW_LINE else line[:_SHOW_LINE] + "..."
