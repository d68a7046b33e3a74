"""The one way a front end gets an engine (CLI commands, the TUI, the ACP server, A/B workers).

Front ends name a model in an EngineConfig and hand the engine they get here to the Session; none of
them constructs `Engine` itself or imports llama.cpp (pyproject's contracts hold ui, acp and ab to that).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rudder.engine.config import EngineConfig
from rudder.engine.engine import Engine

__all__ = ["Engine", "load_engine"]

EMBEDDED = "the embedded SmolLM2-135M-Instruct"


def load_engine(config: EngineConfig, progress: Callable[[str], object] | None = None) -> Engine:
    """Load the model `config` names (the embedded one when none), telling `progress` first. A model file
    that cannot load raises ModelLoadError naming it; llama.cpp failing after that raises EngineError."""
    if progress is not None:
        model = Path(str(config.model_path)).name if config.model_path else EMBEDDED
        progress(f"loading {model}…")
    return Engine(config)
