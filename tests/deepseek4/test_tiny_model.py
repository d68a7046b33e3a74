"""The tiny deepseek4 model: loads, generates, exposes its sites; steering handles the 4 streams."""

from __future__ import annotations

import numpy as np
import pytest

from rudder.engine.generation import Sampling
from rudder.engine.hook import HookEntry, HookOp
from rudder.vectors.extraction.capture import capture
from rudder.vectors.steering.plan import ScaleMode, VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringOp, SteeringVector, VectorMeta

pytestmark = pytest.mark.slow

PROMPT = "def add(a, b):\n    return"


def logits_for(engine, prompt: str = PROMPT) -> np.ndarray:
    engine.prefill(engine.tokenize(prompt), reuse_cache=False)
    return engine.logits()


def unit(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    return v / np.linalg.norm(v)


def vector(engine, site: str, layers: list[int], size: float, op: SteeringOp = SteeringOp.ADD) -> SteeringVector:
    meta = VectorMeta(name=f"rand-{site}", model=engine.info.identity, site=site, op=op)
    return SteeringVector(meta, {layer: unit(engine.info.n_embd, layer) * np.float32(size) for layer in layers})


def plan(v: SteeringVector, scale: float = 1.0) -> object:
    return build_plan([VectorUse(v, scale, scale_mode=ScaleMode.RAW)])


def raw_rows(engine, node: str, prompt: str = PROMPT) -> np.ndarray:
    """The node's rows exactly as the graph computed them (streams not reduced)."""
    rows: list[np.ndarray] = []
    engine.hook.set_entries([*engine.hook.entries, HookEntry(node, HookOp.CAPTURE)])
    engine.hook.set_capture(lambda i, r: rows.append(r))
    try:
        engine.prefill(engine.tokenize(prompt), reuse_cache=False)
    finally:
        engine.hook.set_entries(engine.hook.entries[:-1])
        engine.hook.set_capture(None)
    return np.concatenate(rows)


def test_loads_with_the_deepseek4_profile_and_its_sites(ds4) -> None:
    info = ds4.info
    assert (info.architecture, info.profile, info.n_layer, info.n_embd) == ("deepseek4", "deepseek4", 3, 64)
    assert info.chat_template_source == "profile" and "<｜Assistant｜></think>" in info.chat_template
    assert ds4.profile.tool_protocol == "dsml" and ds4.profile.sites.native_site == "l_last"
    assert ds4.sites["ffn_out"].layers == [0, 1, 2] and ds4.sites["ffn_out"].shape == (64,)
    assert ds4.sites["l_last"].layers == [0, 1, 2] and ds4.sites["l_last"].shape == (64, 4)  # 4 streams
    assert "l_out" not in ds4.sites
    n_tokens = len(ds4.tokenize(PROMPT))
    assert raw_rows(ds4, "l_last-1").shape == (4 * n_tokens, 64)
    assert raw_rows(ds4, "ffn_out-1").shape == (n_tokens, 64)


def test_generates_reproducibly(ds4) -> None:
    first = ds4.complete(PROMPT, Sampling(temperature=0.0, max_tokens=12))
    ds4.reset()
    second = ds4.complete(PROMPT, Sampling(temperature=0.0, max_tokens=12))
    assert first.stats.generated_tokens == 12 and first.tokens == second.tokens


def test_additive_steering_at_the_residual_goes_into_every_stream(ds4) -> None:
    v = vector(ds4, "l_last", [1, 2], 2.0)
    base_logits, base_rows = logits_for(ds4), raw_rows(ds4, "l_last-1")
    native, hooked = Steerer(ds4, "native"), Steerer(ds4, "callback")
    with native.steering(plan(v)):
        native_logits = logits_for(ds4)
    with hooked.steering(plan(v)):
        hook_logits = logits_for(ds4)
        steered_rows = raw_rows(ds4, "l_last-1")  # the capture entry runs after the steering entry
    assert np.abs(native_logits - base_logits).max() > 1e-3
    np.testing.assert_allclose(hook_logits, native_logits, atol=1e-5)  # llama.cpp's cvec: every stream
    np.testing.assert_allclose(steered_rows - base_rows, np.tile(v.directions[1], (len(base_rows), 1)), atol=1e-5)
    assert np.array_equal(logits_for(ds4), base_logits)  # cleared: bit-identical


def test_project_out_at_ffn_out_removes_the_direction(ds4) -> None:
    v = vector(ds4, "ffn_out", [1], 1.0, SteeringOp.PROJECT_OUT)  # one layer: its input stays as it was
    d = v.directions[1]
    base_logits, base_rows = logits_for(ds4), raw_rows(ds4, "ffn_out-1")
    assert np.abs(base_rows @ d).max() > 1e-3
    steerer = Steerer(ds4)
    with steerer.steering(plan(v, 1.0)):
        steered_logits = logits_for(ds4)
        rows = raw_rows(ds4, "ffn_out-1")
    np.testing.assert_allclose(rows @ d, 0.0, atol=1e-5)  # scale 1: the component is gone
    np.testing.assert_allclose(rows, base_rows - np.outer(base_rows @ d, d), atol=1e-5)
    assert np.abs(steered_logits - base_logits).max() > 1e-4
    with steerer.steering(plan(v, -1.0)):  # ds4's sign: negative amplifies
        rows = raw_rows(ds4, "ffn_out-1")
    np.testing.assert_allclose(rows @ d, 2 * (base_rows @ d), rtol=1e-4, atol=1e-5)
    assert np.array_equal(logits_for(ds4), base_logits)


def test_capture_reduces_the_streams_to_their_mean(ds4) -> None:
    tokens = ds4.tokenize(PROMPT)
    rows = raw_rows(ds4, "l_last-1")
    mean = rows.reshape(len(tokens), 4, 64).mean(axis=1)
    got = capture(ds4, [tokens], [1], site="l_last", position="all").data[1][0]
    assert got.shape == (len(tokens), 64)
    np.testing.assert_allclose(got, mean, atol=1e-6)
    last = capture(ds4, [tokens], [1], site="l_last", position="last").data[1][0]
    np.testing.assert_allclose(last, mean[-1], atol=1e-6)  # the last token, not the last stream
