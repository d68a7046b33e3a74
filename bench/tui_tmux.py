"""Key-to-screen latency of the real `rudder` TUI while the model generates, measured through tmux.

Starts `rudder` (no sub-command) in a throw-away git repo inside a detached tmux session, sends one task,
and while the model streams its answer it (1) types characters into the prompt and (2) presses a mode
hotkey, timing each key from `tmux send-keys` until `tmux capture-pane` shows its effect.
Goal: median and p95 under 50 ms. The clock includes one capture-pane round trip (a few ms): the
numbers are an upper bound.

    python bench/tui_tmux.py [--samples 30] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = "rudder-bench"
TASK = "Explain in great detail, with many examples, how hash maps, binary trees and heaps work."
WIDTH, HEIGHT = 120, 40


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(predicate, timeout: float, poll: float = 0.002) -> float | None:
    """Seconds until predicate(screen()) holds, or None on timeout."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate(screen()):
            return time.perf_counter() - start
        time.sleep(poll)
    return None


STATES = (" loading ", " ready ", " working ", " stopping ")


def status_line(text: str) -> str:
    """The status line starts with the state (a toast may cover its right end)."""
    return next((line for line in text.splitlines() if line.startswith(STATES)), "")


def working(text: str) -> bool:
    return " working " in status_line(text)


def prompt_line(text: str) -> str:
    """The prompt is the first line under the transcript's bottom rule."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("─" * 20) and i + 1 < len(lines):
            return lines[i + 1]
    return ""


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
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), command)


def ensure_generating() -> bool:
    """Start a turn if the model is not working (the prompt is empty then). True if one was started:
    the transcript has the focus again (plain keys are mode hotkeys there)."""
    if working(screen()):
        return False
    wait_for(lambda s: " ready " in status_line(s), 30)
    time.sleep(0.3)  # the prompt has the focus once the turn's end is drawn
    tmux("send-keys", "-t", SESSION, "C-u")
    tmux("send-keys", "-t", SESSION, "-l", TASK)
    tmux("send-keys", "-t", SESSION, "Enter")
    wait_for(working, 120)
    return True


def measure_hotkeys(samples: int) -> list[float]:
    """Mode hotkeys (f, n alternately; the transcript has the focus while the agent works): from the key
    to the mode bar showing the pending switch (or its withdrawal)."""
    times: list[float] = []
    while len(times) < samples:
        ensure_generating()
        before = screen().splitlines()[0]
        key = "fn"[len(times) % 2]
        sent = time.perf_counter()
        tmux("send-keys", "-t", SESSION, "-l", key)
        seen = wait_for(lambda s, b=before: s.splitlines()[0] != b, 2.0)
        if seen is not None and working(screen()):
            times.append(time.perf_counter() - sent)
    return times


def measure_typing(samples: int) -> list[float]:
    """Tab into the prompt and type digits one by one while the model writes."""
    times: list[float] = []
    typed = ""
    focused = False
    while len(times) < samples:
        if ensure_generating() or not focused:
            tmux("send-keys", "-t", SESSION, "Tab")
            time.sleep(0.05)
            focused, typed = True, ""
        expected = typed + str(len(typed) % 10)
        sent = time.perf_counter()
        tmux("send-keys", "-t", SESSION, "-l", expected[-1])
        seen = wait_for(lambda s, e=expected: e in prompt_line(s), 2.0)
        typed = expected
        if seen is not None and working(screen()):
            times.append(time.perf_counter() - sent)
        if len(typed) >= 40 or seen is None:  # keep the line short
            tmux("send-keys", "-t", SESSION, "C-u")
            wait_for(lambda s: "0123" not in prompt_line(s), 2.0)
            typed = ""
    tmux("send-keys", "-t", SESSION, "C-u")
    return times


def report(name: str, times: list[float]) -> None:
    if not times:
        print(f"{name}: no samples")
        return
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    verdict = "ok" if statistics.median(ms) < 50 and p95 < 50 else "over the 50 ms goal"
    median = statistics.median(ms)
    print(f"{name}: n={len(ms)}  median {median:.1f} ms  p95 {p95:.1f} ms  max {ms[-1]:.1f} ms  ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="leave the tmux session running")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed (apt-get install -y tmux)")
    repo = make_repo()
    print(
        f"shared machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
        f"RUDDER_THREADS={os.environ.get('RUDDER_THREADS', 'unset')}"
    )
    start(repo)
    try:
        loaded = wait_for(lambda s: " ready " in status_line(s), 120, poll=0.1)
        if loaded is None:
            sys.exit("rudder did not become ready:\n" + screen())
        print(f"model loaded and UI ready in {loaded:.1f} s")
        floor = []
        for _ in range(20):
            began = time.perf_counter()
            screen()
            floor.append(time.perf_counter() - began)
        report("capture-pane round trip alone (the clock's floor)", floor)
        tmux("send-keys", "-t", SESSION, "-l", TASK)
        tmux("send-keys", "-t", SESSION, "Enter")
        first = wait_for(lambda s: working(s) and "– tok/s" not in s, 120)
        print(f"first tokens on screen {first:.1f} s after Enter" if first is not None else "no tokens seen")
        hotkeys = measure_hotkeys(max(6, args.samples // 3))
        typing = measure_typing(args.samples)
        report("mode hotkey -> mode bar, while generating", hotkeys)
        report("typing into the prompt while generating", typing)
        print("status while measuring:", status_line(screen()).strip())
    finally:
        if not args.keep:
            tmux("send-keys", "-t", SESSION, "C-q")
            time.sleep(0.5)
            tmux("kill-session", "-t", SESSION)
            shutil.rmtree(repo.parent, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
