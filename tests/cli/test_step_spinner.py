"""Without --stream, a step is seconds of silence: on a terminal `rudder run` shows a spinner with the step and
its token count (issue 22, item 5); in a pipe or a log it prints nothing extra. Real rich consoles, fed the
agent's own events through the listener `rudder run` installs."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rudder.agent.events import StepFinished, StepStarted, Token
from rudder.agent.records import StepRecord
from rudder.cli import run as run_cli
from rudder.cli.progress import StepSpinner
from rudder.interfaces import StepKind


def _step(listen, tokens: int) -> None:
    listen(StepStarted(index=3, kind=StepKind.EDIT, mode="neutral"))
    for _ in range(tokens):
        listen(Token(step=3, text="x", phase="call"))
    listen(StepFinished(StepRecord(index=3, kind=StepKind.EDIT, mode="neutral", generated_tokens=tokens)))


@pytest.mark.parametrize("terminal", [True, False])
def test_the_spinner_shows_the_step_and_its_tokens_only_on_a_terminal(monkeypatch, terminal: bool) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, color_system=None)
    monkeypatch.setattr(run_cli, "console", console)
    monkeypatch.setattr(run_cli, "spinner", StepSpinner(console, refresh=0.0))
    _step(run_cli.make_listener(show_tokens=False), tokens=42)
    shown = out.getvalue()
    assert ("step 3 (edit, mode neutral): 42 tokens" in shown) is terminal
    assert "42 tokens, gen" in shown  # the step summary line, on a terminal or not
    assert run_cli.spinner._status is None  # stopped when the step ended


def test_streamed_tokens_are_shown_as_text_and_no_spinner(monkeypatch) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr(run_cli, "console", console)
    monkeypatch.setattr(run_cli, "spinner", StepSpinner(console, refresh=0.0))
    _step(run_cli.make_listener(show_tokens=True), tokens=5)
    assert "xxxxx" in out.getvalue() and ": 5 tokens" not in out.getvalue()
