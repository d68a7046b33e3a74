"""On the real model: the step watcher records the residual at the thought's first token, and a gated vector
steers only when its gate fires (from the token after the reading on)."""

from __future__ import annotations

import numpy as np
import pytest

from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.engine.generation import Sampling
from rudder.tools.toolbox import all_tools
from rudder.vectors.extraction.capture import capture
from rudder.vectors.extraction.recording import ActivationRecorder
from rudder.vectors.files.library import VectorResolver
from rudder.vectors.steering.gate import Gate
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.steering.stepwatch import StepWatch

pytestmark = pytest.mark.slow

LAYER = 14


def call_prompt(engine, protocol: JsonProtocol) -> str:
    system = f"You call tools with JSON.\n{protocol.describe_tools()}"
    task = "Create notes.txt containing: done"
    return engine.format_chat([{"role": "system", "content": system}, {"role": "user", "content": task}])


def run_step(engine, steerer: Steerer, plan, recorder=None, tokens: int = 40):
    protocol = JsonProtocol(all_tools(), with_thought=True)
    prompt = call_prompt(engine, protocol)
    engine.reset()
    steerer.apply(plan)
    watch = StepWatch(steerer, 0, recorder=recorder, bounds=protocol.thought_bounds)
    generation = engine.stream(
        prompt, Sampling(temperature=0.0, max_tokens=tokens), grammar=protocol.grammar(), watchers=[watch]
    )
    for _ in generation:
        pass
    readings = watch.finish()
    steerer.clear()
    return generation, watch, readings, protocol


def test_the_recorded_row_is_the_residual_at_the_thoughts_first_token(fresh) -> None:
    steerer = Steerer(fresh)
    recorder = ActivationRecorder((LAYER,), fresh.info.n_embd)
    steerer.record(recorder.nodes)
    generation, watch, _, protocol = run_step(fresh, steerer, build_plan([]), recorder)
    at = watch.thought_at
    assert at is not None and watch.call_at is not None and watch.call_at > at
    start, _ = protocol.thought_bounds(generation.text)
    before, upto = fresh.detokenize(generation.tokens[:at]), fresh.detokenize(generation.tokens[: at + 1])
    assert len(before) <= start < len(upto)  # the token that reaches into the thought's text
    row = recorder.rows[0]["thought"][0]
    # the same position read by a plain capture of prompt + generated tokens (last row)
    tokens = list(generation.prompt) + generation.tokens[: at + 1]
    reference = capture(fresh, [tokens], [LAYER], position="last", batch=False).data[LAYER][0]
    cos = float(row @ reference / np.linalg.norm(row) / np.linalg.norm(reference))
    assert cos > 0.99
    assert "call" in recorder.rows[0]
    steerer.record(())


def test_a_gated_vector_steers_only_when_its_gate_fires(fresh) -> None:
    terse = VectorResolver(fresh.info.identity, None)("terse")
    steerer = Steerer(fresh)

    def plan(threshold: float):
        gate = Gate("terse", f"l_out-{LAYER}", terse.unit(LAYER), threshold)
        return build_plan([VectorUse(terse, 0.5, layers=tuple(range(10, 16)), gate=gate)])

    plain, _, none_read, _ = run_step(fresh, steerer, build_plan([]))
    assert none_read == []
    quiet, _, quiet_read, _ = run_step(fresh, steerer, plan(2.0))  # a cosine never exceeds 1
    fired, watch, fired_read, _ = run_step(fresh, steerer, plan(-2.0))
    assert [r["fired"] for r in quiet_read] == [False] and [r["fired"] for r in fired_read] == [True]
    assert quiet.tokens == plain.tokens  # a closed gate changes nothing
    at = watch.thought_at
    assert at is not None and fired.tokens[: at + 1] == plain.tokens[: at + 1]  # steering starts after the reading
    assert fired.tokens != plain.tokens
    assert -1.0 <= fired_read[0]["value"] <= 1.0 and fired_read[0]["at_token"] == at
    assert not steerer.open  # finish() closed the gate for the next step
