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
    assert config.agent.approval is None and config.agent.sandbox == "auto" and not config.agent.network


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


# -- a repository may only tighten what the user set ------------------------------------------------


def _repo_with(tmp_path: Path, text: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / ".rudder.toml").write_text(text)
    return repo


def test_repo_cannot_loosen_approval(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text('[agent]\napproval = "ask"\n')
    repo = _repo_with(tmp_path, '[agent]\napproval = "auto"\nmax_steps = 5\n')
    config = load_config(repo)
    assert config.agent.approval == "ask"
    assert config.agent.max_steps == 5  # what is not a permission still applies
    assert config.notes == [
        f"{repo / '.rudder.toml'}: agent.approval = 'auto' ignored: a repository can only tighten approval (yours: ask)"
    ]


def test_repo_auto_does_not_count_as_the_users_explicit_auto(user_dir: Path, tmp_path: Path) -> None:
    config = load_config(_repo_with(tmp_path, '[agent]\napproval = "auto"\n'))
    assert config.agent.approval is None and "yours: not set" in config.notes[0]


def test_repo_can_tighten_approval_sandbox_and_network(user_dir: Path, tmp_path: Path) -> None:
    (user_dir / "config.toml").write_text('[agent]\napproval = "auto"\nnetwork = true\n')
    repo = _repo_with(tmp_path, '[agent]\napproval = "read-only"\nsandbox = "required"\nnetwork = false\n')
    config = load_config(repo)
    assert (config.agent.approval, config.agent.sandbox, config.agent.network) == ("read-only", "required", False)
    assert config.notes == []


def test_repo_cannot_turn_off_sandbox_or_turn_on_network(user_dir: Path, tmp_path: Path) -> None:
    config = load_config(_repo_with(tmp_path, '[agent]\nsandbox = "off"\nnetwork = true\n'))
    assert (config.agent.sandbox, config.agent.network) == ("auto", False)
    assert [note.split(": ", 1)[1].split(" ignored")[0] for note in config.notes] == [
        "agent.sandbox = 'off'",
        "agent.network = True",
    ]


def test_flags_are_the_users_choice(user_dir: Path, tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, '[agent]\napproval = "ask"\n')
    assert load_config(repo, {"agent": {"approval": "auto"}}).agent.approval == "auto"


def test_repo_model_path_and_trajectory_dir_must_stay_inside(user_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.gguf").write_bytes(b"GGUF")
    repo = _repo_with(tmp_path, '[model]\nmodel_path = "../elsewhere.gguf"\n[agent]\ntrajectory_dir = "/tmp/x"\n')
    (repo / "link.gguf").symlink_to(tmp_path / "elsewhere.gguf")
    config = load_config(repo)
    assert config.model.model_path is None and config.agent.trajectory_dir is None
    expected = "model.model_path = '../elsewhere.gguf' ignored: a repository can only name a model file inside"
    assert expected in config.notes[1]
    assert "agent.trajectory_dir = '/tmp/x' ignored: it must stay inside the repository" in config.notes[0]
    (repo / ".rudder.toml").write_text('[model]\nmodel_path = "link.gguf"\n')  # a symlink out counts as outside
    assert load_config(repo).model.model_path is None
    (user_dir / "config.toml").write_text(f'[model]\nmodel_path = "{tmp_path / "elsewhere.gguf"}"\n')
    assert load_config(repo).model.model_path == tmp_path / "elsewhere.gguf"  # the user's own choice stays


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
