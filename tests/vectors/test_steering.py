"""Injection on the real embedded model: native and callback paths, ops, clearing, capture."""

from __future__ import annotations

import numpy as np
import pytest

from rudder.engine.hook import HookEntry, HookError, HookOp
from rudder.vectors.extraction.capture import capture
from rudder.vectors.steering.plan import ScaleMode, Scope, VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringOp, SteeringVector, VectorError, VectorMeta

pytestmark = pytest.mark.slow

PROMPT = "The capital of France is"


def logits_for(engine, prompt: str = PROMPT) -> np.ndarray:
    engine.prefill(engine.tokenize(prompt), reuse_cache=False)
    return engine.logits()


def random_vector(engine, layers: list[int], size: float, seed: int = 0) -> SteeringVector:
    rng = np.random.default_rng(seed)
    directions = {}
    for layer in layers:
        v = rng.standard_normal(engine.info.n_embd).astype(np.float32)
        directions[layer] = v * np.float32(size / np.linalg.norm(v))
    meta = VectorMeta(name="random", model=engine.info.identity, layer_norms=dict.fromkeys(layers, 100.0))
    return SteeringVector(meta, directions)


def plan(vector: SteeringVector, scale: float = 1.0, **kw) -> object:
    return build_plan([VectorUse(vector, scale, scale_mode=ScaleMode.RAW, **kw)])


def test_native_and_callback_additive_paths_give_the_same_logits(fresh) -> None:
    vector = random_vector(fresh, [3, 10, 17], 4.0)
    base = logits_for(fresh)
    native, callback = Steerer(fresh, "native"), Steerer(fresh, "callback")
    with native.steering(plan(vector)):
        steered_native = logits_for(fresh)
    with callback.steering(plan(vector)):
        steered_callback = logits_for(fresh)
    assert np.abs(steered_native - base).max() > 0.1  # it does steer
    np.testing.assert_allclose(steered_callback, steered_native, atol=1e-4)


def test_clearing_restores_bit_identical_logits(fresh) -> None:
    vector = random_vector(fresh, [5, 12], 6.0)
    base = logits_for(fresh)
    for backend in ("native", "callback"):
        steerer = Steerer(fresh, backend)
        steerer.apply(plan(vector))
        assert not np.array_equal(logits_for(fresh), base)
        steerer.clear()
        assert np.array_equal(logits_for(fresh), base), backend


def test_additive_vector_moves_the_residual_along_the_vector(fresh) -> None:
    layer = 12
    vector = random_vector(fresh, [layer], 5.0, seed=3)
    unit = vector.unit(layer)
    tokens = fresh.tokenize(PROMPT)
    before = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    steerer = Steerer(fresh, "callback")
    with steerer.steering(plan(vector)):
        after = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    np.testing.assert_allclose(after - before, np.tile(vector.directions[layer], (len(tokens), 1)), atol=1e-3)
    assert np.all((after - before) @ unit > 4.99)


def test_scale_is_linear_and_opposite_vectors_cancel(fresh) -> None:
    vector = random_vector(fresh, [8], 3.0)
    steerer = Steerer(fresh, "native")
    with steerer.steering(plan(vector, 2.0)):
        doubled_scale = logits_for(fresh)
    with steerer.steering(plan(2 * vector, 1.0)):
        doubled_vector = logits_for(fresh)
    np.testing.assert_allclose(doubled_scale, doubled_vector, atol=1e-5)
    base = logits_for(fresh)
    with steerer.steering(plan(vector - vector)):
        assert np.array_equal(logits_for(fresh), base)


def test_project_out_removes_the_direction_at_the_site(fresh) -> None:
    layer = 14
    tokens = fresh.tokenize(PROMPT)
    natural = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    direction = natural.mean(axis=0)  # a direction the residual really has a component along
    meta = VectorMeta(name="mean", model=fresh.info.identity, op=SteeringOp.PROJECT_OUT)
    vector = SteeringVector(meta, {layer: direction})
    unit = vector.unit(layer)
    assert np.abs(natural @ unit).max() > 1.0
    steerer = Steerer(fresh)
    with steerer.steering(build_plan([VectorUse(vector, 1.0, scale_mode=ScaleMode.RAW)])):
        projected = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    before = np.abs(natural @ unit)
    assert np.all(np.abs(projected @ unit) <= 1e-6 * before + 1e-4)  # float32 rounding only
    with steerer.steering(build_plan([VectorUse(vector, 0.5, scale_mode=ScaleMode.RAW)])):
        half = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    np.testing.assert_allclose(half @ unit, 0.5 * (natural @ unit), rtol=1e-3, atol=1e-3)
    with steerer.steering(build_plan([VectorUse(vector, 1.0, op=SteeringOp.ABLATE)])):
        ablated = capture(fresh, [tokens], [layer], position="all").data[layer][0]
    assert np.all(np.abs(ablated @ unit) <= 1e-6 * before + 1e-4)


def test_generated_scope_leaves_the_prompt_unsteered(fresh) -> None:
    vector = random_vector(fresh, [10], 8.0)
    base = logits_for(fresh)
    steerer = Steerer(fresh)
    with steerer.steering(plan(vector, scope=Scope.GENERATED)):
        assert np.array_equal(logits_for(fresh), base)  # a prompt-only decode is untouched
    with steerer.steering(plan(vector, scope=Scope.ALL)):
        assert not np.array_equal(logits_for(fresh), base)


def test_layer_zero_and_other_sites_go_through_the_callback(fresh) -> None:
    vector = random_vector(fresh, [0], 4.0)
    base = logits_for(fresh)
    with Steerer(fresh).steering(plan(vector)):
        assert not np.array_equal(logits_for(fresh), base)
    with pytest.raises(VectorError, match="cannot run natively"):
        Steerer(fresh, "native").apply(plan(vector))
    ffn = SteeringVector(vector.meta.model_copy(update={"site": "ffn_out"}), {10: vector.directions[0]})
    with Steerer(fresh).steering(plan(ffn)):
        assert not np.array_equal(logits_for(fresh), base)


def test_unknown_site_and_missing_layer_are_clear_errors(fresh) -> None:
    vector = random_vector(fresh, [10], 1.0)
    bogus = SteeringVector(vector.meta.model_copy(update={"site": "no_such_node"}), {10: vector.directions[10]})
    with pytest.raises(VectorError, match="unknown steering site 'no_such_node'.*l_out"):
        Steerer(fresh).apply(plan(bogus))
    with pytest.raises(VectorError, match="has no layers"):
        build_plan([VectorUse(vector, 1.0, layers=(11,))])


def test_relative_scale_is_measured_against_the_residual_norm(fresh) -> None:
    vector = random_vector(fresh, [10], 3.0)  # meta says the residual norm is 100
    op = build_plan([VectorUse(vector, 0.05)]).ops[0]
    assert np.linalg.norm(op.direction) == pytest.approx(5.0, rel=1e-5)


def test_steering_changes_between_decode_calls_without_a_new_context(fresh) -> None:
    ctx_before = fresh.ctx
    vector = random_vector(fresh, [10], 6.0)
    steerer = Steerer(fresh)
    base = logits_for(fresh)
    steerer.apply(plan(vector))
    steered = logits_for(fresh)
    steerer.apply(plan(-vector))
    opposite = logits_for(fresh)
    steerer.clear()
    assert fresh.ctx is ctx_before or fresh.ctx == ctx_before
    assert not np.array_equal(steered, opposite)
    assert np.array_equal(logits_for(fresh), base)


def test_hook_reports_a_wrong_width_direction(fresh) -> None:
    fresh.hook.set_entries([HookEntry("l_out-5", HookOp.ADD, np.ones(10, np.float32))])
    with pytest.raises(HookError, match="l_out-5.*n_embd"):
        logits_for(fresh)


def test_capture_stops_the_graph_early_but_sees_the_same_activations(fresh) -> None:
    tokens = fresh.tokenize(PROMPT)
    partial = capture(fresh, [tokens], [4, 9], position="last", weights="native").data
    fresh.hook.set_entries([HookEntry("l_out-4", HookOp.CAPTURE), HookEntry("l_out-9", HookOp.CAPTURE)])
    rows: list[np.ndarray] = []
    fresh.hook.set_capture(lambda i, r: rows.append(r))
    fresh.prefill(tokens, reuse_cache=False)
    np.testing.assert_array_equal(partial[4][0], rows[0][-1])
    np.testing.assert_array_equal(partial[9][0], rows[1][-1])


def test_the_hook_computes_only_the_steered_nodes(fresh) -> None:
    asks_before, computes_before = fresh.hook.calls
    logits_for(fresh)  # an empty table: the hook returns at once, nothing counted
    assert fresh.hook.calls == (asks_before, computes_before)
    vector = random_vector(fresh, [3, 7], 1.0)
    with Steerer(fresh, "callback").steering(plan(vector)):
        logits_for(fresh)  # one decode call (the prompt fits one micro-batch)
    asks, computes = fresh.hook.calls
    assert computes - computes_before == 2  # l_out-3 and l_out-7, nothing else
    assert asks - asks_before > 100  # llama.cpp asked about every node, answered in C
