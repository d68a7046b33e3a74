"""The calibration threshold without a model: harm is counted against the answers a scale damages that were
intact unsteered, and against the best smaller scale (a vector that repairs the model's own loops must not
give that back at a larger scale)."""

from __future__ import annotations

from rudder.vectors.files.card import CalibrationRow
from rudder.vectors.trust.calibrate import passes


def row(scale: float, damaged: int, added: int = 0, perplexity: float = 2.0) -> CalibrationRow:
    return CalibrationRow(
        scale=scale, effect=1.0, change=0.0, perplexity=perplexity, repetition=0.0, damaged=damaged, added=added,
        answers=30,
    )  # fmt: skip


def test_a_scale_may_add_a_tenth_of_damage_and_no_more() -> None:
    base = row(0.0, damaged=12)
    assert passes(row(0.04, damaged=12, added=3), base, 0.1, 4.0)
    assert not passes(row(0.04, damaged=12, added=4), base, 0.1, 4.0)
    assert not passes(row(0.04, damaged=0, perplexity=9.0), base, 0.1, 4.0)


def test_a_larger_scale_may_not_give_back_what_a_smaller_one_repaired() -> None:
    base = row(0.0, damaged=12)  # the unsteered model loops on 12 of 30
    assert passes(row(0.08, damaged=5, added=1), base, 0.1, 4.0)  # without history: 5 <= 12 + 3
    assert passes(row(0.08, damaged=5, added=1), base, 0.1, 4.0, fewest=2)  # 5 <= 2 + 3
    assert not passes(row(0.08, damaged=6, added=1), base, 0.1, 4.0, fewest=2)
