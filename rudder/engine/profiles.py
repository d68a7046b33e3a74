"""Model profiles: what Rudder must know about an architecture beyond what the GGUF says.

A profile names the chat formats its family was trained on (used, in order, when the GGUF ships no
template and the vocabulary has their markers; else the plain-completion form: see chat_formats.py), the
tool-call protocol (a string the agent maps to a class: the engine room imports nothing above it), stop
text, and a site adapter: which graph node is the residual after each layer, how a node's rows are laid
out (hyper-connection streams), and where llama.cpp's native control vector is added.

What differs per family (read from the vendored llama.cpp's src/models/*.cpp; proven on tiny random-weight
models for llama, qwen2, gemma3 and deepseek4 in tests/engine/test_families.py):

  llama    residual `l_out-N` [n_embd, n_tokens], llama.cpp's build_cvec adds there; llama3, ChatML or
           Mistral [INST] markers (SmolLM2 is a llama with ChatML); JSON tool calls.
  qwen     (qwen2, qwen3, their MoE) as llama, with q/k/v biases (qwen2) or q/k norms (qwen3); ChatML.
  gemma    (gemma, gemma2, gemma3) post-attention and post-FFN norms before each residual add (`sa_out-N`
           is the mid-block residual, `l_out-N` the block's); embeddings scaled by √n_embd, so residual
           norms are large (scales are relative to them); gemma2/3 use a sliding-window KV cache on most
           layers (llama.cpp's `llama_kv_cache_iswa`); no system role; turns end with `<end_of_turn>`.
  phi3     as llama (fused qkv and gate_up matrices); `<|user|>`/`<|assistant|>`, turns end with `<|end|>`.
  mistral  (mistral3) as llama; `[INST] ... [/INST]`.
  deepseek4  residual `l_last-N` [n_embd, 4 streams, n_tokens]; ds4's site `ffn_out-N` [n_embd,
           n_tokens]; native cvec at l_last (build_cvec adds it to every stream); DeepSeek-V4 chat
           format (thinking off); DSML tool calls.

Streams, decided here: steering a multi-stream node acts on **every stream alike** (what llama.cpp's
own control vector does at l_last, so the native and hook paths agree exactly), and capture reduces a
token's streams to their **mean** (what llama.cpp's build_hc_mean feeds to the layer-input
embeddings). Adding d to every stream adds d to the mean, so capture and injection agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from rudder.engine import chat_formats as formats
from rudder.engine.chat_formats import ChatFormat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteAdapter:
    native_site: str  # where llama_set_adapter_cvec adds (row i of its buffer = layer i+1): the residual stream
    default_site: str  # where vectors are extracted and applied unless told otherwise
    streams: dict[str, int] = field(default_factory=dict)  # rows per token of multi-stream sites

    def streams_of(self, site: str) -> int:
        return self.streams.get(site, 1)

    def token_rows(self, site: str, rows: np.ndarray) -> np.ndarray:
        """A node's rows (n_tokens·streams, n_embd) → one row per token (mean over the streams)."""
        streams = self.streams_of(site)
        if streams == 1:
            return rows
        if rows.shape[0] % streams:
            raise ValueError(f"{site}: {rows.shape[0]} rows are not a whole number of {streams}-stream tokens")
        return rows.reshape(rows.shape[0] // streams, streams, rows.shape[1]).mean(axis=1)


RESIDUAL = SiteAdapter(native_site="l_out", default_site="l_out")


@dataclass(frozen=True)
class ModelProfile:
    name: str
    architectures: tuple[str, ...]
    sites: SiteAdapter
    chat_formats: tuple[ChatFormat, ...]  # tried in order when the GGUF has no tokenizer.chat_template
    tool_protocol: str  # "json" or "dsml": the agent maps the name to its protocol class
    stop: tuple[str, ...] = ()  # text that ends a generation besides the vocabulary's end tokens
    notes: str = ""  # what differs for steering (shown by `rudder doctor`)


LLAMA = ModelProfile(
    name="llama",
    architectures=("llama", "llama4", "granite", "smollm3", "olmo2"),
    sites=RESIDUAL,
    chat_formats=(formats.CHATML, formats.LLAMA3, formats.MISTRAL),
    tool_protocol="json",
    notes="residual l_out-N; llama.cpp's control vector adds there",
)
QWEN = ModelProfile(
    name="qwen",
    architectures=("qwen2", "qwen2moe", "qwen3", "qwen3moe"),
    sites=RESIDUAL,
    chat_formats=(formats.CHATML,),
    tool_protocol="json",
    notes="residual l_out-N (blocks as llama's, with q/k/v biases or q/k norms)",
)
GEMMA = ModelProfile(
    name="gemma",
    architectures=("gemma", "gemma2", "gemma3"),
    sites=RESIDUAL,
    chat_formats=(formats.GEMMA,),
    tool_protocol="json",
    notes="residual l_out-N after post-attention and post-FFN norms (sa_out-N mid-block); embeddings scaled "
    "by √n_embd; sliding-window KV cache on most layers (gemma2/3)",
)
PHI3 = ModelProfile(
    name="phi3",
    architectures=("phi3",),
    sites=RESIDUAL,
    chat_formats=(formats.PHI3, formats.CHATML),
    tool_protocol="json",
    notes="residual l_out-N (fused qkv and gate-up matrices)",
)
MISTRAL = ModelProfile(
    name="mistral",
    architectures=("mistral3",),
    sites=RESIDUAL,
    chat_formats=(formats.MISTRAL, formats.CHATML),
    tool_protocol="json",
    notes="residual l_out-N",
)
DEEPSEEK4 = ModelProfile(
    name="deepseek4",
    architectures=("deepseek4",),
    sites=SiteAdapter(native_site="l_last", default_site="ffn_out", streams={"l_last": 4}),
    # no marker check: DSML tool calls exist only inside DeepSeek-V4's chat format
    chat_formats=(formats.DEEPSEEK4,),
    tool_protocol="dsml",
    stop=formats.DEEPSEEK4.stop,
    notes="residual l_last-N in 4 hyper-connection streams (steered alike, captured as their mean); "
    "vectors go to ffn_out-N by default (ds4's site)",
)

PROFILES = {p.name: p for p in (LLAMA, QWEN, GEMMA, PHI3, MISTRAL, DEEPSEEK4)}


def profile_for(architecture: str, *, hc_streams: int | None = None) -> ModelProfile:
    """The profile of a GGUF's `general.architecture`; unknown ones get llama-style, with a warning."""
    for profile in PROFILES.values():
        if architecture in profile.architectures:
            if profile is DEEPSEEK4 and hc_streams and hc_streams != 4:
                return replace(profile, sites=replace(profile.sites, streams={"l_last": hc_streams}))
            return profile
    log.warning(
        "no model profile for architecture %r: using the llama-style one (residual l_out-N, ChatML "
        "fallback, JSON tool calls); steering sites are still discovered from the graph",
        architecture,
    )
    return LLAMA
