"""`rudder vectors ...`: extract, inspect, convert and try steering vectors."""

from __future__ import annotations

import signal
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

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
    WeightsOpt,
    build_config,
    fail,
    finite,
    warn,
)
from rudder.cli.progress import LateProgress
from rudder.cli.views import find_vector_file, show_vector
from rudder.engine import CaptureWeights
from rudder.vectors.kinds import ScaleMode, Scope, SteeringOp, VectorFormat
from rudder.vectors.meta import VectorError

if TYPE_CHECKING:  # llama.cpp, the tools and the vector machinery load only in the commands that use them
    from rudder.engine.engine import Engine

Method = Literal["mean-diff", "pca", "cvector-mean"]  # = extraction.extract.Method, without loading it
ExtractPosition = Literal["last", "mean", "generated"]

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


def _layers_syntax(value: str | None) -> str | None:
    """--layers is checked as soon as it is parsed, before a model loads; an empty value is an error
    (it never means 'every layer': leave the option out for the command's default)."""
    if value is None:
        return None
    if not value.strip():
        raise fail("--layers: empty; give layers such as 10-15 or 3,5,7-9, or leave the option out for the default")
    from rudder.modes.mode import parse_layers

    try:
        parse_layers(value)
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    return value


LayersOpt = Annotated[str | None, typer.Option("--layers", "-l", help="e.g. 10-15 or 3,5,7-9", callback=_layers_syntax)]


def _engine(
    model: Path | None,
    n_ctx: int | None = None,
    threads: int | None = None,
    weights: CaptureWeights | None = None,
    verbose: bool = False,
) -> Engine:
    from rudder.engine.factory import load_engine
    from rudder.engine.model_file import ModelLoadError

    config = build_config(Path.cwd(), model=model, n_ctx=n_ctx, threads=threads, weights=weights, verbose=verbose)
    try:
        return load_engine(config.model)
    except ModelLoadError as exc:
        raise fail(str(exc)) from None


def _layers(spec: str | None, default: list[int]) -> list[int]:
    from rudder.modes.mode import parse_layers

    if spec is not None and not spec.strip():
        raise fail("--layers: empty; give layers such as 10-15 or 3,5,7-9, or leave the option out for the default")
    try:
        parsed = parse_layers(spec)
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    return list(parsed) if parsed is not None else default


@app.command("extract")
def extract_cmd(
    dataset: Annotated[
        Path | None, typer.Argument(help="contrastive JSONL (see rudder/vectors/extraction/dataset.py)", exists=True)
    ] = None,
    from_runs: Annotated[
        Path | None,
        typer.Option("--from-runs", help="recorded agent runs of the TRAIN split (--record-activations) instead"),
    ] = None,
    labels: Annotated[
        str, typer.Option(help="--from-runs: fail-run, loop, premature-finish, off-target (several: Gram-Schmidt)")
    ] = "fail-run",
    step_position: Annotated[
        str, typer.Option("--step-position", help="--from-runs: thought or call (the step's first token of it)")
    ] = "thought",
    dev: Annotated[
        Path | None, typer.Option("--dev", help="--from-runs: recorded DEV runs for the health check")
    ] = None,
    allow_unsplit: Annotated[
        bool, typer.Option("--allow-unsplit", help="--from-runs: accept runs of a suite without splits")
    ] = False,
    contrast: Annotated[
        str,
        typer.Option(
            help="--from-runs: behaviour steps against 'calibrated' (passing runs, no label) or 'clean' steps (any run)"
        ),
    ] = "calibrated",
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
    site: Annotated[
        str | None, typer.Option(help="graph node prefix to read [default: the model profile's, l_out or ffn_out]")
    ] = None,
    op: Annotated[
        SteeringOp, typer.Option(help="how the vector will be applied: add, or project-out/ablate (unit rows)")
    ] = SteeringOp.ADD,
    position: Annotated[ExtractPosition, typer.Option(help="which tokens' activations: last, mean or generated")] = (
        "last"
    ),
    limit: Annotated[int | None, typer.Option(help="use only the first N pairs")] = None,
    description: Annotated[str, typer.Option(help="what the vector does")] = "",
    model: ModelOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    weights: WeightsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Extract a steering vector from a contrastive dataset (positive minus negative activations).

    Prompts are read many per decode call, prompts that share a beginning share its computation, and
    llama.cpp stops right after the deepest layer asked for. A small Q4_1/Q5_1 model is read through a
    BF16/F16 copy of its weights (--weights; made once, cached in ~/.cache/rudder/weights).
    """
    from rudder.engine.batch import BatchError
    from rudder.engine.engine import EngineError
    from rudder.engine.hook import HookError
    from rudder.vectors.extraction.dataset import load_dataset
    from rudder.vectors.extraction.extract import extract
    from rudder.vectors.files.formats import save_vector
    from rudder.vectors.files.library import user_library_path

    if from_runs is not None:
        from rudder.cli.vectors_runs import extract_from_runs

        if dataset is not None:
            raise fail("give a DATASET or --from-runs LOGDIR, not both")
        if contrast not in ("calibrated", "clean"):
            raise fail(f"--contrast {contrast!r}: expected calibrated or clean")
        if step_position not in ("thought", "call"):
            raise fail(f"--step-position {step_position!r}: expected thought or call")
        extract_from_runs(
            from_runs,
            output=output,
            save=save,
            labels=labels,
            position=step_position,  # type: ignore[arg-type]
            layers=layers,
            dev=dev,
            allow_unsplit=allow_unsplit,
            description=description,
            clean=contrast == "clean",
        )
        return
    if dataset is None:
        raise fail("give a contrastive DATASET (JSONL) or --from-runs LOGDIR")
    if output is None and save is None:
        raise fail("say where the vector goes: --output FILE and/or --save NAME")
    try:
        saved = user_library_path(save) if save else None
    except VectorError as exc:
        raise fail(f"--save: {exc}") from None
    try:
        data = load_dataset(dataset, limit)  # a bad file is refused before the model loads
    except VectorError as exc:
        raise fail(str(exc)) from None
    engine = _engine(model, n_ctx, threads, weights, verbose)
    try:
        chosen = _layers(layers, list(range(1, engine.info.n_layer - 1)))
        started = time.perf_counter()
        stop = _StopBetweenPrompts()
        with LateProgress(f"reading {len(data)} pairs", 2 * len(data)) as bar:

            def progress(done: int, total: int) -> None:
                stop.check()
                bar.update(done, total)

            vector = extract(
                engine,
                data,
                chosen,
                method=method,
                site=site or engine.profile.sites.default_site,
                position=position,
                op=op,
                name=save or dataset.stem,
                description=description,
                progress=progress,
            )
            stop.restore()
        seconds = time.perf_counter() - started
        targets: list[tuple[Path, VectorFormat | None]] = [(output, None)] if output else []  # .f32 → ds4
        if saved:
            targets.append((saved, VectorFormat.RUDDER))
        for target, fmt in targets:
            save_vector(vector, target, fmt)
            console.print(plain(f"wrote {target}"))
        read = "the model's own weights" if vector.meta.weights == "native" else f"a {vector.meta.weights} copy"
        console.print(f"{len(data)} pairs, layers {chosen[0]}..{chosen[-1]}, {method}, {read}, {seconds:.1f} s")
        if engine.weights_note:
            warn(engine.weights_note)
    except (VectorError, EngineError, BatchError, HookError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no vector written", code=130) from None
    finally:
        engine.close()


class _StopBetweenPrompts:
    """Ctrl-C during extraction stops it between two prompts: a KeyboardInterrupt raised inside llama.cpp's
    capture callback would be swallowed by ctypes and leave a half-captured batch behind."""

    def __init__(self) -> None:
        self.pressed = False
        self.previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum: int, frame: object) -> None:
        self.pressed = True

    def check(self) -> None:
        if self.pressed:
            self.restore()
            raise KeyboardInterrupt

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)


VectorArg = Annotated[str, typer.Argument(metavar="VECTOR", help="a vector file (any format) or a library name")]


@app.command("show")
def show_cmd(vector_ref: VectorArg) -> None:
    """Print a vector's metadata and per-layer sizes."""
    try:
        show_vector(console, vector_ref)  # quick.py answers `rudder vectors show NAME` with the same function
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

    engine = _engine(model, threads=threads, verbose=verbose)
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
    engine = _engine(model, n_ctx, threads, verbose=verbose)
    try:
        vector_path = find_vector_file(vector_ref, engine.info.identity)
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        chosen = tuple(_layers(layers, vector.layers)) if layers is not None else None
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
