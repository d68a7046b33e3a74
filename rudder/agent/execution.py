"""Executing one tool call for the Session: discipline and approval first, then the tool inside a git
checkpoint (so `rudder undo` can revert it), then the diff of what it changed.

The Session's tool collaborator. Its own state lives across turns: the files the model has seen
(`read_paths`) and the tools the user allowed for the rest of the session (`always_allowed`); it applies
each step's changes to the session's file list and holds the repository's run lock for a turn.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rudder.agent import discipline
from rudder.agent.approval import ApprovalRequest, Approver, Decision
from rudder.agent.config import AgentConfig
from rudder.agent.diffs import preview, read_text, target_path, unified
from rudder.agent.discipline import LoopWatch
from rudder.agent.events import ApprovalRequested, Listener, Notice, ToolCallFinished, ToolCallStarted
from rudder.agent.filelist import FileList
from rudder.agent.interfaces import StepPolicy
from rudder.agent.policy import decide
from rudder.agent.protocols.calls import ToolCall
from rudder.agent.records import StepRecord, Trajectory
from rudder.tools.base import Access, Tool, ToolError, Workspace
from rudder.tools.gitops import Checkpoint, CheckpointError, Checkpoints


@dataclass
class Outcome:
    observation: str
    changed: bool = False  # the call changed the repo (a checkpoint saw changes), diff or not
    change: tuple[str, str | None, str | None] | None = None  # (path, text before, text after) of the file it edited


class ToolExecution:
    def __init__(
        self,
        ws: Workspace,
        tools: dict[str, Tool],
        config: AgentConfig,
        checkpoints: Checkpoints | None,
        trajectory: Trajectory,
        emit: Listener,
        interrupt: threading.Event,
        file_list: FileList,
    ) -> None:
        self.ws, self.tools, self.config, self.checkpoints = ws, tools, config, checkpoints
        self.trajectory, self._emit, self._interrupt = trajectory, emit, interrupt
        self.file_list = file_list  # the repo's files for the call constraints: each step's changes go in
        self.read_paths: set[Path] = set()  # files whose content the model has seen (read, attached, written)
        self.always_allowed: set[str] = set()  # tools the user allowed for the rest of the session

    def execute(
        self, call: ToolCall, record: StepRecord, loops: LoopWatch, *, policy: StepPolicy, approver: Approver | None
    ) -> Outcome:
        tool = self.tools[call.tool]
        self._emit(ToolCallStarted(record.index, call.tool, call.arguments(), str(tool.access)))
        started = time.perf_counter()
        refusal = self._refusal(call, tool, record, policy, approver)
        if refusal:
            record.ok, record.error_kind = False, "refused"
            outcome = Outcome(refusal)
        else:
            outcome = self._run_tool(call, tool, record, loops)
        record.tool_seconds = time.perf_counter() - started
        self._emit(
            ToolCallFinished(
                record.index,
                call.tool,
                record.ok,
                outcome.observation,
                record.diff,
                record.checkpoint,
                record.tool_seconds,
                record.error_kind,
                *(outcome.change or (None, None, None)),
            )
        )
        return outcome

    def _run_tool(self, call: ToolCall, tool: Tool, record: StepRecord, loops: LoopWatch) -> Outcome:
        """Run the tool inside a checkpoint (so `rudder undo` can revert it) and diff the file it touches."""
        writes = tool.access != Access.READ
        path = target_path(self.ws, call.args)
        before = read_text(self.ws, path) if writes else None
        if call.tool == "write_file" and before is not None and before == getattr(call.args, "content", None):
            return Outcome(f"{self.ws.relative(path)} already has exactly this content: nothing changed.")  # type: ignore[arg-type]
        outcome = Outcome("")
        # first in the trajectory (a run killed from here on shows this step as unfinished), then the
        # checkpoint, outside the try: one that cannot be recorded is Rudder's error (the turn ends with it,
        # the user is told), never an observation for the model; and no tool runs without one
        self.trajectory.write(
            "tool", {"step": record.index, "turn": record.turn, "tool": call.tool, "arguments": call.arguments()}
        )
        checkpoint = self._begin_checkpoint(call, tool, record, path) if writes else None
        try:
            outcome.observation = tool.run(self.ws, call.args)
        except ToolError as exc:
            record.ok, record.error_kind = False, "tool"
            outcome.observation = f"Error: {exc}"
            if tool.server is not None:  # the user chose this server: tell them it failed, not only the model
                self._emit(Notice(f"MCP server {tool.server!r}: {exc}", record.index))
        finally:
            if checkpoint is not None and self.checkpoints is not None:
                ended = self.checkpoints.end(checkpoint)
                record.checkpoint = ended.id or None
                outcome.changed = bool(ended.changes)
                top = self.checkpoints.work_tree
                changed = [os.path.relpath(top / p, self.ws.root) for p in ended.files] if ended.changes else []
                record.files = sorted(changed)
                self.file_list.changed(changed)
            elif writes:
                self.file_list.invalidate()  # no checkpoint says what changed
            if writes and path is not None:
                after = read_text(self.ws, path)
                record.diff = unified(before, after, self.ws.relative(path))
                if record.diff is not None:
                    outcome.change = (self.ws.relative(path), before, after)
                    record.files = record.files or [self.ws.relative(path)]  # no checkpoint: the diff says
            self._note_access(call.tool, path, record, outcome, loops)
        return outcome

    def _begin_checkpoint(self, call: ToolCall, tool: Tool, record: StepRecord, path: Path | None) -> Checkpoint | None:
        """Write-ahead: the state before the step is recorded before the tool runs. A write tool names its
        file, so its checkpoint holds exactly that path; a command may change anything (and delete ignored
        files, which are kept for it)."""
        if self.checkpoints is None:
            return None
        exact = [self.ws.relative(path)] if tool.access == Access.WRITE and path is not None else None
        label = f"step {record.index}: {call.tool}"
        checkpoint = self.checkpoints.begin(label, exact, keep_ignored=tool.access == Access.EXECUTE)
        record.checkpoint = checkpoint.id
        return checkpoint

    @contextmanager
    def hold_repo(self, task: str) -> Iterator[None]:
        """The repository's run lock for one turn: a second Rudder run in this work tree is refused."""
        if self.checkpoints is None:
            yield
            return
        with self.checkpoints.lock.hold(f"rudder: {task[:60]}"):
            yield

    def _note_access(self, tool: str, path: Path | None, record: StepRecord, out: Outcome, loops: LoopWatch) -> None:
        if not record.ok:
            return
        if path is not None and tool in ("read_file", "write_file", "edit_file"):
            self.read_paths.add(path)  # the model has now seen (or decided) this file's content
        if record.diff or out.changed:  # the repo changed: repeating a call is no longer a loop
            loops.changes += 1

    def _refusal(
        self, call: ToolCall, tool: Tool, record: StepRecord, policy: StepPolicy, approver: Approver | None
    ) -> str | None:
        unread = discipline.unread_overwrite(call.tool, target_path(self.ws, call.args), self.read_paths)
        if unread:
            return unread
        verdict = decide(
            self.config.approval,
            tool,
            call.args,
            self.ws,
            read_only=policy.read_only(record.kind),
            sandboxed=self.ws.sandbox is not None,
        )
        if verdict.action == "refuse":
            return f"Error: {call.tool} is not allowed: {verdict.reason}. Use read tools or finish."
        if verdict.action == "allow" or (call.tool in self.always_allowed and not verdict.sensitive):
            return None
        request = ApprovalRequest(
            step=record.index,
            tool=call.tool,
            arguments=call.arguments(),
            access=str(tool.access),
            reason=verdict.reason,
            diff=preview(self.ws, call.tool, call.args),
            command=getattr(call.args, "command", None) if tool.server is None else None,
            sensitive=verdict.sensitive,
            server=tool.server,
        )
        return self._ask(request, approver)

    def _ask(self, request: ApprovalRequest, approver: Approver | None) -> str | None:
        """None when allowed, else the observation that tells the model it was not."""
        if approver is None:
            return f"Error: {request.tool} needs approval ({request.reason}), and no one can approve in this run."
        self._emit(ApprovalRequested(request))
        self.trajectory.write("approval", {"step": request.step, "tool": request.tool, "reason": request.reason})
        answer = approver(request)
        if answer is not None:
            request.answer(answer, request.message)  # a synchronous approver may have written its reason there
        decision = request.wait(self._interrupt)
        self.trajectory.write("approved", {"step": request.step, "decision": str(decision), "message": request.message})
        if decision == Decision.ALLOW_ALWAYS:
            self.always_allowed.add(request.tool)
        if decision == Decision.REJECT:
            because = f": {request.message}" if request.message else ""
            return f"Error: the user declined {request.tool}{because}. Try something else or finish."
        return None


def checkpoints_or_none(root: Path) -> Checkpoints | None:
    """Checkpoints need git; outside a repository the agent still runs, just without undo."""
    try:
        return Checkpoints(root)
    except CheckpointError:
        return None
