"""Shell commands in the bubblewrap sandbox, tested from inside: what a command can and cannot reach."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rudder.tools.base import Workspace
from rudder.tools.sandbox import SandboxUnavailable, bwrap_works, choose_sandbox
from rudder.tools.shell import RunShellArgs, RunTestsArgs, run_shell, run_tests

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(
    BWRAP is None or not bwrap_works(BWRAP), reason="bubblewrap is not installed or cannot create a sandbox here"
)


@pytest.fixture
def sandboxed(root: Path) -> Workspace:
    sandbox = choose_sandbox("required")
    assert sandbox is not None
    return Workspace(root, shell_timeout=30, sandbox=sandbox)


def sh(ws: Workspace, command: str) -> str:
    return run_shell(ws, RunShellArgs(command=command))


@needs_bwrap
def test_writes_outside_the_repo_fail_inside_succeed(sandboxed: Workspace, root: Path, outside: Path) -> None:
    out = sh(sandboxed, f"echo pwned > {outside}/evil.txt; echo ok > inside.txt; echo home > ~/.rudder-evil")
    assert not (outside / "evil.txt").exists() and not (Path.home() / ".rudder-evil").exists()
    assert (root / "inside.txt").read_text() == "ok\n"
    assert "Read-only file system" in out
    assert "only the repository and a private /tmp are writable" in out and "no network" in out  # told why
    same = run_shell(Workspace(root), RunShellArgs(command=f"echo written > {outside}/plain.txt"))
    assert same.endswith("[exit code 0]") and (outside / "plain.txt").exists()  # the control: no sandbox


@needs_bwrap
def test_private_tmp_and_protected_repo_files(sandboxed: Workspace, root: Path) -> None:
    marker = f"rudder-sandbox-{time.time_ns()}"
    assert sh(sandboxed, f"echo x > /tmp/{marker} && cat /tmp/{marker}").startswith("x\n")
    assert not Path("/tmp", marker).exists()  # the sandbox's /tmp was its own
    (root / ".rudder.toml").write_text("# mine\n")
    out = sh(sandboxed, "echo evil > .git/hooks/pre-commit; echo '[agent]' > .rudder.toml; git config core.x 1")
    assert out.count("Read-only file system") >= 2, out
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    assert (root / ".rudder.toml").read_text() == "# mine\n"


@needs_bwrap
def test_git_reads_and_python_work_inside(sandboxed: Workspace, root: Path) -> None:
    python = f"{sys.executable} -c 'import pathlib; print(pathlib.Path(\"n.txt\").read_text())'"
    out = sh(sandboxed, f"echo new > n.txt && git status --short && git log --oneline | wc -l && {python}")
    assert out.splitlines()[:3] == ["?? n.txt", "1", "new"], out  # .git is read-only inside: commits fail
    (root / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    assert "tests passed" in run_tests(sandboxed, RunTestsArgs())


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on loopback only (the test never contacts any other address)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@needs_bwrap
def test_network_is_unreachable_unless_allowed(root: Path, listener: int) -> None:
    connect = f'import socket; socket.create_connection(("127.0.0.1", {listener}), 2); print("up")'
    probe = f"{sys.executable} -c '{connect}'"
    assert sh(Workspace(root), probe).startswith("up\n")  # reachable without the sandbox
    out = sh(Workspace(root, sandbox=choose_sandbox("required")), probe)
    assert not out.startswith("up") and "Error" in out
    assert sh(Workspace(root, sandbox=choose_sandbox("required", network=True)), probe).startswith("up\n")


@needs_bwrap
def test_interrupt_kills_the_sandboxed_command(sandboxed: Workspace, root: Path) -> None:
    threading.Timer(0.3, sandboxed.cancel.set).start()
    started = time.monotonic()
    out = sh(sandboxed, "sleep 31.37")
    assert time.monotonic() - started < 0.3 + 0.5
    assert "interrupted by the user" in out
    time.sleep(0.2)
    leftovers = [p for p in Path("/proc").glob("[0-9]*") if _cmdline(p) == "sleep\x0031.37\x00"]
    assert leftovers == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_text()
    except OSError:
        return ""


def test_choose_sandbox_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_sandbox("off") is None
    monkeypatch.setenv("PATH", "/nonexistent")
    assert choose_sandbox("auto") is None
    with pytest.raises(SandboxUnavailable, match=r"agent.sandbox = \"required\", but bwrap is not installed"):
        choose_sandbox("required")


@needs_bwrap
def test_tools_installed_under_tmp_stay_visible_inside(
    sandboxed: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The sandbox replaces /tmp with an empty tmpfs; a Python environment that lives under /tmp (a fresh
    clone's .venv, as CI makes one) must still run inside, or every run_tests / python call fails."""
    env_bin = Path("/tmp") / tmp_path_factory.mktemp("venv-under-tmp").relative_to(Path("/tmp").resolve()) / "bin"
    env_bin.mkdir(parents=True, exist_ok=True)
    tool = env_bin / "rudder-probe-tool"
    tool.write_text("#!/bin/sh\necho probe-ok\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{env_bin}:{os.environ['PATH']}")
    assert "probe-ok" in sh(sandboxed, "rudder-probe-tool")
