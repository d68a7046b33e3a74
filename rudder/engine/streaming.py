"""One running generation: sample, decode, stream tokens, apply stop strings and watchers.

Kept apart from engine.py (which loads the model and owns the KV cache); `Engine.stream` creates these.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from rudder.engine import llama_internals
from rudder.engine.generation import (
    GenerationResult,
    GenerationStats,
    Sampling,
    StopMatcher,
    TokenEvent,
    TokenFilter,
    Watcher,
)
from rudder.engine.info import EngineError

if TYPE_CHECKING:
    import llama_cpp
    import numpy as np

    from rudder.engine.info import ModelInfo
    from rudder.engine.sampling import TokenSampler


class Decoder(Protocol):
    """What a generation needs of the engine (engine.Engine; typed here so that this module, which engine.py
    imports, does not import it back). Watchers read `logits()` through `generation.engine`."""

    llama: llama_cpp.Llama
    info: ModelInfo
    restored: int

    def prefill(
        self, tokens: Sequence[int], *, reuse_cache: bool = True, stable: int | Sequence[int] = 0
    ) -> tuple[int, int]: ...

    def token_sampler(self, sampling: Sampling, grammar: str | None) -> TokenSampler: ...

    def piece_bytes(self, token: int, *, special: bool = False) -> bytes: ...

    def is_end_of_generation(self, token: int) -> bool: ...

    def decode_token(self, token: int) -> None: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def logits(self) -> np.ndarray: ...


class Generation(Iterator[TokenEvent]):
    """One streaming generation; also records tokens, text and stats as it goes."""

    def __init__(
        self,
        engine: Decoder,
        prompt: list[int],
        sampling: Sampling,
        grammar: str | None,
        watchers: Sequence[Watcher] = (),
        token_filter: TokenFilter | None = None,
        stable: int | Sequence[int] = 0,
    ) -> None:
        self._stable = stable
        self.engine = engine
        self.token_filter = token_filter
        self.sampling = sampling
        self.stats = GenerationStats(prompt_tokens=len(prompt))
        self.prompt = prompt
        self.tokens: list[int] = []
        self.watchers = list(watchers)
        self._grammar = grammar
        self._erase = 0
        self._stops = StopMatcher(sampling.stop)
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.sampler: TokenSampler | None = None
        self._events = self._run(prompt, grammar)
        self.cancelled = False

    @property
    def text(self) -> str:
        return self._stops.text

    def __next__(self) -> TokenEvent:
        return next(self._events)

    def cancel(self) -> None:
        """Stop after the current token (safe to call from another thread)."""
        self.cancelled = True

    def result(self) -> GenerationResult:
        return GenerationResult(text=self.text, tokens=list(self.tokens), stats=self.stats)

    @property
    def rewindable(self) -> bool:
        """A grammar's state cannot be taken back: only an unconstrained generation rewinds."""
        return self._grammar is None

    def rewind(self, n: int) -> int:
        """Drop the last `n` generated tokens from the text and the KV cache (a watcher calls this between
        tokens). Returns the characters of released text taken back; the next TokenEvent carries them as
        `erase`. `stats.generated_tokens` keeps counting the work done, so max_tokens still bounds it."""
        if not self.rewindable:
            raise EngineError("cannot rewind a grammar-constrained generation (the grammar state is gone)")
        n = min(n, len(self.tokens))
        if n <= 0:
            return 0
        released = self._stops.released
        del self.tokens[-n:]
        text = self.engine.detokenize(self.tokens)
        self._stops = StopMatcher(self.sampling.stop)
        self._stops.feed(text)
        self._stops.flush()
        self._utf8.reset()
        self.engine.prefill(self.prompt + self.tokens)  # keeps the common prefix, evaluates the last token
        erased = max(0, released - len(self._stops.text))
        self._erase += erased
        return erased

    def _run(self, prompt: list[int], grammar: str | None) -> Iterator[TokenEvent]:
        engine, stats = self.engine, self.stats
        started = time.perf_counter()
        stats.prompt_tokens_cached, stats.prompt_tokens_evaluated = engine.prefill(prompt, stable=self._stable)
        stats.prompt_tokens_restored = engine.restored
        stats.prompt_seconds = time.perf_counter() - started
        sampler = self.sampler = engine.token_sampler(self.sampling, grammar)
        started = time.perf_counter()
        try:
            while True:
                reason = self._limit_reached()
                if reason:
                    stats.stop_reason = reason
                    break
                token = sampler.sample(llama_internals.context_handle(engine.llama), self.token_filter, self.text)
                if engine.is_end_of_generation(token):
                    stats.stop_reason = "eos"
                    break
                self.tokens.append(token)
                stats.generated_tokens += 1
                text = self._stops.feed(self._utf8.decode(engine.piece_bytes(token)))
                erase, self._erase = self._erase, 0
                if self._stops.stopped:
                    stats.stop_reason = "stop"
                    yield TokenEvent(token, text, erase)
                    break
                yield TokenEvent(token, text, erase)
                if self.cancelled:  # cancelled while the consumer held the token: no decode for nothing
                    stats.stop_reason = "cancelled"
                    break
                engine.decode_token(token)
                for watcher in self.watchers:
                    watcher.observe(self, token)
            tail = self._stops.feed(self._utf8.decode(b"", final=True)) + self._stops.flush()
            if (tail and not self._stops.stopped) or self._erase:
                yield TokenEvent(-1, tail, self._erase)
                self._erase = 0
        finally:
            stats.generate_seconds = time.perf_counter() - started
            sampler.close()

    def _limit_reached(self) -> str | None:
        if self.cancelled:
            return "cancelled"
        if self.stats.generated_tokens >= self.sampling.max_tokens:
            return "length"
        if self.engine.llama.n_tokens >= self.engine.info.n_ctx:
            return "context"
        return None
