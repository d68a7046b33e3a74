"""`rudder modes check FILE` checks what a mode refers to, not only its syntax: every vector resolves
(a library name or a file next to the mode) and every layer exists in that vector's model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.modes.registry import BUILTIN_DIR
from rudder.vectors.files.library import SHIPPED_DIR


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["modes", "check", str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize("builtin", sorted(BUILTIN_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_builtin_modes_check_ok(builtin: Path) -> None:
    code, output = check(builtin)
    assert code == 0 and ": ok" in output, output


def test_a_missing_vector_name_is_reported_with_its_line(tmp_path: Path) -> None:
    mode = tmp_path / "m.toml"
    mode.write_text('name = "m"\n\n[[vectors]]\nvector = "nosuch"\nscale = 0.05\n')
    code, output = check(mode)
    assert code == 2
    assert "m.toml:4: vectors[0].vector: no vector named 'nosuch'" in output and "terse" in output  # what there is


def test_layers_the_vectors_model_lacks_are_reported(tmp_path: Path) -> None:
    mode = tmp_path / "m.toml"
    mode.write_text(
        'name = "m"\n[[vectors]]\nvector = "terse"\nscale = 0.05\nlayers = "99-200"\n'
        '[steps.review]\nvectors = [{ vector = "careful", scale = 0.04, layers = "28-31" }]\n'
    )
    code, output = check(mode)
    assert code == 2, output
    assert "m.toml:5: vectors[0].layers: layers 99-200 are not in vector 'terse'" in output
    assert "made for n_layer=30" in output and "it has layers 1-28" in output
    assert "steps.review.vectors[0].layers: layers 29-31 are not in vector 'careful'" in output


def test_a_vector_file_next_to_the_mode_resolves(tmp_path: Path) -> None:
    (tmp_path / "modes").mkdir()
    shutil.copy(SHIPPED_DIR / "terse.smollm2-135m.gguf", tmp_path / "modes" / "mine.gguf")
    mode = tmp_path / "modes" / "m.toml"
    mode.write_text('name = "m"\n[[vectors]]\nvector = "mine.gguf"\nscale = 0.05\nlayers = "10-15"\n')
    code, output = check(mode)
    assert code == 0, output
    mode.write_text('name = "m"\n[[vectors]]\nvector = "gone.gguf"\nscale = 0.05\n')
    code, output = check(mode)
    assert code == 2 and "m.toml:3: vectors[0].vector: vector file not found" in output
