"""Chat formats: how a conversation becomes the text a model reads, for models whose GGUF carries no template.

A GGUF's own `tokenizer.chat_template` always wins. Without one, the model's profile lists the formats its
family was trained on; a format is used only when the vocabulary has its turn markers as single special
tokens (a chat-tuned model that lost its template). A model with none of them is a base model: it gets
the plain-completion form, which has no markers at all, so no `<|im_start|>` leaks into its prompt as
text it was never trained on. Each format's `stop` is the text that ends an answer in it (usually also
an end-of-generation token; the text catches GGUFs that do not mark it so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ChatFormat:
    name: str
    template: str  # Jinja, as llama-cpp-python's Jinja2ChatFormatter renders it
    markers: tuple[str, ...] = ()  # special tokens the vocabulary must have; () = no check (see DEEPSEEK4)
    stop: tuple[str, ...] = ()


CHATML = ChatFormat(
    "chatml",
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    markers=("<|im_start|>", "<|im_end|>"),
    stop=("<|im_end|>",),
)
LLAMA3 = ChatFormat(
    "llama3",
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
    markers=("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    stop=("<|eot_id|>",),
)
# Gemma has no system role: the system text opens the first user turn; the model's turns are "model".
GEMMA = ChatFormat(
    "gemma",
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.system = m['content'] + '\n\n' %}"
    "{% elif m['role'] == 'assistant' %}<start_of_turn>model\n{{ m['content'] }}<end_of_turn>\n"
    "{% else %}<start_of_turn>user\n{{ ns.system }}{{ m['content'] }}<end_of_turn>\n{% set ns.system = '' %}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
    markers=("<start_of_turn>", "<end_of_turn>"),
    stop=("<end_of_turn>",),
)
PHI3 = ChatFormat(
    "phi3",
    "{% for m in messages %}<|{{ 'user' if m['role'] == 'tool' else m['role'] }}|>\n{{ m['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
    markers=("<|user|>", "<|assistant|>", "<|end|>"),
    stop=("<|end|>",),
)
# Mistral's instruct format (v0.3 and later have [INST] as control tokens; v0.1's plain text is a base model).
MISTRAL = ChatFormat(
    "mistral",
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.system = m['content'] + '\n\n' %}"
    "{% elif m['role'] == 'assistant' %}{{ m['content'] }}{{ eos_token }}"
    "{% else %}[INST] {{ ns.system }}{{ m['content'] }}[/INST]{% set ns.system = '' %}{% endif %}{% endfor %}",
    markers=("[INST]", "[/INST]"),
)
# DeepSeek-V4's chat format (from its jinja template in llama.cpp's models/templates). Tool results go back
# in a user turn as <tool_result> blocks (V4 has no tool role). Thinking off: the assistant starts with </think>.
DEEPSEEK4 = ChatFormat(
    "deepseek4",
    "{{ bos_token }}"
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% endif %}{% endfor %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
    "{% elif m['role'] == 'tool' %}<｜User｜><tool_result>{{ m['content'] }}</tool_result>"
    "{% elif m['role'] == 'assistant' %}<｜Assistant｜></think>{{ m['content'] }}<｜end▁of▁sentence｜>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜></think>{% endif %}",
    stop=("<｜end▁of▁sentence｜>", "<｜User｜>"),
)
# A base model's form: plain text a pretrained model continues. The answer ends where it starts a new turn.
COMPLETION = ChatFormat(
    "completion",
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
    "{% elif m['role'] == 'assistant' %}Answer: {{ m['content'] }}\n\n"
    "{% elif m['role'] == 'tool' %}Result:\n{{ m['content'] }}\n\n"
    "{% else %}Question: {{ m['content'] }}\n\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Answer:{% endif %}",
    stop=("\nQuestion:", "\n\nQuestion"),
)
KNOWN = (CHATML, LLAMA3, GEMMA, PHI3, MISTRAL, DEEPSEEK4)


def has_markers(fmt: ChatFormat, token_of: Callable[[str], int | None]) -> bool:
    """Whether every turn marker of `fmt` is one token of the vocabulary (`token_of` reads special tokens)."""
    return all(token_of(marker) is not None for marker in fmt.markers)


def choose_format(candidates: tuple[ChatFormat, ...], token_of: Callable[[str], int | None]) -> ChatFormat:
    """The first candidate whose markers the vocabulary has, else the plain-completion form (a base model)."""
    for fmt in candidates:
        if has_markers(fmt, token_of):
            return fmt
    return COMPLETION


def recognise(template: str) -> ChatFormat | None:
    """Which known format a GGUF's own template writes (by its markers), for its stop text and for doctor."""
    for fmt in KNOWN:
        if fmt.markers and all(marker in template for marker in fmt.markers):
            return fmt
    if "<｜Assistant｜>" in template:
        return DEEPSEEK4
    return None
