"""Checkpoints hold only the agent's own changes, are written ahead of the step, and survive crashes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from rudder.tools import snapshots
from rudder.tools.base import ToolError
from rudder.tools.checkpoints import CheckpointError, Checkpoints, NeedsConfirmation


def test_a_write_step_checkpoint_holds_exactly_its_own_file(root: Path) -> None:
    cps = Checkpoints(root)
    begun = cps.begin("step 1: write_file", ["README.md"])
    (root / "mynotes.txt").write_text("the user's new notes\n")  # meanwhile, in the user's editor
    (root / "src" / "app.py").write_text("the user's edit\n")
    (root / "README.md").write_text("the agent's change\n")
    assert cps.end(begun).changes == [("M", "README.md")]
    result = cps.undo()  # exact: no question asked
    assert result.restored == ["README.md"] and result.removed == []
    assert (root / "README.md").read_text() == "# Demo\n"
    assert (root / "mynotes.txt").read_text() == "the user's new notes\n"
    assert (root / "src" / "app.py").read_text() == "the user's edit\n"


def test_a_shell_step_checkpoint_asks_and_can_undo_only_some_files(root: Path) -> None:
    cps = Checkpoints(root)
    begun = cps.begin("step 1: run_shell")
    (root / "a.txt").write_text("A\n")
    (root / "mynotes.txt").write_text("the user's\n")
    recorded = cps.end(begun)
    assert not recorded.exact and "may include changes not made by the agent" in recorded.describe()
    with pytest.raises(NeedsConfirmation) as question:
        cps.undo()
    assert question.value.changes == [("A", "a.txt"), ("A", "mynotes.txt")]
    assert (root / "a.txt").exists() and (root / "mynotes.txt").exists()  # asking changes nothing
    assert cps.undo(paths=["a.txt"], confirmed=True).removed == ["a.txt"]
    assert (root / "mynotes.txt").exists()
    assert "(partly undone)" in cps.list()[0].describe()
    with pytest.raises(CheckpointError, match="did not change a.txt"):
        cps.undo("1", paths=["a.txt"], confirmed=True)


def test_an_unfinished_step_is_recorded_before_the_tool_runs_and_can_be_undone(root: Path) -> None:
    """The process dies between begin and end (kill -9): the step is still listed and undone."""
    begun = Checkpoints(root).begin("step 3: run_shell")
    (root / "README.md").write_text("half done\n")
    (root / "made.txt").write_text("new\n")
    survivor = Checkpoints(root)  # what `rudder undo` sees after the crash
    (listed,) = survivor.list()
    assert not listed.finished and "unfinished" in listed.describe()
    assert git.Repo(root).commit(begun.commit).tree.hexsha == begun.before  # gc keeps the "before" state
    result = survivor.undo(force=True)
    assert sorted(result.restored + result.removed) == ["README.md", "made.txt"]
    assert (root / "README.md").read_text() == "# Demo\n" and not (root / "made.txt").exists()
    with pytest.raises(CheckpointError, match="nothing to undo"):
        survivor.undo(force=True)


def test_an_unfinished_write_removes_its_half_written_temporary_file(root: Path) -> None:
    Checkpoints(root).begin("step 1: write_file", ["src/app.py"])
    (root / "src" / ".app.py.k3j2.rudder-tmp").write_text("half of the new cont")  # killed before the rename
    (root / "src" / "other.py").write_text("the user's\n")
    Checkpoints(root).undo()
    assert sorted(p.name for p in (root / "src").iterdir()) == ["app.py", "other.py"]


def test_a_log_line_cut_short_by_a_crash_does_not_swallow_the_next_one(root: Path) -> None:
    cps = Checkpoints(root)
    cps.end(cps.begin("step 1"))
    log = root / ".git" / "rudder" / "checkpoints.jsonl"
    log.write_text(log.read_text() + '{"event": "checkpoint", "id": "2", "lab')  # killed mid-write
    cps.end(cps.begin("step 2"))
    assert [c.label for c in Checkpoints(root).list()] == ["step 1", "step 2"]


def test_a_stale_git_lock_in_rudders_state_is_removed_with_a_notice(root: Path) -> None:
    Checkpoints(root).end(Checkpoints(root).begin("step 1"))
    stale = root / ".git" / "rudder" / "index.lock"
    stale.write_text("")  # git add was killed mid-way
    notices: list[str] = []
    cps = Checkpoints(root, notice=notices.append)
    begun = cps.begin("step 2", ["README.md"])
    (root / "README.md").write_text("x\n")
    assert cps.end(begun).changes == [("M", "README.md")]
    assert not stale.exists()
    assert notices == [f"removed a stale git lock left by a stopped Rudder run: {stale}"]


def test_a_git_failure_is_a_checkpoint_error_not_a_tool_error(root: Path) -> None:
    (root / ".git" / "rudder").mkdir(parents=True)
    (root / ".git" / "rudder" / "index").mkdir()  # git cannot write its index here
    with pytest.raises(CheckpointError, match="checkpoint failed: git") as failure:
        Checkpoints(root).begin("step 1", ["README.md"])
    assert not isinstance(failure.value, ToolError)  # the agent must not hand it to the model


def test_ignored_files_a_shell_step_deletes_are_kept_within_the_bound(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git clean -fdx` deletes ignored files: small ones outside ignored directories come back."""
    monkeypatch.setattr(snapshots, "IGNORED_FILE_MAX", 1000)
    (root / "agent.log").write_text("ignored, small\n")
    (root / "huge.log").write_text("x" * 5000)  # ignored, over the bound
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("in an ignored directory\n")
    cps = Checkpoints(root)
    begun = cps.begin("step 1: run_shell", keep_ignored=True)
    assert begun.ignored == ["agent.log"]
    subprocess.run(["git", "clean", "-fdxq"], cwd=root, check=True)
    recorded = cps.end(begun)
    assert recorded.changes == [("D", "agent.log")]
    cps.undo(confirmed=True)
    assert (root / "agent.log").read_text() == "ignored, small\n"
    assert not (root / "huge.log").exists() and not (root / "build").exists()  # not kept: documented


def test_ignored_files_a_shell_step_creates_are_left_alone_by_undo(root: Path) -> None:
    cps = Checkpoints(root)
    begun = cps.begin("step 1: run_shell", keep_ignored=True)
    (root / "run.log").write_text("new output\n")
    (root / "README.md").write_text("x\n")
    assert cps.end(begun).changes == [("M", "README.md")]
    cps.undo(confirmed=True)
    assert (root / "run.log").exists()


def test_exact_paths_are_relative_to_a_workspace_inside_the_repository(root: Path) -> None:
    cps = Checkpoints(root / "src")
    begun = cps.begin("step 1: write_file", ["app.py"])  # as the tool names it, from the workspace
    (root / "src" / "app.py").write_text("changed\n")
    assert cps.end(begun).changes == [("M", "src/app.py")]  # recorded from the work tree top
    cps.undo()
    assert (root / "src" / "app.py").read_text() == "def main():\n    return 1\n"
