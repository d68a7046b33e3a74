"""One tool call: a collapsible block with live status, its arguments, its output and, for edits, the diff."""

from __future__ import annotations

import json
from typing import Any

from textual.widgets import Collapsible, Static

from rudder.ui.widgets.diff_block import DiffBlock

OUTPUT_CAP = 4000
ICONS = {"running": "⋯", "waiting": "?", "ok": "✓", "error": "✗"}


def _target(arguments: dict[str, Any]) -> str:
    for key in ("path", "command", "pattern", "query"):
        if key in arguments:
            return str(arguments[key]).splitlines()[0][:60] if str(arguments[key]) else ""
    return ""


class ToolBlock(Collapsible):
    def __init__(self, tool: str, arguments: dict[str, Any], access: str) -> None:
        self.tool, self.arguments, self.access = tool, arguments, access
        args = json.dumps(arguments, ensure_ascii=False, indent=1)[:OUTPUT_CAP]
        super().__init__(
            Static(args, markup=False, classes="tool-args"),
            title=self._caption("running"),
            collapsed=access == "read",
            classes=f"tool {access}",
        )
        self.status = "running"

    def _caption(self, status: str, seconds: float | None = None) -> str:
        timing = f"  {seconds:.1f}s" if seconds is not None else ""
        return f"{ICONS[status]} {self.tool} {_target(self.arguments)}{timing}".rstrip()

    def waiting(self) -> None:
        self.set_status("waiting")

    def set_status(self, status: str, seconds: float | None = None) -> None:
        self.status = status
        self.title = self._caption(status, seconds)
        self.set_class(status == "error", "-error")
        self.set_class(status == "ok", "-ok")

    def finish(self, ok: bool, observation: str, diff: str | None, seconds: float | None = None) -> None:
        self.set_status("ok" if ok else "error", seconds)
        contents = self.query_one(Collapsible.Contents)
        text = observation if len(observation) <= OUTPUT_CAP else observation[:OUTPUT_CAP] + "\n… (cut)"
        contents.mount(Static(text, markup=False, classes="tool-output"))
        if diff:
            contents.mount(DiffBlock(diff))
            self.collapsed = False
