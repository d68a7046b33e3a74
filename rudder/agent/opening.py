"""A conversation's opening: the system prompt (with the repo's AGENTS.md files), the task, the files it names.

A new run opens this way, and so does a resumed one (which then replays its trajectory onto the opening).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rudder.agent import prompts
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.guidance import Guidance
from rudder.agent.instructions import Instructions, load_instructions
from rudder.agent.interfaces import Engine
from rudder.agent.protocols.calls import ToolCallProtocol
from rudder.tools.base import Tool


def open_conversation(
    engine: Engine, root: Path, config: AgentConfig, protocol: ToolCallProtocol, tools: dict[str, Tool],
    guidance: Guidance, *, repo_map: str, addendum: str, task: str,
) -> tuple[Conversation, Instructions]:
    """The opened conversation and the instructions read into its system prompt (within their token budget)."""
    count = lambda text: len(engine.tokenize(text, add_bos=False))  # noqa: E731
    instructions = load_instructions(root, task, config.instructions_budget(engine.info), count)
    said, examples = instructions.text, config.examples_for(engine.info)
    conversation = prompts.opening(protocol, root.name, repo_map, addendum, task, tools, examples, instructions=said)
    guidance.attach_named_files(conversation, task, protocol, repo_map, addendum, said)
    return conversation, instructions


def first_task_and_turns(records: list[dict[str, Any]]) -> tuple[str, int]:
    """A saved session's first task and how many turns it had, from its trajectory records."""
    runs = [r for r in records if r.get("type") == "run"]
    if not runs:
        raise ValueError("the trajectory has no run record: nothing to resume")
    return str(runs[0]["task"]), max(int(r.get("turn", 1)) for r in runs)
