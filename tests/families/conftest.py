"""Tiny random-weight models of four architectures (llama, qwen2, gemma3, deepseek4), each loaded once per session.

The models are written by tests/engine/tiny_models.py and tiny_deepseek4.py (the `tiny_model` fixture in
tests/conftest.py); their weights are random, so tests check mechanics (sites, shapes, native = callback
steering, the pipeline running end to end), never what the text says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

ARCHS = ("llama", "qwen2", "gemma3", "deepseek4")


@pytest.fixture(scope="session")
def family_engines(tiny_model) -> Iterator[Callable[[str], object]]:
    from rudder.engine.config import EngineConfig
    from rudder.engine.engine import Engine

    engines: dict[str, Engine] = {}

    def engine_of(arch: str) -> Engine:
        if arch not in engines:
            engines[arch] = Engine(EngineConfig(model_path=tiny_model(arch), n_ctx=1024, n_threads=1))
        return engines[arch]

    yield engine_of
    for eng in engines.values():
        eng.close()


@pytest.fixture(params=ARCHS)
def tiny(request: pytest.FixtureRequest, family_engines):
    """Each tiny model in turn, with an empty cache and no steering (restored after the test)."""
    eng = family_engines(request.param)
    eng.reset()
    eng.hook.clear()
    yield eng
    eng.hook.clear()
    eng.hook.set_capture(None)
    eng.reset()
