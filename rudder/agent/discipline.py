"""Harness discipline: rules the loop enforces whatever the model does (anchors: Claude Code refuses to
overwrite a file it has not read; aider puts the files a task names into the context).

- files the task names (that exist) are attached to the task up front, within a token budget (shown,
  not counted as read: replacing one whole still takes a read_file);
- a write_file over an existing file that was not read in this run is refused (read it, or use edit_file);
- a write that changes nothing is not run (no checkpoint);
- the same call (with the repo unchanged) or the same error twice: change course (tell the model, drop
  the worked example, sample warmer for one step); a third time: the run ends `stuck`;
- a tool call whose text starts repeating itself is cut off at once (`runaway`), not at max_tokens.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rudder.tools.base import ToolError, Workspace

# a path-like word: letters, digits, _ - . / with a dot-extension, or a bare known file name
PATH_WORD = r"[\w][\w./-]*\.[A-Za-z0-9]{1,8}\b"  # a word with a dot-extension
_PATHLIKE = re.compile(PATH_WORD + r"|\b(?:Makefile|Dockerfile|README|LICENSE)\b")
ATTACH_FILE_CHARS = 6000  # one attached file is never longer than this
LOOP_WARN, LOOP_STOP = 2, 3
DEGENERATE_WINDOW, DEGENERATE_RATIO = 240, 0.32  # the same call or error this many times: change course / stop


def named_files(task: str, ws: Workspace) -> list[Path]:
    """Existing files inside the repo that the task names, in the order named."""
    found: list[Path] = []
    for match in _PATHLIKE.finditer(task):
        try:
            path = ws.resolve(match.group(0))
        except ToolError:
            continue
        if path.is_file() and path not in found:
            found.append(path)
    return found


def attach_named_files(
    task: str, ws: Workspace, count_tokens: Callable[[str], int], budget: int
) -> tuple[str, list[Path]]:
    """The text to append to the task (files shown with line numbers as read_file shows them) and the
    files attached. Files that do not fit the budget are named, not shown."""
    blocks, attached, skipped = [], [], []
    used = 0
    for path in named_files(task, ws):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = ws.relative(path)
        block = file_block(rel, text)
        cost = count_tokens(block)
        if len(text) > ATTACH_FILE_CHARS or used + cost > budget:
            skipped.append(rel)
            continue
        used += cost
        blocks.append(block)
        attached.append(path)
    if skipped:
        blocks.append(f"Too long to show here (use read_file): {', '.join(skipped)}")
    return ("\n\n".join(blocks), attached)


def file_block(rel: str, text: str) -> str:
    """A file as the task shows it: numbered lines, the way read_file shows them."""
    lines = text.splitlines()
    width = len(str(len(lines)))
    body = "\n".join(f"{n:>{width}}| {line}" for n, line in enumerate(lines, 1))
    return f"Contents of {rel} ({len(lines)} lines):\n{body}" if lines else f"{rel} is empty."


def unread_overwrite(tool: str, path: Path | None, read: set[Path]) -> str | None:
    """The refusal for a write_file over an existing file not read in this run, else None."""
    if tool != "write_file" or path is None or not path.is_file() or path in read:
        return None
    return (
        f"Error: {path.name} already exists and you have not read it with read_file in this run: write_file "
        f"would replace all of it. Change part of it with edit_file, or read_file it first."
    )


def runaway(text: str, *, min_span: int = 48, max_period: int = 40) -> str | None:
    """The repeating unit when the tail of `text` repeats itself (at least three copies and `min_span`
    characters), e.g. a "content" string that degenerated into "a, a, a, ..."; or, for near-repeats
    ("x = 10, x = 20, x = 30, ..."), the tail when its last 240 characters compress below 0.32 of their size
    (ordinary code and prose stay above ~0.45); else None."""
    n = len(text)
    if n >= DEGENERATE_WINDOW:
        tail = text[-DEGENERATE_WINDOW:].encode("utf-8")
        if len(zlib.compress(tail, 9)) < DEGENERATE_RATIO * len(tail):
            return text[-40:]
    for period in range(1, max_period + 1):
        span = max(min_span, 3 * period)
        if n < span + period:
            break
        if text[n - span :] == text[n - span - period : n - period]:
            unit = text[n - period :]
            if unit.strip():
                return unit
    return None


@dataclass
class LoopWatch:
    """Counts repeated calls and errors within a turn: a call repeats while the repo is unchanged, or when
    it comes twice in a row."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    changes: int = 0  # successful writes so far: re-running tests after an edit is not a loop

    writes: Counter[str] = field(default_factory=Counter)  # writing calls, whatever they changed
    last: str = ""  # the previous call, whatever it changed
    in_a_row: int = 0

    def see(
        self, tool: str | None, arguments: dict[str, Any] | None, error: str | None, *, writes: bool = False
    ) -> int:
        """Record a step; return how often it (or its error) has now been seen. The same call twice in a
        row repeats even if it changed the repo (a model re-appended the same function every step), and so
        does the same writing call anywhere in the turn (a model edited A to B, B to A, A to B, ...)."""
        count = 0
        if tool is not None:
            call = json.dumps([tool, arguments], sort_keys=True, default=str)
            key = json.dumps([tool, arguments, self.changes], sort_keys=True, default=str)
            self.calls[key] += 1
            self.in_a_row = self.in_a_row + 1 if call == self.last else 1
            self.last = call
            count = max(self.calls[key], self.in_a_row)
            if writes:
                self.writes[call] += 1
                count = max(count, self.writes[call])
        if error:
            self.errors[error] += 1
            count = max(count, self.errors[error])
        return count


CHANGE_COURSE = (
    "You already did exactly this and it did not help. Do something different: read the file you need, "
    "use another tool, or call finish if the task is done."
)
EXAMPLE_SUPERSEDED = "The worked example above is not your task: do not copy its calls."


def change_course(example_shown: bool) -> str:
    """The note after a repeated call; the worked example is marked superseded rather than removed, so the
    prompt before the note stays as it was (the KV cache keeps it)."""
    return f"{CHANGE_COURSE} {EXAMPLE_SUPERSEDED}" if example_shown else CHANGE_COURSE


def runaway_observation(unit: str) -> str:
    shown = unit.strip()[:40]
    return (
        f"Error: your tool call was cut off because its text kept repeating {shown!r}. Write a short, complete "
        "call: to change part of a file use edit_file."
    )
