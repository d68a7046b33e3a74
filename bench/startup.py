"""Start-up of the quick commands, this tree against an older commit, side by side.

Each command runs as a whole `rudder` process (the console script's `main`) with this tree or the
older one on PYTHONPATH, interleaved run by run, so a noisy machine slows both alike. Bytecode caches
are written first (as they are after pip installs a package), then every run is timed: median and min
of the wall time, the ratio of medians, and the load average. The older commit is checked out into a
temporary git worktree.

    python bench/startup.py                      # 21 runs each, against 3f6cfd7
    python bench/startup.py --runs 41 --against main~2
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

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "3f6cfd7"  # main before quick.py and the dense weights
COMMANDS = (["--help"], ["modes", "list"], ["vectors", "show", "terse"])
MAIN = "import sys; sys.argv[0] = 'rudder'; from rudder.cli import main; main()"


def timed(tree: Path, args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        env={**env, "PYTHONPATH": str(tree)},
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default=BASELINE, help=f"git revision to compare with [{BASELINE}]")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "-q", "--detach", str(old), args.against], check=True)
        try:
            trees = {args.against: old, "this tree": ROOT}
            print(f"{args.runs} runs each, interleaved; load average {os.getloadavg()[0]:.2f} before")
            print("| command | " + " | ".join(f"{name} median (min)" for name in trees) + " | ratio |")
            print("|---|---|---|---|")
            for command in COMMANDS:
                samples: dict[str, list[float]] = {name: [] for name in trees}
                for tree in trees.values():
                    timed(tree, command, env)  # writes the bytecode caches
                for _ in range(args.runs):
                    for name, tree in trees.items():
                        samples[name].append(timed(tree, command, env))
                medians = {name: statistics.median(values) for name, values in samples.items()}
                cells = [f"{medians[n]:.3f} s ({min(samples[n]):.3f})" for n in trees]
                ratio = medians[args.against] / medians["this tree"]
                print(f"| rudder {' '.join(command)} | " + " | ".join(cells) + f" | {ratio:.2f}x |", flush=True)
            print(f"load average {os.getloadavg()[0]:.2f} after")
        finally:
            subprocess.run([*git, "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
