"""The agent loop: run → turn → step → plan / act → observe, short enough to read in one sitting.

Each step has a kind (plan, explore, edit, test, review, answer) from which the mode picks its steering;
every step is written to the trajectory in a `finally`, so a crash never loses the run. The state is
explicit: the collaborators `model` (querying.py), `guidance` (guidance.py) and `execution` (execution.py)
hold their own, a `TurnState` (turn.py) the turn's.

The contract for front ends (CLI, TUI, ACP server, A/B harness):
  run(task) / send(message)   one turn each, in one conversation; both block and return a RunSummary
  listener(event)             typed events (agent/events.py), on the session's thread
  approver(request)           answers an ApprovalRequest now, or returns None and answers it later
  interrupt()                 from any thread: generation stops within one token, a running tool is killed
  switch_policy(p, now=...)   from any thread: a new mode at the next step, or at the next token
  close()                     when done with it: stops its MCP servers
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from rudder.agent import discipline, prompts
from rudder.agent.aids import second_opinion
from rudder.agent.approval import Approver
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.events import Event, Listener, RunFinished, RunStarted, StepFinished, StepRetried, StepStarted
from rudder.agent.execution import ToolExecution, checkpoints_or_none
from rudder.agent.filelist import FileList
from rudder.agent.guidance import Guidance
from rudder.agent.instructions import Instructions
from rudder.agent.interfaces import Engine, Steerer, StepKind, StepPolicy
from rudder.agent.manifest import run_record
from rudder.agent.mcp import join_mcp_tools
from rudder.agent.opening import first_task_and_turns, open_conversation
from rudder.agent.protocols.calls import ProtocolError, ToolCall, ToolCallProtocol
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.agent.querying import ModelQuery
from rudder.agent.records import RunSummary, StepRecord, Trajectory
from rudder.agent.steps import next_step_kind
from rudder.agent.switching import ModeNotices, PolicySwitch
from rudder.agent.turn import Reply, Stop, TurnState
from rudder.engine.engine import ContextOverflowError
from rudder.engine.generation import Sampling
from rudder.tools.base import Access, Tool, Workspace
from rudder.tools.mcp.hub import McpHub
from rudder.tools.toolbox import all_tools
from rudder.vectors.extraction.recording import ActivationRecorder
from rudder.vectors.steering.steerer import Steerer as NativeSteerer


class Session:
    def __init__(
        self, engine: Engine, workspace: Workspace, policy: StepPolicy, *, config: AgentConfig | None = None,
        sampling: Sampling | None = None, steerer: Steerer | None = None, protocol: ToolCallProtocol | None = None,
        tools: dict[str, Tool] | None = None, approver: Approver | None = None, trajectory: Trajectory | None = None,
        repo_map: str = "", listener: Listener | None = None, mcp: McpHub | None = None,
    ) -> None:
        # what front ends may read or replace between turns
        self.engine, self.ws, self.policy = engine, workspace, policy
        self.config = config or AgentConfig()
        self.sampling = sampling or Sampling(max_tokens=768)
        self.steerer: Steerer = steerer if steerer is not None else NativeSteerer(engine)  # type: ignore[arg-type]
        self.tools = tools if tools is not None else all_tools()
        # a short free-text "thought" opens every call: the phase a mode steers even when calls are unsteered
        self.protocol = protocol or JsonProtocol(self.tools, with_thought=True)
        self.approver = approver
        self.trajectory = trajectory or Trajectory(None)
        self.checkpoints = checkpoints_or_none(workspace.root)
        self.repo_map = repo_map
        self.instructions = Instructions()  # the AGENTS.md files in the system prompt (read when a run starts)
        self.listener: Listener = listener or (lambda event: None)
        self.notices = ModeNotices(self._emit)  # a mode's notice (its missing vectors): once per session
        self.mcp = mcp  # its servers start on the first turn (their tools join self.tools), stop on close()
        # what the session has done (every step of every turn), the conversation, this turn's state and totals
        self.history: list[StepRecord] = []
        self.conversation: Conversation | None = None
        self.state = TurnState(number=0, task="")
        self.summary = RunSummary(status="stopped")
        self._system_addendum = ""  # the mode's addendum in the system prompt (a step's own rides on its message)
        self._interrupt = threading.Event()
        self.switch = PolicySwitch(self._emit, self.trajectory.write)  # a new mode asked for from any thread
        self._busy = threading.Lock()
        self.recorder: ActivationRecorder | None = None  # residuals per step (--record-activations)
        # the collaborators; the file list is shared: execution applies each step's changes, guidance reads it
        self.file_list, emit, interrupt = FileList(workspace), self._emit, self._interrupt
        switched = functools.partial(self._take_pending_policy, mid_step=True)
        self.model = ModelQuery(engine, self.steerer, emit, interrupt, switched)
        self.guidance = Guidance(engine, workspace, self.config, self.file_list)
        self.execution = ToolExecution(
            workspace, self.tools, self.config, self.checkpoints, self.trajectory, emit, interrupt, self.file_list
        )

    @property
    def turn(self) -> int:
        return self.state.number

    def interrupt(self) -> None:
        """Stop the current turn: generation within one token, a running tool at once, approvals rejected."""
        self._interrupt.set()
        self.ws.cancel.set()

    def switch_policy(self, policy: StepPolicy, *, now: bool = False) -> None:
        """Change mode at the next step, or at the next token if `now`."""
        self.switch.ask(policy, now=now)

    def _take_pending_policy(self, step: int, mid_step: bool) -> StepPolicy | None:
        if (new := self.switch.take(self.policy, step, mid_step=mid_step)) is not None:
            self.policy = new
        return new

    def _emit(self, event: Event) -> None:
        self.listener(event)

    def run(self, task: str) -> RunSummary:
        """Start the conversation with `task` and work until it ends."""
        if not task.strip():
            raise ValueError("the task is empty: say what the agent should do")
        self.run_setup(task)
        if self.config.reproducible:
            self.engine.reset()  # greedy output is reproducible only from an empty KV cache
        return self._turn(task)

    def run_setup(self, task: str) -> None:
        join_mcp_tools(self.mcp, self.tools, self.protocol, self._emit, self.trajectory.write)  # on the first turn
        addendum = self._system_addendum = self.policy.addendum(StepKind.PLAN)
        self.conversation, self.instructions = open_conversation(
            self.engine, self.ws.root, self.config, self.protocol, self.tools, self.guidance,
            repo_map=self.repo_map, addendum=addendum, task=task,
        )  # fmt: skip

    def close(self) -> None:
        """Stop the session's MCP servers (the session may still be read, not run with their tools)."""
        if self.mcp is not None:
            self.mcp.close()

    def send(self, message: str) -> RunSummary:
        """A follow-up in the same conversation (after run() returned): the model sees everything so far."""
        if self.conversation is None:
            return self.run(message)
        if not message.strip():
            raise ValueError("the message is empty")
        self.conversation.add_user(prompts.follow_up_message(message))
        return self._turn(message)

    def restore(self, records: list[dict[str, Any]]) -> None:
        """Continue a saved session: rebuild the conversation and history from its trajectory records."""
        task, turns = first_task_and_turns(records)
        self.run_setup(task)
        assert self.conversation is not None
        self.history += prompts.replay(self.conversation, records, self.protocol)
        self.state = TurnState(number=turns, task="")

    def _turn(self, task: str) -> RunSummary:
        with self._busy:
            turn = self.state = TurnState(number=self.state.number + 1, task=task)
            self._interrupt.clear()
            self.ws.cancel.clear()
            summary = self.summary = RunSummary(status="stopped")
            started = time.perf_counter()
            run = run_record(
                self.engine, self.policy, self.sampling, self.config, self.ws.root, self.instructions.manifest(),
                turn=turn.number, task=task,
            )  # fmt: skip
            self.trajectory.write("run", run)
            self._emit(RunStarted(turn.number, task, self.policy.name, run["manifest"]))
            try:
                with self.execution.hold_repo(task):
                    while True:
                        self.step()
            except Stop as stop:
                summary.status, summary.answer = stop.status, stop.answer  # type: ignore[assignment]
            except Exception as exc:  # the turn ends, the trajectory keeps the reason
                summary.status, summary.error = "error", f"{type(exc).__name__}: {exc}"
            finally:
                self.steerer.clear()
                summary.wall_seconds = time.perf_counter() - started
                self.trajectory.write("end", {"turn": turn.number, **summary.model_dump(mode="json")})
                self._emit(RunFinished(turn.number, summary))
            return summary

    def step(self) -> StepRecord:
        turn = self.state
        turn.check_limits(self._interrupt.is_set(), self.config, self.summary.tokens)
        index = len(self.history)
        self._take_pending_policy(index, mid_step=False)
        kind = next_step_kind(turn.steps, plan_first=self.config.plan_first, max_steps=self.config.max_steps)
        record = StepRecord(index=index, turn=turn.number, kind=kind, mode=self.policy.name)
        self._emit(StepStarted(index, kind, self.policy.name))
        self.notices.at_step(self.policy, index)
        started = time.perf_counter()
        try:
            if kind == StepKind.PLAN:
                self._plan(record)
            else:
                self._act(record, turn)
        finally:
            record.wall_seconds = time.perf_counter() - started
            self.history.append(record)
            turn.steps.append(record)
            self.summary.add(record)
            self.trajectory.write("step", record.model_dump(mode="json"))
            self._emit(StepFinished(record))
        return record

    def _query(self, record: StepRecord, *, grammar: str | None, **overrides: Any) -> Reply:
        """The model's reply; `overrides` (policy, system_addendum, max_tokens) replace the session's own."""
        assert self.conversation is not None
        warm = grammar is not None and self.state.take_warm_step()  # change course: one warmer step after a repeat
        read = self.execution.read_paths
        constraints = self.guidance.constraints(self.protocol, self.state, read) if grammar is not None else None
        asked = {"policy": self.policy, "system_addendum": self._system_addendum, **overrides}
        return self.model.query(
            record, self.conversation, sampling=self.sampling, protocol=self.protocol, grammar=grammar,
            constraints=constraints, warm=warm, recorder=self.recorder, **asked,
        )  # fmt: skip

    def _plan(self, record: StepRecord) -> None:
        assert self.conversation is not None
        self.conversation.task += f"\n\n{prompts.PLAN_INSTRUCTION}"
        try:
            text = record.output = self._query(record, grammar=None, max_tokens=prompts.PLAN_TOKENS).text.strip()
        finally:
            self.conversation.task = self.conversation.task.rsplit("\n\n", 1)[0]
        self.conversation.add(text, prompts.act_now(self.protocol), "wrote a plan")

    def _act(self, record: StepRecord, turn: TurnState) -> None:
        assert self.conversation is not None
        try:
            reply = self._second_opinion(record, turn, self._query(record, grammar=self.protocol.grammar()))
        except ContextOverflowError as exc:
            raise Stop("error", str(exc)) from exc
        text = record.output = reply.text
        if reply.runaway is not None:
            record.ok, record.error_kind = False, "runaway"
            record.observation = discipline.runaway_observation(reply.runaway)
            self._observe(record, turn, text, record.observation, "runaway tool call")
            return
        try:
            call = self.protocol.parse(text)
        except ProtocolError as exc:
            record.ok, record.error_kind, record.observation = False, "protocol", str(exc)
            error = prompts.error_observation(str(exc), self.protocol)
            self._observe(record, turn, text, error, "invalid tool call")
            return
        record.tool, record.arguments, record.thought = call.tool, call.arguments(), call.thought
        if call.is_finish:
            return self._finish(record, turn, call, text)  # ends the turn, or sends the model back to the tests
        outcome = self.execution.execute(call, record, turn.loops, policy=self.policy, approver=self.approver)
        record.observation = outcome.observation
        observation = prompts.observation(call.tool, record.observation, self.protocol)
        if record.ok and (record.diff or outcome.changed):
            observation = f"{observation}\n{prompts.after_change()}"
        self._observe(record, turn, text, observation, prompts.call_summary(call, record.ok))
        if self._interrupt.is_set():
            raise Stop("stopped")

    def _finish(self, record: StepRecord, turn: TurnState, call: ToolCall, text: str) -> None:
        """End the turn with the model's answer; careful modes first run the tests (a failure sends it back)."""
        assert self.conversation is not None
        answer = call.args.answer  # type: ignore[attr-defined]
        report = self.guidance.tests_before_finish(record, turn, self.policy)
        if report is not None and not report[0]:
            record.ok, record.error_kind, record.observation = False, "tool", report[1]
            observation = prompts.observation("run_tests", report[1], self.protocol)
            self._observe(record, turn, text, observation, "finish: tests fail")
            return
        record.observation = f"{answer}\n\n{report[1]}" if report else answer
        self.conversation.add(text, None, "finished")
        raise Stop("finished", record.observation)

    def _second_opinion(self, record: StepRecord, turn: TurnState, reply: Reply) -> Reply:
        """Ask again with the mode set aside when its step visibly went wrong (see second_opinion.py)."""
        assert self.conversation is not None
        # a switch "now" during the second query still lands in self.policy
        again = functools.partial(self._query, record, grammar=self.protocol.grammar())
        mode = self.policy.name
        return second_opinion.ask_again(
            reply, record, turn.steps, self.policy, self.protocol, self.ws, self.conversation, self._system_addendum,
            self.engine.reset, again, lambda why: self._emit(StepRetried(record.index, mode, why)),
        )  # fmt: skip

    def _observe(self, record: StepRecord, turn: TurnState, call: str, observation: str, summary: str) -> None:
        """Answer the call, watching for loops: a repeat changes course once, a third time ends the run."""
        assert self.conversation is not None
        error = None if record.ok else "runaway" if record.error_kind == "runaway" else record.observation
        tool = self.tools.get(record.tool or "")
        writes = tool is not None and tool.access == Access.WRITE  # not shell: tests rerun after edits
        seen = turn.loops.see(record.tool, record.arguments, error, writes=writes)
        if seen >= discipline.LOOP_STOP:
            self.conversation.add(call, observation, summary)
            raise Stop("stuck", f"stopped: the same {'call' if record.ok else 'error'} {seen} times")
        if seen >= discipline.LOOP_WARN:
            record.repeated = seen
            # the worked example stays (dropping it would re-read everything after the system prompt)
            observation = f"{observation}\n\n{discipline.change_course(self.conversation.include_example)}"
            turn.warm_steps = 1
        self.conversation.add(call, observation, summary)

