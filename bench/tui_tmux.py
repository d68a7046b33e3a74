"""Key-to-screen latency of the real `rudder` TUI while the model generates, measured through tmux.

Starts `rudder` (no sub-command) in a throw-away git repo inside a detached tmux session (on its own tmux
socket), sends one task, and while the model streams its answer it (1) presses mode hotkeys and (2) types
characters into the prompt, at a typist's pace, timing each key until the pane shows its effect.

How the clock works (so it measures the app, not the bench): the bench is a tmux *control-mode* client
(`tmux -C`), so sending a key and reading the pane are lines on one pipe, not new processes. The clock
starts before the `send-keys` command is written; tmux reports every write the app makes to its terminal
(`%output`), and each one triggers a `capture-pane`; the clock stops when the reply of the first capture
that shows the effect arrives. So the number is the app's latency plus at most one capture round trip
(its median is printed as the clock's floor); there is no polling interval in it. A sample counts only
while the status line says `working` and its context count moved within the last half second (the model
was generating, not running a tool). Goal: median and p95 under 50 ms.

    python bench/tui_tmux.py [--samples 60] [--keep]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

SOCKET = f"rudder-bench-{os.getpid()}"  # a private tmux server: other tmux users are left alone
SESSION = "rudder-bench"
TASK = "Explain in great detail, with many examples, how hash maps, binary trees and heaps work."
WIDTH, HEIGHT = 120, 40
STATES = (" loading ", " ready ", " working ", " stopping ")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False).stdout


class Control:
    """A tmux control-mode client: commands and their replies on one pipe, and the time of each pane write."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["tmux", "-L", SOCKET, "-C", "attach", "-t", SESSION],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.replies: queue.Queue[tuple[float, list[str]]] = queue.Queue()
        self.outputs = 0  # %output notifications seen
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.replies.get(timeout=10)  # the attach command's own (empty) reply

    def _read(self) -> None:
        assert self.proc.stdout is not None
        body: list[str] | None = None
        for raw in self.proc.stdout:
            now = time.perf_counter()
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if body is not None and not line.startswith(("%end ", "%error ")):
                body.append(line)
            elif line.startswith("%begin "):
                body = []
            elif line.startswith(("%end ", "%error ")):
                self.replies.put((now, body or []))
                body = None
            elif line.startswith("%output "):
                with self.changed:
                    self.outputs += 1
                    self.changed.notify_all()

    def command(self, line: str) -> tuple[float, list[str]]:
        """Run one tmux command; (the time its reply arrived, the reply's lines)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        return self.replies.get(timeout=10)

    def screen(self) -> tuple[float, str]:
        at, lines = self.command(f"capture-pane -p -t {SESSION}")
        return at, "\n".join(lines)

    def wait_output(self, seen: int, timeout: float) -> int:
        """Block until the pane has been written to more than `seen` times (or timeout); the new count."""
        with self.changed:
            self.changed.wait_for(lambda: self.outputs > seen, timeout)
            return self.outputs

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.terminate()


def status_line(text: str) -> str:
    """The status line starts with the state (a toast may cover its right end)."""
    return next((line for line in text.splitlines() if line.startswith(STATES)), "")


def working(text: str) -> bool:
    return " working " in status_line(text)


def context_shown(text: str) -> int | None:
    """The status line's `ctx USED/N`: it grows with every generated token."""
    found = re.search(r"ctx (\d+)/", status_line(text))
    return int(found.group(1)) if found else None


def prompt_line(text: str) -> str:
    """The prompt is the first line under the transcript's bottom rule."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("─" * 20) and i + 1 < len(lines):
            return lines[i + 1]
    return ""


class Bench:
    def __init__(self, ctl: Control, deadline: float = float("inf")) -> None:
        self.ctl = ctl
        self.deadline = deadline  # perf_counter time after which sampling stops with what it has
        self.progress: list[tuple[float, int]] = []  # (time, context used in the status line)

    def screen(self) -> str:
        at, text = self.ctl.screen()
        count = context_shown(text)
        if count is not None and (not self.progress or self.progress[-1][1] != count):
            self.progress.append((at, count))
        return text

    def generating(self, text: str) -> bool:
        """Working, and the context count moved within the last half second."""
        if not working(text) or len(self.progress) < 2:
            return False
        return time.perf_counter() - self.progress[-1][0] < 0.5

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> float | None:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if predicate(self.screen()):
                return time.perf_counter() - start
            time.sleep(0.05)
        return None

    def time_key(self, keys: str, shows: Callable[[str], bool], timeout: float = 2.0) -> float | None:
        """Seconds from sending `keys` (send-keys arguments) until a capture shows the effect."""
        seen = self.ctl.outputs
        sent = time.perf_counter()
        self.ctl.command(f"send-keys -t {SESSION} {keys}")
        while time.perf_counter() - sent < timeout:
            seen = self.ctl.wait_output(seen, 0.01)  # a write to the pane, or 10 ms: look again
            at, text = self.ctl.screen()
            if shows(text):
                return at - sent
        return None

    def start_task(self) -> None:
        tmux("send-keys", "-t", SESSION, "C-u")
        tmux("send-keys", "-t", SESSION, "-l", TASK)
        tmux("send-keys", "-t", SESSION, "Enter")

    def ensure_generating(self) -> bool:
        """Start a turn if the agent is idle. True if one was started (the transcript has the focus again:
        plain keys are mode hotkeys there)."""
        text = self.screen()
        if working(text):
            return False
        self.wait_for(lambda s: " ready " in status_line(s), 60)
        time.sleep(0.3)  # the prompt has the focus once the turn's end is drawn
        self.start_task()
        self.wait_for(lambda s: working(s) and self.generating(s), 120)
        return True

    def pause(self) -> None:
        """A typist's pace: 80-250 ms between keys, so samples land at every point of the token cycle."""
        end = time.perf_counter() + random.uniform(0.08, 0.25)
        while time.perf_counter() < end:
            self.screen()  # keeps the context count fresh (the generating check)
            time.sleep(0.03)

    def hotkeys(self, samples: int) -> list[float]:
        """Mode hotkeys (f, n alternately; the transcript has the focus while the agent works): from the
        key to the mode bar showing the pending switch (or its withdrawal)."""
        times: list[float] = []
        while len(times) < samples and time.perf_counter() < self.deadline:
            self.ensure_generating()
            self.pause()
            before = self.screen()
            if not self.generating(before):
                continue
            top = before.splitlines()[0]
            took = self.time_key(f"-l {'fn'[len(times) % 2]}", lambda s, t=top: s.splitlines()[0] != t)
            if took is not None and self.generating(self.screen()):
                times.append(took)
        return times

    def typing(self, samples: int) -> list[float]:
        """Tab into the prompt and type digits one by one while the model writes."""
        times: list[float] = []
        typed, focused = "", False
        while len(times) < samples and time.perf_counter() < self.deadline:
            if self.ensure_generating() or not focused:
                tmux("send-keys", "-t", SESSION, "Tab")
                time.sleep(0.1)
                focused, typed = True, ""
            self.pause()
            if not self.generating(self.screen()):
                continue
            expected = typed + str(len(typed) % 10)
            took = self.time_key(f"-l {expected[-1]}", lambda s, e=expected: e in prompt_line(s))
            typed = expected
            if took is not None and self.generating(self.screen()):
                times.append(took)
            if len(typed) >= 40 or took is None:  # keep the line short
                tmux("send-keys", "-t", SESSION, "C-u")
                self.wait_for(lambda s: "0123" not in prompt_line(s), 2.0)
                typed = ""
        tmux("send-keys", "-t", SESSION, "C-u")
        return times


def make_repo() -> Path:
    repo = Path(tempfile.mkdtemp(prefix="rudder-tui-bench-")) / "demo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "b@e.x"], ["config", "user.name", "bench"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    (repo / "hello.py").write_text('print("hello wrold")\n')
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def start(repo: Path) -> None:
    rudder = shutil.which("rudder") or str(Path(sys.executable).with_name("rudder"))
    env = f"RUDDER_THREADS={os.environ.get('RUDDER_THREADS', '1')} PYTHONPATH={os.environ.get('PYTHONPATH', '')}"
    command = f"cd {repo} && env {env} {rudder} --approval auto; echo rudder exited with $?; sleep 600"
    tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), command)


def percentile(ms: list[float], q: float) -> float:
    return ms[min(len(ms) - 1, round(q * (len(ms) - 1)))]


def report(name: str, times: list[float]) -> None:
    if not times:
        print(f"{name}: no samples")
        return
    ms = sorted(t * 1000 for t in times)
    median, p95 = statistics.median(ms), percentile(ms, 0.95)
    verdict = "ok" if median < 50 and p95 < 50 else "over the 50 ms goal"
    print(f"{name}: n={len(ms)}  median {median:.1f} ms  p95 {p95:.1f} ms  max {ms[-1]:.1f} ms  ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60, help="typed keys (hotkeys: half as many)")
    parser.add_argument("--keep", action="store_true", help="leave the tmux session running")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sampling after this long")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed (apt-get install -y tmux)")
    random.seed(1)
    repo = make_repo()
    print(
        f"shared machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
        f"RUDDER_THREADS={os.environ.get('RUDDER_THREADS', 'unset')}"
    )
    start(repo)
    ctl = Control()
    bench = Bench(ctl)
    try:
        loaded = bench.wait_for(lambda s: " ready " in status_line(s), 120)
        if loaded is None:
            sys.exit("rudder did not become ready:\n" + bench.screen())
        print(f"model loaded and UI ready in {loaded:.1f} s")
        floor = []
        for _ in range(30):
            began = time.perf_counter()
            at, _ = ctl.screen()
            floor.append(at - began)
        report("capture-pane round trip alone (the clock's floor)", floor)
        time.sleep(0.5)
        bench.start_task()
        first = bench.wait_for(lambda s: working(s) and "– tok/s" not in s, 120)
        print(f"first tokens on screen {first:.1f} s after Enter" if first is not None else "no tokens seen")
        began = time.perf_counter()
        bench.deadline = began + args.max_seconds / 2
        hotkeys = bench.hotkeys(max(6, args.samples // 2))
        bench.deadline = began + args.max_seconds
        typing = bench.typing(args.samples)
        report("mode hotkey -> mode bar, while generating", hotkeys)
        report("typing into the prompt while generating", typing)
        print("status while measuring:", status_line(bench.screen()).strip())
    finally:
        ctl.close()
        if not args.keep:
            tmux("send-keys", "-t", SESSION, "C-q")
            time.sleep(1.0)
            socket = tmux("display-message", "-p", "#{socket_path}").strip()
            tmux("kill-server")
            if socket:
                Path(socket).unlink(missing_ok=True)  # tmux leaves its socket file behind
            shutil.rmtree(repo.parent, ignore_errors=True)
        else:
            print(f"kept: tmux -L {SOCKET} attach -t {SESSION}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
