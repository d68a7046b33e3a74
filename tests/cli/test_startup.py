"""Quick commands stay quick: `rudder --help`, `modes list` and `vectors show` load none of the heavy
machinery (llama.cpp, the UI, the A/B harness, numpy, gguf, GitPython), and the last two not even typer
(rudder/cli/quick.py answers them with the same code the typer commands run). Behaviour tests, not
timing ones: each command runs as a real `python -m rudder` process and reports what it imported at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.cli.quick import answer

ROOT = Path(__file__).resolve().parents[2]
# `modes list` reads the config (its agent section is rudder.agent.config, a pydantic model) to know which model's
# vectors to show: the agent's machinery (session, tools, protocols) must still stay out
HEAVY = ("llama_cpp", "textual", "inspect_ai", "numpy", "gguf", "git", "rudder.engine.engine", "rudder.agent.session")
PROBE = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules} | "
    "{m for m in sys.modules if m.startswith('rudder.')})), file=sys.stderr))\n"
    "sys.argv = ['rudder', *sys.argv[1:]]\n"
    "import runpy; runpy.run_module('rudder', run_name='__main__')\n"
)


def run_rudder(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`rudder ARGS` as a real process: the result, and the modules it had loaded at exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd / "cfg")}
    env |= {"COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES "))
    return result, set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize("args", [["--help"], ["modes", "list"], ["vectors", "show", "terse"]], ids=" ".join)
def test_quick_commands_do_not_load_the_heavy_machinery(args: list[str], tmp_path: Path) -> None:
    result, loaded = run_rudder(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # it did its job
    assert not loaded & set(HEAVY), f"rudder {' '.join(args)} imported {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize(
    "args",
    [
        ["modes", "list"],
        ["modes", "list", "--twins"],
        ["modes", "list", "-C", "repo"],
        ["modes", "list", "--repo=repo", "--no-twins"],
        ["vectors", "show", "terse"],
        ["vectors", "show", "no-such-vector"],
    ],
    ids=" ".join,
)
def test_the_quick_answers_are_the_typer_commands_answers(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo").mkdir()
    result, loaded = run_rudder(args, tmp_path)
    assert "typer" not in loaded and "click" not in loaded
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # as run_rudder's process: the tables wrap at the same width
    typer_result = CliRunner().invoke(app, args)
    assert result.returncode == typer_result.exit_code
    assert result.stdout == typer_result.stdout
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == [line for line in typer_result.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    "args",
    [
        ["modes", "list", "--help"],
        ["modes", "list", "--repo", "missing-dir"],
        ["modes", "list", "--repo="],
        ["modes", "list", "-C", "--twins"],
        ["modes", "list", "--bogus"],
        ["vectors", "show"],
        ["vectors", "show", "--help"],
        ["vectors", "show", "terse", "extra"],
        ["--repo", ".", "modes", "list"],
    ],
    ids=" ".join,
)
def test_anything_but_the_plain_forms_goes_to_typer(args: list[str]) -> None:
    assert answer(args) is None
