"""`rudder vectors build`: every recipe, for the loaded model, into its library folder.

Per recipe: dataset -> extract -> check (the recipe's layers; when they are weak, the check's recommended
layers are tried) -> calibrate (the collapse guard on if the recipe says so; -scale too for a
`negative_side` recipe) -> prompt-only (the recipe's `ask`, unsteered) -> card. Each stage's result goes
to the recipe's work folder as it is finished (workdir.py), so a killed build continues where it
stopped, calibration at the next unmeasured scale. The library only ever sees whole files: the card and
plot first, the vector last, each written to a temporary name and renamed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rudder.util.layers import parse_layers
from rudder.vectors.build.recipes import NamedRecipe, for_model
from rudder.vectors.build.workdir import Clock, WorkDir, save_vector_atomic
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract
from rudder.vectors.files.card import (
    BuildReport,
    Calibration,
    Health,
    Recipe,
    VectorCard,
    card_path,
    load_card,
    save_card,
)
from rudder.vectors.files.library import model_key, model_library_dir
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.calibrate import DEFAULT_PROMPTS, calibrate, measure, plot, unsteered_answers
from rudder.vectors.trust.health import check_vector, split

if TYPE_CHECKING:
    from rudder.engine.engine import Engine

STAGES = ("dataset", "extract", "check", "calibrate", "prompt-only", "card")
Progress = Callable[[str, str, int, int], None]  # (recipe, stage, done, total)


@dataclass(frozen=True)
class BuildOptions:
    """What a quick or a test build trims (each changes the recipe, so a build with others starts over)."""

    scales: tuple[float, ...] | None = None  # magnitudes to sweep [default: the recipe's]
    prompts: int | None = None  # use only the first N calibration prompts
    max_tokens: int | None = None
    pairs: int | None = None  # use only the first N dataset pairs
    permutations: int = 1000  # the health check's null
    search_layers: bool = True  # weak at the recipe's layers: try the check's recommendation
    force: bool = False  # rebuild even when the library has this recipe's vector for this model


@dataclass
class Built:
    name: str
    path: Path  # the vector in the library
    card: VectorCard
    skipped: bool = False  # already built with this recipe (nothing run)


def _trimmed(recipe: Recipe, options: BuildOptions) -> Recipe:
    updates: dict[str, object] = {}
    if options.scales:
        updates["scales"] = list(options.scales)
    if options.prompts is not None:
        updates["prompts"] = (recipe.prompts or list(DEFAULT_PROMPTS))[: options.prompts]
    if options.max_tokens is not None:
        updates["max_tokens"] = options.max_tokens
    return recipe.model_copy(update=updates)


def build_library(
    engine: Engine,
    recipes: Sequence[NamedRecipe],
    out_dir: Path | None = None,
    progress: Progress | None = None,
    options: BuildOptions | None = None,
    *,
    file_stem: Callable[[str], str] = lambda name: name,
    work_base: Path | None = None,
    note: Callable[[str], None] | None = None,
) -> list[Built]:
    """Build `recipes` for `engine`'s model into `out_dir` (default: the user library's folder for the model,
    library.model_library_dir) as `file_stem(name).gguf` + `.card.json` + `.calibration.png`."""
    options = options or BuildOptions()
    identity = engine.info.identity
    out_dir = out_dir or model_library_dir(identity)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda *_: None)
    built = []
    for named in recipes:
        recipe = _trimmed(for_model(named.recipe, engine.info.n_layer, engine.profile.sites.default_site), options)
        target = out_dir / f"{file_stem(named.name)}.gguf"
        if not options.force and _up_to_date(target, recipe, options):
            built.append(Built(named.name, target, load_card(target), skipped=True))
            continue
        work = WorkDir.for_build(model_key(identity), named.name, work_base)
        if work.start(recipe) and note is not None:
            note(f"{named.name}: resuming an interrupted build ({work.summary()})")
        built.append(_build_one(engine, named.name, recipe, target, work, options, report))
    return built


def _up_to_date(target: Path, recipe: Recipe, options: BuildOptions) -> bool:
    if not target.is_file() or not card_path(target).is_file():
        return False
    card = load_card(target)
    return (
        card.calibration is not None
        and card.build is not None
        and _without_layers(card.recipe) == (_without_layers(recipe))
    )


def _without_layers(recipe: Recipe | None) -> dict[str, object] | None:
    """A card's recipe records the layers it steered (maybe the check's): compare the rest."""
    return recipe.model_dump(exclude={"layers"}) if recipe is not None else None


def _build_one(
    engine: Engine, name: str, recipe: Recipe, target: Path, work: WorkDir, options: BuildOptions, report: Progress
) -> Built:
    identity = engine.info.identity

    def stage(label: str, run: Callable[[Callable[[int, int], None]], object]) -> object:
        clock = Clock()
        result = run(lambda done, total: report(name, label, done, total))
        work.add_seconds(label, *clock.lap())
        return result

    # dataset: read and split (cheap; read again on a resume)
    dataset = load_dataset(Path(recipe.dataset_path()), options.pairs)
    train, _ = split(dataset, recipe.holdout)
    report(name, "dataset", 1, 1)

    vector = work.vector(identity)
    if vector is None:

        def run_extract(tick: Callable[[int, int], None]) -> object:
            made = extract(
                engine, train, list(parse_layers(recipe.extract_layers) or []), method=recipe.method,
                site=recipe.site, position=recipe.position, name=name,
                description=f"{recipe.positive} (+) vs {recipe.negative} (-)", progress=tick,
            )  # fmt: skip
            made.meta.dataset = dataset.name
            work.save_vector(made)
            return made

        vector = stage("extract", run_extract)  # type: ignore[assignment]
    else:
        report(name, "extract", 1, 1)
    assert vector is not None

    health = work.read("health.json", Health)
    if health is None:
        health = stage("check", lambda tick: _check(engine, vector, dataset, recipe, options, tick))  # type: ignore[assignment]
        work.write("health.json", health)  # type: ignore[arg-type]
    else:
        report(name, "check", 1, 1)
    assert health is not None
    layers = list(parse_layers(health.steer_layers) or [])
    searched = health.steer_layers if health.steer_layers != recipe.layers else None
    recipe = recipe.model_copy(update={"layers": health.steer_layers})

    # calibrate: its seconds are kept row by row (a killed sweep keeps the time its rows took)
    positive, negative = _calibrate(engine, vector, recipe, layers, work, lambda d, t: report(name, "calibrate", d, t))
    prompt_only = work.read("prompt_only.json", type(positive.rows[0]))
    if prompt_only is None and recipe.ask:
        prompt_only = stage("prompt-only", lambda tick: _prompt_only(engine, recipe, positive, tick))  # type: ignore[assignment]
        work.write("prompt_only.json", prompt_only)  # type: ignore[arg-type]
    report(name, "prompt-only", 1, 1)

    seconds, cpu_seconds = work.seconds()
    card = VectorCard(
        recipe=recipe,
        health=health,
        calibration=positive,
        negative_calibration=negative,
        build=BuildReport(
            model=model_key(identity),
            layers_searched=searched,
            prompt_only=prompt_only,
            seconds=seconds,
            cpu_seconds=cpu_seconds,
        ),
    )
    clock = Clock()
    _publish(work, target, name, card)
    wall, cpu = clock.lap()
    card.build.seconds["card"], card.build.cpu_seconds["card"] = round(wall, 2), round(cpu, 2)  # type: ignore[union-attr]
    save_card(target, card)
    report(name, "card", 1, 1)
    work.discard()
    return Built(name, target, card)


def _check(engine, vector, dataset, recipe: Recipe, options: BuildOptions, tick) -> Health:
    """Health at the recipe's layers; when that is weak, at the check's recommended window (if any)."""
    scale = 0.05  # the probe's push; the calibrated scale is not known yet
    steer = list(parse_layers(recipe.layers) or [])
    health = check_vector(engine, vector, dataset, holdout=recipe.holdout, steer_layers=steer, scale=scale,
                          permutations=options.permutations, progress=tick)  # fmt: skip
    recommended = health.recommended_layers
    if options.search_layers and health.verdict == "weak" and recommended and recommended != health.steer_layers:
        other = check_vector(engine, vector, dataset, holdout=recipe.holdout, scale=scale,
                             steer_layers=list(parse_layers(recommended) or []), permutations=options.permutations,
                             progress=tick)  # fmt: skip
        if other.verdict != "weak":
            return other
    return health


def _calibrate(engine, vector, recipe: Recipe, layers: list[int], work: WorkDir, tick):
    """Both sides' sweeps, resumable row by row; the unsteered answers are measured once and kept."""
    sides = [(1.0, "calibration.json")] + ([(-1.0, "negative.json")] if recipe.negative_side else [])
    n_scales = len(recipe.scales or ()) or 9
    total = 1 + n_scales * len(sides)
    clock = Clock()
    unsteered = work.unsteered()
    if unsteered is None:
        unsteered = unsteered_answers(engine, recipe)
        work.save_unsteered(*unsteered)
        work.add_seconds("calibrate", *clock.lap())
    done = 1 + sum(len(work.rows(file)) for _, file in sides)
    tick(done, total)
    out: list[Calibration | None] = []
    for sign, file in sides:
        clock.lap()

        def keep(row, file=file) -> None:
            nonlocal done
            work.add_row(file, row)
            work.add_seconds("calibrate", *clock.lap())
            done += 1
            tick(done, total)

        out.append(calibrate(engine, vector, recipe, layers=layers, sign=sign, progress=lambda r: None if r.scale == 0
                             else keep(r), unsteered=unsteered, done=work.rows(file)))  # fmt: skip
    tick(total, total)
    return out[0], (out[1] if len(out) > 1 else None)


def _prompt_only(engine, recipe: Recipe, calibration: Calibration, tick):
    """The prompt-only arm: the recipe's `ask` added to the system prompt, nothing steered."""
    asked = recipe.model_copy(update={"system": f"{recipe.system} {recipe.ask}".strip()})
    steerer = Steerer(engine)
    steerer.clear()
    tick(0, 1)
    row, _ = measure(engine, steerer, None, 0.0, (), asked, recipe.prompts or DEFAULT_PROMPTS)
    base = calibration.rows[0]
    row.change = round(row.effect / base.effect - 1, 4) if base.effect else 0.0
    tick(1, 1)
    return row


def _publish(work: WorkDir, target: Path, name: str, card: VectorCard) -> None:
    """Into the library: plot and card first, the vector last (the library lists vectors: a vector there
    always has its card). Each file whole, by rename."""
    sides = {"": card.calibration, ".negative": card.negative_calibration}
    for suffix, calibration in sides.items():
        if calibration is not None:
            final = target.with_name(f"{name}.calibration{suffix}.png")  # the shipped names: NAME.calibration.png
            plot(calibration, f"-{name}" if suffix else name, final.with_name(f".{final.stem}.tmp.png")).replace(final)
    save_card(target, card)
    vector = work.vector(None)  # type: ignore[arg-type]
    assert vector is not None
    save_vector_atomic(vector, target)
