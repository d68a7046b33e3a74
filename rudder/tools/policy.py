"""Which tool calls touch the files that control Rudder or git, and so always need a person's yes.

`.rudder.toml` and `.rudder/` (modes, vectors) configure Rudder for the repository; `.git/` holds hooks and
config that git runs outside any sandbox. The agent layer (rudder/agent/policy.py) asks for approval
whenever `sensitive_write_reason` names a reason, whatever the approval policy says.

For file tools the path is known, so the check is exact. For shell commands it is not: no reading of a
command's text can tell what it will write (`g=.g; mv ${g}it .x`, a script, a test's conftest.py). So:
- in the sandbox, the sandbox itself keeps .git, .rudder and .rudder.toml read-only (tools/sandbox.py), and
  a command is not asked about: a yes could not make such a write work there anyway;
- without a sandbox, a command whose text names them is asked about, as a courtesy. It is not a defence:
  without a sandbox, only approval (the default asks before every command) stands between a command and
  these files, and `approval = "auto"` without a sandbox trusts every command. See docs/security.md.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rudder.tools.base import Access, Tool, ToolArgs, ToolError, Workspace
from rudder.util.dirs import REPO_CONFIG, REPO_DIR

_COMMAND_MENTIONS = re.compile(r"\.rudder|\.git(?![\w-])", re.IGNORECASE)  # not .gitignore / .github


def sensitive_path_reason(rel: str) -> str | None:
    """Why writing `rel` (a path relative to the repo root) needs approval, or None."""
    parts = [part.casefold() for part in PurePosixPath(rel).parts]
    if ".git" in parts:
        return f"{rel} is inside .git/ (git's hooks and config run code outside the sandbox)"
    if REPO_DIR in parts:
        return f"{rel} is under .rudder/ (the repository's Rudder modes and vectors)"
    if parts and parts[-1] == REPO_CONFIG:
        return f"{rel} is Rudder's config for this repository"
    return None


def sensitive_write_reason(ws: Workspace, tool: Tool, args: ToolArgs) -> str | None:
    """Why this call must be approved by a person even under `approval = "auto"`, or None."""
    if tool.access == Access.READ:
        return None
    path = getattr(args, "path", None)
    if tool.access == Access.WRITE and isinstance(path, str):
        try:
            rel = ws.relative(ws.resolve(path))
        except ToolError:
            return None  # the tool itself refuses the path
        reason = sensitive_path_reason(rel)
        return f"{tool.name} writes {reason}" if reason else None
    command = getattr(args, "command", None)
    if ws.sandbox is None and isinstance(command, str) and _COMMAND_MENTIONS.search(command):
        return f"{tool.name}: the command names .git or .rudder (git's and Rudder's own settings) and runs unsandboxed"
    return None
