"""Asking the model for one step: fit the conversation, steer per phase, stream, watch for runaways.

The Session's model collaborator. Before the model writes, the active mode turns (kind, phase) into a
SteeringPlan and the Steerer swaps it in; inside a step the plan can change at a phase boundary (e.g. no
steering while the model writes the tool call's JSON) or at a mode switch "now".
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rudder.agent import discipline
from rudder.agent.aids import second_opinion
from rudder.agent.aids.constraints import CallConstraints
from rudder.agent.context import Conversation
from rudder.agent.events import Listener, SteeringChanged, Token
from rudder.agent.interfaces import Engine, Steerer, StepPolicy
from rudder.agent.protocols.calls import ToolCallProtocol
from rudder.agent.protocols.callstream import CallStream
from rudder.agent.records import StepRecord
from rudder.agent.turn import Reply, Stop
from rudder.engine.generation import GenerationStats, Sampling
from rudder.interfaces import Phase
from rudder.vectors.extraction.recording import ActivationRecorder
from rudder.vectors.steering.gate import GateReading
from rudder.vectors.steering.stepwatch import StepWatch, free_text
from rudder.vectors.trust.guard import CollapseGuard, GuardEvent

WARM = 0.7  # temperature for the one step after a repeat (change course)


def no_switch(step: int) -> StepPolicy | None:
    return None


class ModelQuery:
    """Drives the engine and the steerer for one step at a time; holds no state between steps."""

    def __init__(
        self,
        engine: Engine,
        steerer: Steerer,
        emit: Listener,
        interrupt: threading.Event,
        switched: Callable[[int], StepPolicy | None] = no_switch,
    ) -> None:
        """`switched(step)` returns the new policy when a mode switch "now" is due (it steers from the next
        token on); `interrupt` stops generation within one token."""
        self.engine, self.steerer, self._emit = engine, steerer, emit
        self._interrupt, self._switched = interrupt, switched

    def query(
        self,
        record: StepRecord,
        conversation: Conversation,
        *,
        policy: StepPolicy,
        sampling: Sampling,
        protocol: ToolCallProtocol,
        system_addendum: str,
        grammar: str | None,
        constraints: CallConstraints | None = None,
        warm: bool = False,
        max_tokens: int | None = None,
        recorder: ActivationRecorder | None = None,
    ) -> Reply:
        """The model's text for this step; `warm` samples warmer (change course after a repeat); `recorder`
        keeps the step's residuals (--record-activations)."""
        kind = record.kind
        sampling = policy.sampling(kind, sampling)
        if max_tokens is not None:
            sampling = sampling.model_copy(update={"max_tokens": max_tokens})
        if warm:
            temperature = max(sampling.temperature, WARM)
            sampling = sampling.model_copy(update={"temperature": temperature, "seed": sampling.seed + record.index})
            record.temperature = temperature
        limit = self.engine.info.n_ctx - sampling.max_tokens
        addendum = policy.addendum(kind)

        def render(messages: list[dict[str, str]]) -> str:
            return self.engine.format_chat(with_step_addendum(messages, addendum, system_addendum))

        # the step's addendum is part of what must fit, so it is counted with the rest
        messages = conversation.fit(lambda m: len(self.engine.tokenize(render(m))), limit)
        phase = Phase.THOUGHT if grammar is None else protocol.phase("")
        self._steer(record, policy, phase, "phase")
        guard = CollapseGuard(self.steerer, on_event=lambda e: self._guarded(record, phase, e))
        bounds = getattr(protocol, "thought_bounds", free_text) if grammar is not None else free_text
        watch = StepWatch.start(
            self.steerer, record.index, recorder=recorder, bounds=bounds, on_gate=lambda r: self._gated(record, r)
        )
        watchers = [guard] if watch is None else [guard, watch]
        # the system prompt and examples are the same run after run: the engine keeps their KV state on disk
        stable = self.engine.format_chat(messages[: conversation.stable_messages], add_generation_prompt=False)
        # the system prompt alone outlives the example (dropped near n_ctx): a cache that cannot shift restores it
        system = self.engine.format_chat(messages[:1], add_generation_prompt=False)
        generation = self.engine.stream(
            render(messages),
            sampling,
            grammar=grammar,
            watchers=watchers,
            token_filter=constraints,
            stable_prefix=(system, stable) if system != stable else stable,
        )
        runaway: str | None = None
        thought_loop: str | None = None
        # a JSON call's thought reaches readers as its words only, without the JSON around it
        pieces = CallStream() if grammar is not None and getattr(protocol, "with_thought", False) else None
        for event in generation:
            if pieces is None:
                self._emit(Token(record.index, event.text, phase, event.erase))
            else:
                for piece_phase, text, erase in pieces.feed(generation.text) or [(phase, "", 0)]:
                    self._emit(Token(record.index, text, piece_phase, erase))
            if self._interrupt.is_set():
                generation.cancel()
            if pieces is not None and phase == Phase.THOUGHT and not self.steerer.plan.empty:
                thought_loop = second_opinion.degenerate_thought(pieces.thought)
                if thought_loop is not None:  # cut before the call copies the loop into a file
                    generation.cancel()
            if grammar is not None and phase == Phase.TOOL_CALL and runaway is None:
                runaway = discipline.runaway(generation.text)
                if runaway is not None:  # a degenerating string: stop now, not at max_tokens
                    generation.cancel()
            now_phase = phase if grammar is None else protocol.phase(generation.text)
            new_policy = self._switched(record.index)
            if new_policy is not None:
                policy = new_policy
            if now_phase != phase or new_policy is not None:
                phase = now_phase
                self._steer(record, policy, phase, "mode switch" if new_policy is not None else "phase")
        _record_generation(record, generation.stats)
        if watch is not None:
            record.gate += watch.finish()
        if generation.stats.stop_reason == "cancelled" and self._interrupt.is_set():
            record.output = generation.text
            raise Stop("stopped")
        return Reply(generation.text, runaway, thought_loop)

    def _steer(self, record: StepRecord, policy: StepPolicy, phase: Phase, reason: str) -> None:
        plan = policy.plan(record.kind, phase)
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

    def _gated(self, record: StepRecord, reading: GateReading) -> None:
        """A conditional vector's gate was read: the UI's step header shows the value and the verdict."""
        plan = self.steerer.plan.describe()
        self._emit(SteeringChanged(record.index, Phase.THOUGHT, plan, reading.describe(), gate=reading.as_dict()))


def with_step_addendum(messages: list[dict[str, str]], addendum: str, system_addendum: str) -> list[dict[str, str]]:
    """A step's own addendum (or a switched mode's) rides on the newest message, not the system prompt:
    rewriting the system prompt would invalidate the whole KV cache."""
    if not addendum or addendum == system_addendum:
        return messages
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{addendum}"}]


def _record_generation(record: StepRecord, stats: GenerationStats) -> None:
    record.prompt_tokens += stats.prompt_tokens
    record.prompt_tokens_evaluated += stats.prompt_tokens_evaluated
    record.generated_tokens += stats.generated_tokens
    record.generate_seconds += stats.prompt_seconds + stats.generate_seconds
