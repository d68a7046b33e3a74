"""`rudder vectors check` and `rudder vectors calibrate`: is a vector any good, and how hard to push it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rudder.cli import say
from rudder.cli.options import ModelOpt, ThreadsOpt, VerboseOpt, WeightsOpt, fail, finite
from rudder.cli.vectors import LayersOpt, _engine, _layers
from rudder.cli.views import find_vector_file
from rudder.engine.engine import Engine, EngineError
from rudder.util.layers import layer_spans
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import render_prompts
from rudder.vectors.files.card import CalibrationRow, Health, Recipe, VectorCard, load_card, save_card
from rudder.vectors.files.formats import load_vector
from rudder.vectors.trust.calibrate import DEFAULT_PROMPTS, DEFAULT_SCALES, calibrate, plot
from rudder.vectors.trust.health import check_vector
from rudder.vectors.trust.norms import measure_norms, missing_norms, with_norms
from rudder.vectors.vector import SteeringVector, VectorError

console = Console()
DEFAULT_SCALE_LIST = ",".join(map(str, DEFAULT_SCALES))
VectorArg = Annotated[
    str, typer.Argument(metavar="VECTOR", help="vector file or library name (its .card.json is read if present)")
]
DatasetOpt = Annotated[
    Path | None, typer.Option("--dataset", "-d", help="contrastive JSONL [default: the recipe's, from the card]")
]
SaveCardOpt = Annotated[bool, typer.Option("--save-card", help="write the result into the vector's .card.json")]
_STYLE = {"strong": "green", "ok": "yellow", "weak": "bold red"}


def _dataset_path(card: VectorCard, dataset: Path | None) -> Path:
    if dataset is not None:
        return dataset
    if card.recipe is None:
        raise fail("this vector has no card with a recipe; name its contrastive dataset with --dataset FILE")
    return card.recipe.dataset_path()


def check_cmd(
    vector_ref: VectorArg,
    dataset: DatasetOpt = None,
    layers: LayersOpt = None,
    scale: Annotated[
        float | None, typer.Option(callback=finite, help="relative scale for the steering probe [default: the card's]")
    ] = None,
    holdout: Annotated[
        float | None, typer.Option(min=0.0, max=0.9, help="share of pairs (the last) held out [default: 0.25]")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N pairs")] = None,
    permutations: Annotated[int, typer.Option(help="label permutations for the null")] = 1000,
    save_card_: SaveCardOpt = False,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    weights: WeightsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Health check: pair consistency, held-out AUROC, permutation nulls, steering direction, best layers.

    It reads the model's own weights (the model as it runs) unless --weights names an f16/bf16 copy.
    """
    try:
        vector_path = find_vector_file(vector_ref)
        card = load_card(vector_path)
        data = load_dataset(_dataset_path(card, dataset), limit)
    except VectorError as exc:
        raise fail(str(exc)) from None
    recipe = card.recipe
    engine = _engine(model, threads=threads, weights=weights, verbose=verbose)
    try:
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        default_layers = recipe.layers if recipe else None
        steer = _layers(layers or default_layers, vector.layers)
        if missing := missing_norms(vector, steer):  # check_vector measures them on the dataset it reads
            say.note(_measured_norms_note(vector, missing, f"the {2 * len(data)} prompts of {data.name}"))
        if scale is None:
            scale = card.calibration.scale if card.calibration else 0.05
        health = check_vector(
            engine,
            vector,
            data,
            holdout=holdout if holdout is not None else (recipe.holdout if recipe else 0.25),
            steer_layers=steer,
            scale=scale,
            permutations=permutations,
        )
    except (VectorError, EngineError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()
    print_health(health, vector.meta.name, steer)
    if save_card_:
        card.health = health
        console.print(f"wrote {save_card(vector_path, card)}")


def print_health(health: Health, name: str, steer: list[int]) -> None:
    table = Table(
        "layer", "consistency", "null 95%", "AUROC (held out)", "null 95%", "p", "verdict",
        title=f"{name}: {health.pairs} pairs, {health.held_out_pairs} held out",
    )  # fmt: skip
    steered = set(steer)
    for h in health.layers:
        mark = " *" if h.layer in steered else ""
        table.add_row(
            f"{h.layer}{mark}", f"{h.consistency:+.3f}", f"{h.consistency_null:.3f}", f"{h.auroc:.3f}",
            f"{h.auroc_null:.3f}", f"{max(h.consistency_p, h.auroc_p):.3f}", Text(h.verdict, _STYLE[h.verdict]),
        )  # fmt: skip
    console.print(table)
    console.print("* = steered layers")
    console.print(
        f"steering ×{health.steer_scale:g} at {health.steer_layers}: held-out negatives move {health.shift:+.0%} "
        f"of the way to the positives at layer {health.probe_layer} "
        f"(random direction of the same size: {health.shift_null:+.0%})"
    )
    console.print(f"recommended layers: {health.recommended_layers or 'none (no run of usable layers)'}")
    verdict = Text(f"{name}: {health.verdict}", _STYLE[health.verdict])
    verdict.append(" - " + "; ".join(health.reasons), style="default")
    console.print(verdict)


def _scales(spec: str) -> list[float]:
    try:
        values = [float(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise fail(f"--scales: expected comma-separated numbers such as 0.02,0.04,0.08, got {spec!r}") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise fail("--scales: give positive magnitudes (use --negative to push the other way)")
    return values


MAX_DEFAULT_LAYERS = 8  # a card-less vector with more layers than this needs --layers (all at once wrecks answers)


def _calibration_layers(path: Path, vector: SteeringVector, layers: str | None, recipe: Recipe | None) -> list[int]:
    """--layers, else the recipe's, else a short vector's own layers; never 'all 28 layers' by accident, and
    only layers with a residual norm (relative scales need one)."""
    if layers is None and recipe is None and len(vector.layers) > MAX_DEFAULT_LAYERS:
        raise VectorError(
            f"{path}: no card with a recipe says which layers to steer, and pushing all {len(vector.layers)} of its "
            f"layers ({layer_spans(vector.layers)}) at once wrecks answers at any scale; choose them with --layers "
            "(e.g. 10-15 on SmolLM2-135M; `rudder vectors check VECTOR --dataset FILE` recommends a range)"
        )
    return _layers(layers if layers is not None else (recipe.layers if recipe else None), vector.layers)


def _norm_prompts(engine: Engine, recipe: Recipe, dataset: Path | None) -> tuple[list[str], str]:
    """What calibrate measures a foreign vector's residual norms on: --dataset, else the recipe's dataset,
    else the calibration questions themselves (as the model reads them); and a name for it."""
    path = dataset if dataset is not None else (recipe.dataset_path() if recipe.dataset != "-" else None)
    if path is not None:
        data = load_dataset(path)
        return render_prompts(engine, [*data.positives, *data.negatives]), str(path)
    system = [{"role": "system", "content": recipe.system}] if recipe.system else []
    questions = recipe.prompts or list(DEFAULT_PROMPTS)
    chats = [engine.format_chat([*system, {"role": "user", "content": q}]) for q in questions]
    return chats, f"the {len(chats)} calibration questions"


def _measured_norms_note(vector: SteeringVector, layers: list[int], where: str) -> str:
    return (
        f"{vector.meta.name}: the file records no residual norm for layer(s) {layer_spans(layers)} (a llama.cpp "
        f"control vector?); relative scales use the model's, measured on {where}"
    )


def calibrate_cmd(
    vector_ref: VectorArg,
    layers: LayersOpt = None,
    scales: Annotated[
        str | None,
        typer.Option(help=f"magnitudes to sweep, comma-separated [default: the recipe's, else {DEFAULT_SCALE_LIST}]"),
    ] = None,
    guard: Annotated[
        bool | None,
        typer.Option("--guard/--no-guard", help="run the collapse guard on steered answers [default: the recipe's]"),
    ] = None,
    negative: Annotated[bool, typer.Option("--negative", help="sweep -scale (e.g. verbose from terse)")] = False,
    prompts: Annotated[int | None, typer.Option(help="use only the first N calibration prompts")] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            "-d",
            help="contrastive JSONL to measure residual norms on, for a vector without them [default: the "
            "recipe's, else the calibration questions]",
        ),
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(help="tokens per answer [default: the recipe's]")] = None,
    max_damaged: Annotated[float, typer.Option(help="share of damaged answers a scale may have")] = 0.1,
    max_perplexity: Annotated[float, typer.Option(help="allowed median perplexity x the unsteered one")] = 4.0,
    plot_path: Annotated[Path | None, typer.Option("--plot", help="where to save the plot [default: beside]")] = None,
    save_card_: SaveCardOpt = False,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Sweep scales on held-out prompts; pick the largest before damage passes the threshold; plot it."""
    try:
        vector_path = find_vector_file(vector_ref)
        card = load_card(vector_path)
        _calibration_layers(vector_path, load_vector(vector_path), layers, card.recipe)  # before the model loads
    except VectorError as exc:
        raise fail(str(exc)) from None
    recipe = card.recipe or Recipe(dataset="-", prompts=list(DEFAULT_PROMPTS))
    updates: dict[str, object] = {}
    if prompts is not None:
        updates["prompts"] = (recipe.prompts or list(DEFAULT_PROMPTS))[:prompts]
    if max_tokens is not None:
        updates["max_tokens"] = max_tokens
    recipe = recipe.model_copy(update=updates)
    magnitudes = _scales(scales) if scales is not None else None
    engine = _engine(model, threads=threads, verbose=verbose)
    table = Table("scale", recipe.metric, "change", "perplexity", "repetition", "damaged", "guard", "first answer")

    def row_done(row: CalibrationRow) -> None:
        table.add_row(
            f"{row.scale:+g}", f"{row.effect:.2f}", f"{row.change:+.0%}", f"{row.perplexity:.2f}",
            f"{row.repetition:.3f}", f"{row.damaged}/{row.answers}", str(row.guard_actions or ""),
            Text(row.examples[0][:60] if row.examples else ""),
        )  # fmt: skip

    try:
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        chosen = _calibration_layers(vector_path, vector, layers, card.recipe)
        if missing := missing_norms(vector, chosen):
            texts, where = _norm_prompts(engine, recipe, dataset)
            vector = with_norms(vector, measure_norms(engine, texts, missing, vector.meta.site))
            say.note(_measured_norms_note(vector, missing, where))
        result = calibrate(
            engine, vector, recipe, layers=chosen, scales=magnitudes, sign=-1.0 if negative else 1.0,
            max_damaged=max_damaged, max_perplexity=max_perplexity, guarded=guard, progress=row_done,
        )  # fmt: skip
    except (VectorError, EngineError, ValueError) as exc:
        raise fail(str(exc)) from None
    finally:
        engine.close()
    console.print(table)
    if result.scale:
        console.print(
            f"{vector.meta.name}: calibrated scale {result.scale:+g} at layers {result.layers} "
            f"(largest before more than {max_damaged:.0%} damaged answers or perplexity over {max_perplexity:g}x)"
        )
    else:
        first = result.rows[1]
        console.print(
            Text(
                f"{vector.meta.name}: no scale passed at layers {result.layers}: already at ×{first.scale:g}, "
                f"{first.added} intact answer(s) were damaged ({first.damaged}/{first.answers} damaged, "
                f"{result.rows[0].damaged} unsteered), median perplexity {first.perplexity:.2f} vs "
                f"{result.rows[0].perplexity:.2f} unsteered. Try smaller --scales or fewer --layers; "
                "a saved card records scale 0 (do not steer with it).",
                style="bold red",
            )
        )
    target = plot_path or vector_path.with_name(f"{vector_path.name.removesuffix(vector_path.suffix)}.calibration.png")
    if plot_path or save_card_:
        suffix = ".negative" if negative else ""
        target = target.with_name(target.name.replace(".calibration.png", f".calibration{suffix}.png"))
        console.print(f"plot: {plot(result, vector.meta.name, target)}")
    if save_card_:
        if negative:
            card.negative_calibration = result
        else:
            card.calibration = result
        console.print(f"wrote {save_card(vector_path, card)}")
