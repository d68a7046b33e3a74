"""Git tools (status, diff, commit) and the helpers that find and drive the repository.

Checkpoints (undo for every agent step) live in checkpoints.py and are re-exported here.
Nothing in this module amends, resets, checks out or touches any branch but the current one. Every git
command runs through safegit.run_git: the repository's hooks, fsmonitor, filters and signing programs do
not run (a commit made here skips the repository's pre-commit hooks and is not signed).
"""

from __future__ import annotations

from pydantic import Field

from rudder.interfaces import StepKind
from rudder.tools.base import Access, ToolArgs, ToolError, Workspace, tool, truncate
from rudder.tools.checkpoints import Checkpoint, CheckpointError, Checkpoints, NeedsConfirmation, UndoResult
from rudder.tools.gitrepo import find_repo_root, open_repo, run_git

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
_STATES = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed"}


def _prefix(ws: Workspace) -> str:
    """The workspace root relative to the work tree top, '' when they are the same."""
    top = find_repo_root(ws.root)
    rel = ws.root.relative_to(top).as_posix()
    return "" if rel == "." else rel + "/"


class GitStatusArgs(ToolArgs):
    pass


@tool(access=Access.READ, step_kind=StepKind.REVIEW)
def git_status(ws: Workspace, args: GitStatusArgs) -> str:
    """Show the current branch and the files that are staged, modified or untracked."""
    prefix = _prefix(ws)
    raw = run_git(ws.root, "status", "--porcelain=v1", "-b", "-z", "--", ".")
    entries = raw.split("\0")
    lines = [_branch_line(entries[0])] if entries and entries[0].startswith("## ") else []
    rest = entries[1:] if lines else entries
    skip = False
    for entry in rest:
        if skip or len(entry) < 4:
            skip = False
            continue
        code, path = entry[:2], entry[3:].removeprefix(prefix)
        skip = code[0] in "RC"  # the next entry is the old name
        lines.append(f"{_describe(code)}: {path}")
    if len(lines) <= 1:
        lines.append("working tree clean")
    return truncate("\n".join(lines), ws.output_limit, what="status")


def _branch_line(header: str) -> str:
    text = header[3:]
    if text.startswith("No commits yet on "):
        return f"on branch {text.removeprefix('No commits yet on ')} (no commits yet)"
    if text.startswith("HEAD (no branch)"):
        return "HEAD detached (no branch)"
    branch, _, track = text.partition("...")
    extra = track.partition(" ")[2].strip("[]")
    return f"on branch {branch}" + (f" ({extra})" if extra else "")


def _describe(code: str) -> str:
    index, tree = code[0], code[1]
    if code == "??":
        return "untracked"
    if "U" in code or code in ("AA", "DD"):
        return "conflict"
    parts = []
    if index != " ":
        parts.append("staged " + _STATES.get(index, index))
    if tree != " ":
        parts.append(_STATES.get(tree, tree))
    return ", ".join(parts)


class GitDiffArgs(ToolArgs):
    path: str | None = Field(None, description="limit the diff to this file or directory")
    staged: bool = Field(False, description="show staged changes (index vs HEAD) instead of unstaged ones")


@tool(access=Access.READ, step_kind=StepKind.REVIEW)
def git_diff(ws: Workspace, args: GitDiffArgs) -> str:
    """Show uncommitted changes as a unified diff (staged=true for the staged ones)."""
    cmd = ["diff", "--relative", "--no-color", "--no-ext-diff", "--no-textconv"]
    if args.staged:
        cmd.append("--cached")
    if args.path is not None:
        cmd += ["--", ws.relative(ws.resolve(args.path))]
    out = run_git(ws.root, *cmd)
    if not out.strip():
        kind = "staged" if args.staged else "unstaged"
        return f"no {kind} changes" + ("" if args.staged else " (new untracked files are not shown; see git_status)")
    return truncate(out, ws.output_limit, what="diff")


class GitCommitArgs(ToolArgs):
    message: str = Field(min_length=1, description="the commit message")
    paths: list[str] | None = Field(None, description="files to commit; default: all changes to tracked files")


@tool(access=Access.WRITE, step_kind=StepKind.REVIEW)
def git_commit(ws: Workspace, args: GitCommitArgs) -> str:
    """Commit the given files (or all changes to tracked files) on the current branch."""
    if not args.message.strip():
        raise ToolError("message is empty; describe the change")
    open_repo(ws.root)
    if args.paths:
        rels = [ws.relative(ws.resolve(path)) for path in args.paths]
        # paths are file names, never pathspecs: "*.txt" is the file called *.txt, not every .txt file
        run_git(ws.root, "add", "-A", "--", *rels, env=_LITERAL)
        cmd = ["commit", "--quiet", "-m", args.message, "--only", "--", *rels]
    else:
        cmd = ["commit", "--quiet", "-a", "-m", args.message]
    try:
        run_git(ws.root, *cmd, env=_LITERAL)
    except ToolError as exc:
        if "nothing to commit" in str(exc) or "no changes added" in str(exc):
            raise ToolError("nothing to commit: the given files have no changes") from exc
        raise
    sha = run_git(ws.root, "rev-parse", "--short=8", "HEAD")
    try:
        branch = run_git(ws.root, "symbolic-ref", "--short", "HEAD")
    except ToolError:  # HEAD is not a branch
        branch = "detached HEAD"
    files = run_git(ws.root, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "HEAD").splitlines()
    shown = ", ".join(files[:10]) + (f", ... ({len(files) - 10} more)" if len(files) > 10 else "")
    return f"committed {sha} on {branch}: {args.message.splitlines()[0]}\n{len(files)} files: {shown}"


__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Checkpoints",
    "NeedsConfirmation",
    "UndoResult",
    "find_repo_root",
    "git_commit",
    "git_diff",
    "git_status",
    "open_repo",
    "run_git",
]
