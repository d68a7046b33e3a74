"""KV replay: the next prompt keeps the tokens the model sampled, so it extends the cache instead of diverging.

deepseek4's compressed KV cache cannot drop a tail: one differing token in the middle re-reads everything."""

from __future__ import annotations

import pytest

from rudder.engine.prefill import replay_tokens

pytestmark = pytest.mark.slow

PROMPT = "<｜User｜>Read app.py<｜Assistant｜></think>"
SAMPLED = '<｜DSML｜tool_calls>\n<｜DSML｜invoke name="read">'  # what the model wrote
NEXT = "</｜DSML｜invoke>\n</｜DSML｜tool_calls><｜end▁of▁sentence｜><｜User｜><tool_result>x = 1</tool_result>"


def sample_then_replay(engine) -> tuple[list[int], list[int]]:
    held = engine.tokenize(PROMPT) + engine.tokenize(SAMPLED, add_bos=False)
    fresh = engine.tokenize(PROMPT + SAMPLED + NEXT)
    assert fresh[: len(held)] != held  # the seam tokenizes differently when the text is read whole
    engine.prefill(held)  # the prompt, then the sampled tokens decoded one by one
    return held, replay_tokens(engine, PROMPT + SAMPLED + NEXT)


@pytest.mark.parametrize("model", ["ds4", "fresh"])
def test_the_next_prompt_extends_the_cache(model: str, request: pytest.FixtureRequest) -> None:
    engine = request.getfixturevalue(model)
    held, tokens = sample_then_replay(engine)
    assert tokens[: len(held)] == held
    assert engine.detokenize(tokens[1:]) == engine.detokenize(engine.tokenize(PROMPT + SAMPLED + NEXT)[1:])
    cached, evaluated = engine.prefill(tokens)
    assert cached == len(held) and evaluated == len(tokens) - len(held)


def test_text_that_disagrees_is_tokenized_afresh(ds4) -> None:
    sample_then_replay(ds4)
    other = "<｜User｜>Read util.py<｜Assistant｜></think>"
    assert replay_tokens(ds4, other) == ds4.tokenize(other)
