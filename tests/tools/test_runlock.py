"""The per-repository run lock, held by real processes: refused while held, never stuck after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rudder.tools.runlock import LockOwner, RepoBusy, RunLock, process_start

HOLDER = """
import sys, time
from pathlib import Path
from rudder.tools.runlock import RunLock
RunLock(Path(sys.argv[1])).acquire("rudder: the other run")
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path: Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    lock = RunLock(tmp_path)
    with pytest.raises(RepoBusy, match=rf"another Rudder run is working in this repository \(pid {holder.pid}, "
                       r"rudder: the other run, since \d\d:\d\d:\d\d\)"):  # fmt: skip
        lock.acquire()
    owner = lock.owner()
    assert owner is not None and owner.pid == holder.pid


def test_a_killed_holder_never_leaves_the_lock_stuck(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    notices: list[str] = []
    lock = RunLock(tmp_path, notices.append)
    assert lock.owner() is None  # its record names a process that is gone
    with lock.hold("me"):
        assert lock.owner() is not None and lock.owner().pid == os.getpid()  # type: ignore[union-attr]
        lock.acquire()  # re-entrant for its holder
        lock.release()
    assert notices == [f"removed a stale Rudder run lock (pid {holder.pid}, rudder: the other run, since "
                       f"{notices[0].split('since ')[1]}"]  # fmt: skip
    assert lock.path.read_text() == ""  # released cleanly: no record left
    with RunLock(tmp_path, notices.append).hold():
        pass
    assert len(notices) == 1  # a clean release is not stale


def test_a_reused_pid_is_told_apart_by_its_start_time(tmp_path: Path) -> None:
    """The record's pid runs, but it is another process (started at another time): the lock is stale."""
    me = process_start(os.getpid())
    if me is None:
        pytest.skip("no /proc here: only the pid can be checked")
    (tmp_path / "run.lock").write_text(LockOwner(pid=os.getpid(), start=me - 1, started=0).model_dump_json())
    assert RunLock(tmp_path).owner() is None
    notices: list[str] = []
    with RunLock(tmp_path, notices.append).hold():
        pass
    assert len(notices) == 1 and "stale" in notices[0]


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """Two sessions in one process (ACP, the TUI's undo beside a turn) get the same answer as two processes."""
    with RunLock(tmp_path).hold(), pytest.raises(RepoBusy):
        RunLock(tmp_path).acquire()
