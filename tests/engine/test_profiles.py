"""Model profiles: which architecture gets which chat format, protocol and site adapter."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rudder.engine import chat_formats
from rudder.engine.profiles import DEEPSEEK4, GEMMA, LLAMA, PHI3, PROFILES, QWEN, profile_for


def test_known_architectures_get_their_profile() -> None:
    assert profile_for("llama") is LLAMA and profile_for("deepseek4") is DEEPSEEK4
    assert (LLAMA.tool_protocol, DEEPSEEK4.tool_protocol) == ("json", "dsml")
    assert LLAMA.sites.native_site == "l_out" and DEEPSEEK4.sites.native_site == "l_last"
    assert DEEPSEEK4.sites.default_site == "ffn_out" and DEEPSEEK4.sites.streams_of("l_last") == 4


def test_each_family_has_its_profile_and_chat_formats() -> None:
    assert profile_for("qwen3") is QWEN and profile_for("gemma3") is GEMMA and profile_for("phi3") is PHI3
    assert GEMMA.chat_formats == (chat_formats.GEMMA,) and QWEN.chat_formats == (chat_formats.CHATML,)
    claimed = [arch for profile in PROFILES.values() for arch in profile.architectures]
    assert len(claimed) == len(set(claimed))  # one profile per architecture


def test_a_format_is_chosen_only_when_the_vocabulary_has_its_markers() -> None:
    vocabulary = {"<start_of_turn>": 5, "<end_of_turn>": 6}
    assert chat_formats.choose_format(GEMMA.chat_formats, vocabulary.get) is chat_formats.GEMMA
    assert chat_formats.choose_format(LLAMA.chat_formats, vocabulary.get) is chat_formats.COMPLETION  # a base model
    assert chat_formats.choose_format(DEEPSEEK4.chat_formats, {}.get) is chat_formats.DEEPSEEK4  # no check


def test_a_ggufs_own_template_is_recognised_by_its_markers() -> None:
    assert chat_formats.recognise("<|im_start|>{{ m.role }}<|im_end|>") is chat_formats.CHATML
    assert chat_formats.recognise("<start_of_turn>user ... <end_of_turn>") is chat_formats.GEMMA
    assert chat_formats.recognise("{{ messages }}") is None


def test_the_completion_form_has_no_chat_markers() -> None:
    from jinja2 import Template

    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    text = Template(chat_formats.COMPLETION.template).render(messages=messages, add_generation_prompt=True)
    assert text == "S\n\nQuestion: U\n\nAnswer:"
    assert not any(marker in text for fmt in chat_formats.KNOWN for marker in fmt.markers)


def test_an_unknown_architecture_falls_back_to_llama_style_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rudder.engine.profiles"):
        assert profile_for("mamba2") is LLAMA
    assert "no model profile for architecture 'mamba2'" in caplog.text


def test_a_different_stream_count_is_taken_from_the_gguf() -> None:
    assert profile_for("deepseek4", hc_streams=2).sites.streams_of("l_last") == 2


def test_token_rows_average_the_streams_of_each_token() -> None:
    rows = np.arange(2 * 4 * 3, dtype=np.float32).reshape(8, 3)  # 2 tokens × 4 streams × n_embd 3
    out = DEEPSEEK4.sites.token_rows("l_last", rows)
    np.testing.assert_array_equal(out, [rows[:4].mean(0), rows[4:].mean(0)])
    assert DEEPSEEK4.sites.token_rows("ffn_out", rows) is rows
    with pytest.raises(ValueError, match="whole number"):
        DEEPSEEK4.sites.token_rows("l_last", rows[:6])
