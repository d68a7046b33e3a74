"""What the agent loop needs of the layers below it, as protocols: the Session is typed against these,
not against classes.

Engine      -- engine/engine.py    a loaded model: tokenize, format chat, stream a Generation
Generation  -- engine/engine.py    one running generation: iterate tokens, cancel, read text and stats
Steerer     -- vectors/steering/steerer.py  applies a SteeringPlan between two decode calls
StepPolicy  -- modes/active.py     what the active mode wants for each step kind and phase
(ToolCallProtocol lives beside them in agent/protocols/: JSON today, DSML for DeepSeek.)

Test doubles implement these protocols directly (tests/agent/scripted.py), no casts needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from rudder.interfaces import Phase, StepKind

__all__ = ["Engine", "Generation", "Phase", "Steerer", "StepKind", "StepPolicy"]

if TYPE_CHECKING:
    from rudder.engine.generation import GenerationStats, Sampling, TokenEvent
    from rudder.engine.info import ModelInfo
    from rudder.vectors.steering.plan import SteeringPlan


@runtime_checkable
class Generation(Protocol):
    """A generation in progress. Iterating yields TokenEvents; `text` and `stats` are final at the end."""

    stats: GenerationStats

    def __iter__(self) -> Iterator[TokenEvent]: ...

    def __next__(self) -> TokenEvent: ...

    @property
    def text(self) -> str: ...

    def cancel(self) -> None:
        """Stop after the current token; safe from any thread."""
        ...


@runtime_checkable
class Engine(Protocol):
    info: ModelInfo

    def tokenize(self, text: str, *, special: bool = True, add_bos: bool = True) -> list[int]: ...

    def format_chat(self, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = True) -> str: ...

    def stream(
        self,
        prompt: str | Sequence[int],
        sampling: Sampling | None = None,
        *,
        grammar: str | None = None,
        overflow: Literal["error", "truncate"] = "error",
        watchers: Sequence[Any] = (),
        token_filter: Any = None,
        stable_prefix: str | Sequence[str] = "",
    ) -> Generation: ...

    def reset(self) -> None:
        """Forget the KV cache (greedy output is reproducible from a reset engine)."""
        ...

    def settings(self) -> dict[str, Any]:
        """How the model was loaded (for the run manifest)."""
        ...


@runtime_checkable
class Steerer(Protocol):
    plan: SteeringPlan

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
