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

from rudder.agent import discipline, prompts
from rudder.agent.approval import Approver
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.events import (
    Event,
    Listener,
    ModeSwitched,
    RunFinished,
    RunStarted,
    SteeringChanged,
    StepFinished,
    StepStarted,
    Token,
)
from rudder.agent.execution import ToolExecution
from rudder.agent.manifest import build_manifest
from rudder.agent.protocol import JsonProtocol, ProtocolError, ToolCall, ToolCallProtocol
from rudder.agent.records import RunSummary, StepRecord, Trajectory
from rudder.agent.resume import restore_session
from rudder.agent.steps import next_step_kind
from rudder.engine.engine import ContextOverflowError
from rudder.engine.generation import GenerationStats, Sampling
from rudder.interfaces import Engine, Phase, Steerer, StepKind, StepPolicy
from rudder.tools.base import Tool, ToolError, Workspace
from rudder.tools.gitops import Checkpoints
from rudder.tools.shell import detect_test_runner
from rudder.tools.toolbox import all_tools
from rudder.vectors.guard import CollapseGuard, GuardEvent

PLAN_TOKENS = 96
WARM = 0.7  # temperature for the one step after a repeat (change course)


class Stop(Exception):
    """Ends the turn; carries the status for the summary."""

    def __init__(self, status: str, answer: str = "") -> None:
        super().__init__(status)
        self.status, self.answer = status, answer


class Session(ToolExecution):
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
        self.approver = approver
        self.trajectory = trajectory or Trajectory(None)
        self.checkpoints = _checkpoints_or_none(workspace.root)
        self.repo_map = repo_map
        self.listener: Listener = listener or (lambda event: None)
        self.history: list[StepRecord] = []  # every step of every turn
        self.turn_steps: list[StepRecord] = []  # the current turn's steps (step kinds and limits are per turn)
        self.turn = 0
        self.summary = RunSummary(status="stopped")
        self.conversation: Conversation | None = None
        self.always_allowed: set[str] = set()
        self._interrupt = threading.Event()
        self._pending_policy: tuple[StepPolicy, bool] | None = None
        self._policy_lock = threading.Lock()
        self._system_addendum = ""
        self._busy = threading.Lock()
        self._change: tuple[str, str | None, str | None] | None = None
        self.read_paths: set[Path] = set()  # files whose content the model has seen (read, attached, written)
        self.loops = discipline.LoopWatch()
        self._warm_steps = 0  # steps left to sample warmer (after a repeat)
        self._runaway: str | None = None

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
            example=prompts.worked_example(self.protocol),
        )
        self._attach_named_files(task)

    def _attach_named_files(self, task: str) -> None:
        """Files the task names go into the task message up front (aider does this), counted as read."""
        assert self.conversation is not None
        budget = min(1500, self.engine.info.n_ctx // 8)
        count = lambda text: len(self.engine.tokenize(text, add_bos=False))  # noqa: E731
        text, _attached = discipline.attach_named_files(task, self.ws, count, budget)
        if text:  # shown, but not "read": replacing a whole file still takes a read_file first
            self.conversation.task = f"{self.conversation.task}\n\n{text}"

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
            self.turn_steps = []
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

    # -- query: ask the model, steering per phase -------------------------------------------------

    def query(self, record: StepRecord, *, grammar: str | None, max_tokens: int | None = None) -> str:
        assert self.conversation is not None
        kind = record.kind
        sampling = self.policy.sampling(kind, self.sampling)
        if max_tokens is not None:
            sampling = sampling.model_copy(update={"max_tokens": max_tokens})
        if self._warm_steps and grammar is not None:  # change course: one warmer step after a repeat
            self._warm_steps -= 1
            warm = max(sampling.temperature, WARM)
            sampling = sampling.model_copy(update={"temperature": warm, "seed": sampling.seed + record.index})
            record.temperature = warm
        self._runaway = None
        limit = self.engine.info.n_ctx - sampling.max_tokens

        def render(messages: list[dict[str, str]]) -> str:
            return self.engine.format_chat(self._with_step_addendum(messages, kind))

        # the step's addendum is part of what must fit, so it is counted with the rest
        messages = self.conversation.fit(lambda m: len(self.engine.tokenize(render(m))), limit)
        phase = Phase.THOUGHT if grammar is None else self.protocol.phase("")
        self._steer(record, phase, "phase")
        guard = CollapseGuard(self.steerer, on_event=lambda e: self._guarded(record, phase, e))
        generation = self.engine.stream(render(messages), sampling, grammar=grammar, watchers=[guard])
        for event in generation:
            self._emit(Token(record.index, event.text, phase, event.erase))
            if self._interrupt.is_set():
                generation.cancel()
            if grammar is not None and phase == Phase.TOOL_CALL and self._runaway is None:
                self._runaway = discipline.runaway(generation.text)
                if self._runaway is not None:  # a degenerating string: stop now, not at max_tokens
                    generation.cancel()
            now_phase = phase if grammar is None else self.protocol.phase(generation.text)
            switched = self._take_pending_policy(record.index, mid_step=True)
            if now_phase != phase or switched:
                phase = now_phase
                self._steer(record, phase, "mode switch" if switched else "phase")
        self._record_generation(record, generation.stats)
        if generation.stats.stop_reason == "cancelled" and self._interrupt.is_set():
            record.output = generation.text
            raise Stop("stopped")
        return generation.text

    def _with_step_addendum(self, messages: list[dict[str, str]], kind: StepKind) -> list[dict[str, str]]:
        """A step's own addendum (or a switched mode's) rides on the newest message, not the system prompt:
        rewriting the system prompt would invalidate the whole KV cache."""
        addendum = self.policy.addendum(kind)
        if not addendum or addendum == self._system_addendum:
            return messages
        last = messages[-1]
        return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{addendum}"}]

    def _steer(self, record: StepRecord, phase: Phase, reason: str) -> None:
        plan = self.policy.plan(record.kind, phase)
        changed = plan is not self.steerer.plan
        self.steerer.apply(plan)
        described, key = plan.describe(), str(phase)
        if key in record.steering and record.steering[key] != described:
            key = f"{phase} (switched)"  # a mode switch "now" changed the plan inside this phase
        record.steering.setdefault(key, described)
        if changed:
            self._emit(SteeringChanged(record.index, phase, described, reason))

    def _guarded(self, record: StepRecord, phase: Phase, event: GuardEvent) -> None:
        """The collapse guard backed the steering off (or stopped a loop): trajectory and listeners see it."""
        record.guard.append(event.as_dict())
        reason = f"guard: {event.kind}, {event.action} to x{event.factor_after:g} ({event.detail})"
        self._emit(SteeringChanged(record.index, phase, event.plan, reason, guard=event.as_dict()))

    @staticmethod
    def _record_generation(record: StepRecord, stats: GenerationStats) -> None:
        record.prompt_tokens += stats.prompt_tokens
        record.prompt_tokens_evaluated += stats.prompt_tokens_evaluated
        record.generated_tokens += stats.generated_tokens
        record.generate_seconds += stats.prompt_seconds + stats.generate_seconds

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
            text = self.query(record, grammar=self.protocol.grammar())
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
        if record.ok and record.diff:
            observation = f"{observation}\n{prompts.after_change(self.protocol)}"
        self._observe(record, text, observation, _summary(call, record))
        if self._interrupt.is_set():
            raise Stop("stopped")

    def _observe(self, record: StepRecord, call: str, observation: str, summary: str) -> None:
        """Answer the call, watching for loops: a repeat changes course once, a third time ends the run."""
        assert self.conversation is not None
        error = None if record.ok else "runaway" if record.error_kind == "runaway" else record.observation
        seen = self.loops.see(record.tool, record.arguments, error)
        if seen >= discipline.LOOP_STOP:
            self.conversation.add(call, observation, summary)
            raise Stop("stuck", f"stopped: the same {'call' if record.ok else 'error'} {seen} times")
        if seen >= discipline.LOOP_WARN:
            record.repeated = seen
            observation = f"{observation}\n\n{discipline.CHANGE_COURSE}"
            self.conversation.include_example = False
            self._warm_steps = 1
        self.conversation.add(call, observation, summary)

    def _tests_before_finish(self, record: StepRecord) -> tuple[bool, str] | None:
        """Careful modes run the repo's tests before finishing when files changed since they last ran:
        (ok to finish, report). A failure sends the model back once; the next finish reports it."""
        wants = getattr(self.policy, "test_before_finish", False)
        changes = self.loops.changes
        if not wants or changes in (0, self._tested_at) or "run_tests" not in self.tools:
            return None
        if detect_test_runner(self.ws.root) is None:
            return None
        self._tested_at = changes
        tool = self.tools["run_tests"]
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


def _real_steerer(engine: Engine) -> Steerer:
    from rudder.vectors.steerer import Steerer as NativeSteerer

    return NativeSteerer(engine)  # type: ignore[arg-type]


def _checkpoints_or_none(root: Path) -> Checkpoints | None:
    """Checkpoints need git; outside a repository the agent still runs, just without undo."""
    try:
        return Checkpoints(root)
    except ToolError:
        return None


def _tests_passed(output: str) -> bool:
    """run_tests ends with "[exit code N: tests passed|tests failed|no tests collected; ...]"."""
    return "[exit code 0" in output or ": no tests collected" in output


def _summary(call: ToolCall, record: StepRecord) -> str:
    target = next((str(v) for k, v in call.arguments().items() if k in ("path", "command", "pattern")), "")
    return f"{call.tool} {target[:60]} -> {'ok' if record.ok else 'error'}".replace("  ", " ")


def trajectory_path(root: Path, directory: Path | None) -> Path:
    """A new trajectory file; by default inside .git, so runs never show up in `git status`."""
    base = root / directory if directory is not None else root / ".git" / "rudder" / "trajectories"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base / f"{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl").resolve()
