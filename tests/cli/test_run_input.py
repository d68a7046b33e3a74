"""`rudder run` refuses input it cannot act on before loading anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from tests.helpers import make_repo


@pytest.mark.parametrize("task", ["", "   ", "\n\t \n"])
def test_an_empty_task_is_refused(tmp_path: Path, runner: CliRunner, task: str) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    result = runner.invoke(app, ["run", task, "--repo", str(tmp_path / "repo"), "--model", str(tmp_path / "no.gguf")])
    assert result.exit_code == 2
    assert "the task is empty" in result.output
    assert "model file not found" not in result.output  # refused before anything loads
    assert not (tmp_path / "repo" / ".git" / "rudder").exists()  # no trajectory for a run that never started
