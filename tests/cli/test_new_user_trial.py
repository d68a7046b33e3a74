"""What a new user's first hour hit (issue 22, item 5): bad values are one clear error, never a traceback;
options given before the command reach it or are refused; help reads alike everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.engine import Engine
from rudder.engine.model_file import ModelLoadError
from tests.helpers import make_repo

TERSE = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"


def _no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_a_bad_rudder_threads_is_one_clear_error(tmp_path: Path, runner: CliRunner, monkeypatch) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    monkeypatch.setenv("RUDDER_THREADS", "abc")
    result = runner.invoke(app, ["run", "x", "--repo", "repo"])
    _no_traceback(result)
    assert result.exit_code == 2 and "RUDDER_THREADS: expected a whole number of threads, got 'abc'" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["vectors", "apply", str(TERSE), "hi", "--max-tokens", "-5"], "--max-tokens"),
        (["vectors", "apply", str(TERSE), "hi", "--scale", "nan"], "expected a finite number, got nan"),
        (["vectors", "apply", str(TERSE), "hi", "--scale", "inf"], "expected a finite number, got inf"),
        (["run", "x", "--temperature", "nan"], "--temperature"),
        (["chat", "--max-tokens", "0"], "--max-tokens"),
        (["vectors", "check", str(TERSE), "--scale", "nan"], "expected a finite number"),
        (["vectors", "calibrate", str(TERSE), "--scales", "0.1,nan"], "--scales: give positive magnitudes"),
    ],
    ids=["max-tokens", "scale-nan", "scale-inf", "temperature-nan", "chat-max-tokens", "check-nan", "scales-nan"],
)
def test_bad_numbers_are_refused_before_the_model_loads(
    runner: CliRunner, monkeypatch, args: list[str], expected: str
) -> None:
    def never(*_args, **_kwargs) -> None:
        raise AssertionError("the model was loaded for a value that should have been refused")

    monkeypatch.setattr(Engine, "__init__", never)
    result = runner.invoke(app, args)
    _no_traceback(result)
    assert result.exit_code == 2 and expected in result.output, result.output


def test_trajectory_may_be_a_directory_and_an_unwritable_one_is_a_clear_error(
    tmp_path: Path, runner: CliRunner, monkeypatch
) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    (tmp_path / "runs").mkdir()
    (tmp_path / "a-file").write_text("x")
    missing_model = str(tmp_path / "no-such-model.gguf")
    into_dir = runner.invoke(app, ["run", "x", "-C", "repo", "--trajectory", "runs", "--model", missing_model])
    _no_traceback(into_dir)
    assert "model file not found" in into_dir.output  # the directory was taken; the model was next
    under_file = runner.invoke(app, ["run", "x", "-C", "repo", "--trajectory", "a-file/t.jsonl"])
    _no_traceback(under_file)
    assert under_file.exit_code == 2 and "--trajectory a-file/t.jsonl: cannot write" in under_file.output


@pytest.mark.slow
def test_a_run_with_a_trajectory_directory_writes_its_file_there(tmp_path: Path, runner: CliRunner) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    (tmp_path / "runs").mkdir()
    args = ["run", "say hi", "-C", "repo", "--trajectory", "runs", "--max-steps", "1", "--threads", "1"]
    result = runner.invoke(app, args)
    _no_traceback(result)
    written = list((tmp_path / "runs").glob("*.jsonl"))
    assert len(written) == 1 and json.loads(written[0].read_text().splitlines()[0])["type"] == "run"


def test_options_before_the_command_reach_it(tmp_path: Path, runner: CliRunner, monkeypatch) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    seen: list[object] = []

    def record(self: Engine, config, *args, **kwargs) -> None:
        seen.append((config.n_threads, config.n_ctx))
        raise ModelLoadError("stopped by the test")

    monkeypatch.setattr(Engine, "__init__", record)
    result = runner.invoke(app, ["-C", "repo", "--threads", "3", "--n-ctx", "2048", "run", "say hi"])
    assert "stopped by the test" in result.output, result.output  # -C found the repository
    assert seen == [(3, 2048)]
    listed = runner.invoke(app, ["-C", "repo", "undo", "--list"])
    assert listed.exit_code == 0 and "no agent checkpoints" in listed.output
    runner.invoke(app, ["--threads", "5", "-C", "repo", "run", "x", "--threads", "2"])
    assert seen[-1][0] == 2  # the command's own option wins


@pytest.mark.parametrize(
    "args",
    [["--mode", "fast-draft", "vectors", "show", "terse"], ["--threads", "1", "undo"], ["--threads", "1", "vectors"]],
)
def test_options_before_a_command_that_does_not_take_them_are_refused(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "has no option" in result.output and args[0] in result.output


def test_help_is_plain_everywhere_shows_no_bool_values_and_run_shows_defaults(runner: CliRunner) -> None:
    helps = {
        " ".join(args): runner.invoke(app, [*args, "--help"]).output
        for args in ([], ["run"], ["vectors"], ["vectors", "apply"], ["modes"], ["ab", "run"], ["replay"])
    }
    for name, text in helps.items():
        assert "<bool>" not in text, name
        assert "╭" not in text, name  # one style: the top level's plain sections, not boxed panels
        assert re.search(r"^Options:$", text, re.MULTILINE), name
        assert "--install-completion" not in text, name
    run = "".join(helps["run"].split())  # whatever the wrapping
    for default in ("[default:20]", "[default:no-plan]", "[default:0]", "[default:8192]", "neutral"):
        assert default in run, default
