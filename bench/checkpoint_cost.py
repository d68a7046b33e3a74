"""What a step's checkpoint costs (begin + end around the tool), this tree against an older commit.

Repositories of 100 and 20,000 committed files (200 directories, plus 50 ignored *.log files and an
ignored build/ directory). A "write" step is write_file on one file: this tree checkpoints exactly that
path; a "shell" step checkpoints the whole workspace plus small ignored files. The older code snapshots the
whole workspace for both. Each (code, size, step) gets its own repository; the timing runs in a child
process with that code on PYTHONPATH (one warm-up step, then --reps timed steps), children interleaved
round by round so a noisy machine slows both alike. Reported: median and min per step, and the ratio.

    python bench/checkpoint_cost.py                    # against dce5c46 (before issue 21's changes)
    python bench/checkpoint_cost.py --against main~3 --rounds 5 --reps 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "dce5c46"
SIZES = (100, 20_000)
CHILD = """
import json, sys, time
from pathlib import Path
from rudder.tools.checkpoints import Checkpoints
repo, reps, kind = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cps = Checkpoints(repo)
target = repo / "d0" / "f0.txt"
def begin():
    try:  # this tree: exact for a write, ignored files kept for a shell step
        return cps.begin("step", ["d0/f0.txt"]) if kind == "write" else cps.begin("step", keep_ignored=True)
    except TypeError:  # the older code: one whole-workspace snapshot for both
        return cps.begin("step")
times = []
for i in range(reps + 1):
    started = time.perf_counter()
    checkpoint = begin()
    target.write_text(f"{kind} {i} {time.time_ns()}\\n")
    cps.end(checkpoint)
    times.append(time.perf_counter() - started)
print(json.dumps(times[1:]))
"""


def make_repo(path: Path, files: int) -> None:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    per_dir = 100
    for n in range(files):
        folder = path / f"d{n // per_dir}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{n % per_dir}.txt").write_text(f"file {n}\n")
    (path / ".gitignore").write_text("*.log\nbuild/\n")
    for n in range(50):
        (path / f"run{n}.log").write_text("log\n" * 20)
    (path / "build").mkdir()
    (path / "build" / "out.bin").write_bytes(b"\0" * 4096)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "files"], check=True, env=env)


def timed(tree: Path, repo: Path, reps: int, kind: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), str(reps), kind],
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default=BASELINE, help=f"git revision to compare with [{BASELINE}]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=7, help="timed steps per child process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.against, "rudder"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        trees = {args.against: old, "this tree": ROOT}
        cases = [(size, kind) for size in SIZES for kind in ("write", "shell")]
        repos = {}
        for name in trees:
            for size, kind in cases:
                repos[name, size, kind] = Path(scratch) / f"{len(repos)}-{size}-{kind}"
                make_repo(repos[name, size, kind], size)
        samples: dict[tuple[str, int, str], list[float]] = {key: [] for key in repos}
        print(f"load average {os.getloadavg()[0]:.2f} before; {args.rounds} rounds x {args.reps} steps")
        for _ in range(args.rounds):
            for size, kind in cases:
                for name, tree in trees.items():
                    samples[name, size, kind] += timed(tree, repos[name, size, kind], args.reps, kind)
        print(f"| files | step | {args.against} median (min) | this tree median (min) | ratio |")
        print("|---|---|---|---|---|")
        for size, kind in cases:
            cells, medians = [], []
            for name in trees:
                values = samples[name, size, kind]
                medians.append(statistics.median(values))
                cells.append(f"{medians[-1] * 1000:.0f} ms ({min(values) * 1000:.0f})")
            print(f"| {size:,} | {kind} | {cells[0]} | {cells[1]} | {medians[0] / medians[1]:.2f}x |")
        print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
