"""Commands load only when they run: the one-line helps `rudder --help` shows without loading them are
the commands' own, and listing commands imports neither llama.cpp nor the agent or tools."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
import typer

from rudder.cli import COMMANDS
from rudder.cli import vectors as vectors_cli
from rudder.cli.lazy import load_command, short_help

LAZY_TABLES = {"": COMMANDS, "vectors ": vectors_cli.app.info.cls.lazy}


@pytest.mark.parametrize(
    ("name", "target", "help_line"),
    [
        (prefix + name, target, help_line)
        for prefix, table in LAZY_TABLES.items()
        for name, (target, help_line) in table.items()
    ],
)
def test_lazy_help_matches_the_command(name: str, target: str, help_line: str) -> None:
    command = load_command(target, name.split()[-1])
    if isinstance(command, click.Group):  # a sub-app: its help is the Typer's
        assert help_line == command.help
    else:
        assert help_line == short_help(command)


def test_help_lists_every_command_without_loading_them() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from rudder.cli import app; "
        "out = CliRunner().invoke(app, ['--help']).output; "
        "print(all(c in out for c in ('chat', 'run', 'replay', 'undo', 'acp', 'vectors', 'modes'))); "
        "print(sorted(m for m in ('llama_cpp', 'numpy', 'git', 'rudder.agent.session', 'rudder.tools.base') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "True"
    assert out[1] == "[]", f"rudder --help loaded {out[1]}"


def test_vectors_show_loads_no_llama_cpp_or_tools(tmp_path) -> None:
    from pathlib import Path

    library = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"
    code = (
        "import sys; from typer.testing import CliRunner; from rudder.cli import app; "
        f"r = CliRunner().invoke(app, ['vectors', 'show', {str(library)!r}]); print(r.exit_code); "
        "heavy = ('llama_cpp', 'git', 'rudder.agent.session', 'rudder.tools.base'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out == ["0", "[]", ""]
    assert isinstance(vectors_cli.app, typer.Typer)
