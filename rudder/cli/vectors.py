"""`rudder vectors ...`: extract, inspect, convert and try steering vectors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from rudder.cli.display import plain
from rudder.cli.lazy import lazy_group
from rudder.cli.options import (
    CtxOpt,
    MaxTokOpt,
    ModelOpt,
    ThreadsOpt,
    VerboseOpt,
    fail,
    finite,
    warn,
)
from rudder.cli.vector_options import LayersOpt, engine_for, layers_or
from rudder.cli.vectors_extract import extract_cmd
from rudder.cli.views import find_vector_file, show_vector
from rudder.vectors.kinds import ScaleMode, Scope, SteeringOp, VectorFormat
from rudder.vectors.meta import VectorError

if TYPE_CHECKING:  # llama.cpp, the tools and the vector machinery load only in the commands that use them
    pass


app = typer.Typer(
    cls=lazy_group(
        {
            "check": (
                "rudder.cli.vectors_trust:check_cmd",
                "Health check: pair consistency, held-out AUROC, permutation nulls, steering direction, best layers.",
            ),
            "calibrate": (
                "rudder.cli.vectors_trust:calibrate_cmd",
                "Sweep scales on held-out prompts; pick the largest before damage passes the threshold; plot it.",
            ),
            "build": (
                "rudder.cli.vectors_build:build_cmd",
                "Build the steering library for the model: dataset, extract, check, calibrate, card; resumable.",
            ),
            "gate": (
                "rudder.cli.vectors_runs:gate_cmd",
                "Calibrate a conditional-steering gate's threshold on recorded dev runs; written into the card.",
            ),
        }
    ),
    help="Extract, inspect, convert and try steering vectors.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
console = Console()
app.command("extract")(extract_cmd)  # first in `rudder vectors --help`, as before the split


VectorArg = Annotated[str, typer.Argument(metavar="VECTOR", help="a vector file (any format) or a library name")]


@app.command("show")
def show_cmd(vector_ref: VectorArg) -> None:
    """Print a vector's metadata and per-layer sizes."""
    try:
        # quick.py answers `rudder vectors show NAME` with the same function and a fresh console (today's width)
        show_vector(Console(), vector_ref)
    except VectorError as exc:
        raise fail(str(exc)) from None


@app.command("sites")
def sites_cmd(
    model: ModelOpt = None,
    all_nodes: Annotated[bool, typer.Option("--all", help="every node, not only residual-sized ones")] = False,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the graph nodes this model offers for capture and steering (discovered, not hard-coded)."""
    from rudder.engine.sites import steerable_sites

    engine = engine_for(model, threads=threads, verbose=verbose)
    try:
        sites = engine.sites
        shown = sites if all_nodes else steerable_sites(sites, engine.info.n_embd)
        title = plain(f"{engine.info.name} ({engine.info.architecture})")
        table = Table("site", "layers", "row shape", "type", title=title)
        for site in shown.values():
            table.add_row(
                plain(site.name), f"{site.layers[0]}..{site.layers[-1]}", plain(site.shape), plain(site.dtype)
            )
        console.print(table)
        if not all_nodes:
            console.print("(residual-sized f32 sites only; --all lists every node)")
    finally:
        engine.close()


@app.command("convert")
def convert_cmd(
    source: Annotated[str, typer.Argument(help="input vector file or library name")],
    target: Annotated[Path, typer.Argument(help="output file")],
    to: Annotated[VectorFormat, typer.Option("--to", help="output format")] = VectorFormat.RUDDER,
    from_cvector_generator: Annotated[
        bool, typer.Option(help="input was written by llama-cvector-generator (its layers are off by one)")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="the model GGUF the vector is for (read from its header, not loaded): plain "
            "control vectors do not say which model they belong to",
        ),
    ] = None,
) -> None:
    """Convert between llama.cpp control vectors, ds4 directional steering and Rudder's format."""
    from rudder.vectors.files.formats import load_vector, model_identity_from_gguf, save_vector

    try:
        identity = model_identity_from_gguf(model) if model else None
        vector = load_vector(find_vector_file(source), model=identity, from_cvector_generator=from_cvector_generator)
        save_vector(vector, target, to)
    except VectorError as exc:
        raise fail(str(exc)) from None
    console.print(plain(f"wrote {target} ({to.value}, layers {vector.layers[0]}..{vector.layers[-1]})"))


@app.command("apply")
def apply_cmd(
    vector_ref: VectorArg,
    prompt: Annotated[str, typer.Argument(help="a user message")],
    scale: Annotated[float, typer.Option("--scale", "-s", callback=finite, help="strength (see --scale-mode)")] = 0.05,
    scale_mode: Annotated[ScaleMode, typer.Option(help="relative: x residual norm; raw: x stored vector")] = (
        ScaleMode.RELATIVE
    ),
    layers: LayersOpt = None,
    op: Annotated[SteeringOp | None, typer.Option(help="add, project-out or ablate [default: the vector's]")] = None,
    scope: Annotated[Scope, typer.Option(help="all tokens or generated tokens only")] = Scope.ALL,
    max_tokens: MaxTokOpt = 200,
    model: ModelOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Answer PROMPT with and without the vector, side by side (greedy, so the difference is the vector's)."""
    from rudder.engine.engine import EngineError
    from rudder.engine.generation import Sampling
    from rudder.vectors.files.formats import load_vector
    from rudder.vectors.steering.plan import VectorUse, build_plan
    from rudder.vectors.steering.steerer import Steerer

    try:
        _warn_past_calibration(find_vector_file(vector_ref), scale, scale_mode)  # before the model loads
    except VectorError as exc:
        raise fail(str(exc)) from None
    engine = engine_for(model, n_ctx, threads, verbose=verbose)
    try:
        vector_path = find_vector_file(vector_ref, engine.info.identity)
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        chosen = tuple(layers_or(layers, vector.layers)) if layers is not None else None
        plan = build_plan([VectorUse(vector, scale, chosen, op, scope, scale_mode)])
        steerer = Steerer(engine)
        chat = engine.format_chat([{"role": "user", "content": prompt}])
        sampling = Sampling(max_tokens=max_tokens or 200)
        engine.reset()
        unsteered = engine.complete(chat, sampling)
        engine.reset()
        with steerer.steering(plan):
            steered = engine.complete(chat, sampling)
    except (VectorError, EngineError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()
    console.print(comparison_table(unsteered.text, steered.text, plan.label, scale))


def _warn_past_calibration(path: Path, scale: float, scale_mode: ScaleMode) -> None:
    """A relative scale well past the one the vector's card calibrated (where damage set in) is worth a word:
    the steered answer will likely be a loop or noise, which says nothing about the vector."""
    from rudder.vectors.files.card import load_card

    calibration = load_card(path).calibration
    if calibration is None or scale_mode != ScaleMode.RELATIVE or calibration.scale == 0:
        return
    if abs(scale) > 2 * abs(calibration.scale):
        warn(
            f"--scale {scale:g} is {abs(scale / calibration.scale):.0f}x the scale this vector's card calibrated "
            f"({calibration.scale:g} at layers {calibration.layers}; larger ones damaged its answers); "
            "expect a degenerate answer"
        )


def comparison_table(unsteered: str, steered: str, label: str, scale: float) -> Table:
    """The two answers side by side, as plain text (model output is never Rich markup)."""
    table = Table(
        Column(header=plain(f"unsteered ({len(unsteered.split())} words)")),
        Column(header=plain(f"{label} ×{scale:g} ({len(steered.split())} words)")),
    )
    table.add_row(plain(textwrap.fill(unsteered, 60)), plain(textwrap.fill(steered, 60)))
    return table
