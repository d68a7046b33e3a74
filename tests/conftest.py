"""Shared fixtures. Tests that need the real model use `engine` (one SmolLM2 load per session)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker's llama.cpp gets its share of the cores, not all cores but one each.

    llama.cpp's threads spin while they wait, so two workers with a thread per core each would halve
    each other's speed; an explicit $RUDDER_THREADS is kept.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and not os.environ.get("RUDDER_THREADS", "").strip():
        os.environ["RUDDER_THREADS"] = str(max(1, len(os.sched_getaffinity(0)) // workers))


@pytest.fixture(autouse=True, scope="session")
def _hermetic_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the developer's real ~/.config/rudder or ~/.cache/rudder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RUDDER_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))
    mp.setenv("RUDDER_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _model_tests_are_marked_slow(request: pytest.FixtureRequest) -> None:
    """`-m "not slow"` must never load the model: a test using the engine says so with the marker."""
    uses_model = {"engine", "fresh"} & set(request.fixturenames)
    if uses_model and request.node.get_closest_marker("slow") is None:
        pytest.fail(f"{request.node.nodeid} uses the model ({', '.join(sorted(uses_model))}): mark it slow")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    """`tiny_model(arch)`: the path of a tiny random-weight GGUF of `arch` (llama, qwen2, gemma3 or deepseek4),
    written on first use and kept for the session (each ~6-15 MB, under pytest's tmp dir)."""
    from rudder.engine.model_file import embedded_model_path
    from tests.engine.tiny_deepseek4 import write_tiny_deepseek4
    from tests.engine.tiny_models import write_tiny_model

    paths: dict[str, Path] = {}

    def path_of(arch: str) -> Path:
        if arch not in paths:
            target = tmp_path_factory.mktemp(f"tiny-{arch}") / f"tiny-{arch}.gguf"
            if arch == "deepseek4":
                paths[arch] = write_tiny_deepseek4(target, embedded_model_path())
            else:
                paths[arch] = write_tiny_model(target, arch, embedded_model_path())
        return paths[arch]

    return path_of


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


@pytest.fixture
def cached(fresh, tmp_path):
    """The shared engine with its own empty prompt cache directory."""
    from rudder.engine.prompt_cache import PromptCache

    saved = fresh.prompt_cache
    fresh.prompt_cache = PromptCache(tmp_path / "prompts", "test", 1 << 30)
    yield fresh
    fresh.prompt_cache = saved
