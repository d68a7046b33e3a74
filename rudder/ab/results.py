"""Read an experiment back from its Inspect logs: one `Row` per (arm, task, epoch).

A log dir may hold several logs for one arm (a run killed and resumed leaves the first, unfinished log
beside the retry). Rows are keyed by (arm, task, epoch): a judged sample wins over an errored one, and a
newer log over an older one, so nothing is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Outcome = str  # "pass" | "fail" | "infra"
STOPPED = "CancelledError"  # how Inspect records a sample that was in flight when the run was stopped


@dataclass
class Row:
    arm: str
    task: str
    epoch: int
    outcome: Outcome
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return self.arm, self.task, self.epoch


@dataclass
class Results:
    rows: list[Row]
    suite: str = ""
    arms: list[str] = field(default_factory=list)
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # arm -> one sample's manifest
    logs: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)  # the run's settings (eval metadata of the newest log)
    pending: int = 0  # samples not run yet: in flight when the run was stopped (resuming runs them)
    expected: dict[str, int] = field(default_factory=dict)  # arm -> samples its newest log was asked for
    unfinished: list[str] = field(default_factory=list)  # arms whose newest log did not end (killed, stopped)

    @property
    def incomplete(self) -> bool:
        """Fewer samples than the run asked for, or a log that never ended: the run was interrupted."""
        return bool(self.unfinished) or len(self.rows) < sum(self.expected.values())

    def progress(self) -> str:
        """`n of N samples` (N from the logs' own dataset size × epochs)."""
        return f"{len(self.rows)} of {sum(self.expected.values())} samples"

    def finished(self) -> list[Row]:
        return [r for r in self.rows if r.outcome != "infra"]

    def infra(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "infra"]

    def by_arm(self, arm: str) -> list[Row]:
        return [r for r in self.rows if r.arm == arm]


def _row(arm: str, sample: Any) -> Row:
    if sample.error is not None or not sample.scores:
        message = getattr(sample.error, "message", None) or "no score"
        return Row(arm, str(sample.id), sample.epoch, "infra", error=str(message).splitlines()[0][:300])
    score = next(iter(sample.scores.values()))
    metrics = dict(score.metadata or {})
    return Row(arm, str(sample.id), sample.epoch, "pass" if float(score.value) >= 1.0 else "fail", metrics)


def load_results(log_dir: str) -> Results:
    from inspect_ai.log import list_eval_logs, read_eval_log

    chosen: dict[tuple[str, str, int], tuple[int, Row]] = {}
    stopped: set[tuple[str, str, int]] = set()
    arms: list[str] = []
    suite = ""
    manifests: dict[str, dict[str, Any]] = {}
    run: dict[str, Any] = {}
    expected: dict[str, int] = {}
    status: dict[str, str] = {}
    infos = list_eval_logs(log_dir, descending=False)  # oldest first; a later log replaces an earlier one
    for rank, info in enumerate(infos):
        log = read_eval_log(info)
        meta = log.eval.metadata or {}
        arm = meta.get("arm") or (log.eval.task_args or {}).get("arm") or log.eval.task
        expected[arm] = (log.eval.dataset.samples or 0) * (log.eval.config.epochs or 1)
        status[arm] = log.status  # "started" while running, and for ever after a kill
        suite = suite or meta.get("suite", "")
        run = {
            k: meta.get(k)
            for k in (
                "backend",
                "jobs",
                "threads_per_worker",
                "epochs",
                "tasks",
                "split",
                "suite_digest",
                "seed",
                "temperature",
                "rudder_version",
                "commit",
                "machine",
                "started",
            )
        }
        run["max_steps"] = (log.eval.task_args or {}).get("max_steps")
        for name in [*meta.get("arms", []), arm]:  # the run's own arm order first
            if name not in arms:
                arms.append(name)
        for sample in log.samples or []:
            if sample.error is not None and str(sample.error.message).startswith(STOPPED):
                stopped.add((arm, str(sample.id), sample.epoch))
                continue
            row = _row(arm, sample)
            if arm not in manifests and sample.metadata.get("manifest"):
                manifests[arm] = sample.metadata["manifest"]
            old = chosen.get(row.key)
            if old is None or not (row.outcome == "infra" and old[1].outcome != "infra"):
                chosen[row.key] = (rank, row)
    arms = [a for a in arms if any(key[0] == a for key in chosen)]
    order = {arm: i for i, arm in enumerate(arms)}
    rows = sorted((r for _, r in chosen.values()), key=lambda r: (order[r.arm], r.task, r.epoch))
    pending = len(stopped - chosen.keys())
    unfinished = [arm for arm in arms if status.get(arm) != "success"]
    expected = {arm: expected[arm] for arm in arms}
    return Results(rows, suite, arms, manifests, [info.name for info in infos], run, pending, expected, unfinished)
