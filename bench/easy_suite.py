"""Run a task suite (suites/easy format) with the real model, per mode and twin, and print pass rates.

Each task runs in a fresh temp git repo (fixture copied, committed), greedy, headless, with the task's
max_steps and timeout; then its `check` runs in that repo (exit 0 = pass). The table also counts
destructive overwrites: a write_file that replaced an existing file the run had not read.

    python bench/easy_suite.py [suites/easy] [--arms neutral,fast-draft] [--tasks a,b] [--out results.jsonl]

Shared machine: set RUDDER_THREADS=1; a full run (14 tasks x 7 arms) takes tens of minutes. On a loaded
machine RUDDER_TIMEOUT_SCALE=3 stretches the task timeouts (say so beside the numbers); --keep DIR keeps each
run's trajectory for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import git

from rudder.agent.factory import open_session
from rudder.agent.records import read_trajectory
from rudder.config import load_config
from rudder.engine.engine import Engine, EngineConfig

ARMS = [
    "neutral",
    "fast-draft",
    "fast-draft/prompt-only",
    "fast-draft/vector-only",
    "careful-review",
    "careful-review/prompt-only",
    "careful-review/vector-only",
]


def load_suite(folder: Path) -> list[tuple[str, dict[str, Any], Path]]:
    tasks = []
    for task_file in sorted(folder.glob("*/task.toml")):
        spec = tomllib.loads(task_file.read_text(encoding="utf-8"))
        tasks.append((task_file.parent.name, spec, task_file.parent / "repo"))
    if not tasks:
        raise SystemExit(f"{folder}: no */task.toml found")
    return tasks


def make_repo(fixture: Path, root: Path) -> None:
    shutil.copytree(fixture, root, dirs_exist_ok=True)
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "suite").set_value("user", "email", "suite@example.com")
    repo.git.add(A=True)
    repo.index.commit("fixture")


def destructive_writes(steps: list[dict[str, Any]], fixture_files: set[str]) -> list[str]:
    """write_file calls that changed a pre-existing file which no earlier step of the run had read."""
    read: set[str] = set()
    found = []
    for step in steps:
        args = step.get("arguments") or {}
        path = str(args.get("path", "")).removeprefix("./")
        if step.get("tool") == "read_file" and step.get("ok"):
            read.add(path)
        written = step.get("tool") == "write_file" and step.get("ok") and step.get("diff")
        if written and path in fixture_files and path not in read:
            found.append(path)
    return found


def run_task(
    engine: Engine, arm: str, task_id: str, spec: dict[str, Any], fixture: Path, keep: Path | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rudder-suite-") as tmp:
        root = Path(tmp)
        make_repo(fixture, root)
        config = load_config(root)
        agent = config.agent.model_copy(update={"max_steps": int(spec.get("max_steps", 12)), "mode": arm})
        sampling = config.sampling.model_copy(update={"temperature": 0.0})
        engine.reset()
        session = open_session(engine, root, agent, sampling, mode=arm)
        timer = threading.Timer(float(spec.get("timeout", 120)) * timeout_scale(), session.interrupt)
        timer.start()
        try:
            summary = session.run(spec["instruction"])
        finally:
            timer.cancel()
        check = subprocess.run(["bash", "-c", spec["check"]], cwd=root, capture_output=True, text=True, timeout=60)
        records = read_trajectory(session.trajectory.path) if session.trajectory.path else []
        if keep is not None and session.trajectory.path:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(session.trajectory.path, keep / f"{arm.replace('/', '_')}-{task_id}.jsonl")
        steps = [r for r in records if r.get("type") == "step"]
        fixture_files = {str(p.relative_to(fixture)) for p in fixture.rglob("*") if p.is_file()}
        return {
            "arm": arm,
            "status": summary.status,
            "passed": check.returncode == 0,
            "steps": summary.steps,
            "tokens": summary.tokens,
            "wall_seconds": round(summary.wall_seconds, 2),
            "destructive": destructive_writes(steps, fixture_files),
            "steered_steps": sum(1 for s in steps if any(s.get("steering", {}).values())),
            "tools": [s.get("tool") for s in steps],
        }


def timeout_scale() -> float:
    """RUDDER_TIMEOUT_SCALE stretches task timeouts on a loaded machine (say so beside the numbers)."""
    return float(os.environ.get("RUDDER_TIMEOUT_SCALE", "1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", nargs="?", default=str(Path(__file__).parent.parent / "suites" / "easy"))
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--tasks", default="", help="comma-separated task ids (default: all)")
    parser.add_argument("--out", default="", help="append one JSON line per run here")
    parser.add_argument("--keep", default="", help="copy each run's trajectory into this folder")
    parser.add_argument("--model", default="", help="a GGUF file instead of the embedded model")
    args = parser.parse_args()
    tasks = load_suite(Path(args.suite))
    if args.tasks:
        wanted = set(args.tasks.split(","))
        tasks = [t for t in tasks if t[0] in wanted]
    arms = [a for a in args.arms.split(",") if a]
    model = args.model or "embedded model"
    print(f"shared machine; {len(tasks)} tasks x {len(arms)} arms, greedy, {model}", flush=True)
    engine = Engine(EngineConfig(model_path=args.model or None))
    totals: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    started = time.perf_counter()
    for arm in arms:
        for task_id, spec, fixture in tasks:
            keep = Path(args.keep) if args.keep else None
            result = {"task": task_id, **run_task(engine, arm, task_id, spec, fixture, keep)}
            totals[arm].append(result)
            mark = "pass" if result["passed"] else "FAIL"
            bad = f" DESTRUCTIVE {result['destructive']}" if result["destructive"] else ""
            print(
                f"{arm:28} {task_id:18} {mark} {result['status']:10} steps={result['steps']:2} "
                f"steered={result['steered_steps']:2} {result['wall_seconds']:6.1f}s {result['tools']}{bad}",
                flush=True,
            )
            if args.out:
                with open(args.out, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(result) + "\n")
    print(f"\n{'arm':28} {'pass':>7} {'finished':>9} {'destructive':>12} {'steered steps':>14}")
    for arm, results in totals.items():
        passed = sum(r["passed"] for r in results)
        finished = sum(r["status"] == "finished" for r in results)
        destructive = sum(bool(r["destructive"]) for r in results)
        steered = sum(r["steered_steps"] for r in results)
        steps = sum(r["steps"] for r in results)
        print(f"{arm:28} {passed:>3}/{len(results):<3} {finished:>9} {destructive:>12} {steered:>6}/{steps:<7}")
    print(f"total wall {time.perf_counter() - started:.0f} s", file=sys.stderr)
    engine.close()


if __name__ == "__main__":
    main()
