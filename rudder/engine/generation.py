"""Value types of one generation: sampling settings, the streamed events, the final stats.

Kept apart from the engine so modes, the agent and the CLI can use them without loading llama.cpp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

StopReason = Literal["eos", "stop", "length", "context", "cancelled"]


class RunningGeneration(Protocol):
    """What a watcher sees of the generation it watches (streaming.Generation, which this module's readers
    need not load)."""

    tokens: list[int]
    stats: GenerationStats

    @property
    def text(self) -> str: ...

    @property
    def rewindable(self) -> bool: ...

    def rewind(self, n: int) -> int: ...

    def cancel(self) -> None: ...


class Watcher(Protocol):
    """Sees every generated token once it is in the KV cache (its logits are the next token's).

    It may change the steering, `generation.rewind(n)` or `generation.cancel()`; the collapse guard is one.
    """

    def observe(self, generation: RunningGeneration, token: int) -> None: ...


class TokenFilter(Protocol):
    """Shapes the likely next tokens where a grammar cannot, e.g. "this string must be a piece of that file".

    `adjust(text, piece)` is asked about the most likely candidates only (sampling.FILTER_CANDIDATES), with
    the text generated so far: -inf vetoes the token, a positive number raises its logit, 0 leaves it. If
    every candidate asked is vetoed, `fallback(text)` may name the one piece to write instead (e.g. the
    quote that ends a string), used if the grammar allows it; else the vetoes are ignored for that token,
    so a filter can never wedge a generation. `active(text)` says cheaply whether to ask at all."""

    def active(self, text: str) -> bool: ...

    def adjust(self, text: str, piece: str) -> float: ...

    def fallback(self, text: str) -> str | None: ...


class Sampling(BaseModel):
    """How tokens are picked. temperature 0 is greedy (deterministic)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.0, ge=0.0, le=5.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    top_k: int = Field(40, ge=0)
    min_p: float = Field(0.05, ge=0.0, le=1.0)
    repeat_penalty: float = Field(1.0, ge=0.5, le=3.0, description="1.0 = off")
    max_tokens: int = Field(512, ge=1)
    stop: list[str] = Field(default_factory=list, description="stop sequences (not included in the text)")
    seed: int = 0


@dataclass(frozen=True)
class TokenEvent:
    token: int
    text: str  # the text this token released (may be "" while a UTF-8 char or stop string is pending)
    erase: int = 0  # characters of earlier released text to take back first (a watcher rewound them)


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    prompt_tokens_cached: int = 0  # reused from the KV cache (computed under earlier steering)
    prompt_tokens_evaluated: int = 0  # actually run through the model for this call
    prompt_tokens_restored: int = 0  # of the cached ones, read from the disk prompt cache
    generated_tokens: int = 0
    prompt_seconds: float = 0.0
    generate_seconds: float = 0.0
    stop_reason: StopReason | None = None

    @property
    def prompt_tok_s(self) -> float:
        return self.prompt_tokens_evaluated / self.prompt_seconds if self.prompt_seconds else 0.0

    @property
    def decode_tok_s(self) -> float:
        return self.generated_tokens / self.generate_seconds if self.generate_seconds else 0.0

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_cached": self.prompt_tokens_cached,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "prompt_tokens_restored": self.prompt_tokens_restored,
            "generated_tokens": self.generated_tokens,
            "prompt_seconds": round(self.prompt_seconds, 4),
            "generate_seconds": round(self.generate_seconds, 4),
            "decode_tok_s": round(self.decode_tok_s, 1),
            "stop_reason": self.stop_reason,
        }


@dataclass
class GenerationResult:
    text: str
    tokens: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)


class StopMatcher:
    """Streams text while holding back anything that could still become a stop sequence."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self.text = ""  # everything accepted so far, stop sequence excluded
        self._released = 0
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add decoded text; return the part that is now safe to show."""
        self.text += piece
        for stop in self.stops:
            at = self.text.find(stop, max(0, self._released - len(stop)))
            if at != -1:
                self.text = self.text[:at]
                self.stopped = True
                return self.flush()
        safe_end = max(self._released, len(self.text) - self._hold)
        out = self.text[self._released : safe_end]
        self._released = safe_end
        return out

    @property
    def released(self) -> int:
        return self._released

    def flush(self) -> str:
        out = self.text[self._released :]
        self._released = len(self.text)
        return out
