"""`rudder vectors apply` warns, before the model loads, when a scale is far past the vector card's
calibration (the answer will be a loop or noise, which says nothing about the vector)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.cli.views import find_vector_file
from rudder.vectors.files.card import load_card


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (["--scale", "1"], True),  # terse's card: 0.09 when this was written
        (["--scale", "-0.5"], True),
        (["--scale", "card"], False),
        (["--scale", "1", "--scale-mode", "raw"], False),  # raw scales are not the card's unit
    ],
)
def test_a_scale_past_the_cards_calibration_is_warned_about(args: list[str], warned: bool, tmp_path) -> None:
    calibration = load_card(find_vector_file("terse")).calibration
    assert calibration is not None
    args = [f"{calibration.scale:g}" if a == "card" else a for a in args]
    missing = tmp_path / "no-model.gguf"  # the warning comes first; then the command stops here
    result = CliRunner().invoke(app, ["vectors", "apply", "terse", "hi", *args, "--model", str(missing)])
    assert result.exit_code == 2 and "model file not found" in result.output
    said = f"the scale this vector's card calibrated ({calibration.scale:g} at layers {calibration.layers}"
    assert (said in result.output) is warned
