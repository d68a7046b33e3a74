"""`rudder vectors calibrate` on a vector without a card: one clear error before the model loads, instead of
sweeping all its layers at once and reporting a calibrated scale of +0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.files.formats import VectorFormat, save_vector
from rudder.vectors.vector import ModelIdentity, SteeringVector, VectorMeta

MODEL = ModelIdentity(architecture="llama", name="tiny", n_embd=8, n_layer=30, layout_hash="ab" * 32)


def test_a_card_less_vector_with_many_layers_needs_layers(tmp_path: Path, runner: CliRunner) -> None:
    rng = np.random.default_rng(0)
    meta = VectorMeta(name="wide", model=MODEL, layer_norms={layer: 50.0 for layer in range(1, 29)})
    vector = SteeringVector(meta, {layer: rng.standard_normal(8).astype(np.float32) for layer in range(1, 29)})
    path = tmp_path / "wide.gguf"
    save_vector(vector, path, VectorFormat.LLAMA)
    result = runner.invoke(app, ["vectors", "calibrate", str(path), "--model", str(tmp_path / "absent.gguf")])
    assert result.exit_code == 2, result.output
    assert "no card with a recipe says which layers to steer" in result.output
    assert "all 28 of its layers (1-28)" in result.output and "--layers" in result.output
    assert "absent.gguf" not in result.output  # decided before any model is looked for
