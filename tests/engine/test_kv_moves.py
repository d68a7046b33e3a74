"""Cached tokens that moved in the prompt (a context change in the middle) are shifted, not read again."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

HEAD = "You are a careful coding agent. Answer with one JSON tool call per step."
EXAMPLE = " Example: the user asked for notes.txt and the agent wrote it, then called finish with a short answer."
TURNS = (
    " Task: fix the typo in hello.py. The agent read hello.py: it prints hello wrold. The agent replaced wrold"
    " with world and the tests passed. Then it read the README, which says to run make test before finishing,"
    " and it ran make test: 14 passed in 0.31 seconds. It is now about to call finish with a one-line summary."
)


def parts(engine) -> tuple[list[int], list[int], list[int]]:
    head = engine.tokenize(HEAD)
    example = engine.tokenize(EXAMPLE, add_bos=False)
    turns = engine.tokenize(TURNS, add_bos=False)
    assert len(turns) >= 64
    return head, example, turns


def test_dropping_a_middle_part_shifts_what_follows(fresh) -> None:
    head, example, turns = parts(fresh)
    fresh.prefill(head + example + turns)
    tail = fresh.tokenize(" Next:", add_bos=False)
    cached, evaluated = fresh.prefill(head + turns + tail)
    assert cached == len(head) + len(turns) and evaluated == len(tail)
    assert fresh.llama.n_tokens == len(head) + len(turns) + len(tail)
    moved = fresh.logits()
    fresh.reset()
    fresh.prefill(head + turns + tail)
    exact = fresh.logits()
    cosine = float(moved @ exact / np.linalg.norm(moved) / np.linalg.norm(exact))
    assert cosine > 0.95  # close, not equal: the moved tokens once saw the dropped example


def test_short_runs_and_the_off_switch_evaluate_again(fresh) -> None:
    head, example, turns = parts(fresh)
    fresh.prefill(head + example + turns)
    assert fresh.prefill(head + turns[:40] + example)[0] == len(head)  # runs under 64 tokens are not moved
    fresh.config.kv_shift_min = 0
    try:
        fresh.prefill(head + example + turns)
        assert fresh.prefill(head + turns)[0] == len(head)
    finally:
        fresh.config.kv_shift_min = 64


def test_a_replaced_middle_part_costs_only_the_inserted_tokens(fresh) -> None:
    """An old observation shortened to a note, old turns folded into a summary: removed tokens plus a few
    inserted ones. The runs after them move; only the inserted tokens are evaluated, at their positions."""
    head, example, turns = parts(fresh)
    note = fresh.tokenize(" [an example was here]", add_bos=False)
    tail = fresh.tokenize(" Next:", add_bos=False)
    fresh.prefill(head + example + turns)
    cached, evaluated = fresh.prefill(head + note + turns + tail)
    assert (cached, evaluated) == (len(head) + len(turns), len(note) + len(tail))
    assert fresh.llama.input_ids[: fresh.llama.n_tokens].tolist() == head + note + turns + tail
    moved = fresh.logits()
    fresh.reset()
    fresh.prefill(head + note + turns + tail)
    exact = fresh.logits()
    cosine = float(moved @ exact / np.linalg.norm(moved) / np.linalg.norm(exact))
    assert cosine > 0.95
    # the cache is consistent afterwards: extending it evaluates only the extension
    more = fresh.tokenize(" Then finish.", add_bos=False)
    assert fresh.prefill(head + note + turns + tail + more) == (len(head + note + turns + tail), len(more))
