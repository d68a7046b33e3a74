"""The whole agent on the real embedded model, through the real `rudder` command, in a real git repo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from tests.helpers import make_repo


def rudder(*args: str, cwd: Path, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUDDER_CONFIG_DIR": str(env_dir), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rudder", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "project", {"README.md": "# Project\n"})
    return tmp_path / "project"


@pytest.mark.slow
def test_rudder_run_completes_an_easy_task_and_its_checker_passes(repo: Path, tmp_path: Path) -> None:
    result = rudder("run", "create notes.txt containing: done", "--max-steps", "6", cwd=repo, env_dir=tmp_path / "cfg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / "notes.txt").read_text().strip() == "done"  # the checker
    assert "finished" in result.stderr
    trajectories = list((repo / ".git" / "rudder" / "trajectories").glob("*.jsonl"))
    assert len(trajectories) == 1
    assert git.Repo(repo).is_dirty(untracked_files=True)  # the change is there for the user ...
    assert "rudder" not in git.Repo(repo).git.status("--porcelain")  # ... and the trajectory is not in their tree

    replay = rudder("replay", str(trajectories[0]), cwd=repo, env_dir=tmp_path / "cfg")
    assert replay.returncode == 0 and "write_file" in replay.stdout and "finished" in replay.stdout

    undo = rudder("undo", cwd=repo, env_dir=tmp_path / "cfg")
    assert undo.returncode == 0, undo.stderr
    assert not (repo / "notes.txt").exists()


def test_rudder_run_outside_a_git_repo_is_one_clear_error(tmp_path: Path) -> None:
    result = rudder("run", "anything", cwd=tmp_path, env_dir=tmp_path / "cfg")
    assert result.returncode == 2
    assert "not a git repository" in result.stderr.lower() or "git repository" in result.stderr


def test_rudder_run_exits_non_zero_unless_finished_and_says_why(repo: Path, tmp_path: Path) -> None:
    result = rudder("run", "create notes.txt containing: done", "--max-steps", "1", cwd=repo, env_dir=tmp_path / "cfg")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "max_steps after 1 steps" in result.stderr
