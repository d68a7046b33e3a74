"""The words the model reads: system prompt, worked examples, observation framing.

Small models follow a short tool list and worked examples far better than long instructions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from rudder.agent import examples
from rudder.agent.context import Message
from rudder.agent.discipline import file_block
from rudder.agent.protocol import ToolCallProtocol

SYSTEM = """You are Rudder, a coding agent working in the git repository "{repo}".
You act by replying with exactly one {call_format} tool call{thought}. Tools:
{tools}
Paths are relative to the repository root. Change existing files with edit_file; use write_file only for \
new files. When the task is done, call finish with a short answer.\
{addendum}{repo_map}"""


def system_prompt(protocol: ToolCallProtocol, repo: str, repo_map: str, addendum: str) -> str:
    return SYSTEM.format(
        repo=repo,
        call_format=call_format(protocol),
        tools=protocol.describe_tools(),
        thought=': first a short "thought" (what you do next), then "tool" and its arguments'
        if getattr(protocol, "with_thought", False)
        else "",
        addendum=f"\n{addendum.strip()}" if addendum.strip() else "",
        repo_map=f"\n\nRepository map:\n{repo_map.strip()}" if repo_map.strip() else "",
    )


def _call(protocol: ToolCallProtocol, tool: str, arguments: Mapping[str, Any], thought: str) -> str:
    if getattr(protocol, "with_thought", False):
        return protocol.render_call(tool, arguments, thought)  # type: ignore[call-arg]
    return protocol.render_call(tool, arguments)


def worked_examples(protocol: ToolCallProtocol, task: str, tools: Collection[str], count: int) -> list[Message]:
    """The `count` worked examples closest to `task` (agent/examples.py), as the model will see them."""

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


PLAN_INSTRUCTION = "Before acting, write a short plan for this task in at most three sentences. No JSON."
