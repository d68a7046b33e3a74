"""Shared fixtures. Tests that need the real model use `engine` (one SmolLM2 load per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _hermetic_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the developer's real ~/.config/rudder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUDDER_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def engine() -> Iterator[object]:
    from rudder.engine.config import EngineConfig
    from rudder.engine.engine import Engine

    eng = Engine(EngineConfig(n_ctx=4096))
    yield eng
    eng.close()


@pytest.fixture
def fresh(engine):
    """The shared engine with an empty KV cache and no steering, restored after the test."""
    engine.reset()
    engine.hook.clear()
    yield engine
    engine.hook.clear()
    engine.hook.set_capture(None)
    engine.reset()
