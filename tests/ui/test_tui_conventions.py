"""Custom commands and /instructions in the TUI, under Pilot on the real model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rudder.ui.widgets.note import Note
from rudder.ui.widgets.user_message import UserMessage
from tests.ui.conftest import make_app, ready, until

pytestmark = pytest.mark.slow


async def test_a_custom_command_sends_its_template_and_help_lists_it(
    engine, repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (repo / ".rudder" / "commands").mkdir(parents=True)
    (repo / ".rudder" / "commands" / "explain.md").write_text(
        "---\ndescription: Explain a file\n---\nExplain what $ARGUMENTS does.\n"
    )
    (repo / ".rudder" / "commands" / "help.md").write_text("shadow the built-in\n")
    (repo / ".rudder" / "commands" / "bad.md").write_text("---\ndescription: [unclosed\n---\nx\n")
    app = make_app(engine, repo, max_steps=1)
    sent: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        warnings = [n.message for n in app._notifications if "bad.md" in n.message]
        assert len(warnings) == 1
        screen.prompt.text = "/help"
        await pilot.press("enter")
        await pilot.pause()
        notes = "\n".join(str(n.render()) for n in screen.query(Note))
        assert "/explain: Explain a file (repo command)" in notes and "shadow the built-in" not in notes
        screen.turn = lambda message: sent.append(message)  # type: ignore[method-assign]  # no model turn needed
        screen.prompt.text = "/explain hello.py"
        await pilot.press("enter")
        await until(pilot, lambda: sent)
        assert sent == ["Explain what hello.py does."]
        assert "/explain hello.py" in [str(m.render()) for m in screen.query(UserMessage)][-1]


async def test_slash_instructions_lists_the_files_read(engine, repo: Path) -> None:
    (repo / "AGENTS.md").write_text("Use four spaces.\n")
    os.makedirs(repo / "lib", exist_ok=True)
    (repo / "lib" / "AGENTS.md").write_text("Type hints everywhere.\n")
    app = make_app(engine, repo)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        screen.prompt.text = "/instructions"
        await pilot.press("enter")
        await pilot.pause()
        shown = str(list(screen.query(Note))[-1].render())
        assert "AGENTS.md (" in shown and "lib/AGENTS.md" in shown and "applies to lib/" in shown
