"""The approval modal: what the agent wants to do (the diff or the command), and three answers.
Dismisses with (Decision, message); the caller answers the ApprovalRequest. The agent waits, the UI does not."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.ui.widgets.diff_block import DiffBlock


class ApprovalDialog(ModalScreen[tuple[Decision, str]]):
    CSS_PATH = "approval.tcss"
    BINDINGS: ClassVar = [
        Binding("y", "answer('allow_once')", "allow once"),
        Binding("a", "answer('allow_always')", "allow always"),
        Binding("n", "reject", "reject"),
    ]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="approval"):
            yield Static(
                Text.assemble((r.tool, "bold yellow"), f" wants to {r.access}", (f"  ({r.reason})", "dim")),
                id="approval-title",
            )
            if r.server is not None:  # an MCP tool: name its server and its own tool; the arguments follow
                tool = r.tool.removeprefix(r.server + ".")
                what = Text.assemble("MCP server ", (r.server, "bold"), ", tool ", (tool, "bold"))
                yield Static(what, id="approval-mcp")
            with VerticalScroll(id="approval-detail"):
                if r.diff:
                    yield DiffBlock(r.diff)
                elif r.command:
                    yield Static(Text("$ " + r.command, "bold"), id="approval-command")
                else:
                    yield Static(json.dumps(r.arguments, ensure_ascii=False, indent=1)[:4000], markup=False)
            yield Input(placeholder="reason for rejecting (optional, shown to the model)", id="approval-reason")
            with Horizontal(id="approval-buttons"):
                yield Button(Text("Allow once [y]"), id="allow_once", variant="success")
                yield Button(Text(f"Always allow {r.tool} [a]"), id="allow_always", variant="primary")
                yield Button(Text("Reject [n]"), id="reject", variant="error")

    def on_mount(self) -> None:
        self.query_one("#allow_once", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "reject":
            self.action_reject()
        elif event.button.id:
            self.action_answer(event.button.id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_reject()

    def action_answer(self, decision: str) -> None:
        if self.focused is self.query_one("#approval-reason", Input):
            return  # typing a reason: letters are text
        self.dismiss((Decision(decision), ""))

    def action_reject(self) -> None:
        reason = self.query_one("#approval-reason", Input)
        self.dismiss((Decision.REJECT, reason.value.strip()))
