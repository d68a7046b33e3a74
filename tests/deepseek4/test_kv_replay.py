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


def test_a_shorter_stable_prefix_is_restored_from_disk_though_a_longer_entry_shares_it(ds4, tmp_path) -> None:
    """The agent drops its worked example: the stable prefix becomes the system prompt alone. Its cache cannot
    drop the tail of the longer entry (system prompt + example), so it must load the entry of exactly that
    prefix; before, the longer entry won the tie and every such step read the whole prompt."""
    from rudder.engine.prompt_cache import PromptCache

    saved, ds4.prompt_cache = ds4.prompt_cache, PromptCache(tmp_path / "prompts", "test", 1 << 30)
    try:
        system = ds4.tokenize("<｜begin▁of▁sentence｜>You are a coding agent. Use the tools. " * 12)
        example = ds4.tokenize("<｜User｜>Example task: add triple(x).<｜Assistant｜></think>ok " * 6, add_bos=False)
        tail = ds4.tokenize("<｜User｜>Task: read app.py<｜Assistant｜></think>", add_bos=False)
        ds4.prefill(system + example + tail, stable=len(system + example))  # saves system + example
        ds4.prefill(system + tail, stable=len(system))  # the example dropped: saves the system prompt alone
        other = ds4.tokenize("<｜User｜>Task: read util.py, then app.py<｜Assistant｜></think>", add_bos=False)
        cached, evaluated = ds4.prefill(system + other, stable=len(system))
        assert ds4.restored == len(system)
        assert (cached, evaluated) == (len(system), len(other))
    finally:
        ds4.prompt_cache = saved


def test_a_cache_that_cannot_shift_also_saves_the_system_prompt_alone(ds4, tmp_path) -> None:
    """The first time the agent drops its example there is no entry of the system prompt alone yet: it is
    saved with the system prompt + example entry, so that step restores it instead of reading everything."""
    from rudder.engine.prompt_cache import PromptCache

    saved, ds4.prompt_cache = ds4.prompt_cache, PromptCache(tmp_path / "prompts", "test", 1 << 30)
    try:
        system = ds4.tokenize("<｜begin▁of▁sentence｜>You are a coding agent. Use the tools. " * 12)
        example = ds4.tokenize("<｜User｜>Example task: add triple(x).<｜Assistant｜></think>ok " * 6, add_bos=False)
        tail = ds4.tokenize("<｜User｜>Task: read app.py<｜Assistant｜></think>", add_bos=False)
        ds4.prefill(system + example + tail, stable=(len(system), len(system + example)))
        cached, evaluated = ds4.prefill(system + tail, stable=len(system))  # the example dropped
        assert ds4.restored == len(system)
        assert (cached, evaluated) == (len(system), len(tail))
    finally:
        ds4.prompt_cache = saved


def test_an_agent_step_passes_the_system_prompt_as_a_second_stable_prefix(ds4, tmp_path) -> None:
    from rudder.agent.config import AgentConfig
    from rudder.agent.factory import open_session
    from rudder.engine.generation import Sampling
    from tests.helpers import make_repo

    seen: list[object] = []

    class Watch:
        def __getattr__(self, name: str) -> object:
            return getattr(ds4, name)

        def stream(self, prompt, sampling=None, **kw):
            seen.append(kw.get("stable_prefix"))
            return ds4.stream(prompt, sampling, **kw)

    repo = tmp_path / "project"
    make_repo(repo, {"README.md": "# Project\n"})
    session = open_session(Watch(), repo, AgentConfig(max_steps=1, approval="auto"), Sampling(max_tokens=40))
    session.run("create notes.txt containing: done")
    system, stable = seen[0]
    assert stable.startswith(system) and len(stable) > len(system)  # the system prompt, then with the examples
