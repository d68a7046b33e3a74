"""git_status, git_diff, git_commit and the repository helpers, on real repositories."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from rudder.tools.base import PathEscapeError, ToolError, Workspace
from rudder.tools.gitops import GitStatusArgs, find_repo_root, git_status, open_repo


def test_find_repo_root(root: Path, tmp_path: Path) -> None:
    assert find_repo_root(root / "src") == root
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ToolError, match=f"not a git repository: {plain}"):
        find_repo_root(plain)
    with pytest.raises(ToolError, match="not a git repository"):
        open_repo(tmp_path / "missing")


def test_git_status_clean_and_dirty(call, root: Path, repo: git.Repo) -> None:
    assert call("git_status") == "on branch main\nworking tree clean"
    (root / "README.md").write_text("changed\n")
    (root / "new.py").write_text("x\n")
    (root / "staged.py").write_text("y\n")
    (root / "skip.log").write_text("ignored\n")
    repo.index.add(["staged.py"])
    (root / "src" / "app.py").unlink()
    assert call("git_status").splitlines() == [
        "on branch main",
        "modified: README.md",
        "deleted: src/app.py",
        "staged added: staged.py",
        "untracked: new.py",
    ]


def test_git_status_in_a_subdirectory_workspace(root: Path) -> None:
    (root / "src" / "app.py").write_text("changed\n")
    (root / "README.md").write_text("changed\n")
    assert git_status(Workspace(root / "src"), GitStatusArgs()).splitlines() == ["on branch main", "modified: app.py"]


def test_git_diff(call, root: Path, repo: git.Repo) -> None:
    assert call("git_diff").startswith("no unstaged changes")
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    (root / "README.md").write_text("# Demo!\n")
    out = call("git_diff", path="src/app.py")
    assert "-    return 1\n+    return 2" in out and "README" not in out
    assert "README.md" in call("git_diff")
    assert call("git_diff", staged=True) == "no staged changes"
    repo.index.add(["README.md"])
    assert "+# Demo!" in call("git_diff", staged=True)
    with pytest.raises(PathEscapeError):
        call("git_diff", path="../elsewhere")


def test_git_commit_given_paths_only(call, root: Path, repo: git.Repo) -> None:
    head = repo.head.commit
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    (root / "README.md").write_text("# Other\n")
    (root / "added.py").write_text("new\n")
    out = call("git_commit", message="Change app\n\nbody", paths=["src/app.py", "added.py"])
    assert out.startswith(f"committed {repo.head.commit.hexsha[:8]} on main: Change app\n2 files:")
    assert repo.head.commit.parents == (head,)
    assert sorted(repo.head.commit.stats.files) == ["added.py", "src/app.py"]
    assert repo.is_dirty(path="README.md")  # not part of the commit


def test_git_commit_all_tracked_changes(call, root: Path, repo: git.Repo) -> None:
    (root / "README.md").write_text("# Other\n")
    (root / "untracked.py").write_text("x\n")
    call("git_commit", message="Update readme")
    assert list(repo.head.commit.stats.files) == ["README.md"]
    assert "untracked.py" in repo.untracked_files
    assert [b.name for b in repo.branches] == ["main"]


def test_git_commit_refusals(call, root: Path) -> None:
    with pytest.raises(ToolError, match="nothing to commit"):
        call("git_commit", message="nothing")
    with pytest.raises(ToolError, match="message is empty"):
        call("git_commit", message="   ")
    with pytest.raises(PathEscapeError):
        call("git_commit", message="x", paths=["../x"])
    (root / "debug.log").write_text("x")
    with pytest.raises(ToolError, match="ignored"):
        call("git_commit", message="x", paths=["debug.log"])


def test_git_tools_outside_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ToolError, match="not a git repository"):
        git_status(Workspace(plain), GitStatusArgs())


def test_git_commit_paths_are_literal_not_globs(call, root: Path, repo: git.Repo) -> None:
    (root / "a.txt").write_text("a\n")
    (root / "b.txt").write_text("b\n")
    (root / "*.txt").write_text("star\n")
    call("git_commit", message="only the star file", paths=["*.txt"])
    assert list(repo.head.commit.stats.files) == ["*.txt"]
    assert sorted(repo.untracked_files) == ["a.txt", "b.txt"]
    with pytest.raises(ToolError, match="did not match any file"):
        call("git_commit", message="magic", paths=[":(glob)*.txt"])
