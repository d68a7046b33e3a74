"""`rudder` with no sub-command: the Textual app. Thin: configuration in, the main screen does the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App

from rudder.config import RudderConfig
from rudder.engine.engine import Engine
from rudder.ui.commands import RudderCommands
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
        self.strict = False  # tests: let display errors raise instead of becoming notifications

    def on_mount(self) -> None:
        self.push_screen(MainScreen())

    def load_engine(self, progress: Callable[[str], object]) -> Engine:
        """Runs on a worker thread: the engine, loaded once."""
        if self.engine is None:
            model = self.config.model.model_path or "the embedded SmolLM2-135M-Instruct"
            progress(f"loading {Path(str(model)).name}…")
            self.engine = Engine(self.config.model)
        return self.engine

    def on_unmount(self) -> None:
        if self.owns_engine and self.engine is not None:
            self.engine.close()
