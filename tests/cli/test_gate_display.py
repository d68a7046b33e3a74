"""`rudder run` / `rudder replay` print one line per gate reading of a step (conditional steering)."""

from __future__ import annotations

from rich.console import Console

from rudder.cli.display import print_step


def test_a_steps_gate_readings_are_printed_with_value_and_verdict() -> None:
    console = Console(record=True, width=200, color_system=None)
    reading = {"axis": "loop-drift", "value": 0.2134, "threshold": 0.18, "above": True, "fired": True, "at_token": 6}
    quiet = {**reading, "value": -0.05, "fired": False, "at_token": 14}
    print_step(console, {"index": 2, "kind": "edit", "mode": "loop-break", "gate": [reading, quiet]})
    text = console.export_text()
    assert "gate loop-drift: fired (+0.213 vs >+0.180, token 6)" in text
    assert "gate loop-drift: quiet (-0.050 vs >+0.180, token 14)" in text
