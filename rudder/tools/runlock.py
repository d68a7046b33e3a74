"""One Rudder run per repository at a time: a lock file under .git/rudder that a crash cannot leave stuck.

Why refuse rather than make concurrent runs safe: two runs in one work tree see each other's files. A
shell step's checkpoint cannot tell run B's `b.txt` from run A's own output, so undoing A would take B's
work with it; and both runs' tests, builds and edits would race. Refusing the second run with a clear
message is exact and cheap; running two agents side by side is what separate git worktrees are for.

The lock is an flock(2) on .git/rudder/run.lock. The kernel drops it when its process dies (kill -9
included), so a crashed run never leaves the repository locked. The file also records the owner (pid,
its start time from /proc, the command) so the refusal can say who holds it; a record left by an owner
that is gone is reported with a one-line notice and replaced. The file itself is never deleted (deleting
a lock file that another process may have just opened would let two processes hold "the" lock).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError

LOCK_NAME = "run.lock"
Notice = Callable[[str], None]


class RepoBusy(RuntimeError):
    """Another Rudder run holds this repository's run lock."""

    @classmethod
    def held_by(cls, owner: LockOwner | None) -> RepoBusy:
        who = f" ({owner.describe()})" if owner else ""
        return cls(
            f"another Rudder run is working in this repository{who}; wait for it to finish or stop it "
            "(one run per work tree: use `git worktree add` to run agents side by side)"
        )


class LockOwner(BaseModel):
    pid: int
    start: int | None = None  # the process's start time in clock ticks since boot (/proc/PID/stat field 22)
    started: float  # wall-clock time the lock was taken
    command: str = ""

    def alive(self) -> bool:
        """Whether this exact process still runs: same pid and, where /proc tells, the same start time."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, owned by someone else
        return self.start is None or process_start(self.pid) in (None, self.start)

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.started))
        what = f", {self.command}" if self.command else ""
        return f"pid {self.pid}{what}, since {when}"


def process_start(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot, None where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


class RunLock:
    """The run lock of one repository's Rudder state directory (.git/rudder); re-entrant for its holder."""

    def __init__(self, state: Path, notice: Notice = warn) -> None:
        self.path = state / LOCK_NAME
        self.notice = notice
        self._fd: int | None = None
        self._depth = 0
        self._guard = threading.Lock()
        self.on_acquire: list[Callable[[], None]] = []  # run once each time the lock is newly taken
        self.recovered = False  # the last holder died without releasing it (a crash, kill -9)

    @property
    def held(self) -> bool:
        return self._fd is not None

    @contextmanager
    def hold(self, command: str = "") -> Iterator[None]:
        self.acquire(command)
        try:
            yield
        finally:
            self.release()

    def acquire(self, command: str = "") -> None:
        """Take the lock or raise RepoBusy naming its holder; a no-op (counted) when already held."""
        with self._guard:
            if self._fd is not None:
                self._depth += 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise RepoBusy.held_by(owner) from None
            previous = _read_owner(fd)
            self.recovered = previous is not None and not previous.alive()
            if previous is not None and self.recovered:
                self.notice(f"removed a stale Rudder run lock ({previous.describe()}: no longer running)")
            me = LockOwner(pid=os.getpid(), start=process_start(os.getpid()), started=time.time(), command=command)
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.model_dump_json().encode(), 0)
            self._fd, self._depth = fd, 1
        for callback in self.on_acquire:
            callback()

    def release(self) -> None:
        with self._guard:
            if self._fd is None:
                return
            self._depth -= 1
            if self._depth > 0:
                return
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)  # an empty record: released cleanly (a record left behind means a crash)
            os.close(fd)  # closing drops the flock

    def owner(self) -> LockOwner | None:
        """Who holds the lock now, judged by the record's pid and start time (None when nobody does).

        Does not touch the flock (probing it would make a run starting at that moment see a holder)."""
        try:
            raw = self.path.read_bytes()
            found = LockOwner.model_validate(json.loads(raw)) if raw.strip() else None
        except (OSError, ValueError, ValidationError):
            return None
        return found if found is not None and found.alive() else None


def _read_owner(fd: int) -> LockOwner | None:
    try:
        raw = os.pread(fd, 4096, 0)
        return LockOwner.model_validate(json.loads(raw)) if raw.strip() else None
    except (OSError, ValueError, ValidationError):
        return None
