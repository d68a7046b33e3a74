"""A unified diff shown as syntax-highlighted diffs, one per file (textual-diff-view)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalGroup
from textual.widgets import Static
from textual_diff_view import DiffView


def split_unified(diff: str) -> list[tuple[str, str, str]]:
    """(path, old text, new text) per file of a unified diff, from its hunks (context included)."""
    files: list[tuple[str, list[str], list[str]]] = []
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[4:].strip()
            path = path[2:] if path.startswith("b/") else path
            files.append((path, [], []))
        elif line.startswith(("--- ", "diff --git", "index ", "@@", "new file", "deleted file", "\\")):
            continue
        elif files:
            _, old, new = files[-1]
            tag, text = line[:1], line[1:]
            if tag in (" ", "-"):
                old.append(text)
            if tag in (" ", "+"):
                new.append(text)
    return [
        (path, "\n".join(old) + "\n" if old else "", "\n".join(new) + "\n" if new else "") for path, old, new in files
    ]


class DiffBlock(VerticalGroup):
    DEFAULT_CSS = """
    DiffBlock { height: auto; }
    DiffBlock > .diff-path { color: $text-muted; }
    """

    def __init__(self, diff: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.diff = diff

    def compose(self) -> ComposeResult:
        files = split_unified(self.diff)
        if not files:
            yield Static(self.diff or "(no changes)", markup=False)
        for path, old, new in files:
            yield DiffView(path, path, old, new, split=False, annotations=True)
