"""Prefill: make the KV cache hold a prompt, reading as few tokens as possible, and know what steering
every cached token was computed under.

Sources of tokens already read, tried in this order:
  in-process   the longest common prefix with what the KV cache holds (llama.cpp keeps it between calls);
  on disk      a prompt cache entry (engine/prompt_cache.py) for the caller's stable prefix, computed under
               the steering active now;
  moved        runs of cached tokens that reappear later in the prompt, shifted there, with the tokens
               inserted between them evaluated in place (engine/kv_reuse.py);
  evaluated    the rest, under the steering active now.

Steering and reuse (DESIGN.md: tokens already in the cache keep the activations of the steering active
when they were computed). The `SteeringLedger` records, per cached position, the steering digest of the
decode that computed it, so the decision is explicit:
  kv_reuse="keep"            (default) in-process reuse ignores steering changes: a mode swap never
                             re-reads the conversation; the ledger still says what each token saw.
  kv_reuse="same-steering"   a cached token computed under other steering is evaluated again.
The disk cache is always steering-exact: an entry stands in for evaluating its prefix under the steering
active now, so it is saved only when every one of its tokens was computed under one steering, keyed by
it, and found only under that same steering.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rudder.engine import llama_internals
from rudder.engine.batch import common_length
from rudder.engine.kv_reuse import reuse_moved
from rudder.engine.prompt_cache import PromptCache
from rudder.util.dirs import user_cache_dir

if TYPE_CHECKING:
    import llama_cpp

    from rudder.engine.config import EngineConfig
    from rudder.engine.hook import GraphHook
    from rudder.engine.info import ModelInfo

log = logging.getLogger(__name__)


class SteeringLedger:
    """Which steering each cached position was computed under (one small id per position)."""

    def __init__(self) -> None:
        self._keys: list[str] = []  # id -> digest
        self._ids: dict[str, int] = {}
        self._at = np.zeros(0, np.int32)  # position -> id

    @property
    def end(self) -> int:
        return len(self._at)

    def _id(self, key: str) -> int:
        if key not in self._ids:
            self._ids[key] = len(self._keys)
            self._keys.append(key)
        return self._ids[key]

    @property
    def runs(self) -> list[tuple[int, str]]:
        """[(end, digest)] for each run of positions computed under one steering."""
        if not len(self._at):
            return []
        ends = [*np.flatnonzero(np.diff(self._at)).tolist(), len(self._at) - 1]
        return [(end + 1, self._keys[self._at[end]]) for end in ends]

    def truncate(self, n: int) -> None:
        self._at = self._at[: max(0, n)].copy()

    def extend(self, end: int, key: str) -> None:
        """Positions from the current end up to `end` were computed under `key`."""
        if end > len(self._at):
            self._at = np.concatenate([self._at, np.full(end - len(self._at), self._id(key), np.int32)])

    def mark(self, start: int, end: int, key: str) -> None:
        """Positions [start, end) (inside the cache) were computed again under `key`."""
        self._at[start:end] = self._id(key)

    def move(self, start: int, end: int, delta: int) -> None:
        """Positions [start, end) moved by `delta` (< 0) in the KV cache; what they overwrite is gone."""
        self._at[start + delta : end + delta] = self._at[start:end].copy()

    def uniform(self, n: int) -> str | None:
        """The one steering positions [0, n) were all computed under, else None."""
        if n <= 0 or len(self._at) < n or (self._at[:n] != self._at[0]).any():
            return None
        return self._keys[self._at[0]]

    def first_other(self, key: str) -> int:
        """The first position computed under other steering than `key` (the end when none)."""
        other = np.flatnonzero(self._at != self._ids.get(key, -1))
        return int(other[0]) if other.size else len(self._at)


def cvec_digest(data: np.ndarray | None, il_start: int, il_end: int) -> str:
    if data is None:
        return ""
    digest = hashlib.blake2b(f"{il_start}:{il_end}".encode(), digest_size=12)
    digest.update(np.ascontiguousarray(data, dtype=np.float32).tobytes())
    return digest.hexdigest()


class KVCacheOwner(Protocol):
    """What the prefill needs of the engine: the context and what it knows of the cached tokens
    (engine.Engine; typed here so that this module, which engine.py imports, does not import it back)."""

    llama: llama_cpp.Llama
    config: EngineConfig
    info: ModelInfo
    hook: GraphHook
    ledger: SteeringLedger
    prompt_cache: PromptCache | None
    restored: int

    def steering_key(self) -> str: ...

    def reset(self) -> None: ...

    def tokenize(self, text: str, *, special: bool = True, add_bos: bool = True) -> list[int]: ...

    def piece_bytes(self, token: int, *, special: bool = False) -> bytes: ...


def open_prompt_cache(engine: KVCacheOwner) -> PromptCache | None:
    """The engine's disk cache (None when its size limit is 0)."""
    limit = engine.config.prompt_cache_mb << 20
    if limit <= 0:
        return None
    path = Path(engine.info.path).resolve()
    stat = path.stat()
    parts = (
        str(path),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        engine.info.identity.layout_hash,
        llama_internals.context_settings(engine.llama),
    )
    context = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).hexdigest()
    return PromptCache(user_cache_dir() / "prompts", context, limit)


def prefill(
    engine: KVCacheOwner, tokens: list[int], *, reuse_cache: bool, stable: int | Sequence[int]
) -> tuple[int, int]:
    """See Engine.prefill. Returns (cached, evaluated); `engine.restored` = tokens read from disk.

    `stable`: the stable prefix's length, or several nested ones (the system prompt alone, then with the
    worked examples). The longest is looked up and saved as one entry; a cache that cannot shift or drop a
    tail (deepseek4) also saves the shorter ones, so that it can start over from the system prompt once the
    examples are gone instead of from nothing."""
    llama, ledger = engine.llama, engine.ledger
    stops = sorted({min(s, len(tokens) - 1) for s in ([stable] if isinstance(stable, int) else stable)} - {0})
    stable = stops[-1] if stops else 0
    if llama_internals.can_shift(llama):
        stops = stops[-1:]
    engine.restored = 0
    with engine.hook.decoding(generating=False):
        key = engine.steering_key()
        cached = 0
        if reuse_cache:
            current = llama.input_ids[: llama.n_tokens]
            limit = min(len(current), len(tokens) - 1)
            if limit > 0:
                mismatch = np.flatnonzero(current[:limit] != np.asarray(tokens[:limit]))
                cached = int(mismatch[0]) if mismatch.size else limit
            if engine.config.kv_reuse == "same-steering":
                cached = min(cached, ledger.first_other(key))
        cache = engine.prompt_cache if reuse_cache else None
        if cache is not None and stable > cached:
            restored = _restore(engine, cache, tokens[:stable], key, longer_than=cached)
            if restored:
                cached = engine.restored = restored
        shift_min, inserted = engine.config.kv_shift_min, 0
        if reuse_cache and shift_min and engine.config.kv_reuse == "keep" and cached < llama.n_tokens:
            cached, inserted = reuse_moved(llama, ledger, tokens, cached, shift_min, key)
        if cached < llama.n_tokens and not llama_internals.drop_kv_tail(llama, cached):
            # Some caches cannot drop a tail (deepseek4's compressed KV): start over, from disk if it has the prefix
            engine.reset()
            cached = 0
            if cache is not None and stable > 0:
                cached = engine.restored = _restore(engine, cache, tokens[:stable], key, longer_than=0)
        llama.n_tokens = cached  # eval() drops everything in the KV cache from here on
        ledger.truncate(cached)
        if cache is not None and stable > cached:
            for stop in (s for s in stops if s > cached):
                _evaluate(engine, tokens[llama.n_tokens : stop], key)
                engine.hook.raise_if_failed()  # a failed hook must not leave a saved entry
                if ledger.uniform(stop) == key and not cache.has(key, tokens[:stop]):
                    cache.save(key, tokens[:stop], llama_internals.save_sequence(llama))
            evaluated_from = stable
        else:
            evaluated_from = cached
        _evaluate(engine, tokens[evaluated_from:], key)
    engine.hook.raise_if_failed()
    evaluated = len(tokens) - cached + inserted
    return len(tokens) - evaluated, evaluated


def _evaluate(engine: KVCacheOwner, tokens: Sequence[int], key: str) -> None:
    if tokens:
        engine.llama.eval(tokens)
        engine.ledger.extend(engine.llama.n_tokens, key)


def _restore(engine: KVCacheOwner, cache: PromptCache, prefix: list[int], key: str, longer_than: int) -> int:
    """Load the disk entry sharing the longest prefix with `prefix`; how many tokens it gave (0: none)."""
    found = cache.find(key, prefix, longer_than=longer_than)
    if found is None:
        return 0
    entry, common = found
    blob = cache.load(entry)
    if blob is None:
        return 0
    if not llama_internals.load_sequence(engine.llama, blob, list(entry.tokens)):
        log.debug("prompt cache: llama.cpp refused %s, ignored", entry.path.name)
        engine.reset()
        return 0
    engine.ledger.truncate(0)
    engine.ledger.extend(len(entry.tokens), key)
    if common < len(entry.tokens):
        if not llama_internals.drop_kv_tail(engine.llama, common):
            engine.reset()
            return 0
        engine.llama.n_tokens = common
        engine.ledger.truncate(common)
    return common


def replay_tokens(engine: KVCacheOwner, text: str) -> list[int]:
    """The tokens of a prompt `text`, reusing the cached tokens wherever the text still agrees with them.

    An agent renders its whole conversation as text every step. Tokenizing it afresh can split the model's
    own earlier output differently from how it was sampled (e.g. `</think>` + `<` merge at the seam), and
    everything after the first differing token is evaluated again; a cache that cannot drop a tail
    (deepseek4) even evaluates everything. ds4 keeps the exact sampled tokens instead; so does this: the
    cached tokens whose text is the start of `text` are kept as they are, and only the rest is tokenized.
    """
    fresh = engine.tokenize(text)
    held = engine.llama.input_ids[: engine.llama.n_tokens].tolist()
    common = common_length(held, fresh)
    if common >= len(held) or common == 0:
        return fresh  # the cache is already a prefix (or shares nothing): nothing to keep
    data = text.encode("utf-8")
    offset = _byte_offset(engine, fresh[:common], data)
    if offset is None:
        return fresh
    kept = common
    for token in held[common:]:
        piece = engine.piece_bytes(token, special=True)
        if not piece or data[offset : offset + len(piece)] != piece:
            break
        offset += len(piece)
        kept += 1
    if kept == common:
        return fresh
    try:
        rest = data[offset:].decode("utf-8")
    except UnicodeDecodeError:  # the kept tokens end inside a character: the seam is not a clean cut
        return fresh
    return held[:kept] + (engine.tokenize(rest, add_bos=False) if rest else [])


def _byte_offset(engine: KVCacheOwner, tokens: list[int], data: bytes) -> int | None:
    """Where in `data` the text of `tokens` ends (an added BOS has no text), None if they do not spell it."""
    offset = 0
    for i, token in enumerate(tokens):
        piece = engine.piece_bytes(token, special=True)
        if data[offset : offset + len(piece)] == piece:
            offset += len(piece)
        elif i != 0:  # only a leading BOS may be missing from the text
            return None
    return offset
