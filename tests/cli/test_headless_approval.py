"""A headless `rudder run` cannot ask: what it tells the model (and the user) must be true for the request."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rudder.cli.run import _ask
from tests.agent.test_session import call, session
from tests.helpers import make_repo


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal


def test_a_sensitive_write_is_not_told_that_auto_would_allow_it(tmp_path: Path, headless: None) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    s, _ = session(
        repo,
        [call("write_file", path=".rudder.toml", content="[agent]\n"), call("finish", answer="x")],
        approval="auto",
    )
    s.approver = _ask
    s.run("loosen my config")
    observation = s.history[0].observation
    assert "always need a person's yes, whatever --approval says" in observation
    assert "--approval auto to allow" not in observation  # auto does not cover .rudder/.git: don't suggest it
    assert not (repo / ".rudder.toml").exists()


def test_an_ordinary_command_still_suggests_auto(tmp_path: Path, headless: None) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    s, _ = session(repo, [call("run_shell", command="ls"), call("finish", answer="x")])  # unsandboxed: asks
    s.approver = _ask
    s.run("list")
    assert "use --approval auto to allow without asking" in s.history[0].observation
