"""`rudder ab run`: suite × arms × epochs through Inspect's eval-set, with a progress bar and resume.

Inspect writes one `.eval` log per arm into the log dir (any fsspec URL), flushing every finished sample
(`log_buffer=1`): a `kill -9` loses only the samples in flight, and re-running the same command retries
the unfinished logs while reusing the samples they already hold (eval-set resume).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from rudder.ab.results import load_results
from rudder.ab.sample import remove_stale_sample_dirs
from rudder.ab.suite import Suite, SuiteError, suite_digest


class RunOptions(BaseModel):
    suite: str
    arms: list[str] = Field(min_length=1)
    tasks: str | None = None
    split: str | None = None
    epochs: int = Field(1, ge=1)
    jobs: int = Field(1, ge=1)
    backend: str = "local"
    out: str
    seed: int = 0
    temperature: float = 0.0
    model: str | None = None
    sample_timeout: float = 900.0
    max_steps: int | None = None
    record_layers: str | None = None  # --record-activations: saved under OUT/activations/ARM/


def _suite_arg(spec: str) -> str:
    return os.path.abspath(spec) if os.path.exists(spec) else spec


def run_ab(opts: RunOptions, suite: Suite, progress: Callable[[int, int, int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) the experiment; returns counts. progress(done, total, infra) after every sample."""
    from inspect_ai import eval_set

    from rudder import __version__
    from rudder.ab.evaltask import rudder_ab, set_pool
    from rudder.ab.pool import Pool, threads_per_worker
    from rudder.ab.provenance import provenance

    total = len(suite.tasks) * len(opts.arms) * opts.epochs
    digest = suite_digest(suite)
    before = load_results(opts.out) if _exists(opts.out) else None
    if before is not None and before.run.get("suite_digest") not in (None, digest):
        raise SuiteError(
            f"{opts.out}: its logs were made on other tasks than suite {suite.name!r} holds now (task digest "
            f"{before.run['suite_digest']}, now {digest}): resuming would mix the two; use a new --out"
        )
    recorded = _recorded_suite_arg(opts.out) if before is not None else None
    if recorded is not None and recorded != _suite_arg(opts.suite):
        # Inspect resumes only a task with the same arguments, and the suite's absolute path is one of them:
        # otherwise it refuses with "Existing log file ... is not associated with a task passed to eval_set"
        raise SuiteError(
            f"{opts.out}: its logs were made with --suite {recorded} (same tasks), and a resume must pass that "
            f"exact path; if that checkout is gone, a symlink at {recorded} to {_suite_arg(opts.suite)} will do"
        )
    done_before = len(before.finished()) if before is not None else 0
    counter = {"done": done_before, "infra": 0}

    def on_done(failed: bool) -> None:
        counter["done"] += 1
        counter["infra"] += failed
        if progress:
            progress(counter["done"], total, counter["infra"])

    if progress:
        progress(done_before, total, 0)
    stale = remove_stale_sample_dirs()  # what a killed run left in the temp dir (its workers never cleaned up)
    pool = Pool.create(opts.backend, opts.jobs, model=opts.model, timeout=opts.sample_timeout, on_done=on_done)
    set_pool(pool, opts.arms)
    suite_arg = _suite_arg(opts.suite)
    tasks = [
        rudder_ab(
            suite=suite_arg,
            arm=arm,
            tasks=opts.tasks,
            seed=opts.seed,
            temperature=opts.temperature,
            **({"max_steps": opts.max_steps} if opts.max_steps else {}),  # unchanged task args resume old logs
            **({"split": opts.split} if opts.split else {}),
            **(
                {"record": opts.record_layers, "record_dir": os.path.join(os.path.abspath(opts.out), "activations")}
                if opts.record_layers
                else {}
            ),
        )
        for arm in opts.arms
    ]
    try:
        ok, _logs = eval_set(
            tasks,
            log_dir=opts.out,
            model="none",
            display="none",
            epochs=opts.epochs,
            max_tasks=len(opts.arms),
            max_samples=max(1, len(suite.tasks) * opts.epochs),  # all queue at the pool, which orders them
            log_buffer=1,
            fail_on_error=False,
            retry_attempts=1,
            retry_wait=1,
            metadata={
                "rudder_version": __version__,
                "backend": opts.backend,
                "jobs": opts.jobs,
                "threads_per_worker": threads_per_worker(opts.jobs),
                "arms": opts.arms,
                "epochs": opts.epochs,
                "suite": suite.name,
                "tasks": opts.tasks,
                "split": opts.split,
                "suite_digest": digest,
                "seed": opts.seed,
                "temperature": opts.temperature,
                **provenance(),
            },
        )
    finally:
        set_pool(None, [])
        pool.close()
    results = load_results(opts.out)
    return {
        "ok": ok,
        "total": total,
        "finished": len(results.finished()),
        "infra": len(results.infra()),
        "stale_removed": len(stale),
    }


def _recorded_suite_arg(out: str) -> str | None:
    """The `suite` argument the log dir's eval set was made with, when it names one."""
    import json

    import fsspec

    try:
        with fsspec.open(f"{out.rstrip('/')}/eval-set.json", "r") as handle:
            tasks = json.load(handle).get("tasks", [])
    except (OSError, ValueError):
        return None
    suites = {str((t.get("task_args") or {}).get("suite")) for t in tasks}
    return suites.pop() if len(suites) == 1 else None


def _exists(out: str) -> bool:
    if "://" in out:
        return True
    return os.path.isdir(out)
