"""`extract` checks the layers and site against the loaded model before reading a single prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.sites import Site
from rudder.vectors.extraction.extract import check_capture_layers
from rudder.vectors.vector import VectorError

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
SITES = {"l_out": Site("l_out", list(range(30)), (576,)), "ffn_out": Site("ffn_out", list(range(30)), (576,))}


def test_layers_inside_the_model_pass() -> None:
    check_capture_layers(SITES, "l_out", [0, 10, 29])


@pytest.mark.parametrize(
    ("site", "layers", "message"),
    [
        ("l_out", list(range(41)), r"layers 30-40 do not exist at site l_out; this model has layers 0-29"),
        ("l_out", list(range(25, 36)), r"layers 30-35 do not exist"),
        ("l_out", [31], r"layer 31 does not exist"),
        ("l_out", [], r"no layers chosen"),
        ("bogus", [3], r"unknown site 'bogus'; this model offers ffn_out, l_out"),
    ],
)
def test_layers_outside_the_model_are_one_clear_error(site: str, layers: list[int], message: str) -> None:
    with pytest.raises(VectorError, match=message):
        check_capture_layers(SITES, site, layers)


@pytest.mark.slow
def test_extract_command_refuses_layers_the_model_lacks(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["vectors", "extract", str(DATASET), "-o", str(tmp_path / "v.gguf"), "--limit", "2"]
    for layers, message in (("0-40", "layers 30-40 do not exist"), ("25-35", "layers 30-35 do not exist")):
        result = runner.invoke(app, [*args, "--layers", layers])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert message in result.output and "0-29" in result.output
    assert not (tmp_path / "v.gguf").exists()
