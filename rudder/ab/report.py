"""`rudder ab report DIR`: report.md + a self-contained report.html (plots embedded as PNG) + the PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path

from rudder.ab.analysis import METRICS, Analysis, analyze
from rudder.ab.provenance import describe_machine
from rudder.ab.results import load_results


class ReportError(ValueError):
    """The log dir holds nothing to report on; the message says what was expected."""


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _mde(mde: float) -> str:
    return f"±{mde * 100:.0f} pp" if mde < 1 else "> 100 pp"


def _plots(a: Analysis) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}

    def save(fig, name: str) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()

    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(a.arms)))
    for i, s in enumerate(a.arms):
        lo, hi = s.ci
        ax.errorbar(
            [s.rate],
            [i],
            xerr=[[s.rate - lo], [hi - s.rate]],
            fmt="o",
            capsize=4,
            color="black" if s.arm == a.baseline else "tab:blue",
        )
    ax.set_yticks(range(len(a.arms)), [s.arm for s in a.arms])
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("pass rate (95% Wilson CI)")
    ax.set_title(f"{a.suite}: pass rate per arm")
    save(fig, "pass_rate.png")

    if a.comparisons:
        names = list(METRICS)
        fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.2 * (len(names) + 1), 0.6 + 0.45 * len(a.comparisons)))
        labels = [c.arm for c in a.comparisons]
        ax = axes[0]
        ax.barh(range(len(labels)), [c.delta * 100 for c in a.comparisons], color="tab:blue")
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_title("Δ pass rate (pp)")
        for ax, name in zip(axes[1:], names, strict=True):
            for i, c in enumerate(a.comparisons):
                ci = c.metrics[name]
                if ci.n:
                    ax.errorbar([ci.mean], [i], xerr=[[ci.mean - ci.low], [ci.high - ci.mean]], fmt="o", capsize=4)
            ax.axvline(0, color="grey", lw=1)
            ax.set_yticks(range(len(labels)), [""] * len(labels))
            ax.invert_yaxis()
            ax.set_title(f"Δ {METRICS[name]}")
        fig.text(0.01, 1.0, f"arm − {a.baseline}, paired; 95% bootstrap CIs", va="bottom", fontsize=9)
        save(fig, "paired.png")

    colors = {"pass": (0.2, 0.65, 0.3), "fail": (0.85, 0.3, 0.25), "infra": (0.6, 0.6, 0.6)}
    fig, ax = plt.subplots(figsize=(max(5, 0.28 * len(a.tasks) + 2), 0.6 + 0.4 * len(a.arms)))
    for i, s in enumerate(a.arms):
        for j, task in enumerate(a.tasks):
            outcomes = a.grid.get((s.arm, task), [])
            for k, outcome in enumerate(outcomes):
                w = 1 / max(1, len(outcomes))
                ax.add_patch(plt.Rectangle((j + k * w, i), w * 0.95, 0.9, color=colors[outcome]))
    ax.set_xlim(0, len(a.tasks))
    ax.set_ylim(len(a.arms), 0)
    ax.set_yticks([i + 0.45 for i in range(len(a.arms))], [s.arm for s in a.arms])
    ax.set_xticks([j + 0.5 for j in range(len(a.tasks))], a.tasks, rotation=90, fontsize=7)
    ax.set_title("per task (green pass, red fail, grey infra; one cell per epoch)")
    save(fig, "tasks.png")
    return out


def markdown(a: Analysis, plots: list[str]) -> str:
    lines = [f"# A/B report: {a.suite}", ""]
    lines += [
        f"Baseline arm: **{a.baseline}**. Tasks: {len(a.tasks)}, epochs: {a.epochs}. "
        "Infrastructure failures (crashes, timeouts) are counted apart and left out of every test.",
        "",
    ]
    if a.pending or a.incomplete:
        why = (
            f"{a.pending} sample(s) are not judged yet (the run was stopped before they finished)"
            if a.pending
            else "the run was killed (or is still running) before every sample was run"
        )
        lines += [
            f"**Incomplete**: {why}; {a.incomplete or 'not every sample is'} done. Every number below is over "
            "the judged samples only. `rudder ab run` with the same arguments and --out resumes the run.",
            "",
        ]
    r, m = a.run, a.model
    if r or m:
        lines += [
            f"Run: model {m.get('name', '?')} (sha256 {str(m.get('sha256'))[:12]}), temperature "
            f"{r.get('temperature')}, seed {r.get('seed')}, max steps {r.get('max_steps') or 'per task'}, "
            f"tasks {r.get('tasks') or 'all'}, backend {r.get('backend')} with {r.get('jobs')} worker(s) × "
            f"{r.get('threads_per_worker')} thread(s), rudder {r.get('rudder_version')}"
            + (f", split {r['split']}" if r.get("split") else "")
            + ".",
            "",
            f"Made with: commit {r.get('commit') or 'not recorded'}; machine {describe_machine(r.get('machine'))}; "
            f"started {r.get('started') or 'not recorded'}.",
            "",
        ]
    lines += ["## Verdict", ""] + [f"- {c.verdict}" for c in a.comparisons] + [""]
    if not a.comparisons:
        lines += ["- Only one arm: nothing to compare.", ""]
    lines += [
        "## Pass rate per arm",
        "",
        "| arm | passed / judged | pass rate | 95% CI (Wilson) | infra failures | "
        + " | ".join(f"mean {v}" for v in METRICS.values())
        + " |",
        "|---|---|---|---|---|" + "---|" * len(METRICS),
    ]
    for s in a.arms:
        means = " | ".join(_fmt(s.means[m]) for m in METRICS)
        lines.append(
            f"| {s.arm} | {s.passed}/{s.judged} | {s.rate:.0%} | {s.ci[0]:.0%}–{s.ci[1]:.0%} | {s.infra} | {means} |"
        )
    lines += [
        "",
        f"## Paired comparison vs {a.baseline}",
        "",
        "Pass/fail: exact McNemar on the discordant (task, epoch) pairs (b = only baseline passed, c = only the "
        "arm passed), Holm-corrected across arms. Continuous metrics: mean paired difference (arm − baseline) "
        "with a 95% bootstrap CI resampling tasks. MDE: the smallest difference this n would detect with "
        "power 0.8 at α = 0.05.",
        "",
        "| arm | pairs | b | c | Δ pass rate | p (exact) | p (Holm) | MDE | "
        + " | ".join(f"Δ {v} [95% CI]" for v in METRICS.values())
        + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(METRICS),
    ]
    for c in a.comparisons:
        cells = []
        for m in METRICS:
            ci = c.metrics[m]
            cells.append("—" if ci.n == 0 else f"{ci.mean:+.2f} [{ci.low:+.2f}, {ci.high:+.2f}]")
        lines.append(
            f"| {c.arm} | {c.pairs} | {c.b} | {c.c} | {c.delta * 100:+.0f} pp | {c.p_value:.3g} | "
            f"{c.p_holm:.3g} | {_mde(c.mde)} | " + " | ".join(cells) + " |"
        )
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    lines += ["## Per task", "", "| task | " + " | ".join(s.arm for s in a.arms) + " |", "|---|" + "---|" * len(a.arms)]
    marks = {"pass": "✓", "fail": "✗", "infra": "⚠"}
    for task in a.tasks:
        cells = ["".join(marks[o] for o in a.grid.get((s.arm, task), [])) or "·" for s in a.arms]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if a.infra_errors:
        lines += ["", "## Infrastructure failures", ""]
        lines += [f"- {r.arm} / {r.task} / epoch {r.epoch}: {r.error}" for r in a.infra_errors[:50]]
    return "\n".join(lines) + "\n"


def to_html(md_text: str, title: str, images: dict[str, bytes]) -> str:
    """A small Markdown subset (headings, lists, tables, images) to one self-contained page."""
    body: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            head, *rest = table
            rows = [r for r in rest if not all(set(c) <= set("-: ") for c in r)]
            body.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(c)}</th>" for c in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
            table.clear()

    for line in md_text.splitlines():
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("![") and "](" in line:
            name = line[line.index("](") + 2 : -1]
            data = base64.b64encode(images.get(name, b"")).decode()
            body.append(f'<p><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"></p>')
        elif line.startswith("- "):
            body.append(f"<ul><li>{html.escape(line[2:]).replace('**', '')}</li></ul>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush()
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:14px}"
        "th{background:#f3f3f3}img{max-width:100%}ul{margin:0.2em 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(
    log_dir: str,
    out: Path,
    baseline: str | None = None,
    n_boot: int = 10_000,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    try:
        results = load_results(log_dir)
    except FileNotFoundError:
        raise ReportError(f"{log_dir}: no such log dir (expected the --out of `rudder ab run`)") from None
    if not results.rows:
        raise ReportError(f"{log_dir}: no Inspect logs with samples (expected the --out of `rudder ab run`)")
    try:
        analysis = analyze(results, baseline, n_boot)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    images = _plots(analysis)
    out.mkdir(parents=True, exist_ok=True)
    md_text = markdown(analysis, list(images))
    if analysis.incomplete and warn is not None:
        warn(f"{log_dir}: the run is incomplete ({analysis.incomplete}); the report covers the samples done")
    paths = []
    for name, data in images.items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    (out / "report.md").write_text(md_text, encoding="utf-8")
    (out / "report.html").write_text(to_html(md_text, f"A/B report: {analysis.suite}", images), encoding="utf-8")
    return [out / "report.md", out / "report.html", *paths]
