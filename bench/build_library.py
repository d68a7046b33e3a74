"""Rebuild the shipped vector library from its recipes: extract, calibrate, check, write cards and plots.

For every `rudder/vectors/library/NAME.smollm2-135m.card.json` (or the names given): extract the vector from
the first (1 - holdout) pairs of its dataset at its recipe's layers, calibrate its scale on the recipe's
held-out prompts (and the negative direction where the modes use it), then run the health check at the
calibrated scale. Greedy decoding; on a shared 2-core machine this takes several minutes per vector.

    python bench/build_library.py [NAME ...] [--reuse] [--scales=0.01,0.02]
    # --reuse: keep the extracted vectors; --scales: the magnitudes to sweep [default: the recipe's `scales`]
"""

from __future__ import annotations

import sys
import time

from common import console, load_engine

from rudder.modes.mode import parse_layers
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract
from rudder.vectors.files.card import load_card, save_card
from rudder.vectors.files.formats import VectorFormat, load_vector, save_vector
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.trust.calibrate import calibrate, plot, unsteered_answers
from rudder.vectors.trust.health import check_vector, split

SUFFIX = ".smollm2-135m.gguf"
NEGATIVE = {"terse"}  # the explain mode pushes terse backwards (verbose): calibrate that side too
SCALES = (0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2)


def extract_vector(engine, name, recipe, train, dataset, path):
    vector = extract(
        engine,
        train,
        list(parse_layers(recipe.extract_layers) or []),
        method=recipe.method,
        site=recipe.site,
        position=recipe.position,
        name=name,
        description=f"{recipe.positive} (+) vs {recipe.negative} (-)",
    )
    vector.meta.dataset = dataset.name  # the whole file is hashed; the split is the recipe's holdout
    save_vector(vector, path, VectorFormat.RUDDER)
    return vector


def build(engine, name: str, reuse: bool) -> None:
    path = SHIPPED_DIR / f"{name}{SUFFIX}"
    card = load_card(path)
    recipe = card.recipe
    assert recipe is not None, f"{path}: the card has no recipe"
    started = time.perf_counter()
    dataset = load_dataset(recipe.dataset_path())
    train, test = split(dataset, recipe.holdout)
    if reuse and path.is_file():
        vector = load_vector(path, model=engine.info.identity)
    else:
        vector = extract_vector(engine, name, recipe, train, dataset, path)
    layers = list(parse_layers(recipe.layers) or [])

    def show(row) -> None:
        console.print(
            f"  {name} {row.scale:+.3f}: {recipe.metric} {row.effect:.2f} ({row.change:+.0%}), "
            f"ppl {row.perplexity:.2f}, damaged {row.damaged}/{row.answers} (added {row.added}), "
            f"guard {row.guard_actions}"
        )

    scales = next(  # --scales, else the recipe's sweep, else SCALES
        (tuple(map(float, a.split("=", 1)[1].split(","))) for a in sys.argv if a.startswith("--scales=")),
        tuple(recipe.scales) or SCALES,
    )
    base = unsteered_answers(engine, recipe)  # measured once for both signs
    card.calibration = calibrate(engine, vector, recipe, layers=layers, scales=scales, progress=show, unsteered=base)
    plot(card.calibration, name, path.with_name(f"{name}.calibration.png"))
    save_card(path, card)
    if name in NEGATIVE:
        card.negative_calibration = calibrate(
            engine, vector, recipe, layers=layers, scales=scales, sign=-1.0, progress=show, unsteered=base
        )
        plot(card.negative_calibration, f"-{name}", path.with_name(f"{name}.calibration.negative.png"))
    save_card(path, card)
    card.health = check_vector(
        engine, vector, dataset, holdout=recipe.holdout, steer_layers=layers, scale=card.calibration.scale or 0.05
    )
    save_card(path, card)
    console.print(
        f"{name}: {len(train)} pairs extracted ({len(test)} held out); calibrated {card.calibration.scale:+g} "
        f"@ {recipe.layers}; health {card.health.verdict} (recommended {card.health.recommended_layers}); "
        f"{time.perf_counter() - started:.0f} s"
    )


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    names = names or sorted(p.name.split(".")[0] for p in SHIPPED_DIR.glob("*.card.json"))
    console.print(f"building {', '.join(names)} (shared machine: timings are indicative)")
    engine = load_engine()
    for name in names:
        build(engine, name, reuse="--reuse" in sys.argv)


if __name__ == "__main__":
    main()
