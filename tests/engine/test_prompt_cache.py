"""The persistent prompt cache on the real model: bit-identical restores, steering-exact keys."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rudder.vectors.steering.plan import ScaleMode, VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringVector, VectorMeta

pytestmark = pytest.mark.slow

SYSTEM = (
    "You are a careful coding agent. Tools: read_file(path), edit_file(path, search, replace), "
    "write_file(path, content), run_tests(), finish(answer). Answer with one JSON tool call per step. "
    "Read a file before you change it, keep changes small, and run the tests before you finish."
)


def prompt(engine, task: str) -> tuple[list[int], int]:
    stable = engine.tokenize(SYSTEM)
    return stable + engine.tokenize(f"\nTask: {task}\n", add_bos=False), len(stable)


def first_run(engine, tokens: list[int], stable: int) -> np.ndarray:
    engine.reset()
    assert engine.prefill(tokens, stable=stable) == (0, len(tokens))
    assert engine.restored == 0
    return engine.logits()


def vector(engine, seed: int) -> SteeringVector:
    rng = np.random.default_rng(seed)
    directions = {layer: rng.standard_normal(engine.info.n_embd).astype(np.float32) * 3 for layer in (4, 9)}
    meta = VectorMeta(name=f"random{seed}", model=engine.info.identity, layer_norms=dict.fromkeys((4, 9), 100.0))
    return SteeringVector(meta, directions)


def plan(engine, seed: int) -> object:
    return build_plan([VectorUse(vector(engine, seed), 1.0, scale_mode=ScaleMode.RAW)])


def test_a_restored_prefix_gives_bit_identical_logits(cached) -> None:
    tokens, stable = prompt(cached, "add a docstring to parse()")
    fresh_logits = first_run(cached, tokens, stable)
    cached.reset()
    assert cached.prefill(tokens, stable=stable) == (stable, len(tokens) - stable)
    assert cached.restored == stable
    assert np.array_equal(cached.logits(), fresh_logits)
    # another task shares the stable prefix: it is restored too, the rest evaluated
    other, _ = prompt(cached, "rename load() to read()")
    cached.reset()
    assert cached.prefill(other, stable=stable)[0] == stable


@pytest.mark.parametrize("backend", ["native", "callback"])
def test_a_prefix_is_restored_only_under_the_steering_it_was_computed_with(cached, backend: str) -> None:
    steerer = Steerer(cached, backend)
    tokens, stable = prompt(cached, "fix the failing test")
    try:
        steerer.apply(plan(cached, 1))
        steered = first_run(cached, tokens, stable)
        steerer.clear()
        unsteered = first_run(cached, tokens, stable)  # a miss: the entry was computed under other steering
        assert not np.array_equal(steered, unsteered)
        steerer.apply(plan(cached, 2))
        first_run(cached, tokens, stable)  # other steering, other direction: a miss again
        steerer.apply(plan(cached, 1))
        cached.reset()
        cached.prefill(tokens, stable=stable)
        assert cached.restored == stable
        assert np.array_equal(cached.logits(), steered)
    finally:
        steerer.clear()


def test_switching_steering_mid_prefix_misses_the_cache(cached) -> None:
    steerer = Steerer(cached, "native")
    tokens, stable = prompt(cached, "fix the failing test")
    try:
        steerer.apply(plan(cached, 1))
        cached.reset()
        cached.prefill(tokens[: stable // 2])
        steerer.clear()  # the second half of the prefix is computed unsteered: no entry can stand for it
        assert cached.prefill(tokens, stable=stable)[0] == stable // 2
        assert not cached.prompt_cache.entries("") and not any(cached.prompt_cache.directory.glob("*.kv"))
        first_run(cached, tokens, stable)  # unsteered from the start: a miss, then saved
        steerer.apply(plan(cached, 1))
        first_run(cached, tokens, stable)  # steered from the start: a miss too
    finally:
        steerer.clear()


def test_same_steering_reuse_reevaluates_tokens_computed_under_other_steering(cached) -> None:
    steerer = Steerer(cached, "native")
    tokens, _ = prompt(cached, "fix the failing test")
    try:
        steerer.apply(plan(cached, 1))
        cached.reset()
        cached.prefill(tokens)
        steerer.clear()
        assert cached.prefill(tokens)[0] == len(tokens) - 1  # "keep": the conversation is not re-read
        cached.config.kv_reuse = "same-steering"
        assert cached.prefill(tokens)[0] == 0  # every cached token but the last was computed steered
        assert cached.prefill(tokens)[0] == len(tokens) - 1
    finally:
        cached.config.kv_reuse = "keep"
        steerer.clear()


def test_a_corrupt_entry_is_ignored(cached, caplog) -> None:
    tokens, stable = prompt(cached, "add a docstring to parse()")
    fresh_logits = first_run(cached, tokens, stable)
    (path,) = cached.prompt_cache.directory.glob("*.kv")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.DEBUG, logger="rudder.engine.prompt_cache"):
        assert np.array_equal(first_run(cached, tokens, stable), fresh_logits)
    assert "corrupt" in caplog.text
