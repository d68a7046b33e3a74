"""A/B harness throughput: samples per hour with --jobs 1 and --jobs 2, and the scaling ratio.

Runs the same slice of the starter suite (default: the 6 easiest tasks × neutral × 1 epoch) through
`rudder ab run` twice, one after the other, into fresh log dirs, and times each whole command (worker
start, model loads, Inspect logging included). Threads per worker = $RUDDER_THREADS (else all cores) // jobs.

    RUDDER_THREADS=2 python bench/ab_scaling.py [--tasks ...] [--rounds 1]

The machine these numbers come from is shared (2 cores, up to 8 helpers' processes): read the ratio,
measured side by side in one run, rather than the absolute rates.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EASY = "file-notes,file-todo,file-gitignore,py-print,js-print,sh-hello"


def run(jobs: int, tasks: str, arms: str) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix=f"ab-bench-j{jobs}-"))
    cmd = [
        sys.executable,
        "-m",
        "rudder",
        "ab",
        "run",
        "--suite",
        str(ROOT / "suites" / "starter"),
        "--tasks",
        tasks,
        "--arms",
        arms,
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        "--no-report",
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    from rudder.ab.results import load_results

    return seconds, len(load_results(str(out)).finished())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", default=EASY)
    parser.add_argument("--arms", default="neutral")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    budget = os.environ.get("RUDDER_THREADS", "all cores")
    print(f"shared machine: {os.cpu_count()} cores, thread budget {budget}; tasks {args.tasks}, arms {args.arms}")
    rates: dict[int, list[float]] = {1: [], 2: []}
    for round_ in range(args.rounds):
        for jobs in (1, 2):
            seconds, samples = run(jobs, args.tasks, args.arms)
            rate = samples / seconds * 3600
            rates[jobs].append(rate)
            print(f"round {round_ + 1}: --jobs {jobs}: {samples} samples in {seconds:.0f} s = {rate:.0f} samples/hour")
    one, two = (sum(r) / len(r) for r in (rates[1], rates[2]))
    print(
        f"mean: --jobs 1 {one:.0f}/h, --jobs 2 {two:.0f}/h, scaling ratio {two / one:.2f}",
        "(ideal 2.00 on 2 free cores)",
    )


if __name__ == "__main__":
    main()
