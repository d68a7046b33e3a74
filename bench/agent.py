"""Agent overhead: where the wall time of whole runs goes, measured part by part (goal: wall / (model + tools) ≤ 1.05).

Runs easy tasks on the embedded model in fresh temp git repos (greedy, neutral mode). Each part is timed where it
happens, by wrapping it on this run's objects (the agent's code is unchanged):

    model        llama.cpp's work: prefill, one decode per token, and sampling (the sampler call includes Rudder's
                 token filters, which run inside it)
    tools        the tools' own functions (read, write, list, ...)
    checkpoints  git snapshots before and after each write step (`rudder undo`)
    trajectory   JSONL writes
    loop         the rest: prompt rendering, context fitting, the per-token work between decodes (stop strings,
                 events, watchers), diffs, approvals, events

and reports wall / (model + tools), the share of each part, and what the step records would have said (their
tool time includes checkpoints; their generation time includes the per-token loop work).

    python bench/agent.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import git
from common import console, load_engine
from rich.table import Table

from rudder.agent.factory import open_session
from rudder.agent.session import Session
from rudder.config import load_config
from rudder.engine.engine import Engine

PARTS = ("model", "tools", "checkpoints", "trajectory")


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


class Clock:
    """Seconds per part, added up by the wrapped calls."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS, 0.0)

    def timed(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - started

        return wrapper


class TimedSampler:
    """A sampler whose `sample` calls count as model time."""

    def __init__(self, sampler: Any, clock: Clock) -> None:
        self._sampler = sampler
        self.sample = clock.timed("model", sampler.sample)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sampler, name)


def instrument_engine(engine: Engine, clock: Clock) -> None:
    engine.prefill = clock.timed("model", Engine.prefill.__get__(engine))  # type: ignore[method-assign]
    engine.decode_token = clock.timed("model", Engine.decode_token.__get__(engine))  # type: ignore[method-assign]
    make = Engine.token_sampler.__get__(engine)
    engine.token_sampler = lambda *a, **k: TimedSampler(make(*a, **k), clock)  # type: ignore[method-assign]


def instrument_session(session: Session, clock: Clock) -> None:
    for name, tool in list(session.tools.items()):  # the execution holds the same dict
        session.tools[name] = replace(tool, fn=clock.timed("tools", tool.fn))
    if session.checkpoints is not None:  # the same object the execution uses
        session.checkpoints.begin = clock.timed("checkpoints", session.checkpoints.begin)  # type: ignore[method-assign]
        session.checkpoints.end = clock.timed("checkpoints", session.checkpoints.end)  # type: ignore[method-assign]
    session.trajectory.write = clock.timed("trajectory", session.trajectory.write)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = load_engine()
    table = Table(title="agent overhead on the embedded model (seconds)")
    columns = ("task", "run", "checker", "steps", "wall", *PARTS, "loop", "wall/(model+tools)", "records' ratio")
    for column in columns:
        table.add_column(column)
    totals = dict.fromkeys(("wall", *PARTS, "loop", "gen", "tool"), 0.0)
    clock = Clock()
    instrument_engine(engine, clock)
    for task, check in TASKS:
        for run in range(args.rounds):
            clock.seconds = dict.fromkeys(PARTS, 0.0)
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                make_repo(root)
                engine.reset()
                config = load_config(root)
                session = open_session(engine, root, config.agent, config.sampling, mode="neutral", record=True)
                instrument_session(session, clock)
                summary = session.run(task)
                passed = summary.status == "finished" and check(root)
            parts = dict(clock.seconds)
            loop = summary.wall_seconds - sum(parts.values())
            row = {"wall": summary.wall_seconds, **parts, "loop": loop}
            row |= {"gen": summary.generate_seconds, "tool": summary.tool_seconds}
            totals = {key: totals[key] + row[key] for key in totals}
            table.add_row(task[:32], str(run), "pass" if passed else "FAIL", str(summary.steps), *cells(row))
    table.add_row("total", "", "", "", *cells(totals))
    console.print(table)
    wall = totals["wall"]
    shares = ", ".join(f"{part} {totals[part] / wall:.1%}" for part in (*PARTS, "loop"))
    console.print(f"share of wall time: {shares}")
    console.print(
        f"the step records alone: generation {totals['gen']:.2f} s (model {totals['model']:.2f} s + per-token and "
        f"prompt work), tools {totals['tool']:.2f} s (tools {totals['tools']:.2f} s + checkpoints "
        f"{totals['checkpoints']:.2f} s + diffs and checks)"
    )


def cells(row: dict[str, float]) -> list[str]:
    busy = row["model"] + row["tools"]
    records = row["gen"] + row["tool"]
    return [
        *(f"{row[key]:.2f}" for key in ("wall", *PARTS, "loop")),
        f"{row['wall'] / busy:.3f}" if busy else "-",
        f"{row['wall'] / records:.3f}" if records else "-",
    ]


if __name__ == "__main__":
    main()
