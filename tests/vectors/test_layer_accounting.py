"""How many layers a control-vector file says its model has, across formats and conversions.

llama.cpp control vectors carry `controlvector.layer_count` and `direction.{il}` with il from 1;
llama-cvector-generator and repeng write one direction per steerable layer, so a full file of an
n_layer model has layer_count = n_layer - 1. A file that covers layers 1-28 of a 30-layer model
must still say 30, or it no longer applies to the model it was made for.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.model_file import embedded_model_path
from rudder.vectors.files.formats import VectorFormat, load_vector, model_identity_from_gguf, save_vector
from tests.vectors.format_samples import MODEL, N_EMBD, N_LAYER, assert_same_data, make_vector, write_gguf

LIBRARY = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library"
TERSE = LIBRARY / "terse.smollm2-135m.gguf"


def test_written_layer_count_is_the_models_steerable_layers_not_the_tensor_count(tmp_path: Path) -> None:
    for fmt in (VectorFormat.LLAMA, VectorFormat.RUDDER):
        save_vector(make_vector((1, 2)), tmp_path / f"{fmt}.gguf", fmt)
        reader = gguf.GGUFReader(str(tmp_path / f"{fmt}.gguf"))
        assert reader.fields["controlvector.layer_count"].contents() == N_LAYER - 1


def test_llama_export_keeps_the_model_identity_and_residual_norms(tmp_path: Path) -> None:
    vector = make_vector((1, 2))  # does not reach the last layers
    save_vector(vector, tmp_path / "v.gguf", VectorFormat.LLAMA)
    alone = load_vector(tmp_path / "v.gguf")
    assert alone.meta.model == MODEL
    assert alone.meta.layer_norms == vector.meta.layer_norms
    assert alone.meta == vector.meta
    assert_same_data(vector, alone)
    alone.check_model(MODEL)


def test_a_foreign_file_takes_n_layer_from_layer_count(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "foreign.gguf",
        {"direction.2": np.ones(N_EMBD, np.float32)},
        controlvector__model_hint="llama",
        controlvector__layer_count=("add_int32", N_LAYER - 1),
    )
    assert load_vector(path).meta.model.n_layer == N_LAYER


def test_convert_llama_to_rudder_still_applies_to_the_model(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    smollm2 = model_identity_from_gguf(embedded_model_path())
    llama, back = tmp_path / "terse.llama.gguf", tmp_path / "terse.rudder.gguf"
    assert runner.invoke(app, ["vectors", "convert", str(TERSE), str(llama), "--to", "llama"]).exit_code == 0
    result = runner.invoke(app, ["vectors", "convert", str(llama), str(back), "--to", "rudder"])
    assert result.exit_code == 0, result.output
    converted = load_vector(back)
    converted.check_model(smollm2)  # raised "made for n_layer=29" before
    assert converted.meta.model.n_layer == 30 and converted.meta.layer_norms == load_vector(TERSE).meta.layer_norms

    shown = runner.invoke(app, ["vectors", "show", str(llama)])
    assert shown.exit_code == 0, shown.output
    assert "30 layers" in shown.output
    norm = load_vector(TERSE).meta.layer_norms[10]
    row = next(line for line in shown.output.splitlines() if line.strip().startswith("│ 10 "))
    assert f"{norm:.1f}" in row  # the residual norm column is filled, not "-"


def test_convert_takes_a_foreign_files_identity_from_model(tmp_path: Path) -> None:
    """A repeng file naming a few layers says nothing about the model; --model fills it in from the header."""
    smollm2 = model_identity_from_gguf(embedded_model_path())
    rows = {f"direction.{il}": np.ones(smollm2.n_embd, np.float32) for il in (10, 11)}
    path = write_gguf(tmp_path / "repeng.gguf", rows, controlvector__model_hint="llama", controlvector__layer_count=2)
    runner = CliRunner()
    out = tmp_path / "out.gguf"
    args = ["vectors", "convert", str(path), str(out), "--model", str(embedded_model_path())]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert load_vector(out).meta.model == smollm2
