"""Model profiles: which architecture gets which chat format, protocol and site adapter."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rudder.engine.profiles import DEEPSEEK4, LLAMA, profile_for


def test_known_architectures_get_their_profile() -> None:
    assert profile_for("llama") is LLAMA and profile_for("deepseek4") is DEEPSEEK4
    assert (LLAMA.tool_protocol, DEEPSEEK4.tool_protocol) == ("json", "dsml")
    assert LLAMA.sites.native_site == "l_out" and DEEPSEEK4.sites.native_site == "l_last"
    assert DEEPSEEK4.sites.default_site == "ffn_out" and DEEPSEEK4.sites.streams_of("l_last") == 4


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
