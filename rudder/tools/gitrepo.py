"""Finding the git repository around a path and running git in it, with errors a model can read."""

from __future__ import annotations

import os
from pathlib import Path

import git

from rudder.tools.base import ToolError

GIT_TIMEOUT = 120  # seconds for one git command (commit hooks included)


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """The repository whose work tree contains `path`; ToolError with the path when there is none."""
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise ToolError(f"not a git repository: {path} (run `git init` there first)") from exc
    except git.GitCommandNotFound as exc:
        raise ToolError("git is not installed or not on PATH") from exc
    if repo.bare or repo.working_tree_dir is None:
        raise ToolError(f"{path} is in a bare git repository (no work tree)")
    return repo


def find_repo_root(path: str | os.PathLike[str]) -> Path:
    """The top directory of the git work tree containing `path`; ToolError if it is not in one."""
    return Path(str(open_repo(path).working_tree_dir)).resolve()


def run_git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`git args...` in `cwd`; its stdout, or ToolError carrying git's own message."""
    try:
        out = git.Git(str(cwd)).execute(
            ["git", *args],
            env={"GIT_EDITOR": "true", "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            kill_after_timeout=GIT_TIMEOUT,
        )
    except git.GitCommandError as exc:
        message = (exc.stderr or exc.stdout or "").strip().removeprefix("stderr: ").strip("'\n ")
        raise ToolError(f"git {args[0]} failed: {message or f'exit code {exc.status}'}") from exc
    except git.GitCommandNotFound as exc:
        raise ToolError("git is not installed or not on PATH") from exc
    return str(out)
