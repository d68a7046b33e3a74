"""The header reader's own block sizes (kept so reading a quantised model's header needs no numpy) are gguf's."""

from __future__ import annotations

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from rudder.engine.gguf_header import _PLAIN_SIZES


def test_the_built_in_block_sizes_match_gguf() -> None:
    for ggml_type, sizes in _PLAIN_SIZES.items():
        assert GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)] == sizes, ggml_type
