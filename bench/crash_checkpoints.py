"""kill -9 during agent write steps, at random moments: does anything change without a checkpoint?

Each kill: a real Session (scripted model, real tools, git, checkpoints, run lock) in its own process
does one write step (alternately write_file of a 1.4 MB file and a shell loop that writes 25 files,
deletes the ignored .env and appends to README.md); SIGKILL to its process group after a random delay
(uniform over 1.2x the length of an unkilled run of that step, measured first);
then `git fsck`, a check that the tree is the state before or after the step (or part-way with an
unfinished checkpoint), `rudder undo --force`, and a check that the tree is exactly the state before.
The checks are the test's (tests/agent/crash_driver.py; tests/agent/test_checkpoint_safety.py runs 8).

    python bench/crash_checkpoints.py                 # 30 kills, seed 21
    python bench/crash_checkpoints.py --kills 60 --seed 7 --spread 1.5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.agent.crash_driver import kill_loop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--spread", type=float, default=1.2, help="delays up to this x an unkilled run [1.2]")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        kills = kill_loop(Path(scratch), args.kills, args.seed, args.spread)
    seconds = time.perf_counter() - started
    print(f"{len(kills)} kills (seed {args.seed}) in {seconds:.1f} s; every check passed")
    print("| step | tree after the kill | this step's checkpoint | kills |")
    print("|---|---|---|---|")
    for (kind, state, checkpoint), count in sorted(Counter((k.kind, k.state, k.checkpoint) for k in kills).items()):
        print(f"| {kind} | {state} | {checkpoint} | {count} |")


if __name__ == "__main__":
    main()
