"""The agent loop: run → step → query → execute, short enough to read in one sitting.

Each step has a kind (plan, explore, edit, test, review, answer). Before the model writes, the active
mode turns (kind, phase) into a SteeringPlan and the Steerer swaps it in; inside a step the plan can
change at a phase boundary (e.g. no steering while the model writes the tool call's JSON). Every step
is written to the trajectory in a `finally`, so a crash never loses the run.

The contract for front ends (CLI, TUI, ACP server, A/B harness):
  run(task) / send(message)   one turn each, in one conversation; both block and return a RunSummary
  listener(event)             typed events (agent/events.py), on the session's thread
  approver(request)           answers an ApprovalRequest now, or returns None and answers it later
  interrupt()                 from any thread: generation stops within one token, a running tool is killed
  switch_policy(p, now=...)   from any thread: a new mode at the next step, or at the next token
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rudder.agent import discipline, prompts, second_opinion
from rudder.agent.approval import Approver
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.events import (
    Event,
    Listener,
    ModeSwitched,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from rudder.agent.execution import ToolExecution
from rudder.agent.filelist import FileList
from rudder.agent.guidance import Guidance
from rudder.agent.manifest import build_manifest
from rudder.agent.protocol import JsonProtocol, ProtocolError, ToolCall, ToolCallProtocol
from rudder.agent.querying import ModelQuery, Stop
from rudder.agent.records import RunSummary, StepRecord, Trajectory
from rudder.agent.resume import restore_session
from rudder.agent.steps import next_step_kind
from rudder.engine.engine import ContextOverflowError
from rudder.engine.generation import Sampling
from rudder.interfaces import Engine, Steerer, StepKind, StepPolicy
from rudder.tools.base import Access, Tool, Workspace
from rudder.tools.gitops import CheckpointError, Checkpoints
from rudder.tools.toolbox import all_tools
from rudder.vectors.recording import ActivationRecorder

PLAN_TOKENS = 96


class Session(ModelQuery, Guidance, ToolExecution):
    def __init__(
        self,
        engine: Engine,
        workspace: Workspace,
        policy: StepPolicy,
        *,
        config: AgentConfig | None = None,
        sampling: Sampling | None = None,
        steerer: Steerer | None = None,
        protocol: ToolCallProtocol | None = None,
        tools: dict[str, Tool] | None = None,
        approver: Approver | None = None,
        trajectory: Trajectory | None = None,
        repo_map: str = "",
        listener: Listener | None = None,
    ) -> None:
        self.engine, self.ws, self.policy = engine, workspace, policy
        self.config = config or AgentConfig()
        self.sampling = sampling or Sampling(max_tokens=768)
        self.steerer: Steerer = steerer if steerer is not None else _real_steerer(engine)
        self.tools = tools if tools is not None else all_tools()
        # a short free-text "thought" opens every call: the phase a mode steers even when calls are unsteered
        self.protocol = protocol or JsonProtocol(self.tools, with_thought=True)
        self._constrain = isinstance(self.protocol, JsonProtocol)  # paths and search text stay real
        self.approver = approver
        self.trajectory = trajectory or Trajectory(None)
        self.checkpoints = _checkpoints_or_none(workspace.root)
        self.repo_map = repo_map
        self.listener: Listener = listener or (lambda event: None)
        self.history: list[StepRecord] = []  # every step of every turn
        self.turn_steps: list[StepRecord] = []  # the current turn's steps (step kinds and limits are per turn)
        self.turn = 0
        self.turn_task = ""
        self.summary = RunSummary(status="stopped")
        self.conversation: Conversation | None = None
        self.always_allowed: set[str] = set()
        self._interrupt = threading.Event()
        self._pending_policy: tuple[StepPolicy, bool] | None = None
        self._policy_lock = threading.Lock()
        self._system_addendum = ""
        self._busy = threading.Lock()
        self._change: tuple[str, str | None, str | None] | None = None
        self._changed = False
        self.file_list = FileList(workspace)  # for the call constraints, updated from each step's changes
        self.read_paths: set[Path] = set()  # files whose content the model has seen (read, attached, written)
        self.loops = discipline.LoopWatch()
        self._warm_steps = 0  # steps left to sample warmer (after a repeat)
        self._runaway: str | None = None
        self._thought_loop: str | None = None  # the loop a steered thought fell into (query cuts it)
        self.recorder: ActivationRecorder | None = None  # residuals per step (--record-activations)

    # -- control from outside (any thread) ---------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the current turn: generation within one token, a running tool at once, approvals rejected."""
        self._interrupt.set()
        self.ws.cancel.set()

    stop = interrupt

    def switch_policy(self, policy: StepPolicy, *, now: bool = False) -> None:
        """Change mode at the next step, or at the next token if `now`."""
        with self._policy_lock:
            self._pending_policy = (policy, now)

    def _take_pending_policy(self, step: int, mid_step: bool) -> bool:
        with self._policy_lock:
            pending = self._pending_policy
            if pending is None or (mid_step and not pending[1]):
                return False
            old, self.policy, self._pending_policy = self.policy, pending[0], None
        self._emit(ModeSwitched(step, old.name, self.policy.name, now=mid_step))
        self.trajectory.write("mode", {"step": step, "old": old.name, "new": self.policy.name, "now": mid_step})
        return True

    def _emit(self, event: Event) -> None:
        self.listener(event)

    # -- turns ----------------------------------------------------------------------------------------

    def run(self, task: str) -> RunSummary:
        """Start the conversation with `task` and work until it ends."""
        if not task.strip():
            raise ValueError("the task is empty: say what the agent should do")
        self.run_setup(task)
        if self.config.reproducible:
            self.engine.reset()  # greedy output is reproducible only from an empty KV cache
        return self._turn(task)

    def run_setup(self, task: str) -> None:
        addendum = self._system_addendum = self.policy.addendum(StepKind.PLAN)
        self.conversation = Conversation(
            system=prompts.system_prompt(self.protocol, self.ws.root.name, self.repo_map, addendum),
            task=prompts.task_message(task),
            example=prompts.worked_examples(
                self.protocol, task, self.tools, self.config.examples_for(self.engine.info)
            ),
        )
        self._attach_named_files(task)

    def send(self, message: str) -> RunSummary:
        """A follow-up in the same conversation (after run() returned): the model sees everything so far."""
        if self.conversation is None:
            return self.run(message)
        if not message.strip():
            raise ValueError("the message is empty")
        self.conversation.add_user(prompts.follow_up_message(message))
        return self._turn(message)

    def _turn(self, task: str) -> RunSummary:
        with self._busy:
            self.turn += 1
            self.turn_steps, self.turn_task = [], task
            self.loops = discipline.LoopWatch()
            self._tested_at, self._bounced = -1, False
            self._interrupt.clear()
            self.ws.cancel.clear()
            self.summary = RunSummary(status="stopped")
            started = time.perf_counter()
            manifest = build_manifest(self.engine, self.policy, self.sampling, self.config, self.ws.root)
            self.trajectory.write(
                "run",
                {
                    "turn": self.turn,
                    "task": task,
                    "mode": self.policy.name,
                    "model": self.engine.info.name,
                    "repo": str(self.ws.root),
                    "config": self.config.model_dump(mode="json"),
                    "manifest": manifest.model_dump(mode="json"),
                },
            )
            self._emit(RunStarted(self.turn, task, self.policy.name, manifest.model_dump(mode="json")))
            try:
                with self.hold_repo(task):
                    while True:
                        self.step()
            except Stop as stop:
                self.summary.status, self.summary.answer = stop.status, stop.answer  # type: ignore[assignment]
            except Exception as exc:  # the turn ends, the trajectory keeps the reason
                self.summary.status, self.summary.error = "error", f"{type(exc).__name__}: {exc}"
            finally:
                self.steerer.clear()
                self.summary.wall_seconds = time.perf_counter() - started
                self.trajectory.write("end", {"turn": self.turn, **self.summary.model_dump(mode="json")})
                self._emit(RunFinished(self.turn, self.summary))
            return self.summary

    def close(self) -> None:
        self.trajectory.close()

    def restore(self, records: list[dict[str, Any]]) -> None:
        """Continue a saved session: rebuild the conversation and history from its trajectory records."""
        restore_session(self, records)

    # -- one step -------------------------------------------------------------------------------------

    def step(self) -> StepRecord:
        self._check_limits()
        index = len(self.history)
        self._take_pending_policy(index, mid_step=False)
        kind = next_step_kind(self.turn_steps, plan_first=self.config.plan_first, max_steps=self.config.max_steps)
        record = StepRecord(index=index, turn=self.turn, kind=kind, mode=self.policy.name)
        self._emit(StepStarted(index, kind, self.policy.name))
        started = time.perf_counter()
        try:
            if kind == StepKind.PLAN:
                self._plan(record)
            else:
                self._act(record)
        finally:
            record.wall_seconds = time.perf_counter() - started
            self.history.append(record)
            self.turn_steps.append(record)
            self._account(record)
            self.trajectory.write("step", record.model_dump(mode="json"))
            self._emit(StepFinished(record))
        return record

    def _check_limits(self) -> None:
        if self._interrupt.is_set():
            raise Stop("stopped")
        if len(self.turn_steps) >= self.config.max_steps:
            raise Stop("max_steps")
        if self.summary.tokens >= self.config.token_budget:
            raise Stop("token_budget")

    def _account(self, record: StepRecord) -> None:
        s = self.summary
        s.steps += 1
        s.tokens += record.prompt_tokens_evaluated + record.generated_tokens
        s.generate_seconds += record.generate_seconds
        s.tool_seconds += record.tool_seconds
        s.protocol_errors += record.error_kind in ("protocol", "runaway")
        s.tool_errors += record.error_kind in ("tool", "refused")

    # -- the two kinds of step --------------------------------------------------------------------

    def _plan(self, record: StepRecord) -> None:
        assert self.conversation is not None
        self.conversation.task += f"\n\n{prompts.PLAN_INSTRUCTION}"
        try:
            text = self.query(record, grammar=None, max_tokens=PLAN_TOKENS).strip()
        finally:
            self.conversation.task = self.conversation.task.rsplit("\n\n", 1)[0]
        record.output = text
        self.conversation.add(text, prompts.act_now(self.protocol), "wrote a plan")

    def _act(self, record: StepRecord) -> None:
        assert self.conversation is not None
        try:
            text = self._second_opinion(record, self.query(record, grammar=self.protocol.grammar()))
        except ContextOverflowError as exc:
            raise Stop("error", str(exc)) from exc
        record.output = text
        if self._runaway is not None:
            record.ok, record.error_kind = False, "runaway"
            record.observation = discipline.runaway_observation(self._runaway)
            self._observe(record, text, record.observation, "runaway tool call")
            return
        try:
            call = self.protocol.parse(text)
        except ProtocolError as exc:
            record.ok, record.error_kind, record.observation = False, "protocol", str(exc)
            self._observe(record, text, prompts.error_observation(str(exc), self.protocol), "invalid tool call")
            return
        record.tool, record.arguments, record.thought = call.tool, call.arguments(), call.thought
        if call.is_finish:
            answer = call.args.answer  # type: ignore[attr-defined]
            report = self._tests_before_finish(record)
            if report is not None and not report[0]:
                record.ok, record.error_kind, record.observation = False, "tool", report[1]
                self._observe(
                    record, text, prompts.observation("run_tests", report[1], self.protocol), "finish: tests fail"
                )
                return
            record.observation = f"{answer}\n\n{report[1]}" if report else answer
            self.conversation.add(text, None, "finished")
            raise Stop("finished", record.observation)
        record.observation = self.execute(call, record)
        observation = prompts.observation(call.tool, record.observation, self.protocol)
        if record.ok and (record.diff or self._changed):
            observation = f"{observation}\n{prompts.after_change()}"
        self._observe(record, text, observation, _summary(call, record))
        if self._interrupt.is_set():
            raise Stop("stopped")

    def _second_opinion(self, record: StepRecord, text: str) -> str:
        """Ask again with the mode set aside when its step visibly went wrong (see second_opinion.py)."""
        assert self.conversation is not None
        if not second_opinion.shapes(self.policy, record.kind):
            return text
        reason = None
        if self._thought_loop is not None:
            reason = f"the steered thought looped on {self._thought_loop.strip()[:40]!r}"
        elif self._runaway is not None:
            reason = f"its call ran away on {self._runaway.strip()[:40]!r}"
        else:
            try:
                call = self.protocol.parse(text)
            except ProtocolError as exc:
                reason = f"its call was not valid ({exc})"
            else:
                changed_at = second_opinion.rewrites_fresh_change(call, self.turn_steps, self.ws)
                if changed_at is not None:
                    reason = f"it re-edited what step {changed_at} had just changed"
        if reason is None:
            return text
        record.second_opinion = f"{reason}; the mode's call: {text[:400]}"
        mode, system, addendum = self.policy, self.conversation.system, self._system_addendum
        aside = self.policy = second_opinion.ModeSetAside(mode)
        self.conversation.system = second_opinion.without_addendum(system, addendum)
        self._system_addendum = ""
        self.engine.reset()  # the cached conversation was read under the mode's steering: read it afresh
        try:
            return self.query(record, grammar=self.protocol.grammar())
        finally:
            self.conversation.system, self._system_addendum = system, addendum
            if self.policy is aside:  # a switch "now" during the second query stays
                self.policy = mode

    def _observe(self, record: StepRecord, call: str, observation: str, summary: str) -> None:
        """Answer the call, watching for loops: a repeat changes course once, a third time ends the run."""
        assert self.conversation is not None
        error = None if record.ok else "runaway" if record.error_kind == "runaway" else record.observation
        tool = self.tools.get(record.tool or "")
        writes = tool is not None and tool.access == Access.WRITE  # not shell: tests rerun after edits
        seen = self.loops.see(record.tool, record.arguments, error, writes=writes)
        if seen >= discipline.LOOP_STOP:
            self.conversation.add(call, observation, summary)
            raise Stop("stuck", f"stopped: the same {'call' if record.ok else 'error'} {seen} times")
        if seen >= discipline.LOOP_WARN:
            record.repeated = seen
            observation = f"{observation}\n\n{discipline.CHANGE_COURSE}"
            self.conversation.include_example = False
            self._warm_steps = 1
        self.conversation.add(call, observation, summary)


def _real_steerer(engine: Engine) -> Steerer:
    from rudder.vectors.steerer import Steerer as NativeSteerer

    return NativeSteerer(engine)  # type: ignore[arg-type]


def _checkpoints_or_none(root: Path) -> Checkpoints | None:
    """Checkpoints need git; outside a repository the agent still runs, just without undo."""
    try:
        return Checkpoints(root)
    except CheckpointError:
        return None


def _summary(call: ToolCall, record: StepRecord) -> str:
    target = next((str(v) for k, v in call.arguments().items() if k in ("path", "command", "pattern")), "")
    return f"{call.tool} {target[:60]} -> {'ok' if record.ok else 'error'}".replace("  ", " ")


def trajectory_path(root: Path, directory: Path | None) -> Path:
    """A new trajectory file; by default inside .git, so runs never show up in `git status`."""
    base = root / directory if directory is not None else root / ".git" / "rudder" / "trajectories"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base / f"{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl").resolve()
