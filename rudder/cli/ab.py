"""`rudder ab run` / `rudder ab report`: A/B experiments of modes on task suites (Inspect AI logs).

Everything heavy (inspect_ai, llama.cpp, matplotlib) is imported inside the commands, so `rudder --help`
stays fast.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from rudder.cli.options import fail, finite, warn

app = typer.Typer(
    help="A/B experiments: suite × arms (modes) × epochs, then paired statistics.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.command("run")
def run_cmd(
    suite: Annotated[str, typer.Option("--suite", help="suite folder (suites/starter) or adapter (humaneval)")],
    arms: Annotated[
        str, typer.Option("--arms", help="comma-separated modes, e.g. neutral,fast-draft,fast-draft/prompt-only")
    ] = "neutral",
    out: Annotated[str, typer.Option("--out", help="log dir (a folder or any fsspec URL)")] = "ab-logs",
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="ids (a,b), a range (0-19) or sample:N[:SEED], within --split")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="train, dev or test: only the tasks whose task.toml records that split (suites/micro has all "
            "three: tune on train/dev, judge on test)",
        ),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="runs of every (task, arm)")] = 1,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="worker processes (one engine each)")] = 1,
    backend: Annotated[str, typer.Option("--backend", help="local or ray")] = "local",
    seed: Annotated[
        int, typer.Option("--seed", help="sampling seed of epoch 1; epoch k samples with SEED + k - 1")
    ] = 0,
    temperature: Annotated[
        float, typer.Option("--temperature", "-t", min=0.0, callback=finite, help="0 = greedy")
    ] = 0.0,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="GGUF model [default: embedded]")] = None,
    timeout: Annotated[
        float, typer.Option("--sample-timeout", help="seconds before a sample counts as an infrastructure failure")
    ] = 900.0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="cap every task's agent steps")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="write the report when done")] = True,
    record_activations: Annotated[
        str | None,
        typer.Option(
            "--record-activations",
            help="LAYERS (e.g. 14 or 10,14,18): each step's residual, in OUT/activations/ARM/TASK.eN.activations.npz",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="CPU threads shared by the workers [default: all cores but one, or $RUDDER_THREADS]",
        ),
    ] = None,
) -> None:
    """Run every (task, arm, epoch) once; re-running the same command resumes and skips finished samples.

    Example: rudder ab run --suite suites/micro --split test --arms neutral,fast-draft --epochs 3 -t 0.7 \\
    --jobs 2 --out ab/
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from rudder.ab.adapters import resolve_suite
    from rudder.ab.runner import RunOptions, run_ab
    from rudder.ab.suite import SuiteError, select_tasks
    from rudder.modes.registry import ModeError, get_mode

    if record_activations is not None:
        from rudder.vectors.extraction.recording import RecordingError, parse_layers_arg

        try:
            parse_layers_arg(record_activations, 1 << 16)  # the syntax now; the model's range in the worker
        except RecordingError as exc:
            raise fail(str(exc)) from None
    if threads is not None:
        os.environ["RUDDER_THREADS"] = str(threads)  # the budget threads_per_worker splits among the workers
    if backend not in ("local", "ray"):
        raise fail(f"--backend {backend!r}: expected local or ray")
    arm_list = [a.strip() for a in arms.split(",") if a.strip()]
    if len(set(arm_list)) != len(arm_list) or not arm_list:
        raise fail(f"--arms {arms!r}: give distinct mode names")
    try:
        for arm in arm_list:
            get_mode(arm)
        chosen = select_tasks(resolve_suite(suite), tasks, split)
    except (SuiteError, ModeError) as exc:
        raise fail(str(exc)) from None
    opts = RunOptions(
        suite=suite,
        arms=arm_list,
        tasks=tasks,
        split=split,
        epochs=epochs,
        jobs=jobs,
        backend=backend,
        out=out,
        seed=seed,
        temperature=temperature,
        model=str(model) if model else None,
        sample_timeout=timeout,
        max_steps=max_steps,
        record_layers=record_activations,
    )
    if backend == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[infra]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        job = bar.add_task(f"{chosen.name} × {len(arm_list)} arms", total=None, infra="")

        started = time.monotonic()

        def progress(done: int, total: int, infra: int) -> None:
            bar.update(job, completed=done, total=total, infra=f"{infra} infra" if infra else "")
            if not console.is_terminal:  # no live bar in a log file: one line per sample instead
                remaining = bar.tasks[0].time_remaining
                eta = f"{remaining / 60:.1f} min" if remaining is not None else "?"
                console.print(f"{done}/{total} samples, {infra} infra, {time.monotonic() - started:.0f} s, ETA {eta}")

        try:
            counts = run_ab(opts, chosen, progress)
        except SuiteError as exc:
            raise fail(str(exc)) from None
    if counts.get("stale_removed"):
        console.print(f"removed {counts['stale_removed']} temporary sample repos a killed run left behind")
    console.print(
        f"{counts['finished']}/{counts['total']} samples judged, {counts['infra']} infrastructure "
        f"failures; logs in {out} (inspect view --log-dir {out})"
    )
    if report:
        report_cmd(out)


@app.command("report")
def report_cmd(
    log_dir: Annotated[str, typer.Argument(help="the --out of `rudder ab run`")],
    baseline: Annotated[str | None, typer.Option("--baseline", help="arm to compare against [default: first]")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for report.md, report.html and plots [default: LOG_DIR/report]")
    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=100, help="bootstrap resamples")] = 10_000,
) -> None:
    """Pass rates with CIs, paired comparisons against a baseline (McNemar, bootstrap, Holm), a verdict."""
    from rudder.ab.report import ReportError, write_report

    target = out or Path(log_dir) / "report"
    try:
        paths = write_report(log_dir, target, baseline=baseline, n_boot=bootstrap, warn=warn)
    except ReportError as exc:
        raise fail(str(exc)) from None
    for path in paths:
        typer.echo(str(path))
