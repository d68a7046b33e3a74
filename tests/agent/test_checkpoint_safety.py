"""The agent's checkpoints under a user who keeps working, a second run, broken git state and kill -9:
real sessions (scripted model), real git, real shell commands, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from tests.agent.crash_driver import build_session, kill_loop, start_driver
from tests.helpers import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"config.py": "DEBUG = False\n", "README.md": "hi\n"})
    return tmp_path / "repo"


def call(tool: str, **args: object) -> str:
    return json.dumps({"tool": tool, **args})


def finish() -> str:
    return call("finish", answer="done")


def start_shell_step(repo: Path, command: str) -> subprocess.Popen[str]:
    """A driver run whose shell step runs `command`, returned once that command has started (so its
    checkpoint is begun and the run lock held), however busy the machine is: not after a fixed sleep."""
    started = repo.parent / "step-started"  # outside the repo: the step's checkpoint never sees it
    first = start_driver(repo, call("run_shell", command=f"touch {started}; {command}"))
    deadline = time.monotonic() + 120
    while not started.exists():
        assert first.poll() is None, "the run ended before its shell step"
        assert time.monotonic() < deadline, "the run did not reach its shell step in 120 s"
        time.sleep(0.05)
    return first


def test_undo_never_takes_what_the_user_did_while_a_shell_step_ran(repo: Path) -> None:
    """The issue's case: while `sleep; echo A > a.txt` runs, the user creates mynotes.txt and edits config.py."""
    session = build_session(repo, [call("run_shell", command="sleep 2; echo A > a.txt"), finish()])
    run = threading.Thread(target=session.run, args=("run the shell command",))
    run.start()
    time.sleep(1.0)
    (repo / "mynotes.txt").write_text("my notes\n")
    (repo / "config.py").write_text("DEBUG = True\n")
    run.join(timeout=30)
    assert session.summary.status == "finished" and (repo / "a.txt").read_text() == "A\n"

    runner = CliRunner()
    asked = runner.invoke(app, ["undo", "--repo", str(repo)])  # no terminal: it shows the list, undoes nothing
    assert asked.exit_code == 2, asked.output
    for line in ("A a.txt", "A mynotes.txt", "M config.py", "no terminal to ask on: nothing undone"):
        assert line in asked.output
    assert (repo / "mynotes.txt").exists() and (repo / "config.py").read_text() == "DEBUG = True\n"

    chosen = runner.invoke(app, ["undo", "--repo", str(repo), "--path", "a.txt"])
    assert chosen.exit_code == 0, chosen.output
    assert "removed: a.txt" in chosen.output
    assert not (repo / "a.txt").exists()
    assert (repo / "mynotes.txt").read_text() == "my notes\n" and (repo / "config.py").read_text() == "DEBUG = True\n"


def test_a_write_step_checkpoint_leaves_the_users_concurrent_edits_out(repo: Path) -> None:
    session = build_session(repo, [call("write_file", path="notes.txt", content="agent\n"), finish()])
    (repo / "config.py").write_text("DEBUG = True\n")  # the user's, before the step: never the agent's
    session.run("write notes")
    result = CliRunner().invoke(app, ["undo", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "removed: notes.txt" in result.output and "config.py" not in result.output
    assert (repo / "config.py").read_text() == "DEBUG = True\n"


def test_a_second_run_in_the_same_repo_is_refused_while_the_first_works(repo: Path) -> None:
    first = start_shell_step(repo, "sleep 8; echo B > b.txt")  # holds the lock while its tool runs
    try:
        second = build_session(repo, [call("write_file", path="a.txt", content="A\n"), finish()])
        summary = second.run("write a")
        assert summary.status == "error"
        assert f"another Rudder run is working in this repository (pid {first.pid}" in (summary.error or "")
        assert not (repo / "a.txt").exists()
        refused = CliRunner().invoke(app, ["run", "anything", "--repo", str(repo)])  # before the model loads
        assert refused.exit_code == 2 and "another Rudder run is working" in refused.output
        undo = CliRunner().invoke(app, ["undo", "--repo", str(repo), "--force"])  # undo waits for the run too
        assert undo.exit_code == 2 and "another Rudder run is working" in undo.output
    finally:
        first.wait(timeout=30)
    assert (repo / "b.txt").exists()
    after = build_session(repo, [call("write_file", path="a.txt", content="A\n"), finish()])
    assert after.run("a").status == "finished"


def test_a_killed_run_leaves_neither_the_run_lock_nor_a_git_lock_stuck(
    repo: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = start_shell_step(repo, "sleep 30")  # killed while the tool runs: checkpoint begun, lock held
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    (repo / ".git" / "rudder" / "index.lock").write_text("")  # as a kill during `git add` leaves it
    summary = build_session(repo, [call("write_file", path="a.txt", content="A\n"), finish()]).run("write a")
    assert summary.status == "finished", summary.error
    assert (repo / "a.txt").read_text() == "A\n"  # the write step ran (a lock error did not stop it)
    err = capfd.readouterr().err
    assert f"removed a stale Rudder run lock (pid {first.pid}" in err
    assert "removed a stale git lock left by a stopped Rudder run" in err
    assert "the stopped run did not finish step 0: run_shell (checkpoint 1); `rudder undo 1` restores" in err
    listed = CliRunner().invoke(app, ["undo", "--list", "--repo", str(repo)])
    assert "step 0: run_shell  [unfinished" in listed.output and "step 0: write_file  [A a.txt]" in listed.output


def test_a_checkpoint_failure_ends_the_run_with_the_reason_and_never_reaches_the_model(repo: Path) -> None:
    (repo / ".git" / "rudder").mkdir(parents=True)
    (repo / ".git" / "rudder" / "index").mkdir()  # git cannot write Rudder's index
    session = build_session(repo, [call("write_file", path="a.txt", content="A\n"), finish()])
    summary = session.run("write a")
    assert summary.status == "error" and "checkpoint failed: git" in (summary.error or "")
    assert not (repo / "a.txt").exists()  # no change without a checkpoint
    assert len(session.engine.prompts) == 1  # the error was not shown to the model as an observation


def test_kill_9_at_random_moments_leaves_a_tree_undo_restores(tmp_path: Path) -> None:
    """8 kills here (bench/crash_checkpoints.py runs 30+): git fsck, then the tree is the state before or
    after the step (or part-way with an unfinished checkpoint), and `rudder undo --force` restores it."""
    seed = int(os.environ.get("RUDDER_CRASH_SEED", "21"))
    kills = kill_loop(tmp_path, kills=8, seed=seed)
    assert len(kills) == 8
