"""The tiny random-weight deepseek4 model: written once per test session, loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_ds4_path(tiny_model) -> Path:
    return tiny_model("deepseek4")


@pytest.fixture(scope="session")
def ds4_engine(tiny_ds4_path: Path) -> Iterator[object]:
    from rudder.engine.config import EngineConfig
    from rudder.engine.engine import Engine

    eng = Engine(EngineConfig(model_path=tiny_ds4_path, n_ctx=4096))
    yield eng
    eng.close()


@pytest.fixture
def ds4(ds4_engine):
    """The tiny deepseek4 engine with an empty cache and no steering, restored after the test."""
    ds4_engine.reset()
    ds4_engine.hook.clear()
    yield ds4_engine
    ds4_engine.hook.clear()
    ds4_engine.hook.set_capture(None)
    ds4_engine.reset()
