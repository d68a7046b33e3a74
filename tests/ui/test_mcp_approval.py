"""The TUI's approval dialog for an MCP call names the server, its tool and the arguments (the real
dialog in a real Textual app under Pilot; no model needed)."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.ui.dialogs.approval import ApprovalDialog


async def test_the_dialog_shows_server_tool_and_arguments_and_answers() -> None:
    request = ApprovalRequest(
        step=1,
        tool="calc.add",
        arguments={"a": 2, "b": 40},
        access="execute",
        reason="calc.add calls MCP server 'calc', which runs outside the sandbox (approval is set to ask)",
        server="calc",
    )
    answers: list[tuple[Decision, str]] = []
    app = App()
    async with app.run_test() as pilot:
        await app.push_screen(ApprovalDialog(request), answers.append)
        await pilot.pause()
        dialog = app.screen
        shown = " ".join(str(w.render()) for w in dialog.query(Static))
        assert "MCP server calc, tool add" in shown
        assert '"b": 40' in shown and "outside the sandbox" in shown
        await pilot.press("a")
        await pilot.pause()
    assert answers == [(Decision.ALLOW_ALWAYS, "")]
