"""The collapse guard: loop detection and plan scaling without a model; backing off a real induced loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rudder.engine.generation import Sampling
from rudder.vectors.files.formats import load_vector
from rudder.vectors.steering.plan import UNSTEERED, VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.guard import CollapseGuard, entropy, find_loop, scaled
from rudder.vectors.trust.textmetrics import repetition_rate

TERSE = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"


def test_find_loop_needs_two_copies_and_a_long_enough_run() -> None:
    assert find_loop([1, 2, 3, 4] * 3, min_span=8) == (4, 8)
    assert find_loop([9, 8, 7] + [5] * 30, min_span=24) == (1, 29)
    assert find_loop(list(range(40)), min_span=8) is None
    assert find_loop([1, 2, 3, 4] * 2, min_span=8) is None  # one repeat of 4 is not yet a 24-token loop


def test_entropy_of_uniform_and_certain_distributions() -> None:
    assert entropy(np.zeros(8)) == pytest.approx(np.log(8))
    assert entropy(np.array([100.0, 0.0, 0.0])) < 1e-6


def test_scaled_plan_halves_pushes_and_factor_zero_clears() -> None:
    from rudder.engine.identity import ModelIdentity
    from rudder.vectors.vector import SteeringVector, VectorMeta

    meta = VectorMeta(name="v", model=ModelIdentity(architecture="llama", n_embd=4, n_layer=3), layer_norms={1: 2.0})
    plan = build_plan([VectorUse(SteeringVector(meta, {1: np.ones(4, np.float32)}), 0.5)])
    half = scaled(plan, 0.5)
    assert np.allclose(half.ops[0].direction, plan.ops[0].direction / 2)
    assert half.describe()[0]["scale"] == 0.25
    assert scaled(plan, 0.0) is UNSTEERED


@pytest.mark.slow
def test_guard_lowers_the_scale_on_an_induced_repetition_loop(fresh) -> None:
    vector = load_vector(TERSE, model=fresh.info.identity)
    steerer = Steerer(fresh)
    over = build_plan([VectorUse(vector, -0.3, tuple(range(10, 16)))])  # 'verbose' pushed far: "of the of the"
    prompt = fresh.format_chat([{"role": "user", "content": "What is a process in an operating system?"}])
    sampling = Sampling(max_tokens=60)
    with steerer.steering(over):
        fresh.reset()
        loose = fresh.complete(prompt, sampling).text
        guard = CollapseGuard(steerer)
        fresh.reset()
        generation = fresh.stream(prompt, sampling, watchers=[guard])
        shown = ""
        for event in generation:
            shown = shown[: len(shown) - event.erase] + event.text
        assert steerer.plan is not over  # the guard's scaled plan is active until the block ends
    assert repetition_rate(loose) > 0.5
    first = guard.events[0]
    assert first.kind == "loop" and first.action == "backed-off"
    assert first.factor_before == 1.0 and first.factor_after == 0.5 and first.rewound > 0
    assert first.plan[0]["scale"] == pytest.approx(-0.15)
    assert shown == generation.text  # streamed text with erasures applied = the final text
    assert repetition_rate(generation.text) < repetition_rate(loose)
    assert steerer.plan is UNSTEERED
