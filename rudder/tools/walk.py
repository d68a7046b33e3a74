"""Which files a tool may see: the ones git would not ignore, and a glob dialect for picking among them.

In a git work tree the answer comes from `git ls-files --cached --others --exclude-standard`, so it matches
what the user sees in `git status`; elsewhere the .gitignore files are read with pathspec.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pathspec

from rudder.tools.base import ToolError, Workspace

_NEVER = {".git"}  # never listed, whatever the ignore files say


def visible_files(ws: Workspace, start: Path, glob: str | None = None) -> list[str]:
    """Files under `start` (a directory inside the root) that git would not ignore, relative to the root.

    `glob` is matched against the path relative to `start`."""
    regex = compile_glob(glob) if glob else None
    listed = _git_files(start)
    if listed is None:
        listed = _walk_files(start)
    prefix = ws.relative(start)
    out = []
    for rel in listed:
        if regex is not None and regex.match(rel) is None:
            continue
        if os.path.lexists(start / rel):  # --cached also names tracked files deleted from the work tree
            out.append(rel if prefix == "." else f"{prefix}/{rel}")
    return sorted(out)


def _git_files(start: Path) -> list[str] | None:
    """Paths relative to `start`, or None when `start` is not inside a git work tree (or git is missing)."""
    cmd = ["git", "-C", str(start), "ls-files", "--cached", "--others", "--exclude-standard", "-z"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    names = proc.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    return list(dict.fromkeys(name for name in names if name))  # unmerged entries appear once per stage


def _walk_files(start: Path) -> list[str]:
    """Files under `start`, skipping what the .gitignore files at or below `start` ignore."""
    specs: list[tuple[str, pathspec.PathSpec]] = []  # (directory relative to start, its .gitignore)
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(start):
        rel_dir = Path(dirpath).relative_to(start).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        ignore_file = Path(dirpath) / ".gitignore"
        if ignore_file.is_file():
            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))
        prefix = f"{rel_dir}/" if rel_dir else ""
        dirnames[:] = sorted(d for d in dirnames if d not in _NEVER and not _ignored(specs, f"{prefix}{d}/"))
        out.extend(prefix + name for name in filenames if not _ignored(specs, prefix + name))
    return out


def _ignored(specs: list[tuple[str, pathspec.PathSpec]], rel: str) -> bool:
    for base, spec in specs:
        if base and not rel.startswith(base + "/"):
            continue
        if spec.match_file(rel[len(base) + 1 :] if base else rel):
            return True
    return False


@lru_cache(maxsize=64)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """`**` spans directories, `*` and `?` stay inside one; a pattern without `/` matches the file name."""
    pattern = pattern.strip().removeprefix("./")
    if not pattern:
        raise ToolError("empty glob pattern (use e.g. '**/*.py' or '*.md')")
    if "/" not in pattern:
        pattern = "**/" + pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error as exc:
        raise ToolError(f"invalid glob pattern {pattern!r}: {exc}") from exc
