"""The built-in modes push the shipped vectors at their calibrated scales and layers, read from the vectors'
cards (`scale = "calibrated"`), so a recalibrated vector cannot leave a mode behind."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from rudder.modes.mode import parse_layers
from rudder.modes.registry import ModeError, get_mode, parse_mode
from rudder.vectors.files.card import load_card
from rudder.vectors.files.library import SHIPPED_DIR

BUILTIN = Path(__file__).resolve().parents[2] / "rudder" / "modes" / "builtin"
TERSE = SHIPPED_DIR / "terse.smollm2-135m.gguf"


def vector_entries(mode: dict) -> list[dict]:
    entries = list(mode.get("vectors", []))
    for override in mode.get("steps", {}).values():
        entries += override.get("vectors", [])
    return entries


def test_builtin_modes_read_their_scales_from_the_cards() -> None:
    checked = 0
    for path in sorted(BUILTIN.glob("*.toml")):
        raw = tomllib.loads(path.read_text())
        loaded = get_mode(raw["name"])
        for index, entry in enumerate(raw.get("vectors", [])):
            assert entry["scale"] in ("calibrated", "-calibrated"), f"{path.name}: a hard-coded scale {entry}"
            card = load_card(SHIPPED_DIR / f"{entry['vector']}.smollm2-135m.gguf")
            calibration = card.calibration if entry["scale"] == "calibrated" else card.negative_calibration
            assert calibration is not None, f"{path.name}: {entry['vector']} has no calibration for that side"
            spec = loaded.vectors[index]
            assert spec.scale == calibration.scale, f"{path.name}: {spec}"
            assert spec.layers == parse_layers(calibration.layers), f"{path.name}: {spec}"
            checked += 1
        assert all(e["scale"] in ("calibrated", "-calibrated") for e in vector_entries(raw)), path.name
    assert checked >= 2


def test_a_recalibrated_card_changes_the_mode(tmp_path: Path) -> None:
    shutil.copy(TERSE, tmp_path / "t.gguf")
    card = json.loads(TERSE.with_name("terse.smollm2-135m.card.json").read_text())
    card["calibration"]["scale"], card["calibration"]["layers"] = 0.011, "12-14"
    (tmp_path / "t.card.json").write_text(json.dumps(card))
    text = 'name = "m"\n[[vectors]]\nvector = "t.gguf"\nscale = "calibrated"\n'
    mode = parse_mode(text, tmp_path / "m.toml")
    assert (mode.vectors[0].scale, mode.vectors[0].layers) == (0.011, (12, 13, 14))
    explicit = parse_mode(text + 'layers = "10-11"\n', tmp_path / "m.toml")  # given layers win over the card's
    assert (explicit.vectors[0].scale, explicit.vectors[0].layers) == (0.011, (10, 11))


def test_calibrated_without_a_card_is_the_mode_files_error(tmp_path: Path) -> None:
    shutil.copy(TERSE, tmp_path / "bare.gguf")  # no card beside it
    text = 'name = "m"\n\n[[vectors]]\nvector = "bare.gguf"\nscale = "-calibrated"\n'
    with pytest.raises(ModeError) as error:
        parse_mode(text, tmp_path / "m.toml")
    message = str(error.value)
    assert f"{tmp_path / 'm.toml'}:3: vectors[0]" in message
    assert "no negative calibration in its card" in message and "bare.card.json" in message
    assert "rudder vectors calibrate bare.gguf --negative --save-card" in message
    with pytest.raises(ModeError, match="no vector file or library vector named 'nope'"):
        parse_mode('name = "m"\n[[vectors]]\nvector = "nope"\nscale = "calibrated"\n', tmp_path / "m.toml")


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
