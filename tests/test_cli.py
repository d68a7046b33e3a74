"""The `rudder` command: help, version, chat, modes and vectors subcommands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder import __version__
from rudder.cli import app
from rudder.vectors.files.card import load_card
from rudder.vectors.files.library import SHIPPED_DIR

LIBRARY = Path(__file__).resolve().parent.parent / "rudder" / "vectors" / "library"
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def test_help_reads_like_documentation() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("chat", "run", "replay", "undo", "vectors", "modes"):
        assert command in result.output
    assert 'rudder run "add a --verbose flag to cli.py"' in result.output
    assert runner.invoke(app, ["vectors", "--help"]).exit_code == 0


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.output.strip() == f"rudder {__version__}"


def test_modes_list_show_and_check(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["modes", "list"])
    assert listed.exit_code == 0 and "careful-review" in listed.output and "fast-draft" in listed.output
    shown = runner.invoke(app, ["modes", "show", "fast-draft"])
    calibration = load_card(SHIPPED_DIR / "terse.smollm2-135m.gguf").calibration  # the mode reads its card
    assert calibration is not None and calibration.scale > 0
    assert shown.exit_code == 0 and f"terse ×{calibration.scale:g} @{calibration.layers}" in shown.output
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[vectors]]\nvector = "terse"\nscale = "lots"\n')
    checked = runner.invoke(app, ["modes", "check", str(bad)])
    assert checked.exit_code == 2 and "bad.toml:4: vectors[0].scale" in checked.output
    assert runner.invoke(app, ["modes", "show", "nope"]).exit_code == 2


def test_vectors_show_and_convert(tmp_path: Path) -> None:
    source = str(LIBRARY / "terse.smollm2-135m.gguf")
    shown = runner.invoke(app, ["vectors", "show", source])
    assert shown.exit_code == 0 and "terse" in shown.output and "mean-diff" in shown.output
    converted = runner.invoke(app, ["vectors", "convert", source, str(tmp_path / "terse.gguf"), "--to", "llama"])
    assert converted.exit_code == 0, converted.output
    assert (tmp_path / "terse.gguf").exists()
    refused = runner.invoke(app, ["vectors", "convert", source, str(tmp_path / "terse.f32"), "--to", "ds4"])
    assert refused.exit_code == 2 and "ds4 only projects directions out" in refused.output
    missing = runner.invoke(app, ["vectors", "show", str(tmp_path / "missing.gguf")])
    assert missing.exit_code == 2 and "vector file not found" in missing.output


@pytest.mark.slow
def test_chat_answers_each_piped_line_with_the_conversation_so_far() -> None:
    questions = "What is the capital of France?\nAnd of Italy?\n/exit\n"
    result = runner.invoke(app, ["chat", "--max-tokens", "16"], input=questions)
    assert result.exit_code == 0, result.output
    # What the model answers depends on the CPU's kernels (greedy text differs between AVX-512 and AVX2
    # builds: "Paris" on one, "La femme de France, ..." on another), so the test holds the conversation to
    # account, not the words: two answers, and the second prompt begins with the whole first exchange.
    turns = re.findall(r"\[(\d+) tokens, \d+ tok/s, prompt (\d+) new \+ (\d+) cached\]", result.output)
    assert len(turns) == 2, result.output
    (answered, first_prompt, first_cached), (_, _, reused) = ((int(n) for n in turn) for turn in turns)
    assert first_cached == 0 and answered > 0
    # the second prompt starts with the first prompt and the first answer (all of it but, at most, its last
    # token, which the chat template may tokenize differently once the answer is followed by <|im_end|>)
    assert reused >= first_prompt + answered - 1, result.output


@pytest.mark.slow
def test_vectors_sites_and_apply() -> None:
    sites = runner.invoke(app, ["vectors", "sites"])
    assert sites.exit_code == 0 and "l_out" in sites.output and "ffn_out" in sites.output
    applied = runner.invoke(
        app,
        [
            "vectors",
            "apply",
            str(LIBRARY / "terse.smollm2-135m.gguf"),
            "What is a volcano?",
            "--layers",
            "10-15",
            "--max-tokens",
            "60",
        ],
    )
    assert applied.exit_code == 0, applied.output
    assert "unsteered" in applied.output and "terse ×0.05" in applied.output


def test_bad_config_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".rudder.toml").write_text("[model]\nn_ctx = 'huge'\n")
    result = runner.invoke(app, ["chat"])
    assert result.exit_code == 2 and ".rudder.toml: model.n_ctx" in result.output
