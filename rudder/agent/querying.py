"""Asking the model for one step: fit the conversation, steer per phase, stream, watch for runaways.

A mixin of Session (session.py has the loop). Before the model writes, the active mode turns (kind,
phase) into a SteeringPlan and the Steerer swaps it in; inside a step the plan can change at a phase
boundary (e.g. no steering while the model writes the tool call's JSON) or at a mode switch "now".
"""

from __future__ import annotations

import threading

from rudder.agent import discipline, second_opinion
from rudder.agent.callstream import CallStream
from rudder.agent.context import Conversation
from rudder.agent.events import Event, SteeringChanged, Token
from rudder.agent.protocol import ToolCallProtocol
from rudder.agent.records import StepRecord
from rudder.engine.generation import GenerationStats, Sampling
from rudder.interfaces import Engine, Phase, Steerer, StepKind, StepPolicy
from rudder.vectors.gate import GateReading
from rudder.vectors.guard import CollapseGuard, GuardEvent
from rudder.vectors.recording import ActivationRecorder
from rudder.vectors.stepwatch import StepWatch, free_text

WARM = 0.7  # temperature for the one step after a repeat (change course)


class Stop(Exception):
    """Ends the turn; carries the status for the summary."""

    def __init__(self, status: str, answer: str = "") -> None:
        super().__init__(status)
        self.status, self.answer = status, answer


class ModelQuery:
    engine: Engine
    policy: StepPolicy
    sampling: Sampling
    steerer: Steerer
    protocol: ToolCallProtocol
    conversation: Conversation | None
    _interrupt: threading.Event
    _warm_steps: int
    _runaway: str | None
    _thought_loop: str | None
    _system_addendum: str
    recorder: ActivationRecorder | None

    def _emit(self, event: Event) -> None:
        raise NotImplementedError

    def _take_pending_policy(self, step: int, mid_step: bool) -> bool:
        raise NotImplementedError

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
        self._runaway = self._thought_loop = None
        limit = self.engine.info.n_ctx - sampling.max_tokens

        def render(messages: list[dict[str, str]]) -> str:
            return self.engine.format_chat(self._with_step_addendum(messages, kind))

        # the step's addendum is part of what must fit, so it is counted with the rest
        messages = self.conversation.fit(lambda m: len(self.engine.tokenize(render(m))), limit)
        phase = Phase.THOUGHT if grammar is None else self.protocol.phase("")
        self._steer(record, phase, "phase")
        guard = CollapseGuard(self.steerer, on_event=lambda e: self._guarded(record, phase, e))
        constraints = self._constraints() if grammar is not None else None
        bounds = getattr(self.protocol, "thought_bounds", free_text) if grammar is not None else free_text
        watch = StepWatch.start(
            self.steerer, record.index, recorder=self.recorder, bounds=bounds, on_gate=lambda r: self._gated(record, r)
        )
        watchers = [guard] if watch is None else [guard, watch]
        # the system prompt and examples are the same run after run: the engine keeps their KV state on disk
        stable = self.engine.format_chat(messages[: self.conversation.stable_messages], add_generation_prompt=False)
        generation = self.engine.stream(
            render(messages),
            sampling,
            grammar=grammar,
            watchers=watchers,
            token_filter=constraints,
            stable_prefix=stable,
        )
        # a JSON call's thought reaches readers as its words only, without the JSON around it
        pieces = CallStream() if grammar is not None and getattr(self.protocol, "with_thought", False) else None
        for event in generation:
            if pieces is None:
                self._emit(Token(record.index, event.text, phase, event.erase))
            else:
                for piece_phase, text, erase in pieces.feed(generation.text) or [(phase, "", 0)]:
                    self._emit(Token(record.index, text, piece_phase, erase))
            if self._interrupt.is_set():
                generation.cancel()
            if pieces is not None and phase == Phase.THOUGHT and not self.steerer.plan.empty:
                self._thought_loop = second_opinion.degenerate_thought(pieces.thought)
                if self._thought_loop is not None:  # cut before the call copies the loop into a file
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
        if watch is not None:
            record.gate += watch.finish()
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

    def _gated(self, record: StepRecord, reading: GateReading) -> None:
        """A conditional vector's gate was read: the UI's step header shows the value and the verdict."""
        plan = self.steerer.plan.describe()
        self._emit(SteeringChanged(record.index, Phase.THOUGHT, plan, reading.describe(), gate=reading.as_dict()))

    @staticmethod
    def _record_generation(record: StepRecord, stats: GenerationStats) -> None:
        record.prompt_tokens += stats.prompt_tokens
        record.prompt_tokens_evaluated += stats.prompt_tokens_evaluated
        record.generated_tokens += stats.generated_tokens
        record.generate_seconds += stats.prompt_seconds + stats.generate_seconds
