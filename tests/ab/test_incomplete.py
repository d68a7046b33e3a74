"""`rudder ab report` on the logs of an interrupted run says so (n of N samples), and a killed run's
temporary sample repositories are removed by the next run (issue 22, item 5). Real Inspect logs, written
by a task that needs no model."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.ab.results import load_results
from rudder.ab.sample import remove_stale_sample_dirs, sample_dir
from rudder.cli import app


def _inspect_log(log_dir: Path, tasks: int = 4, epochs: int = 2) -> Path:
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, Target, accuracy, scorer
    from inspect_ai.solver import Generate, TaskState, solver

    @solver
    def nothing():
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            return state

        return solve

    @scorer(metrics=[accuracy()])
    def even_pass():
        async def score(state: TaskState, target: Target) -> Score:
            return Score(value=1.0 if int(state.sample_id) % 2 == 0 else 0.0, metadata={"steps": 1})

        return score

    task = Task(dataset=[Sample(input="x", id=i) for i in range(tasks)], solver=nothing(), scorer=even_pass())
    meta = {"arm": "neutral", "arms": ["neutral"], "suite": "tiny", "epochs": epochs}
    [log] = inspect_eval(task, model="none", log_dir=str(log_dir), epochs=epochs, display="none", metadata=meta)
    return Path(log.location)


def _interrupt(path: Path, keep: int) -> None:
    """What a kill leaves: the log still `started`, holding only the samples flushed so far."""
    from inspect_ai.log import read_eval_log, write_eval_log

    log = read_eval_log(str(path))
    log.status = "started"
    log.samples = log.samples[:keep]
    write_eval_log(log, str(path))


def test_report_of_a_finished_run_is_not_marked_incomplete(tmp_path: Path) -> None:
    _inspect_log(tmp_path / "logs")
    results = load_results(str(tmp_path / "logs"))
    assert not results.incomplete and results.progress() == "8 of 8 samples"
    result = CliRunner().invoke(app, ["ab", "report", str(tmp_path / "logs"), "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "Incomplete" not in (tmp_path / "logs" / "report" / "report.md").read_text()


def test_report_of_an_interrupted_run_says_it_is_incomplete(tmp_path: Path) -> None:
    _interrupt(_inspect_log(tmp_path / "logs"), keep=3)
    results = load_results(str(tmp_path / "logs"))
    assert results.incomplete and results.unfinished == ["neutral"] and results.progress() == "3 of 8 samples"
    result = CliRunner().invoke(app, ["ab", "report", str(tmp_path / "logs"), "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "the run is incomplete (3 of 8 samples)" in result.output
    report = (tmp_path / "logs" / "report" / "report.md").read_text()
    assert "**Incomplete**: the run was killed" in report and "3 of 8 samples done" in report


def test_stale_sample_repos_of_a_dead_process_are_removed_and_live_ones_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a real process id that no longer runs (a killed worker's)
    stale = tmp_path / f"rudder-ab-{dead.pid}-abc123"
    (stale / "repo" / ".git").mkdir(parents=True)
    (stale / "repo" / "big.txt").write_text("x" * 1000)
    mine = sample_dir()
    assert mine.parent == tmp_path and mine.name.startswith(f"rudder-ab-{os.getpid()}-")
    unrelated = tmp_path / "rudder-ab-notapid"
    unrelated.mkdir()
    assert remove_stale_sample_dirs() == [stale]
    assert not stale.exists() and mine.exists() and unrelated.exists()


@pytest.mark.parametrize("name", ["rudder-ab-1-x", "other-123-x"])
def test_only_rudder_sample_dirs_of_other_processes_are_considered(tmp_path: Path, monkeypatch, name: str) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / name).mkdir()  # pid 1 is alive (init): kept; a foreign name: never touched
    assert remove_stale_sample_dirs() == []
    assert (tmp_path / name).exists()
