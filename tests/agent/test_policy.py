"""The approval decision on its own: read, refuse, ask or allow, for every policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.policy import Verdict, decide
from rudder.tools.base import Workspace
from rudder.tools.toolbox import TOOLS_BY_NAME as TOOLS


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def _decide(ws: Workspace, approval, name: str, *, read_only=False, sandboxed=True, **args) -> Verdict:  # type: ignore[no-untyped-def]
    tool = TOOLS[name]
    return decide(approval, tool, tool.args(**args), ws, read_only=read_only, sandboxed=sandboxed)


@pytest.mark.parametrize("approval", ["auto", "ask", "read-only", None])
def test_reading_is_always_allowed(ws: Workspace, approval) -> None:  # type: ignore[no-untyped-def]
    assert _decide(ws, approval, "read_file", read_only=True, path=".rudder.toml") == Verdict.allow()


def test_read_only_refuses_writes_and_commands(ws: Workspace) -> None:
    assert _decide(ws, "read-only", "write_file", path="a", content="").action == "refuse"
    assert _decide(ws, "auto", "run_shell", read_only=True, command="ls").action == "refuse"
    assert _decide(ws, "read-only", "write_file", path=".rudder.toml", content="") == Verdict.refuse(
        "this run is read-only here"
    )


@pytest.mark.parametrize("approval", ["auto", None, "ask"])
@pytest.mark.parametrize("path", [".rudder.toml", ".rudder/vectors/x.gguf", ".git/config"])
def test_own_files_always_ask(ws: Workspace, approval, path: str) -> None:  # type: ignore[no-untyped-def]
    decision = _decide(ws, approval, "write_file", path=path, content="")
    assert decision.action == "ask" and path in decision.reason and decision.sensitive


def test_ask_asks_for_every_write_and_command(ws: Workspace) -> None:
    assert _decide(ws, "ask", "write_file", path="a.txt", content="") == Verdict.ask(
        "write_file changes files and approval is set to ask"
    )
    assert _decide(ws, "ask", "run_tests").reason == "run_tests runs a command and approval is set to ask"


def test_shell_without_sandbox_needs_explicit_auto(ws: Workspace) -> None:
    assert _decide(ws, None, "run_shell", sandboxed=True, command="ls") == Verdict.allow()
    unsandboxed = _decide(ws, None, "run_shell", sandboxed=False, command="ls")
    assert unsandboxed.action == "ask" and "without a sandbox" in unsandboxed.reason
    assert _decide(ws, "auto", "run_shell", sandboxed=False, command="ls") == Verdict.allow()
    assert _decide(ws, None, "write_file", sandboxed=False, path="a.txt", content="") == Verdict.allow()
