"""run_shell and run_tests with real processes: exit codes, timeouts that kill grandchildren, bounded output."""

from __future__ import annotations

import json
import os
import re
import resource
import threading
import time
from pathlib import Path

import pytest

from rudder.tools.base import ToolError, Workspace
from rudder.tools.process import KEEP_HEAD, KEEP_TAIL, OutputCollector
from rudder.tools.shell import RunShellArgs, RunTestsArgs, detect_test_runner, run_shell, run_tests


def _gone(pid: int, wait: float = 5.0) -> bool:
    """True once `pid` no longer exists (a zombie waiting for a non-reaping init counts as gone)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_run_shell_output_and_exit_code(call, root: Path) -> None:
    out = call("run_shell", command="pwd; echo oops >&2; exit 3")
    assert out.splitlines() == [str(root), "oops", "[exit code 3]"]
    assert call("run_shell", command="true") == "(no output)\n[exit code 0]"


def test_run_shell_uses_workspace_env_and_no_stdin(root: Path) -> None:
    ws = Workspace(root, env={"RUDDER_TEST_VALUE": "42"})
    out = run_shell(ws, RunShellArgs(command="echo $RUDDER_TEST_VALUE; cat; echo after"))
    assert out.splitlines() == ["42", "after", "[exit code 0]"]


def test_run_shell_refuses_empty_command(call) -> None:
    with pytest.raises(ToolError, match="empty"):
        call("run_shell", command="   ")


def test_run_shell_timeout_kills_command(call) -> None:
    started = time.monotonic()
    out = call("run_shell", command="echo started; sleep 100", timeout=0.5)
    assert time.monotonic() - started < 5
    assert out.startswith("started\n")
    assert "timed out after 0.5 s" in out


def test_run_shell_timeout_kills_grandchildren(call, root: Path) -> None:
    # the grandchild ignores SIGTERM, so only the SIGKILL to the whole group can end it
    command = "bash -c 'trap \"\" TERM; sleep 100 & echo $! > gc.pid; wait' & sleep 100"
    out = call("run_shell", command=command, timeout=1)
    assert "timed out after 1 s" in out
    pid = int((root / "gc.pid").read_text())
    assert _gone(pid), f"grandchild {pid} survived the timeout"


def test_run_shell_background_child_holding_output_is_killed(call, root: Path) -> None:
    started = time.monotonic()
    out = call("run_shell", command="sleep 100 & echo $! > bg.pid; echo done")
    assert time.monotonic() - started < 5
    assert out.startswith("done\n[exit code 0; background processes")
    assert _gone(int((root / "bg.pid").read_text()))


def test_run_shell_huge_output_is_truncated_and_memory_bounded(call) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = call("run_shell", command="yes | head -c 100000000")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 40, f"memory grew by {grown_mib:.0f} MiB for 100 MB of output"
    omitted = int(re.search(r"\[\.\.\. output truncated: (\d+) of 100000000 bytes omitted \.\.\.\]", out)[1])
    assert 99_980_000 < omitted < 100_000_000
    assert out.startswith("y\ny\n") and out.endswith("y\ny\n[exit code 0]")
    assert len(out) < 12_200


def test_output_collector_keeps_only_head_and_tail() -> None:
    read_fd, write_fd = os.pipe()
    collector = OutputCollector(read_fd, head=10, tail=5)
    for chunk in (b"0123456789abc", b"defgh" * 1000, b"VWXYZ"):
        os.write(write_fd, chunk)
    os.close(write_fd)
    collector.thread.join(5)
    os.close(read_fd)
    assert collector.text() == ("0123456789", "VWXYZ")
    assert collector.total == 13 + 5000 + 5
    assert len(collector.head) + len(collector.tail) <= KEEP_HEAD + KEEP_TAIL


def test_run_shell_endless_output_until_timeout(call) -> None:
    out = call("run_shell", command="yes", timeout=1)
    assert "timed out after 1 s" in out
    assert "bytes omitted" in out and len(out) < 12_200


def test_run_shell_caps_requested_timeout(call) -> None:
    assert call("run_shell", command="true", timeout=100_000).endswith("[exit code 0; timeout capped at 600 s]")


# -- run_tests ------------------------------------------------------------------------------------------

PYTEST_LAYOUTS = {
    "pytest.ini": {"pytest.ini": "[pytest]\n"},
    "pyproject": {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"},
    "setup.cfg": {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = t\n"},
    "tox.ini": {"tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\n"},
    "conftest": {"conftest.py": ""},
    "tests dir": {"tests/unit/test_thing.py": "def test(): pass\n"},
}


@pytest.mark.parametrize("files", PYTEST_LAYOUTS.values(), ids=PYTEST_LAYOUTS.keys())
def test_detects_pytest(tmp_path: Path, files: dict[str, str]) -> None:
    _write(tmp_path, files)
    runner = detect_test_runner(tmp_path)
    assert runner is not None and runner.name == "pytest" and "pytest" in " ".join(runner.argv)


def test_detects_pytest_in_project_venv(tmp_path: Path) -> None:
    _write(tmp_path, {"pytest.ini": "[pytest]\n", ".venv/bin/python": ""})
    runner = detect_test_runner(tmp_path)
    assert runner is not None and runner.argv[:3] == [str(tmp_path / ".venv/bin/python"), "-m", "pytest"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": json.dumps({"scripts": {"test": "jest"}})}, ["npm", "test"]),
        ({"go.mod": "module example.com/x\n"}, ["go", "test", "./..."]),
        ({"Cargo.toml": "[package]\nname = 'x'\n"}, ["cargo", "test"]),
        ({"package.json": json.dumps({"scripts": {"test": 'echo "Error: no test specified" && exit 1'}})}, None),
        ({"pyproject.toml": "[project]\nname = 'x'\n", "README.md": "hi"}, None),
        ({}, None),
    ],
    ids=["npm", "go", "cargo", "npm-placeholder", "pyproject-without-pytest", "empty"],
)
def test_detects_other_runners(tmp_path: Path, files: dict[str, str], expected: list[str] | None) -> None:
    _write(tmp_path, files)
    runner = detect_test_runner(tmp_path)
    assert (runner.argv if runner else None) == expected


def test_run_tests_without_runner_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="no test runner detected"):
        run_tests(Workspace(tmp_path), RunTestsArgs())


def test_run_tests_runs_pytest(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "tests/test_ok.py": "def test_ok():\n    assert 1 + 1 == 2\n",
            "tests/test_bad.py": "def test_bad():\n    assert 1 + 1 == 3\n",
        },
    )
    ws = Workspace(tmp_path, shell_timeout=60)
    failing = run_tests(ws, RunTestsArgs())
    assert failing.startswith("runner: pytest (")
    assert "1 failed, 1 passed" in failing
    assert failing.endswith("[exit code 1: tests failed]")
    passing = run_tests(ws, RunTestsArgs(path="tests/test_ok.py"))
    assert "1 passed" in passing and passing.endswith("[exit code 0: tests passed]")


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if name.endswith("bin/python"):
            os.chmod(path, 0o755)


def test_run_shell_cancel_kills_process_group_at_once(root: Path) -> None:
    ws = Workspace(root, shell_timeout=60)
    threading.Timer(0.2, ws.cancel.set).start()
    started = time.monotonic()
    out = run_shell(ws, RunShellArgs(command="sleep 30 & echo $! > bg.pid; sleep 30"))
    elapsed = time.monotonic() - started - 0.2
    assert elapsed < 0.5, f"interrupt took {elapsed:.2f} s"
    assert out.endswith("[interrupted by the user; the command and all its child processes were killed]")
    assert _gone(int((root / "bg.pid").read_text()), wait=0.5)


def test_a_setpriv_on_the_repositorys_path_is_never_what_runs_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands die with Rudder through util-linux's setpriv, found in the system's directories only: a
    `setpriv` in an activated .venv/bin of the repository would run outside the sandbox."""
    import importlib

    from rudder.tools import process

    fake = tmp_path / ".venv" / "bin"
    fake.mkdir(parents=True)
    (fake / "setpriv").write_text('#!/bin/sh\ntouch ESCAPED\nexec "$@"\n')
    (fake / "setpriv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    try:
        reloaded = importlib.reload(process)
        assert reloaded._DIE_WITH_RUDDER[:1] != [str(fake / "setpriv")]
    finally:
        monkeypatch.undo()
        importlib.reload(process)
