"""The words the model reads: system prompt, worked example, observation framing.

Small models follow a short tool list and one worked example far better than long instructions.
"""

from __future__ import annotations

from rudder.agent.context import Message
from rudder.agent.protocol import ToolCallProtocol

SYSTEM = """You are Rudder, a coding agent working in the git repository "{repo}".
You act by replying with exactly one {call_format} tool call. Tools:
{tools}
Paths are relative to the repository root. When the task is done, call finish with a short answer.\
{addendum}{repo_map}"""


def system_prompt(protocol: ToolCallProtocol, repo: str, repo_map: str, addendum: str) -> str:
    return SYSTEM.format(
        repo=repo,
        call_format=getattr(protocol, "format_name", "JSON"),
        tools=protocol.describe_tools(),
        addendum=f"\n{addendum.strip()}" if addendum.strip() else "",
        repo_map=f"\n\nRepository map:\n{repo_map.strip()}" if repo_map.strip() else "",
    )


def worked_example(protocol: ToolCallProtocol) -> list[Message]:
    return [
        {"role": "user", "content": "Example task: create hello.txt containing: hi"},
        {
            "role": "assistant",
            "content": protocol.render_call("write_file", {"path": "hello.txt", "content": "hi"}),
        },
        {"role": "user", "content": observation("write_file", "wrote hello.txt (1 line)")},
        {"role": "assistant", "content": protocol.render_call("finish", {"answer": "Created hello.txt."})},
    ]


def task_message(task: str) -> str:
    return f"Task: {task}"


def follow_up_message(text: str) -> str:
    return f"New request from the user: {text}"


def observation(tool: str, text: str) -> str:
    return f"Result of {tool}:\n{text}"


def error_observation(text: str) -> str:
    return f"Error: {text}\nReply with one valid JSON tool call."


PLAN_INSTRUCTION = "Before acting, write a short plan for this task in at most three sentences. No JSON."
