"""Agent overhead: wall time of whole runs vs the sum of generation and tool time (goal ≤ 1.05).

Runs easy tasks on the embedded model in fresh temp git repos (greedy, neutral mode) and reports, per
task and in total, steps, outcome, and wall / (generation + tools). The gap is the loop itself: prompt
rendering, context fitting, grammar setup, checkpoints' git snapshots, trajectory writes.

    python bench/agent.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import git
from common import console, load_engine
from rich.table import Table

from rudder.agent.factory import open_session
from rudder.config import load_config


def contains(name: str, text: str):
    return lambda root: (root / name).is_file() and text in (root / name).read_text()


TASKS = [
    ("create notes.txt containing: done", contains("notes.txt", "done")),
    ("create todo.md containing: buy milk", contains("todo.md", "buy milk")),
    ("list the files in the repository, then finish", lambda root: True),
]


def make_repo(root: Path) -> None:
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "bench").set_value("user", "email", "bench@example.com")
    (root / "app.py").write_text("def main():\n    print('hello wrold')\n\n\nif __name__ == '__main__':\n    main()\n")
    repo.index.add(["app.py"])
    repo.index.commit("init")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = load_engine()
    table = Table(title="agent overhead on the embedded model")
    for column in ("task", "run", "status", "checker", "steps", "wall s", "gen s", "tool s", "wall / (gen+tool)"):
        table.add_column(column)
    totals = [0.0, 0.0, 0.0]
    for task, check in TASKS:
        for run in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                make_repo(root)
                engine.reset()
                session = open_session(
                    engine, root, (cfg := load_config(root)).agent, cfg.sampling, mode="neutral", record=True
                )
                summary = session.run(task)
                passed = summary.status == "finished" and check(root)
            busy = summary.generate_seconds + summary.tool_seconds
            totals = [
                totals[0] + summary.wall_seconds,
                totals[1] + summary.generate_seconds,
                totals[2] + summary.tool_seconds,
            ]
            table.add_row(
                task[:40],
                str(run),
                summary.status,
                "pass" if passed else "FAIL",
                str(summary.steps),
                f"{summary.wall_seconds:.2f}",
                f"{summary.generate_seconds:.2f}",
                f"{summary.tool_seconds:.2f}",
                f"{summary.wall_seconds / busy:.3f}" if busy else "-",
            )
    table.add_row(
        "total",
        "",
        "",
        "",
        "",
        f"{totals[0]:.2f}",
        f"{totals[1]:.2f}",
        f"{totals[2]:.2f}",
        f"{totals[0] / (totals[1] + totals[2]):.3f}",
    )
    console.print(table)


if __name__ == "__main__":
    main()
