"""Whether a tool call runs, needs a person's yes, or is refused: one pure function, tested on its own.

The rules, in order:
1. Reading is always allowed.
2. A read-only run (approval = "read-only") or a read-only step of the mode refuses writes and commands.
3. Writing Rudder's or git's own files (.rudder.toml, .rudder/, .git/) always needs a yes, every time.
4. approval = "ask": every write and command needs a yes.
5. approval not set: a shell command outside a sandbox needs a yes (only an explicit "auto" lets it run).
   An MCP server's tool never runs in the sandbox: it needs a yes unless approval is "auto".
6. Everything else runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rudder.tools.base import Access, Tool, ToolArgs, Workspace
from rudder.tools.policy import sensitive_write_reason

Approval = Literal["auto", "ask", "read-only"] | None


@dataclass(frozen=True)
class Verdict:
    action: Literal["allow", "ask", "refuse"]
    reason: str = ""
    sensitive: bool = False  # asks about Rudder's or git's own files: "allow always" must not cover it

    @classmethod
    def allow(cls) -> Verdict:
        return cls("allow")

    @classmethod
    def ask(cls, reason: str, *, sensitive: bool = False) -> Verdict:
        return cls("ask", reason, sensitive)

    @classmethod
    def refuse(cls, reason: str) -> Verdict:
        return cls("refuse", reason)


def decide(
    approval: Approval, tool: Tool, args: ToolArgs, ws: Workspace, *, read_only: bool, sandboxed: bool
) -> Verdict:
    if tool.access == Access.READ:
        return Verdict.allow()
    if approval == "read-only" or read_only:
        return Verdict.refuse("this run is read-only here")
    if tool.server is not None:  # a program the user chose to run, outside any sandbox; its effects unknown
        if approval == "auto":
            return Verdict.allow()
        why = "approval is set to ask" if approval == "ask" else 'set approval = "auto" to allow that'
        return Verdict.ask(f"{tool.name} calls MCP server {tool.server!r}, which runs outside the sandbox ({why})")
    sensitive = sensitive_write_reason(ws, tool, args)
    if sensitive:
        return Verdict.ask(sensitive, sensitive=True)
    if approval == "ask":
        verb = "runs a command" if tool.access == Access.EXECUTE else "changes files"
        return Verdict.ask(f"{tool.name} {verb} and approval is set to ask")
    if tool.access == Access.EXECUTE and not sandboxed and approval is None:
        return Verdict.ask(f'{tool.name} would run without a sandbox (set approval = "auto" to allow that)')
    return Verdict.allow()
