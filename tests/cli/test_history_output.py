"""`rudder replay` and `rudder undo --list` print what they show on stdout (so `| less`, `| wc` work) and
diagnostics on stderr; replay shows a trajectory cut off by a crash and says the run did not finish.
Run as real processes: a pipe sees only stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rudder.tools.checkpoints import Checkpoints
from tests.helpers import make_repo

RUN = {"type": "run", "task": "add a flag", "mode": "neutral", "model": "m"}
STEP = {"type": "step", "index": 0, "kind": "explore", "mode": "neutral", "tool": "read_file", "observation": "ok"}
END = {"type": "end", "status": "finished", "answer": "done", "steps": 1, "tokens": 9, "wall_seconds": 1.0}


def _rudder(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rudder", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def _lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_replay_prints_the_run_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(_lines(RUN, STEP, END))
    result = _rudder("replay", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "task: add a flag" in result.stdout and "read_file" in result.stdout and "finished: done" in result.stdout
    assert result.stderr == ""


def test_replay_of_a_crashed_run_shows_the_whole_records_and_says_it_did_not_finish(tmp_path: Path) -> None:
    path = tmp_path / "crashed.jsonl"
    path.write_text(_lines(RUN, STEP) + json.dumps({**STEP, "index": 1})[:40])  # killed mid-write
    result = _rudder("replay", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "task: add a flag" in result.stdout and "read_file" in result.stdout
    assert f"{path}:3: the last line is cut off" in result.stderr
    assert "did not finish" in result.stderr


def test_a_bad_line_before_the_last_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_lines(RUN) + "{not json\n" + _lines(STEP))
    result = _rudder("replay", str(path), cwd=tmp_path)
    assert result.returncode == 2 and f"{path}:2: not a JSON line" in result.stderr


def test_undo_list_prints_checkpoints_on_stdout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    checkpoints = Checkpoints(repo)
    begun = checkpoints.begin("step 0: write_file [notes]", ["notes.txt"])  # a write step naming its file
    (repo / "notes.txt").write_text("done\n")
    checkpoints.end(begun)
    listed = _rudder("undo", "--list", cwd=repo)
    assert listed.returncode == 0, listed.stderr
    assert "step 0: write_file [notes]" in listed.stdout and "A notes.txt" in listed.stdout
    undone = _rudder("undo", cwd=repo)
    assert undone.returncode == 0 and "removed: notes.txt" in undone.stdout
