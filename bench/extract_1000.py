"""1,000 contrastive pairs through `rudder vectors extract`: this tree against an older commit, side by side.

Both run as whole processes (start-up and model load included) on the same dataset (templates x personas,
the one bench/extract.py writes), layers 0-28, the same thread count, interleaved round by round, so a
busy machine slows both alike: the ratio is the result, the seconds are the machine's. The load average
is printed beside every run. The older commit is checked out into a temporary git worktree (default:
the commit before the batched-capture speed-ups, `BASELINE`); it uses this tree's compiled hook.

    python bench/extract_1000.py                      # 2 rounds, 2 threads
    python bench/extract_1000.py --rounds 3 --threads 1 --against main~3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import ALL_LAYERS, OUT, template_dataset

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "bb08891"  # main before the stem cache and C row picking


def run(tree: Path, dataset: Path, out: Path, threads: int) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, load average before, after) of one whole `rudder vectors extract`
    process. CPU seconds (user + system) measure the work itself: other processes on the machine
    stretch the wall time, hardly the CPU time (with 1 thread; spinning threads inflate it with more)."""
    command = [sys.executable, "-m", "rudder", "vectors", "extract", str(dataset), "-o", str(out)]
    command += ["--layers", ALL_LAYERS, "--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(tree), "RUDDER_THREADS": str(threads)}
    before = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if result.returncode != 0:
        raise SystemExit(f"extract failed in {tree} ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds, cpu, before, os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default=BASELINE, help=f"git revision to compare with [{BASELINE}]")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    dataset = template_dataset(args.pairs)
    with tempfile.TemporaryDirectory(prefix="rudder-baseline-") as tmp:
        old = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.against], check=True)
        try:
            for built in (ROOT / "rudder" / "engine").glob("_hook*.so"):
                shutil.copy(built, old / "rudder" / "engine" / built.name)
            trees = {f"old ({args.against})": old, "new (this tree)": ROOT}
            print(f"{args.pairs} pairs, layers {ALL_LAYERS}, {args.threads} threads, whole processes, interleaved")
            print("shared machine: compare the ratio; the load average (1 min) is shown before/after each run")
            walls: dict[str, list[float]] = {name: [] for name in trees}
            cpus: dict[str, list[float]] = {name: [] for name in trees}
            for round_ in range(args.rounds):
                for name, tree in trees.items():
                    out = OUT / f"extract-1000-{round_}.gguf"
                    seconds, cpu, before, after = run(tree, dataset, out, args.threads)
                    walls[name].append(seconds)
                    cpus[name].append(cpu)
                    took = f"{seconds:6.1f} s wall {cpu:6.1f} s CPU   load {before:.2f} -> {after:.2f}"
                    print(f"  round {round_ + 1} {name:24s} {took}", flush=True)
            for name in trees:
                wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
                print(f"{name:24s} median {wall:6.1f} s wall, {cpu:6.1f} s CPU")
            (old_wall, new_wall), (old_cpu, new_cpu) = (
                [statistics.median(v) for v in walls.values()],
                [statistics.median(v) for v in cpus.values()],
            )
            print(f"new vs old: {old_wall / new_wall:.2f}x faster in wall time, {old_cpu / new_cpu:.2f}x in CPU time")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
