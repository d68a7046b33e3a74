"""Vector names: plain names only for the library, and a name works wherever a vector is accepted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.util.dirs import user_config_dir
from rudder.vectors.files.formats import load_vector, save_vector
from rudder.vectors.files.library import SHIPPED_DIR, check_vector_name, find_vector
from rudder.vectors.vector import VectorError

TERSE = SHIPPED_DIR / "terse.smollm2-135m.gguf"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def _save_as(name: str) -> Path:
    vector = load_vector(TERSE)
    vector.meta = vector.meta.model_copy(update={"name": name})
    path = user_config_dir() / "vectors" / f"{name}.gguf"
    save_vector(vector, path)
    return path


@pytest.mark.parametrize("name", ["../../evil", "a/b", "..", ".hidden", "x\\y", "", "a" * 65, "~root", "/abs"])
def test_library_names_must_be_plain(name: str) -> None:
    with pytest.raises(VectorError, match="plain name"):
        check_vector_name(name)


@pytest.mark.parametrize("name", ["terse", "my-vector_2", "v1.2"])
def test_plain_names_pass(name: str) -> None:
    assert check_vector_name(name) == name


def test_extract_refuses_a_save_name_that_leaves_the_library(tmp_path: Path) -> None:
    dataset = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
    result = CliRunner().invoke(app, ["vectors", "extract", str(dataset), "--save", "../../evil"])
    assert result.exit_code == 2, result.output
    assert "--save: '../../evil' is not a plain name" in result.output
    assert not list(tmp_path.rglob("evil*"))


def test_find_vector_takes_files_then_library_names(tmp_path: Path) -> None:
    saved = _save_as("mine")
    assert find_vector("mine", None) == saved
    assert find_vector("terse", None) == TERSE
    assert find_vector(str(TERSE), None) == TERSE
    shutil.copy(TERSE, tmp_path / "local.gguf")
    assert find_vector("local.gguf", None).resolve() == tmp_path / "local.gguf"
    shutil.copy(TERSE, tmp_path / "bare")
    assert find_vector("bare", None).resolve() == tmp_path / "bare"  # an existing file wins over the library
    with pytest.raises(VectorError, match=r"no vector file or library vector named 'nosuch'.*available: .*mine.*terse"):
        find_vector("nosuch", None)


def test_vectors_show_and_convert_take_a_library_name(tmp_path: Path) -> None:
    _save_as("mine")
    runner = CliRunner()
    shown = runner.invoke(app, ["vectors", "show", "mine"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("mine - ")
    converted = runner.invoke(app, ["vectors", "convert", "terse", str(tmp_path / "t.gguf"), "--to", "llama"])
    assert converted.exit_code == 0, converted.output
    missing = runner.invoke(app, ["vectors", "show", "nosuch"])
    assert missing.exit_code == 2 and "no vector file or library vector named 'nosuch'" in missing.output


def test_vectors_apply_refuses_an_unknown_name_before_loading_the_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["vectors", "apply", "nosuch", "hi", "--model", str(tmp_path / "no.gguf")])
    assert result.exit_code == 2
    assert "no vector file or library vector named 'nosuch'" in result.output


@pytest.mark.slow
def test_vectors_apply_finds_a_vector_saved_by_name() -> None:
    _save_as("mine")
    result = CliRunner().invoke(app, ["vectors", "apply", "mine", "What is rain?", "--max-tokens", "8", "-l", "10-15"])
    assert result.exit_code == 0, result.output
    assert "mine ×0.05" in result.output


@pytest.mark.parametrize("command", ["check", "calibrate"])
def test_vectors_check_and_calibrate_take_a_library_name(tmp_path: Path, command: str) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["vectors", command, "nosuch"])
    assert unknown.exit_code == 2 and "no vector file or library vector named 'nosuch'" in unknown.output
    dataset = Path(__file__).resolve().parents[2] / "rudder/vectors/datasets/terse_verbose.jsonl"
    extra = ["--dataset", str(dataset)] if command == "check" else []
    known = runner.invoke(app, ["vectors", command, "terse", *extra, "--model", str(tmp_path / "no.gguf")])
    assert known.exit_code == 2 and "model file not found" in known.output, known.output  # resolved, went on
