"""What the engine says about the model it loaded, and the engine's errors (no llama.cpp needed to name them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from rudder.engine.identity import ModelIdentity


class EngineError(RuntimeError):
    pass


class ContextOverflowError(EngineError):
    """The prompt does not fit the context window."""


class ModelInfo(BaseModel):
    path: Path
    name: str
    architecture: str
    n_layer: int
    n_embd: int
    n_vocab: int
    n_params: int = 0  # 0: unknown
    n_ctx: int
    n_ctx_train: int
    chat_template: str
    chat_template_source: Literal["gguf", "profile", "completion"]  # completion: a base model's plain form
    chat_format: str = ""  # the known format in use (chat_formats.py); "" = the GGUF's own, not one Rudder knows
    profile: str  # the model profile's name (rudder/engine/profiles.py)
    identity: ModelIdentity
