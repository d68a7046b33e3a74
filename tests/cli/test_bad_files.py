"""Bad files a user may have lying around: one clear error line naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rudder.cli import app
from tests.helpers import make_repo

NOT_UTF8 = b"\xfc\xc8\x00name = \xe9\n"


def _assert_one_clear_error(result, name: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, UnicodeDecodeError)
    assert f"{name}: not a UTF-8 text file" in result.output, result.output


def test_binary_repo_config_is_one_error(tmp_path: Path, runner: CliRunner) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    (repo / ".rudder.toml").write_bytes(NOT_UTF8)
    result = runner.invoke(app, ["run", "say hi", "--repo", str(repo)])
    _assert_one_clear_error(result, ".rudder.toml")


def test_binary_mode_file_is_one_error_in_check_and_a_warning_in_list(tmp_path: Path, runner: CliRunner) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    modes = repo / ".rudder" / "modes"
    modes.mkdir(parents=True)
    (modes / "bin.toml").write_bytes(NOT_UTF8)
    _assert_one_clear_error(runner.invoke(app, ["modes", "check", str(modes / "bin.toml")]), "bin.toml")
    listed = runner.invoke(app, ["modes", "list", "--repo", str(repo)])
    assert listed.exit_code == 0 and "fast-draft" in listed.output, listed.output
    assert "bin.toml: not a UTF-8 text file" in listed.output


def test_convert_to_an_unwritable_place_is_one_error(tmp_path: Path, runner: CliRunner) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (blocker / "sub" / "out.gguf", tmp_path):  # a parent that is a file; a directory
        result = runner.invoke(app, ["vectors", "convert", "terse", str(target), "--to", "llama"])
        assert result.exit_code != 0 and not isinstance(result.exception, OSError), result.output
        assert f"{target}: cannot write" in result.output, result.output
    assert not [p for p in tmp_path.iterdir() if "rudder-tmp" in p.name]  # no temporary file left behind


def test_a_missing_vector_file_is_named_before_its_card_or_dataset(tmp_path: Path, runner: CliRunner) -> None:
    for command in ("check", "calibrate", "show"):
        result = runner.invoke(app, ["vectors", command, "nope.gguf"])
        assert result.exit_code != 0
        assert "vector file not found: nope.gguf" in result.output, (command, result.output)
