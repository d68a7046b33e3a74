"""Whether a tool call runs, needs a person's yes, or is refused: one pure function, tested on its own.

The rules, in order:
1. Reading is always allowed.
2. A read-only run (approval = "read-only") or a read-only step of the mode refuses writes and commands.
3. Writing Rudder's or git's own files (.rudder.toml, .rudder/, .git/) always needs a yes.
4. approval = "ask": every write and command needs a yes.
5. approval not set: a shell command outside a sandbox needs a yes (only an explicit "auto" lets it run).
6. Everything else runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rudder.tools.base import Access, Tool, ToolArgs, Workspace
from rudder.tools.policy import sensitive_write_reason

Approval = Literal["auto", "ask", "read-only"] | None


@dataclass(frozen=True)
class Decision:
    action: Literal["allow", "ask", "refuse"]
    reason: str = ""

    @classmethod
    def allow(cls) -> Decision:
        return cls("allow")

    @classmethod
    def ask(cls, reason: str) -> Decision:
        return cls("ask", reason)

    @classmethod
    def refuse(cls, reason: str) -> Decision:
        return cls("refuse", reason)


def decide(
    approval: Approval, tool: Tool, args: ToolArgs, ws: Workspace, *, read_only: bool, sandboxed: bool
) -> Decision:
    if tool.access == Access.READ:
        return Decision.allow()
    if approval == "read-only" or read_only:
        return Decision.refuse("this run is read-only here")
    sensitive = sensitive_write_reason(ws, tool, args)
    if sensitive:
        return Decision.ask(sensitive)
    if approval == "ask":
        verb = "runs a command" if tool.access == Access.EXECUTE else "changes files"
        return Decision.ask(f"{tool.name} {verb} and approval is set to ask")
    if tool.access == Access.EXECUTE and not sandboxed and approval is None:
        return Decision.ask(f'{tool.name} would run without a sandbox (set approval = "auto" to allow that)')
    return Decision.allow()
