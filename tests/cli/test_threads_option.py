"""Every command that loads the model takes --threads, and the number reaches the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.engine import Engine
from rudder.engine.model_file import ModelLoadError
from tests.helpers import make_repo

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
TERSE = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"
HEADER_ONLY = {"vectors convert", "modes list"}  # --model there reads the model file's header; nothing is loaded


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for name in group.list_commands(None):  # commands load lazily (rudder/cli/lazy.py): ask, do not peek
        command = group.get_command(None, name)
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            found += _commands(command, f"{path} ")
        else:
            found.append((path, command))
    return found


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_with_a_model_option_has_threads() -> None:
    commands = _commands(typer.main.get_command(app))
    with_model = [path for path, command in commands if "--model" in _options(command) and path not in HEADER_ONLY]
    assert {"chat", "run", "vectors extract", "vectors apply", "vectors sites", "vectors check"} <= set(with_model)
    lacking = [path for path, command in commands if path in with_model and "--threads" not in _options(command)]
    assert lacking == []


@pytest.fixture
def seen_threads(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Engine construction records the thread count it was given, then stops the command."""
    seen: list[int | None] = []

    def fake_init(self: Engine, config, *args, **kwargs) -> None:
        seen.append(config.n_threads)
        raise ModelLoadError("stopped by the test")

    monkeypatch.setattr(Engine, "__init__", fake_init)
    return seen


@pytest.mark.parametrize(
    "args",
    [
        ["chat"],
        ["run", "say hi", "--repo", "repo"],
        ["vectors", "extract", str(DATASET), "-o", "v.gguf"],
        ["vectors", "apply", str(TERSE), "hi"],
        ["vectors", "sites"],
        ["vectors", "check", str(TERSE), "--dataset", str(DATASET)],
        ["vectors", "calibrate", str(TERSE)],
    ],
    ids=lambda args: " ".join(args[:2]) if args[0] == "vectors" else args[0],
)
def test_threads_reach_the_engine(tmp_path: Path, runner: CliRunner, seen_threads: list, args: list[str]) -> None:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    result = runner.invoke(app, [*args, "--threads", "3"])
    assert "stopped by the test" in result.output, result.output
    assert seen_threads == [3]


def test_ab_workers_split_the_same_default_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from rudder.ab.pool import threads_per_worker
    from rudder.engine.config import default_threads

    monkeypatch.delenv("RUDDER_THREADS", raising=False)
    assert threads_per_worker(1) == default_threads()  # never every core: one spinning worker would collapse
    monkeypatch.setenv("RUDDER_THREADS", "3")  # what `rudder ab run --threads 3` sets
    assert (threads_per_worker(1), threads_per_worker(2), threads_per_worker(4)) == (3, 1, 1)
