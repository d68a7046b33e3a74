"""Loading a GGUF into llama.cpp, and what the engine reads from the loaded model.

A file llama.cpp cannot load ends in one ModelLoadError naming the file, the llama-cpp-python version,
llama.cpp's own reason (from its log, which says more than the exception) and the architecture.
"""

from __future__ import annotations

from pathlib import Path

import llama_cpp

from rudder.engine import amx, chat_formats, llama_internals, llama_log
from rudder.engine.config import EngineConfig
from rudder.engine.gguf_header import GGUFHeader
from rudder.engine.identity import ModelIdentity
from rudder.engine.info import ModelInfo
from rudder.engine.model_file import ModelLoadError
from rudder.engine.profiles import ModelProfile


def context_length(config: EngineConfig, header: GGUFHeader) -> int:
    """The configured window, capped at the model's training length (past it, answers degrade)."""
    trained = header.key("context_length", 0)
    return min(config.n_ctx, trained) if isinstance(trained, int) and trained > 0 else config.n_ctx


def extra_buffers(config: EngineConfig) -> bool:
    """The config's choice of llama.cpp's extra CPU buffer types; `auto` is amx.py's guess."""
    if config.cpu_extra_buffers != "auto":
        return config.cpu_extra_buffers == "on"
    return amx.extra_buffers()


def load_llama(path: Path, header: GGUFHeader, config: EngineConfig, threads: int) -> llama_cpp.Llama:
    """The model loaded by llama-cpp-python, its private internals checked (a renamed one fails here, by name)."""
    llama_log.clear_errors()
    try:
        with llama_internals.model_params(use_extra_bufts=extra_buffers(config)):
            llama = llama_cpp.Llama(
                str(path),
                n_ctx=context_length(config, header),
                n_batch=config.n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=config.n_gpu_layers,
                use_mmap=config.use_mmap,
                use_mlock=config.use_mlock,
                verbose=config.verbose,
            )
    except (ValueError, RuntimeError) as exc:
        why = llama_log.last_error() or str(exc)
        if header.architecture not in why:
            why += f" (architecture {header.architecture!r})"
        raise ModelLoadError(
            f"{path}: llama.cpp (llama-cpp-python {llama_cpp.__version__}) cannot load this model: {why}"
        ) from exc
    llama_internals.check(llama)
    return llama


def read_info(
    llama: llama_cpp.Llama, path: Path, identity: ModelIdentity, profile: ModelProfile,
    chat_format: chat_formats.ChatFormat | None,
) -> ModelInfo:
    """What the loaded model is: its name, shape, window and chat template (and where that template came from)."""
    meta = llama.metadata
    template = meta.get("tokenizer.chat_template")
    fallback = chat_format or chat_formats.COMPLETION
    source = "gguf" if template else "completion" if fallback is chat_formats.COMPLETION else "profile"
    model = llama_internals.raw_model(llama)
    return ModelInfo(
        path=path,
        name=meta.get("general.name") or path.stem,
        architecture=meta.get("general.architecture", "unknown"),
        n_layer=llama_cpp.llama_model_n_layer(model),
        n_embd=llama_cpp.llama_model_n_embd(model),
        n_vocab=llama.n_vocab(),
        n_params=int(llama_cpp.llama_model_n_params(model)),
        n_ctx=llama.n_ctx(),
        n_ctx_train=llama_internals.n_ctx_train(llama),
        chat_template=template or fallback.template,
        chat_template_source=source,
        chat_format=chat_format.name if chat_format else "",
        profile=profile.name,
        identity=identity,
    )
