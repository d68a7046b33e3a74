"""`rudder vectors build`: the steering library for the loaded model, from the recipes, in one command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rudder.cli import say
from rudder.cli.options import ModelOpt, ThreadsOpt, VerboseOpt, fail
from rudder.cli.vector_options import engine_for
from rudder.vectors.meta import VectorError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from rudder.vectors.build.pipeline import Built

console = Console()
_STYLE = {"strong": "green", "ok": "yellow", "weak": "bold red"}


def _names(only: str | None) -> list[str] | None:
    if only is None:
        return None
    names = [part.strip() for part in only.split(",") if part.strip()]
    if not names:
        raise fail("--only: empty; name recipes such as terse,careful, or leave the option out for all")
    return names


def _magnitudes(spec: str | None) -> tuple[float, ...] | None:
    if spec is None:
        return None
    try:
        values = tuple(float(part) for part in spec.split(",") if part.strip())
    except ValueError:
        raise fail(f"--scales: expected comma-separated numbers such as 0.04,0.08, got {spec!r}") from None
    if not values or any(not v > 0 for v in values):
        raise fail("--scales: give positive magnitudes")
    return values


class StageBars:
    """One rich progress bar per (recipe, stage), with elapsed time and ETA; on a pipe or in a log, one line
    per finished stage instead."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.finished: set[tuple[str, str]] = set()
        self.progress: Progress | None = None
        self.started: dict[tuple[str, str], float] = {}

    def __enter__(self) -> StageBars:
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), "eta", TimeRemainingColumn(), console=self.console,
            )  # fmt: skip
            self.progress.start()
        return self

    def __call__(self, recipe: str, stage: str, done: int, total: int) -> None:
        key = (recipe, stage)
        self.started.setdefault(key, time.perf_counter())
        if self.progress is not None:
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(f"{recipe}: {stage}", total=max(total, 1))
            self.progress.update(self.tasks[key], completed=done, total=max(total, 1))
        if done >= total and key not in self.finished:
            self.finished.add(key)
            if self.progress is None:
                seconds = time.perf_counter() - self.started[key]
                self.console.print(Text(f"{recipe}: {stage} done ({seconds:.1f} s)"), highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def build_cmd(
    only: Annotated[str | None, typer.Option("--only", help="recipes, e.g. terse,careful [default: all]")] = None,
    scales: Annotated[
        str | None, typer.Option(help="magnitudes calibration sweeps, e.g. 0.04,0.08 [default: each recipe's]")
    ] = None,
    prompts: Annotated[int | None, typer.Option(min=1, help="use only the first N calibration prompts")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=8, help="tokens per calibration answer")] = None,
    pairs: Annotated[int | None, typer.Option(min=5, help="use only the first N dataset pairs")] = None,
    permutations: Annotated[int, typer.Option(min=10, help="label permutations for the health check's null")] = 1000,
    search_layers: Annotated[
        bool, typer.Option("--search-layers/--no-search-layers", help="weak at the recipe's layers: try the check's")
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="rebuild vectors the library already has")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="library folder [default: yours, for this model]")
    ] = None,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Build the steering library for the model: dataset, extract, check, calibrate, card; resumable."""
    from rudder.engine.engine import EngineError
    from rudder.vectors.build.pipeline import BuildOptions, build_library
    from rudder.vectors.build.recipes import load_recipes

    try:
        recipes = load_recipes(_names(only))  # an unknown name or a missing dataset: before the model loads
    except VectorError as exc:
        raise fail(str(exc)) from None
    options = BuildOptions(
        scales=_magnitudes(scales), prompts=prompts, max_tokens=max_tokens, pairs=pairs,
        permutations=permutations, search_layers=search_layers, force=force,
    )  # fmt: skip
    engine = engine_for(model, threads=threads, verbose=verbose)
    from rudder.vectors.files.library import model_library_dir

    target = output or model_library_dir(engine.info.identity)
    console.print(
        Text(f"building {', '.join(r.name for r in recipes)} for {engine.info.name} ({engine.info.n_layer} layers) "
             f"into {target}"), highlight=False,
    )  # fmt: skip
    try:
        with StageBars(console) as bars:
            built = build_library(engine, recipes, target, bars, options, note=say.note)
    except KeyboardInterrupt:
        say.note("interrupted: the finished stages are kept; run the same command to continue")
        raise typer.Exit(130) from None
    except (VectorError, EngineError, ValueError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()
    print_build_table(built)


def print_build_table(built: list[Built]) -> None:
    """The library table: health, calibrated scale and layers, effect vs unsteered and vs prompt-only, intact."""
    table = Table(
        "vector", "health", "layers", "scale", "effect (steered vs unsteered)", "prompt-only", "intact",
        "time", title="steering library for this model",
    )  # fmt: skip
    for item in built:
        card = item.card
        calibration, health, report = card.calibration, card.health, card.build
        if calibration is None or health is None or report is None:
            continue
        base = calibration.rows[0]
        chosen = next((r for r in calibration.rows if r.scale == calibration.scale), base)
        metric = calibration.metric
        effect = (
            f"{metric} {base.effect:.2f} → {chosen.effect:.2f} ({chosen.change:+.0%})"
            if calibration.scale
            else f"no safe scale ({metric} {base.effect:.2f} unsteered)"
        )
        asked = report.prompt_only
        prompt_only = f"{asked.effect:.2f} ({asked.change:+.0%})" if asked is not None else "—"
        intact = f"{base.answers - base.damaged}/{base.answers} → {chosen.answers - chosen.damaged}/{chosen.answers}"
        if asked is not None:
            intact += f" (asked {asked.answers - asked.damaged}/{asked.answers})"
        layers = calibration.layers + (" (check's)" if report.layers_searched else "")
        seconds = (
            "up to date"
            if item.skipped
            else f"{sum(report.seconds.values()):.0f} s ({sum(report.cpu_seconds.values()):.0f} s CPU)"
        )
        table.add_row(
            item.name, Text(health.verdict, _STYLE[health.verdict]), layers, f"{calibration.scale:+g}", effect,
            prompt_only, intact, seconds,
        )  # fmt: skip
    console.print(table)
    if built:
        console.print(Text(f"library: {built[0].path.parent}", style="dim"), highlight=False)
