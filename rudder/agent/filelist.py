"""The repo's visible files for the call constraints, kept up to date instead of listed again every step.

Listing a 20,000-file repository costs ~0.2 s (`git ls-files --others` walks the work tree), and a step
that writes a JSON call needs the list. The session keeps one `FileList`: it is listed again only when
git's index changed (its mtime and size: a commit, an add, a checkout) or when something else changed the
repo in ways nobody reported (`invalidate`); a step's own changes (the checkpoint's changed paths) are
applied to the sorted list in place.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Iterable
from pathlib import Path

from rudder.tools.base import ToolError, Workspace
from rudder.tools.safegit import run_git
from rudder.tools.walk import visible_files


def escaped(text: str) -> str:
    """Text as it appears inside a JSON string (what the model writes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


class FileList:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._files: list[str] | None = None
        self._stamp: tuple[int, int] | None = None
        self._index = _index_path(ws.root)
        self.listings = 0  # full listings so far (tests and benchmarks read it)

    def files(self) -> list[str]:
        """Sorted, JSON-escaped paths relative to the root."""
        stamp = self._index_stamp()
        if self._files is None or stamp != self._stamp:
            self.listings += 1
            self._stamp = stamp
            try:
                self._files = sorted(escaped(f) for f in visible_files(self.ws, self.ws.root))
            except (OSError, ToolError):
                self._files = []
        return self._files

    def changed(self, paths: Iterable[str]) -> None:
        """Paths (relative to the root) that a step created, changed or deleted."""
        if self._files is None:
            return
        for rel in paths:
            item = escaped(rel)
            i = bisect.bisect_left(self._files, item)
            present = i < len(self._files) and self._files[i] == item
            exists = os.path.lexists(self.ws.root / rel)
            if exists and not present:
                self._files.insert(i, item)
            elif present and not exists:
                del self._files[i]

    def invalidate(self) -> None:
        self._files = None

    def _index_stamp(self) -> tuple[int, int]:
        if self._index is None:
            return (0, 0)
        try:
            stat = self._index.stat()
        except OSError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)


def _index_path(root: Path) -> Path | None:
    try:
        out = run_git(root, "rev-parse", "--path-format=absolute", "--git-path", "index")
    except ToolError:
        return None
    return Path(out.strip()) if out.strip() else None
