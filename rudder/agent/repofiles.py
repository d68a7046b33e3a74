"""What the repo map knows about files before it reads one: git's index, what changed, what changed lately.

All from git plumbing (no directory walk), so a 100,000-file repository costs a few git calls:
    tracked      `git ls-files -s`: every tracked path with the blob id of its staged content (and the
                 untracked files git does not ignore, read from disk);
    modified     `git diff --name-only`: tracked files whose work-tree content differs from the index;
    recency      `git log --name-only` over the last commits: files touched lately score higher.
Git runs hardened (tools/safegit.py): a repository's config must not make Rudder run its programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rudder.tools.base import ToolError
from rudder.tools.safegit import run_git

RECENT_COMMITS = 200


@dataclass
class RepoFiles:
    blobs: dict[str, str] = field(default_factory=dict)  # path -> staged blob id ("" when only on disk)
    modified: set[str] = field(default_factory=set)  # work tree differs from the blob
    recency: dict[str, float] = field(default_factory=dict)  # path -> 1 for the newest commit, falling


def _git(root: Path, *args: str) -> str | None:
    try:
        return run_git(root, "-c", "core.quotepath=off", *args)
    except ToolError:  # not in a work tree, git missing, or a .git Rudder does not run git in
        return None


def _names(out: str) -> list[str]:
    return [name for name in out.split("\0") if name]


def repo_files(root: Path) -> RepoFiles | None:
    """The tracked files of the work tree at `root` (paths relative to it); None outside a git work tree."""
    listed = _git(root, "ls-files", "-s", "-z")
    if listed is None:
        return None
    files = RepoFiles()
    for line in _names(listed):
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            files.blobs[path] = parts[1] if parts[2] == "0" else ""  # a conflict: read the file
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
    for path in _names(untracked or ""):
        files.blobs.setdefault(path, "")
    changed = _git(root, "diff", "--no-ext-diff", "--name-only", "-z", "--relative", "--no-renames")
    files.modified = set(_names(changed)) if changed is not None else set(files.blobs)
    log = _git(root, "log", f"-n{RECENT_COMMITS}", "--name-only", "--no-renames", "--relative", "--format=%x01", "-z")
    if log is not None:
        commits = log.split("\x01")[1:]
        for age, commit in enumerate(commits):
            for path in commit.split("\0"):
                path = path.strip("\n")
                if path and path not in files.recency:
                    files.recency[path] = 1.0 / (1 + age)
    files.modified |= {path for path, blob in files.blobs.items() if not blob}  # untracked or conflicted
    for path in files.modified:
        files.recency[path] = 2.0  # being changed now: newer than any commit
    return files
