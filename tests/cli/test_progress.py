"""The extraction progress bar: only on a terminal, only after the delay, gone afterwards."""

from __future__ import annotations

import io
import time

from rich.console import Console

from rudder.cli.progress import LateProgress


def test_shows_on_a_terminal_after_the_delay_and_is_transient() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    with LateProgress("reading 3 pairs", 6, delay=0.05, console=console) as bar:
        bar.update(2)
        assert not bar.shown  # quick work shows nothing
        time.sleep(0.3)
        bar.update(4)
        assert bar.shown
    assert "reading 3 pairs" in out.getvalue()


def test_quick_work_and_pipes_show_nothing() -> None:
    for terminal, pause in ((True, 0.0), (False, 0.3)):
        out = io.StringIO()
        console = Console(file=out, force_terminal=terminal, width=80)
        with LateProgress("reading", 2, delay=0.1, console=console) as bar:
            time.sleep(pause)
            bar.update(2)
        assert not bar.shown and out.getvalue() == ""
