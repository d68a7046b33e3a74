"""`rudder` with no sub-command: the Textual app. Thin: configuration in, the main screen does the rest."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App

from rudder.config import RudderConfig
from rudder.engine.factory import Engine, load_engine
from rudder.ui.bridge import Bridge
from rudder.ui.palette import RudderCommands
from rudder.ui.screens.main import MainScreen


class RudderApp(App[None]):
    TITLE = "Rudder"
    COMMANDS: ClassVar = App.COMMANDS | {RudderCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self, repo: Path, config: RudderConfig, *, engine: Engine | None = None, mode: str | None = None
    ) -> None:
        super().__init__()
        self.repo, self.config, self.mode = repo, config, mode
        self.engine = engine  # an already-loaded engine (tests); else loaded in a worker
        self.owns_engine = engine is None
        self.bridge: Bridge | None = None  # set by the main screen once the session is open
        self.strict = False  # tests: let display errors raise instead of becoming notifications
        self.last_key = 0.0  # perf_counter of the last key: the transcript waits while keys are drawn
        self._switch_interval = sys.getswitchinterval()

    def on_mount(self) -> None:
        # the model's thread runs Python between decodes; hand the GIL back to the UI within 1 ms, not 5
        sys.setswitchinterval(0.001)
        self.push_screen(MainScreen())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key = time.perf_counter()
        await super().on_event(event)

    def load_engine(self, progress: Callable[[str], object]) -> Engine:
        """Runs on a worker thread: the engine, loaded once."""
        if self.engine is None:
            self.engine = load_engine(self.config.model, progress)
        return self.engine

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        # a turn still generating would use the model after it is freed (a crash on quit): stop it first
        stopped = self.bridge.close() if self.bridge is not None else True
        if self.owns_engine and self.engine is not None and stopped:
            self.engine.close()
