"""Model, tool and user text is printed as written: `[/x]`, `d[key] = 1` and `[exit code 1]` are text,
never Rich markup (which would crash on `[/x]` and silently eat the others)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rudder.agent.events import StepFinished, StepStarted, Token
from rudder.agent.records import StepRecord
from rudder.cli import app
from rudder.cli.run import make_listener, print_summary
from rudder.interfaces import Phase, StepKind

TRICKY = ["[/x] done", "d[key] = 1", "[exit code 1]", "[bold]not bold[/bold]", "[dim](output truncated)[/]"]


def _step(index: int = 0) -> dict:
    return {
        "index": index,
        "kind": "edit",
        "mode": "neutral",
        "steering": {"thought": [{"vector": "[red]v", "scale": 0.05}]},
        "tool": "run_shell",
        "arguments": {"command": "echo '[/x] done'"},
        "observation": "\n".join(TRICKY),
        "ok": False,
    }


def test_the_live_printer_shows_brackets_as_written(capsys) -> None:
    listen = make_listener(show_tokens=True)
    listen(StepStarted(0, StepKind.EDIT, "[/mode]"))
    listen(Token(0, "[/x] token", Phase.THOUGHT))
    listen(StepFinished(StepRecord(**_step())))
    print_summary({"status": "error", "steps": 1, "tokens": 5, "wall_seconds": 1.0, "error": "Boom: [/x] done"})
    err = capsys.readouterr().err
    for text in [*TRICKY, "[/mode]", "[/x] token", "Boom: [/x] done", "echo '[/x] done'", "[red]v"]:
        assert text in err, text


def test_replay_shows_brackets_as_written(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "run.jsonl"
    lines = [
        {"type": "run", "task": "echo '[/x] done'", "mode": "neutral", "model": "m[1]"},
        {"type": "step", **_step()},
        {"type": "end", "status": "finished", "answer": "set d[key] = 1", "steps": 1, "tokens": 9, "wall_seconds": 2},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = runner.invoke(app, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    for text in [*TRICKY, "echo '[/x] done'", "m[1]", "set d[key] = 1"]:
        assert text in result.output, text


def test_modes_commands_show_user_text_as_written(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / ".rudder" / "modes").mkdir(parents=True)
    mode = tmp_path / ".rudder" / "modes" / "tricky.toml"
    mode.write_text('name = "tricky"\ndescription = "[/x] careful"\naddendum = "Set d[key] = 1 first."\n')
    listed = runner.invoke(app, ["modes", "list"])
    assert listed.exit_code == 0, listed.output
    assert "[/x] careful" in listed.output
    shown = runner.invoke(app, ["modes", "show", "tricky"])
    assert shown.exit_code == 0, shown.output
    assert "[/x] careful" in shown.output and "Set d[key] = 1 first." in shown.output
    weird = tmp_path / "[bold]x.toml"
    weird.write_text(mode.read_text())
    checked = runner.invoke(app, ["modes", "check", str(weird)])
    assert checked.exit_code == 0, checked.output
    assert "[bold]x.toml: ok" in checked.output


def test_vectors_show_prints_names_and_descriptions_as_written(tmp_path: Path, runner: CliRunner) -> None:
    from rudder.vectors.files.formats import save_vector
    from tests.vectors.format_samples import make_vector

    vector = make_vector()
    vector.meta = vector.meta.model_copy(update={"name": "[/x]", "description": "d[key] = 1", "dataset": "[data]"})
    save_vector(vector, tmp_path / "v.gguf")
    shown = runner.invoke(app, ["vectors", "show", str(tmp_path / "v.gguf")])
    assert shown.exit_code == 0, shown.output
    assert "[/x] - d[key] = 1" in shown.output and "dataset [data]" in shown.output


def test_the_side_by_side_table_shows_model_text_as_written() -> None:
    from rich.console import Console

    from rudder.cli.vectors import comparison_table

    console = Console(record=True, width=200)
    console.print(comparison_table("use d[key] = 1 [/x]", "[bold]short[/bold]", "terse", 0.05))
    text = console.export_text()
    assert "use d[key] = 1 [/x]" in text and "[bold]short[/bold]" in text and "terse ×0.05 (1 words)" in text
