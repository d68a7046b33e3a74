"""Write a tiny random-weight DeepSeek-V4 (`deepseek4`) GGUF that the vendored llama.cpp loads.

Shapes follow llama.cpp's src/models/deepseek4.cpp loader (numpy shapes are ggml's `ne` reversed).
What it took (see ../shared/DESIGN.md): head size 128 (smaller crashes the K rotation), 4
hyper-connection streams, compress ratios with both 4 and 128 present, sqrt-softplus gating (4), no
hash layers. The tokenizer is SmolLM2's (copied from the embedded GGUF), so the file is ~15 MB and
its vocabulary has no DeepSeek special tokens: the chat markers tokenize as plain text.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

import gguf
import numpy as np

from rudder.engine.gguf_header import read_gguf_header

ARCH = "deepseek4"
N_EMBD, N_LAYER, N_HEAD, HEAD_DIM = 64, 3, 4, 128
Q_LORA, O_GROUPS, O_LORA = 32, 2, 32
N_EXPERT, N_EXPERT_USED, N_FF_EXP, N_SHARED = 4, 2, 32, 1
IDX_HEADS, IDX_DIM = 2, 128
HC = 4
RATIOS = [4, 128, 0]


_STRING = 8
_NUMPY = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?", 10: "<u8", 11: "<i8", 12: "<f8"}


@functools.lru_cache(maxsize=2)
def _tokenizer_fields(source: Path) -> tuple[tuple[str, object], ...]:
    """The `tokenizer.ggml.*` keys of a GGUF, read once per session with Rudder's header reader (gguf's
    GGUFReader takes about a minute for SmolLM2's 49k-token vocabulary and merges on a busy machine)."""
    header = read_gguf_header(source)
    fields: list[tuple[str, object]] = []
    with source.open("rb") as handle:
        for key, value in header.metadata.items():
            if not key.startswith("tokenizer.ggml."):
                continue
            if key not in header.arrays:
                fields.append((key, value))
                continue
            item_type, count, offset = header.arrays[key]
            handle.seek(offset)
            if item_type == _STRING:
                items: list[object] = []
                for _ in range(count):
                    (length,) = struct.unpack("<Q", handle.read(8))
                    items.append(handle.read(length).decode("utf-8", errors="surrogateescape"))
            else:
                dtype = np.dtype(_NUMPY[item_type])
                items = np.frombuffer(handle.read(dtype.itemsize * count), dtype=dtype).tolist()
            fields.append((key, items))
    return tuple(fields)


def copy_tokenizer(writer: gguf.GGUFWriter, source: Path) -> int:
    """Copy `source`'s tokenizer into `writer`; the vocabulary size."""
    n_vocab = 0
    for key, value in _tokenizer_fields(source):
        if isinstance(value, list):
            writer.add_array(key, value)
            if key == "tokenizer.ggml.tokens":
                n_vocab = len(value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, bool):
            writer.add_bool(key, value)
        else:
            writer.add_uint32(key, int(value))
    return n_vocab


def write_tiny_deepseek4(path: Path, tokenizer_from: Path, seed: int = 0, context_length: int = 4096) -> Path:
    """`context_length`: the training length it claims (the engine caps n_ctx there); bench/session_prefill.py
    compares it with the embedded model at that model's 8192."""
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), ARCH)
    n_vocab = copy_tokenizer(w, tokenizer_from)
    w.add_name("tiny-deepseek4-random")
    u32 = {
        "context_length": context_length, "embedding_length": N_EMBD, "block_count": N_LAYER,
        "attention.head_count": N_HEAD, "attention.head_count_kv": 1,
        "attention.key_length": HEAD_DIM, "attention.value_length": HEAD_DIM,
        "rope.dimension_count": 64, "attention.q_lora_rank": Q_LORA, "attention.sliding_window": 128,
        "expert_count": N_EXPERT, "expert_used_count": N_EXPERT_USED,
        "expert_feed_forward_length": N_FF_EXP, "expert_shared_count": N_SHARED,
        "attention.indexer.head_count": IDX_HEADS, "attention.indexer.key_length": IDX_DIM,
        "attention.indexer.top_k": 8, "attention.output_group_count": O_GROUPS,
        "attention.output_lora_rank": O_LORA, "hyper_connection.count": HC,
        "hyper_connection.sinkhorn_iterations": 2, "hash_layer_count": 0, "expert_gating_func": 4,
    }  # fmt: skip
    for key, value in u32.items():
        w.add_uint32(f"{ARCH}.{key}", value)
    f32 = {
        "rope.freq_base": 10000.0, "attention.layer_norm_rms_epsilon": 1e-6, "expert_weights_scale": 1.5,
        "swiglu_clamp_exp": 10.0, "attention.compress_rope_freq_base": 160000.0, "hyper_connection.epsilon": 1e-6,
    }  # fmt: skip
    for key, value in f32.items():
        w.add_float32(f"{ARCH}.{key}", value)
    w.add_bool(f"{ARCH}.expert_weights_norm", True)
    w.add_array(f"{ARCH}.attention.compress_ratios", RATIOS)

    def tensor(name: str, *shape: int, ones: bool = False, dtype: type = np.float32) -> None:
        data = np.ones(shape, np.float32) if ones else rng.standard_normal(shape).astype(np.float32) * 0.05
        w.add_tensor(name, data.astype(dtype))

    hc_dim, hc_mix = HC * N_EMBD, (2 + HC) * HC
    tensor("token_embd.weight", n_vocab, N_EMBD, dtype=np.float16)
    tensor("output_norm.weight", N_EMBD, ones=True)
    tensor("output.weight", n_vocab, N_EMBD, dtype=np.float16)
    tensor("output_hc_fn.weight", HC, hc_dim)
    tensor("output_hc_base.weight", HC)
    tensor("output_hc_scale.weight", 1, ones=True)
    for i, ratio in enumerate(RATIOS):
        b = f"blk.{i}"
        tensor(f"{b}.attn_norm.weight", N_EMBD, ones=True)
        tensor(f"{b}.attn_sinks.weight", N_HEAD)
        tensor(f"{b}.attn_q_a.weight", Q_LORA, N_EMBD)
        tensor(f"{b}.attn_q_a_norm.weight", Q_LORA, ones=True)
        tensor(f"{b}.attn_q_b.weight", N_HEAD * HEAD_DIM, Q_LORA)
        tensor(f"{b}.attn_kv.weight", HEAD_DIM, N_EMBD)
        tensor(f"{b}.attn_kv_a_norm.weight", HEAD_DIM, ones=True)
        tensor(f"{b}.attn_output_a.weight", O_LORA * O_GROUPS, N_HEAD * HEAD_DIM // O_GROUPS)
        tensor(f"{b}.attn_output_b.weight", N_EMBD, O_GROUPS * O_LORA)
        for part in ("attn", "ffn"):
            tensor(f"{b}.hc_{part}_fn.weight", hc_mix, hc_dim)
            tensor(f"{b}.hc_{part}_base.weight", hc_mix)
            tensor(f"{b}.hc_{part}_scale.weight", 3, ones=True)
        if ratio:
            coff = 2 if ratio == 4 else 1
            tensor(f"{b}.attn_compressor_kv.weight", coff * HEAD_DIM, N_EMBD)
            tensor(f"{b}.attn_compressor_gate.weight", coff * HEAD_DIM, N_EMBD)
            tensor(f"{b}.attn_compressor_ape.weight", ratio, coff * HEAD_DIM)
            tensor(f"{b}.attn_compressor_norm.weight", HEAD_DIM, ones=True)
        if ratio == 4:
            tensor(f"{b}.indexer.proj.weight", IDX_HEADS, N_EMBD)
            tensor(f"{b}.indexer.attn_q_b.weight", IDX_HEADS * IDX_DIM, Q_LORA)
            tensor(f"{b}.indexer_compressor_kv.weight", 2 * IDX_DIM, N_EMBD)
            tensor(f"{b}.indexer_compressor_gate.weight", 2 * IDX_DIM, N_EMBD)
            tensor(f"{b}.indexer_compressor_ape.weight", 4, 2 * IDX_DIM)
            tensor(f"{b}.indexer_compressor_norm.weight", IDX_DIM, ones=True)
        tensor(f"{b}.ffn_gate_inp.weight", N_EXPERT, N_EMBD)
        tensor(f"{b}.exp_probs_b.bias", N_EXPERT)
        tensor(f"{b}.ffn_norm.weight", N_EMBD, ones=True)
        tensor(f"{b}.ffn_gate_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD)
        tensor(f"{b}.ffn_up_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD)
        tensor(f"{b}.ffn_down_exps.weight", N_EXPERT, N_EMBD, N_FF_EXP)
        tensor(f"{b}.ffn_gate_shexp.weight", N_FF_EXP * N_SHARED, N_EMBD)
        tensor(f"{b}.ffn_up_shexp.weight", N_FF_EXP * N_SHARED, N_EMBD)
        tensor(f"{b}.ffn_down_shexp.weight", N_EMBD, N_FF_EXP * N_SHARED)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
