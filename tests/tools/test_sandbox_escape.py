"""Escapes through the files Rudder and git act on outside the sandbox, tried from inside the real sandbox
(real bwrap, the real shell tools): nothing a sandboxed command does may change what runs later."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rudder.tools import sandbox as sandbox_module
from rudder.tools.base import Workspace
from rudder.tools.checkpoints import Checkpoints
from rudder.tools.gitops import GitStatusArgs, git_status
from rudder.tools.sandbox import bwrap_works, choose_sandbox
from rudder.tools.shell import RunShellArgs, RunTestsArgs, run_shell, run_tests

BWRAP = shutil.which("bwrap")
pytestmark = pytest.mark.skipif(
    BWRAP is None or not bwrap_works(BWRAP), reason="bubblewrap is not installed or cannot create a sandbox here"
)


@pytest.fixture
def sandboxed(root: Path) -> Workspace:
    sandbox = choose_sandbox("required")
    assert sandbox is not None
    return Workspace(root, shell_timeout=60, sandbox=sandbox)


def sh(ws: Workspace, command: str) -> str:
    return run_shell(ws, RunShellArgs(command=command))


def git_state(root: Path) -> tuple[str, str, list[str]]:
    """What must survive: HEAD's commit, the config, and the .git directory's own entries."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout
    return head, (root / ".git" / "config").read_text(), sorted(os.listdir(root / ".git"))


def test_the_reported_escape_conftest_renames_git_and_plants_fsmonitor(
    sandboxed: Workspace, root: Path, tmp_path: Path
) -> None:
    """The issue's reproduction: a conftest.py run by run_tests renames .git, copies it back and appends a
    core.fsmonitor payload; Rudder's checkpoint and status git calls then ran it outside the sandbox."""
    marker = tmp_path / "ESCAPED"  # outside the repository: only code running outside the sandbox can write it
    (root / "tests").mkdir()
    (root / "tests" / "conftest.py").write_text(
        "import os, shutil\n"
        "try:\n"
        "    os.rename('.git', '.x')\n"
        "    shutil.copytree('.x', '.git', symlinks=True)\n"
        "except OSError as exc:\n"
        "    open('attempt.log', 'a').write(f'RENAME-FAILED {exc}\\n')\n"
        "try:\n"
        "    with open('.git/config', 'a') as config:\n"
        f"        config.write('[core]\\n\\tfsmonitor = \"echo ESCAPED-$(id -u) >> {marker}; false\"\\n')\n"
        "except OSError as exc:\n"
        "    open('attempt.log', 'a').write(f'CONFIG-FAILED {exc}\\n')\n"
    )
    (root / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    before = git_state(root)
    out = run_tests(sandboxed, RunTestsArgs())
    after = git_state(root)
    checkpoints = Checkpoints(root)  # the next run's own git calls
    step = checkpoints.begin("write")
    (root / "notes.txt").write_text("x\n")
    checkpoints.end(step)
    git_status(sandboxed, GitStatusArgs())
    subprocess.run(["git", "status"], cwd=root, capture_output=True, check=False)  # and the user's own git
    assert not marker.exists(), marker.read_text()
    attempt = (root / "attempt.log").read_text()
    assert "tests passed" in out and "RENAME-FAILED" in attempt and "CONFIG-FAILED" in attempt, (out, attempt)
    assert after == before and not (root / ".x").exists()


@pytest.mark.parametrize(
    "attack",
    [
        "mv .git x",
        "g=.g; mv ${g}it .x",  # the spelling a text check cannot see
        "cp -r .git /tmp/g && printf '[core]\\n\\tfsmonitor = touch /tmp/x\\n' >> /tmp/g/config && cp -r /tmp/g/. .git",
        "mv .git .z && cp -r .z .git && printf '[core]\\n\\tfsmonitor = touch /tmp/x\\n' >> .git/config",
        "rm -rf .git",
        "rm -rf .git/objects .git/refs .git/HEAD",
        "echo evil > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit",
        "git config core.fsmonitor 'touch /tmp/pwned'",
        "echo '../elsewhere' > .git/commondir",
        "echo '[]' > .git/rudder-planted",
        "umount .git && mv .git x",  # bwrap started by root kept CAP_SYS_ADMIN: the mount could be undone
        "umount -l .rudder.toml; mount -o remount,rw,bind .git && touch .git/x",
    ],
)
def test_git_cannot_be_renamed_replaced_deleted_or_changed(sandboxed: Workspace, root: Path, attack: str) -> None:
    before = git_state(root)
    out = sh(sandboxed, attack)
    assert "exit code 0" not in out, out
    assert any(wall in out for wall in ("Read-only file system", "Device or resource busy", "superuser", "denied")), out
    assert git_state(root) == before
    assert not any((root / name).exists() for name in ("x", ".x"))
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=root, capture_output=True).returncode == 0


def test_git_reads_work_inside_and_writes_are_explained(sandboxed: Workspace, root: Path) -> None:
    (root / "README.md").write_text("changed\n")
    out = sh(sandboxed, "git status --short && git log --oneline | wc -l && git diff --stat")
    assert out.startswith(" M README.md\n1\n"), out
    out = sh(sandboxed, "git commit -qam inside")
    assert "Read-only file system" in out and "commit with the git_commit tool" in out


def test_rudder_dir_and_config_cannot_be_created_when_absent(sandboxed: Workspace, root: Path) -> None:
    """.rudder/modes/neutral.toml injected a prompt addendum into every later run; .rudder.toml is the repo's
    Rudder config. Neither exists here: the sandbox mounts empty read-only placeholders, and the host repository
    never gains them."""
    out = sh(
        sandboxed,
        "ls -la .rudder .rudder.toml; mkdir -p .rudder/modes && echo 'prompt = \"x\"' > .rudder/modes/neutral.toml; "
        "echo '[agent]' > .rudder.toml; rm -rf .rudder .rudder.toml; mv .rudder .r; mv .rudder.toml .t",
    )
    assert "exit code 0" not in out
    assert out.count("Read-only file system") >= 2 and "Device or resource busy" in out, out
    assert not any(os.path.lexists(root / name) for name in (".rudder", ".rudder.toml", ".r", ".t"))


def test_existing_rudder_files_cannot_be_replaced(sandboxed: Workspace, root: Path) -> None:
    (root / ".rudder" / "modes").mkdir(parents=True)
    (root / ".rudder.toml").write_text("# mine\n")
    out = sh(sandboxed, "mv .rudder .r; mv .rudder.toml .t; echo '[agent]' > .rudder.toml; touch .rudder/modes/x.toml")
    assert "exit code 0" not in out
    assert (root / ".rudder.toml").read_text() == "# mine\n" and os.listdir(root / ".rudder" / "modes") == []


def test_placeholders_leave_nothing_behind_when_the_command_times_out(sandboxed: Workspace, root: Path) -> None:
    out = run_shell(sandboxed, RunShellArgs(command="ls -d .rudder .rudder.toml; sleep 30", timeout=1))
    assert "timed out" in out and ".rudder.toml" in out
    assert not os.path.lexists(root / ".rudder") and not os.path.lexists(root / ".rudder.toml")


def test_a_symlinked_rudder_dir_is_refused(sandboxed: Workspace, root: Path, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (root / ".rudder").symlink_to(tmp_path / "shared")
    with pytest.raises(Exception, match=r"\.rudder in .* is a symbolic link"):
        sh(sandboxed, "true")


def test_rudders_own_environment_inside_the_repository_is_read_only(
    sandboxed: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rudder installed in the repository's own .venv: code it runs outside the sandbox next time."""
    package = root / ".venv" / "lib" / "rudder"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("# rudder\n")
    monkeypatch.setattr(sandbox_module, "RUDDER_PACKAGE", package)
    out = sh(sandboxed, "echo 'import os' >> .venv/lib/rudder/__init__.py; echo ok > elsewhere.txt")
    assert "Read-only file system" in out and (root / "elsewhere.txt").exists()
    assert (package / "__init__.py").read_text() == "# rudder\n"


def test_path_directories_inside_the_repository_are_read_only(
    sandboxed: Workspace, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An activated project venv puts .venv/bin first on PATH: a `setpriv`, `bwrap` or `git` planted there
    would be started by Rudder, outside the sandbox, on the next command."""
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (root / ".venv" / "lib").mkdir()
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ['PATH']}")
    out = sh(sandboxed, "printf '#!/bin/sh\\ntouch /tmp/x\\n' > .venv/bin/setpriv; echo ok > .venv/lib/site.txt")
    assert "Read-only file system" in out and not (venv_bin / "setpriv").exists()
    assert (root / ".venv" / "lib" / "site.txt").exists()  # the rest of the venv stays writable


def test_the_command_has_no_capabilities(sandboxed: Workspace) -> None:
    out = sh(sandboxed, "grep CapEff /proc/self/status")
    assert "CapEff:\t0000000000000000" in out, out
