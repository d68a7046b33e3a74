"""Finding the git repository around a path and running git in it, with errors a model can read.

Every git command goes through rudder.tools.safegit (hardened against the repository's own config)."""

from __future__ import annotations

import os
from pathlib import Path

from rudder.tools.safegit import GIT_TIMEOUT, GitLayout, RepositoryError, locate, run_git

__all__ = ["GIT_TIMEOUT", "GitLayout", "RepositoryError", "find_repo_root", "open_repo", "run_git"]


def open_repo(path: str | os.PathLike[str]) -> GitLayout:
    """The work tree containing `path` and its git directories; RepositoryError (a ToolError) naming the path
    when there is none, or when its `.git` is not a shape Rudder runs git in."""
    return locate(path)


def find_repo_root(path: str | os.PathLike[str]) -> Path:
    """The top directory of the git work tree containing `path`; ToolError if it is not in one."""
    return open_repo(path).work_tree
