"""What the harness does around the model's calls (see discipline.py for the rules themselves): files
the task names attached up front, constraints on each JSON call as it is written, and careful modes'
tests before finish. The Session's guidance collaborator: what it needs of a turn comes in as arguments."""

from __future__ import annotations

import json
from pathlib import Path

from rudder.agent import discipline, prompts
from rudder.agent.aids import examples
from rudder.agent.aids.constraints import CallConstraints
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.filelist import FileList
from rudder.agent.interfaces import Engine, StepPolicy
from rudder.agent.protocols.calls import ToolCallProtocol
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.agent.records import StepRecord
from rudder.agent.turn import TurnState
from rudder.tools.base import ToolError, Workspace
from rudder.tools.shell import detect_test_runner
from rudder.tools.toolbox import TOOLS_BY_NAME


class Guidance:
    def __init__(self, engine: Engine, ws: Workspace, config: AgentConfig, file_list: FileList) -> None:
        self.engine, self.ws, self.config, self.file_list = engine, ws, config, file_list

    def attach_named_files(
        self, conversation: Conversation, task: str, protocol: ToolCallProtocol, repo_map: str, addendum: str,
        instructions: str = "",
    ) -> None:
        """Files the task names go into the task message up front (aider does this), counted as read."""
        budget = min(1500, self.engine.info.n_ctx // 8)
        count = lambda text: len(self.engine.tokenize(text, add_bos=False))  # noqa: E731
        text, attached = discipline.attach_named_files(task, self.ws, count, budget)
        if text:  # shown, but not "read": replacing a whole file still takes a read_file first
            conversation.task = f"{conversation.task}\n\n{text}"
        if attached and repo_map and self.config.is_small(self.engine.info):
            # a small model with the task's files in front of it wandered off into the map's other files
            conversation.system = prompts.system_prompt(protocol, self.ws.root.name, "", addendum, instructions)

    def constraints(self, protocol: ToolCallProtocol, turn: TurnState, read: set[Path]) -> CallConstraints | None:
        """Real paths and search text for JSON calls; small models also get the examples' thought start
        on a turn's first step, and may not write the examples' files."""
        if not isinstance(protocol, JsonProtocol):
            return None
        if not self.config.is_small(self.engine.info):
            return CallConstraints(self.ws, file_list=self.file_list)
        first = not turn.steps
        return CallConstraints(
            self.ws,
            thought_start=examples.THOUGHT_START if first else "",
            one_sentence=True,
            no_finish=first and not turn.task.rstrip().endswith("?"),  # a question may be answered at once
            foreign_prefix=examples.FILE_PREFIX,
            task=turn.task,
            read={json.dumps(self.ws.relative(p), ensure_ascii=False)[1:-1] for p in read},
            file_list=self.file_list,
        )

    def tests_before_finish(self, record: StepRecord, turn: TurnState, policy: StepPolicy) -> tuple[bool, str] | None:
        """Careful modes run the repo's tests before finishing when files changed since they last ran:
        (ok to finish, report). A failure sends the model back once; the next finish reports it."""
        wants = getattr(policy, "test_before_finish", False)
        changes = turn.loops.changes
        if not wants or changes in (0, turn.tested_at):
            return None
        if detect_test_runner(self.ws.root) is None:
            return None
        turn.tested_at = changes
        tool = TOOLS_BY_NAME["run_tests"]  # the harness runs them, offered to the model or not
        try:
            output = tool.run(self.ws, tool.args())
        except ToolError as exc:
            return True, f"[tests could not run: {exc}]"
        passed = _tests_passed(output)
        record.tests = "passed" if passed else "failed"
        if passed:
            return True, "[tests passed]"
        if turn.bounced:
            return True, f"[tests failed]\n{output[-800:]}"
        turn.bounced = True
        return False, f"The tests fail; fix the code, then finish.\n{output[-1500:]}"


def _tests_passed(output: str) -> bool:
    """run_tests ends with "[exit code N: tests passed|tests failed|no tests collected; ...]"."""
    return "[exit code 0" in output or ": no tests collected" in output
