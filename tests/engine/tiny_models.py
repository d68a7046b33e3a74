"""Write tiny random-weight GGUFs of llama-style families (llama, qwen2, gemma3) that the vendored llama.cpp loads.

They share SmolLM2's tokenizer (copied from the embedded GGUF) and tie the output matrix to the token
embeddings, so each file is ~6 MB. What differs is the block structure llama.cpp builds for each
architecture (read from its src/models/*.cpp loaders; numpy shapes are ggml's `ne` reversed):

  llama   attn_norm → q/k/v/o → + residual → ffn_norm → gated FFN → + residual       (l_out-N)
  qwen2   the same with q/k/v biases
  gemma3  q/k norms; post-attention and post-FFN norms before each residual add; embeddings scaled by
          √n_embd; a sliding-window (SWA) KV cache on most layers (llama.cpp's `llama_kv_cache_iswa`)

No `tokenizer.chat_template` is written: these are "base models" to Rudder. SmolLM2's vocabulary has the
ChatML markers as special tokens (so llama and qwen2 get the ChatML fallback) but not gemma's
`<start_of_turn>` (so gemma3 gets the plain-completion form).
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from tests.engine.tiny_deepseek4 import copy_tokenizer

N_EMBD, N_LAYER, N_HEAD, N_HEAD_KV, N_FF = 64, 4, 4, 2, 128
HEAD_DIM = N_EMBD // N_HEAD
ARCHITECTURES = ("llama", "qwen2", "gemma3")


def write_tiny_model(path: Path, arch: str, tokenizer_from: Path, seed: int = 0) -> Path:
    """A tiny random-weight model of `arch` (one of ARCHITECTURES) at `path`."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"no tiny writer for {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), arch)
    n_vocab = copy_tokenizer(w, tokenizer_from)
    w.add_name(f"tiny-{arch}-random")
    u32 = {
        "context_length": 4096, "embedding_length": N_EMBD, "block_count": N_LAYER, "feed_forward_length": N_FF,
        "attention.head_count": N_HEAD, "attention.head_count_kv": N_HEAD_KV, "rope.dimension_count": HEAD_DIM,
    }  # fmt: skip
    if arch == "gemma3":
        u32 |= {
            "attention.key_length": HEAD_DIM, "attention.value_length": HEAD_DIM,
            "attention.sliding_window": 16, "attention.sliding_window_pattern": 2,
        }  # fmt: skip
    for key, value in u32.items():
        w.add_uint32(f"{arch}.{key}", value)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32(f"{arch}.rope.freq_base", 10000.0)

    def tensor(name: str, *shape: int, ones: bool = False, dtype: type = np.float32, size: float = 0.05) -> None:
        data = np.ones(shape, np.float32) if ones else rng.standard_normal(shape).astype(np.float32) * size
        w.add_tensor(name, data.astype(dtype))

    # gemma3 multiplies the embeddings by √n_embd (8 here): keep its residual stream the same size as the others'
    tensor("token_embd.weight", n_vocab, N_EMBD, dtype=np.float16, size=0.5 if arch != "gemma3" else 0.0625)
    tensor("output_norm.weight", N_EMBD, ones=True)
    kv = N_HEAD_KV * HEAD_DIM
    for i in range(N_LAYER):
        b = f"blk.{i}"
        tensor(f"{b}.attn_norm.weight", N_EMBD, ones=True)
        tensor(f"{b}.attn_q.weight", N_HEAD * HEAD_DIM, N_EMBD)
        tensor(f"{b}.attn_k.weight", kv, N_EMBD)
        tensor(f"{b}.attn_v.weight", kv, N_EMBD)
        tensor(f"{b}.attn_output.weight", N_EMBD, N_HEAD * HEAD_DIM)
        if arch == "qwen2":
            tensor(f"{b}.attn_q.bias", N_HEAD * HEAD_DIM)
            tensor(f"{b}.attn_k.bias", kv)
            tensor(f"{b}.attn_v.bias", kv)
        if arch == "gemma3":
            tensor(f"{b}.attn_q_norm.weight", HEAD_DIM, ones=True)
            tensor(f"{b}.attn_k_norm.weight", HEAD_DIM, ones=True)
            tensor(f"{b}.post_attention_norm.weight", N_EMBD, ones=True)
            tensor(f"{b}.post_ffw_norm.weight", N_EMBD, ones=True)
        tensor(f"{b}.ffn_norm.weight", N_EMBD, ones=True)
        tensor(f"{b}.ffn_gate.weight", N_FF, N_EMBD)
        tensor(f"{b}.ffn_up.weight", N_FF, N_EMBD)
        tensor(f"{b}.ffn_down.weight", N_EMBD, N_FF)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
