"""The words the model reads: system prompt, worked example, observation framing.

Small models follow a short tool list and one worked example far better than long instructions.
"""

from __future__ import annotations

from rudder.agent.context import Message
from rudder.agent.protocol import ToolCallProtocol

SYSTEM = """You are Rudder, a coding agent working in the git repository "{repo}".
You act by replying with exactly one {call_format} tool call{thought}. Tools:
{tools}
Paths are relative to the repository root. Change existing files with edit_file; use write_file only for \
new files. When the task is done, call finish with a short answer.\
{addendum}{repo_map}"""

EXAMPLE_FILE = "example_only.txt"
EXAMPLE_TASK = "Example task: create example_only.txt containing: hi"


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


def _call(protocol: ToolCallProtocol, tool: str, arguments: dict[str, str], thought: str) -> str:
    if getattr(protocol, "with_thought", False):
        return protocol.render_call(tool, arguments, thought)  # type: ignore[call-arg]
    return protocol.render_call(tool, arguments)


def worked_example(protocol: ToolCallProtocol) -> list[Message]:
    """One short exchange that shows the format: a call, its result, finish. Its file is named so that
    copying it cannot pass for the task (the old hello.txt example was created in real runs)."""
    write = {"path": EXAMPLE_FILE, "content": "hi"}
    return [
        {"role": "user", "content": EXAMPLE_TASK},
        {"role": "assistant", "content": _call(protocol, "write_file", write, f"Create {EXAMPLE_FILE}.")},
        {"role": "user", "content": observation("write_file", f"created {EXAMPLE_FILE} (2 bytes, 1 lines)", protocol)},
        {"role": "assistant", "content": _call(protocol, "finish", {"answer": f"Created {EXAMPLE_FILE}."}, "Done.")},
    ]


def after_change(protocol: ToolCallProtocol) -> str:
    """Said after every call that changed a file: the finish call, spelled out, to copy when done."""
    done = _call(protocol, "finish", {"answer": "Done."}, "The task is done.")
    return f"If that was the whole task, reply: {done}\nOtherwise make the next change."


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
