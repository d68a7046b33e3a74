"""Which calls touch Rudder's or git's own files (and so always need a person's yes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.tools.base import Workspace
from rudder.tools.policy import sensitive_path_reason, sensitive_write_reason
from rudder.tools.sandbox import Sandbox
from rudder.tools.toolbox import TOOLS_BY_NAME as TOOLS


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".rudder.toml", "is Rudder's config for this repository"),
        (".rudder/modes/x.toml", "is under .rudder/"),
        (".RUDDER/vectors/v.gguf", "is under .rudder/"),
        (".git/hooks/pre-commit", "is inside .git/"),
        ("sub/.rudder.toml", "is Rudder's config"),
        ("src/app.py", None),
        (".gitignore", None),
        ("rudder.toml", None),
    ],
)
def test_sensitive_paths(path: str, expected: str | None) -> None:
    reason = sensitive_path_reason(path)
    assert (reason is None) if expected is None else (expected in reason)


def test_sensitive_write_reason_per_tool(ws: Workspace) -> None:
    def reason(name: str, **args: object) -> str | None:
        tool = TOOLS[name]
        return sensitive_write_reason(ws, tool, tool.args(**args))

    assert reason("write_file", path=".rudder.toml", content="") == (
        "write_file writes .rudder.toml is Rudder's config for this repository"
    )
    assert reason("edit_file", path=".rudder/modes/m.toml", search="a", replace="b").startswith("edit_file writes")
    assert reason("write_file", path="notes.txt", content="") is None
    assert reason("read_file", path=".rudder.toml") is None  # reading is never sensitive
    assert reason("write_file", path="../escape", content="") is None  # the tool refuses it itself
    assert "names .git or .rudder" in reason("run_shell", command="echo x > .git/hooks/pre-commit")
    assert "names .git or .rudder" in reason("run_shell", command="cp evil.toml .rudder.toml")
    assert reason("run_shell", command="cat .gitignore; git status") is None
    assert reason("run_tests") is None


def test_in_the_sandbox_commands_are_not_asked_about_the_sandbox_stops_them(root: Path) -> None:
    """A command's text cannot show what it writes (`g=.g; mv ${g}it .x`); in the sandbox .git, .rudder and
    .rudder.toml are read-only mount points whatever the text, and a yes could not make such a write work."""
    sandboxed = Workspace(root, sandbox=Sandbox("/usr/bin/bwrap"))
    tool = TOOLS["run_shell"]
    for command in ("echo x > .git/hooks/pre-commit", "g=.g; mv ${g}it .x"):
        assert sensitive_write_reason(sandboxed, tool, tool.args(command=command)) is None
