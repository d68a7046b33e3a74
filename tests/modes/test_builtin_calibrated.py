"""The built-in modes push the shipped vectors at their calibrated scales and layers (from the vectors' cards)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from rudder.vectors.card import load_card
from rudder.vectors.library import SHIPPED_DIR

BUILTIN = Path(__file__).resolve().parents[2] / "rudder" / "modes" / "builtin"


def vector_entries(mode: dict) -> list[dict]:
    entries = list(mode.get("vectors", []))
    for override in mode.get("steps", {}).values():
        entries += override.get("vectors", [])
    return entries


def test_builtin_modes_use_the_calibrated_scales() -> None:
    checked = 0
    for path in sorted(BUILTIN.glob("*.toml")):
        for entry in vector_entries(tomllib.loads(path.read_text())):
            card = load_card(SHIPPED_DIR / f"{entry['vector']}.smollm2-135m.gguf")
            calibration = card.calibration if entry["scale"] > 0 else card.negative_calibration
            assert calibration is not None, f"{path.name}: {entry['vector']} has no calibration for that sign"
            assert entry["scale"] == calibration.scale, f"{path.name}: {entry}"
            assert entry.get("layers") == calibration.layers, f"{path.name}: {entry}"
            checked += 1
    assert checked >= 2


def test_every_shipped_vector_has_a_recipe_health_report_and_calibration() -> None:
    vectors = sorted(SHIPPED_DIR.glob("*.gguf"))
    assert len(vectors) >= 4
    for path in vectors:
        card = load_card(path)
        assert card.recipe and card.health and card.calibration, path.name
        assert card.recipe.dataset_path().is_file(), card.recipe.dataset
        assert card.health.verdict != "weak", (path.name, card.health.reasons)
        assert card.calibration.scale >= 0, path.name  # 0: no scale passed (the card's rows say why)
        assert len(card.calibration.rows) >= 2, path.name
