"""Which files a tool may see: the ones git would not ignore, and gitignore-style globs for picking among them.

In a git work tree the answer comes from `git ls-files --cached --others --exclude-standard`, so it matches
what the user sees in `git status`; elsewhere the .gitignore files are read with pathspec.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pathspec

from rudder.tools.base import ToolError, Workspace
from rudder.tools.safegit import run_git

_NEVER = {".git"}  # never listed, whatever the ignore files say


def visible_files(ws: Workspace, start: Path, glob: str | None = None) -> list[str]:
    """Files under `start` (a directory inside the root) that git would not ignore, relative to the root.

    `glob` is matched against the path relative to `start`."""
    spec = compile_glob(glob) if glob else None
    listed = _git_files(start)
    if listed is None:
        listed = _walk_files(start)
    prefix = ws.relative(start)
    out = []
    for rel in listed:
        if spec is not None and not spec.match_file(rel):
            continue
        if os.path.lexists(start / rel):  # --cached also names tracked files deleted from the work tree
            out.append(rel if prefix == "." else f"{prefix}/{rel}")
    return sorted(out)


def _git_files(start: Path) -> list[str] | None:
    """Paths relative to `start`, or None when `start` is not inside a git work tree (or git is missing)."""
    try:
        out = run_git(start, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    except ToolError:  # not in a work tree, git missing, or a .git Rudder does not run git in
        return None
    names = out.split("\0")
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
def compile_glob(pattern: str) -> pathspec.PathSpec:
    """A gitignore-style glob (pathspec): `**` spans directories, `*` and `?` stay inside one,
    a pattern without a `/` in the middle matches at any depth, a directory's name matches what is in it."""
    pattern = pattern.strip().removeprefix("./")
    if not pattern:
        raise ToolError("empty glob pattern (use e.g. '**/*.py' or '*.md')")
    if pattern.startswith(("!", "#")):
        raise ToolError(f"glob pattern {pattern!r} cannot start with '!' or '#' (use e.g. '**/*.py')")
    try:
        return pathspec.PathSpec.from_lines("gitignore", [pattern])
    except (ValueError, TypeError) as exc:
        raise ToolError(f"invalid glob pattern {pattern!r}: {exc}") from exc
