"""The TUI under Textual's Pilot, on the real embedded model (the session-scoped `engine`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rudder.config import load_config
from rudder.ui.app import RudderApp
from rudder.ui.screens.main import MainScreen
from tests.helpers import make_repo

SIZE = (110, 34)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "demo"
    make_repo(path, {"hello.py": 'print("hello wrold")\n', "README.md": "# demo\n"})
    return path


def make_app(engine, repo: Path, approval: str = "auto", mode: str | None = None, **agent: object) -> RudderApp:
    config = load_config(
        repo, {"agent": {"approval": approval, "max_steps": 4, **agent}, "sampling": {"temperature": 0.0}}
    )
    engine.reset()
    engine.hook.clear()
    app = RudderApp(repo, config, engine=engine, mode=mode)
    app.strict = True
    return app


async def until(pilot, condition: Callable[[], object], timeout: float = 180.0, step: float = 0.02) -> float:
    """Wait (letting the app run) until `condition()` is truthy; returns the seconds it took.

    The default bound is for "eventually" (a whole turn on the real model), not a speed claim: at a load
    average of 16-19 on 2 cores a turn took over 60 s (2026-12-07). Speed bounds are asserted explicitly."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        await asyncio.sleep(step)
    return time.perf_counter() - start


async def ready(pilot) -> MainScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen) and pilot.app.screen.bridge is not None)
    await pilot.pause()
    return pilot.app.screen
