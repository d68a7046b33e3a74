"""A progress bar for long work: on stderr, only on a terminal, only once the work has taken a second."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress


class LateProgress:
    """`with LateProgress("reading 100 pairs", total) as bar: work(progress=bar.update)`.

    Nothing is shown for work under `delay` seconds, when stderr is not a terminal (pipes, CI, tests),
    or after the block ends (the bar is transient). `update(done, total)` is cheap and thread-safe.
    """

    def __init__(self, description: str, total: int, *, delay: float = 1.0, console: Any = None) -> None:
        self.description, self.total, self.delay = description, total, delay
        self.done = 0
        self._console = console
        self._progress: Progress | None = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._finished = False
        self.started = time.perf_counter()

    def __enter__(self) -> LateProgress:
        from rich.console import Console

        self._console = self._console or Console(stderr=True)
        if self._console.is_terminal:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        with self._lock:
            if self._finished:
                return
            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._task = self._progress.add_task(self.description, total=self.total, completed=self.done)
            self._progress.start()

    def update(self, done: int, total: int | None = None) -> None:
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if self._progress is not None:
                self._progress.update(self._task, completed=done, total=self.total)

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._finished = True
            if self._timer is not None:
                self._timer.cancel()
            if self._progress is not None:
                self._progress.stop()


class StepSpinner:
    """`⠋ step 3 (edit, mode neutral): 42 tokens` on stderr while the agent works on a step, when the run does
    not stream its tokens: without it a step is 5-60 s of silence. Only on a terminal (never in a pipe or a
    log); stopped while Rudder asks the user something and before each step's summary is printed."""

    def __init__(self, console: Any, *, refresh: float = 0.1) -> None:
        self.console = console
        self.refresh = refresh
        self.label = ""
        self.tokens = 0
        self._status: Any = None
        self._shown_at = 0.0

    def start(self, label: str) -> None:
        self.stop()
        self.label, self.tokens = label, 0
        if self.console.is_terminal:
            self._status = self.console.status(self._text(), spinner="dots")
            self._status.start()
            self._shown_at = time.perf_counter()

    def token(self) -> None:
        self.tokens += 1
        now = time.perf_counter()
        if self._status is not None and now - self._shown_at >= self.refresh:
            self._status.update(self._text())
            self._shown_at = now

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _text(self) -> str:
        from rich.markup import escape

        return escape(f"{self.label}: {self.tokens} tokens")
