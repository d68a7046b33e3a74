"""From rows to numbers: per-arm pass rates, paired comparisons against the baseline, verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean

from rudder.ab.results import Results, Row
from rudder.ab.stats import BootstrapCI, holm, mcnemar_exact, mde_paired, mde_pass_rate, paired_bootstrap, pass_rate_ci

METRICS = {  # name in the score metadata -> label, and what "lower" means
    "words_per_message": "words per message",
    "steps": "steps",
    "tool_errors": "tool errors",
}
SIGNIFICANCE = 0.05
MIN_TASKS_FOR_BEHAVIOUR = 6  # below this a bootstrap CI over tasks is too coarse to claim anything


@dataclass
class ArmSummary:
    arm: str
    judged: int
    passed: int
    infra: int
    ci: tuple[float, float]
    means: dict[str, float | None]

    @property
    def rate(self) -> float:
        return self.passed / self.judged if self.judged else 0.0


@dataclass
class Comparison:
    arm: str
    pairs: int
    tasks: int
    b: int
    c: int
    p_value: float
    p_holm: float = 1.0
    delta: float = 0.0  # pass rate arm - baseline over the pairs
    mde: float = float("inf")
    metrics: dict[str, BootstrapCI] = field(default_factory=dict)
    metric_mde: dict[str, float] = field(default_factory=dict)
    verdict: str = ""


@dataclass
class Analysis:
    suite: str
    baseline: str
    arms: list[ArmSummary]
    comparisons: list[Comparison]
    tasks: list[str]
    epochs: int
    grid: dict[tuple[str, str], list[str]]  # (arm, task) -> outcomes per epoch
    infra_errors: list[Row]
    run: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    pending: int = 0  # samples the stopped run has not judged yet
    incomplete: str = ""  # "n of N samples" when the run was interrupted, else empty


def _metric(row: Row, name: str) -> float | None:
    value = row.metrics.get(name)
    return float(value) if isinstance(value, int | float) else None


def summarize_arm(arm: str, rows: list[Row]) -> ArmSummary:
    judged = [r for r in rows if r.outcome != "infra"]
    passed = sum(r.outcome == "pass" for r in judged)
    means = {}
    for name in METRICS:
        values = [v for r in judged if (v := _metric(r, name)) is not None]
        means[name] = mean(values) if values else None
    return ArmSummary(arm, len(judged), passed, len(rows) - len(judged), pass_rate_ci(passed, len(judged)), means)


def compare(base_rows: list[Row], arm_rows: list[Row], arm: str, n_boot: int) -> Comparison:
    """Pairs are (task, epoch) judged in both arms; bootstrap units are tasks."""
    base = {(r.task, r.epoch): r for r in base_rows if r.outcome != "infra"}
    other = {(r.task, r.epoch): r for r in arm_rows if r.outcome != "infra"}
    keys = sorted(base.keys() & other.keys())
    b_pass = [base[k].outcome == "pass" for k in keys]
    a_pass = [other[k].outcome == "pass" for k in keys]
    test = mcnemar_exact(b_pass, a_pass)
    tasks = sorted({k[0] for k in keys})
    comp = Comparison(arm, len(keys), len(tasks), test.b, test.c, test.p_value)
    if keys:
        comp.delta = (sum(a_pass) - sum(b_pass)) / len(keys)
        comp.mde = mde_pass_rate(b_pass, a_pass)
    for name in METRICS:
        units: list[list[float]] = []
        flat: list[float] = []
        for task in tasks:
            diffs = []
            for key in (k for k in keys if k[0] == task):
                x, y = _metric(base[key], name), _metric(other[key], name)
                if x is not None and y is not None:
                    diffs.append(y - x)
            if diffs:
                units.append(diffs)
                flat.append(mean(diffs))
        comp.metrics[name] = paired_bootstrap(units, n_boot=n_boot)
        comp.metric_mde[name] = mde_paired(flat)
    return comp


def _pp(x: float) -> str:
    return f"{x * 100:+.0f} pp"


def verdict(comp: Comparison, baseline: str) -> str:
    if comp.pairs == 0:
        return f"{comp.arm}: no pairs judged in both arms; nothing can be said."
    if comp.p_holm < SIGNIFICANCE:
        direction = "passes more tasks" if comp.delta > 0 else "passes fewer tasks"
        head = f"{comp.arm} {direction} than {baseline} ({_pp(comp.delta)}, Holm-adjusted p = {comp.p_holm:.3g})."
    else:
        reach = (
            f"only a difference of about {comp.mde * 100:.0f} pp or more would likely have been detected"
            if comp.mde < 1
            else "even the largest possible difference might have gone undetected"
        )
        head = (
            f"{comp.arm} vs {baseline}: no detectable difference in pass rate ({_pp(comp.delta)}, "
            f"Holm-adjusted p = {comp.p_holm:.2g}); at n = {comp.pairs} pairs {reach}."
        )
    if comp.tasks < MIN_TASKS_FOR_BEHAVIOUR:
        return head + f" Too few tasks ({comp.tasks}) for claims about behaviour metrics."
    effects = []
    for name, ci in comp.metrics.items():
        if ci.low > 0 or ci.high < 0:
            word = "more" if ci.mean > 0 else "fewer"
            effects.append(f"{word} {METRICS[name]} ({ci.mean:+.2f}, 95% CI {ci.low:+.2f} to {ci.high:+.2f})")
    if effects:
        head += " Behaviour: " + "; ".join(effects) + " (bootstrap CIs, not multiplicity-corrected)."
    else:
        head += " No detectable difference in words per message, steps or tool errors."
    return head


def analyze(results: Results, baseline: str | None = None, n_boot: int = 10_000) -> Analysis:
    arms = results.arms
    if not arms:
        raise ValueError("no arms in the logs")
    base = baseline or arms[0]
    if base not in arms:
        raise ValueError(f"--baseline {base!r}: the logs hold arms {', '.join(arms)}")
    summaries = [summarize_arm(a, results.by_arm(a)) for a in arms]
    comps = [compare(results.by_arm(base), results.by_arm(a), a, n_boot) for a in arms if a != base]
    for comp, adjusted in zip(comps, holm([c.p_value for c in comps]), strict=True):
        comp.p_holm = adjusted
        comp.verdict = verdict(comp, base)
    tasks = sorted({r.task for r in results.rows}, key=_natural)
    grid: dict[tuple[str, str], list[str]] = {}
    for row in sorted(results.rows, key=lambda r: r.epoch):
        grid.setdefault((row.arm, row.task), []).append(row.outcome)
    epochs = max((r.epoch for r in results.rows), default=0)
    manifest = next(iter(results.manifests.values()), {})
    return Analysis(
        results.suite,
        base,
        summaries,
        comps,
        tasks,
        epochs,
        grid,
        results.infra(),
        results.run,
        manifest.get("model", {}),
        results.pending,
        results.progress() if results.incomplete else "",
    )


def _natural(text: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
