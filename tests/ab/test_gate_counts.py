"""The A/B sample result counts the steps where a gated mode's gate was read and where it fired."""

from __future__ import annotations

from rudder.ab.sample import SampleResult, gate_counts


def test_gate_counts_from_the_steps_readings() -> None:
    reading = {"axis": "fail-drift", "value": 0.3, "threshold": 0.28, "above": True}
    steps = [
        {"gate": [{**reading, "fired": True}]},
        {"gate": [{**reading, "fired": False}, {**reading, "fired": True}]},  # fired on a later reading
        {"gate": [{**reading, "fired": False}]},
        {"gate": []},
        {},
    ]
    assert gate_counts(steps) == {"gate_steps": 3, "gate_fired_steps": 2}


def test_the_counts_ride_in_the_result() -> None:
    result = SampleResult(
        task_id="t", arm="a", epoch=1, passed=False, check_exit=1, status="done", gate_steps=3, gate_fired_steps=2
    )
    assert result.model_dump()["gate_fired_steps"] == 2
