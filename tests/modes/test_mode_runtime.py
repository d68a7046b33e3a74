"""Modes on the real model: plans per (step kind, phase), swaps, and the KV-cache semantics."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rudder.engine.generation import Sampling
from rudder.engine.model_file import embedded_model_path
from rudder.interfaces import Phase, StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.registry import parse_mode
from rudder.vectors.files.formats import model_identity_from_gguf
from rudder.vectors.steering.plan import UNSTEERED
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringVector, VectorMeta
from tests.helpers import graph_evaluations

MODE = """
name = "demo"
steer_tool_calls = false
[[vectors]]
vector = "push"
scale = 0.05
layers = "10-12"
[steps.review]
scale_factor = 2.0
[steps.edit]
vectors = []
"""


@pytest.fixture
def push() -> SteeringVector:
    """A random vector for the embedded model (its identity read from the file header: no model loaded)."""
    model = model_identity_from_gguf(embedded_model_path())
    rng = np.random.default_rng(7)
    directions = {layer: rng.standard_normal(model.n_embd).astype(np.float32) for layer in range(10, 13)}
    meta = VectorMeta(name="push", model=model, layer_norms=dict.fromkeys(range(10, 13), 120.0))
    return SteeringVector(meta, directions)


@pytest.fixture
def active(push) -> ActiveMode:
    from pathlib import Path

    return ActiveMode(parse_mode(MODE, Path("demo.toml")), lambda name: {"push": push}[name])


def test_plans_follow_step_kind_and_phase(active: ActiveMode) -> None:
    plan = active.plan(StepKind.PLAN, Phase.THOUGHT)
    assert [op.layer for op in plan.ops] == [10, 11, 12]
    assert np.linalg.norm(plan.ops[0].direction) == pytest.approx(0.05 * 120.0, rel=1e-4)
    review = active.plan(StepKind.REVIEW, Phase.THOUGHT)
    assert np.linalg.norm(review.ops[0].direction) == pytest.approx(0.1 * 120.0, rel=1e-4)
    assert active.plan(StepKind.EDIT, Phase.THOUGHT) is UNSTEERED
    assert active.plan(StepKind.PLAN, Phase.TOOL_CALL) is UNSTEERED  # steer_tool_calls = false
    # equal steering on two step kinds is one plan object: swapping between them costs nothing
    assert active.plan(StepKind.EXPLORE, Phase.THOUGHT) is active.plan(StepKind.PLAN, Phase.THOUGHT)
    assert plan.describe() == [
        {
            "vector": "push",
            "scale": 0.05,
            "scale_mode": "relative",
            "layers": [10, 11, 12],
            "op": "add",
            "scope": "all",
            "site": "l_out",
        }
    ]


@pytest.mark.slow
def test_swap_takes_well_under_a_millisecond(fresh, active: ActiveMode) -> None:
    steerer = Steerer(fresh)
    plans = [active.plan(StepKind.PLAN, Phase.THOUGHT), active.plan(StepKind.REVIEW, Phase.THOUGHT), UNSTEERED]
    steerer.apply(plans[0])  # first use discovers the model's sites
    started = time.perf_counter()
    for i in range(300):
        steerer.apply(plans[i % 3])
    per_swap = (time.perf_counter() - started) / 300
    assert per_swap < 1e-3, f"{per_swap * 1e3:.3f} ms per swap"


@pytest.mark.slow
def test_a_swap_reevaluates_only_the_new_tokens(fresh, active: ActiveMode) -> None:
    steerer = Steerer(fresh)
    conversation = [{"role": "user", "content": "Name a fruit."}]
    steerer.apply(active.plan(StepKind.PLAN, Phase.THOUGHT))
    first = fresh.complete(fresh.format_chat(conversation), Sampling(max_tokens=12))
    conversation += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "Another one?"}]
    prompt = fresh.format_chat(conversation)
    steerer.apply(active.plan(StepKind.REVIEW, Phase.THOUGHT))  # the swap
    with graph_evaluations(fresh) as evaluated:
        second = fresh.complete(prompt, Sampling(max_tokens=12))
    stats = second.stats
    cached_before = len(fresh.tokenize(fresh.format_chat(conversation[:1]))) + len(first.tokens) - 1
    # Everything the cache already held is kept as it was computed (under the old steering) ...
    assert stats.prompt_tokens_cached >= cached_before - 2  # the re-tokenised reply may differ at its end
    # ... and only what is new in the prompt runs through the model (counted in the graph itself).
    assert evaluated[0] <= 16
    assert evaluated[0] == stats.prompt_tokens_evaluated


@pytest.mark.slow
def test_mid_generation_swap_changes_the_next_token(fresh, push: SteeringVector) -> None:
    from rudder.vectors.steering.plan import ScaleMode, VectorUse, build_plan

    strong = build_plan([VectorUse(push * 40.0, 1.0, scale_mode=ScaleMode.RAW)])
    steerer = Steerer(fresh)
    prompt = fresh.format_chat([{"role": "user", "content": "Count from one to twenty in words."}])
    plain = fresh.complete(prompt, Sampling(max_tokens=24)).tokens
    fresh.reset()
    generation = fresh.stream(prompt, Sampling(max_tokens=24))
    tokens = []
    for event in generation:
        tokens.append(event.token)
        if len(tokens) == 8:
            steerer.apply(strong)  # "now": takes effect at the very next decode
    steerer.clear()
    assert tokens[:8] == plain[:8]
    assert tokens[8:] != plain[8:]
