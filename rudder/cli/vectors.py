"""`rudder vectors ...`: extract, inspect, convert and try steering vectors."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from rudder.cli.options import CtxOpt, MaxTokOpt, ModelOpt, ThreadsOpt, build_config, fail
from rudder.cli.progress import LateProgress
from rudder.vectors.kinds import ScaleMode, Scope, SteeringOp, VectorFormat

if TYPE_CHECKING:  # llama.cpp, numpy and the vector machinery load only in the commands that use them
    from rudder.engine.engine import Engine

app = typer.Typer(help="Extract, inspect, convert and try steering vectors.", no_args_is_help=True)
console = Console()

Method = Literal["mean-diff", "pca", "cvector-mean"]  # rudder.vectors.extract.Method, named without loading it
ExtractPosition = Literal["last", "mean", "generated"]
LayersOpt = Annotated[str | None, typer.Option("--layers", "-l", help="e.g. 10-15 or 3,5,7-9")]


def _engine(model: Path | None, n_ctx: int | None = None, threads: int | None = None) -> Engine:
    from rudder.engine.engine import Engine
    from rudder.engine.model_file import ModelLoadError

    config = build_config(Path.cwd(), model=model, n_ctx=n_ctx, threads=threads)
    try:
        return Engine(config.model)
    except ModelLoadError as exc:
        raise fail(str(exc)) from None


def _layers(spec: str | None, default: list[int]) -> list[int]:
    from rudder.modes.mode import parse_layers

    try:
        parsed = parse_layers(spec)
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    return list(parsed) if parsed is not None else default


@app.command("extract")
def extract_cmd(
    dataset: Annotated[Path, typer.Argument(help="contrastive JSONL (see rudder/vectors/dataset.py)", exists=True)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="where to write the vector")] = None,
    save: Annotated[str | None, typer.Option("--save", help="name it and put it in your vector library")] = None,
    layers: LayersOpt = None,
    method: Annotated[
        Method,
        typer.Option(
            help="mean-diff (CAA), pca, or cvector-mean (llama-cvector-generator's --method mean: every token "
            "diffed, unit length)"
        ),
    ] = "mean-diff",
    site: Annotated[str, typer.Option(help="graph node prefix to read (see `rudder vectors sites`)")] = "l_out",
    position: Annotated[ExtractPosition, typer.Option(help="which tokens' activations: last, mean or generated")] = (
        "last"
    ),
    limit: Annotated[int | None, typer.Option(help="use only the first N pairs")] = None,
    description: Annotated[str, typer.Option(help="what the vector does")] = "",
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Extract a steering vector from a contrastive dataset (positive minus negative activations).

    Prompts are read many per decode call, prompts that share a beginning share its computation, and
    llama.cpp stops right after the deepest layer asked for.
    """
    from rudder.engine.batch import BatchError
    from rudder.engine.engine import EngineError
    from rudder.engine.hook import HookError
    from rudder.util.dirs import user_config_dir
    from rudder.vectors.dataset import load_dataset
    from rudder.vectors.extract import extract
    from rudder.vectors.formats import save_vector
    from rudder.vectors.vector import VectorError

    if output is None and save is None:
        raise fail("say where the vector goes: --output FILE and/or --save NAME")
    try:
        data = load_dataset(dataset, limit)
    except VectorError as exc:
        raise fail(str(exc)) from None
    engine = _engine(model, threads=threads)
    try:
        chosen = _layers(layers, list(range(1, engine.info.n_layer - 1)))
        started = time.perf_counter()
        with LateProgress(f"reading {len(data)} pairs", 2 * len(data)) as bar:
            vector = extract(
                engine,
                data,
                chosen,
                method=method,
                site=site,
                position=position,
                name=save or dataset.stem,
                description=description,
                progress=bar.update,
            )
        seconds = time.perf_counter() - started
        targets = [output] if output else []
        if save:
            targets.append(user_config_dir() / "vectors" / f"{save}.gguf")
        for target in targets:
            save_vector(vector, target, VectorFormat.RUDDER)
            console.print(f"wrote {target}")
        console.print(f"{len(data)} pairs, layers {chosen[0]}..{chosen[-1]}, {method}, {seconds:.1f} s")
    except (VectorError, EngineError, BatchError, HookError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()


@app.command("show")
def show_cmd(path: Annotated[Path, typer.Argument(help="a vector file (any supported format)")]) -> None:
    """Print a vector's metadata and per-layer sizes."""
    import numpy as np
    from rich.table import Table

    from rudder.vectors.formats import load_vector
    from rudder.vectors.vector import VectorError

    try:
        vector = load_vector(path)
    except VectorError as exc:
        raise fail(str(exc)) from None
    meta = vector.meta
    console.print(f"[bold]{meta.name}[/] - {meta.description or 'no description'}")
    console.print(
        f"model {meta.model.name or '?'} ({meta.model.architecture}, n_embd {meta.model.n_embd}, "
        f"{meta.model.n_layer} layers, layout {meta.model.layout_hash[:12] or 'unknown'})"
    )
    console.print(f"site {meta.site}, op {meta.op}, method {meta.method}, dataset {meta.dataset or '-'}")
    table = Table("layer", "|d|", "residual norm", "|d| / norm")
    for layer, direction in vector.directions.items():
        norm = float(np.linalg.norm(direction))
        resid = meta.layer_norms.get(layer)
        table.add_row(
            str(layer), f"{norm:.3f}", f"{resid:.1f}" if resid else "-", f"{norm / resid:.4f}" if resid else "-"
        )
    console.print(table)


@app.command("sites")
def sites_cmd(model: ModelOpt = None, all_nodes: Annotated[bool, typer.Option("--all")] = False) -> None:
    """List the graph nodes this model offers for capture and steering (discovered, not hard-coded)."""
    from rich.table import Table

    from rudder.engine.sites import steerable_sites

    engine = _engine(model)
    try:
        sites = engine.sites
        shown = sites if all_nodes else steerable_sites(sites, engine.info.n_embd)
        table = Table("site", "layers", "row shape", "type", title=f"{engine.info.name} ({engine.info.architecture})")
        for site in shown.values():
            table.add_row(site.name, f"{site.layers[0]}..{site.layers[-1]}", str(site.shape), site.dtype)
        console.print(table)
        if not all_nodes:
            console.print("(residual-sized f32 sites only; --all lists every node)")
    finally:
        engine.close()


@app.command("convert")
def convert_cmd(
    source: Annotated[Path, typer.Argument(help="input vector file")],
    target: Annotated[Path, typer.Argument(help="output file")],
    to: Annotated[VectorFormat, typer.Option("--to", help="output format")] = VectorFormat.RUDDER,
    from_cvector_generator: Annotated[
        bool, typer.Option(help="input was written by llama-cvector-generator (its layers are off by one)")
    ] = False,
) -> None:
    """Convert between llama.cpp control vectors, ds4 directional steering and Rudder's format."""
    from rudder.vectors.formats import load_vector, save_vector
    from rudder.vectors.vector import VectorError

    try:
        vector = load_vector(source, from_cvector_generator=from_cvector_generator)
        save_vector(vector, target, to)
    except VectorError as exc:
        raise fail(str(exc)) from None
    console.print(f"wrote {target} ({to.value}, layers {vector.layers[0]}..{vector.layers[-1]})")


@app.command("apply")
def apply_cmd(
    vector_path: Annotated[Path, typer.Argument(metavar="VECTOR", help="vector file")],
    prompt: Annotated[str, typer.Argument(help="a user message")],
    scale: Annotated[float, typer.Option("--scale", "-s", help="strength (see --scale-mode)")] = 0.05,
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
) -> None:
    """Answer PROMPT with and without the vector, side by side (greedy, so the difference is the vector's)."""
    from rich.table import Table

    from rudder.engine.engine import EngineError
    from rudder.engine.generation import Sampling
    from rudder.vectors.formats import load_vector
    from rudder.vectors.plan import VectorUse, build_plan
    from rudder.vectors.steerer import Steerer
    from rudder.vectors.vector import VectorError

    engine = _engine(model, n_ctx, threads)
    try:
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        chosen = tuple(_layers(layers, vector.layers)) if layers else None
        plan = build_plan([VectorUse(vector, scale, chosen, op, scope, scale_mode)])
        steerer = Steerer(engine)
        chat = engine.format_chat([{"role": "user", "content": prompt}])
        sampling = Sampling(max_tokens=max_tokens or 200)
        engine.reset()
        plain = engine.complete(chat, sampling)
        engine.reset()
        with steerer.steering(plan):
            steered = engine.complete(chat, sampling)
    except (VectorError, EngineError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()
    table = Table(
        f"unsteered ({len(plain.text.split())} words)", f"{plan.label} ×{scale:g} ({len(steered.text.split())} words)"
    )
    table.add_row(textwrap.fill(plain.text, 60), textwrap.fill(steered.text, 60))
    console.print(table)
