"""`rudder modes ...`: list, show and check modes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rudder.cli.display import plain
from rudder.cli.options import ModelOpt, RepoOpt, fail, warn_mode_problems
from rudder.cli.views import list_modes
from rudder.engine.generation import Sampling
from rudder.interfaces import Phase, StepKind
from rudder.modes.registry import ModeError, get_mode, load_mode_file, scan_modes

app = typer.Typer(
    help="List, show and check modes (bundles of steering, sampling and prompt).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()


@app.command("list")
def list_cmd(
    repo: RepoOpt = Path("."),
    twins: Annotated[bool, typer.Option(help="include the twins")] = False,
    model: ModelOpt = None,
) -> None:
    """Every mode available in this repo: built-in, user (~/.config/rudder/modes), repo (.rudder/modes), with
    which of its vectors the model (--model, config, embedded) has and their calibrated scales."""
    list_modes(Console(), repo, twins, model)  # as quick.py answers `rudder modes list`: the same width too


@app.command("show")
def show_cmd(name: Annotated[str, typer.Argument(help="mode name")], repo: RepoOpt = Path(".")) -> None:
    """What a mode does on each step kind: vectors and scales per phase, addendum, sampling, tool policy."""
    try:
        mode = get_mode(name, repo.resolve())
    except ModeError as exc:
        raise fail(str(exc)) from None
    warn_mode_problems(scan_modes(repo.resolve()).problems, except_name=name.split("/")[0])
    console.print(Text.assemble((mode.name, "bold"), f" ({mode.source or 'generated twin'}) - {mode.description}"))
    if mode.addendum:
        console.print(plain(f"addendum: {mode.addendum}"))
    table = Table("step", *(f"steering ({p})" for p in Phase), "sampling", "tools")
    for kind in StepKind:
        specs = mode.vectors_for(kind)
        steering = ", ".join(f"{s.vector} ×{s.scale:g} @{_span(s.layers)} {s.op or ''}".strip() for s in specs) or "-"
        sampling = mode.sampling_for(kind, Sampling())
        table.add_row(
            str(kind),
            plain(steering),
            plain(steering if mode.steers_tool_calls(kind) else "-"),
            f"t={sampling.temperature:g}",
            "read-only" if mode.read_only_for(kind) else "all",
        )
    console.print(table)


@app.command("check")
def check_cmd(path: Annotated[Path, typer.Argument(help="a mode TOML file")]) -> None:
    """Validate a mode file; prints each problem with its file:line and key."""
    try:
        mode = load_mode_file(path, _repo_of(path))
    except ModeError as exc:
        raise fail(str(exc)) from None
    from rudder.modes.check import check_mode_vectors  # loads the vector formats: only here

    problems = check_mode_vectors(mode, path.read_text(encoding="utf-8"), _repo_of(path))
    if problems:
        raise fail("\n".join(problems))
    console.print(
        plain(f"{path}: ok (mode {mode.name!r}, {len(mode.vectors)} vectors, {len(mode.steps)} step overrides)")
    )


def _repo_of(path: Path) -> Path | None:
    """The repository a mode file lives in (its .rudder/vectors is part of the library), if any."""
    from rudder.tools.base import ToolError
    from rudder.tools.gitops import find_repo_root

    try:
        return find_repo_root(path.resolve().parent)
    except ToolError:
        return None


def _span(layers: tuple[int, ...] | None) -> str:
    if not layers:
        return "all"
    if list(layers) == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}"
    return ",".join(map(str, layers))
