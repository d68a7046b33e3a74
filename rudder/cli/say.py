"""One-line messages on stderr: `error: ...` in red, `warning: ...` in yellow (on a terminal, unless
NO_COLOR is set), always plain text. Kept free of typer so the quick commands (quick.py) can use them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rudder.modes.registry import ModeProblem


def _styled(text: str, colour: str) -> str:
    stream = sys.stderr
    if os.environ.get("NO_COLOR") or not (hasattr(stream, "isatty") and stream.isatty()):
        return text
    return f"\x1b[{colour}m{text}\x1b[0m"


def error(message: str) -> None:
    print(_styled(f"error: {message}", "31"), file=sys.stderr, flush=True)


def note(message: str) -> None:
    """Something the user should know about how a result was made (not a problem)."""
    print(_styled(f"note: {message}", "36"), file=sys.stderr, flush=True)


def warning(message: str) -> None:
    print(_styled(f"warning: {message}", "33"), file=sys.stderr, flush=True)


def warn_mode_problems(problems: Iterable[ModeProblem], *, except_name: str | None = None) -> None:
    """One warning per bad mode file that was skipped, naming the definition used instead if there is one
    (the selected mode's problems are an error instead, unless another file defines it)."""
    for problem in problems:
        if problem.name == except_name and problem.fallback is None:
            continue
        instead = f" (mode {problem.name!r} comes from {problem.fallback} instead)" if problem.fallback else ""
        warning(f"skipped mode file with errors{instead}:\n{problem.message}")
