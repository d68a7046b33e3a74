"""What the harness does around the model's calls (see discipline.py for the rules themselves): files
the task names attached up front, constraints on each JSON call as it is written, and careful modes'
tests before finish. A mixin of Session, kept apart so the loop in session.py stays short."""

from __future__ import annotations

import json
from pathlib import Path

from rudder.agent import discipline, examples, prompts
from rudder.agent.config import AgentConfig
from rudder.agent.constraints import CallConstraints
from rudder.agent.context import Conversation
from rudder.agent.discipline import LoopWatch
from rudder.agent.filelist import FileList
from rudder.agent.protocol import ToolCallProtocol
from rudder.agent.records import StepRecord
from rudder.interfaces import Engine, StepPolicy
from rudder.tools.base import ToolError, Workspace
from rudder.tools.shell import detect_test_runner
from rudder.tools.toolbox import TOOLS_BY_NAME


class Guidance:
    engine: Engine
    ws: Workspace
    policy: StepPolicy
    config: AgentConfig
    protocol: ToolCallProtocol
    conversation: Conversation | None
    repo_map: str
    read_paths: set[Path]
    file_list: FileList
    loops: LoopWatch
    turn_steps: list[StepRecord]
    turn_task: str
    _constrain: bool
    _system_addendum: str
    _tested_at: int
    _bounced: bool

    def _attach_named_files(self, task: str) -> None:
        """Files the task names go into the task message up front (aider does this), counted as read."""
        assert self.conversation is not None
        budget = min(1500, self.engine.info.n_ctx // 8)
        count = lambda text: len(self.engine.tokenize(text, add_bos=False))  # noqa: E731
        text, attached = discipline.attach_named_files(task, self.ws, count, budget)
        if text:  # shown, but not "read": replacing a whole file still takes a read_file first
            self.conversation.task = f"{self.conversation.task}\n\n{text}"
        if attached and self.repo_map and self.config.is_small(self.engine.info):
            # a small model with the task's files in front of it wandered off into the map's other files
            root, addendum = self.ws.root.name, self._system_addendum
            self.conversation.system = prompts.system_prompt(self.protocol, root, "", addendum)

    def _constraints(self) -> CallConstraints | None:
        """Real paths and search text for JSON calls; small models also get the examples' thought start
        on a turn's first step, and may not write the examples' files."""
        if not self._constrain:
            return None
        if not self.config.is_small(self.engine.info):
            return CallConstraints(self.ws, file_list=self.file_list)
        first = not self.turn_steps
        return CallConstraints(
            self.ws,
            thought_start=examples.THOUGHT_START if first else "",
            one_sentence=True,
            no_finish=first and not self.turn_task.rstrip().endswith("?"),  # a question may be answered at once
            foreign_prefix=examples.FILE_PREFIX,
            task=self.turn_task,
            read={json.dumps(self.ws.relative(p), ensure_ascii=False)[1:-1] for p in self.read_paths},
            file_list=self.file_list,
        )

    def _tests_before_finish(self, record: StepRecord) -> tuple[bool, str] | None:
        """Careful modes run the repo's tests before finishing when files changed since they last ran:
        (ok to finish, report). A failure sends the model back once; the next finish reports it."""
        wants = getattr(self.policy, "test_before_finish", False)
        changes = self.loops.changes
        if not wants or changes in (0, self._tested_at):
            return None
        if detect_test_runner(self.ws.root) is None:
            return None
        self._tested_at = changes
        tool = TOOLS_BY_NAME["run_tests"]  # the harness runs them, offered to the model or not
        try:
            output = tool.run(self.ws, tool.args())
        except ToolError as exc:
            return True, f"[tests could not run: {exc}]"
        passed = _tests_passed(output)
        record.tests = "passed" if passed else "failed"
        if passed:
            return True, "[tests passed]"
        if self._bounced:
            return True, f"[tests failed]\n{output[-800:]}"
        self._bounced = True
        return False, f"The tests fail; fix the code, then finish.\n{output[-1500:]}"


def _tests_passed(output: str) -> bool:
    """run_tests ends with "[exit code N: tests passed|tests failed|no tests collected; ...]"."""
    return "[exit code 0" in output or ": no tests collected" in output
