"""The agent's tools, listed explicitly: adding a tool means adding it here.

`step_kind` on each tool says what using it is (explore, edit, test, review); agent/steps.py derives
the next step's kind from it. run_shell counts as exploring: it runs anything from `ls` to a build.
"""

from __future__ import annotations

from types import MappingProxyType

from rudder.tools.base import Tool
from rudder.tools.files import edit_file, list_files, read_file, write_file
from rudder.tools.gitops import git_commit, git_diff, git_status
from rudder.tools.outline import outline
from rudder.tools.search import grep
from rudder.tools.shell import run_shell, run_tests

TOOLS: tuple[Tool, ...] = (
    read_file,
    write_file,
    edit_file,
    list_files,
    grep,
    outline,
    run_shell,
    run_tests,
    git_status,
    git_diff,
    git_commit,
)
TOOLS_BY_NAME = MappingProxyType({t.name: t for t in TOOLS})
COMPACT = ("read_file", "write_file", "edit_file", "run_shell")  # what a small model is offered


def all_tools(*, compact: bool = False) -> dict[str, Tool]:
    """Every built-in tool by name (a fresh dict the caller may filter), or only the compact set."""
    return {name: t for name, t in TOOLS_BY_NAME.items() if not compact or name in COMPACT}
