"""The engine on the real embedded model."""

from __future__ import annotations

import pytest

from rudder.engine.engine import ContextOverflowError
from rudder.engine.generation import Sampling
from tests.helpers import graph_evaluations

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "Name three colours."}]


def test_metadata_of_the_embedded_model(engine) -> None:
    info = engine.info
    assert (info.architecture, info.n_layer, info.n_embd) == ("llama", 30, 576)
    assert info.n_ctx_train == 8192 and info.n_ctx == 4096
    assert info.chat_template_source == "gguf" and "<|im_start|>" in info.chat_template
    assert info.profile == "llama" and engine.profile.sites.native_site == "l_out"
    assert info.identity.n_embd == 576 and len(info.identity.layout_hash) == 64


def test_chat_template_comes_from_the_model(engine) -> None:
    prompt = engine.format_chat([{"role": "system", "content": "S"}, *QUESTION])
    assert prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"
    )


def test_greedy_output_is_deterministic_from_a_reset_engine(fresh) -> None:
    prompt = fresh.format_chat(QUESTION)
    first = fresh.complete(prompt, Sampling(max_tokens=40))
    fresh.reset()
    second = fresh.complete(prompt, Sampling(max_tokens=40))
    assert first.text == second.text and first.tokens == second.tokens
    assert len(first.text) > 10


def test_seeded_sampling_is_reproducible_and_seed_matters(fresh) -> None:
    prompt = fresh.format_chat(QUESTION)
    texts = []
    for seed in (1, 1, 2):
        fresh.reset()
        texts.append(fresh.complete(prompt, Sampling(temperature=1.0, seed=seed, max_tokens=30)).text)
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_streaming_yields_the_same_text_as_complete(fresh) -> None:
    prompt = fresh.format_chat(QUESTION)
    whole = fresh.complete(prompt, Sampling(max_tokens=40))
    fresh.reset()
    generation = fresh.stream(prompt, Sampling(max_tokens=40))
    pieces = [event.text for event in generation]
    assert len(pieces) > 5
    assert "".join(pieces) == whole.text == generation.text
    assert generation.stats.generated_tokens == len(whole.tokens)


def test_stats_count_tokens_and_report_speed(fresh) -> None:
    prompt = fresh.format_chat(QUESTION)
    result = fresh.complete(prompt, Sampling(max_tokens=8))
    stats = result.stats
    assert stats.prompt_tokens == len(fresh.tokenize(prompt))
    assert stats.prompt_tokens_evaluated == stats.prompt_tokens and stats.prompt_tokens_cached == 0
    assert stats.generated_tokens == 8 and stats.stop_reason == "length"
    assert stats.decode_tok_s > 1 and stats.prompt_tok_s > 1


def test_second_call_reuses_the_cached_prefix(fresh) -> None:
    first = fresh.format_chat(QUESTION)
    fresh.complete(first, Sampling(max_tokens=4))
    longer = fresh.format_chat([*QUESTION, {"role": "assistant", "content": "Red."}, *QUESTION])
    with graph_evaluations(fresh) as evaluated:
        stats = fresh.complete(longer, Sampling(max_tokens=4)).stats
    n_first, n_longer = len(fresh.tokenize(first)), len(fresh.tokenize(longer))
    assert stats.prompt_tokens_cached >= n_first - 1
    # the model itself ran only the new part of the prompt, and the stats say what it ran
    assert evaluated[0] <= n_longer - n_first + 2
    assert evaluated[0] == stats.prompt_tokens_evaluated


def test_stop_sequences_end_generation_and_are_not_returned(fresh) -> None:
    prompt = fresh.format_chat([{"role": "user", "content": "Count from 1 to 10, separated by commas."}])
    free = fresh.complete(prompt, Sampling(max_tokens=40)).text
    assert "4" in free
    fresh.reset()
    stopped = fresh.complete(prompt, Sampling(max_tokens=40, stop=["4"]))
    assert stopped.stats.stop_reason == "stop"
    assert stopped.text == free[: free.index("4")]


def test_too_long_prompt_is_one_clear_error() -> None:
    from rudder.engine.config import EngineConfig
    from rudder.engine.engine import Engine

    # a small window of its own: truncating to the shared engine's 4096 tokens would read 4,000 tokens (~100 s)
    small = Engine(EngineConfig(n_ctx=256))
    try:
        prompt = "word " * 400
        with pytest.raises(ContextOverflowError, match=r"prompt is \d+ tokens but the context window is 256"):
            small.complete(prompt, Sampling(max_tokens=8))
        truncated = small.complete(prompt, Sampling(max_tokens=8), overflow="truncate")
        assert 200 < truncated.stats.prompt_tokens <= 256 - 8
    finally:
        small.close()
