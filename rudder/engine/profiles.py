"""Model profiles: what Rudder must know about an architecture beyond what the GGUF says.

A profile names the chat template to use when the GGUF ships none, the tool-call protocol the model
was trained on (a string the agent maps to a class: the engine room imports nothing above it), stop
sequences, whether thinking is on, and a site adapter: which graph node is the residual after each
layer, how a node's rows are laid out (hyper-connection streams), and where llama.cpp's native control
vector is added.

  llama-style  residual `l_out-N` [n_embd, n_tokens]; native cvec at l_out; ChatML fallback; JSON calls.
  deepseek4    residual `l_last-N` [n_embd, 4 streams, n_tokens]; ds4's site `ffn_out-N` [n_embd,
               n_tokens]; native cvec at l_last (llama.cpp's build_cvec adds it to every stream);
               DeepSeek-V4 chat format (thinking off: the assistant turn starts with `</think>`); DSML.

Streams, decided here: steering a multi-stream node acts on **every stream alike** (what llama.cpp's
own control vector does at l_last, so the native and hook paths agree exactly), and capture reduces a
token's streams to their **mean** (what llama.cpp's build_hc_mean feeds to the layer-input
embeddings). Adding d to every stream adds d to the mean, so capture and injection agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

log = logging.getLogger(__name__)

# DeepSeek-V4's chat format (from its jinja template in llama.cpp's models/templates), for GGUFs that
# carry no template. Tool results go back in a user turn as <tool_result> blocks (V4 has no tool role).
DEEPSEEK4_TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% endif %}{% endfor %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
    "{% elif m['role'] == 'tool' %}<｜User｜><tool_result>{{ m['content'] }}</tool_result>"
    "{% elif m['role'] == 'assistant' %}<｜Assistant｜></think>{{ m['content'] }}<｜end▁of▁sentence｜>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜></think>{% endif %}"
)
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


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


@dataclass(frozen=True)
class ModelProfile:
    name: str
    architectures: tuple[str, ...]
    sites: SiteAdapter
    chat_template: str  # used when the GGUF has no tokenizer.chat_template
    tool_protocol: str  # "json" or "dsml": the agent maps the name to its protocol class
    stop: tuple[str, ...] = ()  # text that ends a generation besides the vocabulary's end tokens


LLAMA = ModelProfile(
    name="llama",
    architectures=("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "granite"),
    sites=SiteAdapter(native_site="l_out", default_site="l_out"),
    chat_template=CHATML_TEMPLATE,
    tool_protocol="json",
)

DEEPSEEK4 = ModelProfile(
    name="deepseek4",
    architectures=("deepseek4",),
    sites=SiteAdapter(native_site="l_last", default_site="ffn_out", streams={"l_last": 4}),
    chat_template=DEEPSEEK4_TEMPLATE,
    tool_protocol="dsml",
    stop=("<｜end▁of▁sentence｜>", "<｜User｜>"),
)

PROFILES = {p.name: p for p in (LLAMA, DEEPSEEK4)}


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
