"""Mode files through the CLI: a bad file in .rudder/modes is a warning, not a blocked repo."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rudder.cli import app
from tests.helpers import make_repo


def _repo_with_bad_modes(path: Path) -> Path:
    make_repo(path, {"README.md": "hi\n"})
    modes = path / ".rudder" / "modes"
    modes.mkdir(parents=True)
    (modes / "broken.toml").write_text('name = "broken"\nscale = 3\n')
    (modes / "garbled.toml").write_text("name = \n")
    return path


def test_modes_list_reports_every_bad_file_and_lists_the_rest(tmp_path: Path, runner: CliRunner) -> None:
    repo = _repo_with_bad_modes(tmp_path / "repo")
    result = runner.invoke(app, ["modes", "list", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "fast-draft" in result.output
    assert "broken.toml:2: scale: unknown key" in result.output and "garbled.toml: not valid TOML" in result.output


def test_run_is_not_blocked_by_a_bad_mode_it_does_not_use(tmp_path: Path, runner: CliRunner) -> None:
    repo = _repo_with_bad_modes(tmp_path / "repo")
    missing_model = tmp_path / "no-such-model.gguf"
    result = runner.invoke(app, ["run", "say hi", "--repo", str(repo), "--model", str(missing_model)])
    assert result.exit_code == 2
    assert "warning" in result.output and "broken.toml" in result.output and "garbled.toml" in result.output
    assert "model file not found" in result.output  # it went on to load the model: the modes did not block it


def test_run_with_a_bad_selected_mode_is_one_clear_error(tmp_path: Path, runner: CliRunner) -> None:
    repo = _repo_with_bad_modes(tmp_path / "repo")
    missing_model = tmp_path / "no-such-model.gguf"
    result = runner.invoke(app, ["run", "hi", "--repo", str(repo), "--mode", "broken", "--model", str(missing_model)])
    assert result.exit_code == 2
    assert "mode 'broken' is defined in a file with errors" in result.output and "broken.toml:2" in result.output
    assert "model file not found" not in result.output  # refused before loading a model


def test_a_broken_neutral_override_warns_and_the_default_run_goes_on(tmp_path: Path, runner: CliRunner) -> None:
    repo = _repo_with_bad_modes(tmp_path / "repo")
    (repo / ".rudder" / "modes" / "neutral.toml").write_text('name = "neutral"\ntemperature = "hot"\n')
    missing_model = tmp_path / "no-such-model.gguf"
    result = runner.invoke(app, ["run", "say hi", "--repo", str(repo), "--model", str(missing_model)])
    assert result.exit_code == 2
    assert "neutral.toml:2: temperature" in result.output and "comes from" in result.output
    assert "model file not found" in result.output  # the built-in neutral ran: the model was the next thing
    listed = runner.invoke(app, ["run", "hi", "--repo", str(repo), "--mode", "nope", "--model", str(missing_model)])
    assert "available:" in listed.output and "neutral" in listed.output.split("available:")[1]
