"""Cached tokens that moved in the prompt: found, shifted to their new positions, and the few new tokens
between them evaluated in place (llama-server's cache reuse, extended to insertions).

A context change in the middle of a conversation removes some tokens and often inserts a few: an old
observation shortened to its start plus a note, old turns folded into a summary line, a worked example
dropped. Everything after it is the same text at other positions. Reading it again costs the rest of the
prompt; shifting it costs only what was inserted.

    plan     the runs of at least `min_run` cached tokens that reappear, in order, later in the new
             prompt (each the longest candidate at the first prompt position where one starts); runs only
             move towards the start (what was removed before a run outweighs what was inserted)
    apply    park the runs in a spare sequence of the same KV buffer (cells are tagged, nothing is
             copied), drop the rest of the cache after the common prefix, then in prompt order: evaluate
             the inserted tokens before a run (a gap) at their own positions, shift the run to its new
             place (llama_memory_seq_add; llama.cpp re-rotates the keys at the next decode) and give it
             back to the conversation's sequence. llama.cpp decodes a sequence's positions in order,
             which is why the runs wait aside: a gap sees exactly the tokens before it

The moved tokens keep the activations they were computed with, which saw what was removed and not what
was inserted: close to, not equal to, evaluating them again (tests/engine/test_kv_moves.py).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

import llama_cpp
import numpy as np

from rudder.engine import llama_internals

KEY = 16  # tokens that index a cached position (a run is found by its first KEY tokens)
CANDIDATES = 4  # cached positions tried per prompt position (repetitive text has many)


class Ledger(Protocol):
    """What steering each cached position was computed under (prefill.SteeringLedger)."""

    def mark(self, start: int, end: int, key: str) -> None: ...
    def move(self, start: int, end: int, delta: int) -> None: ...
    def truncate(self, n: int) -> None: ...


@dataclass(frozen=True)
class Run:
    held: int  # where the run starts in the cache
    at: int  # where it starts in the new prompt (at <= held)
    length: int


def plan_runs(held: np.ndarray, tokens: np.ndarray, start: int, limit: int, min_run: int) -> list[Run]:
    """Runs of at least `min_run` tokens of `held[start:]` that reappear, in order, in `tokens[start:limit]`."""
    key = min(KEY, min_run)
    index: dict[bytes, list[int]] = {}
    for i in range(start, len(held) - key + 1):
        index.setdefault(held[i : i + key].tobytes(), []).append(i)
    runs: list[Run] = []
    held_from, at = start, start
    while at + min_run <= limit:
        candidates = index.get(tokens[at : at + key].tobytes(), [])
        first = bisect.bisect_left(candidates, max(held_from, at))
        best: Run | None = None
        for i in candidates[first : first + CANDIDATES]:
            n = _agree(held, i, tokens, at, limit)
            if n >= min_run and (best is None or n > best.length):
                best = Run(i, at, n)
        if best is None:
            at += 1
            continue
        runs.append(best)
        held_from, at = best.held + best.length, best.at + best.length
    return runs


def _agree(held: np.ndarray, i: int, tokens: np.ndarray, at: int, limit: int) -> int:
    n = min(len(held) - i, limit - at)
    differ = np.flatnonzero(held[i : i + n] != tokens[at : at + n])
    return int(differ[0]) if differ.size else n


def reuse_moved(
    llama: llama_cpp.Llama, ledger: Ledger, tokens: list[int], cached: int, min_run: int, key: str
) -> tuple[int, int]:
    """Make the cache hold `tokens[:end]` from the runs it still has (see the module doc).

    Returns (end, evaluated): the cache now holds the prompt up to `end`; `evaluated` of those tokens were
    inserted ones evaluated here (under `key`). (cached, 0) when nothing moved or the cache cannot shift."""
    if not llama_internals.can_park(llama):
        return cached, 0
    held = llama.input_ids[: llama.n_tokens].copy()
    runs = plan_runs(held, np.asarray(tokens, held.dtype), cached, len(tokens) - 1, min_run)
    if not runs:
        return cached, 0
    for run in runs:
        llama_internals.park_kv(llama, run.held, run.held + run.length)
    if not llama_internals.drop_kv(llama, cached, -1):
        llama_internals.drop_kv(llama, 0, -1, seq=llama_internals.PARKED)
        return cached, 0
    end, evaluated = cached, 0
    for run in runs:  # in prompt order: llama.cpp decodes a sequence's positions consecutively
        if run.at > end:
            llama_internals.decode_at(llama, tokens[end : run.at], end)
            ledger.mark(end, run.at, key)
            evaluated += run.at - end
        stop = run.held + run.length
        llama_internals.unpark_kv(llama, run.held, stop, run.at - run.held, held[run.held : stop])
        ledger.move(run.held, stop, run.at - run.held)
        end = run.at + run.length
    llama.n_tokens = end
    ledger.truncate(end)
    return end, evaluated
