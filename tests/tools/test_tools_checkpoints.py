"""Checkpoints: undo exactly one step's changes, and never touch the user's commits, index, branch or files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import git
import pytest

from rudder.tools import snapshots
from rudder.tools.gitops import CheckpointError, Checkpoints

BINARY = bytes(range(256)) * 4


@pytest.fixture
def setup(root: Path, repo: git.Repo) -> Path:
    """The user's own state: a tracked script, a binary, a staged file, an untracked note and a commit."""
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (root / "data.bin").write_bytes(BINARY)
    repo.index.add(["run.sh", "data.bin"])
    repo.index.commit("user commit")
    (root / "staged.txt").write_text("staged by the user\n")
    repo.index.add(["staged.txt"])
    (root / "notes.txt").write_text("the user's own untracked notes\n")
    return root


def _user_state(root: Path, repo: git.Repo) -> tuple[object, ...]:
    git_dir = Path(repo.git_dir)
    return (
        repo.head.commit.hexsha,
        repo.active_branch.name,
        sorted((b.name, b.commit.hexsha) for b in repo.branches),
        (git_dir / "index").read_bytes(),
        (git_dir / "HEAD").read_text(),
        (root / "notes.txt").read_text(),
    )


def test_undo_restores_modified_created_deleted_binary_and_mode(setup: Path, repo: git.Repo) -> None:
    root = setup
    before = _user_state(root, repo)
    cps = Checkpoints(root)
    cp = cps.begin("step 1: edit")
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    (root / "new" / "deep").mkdir(parents=True)
    (root / "new" / "deep" / "made.py").write_text("created\n")
    (root / "README.md").unlink()
    (root / "data.bin").write_bytes(b"\x00 overwritten")
    (root / "run.sh").chmod(0o644)
    (root / "staged.txt").write_text("agent changed it\n")
    recorded = cps.end(cp)
    assert recorded.id == "1"
    assert sorted(recorded.changes) == [
        ("A", "new/deep/made.py"),
        ("D", "README.md"),
        ("M", "data.bin"),
        ("M", "run.sh"),
        ("M", "src/app.py"),
        ("M", "staged.txt"),
    ]
    assert _user_state(root, repo) == before

    result = cps.undo(confirmed=True)  # a checkpoint of the whole tree (a shell step's) asks first
    assert result.checkpoint.id == "1"
    assert result.removed == ["new/deep/made.py"]
    assert sorted(result.restored) == ["README.md", "data.bin", "run.sh", "src/app.py", "staged.txt"]
    assert (root / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    assert (root / "README.md").read_text() == "# Demo\n"
    assert (root / "data.bin").read_bytes() == BINARY
    assert (root / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (root / "staged.txt").read_text() == "staged by the user\n"
    assert not (root / "new").exists()  # the directories the step created go with its file
    assert _user_state(root, repo) == before
    assert sorted(repo.untracked_files) == ["notes.txt"]


def test_checkpoint_is_recorded_under_a_private_ref_and_log(setup: Path, repo: git.Repo) -> None:
    cps = Checkpoints(setup)
    cp = cps.end(cps.begin("step 1: write_file"))
    assert repo.git.rev_parse("refs/rudder/checkpoints/1") == cp.commit
    assert repo.commit(cp.commit).tree.hexsha == cp.after
    assert repo.commit(cp.commit).parents[0].tree.hexsha == cp.before
    assert cp.changes == []
    lines = (Path(repo.git_dir) / "rudder" / "checkpoints.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["label"] == "step 1: write_file"
    assert [c.id for c in cps.list()] == ["1"]
    assert str(cps.undo("1")) == "undid checkpoint 1 (step 1: write_file): it changed no files"


def test_undo_refuses_when_a_file_changed_after_the_step(setup: Path) -> None:
    root = setup
    cps = Checkpoints(root)
    cp = cps.begin("step 1")
    (root / "README.md").write_text("step one\n")
    (root / "src" / "app.py").write_text("step one\n")
    cps.end(cp)
    (root / "README.md").write_text("the user edited it again\n")
    with pytest.raises(CheckpointError, match=r"changed after it: README\.md\. Undo the later steps first"):
        cps.undo(confirmed=True)
    assert (root / "src" / "app.py").read_text() == "step one\n"  # refusal changes nothing
    result = cps.undo(force=True)
    assert (root / "README.md").read_text() == "# Demo\n"
    assert "README.md" in result.restored


def test_undo_order_ids_and_double_undo(setup: Path) -> None:
    root = setup
    cps = Checkpoints(root)
    first = cps.begin("step 1", ["one.txt"])
    (root / "one.txt").write_text("1\n")
    cps.end(first)
    second = cps.begin("step 2", ["two.txt"])
    (root / "two.txt").write_text("2\n")
    cps.end(second)
    cps.end(cps.begin("step 3: read only"))  # changed nothing: skipped by the default undo
    assert cps.undo().checkpoint.label == "step 2"
    assert not (root / "two.txt").exists() and (root / "one.txt").exists()
    with pytest.raises(CheckpointError, match="already undone"):
        cps.undo("2")
    assert [(c.id, c.undone) for c in cps.list()] == [("1", False), ("2", True), ("3", False)]
    listing = [c.describe() for c in cps.list()]
    assert listing[1].startswith("2  ") and listing[1].endswith("step 2  [A two.txt]  (undone)")
    assert listing[2].endswith("step 3: read only  [no file changes]")
    assert cps.undo().checkpoint.id == "1"
    with pytest.raises(CheckpointError, match="nothing to undo"):
        cps.undo()
    with pytest.raises(CheckpointError, match="no checkpoint with id '9'"):
        cps.undo("9")


def test_undo_an_older_step_keeps_later_independent_changes(setup: Path) -> None:
    root = setup
    cps = Checkpoints(root)
    first = cps.begin("step 1", ["README.md"])
    (root / "README.md").write_text("step 1\n")
    cps.end(first)
    second = cps.begin("step 2", ["src/app.py"])
    (root / "src" / "app.py").write_text("step 2\n")
    cps.end(second)
    cps.undo("1")
    assert (root / "README.md").read_text() == "# Demo\n"
    assert (root / "src" / "app.py").read_text() == "step 2\n"


def test_ignored_and_untouched_files_are_left_alone(setup: Path) -> None:
    root = setup
    cps = Checkpoints(root)
    cp = cps.begin("step 1")
    (root / "agent.log").write_text("ignored output\n")
    (root / "README.md").write_text("changed\n")
    cps.end(cp)
    (root / "notes.txt").write_text("the user kept writing notes\n")
    cps.undo(confirmed=True)
    assert (root / "agent.log").read_text() == "ignored output\n"
    assert (root / "notes.txt").read_text() == "the user kept writing notes\n"


def test_symlinks_round_trip(setup: Path) -> None:
    root = setup
    (root / "link").symlink_to("README.md")
    cps = Checkpoints(root)
    cp = cps.begin("step 1")
    (root / "link").unlink()
    (root / "link").symlink_to("src/app.py")
    cps.end(cp)
    cps.undo(confirmed=True)
    assert os.readlink(root / "link") == "README.md"


def test_large_untracked_files_are_not_snapshotted(setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "MAX_SNAPSHOT_FILE", 100)
    root = setup
    cps = Checkpoints(root)
    cp = cps.begin("step 1")
    (root / "model.bin").write_bytes(b"x" * 1000)
    (root / "small.txt").write_text("small\n")
    assert [path for _, path in cps.end(cp).changes] == ["small.txt"]


def test_repository_without_commits_and_workspace_in_a_subdirectory(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "fresh")
    root = Path(repo.working_tree_dir)
    (root / "pkg").mkdir()
    (root / "pkg" / "a.txt").write_text("a\n")
    cps = Checkpoints(root / "pkg")
    cp = cps.begin("step 1")
    (root / "pkg" / "a.txt").write_text("b\n")
    (root / "outside-the-workspace.txt").write_text("not the agent's business\n")
    (root / "pkg" / ".rudder").mkdir()
    (root / "pkg" / ".rudder" / "trajectory.jsonl").write_text("{}\n")
    assert cps.end(cp).changes == [("M", "pkg/a.txt")]
    cps.undo(confirmed=True)
    assert (root / "pkg" / "a.txt").read_text() == "a\n"
    assert (root / "outside-the-workspace.txt").exists() and (root / "pkg" / ".rudder" / "trajectory.jsonl").exists()
    assert not repo.head.is_valid()  # still no commits on any branch


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoints need a git repository"):
        Checkpoints(tmp_path)
