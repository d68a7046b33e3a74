"""Every use of llama-cpp-python's private internals, in one place.

Rudder needs a few things the public `Llama` API does not offer: its own context (so the graph hook is
installed when the context is created), raw batches for capture runs, the model's vocab pointer for
token pieces, the low-level sampler chain and token arrays, a grammar's GBNF source (for llama.cpp's own
grammar sampler) and llama-cpp-python's shared-library loader (for ggml-base, which the graph hook calls).
They live on private attributes (`_ctx`, `_stack`, `_model`, `_batch`, `LlamaGrammar._grammar`/`_root`),
in `llama_cpp._internals` and in `llama_cpp._ctypes_extensions`. Nothing else in Rudder touches them; when
a new llama-cpp-python renames one, `check()` (run by tests/engine/test_llama_internals.py and at engine
load) says exactly which, instead of an AttributeError deep inside a generation.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _ctypes_extensions, _internals, llama_grammar

TESTED_VERSIONS = ("0.3.",)  # the minor series these internals were read from
_LLAMA_ATTRIBUTES = ("_ctx", "_stack", "_model", "_batch", "input_ids", "n_tokens", "context_params")
_INTERNAL_CLASSES = {
    "LlamaContext": ("ctx", "close", "kv_cache_clear", "kv_cache_seq_rm", "get_logits_ith"),
    "LlamaModel": ("model", "vocab", "n_ctx_train", "n_vocab"),
    "LlamaBatch": ("set_batch", "batch", "reset"),
    "LlamaSampler": (
        "add_greedy",
        "add_grammar",
        "add_top_k",
        "add_top_p",
        "add_min_p",
        "add_temp",
        "add_dist",
        "add_penalties",
        "sample",
        "sampler",
        "close",
    ),
    "LlamaTokenDataArray": ("candidates", "candidates_data", "copy_logits"),
}
# private members outside _internals: (module, class or None for a module function, member)
_OTHER_PRIVATES = (
    (llama_grammar, "LlamaGrammar", "_grammar"),
    (llama_grammar, "LlamaGrammar", "_root"),
    (_ctypes_extensions, None, "load_shared_library"),
    (llama_cpp.llama_cpp, None, "llama_model_default_params"),
)
# Llama.__init__ reads the model's load parameters from this module attribute and offers no argument for
# `use_extra_bufts`; model_params() swaps it for the length of one load
_LLAMA_CPP_MODULE = llama_cpp.llama_cpp
_PARAMS_LOCK = threading.Lock()


class InternalsChanged(RuntimeError):
    """This llama-cpp-python no longer has an internal Rudder relies on."""


def check(llama: Any | None = None) -> None:
    """Raise InternalsChanged naming every missing internal (classes always; a loaded Llama's attributes)."""
    missing = []
    for cls_name, members in _INTERNAL_CLASSES.items():
        cls = getattr(_internals, cls_name, None)
        if cls is None:
            missing.append(f"llama_cpp._internals.{cls_name}")
            continue
        missing += [f"{cls_name}.{m}" for m in members if not _has_member(cls, m)]
    for module, cls_name, member in _OTHER_PRIVATES:
        owner = getattr(module, cls_name, None) if cls_name else module
        where = f"{module.__name__}.{cls_name}" if cls_name else module.__name__
        if owner is None or not _has_member(owner, member):  # type: ignore[arg-type]
            missing.append(f"{where}.{member}")
    if llama is not None:
        missing += [f"Llama.{a}" for a in _LLAMA_ATTRIBUTES if not hasattr(llama, a)]
    if missing:
        raise InternalsChanged(
            f"llama-cpp-python {llama_cpp.__version__} lacks internals Rudder uses: {', '.join(missing)} "
            f"(tested with {', '.join(v + 'x' for v in TESTED_VERSIONS)}); pin llama-cpp-python or update "
            "rudder/engine/llama_internals.py"
        )


def _has_member(cls: type, name: str) -> bool:
    # instance attributes set in __init__ (ctx, model, batch, sampler) are not on the class: look at the source
    if hasattr(cls, name):
        return True
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    return code is not None and name in code.co_names


def open_context(llama: llama_cpp.Llama, params: Any) -> Any:
    """A further llama_context on the same model (closed by the caller, or with the model)."""
    return _internals.LlamaContext(model=llama._model, params=params, verbose=False)


def open_model(path: str, like: llama_cpp.Llama) -> Any:
    """A further llama_model from `path`, loaded with `like`'s model parameters (closed by the caller)."""
    return _internals.LlamaModel(path_model=path, params=like.model_params, verbose=False)


def open_context_on(model: Any, params: Any) -> Any:
    """A llama_context on a model from `open_model`."""
    return _internals.LlamaContext(model=model, params=params, verbose=False)


def new_batch(n_tokens: int, n_seq_max: int) -> Any:
    """A llama_batch for `n_tokens` tokens, each in up to `n_seq_max` sequences (`.batch`, `.close()`)."""
    return _internals.LlamaBatch(n_tokens=n_tokens, embd=0, n_seq_max=n_seq_max, verbose=False)


def replace_context(llama: llama_cpp.Llama, params: Any) -> None:
    """Swap the context Llama created for one made with `params` (closed with the Llama)."""
    old = llama._ctx
    llama._ctx = llama._stack.enter_context(
        contextlib.closing(_internals.LlamaContext(model=llama._model, params=params, verbose=False))
    )
    old.close()


def raw_context(llama: llama_cpp.Llama) -> Any:
    return llama._ctx.ctx


def raw_model(llama: llama_cpp.Llama) -> Any:
    return llama._model.model


def vocab(llama: llama_cpp.Llama) -> Any:
    return llama._model.vocab


def n_ctx_train(llama: llama_cpp.Llama) -> int:
    return int(llama._model.n_ctx_train())


def clear_kv_cache(llama: llama_cpp.Llama) -> None:
    llama.n_tokens = 0
    llama._ctx.kv_cache_clear()


def logits_row(llama: llama_cpp.Llama, index: int, n_vocab: int) -> np.ndarray:
    """A copy of the logits of batch row `index` (-1: the last evaluated token)."""
    return np.ctypeslib.as_array(llama._ctx.get_logits_ith(index), shape=(n_vocab,)).copy()


def decode(llama: llama_cpp.Llama, tokens: list[int], *, n_past: int, logits_all: bool) -> int:
    """One raw llama_decode of `tokens` at position n_past; returns llama.cpp's status (0 ok, 2 aborted)."""
    llama._batch.set_batch(tokens, n_past=n_past, logits_all=logits_all)
    return int(llama_cpp.llama_decode(llama._ctx.ctx, llama._batch.batch))


def model_handle(llama: llama_cpp.Llama) -> _internals.LlamaModel:
    return llama._model


def context_handle(llama: llama_cpp.Llama) -> _internals.LlamaContext:
    return llama._ctx


def drop_kv_tail(llama: llama_cpp.Llama, keep: int) -> bool:
    """Drop cached tokens from position `keep` on; False when the cache cannot (deepseek4's compressed KV)."""
    return bool(llama._ctx.kv_cache_seq_rm(-1, keep, -1))


# the low-level sampler and token arrays, for engine/sampling.py
LlamaSampler = _internals.LlamaSampler
LlamaModel = _internals.LlamaModel
LlamaContext = _internals.LlamaContext
LlamaTokenDataArray = _internals.LlamaTokenDataArray


def grammar_source(grammar: llama_grammar.LlamaGrammar) -> tuple[str, str]:
    """A parsed grammar's GBNF text and root rule, for llama_sampler_init_grammar."""
    return grammar._grammar, grammar._root


def load_shared_library(name: str, directory: Any) -> ctypes.CDLL:
    """One of the shared libraries llama-cpp-python ships (e.g. "ggml-base"), loaded the way it loads its own."""
    return _ctypes_extensions.load_shared_library(name, directory)


def save_sequence(llama: llama_cpp.Llama) -> bytes:
    """The KV state of sequence 0 (llama.cpp's per-sequence state: the cells, no logits)."""
    ctx = llama._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
    return ctypes.string_at(buffer, written)


def load_sequence(llama: llama_cpp.Llama, blob: bytes, tokens: list[int]) -> bool:
    """Make the KV cache hold exactly `tokens` from a `save_sequence` blob; False (cache cleared) when
    llama.cpp refuses it or it does not hold exactly those positions."""
    clear_kv_cache(llama)
    ctx = llama._ctx.ctx
    buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
    read = llama_cpp.llama_state_seq_set_data(ctx, buffer, len(blob), 0)
    last = llama_cpp.llama_memory_seq_pos_max(llama_cpp.llama_get_memory(ctx), 0)
    if read != len(blob) or last != len(tokens) - 1:
        clear_kv_cache(llama)
        return False
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    return True


def context_settings(llama: llama_cpp.Llama) -> str:
    """What, besides the weights, decides the numbers a prompt evaluates to (batch split, KV types,
    flash attention, llama.cpp build and CPU features): part of a prompt cache key."""
    p = llama.context_params
    fields = (p.n_batch, p.n_ubatch, p.type_k, p.type_v, p.flash_attn_type, p.rope_freq_base, p.rope_freq_scale)
    system = llama_cpp.llama_print_system_info().decode(errors="replace")
    return f"{llama_cpp.__version__}|{fields}|{system}|extra buffers {uses_extra_buffers(llama)}"


def uses_extra_buffers(llama: llama_cpp.Llama) -> bool:
    """Whether the model was loaded with llama.cpp's extra CPU buffer types (repacked/AMX layouts)."""
    return bool(llama.model_params.use_extra_bufts)


def can_shift(llama: llama_cpp.Llama) -> bool:
    """Whether cached tokens can move to other positions (RoPE models; not deepseek4's compressed KV)."""
    return bool(llama_cpp.llama_memory_can_shift(llama_cpp.llama_get_memory(llama._ctx.ctx)))


PARKED = 1  # the spare sequence that holds cached runs while the tokens before them are evaluated


def with_parking(llama: llama_cpp.Llama, params: Any) -> None:
    """Give a context that can shift cached tokens a spare sequence in the same KV buffer (unified: no
    per-sequence share of n_ctx), so runs can wait there while tokens before them are evaluated."""
    if can_shift(llama):
        params.n_seq_max = 2
        params.kv_unified = True


def can_park(llama: llama_cpp.Llama) -> bool:
    return can_shift(llama) and int(llama.context_params.n_seq_max) > PARKED


def drop_kv(llama: llama_cpp.Llama, start: int, end: int, seq: int = 0) -> bool:
    """Drop the cached positions [start, end) of a sequence (end -1: to the end); False when it cannot."""
    return bool(llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llama._ctx.ctx), seq, start, end))


def park_kv(llama: llama_cpp.Llama, start: int, end: int) -> None:
    """Keep the cached positions [start, end) in the spare sequence too (no data copied: cells are tagged)."""
    llama_cpp.llama_memory_seq_cp(llama_cpp.llama_get_memory(llama._ctx.ctx), 0, PARKED, start, end)


def unpark_kv(llama: llama_cpp.Llama, start: int, end: int, delta: int, tokens: Any) -> None:
    """Move parked positions [start, end) by `delta` (llama.cpp re-rotates their keys at the next decode)
    and make them sequence 0's next positions again; `tokens` are theirs, for the token record."""
    memory = llama_cpp.llama_get_memory(llama._ctx.ctx)
    llama_cpp.llama_memory_seq_add(memory, PARKED, start, end, delta)
    llama_cpp.llama_memory_seq_cp(memory, PARKED, 0, start + delta, end + delta)
    llama_cpp.llama_memory_seq_rm(memory, PARKED, start + delta, end + delta)
    llama.input_ids[start + delta : end + delta] = tokens


def decode_at(llama: llama_cpp.Llama, tokens: list[int], start: int) -> None:
    """Evaluate `tokens` at positions start.. (sequence 0 must end just before `start`)."""
    for i in range(0, len(tokens), llama.n_batch):
        piece = tokens[i : i + llama.n_batch]
        status = decode(llama, piece, n_past=start + i, logits_all=False)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        llama.input_ids[start + i : start + i + len(piece)] = piece


@contextlib.contextmanager
def model_params(use_extra_bufts: bool) -> Iterator[None]:
    """Models loaded inside this block get `use_extra_bufts` (Llama() has no argument for it; see amx.py)."""
    if use_extra_bufts:  # llama.cpp's default: nothing to change
        yield
        return
    default = _LLAMA_CPP_MODULE.llama_model_default_params

    def params() -> Any:
        chosen = default()
        chosen.use_extra_bufts = False
        return chosen

    with _PARAMS_LOCK:
        _LLAMA_CPP_MODULE.llama_model_default_params = params
        try:
            yield
        finally:
            _LLAMA_CPP_MODULE.llama_model_default_params = default
