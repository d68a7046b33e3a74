"""The concept meter on the real model: one reading per generated token, and it moves with the steering."""

from __future__ import annotations

import numpy as np
import pytest

from rudder.engine.generation import Sampling
from rudder.vectors.files.library import VectorResolver
from rudder.vectors.steering.meter import ConceptMeter, Probe
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer

pytestmark = pytest.mark.slow

PROMPT = "Explain in detail how a hash map works."


def generate(engine, steerer: Steerer, plan, tokens: int = 24) -> int:
    steerer.apply(plan)
    prompt = engine.format_chat([{"role": "user", "content": PROMPT}])
    generation = engine.stream(prompt, Sampling(temperature=0.0, max_tokens=tokens))
    for _ in generation:
        pass
    steerer.clear()
    return generation.stats.generated_tokens


def test_meter_reads_each_generated_token_and_follows_the_push(fresh) -> None:
    terse = VectorResolver(fresh.info.identity, None)("terse")
    probe = Probe.for_vector(terse, [10, 11, 12, 13, 14, 15])
    assert probe.node == "l_out-15" and abs(float(np.linalg.norm(probe.direction)) - 1.0) < 1e-5
    steerer = Steerer(fresh)
    means = {}
    for scale in (0.0, 0.08):
        meter = ConceptMeter([probe])
        steerer.watch(meter)
        plan = build_plan([VectorUse(terse, scale, layers=tuple(range(10, 16)))]) if scale else build_plan([])
        generated = generate(fresh, steerer, plan)
        readings = meter.latest()["terse"]
        # one reading per single-row decode: each generated token (the prefill may end with one row too)
        assert generated - 1 <= len(readings) <= generated + 1
        assert all(-1.0 <= value <= 1.0 for value in readings)
        means[scale] = float(np.mean(readings))
    assert means[0.08] > means[0.0] + 0.02  # pushing along the vector shows on the meter
    steerer.watch(None)
    steerer.apply(build_plan([]))
    assert all(entry.op != 3 for entry in fresh.hook.entries)  # no captures left behind
