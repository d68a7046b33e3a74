"""How to load a model (kept apart from the engine so config files validate without loading llama.cpp)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rudder.engine import CaptureWeights


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = Field(None, description="GGUF file; empty = the embedded SmolLM2-135M")
    n_ctx: int = Field(8192, ge=256, description="context window (capped at the model's training length)")
    n_batch: int = Field(512, ge=32)
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads; default: $RUDDER_THREADS, else all cores but one (see default_threads)"
    )
    n_gpu_layers: int = Field(
        0, ge=-1, description="layers offloaded to the GPU (-1 = all); needs a llama-cpp-python built with CUDA/Metal"
    )
    use_mmap: bool = Field(True, description="map the GGUF instead of reading it: RAM holds only the pages in use")
    use_mlock: bool = Field(False, description="lock the mapped weights in RAM (no paging out)")
    verbose: bool = Field(False, description="show llama.cpp's own log")
    prompt_cache_mb: int = Field(
        1024,
        ge=0,
        description="disk space for the prompt cache (the KV state of stable prompt prefixes, reused by the next "
        "run; see rudder/engine/prompt_cache.py); 0 = off",
    )
    kv_reuse: Literal["keep", "same-steering"] = Field(
        "keep",
        description="in-process reuse of cached tokens computed under other steering: keep them as computed "
        "(a mode swap never re-reads the conversation) or evaluate them again (see rudder/engine/prefill.py)",
    )
    kv_shift_min: int = Field(
        64,
        ge=0,
        description="reuse runs of at least this many cached tokens that moved in the prompt (a context change in "
        "the middle), shifting them in the KV cache instead of evaluating them again; 0 = off",
    )
    cpu_extra_buffers: Literal["auto", "on", "off"] = Field(
        "auto",
        description="llama.cpp's extra CPU weight layouts (repacked and AMX kernels); auto = off on a CPU "
        "with AMX, where llama.cpp's AMX kernels crashed with an illegal instruction (see rudder/engine/amx.py; "
        "$RUDDER_LLAMA_EXTRA_BUFFERS=0/1 decides auto)",
    )
    capture_weights: CaptureWeights = Field(
        "auto",
        description="the weights activation capture (extract, check) reads: the model's own, an F16/BF16 copy, or "
        "auto = a copy for small Q4_1/Q5_1 models on the CPU (see rudder/engine/dense.py)",
    )


def default_threads() -> int:
    """All usable cores but one, or $RUDDER_THREADS.

    llama.cpp's worker threads spin while they wait for each other; if another process takes one of
    their cores, every barrier waits for a descheduled thread and decoding slows down tens of times.
    Leaving one core free keeps a busy machine from collapsing throughput.
    """
    override = os.environ.get("RUDDER_THREADS", "").strip()
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            raise ValueError(f"RUDDER_THREADS: expected a whole number of threads, got {override!r}") from None
    return max(1, len(os.sched_getaffinity(0)) - 1)
