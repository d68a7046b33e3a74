"""Contention: does `rudder run` keep its speed when another process wants the CPU? (goal: busy ≤ 2x quiet)

llama.cpp's worker threads spin at barriers; if one of their cores is taken by another process, every
barrier waits for a descheduled thread. This times the whole command a user types,

    rudder run "create notes.txt containing: done"

in a fresh temp git repo, quiet and with one competing CPU-bound process (`while True: pass`), for each
thread setting, interleaved round by round so drift in the machine's load hits every variant alike.
Settings: `default` (RUDDER_THREADS unset: all cores but one) and `all cores` (--threads = every core,
the old default). Wall time includes loading the model, as the user waits for it.

    python bench/contention.py [--rounds 3] [--settings default,all]

Run it on an otherwise quiet machine: it prints the load average before and after, and the ratios are
only meaningful side by side within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
TASK = "create notes.txt containing: done"
CORES = len(os.sched_getaffinity(0))


def make_repo(root: Path) -> None:
    root.mkdir(parents=True)
    run_git = lambda *args: subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)  # noqa: E731
    run_git("init", "-q")
    run_git("config", "user.name", "bench")
    run_git("config", "user.email", "bench@example.com")
    (root / "README.md").write_text("# Project\n")
    run_git("add", "README.md")
    run_git("commit", "-q", "-m", "init")


def one_run(workdir: Path, threads: int | None) -> tuple[float, bool]:
    """Wall seconds of one `rudder run` in a fresh repo, and whether the checker passed."""
    repo = workdir / f"repo-{time.monotonic_ns()}"
    make_repo(repo)
    env = {k: v for k, v in os.environ.items() if k != "RUDDER_THREADS"}  # the default, unless given
    env.update({"RUDDER_CONFIG_DIR": str(workdir / "config"), "NO_COLOR": "1"})
    command = [sys.executable, "-m", "rudder", "run", TASK, "--max-steps", "6"]
    if threads is not None:
        command += ["--threads", str(threads)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    notes = repo / "notes.txt"
    ok = done.returncode == 0 and notes.is_file() and notes.read_text().strip() == "done"
    return seconds, ok


def busy(workdir: Path, threads: int | None) -> tuple[float, bool]:
    """The same run with one CPU-bound process competing for the cores; that process is ended after."""
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # let it take its core
        return one_run(workdir, threads)
    finally:
        competitor.kill()
        competitor.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settings", default="default,all", help="comma list of: default, all, or a thread count")
    args = parser.parse_args()
    settings: dict[str, int | None] = {}
    for name in args.settings.split(","):
        if name == "default":
            settings["default"] = None
        elif name == "all":
            settings[f"all cores (--threads {CORES})"] = CORES
        else:
            settings[f"--threads {int(name)}"] = int(name)
    console.print(
        f"shared machine: {CORES} cores, load average before {os.getloadavg()[0]:.2f} "
        f"(ratios below are side by side, interleaved over {args.rounds} rounds)"
    )
    samples: dict[tuple[str, str], list[float]] = {(s, c): [] for s in settings for c in ("quiet", "busy")}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="rudder-contention-") as tmp:
        workdir = Path(tmp)
        for round_ in range(1, args.rounds + 1):
            for name, threads in settings.items():
                for condition, runner in (("quiet", one_run), ("busy", busy)):
                    seconds, ok = runner(workdir, threads)
                    failures += not ok
                    samples[(name, condition)].append(seconds)
                    flag = "" if ok else "  (checker FAILED)"
                    console.print(f"round {round_}: {name:<24} {condition:<5} {seconds:6.1f} s{flag}")
    table = Table(title=f"rudder run {TASK!r}: wall seconds, median of {args.rounds}")
    for column in ("threads", "quiet", "busy (1 competing process)", "busy / quiet", "goal ≤ 2"):
        table.add_column(column)
    for name in settings:
        quiet = statistics.median(samples[(name, "quiet")])
        loaded = statistics.median(samples[(name, "busy")])
        ratio = loaded / quiet
        table.add_row(name, f"{quiet:.1f}", f"{loaded:.1f}", f"{ratio:.2f}", "pass" if ratio <= 2 else "FAIL")
    console.print(table)
    console.print(f"load average after {os.getloadavg()[0]:.2f}; checker failures: {failures}")


if __name__ == "__main__":
    main()
