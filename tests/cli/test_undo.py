"""`rudder undo`: human-readable lines, and a clear word when there is nothing to list or undo."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rudder.cli import app
from rudder.tools.checkpoints import Checkpoints
from tests.helpers import make_repo


def _agent_step(repo: Path, label: str, files: dict[str, str]) -> None:
    checkpoints = Checkpoints(repo)
    begun = checkpoints.begin(label, list(files))  # a write step: exactly the files it names
    for name, content in files.items():
        (repo / name).write_text(content)
    checkpoints.end(begun)


def test_undo_list_with_no_checkpoints_says_so(tmp_path: Path, runner: CliRunner) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    result = runner.invoke(app, ["undo", "--list", "--repo", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    assert "no agent checkpoints in this repo" in result.output


def test_undo_with_nothing_to_undo_is_a_clear_error(tmp_path: Path, runner: CliRunner) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    result = runner.invoke(app, ["undo", "--repo", str(tmp_path / "repo")])
    assert result.exit_code == 2
    assert "nothing to undo" in result.output


def test_undo_prints_what_it_did_in_words(tmp_path: Path, runner: CliRunner) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    _agent_step(repo, "step 0: write_file [notes]", {"notes.txt": "done\n", "README.md": "changed\n"})
    _agent_step(repo, "step 1: run_shell", {})
    listed = runner.invoke(app, ["undo", "--list", "--repo", str(repo)])
    assert listed.exit_code == 0, listed.output
    assert "step 0: write_file [notes]" in listed.output
    assert "A notes.txt" in listed.output and "M README.md" in listed.output
    assert "[no file changes]" in listed.output  # the second step: brackets are text, not markup

    result = runner.invoke(app, ["undo", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "UndoResult" not in result.output and "Checkpoint(" not in result.output
    assert "undid checkpoint 1 (step 0: write_file [notes])" in result.output
    assert "removed: notes.txt" in result.output and "restored: README.md" in result.output
    assert not (repo / "notes.txt").exists() and (repo / "README.md").read_text() == "hi\n"
    assert "(undone)" in runner.invoke(app, ["undo", "--list", "--repo", str(repo)]).output


def _undo_on_a_terminal(repo: Path, answer: str) -> str:
    """`rudder undo` as a user at a terminal (a real pseudo-terminal) answering the question."""
    main, child = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rudder", "undo", "--repo", str(repo)], stdin=child, stdout=child, stderr=child, env=env
    )
    os.close(child)
    seen = b""
    while b"undo all of these?" not in seen:
        ready, _, _ = select.select([main], [], [], 60)
        assert ready, f"no question asked: {seen!r}"
        seen += os.read(main, 4096)
    os.write(main, answer.encode() + b"\n")
    proc.wait(timeout=60)
    with contextlib.suppress(OSError):  # the terminal closes with the process
        while chunk := os.read(main, 4096):
            seen += chunk
    os.close(main)
    return seen.decode(errors="replace")


def test_undo_of_a_shell_step_shows_its_files_and_asks_on_a_terminal(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    checkpoints = Checkpoints(repo)
    begun = checkpoints.begin("step 0: run_shell")  # a command: it may have changed anything
    (repo / "a.txt").write_text("A\n")
    (repo / "mynotes.txt").write_text("mine\n")
    checkpoints.end(begun)
    declined = _undo_on_a_terminal(repo, "n")
    assert "A a.txt" in declined and "A mynotes.txt" in declined and "nothing undone" in declined
    assert (repo / "a.txt").exists() and (repo / "mynotes.txt").exists()
    accepted = _undo_on_a_terminal(repo, "y")
    assert "removed: a.txt, mynotes.txt" in accepted
    assert not (repo / "a.txt").exists() and not (repo / "mynotes.txt").exists()
