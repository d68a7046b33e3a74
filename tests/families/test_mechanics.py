"""Steering mechanics on tiny models of four architectures: sites discovered from the graph, native control
vector = the hook's add, extraction, the health check and a one-scale calibration run end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract
from rudder.vectors.files.card import Recipe
from rudder.vectors.steering.plan import ScaleMode, VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.calibrate import calibrate
from rudder.vectors.trust.health import check_vector
from rudder.vectors.vector import SteeringVector, VectorMeta

pytestmark = pytest.mark.slow

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
PROMPT = "def add(a, b):\n    return"
# the block structure each family's graph shows (besides l_out / l_last, checked for all)
FAMILY_SITES = {
    "llama": ({"attn_out", "ffn_inp", "ffn_out"}, {"sa_out", "attn_post_norm"}),
    "qwen2": ({"ffn_inp", "ffn_out"}, {"attn_out", "sa_out"}),  # qwen2 names no attn_out node
    "gemma3": ({"attn_post_norm", "ffn_post_norm", "sa_out", "ffn_out"}, {"ffn_inp"}),  # post-norms
    "deepseek4": ({"ffn_out", "attn_out", "hc_attn_pre"}, {"l_out"}),  # hyper-connection streams
}


def middle_layers(engine) -> list[int]:
    """The layers extract uses by default: all but the first and last."""
    return list(range(1, engine.info.n_layer - 1))


def logits_for(engine, prompt: str = PROMPT) -> np.ndarray:
    engine.prefill(engine.tokenize(prompt), reuse_cache=False)
    return engine.logits()


def test_sites_are_discovered_from_the_graph(tiny) -> None:
    info, adapter = tiny.info, tiny.profile.sites
    n_layer = info.n_layer
    for name in {adapter.native_site, adapter.default_site}:
        site = tiny.sites[name]
        assert site.layers == list(range(n_layer)) and site.row_size == info.n_embd and site.dtype == "f32"
    present, absent = FAMILY_SITES[info.architecture]
    assert present <= set(tiny.sites), sorted(tiny.sites)
    assert not absent & set(tiny.sites)
    expected_shape = (info.n_embd, 4) if info.architecture == "deepseek4" else (info.n_embd,)
    assert tiny.sites[adapter.native_site].shape == expected_shape


def test_the_native_control_vector_and_the_hook_give_the_same_logits(tiny) -> None:
    site, layers = tiny.profile.sites.native_site, middle_layers(tiny)
    rng = np.random.default_rng(1)
    directions = {layer: rng.standard_normal(tiny.info.n_embd).astype(np.float32) for layer in layers}
    vector = SteeringVector(VectorMeta(name="rand", model=tiny.info.identity, site=site), directions)
    plan = build_plan([VectorUse(vector, 1.0, scale_mode=ScaleMode.RAW)])
    base = logits_for(tiny)
    with Steerer(tiny, "native").steering(plan):
        native = logits_for(tiny)
    with Steerer(tiny, "callback").steering(plan):
        hooked = logits_for(tiny)
    assert np.abs(native - base).max() > 1e-3  # llama.cpp's build_cvec is in this family's graph
    np.testing.assert_allclose(hooked, native, atol=1e-4)
    assert np.array_equal(logits_for(tiny), base)  # cleared: bit-identical


def test_extract_check_and_a_one_scale_calibration_run(tiny) -> None:
    data = load_dataset(DATASET, limit=12)
    layers = middle_layers(tiny)
    vector = extract(tiny, data, layers, site=tiny.profile.sites.default_site, name="terse")
    assert vector.layers == layers and vector.meta.model == tiny.info.identity
    assert all(np.isfinite(d).all() and np.linalg.norm(d) > 0 for d in vector.directions.values())
    assert all(vector.meta.layer_norms[layer] > 0 for layer in layers)

    health = check_vector(tiny, vector, data, steer_layers=layers, permutations=50)
    assert health.verdict in ("strong", "ok", "weak") and [h.layer for h in health.layers] == layers
    assert all(0.0 <= h.auroc <= 1.0 for h in health.layers)

    recipe = Recipe(dataset=str(DATASET), prompts=["How do I sort a list?", "What is a tuple?"], max_tokens=12)
    calibration = calibrate(tiny, vector, recipe, layers=layers, scales=[0.05])
    assert [row.scale for row in calibration.rows] == [0.0, 0.05] and all(r.answers == 2 for r in calibration.rows)
    assert all(math.isfinite(row.perplexity) and row.perplexity >= 1.0 for row in calibration.rows)
