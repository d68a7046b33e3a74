"""Finding the git repository around a path and running git in it, with errors a model can read.

Every git command goes through rudder.tools.safegit (hardened against the repository's own config)."""

from __future__ import annotations

import os
from pathlib import Path

from rudder.tools.safegit import GIT_TIMEOUT, GitLayout, RepositoryError, locate, run_git

__all__ = [
    "GIT_TIMEOUT", "GitLayout", "RepositoryError", "find_repo_root", "open_repo", "read_only_problem", "run_git",
]  # fmt: skip


def open_repo(path: str | os.PathLike[str]) -> GitLayout:
    """The work tree containing `path` and its git directories; RepositoryError (a ToolError) naming the path
    when there is none, or when its `.git` is not a shape Rudder runs git in."""
    return locate(path)


def find_repo_root(path: str | os.PathLike[str]) -> Path:
    """The top directory of the git work tree containing `path`; ToolError if it is not in one."""
    return open_repo(path).work_tree


def read_only_problem(path: str | os.PathLike[str]) -> str | None:
    """Why Rudder could not write in the repository containing `path` (a read-only mount, no permission), or
    None. Checked before a model loads: the agent writes the work tree, Rudder its state in the git dir."""
    layout = open_repo(path)
    state = layout.git_dir / "rudder"
    for place in (layout.work_tree, state if state.is_dir() else layout.git_dir):
        if not os.access(place, os.W_OK):
            why = "is on a read-only file system" if _on_read_only_fs(place) else "is not writable by you"
            return (
                f"{place} {why}: Rudder writes the agent's changes in the work tree and its checkpoints and "
                f"trajectories in .git/rudder; work on a writable copy, e.g. `git clone {layout.work_tree} /tmp/copy`"
            )
    return None


def _on_read_only_fs(place: Path) -> bool:
    try:
        return bool(os.statvfs(place).f_flag & os.ST_RDONLY)
    except OSError:
        return False
