"""The agent loop: run → step → query → execute, short enough to read in one sitting.

Each step has a kind (plan, explore, edit, test, review, answer). Before the model writes, the active
mode turns (kind, phase) into a SteeringPlan and the Steerer swaps it in; inside a step the plan can
change at a phase boundary (e.g. no steering while the model writes the tool call's JSON). Every step
is written to the trajectory in a `finally`, so a crash never loses the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rudder.agent import prompts
from rudder.agent.config import AgentConfig
from rudder.agent.context import Conversation
from rudder.agent.policy import decide
from rudder.agent.protocol import JsonProtocol, ProtocolError, ToolCall, ToolCallProtocol
from rudder.agent.records import RunSummary, StepRecord, Trajectory
from rudder.agent.steps import next_step_kind
from rudder.engine.engine import ContextOverflowError, Engine
from rudder.engine.generation import GenerationStats, Sampling
from rudder.interfaces import Phase, StepKind, StepPolicy
from rudder.tools.base import Access, Tool, ToolError, Workspace
from rudder.tools.gitops import Checkpoints
from rudder.tools.toolbox import all_tools
from rudder.vectors.steerer import Steerer

Approver = Callable[[ToolCall, Tool], bool]
Listener = Callable[[str, dict[str, Any]], None]  # ("step", {...}) / ("token", {"text": ...}) / ("end", {...})
PLAN_TOKENS = 96


class Stop(Exception):
    """Ends the run; carries the status for the summary."""

    def __init__(self, status: str, answer: str = "") -> None:
        super().__init__(status)
        self.status, self.answer = status, answer


class Session:
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
        self.steerer = steerer or Steerer(engine)
        self.tools = tools if tools is not None else all_tools()
        self.protocol = protocol or JsonProtocol(self.tools)
        self.approver = approver
        self.trajectory = trajectory or Trajectory(None)
        self.checkpoints = _checkpoints_or_none(workspace.root)
        self.repo_map = repo_map
        self.listener = listener or (lambda event, data: None)
        self.history: list[StepRecord] = []
        self.summary = RunSummary(status="stopped")
        self._stop = threading.Event()
        self._pending_policy: tuple[StepPolicy, bool] | None = None
        self._system_addendum = ""

    # -- control from outside (TUI, API) ----------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def switch_policy(self, policy: StepPolicy, *, now: bool = False) -> None:
        """Change mode at the next step, or at the next token if `now`."""
        self._pending_policy = (policy, now)

    def _take_pending_policy(self, mid_step: bool) -> bool:
        pending = self._pending_policy
        if pending is None or (mid_step and not pending[1]):
            return False
        self.policy, self._pending_policy = pending[0], None
        return True

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, task: str) -> RunSummary:
        started = time.perf_counter()
        addendum = self._system_addendum = self.policy.addendum(StepKind.PLAN)
        self.conversation = Conversation(
            system=prompts.system_prompt(self.protocol, self.ws.root.name, self.repo_map, addendum),
            task=prompts.task_message(task),
            example=prompts.worked_example(self.protocol),
        )
        self.trajectory.write(
            "run",
            {
                "task": task,
                "mode": self.policy.name,
                "model": self.engine.info.name,
                "repo": str(self.ws.root),
                "config": self.config.model_dump(mode="json"),
            },
        )
        try:
            while True:
                self.step()
        except Stop as stop:
            self.summary.status, self.summary.answer = stop.status, stop.answer  # type: ignore[assignment]
        except Exception as exc:  # the run ends, the trajectory keeps the reason
            self.summary.status, self.summary.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self.steerer.clear()
            self.summary.wall_seconds = time.perf_counter() - started
            self.trajectory.write("end", self.summary.model_dump(mode="json"))
            self.trajectory.close()
            self.listener("end", self.summary.model_dump(mode="json"))
        return self.summary

    def step(self) -> StepRecord:
        self._check_limits()
        self._take_pending_policy(mid_step=False)
        kind = next_step_kind(self.history, plan_first=self.config.plan_first, max_steps=self.config.max_steps)
        record = StepRecord(index=len(self.history), kind=kind, mode=self.policy.name)
        self.listener("step_start", {"index": record.index, "kind": str(kind), "mode": self.policy.name})
        started = time.perf_counter()
        try:
            if kind == StepKind.PLAN:
                self._plan(record)
            else:
                self._act(record)
        finally:
            record.wall_seconds = time.perf_counter() - started
            self.history.append(record)
            self._account(record)
            self.trajectory.write("step", record.model_dump(mode="json"))
            self.listener("step", record.model_dump(mode="json"))
        return record

    def _check_limits(self) -> None:
        if self._stop.is_set():
            raise Stop("stopped")
        if len(self.history) >= self.config.max_steps:
            raise Stop("max_steps")
        if self.summary.tokens >= self.config.token_budget:
            raise Stop("token_budget")

    def _account(self, record: StepRecord) -> None:
        s = self.summary
        s.steps += 1
        s.tokens += record.prompt_tokens_evaluated + record.generated_tokens
        s.generate_seconds += record.generate_seconds
        s.tool_seconds += record.tool_seconds
        s.protocol_errors += record.error_kind == "protocol"
        s.tool_errors += record.error_kind in ("tool", "refused")

    # -- query: ask the model, steering per phase -------------------------------------------------

    def query(self, record: StepRecord, *, grammar: str | None, max_tokens: int | None = None) -> str:
        kind = record.kind
        sampling = self.policy.sampling(kind, self.sampling)
        if max_tokens is not None:
            sampling = sampling.model_copy(update={"max_tokens": max_tokens})
        limit = self.engine.info.n_ctx - sampling.max_tokens

        def render(messages: list[dict[str, str]]) -> str:
            return self.engine.format_chat(self._with_step_addendum(messages, kind))

        # the step's addendum is part of what must fit, so it is counted with the rest
        messages = self.conversation.fit(lambda m: len(self.engine.tokenize(render(m))), limit)
        phase = Phase.THOUGHT if grammar is None else self.protocol.phase("")
        self._steer(record, phase)
        generation = self.engine.stream(render(messages), sampling, grammar=grammar)
        for event in generation:
            self.listener("token", {"text": event.text})
            if self._stop.is_set():
                generation.cancel()
            now_phase = phase if grammar is None else self.protocol.phase(generation.text)
            if now_phase != phase or self._take_pending_policy(mid_step=True):
                phase = now_phase
                self._steer(record, phase)
        self._record_generation(record, generation.stats)
        return generation.text

    def _with_step_addendum(self, messages: list[dict[str, str]], kind: StepKind) -> list[dict[str, str]]:
        """A step's own addendum (or a switched mode's) rides on the newest message, not the system prompt:
        rewriting the system prompt would invalidate the whole KV cache."""
        addendum = self.policy.addendum(kind)
        if not addendum or addendum == self._system_addendum:
            return messages
        last = messages[-1]
        return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{addendum}"}]

    def _steer(self, record: StepRecord, phase: Phase) -> None:
        plan = self.policy.plan(record.kind, phase)
        self.steerer.apply(plan)
        described, key = plan.describe(), str(phase)
        if key in record.steering and record.steering[key] != described:
            key = f"{phase} (switched)"  # a mode switch "now" changed the plan inside this phase
        record.steering.setdefault(key, described)

    @staticmethod
    def _record_generation(record: StepRecord, stats: GenerationStats) -> None:
        record.prompt_tokens += stats.prompt_tokens
        record.prompt_tokens_evaluated += stats.prompt_tokens_evaluated
        record.generated_tokens += stats.generated_tokens
        record.generate_seconds += stats.prompt_seconds + stats.generate_seconds

    # -- the two kinds of step --------------------------------------------------------------------

    def _plan(self, record: StepRecord) -> None:
        self.conversation.task += f"\n\n{prompts.PLAN_INSTRUCTION}"
        text = self.query(record, grammar=None, max_tokens=PLAN_TOKENS).strip()
        self.conversation.task = self.conversation.task.rsplit("\n\n", 1)[0]
        record.output = text
        self.conversation.add(text, "Now act: reply with one JSON tool call.", "wrote a plan")

    def _act(self, record: StepRecord) -> None:
        try:
            text = self.query(record, grammar=self.protocol.grammar())
        except ContextOverflowError as exc:
            raise Stop("error", str(exc)) from exc
        record.output = text
        try:
            call = self.protocol.parse(text)
        except ProtocolError as exc:
            record.ok, record.error_kind, record.observation = False, "protocol", str(exc)
            self.conversation.add(text, prompts.error_observation(str(exc)), "invalid tool call")
            return
        record.tool, record.arguments = call.tool, call.arguments()
        if call.is_finish:
            record.observation = call.args.answer  # type: ignore[attr-defined]
            raise Stop("finished", record.observation)
        record.observation = self.execute(call, record)
        self.conversation.add(text, prompts.observation(call.tool, record.observation), _summary(call, record))

    def execute(self, call: ToolCall, record: StepRecord) -> str:
        tool = self.tools[call.tool]
        refusal = self._refusal(call, tool, record.kind)
        if refusal:
            record.ok, record.error_kind = False, "refused"
            return refusal
        started = time.perf_counter()
        checkpoint = None
        try:
            if self.checkpoints is not None and tool.access != Access.READ:
                checkpoint = self.checkpoints.begin(f"step {record.index}: {call.tool}")
            return tool.run(self.ws, call.args)
        except ToolError as exc:
            record.ok, record.error_kind = False, "tool"
            return f"Error: {exc}"
        finally:
            if checkpoint is not None:
                record.checkpoint = self.checkpoints.end(checkpoint).id or None
            record.tool_seconds = time.perf_counter() - started

    def _refusal(self, call: ToolCall, tool: Tool, kind: StepKind) -> str | None:
        decision = decide(
            self.config.approval,
            tool,
            call.args,
            self.ws,
            read_only=self.policy.read_only(kind),
            sandboxed=self.ws.sandbox is not None,
        )
        if decision.action == "refuse":
            return f"Error: {call.tool} is not allowed: {decision.reason}. Use read tools or finish."
        if decision.action == "ask":
            if self.approver is None:
                return f"Error: {call.tool} needs approval ({decision.reason}), and no one can approve in this run."
            if not self.approver(call, tool):
                return f"Error: the user declined {call.tool} ({decision.reason}). Try something else or finish."
        return None


def _checkpoints_or_none(root: Path) -> Checkpoints | None:
    """Checkpoints need git; outside a repository the agent still runs, just without undo."""
    try:
        return Checkpoints(root)
    except ToolError:
        return None


def _summary(call: ToolCall, record: StepRecord) -> str:
    target = next((str(v) for k, v in call.arguments().items() if k in ("path", "command", "pattern")), "")
    return f"{call.tool} {target[:60]} -> {'ok' if record.ok else 'error'}".replace("  ", " ")


def trajectory_path(root: Path, directory: Path | None) -> Path:
    """A new trajectory file; by default inside .git, so runs never show up in `git status`."""
    base = root / directory if directory is not None else root / ".git" / "rudder" / "trajectories"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return (base / f"{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl").resolve()
