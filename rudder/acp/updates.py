"""Turn the Session's typed events into ACP updates. Pure functions: easy to test, no I/O."""

from __future__ import annotations

import json
from typing import Any

import acp
from acp.helpers import update_available_commands
from acp.schema import (
    AllowedOutcome,
    AvailableCommand,
    AvailableCommandsUpdate,
    PermissionOption,
    RequestPermissionResponse,
    ToolCallLocation,
    ToolCallUpdate,
    ToolKind,
    UnstructuredCommandInput,
)

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.commands import Commands
from rudder.agent.events import ToolCallFinished, ToolCallStarted
from rudder.agent.records import RunStatus, RunSummary

OBSERVATION_LIMIT = 4000  # characters of a tool's output sent to the editor (the model saw the full one)

# ACP's tool kinds help editors pick an icon and decide what to show.
_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "outline": "read",
    "list_files": "search",
    "grep": "search",
    "write_file": "edit",
    "edit_file": "edit",
    "delete_file": "delete",
    "run_shell": "execute",
    "run_tests": "execute",
    "git_status": "read",
    "git_diff": "read",
    "git_commit": "other",
}

PERMISSION_OPTIONS = [
    PermissionOption(option_id="allow_once", name="Allow once", kind="allow_once"),
    PermissionOption(option_id="allow_always", name="Always allow this tool in this session", kind="allow_always"),
    PermissionOption(option_id="reject_once", name="Reject", kind="reject_once"),
]

# How a turn's end reads to the client. A turn that failed never ends as a plain end_turn: stuck (the same
# call or error three times) is a limit on the model's requests; an error is the agent refusing to go on,
# unless the context window was the limit (then max_tokens).
STOP_REASONS: dict[str, str] = {
    "finished": "end_turn",
    "stuck": "max_turn_requests",
    "error": "refusal",
    "stopped": "cancelled",
    "max_steps": "max_turn_requests",
    "token_budget": "max_tokens",
}
OVER_CONTEXT = "context window"  # how the engine's ContextOverflowError reads (engine.fit_prompt, prefill)


def tool_kind(tool: str) -> ToolKind:
    return _KINDS.get(tool, "other")


def tool_call_id(step: int) -> str:
    return f"step-{step}"


def title(tool: str, arguments: dict[str, Any]) -> str:
    target = next((str(arguments[k]) for k in ("path", "command", "pattern", "message") if k in arguments), "")
    return f"{tool} {target[:80]}".strip()


def _locations(arguments: dict[str, Any], cwd: str) -> list[ToolCallLocation] | None:
    path = arguments.get("path")
    return [ToolCallLocation(path=f"{cwd.rstrip('/')}/{path}")] if isinstance(path, str) and path else None


def tool_started(event: ToolCallStarted, cwd: str) -> Any:
    return acp.start_tool_call(
        tool_call_id(event.step),
        title(event.tool, event.arguments),
        kind=tool_kind(event.tool),
        status="in_progress",
        locations=_locations(event.arguments, cwd),
        raw_input=event.arguments,
    )


def tool_finished(event: ToolCallFinished, cwd: str) -> Any:
    content: list[Any] = []
    if event.path is not None and event.new_text is not None:
        content.append(acp.tool_diff_content(f"{cwd.rstrip('/')}/{event.path}", event.new_text, event.old_text or None))
    observation = event.observation
    if len(observation) > OBSERVATION_LIMIT:
        observation = observation[:OBSERVATION_LIMIT] + f"\n[... {len(event.observation) - OBSERVATION_LIMIT} more]"
    if observation:
        content.append(acp.tool_content(acp.text_block(observation)))
    return acp.update_tool_call(
        tool_call_id(event.step),
        status="completed" if event.ok else "failed",
        content=content,
        raw_output={"ok": event.ok, "error_kind": event.error_kind, "checkpoint": event.checkpoint},
    )


def permission_tool_call(request: ApprovalRequest, cwd: str) -> ToolCallUpdate:
    content: list[Any] = []
    if request.diff:
        content.append(acp.tool_content(acp.text_block(f"```diff\n{request.diff}```")))
    if request.command:
        content.append(acp.tool_content(acp.text_block(f"$ {request.command}")))
    if request.server is not None:  # an MCP tool: the editor shows its server, its own name and the arguments
        tool = request.tool.removeprefix(request.server + ".")
        arguments = json.dumps(request.arguments, ensure_ascii=False, indent=1)[:OBSERVATION_LIMIT]
        content.append(acp.tool_content(acp.text_block(f"MCP server {request.server}, tool {tool}:\n{arguments}")))
    content.append(acp.tool_content(acp.text_block(f"Approval needed: {request.reason}")))
    return ToolCallUpdate(
        tool_call_id=tool_call_id(request.step),
        title=title(request.tool, request.arguments),
        kind=tool_kind(request.tool),
        status="pending",
        content=content,
        locations=_locations(request.arguments, cwd),
        raw_input=request.arguments,
    )


def decision(response: RequestPermissionResponse) -> tuple[Decision, str]:
    outcome = response.outcome
    if isinstance(outcome, AllowedOutcome):
        if outcome.option_id == "allow_always":
            return Decision.ALLOW_ALWAYS, ""
        if outcome.option_id == "allow_once":
            return Decision.ALLOW_ONCE, ""
        return Decision.REJECT, "the user rejected it in the editor"
    return Decision.REJECT, "the editor cancelled the request"


def stop_reason(status: RunStatus | str) -> str:
    return STOP_REASONS.get(str(status), "end_turn")


def turn_outcome(summary: RunSummary) -> tuple[str, str | None]:
    """(stop reason, the message that tells the user why a turn did not finish, or None)."""
    status, detail = str(summary.status), summary.error or summary.answer
    if status == "error" and OVER_CONTEXT in detail:
        return "max_tokens", f"Rudder stopped: the conversation no longer fits the model's context ({detail})."
    messages = {
        "stuck": f"Rudder stopped because it was going round in circles ({detail or 'the same step repeated'}).",
        "error": f"Rudder stopped with an error: {detail or 'unknown error'}",
        "max_steps": f"Rudder stopped after {summary.steps} steps, its limit for one turn (agent.max_steps).",
        "token_budget": f"Rudder stopped after {summary.tokens} tokens, its budget for one turn (agent.token_budget).",
    }
    return stop_reason(status), messages.get(status)


def prompt_too_long(tokens: int, room: int, n_ctx: int) -> str:
    return (
        f"Rudder did not start: the prompt is {tokens} tokens, but the model's context window is {n_ctx} tokens "
        f"(room for about {room} after the answer's reserve). Attach less, or use a model with a larger context."
    )


def prompt_text(blocks: list[Any]) -> str:
    """The user's words plus any files the editor attached (embedded resources, resource links)."""
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(f"File {block.resource.uri}:\n{block.resource.text}")
        elif kind == "resource_link":
            parts.append(f"(see {block.uri})")
    return "\n\n".join(parts)


def available_commands(commands: Commands) -> AvailableCommandsUpdate:
    """The custom commands (agent/commands.py) as ACP offers them; a repository's says so in its description."""
    offered = []
    for command in commands:
        takes = "$ARGUMENTS" in command.template or "$1" in command.template or command.argument_hint
        hint = UnstructuredCommandInput(hint=command.argument_hint or "arguments") if takes else None
        offered.append(AvailableCommand(name=command.name, description=command.label, input=hint))
    return update_available_commands(offered)


def replayed(records: list[dict[str, Any]], cwd: str) -> list[Any]:
    """A saved trajectory as the updates that show it again (session/load replays the conversation)."""
    shown: list[Any] = []
    for record in records:
        if record.get("type") == "run":
            shown.append(acp.update_user_message_text(str(record.get("task", ""))))
        elif record.get("type") == "step" and record.get("tool") == "finish":
            shown.append(acp.update_agent_message_text(str(record.get("observation", ""))))
        elif record.get("type") == "step" and record.get("tool"):
            step, args = int(record.get("index", 0)), record.get("arguments") or {}
            shown.append(tool_started(ToolCallStarted(step, record["tool"], args, ""), cwd))
            ok, observation = bool(record.get("ok", True)), record.get("observation", "")
            finished = ToolCallFinished(step, record["tool"], ok, observation)
            shown.append(tool_finished(finished, cwd))
    return shown
