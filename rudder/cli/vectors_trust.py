"""`rudder vectors check` and `rudder vectors calibrate`: is a vector any good, and how hard to push it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rudder.cli.options import ModelOpt, ThreadsOpt, fail
from rudder.cli.vectors import LayersOpt, _engine, _layers
from rudder.engine.engine import EngineError
from rudder.vectors.card import Health, VectorCard, load_card, save_card
from rudder.vectors.dataset import load_dataset
from rudder.vectors.formats import load_vector
from rudder.vectors.health import check_vector
from rudder.vectors.vector import VectorError

console = Console()
VectorArg = Annotated[Path, typer.Argument(metavar="VECTOR", help="vector file (its .card.json is read if present)")]
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
    vector_path: VectorArg,
    dataset: DatasetOpt = None,
    layers: LayersOpt = None,
    scale: Annotated[float | None, typer.Option(help="relative scale for the steering probe")] = None,
    holdout: Annotated[float | None, typer.Option(help="share of pairs (the last) held out")] = None,
    limit: Annotated[int | None, typer.Option(help="use only the first N pairs")] = None,
    permutations: Annotated[int, typer.Option(help="label permutations for the null")] = 1000,
    save_card_: SaveCardOpt = False,
    model: ModelOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Health check: pair consistency, held-out AUROC, permutation nulls, steering direction, best layers."""
    try:
        card = load_card(vector_path)
        data = load_dataset(_dataset_path(card, dataset), limit)
    except VectorError as exc:
        raise fail(str(exc)) from None
    recipe = card.recipe
    engine = _engine(model, threads=threads)
    try:
        vector = load_vector(vector_path, model=engine.info.identity)
        vector.check_model(engine.info.identity, source=str(vector_path))
        default_layers = recipe.layers if recipe else None
        steer = _layers(layers or default_layers, vector.layers)
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
