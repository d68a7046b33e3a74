"""Config layering and errors (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.config import ConfigError, load_config


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "user"
    directory.mkdir()
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(directory))
    return directory


def test_defaults_without_files(user_dir: Path, tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.model.model_path is None and config.sampling.temperature == 0.0
    assert config.agent.approval == "auto"


def test_layers_override_in_order(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text("[model]\nn_ctx = 2048\nn_batch = 256\n[agent]\nmax_steps = 7\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".rudder.toml").write_text('[model]\nn_ctx = 1024\nmodel_path = "models/m.gguf"\n')
    config = load_config(repo, {"agent": {"max_steps": 3, "approval": None}})
    assert config.model.n_ctx == 1024  # repo beats user
    assert config.model.n_batch == 256  # user kept where repo is silent
    assert config.agent.max_steps == 3  # flags beat files; None flags are ignored
    assert config.model.model_path == (repo / "models" / "m.gguf").resolve()


def test_bad_value_names_file_and_key(user_dir: Path, tmp_path: Path) -> None:
    (tmp_path / ".rudder.toml").write_text('[model]\nn_ctx = "big"\n')
    with pytest.raises(ConfigError, match=r"\.rudder\.toml: model\.n_ctx: Input should be a valid integer.*'big'"):
        load_config(tmp_path)


def test_unknown_key_and_bad_toml(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text("[agent]\nmax_step = 3\n")
    with pytest.raises(ConfigError, match=r"config\.toml: agent\.max_step: unknown key"):
        load_config(tmp_path)
    (user_dir / "config.toml").write_text("[agent\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path)


def test_bad_flag_is_reported_as_command_line(user_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command line: agent.approval"):
        load_config(tmp_path, {"agent": {"approval": "sometimes"}})


def test_model_path_resolves_against_where_it_was_written(
    user_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag resolves against the current directory, a config file's path against that file's directory."""
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    flag = load_config(repo, {"model": {"model_path": "m.gguf"}})
    assert flag.model.model_path == elsewhere / "m.gguf"
    (user_dir / "config.toml").write_text('[model]\nmodel_path = "models/u.gguf"\n')
    assert load_config(repo).model.model_path == user_dir / "models" / "u.gguf"  # not repo/models/u.gguf
    assert load_config(None).model.model_path == user_dir / "models" / "u.gguf"
    (repo / ".rudder.toml").write_text('[model]\nmodel_path = "r.gguf"\n')
    assert load_config(repo).model.model_path == repo / "r.gguf"
    assert load_config(repo, {"model": {"model_path": "~/x.gguf"}}).model.model_path == Path.home() / "x.gguf"


def test_run_reports_a_relative_model_against_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from rudder.cli import app
    from tests.helpers import make_repo

    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    result = CliRunner().invoke(app, ["run", "say hi", "--repo", "../repo", "--model", "m.gguf"])
    assert result.exit_code == 2
    assert f"model file not found: {tmp_path / 'here' / 'm.gguf'}" in result.output
