"""`--layers` is checked when it is parsed: an empty or malformed value is one error naming the option,
before any model loads (an empty value used to mean 'every layer' to some commands)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app

DATASET = str(Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl")


@pytest.mark.parametrize(
    "args",
    [
        ["vectors", "apply", "terse", "hi"],
        ["vectors", "check", "terse"],
        ["vectors", "calibrate", "terse"],
        ["vectors", "extract", DATASET],
    ],
)
@pytest.mark.parametrize("value", ["", " "])
def test_empty_layers_is_an_error_naming_the_option(runner: CliRunner, args: list[str], value: str) -> None:
    result = runner.invoke(app, [*args, "--layers", value])
    assert result.exit_code == 2, result.output
    assert "--layers: empty" in result.output and "10-15" in result.output
    assert "Traceback" not in result.output


def test_malformed_layers_are_named_before_the_model_loads(runner: CliRunner) -> None:
    result = runner.invoke(app, ["vectors", "apply", "terse", "hi", "-l", "12-10", "--model", "/nonexistent.gguf"])
    assert result.exit_code == 2
    assert "--layers: layer range '12-10' runs backwards" in result.output  # not the missing model
