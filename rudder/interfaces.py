"""Rudder's few interfaces in one place. Implementations live in their own modules and plug in here.

Engine    -- engine/engine.py    a loaded model: tokenize, format chat, stream tokens
Tool      -- tools/base.py       a typed function the agent may call inside the repo
Protocol  -- agent/protocol.py   how tool calls are written (JSON schema + grammar; DSML later)
Steerer   -- vectors/steerer.py  applies a SteeringPlan to an engine between decode calls
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rudder.engine.engine import GenerationResult, ModelInfo, Sampling, TokenEvent
    from rudder.vectors.plan import SteeringPlan


class StepKind(StrEnum):
    """What an agent step is doing. Modes choose steering per step kind."""

    PLAN = "plan"
    EXPLORE = "explore"
    EDIT = "edit"
    TEST = "test"
    REVIEW = "review"
    ANSWER = "answer"


class Phase(StrEnum):
    """Where inside a step the model is writing; a mode may steer only some phases."""

    THOUGHT = "thought"  # free text: reasoning, plans, final answers
    TOOL_CALL = "tool_call"  # the structured call itself (JSON arguments, DSML)


@runtime_checkable
class Engine(Protocol):
    info: ModelInfo

    def tokenize(self, text: str, *, special: bool = True) -> list[int]: ...

    def format_chat(self, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = True) -> str: ...

    def stream(self, prompt: str, sampling: Sampling, *, grammar: str | None = None) -> Iterator[TokenEvent]: ...

    def complete(self, prompt: str, sampling: Sampling, *, grammar: str | None = None) -> GenerationResult: ...


@runtime_checkable
class Steerer(Protocol):
    def apply(self, plan: SteeringPlan) -> None: ...

    def clear(self) -> None: ...


@runtime_checkable
class StepPolicy(Protocol):
    """What the active mode tells the agent for each step (modes/ implements it)."""

    name: str

    def plan(self, kind: StepKind, phase: Phase) -> SteeringPlan: ...

    def sampling(self, kind: StepKind, base: Sampling) -> Sampling: ...

    def addendum(self, kind: StepKind) -> str: ...

    def read_only(self, kind: StepKind) -> bool: ...
