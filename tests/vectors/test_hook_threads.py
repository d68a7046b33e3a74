"""Steering swaps from another thread while the model decodes (the TUI does exactly this)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rudder.engine.generation import Sampling
from rudder.engine.hook import check_tensor_layout, compiled_layout
from rudder.vectors.steering.plan import SteeringPlan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringOp
from tests.vectors.test_steering import PROMPT, logits_for, plan, random_vector


class Hammer(threading.Thread):
    """Applies the plans in turn (and clears) as fast as it can until stopped."""

    def __init__(self, steerer: Steerer, plans: list[SteeringPlan], clear: bool = True) -> None:
        super().__init__(daemon=True)
        self.steerer, self.plans, self.clear = steerer, plans, clear
        self.stop = threading.Event()
        self.swaps = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for p in self.plans:
                    self.steerer.apply(p)
                    self.swaps += 1
                    time.sleep(0.0001)  # leave the GIL to the generating thread now and then
                    if self.clear:
                        self.steerer.clear()
                        self.swaps += 1
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_the_layout_offsets_match_this_ggml_and_a_wrong_one_is_refused() -> None:
    assert compiled_layout() == (0, 16, 48)
    check_tensor_layout()
    with pytest.raises(RuntimeError, match="ggml_tensor layout changed"):
        check_tensor_layout((0, 24, 48))
    with pytest.raises(RuntimeError, match="layout changed"):
        check_tensor_layout((4, 16, 48))


@pytest.mark.slow
def test_swaps_from_another_thread_during_generation(fresh) -> None:
    a = plan(random_vector(fresh, [3, 12], 3.0, seed=1))  # l_out add: the native path in auto
    b = plan(random_vector(fresh, [0, 7], 3.0, seed=2))  # layer 0: the callback path
    c = plan(random_vector(fresh, [20], 0.5, seed=3), op=SteeringOp.ABLATE)  # callback, another op
    steerer = Steerer(fresh)
    hammer = Hammer(steerer, [a, b, c])
    hammer.start()
    try:
        result = fresh.complete(PROMPT, Sampling(temperature=0.0, max_tokens=220, stop=[]))
    finally:
        hammer.stop.set()
        hammer.join()
    assert hammer.error is None, hammer.error
    assert result.stats.generated_tokens >= 200 or result.stats.stop_reason == "eos"
    assert hammer.swaps > 200  # it really swapped while tokens were decoded
    # every replaced table was freed (none leaked, none freed twice: that would have crashed)
    made, freed = fresh.hook.tables
    assert made > 100 and freed == made  # the last one was replaced by clear()
    # afterwards a fixed plan gives exactly the logits it gives on a quiet engine
    steerer.apply(a)
    steered = logits_for(fresh)
    steerer.clear()
    base = logits_for(fresh)
    quiet = Steerer(fresh)
    quiet.apply(a)
    assert np.array_equal(logits_for(fresh), steered)
    quiet.clear()
    assert np.array_equal(logits_for(fresh), base)
    assert not np.array_equal(steered, base)


@pytest.mark.slow
def test_each_decode_sees_one_whole_plan_never_a_mix(fresh) -> None:
    """Two plans on different layers: a swap in the middle of a graph would give a third result."""
    a = plan(random_vector(fresh, [2, 9], 4.0, seed=4))
    b = plan(random_vector(fresh, [5, 14], 4.0, seed=5))
    steerer = Steerer(fresh, "callback")
    expected = {}
    for name, p in (("a", a), ("b", b)):
        steerer.apply(p)
        expected[name] = logits_for(fresh)
    hammer = Hammer(steerer, [a, b], clear=False)
    hammer.start()
    seen = {"a": 0, "b": 0}
    try:
        for _ in range(60):
            logits = logits_for(fresh)
            match = [name for name, want in expected.items() if np.array_equal(logits, want)]
            assert match, "a decode saw parts of two plans"
            seen[match[0]] += 1
    finally:
        hammer.stop.set()
        hammer.join()
        steerer.clear()
    assert hammer.error is None, hammer.error
    assert hammer.swaps > 60
