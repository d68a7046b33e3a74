"""A llama.cpp / repeng control vector carries no residual norms; the norm is the model's, so health checks
and calibration measure it on the prompts they read (issue 22, item 4: `vectors check` refused such a file
even with --dataset, --layers and --scale)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import render_prompts
from rudder.vectors.files.formats import load_vector
from rudder.vectors.trust.norms import measure_norms, missing_norms
from tests.vectors.format_samples import write_gguf

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TERSE = ROOT / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"
DATASET = ROOT / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
LAYERS = range(10, 16)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rudder's terse directions written the way repeng / cvector-generator write a control vector: the
    container and direction.N tensors only, no Rudder metadata."""
    terse = load_vector(TERSE)
    rows = {f"direction.{layer}": terse.directions[layer] for layer in LAYERS}
    path = tmp_path_factory.mktemp("foreign") / "terse.repeng.gguf"
    return write_gguf(path, rows, controlvector__model_hint="llama", controlvector__layer_count=29)


def test_the_foreign_file_has_no_norms_and_the_model_gives_the_ones_rudder_recorded(foreign: Path, engine) -> None:
    plain = load_vector(foreign, model=engine.info.identity)
    assert missing_norms(plain, LAYERS) == list(LAYERS)
    data = load_dataset(DATASET, limit=16)
    prompts = render_prompts(engine, [*data.positives, *data.negatives])
    measured = measure_norms(engine, prompts, LAYERS, "l_out")
    recorded = load_vector(TERSE).meta.layer_norms  # measured by extraction over the whole dataset
    for layer in LAYERS:
        assert measured[layer] == pytest.approx(recorded[layer], rel=0.1), layer


def test_check_measures_the_norms_on_the_dataset(foreign: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["vectors", "check", str(foreign), "--dataset", str(DATASET), "--layers", "10-15", "--limit", "12"]
    result = CliRunner().invoke(app, [*args, "--permutations", "50", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "records no residual norm for layer(s) 10-15" in result.output and "terse_verbose" in result.output
    assert "steering ×0.05 at 10-15" in result.output and "recommended layers" in result.output


def test_calibrate_measures_the_norms_on_its_questions(foreign: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["vectors", "calibrate", str(foreign), "--layers", "10-15", "--prompts", "2", "--max-tokens", "16"]
    result = CliRunner().invoke(app, [*args, "--scales", "0.04", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "measured on the 2 calibration questions" in result.output
    assert "+0.04" in result.output  # the swept scale has a row: relative scales worked
