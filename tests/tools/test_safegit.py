"""Rudder's own git commands never run what a repository's config or a planted `.git` asks for."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import git
import pytest

from rudder.agent.manifest import git_state
from rudder.tools.base import ToolError, Workspace
from rudder.tools.checkpoints import CheckpointError, Checkpoints
from rudder.tools.gitops import GitCommitArgs, GitDiffArgs, GitStatusArgs, git_commit, git_diff, git_status
from rudder.tools.safegit import RepositoryError, locate, run_git
from rudder.tools.walk import visible_files


def hostile_config(root: Path, marker: Path) -> None:
    """What a hostile clone script or an earlier escape could leave in .git/config and the tree."""
    hooks = root / "evil-hooks"
    hooks.mkdir()
    for name in ("pre-commit", "post-commit", "commit-msg", "post-index-change", "reference-transaction"):
        (hooks / name).write_text(f"#!/bin/sh\necho HOOK-{name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    (root / ".gitattributes").write_text("*.py filter=evil diff=evil merge=evil\n")
    payload = f"echo {{}} >> {marker}"
    with (root / ".git" / "config").open("a") as config:
        config.write(
            "[core]\n"
            f'\tfsmonitor = "{payload.format("FSMONITOR")}; false"\n'
            f"\thooksPath = {hooks}\n"
            f'\tpager = "{payload.format("PAGER")}; cat"\n'
            "[diff]\n"
            f"\texternal = \"sh -c '{payload.format('EXTDIFF')}'\"\n"
            '[filter "evil"]\n'
            f"\tclean = \"sh -c '{payload.format('CLEAN')}; cat'\"\n"
            f"\tsmudge = \"sh -c '{payload.format('SMUDGE')}; cat'\"\n"
            "\trequired = true\n"
            '[diff "evil"]\n'
            f"\ttextconv = \"sh -c '{payload.format('TEXTCONV')}; cat'\"\n"
            f"\tcommand = \"sh -c '{payload.format('DIFFCMD')}'\"\n"
            '[merge "evil"]\n'
            f"\tdriver = \"sh -c '{payload.format('MERGE')}'\"\n"
            "[gpg]\n"
            f"\tprogram = \"sh -c '{payload.format('GPG')}'\"\n"
            "[commit]\n\tgpgSign = true\n"
        )


def test_hostile_repo_config_never_runs_through_rudders_git(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ESCAPED"
    hostile_config(root, marker)
    ws = Workspace(root)
    checkpoints = Checkpoints(root)
    step = checkpoints.begin("edit", keep_ignored=True)  # git add, ls-files --ignored: fsmonitor, clean filter
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    (root / "src" / "new.py").write_text("x = 1\n")
    checkpoints.end(step)
    git_status(ws, GitStatusArgs())
    diff = git_diff(ws, GitDiffArgs())  # external diff, textconv, diff driver, pager
    visible_files(ws, root)
    git_state(root)
    checkpoints.undo(confirmed=True)  # checkout-index: smudge filter (a whole-tree checkpoint asks first)
    restored = (root / "src" / "app.py").read_text()
    (root / "src" / "app.py").write_text("def main():\n    return 3\n")
    try:
        committed = git_commit(ws, GitCommitArgs(message="agent commit"))  # hooks, gpg
    except ToolError as exc:
        committed = str(exc)
    assert not marker.exists(), marker.read_text()
    assert "return 2" in diff and "return 1" in restored and "committed" in committed
    # the control: the same repository's config does run the payload when git is called plainly
    subprocess.run(["git", "status"], cwd=root, capture_output=True, check=False)
    assert "FSMONITOR" in marker.read_text()


def test_env_pointing_git_elsewhere_is_ignored(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = git.Repo.init(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", other.git_dir)
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", f"sh -c 'touch {tmp_path}/ext'")
    (root / "README.md").write_text("changed\n")
    assert "README.md" in run_git(root, "diff", "--no-ext-diff", "--name-only")
    assert not (tmp_path / "ext").exists()


def test_a_git_planted_on_path_inside_the_repository_is_not_run(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = root / ".venv" / "bin"
    planted.mkdir(parents=True)
    (planted / "git").write_text(f'#!/bin/sh\ntouch {tmp_path}/planted\nexec {shutil.which("git")} "$@"\n')
    (planted / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{planted}{os.pathsep}{os.environ['PATH']}")
    run_git(root, "status")
    assert not (tmp_path / "planted").exists()


@pytest.mark.parametrize("shape", ["symlink", "gitdir-file", "commondir", "plain-file"])
def test_a_git_entry_rudder_did_not_expect_is_refused(root: Path, shape: str) -> None:
    dot_git = root / ".git"
    moved = root / ".x"
    if shape == "symlink":
        dot_git.rename(moved)
        dot_git.symlink_to(moved)
    elif shape == "gitdir-file":
        dot_git.rename(moved)
        dot_git.write_text(f"gitdir: {moved}\n")
    elif shape == "commondir":
        shutil.copytree(dot_git, moved)
        (dot_git / "commondir").write_text("../.x\n")
    else:
        shutil.rmtree(dot_git)
        dot_git.write_text("not git\n")
    with pytest.raises(RepositoryError, match="refusing to run git in .*\\.git"):
        run_git(root, "status")
    with pytest.raises(CheckpointError, match="refusing to run git"):  # Rudder's error, not a tool's
        Checkpoints(root)


def test_linked_worktrees_and_submodules_are_accepted(root: Path, repo: git.Repo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    repo.git.worktree("add", str(linked), "-b", "side")
    assert locate(linked / "src").git_dir == root / ".git" / "worktrees" / "linked"
    assert "src/app.py" in run_git(linked, "ls-files")
    sub_source = git.Repo.init(tmp_path / "subsrc")
    (tmp_path / "subsrc" / "f.txt").write_text("f\n")
    sub_source.index.add(["f.txt"])
    sub_source.index.commit("sub")
    repo.git.execute(["git", "-c", "protocol.file.allow=always", "submodule", "add", str(tmp_path / "subsrc"), "sub"])
    assert locate(root / "sub").git_dir == root / ".git" / "modules" / "sub"
    assert run_git(root / "sub", "ls-files") == "f.txt"


def test_a_worktree_pointer_whose_back_link_disagrees_is_refused(root: Path, repo: git.Repo, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    repo.git.worktree("add", str(linked), "-b", "side")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(linked / ".git", elsewhere / ".git")  # points at linked's admin dir, which points back to linked
    with pytest.raises(RepositoryError, match="neither a linked worktree nor a submodule"):
        locate(elsewhere)


def counted_config_queries(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every `git config --get-regexp` Rudder runs from now on (the real query runs; its cwd is recorded)."""
    from rudder.tools import safegit

    calls: list[Path] = []
    real = safegit.driver_overrides

    def counting(git: str, cwd: Path) -> list[tuple[str, str]]:
        calls.append(cwd)
        return real(git, cwd)

    monkeypatch.setattr(safegit, "driver_overrides", counting)
    return calls


def add_filter(root: Path, name: str, marker: Path) -> None:
    (root / ".gitattributes").write_text(f"*.py filter={name}\n")
    with (root / ".git" / "config").open("a") as config:
        config.write(f'[filter "{name}"]\n\tclean = "sh -c \'echo {name} >> {marker}; cat\'"\n')


def test_the_driver_query_is_cached_until_a_config_changes_and_a_new_driver_is_blanked(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ESCAPED"
    calls = counted_config_queries(monkeypatch)
    add_filter(root, "aa", marker)
    run_git(root, "add", "-A")
    run_git(root, "status", "--porcelain")
    assert len(calls) == 1  # the second command reused the first one's answer
    config = root / ".git" / "config"
    before = config.stat()
    # same size, and the same mtime: an edit a stat-keyed cache would miss
    config.write_text(config.read_text().replace('filter "aa"', 'filter "bb"'))
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert config.stat().st_size == before.st_size
    (root / ".gitattributes").write_text("*.py filter=bb\n")
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    run_git(root, "add", "-A")  # runs the clean filter of bb unless bb is blanked
    assert len(calls) == 2 and not marker.exists()
    subprocess.run(["git", "add", "-A"], cwd=root, capture_output=True, check=False)  # the control: plain git runs it
    (root / "src" / "app.py").write_text("def main():\n    return 3\n")
    subprocess.run(["git", "add", "-A"], cwd=root, capture_output=True, check=False)
    assert marker.exists()


def test_a_config_that_includes_another_file_is_queried_every_time(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ESCAPED"
    extra = root / "extra.gitconfig"  # inside the tree: the agent could write it
    extra.write_text("")
    with (root / ".git" / "config").open("a") as config:
        config.write(f"[include]\n\tpath = {extra}\n")
    calls = counted_config_queries(monkeypatch)
    run_git(root, "status", "--porcelain")
    extra.write_text(f'[filter "cc"]\n\tclean = "sh -c \'echo cc >> {marker}; cat\'"\n')
    (root / ".gitattributes").write_text("*.py filter=cc\n")
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    run_git(root, "add", "-A")
    assert len(calls) == 2 and not marker.exists()
