"""Running a command for the agent: own process group, bounded output, and a timeout that kills everything.

The command gets a new session (start_new_session=True), so its process group holds it and every child it
spawns. On timeout the whole group gets SIGTERM, a short grace, then SIGKILL, so grandchildren die too.
A `cancel` event (the session sets it when the user interrupts) is polled every POLL seconds and kills
the group the same way, with a grace of CANCEL_GRACE, so an interrupted command is gone within ~0.1 s.
Output (stdout and stderr merged) is read by a thread that keeps only the first and last bytes, so a
command like `yes` costs CPU until its timeout, never memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rudder.tools.base import head_and_tail

KEEP_HEAD = 64 * 1024  # bytes kept from the start of the output
KEEP_TAIL = 64 * 1024  # bytes kept from the end
GRACE = 2.0  # seconds between SIGTERM and SIGKILL
_DRAIN = 1.0  # seconds to wait for the pipe to close once the command has exited
POLL = 0.02  # seconds between looks at the cancel event
CANCEL_GRACE = 0.05  # seconds between SIGTERM and SIGKILL when the user interrupts
# If Rudder itself is killed (kill -9, a crash), the command must not go on changing files that `rudder undo`
# is about to restore: the kernel sends it SIGKILL when its parent dies (the sandbox's bwrap does the same
# for everything inside it with --die-with-parent). util-linux's setpriv sets that up without a preexec_fn.
# It runs outside the sandbox, so it is looked up in the system's directories only, never on a PATH that
# may hold the repository's own bin directories (an activated .venv/bin could carry a `setpriv`).
_SETPRIV = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
_DIE_WITH_RUDDER = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []


class OutputCollector:
    """Reads a pipe to EOF, keeping the head and the tail; memory is bounded by KEEP_HEAD + KEEP_TAIL."""

    def __init__(self, fd: int, head: int = KEEP_HEAD, tail: int = KEEP_TAIL) -> None:
        self.fd, self.head_limit, self.tail_limit = fd, head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._run, name="rudder-output", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while chunk := os.read(self.fd, 65536):
            self.total += len(chunk)
            room = self.head_limit - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > self.tail_limit:
                    del self.tail[: len(self.tail) - self.tail_limit]

    def text(self) -> tuple[str, str]:
        """(head, tail) decoded; tail is empty unless the output outgrew the head."""
        return self.head.decode("utf-8", errors="replace"), self.tail.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class CommandResult:
    head: str  # the start of the merged output
    tail: str  # its end, when it did not fit in the head; what lay between is lost
    exit_code: int | None  # None when killed at the timeout or on interrupt
    timed_out: bool
    seconds: float
    total_bytes: int
    stray_killed: bool  # background processes still holding the output open were killed
    interrupted: bool = False  # the cancel event was set; the whole process group was killed

    def clipped(self, limit: int) -> str:
        """The output in at most about `limit` characters: its start and end, with a note on what was cut."""
        text = self.head + self.tail
        kept_bytes = len(self.head.encode()) + len(self.tail.encode())
        if len(text) <= limit and kept_bytes >= self.total_bytes:
            return text
        start, end = (self.head, self.tail) if len(text) <= limit else head_and_tail(text, limit)
        omitted = self.total_bytes - len(start.encode()) - len(end.encode())
        return f"{start}\n[... output truncated: {omitted} of {self.total_bytes} bytes omitted ...]\n{end}"


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> CommandResult:
    """Run `argv` with stdin closed and stdout+stderr merged, killing its process group at `timeout`
    or as soon as `cancel` is set."""
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [*_DIE_WITH_RUDDER, *argv],
            cwd=cwd,
            env=_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
        )
    except OSError:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the child has its copy; ours would keep the pipe open forever
    collector = OutputCollector(read_fd)
    timed_out = interrupted = False
    try:
        outcome = _wait(proc, started + timeout, cancel)
        timed_out, interrupted = outcome == "timeout", outcome == "cancel"
        if timed_out:
            kill_group(proc)
        elif interrupted:
            kill_group(proc, grace=CANCEL_GRACE)
    except BaseException:  # Ctrl-C or a crash must not leave the command running
        kill_group(proc, grace=0.2)
        raise
    stray = _drain(collector, proc.pid)
    head, tail = collector.text()
    return CommandResult(
        head=head,
        tail=tail,
        exit_code=None if timed_out or interrupted else proc.returncode,
        timed_out=timed_out,
        seconds=time.monotonic() - started,
        total_bytes=collector.total,
        stray_killed=stray,
        interrupted=interrupted,
    )


def _wait(proc: subprocess.Popen[bytes], deadline: float, cancel: threading.Event | None) -> str:
    """Wait for the command: "exit", "timeout" at `deadline`, or "cancel" once `cancel` is set."""
    while True:
        if cancel is not None and cancel.is_set():
            return "cancel"
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        try:
            proc.wait(timeout=min(left, POLL) if cancel is not None else left)
            return "exit"
        except subprocess.TimeoutExpired:
            continue


def _drain(collector: OutputCollector, pgid: int) -> bool:
    """Wait for the output to end; True if background processes still holding it had to be killed."""
    collector.thread.join(_DRAIN)
    stray = collector.thread.is_alive()  # a background child inherited the pipe; it would block us forever
    if stray:
        _signal_group(pgid, signal.SIGKILL)
        collector.thread.join(_DRAIN)
    if not collector.thread.is_alive():
        os.close(collector.fd)
    return stray


def kill_group(proc: subprocess.Popen[bytes], grace: float = GRACE) -> None:
    """SIGTERM the process group, wait up to `grace` for the leader, then SIGKILL whatever is left."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _signal_group(proc.pid, signal.SIGKILL)  # children that ignored SIGTERM or outlived the leader
    proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pgid, sig)


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    # nothing may wait for a terminal: no pagers, no prompts, no colour codes in the observation
    env.update({"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "NO_COLOR": "1", "TERM": "dumb"})
    env.pop("FORCE_COLOR", None)
    env.update(extra or {})
    return env
