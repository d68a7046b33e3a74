"""The words the model reads: system prompt, worked examples, observation framing.

Small models follow a short tool list and worked examples far better than long instructions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from rudder.agent.aids import examples
from rudder.agent.context import Conversation, Message
from rudder.agent.discipline import file_block
from rudder.agent.protocols.calls import ToolCall, ToolCallProtocol
from rudder.agent.records import StepRecord
from rudder.interfaces import StepKind

SYSTEM = """You are Rudder, a coding agent working in the git repository "{repo}".
You act by replying with exactly one {call_format} tool call{thought}. Tools:
{tools}
Paths are relative to the repository root. Change existing files with edit_file; use write_file only for \
new files. When the task is done, call finish with a short answer.\
{instructions}{addendum}{repo_map}"""


def system_prompt(protocol: ToolCallProtocol, repo: str, repo_map: str, addendum: str, instructions: str = "") -> str:
    """`instructions`: the repository's AGENTS.md block (agent/instructions.py), after the fixed rules and
    before the mode's addendum: a mode switch then keeps the instructions' cached KV state."""
    return SYSTEM.format(
        repo=repo,
        call_format=call_format(protocol),
        tools=protocol.describe_tools(),
        thought=': first a short "thought" (what you do next), then "tool" and its arguments'
        if getattr(protocol, "with_thought", False)
        else "",
        instructions=f"\n\n{instructions.strip()}" if instructions.strip() else "",
        addendum=f"\n{addendum.strip()}" if addendum.strip() else "",
        repo_map=f"\n\nRepository map:\n{repo_map.strip()}" if repo_map.strip() else "",
    )


def _call(protocol: ToolCallProtocol, tool: str, arguments: Mapping[str, Any], thought: str) -> str:
    if getattr(protocol, "with_thought", False):
        return protocol.render_call(tool, arguments, thought)  # type: ignore[call-arg]
    return protocol.render_call(tool, arguments)


def worked_examples(protocol: ToolCallProtocol, task: str, tools: Collection[str], count: int) -> list[Message]:
    """The `count` worked examples closest to `task` (agent/aids/examples.py), as the model will see them."""

    def observe(tool: str, text: str) -> str:  # every example call changes the repo, as the loop says then
        return f"{observation(tool, text, protocol)}\n{after_change()}"

    def attach(files: list[tuple[str, str]]) -> str:
        return "\n\n".join(file_block(name, text) for name, text in files)

    picked = examples.pick(task, tools, count)
    return examples.messages(picked, lambda t, a, th: _call(protocol, t, a, th), observe, attach)


def after_change() -> str:
    """Said after every call that changed a file. No call is spelled out here: a small model copied the
    spelled-out finish call's thought into every later step."""
    return "If that was the whole task, call finish. Otherwise make the next change."


def task_message(task: str) -> str:
    return f"Task: {task}"


def follow_up_message(text: str) -> str:
    return f"New request from the user: {text}"


def observation(tool: str, text: str, protocol: ToolCallProtocol | None = None) -> str:
    """A tool's result as the model reads it: the protocol's own framing where it has one (DSML: a
    <tool_result> block in the user turn, as DeepSeek-V4 was trained), else a plain header."""
    render = getattr(protocol, "render_result", None)
    return render(tool, text) if render is not None else f"Result of {tool}:\n{text}"


def call_format(protocol: ToolCallProtocol | None) -> str:
    return getattr(protocol, "format_name", "JSON")


def error_observation(text: str, protocol: ToolCallProtocol | None = None) -> str:
    return f"Error: {text}\nReply with one valid {call_format(protocol)} tool call."


def act_now(protocol: ToolCallProtocol | None = None) -> str:
    return f"Now act: reply with one {call_format(protocol)} tool call."


PLAN_TOKENS = 96  # the plan step's token limit: three sentences fit
PLAN_INSTRUCTION = "Before acting, write a short plan for this task in at most three sentences. No JSON."


def replayed_observation(step: StepRecord, protocol: ToolCallProtocol | None = None) -> str | None:
    """What the model saw after a recorded step (resuming a session), worded the way the live loop words it."""
    if step.kind == StepKind.PLAN:
        return act_now(protocol)
    if step.error_kind == "protocol":
        return error_observation(step.observation, protocol)
    if step.tool == "finish":
        return None
    return observation(step.tool or "tool", step.observation, protocol)


def call_summary(call: ToolCall, ok: bool) -> str:
    """A call in a few words, for the conversation's summary of steps it no longer shows in full."""
    target = next((str(v) for k, v in call.arguments().items() if k in ("path", "command", "pattern")), "")
    return f"{call.tool} {target[:60]} -> {'ok' if ok else 'error'}".replace("  ", " ")


def opening(
    protocol: ToolCallProtocol, repo: str, repo_map: str, addendum: str, task: str, tools: Collection[str], count: int,
    instructions: str = "",
) -> Conversation:
    """A new conversation: the system prompt, the `count` worked examples closest to the task, the task."""
    return Conversation(
        system=system_prompt(protocol, repo, repo_map, addendum, instructions),
        task=task_message(task),
        example=worked_examples(protocol, task, tools, count),
    )


def replay(conversation: Conversation, records: list[dict[str, Any]], protocol: ToolCallProtocol) -> list[StepRecord]:
    """A saved trajectory's follow-ups and steps back into `conversation`, as the model saw them; the steps."""
    steps = []
    for record in records:
        if record.get("type") == "run" and record.get("turn", 1) > 1:
            conversation.add_user(follow_up_message(str(record["task"])))
        elif record.get("type") == "step":
            step = StepRecord.model_validate({k: v for k, v in record.items() if k not in ("type", "time")})
            steps.append(step)
            conversation.add(step.output, replayed_observation(step, protocol), f"{step.tool} (restored)")
    return steps
