"""Keys outside the prompt (issue 22): typing a task while the transcript had the focus switched modes and
toggled blocks. Only mode letters are hotkeys there; any other printable key goes into the prompt. And the
steering panel's slider says its value and position in text (tmux drew the Slider as an empty box)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.ui.widgets.mode_bar import ModeBar
from rudder.ui.widgets.steering_panel import SteeringPanel, position_text
from tests.ui.conftest import make_app, ready, until

pytestmark = pytest.mark.slow


async def test_a_printable_key_outside_the_prompt_goes_into_it_and_mode_letters_stay_hotkeys(
    engine, repo: Path
) -> None:
    app = make_app(engine, repo)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        screen.transcript.focus()
        await pilot.press("x")  # not a hotkey: the user is typing
        assert screen.focused is screen.prompt and screen.prompt.text == "x"
        await pilot.press(*"ix the bug")  # the prompt has the focus now: every letter is text, hotkeys too
        assert screen.prompt.text == "xix the bug"
        assert screen.query_one(ModeBar).pending == "" and screen.bridge.mode.name == "neutral"
        screen.transcript.focus()
        await pilot.press("f")  # a mode letter outside the prompt is still the mode's hotkey
        assert screen.query_one(ModeBar).pending == "fast-draft" and screen.prompt.text == "xix the bug"


async def test_when_a_turn_ends_the_prompt_has_the_focus_and_typing_goes_on_there(engine, repo: Path) -> None:
    app = make_app(engine, repo)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        screen.prompt.text = "explain hello.py"
        await pilot.press("enter")
        assert screen.busy and screen.focused is not screen.prompt  # while it works, keys are hotkeys
        await pilot.press("escape")  # the turn ends at the next token
        await until(pilot, lambda: not screen.busy, timeout=120)
        await pilot.pause()
        assert screen.focused is screen.prompt
        await pilot.press(*"fix it")
        assert screen.prompt.text == "fix it" and screen.query_one(ModeBar).pending == ""


async def test_the_slider_shows_its_value_and_position_in_text(engine, repo: Path) -> None:
    app = make_app(engine, repo, mode="fast-draft")
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        panel = screen.query_one(SteeringPanel)
        shown = str(panel.query_one(".slider-position").render())
        scale = panel.scales["terse"]
        assert shown == position_text(scale) and "●" in shown
        label = str(panel.query_one(".slider-label").render())
        assert f"{scale:+.3f}" in label


def test_the_position_text_puts_the_marker_where_the_value_is() -> None:
    assert position_text(0.0) == "-0.15 ├──────────●──────────┤ +0.15"
    assert position_text(-0.15).index("●") < position_text(0.05).index("●") < position_text(0.15).index("●")
    assert position_text(9.0) == position_text(0.15)  # clamped like the slider
